import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type SimulatorHandle, startSimulator } from '../../src/simulator/index.js';
import { addFieldAugmenter } from '../../src/simulator/routes/marketdata.js';
import type { FieldValues } from '../../src/simulator/state.js';
import { call } from './sim-client.js';

const FIELDS = '31,55,70,71,82,83,84,85,86,87,88,7051,7059,7087,7221,7282,7293,7294,7295,7296,7741,7762,6004,6008,6070';

describe('simulator snapshot', () => {
  let sim: SimulatorHandle;
  before(async () => {
    sim = await startSimulator({ pacing: false });
    await call(sim, 'GET', '/iserver/accounts');
  });
  after(() => sim.close());

  test('pre-flight, then string values', async () => {
    const pre = await call(sim, 'GET', `/iserver/marketdata/snapshot?conids=265598,756733&fields=${FIELDS}`);
    assert.equal(pre.status, 200);
    assert.deepEqual(pre.body, [
      { conid: 265598, conidEx: '265598' },
      { conid: 756733, conidEx: '756733' },
    ]);
    const r = await call(sim, 'GET', `/iserver/marketdata/snapshot?conids=265598,756733&fields=${FIELDS}`);
    assert.equal(r.status, 200);
    const [aapl, spy] = r.body;
    assert.equal(aapl.conid, 265598);
    assert.equal(aapl.conidEx, '265598');
    assert.equal(typeof aapl._updated, 'number');
    assert.ok(aapl._updated > 1.6e12);
    assert.match(aapl.server_id, /^q\d+$/);
    assert.equal(aapl['6119'], aapl.server_id);
    assert.equal(aapl['6509'], 'RpB');
    assert.equal(aapl['55'], 'AAPL');
    assert.equal(aapl['7051'], 'APPLE INC');
    assert.equal(aapl['6070'], 'STK');
    for (const f of FIELDS.split(',')) assert.equal(typeof aapl[f], 'string', `field ${f}`);
    assert.match(aapl['31'], /^\d+\.\d{2}$/);
    assert.match(aapl['83'], /^-?\d+\.\d{2}%$/);
    assert.match(aapl['87'], /^\d+(\.\d)?[KMB]?$/);
    assert.equal(typeof aapl['87_raw'], 'number');
    assert.equal(aapl['7762'], String(aapl['87_raw']));
    const last = Number(aapl['31']);
    assert.ok(Number(aapl['84']) < last && last < Number(aapl['86']), 'bid < last < ask');
    assert.ok(Number(aapl['71']) <= last && last <= Number(aapl['70']));
    assert.ok(last > 100 && last < 600, `plausible AAPL price ${last}`);
    assert.equal(spy['55'], 'SPY');
    assert.equal(r.body.length, 2);
  });

  test('C prefix (not traded today) and H prefix (halted), DPB/ZPB', async () => {
    await call(sim, 'GET', '/iserver/marketdata/snapshot?conids=41645598,8314,272093,4815747&fields=31');
    await call(sim, 'POST', '/sim/faults', {
      instrument: [
        { conid: 8314, halted: true },
        { conid: 272093, delayed: true },
        { conid: 4815747, frozen: true },
      ],
    });
    const r = await call(sim, 'GET', '/iserver/marketdata/snapshot?conids=41645598,8314,272093,4815747&fields=31,7741');
    const [lse, ibm, msft, nvda] = r.body;
    assert.match(lse['31'], /^C\d+\.\d{2}$/);
    assert.equal(lse['31'].slice(1), lse['7741']);
    assert.match(ibm['31'], /^H\d+\.\d{2}$/);
    assert.equal(msft['6509'], 'DPB');
    assert.equal(nvda['6509'], 'ZPB');
    await call(sim, 'POST', '/sim/faults', { instrument: { conid: 8314, reset: true } });
    const again = await call(sim, 'GET', '/iserver/marketdata/snapshot?conids=8314&fields=31');
    assert.match(again.body[0]['31'], /^\d/);
  });

  test('limits: >100 conids, >50 fields, unknown conid', async () => {
    const many = Array.from({ length: 101 }, (_, i) => 1000 + i).join(',');
    const r1 = await call(sim, 'GET', `/iserver/marketdata/snapshot?conids=${many}&fields=31`);
    assert.equal(r1.status, 400);
    assert.equal(r1.body.statusCode, 400);
    assert.equal(typeof r1.body.error, 'string');
    const fields = Array.from({ length: 51 }, (_, i) => 7000 + i).join(',');
    const r2 = await call(sim, 'GET', `/iserver/marketdata/snapshot?conids=265598&fields=${fields}`);
    assert.equal(r2.status, 400);
    const r3 = await call(sim, 'GET', '/iserver/marketdata/snapshot?conids=999999999&fields=31');
    assert.deepEqual(r3.body, [{ conid: 999999999, conidEx: '999999999' }]);
    const r4 = await call(sim, 'GET', '/iserver/marketdata/snapshot?conids=999999999&fields=31');
    assert.deepEqual(r4.body, [{ conid: 999999999, conidEx: '999999999' }]);
  });

  test('index, future and FX rows', async () => {
    const es = sim.state.universe.bySymbolExact('ES')[0];
    assert.ok(es);
    assert.equal(es.multiplier, 50);
    const q = `/iserver/marketdata/snapshot?conids=416904,${es.conid},12087792&fields=31,84,86,87`;
    await call(sim, 'POST', '/sim/faults', { derivativeSearch: true });
    await call(sim, 'GET', q);
    // IB quotes a derivative only after a secdef search for it in the session: no data before.
    assert.deepEqual((await call(sim, 'GET', q)).body[1], { conid: es.conid, conidEx: String(es.conid) });
    await call(sim, 'POST', '/iserver/secdef/search', { symbol: 'ES', secType: 'FUT' });
    await call(sim, 'GET', q);
    const [spx, fut, fx] = (await call(sim, 'GET', q)).body;
    assert.ok(Number(spx['31']) > 3000);
    assert.equal(spx['84'], undefined, 'an index has no bid');
    assert.equal(Number(fut['31']) % 0.25, 0);
    assert.match(fx['31'], /^1\.\d{5}$/);
    assert.equal(fx['87'], undefined);
    await call(sim, 'POST', '/sim/faults', { derivativeSearch: false });
  });

  test('unsubscribe resets pre-flight; unknown → 500; unsubscribeall', async () => {
    await call(sim, 'GET', '/iserver/marketdata/snapshot?conids=3691937&fields=31');
    const u = await call(sim, 'POST', '/iserver/marketdata/unsubscribe', { conid: 3691937 });
    assert.deepEqual(u, { status: 200, body: { success: true } });
    const pre = await call(sim, 'GET', '/iserver/marketdata/snapshot?conids=3691937&fields=31');
    assert.deepEqual(pre.body, [{ conid: 3691937, conidEx: '3691937' }]);
    const again = await call(sim, 'POST', '/iserver/marketdata/unsubscribe', { conid: 76792991 });
    assert.deepEqual(again, { status: 500, body: { error: 'unknown' } });
    const all = await call(sim, 'GET', '/iserver/marketdata/unsubscribeall');
    assert.deepEqual(all.body, { unsubscribed: true });
    const pre2 = await call(sim, 'GET', '/iserver/marketdata/snapshot?conids=3691937&fields=31');
    assert.deepEqual(pre2.body, [{ conid: 3691937, conidEx: '3691937' }]);
  });

  test('field augmenters extend snapshot rows', async () => {
    addFieldAugmenter(sim.state, (inst): FieldValues => (inst.conid === 265598 ? { '7308': '0.512' } : {}));
    await call(sim, 'GET', '/iserver/marketdata/snapshot?conids=265598&fields=31,7308');
    const r = await call(sim, 'GET', '/iserver/marketdata/snapshot?conids=265598&fields=31,7308');
    assert.equal(r.body[0]['7308'], '0.512');
  });
});

test('prices are deterministic for a seed and market time', async () => {
  const startAt = Date.UTC(2026, 10, 18, 15, 0, 0);
  const a = await startSimulator({ seed: 5, startAt, pacing: false });
  const b = await startSimulator({ seed: 5, startAt, pacing: false });
  const c = await startSimulator({ seed: 6, startAt, pacing: false });
  try {
    for (const s of [a, b, c]) await call(s, 'POST', '/sim/clock', { freeze: startAt });
    const row = async (s: SimulatorHandle) => {
      await call(s, 'GET', '/iserver/accounts');
      const q = '/iserver/marketdata/snapshot?conids=265598&fields=31,84,86,70,71,7295';
      await call(s, 'GET', q);
      const { _updated, ...rest } = (await call(s, 'GET', q)).body[0];
      return rest;
    };
    const [ra, rb, rc] = [await row(a), await row(b), await row(c)];
    assert.deepEqual(ra, rb);
    assert.notEqual(ra['31'], rc['31']);
  } finally {
    await Promise.all([a.close(), b.close(), c.close()]);
  }
});
