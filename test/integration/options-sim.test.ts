import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type SimulatorHandle, startSimulator } from '../../src/simulator/index.js';
import { call } from './sim-client.js';

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const code = (ymd: string) => `${MONTHS[Number(ymd.slice(4, 6)) - 1]}${ymd.slice(2, 4)}`;

describe('simulator option markets', () => {
  let sim: SimulatorHandle;
  let other: SimulatorHandle;
  before(async () => {
    [sim, other] = await Promise.all([
      startSimulator({ pacing: false, seed: 3 }),
      startSimulator({ pacing: false, seed: 3 }),
    ]);
  });
  after(async () => {
    await Promise.all([sim.close(), other.close()]);
  });

  test('strikes are empty until secdef/search was called for the underlying, as on IB', async () => {
    const search = await call(sim, 'GET', '/iserver/secdef/search?symbol=MSFT');
    const month = search.body[0].sections.find((s: { secType: string }) => s.secType === 'OPT').months.split(';')[1];
    const fresh = await call(other, 'GET', `/iserver/secdef/strikes?conid=272093&sectype=OPT&month=${month}`);
    assert.deepEqual(fresh.body, { call: [], put: [] });
    assert.deepEqual(
      (await call(other, 'GET', `/iserver/secdef/info?conid=272093&sectype=OPT&month=${month}&strike=0`)).body,
      [],
    );
    const r = await call(sim, 'GET', `/iserver/secdef/strikes?conid=272093&sectype=OPT&month=${month}`);
    assert.equal(r.status, 200);
    assert.ok(r.body.call.length > 20 && r.body.put.length === r.body.call.length);
    assert.deepEqual(
      [...r.body.call].sort((a: number, b: number) => a - b),
      r.body.call,
    );
    // A new session must search again.
    await call(sim, 'GET', '/iserver/secdef/search?symbol=MSFT');
  });

  test('info: strike=0 is the whole month, a strike and right one contract per expiration, §4.4 shape', async () => {
    const search = await call(sim, 'POST', '/iserver/secdef/search', { symbol: 'AAPL' });
    const dates: string[] = search.body[0].opt.split(';');
    const month = code(dates[0] as string);
    const whole = await call(sim, 'GET', `/iserver/secdef/info?conid=265598&sectype=OPT&month=${month}&strike=0`);
    assert.equal(whole.status, 200);
    const inMonth = dates.filter((d) => code(d) === month);
    const expiries = new Set(whole.body.map((r: { maturityDate: string }) => r.maturityDate));
    assert.deepEqual([...expiries].sort(), inMonth);
    const row = whole.body[0];
    for (const k of [
      'conid',
      'symbol',
      'secType',
      'exchange',
      'right',
      'strike',
      'currency',
      'desc2',
      'maturityDate',
      'multiplier',
      'tradingClass',
      'validExchanges',
    ]) {
      assert.ok(k in row, k);
    }
    assert.equal(row.multiplier, '100');
    assert.equal(typeof row.conid, 'number');
    const one = await call(
      sim,
      'GET',
      `/iserver/secdef/info?conid=265598&sectype=OPT&month=${month}&strike=${row.strike}&right=P`,
    );
    assert.ok(
      one.body.length >= 1 &&
        one.body.every((r: { right: string; strike: number }) => r.right === 'P' && r.strike === row.strike),
    );
    // Stable conids: a second simulator (same or other seed) gives the same conid for the same contract.
    await call(other, 'POST', '/iserver/secdef/search', { symbol: 'AAPL' });
    const again = await call(
      other,
      'GET',
      `/iserver/secdef/info?conid=265598&sectype=OPT&month=${month}&strike=${row.strike}&right=P`,
    );
    assert.deepEqual(
      again.body.map((r: { conid: number }) => r.conid),
      one.body.map((r: { conid: number }) => r.conid),
    );
    // Contract info by conid.
    const info = await call(sim, 'GET', `/iserver/contract/${one.body[0].conid}/info`);
    assert.equal(info.body.instrument_type, 'OPT');
    assert.equal(info.body.right, 'PUT');
    assert.equal(info.body.underlying_con_id, 265598);
  });

  test('snapshot of an option: Black-Scholes quote and greeks; put-call parity on the mids', async () => {
    await call(sim, 'GET', '/iserver/accounts');
    const search = await call(sim, 'GET', '/iserver/secdef/search?symbol=SPY');
    const date: string = search.body[0].opt.split(';')[3];
    const whole = await call(sim, 'GET', `/iserver/secdef/info?conid=756733&sectype=OPT&month=${code(date)}&strike=0`);
    const rows = whole.body.filter((r: { maturityDate: string }) => r.maturityDate === date);
    const strikes = [...new Set(rows.map((r: { strike: number }) => r.strike))] as number[];
    const k = strikes[Math.floor(strikes.length / 2)];
    const c = rows.find((r: { strike: number; right: string }) => r.strike === k && r.right === 'C');
    const p = rows.find((r: { strike: number; right: string }) => r.strike === k && r.right === 'P');
    const q = `/iserver/marketdata/snapshot?conids=${c.conid},${p.conid},756733&fields=31,84,86,7308,7309,7310,7311,7633,7638`;
    await call(sim, 'GET', q);
    const snap = (await call(sim, 'GET', q)).body;
    const [cs, ps, us] = snap;
    for (const s of [cs, ps])
      for (const f of ['31', '84', '86', '7308', '7309', '7310', '7311', '7633', '7638'])
        assert.ok(s[f] !== undefined, f);
    assert.ok(Number(cs['7308']) > 0 && Number(cs['7308']) < 1);
    assert.ok(Number(ps['7308']) < 0 && Number(ps['7308']) > -1);
    assert.ok(Math.abs(Number(cs['7308']) - Number(ps['7308']) - 1) < 0.02);
    assert.match(cs['7633'], /^\d+(\.\d)?%$/);
    const mid = (s: Record<string, string>) => (Number(s['84']) + Number(s['86'])) / 2;
    const S = Number(us['31']);
    // C - P ≈ S e^{-qT} - K e^{-rT}: within a few cents plus carry for a near expiry.
    assert.ok(k !== undefined);
    assert.ok(Math.abs(mid(cs) - mid(ps) - (S - k)) < 0.02 * S, `${mid(cs)} ${mid(ps)} ${S} ${k}`);
  });

  test('index options (SPX, SPXW weeklies) and futures options (ES, FOP on CME)', async () => {
    const spx = await call(sim, 'GET', '/iserver/secdef/search?symbol=SPX&secType=IND');
    const dates: string[] = spx.body[0].opt.split(';');
    const r = await call(
      sim,
      'GET',
      `/iserver/secdef/info?conid=416904&sectype=OPT&month=${code(dates[0] as string)}&strike=0&right=C`,
    );
    assert.ok(r.body.length > 0 && r.body.every((x: { strike: number }) => x.strike % 5 === 0));
    const es = await call(sim, 'GET', '/iserver/secdef/search?symbol=ES');
    const fut = es.body.find((x: { sections: { secType: string }[] }) => x.sections.some((s) => s.secType === 'FOP'));
    assert.ok(fut, 'ES row with an FOP section');
    const fopDates: string[] = fut.fop.split(';');
    const noExch = await call(
      sim,
      'GET',
      `/iserver/secdef/strikes?conid=${fut.conid}&sectype=FOP&month=${code(fopDates[0] as string)}`,
    );
    assert.equal(noExch.status, 400);
    const strikes = await call(
      sim,
      'GET',
      `/iserver/secdef/strikes?conid=${fut.conid}&sectype=FOP&month=${code(fopDates[0] as string)}&exchange=CME`,
    );
    assert.ok(strikes.body.call.length > 10);
    const info = await call(
      sim,
      'GET',
      `/iserver/secdef/info?conid=${fut.conid}&sectype=FOP&month=${code(fopDates[0] as string)}&exchange=CME&strike=${strikes.body.call[10]}&right=C`,
    );
    assert.equal(info.body[0].secType, 'FOP');
    assert.equal(info.body[0].multiplier, '50');
  });
});
