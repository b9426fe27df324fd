import assert from 'node:assert/strict';
import { request } from 'node:https';
import { after, before, describe, test } from 'node:test';
import { fetch } from 'undici';
import { type SimulatorHandle, startSimulator } from '../../src/simulator/index.js';
import { call, dispatcher } from './sim-client.js';

describe('simulator session', () => {
  let sim: SimulatorHandle;
  before(async () => {
    sim = await startSimulator({ pacing: false });
  });
  after(() => sim.close());

  test('auth status answers GET and POST with the gateway shape', async () => {
    for (const m of ['GET', 'POST']) {
      const r = await call(sim, m, '/iserver/auth/status');
      assert.equal(r.status, 200);
      assert.equal(r.body.authenticated, true);
      assert.equal(r.body.connected, true);
      assert.equal(r.body.competing, false);
      assert.equal(typeof r.body.MAC, 'string');
      assert.equal(typeof r.body.serverInfo.serverName, 'string');
    }
  });

  test('tickle has a 32-hex session, collission and ssoExpires', async () => {
    const r = await call(sim, 'POST', '/tickle');
    assert.equal(r.status, 200);
    assert.match(r.body.session, /^[0-9a-f]{32}$/);
    assert.equal(r.body.collission, false);
    assert.equal(typeof r.body.ssoExpires, 'number');
    assert.equal(r.body.iserver.authStatus.authenticated, true);
    const g = await call(sim, 'GET', '/tickle');
    assert.equal(g.status, 200);
  });

  test('accounts first, then the account list', async () => {
    const first = await call(sim, 'GET', '/iserver/marketdata/snapshot?conids=265598&fields=31');
    assert.equal(first.status, 400);
    assert.deepEqual(first.body, { error: 'Bad Request: Please query /accounts first', statusCode: 400 });
    const acc = await call(sim, 'GET', '/iserver/accounts');
    assert.equal(acc.status, 200);
    assert.deepEqual(acc.body.accounts, ['DU1234567', 'DU7654321', 'DU5550001']);
    assert.equal(acc.body.isPaper, true);
    assert.equal(acc.body.selectedAccount, 'DU1234567');
    assert.equal(acc.body.aliases.DU1234567, 'DU1234567');
    assert.equal(typeof acc.body.acctProps.DU1234567.supportsFractions, 'boolean');
    assert.ok(Array.isArray(acc.body.chartPeriods.OPT));
    const snap = await call(sim, 'GET', '/iserver/marketdata/snapshot?conids=265598&fields=31');
    assert.equal(snap.status, 200);
    const pa = await call(sim, 'GET', '/portfolio/accounts');
    assert.equal(pa.status, 200);
    assert.equal(pa.body[0].accountId, 'DU1234567');
    assert.equal(pa.body[0].type, 'DEMO');
    const sso = await call(sim, 'GET', '/sso/validate');
    assert.equal(sso.body.LOGIN_TYPE, 2);
  });

  test('logout → 401 everywhere; ssodh/init logs back in with a fresh session', async () => {
    const before = (await call(sim, 'POST', '/tickle')).body.session;
    const out = await call(sim, 'POST', '/logout');
    assert.deepEqual(out.body, { status: true });
    for (const p of [
      '/iserver/accounts',
      '/portfolio/accounts',
      '/tickle',
      '/iserver/secdef/search?symbol=AAPL',
      '/nope',
    ]) {
      const r = await call(sim, 'GET', p);
      assert.equal(r.status, 401, p);
      assert.deepEqual(r.body, { error: 'not authenticated', statusCode: 401 });
    }
    const st = await call(sim, 'POST', '/iserver/auth/status');
    assert.equal(st.status, 200);
    assert.equal(st.body.authenticated, false);
    assert.equal(st.body.connected, false);
    const init = await call(sim, 'POST', '/iserver/auth/ssodh/init', { publish: true, compete: true });
    assert.equal(init.status, 200);
    assert.equal(init.body.authenticated, true);
    const after = (await call(sim, 'POST', '/tickle')).body.session;
    assert.notEqual(after, before);
    // The new session must query /accounts again.
    const snap = await call(sim, 'GET', '/iserver/marketdata/snapshot?conids=265598&fields=31');
    assert.equal(snap.status, 400);
    const re = await call(sim, 'POST', '/iserver/reauthenticate');
    assert.equal(re.status, 200);
    assert.equal(re.body.message, 'triggered');
  });

  test('competing session and no bridge', async () => {
    await call(sim, 'POST', '/sim/faults', { competing: true });
    const st = await call(sim, 'GET', '/iserver/auth/status');
    assert.equal(st.body.competing, true);
    assert.equal(st.body.authenticated, false);
    assert.equal((await call(sim, 'GET', '/iserver/accounts')).status, 401);
    assert.equal((await call(sim, 'GET', '/portfolio/accounts')).status, 200);
    await call(sim, 'POST', '/iserver/auth/ssodh/init', { compete: true });
    assert.equal((await call(sim, 'GET', '/iserver/accounts')).status, 200);
    await call(sim, 'POST', '/sim/faults', { noBridge: true });
    const nb = await call(sim, 'GET', '/iserver/accounts');
    assert.deepEqual(nb, { status: 400, body: { error: 'Bad Request: no bridge', statusCode: 400 } });
    await call(sim, 'POST', '/iserver/auth/ssodh/init', {});
    assert.equal((await call(sim, 'GET', '/iserver/accounts')).status, 200);
  });

  test('POST without Content-Length → 411; Content-Length 0 and JSON bodies are fine', async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const u = new URL(`${sim.apiBase}/tickle`);
      const req = request(
        {
          host: u.hostname,
          port: u.port,
          path: u.pathname,
          method: 'POST',
          rejectUnauthorized: false,
          headers: { 'Transfer-Encoding': 'chunked' },
        },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', reject);
      req.write('{}');
      req.end();
    });
    assert.equal(status, 411);
    const empty = await fetch(`${sim.apiBase}/iserver/auth/status`, {
      method: 'POST',
      dispatcher,
      headers: { 'content-length': '0' },
    });
    assert.equal(empty.status, 200);
    await empty.text();
    assert.equal((await call(sim, 'POST', '/iserver/auth/status', {})).status, 200);
  });
});

