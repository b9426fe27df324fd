import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Pacer } from '../../src/backends/cpapi/limiter.js';
import { BrokerError } from '../../src/broker/errors.js';

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('cpapi pacer', () => {
  it('keeps a global sliding window with headroom', async () => {
    const pacer = new Pacer({ maxPerWindow: 5, headroom: 1, windowMs: 100, marginMs: 0, endpoints: {} });
    assert.deepEqual(pacer.effectiveLimit, { requests: 4, windowMs: 100 });
    const t0 = Date.now();
    const times: number[] = [];
    await Promise.all(
      Array.from({ length: 12 }, async () => {
        const release = await pacer.acquire('/iserver/marketdata/snapshot?conids=1');
        times.push(Date.now() - t0);
        release();
      }),
    );
    times.sort((a, b) => a - b);
    // Never more than 4 grants within any 100 ms.
    for (let i = 4; i < times.length; i++) assert.ok((times[i] as number) - (times[i - 4] as number) >= 95, `${times}`);
    assert.ok((times[11] as number) >= 190, `12 grants need 3 windows: ${times}`);
    pacer.close();
  });

  it('serves waiters first in, first out', async () => {
    const pacer = new Pacer({ maxPerWindow: 2, headroom: 0, windowMs: 50, marginMs: 0, endpoints: {} });
    const order: number[] = [];
    await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        pacer.acquire('/x').then((release) => {
          order.push(i);
          release();
        }),
      ),
    );
    assert.deepEqual(order, [0, 1, 2, 3, 4, 5, 6, 7]);
    pacer.close();
  });

  it('enforces per-endpoint minimum intervals without blocking other endpoints', async () => {
    const pacer = new Pacer({ maxPerWindow: 100, endpoints: { '/tickle': { minIntervalMs: 80 } } });
    const t0 = Date.now();
    const got: Array<[string, number]> = [];
    const take = (p: string) =>
      pacer.acquire(p).then((r) => {
        got.push([p, Date.now() - t0]);
        r();
      });
    await Promise.all([take('/tickle'), take('/tickle'), take('/other'), take('/v1/api/tickle/')]);
    const tickles = got.filter(([p]) => p.includes('tickle')).map(([, t]) => t);
    const other = got.find(([p]) => p === '/other')?.[1] ?? -1;
    assert.equal(tickles.length, 3);
    assert.ok((tickles[1] as number) - (tickles[0] as number) >= 75, `${tickles}`);
    assert.ok((tickles[2] as number) - (tickles[1] as number) >= 75, `${tickles}`);
    assert.ok(other < 40, `other endpoint was held back: ${other}`);
    pacer.close();
  });

  it('caps concurrency for history until released', async () => {
    const pacer = new Pacer({ maxPerWindow: 100 });
    let inFlight = 0;
    let peak = 0;
    await Promise.all(
      Array.from({ length: 10 }, async () => {
        const release = await pacer.acquire('/iserver/marketdata/history?conid=1');
        inFlight++;
        peak = Math.max(peak, inFlight);
        await wait(15);
        inFlight--;
        release();
        release(); // idempotent
      }),
    );
    assert.equal(peak, 4);
    pacer.close();
  });

  it('aborts a waiting acquire and keeps serving others', async () => {
    const pacer = new Pacer({ maxPerWindow: 1, headroom: 0, windowMs: 60, marginMs: 0, endpoints: {} });
    (await pacer.acquire('/a'))();
    const ac = new AbortController();
    const aborted = pacer.acquire('/a', ac.signal);
    const next = pacer.acquire('/a');
    ac.abort();
    await assert.rejects(aborted, (e: unknown) => e instanceof BrokerError && e.code === 'CANCELLED');
    const t0 = Date.now();
    await next;
    assert.ok(Date.now() - t0 < 100);
    assert.equal(pacer.pending, 0);
    await assert.rejects(pacer.acquire('/a', AbortSignal.abort()), /cancelled/);
    pacer.close();
  });

  it('pauses everything after a 429 and rejects waiters on close', async () => {
    const pacer = new Pacer({ maxPerWindow: 100, endpoints: {} });
    pacer.pause(80);
    const t0 = Date.now();
    await pacer.acquire('/b');
    assert.ok(Date.now() - t0 >= 75);
    pacer.pause(10_000);
    const p = pacer.acquire('/b');
    pacer.close();
    await assert.rejects(p, (e: unknown) => e instanceof BrokerError && e.code === 'CANCELLED');
  });
});
