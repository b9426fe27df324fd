/**
 * The MCP Inspector CLI (a real, independent MCP client) against the built server: it lists
 * the tools and calls get_quote on the simulator, over stdio and over Streamable HTTP, in
 * both protocol eras over HTTP.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { CLI } from './harness.js';
import { type HttpHarness, startHttpServer } from './http-harness.js';

const INSPECTOR = resolve(import.meta.dirname, '../../node_modules/.bin/mcp-inspector');

// biome-ignore lint/suspicious/noExplicitAny: inspector JSON output
type Json = any;

function inspector(args: string[]): Promise<{ code: number; json: Json; stderr: string }> {
  return new Promise((done) => {
    execFile(INSPECTOR, ['--cli', ...args, '--format', 'json'], { timeout: 60_000 }, (err, stdout, stderr) => {
      let json: Json;
      try {
        json = JSON.parse(stdout);
      } catch {
        json = undefined;
      }
      done({ code: err ? ((err as { code?: number }).code ?? 1) : 0, json, stderr });
    });
  });
}

let home: string;
let http: HttpHarness;

before(async () => {
  home = mkdtempSync(join(tmpdir(), 'ibkr-inspector-'));
  http = await startHttpServer({ sim: false });
});
after(async () => {
  await http?.close();
  rmSync(home, { recursive: true, force: true });
});

// The inspector takes --log-level for itself, so server settings go through -e.
const stdioServer = () => [
  '-e',
  'IBKR_MCP_LOG_LEVEL=warn',
  '-e',
  `IBKR_MCP_HOME=${home}`,
  process.execPath,
  CLI,
  'serve',
  '--backend',
  'sim',
];

test('inspector over stdio lists the tools', async () => {
  const r = await inspector([...stdioServer(), '--method', 'tools/list']);
  assert.equal(r.code, 0, r.stderr);
  const names = r.json.result.tools.map((t: Json) => t.name);
  for (const n of ['get_quote', 'get_market_data', 'get_historical_data', 'search_contracts', 'enable_toolset']) {
    assert.ok(names.includes(n), `${n} listed`);
  }
});

test('inspector --strict finds no schema-portability problem in any tool set', async () => {
  const r = await inspector([...stdioServer(), '--toolsets', 'all', '--method', 'tools/list', '--strict']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr.trim(), '', 'no strict findings');
});

test('inspector over stdio calls get_quote on the simulator', async () => {
  const r = await inspector([
    ...stdioServer(),
    '--method',
    'tools/call',
    '--tool-name',
    'get_quote',
    '--tool-arg',
    'symbol=AAPL',
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.json.result.content[0].text, /^\[(PAPER|SIMULATED)\] AAPL: \d/);
  assert.equal(r.json.result.structuredContent.quotes[0].symbol, 'AAPL');
});

test('inspector over stdio: an unknown symbol is a tool error (exit 5)', async () => {
  const r = await inspector([
    ...stdioServer(),
    '--method',
    'tools/call',
    '--tool-name',
    'get_quote',
    '--tool-args-json',
    '{"symbol":"NOPEX"}',
  ]);
  assert.equal(r.code, 5);
});

for (const era of ['legacy', 'modern'] as const) {
  test(`inspector over HTTP (${era} era) lists tools and calls get_quote`, async () => {
    const common = [http.url, '--header', `Authorization: Bearer ${http.token}`, '--protocol-era', era];
    const list = await inspector([...common, '--method', 'tools/list']);
    assert.equal(list.code, 0, list.stderr);
    assert.ok(list.json.result.tools.some((t: Json) => t.name === 'get_quote'));
    const call = await inspector([
      ...common,
      '--method',
      'tools/call',
      '--tool-name',
      'get_quote',
      '--tool-arg',
      'symbol=MSFT',
    ]);
    assert.equal(call.code, 0, call.stderr);
    assert.match(call.json.result.content[0].text, /^\[(PAPER|SIMULATED)\] MSFT: \d/);
  });
}

test('inspector over HTTP without the token is refused (auth required)', async () => {
  const r = await inspector([http.url, '--method', 'tools/list']);
  assert.equal(r.code, 3, 'exit 3: auth required');
  assert.match(r.stderr, /auth/i);
});
