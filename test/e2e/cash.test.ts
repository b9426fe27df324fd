/**
 * Cash orders end to end (issue #20, item 2): place_stock_order with cashQty buys a fraction of a
 * share for an amount of money; anything IB would not take as a cash order is refused before
 * sending, with what to do instead.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type Harness, simRequest, startServer } from './harness.js';

const ACCT = 'DU1234567';
const BUY_500 = { accountId: ACCT, symbol: 'AAPL', action: 'BUY', orderType: 'MKT', cashQty: 500 };
type SimView = { orders: Array<{ cOID?: string; qty: number; filled: number; status: string }> };

describe('cash quantity orders', () => {
  let h: Harness;
  const orders = async () => ((await simRequest(h.sim!, '/sim/orders')) as SimView).orders;
  before(async () => {
    h = await startServer({ args: ['--order-confirmation', 'none'] });
  });
  after(async () => {
    await h?.close();
  });

  test('500 USD of AAPL: a fractional fill, the amount shown and sent, the shares estimated', async () => {
    const pv = await h.callTool('preview_order', BUY_500);
    assert.equal(pv.isError, false, pv.text);
    assert.equal(pv.structured.sent.cashQty, 500);
    const r = await h.callTool('place_stock_order', { ...BUY_500, clientOrderId: 'e2e-cash-1' });
    assert.equal(r.isError, false, r.text);
    assert.equal(r.structured.status, 'filled', r.text);
    assert.equal(r.structured.sent.cashQty, 500);
    assert.match(r.text, /BUY cash 500(\.00)? \(≈ [\d.]+ shares\) MKT/);
    assert.ok(r.structured.notional <= 500.01 && r.structured.notional >= 499, r.text);
    const o = (await orders()).find((x) => x.cOID === 'e2e-cash-1')!;
    assert.equal(o.status, 'Filled');
    assert.ok(!Number.isInteger(o.filled) && o.filled > 0, `fractional fill ${o.filled}`);
    const st = await h.callTool('get_order_status', { clientOrderId: 'e2e-cash-1' });
    assert.equal(st.structured.order.filled, o.filled);
  });

  test('refused before sending: a limit, an option, both sizes, neither', async () => {
    const n = (await orders()).length;
    const base = { accountId: ACCT, symbol: 'AAPL', action: 'BUY' };
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ ...base, orderType: 'LMT', price: 100, cashQty: 500 }, /cashQty needs orderType MKT/],
      [{ ...base, orderType: 'MKT', quantity: 1, cashQty: 500 }, /exactly one of quantity .* or cashQty/],
      [{ ...base, orderType: 'MKT' }, /exactly one of quantity/],
      [{ ...base, orderType: 'MKT', cashQty: 500, takeProfit: 999 }, /cannot be combined with takeProfit/],
    ];
    for (const [args, re] of cases) {
      const r = await h.callTool('place_stock_order', args);
      assert.equal(r.isError, true, JSON.stringify(args));
      assert.match(r.text, re);
    }
    const opt = await h.callTool('preview_order', {
      ...base,
      secType: 'OPT',
      expiration: 'JAN27',
      strike: 200,
      right: 'C',
      orderType: 'MKT',
      cashQty: 500,
    });
    assert.equal(opt.isError, true, opt.text);
    assert.match(opt.text, /cashQty is for stocks and ETFs|option|expiration/);
    assert.equal((await orders()).length, n, 'nothing reached IB');
  });
});
