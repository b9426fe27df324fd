/**
 * One-cancels-all groups end to end (issue #20): MCP client → stdio server (dist) → simulator.
 * Sources of each behaviour: IB's [V3] spec (singleOrderSubmissionRequest.isSingleGroup: "all
 * orders in the containing array are to be treated as an OCA group") and docs/ib/orders.md §7.1
 * ("With the exception of OCA groups and bracket orders, … no bulk"): one request, one row per
 * order; TWS API "One Cancels All" (OCA type 1: a fill cancels the others) for the fills.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { cents, journalLines, lastPrice, type SimView } from './group-helpers.js';
import { type Harness, simRequest, startServer } from './harness.js';

const ACCT = 'DU1234567';

describe('OCA groups end to end', () => {
  let h: Harness;
  const view = () => simRequest(h.sim!, '/sim/orders') as Promise<SimView>;

  /** Two BUY limit orders: AAPL at `a` × last, MSFT at `m` × last. */
  const pair = async (a: number, m: number, ids: [string, string]) => {
    const [pa, pm] = [await lastPrice(h, 'AAPL'), await lastPrice(h, 'MSFT')];
    return [
      { symbol: 'AAPL', action: 'BUY', orderType: 'LMT', quantity: 2, price: cents(pa * a), clientOrderId: ids[0] },
      { symbol: 'MSFT', action: 'BUY', orderType: 'LMT', quantity: 1, price: cents(pm * m), clientOrderId: ids[1] },
    ];
  };

  before(async () => {
    h = await startServer({ args: ['--order-confirmation', 'none', '--toolsets', 'default,order_groups'] });
  });
  after(async () => {
    await h?.close();
  });

  test('one request, one row per order; a fill of one cancels the other; journal and positions agree', async () => {
    // AAPL's limit is above the ask (marketable), MSFT's below it (within IB's 3 % price
    // constraint, question o163): AAPL fills, MSFT is cancelled.
    const orders = await pair(1.02, 0.98, ['oca-e2e-a1', 'oca-e2e-m1']);
    const r = await h.callTool('place_oca_orders', { accountId: ACCT, ocaGroup: 'oca-e2e-1', orders });
    assert.equal(r.isError, false, r.text);
    assert.equal(r.structured.members.length, 2, r.text);
    const v = await view();
    const [a, m] = ['oca-e2e-a1', 'oca-e2e-m1'].map((c) => v.orders.find((o) => o.cOID === c)!);
    assert.ok(a && m, `${r.text}\n${JSON.stringify(v)}`);
    assert.equal(a.ocaGroup, m.ocaGroup, 'one OCA group at IB');
    assert.equal(a.status, 'Filled');
    assert.equal(m.status, 'Cancelled', 'the fill of one cancels the other');
    assert.deepEqual(
      r.structured.members.map((x: { orderId: string }) => Number(x.orderId)),
      [a.orderId, m.orderId],
    );
    assert.equal(v.cOIDSubmissions['oca-e2e-a1'], 1);
    assert.equal(v.cOIDSubmissions['oca-e2e-m1'], 1);
    // The journal holds the group before the request: one attempt per order, marked with the group.
    const lines = journalLines(h).filter((l) => l.cOID === 'oca-e2e-a1' || l.cOID === 'oca-e2e-m1');
    const attempts = lines.filter((l) => l.ev === 'attempt');
    assert.deepEqual(
      attempts.map((l) => [l.cOID, l.group, l.state]),
      [
        ['oca-e2e-a1', 'oca-e2e-a1', 'sending'],
        ['oca-e2e-m1', 'oca-e2e-a1', 'sending'],
      ],
    );
    for (const o of [a, m]) {
      assert.ok(
        lines.some((l) => l.orderId === String(o.orderId)),
        `journal has IB id ${o.orderId}`,
      );
    }
    // Executions: only AAPL's order traded.
    assert.deepEqual(
      v.executions.filter((x) => [a.orderId, m.orderId].includes(x.orderId)).map((x) => x.orderId),
      v.executions.filter((x) => x.orderId === a.orderId).map((x) => x.orderId),
    );
    // A second call with the first clientOrderId sends nothing.
    const again = await h.callTool('place_oca_orders', { accountId: ACCT, orders });
    assert.equal(again.structured.existing, true, again.text);
    assert.deepEqual(
      again.structured.members.map((x: { orderId: string }) => Number(x.orderId)),
      [a.orderId, m.orderId],
      'the repeat names the whole group',
    );
    assert.equal((await view()).cOIDSubmissions['oca-e2e-m1'], 1);
  });

  test("IB's question about one order holds the whole group; confirming it places every order once", async () => {
    // MSFT 10 % below the market: IB's price constraint question (o163) for the group.
    const orders = await pair(0.98, 0.9, ['oca-q-a', 'oca-q-m']);
    const q = await h.callTool('place_oca_orders', { accountId: ACCT, orders });
    assert.equal(q.structured.status, 'needs_reply', q.text);
    assert.match(q.text, /o163/);
    let v = await view();
    assert.equal(v.orders.filter((o) => o.cOID?.startsWith('oca-q-')).length, 0, 'nothing placed yet');
    const ok = await h.callTool('confirm_order', { replyId: q.structured.question.replyId });
    assert.equal(ok.isError, false, ok.text);
    // confirm_order's result names the group's other order too.
    assert.equal(ok.structured.children?.length, 1, ok.text);
    v = await view();
    const placed = v.orders.filter((o) => o.cOID?.startsWith('oca-q-'));
    assert.equal(placed.length, 2);
    assert.equal(new Set(placed.map((o) => o.ocaGroup)).size, 1);
    for (const c of ['oca-q-a', 'oca-q-m']) assert.equal(v.cOIDSubmissions[c], 1, c);
    const states = journalLines(h).filter((l) => l.cOID.startsWith('oca-q-') && l.state === 'placed');
    assert.deepEqual(states.map((l) => l.cOID).sort(), ['oca-q-a', 'oca-q-m']);
  });

  test('lost answer after IB placed the group: each order is found by its id, none sent twice', async () => {
    const orders = await pair(0.98, 0.98, ['oca-lost-a', 'oca-lost-m']);
    await h.simControl('/sim/faults', {
      dropResponse: { endpoint: 'POST /iserver/account/:accountId/orders', count: 1 },
    });
    const r = await h.callTool('place_oca_orders', { accountId: ACCT, orders });
    assert.equal(r.isError, false, r.text);
    assert.match(r.text, /all 2 exist exactly once/);
    const v = await view();
    for (const c of ['oca-lost-a', 'oca-lost-m']) {
      assert.equal(v.cOIDSubmissions[c], 1, c);
      assert.equal(v.orders.filter((o) => o.cOID === c).length, 1, c);
    }
    assert.equal(r.structured.status, 'submitted');
  });

  test('connection reset before IB saw the group: "MAY have been placed", nothing exists, nothing resent', async () => {
    const orders = await pair(0.98, 0.98, ['oca-rst-a', 'oca-rst-m']);
    await h.simControl('/sim/faults', {
      resetConnection: { endpoint: 'POST /iserver/account/:accountId/orders', count: 1 },
    });
    const r = await h.callTool('place_oca_orders', { accountId: ACCT, orders });
    assert.equal(r.isError, false, r.text);
    assert.equal(r.structured.status, 'uncertain', r.text);
    assert.match(r.text, /MAY have been placed/);
    assert.match(r.text, /oca-rst-a: not found; oca-rst-m: not found/);
    const v = await view();
    assert.equal(v.orders.filter((o) => o.cOID?.startsWith('oca-rst-')).length, 0);
    assert.equal(v.cOIDSubmissions['oca-rst-a'] ?? 0, 0);
    const states = journalLines(h).filter((l) => l.cOID.startsWith('oca-rst-') && l.state === 'unknown');
    assert.deepEqual(states.map((l) => l.cOID).sort(), ['oca-rst-a', 'oca-rst-m']);
  });

  test('IB refuses what it does not allow: ocaType 2/3, brackets inside, one order; nothing is sent', async () => {
    const before = (await view()).orders.length;
    const orders = await pair(0.98, 0.98, ['oca-bad-a', 'oca-bad-m']);
    const t2 = await h.callTool('place_oca_orders', { accountId: ACCT, orders, ocaType: 2 });
    assert.equal(t2.isError, true, t2.text);
    assert.match(t2.text, /ocaType 2 cannot be sent: .*isSingleGroup only/);
    const br = await h.callTool('place_oca_orders', {
      accountId: ACCT,
      orders: [{ ...orders[0], takeProfit: 999 }, orders[1]],
    });
    assert.equal(br.isError, true, br.text);
    const one = await h.callTool('place_oca_orders', { accountId: ACCT, orders: [orders[0]] });
    assert.equal(one.isError, true);
    assert.equal((await view()).orders.length, before);
  });
});

