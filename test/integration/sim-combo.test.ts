/**
 * Combo orders in the simulator, over raw HTTP as any Client Portal client sends them.
 *
 * Sources: IBKR Campus, Web API v1.0, "Combo / Spread Orders" (conidex replaces conid; positive
 * ratio buys, negative sells; the spread conid per currency, 28812380 for USD; outside the US
 * "spread_conid@exchange"); the web UI's own body quoted in github.com/Voyz/ibind/issues/51
 * (BUY at a negative price: a credit); "+1" ratios from a user's log in
 * github.com/Voyz/ibind/issues/110. Simulator rules where IB's documents are silent: option legs
 * share one underlying, at most six legs, LMT and MKT combos only.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type SimulatorHandle, startSimulator } from '../../src/simulator/index.js';
import { type Body, call } from './sim-client.js';

describe('simulator combo orders', () => {
  let sim: SimulatorHandle;
  let acct = '';
  /** Call conids of AAPL at seven ascending strikes, and one MSFT call. */
  let aapl: number[] = [];
  let msft = 0;

  const calls = async (conid: number, n: number): Promise<number[]> => {
    const month = (
      await call(sim, 'GET', `/iserver/secdef/search?symbol=${conid === 265598 ? 'AAPL' : 'MSFT'}`)
    ).body[0].sections
      .find((s: Body) => s.secType === 'OPT')
      .months.split(';')[1];
    const strikes = (await call(sim, 'GET', `/iserver/secdef/strikes?conid=${conid}&sectype=OPT&month=${month}`)).body
      .call as number[];
    const mid = Math.floor(strikes.length / 2);
    const out: number[] = [];
    for (const k of strikes.slice(mid, mid + n)) {
      const info = await call(
        sim,
        'GET',
        `/iserver/secdef/info?conid=${conid}&sectype=OPT&month=${month}&strike=${k}&right=C`,
      );
      out.push(Number(info.body[0].conid));
    }
    return out;
  };
  const combo = (conidex: string, extra: Record<string, unknown> = {}) => ({
    orders: [{ acctId: acct, conidex, orderType: 'LMT', price: 0.5, side: 'BUY', tif: 'DAY', quantity: 1, ...extra }],
  });

  before(async () => {
    sim = await startSimulator({ pacing: false });
    acct = (await call(sim, 'GET', '/iserver/accounts')).body.accounts[0];
    aapl = await calls(265598, 7);
    msft = (await calls(272093, 1))[0]!;
  });
  after(() => sim.close());

  test("a call spread's what-if: value at the net price, the legs' commissions", async () => {
    const r = await call(
      sim,
      'POST',
      `/iserver/account/${acct}/orders/whatif`,
      combo(`28812380;;;${aapl[0]}/1,${aapl[1]}/-1`),
    );
    assert.equal(r.status, 200);
    assert.equal(r.body.error, null, JSON.stringify(r.body));
    assert.match(r.body.amount.amount, /^50\.00 USD/);
    assert.match(r.body.amount.commission, /^2\.00 USD/, '0.65 a contract, at least 1.00 a leg');
  });

  test('placed at a marketable net price: one order on the spread conid, filled, one execution per leg', async () => {
    // The first snapshot call only opens the stream (IB's pre-flight).
    await call(sim, 'GET', `/iserver/marketdata/snapshot?conids=${aapl[0]},${aapl[1]}&fields=84,86`);
    // The spread's ask from its legs: leg 1's ask less leg 2's bid; pay 0.20 more to be sure.
    const snap = await call(sim, 'GET', `/iserver/marketdata/snapshot?conids=${aapl[0]},${aapl[1]}&fields=84,86`);
    const px = (c: number, f: string) => Number(String(snap.body.find((x: Body) => x.conid === c)?.[f] ?? 'NaN'));
    const ask = px(aapl[0]!, '86') - px(aapl[1]!, '84');
    const price = Math.round((Number.isFinite(ask) ? ask + 0.2 : 50) * 100) / 100;
    const r = await call(
      sim,
      'POST',
      `/iserver/account/${acct}/orders`,
      combo(`28812380;;;${aapl[0]}/+1,${aapl[1]}/-1`, { cOID: 'combo-1', price }),
    );
    let body = r.body;
    for (let i = 0; i < 5 && Array.isArray(body) && body[0]?.messageIds; i++) {
      body = (await call(sim, 'POST', `/iserver/reply/${body[0].id}`, { confirmed: true })).body;
    }
    assert.ok(Array.isArray(body) && body[0].order_id, JSON.stringify(body));
    const view = (await call(sim, 'GET', '/sim/orders')).body;
    const o = view.orders.find((x: Body) => x.cOID === 'combo-1');
    assert.equal(o.conid, 28812380);
    assert.equal(o.status, 'Filled');
    const ex = view.executions.filter((x: Body) => x.orderId === o.orderId);
    assert.deepEqual(
      ex.map((x: Body) => [x.conid, x.side, x.qty]),
      [
        [aapl[0], 'BUY', 1],
        [aapl[1], 'SELL', 1],
      ],
    );
    assert.equal(Math.round((ex[0].price - ex[1].price) * 100) / 100, o.avgPrice, 'the legs add up to the net fill');
    const live = await call(sim, 'GET', `/iserver/account/order/status/${o.orderId}`);
    assert.equal(live.body.conidex, `28812380;;;${aapl[0]}/+1,${aapl[1]}/-1`);
  });

  test("IB's rejections: malformed, unknown spread conid, zero ratio, two underlyings, seven legs, stop combos, a non-USD spread without exchange", async () => {
    const cases: Array<[unknown, RegExp]> = [
      [combo(`28812380;;;${aapl[0]}`), /Invalid combo leg/],
      [combo(`12345;;;${aapl[0]}/1,${aapl[1]}/-1`), /Invalid spread contract id/],
      [combo(`28812380;;;${aapl[0]}/0,${aapl[1]}/-1`), /ratio 0/],
      [combo(`28812380;;;${aapl[0]}/1,${msft}/-1`), /share one underlying/],
      [combo(`28812380;;;${aapl[0]}/1,${aapl[0]}/-1`), /Duplicate combo leg/],
      [combo(`28812380;;;${aapl[0]}/1`), /at least two legs/],
      [combo(`28812380;;;${aapl.map((c) => `${c}/1`).join(',')}`), /at most 6 legs/],
      [combo(`28812380;;;${aapl[0]}/1,${aapl[1]}/-1`, { orderType: 'STP' }), /not supported for combination orders/],
      [combo(`58666491;;;${aapl[0]}/1,${aapl[1]}/-1`), /needs its exchange/],
      [combo(`58666491@LSE;;;${aapl[0]}/1,${aapl[1]}/-1`), /must trade in GBP/],
      [combo(`28812380;;;${aapl[0]}/1,${aapl[1]}/-1`, { price: 0 }), /not a valid price/],
      [
        combo(`28812380;;;${aapl[0]}/1,${aapl[1]}/-1`, { orderType: 'MKT', price: undefined, outsideRTH: true }),
        /outside regular trading hours/,
      ],
    ];
    for (const [body, re] of cases) {
      const r = await call(sim, 'POST', `/iserver/account/${acct}/orders`, body);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.match(String(r.body?.error), re, JSON.stringify(body));
    }
  });
});
