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

  it('accepts an injected clock', async () => {
    let now = 1_000;
    const pacer = new Pacer({
      maxPerWindow: 2,
      headroom: 0,
      windowMs: 1_000_000,
      marginMs: 0,
      endpoints: {},
      now: () => now,
    });
    (await pacer.acquire('/c'))();
    (await pacer.acquire('/c'))();
    let done = false;
    const third = pacer.acquire('/c').then(() => {
      done = true;
    });
    await wait(10);
    assert.equal(done, false);
    now += 1_000_001;
    pacer.tick();
    await third;
    assert.equal(done, true);
    pacer.close();
  });

  it('a request holds its slot until it is answered, then for a whole window', async () => {
    let now = 0;
    const pacer = new Pacer({
      maxPerWindow: 1,
      headroom: 0,
      windowMs: 1000,
      marginMs: 0,
      endpoints: {},
      now: () => now,
    });
    const release = await pacer.acquire('/a');
    let granted = false;
    const next = pacer.acquire('/b').then((r) => {
      granted = true;
      return r;
    });
    // Sent at 0 but answered at 800: IB may have counted it as late as 800.
    now = 800;
    release();
    now = 1000;
    pacer.tick();
    await wait(10);
    assert.equal(granted, false, 'not free 1000 ms after the send');
    now = 1801;
    pacer.tick();
    (await next)();
    assert.equal(granted, true, 'free 1000 ms after the answer');
    pacer.close();
  });
});

describe('cpapi pacer: background work', () => {
  it('runs only in a quiet window and never ahead of a tool call', async () => {
    let now = 0;
    const pacer = new Pacer({
      maxPerWindow: 10,
      headroom: 1,
      windowMs: 1000,
      marginMs: 0,
      endpoints: {},
      now: () => now,
    });
    // Two foreground requests answered: the window holds 2 of 9 slots, past the background's share.
    for (let i = 0; i < 2; i++) (await pacer.acquire('/fg'))();
    let bg = false;
    const background = pacer.acquire('/bg', undefined, { background: true }).then((r) => {
      bg = true;
      return r;
    });
    await wait(10);
    assert.equal(bg, false, 'background waits while the window is busy');
    // A tool call behind it is served at once.
    (await pacer.acquire('/fg'))();
    assert.equal(bg, false);
    now = 1001;
    pacer.tick();
    (await background)();
    assert.equal(bg, true, 'background runs once the window is quiet');
    pacer.close();
  });
});

describe('cpapi pacer: fairness between calls', () => {
  /** Runs `body` with a pacer on a hand-driven clock (2 requests per 1000 ms window), closed whatever happens. */
  async function withRig(
    body: (r: {
      order: string[];
      take: (who: string, signal?: AbortSignal) => Promise<void>;
      nextWindow: () => Promise<void>;
    }) => Promise<void>,
  ): Promise<void> {
    let now = 0;
    const pacer = new Pacer({
      maxPerWindow: 2,
      headroom: 0,
      windowMs: 1000,
      marginMs: 0,
      endpoints: {},
      now: () => now,
    });
    const order: string[] = [];
    const take = (who: string, signal?: AbortSignal) =>
      pacer.acquire('/iserver/secdef/search', signal).then((release) => {
        order.push(who);
        release();
      });
    // The next window: every slot frees, and the queue is served again.
    const nextWindow = async () => {
      now += 1000;
      pacer.tick();
      await wait(5);
    };
    try {
      await body({ order, take, nextWindow });
    } finally {
      pacer.close();
    }
  }

  it("a call with 100 queued requests does not hold a later call's request behind them", () =>
    withRig(async ({ order, take, nextWindow }) => {
      const big = new AbortController();
      const small = new AbortController();
      const bigDone = Promise.all(Array.from({ length: 100 }, () => take('big', big.signal)));
      bigDone.catch(() => undefined);
      await wait(5);
      assert.deepEqual(order, ['big', 'big'], 'the first window goes to the call that asked first');
      const smallDone = take('small', small.signal);
      smallDone.catch(() => undefined);
      await nextWindow();
      // The small call's single request takes one of the next two slots, not the 101st.
      const at = order.indexOf('small');
      assert.ok(at >= 2 && at <= 3, `small served at ${at}: ${order.join(',')}`);
    }));

  it('alternates between calls that both have requests queued, each in its own order', () =>
    withRig(async ({ order, take, nextWindow }) => {
      const a = new AbortController();
      const b = new AbortController();
      const all = Promise.all([
        ...Array.from({ length: 6 }, (_, i) => take(`a${i}`, a.signal)),
        ...Array.from({ length: 3 }, (_, i) => take(`b${i}`, b.signal)),
      ]);
      all.catch(() => undefined);
      for (let i = 0; i < 5; i++) await nextWindow();
      assert.deepEqual(order, ['a0', 'a1', 'b0', 'a2', 'b1', 'a3', 'b2', 'a4', 'a5']);
    }));

  it('requests without a signal count as one caller, served first in, first out among themselves', () =>
    withRig(async ({ order, take, nextWindow }) => {
      const all = Promise.all(Array.from({ length: 4 }, (_, i) => take(`n${i}`)));
      all.catch(() => undefined);
      for (let i = 0; i < 2; i++) await nextWindow();
      assert.deepEqual(order, ['n0', 'n1', 'n2', 'n3']);
    }));
});