describe('OCA group limits and approval', () => {
  let h: Harness;
  before(async () => {
    h = await startServer({
      args: ['--order-confirmation', 'elicit', '--toolsets', 'default,order_groups', '--max-order-notional', '2000'],
    });
  });
  after(async () => {
    await h?.close();
  });

  test('each order fits the limit but the group does not: refused as a whole, nothing sent', async () => {
    const px = await lastPrice(h, 'AAPL');
    const q = Math.max(1, Math.floor(1500 / px));
    const r = await h.callTool('place_oca_orders', {
      accountId: ACCT,
      orders: [
        { symbol: 'AAPL', action: 'BUY', orderType: 'LMT', quantity: q, price: cents(px * 0.9) },
        { symbol: 'AAPL', action: 'BUY', orderType: 'LMT', quantity: q, price: cents(px * 0.95) },
      ],
    });
    assert.equal(r.isError, true, r.text);
    assert.match(r.text, /group-notional/);
    const v = (await simRequest(h.sim!, '/sim/orders')) as SimView;
    assert.equal(Object.keys(v.cOIDSubmissions).length, 0);
  });

  test('one token holds exactly the group shown and sends it once', async () => {
    const px = await lastPrice(h, 'AAPL');
    const held = await h.callTool('place_oca_orders', {
      accountId: ACCT,
      orders: [
        { symbol: 'AAPL', action: 'BUY', orderType: 'LMT', quantity: 1, price: cents(px * 0.98) },
        { symbol: 'AAPL', action: 'SELL', orderType: 'LMT', quantity: 1, price: cents(px * 1.02) },
      ],
    });
    assert.equal(held.structured.status, 'confirmation_required', held.text);
    assert.equal(held.structured.members.length, 2);
    const ids = held.structured.members.map((m: { clientOrderId: string }) => m.clientOrderId);
    let v = (await simRequest(h.sim!, '/sim/orders')) as SimView;
    for (const c of ids) assert.equal(v.cOIDSubmissions[c], undefined, 'nothing sent before approval');
    const ok = await h.callTool('confirm_order', { token: held.structured.confirmation.token });
    assert.equal(ok.isError, false, ok.text);
    assert.equal(ok.structured.status, 'submitted', ok.text);
    assert.equal(ok.structured.children?.length, 1, ok.text);
    const again = await h.callTool('confirm_order', { token: held.structured.confirmation.token });
    assert.equal(again.isError, true);
    v = (await simRequest(h.sim!, '/sim/orders')) as SimView;
    for (const c of ids) assert.equal(v.cOIDSubmissions[c], 1, c);
    const placed = v.orders.filter((o) => ids.includes(o.cOID ?? ''));
    assert.equal(new Set(placed.map((o) => o.ocaGroup)).size, 1);
  });
});

