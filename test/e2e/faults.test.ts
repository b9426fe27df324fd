/**
 * Fault injection against the simulator, end to end through the built server: latency spikes,
 * 401 after session expiry, 429, 500 and 503 on each endpoint the read tools use, connection
 * resets, a hung request, a response dropped after an order was accepted, failures on the order
 * endpoint, and the gateway restarted mid-session. Reads recover by themselves where IB allows;
 * writes never duplicate and never vanish (journal, live orders and the simulator agree); every
 * answer tells the model what happened.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type SimulatorHandle, startSimulator } from '../../src/simulator/index.js';
import { type Harness, simRequest, startServer, type ToolResult } from './harness.js';

const ACCT = 'DU1234567';

interface SimOrdersView {
  orders: Array<{ orderId: number; cOID?: string; status: string }>;
  cOIDSubmissions: Record<string, number>;
}

/** A told-the-truth error: isError, a code, a message and no internal error. */
function honestError(r: ToolResult, code: RegExp): void {
  assert.equal(r.isError, true, `expected an error, got: ${r.text.slice(0, 300)}`);
  assert.match(r.text, code);
  assert.doesNotMatch(r.text, /\[INTERNAL\]/);
}

function ok(r: ToolResult, what: string): void {
  assert.equal(r.isError, false, `${what}: ${r.text.slice(0, 400)}`);
}

/** Each read tool with the gateway endpoint it cannot do without, and fresh arguments per use (caches must not hide the fault). */
const READS: Array<{ endpoint: string; tool: string; args: (i: number) => Record<string, unknown> }> = [
  {
    endpoint: 'GET /iserver/marketdata/snapshot',
    tool: 'get_quote',
    args: (i) => ({ symbols: [['AAPL', 'MSFT', 'NVDA', 'AMZN'][i % 4]!, ['KO', 'PEP', 'WMT', 'COST'][i % 4]!] }),
  },
  {
    endpoint: 'GET /iserver/marketdata/history',
    tool: 'get_historical_data',
    args: (i) => ({ symbol: ['AAPL', 'MSFT', 'IBM', 'ORCL'][i % 4], period: '5d', bar: '1h' }),
  },
  {
    endpoint: 'POST /iserver/secdef/search',
    tool: 'search_contracts',
    args: (i) => ({ query: ['Apple', 'Micro', 'Coca', 'Bank'][i % 4], byName: true }),
  },
  {
    endpoint: 'GET /portfolio/:accountId/positions/:pageId',
    tool: 'get_positions',
    args: () => ({ accountId: ACCT }),
  },
  {
    endpoint: 'GET /portfolio/:accountId/summary',
    tool: 'get_account_info',
    args: () => ({ accountId: ACCT }),
  },
  {
    endpoint: 'GET /iserver/secdef/info',
    tool: 'get_options_chain',
    args: (i) => ({ symbol: ['SPY', 'QQQ', 'AAPL', 'MSFT'][i % 4], strikeCount: 2, expirationCount: 1 }),
  },
];

