/**
 * Secrets canary: a run with a canary username, password and TOTP secret at debug log level,
 * through the headless login (the simulator's login page, with TOTP), every listed tool, error
 * paths (invalid arguments, gateway failures, an expired session and a second login) and an order.
 * The canaries must appear in no log line, no tool result, no error, no file under the state
 * directory, and no child process's environment (the server's own environment holds them: that is
 * where the login needs them).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type SimulatorHandle, startSimulator } from '../../src/simulator/index.js';
import { type Harness, serverPid, simRequest, startServer } from './harness.js';
import { oauthServer } from './oauth-harness.js';

const USER = 'canaryuser7f3a9c';
const PASS = 'CanaryPass-91be42-x';
const TOTP = 'CANARYTOTPSECRETXYZABCDEFGH23456';
const CANARIES = [USER, PASS, TOTP];

const chromiumOk = ['chromium', 'chromium-browser', 'google-chrome'].some(
  (c) => spawnSync('sh', ['-c', `command -v ${c}`]).status === 0,
);

function leaks(where: string, text: string, canaries: readonly string[] = CANARIES): string[] {
  const lower = text.toLowerCase();
  return canaries.filter((c) => lower.includes(c.toLowerCase())).map((c) => `${where} contains ${c.slice(0, 8)}…`);
}

/** Pids of a process's descendants. */
function descendants(pid: number): number[] {
  const out: number[] = [];
  const byParent = new Map<number, number[]>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      byParent.set(ppid, [...(byParent.get(ppid) ?? []), Number(d)]);
    } catch {
      // ended meanwhile
    }
  }
  const stack = [pid];
  while (stack.length) {
    for (const c of byParent.get(stack.pop()!) ?? []) {
      out.push(c);
      stack.push(c);
    }
  }
  return out;
}

function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) out.push(...filesUnder(p));
    else out.push(p);
  }
  return out;
}

/** Valid arguments per tool (others get {}); the order is a resting limit far below the market. */
const VALID: Record<string, Record<string, unknown>> = {
  get_quote: { symbols: ['AAPL', 'MSFT'] },
  get_market_data: { symbol: 'AAPL' },
  get_historical_data: { symbol: 'AAPL', period: '5d', bar: '1h' },
  search_contracts: { query: 'Apple', byName: true },
  get_price_chart: { symbol: 'AAPL', period: '5d', bar: '1h' },
  get_options_chain: { symbol: 'SPY', strikeCount: 2, expirationCount: 1 },
  find_option_contract: { symbol: 'SPY', right: 'C' },
  get_account_info: {},
  get_positions: {},
  get_portfolio_summary: {},
  get_pnl: {},
  get_live_orders: {},
  get_trades: { days: 1 },
  get_order_status: { orderId: '42' },
  preview_order: { symbol: 'AAPL', action: 'BUY', orderType: 'LMT', price: 1, quantity: 1 },
  get_connection_status: { refresh: true },
  authenticate: {},
};

