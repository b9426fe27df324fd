/**
 * First use of the real-account path, with local fakes: the browser opener (a fake xdg-open),
 * playwright's Chromium installer (a fake installer script), and the session's own re-login after
 * an expiry (the simulator, a fake headless driver).
 */
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Agent, fetch } from 'undici';
import { CpapiHttp } from '../../src/backends/cpapi/http.js';
import { CpapiSession } from '../../src/backends/cpapi/session.js';
import { installChromium } from '../../src/gateway/chromium.js';
import { openInBrowser } from '../../src/gateway/login-browser.js';
import { type LoginDriver, SessionManager } from '../../src/gateway/session.js';
import { type SimulatorHandle, startSimulator } from '../../src/simulator/index.js';

const dir = mkdtempSync(join(tmpdir(), 'ibkr-mcp-first-use-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function script(path: string, body: string): string {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, `#!/bin/sh\n${body}\n`);
  chmodSync(path, 0o755);
  return path;
}

test('the browser opener: honest about no opener, no display, or a failing opener', async () => {
  const none = join(dir, 'empty');
  mkdirSync(none, { recursive: true });
  const url = 'https://localhost:5000';
  assert.match(
    String(await openInBrowser(url, 'linux', { env: { PATH: none, DISPLAY: ':0' } })),
    /xdg-open is not installed/,
  );
  const ok = join(dir, 'ok');
  const seen = join(dir, 'opened.txt');
  script(join(ok, 'xdg-open'), `echo "$1" > "${seen}"; exit 0`);
  assert.match(String(await openInBrowser(url, 'linux', { env: { PATH: ok } })), /no graphical display/);
  assert.equal(await openInBrowser(url, 'linux', { env: { PATH: ok, DISPLAY: ':0' } }), undefined);
  for (let i = 0; i < 50 && !existsSync(seen); i++) await new Promise((r) => setTimeout(r, 20));
  assert.ok(existsSync(seen), 'the opener got the URL');
  const bad = join(dir, 'bad');
  script(join(bad, 'xdg-open'), 'exit 3');
  assert.match(String(await openInBrowser(url, 'linux', { env: { PATH: bad, DISPLAY: ':0' } })), /exited with code 3/);
});

test("Chromium install through playwright's installer (faked): into the cache, with progress, no secrets", async () => {
  const cache = join(dir, 'cache');
  const envOut = join(dir, 'installer-env.txt');
  const fake = script(
    join(dir, 'fake-installer'),
    `env > "${envOut}"
[ "$1" = "install" ] && [ "$2" = "chromium-headless-shell" ] || exit 9
for p in 0 10 20 35 50 70 90 100; do echo "|■■■■    | $p% of 100 MiB"; done
d="$PLAYWRIGHT_BROWSERS_PATH/chromium_headless_shell-1255/chrome-headless-shell-linux64"
mkdir -p "$d" && touch "$d/chrome-headless-shell" && chmod +x "$d/chrome-headless-shell"`,
  );
  process.env['IB_PASSWORD_AUTH'] = 'hunter2-secret';
  process.env['IB_TOTP_SECRET'] = 'JBSWY3DPEHPK3PXP';
  const lines: string[] = [];
  try {
    const exe = await installChromium({ cacheDir: cache, command: [fake], progress: (l) => lines.push(l) });
    assert.equal(
      exe,
      join(cache, 'browsers', 'chromium_headless_shell-1255', 'chrome-headless-shell-linux64', 'chrome-headless-shell'),
    );
  } finally {
    delete process.env['IB_PASSWORD_AUTH'];
    delete process.env['IB_TOTP_SECRET'];
  }
  assert.ok(
    lines.some((l) => /100%/.test(l)),
    lines.join('\n'),
  );
  assert.ok(lines.length >= 5 && lines.length <= 8, `progress in steps, not every redraw: ${lines.length}`);
  const { readFileSync } = await import('node:fs');
  const seen = readFileSync(envOut, 'utf8');
  assert.doesNotMatch(seen, /hunter2|JBSWY3DP|IB_PASSWORD_AUTH|IB_TOTP_SECRET/);
  assert.match(seen, /PLAYWRIGHT_BROWSERS_PATH=/);
  await assert.rejects(
    installChromium({ cacheDir: join(dir, 'c2'), command: [script(join(dir, 'fail'), 'echo "network down"; exit 1')] }),
    /exit code 1.*network down/,
  );
});

const insecure = new Agent({ connect: { rejectUnauthorized: false } });
async function control(sim: SimulatorHandle, path: string, body?: unknown): Promise<unknown> {
  const res = await fetch(`${sim.url}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    dispatcher: insecure,
  });
  return res.json();
}

describe('the session after the night', () => {
  let sim: SimulatorHandle;
  before(async () => {
    sim = await startSimulator({ port: 0, authenticated: true, pacing: false });
  });
  after(async () => {
    await sim.close();
  });

  test('expiry is noticed by the keep-alive within seconds and a headless TOTP login runs by itself', async () => {
    let runs = 0;
    const driver: LoginDriver = {
      method: 'headless',
      async run(ctx) {
        runs += 1;
        ctx.progress('Submitting the TOTP code.');
        await control(sim, '/sim/session', { authenticated: true });
        return { ok: true };
      },
    };
    const http = new CpapiHttp({ baseUrl: sim.url, timeoutMs: 2000, maxRetries: 0 });
    const m = new SessionManager({
      broker: new CpapiSession({ http }),
      gatewayUrl: sim.url,
      keepaliveMs: 300,
      loginDriver: driver,
      reloginOnExpiry: true,
    });
    const states: string[] = [];
    const at: Record<string, number> = {};
    m.on('change', (s: { state: string }) => {
      states.push(s.state);
      at[s.state] = Date.now();
    });
    after(() => m.close());
    await m.start();
    assert.equal(m.state, 'authenticated');
    const t0 = Date.now();
    delete at['authenticated'];
    await control(sim, '/sim/faults', { expireSession: true });
    while (at['authenticated'] === undefined && Date.now() - t0 < 5000) await new Promise((r) => setTimeout(r, 20));
    const noticedMs = (at['expired'] ?? Number.POSITIVE_INFINITY) - t0;
    assert.ok(noticedMs < 2000, `noticed in ${noticedMs} ms: ${states.join(' → ')}`);
    assert.equal(m.state, 'authenticated', `back by itself: ${states.join(' → ')}`);
    assert.equal(runs, 1);
    assert.deepEqual(states.slice(-2), ['expired', 'authenticated']);
    console.log(`# expiry noticed in ${noticedMs} ms, logged in again after ${(at['authenticated'] ?? 0) - t0} ms`);

    // A competing login (TWS) is reported, never fought: no login is started for it.
    await control(sim, '/sim/faults', { competing: true });
    await m.tickle();
    assert.equal(m.state, 'competing_session');
    assert.equal(runs, 1);
    // TWS logs out: the watch sees the session come back without a tool call.
    await control(sim, '/sim/faults', { competing: false });
    const t1 = Date.now();
    while (m.current() !== 'authenticated' && Date.now() - t1 < 3000) await new Promise((r) => setTimeout(r, 20));
    assert.equal(m.state, 'authenticated');
    await m.close();
    await http.close();
  });

  test('without a TOTP secret nothing logs in by itself; the state says what to do', async () => {
    let runs = 0;
    const http = new CpapiHttp({ baseUrl: sim.url, timeoutMs: 2000, maxRetries: 0 });
    await control(sim, '/sim/session', { authenticated: true });
    const m = new SessionManager({
      broker: new CpapiSession({ http }),
      gatewayUrl: sim.url,
      keepaliveMs: 300,
      loginDriver: {
        method: 'headless',
        async run() {
          runs += 1;
          return { ok: false, kind: 'second_factor', reason: 'not approved' };
        },
      },
    });
    await m.start();
    await control(sim, '/sim/faults', { expireSession: true });
    const t0 = Date.now();
    while (m.current() === 'authenticated' && Date.now() - t0 < 3000) await new Promise((r) => setTimeout(r, 20));
    assert.equal(m.state, 'expired');
    assert.equal(runs, 0);
    assert.match(m.snapshot().whatToDo, /authenticate/);
    await m.close();
    await http.close();
  });
});
