import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Pacer } from '../../src/backends/cpapi/limiter.js';

/** Lets every granted waiter run: the clock is injected, so no test here waits real time. */
const settle = () => new Promise((r) => setImmediate(r));

describe('cpapi pacer', () => {
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
    await settle();
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
    await settle();
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
    await settle();
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

  it('a background request a tool call comes to share goes at once when promoted', async () => {
    const pacer = new Pacer({
      maxPerWindow: 10,
      headroom: 1,
      windowMs: 1000,
      marginMs: 0,
      endpoints: {},
      now: () => 0,
    });
    for (let i = 0; i < 2; i++) (await pacer.acquire('/fg'))();
    let shared = false;
    let bg = false;
    const background = pacer.acquire('/orders', undefined, { background: () => !shared }).then((r) => {
      bg = true;
      return r;
    });
    await settle();
    assert.equal(bg, false, 'waits for a quiet window while nobody waits for it');
    shared = true;
    pacer.promoted();
    (await background)();
    assert.equal(bg, true, 'granted in the same busy window');
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
      await settle();
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
      await settle();
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

  it('a restart remembers when the paced endpoints were last answered (no 429 from our own last run)', async () => {
    // The e2e restart test once earned IB's penalty box: the new process read live orders 1 s
    // after the old one had, and IB allows one read per 5 s.
    let now = 100_000;
    const stored: Record<string, number> = {};
    const memory = {
      load: () => ({ ...stored }),
      save: (key: string, at: number) => {
        stored[key] = at;
      },
    };
    const first = new Pacer({ now: () => now, memory });
    (await first.acquire('/iserver/account/orders'))();
    (await first.acquire('/iserver/accounts'))();
    first.close();
    assert.deepEqual(Object.keys(stored), ['/iserver/account/orders']);
    now += 1000;
    const second = new Pacer({ now: () => now, memory });
    let done = false;
    const read = second.acquire('/iserver/account/orders').then((release) => {
      done = true;
      release();
    });
    await settle();
    assert.equal(done, false, 'waits out the 5 s the last run started');
    now += 4200;
    second.tick();
    await read;
    assert.equal(done, true);
    second.close();
  });
});
