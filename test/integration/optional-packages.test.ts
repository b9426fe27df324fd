/**
 * Optional packages installed on first use (src/gateway/npm-package.ts), with a fake npm: the
 * install lands in the cache only when every package's integrity is the pinned one; a failed
 * install says how to install by hand; headless login and the chart tool turn a missing package
 * into an answer that says what to do instead, not a stack trace.
 */
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { loadConfig } from '../../src/config/index.js';
import { headlessLogin } from '../../src/gateway/login-headless.js';
import {
  ensurePackage,
  findPackage,
  OPTIONAL_PACKAGES,
  packageRoot,
  packagesDir,
} from '../../src/gateway/npm-package.js';
import type { LoginContext } from '../../src/gateway/session-types.js';
import { silentLogger } from '../../src/log.js';
import { errorResult } from '../../src/mcp/errors.js';
import { createApp } from '../../src/runtime.js';
import { ALL_TOOLS, type ToolContext } from '../../src/tools/index.js';

const dir = mkdtempSync(join(tmpdir(), 'ibkr-mcp-optional-'));
after(() => rmSync(dir, { recursive: true, force: true }));
/** A place from which Node resolves none of our packages. */
const nowhere = join(dir, 'nowhere', 'package.json');

/** A fake npm that "installs" playwright-core with the given integrity (or fails with `fail`). */
function fakeNpm(name: string, opts: { integrity?: string; fail?: string } = {}): string {
  const path = join(dir, `npm-${name}`);
  const pkg = 'playwright-core';
  const lock = JSON.stringify({
    packages: { '': {}, [`node_modules/${pkg}`]: { version: '1.65.1', integrity: opts.integrity } },
  });
  const body = opts.fail
    ? `echo "${opts.fail}" >&2; exit 1`
    : `[ "$1" = "install" ] || exit 9
env > env.txt
mkdir -p node_modules/${pkg}
echo '{"name":"${pkg}","version":"1.65.1","main":"index.js"}' > node_modules/${pkg}/package.json
echo 'module.exports = { fake: true };' > node_modules/${pkg}/index.js
echo '${lock}' > package-lock.json`;
  writeFileSync(path, `#!/bin/sh\n${body}\n`);
  chmodSync(path, 0o755);
  return path;
}

test('a pinned package is installed into the cache once, with its integrity checked', async () => {
  const cache = join(dir, 'cache-ok');
  const lines: string[] = [];
  process.env['IB_PASSWORD_AUTH'] = 'hunter2-secret';
  try {
    const found = await ensurePackage('playwright-core', {
      cacheDir: cache,
      command: [fakeNpm('ok', { integrity: OPTIONAL_PACKAGES['playwright-core'].integrity['playwright-core'] })],
      from: nowhere,
      progress: (l) => lines.push(l),
    });
    assert.equal(found.dir, join(packageRoot(cache, 'playwright-core'), 'node_modules', 'playwright-core'));
  } finally {
    delete process.env['IB_PASSWORD_AUTH'];
  }
  assert.match(lines.join('\n'), /Installing playwright-core@1\.65\.1 .*\n.*Installed/);
  const { readFileSync } = await import('node:fs');
  assert.doesNotMatch(readFileSync(join(packageRoot(cache, 'playwright-core'), 'env.txt'), 'utf8'), /hunter2/);
  // Found in the cache from now on: no second install.
  const again = await ensurePackage('playwright-core', { cacheDir: cache, command: ['/nonexistent'], from: nowhere });
  assert.equal(again.dir, join(packageRoot(cache, 'playwright-core'), 'node_modules', 'playwright-core'));
});

test('an install whose integrity differs from the pin is deleted and refused', async () => {
  const cache = join(dir, 'cache-bad');
  await assert.rejects(
    ensurePackage('playwright-core', {
      cacheDir: cache,
      command: [fakeNpm('bad', { integrity: 'sha512-tampered' })],
      from: nowhere,
    }),
    /integrity differs from the pinned one for playwright-core@1\.65\.1.*npm install --prefix/,
  );
  assert.equal(findPackage('playwright-core', cache, nowhere), undefined);
  assert.deepEqual(existsSync(packagesDir(cache)) ? readdirSync(packagesDir(cache)) : [], [], 'nothing left behind');
});

test('a failed npm says what failed and how to install by hand', async () => {
  await assert.rejects(
    ensurePackage('playwright-core', {
      cacheDir: join(dir, 'cache-offline'),
      command: [fakeNpm('offline', { fail: 'npm error network ENOTFOUND registry.npmjs.org' })],
      from: nowhere,
    }),
    (err: Error) => {
      assert.match(err.message, /npm exited with 1: npm error network ENOTFOUND/);
      assert.match(
        err.message,
        /Install it by hand with: npm install --prefix ".*playwright-core@1\.65\.1" .*playwright-core@1\.65\.1/,
      );
      return true;
    },
  );
});

test('headless login without playwright-core: a setup outcome that says what to do instead', async () => {
  const progress: string[] = [];
  const ctx = {
    gatewayUrl: 'https://127.0.0.1:1',
    timeoutMs: 5000,
    signal: new AbortController().signal,
    log: silentLogger,
    progress: (m: string) => progress.push(m),
    checkAuthenticated: async () => false,
  } as unknown as LoginContext;
  const outcome = await headlessLogin({
    username: 'u',
    password: 'p',
    paper: true,
    cacheDir: join(dir, 'cache-login'),
    npm: { command: [fakeNpm('login', { fail: 'offline' })], from: nowhere },
  }).run(ctx);
  assert.equal(outcome.ok, false);
  assert.equal(outcome.ok === false && outcome.kind, 'setup');
  const reason = outcome.ok === false ? outcome.reason : '';
  assert.match(reason, /Headless login needs the npm package playwright-core/);
  assert.match(reason, /npm install --prefix/);
  assert.match(reason, /unset IB_HEADLESS_MODE/);
  assert.doesNotMatch(reason, /\n\s+at /, 'no stack trace');
  assert.ok(progress.some((l) => /Installing playwright-core/.test(l)));
});

test('get_price_chart without the chart renderer: an error result that says what to do', async () => {
  const home = join(dir, 'home');
  const { config } = loadConfig(['--backend', 'sim', '--home', home, '--toolsets', 'all'], {});
  const app = await createApp(config, silentLogger);
  try {
    app.loadPackage = async () => {
      throw new Error("Installing @resvg/resvg-js@2.6.2 into ibkr-mcp's cache failed: npm exited with 1");
    };
    const def = ALL_TOOLS.find((t) => t.name === 'get_price_chart')!;
    const ctx = {
      app,
      signal: new AbortController().signal,
      progress: async () => {},
      attach: () => assert.fail('no image without a renderer'),
    } as unknown as ToolContext;
    const err = await def.handle(def.input.parse({ symbol: 'AAPL', period: '1m' }), ctx).then(
      () => assert.fail('expected an error'),
      (e: unknown) => e,
    );
    const r = errorResult(app, def.name, err);
    assert.equal(r.isError, true);
    const text = r.content[0]!.text;
    assert.match(text, /^\[MISSING_COMPONENT\] The chart renderer is not available\. Installing @resvg\/resvg-js/);
    assert.match(text, /What to do: .*get_historical_data/);
  } finally {
    await app.close();
  }
});
