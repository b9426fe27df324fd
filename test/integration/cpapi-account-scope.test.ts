/**
 * IB scopes partitioned P&L, live orders and order status to the session's selected account
 * (POST /iserver/account). Against the simulator with that scoping on, concurrent calls for two
 * accounts must each get their own account's data (issue 13 item 6).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createCpapiBackend } from '../../src/backends/cpapi/index.js';
import { Pacer } from '../../src/backends/cpapi/limiter.js';
import type { OrderRequest } from '../../src/broker/orders.js';
import { type SimulatorHandle, startSimulator } from '../../src/simulator/index.js';

const A = 'DU1234567';
const B = 'DU7654321';

function order(accountId: string, clientOrderId: string): OrderRequest {
  return {
    accountId,
    conid: 265598,
    secType: 'STK',
    symbol: 'AAPL',
    side: 'BUY',
    orderType: 'LMT',
    quantity: 1,
    limitPrice: 1,
    tif: 'GTC',
    outsideRth: false,
    clientOrderId,
  };
}

describe('account-scoped reads select the account first (simulator with accountScoping)', () => {
  let sim: SimulatorHandle;
  before(async () => {
    sim = await startSimulator({ port: 0, seed: 5, pacing: false, tls: false });
    await fetch(`${sim.url}/sim/faults`, {
      method: 'POST',
      body: JSON.stringify({ accountScoping: true }),
      headers: { 'content-type': 'application/json' },
    });
  });
  after(async () => {
    await sim.close();
  });

  test('200 pairs of concurrent calls for two accounts: 0 answers with the other account', async () => {
    const b = createCpapiBackend({ baseUrl: sim.url, pacer: new Pacer({ maxPerWindow: 10_000, endpoints: {} }) });
    const ids: Record<string, string> = {};
    for (const acct of [A, B]) {
      let out = await b.placeOrder(order(acct, `scope-${acct}`));
      while (out.kind === 'questions') out = await b.reply(out.question.replyId, true);
      assert.equal(out.kind, 'placed');
      ids[acct] = out.kind === 'placed' ? (out.orders[0]?.orderId ?? '') : '';
    }
    let wrong = 0;
    let failed = 0;
    const check = async (acct: string) => {
      try {
        const o = await b.orderStatus(ids[acct] as string, { accountId: acct });
        if (o.accountId !== acct) wrong++;
      } catch {
        failed++;
      }
    };
    await Promise.all(Array.from({ length: 200 }, () => [check(A), check(B)]).flat());
    assert.equal(wrong, 0, 'answers with the other account');
    assert.equal(failed, 0, 'answers refused (another account selected)');

    const [liveA, liveB] = await Promise.all([
      b.liveOrders({ accountId: A, force: true }),
      b.liveOrders({ accountId: B, force: true }),
    ]);
    assert.ok(liveA.some((o) => o.clientOrderId === `scope-${A}`));
    assert.ok(liveB.some((o) => o.clientOrderId === `scope-${B}`));
    assert.ok([...liveA, ...liveB].every((o, i) => o.accountId === (i < liveA.length ? A : B)));
    // Without an account id, an order of another account is still found.
    assert.equal((await b.orderStatus(ids[B] as string)).accountId, B);
    await b.close();
  });

  test("P&L of every account, though IB answers only the selected account's", async () => {
    const b = createCpapiBackend({ baseUrl: sim.url, pacer: new Pacer({ maxPerWindow: 10_000, endpoints: {} }) });
    const rows = await b.pnl();
    const ids = rows.map((r) => r.accountId).sort();
    assert.deepEqual(ids, ['DU1234567', 'DU5550001', 'DU7654321']);
    await b.close();
  });
});
