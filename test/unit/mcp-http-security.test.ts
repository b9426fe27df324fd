import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config/index.js';
import {
  allowedHostnames,
  checkBindSafety,
  isLoopback,
  loadOrCreateToken,
  MIN_TOKEN_LENGTH,
  TOKEN_FILE,
} from '../../src/mcp/http.js';

/** A random token: network binds need real entropy, not just length. */
const STRONG = randomBytes(32).toString('hex');

test('loopback detection', () => {
  for (const h of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]', 'LOCALHOST']) assert.ok(isLoopback(h), h);
  for (const h of ['0.0.0.0', '::', '192.168.1.10', 'example.com', '128.0.0.1']) assert.ok(!isLoopback(h), h);
});

test('HTTP options: loopback port 8765 by default; flags and env', () => {
  const env = { HOME: '/tmp/h' } as NodeJS.ProcessEnv;
  const d = loadConfig([], env).config;
  assert.equal(d.transport, 'stdio');
  assert.equal(d.host, '127.0.0.1');
  assert.equal(d.port, 8765);
  assert.equal(d.insecureHttp, false);
  const c = loadConfig(['--transport', 'http', '--port', '0', '--allowed-hosts', 'box.lan,10.0.0.5'], {
    ...env,
    IBKR_MCP_TOKEN: STRONG,
  }).config;
  assert.equal(c.transport, 'http');
  assert.equal(c.port, 0);
  assert.equal(c.token, STRONG);
  assert.deepEqual(c.allowedHosts, ['box.lan', '10.0.0.5']);
});

test('loopback binds need nothing more; a too-short configured token is refused', () => {
  checkBindSafety({ host: '127.0.0.1', insecureHttp: false }, { value: STRONG, source: 'generated' });
  assert.throws(
    () => checkBindSafety({ host: '127.0.0.1', insecureHttp: false }, { value: 'short', source: 'config' }),
    (e: unknown) => e instanceof ConfigError && /too short/.test(e.message),
  );
});

test('a non-loopback bind without a chosen token refuses to start', () => {
  assert.throws(
    () => checkBindSafety({ host: '0.0.0.0', insecureHttp: true }, { value: undefined, source: 'none' }),
    (e: unknown) => e instanceof ConfigError && /without a bearer token/.test(e.message),
  );
});

test('a non-loopback bind without TLS or --insecure-http refuses to start', () => {
  assert.throws(
    () => checkBindSafety({ host: '192.168.1.10', insecureHttp: false }, { value: STRONG, source: 'config' }),
    (e: unknown) => e instanceof ConfigError && /plain HTTP/.test(e.message),
  );
  checkBindSafety({ host: '192.168.1.10', insecureHttp: true }, { value: STRONG, source: 'config' });
  checkBindSafety(
    { host: '0.0.0.0', insecureHttp: false, tlsCert: '/c.pem', tlsKey: '/k.pem' },
    { value: STRONG, source: 'file' },
  );
  assert.throws(
    () =>
      checkBindSafety({ host: '127.0.0.1', insecureHttp: false, tlsCert: '/c.pem' }, { value: STRONG, source: 'file' }),
    /go together/,
  );
});

test('token: generated once, 0600 in the state directory, reused; the env token wins; none generated for remote binds', () => {
  const home = mkdtempSync(join(tmpdir(), 'ibkr-http-'));
  try {
    assert.deepEqual(loadOrCreateToken({ home }, false), { value: undefined, source: 'none' });
    const first = loadOrCreateToken({ home });
    assert.equal(first.source, 'generated');
    assert.ok(first.value!.length >= MIN_TOKEN_LENGTH);
    const path = join(home, TOKEN_FILE);
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.equal(readFileSync(path, 'utf8').trim(), first.value);
    const again = loadOrCreateToken({ home });
    assert.deepEqual(again, { value: first.value, source: 'file', path });
    assert.equal(loadOrCreateToken({ home }, false).source, 'file');
    assert.deepEqual(loadOrCreateToken({ home, token: STRONG }), { value: STRONG, source: 'config' });
    writeFileSync(path, 'weak\n', { mode: 0o644 });
    chmodSync(path, 0o644);
    assert.equal(loadOrCreateToken({ home }).source, 'generated', 'a weak stored token is replaced');
    assert.equal(statSync(path).mode & 0o777, 0o600, 'and the file is owner-only again');
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
});

test('allowed host names: loopback always, the bound address, extra names; wildcard binds add the machine', () => {
  assert.deepEqual(allowedHostnames({ host: '127.0.0.1', allowedHosts: [] }), ['localhost', '127.0.0.1', '[::1]']);
  const lan = allowedHostnames({ host: '192.168.1.10', allowedHosts: ['Box.LAN', 'fe80::1'] });
  assert.ok(lan.includes('192.168.1.10'));
  assert.ok(lan.includes('box.lan'));
  assert.ok(lan.includes('[fe80::1]'));
  assert.ok(!lan.includes('evil.example'));
  const any = allowedHostnames({ host: '0.0.0.0', allowedHosts: [] });
  assert.ok(any.includes('127.0.0.1'));
  assert.ok(any.length > 3, 'interfaces and host name added');
});
