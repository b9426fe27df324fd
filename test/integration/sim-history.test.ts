import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type SimulatorHandle, startSimulator } from '../../src/simulator/index.js';
import { call } from './sim-client.js';

interface Bar {
  o: number;
  c: number;
  h: number;
  l: number;
  v: number;
  t: number;
}

const etMinutes = (t: number) => {
  const p = new Intl.DateTimeFormat('en-US', {
    timeZone: 'America/New_York',
    hourCycle: 'h23',
    hour: 'numeric',
    minute: 'numeric',
  }).formatToParts(new Date(t));
  const get = (k: string) => Number(p.find((x) => x.type === k)?.value);
  return get('hour') * 60 + get('minute');
};

describe('simulator history', () => {
  let sim: SimulatorHandle;
  before(async () => {
    // Monday 2026-11-23 22:00 ET: the last session is complete, so bar counts are fixed.
    sim = await startSimulator({ pacing: false, startAt: Date.UTC(2026, 10, 24, 3, 0, 0) });
  });
  after(() => sim.close());

  test('envelope and consistent bars', async () => {
    const r = await call(sim, 'GET', '/iserver/marketdata/history?conid=265598&period=1m&bar=1d');
    assert.equal(r.status, 200);
    const b = r.body;
    for (const k of [
      'serverId',
      'symbol',
      'text',
      'priceFactor',
      'startTime',
      'high',
      'low',
      'timePeriod',
      'barLength',
      'mdAvailability',
      'mktDataDelay',
      'outsideRth',
      'volumeFactor',
      'priceDisplayRule',
      'priceDisplayValue',
      'direction',
      'negativeCapable',
      'messageVersion',
      'data',
      'points',
      'travelTime',
    ]) {
      assert.ok(k in b, `missing ${k}`);
    }
    assert.equal(b.symbol, 'AAPL');
    assert.equal(b.text, 'APPLE INC');
    assert.equal(b.timePeriod, '1m');
    assert.equal(b.barLength, 86400);
    assert.equal(b.priceFactor, 100);
    assert.equal(b.volumeFactor, 100);
    assert.match(b.startTime, /^\d{8}-\d{2}:\d{2}:\d{2}$/);
    assert.match(b.high, /^\d+\/[\d.]+\/\d+$/);
    assert.match(b.low, /^\d+\/[\d.]+\/\d+$/);
    assert.ok(b.data.length >= 19 && b.data.length <= 23, `${b.data.length} daily bars in a month`);
    assert.equal(b.points, b.data.length - 1);
    let prev = 0;
    for (const d of b.data as Bar[]) {
      assert.ok(d.l <= Math.min(d.o, d.c) && Math.max(d.o, d.c) <= d.h, JSON.stringify(d));
      assert.ok(d.t > prev);
      assert.ok(d.t > 1.6e12, 't is in ms');
      assert.equal(etMinutes(d.t), 570, 'daily bars start at the 09:30 ET open');
      assert.ok(d.v > 0);
      prev = d.t;
    }
    const maxH = Math.max(...(b.data as Bar[]).map((d) => d.h));
    assert.equal(Number(b.high.split('/')[0]), Math.round(maxH * 100));
  });

  test('intraday bars stay in regular trading hours unless outsideRth', async () => {
    const rth = await call(sim, 'GET', '/iserver/marketdata/history?conid=8314&period=2d&bar=5min');
    assert.equal(rth.status, 200);
    assert.equal(rth.body.data.length, 156);
    for (const d of rth.body.data as Bar[]) {
      const m = etMinutes(d.t);
      assert.ok(m >= 570 && m < 960, `bar at ${m} min`);
    }
    const eth = await call(sim, 'GET', '/iserver/marketdata/history?conid=8314&period=1d&bar=30min&outsideRth=true');
    assert.equal(eth.body.data.length, 32);
    assert.equal(eth.body.outsideRth, true);
  });

  test('period/bar validation and the step-size table', async () => {
    const cases: [string, string, number][] = [
      ['1y', '1min', 400],
      ['31min', '1min', 400],
      ['1d', '7min', 400],
      ['abc', '1d', 400],
      ['1w', '5min', 400],
      ['15y', '1d', 400],
      ['1y', '1d', 200],
      ['1w', '1h', 200],
      ['30min', '1min', 200],
      ['15y', '1w', 200],
      ['3y', '1m', 200],
    ];
    for (const [period, bar, status] of cases) {
      const r = await call(sim, 'GET', `/iserver/marketdata/history?conid=265598&period=${period}&bar=${bar}`);
      assert.equal(r.status, status, `${period}/${bar}: ${JSON.stringify(r.body).slice(0, 200)}`);
      if (status === 400) assert.equal(typeof r.body.error, 'string');
    }
    const unknown = await call(sim, 'GET', '/iserver/marketdata/history?conid=123&period=1d&bar=1min');
    assert.equal(unknown.status, 500);
    assert.equal(typeof unknown.body.error, 'string');
  });

  test('at most 1000 points, the most recent ones', async () => {
    const r = await call(sim, 'GET', '/iserver/marketdata/history?conid=265598&period=5d&bar=1min&outsideRth=true');
    assert.equal(r.status, 200);
    assert.equal(r.body.data.length, 1000);
    const full = await call(sim, 'GET', '/iserver/marketdata/history?conid=265598&period=1d&bar=1min&outsideRth=true');
    const lastFull = full.body.data.at(-1);
    assert.equal(r.body.data.at(-1).t, lastFull.t);
  });

  test('startTime and direction', async () => {
    const r = await call(
      sim,
      'GET',
      '/iserver/marketdata/history?conid=265598&period=3d&bar=1h&startTime=20260115-21:00:00',
    );
    assert.equal(r.status, 200);
    assert.ok(r.body.data.at(-1).t < Date.UTC(2026, 0, 15, 21));
    const fwd = await call(
      sim,
      'GET',
      '/iserver/marketdata/history?conid=265598&period=2d&bar=1h&startTime=20260115-14:30:00&direction=1',
    );
    assert.ok(fwd.body.data[0].t >= Date.UTC(2026, 0, 15, 14, 30));
    assert.equal(fwd.body.data.length, 14);
    const bad = await call(sim, 'GET', '/iserver/marketdata/history?conid=265598&period=2d&bar=1h&direction=1');
    assert.equal(bad.status, 400);
  });
});

