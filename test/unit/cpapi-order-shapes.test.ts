/**
 * Every shape of IB's order answers that IB has been seen to send (test/fixtures/ib/orders.ts,
 * each with its source) parses to the same domain facts; a missing value stays missing.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseLiveOrders, parseOrderStatus, parseTrades, tradeTimeMs } from '../../src/backends/cpapi/order-wire.js';
import { LIVE_ORDER_ROW_2023, ORDER_STATUS_2023, ORDER_STATUS_SNAKE, TRADES } from '../fixtures/ib/orders.js';

describe("IB's order shapes, every variant", () => {
  for (const f of [ORDER_STATUS_2023, ORDER_STATUS_SNAKE]) {
    test(`order status: ${f.source}`, () => {
      const o = parseOrderStatus(f.body);
      assert.ok(o);
      for (const [k, v] of Object.entries(f.expect)) assert.equal(o[k as keyof typeof o], v, k);
    });
  }
  test(`live orders: ${LIVE_ORDER_ROW_2023.source}`, () => {
    const [o] = parseLiveOrders({ orders: [LIVE_ORDER_ROW_2023.body], snapshot: true }).orders;
    assert.ok(o);
    for (const [k, v] of Object.entries(LIVE_ORDER_ROW_2023.expect)) assert.equal(o[k as keyof typeof o], v, k);
  });
  test(`trades with and without times: ${TRADES.source}`, () => {
    const rows = parseTrades(TRADES.body);
    assert.equal(rows.length, 3);
    assert.deepEqual(
      rows.map((t) => t.time),
      TRADES.expectTimes,
    );
    assert.equal(tradeTimeMs('20231211-18:00:49'), 1702317649000);
    assert.equal(tradeTimeMs('2023-12-11'), undefined);
    assert.equal(tradeTimeMs(undefined), undefined);
  });
});
