import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BrokerError } from '../../src/broker/errors.js';
import { assertValidOrder, type OrderFields, orderProblems, standardTick } from '../../src/safety/validate.js';

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
    assert.match(problems({ quantity: 0.00001 }).join(), /not a multiple/);
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
