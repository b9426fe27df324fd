/**
 * IB counts every client of a gateway against one budget of 10 requests per second, and a 429
 * can put the IP in a 15-minute penalty box. Our pacer leaves headroom for another client (IB's
 * web portal, a second tool) and backs off after a 429 (issue 13 item 10).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { CpapiHttp } from '../../src/backends/cpapi/http.js';
import { Pacer } from '../../src/backends/cpapi/limiter.js';
import { BrokerError } from '../../src/broker/errors.js';
import { type SimulatorHandle, startSimulator } from '../../src/simulator/index.js';

describe('pacing with another client on the same gateway', () => {
  let sim: SimulatorHandle;
  before(async () => {
    // The default simulator: IB's pacing with its 15-minute penalty box, so one 429 of anyone's
    // (the other client's too) would refuse all of ours afterwards.
    sim = await startSimulator({ port: 0, seed: 9, tls: false });
    assert.equal(sim.state.faults.penaltyBoxMs, 15 * 60_000);
  });
  after(async () => {
    await sim.close();
  });

  test('a 500-call burst of ours while another client sends 2/s: 0 of ours answered 429', async () => {
    const http = new CpapiHttp({ baseUrl: sim.url, pacer: new Pacer(), maxRetries: 0 });
    let theirs429 = 0;
    let theirs = 0;
    let running = true;
    // The other client: a request every 500 ms, as a portal page polling would.
    const other = (async () => {
      while (running) {
        const res = await fetch(`${sim.url}/v1/api/iserver/accounts`);
        await res.arrayBuffer();
        theirs++;
        if (res.status === 429) theirs429++;
        await new Promise((r) => setTimeout(r, 500));
      }
    })();
    await fetch(`${sim.url}/sim/reset`, { method: 'POST', body: '{}' });
    let ours429 = 0;
    await Promise.all(
      Array.from({ length: 500 }, () =>
        http.get('/iserver/accounts').catch((err: unknown) => {
          if (err instanceof BrokerError && err.code === 'RATE_LIMITED') ours429++;
          else throw err;
        }),
      ),
    );
    running = false;
    await other;
    const stats = (await (await fetch(`${sim.url}/sim/stats`)).json()) as { status429: number };
    assert.ok(theirs > 50, `the other client sent ${theirs}`);
    assert.equal(ours429, 0);
    assert.equal(stats.status429 - theirs429, 0, 'requests of ours answered 429');
    assert.equal(theirs429, 0, "the other client's requests answered 429");
    assert.equal(sim.state.faults.penaltyUntil, 0, 'the penalty box never started');
    assert.ok((sim.state.stats.byEndpoint['GET /iserver/accounts'] ?? 0) >= 500, 'all 500 of ours reached IB');
    await http.close();
  });
});

describe('after a 429 the pacer slows down and, if the gateway keeps refusing, stops', () => {
  test('backoff doubles, the budget halves, three 429s in a minute stop sending with an error', async () => {
    let now = 1_000_000;
    const pacer = new Pacer({ now: () => now, endpoints: {} });
    assert.equal(pacer.effectiveLimit.requests, 8, 'headroom by default: 8 of the 10 per second');
    pacer.rejected();
    const start = now;
    let granted = false;
    const waiting = pacer.acquire('/x').then((release) => {
      granted = true;
      release();
    });
    now += 900;
    pacer.tick();
    await new Promise((r) => setImmediate(r));
    assert.equal(granted, false, 'held back for at least 1 s after a 429');
    now = start + 1001;
    pacer.tick();
    await waiting;
    pacer.rejected();
    pacer.rejected();
    assert.ok(pacer.stoppedUntilMs !== undefined);
    await assert.rejects(
      pacer.acquire('/x'),
      (e: unknown) => e instanceof BrokerError && e.code === 'RATE_LIMITED' && /stopped sending/.test(e.message),
    );
    now += 61_000;
    const release = await pacer.acquire('/x');
    release();
    pacer.close();
  });
});

describe("a read's own 429 retries never stop the pacer", () => {
  test('one call refused by 429 on a quiet gateway: RATE_LIMITED, no stop; the next call after the pause works', async () => {
    const sim = await startSimulator({ port: 0, seed: 9, tls: false, pacing: false });
    const http = new CpapiHttp({ baseUrl: sim.url, pacer: new Pacer() });
    try {
      await http.get('/iserver/accounts');
      await fetch(`${sim.url}/sim/faults`, {
        method: 'POST',
        body: JSON.stringify({ fail: { endpoint: 'GET /iserver/accounts', status: 429, count: 20 } }),
        headers: { 'content-type': 'application/json' },
      });
      await assert.rejects(
        http.get('/iserver/accounts'),
        (e: unknown) => e instanceof BrokerError && e.code === 'RATE_LIMITED',
      );
      // Two attempts, two 429s: the stop (three in a row) is for a gateway that refuses call after call.
      assert.equal(http.pacer.stoppedUntilMs, undefined, 'stopped by one call');
      await fetch(`${sim.url}/sim/faults`, {
        method: 'POST',
        body: '{"clear":true}',
        headers: { 'content-type': 'application/json' },
      });
      assert.equal((await http.get('/iserver/accounts')).status, 200);
    } finally {
      await http.close();
      await sim.close();
    }
  });
});
