/**
 * The main tour through the real server against every simulator profile (issue 13): IB's
 * answers in the strict (current spec), 2023 and 2026 shapes must all read the same. Quotes,
 * history, an option chain, positions, an order's whole life (place, status, modify, cancel,
 * and a filled one), trades and the session status.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type Harness, startServer } from './harness.js';
import { oauthServer } from './oauth-harness.js';

const ACCT = 'DU1234567';
const cents = (x: number) => Math.round(x * 100) / 100;

async function tour(h: Harness, profile: string): Promise<void> {
  const ok = async (name: string, args: Record<string, unknown>) => {
    const r = await h.callTool(name, args);
    assert.equal(r.isError, false, `${profile} ${name}: ${r.text}`);
    return r;
  };
  const q = await ok('get_quote', { symbol: 'AAPL' });
  const ask = q.structured.quotes[0].ask as number;
  assert.ok(ask > 0, `${profile}: ask`);

  const hist = await ok('get_historical_data', { symbol: 'AAPL', period: '1m', bar: '1d' });
  const rows = hist.structured.rows as Array<Array<number | null>>;
  assert.ok(rows.length > 10, `${profile}: bars`);
  // Daily AAPL volume in shares, whatever unit the profile's answer carries.
  const vols = rows.map((b) => b[5]).filter((v): v is number => typeof v === 'number');
  assert.ok(vols.length > 0 && vols.every((v) => v > 1_000_000), `${profile}: volumes ${vols.slice(0, 3)}`);

  const chain = await ok('get_options_chain', { symbol: 'SPY', expirationCount: 1, strikeCount: 2 });
  assert.equal(chain.structured.expirations[0].rows.length, 2, profile);

  const pos = await ok('get_positions', { accountId: ACCT, limit: 5 });
  assert.ok(pos.structured.count > 0, profile);

  // An order's life: a resting limit, its status, a change, a cancel.
  const px = cents(ask * 0.985);
  const placed = await ok('place_stock_order', {
    accountId: ACCT,
    symbol: 'AAPL',
    action: 'BUY',
    orderType: 'LMT',
    price: px,
    quantity: 1,
    tif: 'GTC',
  });
  assert.equal(placed.structured.status, 'submitted', `${profile}: ${placed.text}`);
  const id = placed.structured.orderId as string;
  const st = await ok('get_order_status', { orderId: id });
  assert.equal(st.structured.order.quantity, 1, profile);
  assert.equal(st.structured.order.filled, 0, profile);
  const mod = await ok('modify_order', { orderId: id, quantity: 2 });
  assert.equal(mod.structured.status, 'submitted', `${profile}: ${mod.text}`);
  const cancel = await ok('cancel_order', { orderId: id });
  assert.equal(cancel.structured.accepted, true, profile);

  // A filled order: its status reads as filled in every shape (issue 13 item 2).
  const mkt = await ok('place_stock_order', {
    accountId: ACCT,
    symbol: 'MSFT',
    action: 'BUY',
    orderType: 'LMT',
    price: cents((await ok('get_quote', { symbol: 'MSFT' })).structured.quotes[0].ask * 1.01),
    quantity: 1,
  });
  assert.equal(mkt.structured.status, 'filled', `${profile}: ${mkt.text}`);
  const filled = await ok('get_order_status', { orderId: mkt.structured.orderId });
  assert.equal(filled.structured.order.filled, 1, `${profile}: ${filled.text}`);
  assert.equal(filled.structured.order.remaining, 0, `${profile}: ${filled.text}`);
  assert.ok(filled.structured.order.avgPrice > 0, `${profile}: ${filled.text}`);
  assert.equal(filled.structured.order.side, 'BUY', profile);

  const trades = await ok('get_trades', {});
  assert.ok((trades.structured.trades as unknown[]).length > 0, profile);
  await ok('get_connection_status', {});
}

describe('the main tour against every simulator profile', () => {
  for (const profile of ['strict', '2023', '2026'] as const) {
    test(profile, async () => {
      const h = await startServer({ sim: { profile }, args: ['--order-confirmation', 'none'] });
      try {
        await tour(h, profile);
      } finally {
        await h.close();
      }
    });
  }
});

describe('the main tour over OAuth 1.0a', () => {
  test('strict, every request signed; every other tool too', async () => {
    const o = await oauthServer({ args: ['--order-confirmation', 'none', '--toolsets', 'all'] });
    try {
      await tour(o.h, 'oauth');
      // The tools the tour does not call, each on its main path.
      const more: Array<[string, Record<string, unknown>]> = [
        ['search_contracts', { query: 'Apple', byName: true }],
        ['get_market_data', { symbol: 'AAPL' }],
        ['get_price_chart', { symbol: 'AAPL', period: '5d', bar: '1h' }],
        ['find_option_contract', { symbol: 'SPY', right: 'C' }],
        ['get_account_info', {}],
        ['get_portfolio_summary', {}],
        ['get_pnl', {}],
        ['get_live_orders', {}],
        ['preview_order', { accountId: ACCT, symbol: 'AAPL', action: 'BUY', orderType: 'LMT', price: 1, quantity: 1 }],
        ['authenticate', {}],
      ];
      for (const [name, args] of more) {
        const r = await o.h.callTool(name, args);
        assert.equal(r.isError, false, `oauth ${name}: ${r.text}`);
      }
      const st = await o.h.callTool('get_connection_status', {});
      assert.equal(st.structured.loginMethod, 'oauth', st.text);
      const view = o.sim.oauth!.view();
      assert.equal(view['refused'], 0, JSON.stringify(view));
      assert.ok((view['verified'] as number) > 20, JSON.stringify(view));
    } finally {
      await o.close();
    }
  });

  test('cold start to the first quote with 50 ms latency (target 1.5 s)', async () => {
    // The keys and the consumer are the user's setup, not the start: timed from the spawn.
    const o = await oauthServer({ latencyMs: 50 });
    try {
      const q = await o.h.callTool('get_quote', { symbol: 'AAPL' });
      const ms = Math.round(performance.now() - o.spawnedAt);
      assert.equal(q.isError, false, q.text);
      process.stdout.write(`# oauth cold start → first quote (50 ms latency): ${ms} ms\n`);
      // The target is 1.5 s (npm run bench holds it to that); here, on shared test machines, a
      // margin: what this catches is a start that waits on something it should not.
      assert.ok(ms < 2500, `${ms} ms`);
    } finally {
      await o.close();
    }
  });
});