describe('OCA group in the client dialog (elicitation)', () => {
  let h: Harness;
  const asked: string[] = [];
  before(async () => {
    h = await startServer({
      args: ['--toolsets', 'default,order_groups'],
      capabilities: { elicitation: { form: {} } },
      setup: (client) =>
        client.setRequestHandler('elicitation/create', async (req) => {
          asked.push(String((req.params as { message: string }).message));
          return { action: 'accept', content: { confirm: true } } as never;
        }),
    });
  });
  after(async () => {
    await h?.close();
  });

  test('the human sees every order of the group in one dialog; one answer sends them all once', async () => {
    const px = await lastPrice(h, 'AAPL');
    const r = await h.callTool('place_oca_orders', {
      accountId: ACCT,
      orders: [
        {
          symbol: 'AAPL',
          action: 'BUY',
          orderType: 'LMT',
          quantity: 1,
          price: cents(px * 0.98),
          clientOrderId: 'oca-el-1',
        },
        {
          symbol: 'AAPL',
          action: 'SELL',
          orderType: 'LMT',
          quantity: 1,
          price: cents(px * 1.02),
          clientOrderId: 'oca-el-2',
        },
      ],
    });
    assert.equal(r.isError, false, r.text);
    assert.equal(asked.length, 1, 'one dialog for the group');
    assert.match(asked[0]!, /One-cancels-all group of 2 orders/);
    assert.match(asked[0]!, /1\. BUY 1 AAPL .*oca-el-1/);
    assert.match(asked[0]!, /2\. SELL 1 AAPL .*oca-el-2/);
    const v = (await simRequest(h.sim!, '/sim/orders')) as SimView;
    assert.equal(v.cOIDSubmissions['oca-el-1'], 1);
    assert.equal(v.cOIDSubmissions['oca-el-2'], 1);
  });
});
