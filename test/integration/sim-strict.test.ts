/** The simulator's strict profile (IB's parameter rules), brackets, account scoping and profiles. */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { type SimulatorHandle, startSimulator } from '../../src/simulator/index.js';
import { type Body, call } from './sim-client.js';

/** Places one order and answers every question with yes; the final answer. */
async function place(sim: SimulatorHandle, acct: string, orders: unknown[]): Promise<Body> {
  let r = await call(sim, 'POST', `/iserver/account/${acct}/orders`, { orders });
  for (let i = 0; i < 10 && Array.isArray(r.body) && r.body[0]?.messageIds; i++) {
    r = await call(sim, 'POST', `/iserver/reply/${r.body[0].id}`, { confirmed: true });
  }
  return r.body;
}

describe('simulator strict profile', () => {
  let sim: SimulatorHandle;
  before(async () => {
    sim = await startSimulator({ pacing: false });
    await call(sim, 'GET', '/iserver/accounts');
  });
  after(() => sim.close());
  beforeEach(async () => {
    await call(sim, 'POST', '/sim/faults', { clear: true });
  });

  test('a parameter IB spells otherwise is a 400; an unknown one is ignored', async () => {
    const search = await call(sim, 'POST', '/iserver/secdef/search', { symbol: 'AAPL' });
    assert.equal(search.status, 200);
    const bad = await call(sim, 'GET', `/iserver/secdef/strikes?conid=265598&secType=OPT&month=JAN27`);
    assert.equal(bad.status, 400);
    assert.match(bad.body.error, /'secType'.*'sectype'/);
    const badSearch = await call(sim, 'GET', '/iserver/secdef/search?symbol=AAPL&sectype=STK');
    assert.equal(badSearch.status, 400);
    const badBody = await call(sim, 'POST', '/iserver/secdef/search', { symbol: 'AAPL', SecType: 'STK' });
    assert.equal(badBody.status, 400);
    const unknown = await call(sim, 'GET', '/iserver/secdef/search?symbol=AAPL&foo=1');
    assert.equal(unknown.status, 200);
    // The lenient profiles let it pass.
    await call(sim, 'POST', '/sim/faults', { profile: '2023' });
    const lenient = await call(sim, 'GET', '/iserver/secdef/search?symbol=AAPL&sectype=STK');
    assert.equal(lenient.status, 200);
  });

  test('booleans: query as Java parses them, body must be JSON booleans', async () => {
    const byName = await call(sim, 'GET', '/iserver/secdef/search?symbol=apple&name=TRUE');
    assert.ok(byName.body.some((x: { symbol: string }) => x.symbol === 'AAPL'));
    // name=1 is false for IB (Boolean.parseBoolean): the same answer as without name.
    const one = await call(sim, 'GET', '/iserver/secdef/search?symbol=apple&name=1');
    const none = await call(sim, 'GET', '/iserver/secdef/search?symbol=apple');
    assert.deepEqual(one.body, none.body);
    const str = await call(sim, 'POST', '/iserver/secdef/search', { symbol: 'apple', name: 'true' });
    assert.equal(str.status, 400);
    assert.match(str.body.error, /java.lang.String cannot be cast to java.lang.Boolean/);
    const ok = await call(sim, 'POST', '/iserver/secdef/search', { symbol: 'apple', name: true });
    assert.ok(ok.body.some((x: { symbol: string }) => x.symbol === 'AAPL'));
  });

  test('a known path with the wrong method is 405 with Allow; an unknown path 404', async () => {
    const r = await call(sim, 'GET', '/iserver/reply/abc');
    assert.equal(r.status, 405);
    const acct = await call(sim, 'GET', '/iserver/account');
    assert.equal(acct.status, 405, 'IB documents POST /iserver/account only');
    const nf = await call(sim, 'GET', '/iserver/nothing/here');
    assert.equal(nf.status, 404);
  });

  test("IB's question ids and texts: o354 without market data, o10331 for stops", async () => {
    await call(sim, 'POST', '/sim/faults', { instrument: { conid: 8314, delayed: true } });
    const r = await call(sim, 'POST', '/iserver/account/DU1234567/orders', {
      orders: [{ conid: 8314, orderType: 'STP', side: 'SELL', quantity: 1, price: 1, tif: 'GTC' }],
    });
    await call(sim, 'POST', '/sim/faults', { instrument: { conid: 8314, reset: true } });
    assert.deepEqual(r.body[0].messageIds, ['o354']);
    assert.equal(
      r.body[0].message[0],
      'You are submitting an order without market data. We strongly recommend against this as it may result in erroneous and unexpected trades.\nAre you sure you want to submit this order?',
    );
    const next = await call(sim, 'POST', `/iserver/reply/${r.body[0].id}`, { confirmed: true });
    assert.deepEqual(next.body[0].messageIds, ['o10331']);
    assert.match(next.body[0].message[0], /^You are about to submit a stop order\./);
  });

  test('futures carry ltd, the business day before expiration', async () => {
    const r = await call(sim, 'GET', '/trsrv/futures?symbols=ES');
    assert.equal(r.status, 200);
    const f = r.body.ES[0];
    assert.ok(f.ltd < f.expirationDate);
    assert.equal(f.shortFuturesCutOff, f.ltd);
    assert.equal(f.longFuturesCutOff, f.ltd);
  });

  test('cancel answers as IB documents it', async () => {
    const placed = await place(sim, 'DU1234567', [
      { conid: 265598, orderType: 'LMT', side: 'BUY', quantity: 1, price: 1, tif: 'GTC' },
    ]);
    // A limit far below the market: confirm o163 then cancel.
    const id = Number(placed[0].order_id);
    const c = await call(sim, 'DELETE', `/iserver/account/DU1234567/order/${id}`);
    assert.deepEqual(c.body, { msg: 'Request was submitted', order_id: id, conid: 265598, account: 'DU1234567' });
  });

  test('a bracket in one request: the children wait for the parent, then one fill cancels the other', async () => {
    const snap = await call(sim, 'GET', '/iserver/marketdata/snapshot?conids=265598&fields=31,84,86');
    void snap;
    const q = await call(sim, 'GET', '/iserver/marketdata/snapshot?conids=265598&fields=31,84,86');
    const ask = Number(q.body[0]['86']);
    const tp = Math.round(ask * 0.999 * 100) / 100; // a take-profit the market already meets
    const sl = Math.round(ask * 0.5 * 100) / 100;
    // Unrelated orders in bulk are refused.
    const bulk = await call(sim, 'POST', '/iserver/account/DU1234567/orders', {
      orders: [
        { conid: 265598, orderType: 'MKT', side: 'BUY', quantity: 1, tif: 'DAY' },
        { conid: 8314, orderType: 'MKT', side: 'BUY', quantity: 1, tif: 'DAY' },
      ],
    });
    assert.match(bulk.body.error, /unrelated orders in bulk/);
    const rows = await place(sim, 'DU1234567', [
      { conid: 265598, orderType: 'LMT', side: 'BUY', quantity: 2, price: 1, tif: 'GTC', cOID: 'br-parent' },
      { conid: 265598, orderType: 'LMT', side: 'SELL', quantity: 2, price: tp, tif: 'GTC', parentId: 'br-parent' },
      { conid: 265598, orderType: 'STP', side: 'SELL', quantity: 2, price: sl, tif: 'GTC', parentId: 'br-parent' },
    ]);
    assert.equal(rows.length, 3, JSON.stringify(rows));
    const [p, t, s] = rows.map((r: Body) => Number(r.order_id));
    const st = async (id: number) => (await call(sim, 'GET', `/iserver/account/order/status/${id}`)).body;
    // The parent (a limit far below the market) is working; the take-profit must not fill.
    assert.equal((await st(p)).order_status, 'Submitted');
    assert.equal((await st(t)).order_status, 'PreSubmitted');
    assert.equal((await st(t)).cum_fill, '0');
    // Lift the parent's limit above the market: it fills, the take-profit fills, the stop is cancelled.
    const mod = await call(sim, 'POST', `/iserver/account/DU1234567/order/${p}`, {
      conid: 265598,
      orderType: 'LMT',
      side: 'BUY',
      quantity: 2,
      price: Math.round(ask * 1.01 * 100) / 100,
      tif: 'GTC',
    });
    assert.equal(mod.status, 200, JSON.stringify(mod.body));
    await call(sim, 'POST', '/sim/clock', { advanceMs: 5000 });
    assert.equal((await st(p)).order_status, 'Filled');
    await call(sim, 'POST', '/sim/clock', { advanceMs: 5000 });
    assert.equal((await st(t)).order_status, 'Filled');
    assert.equal((await st(s)).order_status, 'Cancelled');
  });
});

