import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { SimPortfolio } from '../../src/simulator/portfolio.js';
import {
  allocationBody,
  ledgerBody,
  POSITIONS_PAGE_SIZE,
  pnlBody,
  positionRows,
  summaryBody,
} from '../../src/simulator/routes/portfolio.js';
import { createState, type SimState } from '../../src/simulator/state.js';

function setup(): { state: SimState; pf: SimPortfolio } {
  const state = createState({
    seed: 7,
    latencyMs: 0,
    sessionTimeoutMs: 360_000,
    pacing: false,
    authenticated: true,
    startAt: Date.UTC(2026, 10, 18, 16, 0, 0),
    // The P&L body of every account at once (IB scopes it to the selected account).
    accountScoping: false,
  });
  state.clock.freeze();
  return { state, pf: state.portfolio };
}

const close = (a: number, b: number, eps = 0.01) => assert.ok(Math.abs(a - b) <= eps, `${a} ≉ ${b}`);

describe('SimPortfolio fixtures', () => {
  const { state, pf } = setup();

  test('three accounts: a two-page USD book, a EUR margin account, an empty one', () => {
    assert.deepEqual(pf.accountIds(), ['DU1234567', 'DU7654321', 'DU5550001']);
    const paper = pf.valuation('DU1234567');
    assert.ok(paper.positions.length > POSITIONS_PAGE_SIZE, `${paper.positions.length} positions`);
    const types = new Set(paper.positions.map((p) => p.inst.secType));
    for (const t of ['STK', 'OPT', 'FUT']) assert.ok(types.has(t as never), t);
    assert.ok(
      paper.positions.some((p) => p.inst.secType === 'OPT' && p.qty < 0),
      'a short option',
    );
    assert.ok(
      paper.positions.some((p) => p.inst.secType === 'OPT' && p.qty > 0),
      'a long option',
    );
    assert.ok(
      paper.positions.some((p) => p.inst.stockType === 'ETF'),
      'an ETF',
    );
    assert.ok(
      paper.positions.some((p) => p.inst.currency === 'EUR'),
      'a non-US stock',
    );
    assert.deepEqual(
      paper.currencies.filter((c) => c.cash !== 0).map((c) => c.currency),
      ['USD', 'EUR'],
    );
    const eur = pf.valuation('DU7654321');
    assert.equal(eur.account.currency, 'EUR');
    assert.ok(eur.positions.length >= 5);
    assert.equal(pf.valuation('DU5550001').positions.length, 0);
  });

  test('market value, P&L and net liquidation follow from positions and prices', () => {
    const v = pf.valuation('DU1234567');
    for (const p of v.positions) {
      close(p.marketValue, p.qty * p.price * p.multiplier, 1e-6);
      close(p.unrealized, p.qty * (p.price - p.avgPrice) * p.multiplier, 1e-6);
    }
    const b = v.base;
    let cash = 0;
    let nonFut = 0;
    let futPnl = 0;
    for (const c of v.currencies) cash += c.cash * c.fx;
    for (const p of v.positions) {
      if (p.inst.secType === 'FUT') futPnl += p.unrealized * p.fx;
      else nonFut += p.marketValue * p.fx;
    }
    close(b.cash, cash, 1e-6);
    close(b.netLiquidation, cash + nonFut + futPnl, 1e-6);
    close(
      b.unrealized,
      v.positions.reduce((s, p) => s + p.unrealized * p.fx, 0),
      1e-6,
    );
  });

  test('IB shapes: positions page rows, summary tags with -c/-s, ledger by currency + BASE', () => {
    const v = pf.valuation('DU1234567');
    const rows = positionRows(state, v);
    assert.equal(rows.length, v.positions.length);
    const names = rows.map((r) => String(r['name']));
    assert.deepEqual(
      names,
      [...names].sort((a, b) => a.localeCompare(b)),
    );
    const stk = rows.find((r) => r['assetClass'] === 'STK');
    assert.equal(stk?.['multiplier'], 0);
    assert.equal(stk?.['strike'], '0');
    const opt = rows.find((r) => r['assetClass'] === 'OPT');
    assert.equal(opt?.['multiplier'], 100);
    assert.match(String(opt?.['expiry']), /^\d{8}$/);
    const s = summaryBody(v);
    for (const k of ['netliquidation', 'netliquidation-c', 'netliquidation-s', 'availablefunds-s', 'buyingpower']) {
      assert.ok(s[k], k);
    }
    close(s['netliquidation']!.amount, s['netliquidation-c']!.amount + s['netliquidation-s']!.amount, 0.011);
    assert.equal(s['accountcode']?.value, 'DU1234567');
    const l = ledgerBody(v);
    assert.deepEqual(Object.keys(l), ['USD', 'CAD', 'EUR', 'BASE']);
    assert.equal(l['BASE']?.['currency'], 'BASE');
    close(Number(l['BASE']?.['netliquidationvalue']), s['netliquidation']!.amount);
    const sumCash = ['USD', 'CAD', 'EUR'].reduce(
      (a, c) => a + Number(l[c]?.['cashbalance']) * Number(l[c]?.['exchangerate']),
      0,
    );
    close(Number(l['BASE']?.['cashbalance']), sumCash, 0.02);
    const alloc = allocationBody(state, v);
    const allocTotal =
      Object.values(alloc.assetClass.long).reduce((a, b) => a + b, 0) +
      Object.values(alloc.assetClass.short).reduce((a, b) => a + b, 0);
    close(allocTotal, v.base.cash + v.base.marketValue, 0.1);
    const pnl = pnlBody(state);
    assert.deepEqual(Object.keys(pnl), ['DU1234567.Core', 'DU7654321.Core', 'DU5550001.Core']);
    close(pnl['DU1234567.Core']!['nl']!, v.base.netLiquidation);
  });
});

