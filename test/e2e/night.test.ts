/**
 * A night with a real account, simulated: the spawned server against an external simulator acting
 * as IB's gateway, through IB's daily reset (the session expires), a login from TWS that takes the
 * brokerage session, and a gateway restart (every session lost) after which another account set
 * logs in. At every step the read tools are called and every answer is checked:
 *
 * - while the session is down, a read is an isError that says what to do, never data;
 * - a read that answers, answers from the gateway of now: its endpoint was asked during the call
 *   (no cache carried over a lost session), and it names only accounts of the current login;
 * - reads recover by themselves once the session is back: after the human logs in (browser
 *   login), or with no one at all (headless login with password and TOTP against the simulator's
 *   login page; skipped without Chromium).
 *
 * NIGHT_LOG=file appends every answer (step, tool, error or not, endpoints asked, text) to the file.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import { after, describe, test } from 'node:test';
import { type SimulatorHandle, startSimulator } from '../../src/simulator/index.js';
import { type Harness, simRequest, startServer, type ToolResult } from './harness.js';

const FIRST = ['DU1234567', 'DU7654321', 'DU5550001'];
const SECOND = ['U4440001', 'U4440002', 'U4440003'];

/** The reads checked at every step, and the gateway endpoint each must ask when it answers. */
const READS: { name: string; args: Record<string, unknown>; endpoint?: RegExp }[] = [
  { name: 'get_quote', args: { symbol: 'AAPL' }, endpoint: /^GET \/iserver\/marketdata\/snapshot$/ },
  { name: 'get_positions', args: {}, endpoint: /^GET \/portfolio\/:accountId\/positions\/:pageId$/ },
  { name: 'get_account_info', args: {}, endpoint: /^GET \/portfolio\/:accountId\/summary$/ },
  { name: 'get_portfolio_summary', args: {}, endpoint: /^GET \/portfolio\/:accountId\/positions\/:pageId$/ },
  { name: 'get_live_orders', args: {}, endpoint: /^GET \/iserver\/account\/orders$/ },
];

interface Answer {
  step: string;
  tool: string;
  result: ToolResult;
  /** Endpoints the simulator saw during the call. */
  asked: string[];
}

/**
 * The oldest age of the pushed data in an answer (`source: "stream"` with `ageMs`, at any depth),
 * or undefined when nothing in it says it was pushed.
 */
function pushedAges(structured: unknown): number | undefined {
  let oldest: number | undefined;
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      if (o['source'] === 'stream') oldest = Math.max(oldest ?? 0, typeof o['ageMs'] === 'number' ? o['ageMs'] : 0);
      for (const x of Object.values(o)) walk(x);
    }
  };
  walk(structured);
  return oldest;
}

/** One night's log of answers, and the checks every answer must pass. */
class Night {
  readonly answers: Answer[] = [];
  readonly problems: string[] = [];
  sim: SimulatorHandle;
  accounts = FIRST;
  /** When the last disruption (reset, TWS login, restart) was made: pushed data must be newer. */
  private disruptedAt = Date.now();

  constructor(
    readonly h: Harness,
    sim: SimulatorHandle,
  ) {
    this.sim = sim;
  }

  private async stats(): Promise<Record<string, number>> {
    try {
      return ((await simRequest(this.sim, '/sim/stats')) as { byEndpoint: Record<string, number> }).byEndpoint;
    } catch {
      return {}; // the simulator is down
    }
  }

  /** A disruption is about to be made: from now on, data pushed before it is stale. */
  disrupted(): void {
    this.disruptedAt = Date.now();
  }

