import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BrokerError } from '../../src/broker/errors.js';
import type { OrderRequest } from '../../src/broker/orders.js';
import {
  assertModeAllowed,
  checkLimits,
  confirmationProblem,
  DEFAULT_SAFETY,
  detectMode,
  initialTrailStop,
  type LimitInput,
  type SafetyConfig,
  worstPrice,
} from '../../src/safety/policy.js';
import { decideQuestion } from '../../src/safety/questions.js';

const order: OrderRequest = {
  accountId: 'DU1234567',
  conid: 265598,
  secType: 'STK',
  symbol: 'AAPL',
  side: 'BUY',
  orderType: 'MKT',
  quantity: 10,
  tif: 'DAY',
  outsideRth: false,
  clientOrderId: 'test-1',
};
const input = (o: Partial<OrderRequest> = {}, extra: Partial<LimitInput> = {}): LimitInput => ({
  order: { ...order, ...o },
  contract: { symbol: 'AAPL', secType: 'STK', currency: 'USD' },
  brokerAccounts: ['DU1234567'],
  accountCurrency: 'USD',
  quote: { bid: 199.9, ask: 200.1, last: 200 },
  ordersLast24h: 0,
  ...extra,
});
const cfg = (c: Partial<SafetyConfig> = {}): SafetyConfig => ({ ...DEFAULT_SAFETY, ...c });
const refusedWith = (re: RegExp) => (e: unknown) =>
  e instanceof BrokerError && e.code === 'REFUSED' && re.test(e.message);

describe('mode detection comes from the account, never a setting', () => {
  // The backend's rule itself (IB's isPaper, else the DU/DF prefix) is tested in cpapi-session.test.ts.
  test("paper only on the backend's paper verdict for that account; no verdict counts as LIVE", () => {
    assert.equal(detectMode('DU1234567', { paper: { DU1234567: true } }, false), 'PAPER');
    assert.equal(detectMode('DF1234567', { paper: { DF1234567: true } }, false), 'PAPER');
    assert.equal(detectMode('DU1234567', {}, false), 'LIVE');
    assert.equal(detectMode('DU1234567', { paper: { DU1234567: false } }, false), 'LIVE');
    assert.equal(detectMode('U1234567', { paper: { DU1234567: true } }, false), 'LIVE');
    assert.equal(detectMode('U1234567', { paper: { U1234567: false } }, true), 'SIMULATED');
  });
  test('live is refused without --allow-live-trading', () => {
    assert.throws(
      () => assertModeAllowed('LIVE', { allowLiveTrading: false }, 'placing an order'),
      refusedWith(/LIVE account/),
    );
    assertModeAllowed('LIVE', { allowLiveTrading: true }, 'placing an order');
    assertModeAllowed('PAPER', { allowLiveTrading: false }, 'placing an order');
    assertModeAllowed('SIMULATED', { allowLiveTrading: false }, 'placing an order');
  });
  test('confirmation none on live needs allow-live-trading', () => {
    const cfg = (orderConfirmation: 'none' | 'token', allowLiveTrading: boolean, allowLiveWithoutApproval = false) => ({
      orderConfirmation,
      allowLiveTrading,
      allowLiveWithoutApproval,
    });
    assert.ok(confirmationProblem(cfg('none', false), 'LIVE'));
    // Live without approval needs both flags (issue #18): --allow-live-trading alone is not enough.
    assert.ok(confirmationProblem(cfg('none', true), 'LIVE'));
    assert.ok(confirmationProblem(cfg('none', false, true), 'LIVE'));
    assert.equal(confirmationProblem(cfg('none', true, true), 'LIVE'), undefined);
    assert.equal(confirmationProblem(cfg('none', false), 'PAPER'), undefined);
    assert.equal(confirmationProblem(cfg('token', false), 'LIVE'), undefined);
  });
});