describe('fault injection: reads', { timeout: 150_000 }, () => {
  let h: Harness;
  before(async () => {
    h = await startServer({ args: ['--request-timeout-ms', '2000'] });
    ok(await h.callTool('get_quote', { symbol: 'SPY' }), 'warm-up');
  });
  after(async () => {
    await h?.close();
  });
  const fault = (body: unknown) => h.simControl('/sim/faults', body);

  test('one 500, 503 or 429 on each read endpoint: the read recovers by itself', async () => {
    let i = 0;
    for (const r of READS) {
      for (const status of [500, 503, 429]) {
        await fault({ clear: true });
        await fault({ fail: { endpoint: r.endpoint, status, count: 1 } });
        const res = await h.callTool(r.tool, r.args(i++));
        ok(res, `${r.tool} after one ${status} on ${r.endpoint}`);
        const left = (await h.simControl('/sim/faults', {})) as { fail: Array<{ count: number }> };
        assert.equal(
          left.fail.reduce((a, f) => a + f.count, 0),
          0,
          `${r.tool} never met the ${status} on ${r.endpoint}`,
        );
      }
    }
  });

  test('persistent 500/503 on a read: an honest gateway error, no internal error, and recovery once it clears', async () => {
    // Symbols not quoted before: once quoted, IB's WebSocket streams them and no snapshot is asked for.
    for (const [status, symbols] of [
      [500, ['BA', 'CAT']],
      [503, ['LLY', 'MRK']],
    ] as const) {
      await fault({ clear: true });
      await fault({ fail: { endpoint: 'GET /iserver/marketdata/snapshot', status, count: 50 } });
      const r = await h.callTool('get_quote', { symbols });
      honestError(r, new RegExp(`GATEWAY_ERROR.*${status}`, 's'));
      assert.match(r.text, /What to do: .*[Rr]etry/);
      await fault({ clear: true });
      ok(await h.callTool('get_quote', { symbols }), `after the ${status}s cleared`);
    }
  });

  test('persistent 429: RATE_LIMITED with the reason, then recovery', async () => {
    await fault({ clear: true });
    await fault({ fail: { endpoint: 'GET /iserver/marketdata/snapshot', status: 429, count: 20 } });
    const r = await h.callTool('get_quote', { symbols: ['GE', 'HON'] });
    honestError(r, /RATE_LIMITED/);
    await fault({ clear: true });
    await new Promise((res) => setTimeout(res, 1100));
    ok(await h.callTool('get_quote', { symbols: ['GE', 'HON'] }), 'after the 429s cleared');
  });

  test('latency spike of 1.5 s: reads answer, slower', async () => {
    await fault({ clear: true });
    await fault({ latencyMs: 1500 });
    const t0 = performance.now();
    ok(await h.callTool('get_quote', { symbols: ['MMM', 'NKE'] }), 'under 1.5 s latency');
    assert.ok(performance.now() - t0 >= 1400);
    await fault({ latencyMs: 0 });
  });

  test('a hung request: the request timeout ends it, the model is told, the next read works', async () => {
    await fault({ clear: true });
    await fault({ hang: { endpoint: 'GET /iserver/marketdata/snapshot', count: 10 } });
    const r = await h.callTool('get_quote', { symbol: 'CRM' });
    honestError(r, /time|did not answer|GATEWAY/i);
    await fault({ clear: true });
    ok(await h.callTool('get_quote', { symbol: 'CRM' }), 'after the hang');
  });

  test('connection reset on a read: one safe retry, the read succeeds', async () => {
    await fault({ clear: true });
    await fault({ resetConnection: { endpoint: 'GET /iserver/marketdata/snapshot', count: 1 } });
    ok(await h.callTool('get_quote', { symbols: ['SBUX', 'MCD'] }), 'after a reset');
    const left = (await h.simControl('/sim/faults', {})) as { resetConnection: Array<{ count: number }> };
    assert.equal(left.resetConnection.length, 0, 'the read never met the reset');
    // (test/integration/sim-control.test.ts proves the fault is a real TCP reset, not an HTTP error.)
  });

  test('401 after session expiry: NOT_AUTHENTICATED with what to do; after login, reads work again', async () => {
    await fault({ clear: true });
    await fault({ expireSession: true });
    const r = await h.callTool('get_quote', { symbol: 'DIS' });
    honestError(r, /NOT_AUTHENTICATED|expired|log in/i);
    assert.match(r.text, /[Ll]og in/);
    await h.simControl('/sim/session', { authenticated: true });
    // The session manager re-checks an ended session at most every 2 s on its own (it learnt of the
    // end at once from IB's WebSocket); a status call asks now, as a client does after a login.
    await h.callTool('get_connection_status', { refresh: true });
    ok(await h.callTool('get_quote', { symbol: 'DIS' }), 'after logging in again');
  });

  test('no bridge (brokerage session lost): recovered with ssodh/init', async () => {
    await fault({ clear: true });
    await fault({ noBridge: true });
    ok(await h.callTool('get_quote', { symbols: ['TXN', 'QCOM'] }), 'after no bridge');
  });
});

