/**
 * Research tools end to end against the simulator: exchange rates (consistent with the
 * simulator's FX quotes), and their error paths.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type Harness, startServer } from './harness.js';

describe('research end to end', () => {
  let h: Harness;
  before(async () => {
    h = await startServer({ args: ['--toolsets', 'marketdata,research'] });
    await h.simControl('/sim/clock', { freeze: true });
  });
  after(async () => {
    await h?.close();
  });

  test('get_fx_rate: rate, inverse, conversion, data source and age', async () => {
    const r = await h.callTool('get_fx_rate', { from: 'eur', to: 'USD', amount: 1000 });
    assert.equal(r.isError, false, r.text);
    const s = r.structured;
    assert.equal(s.from, 'EUR');
    assert.equal(s.mode, 'PAPER');
    assert.ok(s.rate > 0.5 && s.rate < 2, String(s.rate));
    assert.ok(Math.abs(s.converted - 1000 * s.rate) < 1e-6);
    assert.ok(Date.parse(s.asOf) > 0);
    assert.match(r.text, /^\[PAPER\] 1 EUR = [\d.]+ USD; 1000 EUR = [\d.]+ USD/);

    const inv = await h.callTool('get_fx_rate', { from: 'USD', to: 'EUR' });
    assert.ok(Math.abs(inv.structured.rate * s.rate - 1) < 1e-6, 'USD.EUR is the inverse of EUR.USD');

    // The same market as the simulator's EUR.USD quote: the rate lies within its bid and ask.
    const q = await h.callTool('get_quote', { conid: 12087792 }); // the simulator's EUR.USD
    assert.equal(q.isError, false, q.text);
    const { bid, ask } = q.structured.quotes?.[0] ?? q.structured;
    assert.ok(bid <= s.rate && s.rate <= ask, `${bid} <= ${s.rate} <= ${ask}`);

    const same = await h.callTool('get_fx_rate', { from: 'JPY', to: 'JPY' });
    assert.equal(same.structured.rate, 1);
  });

  test('get_fx_rate: a pair IB does not know, a code that is not one', async () => {
    const r = await h.callTool('get_fx_rate', { from: 'USD', to: 'XYZ' });
    assert.equal(r.isError, true);
    assert.match(r.text, /no exchange rate for USD\.XYZ/);
    const bad = await h.callTool('get_fx_rate', { from: 'US', to: 'EUR' });
    assert.equal(bad.isError, true);
    assert.match(bad.text, /currency/);
  });
});
