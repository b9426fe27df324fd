import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BrokerError } from '../../src/broker/errors.js';
import {
  assertValidOrder,
  exactDecimal,
  isMultiple,
  type OrderFields,
  orderProblems,
  standardTick,
} from '../../src/safety/validate.js';

const base: OrderFields = { secType: 'STK', orderType: 'LMT', quantity: 10, limitPrice: 100, tif: 'DAY' };
const problems = (f: Partial<OrderFields>) => orderProblems({ ...base, ...f });

describe('order input validation', () => {
  test('a valid limit order has no problems', () => {
    assert.deepEqual(problems({}), []);
  });
  test('limit without price, stop without stop price, STOP_LIMIT needs both', () => {
    assert.match(problems({ limitPrice: undefined }).join(), /needs a limit price/);
    assert.match(problems({ orderType: 'STP', limitPrice: undefined }).join(), /needs a stop price/);
    const sl = problems({ orderType: 'STOP_LIMIT', limitPrice: undefined, stopPrice: undefined }).join();
    assert.match(sl, /limit price/);
    assert.match(sl, /stop price/);
  });
  test('a price on a market order is refused', () => {
    assert.match(problems({ orderType: 'MKT' }).join(), /market order takes no price/);
    assert.match(problems({ orderType: 'MKT', limitPrice: undefined, stopPrice: 5 }).join(), /takes no stop price/);
  });
  test('quantity ≤ 0, fractional options, fractional stocks allowed', () => {
    assert.match(problems({ quantity: 0 }).join(), /greater than 0/);
    assert.match(problems({ quantity: -1 }).join(), /greater than 0/);
    assert.match(problems({ secType: 'OPT', quantity: 1.5, limitPrice: 2 }).join(), /whole number of contracts/);
    assert.deepEqual(problems({ quantity: 0.5 }), []);
    assert.match(problems({ quantity: 0.00001 }).join(), /below the smallest step 0.0001/);
  });
  test('tick size: stocks 0.01 (0.0001 under $1), options 0.01 under $3 and 0.05 above', () => {
    assert.equal(standardTick('STK', 100), 0.01);
    assert.equal(standardTick('STK', 0.5), 0.0001);
    assert.equal(standardTick('OPT', 2), 0.01);
    assert.equal(standardTick('OPT', 5), 0.05);
    assert.match(
      problems({ limitPrice: 100.005 }).join(),
      /not a multiple of the tick size 0.01; use 100.00 or 100.01/,
    );
    assert.deepEqual(problems({ limitPrice: 0.1234 }), []);
    assert.deepEqual(problems({ limitPrice: 187.23 }), []);
    assert.match(problems({ secType: 'OPT', quantity: 1, limitPrice: 5.02 }).join(), /tick size 0.05/);
    assert.deepEqual(problems({ secType: 'OPT', quantity: 1, limitPrice: 5.05 }), []);
    assert.match(problems({ minTick: 0.25, limitPrice: 100.1 }).join(), /tick size 0.25/);
  });
  test('TRAIL needs a trailing amount; trailing fields only on TRAIL', () => {
    assert.match(problems({ orderType: 'TRAIL', limitPrice: undefined }).join(), /needs trailingAmount/);
    assert.deepEqual(problems({ orderType: 'TRAIL', limitPrice: undefined, trailingAmount: 1.5 }), []);
    assert.deepEqual(problems({ orderType: 'TRAIL', limitPrice: undefined, trailingAmount: 2, trailingType: '%' }), []);
    assert.match(
      problems({ orderType: 'TRAIL', limitPrice: undefined, trailingAmount: 120, trailingType: '%' }).join(),
      /below 100/,
    );
    assert.match(problems({ trailingAmount: 1 }).join(), /only apply to TRAIL/);
  });
  test('OPG only for MKT/LMT; MKT cannot go outside RTH', () => {
    assert.match(problems({ orderType: 'STP', limitPrice: undefined, stopPrice: 90, tif: 'OPG' }).join(), /OPG/);
    assert.match(problems({ orderType: 'MKT', limitPrice: undefined, outsideRth: true }).join(), /outside regular/);
  });
  test('assertValidOrder throws INVALID_INPUT listing all problems', () => {
    assert.throws(
      () => assertValidOrder({ ...base, quantity: 0, limitPrice: undefined }),
      (e: unknown) =>
        e instanceof BrokerError &&
        e.code === 'INVALID_INPUT' &&
        /nothing was sent/.test(e.message) &&
        (e.details?.['problems'] as string[] | undefined)?.length === 2,
    );
  });
});

describe('exact decimal steps and ticks (issue 11 #3)', () => {
  test('a quantity or price that rounds to zero is refused', () => {
    assert.match(problems({ quantity: 1e-11 }).join(), /quantity 1e-11 is below the smallest step 0.0001/);
    assert.match(problems({ limitPrice: 5e-324 }).join(), /price 5e-324 is below the tick size 0.0001/);
    assert.match(problems({ secType: 'OPT', quantity: 1e-300, limitPrice: 2 }).join(), /whole number|below/);
    assert.match(problems({ orderType: 'STP', limitPrice: undefined, stopPrice: 1e-9 }).join(), /below the tick/);
  });
  test('more decimals than the step allows are refused; exact multiples pass', () => {
    assert.match(problems({ quantity: 1.00000001 }).join(), /not a multiple of 0.0001/);
    assert.match(problems({ limitPrice: 187.2300001 }).join(), /not a multiple of the tick size 0.01/);
    assert.deepEqual(problems({ quantity: 0.0001 }), []);
    assert.deepEqual(problems({ quantity: 1234.5678 }), []);
    assert.deepEqual(problems({ limitPrice: 0.3 }), []);
    assert.deepEqual(problems({ limitPrice: 1e21 }), []);
  });
  test('trailing percentages take at most two decimals', () => {
    const trail = { orderType: 'TRAIL' as const, limitPrice: undefined, trailingType: '%' as const };
    assert.match(problems({ ...trail, trailingAmount: 1e-11 }).join(), /at most two decimals/);
    assert.deepEqual(problems({ ...trail, trailingAmount: 1.25 }), []);
  });
  test('exactDecimal reads the shortest round-trip text', () => {
    assert.deepEqual(exactDecimal(0.1), { int: 1n, scale: 1 });
    assert.deepEqual(exactDecimal(1e-11), { int: 1n, scale: 11 });
    assert.deepEqual(exactDecimal(1.5e3), { int: 1500n, scale: 0 });
    assert.equal(exactDecimal(Number.NaN), undefined);
    assert.equal(isMultiple(0.3, 0.1), true);
    assert.equal(isMultiple(1e-11, 0.0001), false);
  });
});
