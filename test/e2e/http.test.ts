/**
 * Streamable HTTP end to end: the built server over real HTTP, real MCP clients of both
 * protocol eras, and every refusal (token, Host, Origin, size) checked against the
 * simulator's request count: a refused request never reaches IB.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { after, before, test } from 'node:test';
import { type HttpHarness, runCli, startHttpServer } from './http-harness.js';

let h: HttpHarness;

before(async () => {
  h = await startHttpServer();
});
after(async () => {
  await h?.close();
});

interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A raw HTTP request with full control of Host and every other header. */
function raw(
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: string | Buffer,
): Promise<RawResponse> {
  const u = new URL(h.url);
  return new Promise((resolve, reject) => {
    const req = request(
      { host: u.hostname, port: u.port, method, path, headers: { host: u.host, ...headers } },
      (res) => {
        let text = '';
        res.on('data', (d: Buffer) => {
          text += d.toString();
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
        res.on('error', reject);
      },
    );
    // The server may answer (413) and close before the whole body is sent.
    // A reset with no answer after it fails the test instead of hanging it.
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE' && err.code !== 'ECONNRESET') return reject(err);
      setTimeout(() => reject(new Error(`${method} ${path}: ${err.code} and no answer`)), 2000).unref();
    });
    if (body !== undefined) req.end(body);
    else req.end();
  });
}

const INIT = JSON.stringify({
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
});
const CALL = JSON.stringify({
  jsonrpc: '2.0',
  id: 2,
  method: 'tools/call',
  params: { name: 'get_quote', arguments: { symbol: 'AAPL' } },
});
const MCP_HEADERS = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
const auth = () => ({ authorization: `Bearer ${h.token}` });

test('/healthz says only that the server is up, without a token', async () => {
  const r = await raw('GET', '/healthz');
  assert.equal(r.status, 200);
  assert.deepEqual(JSON.parse(r.body), { status: 'ok' });
  assert.equal((await raw('GET', '/nope', auth())).status, 404);
});

test('refusals: no token, wrong token, forged Host, foreign Origin, oversized body; none reaches IB', async () => {
  const before = await h.simTotal();

  const none = await raw('POST', '/mcp', MCP_HEADERS, CALL);
  assert.equal(none.status, 401);
  assert.match(String(none.headers['www-authenticate']), /^Bearer/);

  const wrong = await raw(
    'POST',
    '/mcp',
    { ...MCP_HEADERS, authorization: `Bearer ${'x'.repeat(h.token.length)}` },
    CALL,
  );
  assert.equal(wrong.status, 401);
  const notBearer = await raw('POST', '/mcp', { ...MCP_HEADERS, authorization: `Basic ${h.token}` }, CALL);
  assert.equal(notBearer.status, 401);

  const forgedHost = await raw('POST', '/mcp', { ...MCP_HEADERS, ...auth(), host: 'attacker.example:8765' }, INIT);
  assert.equal(forgedHost.status, 403);
  const rebound = await raw('POST', '/mcp', { ...MCP_HEADERS, ...auth(), host: 'evil.com' }, CALL);
  assert.equal(rebound.status, 403);

  const foreign = await raw('POST', '/mcp', { ...MCP_HEADERS, ...auth(), origin: 'https://evil.example' }, INIT);
  assert.equal(foreign.status, 403);
  assert.equal(foreign.headers['access-control-allow-origin'], undefined, 'no CORS for a foreign origin');
  const nullOrigin = await raw('POST', '/mcp', { ...MCP_HEADERS, ...auth(), origin: 'null' }, INIT);
  assert.equal(nullOrigin.status, 403);
  const preflight = await raw('OPTIONS', '/mcp', {
    origin: 'https://evil.example',
    'access-control-request-method': 'POST',
  });
  assert.equal(preflight.status, 403);

  const big = Buffer.alloc(2 * 1024 * 1024, 0x20);
  const declared = await raw('POST', '/mcp', { ...MCP_HEADERS, ...auth(), 'content-length': String(big.length) }, big);
  assert.equal(declared.status, 413);
  const chunked = await raw('POST', '/mcp', { ...MCP_HEADERS, ...auth(), 'transfer-encoding': 'chunked' }, big);
  assert.equal(chunked.status, 413);

  assert.equal(await h.simTotal(), before, 'no request reached the gateway');
});

test('the server own Origin is served, with CORS for that origin only', async () => {
  const own = `http://localhost:${new URL(h.url).port}`;
  const r = await raw('POST', '/mcp', { ...MCP_HEADERS, ...auth(), origin: own }, INIT);
  assert.equal(r.status, 200);
  assert.equal(r.headers['access-control-allow-origin'], own);
  const otherApp = await raw('POST', '/mcp', { ...MCP_HEADERS, ...auth(), origin: 'http://localhost:6274' }, INIT);
  assert.equal(otherApp.status, 403, 'another local web app (another port) is refused');
  const plain = await raw('POST', '/mcp', { ...MCP_HEADERS, ...auth() }, INIT);
  assert.equal(plain.status, 200);
  assert.equal(plain.headers['access-control-allow-origin'], undefined);
});

test('a 2025-era client works over a session', async () => {
  const client = await h.connect('legacy');
  assert.equal(client.getNegotiatedProtocolVersion?.() ?? '2025-11-25', '2025-11-25');
  const tools = await client.listTools();
  assert.ok(tools.tools.some((t) => t.name === 'get_quote'));
  const r = await client.callTool({ name: 'get_quote', arguments: { symbol: 'AAPL' } });
  assert.notEqual(r.isError, true);
  assert.match((r.content as Array<{ text: string }>)[0]!.text, /^\[(PAPER|SIMULATED)\] AAPL: \d/);
  assert.equal((r.structuredContent as { quotes: Array<{ symbol: string }> }).quotes[0]!.symbol, 'AAPL');
});