  /** Calls one read and checks its answer against the step's expectation. */
  async read(
    step: string,
    r: (typeof READS)[number],
    expect: 'down' | 'any' | 'up',
    errorLike?: RegExp,
  ): Promise<ToolResult> {
    const before = await this.stats();
    const calledAt = Date.now();
    const result = await this.h.callTool(r.name, r.args);
    const afterStats = await this.stats();
    const asked = Object.keys(afterStats).filter((k) => (afterStats[k] ?? 0) > (before[k] ?? 0));
    this.answers.push({ step, tool: r.name, result, asked });
    const where = `${step}: ${r.name}`;
    const body = `${result.text} ${JSON.stringify(result.structured ?? {})}`;
    if (result.isError) {
      if (expect === 'up') this.problems.push(`${where} failed after the session was back: ${result.text}`);
      if (errorLike && !errorLike.test(result.text)) {
        this.problems.push(
          `${where}: the error states the wrong state (expected ${errorLike}): ${result.text.slice(0, 200)}`,
        );
      }
      if (!/What to do|log in|authenticat|Log out|start|reach|again/i.test(result.text)) {
        this.problems.push(`${where}: an error that does not say what to do: ${result.text}`);
      }
      return result;
    }
    if (expect === 'down')
      this.problems.push(`${where} answered while the session was down: ${result.text.slice(0, 200)}`);
    if (r.endpoint && !asked.some((k) => r.endpoint!.test(k))) {
      // Answered from IB's WebSocket: fine when every pushed value is newer than the last disruption.
      const pushed = pushedAges(result.structured);
      if (pushed === undefined) {
        this.problems.push(`${where} answered without asking the gateway (${asked.join(', ') || 'nothing'})`);
      } else if (pushed > calledAt - this.disruptedAt) {
        this.problems.push(`${where} answered with data pushed before the disruption (${pushed} ms old)`);
      }
    }
    for (const id of [...FIRST, ...SECOND].filter((a) => !this.accounts.includes(a))) {
      if (body.includes(id)) this.problems.push(`${where} names ${id}, an account of another login`);
    }
    return result;
  }

  /** Every read once; the connection status states `state`. */
  async all(step: string, expect: 'down' | 'any' | 'up', state?: RegExp, errorLike?: RegExp): Promise<ToolResult[]> {
    const out: ToolResult[] = [];
    for (const r of READS) out.push(await this.read(step, r, expect, errorLike));
    const st = await this.h.callTool('get_connection_status', { refresh: true });
    this.answers.push({ step, tool: 'get_connection_status', result: st, asked: [] });
    if (st.isError) this.problems.push(`${step}: get_connection_status failed: ${st.text}`);
    else if (state && !state.test(st.structured.state)) {
      this.problems.push(`${step}: state ${st.structured.state}, expected ${state}`);
    } else if (st.structured.state !== 'authenticated' && !st.structured.whatToDo) {
      this.problems.push(`${step}: state ${st.structured.state} without what to do`);
    }
    return out;
  }

  /** Reads until every read answers (the session came back by itself), at most `ms`. */
  async recovers(step: string, ms = 30_000): Promise<void> {
    const end = Date.now() + ms;
    for (;;) {
      const got: ToolResult[] = [];
      for (const r of READS) got.push(await this.read(step, r, 'any'));
      if (got.every((g) => !g.isError)) return;
      if (Date.now() > end) {
        this.problems.push(`${step}: reads did not recover within ${ms} ms: ${got.find((g) => g.isError)?.text}`);
        return;
      }
      await new Promise((r) => setTimeout(r, 500));
    }
  }

  /** The accounts the positions name are exactly the current login's. */
  async accountsAre(step: string, ids: string[]): Promise<void> {
    const p = await this.read(step, READS[1]!, 'up');
    const named = [...new Set((p.structured?.positions ?? []).map((x: { account: string }) => x.account))].sort();
    const want = ids.slice(0, 2).sort(); // the third account holds cash only
    if (JSON.stringify(named) !== JSON.stringify(want)) {
      this.problems.push(`${step}: positions of ${named.join(', ')}, expected ${want.join(', ')}`);
    }
  }

  dump(): void {
    if (!process.env['NIGHT_LOG']) return;
    const lines = this.answers.map(
      (a) =>
        `${a.step} | ${a.tool} | ${a.result.isError ? 'ERR' : 'ok'} | ${a.asked.join(',')} | ${a.result.text.slice(0, 140).replace(/\n/g, ' ')}`,
    );
    appendFileSync(process.env['NIGHT_LOG'], `${lines.join('\n')}\n`);
  }

  report(): string {
    return `${this.problems.length} problem(s) in ${this.answers.length} answers:\n${this.problems.join('\n')}`;
  }
}