describe('secrets canary', { skip: chromiumOk ? false : 'Chromium is not installed', timeout: 120_000 }, () => {
  let sim: SimulatorHandle;
  let h: Harness;
  const found: string[] = [];
  const childEnvLeaks: string[] = [];
  let sampler: NodeJS.Timeout | undefined;
  const sampledChildren = new Set<number>();

  before(async () => {
    sim = await startSimulator({ port: 0, seed: 7, authenticated: false });
    await simRequest(sim, '/sim/login-config', {
      username: USER,
      password: PASS,
      secondFactor: 'totp',
      totpSecret: TOTP,
      reset: true,
    });
    h = await startServer({
      sim: false,
      args: [
        '--backend',
        'gateway',
        '--gateway-url',
        sim.url,
        '--log-level',
        'debug',
        '--order-confirmation',
        'none',
        '--toolsets',
        'all',
      ],
      env: { IB_HEADLESS_MODE: 'true', IB_USERNAME: USER, IB_PASSWORD_AUTH: PASS, IB_TOTP_SECRET: TOTP },
    });
    // Sample every child's environment while the run goes on (the browser lives only during a login).
    const pid = serverPid(h.home);
    assert.ok(pid, 'server process found');
    const serverCmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    sampler = setInterval(() => {
      for (const c of descendants(pid)) {
        try {
          const cmdline = readFileSync(`/proc/${c}/cmdline`, 'utf8');
          // Between fork and exec a child is still a copy of the server (same command line, same
          // environment); what it runs with is only known once it has exec'd, so sample it later.
          if (cmdline === serverCmdline) continue;
          const env = readFileSync(`/proc/${c}/environ`, 'utf8');
          // Exec may have happened between the two reads: only a settled command line counts.
          if (readFileSync(`/proc/${c}/cmdline`, 'utf8') !== cmdline) continue;
          sampledChildren.add(c);
          const cmd = cmdline.split('\0')[0] ?? '';
          for (const l of leaks(`environment of child ${c} (${cmd})`, env))
            if (!childEnvLeaks.includes(l)) childEnvLeaks.push(l);
        } catch {
          // ended meanwhile
        }
      }
    }, 25);
  });
  after(async () => {
    if (sampler) clearInterval(sampler);
    await h?.close();
    await sim?.close();
  });

  const check = (where: string, r: { text: string; raw: unknown }) => {
    found.push(...leaks(where, `${r.text}\n${JSON.stringify(r.raw)}`));
  };

  test('login with the canaries, then every tool, every error path; no canary anywhere', async () => {
    const auth = await h.callTool('authenticate', { waitSeconds: 30 });
    check('authenticate', auth);
    assert.equal(auth.structured?.outcome, 'authenticated', auth.text);
    assert.match(h.stderr(), /"level":"debug"/, 'the run is at debug level');

    const { tools } = await h.client.listTools();
    found.push(...leaks('tools/list', JSON.stringify(tools)));
    for (const t of tools) {
      // Valid call, empty call, hostile call.
      for (const args of [VALID[t.name] ?? {}, {}, { symbol: '../x\u0000', accountId: 'U0', quantity: -1 }]) {
        const r = await h.callTool(t.name, args);
        check(`${t.name} ${JSON.stringify(args)}`, r);
      }
    }

    // An order, so the journal has content.
    const q = await h.callTool('get_quote', { symbol: 'AAPL' });
    const px = Math.round(q.structured.quotes[0].bid * 0.98 * 100) / 100;
    check(
      'place_stock_order',
      await h.callTool('place_stock_order', {
        symbol: 'AAPL',
        action: 'BUY',
        orderType: 'LMT',
        price: px,
        quantity: 1,
        tif: 'GTC',
      }),
    );

    // Gateway failures on every endpoint for a moment.
    await simRequest(sim, '/sim/faults', { fail: { endpoint: '*', status: 500, count: 8 } });
    check('get_quote under 500s', await h.callTool('get_quote', { symbol: 'MSFT' }));
    await simRequest(sim, '/sim/faults', { clear: true });

    // The session expires: the error, then a second headless login with the canaries.
    await simRequest(sim, '/sim/faults', { expireSession: true });
    check('get_quote after expiry', await h.callTool('get_quote', { symbol: 'NVDA' }));
    const again = await h.callTool('authenticate', { waitSeconds: 30 });
    check('authenticate again', again);
    check('get_connection_status', await h.callTool('get_connection_status', { refresh: true }));

    // A wrong password configured at the gateway: the login error path.
    await simRequest(sim, '/sim/login-config', { password: 'something-else', reset: true });
    await simRequest(sim, '/sim/session', { authenticated: false });
    check('authenticate with a rejected password', await h.callTool('authenticate', { waitSeconds: 30 }));

    found.push(...leaks('stderr (log)', h.stderr()));
    for (const f of filesUnder(h.home)) found.push(...leaks(`file ${f}`, readFileSync(f, 'utf8')));
    assert.deepEqual(found, []);
    assert.deepEqual(childEnvLeaks, []);
    // The sampler did see the login's browser processes (else the check above proves nothing).
    assert.ok(sampledChildren.size > 0, 'no child process was sampled');
  });
});

/**
 * The same canary over OAuth 1.0a (issue 16): the access token, the encrypted access token secret,
 * the decrypted secret (the prepend), every live session token and the lines of both private key
 * files must appear in no log line (debug level), no tool result, no file under the state directory
 * and no child process's environment, through every tool, a token renewal, a revoked token and a
 * 401 storm.
 */
