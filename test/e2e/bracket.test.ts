/**
 * Brackets end to end (issue #20): MCP client → stdio server (dist) → simulator. One request
 * places the entry and its take-profit and stop-loss; the entry fills, the take-profit fills
 * later and the stop is cancelled; executions and the journal agree; a lost answer places
 * nothing twice and the answer names the whole group; bad exit prices never reach IB.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type Harness, simRequest, startServer } from './harness.js';

const ACCT = 'DU1234567';

interface SimOrder {
  orderId: number;
  cOID?: string;
  parentOrderId?: number;
  side: string;
  type: string;
  status: string;
  filled: number;
}
interface SimView {
  orders: SimOrder[];
  executions: Array<{ orderId: number; side: string; qty: number }>;
  cOIDSubmissions: Record<string, number>;
}

const cents = (x: number) => Math.round(x * 100) / 100;

describe('bracket orders end to end', () => {
  let h: Harness;
  const view = () => simRequest(h.sim!, '/sim/orders') as Promise<SimView>;
  const group = (v: SimView, parentId: number) =>
    v.orders.filter((o) => o.orderId === parentId || o.parentOrderId === parentId);
  const last = async (symbol: string) => {
    const q = await h.callTool('get_quote', { symbol });
    return q.structured.quotes[0].last as number;
  };

  /** A BUY LMT bracket of 3 AAPL at these multiples of the last price, with the next answer of `endpoint` lost. */
  const lostBracket = async (endpoint: string, [entry, tp, sl]: [number, number, number], clientOrderId: string) => {
    const px = await last('AAPL');
    await h.simControl('/sim/faults', { dropResponse: { endpoint, count: 1 } });
    const r = await h.callTool('place_stock_order', {
      accountId: ACCT,
      symbol: 'AAPL',
      action: 'BUY',
      orderType: 'LMT',
      price: cents(px * entry),
      quantity: 3,
      takeProfit: cents(px * tp),
      stopLoss: cents(px * sl),
      clientOrderId,
    });
    assert.equal(r.isError, false, r.text);
    const v = await view();
    assert.equal(v.cOIDSubmissions[clientOrderId], 1, 'sent once');
    return { r, v, parents: v.orders.filter((o) => o.cOID === clientOrderId) };
  };

  before(async () => {
    h = await startServer({ args: ['--order-confirmation', 'none'] });
  });
  after(async () => {
    await h?.close();
  });

  test('the entry fills, the take-profit fills later, the stop is cancelled; executions and journal agree', async () => {
    const px = await last('MSFT');
    const tp = cents(px * 1.001 + 0.01);
    const sl = cents(px * 0.5);
    const pv = await h.callTool('preview_order', {
      accountId: ACCT,
      symbol: 'MSFT',
      action: 'BUY',
      orderType: 'MKT',
      quantity: 5,
      takeProfit: tp,
      stopLoss: sl,
    });
    assert.equal(pv.isError, false, pv.text);
    assert.equal(pv.structured.status, 'previewed');
    assert.deepEqual([pv.structured.sent.takeProfit, pv.structured.sent.stopLoss], [tp, sl]);
    assert.ok(pv.structured.preview?.amount > 0, pv.text);
    assert.match(pv.text, /take-profit SELL LMT/);

    const args = {
      accountId: ACCT,
      symbol: 'MSFT',
      action: 'BUY',
      orderType: 'MKT',
      quantity: 5,
      tif: 'GTC',
      takeProfit: tp,
      stopLoss: sl,
      clientOrderId: 'e2e-bracket-1',
    };
    const r = await h.callTool('place_stock_order', args);
    assert.equal(r.isError, false, r.text);
    assert.equal(r.structured.status, 'filled', r.text);
    assert.equal(r.structured.children?.length, 2, r.text);
    const parentId = Number(r.structured.orderId);
    let v = await view();
    const [tpId, slId] = r.structured.children.map((c: { orderId: string }) => Number(c.orderId));
    assert.deepEqual(
      group(v, parentId).map((o) => [o.orderId, o.side, o.type]),
      [
        [parentId, 'BUY', 'MKT'],
        [tpId, 'SELL', 'LMT'],
        [slId, 'SELL', 'STP'],
      ],
    );
    assert.equal(v.cOIDSubmissions['e2e-bracket-1'], 1);

    // The market moves (sim clock) until the take-profit fills. The simulated price path depends on
    // the wall-clock start, so it may first fall: an hour a step, up to four weeks, crosses +0.1 %
    // on any path the simulator draws (the stop at -50 % is never reached).
    for (let i = 0; i < 700; i++) {
      v = await view();
      if (v.orders.find((o) => o.orderId === tpId)!.status === 'Filled') break;
      await h.simControl('/sim/clock', { advanceMs: 3_600_000 });
    }
    const byId = new Map(v.orders.map((o) => [o.orderId, o]));
    assert.equal(byId.get(tpId)!.status, 'Filled');
    assert.equal(byId.get(slId)!.status, 'Cancelled', 'one cancels the other');
    const st = await h.callTool('get_order_status', { orderId: String(slId) });
    assert.equal(st.structured.order.status, 'Cancelled', st.text);

    // Executions: 5 bought, 5 sold, nothing else for the group: the position is back where it was.
    const ex = v.executions.filter((x) => [parentId, tpId, slId].includes(x.orderId));
    const net = ex.reduce((s, x) => s + (x.side === 'BUY' ? x.qty : -x.qty), 0);
    assert.equal(net, 0);
    assert.equal(ex.filter((x) => x.orderId === slId).length, 0);
    // The journal holds the group as one attempt, with the children's ids.
    const lines = readFileSync(join(h.home, 'journal.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { cOID: string; ev: string; order?: { takeProfit?: number }; message?: string });
    const mine = lines.filter((l) => l.cOID === 'e2e-bracket-1');
    assert.equal(mine.filter((l) => l.ev === 'attempt').length, 1);
    assert.equal(mine[0]!.order?.takeProfit, tp);
    assert.ok(
      mine.some((l) => l.message?.includes(String(tpId)) && l.message.includes(String(slId))),
      JSON.stringify(mine),
    );
    // A retry with the same clientOrderId sends nothing.
    const again = await h.callTool('place_stock_order', args);
    assert.equal(again.structured.existing, true, again.text);
    assert.equal((await view()).orders.length, v.orders.length);
  });

  test('lost answer after IB placed the group: it exists once, and the answer names every order of it', async () => {
    // IB asks once for the group (the stop order notice, auto-confirmed by policy); the answer
    // to that reply, which places the group, is lost.
    const { r, v, parents } = await lostBracket('POST /iserver/reply/:replyId', [1.01, 1.02, 0.9], 'e2e-bracket-lost');
    assert.match(r.text, /exists exactly once/);
    assert.equal(parents.length, 1);
    const kids = v.orders.filter((o) => o.parentOrderId === parents[0]!.orderId);
    assert.equal(kids.length, 2);
    assert.deepEqual(
      r.structured.children.map((c: { orderId: string }) => c.orderId).sort(),
      kids.map((k) => String(k.orderId)).sort(),
    );
    for (const k of kids) assert.match(r.text, new RegExp(String(k.orderId)));
    // What the answer tells the user to check: get_live_orders names each child's parent.
    const live = await h.callTool('get_live_orders', {});
    const named = live.structured.orders.filter((o: { parentId?: string }) => o.parentId === r.structured.orderId);
    assert.equal(named.length, 2, live.text);
    assert.match(live.text, new RegExp(`parent ${r.structured.orderId}`));
  });

  test('lost answer when IB placed nothing: "may have been placed" for the whole group, nothing sent twice', async () => {
    // The request is processed (IB asks about the price) but its answer is lost: no order exists.
    const { r, parents } = await lostBracket(
      'POST /iserver/account/:accountId/orders',
      [0.9, 1.1, 0.8],
      'e2e-bracket-lost2',
    );
    assert.equal(r.structured.status, 'uncertain');
    assert.match(r.text, /the order and its take-profit and stop-loss .* MAY have been placed/);
    assert.match(r.text, /e2e-bracket-lost2/);
    assert.equal(parents.length, 0);
  });

  test('exit prices on the wrong side are refused before anything is sent', async () => {
    const before = (await view()).orders.length;
    const r = await h.callTool('place_stock_order', {
      accountId: ACCT,
      symbol: 'AAPL',
      action: 'SELL',
      orderType: 'LMT',
      price: 100,
      quantity: 1,
      takeProfit: 101,
      stopLoss: 99,
    });
    assert.equal(r.isError, true);
    assert.match(r.text, /takeProfit 101 must be below the entry price 100/);
    assert.match(r.text, /stopLoss 99 must be above the entry price 100/);
    assert.equal((await view()).orders.length, before);
  });
});

