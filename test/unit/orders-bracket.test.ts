/**
 * Brackets and cash orders (issue #20): the wire group (parent with cOID, children with parentId), IB's answer
 * with a refused child, and the exit prices checked against the entry before anything is sent.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseLiveOrders, parsePlaceAnswer, toWireOrders } from '../../src/backends/cpapi/order-wire.js';
import type { OrderRequest } from '../../src/broker/orders.js';
import { bracketProblems, cashQtyProblems, orderProblems } from '../../src/safety/validate.js';
import { AAPL_LMT } from '../fixtures/order-request.js';

const parent: OrderRequest = {
  ...AAPL_LMT,
  limitPrice: 100,
  tif: 'GTC',
  clientOrderId: 'br-1',
  takeProfit: 110,
  stopLoss: 95,
};

describe('bracket on the wire', () => {
  test('one request: the parent with its cOID, then take-profit and stop-loss linked by parentId', () => {
    const [p, tp, sl, ...rest] = toWireOrders(parent);
    assert.equal(rest.length, 0);
    assert.equal(p!['cOID'], 'br-1');
    assert.equal(p!['parentId'], undefined);
    assert.deepEqual(
      [tp, sl].map((c) => [c!['side'], c!['orderType'], c!['price'], c!['quantity'], c!['tif'], c!['parentId']]),
      [
        ['SELL', 'LMT', 110, 10, 'GTC', 'br-1'],
        ['SELL', 'STP', 95, 10, 'GTC', 'br-1'],
      ],
    );
    // IB: bracket children carry no cOID of their own.
    assert.equal(tp!['cOID'], undefined);
    assert.equal(sl!['cOID'], undefined);
  });

  test("a what-if of the group keeps the parent's cOID (the children need it); a plain what-if has none", () => {
    assert.equal(toWireOrders(parent, { withClientId: false })[0]!['cOID'], 'br-1');
    const plain = { ...parent, takeProfit: undefined, stopLoss: undefined };
    delete plain.takeProfit;
    delete plain.stopLoss;
    const w = toWireOrders(plain, { withClientId: false });
    assert.equal(w.length, 1);
    assert.equal(w[0]!['cOID'], undefined);
  });

  test("IB's answer: one row per order; a refused child (order_id -1, Failed) is rejected", () => {
    const a = parsePlaceAnswer([
      { order_id: '11', order_status: 'PreSubmitted' },
      { order_id: '12', order_status: 'PreSubmitted' },
      { order_id: -1, status: 'Failed', text: 'Stop price too close' },
    ]);
    assert.equal(a.kind, 'placed');
    if (a.kind !== 'placed') return;
    assert.deepEqual(
      a.orders.map((o) => [o.orderId, o.state]),
      [
        ['11', 'working'],
        ['12', 'working'],
        ['-1', 'rejected'],
      ],
    );
    assert.match(a.orders[2]!.status, /Stop price too close/);
  });

  test('live rows name a child’s parent', () => {
    const { orders } = parseLiveOrders({
      snapshot: true,
      orders: [
        { orderId: 12, conid: 265598, side: 'SELL', status: 'PreSubmitted', parentId: 11, orderType: 'Limit' },
        { orderId: 11, conid: 265598, side: 'BUY', status: 'Filled', parentId: 0, orderType: 'Limit' },
      ],
    });
    assert.equal(orders.find((o) => o.orderId === '12')!.parentId, '11');
    assert.equal(orders.find((o) => o.orderId === '11')!.parentId, undefined);
  });
});

describe('bracket prices, refused before sending', () => {
  test('BUY: take-profit above the entry, stop-loss below', () => {
    assert.deepEqual(bracketProblems(parent), []);
    assert.match(bracketProblems({ ...parent, takeProfit: 99 }).join(' '), /takeProfit 99 must be above the entry/);
    assert.match(bracketProblems({ ...parent, stopLoss: 100 }).join(' '), /stopLoss 100 must be below the entry/);
  });

  test('SELL: the reverse', () => {
    const sell = { ...parent, side: 'SELL' as const, takeProfit: 90, stopLoss: 105 };
    assert.deepEqual(bracketProblems(sell), []);
    const bad = bracketProblems({ ...sell, takeProfit: 101, stopLoss: 99 });
    assert.equal(bad.length, 3, bad.join(' '));
  });

  test('a market entry is checked against the last price when known, else only exit against exit', () => {
    const mkt = { ...parent, orderType: 'MKT' as const, limitPrice: undefined };
    assert.match(bracketProblems(mkt, 111).join(' '), /takeProfit 110 must be above the last price 111/);
    assert.deepEqual(bracketProblems(mkt), []);
    assert.match(bracketProblems({ ...mkt, takeProfit: 90 }).join(' '), /above stopLoss/);
  });

  test('a stop entry uses its stop price', () => {
    const stp = { ...parent, orderType: 'STP' as const, limitPrice: undefined, stopPrice: 105 };
    assert.deepEqual(bracketProblems(stp), []);
    assert.match(
      bracketProblems({ ...stp, stopLoss: 106 }).join(' '),
      /stopLoss 106 must be below the entry price 105/,
    );
  });

  test('exits on the tick; no bracket on a TRAIL or IOC order', () => {
    const f = { ...parent, secType: 'STK' as const };
    assert.match(orderProblems({ ...f, takeProfit: 110.005 }).join(' '), /takeProfit 110.005 is not a multiple/);
    assert.match(
      orderProblems({ ...f, orderType: 'TRAIL', limitPrice: undefined, trailingAmount: 1 }).join(' '),
      /TRAIL order cannot carry takeProfit/,
    );
    assert.match(orderProblems({ ...f, tif: 'IOC' }).join(' '), /tif IOC/);
  });
});

describe('cash quantity (issue 20, item 2)', () => {
  test('on the wire: cashQty instead of quantity', () => {
    const [w] = toWireOrders({ ...AAPL_LMT, orderType: 'MKT', limitPrice: undefined, quantity: 2.5, cashQty: 500 });
    assert.equal(w!['cashQty'], 500);
    assert.equal('quantity' in w!, false);
  });

  test('stocks and market orders only, whole cents, no bracket', () => {
    const ok = { secType: 'STK' as const, orderType: 'MKT' as const, cashQty: 500 };
    assert.deepEqual(cashQtyProblems(ok), []);
    assert.deepEqual(cashQtyProblems({ ...ok, cashQty: undefined }), []);
    assert.match(cashQtyProblems({ ...ok, orderType: 'LMT' }).join(' '), /needs orderType MKT/);
    assert.match(cashQtyProblems({ ...ok, secType: 'OPT' }).join(' '), /not OPT/);
    assert.match(cashQtyProblems({ ...ok, cashQty: 10.005 }).join(' '), /two decimals/);
    assert.match(cashQtyProblems({ ...ok, takeProfit: 1 }).join(' '), /cannot be combined/);
  });
});