describe('simulator session lifetime', () => {
  test('starts logged out when asked; /sim/session logs in and out', async () => {
    const sim = await startSimulator({ authenticated: false, pacing: false, tls: false });
    try {
      assert.ok(sim.url.startsWith('http://'));
      assert.equal((await call(sim, 'GET', '/iserver/accounts')).status, 401);
      const s = await call(sim, 'POST', '/sim/session', { authenticated: true });
      assert.equal(s.body.authenticated, true);
      assert.equal((await call(sim, 'GET', '/iserver/accounts')).status, 200);
      await call(sim, 'POST', '/sim/session', { authenticated: false });
      assert.equal((await call(sim, 'GET', '/iserver/accounts')).status, 401);
    } finally {
      await sim.close();
    }
  });

  test('inactivity expires the session; requests keep it alive', async () => {
    const sim = await startSimulator({ sessionTimeoutMs: 300, pacing: false });
    try {
      for (let i = 0; i < 3; i++) {
        await new Promise((r) => setTimeout(r, 150));
        assert.equal((await call(sim, 'GET', '/iserver/auth/status')).body.authenticated, true);
      }
      await new Promise((r) => setTimeout(r, 450));
      const r = await call(sim, 'GET', '/iserver/accounts');
      assert.equal(r.status, 401);
      assert.equal((await call(sim, 'POST', '/iserver/auth/ssodh/init', {})).body.authenticated, true);
      assert.equal((await call(sim, 'GET', '/iserver/accounts')).status, 200);
      await call(sim, 'POST', '/sim/faults', { expireSession: true });
      assert.equal((await call(sim, 'GET', '/iserver/accounts')).status, 401);
    } finally {
      await sim.close();
    }
  });
});