test('same seed → same bars; other seed → other bars', async () => {
  const q = '/iserver/marketdata/history?conid=272093&period=3m&bar=1d&startTime=20260601-20:00:00';
  const a = await startSimulator({ seed: 11, pacing: false });
  const b = await startSimulator({ seed: 11, pacing: false, tls: false });
  const c = await startSimulator({ seed: 12, pacing: false });
  try {
    const [ra, rb, rc] = await Promise.all([call(a, 'GET', q), call(b, 'GET', q), call(c, 'GET', q)]);
    assert.ok(ra.body.data.length > 50);
    assert.deepEqual(ra.body.data, rb.body.data);
    assert.notDeepEqual(ra.body.data, rc.body.data);
  } finally {
    await Promise.all([a.close(), b.close(), c.close()]);
  }
});

test('more than 5 concurrent history requests → 429', async () => {
  const sim = await startSimulator({ pacing: true, penaltyBoxMs: 0 });
  try {
    await call(sim, 'POST', '/sim/faults', { historyDelayMs: 300 });
    const q = '/iserver/marketdata/history?conid=265598&period=1d&bar=5min';
    const rs = await Promise.all(Array.from({ length: 6 }, () => call(sim, 'GET', q)));
    const statuses = rs.map((r) => r.status).sort();
    assert.deepEqual(statuses, [200, 200, 200, 200, 200, 429]);
    const tooMany = rs.find((r) => r.status === 429);
    assert.deepEqual(tooMany?.body, { error: 'Too many requests', statusCode: 429 });
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal((await call(sim, 'GET', q)).status, 200);
  } finally {
    await sim.close();
  }
});
