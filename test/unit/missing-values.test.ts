/**
 * Issue 13: a value IB did not send is reported as missing (absent in structuredContent, "n/a" in
 * text), never as 0: a position's quantity, prices, value and P&L, a ledger line's cash, and a
 * live order's quantity, filled and remaining. IB's answers go through the real parsers.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseLiveOrders } from '../../src/backends/cpapi/order-wire.js';
import { parseLedger, parsePosition } from '../../src/backends/cpapi/portfolio.js';
import type { Position } from '../../src/broker/portfolio.js';
import { combine } from '../../src/broker/portfolio-math.js';
import { getAccountInfo, getPortfolioSummary, getPositions } from '../../src/tools/account.js';
import { getLiveOrders } from '../../src/tools/order-reads.js';

const ACCT = 'DU1';
const full = { conid: 265598, ticker: 'AAPL', assetClass: 'STK', currency: 'USD' };
const positions = [
  { ...full, position: 10, mktPrice: 200, mktValue: 2000, avgCost: 150, unrealizedPnl: 500, realizedPnl: 0 },
  { ...full, conid: 272093, ticker: 'MSFT', position: 5, mktPrice: 400, mktValue: 2000, avgCost: 300 },
  { ...full, conid: 8314, ticker: 'IBM', mktPrice: 100 },
  { ...full, conid: 76792991, ticker: 'TSLA', position: 1, mktPrice: 250, mktValue: 250, avgCost: 200 },
].map((r) => parsePosition(ACCT, r) as Position);

// USD has no cashbalance, and there is no BASE entry to take the total from.
const ledgerBody = {
  USD: { currency: 'USD', exchangerate: 1 },
  EUR: { currency: 'EUR', cashbalance: 100, exchangerate: 1.1 },
};

function ctx(over: Record<string, unknown> = {}) {
  return {
    signal: new AbortController().signal,
    app: {
      mode: () => 'PAPER',
      config: { defaultAccount: 'all' },
      backend: {
        listAccounts: async () => [{ id: ACCT, currency: 'USD', paper: true }],
        positions: async () => positions,
        ledger: async (id: string) => parseLedger(id, ledgerBody, 'USD'),
        accountBalances: async () => ({ currency: 'USD', netLiquidation: 10_000 }),
        ...over,
      },
    },
  } as never;
}

describe('issue 13: missing position amounts and cash are missing, not 0', () => {
  test('the parsers leave them undefined', () => {
    const ibm = positions[2] as Position;
    assert.equal(ibm.quantity, undefined);
    assert.equal(ibm.marketValue, undefined);
    assert.equal(ibm.avgPrice, undefined);
    assert.equal(positions[1]?.unrealizedPnl, undefined);
    const l = parseLedger(ACCT, ledgerBody, 'USD');
    assert.equal(l.currencies.find((c) => c.currency === 'USD')?.cash, undefined);
    assert.equal(l.base.cash, undefined, 'a BASE summed over an unknown cash is unknown');
  });

  test('get_positions: the row is kept, its amounts absent, sorted last, totals absent and named', async () => {
    for (const order of ['desc', 'asc'] as const) {
      const r = await getPositions.handle({ accountId: undefined, sortBy: 'value', order, limit: 50 } as never, ctx());
      getPositions.output.parse(r);
      assert.equal(r.count, 4);
      const last = r.positions.at(-1);
      assert.equal(last?.symbol, 'IBM', `unknown value last (${order})`);
      assert.equal('qty' in (last ?? {}), false);
      assert.equal('value' in (last ?? {}), false);
      const t = r.totals[0];
      assert.equal(t?.value, undefined, 'no total over an unknown value');
      assert.equal(t?.unrealizedPnl, undefined);
      assert.deepEqual([...(t?.unknown ?? [])].sort(), ['IBM', 'MSFT', 'TSLA'], 'the rows that lack a value');
      const text = getPositions.render(r);
      assert.match(text, /IBM n\/a @n\/a now 100 = n\/a USD P&L n\/a/);
      assert.match(text, /Totals: USD n\/a \(P&L n\/a.*n\/a for .*IBM/);
      assert.doesNotMatch(text, /IBM 0 /);
    }
  });

  test('get_portfolio_summary: value and cash absent, the text says n/a', async () => {
    const r = await getPortfolioSummary.handle({ accountId: undefined, groupBy: 'secType' } as never, ctx());
    getPortfolioSummary.output.parse(r);
    const s = r.accounts[0];
    assert.equal(s?.cash, undefined);
    assert.equal(s?.cashPct, undefined);
    assert.equal(s?.value, undefined);
    assert.equal(s?.groups?.[0]?.weightPct, undefined);
    assert.ok(s?.unknown?.includes('IBM'));
    assert.match(getPortfolioSummary.render(r), /cash n\/a; positions 4 worth n\/a/);
  });

  test('get_account_info: a currency without a balance shows n/a, not 0', async () => {
    const r = await getAccountInfo.handle({ accountId: undefined }, ctx());
    getAccountInfo.output.parse(r);
    const usd = r.accounts[0]?.cash.find((c) => c.currency === 'USD');
    assert.ok(usd, 'the line is kept');
    assert.equal(usd.amount, undefined);
    assert.equal(r.accounts[0]?.totalCash, undefined);
    assert.match(getAccountInfo.render(r), /cash n\/a USD \[USD n\/a; EUR 100/);
  });
});

describe('issue 13: totals over accounts', () => {
  test('one account without cash: the total has no cash, the other amounts add up', () => {
    const a = {
      currency: 'USD',
      netLiquidation: 100,
      cash: 40,
      cashPct: 40,
      value: 60,
      unrealizedPnl: 1,
      realizedPnl: 0,
      positions: 1,
    };
    const b = { currency: 'USD', netLiquidation: 50, value: 50, unrealizedPnl: 2, realizedPnl: 0, positions: 1 };
    const t = combine(
      [
        { s: a, fx: 1 },
        { s: b, fx: 1 },
      ],
      'USD',
      'none',
    );
    assert.equal(t.cash, undefined);
    assert.equal(t.cashPct, undefined);
    assert.equal(t.value, 110);
    assert.equal(t.netLiquidation, 150);
  });
});

describe('issue 13: a live order without quantities has them missing, not 0', () => {
  test('get_live_orders: quantity, filled and remaining absent, n/a in text', async () => {
    const { orders } = parseLiveOrders({
      orders: [{ orderId: 1, conid: 265598, ticker: 'AAPL', side: 'BUY', orderType: 'LMT', status: 'Submitted' }],
    });
    assert.equal(orders[0]?.quantity, undefined);
    assert.equal(orders[0]?.filled, undefined);
    assert.equal(orders[0]?.remaining, undefined);
    const r = await getLiveOrders.handle({}, ctx({ liveOrders: async () => orders }));
    getLiveOrders.output.parse(r);
    assert.equal('quantity' in (r.orders[0] ?? {}), false);
    assert.match(getLiveOrders.render(r), /Submitted BUY n\/a AAPL LMT.* filled n\/a rem n\/a/);
  });
});
