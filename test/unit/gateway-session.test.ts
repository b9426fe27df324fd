/** Daily-reset detection of the session state machine (pure; the machine itself is in test/integration). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AuthState, BrokerSession } from '../../src/broker/session.js';
import { looksLikeDailyReset, SessionManager } from '../../src/gateway/session.js';

test('daily reset detection: around midnight New York / Zug / Hong Kong, or after ~24 h', () => {
  assert.equal(looksLikeDailyReset(Date.parse('2026-01-15T05:10:00Z')), true); // 00:10 New York (EST)
  assert.equal(looksLikeDailyReset(Date.parse('2026-07-15T22:05:00Z')), true); // 00:05 Zug (CEST)
  assert.equal(looksLikeDailyReset(Date.parse('2026-01-15T16:20:00Z')), true); // 00:20 Hong Kong
  assert.equal(looksLikeDailyReset(Date.parse('2026-01-15T14:00:00Z')), false);
  const t = Date.parse('2026-01-15T14:00:00Z');
  assert.equal(looksLikeDailyReset(t, t - 24 * 3600_000), true);
});

/** A broker whose brokerage session is lost; ssodh/init answers when `release` is called. */
function lostBrokerage() {
  const sso: AuthState = { authenticated: false, competing: false, connected: true };
  const up: AuthState = { authenticated: true, competing: false, connected: true };
  let state: AuthState = up;
  const pendingInit: Array<() => void> = [];
  let inits = 0;
  const broker: BrokerSession = {
    authStatus: async () => state,
    keepAlive: async () => ({ auth: state }),
    openBrokerageSession: async () => {
      inits += 1;
      await new Promise<void>((r) => pendingInit.push(r));
      state = up;
      return up;
    },
    loggedIn: async () => ({ accounts: ['DU1'], mode: 'PAPER' }),
    ready: () => {},
    reset: () => {},
  };
  return {
    broker,
    lose: () => {
      state = sso;
    },
    release: () => {
      for (const r of pendingInit.splice(0)) r();
    },
    inits: () => inits,
    waitForInit: async () => {
      while (pendingInit.length === 0) await new Promise((r) => setImmediate(r));
    },
  };
}

test('a keep-alive while the brokerage session is being re-opened waits for it instead of reporting expiry', async () => {
  const b = lostBrokerage();
  const m = new SessionManager({ broker: b.broker, gatewayUrl: 'https://localhost:1', keepaliveMs: 3_600_000 });
  await m.refresh();
  assert.equal(m.state, 'authenticated');
  b.lose();
  const first = m.tickle();
  await b.waitForInit();
  // A second check lands while ssodh/init runs (the keep-alive fires every second in the failing CI run).
  const second = m.tickle();
  await new Promise((r) => setImmediate(r));
  assert.equal(m.state, 'authenticated', 'not reported expired while re-opening');
  b.release();
  await Promise.all([first, second]);
  assert.equal(m.state, 'authenticated');
  assert.equal(b.inits(), 1, 'one ssodh/init');
  await m.close();
});

test('an answer asked before the brokerage session was re-opened is out of date', async () => {
  const b = lostBrokerage();
  const m = new SessionManager({ broker: b.broker, gatewayUrl: 'https://localhost:1', keepaliveMs: 3_600_000 });
  await m.refresh();
  b.lose();
  // The keep-alive's answer (no brokerage session) is read, then ssodh/init re-opens it before it is applied.
  const keepAlive = b.broker.keepAlive;
  let stale: (() => void) | undefined;
  b.broker.keepAlive = async () => {
    const a = await keepAlive();
    await new Promise<void>((r) => {
      stale = r;
    });
    return a;
  };
  const late = m.tickle();
  b.broker.keepAlive = keepAlive;
  const reopen = m.tickle();
  await b.waitForInit();
  b.release();
  await reopen;
  assert.equal(m.state, 'authenticated');
  while (!stale) await new Promise((r) => setImmediate(r));
  stale();
  await late;
  assert.equal(m.state, 'authenticated', 'the stale answer did not end the session');
  await m.close();
});

test('OAuth: a status without an SSO login still opens the brokerage session (the token is the login)', async () => {
  const none: AuthState = { authenticated: false, competing: false, connected: false };
  const up: AuthState = { authenticated: true, competing: false, connected: true };
  let state = none;
  let inits = 0;
  const broker: BrokerSession = {
    authStatus: async () => state,
    keepAlive: async () => ({ auth: state }),
    openBrokerageSession: async () => {
      inits += 1;
      state = up;
      return up;
    },
    loggedIn: async () => ({ accounts: ['DU1'], mode: 'PAPER' }),
    ready: () => {},
    reset: () => {},
  };
  const oauth = { method: 'oauth' as const, run: async () => ({ ok: true as const }) };
  const m = new SessionManager({ broker, gatewayUrl: 'https://api', keepaliveMs: 3_600_000, loginDriver: oauth });
  await m.refresh();
  assert.equal(m.state, 'authenticated');
  assert.equal(inits, 1);
  assert.equal(m.snapshot().login.method, 'oauth');
  await m.close();
});
