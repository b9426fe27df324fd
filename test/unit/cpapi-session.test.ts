/**
 * The IB session's life cycle as the running server wires it (createApp against the in-process
 * simulator): login → accounts → warm-up; an expiry seen by the keep-alive drops the per-session
 * caches and the next login warms up again.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Agent, fetch } from 'undici';
import { loadConfig } from '../../src/config/index.js';
import { silentLogger } from '../../src/log.js';
import { type App, createApp } from '../../src/runtime.js';
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
});