describe('secrets canary over OAuth', { timeout: 120_000 }, () => {
  test('every OAuth secret and key file: found nowhere', async () => {
    const o = await oauthServer({
      args: ['--log-level', 'debug', '--order-confirmation', 'none', '--toolsets', 'all'],
    });
    const childEnvLeaks: string[] = [];
    const found: string[] = [];
    let canaries: string[] = [];
    const keyLines = [o.env.IB_OAUTH_SIGNATURE_KEY_FILE!, o.env.IB_OAUTH_ENCRYPTION_KEY_FILE!].flatMap((f) =>
      readFileSync(f, 'utf8')
        .split('\n')
        .filter((l) => l.length >= 40 && !l.startsWith('-----')),
    );
    const all = () => [
      ...new Set([
        o.env.IB_OAUTH_ACCESS_TOKEN!,
        o.env.IB_OAUTH_ACCESS_TOKEN_SECRET!,
        o.env.IB_OAUTH_ACCESS_TOKEN_SECRET!.slice(0, 40),
        ...o.sim.oauth!.secrets(),
        ...keyLines,
      ]),
    ];
    const pid = serverPid(o.h.home);
    const serverCmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    const sampler = setInterval(() => {
      for (const c of descendants(pid)) {
        try {
          const cmdline = readFileSync(`/proc/${c}/cmdline`, 'utf8');
          if (cmdline === serverCmdline) continue;
          const env = readFileSync(`/proc/${c}/environ`, 'utf8');
          for (const l of leaks(`environment of child ${c}`, env, all()))
            if (!childEnvLeaks.includes(l)) childEnvLeaks.push(l);
        } catch {
          // ended meanwhile
        }
      }
    }, 25);
    const results: Array<[string, string]> = [];
    const call = async (name: string, args: Record<string, unknown>) => {
      const r = await o.h.callTool(name, args);
      results.push([`${name} ${JSON.stringify(args)}`, `${r.text}\n${JSON.stringify(r.raw)}`]);
      return r;
    };
    try {
      const { tools } = await o.h.client.listTools();
      for (const t of tools) {
        for (const args of [VALID[t.name] ?? {}, {}]) await call(t.name, args);
      }
      // A renewal (tokens expired at IB: the next request meets a 401 and renews), a revoked token.
      o.sim.oauth!.fault({ expireTokens: true });
      await call('get_quote', { symbol: 'MSFT' });
      await new Promise((r) => setTimeout(r, 3100));
      o.sim.oauth!.fault({ revokeToken: true });
      await call('get_quote', { symbol: 'NVDA' });
      await call('get_connection_status', { refresh: true });
      await call('authenticate', {});
      o.sim.oauth!.fault({ revokeToken: false });
      await call('authenticate', { waitSeconds: 10 });
      await call('get_positions', {});
    } finally {
      clearInterval(sampler);
    }
    // The error paths ran: the revoked token's error, its state, and the recovery.
    const text = (name: string) => results.filter(([w]) => w.startsWith(name)).map(([, t]) => t);
    assert.match(text('get_quote {"symbol":"NVDA"}')[0] ?? '', /revoked/);
    assert.match(text('get_connection_status {"refresh":true}').at(-1) ?? '', /session: failed/);
    assert.match(text('authenticate {"waitSeconds":10}')[0] ?? '', /authenticated/);
    canaries = all();
    assert.ok(canaries.length >= 8, `canaries: ${canaries.length}`);
    for (const [where, text] of results) found.push(...leaks(where, text, canaries));
    found.push(...leaks('stderr (log)', o.h.stderr(), canaries));
    for (const f of filesUnder(o.h.home)) found.push(...leaks(`file ${f}`, readFileSync(f, 'utf8'), canaries));
    const stderr = o.h.stderr();
    await o.close();
    assert.match(stderr, /"level":"debug"/, 'the run is at debug level');
    assert.match(stderr, /live session token obtained/);
    assert.deepEqual(found, []);
    assert.deepEqual(childEnvLeaks, []);
  });
});
