/**
 * Brackets as groups (issue #20): cancelling a parent cancels its children and the answer names
 * them; modifying a parent keeps its children consistent; faults between the orders of a
 * bracket (a lost answer, a reset connection) never send an order twice, lose none, and the
 * answer says what is known. Sources: docs/ib/orders.md §7.1 (children carry parentId = the
 * parent's cOID, one request) and §7.5 (live rows name parentId); the simulator's fault
 * injection (src/simulator/control.ts).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { cents, journalLines, lastPrice, type SimView } from './group-helpers.js';
import { type Harness, simRequest, startServer } from './harness.js';

const ACCT = 'DU1234567';

describe('brackets as groups: cancel, modify, faults', () => {
  let h: Harness;
  const view = () => simRequest(h.sim!, '/sim/orders') as Promise<SimView>;

  /** A resting BUY LMT bracket of `qty` AAPL (entry 2 % below the market). */
  const resting = async (clientOrderId: string, qty = 4) => {
    const px = await lastPrice(h, 'AAPL');
    const r = await h.callTool('place_stock_order', {
      accountId: ACCT,
      symbol: 'AAPL',
      action: 'BUY',
      orderType: 'LMT',
      price: cents(px * 0.98),
      quantity: qty,
      tif: 'GTC',
      takeProfit: cents(px * 1.01),
      stopLoss: cents(px * 0.97),
      clientOrderId,
    });
    assert.equal(r.isError, false, r.text);
    assert.equal(r.structured.children?.length, 2, r.text);
    return {
      px,
      parentId: r.structured.orderId as string,
      kids: r.structured.children.map((c: { orderId: string }) => c.orderId) as string[],
    };
  };

  before(async () => {
    h = await startServer({ args: ['--order-confirmation', 'none'] });
  });
  after(async () => {
    await h?.close();
  });

  test('cancelling a parent cancels its children; the answer and the journal name every order', async () => {
    const { parentId, kids } = await resting('brg-cancel-1');
    const c = await h.callTool('cancel_order', { orderId: parentId });
    assert.equal(c.isError, false, c.text);
    assert.equal(c.structured.accepted, true, c.text);
    assert.deepEqual(c.structured.affected.map((a: { orderId: string }) => a.orderId).sort(), [...kids].sort());
    for (const a of c.structured.affected) assert.equal(a.status, 'Cancelled', c.text);
    assert.match(c.text, /take-profit of \d+ .*stop-loss of \d+/);
    assert.match(c.text, /All cancelled with it/);
    const v = await view();
    for (const id of [parentId, ...kids]) {
      assert.equal(v.orders.find((o) => String(o.orderId) === id)!.status, 'Cancelled', id);
    }
    const mine = journalLines(h).filter((l) => l.cOID === 'brg-cancel-1');
    assert.ok(
      mine.some((l) => l.ev === 'cancel'),
      'cancel journaled before it was sent',
    );
    assert.ok(mine.some((l) => kids.every((k) => l.message?.includes(k))));
  });

  test("modifying a parent's quantity changes its children's too; the answer lists every order", async () => {
    const { parentId, kids } = await resting('brg-mod-1', 4);
    const m = await h.callTool('modify_order', { orderId: parentId, quantity: 6 });
    assert.equal(m.isError, false, m.text);
    assert.deepEqual(m.structured.children.map((c: { orderId: string }) => c.orderId).sort(), [...kids].sort());
    assert.match(m.text, /take-profit \d+ → quantity 6 .*stop-loss \d+ → quantity 6/);
    const v = await view();
    for (const id of [parentId, ...kids]) assert.equal(v.orders.find((o) => String(o.orderId) === id)!.qty, 6, id);
    const mods = journalLines(h).filter((l) => l.cOID === 'brg-mod-1' && l.ev === 'modify');
    assert.equal(mods.length, 1, 'one modification journaled before it was sent, children named');
    assert.deepEqual(
      ((mods[0] as unknown as { changes: { children: string[] } }).changes.children ?? []).sort(),
      [...kids].sort(),
    );
  });

  test('a price that puts a child on the wrong side of its parent is refused; a child quantity alone too', async () => {
    const { px, parentId, kids } = await resting('brg-mod-2', 2);
    const before = await view();
    // The parent's new limit above its take-profit.
    const p = await h.callTool('modify_order', { orderId: parentId, price: cents(px * 1.02) });
    assert.equal(p.isError, true, p.text);
    assert.match(p.text, /takeProfit [\d.]+ must be above the entry price/);
    // The take-profit below the entry, the stop above it.
    const [tpId, slId] = kids;
    const tp = await h.callTool('modify_order', { orderId: tpId, price: cents(px * 0.975) });
    assert.equal(tp.isError, true, tp.text);
    assert.match(tp.text, /takeProfit [\d.]+ must be above/);
    const sl = await h.callTool('modify_order', { orderId: slId, stopPrice: cents(px * 0.99) });
    assert.equal(sl.isError, true, sl.text);
    assert.match(sl.text, /stopLoss [\d.]+ must be below/);
    const q = await h.callTool('modify_order', { orderId: tpId, quantity: 1 });
    assert.equal(q.isError, true, q.text);
    assert.match(q.text, /quantity follows its parent/);
    const after = await view();
    for (const id of [parentId, ...kids]) {
      const [a, b] = [before, after].map((v) => v.orders.find((o) => String(o.orderId) === id)!);
      assert.deepEqual([b!.qty, b!.limit, b!.stop], [a!.qty, a!.limit, a!.stop], `order ${id} unchanged`);
    }
  });

  test('the cancel answer is lost: IB shows it took effect, children with it; nothing sent twice', async () => {
    const { parentId, kids } = await resting('brg-cancel-lost');
    await h.simControl('/sim/faults', {
      dropResponse: { endpoint: 'DELETE /iserver/account/:accountId/order/:orderId', count: 1 },
    });
    const c = await h.callTool('cancel_order', { orderId: parentId });
    assert.equal(c.isError, false, c.text);
    assert.equal(c.structured.accepted, true, c.text);
    assert.match(c.text, /answer to the cancel was lost .* the cancel took effect/);
    const v = await view();
    for (const id of [parentId, ...kids]) {
      assert.equal(v.orders.find((o) => String(o.orderId) === id)!.status, 'Cancelled', id);
    }
  });

  test('a lost answer, then the entry fills, then the take-profit: the stop is cancelled; journal and positions agree', async () => {
    const pos = async () => {
      const r = await h.callTool('get_positions', { accountId: ACCT, symbol: 'MSFT' });
      const p = (r.structured.positions as Array<{ conid: number; qty?: number; secType: string }>).find(
        (x) => x.secType === 'STK',
      );
      return p?.qty ?? 0;
    };
    const start = await pos();
    const px = await lastPrice(h, 'MSFT');
    // IB asks about the stop order (auto-confirmed by policy); the answer to that reply, which
    // places the group, is lost.
    await h.simControl('/sim/faults', { dropResponse: { endpoint: 'POST /iserver/reply/:replyId', count: 1 } });
    const r = await h.callTool('place_stock_order', {
      accountId: ACCT,
      symbol: 'MSFT',
      action: 'BUY',
      // A marketable limit (it fills at once), the exits as in bracket.test.ts's lost-answer case.
      orderType: 'LMT',
      price: cents(px * 1.005),
      quantity: 3,
      tif: 'GTC',
      takeProfit: cents(px * 1.007),
      stopLoss: cents(px * 0.9),
      clientOrderId: 'brg-fill-lost',
    });
    await h.simControl('/sim/faults', { clear: true });
    assert.equal(r.isError, false, r.text);
    assert.match(r.text, /exists exactly once/);
    const parentId = Number(r.structured.orderId);
    let v = await view();
    const kids = v.orders.filter((o) => o.parentOrderId === parentId);
    assert.equal(kids.length, 2);
    const tp = kids.find((k) => k.type === 'LMT')!;
    const sl = kids.find((k) => k.type === 'STP')!;
    // An hour a step until the take-profit fills (as in bracket.test.ts, up to four weeks).
    for (let i = 0; i < 700; i++) {
      v = await view();
      if (v.orders.find((o) => o.orderId === tp.orderId)!.status === 'Filled') break;
      await h.simControl('/sim/clock', { advanceMs: 3_600_000 });
    }
    const byId = new Map(v.orders.map((o) => [o.orderId, o]));
    assert.equal(byId.get(tp.orderId)!.status, 'Filled');
    assert.equal(byId.get(sl.orderId)!.status, 'Cancelled', 'one cancels the other');
    assert.equal(v.cOIDSubmissions['brg-fill-lost'], 1, 'sent once');
    const ex = v.executions.filter((x) => [parentId, tp.orderId, sl.orderId].includes(x.orderId));
    assert.deepEqual(
      [
        ex.filter((x) => x.side === 'BUY').reduce((s, x) => s + x.qty, 0),
        ex.filter((x) => x.side === 'SELL').reduce((s, x) => s + x.qty, 0),
      ],
      [3, 3],
    );
    assert.equal(await pos(), start, 'the position is back where it was');
    const placed = journalLines(h).filter((l) => l.cOID === 'brg-fill-lost' && l.state === 'placed');
    assert.equal(placed.at(-1)?.orderId, String(parentId));
  });

  test('a reset connection while placing: "MAY have been placed", nothing exists, nothing resent', async () => {
    const px = await lastPrice(h, 'AAPL');
    await h.simControl('/sim/faults', {
      resetConnection: { endpoint: 'POST /iserver/account/:accountId/orders', count: 1 },
    });
    const args = {
      accountId: ACCT,
      symbol: 'AAPL',
      action: 'BUY',
      orderType: 'LMT',
      price: cents(px * 0.98),
      quantity: 1,
      takeProfit: cents(px * 1.01),
      stopLoss: cents(px * 0.97),
      clientOrderId: 'brg-reset-1',
    };
    const r = await h.callTool('place_stock_order', args);
    assert.equal(r.isError, false, r.text);
    assert.equal(r.structured.status, 'uncertain', r.text);
    assert.match(r.text, /MAY have been placed/);
    const v = await view();
    assert.equal(v.cOIDSubmissions['brg-reset-1'] ?? 0, 0);
    assert.equal(v.orders.filter((o) => o.cOID === 'brg-reset-1').length, 0);
    // Retrying the same id sends nothing: the journal holds it as possibly placed.
    const again = await h.callTool('place_stock_order', args);
    assert.equal((await view()).cOIDSubmissions['brg-reset-1'] ?? 0, 0, again.text);
  });
});