describe('a night through the tools, logged in by a human', { timeout: 180_000 }, () => {
  let h: Harness | undefined;
  let second: SimulatorHandle | undefined;
  after(async () => {
    await h?.close();
    await second?.close();
  });

  test('daily reset, a TWS login, a gateway restart with another account set: no stale answer, recovery by itself', async () => {
    h = await startServer({ args: ['--keepalive-seconds', '1', '--request-timeout-ms', '3000'] });
    const night = new Night(h, h.sim!);
    await night.recovers('evening');
    await night.all('evening', 'up', /^authenticated$/);
    await night.accountsAre('evening', FIRST);

    // IB's daily reset: the session ends.
    night.disrupted();
    await h.simControl('/sim/faults', { expireSession: true });
    await night.all('daily reset', 'down', /^expired$/, /expired/);
    // The human logs in again (in the browser): the reads come back without any tool call.
    await h.simControl('/sim/session', { authenticated: true });
    await night.recovers('after the reset');
    await night.all('after the reset', 'up', /^authenticated$/);

    // A login from TWS takes the brokerage session.
    night.disrupted();
    await h.simControl('/sim/faults', { competing: true });
    await night.all('TWS logged in', 'down', /^competing_session$/, /COMPETING_SESSION/);
    await h.simControl('/sim/faults', { competing: false });
    await night.recovers('TWS logged out');

    // The gateway restarts: every session is lost; then another account set logs in.
    const port = h.sim!.port;
    night.disrupted();
    await h.sim!.close();
    await night.all('gateway down', 'down');
    second = await startSimulator({ port, seed: 7, authenticated: false, accountIds: SECOND });
    night.sim = second;
    night.accounts = SECOND;
    await night.all('gateway up, nobody logged in', 'down', undefined, /^(?![\s\S]*Cannot reach)/);
    await simRequest(second, '/sim/session', { authenticated: true });
    await night.recovers('another login');
    await night.all('another login', 'up', /^authenticated$/);
    await night.accountsAre('another login', SECOND);

    night.dump();
    assert.deepEqual(night.problems, [], night.report());
    assert.ok(night.answers.length > 50);
  });
});

const chromiumOk = ['chromium', 'chromium-browser', 'google-chrome'].some(
  (c) => spawnSync('sh', ['-c', `command -v ${c}`]).status === 0,
);

describe('a night through the tools, logged in headless (password and TOTP)', {
  timeout: 240_000,
  skip: chromiumOk ? false : 'Chromium is not installed',
}, () => {
  const TOTP = 'JBSWY3DPEHPK3PXP';
  let sim: SimulatorHandle | undefined;
  let h: Harness | undefined;
  after(async () => {
    await h?.close();
    await sim?.close();
  });

  const loginConfig = (s: SimulatorHandle) =>
    simRequest(s, '/sim/login-config', { password: 'pw-night', secondFactor: 'totp', totpSecret: TOTP, reset: true });
  const attempts = async (s: SimulatorHandle) =>
    ((await simRequest(s, '/sim/login-config')) as { stats: { attempts: number } }).stats.attempts;

  test('the server logs in again by itself after the reset and the restart; never a stale answer', async () => {
    sim = await startSimulator({ port: 0, seed: 7, authenticated: false });
    await loginConfig(sim);
    const gateway = {
      backend: 'gateway',
      'gateway-url': sim.url,
      'keepalive-seconds': '1',
      'request-timeout-ms': '3000',
    };
    h = await startServer({
      sim: false,
      args: Object.entries(gateway).flatMap(([k, v]) => [`--${k}`, v]),
      env: { IB_HEADLESS_MODE: 'true', IB_USERNAME: 'simuser', IB_PASSWORD_AUTH: 'pw-night', IB_TOTP_SECRET: TOTP },
    });
    const night = new Night(h, sim);
    await night.recovers('evening', 60_000);
    await night.all('evening', 'up', /^authenticated$/);

    // IB's daily reset: logged in again with no one there.
    const before = await attempts(sim);
    night.disrupted();
    await simRequest(sim, '/sim/faults', { expireSession: true });
    await night.all('daily reset', 'any');
    await night.recovers('after the reset', 60_000);
    assert.equal(await attempts(sim), before + 1, 'one login after the reset');
    await night.all('after the reset', 'up', /^authenticated$/);

    // A TWS login: not taken back (that would log TWS out); reads say so, and come back after.
    night.disrupted();
    await simRequest(sim, '/sim/faults', { competing: true });
    await night.all('TWS logged in', 'down', /^competing_session$/, /COMPETING_SESSION/);
    await simRequest(sim, '/sim/faults', { competing: false });
    await night.recovers('TWS logged out');

    // The gateway restarts with no session; the login brings another account set.
    const port = sim.port;
    night.disrupted();
    await sim.close();
    await night.all('gateway down', 'down');
    sim = await startSimulator({ port, seed: 7, authenticated: false, accountIds: SECOND });
    await loginConfig(sim);
    night.sim = sim;
    night.accounts = SECOND;
    await night.recovers('after the restart', 60_000);
    await night.all('after the restart', 'up', /^authenticated$/);
    await night.accountsAre('after the restart', SECOND);
    assert.ok(!h.stderr().includes('pw-night'), 'the password never reaches the log');

    night.dump();
    assert.deepEqual(night.problems, [], night.report());
  });
});