describe('fault injection: writes never duplicate and never vanish', { timeout: 300_000 }, () => {
  let h: Harness;
  before(async () => {
    h = await startServer({ args: ['--order-confirmation', 'none'] });
  });
  after(async () => {
    await h?.close();
  });
  const fault = (body: unknown) => h.simControl('/sim/faults', body);
  const simOrdersGet = async () => (await simRequest(h.sim!, '/sim/orders')) as SimOrdersView;
  let n = 0;
  const limitBuy = async () => {
    const q = await h.callTool('get_quote', { symbol: 'AAPL' });
    const px = Math.round(q.structured.quotes[0].bid * 0.98 * 100) / 100;
    return {
      accountId: ACCT,
      symbol: 'AAPL',
      action: 'BUY',
      orderType: 'LMT',
      price: px,
      quantity: 1,
      tif: 'GTC',
      clientOrderId: `faults-${process.pid}-${++n}`,
    };
  };
  const journal = (cOID: string) =>
    readFileSync(join(h.home, 'journal.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { cOID?: string; state?: string })
      .filter((l) => l.cOID === cOID);

  /** The simulator, the journal and get_live_orders agree: the order exists `expected` times. */
  async function agree(cOID: string, expected: 0 | 1): Promise<void> {
    const v = await simOrdersGet();
    assert.equal(v.orders.filter((o) => o.cOID === cOID).length, expected, `orders with ${cOID} in the simulator`);
    assert.ok((v.cOIDSubmissions[cOID] ?? 0) <= 1, `${cOID} was submitted ${v.cOIDSubmissions[cOID]} times`);
    if (expected === 1) {
      assert.ok(journal(cOID).length >= 1, 'the journal knows the order');
      const id = String(v.orders.find((o) => o.cOID === cOID)!.orderId);
      const live = await h.callTool('get_live_orders', {});
      ok(live, 'get_live_orders');
      const rows = (live.structured.orders as Array<{ orderId: string }>).filter((o) => o.orderId === id);
      assert.equal(rows.length, 1, 'get_live_orders lists it once');
    }
  }

  test('the answer to an accepted order is dropped: told "uncertain/exists", exactly one order', async () => {
    const args = await limitBuy();
    await fault({ dropResponse: { endpoint: 'POST /iserver/account/:accountId/orders', count: 1 } });
    const r = await h.callTool('place_stock_order', args);
    assert.equal(r.isError, false, r.text);
    assert.match(r.text, new RegExp(args.clientOrderId));
    await agree(args.clientOrderId, 1);
    // Placing again with the same clientOrderId does not create a second order.
    const again = await h.callTool('place_stock_order', args);
    assert.match(again.text, new RegExp(args.clientOrderId));
    await agree(args.clientOrderId, 1);
  });

  // 500 takes the same path as 503 (both leave IB's processing unknown); one of them keeps the run short.
  for (const status of [503, 429, 401]) {
    test(`${status} on the order endpoint: never resent behind the model's back, told the truth, and a checked retry makes one order`, async () => {
      const args = await limitBuy();
      await fault({ clear: true });
      await fault({ fail: { endpoint: 'POST /iserver/account/:accountId/orders', status, count: 1 } });
      const r = await h.callTool('place_stock_order', args);
      assert.doesNotMatch(r.text, /\[INTERNAL\]/);
      if (status === 401) await h.simControl('/sim/session', { authenticated: true });
      const v = await simOrdersGet();
      // The simulator refused before processing: no order, and no silent second attempt.
      assert.equal(v.orders.filter((o) => o.cOID === args.clientOrderId).length, 0);
      assert.equal(v.cOIDSubmissions[args.clientOrderId] ?? 0, 0);
      // Told the truth: either "not placed" or "MAY have been placed, NOT sent again, check".
      assert.equal(r.isError || /rejected|not placed|uncertain|MAY have been placed/i.test(r.text), true, r.text);
      if (/UNCERTAIN/.test(r.text)) assert.match(r.text, /NOT sent again/);
      // The same clientOrderId again never sends a second order.
      const same = await h.callTool('place_stock_order', args);
      assert.doesNotMatch(same.text, /\[INTERNAL\]/);
      const v2 = await simOrdersGet();
      assert.ok((v2.cOIDSubmissions[args.clientOrderId] ?? 0) <= 1, 'sent twice under one clientOrderId');
      // The model checks, finds nothing, and places it under a new id: exactly one order.
      if (!v2.orders.some((o) => o.cOID === args.clientOrderId)) {
        const st = await h.callTool('get_order_status', { clientOrderId: args.clientOrderId });
        assert.doesNotMatch(st.text, /\[INTERNAL\]/);
        const retry = { ...args, clientOrderId: `${args.clientOrderId}-retry` };
        const r2 = await h.callTool('place_stock_order', retry);
        assert.equal(r2.isError, false, r2.text);
        await agree(retry.clientOrderId, 1);
      } else {
        await agree(args.clientOrderId, 1);
      }
    });
  }

  test('connection reset on the order endpoint: not processed, never resent automatically', async () => {
    const args = await limitBuy();
    await fault({ clear: true });
    await fault({ resetConnection: { endpoint: 'POST /iserver/account/:accountId/orders', count: 1 } });
    const r = await h.callTool('place_stock_order', args);
    assert.doesNotMatch(r.text, /\[INTERNAL\]/);
    const v = await simOrdersGet();
    assert.ok((v.cOIDSubmissions[args.clientOrderId] ?? 0) <= 1, 'resent automatically');
    const exists = v.orders.some((o) => o.cOID === args.clientOrderId);
    assert.equal(exists, false, 'a reset request is not processed');
    // The socket was reset before any answer: the order MAY have reached IB, so it is not resent, and the
    // model is told so (not "the gateway answered 500").
    assert.match(r.text, /MAY have been placed/);
    assert.match(r.text, /NOT sent again/);
    assert.match(r.text, /reset/);
    assert.doesNotMatch(r.text, /answered 500/);
    await agree(args.clientOrderId, 0);
  });
});

describe('fault injection: the gateway restarts mid-session', { timeout: 60_000 }, () => {
  test('reads fail honestly while it is down and recover after; an order after the restart exists once', async () => {
    const h = await startServer({ args: ['--order-confirmation', 'none', '--request-timeout-ms', '3000'] });
    let second: SimulatorHandle | undefined;
    try {
      ok(await h.callTool('get_quote', { symbol: 'AAPL' }), 'before the restart');
      const port = h.sim!.port;
      await h.sim!.close();
      const down = await h.callTool('get_quote', { symbol: 'MSFT' });
      honestError(down, /GATEWAY|connect|reach/i);
      second = await startSimulator({ port, seed: 7 });
      let r = await h.callTool('get_quote', { symbols: ['MSFT', 'IBM'] });
      // The first call after the restart may meet the new session's gates; one more must work.
      if (r.isError) r = await h.callTool('get_quote', { symbols: ['MSFT', 'IBM'] });
      ok(r, 'after the restart');
      const q = r.structured.quotes[0] as { bid: number };
      const cOID = `faults-restart-${process.pid}`;
      const p = await h.callTool('place_stock_order', {
        accountId: ACCT,
        symbol: 'MSFT',
        action: 'BUY',
        orderType: 'LMT',
        price: Math.round(q.bid * 0.98 * 100) / 100,
        quantity: 1,
        tif: 'GTC',
        clientOrderId: cOID,
      });
      ok(p, 'order after the restart');
      const v = (await simRequest(second, '/sim/orders')) as SimOrdersView;
      assert.equal(v.orders.filter((o) => o.cOID === cOID).length, 1);
      assert.equal(v.cOIDSubmissions[cOID], 1);
    } finally {
      await h.close();
      await second?.close();
    }
  });
});
