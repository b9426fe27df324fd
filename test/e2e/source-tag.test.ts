/**
 * Every result that carries account or market data says where it comes from (issue 14):
 * SIMULATED, PAPER or LIVE in `mode` and at the start of the text; the first such result of a
 * simulator session says in one line how to connect a real account, and only the first.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type Harness, startServer } from './harness.js';

const CALLS: Array<[string, Record<string, unknown>]> = [
  ['get_quote', { symbol: 'AAPL' }],
  ['get_market_data', { symbol: 'MSFT' }],
  ['get_historical_data', { symbol: 'AAPL', period: '1w', bar: '1d' }],
  ['search_contracts', { query: 'AAPL' }],
  ['get_options_chain', { symbol: 'SPY', expirationCount: 1, strikeCount: 2 }],
  ['get_account_info', {}],
  ['get_positions', { accountId: 'DU1234567', limit: 3 }],
  ['get_portfolio_summary', { accountId: 'DU1234567' }],
  ['get_pnl', {}],
  ['get_live_orders', {}],
  ['get_trades', {}],
];

async function tour(h: Harness, mode: string): Promise<string[]> {
  const texts: string[] = [];
  for (const [name, args] of CALLS) {
    const r = await h.callTool(name, args);
    assert.equal(r.isError, false, `${name}: ${r.text}`);
    assert.equal(r.structured.mode, mode, `${name}: ${r.text.slice(0, 200)}`);
    assert.ok(r.text.startsWith(`[${mode}] `), `${name}: ${r.text.slice(0, 200)}`);
    texts.push(r.text);
  }
  return texts;
}

const NOTE = /To use your IB account, start ibkr-mcp with IB_BACKEND=gateway/;

describe('data source tag on every data result', () => {
  test('a paper account through a gateway: PAPER in mode and text, no simulator line', async () => {
    const h = await startServer();
    try {
      const texts = await tour(h, 'PAPER');
      assert.equal(texts.filter((t) => NOTE.test(t)).length, 0);
    } finally {
      await h.close();
    }
  });

  test('the default configuration (built-in simulator): SIMULATED, and the how-to-connect line once', async () => {
    const h = await startServer({ sim: false });
    try {
      const texts = await tour(h, 'SIMULATED');
      assert.equal(texts.filter((t) => NOTE.test(t)).length, 1);
      assert.match(texts[0]!, NOTE);
      // A session tool is not data: it is not tagged.
      const s = await h.callTool('get_connection_status', {});
      assert.doesNotMatch(s.text, /^\[SIMULATED\] /);
    } finally {
      await h.close();
    }
  });
});
