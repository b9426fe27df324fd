import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Pool } from 'undici';
import { startSimulator } from '../../src/simulator/index.js';
import { call } from './sim-client.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('global 10 requests/s → 429, counted in /sim/stats; /sim is never paced', async () => {
  // Without the penalty box, to see the window reopen after a second.
  const sim = await startSimulator({ penaltyBoxMs: 0 });
  try {
    const rs = await Promise.all(Array.from({ length: 15 }, () => call(sim, 'GET', '/iserver/auth/status')));
    const ok = rs.filter((r) => r.status === 200).length;
    const limited = rs.filter((r) => r.status === 429);
    assert.equal(ok, 10);
    assert.equal(limited.length, 5);
    assert.deepEqual(limited[0]?.body, { error: 'Too many requests', statusCode: 429 });
    for (let i = 0; i < 20; i++) assert.equal((await call(sim, 'GET', '/sim/stats')).status, 200);
    const stats = (await call(sim, 'GET', '/sim/stats')).body;
    assert.equal(stats.total, 15);
    assert.equal(stats.status429, 5);
    assert.equal(stats.byStatus['429'], 5);
    assert.equal(stats.byStatus['200'], 10);
    assert.equal(stats.byEndpoint['GET /iserver/auth/status'], 15);
    await sleep(1050);
    assert.equal((await call(sim, 'GET', '/iserver/auth/status')).status, 200);
    await call(sim, 'POST', '/sim/reset');
    assert.equal((await call(sim, 'GET', '/sim/stats')).body.total, 0);
  } finally {
    await sim.close();
  }
});

test("by default a 429 puts the caller in IB's 15-minute penalty box", async () => {
  const sim = await startSimulator();
  try {
    assert.equal((await call(sim, 'GET', '/sim/faults')).body.penaltyBoxMs, 15 * 60_000);
    assert.equal((await call(sim, 'GET', '/portfolio/accounts')).status, 200);
    assert.equal((await call(sim, 'GET', '/portfolio/accounts')).status, 429);
    await sleep(1050);
    // Any endpoint, long after every window reopened: still refused.
    assert.equal((await call(sim, 'GET', '/iserver/auth/status')).status, 429);
    await call(sim, 'POST', '/sim/faults', { penaltyBoxMs: 0 });
    assert.equal((await call(sim, 'GET', '/iserver/auth/status')).status, 200);
  } finally {
    await sim.close();
  }
});

test('per-endpoint pacing and the pacing switch', async () => {
  const sim = await startSimulator({ penaltyBoxMs: 0 });
  try {
    assert.equal((await call(sim, 'GET', '/portfolio/accounts')).status, 200);
    assert.equal((await call(sim, 'GET', '/portfolio/accounts')).status, 429);
    assert.equal((await call(sim, 'POST', '/tickle')).status, 200);
    assert.equal((await call(sim, 'GET', '/tickle')).status, 429);
    await call(sim, 'POST', '/sim/faults', { pacing: false });
    assert.equal((await call(sim, 'GET', '/portfolio/accounts')).status, 200);
    await call(sim, 'POST', '/sim/faults', { clear: true });
    assert.equal((await call(sim, 'GET', '/sim/faults')).body.pacing, true);
  } finally {
    await sim.close();
  }
});

test('stats use route patterns', async () => {
  const sim = await startSimulator({ pacing: false });
  try {
    await call(sim, 'GET', '/iserver/contract/265598/info');
    await call(sim, 'GET', '/iserver/contract/8314/info');
    const stats = (await call(sim, 'GET', '/sim/stats')).body;
    assert.equal(stats.byEndpoint['GET /iserver/contract/:conid/info'], 2);
  } finally {
    await sim.close();
  }
});

