/**
 * A tool that changes something refuses a parameter it does not know, instead of acting without
 * it: `ocaGroup` on place_stock_order was dropped by the schema, and two orders the model believed
 * linked went out unlinked (IB's Client Portal API links orders only when they are sent together,
 * `isSingleGroup`: place_oca_orders). Read tools stay lenient.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { SimView } from './group-helpers.js';
import { type Harness, simRequest, startServer } from './harness.js';

describe('unknown parameters', () => {
  let h: Harness;
  const view = () => simRequest(h.sim!, '/sim/orders') as Promise<SimView>;

  before(async () => {
    h = await startServer({ args: ['--order-confirmation', 'none', '--toolsets', 'all'] });
  });
  after(async () => {
    await h?.close();
  });

  test('an order with a parameter the tool does not take is refused, and nothing is sent', async () => {
    const before = (await view()).orders.length;
    const r = await h.callTool('place_stock_order', {
      accountId: 'DU1234567',
      symbol: 'AAPL',
      action: 'BUY',
      orderType: 'LMT',
      price: 1,
      quantity: 1,
      ocaGroup: 'exits-1',
    });
    assert.equal(r.isError, true, r.text);
    assert.match(r.text, /unknown parameter "ocaGroup"/);
    assert.match(r.text, /nothing was done/);
    assert.match(r.text, /place_oca_orders/, 'says how to link orders');
    assert.equal((await view()).orders.length, before, 'no order reached IB');
    // The same order without it goes through: the refusal was the parameter, nothing else.
    const ok = await h.callTool('place_stock_order', {
      accountId: 'DU1234567',
      symbol: 'AAPL',
      action: 'BUY',
      orderType: 'LMT',
      price: 1,
      quantity: 1,
    });
    assert.equal(ok.isError, false, ok.text);
  });

  test('every tool that changes something, and every preview, refuses an unknown parameter', async () => {
    const { tools } = await h.client.listTools();
    const strict = tools.filter((t) => !t.annotations?.readOnlyHint || t.name.startsWith('preview_'));
    assert.ok(strict.length >= 14, `${strict.length} tools`);
    for (const t of strict) {
      const r = await h.callTool(t.name, { notAParameter: true });
      assert.equal(r.isError, true, `${t.name}: ${r.text}`);
      assert.match(r.text, /unknown parameter "notAParameter"/, t.name);
    }
  });

  test('a hostile key is named as data, nothing more', async () => {
    const r = await h.callTool('cancel_order', JSON.parse('{"orderId":"1","constructor":1,"__proto__":{"x":1}}'));
    assert.equal(r.isError, true, r.text);
    assert.match(r.text, /unknown parameter "constructor": nothing was done; this tool takes only/);
    assert.doesNotMatch(r.text, /function|native code|object Object/);
  });

  test('a read tool ignores an extra parameter', async () => {
    const r = await h.callTool('get_quote', { symbol: 'AAPL', notAParameter: true });
    assert.equal(r.isError, false, r.text);
  });
});
