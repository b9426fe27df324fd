import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  ibNum,
  parseCancel,
  parseLiveOrders,
  parseOrderStatus,
  parsePlaceAnswer,
  parseTrades,
  parseWhatIf,
  toWireOrder,
} from '../../src/backends/cpapi/order-wire.js';
import { BrokerError } from '../../src/broker/errors.js';
import type { OrderRequest } from '../../src/broker/orders.js';
import { AAPL_LMT } from '../fixtures/order-request.js';

const order: OrderRequest = AAPL_LMT;

describe("IB's order shapes (protocol §7 examples)", () => {
  test('wire order: cOID always, price/auxPrice by type, outsideRTH casing', () => {
    assert.deepEqual(toWireOrder(order), {
      acctId: 'DU1234567',
      conid: 265598,
      secType: '265598:STK',
      orderType: 'LMT',
      side: 'BUY',
      quantity: 10,
      tif: 'DAY',
      outsideRTH: false,
      ticker: 'AAPL',
      cOID: 'c-1',
      price: 185.5,
    });
    const stp = toWireOrder({ ...order, orderType: 'STP', limitPrice: undefined, stopPrice: 180 });
    assert.equal(stp['price'], 180);
    const sl = toWireOrder({ ...order, orderType: 'STOP_LIMIT', limitPrice: 181, stopPrice: 180 });
    assert.equal(sl['price'], 181);
    assert.equal(sl['auxPrice'], 180);
    const tr = toWireOrder({
      ...order,
      orderType: 'TRAIL',
      limitPrice: undefined,
      trailingAmount: 2,
      trailingType: '%',
      stopPrice: 176.4,
    });
    // IB: price is a trailing stop's initial stop (issue 13 item 5).
    assert.equal(tr['price'], 176.4);
    assert.equal(tr['trailingAmt'], 2);
    assert.equal(tr['trailingType'], '%');
    assert.equal(toWireOrder(order, { withClientId: false })['cOID'], undefined);
  });

  test('place answers: success, question, 200 error, advanced reject, garbage', () => {
    assert.deepEqual(
      parsePlaceAnswer([{ order_id: '1370093239', order_status: 'PreSubmitted', encrypt_message: '1' }]),
      {
        kind: 'placed',
        orders: [{ orderId: '1370093239', status: 'PreSubmitted', state: 'working' }],
      },
    );
    const q = parsePlaceAnswer([
      {
        id: '07a13a5a-4a48-44a5-bb25-5ab37b79186c',
        message: [
          'The following order "BUY 5 AAPL NASDAQ.NMS @ 150.0" price exceeds \nthe Percentage constraint of 3%.',
        ],
        isSuppressed: false,
        messageIds: ['o163'],
      },
    ]);
    assert.equal(q.kind, 'questions');
    assert.equal(q.kind === 'questions' && q.question.replyId, '07a13a5a-4a48-44a5-bb25-5ab37b79186c');
    assert.deepEqual(q.kind === 'questions' && q.question.messageIds, ['o163']);
    assert.deepEqual(parsePlaceAnswer({ error: 'Order not confirmed ' }), {
      kind: 'rejected',
      message: 'Order not confirmed',
    });
    assert.equal(
      parsePlaceAnswer({ orderId: 1, messageId: 'p12', text: 'Use the Price Management Algo?', prompt: true }).kind,
      'rejected',
    );
    assert.throws(
      () => parsePlaceAnswer({ foo: 1 }),
      (e: unknown) => e instanceof BrokerError && e.code === 'GATEWAY_ERROR',
    );
  });

  test('what-if strings become numbers', () => {
    const p = parseWhatIf({
      amount: { amount: '1,977.60 USD (10 Shares)', commission: '1 USD', total: '1,978.60 USD' },
      equity: { current: '123,456', change: '-1', after: '123,455' },
      initial: { current: '1000', change: '652', after: '1652' },
      maintenance: { current: '900', change: '590', after: '1490' },
      position: { current: '20', change: '10', after: '30' },
      warn: '21/You are trying to submit an order without having market data for this instrument.',
      error: null,
    });
    assert.equal(p.amount, 1977.6);
    assert.equal(p.currency, 'USD');
    assert.equal(p.commission, 1);
    assert.equal(p.total, 1978.6);
    assert.deepEqual(p.equity, { current: 123456, change: -1, after: 123455 });
    assert.equal(p.position?.after, 30);
    assert.match(p.warnings[0]!, /^You are trying/);
    assert.equal(p.error, undefined);
    assert.equal(ibNum('-1,234.5'), -1234.5);
  });

  test('live orders: empty first call, rows once, cOID from order_ref', () => {
    assert.deepEqual(parseLiveOrders({ orders: [], snapshot: false }), { orders: [], snapshot: false });
    const row = {
      acct: 'U1234567',
      conid: 265598,
      orderId: 1234568790,
      orderDesc: 'Sold 5 Market, GTC',
      ticker: 'AAPL',
      secType: 'STK',
      remainingQuantity: 0.0,
      filledQuantity: 5.0,
      totalSize: 5.0,
      status: 'Filled',
      avgPrice: '192.26',
      orderType: 'Market',
      order_ref: 'Order123',
      timeInForce: 'GTC',
      lastExecutionTime_r: 1702317649000,
      side: 'SELL',
    };
    const { orders, snapshot } = parseLiveOrders({ orders: [row, row], snapshot: true });
    assert.equal(snapshot, true);
    assert.equal(orders.length, 1);
    assert.deepEqual(orders[0], {
      orderId: '1234568790',
      accountId: 'U1234567',
      conid: 265598,
      symbol: 'AAPL',
      side: 'SELL',
      orderType: 'MKT',
      quantity: 5,
      filled: 5,
      remaining: 0,
      state: 'filled',
      status: 'Filled',
      clientOrderId: 'Order123',
      secType: 'STK',
      avgPrice: 192.26,
      tif: 'GTC',
      time: 1702317649000,
      description: 'Sold 5 Market, GTC',
    });
  });

  test('status (B/S sides, string sizes), trades, cancel object or array', () => {
    const s = parseOrderStatus({
      order_id: 1799796559,
      conid: 265598,
      symbol: 'AAPL',
      side: 'S',
      size: '0.0',
      total_size: '5.0',
      account: 'U1234567',
      order_type: 'MARKET',
      cum_fill: '5.0',
      order_status: 'Filled',
      tif: 'DAY',
      average_price: '192.26',
      order_time: '231211180049',
    });
    assert.equal(s?.side, 'SELL');
    assert.equal(s?.filled, 5);
    assert.equal(s?.remaining, 0);
    assert.equal(s?.time, Date.UTC(2023, 11, 11, 18, 0, 49));
    const t = parseTrades([
      {
        execution_id: '0000e0d5.6576fd38.01.01',
        symbol: 'AAPL',
        side: 'S',
        trade_time_r: 1702317649000,
        size: 5.0,
        price: '192.26',
        order_ref: 'Order123',
        commission: '1.01',
        net_amount: 961.3,
        account: 'U1234567',
        sec_type: 'STK',
        conid: 265598,
        order_id: 17437897932,
      },
    ]);
    assert.deepEqual(
      [t[0]?.price, t[0]?.commission, t[0]?.side, t[0]?.clientOrderId, t[0]?.orderId],
      [192.26, 1.01, 'SELL', 'Order123', '17437897932'],
    );
    assert.equal(
      parseCancel('1', { msg: 'Request was submitted', order_id: 602801486, conid: -1, account: null }).accepted,
      true,
    );
    assert.equal(parseCancel('1', [{ order_id: '5', order_status: 'Cancelled' }]).orderId, '5');
    assert.deepEqual(parseCancel('1', { error: "OrderID 1 doesn't exist" }), {
      orderId: '1',
      accepted: false,
      message: "OrderID 1 doesn't exist",
    });
  });
});