describe('limits', () => {
  test('market buy valued at the ask; passes under the limit', () => {
    const r = checkLimits(input(), cfg());
    assert.equal(r.notional, 2001);
    assert.match(r.notionalBasis!, /ask 200.1/);
  });
  test('market order over the notional limit is refused', () => {
    assert.throws(() => checkLimits(input({ quantity: 200 }), cfg()), refusedWith(/failed: notional.*40020/));
  });
  test('a cash order is valued at its cash amount, or at the estimate if that is higher (issue 20)', () => {
    const r = checkLimits(input({ quantity: 9.9949, cashQty: 2000 }), cfg());
    assert.equal(r.notional, 2000);
    assert.equal(r.notionalBasis, 'cash quantity');
    const up = checkLimits(input({ quantity: 10, cashQty: 1990 }), cfg());
    assert.equal(up.notional, 2001);
    assert.throws(() => checkLimits(input({ quantity: 1, cashQty: 50_000 }), cfg()), refusedWith(/notional.*50000/));
  });
  test("the larger of quote and IB's what-if is used", () => {
    const r = checkLimits(input({}, { preview: { amount: 5000, warnings: [] } }), cfg());
    assert.equal(r.notional, 5000);
    assert.match(r.notionalBasis!, /what-if/);
  });
  test('no price and no what-if: the notional check cannot run, order refused', () => {
    assert.throws(
      () => checkLimits(input({}, { quote: undefined }), cfg()),
      (e: unknown) =>
        e instanceof BrokerError &&
        /could not be checked: notional/.test(e.message) &&
        (e.details?.['notRun'] as string[] | undefined)?.includes('notional'),
    );
  });
  test('a limit order is valued at its limit even without a quote', () => {
    const r = checkLimits(input({ orderType: 'LMT', limitPrice: 150 }, { quote: undefined }), cfg());
    assert.equal(r.notional, 1500);
  });
  test('sell limit valued at max(limit, bid); stop buy at max(stop, ask); options × 100', () => {
    assert.equal(
      worstPrice({ ...order, side: 'SELL', orderType: 'LMT', limitPrice: 150 }, { bid: 199.9 })?.price,
      199.9,
    );
    assert.equal(worstPrice({ ...order, orderType: 'STP', stopPrice: 210 }, { ask: 200.1 })?.price, 210);
    assert.equal(
      worstPrice({ ...order, orderType: 'TRAIL', trailingAmount: 5, trailingType: '%' }, { ask: 200 })?.price,
      210,
    );
    const r = checkLimits(
      {
        ...input({ secType: 'OPT', quantity: 2, orderType: 'LMT', limitPrice: 3.5 }),
        contract: { symbol: 'AAPL', secType: 'OPT', currency: 'USD' },
      },
      cfg(),
    );
    assert.equal(r.notional, 700);
  });
  test('quantity, orders per day, accounts, symbols, sec types', () => {
    assert.throws(
      () => checkLimits(input({ quantity: 5000, orderType: 'LMT', limitPrice: 1 }), cfg()),
      refusedWith(/quantity 5000/),
    );
    assert.throws(() => checkLimits(input({}, { ordersLast24h: 50 }), cfg()), refusedWith(/orders-per-day/));
    assert.throws(
      () => checkLimits(input({}, { ordersLast24h: undefined }), cfg()),
      refusedWith(/could not be checked: orders-per-day/),
    );
    assert.throws(() => checkLimits(input({ accountId: 'DU999' }), cfg()), refusedWith(/not one of this session/));
    assert.throws(() => checkLimits(input(), cfg({ allowedAccounts: ['DU7'] })), refusedWith(/allowed-accounts/));
    assert.throws(
      () => checkLimits(input({}, { brokerAccounts: undefined }), cfg()),
      refusedWith(/could not be checked: account/),
    );
    assert.throws(() => checkLimits(input(), cfg({ allowedSymbols: ['MSFT'] })), refusedWith(/allowed-symbols/));
    checkLimits(input(), cfg({ allowedSymbols: ['aapl'] }));
    assert.throws(() => checkLimits(input(), cfg({ allowedSecTypes: ['OPT'] })), refusedWith(/allowed-sec-types/));
  });
  test('an unknown account or contract currency makes the notional check unrunnable (issue 11 #2)', () => {
    assert.throws(
      () => checkLimits(input({}, { accountCurrency: undefined }), cfg()),
      refusedWith(/could not be checked: notional \(the base currency of account DU1234567 could not be read/),
    );
    assert.throws(
      () => checkLimits({ ...input(), contract: { symbol: 'SAP', secType: 'STK' } }, cfg()),
      refusedWith(/could not be checked: notional \(the currency of SAP is not known/),
    );
  });
  test('a currency mismatch makes the notional check unrunnable', () => {
    assert.throws(
      () => checkLimits({ ...input(), contract: { symbol: 'SAP', secType: 'STK', currency: 'EUR' } }, cfg()),
      refusedWith(/could not be checked: notional.*EUR/),
    );
  });
  test('several failures are reported together', () => {
    assert.throws(
      () => checkLimits(input({ quantity: 5000 }), cfg({ allowedSymbols: ['MSFT'] })),
      (e: unknown) => e instanceof BrokerError && (e.details?.['failed'] as string[] | undefined)?.length === 3,
    );
  });
});

describe("a trailing stop's initial stop (IB's price for TRAIL)", () => {
  const trail = { ...order, orderType: 'TRAIL' as const, trailingAmount: 2 };
  test('from last (else ask or bid), plus the trail for a buy, minus it for a sell, on the tick', () => {
    assert.equal(initialTrailStop(trail, { last: 187.23, ask: 190 }), 189.23);
    assert.equal(initialTrailStop({ ...trail, side: 'SELL' }, { bid: 187.2 }), 185.2);
    assert.equal(initialTrailStop({ ...trail, trailingType: '%' }, { last: 100.005 }), 102.01);
    assert.equal(initialTrailStop({ ...trail, side: 'SELL', trailingAmount: 5 }, { last: 4 }), undefined);
    assert.equal(initialTrailStop(trail, {}), undefined);
    assert.equal(initialTrailStop(trail, undefined), undefined);
  });
  test('the initial stop counts toward the notional', () => {
    assert.equal(worstPrice({ ...trail, stopPrice: 250 }, { ask: 200 })?.price, 250);
  });
});

describe('IB questions by message id', () => {
  const q = (ids: string[]) => ({ replyId: 'r1', messages: ['m'], messageIds: ids });
  test('allowlisted informational ids are auto-confirmed; any other blocks', () => {
    assert.equal(decideQuestion(q(['o10151']), ['o10151'], 'LIVE').autoConfirm, true);
    assert.deepEqual(decideQuestion(q(['o10151', 'o163']), ['o10151'], 'PAPER').blocking, ['o163']);
    assert.equal(decideQuestion(q([]), ['o10151'], 'PAPER').autoConfirm, false);
    assert.equal(decideQuestion(q(['O10151']), ['o10151'], 'PAPER').autoConfirm, true);
  });
  test('an allowlisted id that covers only some of the messages is not auto-confirmed (issue 11 #5)', () => {
    const two = { replyId: 'r1', messages: ['market order notice', 'price exceeds 3%'], messageIds: ['o10151'] };
    const d = decideQuestion(two, ['o10151'], 'PAPER');
    assert.equal(d.autoConfirm, false);
    assert.deepEqual(d.blocking, ['1 message without an id']);
    const both = { ...two, messageIds: ['o10151', 'o10152'] };
    assert.equal(decideQuestion(both, ['o10151', 'o10152'], 'PAPER').autoConfirm, true);
  });
});