describe('SimPortfolio.applyFill', () => {
  test('buy, add, partial sell, flip: average price, realized P&L and cash', () => {
    const { pf } = setup();
    const acct = 'DU5550001';
    const aapl = 265598;
    assert.equal(pf.position(acct, aapl), 0);
    pf.applyFill({ accountId: acct, conid: aapl, side: 'BUY', quantity: 10, price: 100, commission: 1 });
    assert.equal(pf.position(acct, aapl), 10);
    close(pf.cash(acct, 'USD'), 20_000 - 1000 - 1, 1e-9);
    pf.applyFill({ accountId: acct, conid: aapl, side: 'BUY', quantity: 10, price: 110, commission: 1 });
    const h1 = pf.holdings(acct)[0]!;
    close(h1.avgPrice, (1000 + 1 + 1100 + 1) / 20, 1e-9);
    pf.applyFill({ accountId: acct, conid: aapl, side: 'SELL', quantity: 5, price: 120, commission: 1 });
    const h2 = pf.holdings(acct)[0]!;
    assert.equal(h2.qty, 15);
    close(h2.avgPrice, h1.avgPrice, 1e-9);
    close(h2.realized, 5 * (120 - h1.avgPrice) - 1, 1e-9);
    // Sell 25: closes 15, opens a 10-share short at 130.
    pf.applyFill({ accountId: acct, conid: aapl, side: 'SELL', quantity: 25, price: 130, commission: 2.5 });
    const h3 = pf.holdings(acct)[0]!;
    assert.equal(h3.qty, -10);
    close(h3.avgPrice, 130 - 1 / 10, 1e-9);
    close(h3.realized, h2.realized + 15 * (130 - h1.avgPrice) - 1.5, 1e-9);
    close(pf.cash(acct, 'USD'), 20_000 - 1001 - 1101 + 599 + 3250 - 2.5, 1e-9);
    // Cover: the position goes away, its realized P&L stays in the ledger.
    pf.applyFill({ accountId: acct, conid: aapl, side: 'BUY', quantity: 10, price: 125, commission: 1 });
    assert.equal(pf.position(acct, aapl), 0);
    assert.equal(pf.holdings(acct).length, 0);
    const v = pf.valuation(acct);
    close(v.base.realized, h3.realized + 10 * (h3.avgPrice - 125) - 1, 1e-9);
    close(v.base.netLiquidation, pf.cash(acct, 'USD'), 1e-9);
  });

  test('an option fill moves premium × multiplier; a future moves only commission and realized P&L', () => {
    const { state, pf } = setup();
    const acct = 'DU5550001';
    const opt = pf.valuation('DU1234567').positions.find((p) => p.inst.secType === 'OPT')!.inst;
    pf.applyFill({ accountId: acct, conid: opt.conid, side: 'BUY', quantity: 2, price: 3.5, commission: 1.3 });
    close(pf.cash(acct, 'USD'), 20_000 - 700 - 1.3, 1e-9);
    const es = state.universe.all().find((i) => i.secType === 'FUT' && i.symbol === 'ES')!;
    const before = pf.cash(acct, 'USD');
    pf.applyFill({ accountId: acct, conid: es.conid, side: 'BUY', quantity: 1, price: 7000, commission: 2 });
    // The opening commission stays in the average price until the position closes.
    close(pf.cash(acct, 'USD'), before, 1e-9);
    pf.applyFill({ accountId: acct, conid: es.conid, side: 'SELL', quantity: 1, price: 7010, commission: 2 });
    close(pf.cash(acct, 'USD'), before + 10 * 50 - 4, 1e-9);
  });

  test('a non-base currency fill books cash in that currency; buying power reacts', () => {
    const { state, pf } = setup();
    const sap = state.universe.bySymbolExact('SAP').find((i) => i.currency === 'EUR')!;
    const bp = pf.buyingPower('DU7654321');
    pf.applyFill({ accountId: 'DU7654321', conid: sap.conid, side: 'BUY', quantity: 100, price: 200, commission: 3 });
    close(pf.cash('DU7654321', 'EUR'), 85_000 - 20_003, 1e-9);
    assert.ok(pf.buyingPower('DU7654321') < bp);
    assert.throws(() =>
      pf.applyFill({ accountId: 'NOPE', conid: sap.conid, side: 'BUY', quantity: 1, price: 1, commission: 0 }),
    );
  });

  test('reset restores the fixtures', () => {
    const { pf } = setup();
    pf.applyFill({ accountId: 'DU5550001', conid: 265598, side: 'BUY', quantity: 1, price: 100, commission: 0 });
    pf.reset();
    assert.equal(pf.position('DU5550001', 265598), 0);
    assert.equal(pf.cash('DU5550001', 'USD'), 20_000);
  });
});
