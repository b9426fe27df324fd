/**
 * Advisor (FA) logins (issue 19): every sub-account is found through IB's tiered and paged
 * endpoints, --accounts hides the others, and account-scoped reads for two sub-accounts running
 * at the same time never answer with the other's data, also after a switch that failed half-way.
 * Against the simulator's advisor login (120 client accounts: 100 on /portfolio/subaccounts, the
 * rest only on /portfolio/subaccounts2's pages) with IB's account scoping on.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createCpapiBackend } from '../../src/backends/cpapi/index.js';
import { Pacer } from '../../src/backends/cpapi/limiter.js';
import type { OrderRequest } from '../../src/broker/orders.js';
import { type SimulatorHandle, startSimulator } from '../../src/simulator/index.js';
import { AAPL_LMT } from '../fixtures/order-request.js';

const SUBS = 120;
/** Two client accounts, one beyond the 100 /portfolio/subaccounts lists. */
const A = 'DU9000004';
const B = 'DU9000110';

/** A resting order (limit 1, good till cancelled) of one account. */
const order = (accountId: string, clientOrderId: string): OrderRequest => ({
  ...AAPL_LMT,
  accountId,
  clientOrderId,
  quantity: 1,
  limitPrice: 1,
  tif: 'GTC',
});

async function simPost(sim: SimulatorHandle, path: string, body: unknown): Promise<void> {
  const res = await fetch(`${sim.url}${path}`, {
    method: 'POST',
    body: JSON.stringify(body),
    headers: { 'content-type': 'application/json' },
  });
  assert.equal(res.status, 200);
}

/** P&L reads the simulator answered so far. */
async function simStats(sim: SimulatorHandle): Promise<number> {
  const stats = (await (await fetch(`${sim.url}/sim/stats`)).json()) as { byEndpoint: Record<string, number> };
  return stats.byEndpoint['GET /iserver/account/pnl/partitioned'] ?? 0;
}

const backendFor = (sim: SimulatorHandle, accounts?: string[]) =>
  createCpapiBackend({
    baseUrl: sim.url,
    pacer: new Pacer({ maxPerWindow: 10_000, endpoints: {} }),
    ...(accounts ? { accounts } : {}),
  });

