/** The managed gateway's port and the headless browser's discovery (pure: no sockets, no children). */
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadConfig } from '../../src/config/index.js';
import { browsersDir, findChromium, installedChromium } from '../../src/gateway/chromium.js';
import { chooseManagedPort, gatewayEndpoints, wantsManagedGateway } from '../../src/gateway/index.js';
import { sleep } from '../../src/gateway/login-browser.js';

const env = (extra: Record<string, string> = {}) => ({ HOME: '/tmp/x', ...extra });

test('--gateway-port / IB_GATEWAY_PORT alone set the managed gateway port; a host or URL names your own', () => {
  for (const c of [
    loadConfig(['--gateway-port', '5123'], env()).config,
    loadConfig([], env({ IB_GATEWAY_PORT: '5123' })).config,
  ]) {
    assert.equal(c.backend, 'gateway');
    assert.equal(wantsManagedGateway(c), true, 'still a gateway ibkr-mcp runs');
    assert.equal(c.gatewayPortExplicit, true);
    const ep = gatewayEndpoints(c, c.gatewayUrl, false);
    assert.deepEqual([ep.managed, ep.port, ep.loginUrl], [true, 5123, 'https://localhost:5123']);
  }
  const own = loadConfig(['--gateway-host', 'localhost', '--gateway-port', '5123'], env()).config;
  assert.equal(wantsManagedGateway(own), false);
  assert.equal(own.gatewayUrl, 'https://localhost:5123');
  const url = loadConfig([], env({ IB_GATEWAY_URL: 'https://localhost:5000' })).config;
  assert.equal(wantsManagedGateway(url), false);
  const one = loadConfig([], env({ IB_BACKEND: 'gateway' })).config;
  assert.equal(wantsManagedGateway(one), true, 'IB_BACKEND=gateway alone: the managed gateway');
  assert.equal(one.gatewayPortExplicit, false);
  const orig = loadConfig([], env({ IB_USERNAME: 'u', IB_HEADLESS_MODE: 'true' })).config;
  assert.equal(orig.backend, 'gateway');
  assert.equal(wantsManagedGateway(orig), true, "the original's login variables: the managed gateway");
});

test('a busy default port: the first free spare port; a port the user chose is kept', async () => {
  const busy = new Set([5000, 5001]);
  const isFree = async (p: number) => !busy.has(p);
  const dflt = loadConfig([], env({ IB_BACKEND: 'gateway' })).config;
  assert.deepEqual(await chooseManagedPort(dflt, isFree), { port: 5002, busy: 5000 });
  assert.deepEqual(await chooseManagedPort(dflt, async () => true), { port: 5000 });
  const chosen = loadConfig(['--gateway-port', '5001'], env()).config;
  assert.deepEqual(await chooseManagedPort(chosen, isFree), { port: 5001 }, 'an explicit port is not replaced');
});

test('headless browser: the configured one, the PATH, the platform places, then the cache', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ibkr-mcp-chromium-'));
  try {
    const cache = join(dir, 'cache');
    assert.equal(findChromium(undefined, { PATH: join(dir, 'none') }, { cacheDir: cache, platform: 'aix' }), undefined);
    const exe = join(browsersDir(cache), 'chromium_headless_shell-1255', 'chrome-headless-shell-linux64');
    mkdirSync(exe, { recursive: true });
    writeFileSync(join(exe, 'chrome-headless-shell'), '');
    assert.equal(installedChromium(browsersDir(cache), 'linux'), join(exe, 'chrome-headless-shell'));
    assert.equal(
      findChromium(undefined, { PATH: join(dir, 'none') }, { cacheDir: cache, platform: 'aix' }),
      join(exe, 'chrome-headless-shell'),
    );
    const bin = join(dir, 'bin');
    mkdirSync(bin);
    writeFileSync(join(bin, 'microsoft-edge'), '');
    chmodSync(join(bin, 'microsoft-edge'), 0o755);
    assert.equal(
      findChromium(undefined, { PATH: bin }, { cacheDir: cache, platform: 'aix' }),
      join(bin, 'microsoft-edge'),
    );
    assert.equal(findChromium(join(dir, 'missing'), { PATH: bin }), undefined, 'a configured path is not replaced');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the login poll leaves no abort listener behind (no MaxListenersExceededWarning)', async () => {
  const ac = new AbortController();
  let added = 0;
  let removed = 0;
  const add = ac.signal.addEventListener.bind(ac.signal);
  const remove = ac.signal.removeEventListener.bind(ac.signal);
  ac.signal.addEventListener = ((...a: Parameters<typeof add>) => {
    added += 1;
    return add(...a);
  }) as typeof add;
  ac.signal.removeEventListener = ((...a: Parameters<typeof remove>) => {
    removed += 1;
    return remove(...a);
  }) as typeof remove;
  for (let i = 0; i < 20; i++) await sleep(0, ac.signal);
  assert.equal(added, 20);
  assert.equal(removed, 20, 'every poll removes its listener');
});