describe('simulator account scoping', () => {
  let sim: SimulatorHandle;
  before(async () => {
    sim = await startSimulator({ pacing: false, accountScoping: true });
    await call(sim, 'GET', '/iserver/accounts');
  });
  after(() => sim.close());

  test('the selected account scopes P&L, live orders and order status', async () => {
    const placed = await place(sim, 'DU7654321', [
      { conid: 265598, orderType: 'LMT', side: 'BUY', quantity: 1, price: 1, tif: 'GTC' },
    ]);
    const id = Number(placed[0].order_id);
    // Before any selection the first account is selected: the other account's order is unknown (503).
    const before = await call(sim, 'GET', `/iserver/account/order/status/${id}`);
    assert.equal(before.status, 503);
    await call(sim, 'GET', '/iserver/account/pnl/partitioned');
    const pnl1 = await call(sim, 'GET', '/iserver/account/pnl/partitioned');
    assert.deepEqual(Object.keys(pnl1.body.upnl), ['DU1234567.Core']);
    const sel = await call(sim, 'POST', '/iserver/account', { acctId: 'DU7654321' });
    assert.deepEqual(sel.body, { set: true, acctId: 'DU7654321' });
    const after = await call(sim, 'GET', `/iserver/account/order/status/${id}`);
    assert.equal(after.status, 200);
    assert.equal(after.body.account, 'DU7654321');
    const pnl2 = await call(sim, 'GET', '/iserver/account/pnl/partitioned');
    assert.deepEqual(Object.keys(pnl2.body.upnl), ['DU7654321.Core']);
    await call(sim, 'GET', '/iserver/account/orders');
    const live = await call(sim, 'GET', '/iserver/account/orders');
    assert.ok(live.body.orders.length >= 1);
    assert.ok(live.body.orders.every((o: Body) => o.acct === 'DU7654321'));
    const bad = await call(sim, 'POST', '/iserver/account', { acctId: 'U0000000' });
    assert.deepEqual([bad.status, bad.body], [500, { error: 'Invalid account ID' }]);
  });

  test("IB's rules are the default; a lenient simulator is asked for", async () => {
    const plain = await startSimulator({ pacing: false });
    const lenient = await startSimulator({
      pacing: false,
      penaltyBoxMs: 0,
      accountScoping: false,
      derivativeSearch: false,
    });
    try {
      const faults = (await call(plain, 'GET', '/sim/faults')).body;
      assert.deepEqual(
        [faults.profile, faults.accountScoping, faults.derivativeSearch, faults.penaltyBoxMs],
        ['strict', true, true, 15 * 60_000],
      );
      const loose = (await call(lenient, 'GET', '/sim/faults')).body;
      assert.deepEqual([loose.accountScoping, loose.derivativeSearch, loose.penaltyBoxMs], [false, false, 0]);
      // {"clear":true} returns to the start options, not to IB's defaults.
      await call(lenient, 'POST', '/sim/faults', { accountScoping: true, derivativeSearch: true });
      const cleared = (await call(lenient, 'POST', '/sim/faults', { clear: true })).body;
      assert.deepEqual([cleared.accountScoping, cleared.derivativeSearch], [false, false]);
    } finally {
      await plain.close();
      await lenient.close();
    }
  });
});