describe('advisor login: sub-accounts, --accounts and account-scoped reads', () => {
  let sim: SimulatorHandle;
  before(async () => {
    // A Tuesday, 10:00 in New York: marketable orders fill.
    const startAt = Date.UTC(2026, 10, 24, 15, 0);
    sim = await startSimulator({ port: 0, seed: 5, pacing: false, tls: false, advisorAccounts: SUBS, startAt });
  });
  after(async () => {
    await sim.close();
  });

  test('every sub-account is found: /portfolio/subaccounts (100), then the pages of /subaccounts2', async () => {
    const b = backendFor(sim);
    const list = await b.listAccounts();
    assert.equal(list.length, SUBS);
    assert.equal(new Set(list.map((a) => a.id)).size, SUBS);
    assert.ok(
      list.some((a) => a.id === B),
      'an account only the paged endpoint lists',
    );
    // Positions of a sub-account beyond the first 100: its own book (4 + index AAPL shares).
    const pos = await b.positions(B);
    assert.deepEqual(
      pos.map((p) => [p.accountId, p.symbol, p.quantity]),
      [[B, 'AAPL', 4 + 109 - 3]],
    );
    await b.close();
  });

  test("one sub-account's P&L: its row alone, in one read, not one read per sub-account", async () => {
    const b = backendFor(sim);
    const before = await simStats(sim);
    const rows = await b.pnl({ accountIds: [B] });
    assert.deepEqual(
      rows.map((r) => r.accountId),
      [B],
    );
    assert.ok(rows[0]?.netLiquidation !== undefined && rows[0].netLiquidation > 0);
    const reads = (await simStats(sim)) - before;
    assert.ok(reads <= 3, `${reads} P&L reads`);
    await b.close();
  });

  test('--accounts: only the allowed sub-accounts are seen; another is refused, for reads and orders', async () => {
    const b = backendFor(sim, [A, B]);
    assert.deepEqual((await b.listAccounts()).map((a) => a.id).sort(), [A, B]);
    assert.deepEqual((await b.tradingAccounts()).accounts.sort(), [A, B]);
    await assert.rejects(b.positions('DU9000001'), /Unknown account|not one/i);
    await assert.rejects(b.liveOrders({ accountId: 'DU9000001', force: true }), /not one this server may use/);
    await b.close();
  });

  test('200 pairs of concurrent reads (order status, executions, live orders) for two sub-accounts: 0 with the other account', async () => {
    const b = backendFor(sim);
    const ids: Record<string, string> = {};
    for (const acct of [A, B]) {
      let out = await b.placeOrder(order(acct, `fa-${acct}`));
      while (out.kind === 'questions') out = await b.reply(out.question.replyId, true);
      assert.equal(out.kind, 'placed');
      ids[acct] = out.kind === 'placed' ? (out.orders[0]?.orderId ?? '') : '';
      // And a fill, so that each account has executions of its own.
      let fill = await b.placeOrder({ ...order(acct, `fa-fill-${acct}`), limitPrice: 10_000, tif: 'DAY' });
      while (fill.kind === 'questions') fill = await b.reply(fill.question.replyId, true);
      assert.equal(fill.kind, 'placed');
    }
    let wrong = 0;
    let failed = 0;
    let answers = 0;
    const check = async (acct: string, i: number) => {
      try {
        if (i % 3 === 0) {
          const o = await b.orderStatus(ids[acct] as string, { accountId: acct });
          answers++;
          if (o.accountId !== acct) wrong++;
        } else if (i % 3 === 1) {
          const rows = await b.trades(1, { accountId: acct });
          answers++;
          if (!rows.some((t) => t.clientOrderId === `fa-fill-${acct}`) || rows.some((t) => t.accountId !== acct)) {
            wrong++;
          }
        } else {
          const rows = await b.liveOrders({ accountId: acct, force: true });
          answers++;
          if (!rows.some((o) => o.clientOrderId === `fa-${acct}`) || rows.some((o) => o.accountId !== acct)) wrong++;
        }
      } catch {
        failed++;
      }
    };
    await Promise.all(Array.from({ length: 200 }, (_, i) => [check(A, i), check(B, i)]).flat());
    console.log(`# advisor: ${answers} answers, ${wrong} with another account's data, ${failed} failed`);
    assert.equal(wrong, 0, "answers with the other account's data");
    assert.equal(failed, 0);
    assert.equal(answers, 400);
    await b.close();
  });

  test('a switch whose answer was lost is not taken as done: the next call switches again', async () => {
    const b = backendFor(sim);
    const ids: Record<string, string> = {};
    for (const acct of [A, B]) {
      const live = await b.liveOrders({ accountId: acct, force: true });
      ids[acct] = live.find((o) => o.clientOrderId === `fa-${acct}`)?.orderId ?? '';
      assert.ok(ids[acct]);
    }
    // A selected.
    assert.equal((await b.orderStatus(ids[A] as string, { accountId: A })).accountId, A);
    // IB switches to B, but every answer to the switch is lost.
    await simPost(sim, '/sim/faults', { dropResponse: { endpoint: 'POST /iserver/account', count: 10 } });
    await assert.rejects(b.orderStatus(ids[B] as string, { accountId: B }));
    await simPost(sim, '/sim/faults', { clear: true });
    // The session is on B at IB; a read for A must switch back, not trust its old record.
    const again = await b.liveOrders({ accountId: A, force: true });
    assert.ok(again.length > 0 && again.every((o) => o.accountId === A));
    assert.equal((await b.orderStatus(ids[A] as string, { accountId: A })).accountId, A);
    await b.close();
  });
});

describe("a named account's live orders on a login with several accounts", () => {
  test("from IB, not from the WebSocket's list (IB pushes the selected account's orders)", async () => {
    const sim = await startSimulator({ port: 0, seed: 5, pacing: false, tls: false });
    const b = backendFor(sim);
    try {
      const ids = ['DU1234567', 'DU7654321'];
      for (const acct of ids) {
        let out = await b.placeOrder(order(acct, `ws-${acct}`));
        while (out.kind === 'questions') out = await b.reply(out.question.replyId, true);
        assert.equal(out.kind, 'placed');
      }
      b.session.ready();
      for (let i = 0; i < 150 && !b.stream?.orders(); i++) await new Promise((r) => setTimeout(r, 100));
      assert.ok(b.stream?.orders(), 'the WebSocket order list is seeded');
      // The first account is selected: the stream's list has only its orders.
      for (const acct of [ids[1], ids[0], ids[1]] as string[]) {
        const rows = await b.liveOrders({ accountId: acct });
        const names = rows.map((o) => o.clientOrderId).join(',');
        assert.ok(
          rows.some((o) => o.clientOrderId === `ws-${acct}`),
          `${acct}: ${names}`,
        );
        assert.ok(rows.every((o) => o.accountId === acct));
      }
    } finally {
      await b.close();
      await sim.close();
    }
  });
});