test('faults: fail N, hang, latency; reset with state', async () => {
  const sim = await startSimulator({ pacing: false });
  try {
    await call(sim, 'GET', '/iserver/accounts');
    await call(sim, 'POST', '/sim/faults', {
      fail: { endpoint: 'GET /iserver/marketdata/snapshot', status: 503, count: 2 },
    });
    const q = '/iserver/marketdata/snapshot?conids=265598&fields=31';
    const f1 = await call(sim, 'GET', q);
    assert.deepEqual(f1, { status: 503, body: { error: 'simulated failure', statusCode: 503 } });
    assert.equal((await call(sim, 'GET', q)).status, 503);
    assert.equal((await call(sim, 'GET', q)).status, 200);

    await call(sim, 'POST', '/sim/faults', {
      fail: { endpoint: '/iserver/contract/:conid/info', status: 500, count: 1, body: { error: 'boom' } },
    });
    assert.deepEqual(await call(sim, 'GET', '/iserver/contract/8314/info'), { status: 500, body: { error: 'boom' } });

    await call(sim, 'POST', '/sim/faults', { hang: { endpoint: 'GET /iserver/accounts', count: 1 } });
    await assert.rejects(call(sim, 'GET', '/iserver/accounts', undefined, AbortSignal.timeout(300)));
    assert.equal((await call(sim, 'GET', '/iserver/accounts')).status, 200);

    await call(sim, 'POST', '/sim/faults', { latencyMs: 150 });
    let t0 = Date.now();
    await call(sim, 'GET', '/iserver/auth/status');
    assert.ok(Date.now() - t0 >= 140, 'latency applied');
    t0 = Date.now();
    await call(sim, 'GET', '/sim/stats');
    assert.ok(Date.now() - t0 < 140, 'control endpoints are not delayed');
    await call(sim, 'POST', '/sim/faults', { clear: true });
    t0 = Date.now();
    await call(sim, 'GET', '/iserver/auth/status');
    assert.ok(Date.now() - t0 < 140);

    await call(sim, 'POST', '/sim/reset', { state: true });
    assert.equal((await call(sim, 'GET', q)).status, 400, 'fresh session must query /accounts again');
  } finally {
    await sim.close();
  }
});

test('latencyMs option and prompt close with a hung request', async () => {
  const sim = await startSimulator({ latencyMs: 100, pacing: false });
  await call(sim, 'POST', '/sim/faults', { hang: { endpoint: '*', count: 1 } });
  const pending = call(sim, 'GET', '/iserver/auth/status').catch((e: unknown) => e);
  await sleep(50);
  const t0 = Date.now();
  await sim.close();
  assert.ok(Date.now() - t0 < 1000, 'close is prompt');
  assert.ok((await pending) instanceof Error);
});

test('clock control moves market time', async () => {
  const sim = await startSimulator({ pacing: false, startAt: Date.UTC(2026, 10, 20, 15, 0, 0) });
  try {
    const c = await call(sim, 'POST', '/sim/clock', { freeze: true });
    assert.equal(c.body.frozen, true);
    const moved = await call(sim, 'POST', '/sim/clock', { advanceMs: 60_000 });
    assert.equal(moved.body.now, c.body.now + 60_000);
  } finally {
    await sim.close();
  }
});

test('resetConnection: the client sees a reset socket, over HTTPS and HTTP, and the request is not processed', async () => {
  for (const tls of [true, false]) {
    const sim = await startSimulator({ pacing: false, tls });
    // One keep-alive connection, as IB's client uses: the reset must hit a socket that already served a request.
    const pool = new Pool(sim.url, { connections: 1, connect: { rejectUnauthorized: false } });
    const get = async (path: string) => {
      const res = await pool.request({ path: `/v1/api${path}`, method: 'GET' });
      return { status: res.statusCode, body: await res.body.text() };
    };
    try {
      assert.equal((await get('/iserver/accounts')).status, 200);
      await call(sim, 'POST', '/sim/faults', {
        resetConnection: { endpoint: 'GET /iserver/marketdata/snapshot', count: 1 },
      });
      let caught: unknown;
      try {
        const r = await get('/iserver/marketdata/snapshot?conids=265598&fields=31');
        caught = new Error(`answered HTTP ${r.status} ${r.body.slice(0, 100)}`);
      } catch (e) {
        caught = e;
      }
      const err = caught as { code?: string; message?: string };
      assert.ok(
        err.code === 'ECONNRESET' ||
          err.code === 'UND_ERR_SOCKET' ||
          /other side closed|ECONNRESET/.test(String(err.message)),
        `${tls ? 'https' : 'http'}: expected a socket error, got ${err.code} ${err.message}`,
      );
      // Not processed: no snapshot subscription was opened, and the next request works on a new connection.
      const info = (await call(sim, 'GET', '/sim/info')).body;
      assert.deepEqual(info.session.subscriptions, []);
      assert.equal((await get('/iserver/marketdata/snapshot?conids=265598&fields=31')).status, 200);
    } finally {
      await pool.close();
      await sim.close();
    }
  }
});