test('a client of the current protocol (2026-07-28) works', async () => {
  const client = await h.connect('modern');
  assert.equal(client.getNegotiatedProtocolVersion?.(), '2026-07-28');
  const tools = await client.listTools();
  assert.ok(tools.tools.some((t) => t.name === 'get_quote'));
  const r = await client.callTool({ name: 'get_quote', arguments: { symbols: ['MSFT', 'AAPL'] } });
  assert.notEqual(r.isError, true);
  assert.equal((r.structuredContent as { quotes: unknown[] }).quotes.length, 2);
});

test('2026-07-28 list results say how long to cache them; 2025-era results carry no cache fields', async () => {
  type Cacheable = { ttlMs?: number; cacheScope?: string };
  const lists = async (era: 'legacy' | 'modern') => {
    const c = await h.connect(era);
    return [c.listTools(), c.listPrompts(), c.listResources(), c.listResourceTemplates()].map((p) =>
      p.then((r) => [(r as Cacheable).ttlMs, (r as Cacheable).cacheScope]),
    );
  };
  assert.deepEqual(await Promise.all(await lists('modern')), [
    [300_000, 'private'],
    [300_000, 'private'],
    [60_000, 'private'],
    [300_000, 'private'],
  ]);
  for (const hint of await Promise.all(await lists('legacy'))) assert.deepEqual(hint, [undefined, undefined]);
});

test('sessions: the id is issued on initialize, required afterwards, unknown ids are 404, DELETE ends one', async () => {
  const init = await raw('POST', '/mcp', { ...MCP_HEADERS, ...auth() }, INIT);
  assert.equal(init.status, 200);
  const sid = String(init.headers['mcp-session-id'] ?? '');
  assert.match(sid, /^[0-9a-f-]{36}$/);
  const withSession = { ...MCP_HEADERS, ...auth(), 'mcp-session-id': sid, 'mcp-protocol-version': '2025-11-25' };
  await raw('POST', '/mcp', withSession, JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }));
  const call = await raw('POST', '/mcp', withSession, CALL);
  assert.equal(call.status, 200);
  assert.match(call.body, /AAPL: \d/);
  const noSession = await raw('POST', '/mcp', { ...MCP_HEADERS, ...auth() }, CALL);
  assert.equal(noSession.status, 400);
  const unknown = await raw(
    'POST',
    '/mcp',
    { ...withSession, 'mcp-session-id': '00000000-0000-0000-0000-000000000000' },
    CALL,
  );
  assert.equal(unknown.status, 404);
  const del = await raw('DELETE', '/mcp', withSession);
  assert.equal(del.status, 200);
  assert.equal((await raw('POST', '/mcp', withSession, CALL)).status, 404);
});

test('several clients at once share one backend and its pacing', async () => {
  const a = await h.connect('legacy');
  const b = await h.connect('modern');
  const c = await h.connect('legacy');
  const results = await Promise.all(
    [a, b, c].flatMap((cl) =>
      ['AAPL', 'MSFT', 'SPY'].map((symbol) => cl.callTool({ name: 'get_quote', arguments: { symbol } })),
    ),
  );
  assert.ok(results.every((r) => r.isError !== true));
  const stats = (await (await import('./harness.js')).simRequest(h.sim!, '/sim/stats')) as { status429: number };
  assert.equal(stats.status429, 0, 'the shared pacer kept every client within IB limits');
});

test('resources and prompts are listed over HTTP; the quote template reads', async () => {
  const client = await h.connect('legacy');
  const templates = await client.listResourceTemplates();
  assert.ok(templates.resourceTemplates.some((t) => t.uriTemplate === 'ibkr://quote/{symbol}'));
  const read = await client.readResource({ uri: 'ibkr://quote/AAPL' });
  const q = JSON.parse((read.contents[0] as { text: string }).text);
  assert.equal(q.symbol, 'AAPL');
  assert.equal(typeof q.last, 'number');
  const prompts = await client.listPrompts();
  assert.ok(prompts.prompts.some((p) => p.name === 'pre_trade_checklist'));
});

test('start-up refusals: non-loopback without TLS, without a chosen token, with a weak token', async () => {
  const strong = randomBytes(32).toString('hex');
  const plain = await runCli(['serve', '--transport', 'http', '--host', '0.0.0.0', '--backend', 'sim', '--port', '0'], {
    IBKR_MCP_TOKEN: strong,
  });
  assert.equal(plain.code, 2);
  assert.match(plain.stderr, /Refusing to serve plain HTTP on the non-loopback address 0\.0\.0\.0/);
  const noToken = await runCli([
    'serve',
    '--transport',
    'http',
    '--host',
    '0.0.0.0',
    '--insecure-http',
    '--backend',
    'sim',
    '--port',
    '0',
  ]);
  assert.equal(noToken.code, 2);
  assert.match(noToken.stderr, /without a bearer token/);
  const weak = await runCli(['serve', '--transport', 'http', '--backend', 'sim', '--port', '0'], {
    IBKR_MCP_TOKEN: 'short',
  });
  assert.equal(weak.code, 2);
  assert.match(weak.stderr, /too short/);
  assert.ok(!weak.stderr.includes(strong));
});