describe('bracket with token approval (client without elicitation)', () => {
  let h: Harness;
  before(async () => {
    h = await startServer({ args: ['--order-confirmation', 'elicit'] });
  });
  after(async () => {
    await h?.close();
  });

  test('one token holds the whole group as shown, and sends it once', async () => {
    const q = await h.callTool('get_quote', { symbol: 'AAPL' });
    const px = q.structured.quotes[0].last as number;
    const [tp, sl] = [cents(px * 1.02), cents(px * 0.9)];
    const held = await h.callTool('place_stock_order', {
      accountId: ACCT,
      symbol: 'AAPL',
      action: 'BUY',
      orderType: 'MKT',
      quantity: 2,
      takeProfit: tp,
      stopLoss: sl,
    });
    assert.equal(held.structured.status, 'confirmation_required', held.text);
    assert.deepEqual([held.structured.sent.takeProfit, held.structured.sent.stopLoss], [tp, sl]);
    assert.match(held.text, /take-profit SELL LMT @ [\d.]+, stop-loss SELL STP [\d.]+ \(one cancels the other\)/);
    const cOID: string = held.structured.clientOrderId;
    const before = (await simRequest(h.sim!, '/sim/orders')) as SimView;
    assert.equal(before.cOIDSubmissions[cOID], undefined, 'nothing sent before approval');
    const token = held.structured.confirmation.token;
    const ok = await h.callTool('confirm_order', { token });
    assert.equal(ok.isError, false, ok.text);
    assert.equal(ok.structured.children?.length, 2, ok.text);
    const again = await h.callTool('confirm_order', { token });
    assert.equal(again.isError, true);
    const v = (await simRequest(h.sim!, '/sim/orders')) as SimView;
    assert.equal(v.cOIDSubmissions[cOID], 1);
    const parent = v.orders.find((o) => o.cOID === cOID)!;
    const kids = v.orders.filter((o) => o.parentOrderId === parent.orderId);
    assert.deepEqual(kids.map((k) => k.type).sort(), ['LMT', 'STP']);
  });
});
