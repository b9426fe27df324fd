/**
 * HTTP transport hardening, over raw sockets against the real transport (in process):
 * - refused requests close their connection, slow headers and slow bodies time out, and one
 *   client address cannot hold more than its share of connections (issue 11, item 14);
 * - the Origin check is exact (scheme, host and port) and a session belongs to the client that
 *   opened it (issue 11, item 16; the token-entropy rule for network binds is in test/unit).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { loadConfig } from '../../src/config/index.js';
import { silentLogger } from '../../src/log.js';
import { type HttpServer, startHttp } from '../../src/mcp/http.js';
import { createApp } from '../../src/runtime.js';

const TOKEN = randomBytes(32).toString('base64url');
const INIT = JSON.stringify({
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
});
const LIST = JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list', params: {} });

let server: HttpServer;
let home: string;
let port: number;

before(async () => {
  home = mkdtempSync(join(tmpdir(), 'ibkr-harden-'));
  const { config } = loadConfig(
    [
      '--backend',
      'sim',
      '--transport',
      'http',
      '--port',
      '0',
      '--home',
      home,
      '--allowed-origins',
      'http://localhost:6274',
    ],
    { IBKR_MCP_TOKEN: TOKEN } as NodeJS.ProcessEnv,
  );
  const app = await createApp(config, silentLogger);
  server = await startHttp(app, {
    announce: false,
    headersTimeoutMs: 1000,
    bodyTimeoutMs: 1000,
    maxConnectionsPerClient: 6,
  });
  port = Number(new URL(server.url).port);
});
after(async () => {
  await server?.close();
  rmSync(home, { recursive: true, force: true });
});

interface Raw {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** One request on a fresh socket (optionally from another loopback address); the socket is closed after. */
function raw(
  method: string,
  headers: Record<string, string>,
  body = '',
  from?: string,
  path = '/mcp',
): Promise<Raw & { closed: boolean }> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port, localAddress: from });
    let buf = '';
    const lines = [
      `${method} ${path} HTTP/1.1`,
      `Host: 127.0.0.1:${port}`,
      ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
      `Content-Length: ${Buffer.byteLength(body)}`,
      '',
      '',
    ];
    s.on('connect', () => s.write(lines.join('\r\n') + body));
    s.on('data', (d) => {
      buf += d.toString();
      const parsed = parse(buf);
      if (parsed) {
        s.destroy();
        resolve({ ...parsed, closed: false });
      }
    });
    s.on('error', reject);
    s.on('close', () => {
      const parsed = parse(buf);
      if (parsed) resolve({ ...parsed, closed: true });
      else reject(new Error(`connection closed without a full answer: ${JSON.stringify(buf.slice(0, 200))}`));
    });
  });
}

function parse(text: string): Raw | undefined {
  const end = text.indexOf('\r\n\r\n');
  if (end < 0) return undefined;
  const [status, ...rest] = text.slice(0, end).split('\r\n');
  const headers: Record<string, string> = {};
  for (const l of rest) {
    const i = l.indexOf(':');
    headers[l.slice(0, i).toLowerCase()] = l.slice(i + 1).trim();
  }
  const body = text.slice(end + 4);
  const len = headers['content-length'];
  if (len !== undefined && Buffer.byteLength(body) < Number(len)) return undefined;
  if (len === undefined && headers['content-type']?.includes('event-stream') && !/\n\n/.test(body)) return undefined;
  return { status: Number(status!.split(' ')[1]), headers, body };
}

const MCP = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
const auth = { authorization: `Bearer ${TOKEN}` };

/** Opens a socket and sends `head`, then one byte of body every `everyMs`; resolves with what happened. */
function trickle(
  head: string,
  everyMs: number,
  maxMs: number,
): Promise<{ closedAfterMs: number | undefined; answer: string }> {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const s: Socket = connect({ host: '127.0.0.1', port });
    let answer = '';
    let timer: NodeJS.Timeout | undefined;
    const done = (closedAfterMs: number | undefined) => {
      clearInterval(timer);
      clearTimeout(stop);
      s.destroy();
      resolve({ closedAfterMs, answer });
    };
    const stop = setTimeout(() => done(undefined), maxMs);
    s.on('connect', () => {
      s.write(head);
      timer = setInterval(() => {
        if (!s.destroyed && s.writable) s.write('x');
      }, everyMs);
    });
    s.on('data', (d) => {
      answer += d.toString();
    });
    s.on('error', () => {});
    s.on('close', () => done(Date.now() - t0));
  });
}

const postHead = (headers: Record<string, string>, length: number) =>
  [
    'POST /mcp HTTP/1.1',
    `Host: 127.0.0.1:${port}`,
    ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
    `Content-Length: ${length}`,
    '',
    '',
  ].join('\r\n');

