import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { CLI, foreground, type Harness, startServer } from './harness.js';

const SP50 = [
  'AAPL',
  'MSFT',
  'AMZN',
  'GOOGL',
  'META',
  'NVDA',
  'TSLA',
  'JPM',
  'V',
  'MA',
  'UNH',
  'HD',
  'PG',
  'JNJ',
  'XOM',
  'CVX',
  'KO',
  'PEP',
  'WMT',
  'COST',
  'ABBV',
  'MRK',
  'PFE',
  'LLY',
  'BAC',
  'WFC',
  'C',
  'GS',
  'MS',
  'AXP',
  'INTC',
  'AMD',
  'QCOM',
  'TXN',
  'AVGO',
  'ORCL',
  'CSCO',
  'IBM',
  'ADBE',
  'CRM',
  'NFLX',
  'DIS',
  'NKE',
  'MCD',
  'SBUX',
  'BA',
  'CAT',
  'GE',
  'HON',
  'MMM',
];

describe('market data end to end (MCP client → stdio server → HTTPS → simulator)', () => {
  let h: Harness;
  before(async () => {
    h = await startServer();
  });
  after(async () => {
    await h?.close();
  });

  test('tools/list: market-data tools with all four annotations and an output schema', async () => {
    const { tools } = await h.client.listTools();
    for (const name of ['get_quote', 'get_market_data', 'get_historical_data', 'search_contracts']) {
      const t = tools.find((x) => x.name === name);
      assert.ok(t, `${name} listed`);
      assert.equal(t.annotations?.readOnlyHint, true);
      assert.equal(t.annotations?.destructiveHint, false);
      assert.equal(t.annotations?.idempotentHint, true);
      assert.equal(t.annotations?.openWorldHint, true);
      assert.ok(t.outputSchema, `${name} has outputSchema`);
    }
  });

  test('get_quote {symbol} as in the original product', async () => {
    const r = await h.callTool('get_quote', { symbol: 'AAPL' });
    assert.equal(r.isError, false, r.text);
    const q = r.structured.quotes[0];
    assert.equal(q.symbol, 'AAPL');
    assert.equal(q.conid, 265598);
    assert.equal(typeof q.last, 'number');
    assert.ok(q.bid < q.ask, 'bid below ask');
    assert.equal(q.availability, 'live');
    assert.match(r.text, /^\[PAPER\] AAPL: \d/);
  });

  test('get_quote on 50 symbols: one call, warm in at most 3 gateway requests', async () => {
    const cold = await h.callTool('get_quote', { symbols: SP50 });
    assert.equal(cold.isError, false, cold.text);
    assert.equal(cold.structured.quotes.length, 50);
    for (const q of cold.structured.quotes) assert.equal(typeof q.last, 'number', `${q.symbol} has last`);
    await h.simControl('/sim/reset');
    const warm = await h.callTool('get_quote', { symbols: SP50 });
    assert.equal(warm.isError, false);
    const stats = await h.simStats();
    assert.ok(
      foreground(stats) <= 3,
      `warm quote used ${foreground(stats)} requests: ${JSON.stringify(stats.byEndpoint)}`,
    );
    assert.equal(stats.status429, 0);
  });

  test('bulk conids: quoted straight from the snapshot, no contract lookups', async () => {
    await h.simControl('/sim/reset');
    const r = await h.callTool('get_quote', { conids: [265598, 272093, 756733, 999999999] });
    assert.equal(r.isError, false, r.text);
    assert.deepEqual(
      r.structured.quotes.map((q: { symbol: string }) => q.symbol),
      ['AAPL', 'MSFT', 'SPY'],
    );
    assert.equal(r.structured.errors[0].input, '999999999');
    const stats = await h.simStats();
    // Conids that answer cost no lookup; only the one that answered nothing is looked up once (a
    // derivative may need its underlying's search first: issue 13 item 9).
    assert.ok((stats.byEndpoint['GET /iserver/contract/:conid/info'] ?? 0) <= 1, JSON.stringify(stats.byEndpoint));
    assert.equal(stats.byEndpoint['GET /trsrv/stocks'] ?? 0, 0);
  });

  test('unknown symbol: isError with what to do; mixed list keeps the good ones', async () => {
    const r = await h.callTool('get_quote', { symbol: 'ZZZZQ' });
    assert.equal(r.isError, true);
    assert.match(r.text, /ZZZZQ/);
    assert.match(r.text, /search_contracts/);
    const mixed = await h.callTool('get_quote', { symbols: ['MSFT', 'ZZZZQ'] });
    assert.equal(mixed.isError, false);
    assert.equal(mixed.structured.quotes.length, 1);
    assert.equal(mixed.structured.errors[0].input, 'ZZZZQ');
  });

  test('bad input is an isError result, not a crash', async () => {
    const r = await h.callTool('get_quote', {});
    assert.equal(r.isError, true);
    assert.match(r.text, /symbol/);
    const bad = await h.callTool('get_quote', { symbol: '../etc/passwd' });
    assert.equal(bad.isError, true);
  });

  test('get_market_data: sets, names and IB codes all come back as named fields', async () => {
    const basic = await h.callTool('get_market_data', { symbol: 'MSFT', fields: 'basic' });
    assert.equal(basic.isError, false, basic.text);
    assert.equal(typeof basic.structured.values.last, 'number');
    assert.equal(basic.structured.availability, 'live');
    const codes = await h.callTool('get_market_data', { symbol: 'AAPL', fields: ['31', '84', '86', '87', '88'] });
    assert.equal(codes.isError, false, codes.text);
    const keys = Object.keys(codes.structured.values);
    assert.ok(keys.includes('last') && keys.includes('bid') && keys.includes('ask'), keys.join());
    assert.ok(!keys.some((k) => /^\d+$/.test(k)), 'no numeric codes in output');
    const fund = await h.callTool('get_market_data', { symbol: 'MSFT', fields: 'fundamentals' });
    assert.equal(fund.isError, false, fund.text);
    assert.equal(typeof fund.structured.values.companyName, 'string');
    const bad = await h.callTool('get_market_data', { symbol: 'MSFT', fields: ['31', 'bogus'] });
    assert.equal(bad.isError, true);
    assert.match(bad.text, /bogus/);
  });

  test('get_historical_data: compact rows, rules checked before any request', async () => {
    const r = await h.callTool('get_historical_data', { symbol: 'SPY', period: '1w', bar: '1d' });
    assert.equal(r.isError, false, r.text);
    assert.deepEqual(r.structured.columns, ['time', 'open', 'high', 'low', 'close', 'volume']);
    assert.ok(r.structured.rows.length >= 4 && r.structured.rows.length <= 7, `${r.structured.rows.length} daily bars`);
    for (const [, o, hi, lo, c] of r.structured.rows) assert.ok(lo <= Math.min(o, c) && hi >= Math.max(o, c));
    await h.simControl('/sim/reset');
    const bad = await h.callTool('get_historical_data', { symbol: 'SPY', period: '1y', bar: '1min' });
    assert.equal(bad.isError, true);
    assert.match(bad.text, /1y|bar/);
    const stats = await h.simStats();
    assert.equal(stats.byEndpoint['GET /iserver/marketdata/history'] ?? 0, 0, 'no history request for a bad pair');
  });

  test('search_contracts: a symbol listed in two countries, and index by secType', async () => {
    const r = await h.callTool('search_contracts', { query: 'SHOP' });
    assert.equal(r.isError, false, r.text);
    assert.ok(r.structured.matches.length >= 2, r.text);
    const idx = await h.callTool('get_quote', { symbol: 'SPX', secType: 'IND' });
    assert.equal(idx.isError, false, idx.text);
    assert.equal(idx.structured.quotes[0].conid, 416904);
  });

  test('ambiguous symbol: AMBIGUOUS with the candidates; exchange or currency picks one', async () => {
    const r = await h.callTool('get_quote', { symbol: 'RIO' });
    assert.equal(r.isError, true);
    assert.match(r.text, /AMBIGUOUS/);
    assert.match(r.text, /LSE/);
    assert.match(r.text, /IBIS/);
    const lse = await h.callTool('get_quote', { symbol: 'RIO', exchange: 'LSE' });
    assert.equal(lse.isError, false, lse.text);
    assert.equal(lse.structured.quotes[0].currency, 'GBP');
    const eur = await h.callTool('get_quote', { symbol: 'RIO', currency: 'EUR' });
    assert.equal(eur.isError, false, eur.text);
    assert.equal(eur.structured.quotes[0].exchange, 'IBIS');
  });

  test('not logged in: a clear NOT_AUTHENTICATED error, then recovery', async () => {
    await h.simControl('/sim/session', { authenticated: false });
    const r = await h.callTool('get_quote', { symbol: 'IBM' });
    assert.equal(r.isError, true);
    assert.match(r.text, /NOT_AUTHENTICATED/);
    await h.simControl('/sim/session', { authenticated: true });
    const ok = await h.callTool('get_quote', { symbol: 'IBM' });
    assert.equal(ok.isError, false, ok.text);
  });
});

