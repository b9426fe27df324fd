/**
 * The IB session's life cycle as the running server wires it (createApp against the in-process
 * simulator): login → accounts → warm-up; an expiry seen by the keep-alive drops the per-session
 * caches and the next login warms up again. And one paper/live verdict for every answer.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Agent, fetch } from 'undici';
import { isPaperAccount, readIserverAccounts } from '../../src/backends/cpapi/session.js';
import { loadConfig } from '../../src/config/index.js';
import { silentLogger } from '../../src/log.js';
import { type App, createApp } from '../../src/runtime.js';
import { DEFAULT_SAFETY } from '../../src/safety/policy.js';
import { OrderService } from '../../src/safety/service.js';
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

async function count(sim: SimulatorHandle, endpoint: string): Promise<number> {
  const st = (await control(sim, '/sim/stats')) as { byEndpoint: Record<string, number> };
  return st.byEndpoint[endpoint] ?? 0;
}

/** Waits until `endpoint` was requested since the last stats reset (our pacer spaces /iserver/account/orders 5 s apart). */
async function requested(sim: SimulatorHandle, endpoint: string, ms = 10_000): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if ((await count(sim, endpoint)) > 0) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

const homes: string[] = [];
async function app(sim: SimulatorHandle): Promise<App> {
  const home = mkdtempSync(join(tmpdir(), 'ibkr-session-'));
  homes.push(home);
  const { config } = loadConfig(['--backend', 'gateway', '--gateway-url', sim.url, '--home', home], {
    HOME: home,
  } as NodeJS.ProcessEnv);
  return createApp(config, silentLogger);
}

test("one rule for paper or live: IB's isPaper when given, else the DU/DF account-id prefix", () => {
  assert.equal(isPaperAccount('DU1234567', undefined), true);
  assert.equal(isPaperAccount('DF1234567', undefined), true);
  assert.equal(isPaperAccount('U1234567', undefined), false);
  assert.equal(isPaperAccount('DU1234567', false), false);
  assert.equal(isPaperAccount('U1234567', true), true);
  const read = readIserverAccounts({ accounts: ['DF1234567', 'U7654321'], selectedAccount: 'DF1234567' });
  assert.deepEqual(read.paper, { DF1234567: true, U7654321: false });
  assert.equal(read.mode, 'LIVE', 'one live account makes the session LIVE');
  assert.equal(read.selected, 'DF1234567');
  assert.equal(readIserverAccounts({ accounts: ['DF1234567'] }).mode, 'PAPER');
  assert.equal(readIserverAccounts({ accounts: ['DU1234567'], isPaper: false }).mode, 'LIVE');
  assert.equal(readIserverAccounts({}).mode, 'UNKNOWN');
});

describe('session life cycle through the runtime wiring', () => {
  let sim: SimulatorHandle;
  before(async () => {
    sim = await startSimulator({ port: 0, pacing: false });
  });
  after(async () => {
    await sim.close();
    for (const h of homes) rmSync(h, { recursive: true, force: true });
  });

  test('an expiry seen by the keep-alive drops the session caches; the next login warms up again', async () => {
    await control(sim, '/sim/session', { authenticated: true });
    await control(sim, '/sim/reset', {});
    const a = await app(sim);
    try {
      await a.gateway.session.refresh();
      assert.equal(a.gateway.session.state, 'authenticated');
      assert.ok(await requested(sim, 'GET /iserver/account/orders'), 'the first login warms up live orders');
      assert.ok(await requested(sim, 'GET /portfolio/accounts'), 'and the account list');

      await control(sim, '/sim/faults', { expireSession: true });
      await a.gateway.session.tickle();
      assert.equal(a.gateway.session.state, 'expired');

      await control(sim, '/sim/session', { authenticated: true });
      await control(sim, '/sim/reset', {});
      await a.gateway.session.refresh();
      assert.equal(a.gateway.session.state, 'authenticated');
      assert.ok(await requested(sim, 'GET /iserver/account/orders'), 'the next login warms up live orders again');
      assert.ok(await requested(sim, 'GET /portfolio/accounts'), 'the account list is read again for the new session');
    } finally {
      await a.close();
    }
  });

  test('a DF… account without IB isPaper: the same mode in the banner, the status, account info and orders', async () => {
    await control(sim, '/sim/session', { authenticated: true });
    const saved = sim.state.accounts.map((x) => ({ ...x }));
    sim.state.accounts.splice(1);
    const acct = sim.state.accounts[0]!;
    acct.id = 'DF1234567';
    acct.type = 'INDIVIDUAL';
    (acct as { isPaper?: boolean }).isPaper = undefined;
    sim.state.session.selectedAccount = acct.id;
    const a = await app(sim);
    try {
      await a.gateway.session.refresh();
      assert.equal(a.gateway.session.state, 'authenticated');
      const banner = a.mode();
      const status = a.gateway.session.snapshot().mode;
      const [info] = await a.backend.listAccounts();
      const svc = new OrderService({
        backend: a.backend,
        home: a.config.home,
        safety: DEFAULT_SAFETY,
        simulated: false,
      });
      const orders = svc.modeOf(acct.id, await svc.accounts({}, true));
      assert.equal(info?.id, acct.id);
      assert.deepEqual(
        { banner, status, accountInfo: info?.paper ? 'PAPER' : 'LIVE', orders },
        { banner: 'PAPER', status: 'PAPER', accountInfo: 'PAPER', orders: 'PAPER' },
      );
    } finally {
      await a.close();
      sim.state.accounts.splice(0, sim.state.accounts.length, ...saved);
      sim.state.session.selectedAccount = saved[0]!.id;
    }
  });
});