describe('slow clients (item 14)', () => {
  test('a refusal (401) closes the connection instead of draining a trickled body', async () => {
    const r = await trickle(postHead({ ...MCP, authorization: 'Bearer wrong' }, 100_000), 100, 5000);
    assert.match(r.answer, /^HTTP\/1\.1 401/);
    assert.match(r.answer, /connection: close/i);
    assert.ok(r.closedAfterMs !== undefined && r.closedAfterMs < 2000, `closed after ${r.closedAfterMs} ms`);
  });

  test('a refusal (403 foreign Origin) closes the connection too', async () => {
    const r = await trickle(postHead({ ...MCP, ...auth, origin: 'https://evil.example' }, 100_000), 100, 5000);
    assert.match(r.answer, /^HTTP\/1\.1 403/);
    assert.ok(r.closedAfterMs !== undefined && r.closedAfterMs < 2000, `closed after ${r.closedAfterMs} ms`);
  });

  test('an authorised but trickled body times out and the connection is closed', async () => {
    const r = await trickle(postHead({ ...MCP, ...auth }, 100_000), 100, 8000);
    assert.ok(r.closedAfterMs !== undefined && r.closedAfterMs < 4000, `closed after ${r.closedAfterMs} ms`);
    assert.match(r.answer, /^HTTP\/1\.1 408/);
  });

  test('trickled headers time out', async () => {
    const t0 = Date.now();
    const closedAfter = await new Promise<number>((resolve) => {
      const s = connect({ host: '127.0.0.1', port });
      s.on('connect', () => s.write('POST /mcp HTTP/1.1\r\n'));
      const t = setInterval(() => s.writable && s.write('X-Slow: y\r\n'), 100);
      s.on('error', () => {});
      s.on('close', () => {
        clearInterval(t);
        resolve(Date.now() - t0);
      });
      setTimeout(() => s.destroy(), 10_000).unref();
    });
    assert.ok(closedAfter < 5000, `closed after ${closedAfter} ms`);
  });

  test('one client address holds at most its share of connections; others are still served', async () => {
    const held: Socket[] = [];
    const closed: number[] = [];
    for (let i = 0; i < 10; i++) {
      const s = connect({ host: '127.0.0.1', port, localAddress: '127.0.0.3' });
      s.on('error', () => {});
      s.on('close', () => closed.push(i));
      held.push(s);
      await new Promise((r) => s.once('connect', r));
    }
    await new Promise((r) => setTimeout(r, 300));
    try {
      assert.equal(closed.length, 4, `closed at once: ${closed.join(',')}`);
      const other = await raw('GET', {}, '', '127.0.0.4', '/healthz');
      assert.equal(other.status, 200, 'another address is served');
    } finally {
      for (const s of held) s.destroy();
    }
    await new Promise((r) => setTimeout(r, 200));
    const again = await raw('GET', {}, '', '127.0.0.3', '/healthz');
    assert.equal(again.status, 200, 'freed slots are usable again');
  });
});

describe('origin, token and sessions (item 16)', () => {
  test('Origin must match scheme, host and port exactly', async () => {
    for (const origin of [
      'http://localhost:3000',
      `http://localhost:${port + 1}`,
      `https://127.0.0.1:${port}`,
      'http://localhost',
      `http://127.0.0.1.evil.example:${port}`,
    ]) {
      const r = await raw('POST', { ...MCP, ...auth, origin }, INIT);
      assert.equal(r.status, 403, `Origin ${origin} must be refused`);
    }
    for (const origin of [`http://127.0.0.1:${port}`, `http://localhost:${port}`, 'http://localhost:6274']) {
      const r = await raw('POST', { ...MCP, ...auth, origin }, INIT);
      assert.equal(r.status, 200, `Origin ${origin} is the server's own (or listed)`);
      assert.equal(r.headers['access-control-allow-origin'], origin);
    }
  });

  test('a session belongs to the client that opened it: another client gets 404, also for DELETE', async () => {
    const init = await raw('POST', { ...MCP, ...auth }, INIT, '127.0.0.1');
    assert.equal(init.status, 200);
    const sid = init.headers['mcp-session-id'];
    assert.ok(sid);
    const withSession = { ...MCP, ...auth, 'mcp-session-id': sid, 'mcp-protocol-version': '2025-11-25' };
    await raw(
      'POST',
      withSession,
      JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }),
      '127.0.0.1',
    );
    const stranger = await raw('POST', withSession, LIST, '127.0.0.2');
    assert.equal(stranger.status, 404, 'another client cannot use the session');
    const kill = await raw('DELETE', withSession, '', '127.0.0.2');
    assert.equal(kill.status, 404, 'another client cannot end the session');
    const owner = await raw('POST', withSession, LIST, '127.0.0.1');
    assert.equal(owner.status, 200, 'the session is still there for its owner');
    assert.match(owner.body, /get_quote/);
    const end = await raw('DELETE', withSession, '', '127.0.0.1');
    assert.equal(end.status, 200);
  });
});