describe('gateway that accepts connections but never answers', () => {
  test('reported as a timeout within the configured limit, not a hang', async () => {
    const h = await startServer({ args: ['--request-timeout-ms', '800'] });
    try {
      await h.simControl('/sim/faults', { hang: { endpoint: 'GET /trsrv/stocks', count: 100 } });
      await h.simControl('/sim/faults', { hang: { endpoint: 'GET /iserver/secdef/search', count: 100 } });
      await h.simControl('/sim/faults', { hang: { endpoint: 'POST /iserver/secdef/search', count: 100 } });
      const t0 = Date.now();
      const r = await h.callTool('get_quote', { symbol: 'ORCL' });
      const ms = Date.now() - t0;
      assert.equal(r.isError, true);
      assert.match(r.text, /GATEWAY_TIMEOUT/);
      assert.doesNotMatch(r.text, /NOT_AUTHENTICATED/);
      assert.match(r.text, /did not answer/);
      assert.ok(ms < 8000, `answered in ${ms} ms`);
    } finally {
      await h.close();
    }
  });
});

describe('--backend sim: the embedded simulator', () => {
  test('works with no IB settings and says SIMULATED', async () => {
    const h = await startServer({ sim: false });
    try {
      assert.match(h.client.getInstructions() ?? '', /SIMULATED/);
      const r = await h.callTool('get_quote', { symbols: ['AAPL', 'SPY'] });
      assert.equal(r.isError, false, r.text);
      assert.equal(r.structured.quotes.length, 2);
    } finally {
      await h.close();
    }
  });

  test('the process exits when stdin closes and logs only to stderr', async () => {
    const child = spawn(process.execPath, [CLI, '--backend', 'sim'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    await new Promise((r) => setTimeout(r, 1500));
    child.stdin.end();
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    assert.equal(code, 0);
    assert.equal(stdout, '', 'nothing on stdout but protocol messages');
    assert.match(stderr, /ibkr-mcp started/);
    assert.match(stderr, /SIMULATED/);
  });
});
