/**
 * Option spreads (issue #20): the payoff at expiration against hand computations (including
 * unlimited profit and loss and calendars), the named shapes' legs, the spread's market from its
 * legs, the checks of a spread as a whole, and IB's combo encoding.
 *
 * Sources of the wire facts: IBKR Campus, Web API v1.0, "Combo / Spread Orders": conidex
 * "{spread_conid};;;{leg_conid}/{ratio},…" replaces conid; a positive ratio buys, a negative
 * one sells; the table of spread conids per currency (USD 28812380, GBP 58666491, …); outside
 * the US "spread_conid@exchange"; its example body has conidex, orderType, price, side, tif,
 * quantity and no conid or secType. TWS Users' Guide, "Notes on Combination Orders": a spread
 * bought for a credit has a negative limit price. The six-leg limit: TWS's combo limit, as a
 * third-party research note citing IBKR Campus states it (IB's page says "by exchange rules").
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { comboConidex, SPREAD_CONIDS } from '../../src/backends/cpapi/combo-wire.js';
import { toWireOrders } from '../../src/backends/cpapi/order-wire.js';
import type { OrderRequest } from '../../src/broker/orders.js';
import {
  expandShape,
  flipLegs,
  legProblems,
  type PayoffLeg,
  type SpreadSummary,
  spreadPayoff,
  spreadQuote,
} from '../../src/broker/spreads.js';
import type { Contract } from '../../src/broker/types.js';
import { checkLimits, DEFAULT_SAFETY } from '../../src/safety/policy.js';
import { maxLossCheck, type SpreadDraft, spreadProblems } from '../../src/safety/spread.js';

const E = '2026-12-18';
const leg = (right: 'C' | 'P', strike: number, ratio: number, expiry = E): PayoffLeg => ({
  right,
  strike,
  ratio,
  expiry,
});

describe('payoff at expiration, by hand', () => {
  test('bull call vertical 100/110 for a 3.00 debit: profit 700, loss 300, breakeven 103', () => {
    const p = spreadPayoff([leg('C', 100, 1), leg('C', 110, -1)], 3, 100, 1);
    assert.deepEqual([p.netAmount, p.maxProfit, p.maxLoss, p.breakevens], [300, 700, 300, [103]]);
    assert.equal(p.maxProfitUnlimited || p.maxLossUnlimited, false);
  });

  test('iron condor 90/95/105/110 for a 1.50 credit, 2 spreads: profit 300, loss (5 − 1.5) × 200 = 700, breakevens 93.5, 106.5', () => {
    const legs = [leg('P', 90, 1), leg('P', 95, -1), leg('C', 105, -1), leg('C', 110, 1)];
    const p = spreadPayoff(legs, -1.5, 100, 2);
    assert.deepEqual([p.netAmount, p.maxProfit, p.maxLoss, p.breakevens], [-300, 300, 700, [93.5, 106.5]]);
  });

  test('unequal wings: the wider one sets the loss (90/95/105/115 for 2.00: loss (10 − 2) × 100)', () => {
    const legs = [leg('P', 90, 1), leg('P', 95, -1), leg('C', 105, -1), leg('C', 115, 1)];
    const p = spreadPayoff(legs, -2, 100, 1);
    assert.deepEqual([p.maxProfit, p.maxLoss, p.breakevens], [200, 800, [93, 107]]);
  });

  test('long call butterfly 95/100/105 for 1.20: profit 380, loss 120, breakevens 96.2, 103.8', () => {
    const p = spreadPayoff([leg('C', 95, 1), leg('C', 100, -2), leg('C', 105, 1)], 1.2, 100, 1);
    assert.deepEqual([p.maxProfit, p.maxLoss, p.breakevens], [380, 120, [96.2, 103.8]]);
  });

  test('long straddle 100 for 6.00: profit unlimited, loss 600, breakevens 94, 106', () => {
    const p = spreadPayoff([leg('P', 100, 1), leg('C', 100, 1)], 6, 100, 1);
    assert.equal(p.maxProfitUnlimited, true);
    assert.equal(p.maxProfit, undefined);
    assert.deepEqual([p.maxLoss, p.breakevens], [600, [94, 106]]);
  });

  test('short straddle 100 for a 6.00 credit: loss unlimited, profit 600, breakevens 94, 106', () => {
    const p = spreadPayoff(flipLegs([leg('P', 100, 1), leg('C', 100, 1)]), -6, 100, 1);
    assert.equal(p.maxLossUnlimited, true);
    assert.equal(p.maxLoss, undefined);
    assert.deepEqual([p.maxProfit, p.breakevens], [600, [94, 106]]);
  });

  test('1×2 call ratio for a 0.50 credit: loss unlimited above, profit 1050 at 110, breakeven 120.5', () => {
    const p = spreadPayoff([leg('C', 100, 1), leg('C', 110, -2)], -0.5, 100, 1);
    assert.equal(p.maxLossUnlimited, true);
    assert.deepEqual([p.maxProfit, p.breakevens], [1050, [120.5]]);
  });

  test('a put spread reaches its extreme at S = 0: bear put 105/95 for 4.00: profit 600, loss 400, breakeven 101', () => {
    const legs = expandShape({ shape: 'vertical', right: 'P', strikes: [105, 95], expiration: E }).map((l) =>
      leg(l.right, l.strike, l.ratio),
    );
    const p = spreadPayoff(legs, 4, 100, 1);
    assert.deepEqual([p.maxProfit, p.maxLoss, p.breakevens], [600, 400, [101]]);
  });

  test('calendar (sell near, buy far, same strike) for 2.10: loss is the debit, profit and breakevens unknown', () => {
    const p = spreadPayoff([leg('C', 100, -1, '2026-12-18'), leg('C', 100, 1, '2027-01-15')], 2.1, 100, 1);
    assert.equal(p.multiExpiry, true);
    assert.deepEqual([p.maxLoss, p.maxProfit, p.breakevens], [210, undefined, []]);
  });

  test('a diagonal whose sold leg is not covered at its strike, or a credit calendar: loss unknown', () => {
    const diag = spreadPayoff([leg('C', 100, -1, '2026-12-18'), leg('C', 105, 1, '2027-01-15')], 1, 100, 1);
    assert.equal(diag.maxLoss, undefined);
    const credit = spreadPayoff([leg('C', 100, 1, '2026-12-18'), leg('C', 100, -1, '2027-01-15')], -1, 100, 1);
    assert.equal(credit.maxLoss, undefined);
  });
});

describe('named shapes expand to legs (as bought; SELL flips)', () => {
  const ex = (shape: Parameters<typeof expandShape>[0]) =>
    expandShape(shape).map((l) => [l.expiration, l.strike, l.right, l.ratio]);
  test('each shape', () => {
    assert.deepEqual(ex({ shape: 'vertical', right: 'C', strikes: [100, 110], expiration: 'A' }), [
      ['A', 100, 'C', 1],
      ['A', 110, 'C', -1],
    ]);
    assert.deepEqual(ex({ shape: 'straddle', strikes: [100], expiration: 'A' }), [
      ['A', 100, 'P', 1],
      ['A', 100, 'C', 1],
    ]);
    assert.deepEqual(ex({ shape: 'strangle', strikes: [95, 105], expiration: 'A' }), [
      ['A', 95, 'P', 1],
      ['A', 105, 'C', 1],
    ]);
    assert.deepEqual(ex({ shape: 'iron_condor', strikes: [90, 95, 105, 110], expiration: 'A' }), [
      ['A', 90, 'P', 1],
      ['A', 95, 'P', -1],
      ['A', 105, 'C', -1],
      ['A', 110, 'C', 1],
    ]);
    assert.deepEqual(ex({ shape: 'butterfly', right: 'P', strikes: [95, 100, 105], expiration: 'A' }), [
      ['A', 95, 'P', 1],
      ['A', 100, 'P', -2],
      ['A', 105, 'P', 1],
    ]);
    assert.deepEqual(ex({ shape: 'calendar', right: 'C', strikes: [100], expiration: 'A', farExpiration: 'B' }), [
      ['A', 100, 'C', -1],
      ['B', 100, 'C', 1],
    ]);
    assert.deepEqual(
      flipLegs([{ ratio: 1 }, { ratio: -2 }]).map((l) => l.ratio),
      [-1, 2],
    );
  });

  test('wrong shapes are refused with what is wrong', () => {
    const bad: Array<[Parameters<typeof expandShape>[0], RegExp]> = [
      [{ shape: 'iron_condor', strikes: [90, 95, 105], expiration: 'A' }, /needs 4 strikes/],
      [{ shape: 'iron_condor', strikes: [95, 90, 105, 110], expiration: 'A' }, /ascending/],
      [{ shape: 'vertical', strikes: [100, 110], expiration: 'A' }, /needs right/],
      [{ shape: 'vertical', right: 'C', strikes: [100, 100], expiration: 'A' }, /different strikes/],
      [{ shape: 'strangle', strikes: [105, 95], expiration: 'A' }, /put strike below the call/],
      [{ shape: 'calendar', right: 'C', strikes: [100], expiration: 'A' }, /farExpiration/],
      [{ shape: 'calendar', right: 'C', strikes: [100], expiration: 'A', farExpiration: 'A' }, /two different/],
    ];
    for (const [args, re] of bad) assert.throws(() => expandShape(args), re, JSON.stringify(args));
  });

  test('legs as a group: 2 to 6, whole non-zero ratios, each contract once', () => {
    assert.deepEqual(
      legProblems([
        { conid: 1, ratio: 1 },
        { conid: 2, ratio: -1 },
      ]),
      [],
    );
    const p = legProblems([
      { conid: 1, ratio: 0 },
      { conid: 1, ratio: 1.5 },
    ]);
    assert.equal(p.length, 3, p.join(' '));
    assert.match(legProblems([{ conid: 1, ratio: 1 }]).join(), /at least 2/);
    assert.match(legProblems([1, 2, 3, 4, 5, 6, 7].map((c) => ({ conid: c, ratio: 1 }))).join(), /at most 6/);
  });
});

describe("the spread's market from its legs", () => {
  test('buying pays the bought asks and gets the sold bids; a missing price leaves that side unknown', () => {
    assert.deepEqual(
      spreadQuote([
        { ratio: 1, bid: 1, ask: 1.1 },
        { ratio: -2, bid: 0.4, ask: 0.5 },
      ]),
      { ask: 0.3, bid: 0 },
    );
    assert.deepEqual(
      spreadQuote([
        { ratio: 1, bid: 1 },
        { ratio: -1, bid: 0.4, ask: 0.5 },
      ]),
      { bid: 0.5 },
    );
  });
});

const opt = (conid: number, strike: number, right: 'C' | 'P', symbol = 'SPY'): Contract => ({
  conid,
  symbol,
  secType: 'OPT',
  currency: 'USD',
  multiplier: 100,
  expiry: E,
  strike,
  right,
});

describe('a spread checked as a whole', () => {
  const draft: SpreadDraft = {
    shape: 'vertical',
    legs: [
      { contract: opt(1, 100, 'C'), ratio: 1 },
      { contract: opt(2, 110, 'C'), ratio: -1 },
    ],
    quantity: 1,
    orderType: 'LMT',
    limitPrice: 3,
    tif: 'DAY',
    outsideRth: false,
  };
  test('a good vertical has no problems; a credit (negative price) is a price', () => {
    assert.deepEqual(spreadProblems(draft), []);
    assert.deepEqual(spreadProblems({ ...draft, limitPrice: -1.25 }), []);
  });
  test('legs on two underlyings, a stock leg, price 0 or off tick, a price on MKT, IOC: each refused', () => {
    const two = spreadProblems({ ...draft, legs: [draft.legs[0]!, { contract: opt(3, 110, 'C', 'QQQ'), ratio: -1 }] });
    assert.match(two.join(' '), /all legs need one underlying/);
    const stk = spreadProblems({
      ...draft,
      legs: [draft.legs[0]!, { contract: { conid: 4, symbol: 'SPY', secType: 'STK', currency: 'USD' }, ratio: -100 }],
    });
    assert.match(stk.join(' '), /options only/);
    assert.match(spreadProblems({ ...draft, limitPrice: 0 }).join(), /non-zero/);
    assert.match(spreadProblems({ ...draft, limitPrice: 1.234 }).join(), /tick size 0.01/);
    assert.match(spreadProblems({ ...draft, orderType: 'MKT' }).join(), /market spread takes no price/);
    assert.match(spreadProblems({ ...draft, tif: 'IOC' }).join(), /DAY or GTC/);
    assert.match(spreadProblems({ ...draft, quantity: 1.5 }).join(), /whole number of spreads/);
  });

  const summary = (legs: PayoffLeg[], net: number, qty = 1): SpreadSummary => ({
    shape: 'x',
    legs: [],
    quote: {},
    priceBasis: 'net limit price',
    payoff: spreadPayoff(legs, net, 100, qty),
  });
  test('max loss: within the limit passes; above fails; unlimited fails; unknown or another currency cannot run', () => {
    const v = summary([leg('C', 100, 1), leg('C', 110, -1)], 3);
    assert.equal(maxLossCheck(v, 'USD', 'USD', 1000).ok, true);
    const over = maxLossCheck(summary([leg('C', 100, 1), leg('C', 110, -1)], 3, 5), 'USD', 'USD', 1000);
    assert.deepEqual([over.ok, over.ran], [false, true]);
    assert.match(over.detail, /maximum loss 1500 USD is above --max-order-notional 1000/);
    const naked = maxLossCheck(summary([leg('C', 100, -1), leg('P', 100, -1)], -6), 'USD', 'USD', 1e9);
    assert.deepEqual([naked.ok, naked.ran], [false, true]);
    const cal = maxLossCheck(summary([leg('C', 100, -1, 'a'), leg('C', 105, 1, 'b')], 1), 'USD', 'USD', 1e9);
    assert.deepEqual([cal.ok, cal.ran], [false, false]);
    assert.equal(maxLossCheck(v, 'USD', 'EUR', 1e9).ran, false);
    assert.equal(maxLossCheck({ ...v, payoff: undefined }, 'USD', 'USD', 1e9).ran, false);
  });

  test('the limits: the spread valued at its net price, and a failing extra check refuses with the rest', () => {
    const order: OrderRequest = {
      accountId: 'DU1',
      conid: 0,
      secType: 'OPT',
      symbol: 'SPY',
      side: 'BUY',
      orderType: 'LMT',
      quantity: 2,
      limitPrice: -1.5,
      tif: 'DAY',
      outsideRth: false,
      clientOrderId: 'ic-1',
      combo: { currency: 'USD', legs: [] },
    };
    const input = {
      order,
      contract: { symbol: 'SPY', secType: 'OPT' as const, multiplier: 100, currency: 'USD' },
      brokerAccounts: ['DU1'],
      accountCurrency: 'USD',
      ordersLast24h: 0,
      valuation: { price: 1.5, basis: 'net limit price -1.5' },
    };
    const ok = checkLimits(input, { ...DEFAULT_SAFETY, maxOrderNotional: 1000 });
    assert.equal(ok.notional, 300, '1.50 × 2 × 100');
    assert.throws(
      () =>
        checkLimits(
          { ...input, extraChecks: [{ name: 'max-loss', ok: false, ran: true, detail: 'unlimited' }] },
          { ...DEFAULT_SAFETY, maxOrderNotional: 1000 },
        ),
      /failed: max-loss \(unlimited\)/,
    );
  });
});

describe("IB's combo encoding", () => {
  test('the USD spread conid, legs with signed ratios (IBKR Campus example)', () => {
    assert.equal(SPREAD_CONIDS['USD'], 28812380);
    assert.equal(
      comboConidex('USD', [
        { conid: 43645865, ratio: 1 },
        { conid: 9408, ratio: -1 },
      ]),
      '28812380;;;43645865/1,9408/-1',
    );
  });
  test('other currencies need the exchange; a currency without a spread conid is refused', () => {
    assert.equal(comboConidex('GBP', [{ conid: 1, ratio: 1 }], 'LSE'), '58666491@LSE;;;1/1');
    assert.throws(() => comboConidex('GBP', [{ conid: 1, ratio: 1 }]), /needs the exchange/);
    assert.throws(() => comboConidex('XYZ', [{ conid: 1, ratio: 1 }]), /no spread conid for XYZ/);
  });
  test('the order body: conidex instead of conid, no secType or ticker, the net price (negative: a credit)', () => {
    const o: OrderRequest = {
      accountId: 'DU1',
      conid: 0,
      secType: 'OPT',
      symbol: 'SPY',
      side: 'BUY',
      orderType: 'LMT',
      quantity: 3,
      limitPrice: -1.5,
      tif: 'DAY',
      outsideRth: false,
      clientOrderId: 'ic-1',
      combo: {
        currency: 'USD',
        legs: [
          { conid: 11, ratio: 1 },
          { conid: 12, ratio: -1 },
          { conid: 13, ratio: -1 },
          { conid: 14, ratio: 1 },
        ],
      },
    };
    const [w, ...rest] = toWireOrders(o);
    assert.equal(rest.length, 0, 'one order');
    assert.deepEqual(w, {
      acctId: 'DU1',
      conidex: '28812380;;;11/1,12/-1,13/-1,14/1',
      orderType: 'LMT',
      side: 'BUY',
      quantity: 3,
      tif: 'DAY',
      outsideRTH: false,
      cOID: 'ic-1',
      price: -1.5,
    });
    const [whatIf] = toWireOrders(o, { withClientId: false });
    assert.equal(whatIf!['cOID'], undefined, 'a what-if carries no cOID');
    const [mkt] = toWireOrders({ ...o, orderType: 'MKT', limitPrice: undefined });
    assert.equal(mkt!['price'], undefined);
  });
});
