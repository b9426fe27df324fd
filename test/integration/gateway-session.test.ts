/**
 * The session state machine against the simulator (in process): transitions, keep-alive,
 * re-opening the brokerage session without competing, expiry, the gate, single-flight login and
 * the stop after three failed logins.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Agent, fetch } from 'undici';
import { CpapiHttp } from '../../src/backends/cpapi/http.js';
import { CpapiSession } from '../../src/backends/cpapi/session.js';
import { isBrokerError } from '../../src/broker/errors.js';
import { type LoginDriver, SessionManager } from '../../src/gateway/session.js';
import { type SimulatorHandle, startSimulator } from '../../src/simulator/index.js';

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

function manager(sim: SimulatorHandle, extra: Partial<ConstructorParameters<typeof SessionManager>[0]> = {}) {
  const http = new CpapiHttp({ baseUrl: sim.url, timeoutMs: 2000, maxRetries: 0 });
  const m = new SessionManager({ broker: new CpapiSession({ http }), gatewayUrl: sim.url, ...extra });
  return { m, http };
}

async function stats(sim: SimulatorHandle) {
  return (await control(sim, '/sim/stats')) as { byEndpoint: Record<string, number> };
}

describe('session state machine', () => {
  let sim: SimulatorHandle;
  before(async () => {
    sim = await startSimulator({ port: 0, authenticated: false, pacing: false });
  });
  after(async () => {
    await sim.close();
  });

  test('login_required → authenticated (brokerage opened with compete=false) → expired on keep-alive', async () => {
    await control(sim, '/sim/session', { authenticated: false });
    const { m, http } = manager(sim);
    await m.start();
    assert.equal(m.state, 'login_required');
    assert.equal(m.snapshot().loginUrl, sim.url);

    // SSO login without a brokerage session: the manager opens it with ssodh/init.
    await control(sim, '/sim/session', { authenticated: true, brokerage: false });
    await control(sim, '/sim/reset', {});
    await m.refresh();
    assert.equal(m.state, 'authenticated');
    assert.ok((m.snapshot().accounts?.length ?? 0) > 0);
    assert.match(String(m.snapshot().mode), /PAPER|LIVE/);
    assert.equal((await stats(sim)).byEndpoint['POST /iserver/auth/ssodh/init'], 1);

    await m.tickle();
    assert.equal(m.state, 'authenticated');
    assert.ok(m.snapshot().lastKeepAlive);
    assert.ok((m.snapshot().ssoExpiresInS ?? 0) > 0);

    await control(sim, '/sim/faults', { expireSession: true });
    await m.tickle();
    assert.equal(m.state, 'expired');
    assert.match(m.snapshot().reason ?? '', /ended the session|daily reset/);
    await m.close();
    await http.close();
  });

  test("a failed /tickle (IB's 200 {error}) is not a lost session: the status decides", async () => {
    await control(sim, '/sim/session', { authenticated: true });
    const { m, http } = manager(sim);
    let resets = 0;
    await m.start();
    assert.equal(m.state, 'authenticated');
    const broker = (m as unknown as { broker: { reset(): void } }).broker;
    const reset = broker.reset.bind(broker);
    broker.reset = () => {
      resets++;
      reset();
    };
    const fail = { endpoint: '/tickle', status: 200, count: 1, body: { error: 'failed to process request' } };
    await control(sim, '/sim/faults', { fail });
    await m.tickle();
    assert.equal(m.state, 'authenticated', String(m.snapshot().reason));
    assert.doesNotMatch(m.snapshot().reason ?? '', /Log in again/);
    assert.equal(resets, 0, 'the per-session caches stay');
    // A failed tickle while the session really is gone: the status says so.
    await control(sim, '/sim/faults', { fail, expireSession: true });
    await m.tickle();
    assert.equal(m.state, 'expired');
    await m.close();
    await http.close();
  });

  test('a lost brokerage session is re-opened by the keep-alive without competing', async () => {
    await control(sim, '/sim/session', { authenticated: true });
    const { m, http } = manager(sim);
    await m.start();
    assert.equal(m.state, 'authenticated');
    await control(sim, '/sim/session', { authenticated: true, brokerage: false });
    await control(sim, '/sim/reset', {});
    await m.tickle();
    assert.equal(m.state, 'authenticated');
    assert.equal((await stats(sim)).byEndpoint['POST /iserver/auth/ssodh/init'], 1);
    await m.close();
    await http.close();
  });

  test('competing session: reported, not taken over by default; taken over with allowCompeting', async () => {
    await control(sim, '/sim/session', { authenticated: true });
    const polite = manager(sim);
    await polite.m.start();
    assert.equal(polite.m.state, 'authenticated');
    await control(sim, '/sim/faults', { competing: true });
    await polite.m.tickle();
    assert.equal(polite.m.state, 'competing_session');
    assert.match(polite.m.snapshot().whatToDo, /Log out there/);
    // The gate refuses at once with COMPETING_SESSION.
    await assert.rejects(polite.m.check('/iserver/marketdata/snapshot'), (e: unknown) => {
      return isBrokerError(e) && e.code === 'COMPETING_SESSION' && /competing_session/.test(e.message);
    });
    const info = (await control(sim, '/sim/info')) as { session: { brokerage: boolean } };
    assert.equal(info.session.brokerage, false, 'the other session was not kicked out');
    await polite.m.close();
    await polite.http.close();

    const rude = manager(sim, { allowCompeting: true });
    await rude.m.start();
    assert.equal(rude.m.state, 'authenticated', 'compete=true takes the session over');
    await rude.m.close();
    await rude.http.close();
    await control(sim, '/sim/faults', { clear: true });
  });

  test('the gate answers at once while not logged in, with the state and what to do', async () => {
    await control(sim, '/sim/session', { authenticated: false });
    const { m, http } = manager(sim);
    await m.start();
    const t0 = Date.now();
    await assert.rejects(m.check('/iserver/marketdata/snapshot'), (e: unknown) => {
      assert.ok(isBrokerError(e));
      assert.equal(e.code, 'NOT_AUTHENTICATED');
      assert.match(e.message, /login_required/);
      assert.match(e.hint ?? '', new RegExp(sim.url.replace(/[.:/]/g, '\\$&')));
      return true;
    });
    assert.ok(Date.now() - t0 < 1500, 'refused promptly');
    await m.check('/iserver/auth/status'); // session endpoints always pass
    await m.close();
    await http.close();
  });

  test('single flight: concurrent logins share one run; three failures in a row stop logging in', async () => {
    await control(sim, '/sim/session', { authenticated: false });
    let runs = 0;
    const failing: LoginDriver = {
      method: 'headless',
      async run() {
        runs += 1;
        await new Promise((r) => setTimeout(r, 50));
        return {
          ok: false,
          kind: 'credentials',
          reason: 'IB refused the login: Invalid username password combination',
        };
      },
    };
    const { m, http } = manager(sim, { loginDriver: failing });
    await m.start();
    const [a, b, c] = await Promise.all([m.login(), m.login(), m.login()]);
    assert.equal(runs, 1, 'one run for three concurrent calls');
    assert.equal(a, b);
    assert.equal(b, c);
    assert.equal(m.snapshot().login.failuresInARow, 1);
    await m.login();
    await m.login();
    assert.equal(runs, 3);
    assert.equal(m.state, 'failed');
    assert.match(m.snapshot().reason ?? '', /3 headless logins failed in a row/);
    const fourth = await m.login();
    assert.equal(runs, 3, 'no fourth attempt');
    assert.equal(fourth.ok, false);
    await m.close();
    await http.close();
  });

  test('a successful login resets the failure count; setup problems do not count', async () => {
    await control(sim, '/sim/session', { authenticated: false });
    let mode: 'fail' | 'setup' | 'ok' = 'fail';
    const driver: LoginDriver = {
      method: 'headless',
      async run() {
        if (mode === 'ok') {
          await control(sim, '/sim/session', { authenticated: true, brokerage: false });
          return { ok: true };
        }
        return mode === 'fail'
          ? { ok: false, kind: 'credentials', reason: 'wrong password' }
          : { ok: false, kind: 'setup', reason: 'no Chromium' };
      },
    };
    const { m, http } = manager(sim, { loginDriver: driver });
    await m.start();
    await m.login();
    mode = 'setup';
    await m.login();
    await m.login();
    assert.equal(m.snapshot().login.failuresInARow, 1);
    mode = 'ok';
    const ok = await m.login();
    assert.equal(ok.ok, true);
    assert.equal(m.state, 'authenticated');
    assert.equal(m.snapshot().login.failuresInARow, 0);
    await m.close();
    await http.close();
  });
});
