/**
 * Held quotes (what an ibkr://quote subscription takes) against the simulator's WebSocket with
 * shortened timers: IB ends a market-data stream silently after its lifetime (here 1.5 s) and the
 * client renews it (here every 1 s), so updates go on; held lines are never given up for another
 * conid, a full set refuses, and a release frees the line at the simulator.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type CpapiBackend, createCpapiBackend } from '../../src/backends/cpapi/index.js';
import { Pacer } from '../../src/backends/cpapi/limiter.js';
import { CpapiStream } from '../../src/backends/cpapi/stream.js';
import { BrokerError } from '../../src/broker/errors.js';
import { type SimulatorHandle, startSimulator } from '../../src/simulator/index.js';
import { simWs } from '../../src/simulator/ws.js';
import { aaplOrder } from './stream-scenario.js';

const AAPL = 265598;
const MSFT = 272093;
const IBM = 8314;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('held quotes: smd renewal, line limit, release', () => {
  let sim: SimulatorHandle;
  let b: CpapiBackend;
  const clock = (advanceMs: number) =>
    fetch(`${sim.url}/sim/clock`, {
      method: 'POST',
      body: JSON.stringify({ advanceMs }),
      headers: { 'content-type': 'application/json' },
    });
  const lines = () => simWs(sim.state).lines();

  before(async () => {
    sim = await startSimulator({
      seed: 5,
      pacing: false,
      tls: false,
      ws: { hbMs: 100, tickMs: 20, smdLifetimeMs: 1500 },
    });
    b = createCpapiBackend({
      baseUrl: sim.url,
      pacer: new Pacer({ endpoints: {}, maxPerWindow: 1000 }),
      timeoutMs: 8000,
      stream: { staleMs: 400, smdRenewMs: 1000, echoMs: 200, ticMs: 1000, backoffMs: [50, 100, 200] },
    });
    await b.session.loggedIn();
    b.session.ready();
    const end = Date.now() + 3000;
    while (b.pushStatus().state !== 'open' && Date.now() < end) await sleep(20);
  });
  after(async () => {
    await b.close();
    await sim.close();
  });

  test('updates go on past two smd lifetimes: the client renews before IB ends the stream', async () => {
    const at: number[] = [];
    const release = b.watchQuote(AAPL, ['last', 'bid', 'ask'], () => at.push(Date.now()));
    try {
      const t0 = Date.now();
      // Move market time every 200 ms for 4 s (the simulator's lifetime is 1.5 s).
      while (Date.now() - t0 < 4000) {
        await clock(60_000);
        await sleep(200);
      }
      const late = at.filter((t) => t - t0 > 3200);
      assert.ok(late.length > 0, `updates after 3.2 s: ${at.map((t) => t - t0).join(',')}`);
      let worst = 0;
      for (let i = 1; i < at.length; i++) worst = Math.max(worst, at[i]! - at[i - 1]!);
      assert.ok(worst < 1000, `worst gap ${worst} ms`);
    } finally {
      release();
    }
  });

  test('a release sends umd: the simulator frees the line', async () => {
    const release = b.watchQuote(MSFT, ['last'], () => {});
    const end = Date.now() + 2000;
    while (lines() === 0 && Date.now() < end) await sleep(20);
    assert.equal(lines(), 1);
    release();
    release(); // a second release is harmless
    await sleep(200);
    assert.equal(lines(), 0);
  });

  test('held lines are not given up for another conid; all held: refused', async () => {
    const sim2 = sim;
    const st = new CpapiStream({
      apiUrl: sim2.apiBase,
      cookies: () => `api=${sim2.state.session.id}`,
      sessionToken: async () => undefined,
      timers: { maxQuotes: 2 },
    });
    try {
      st.start();
      const releaseA = st.holdQuote(AAPL, ['31']);
      st.holdQuote(IBM, ['31']);
      // An ordinary (unheld) stream cannot take a held line.
      assert.equal(st.subscribeQuote(MSFT, ['31']), false);
      assert.throws(() => st.holdQuote(MSFT, ['31']), /All 2 streamed market-data lines are held/);
      releaseA();
      assert.ok(st.holdQuote(MSFT, ['31']));
      assert.deepEqual(
        [...st.quotes.keys()].sort((x, y) => x - y),
        [IBM, MSFT],
      );
      assert.equal(st.status().held, 2);
    } finally {
      await st.close();
    }
    // Through the backend the refusal is a broker error the client can act on.
    const own = createCpapiBackend({
      baseUrl: sim.url,
      pacer: new Pacer({ endpoints: {}, maxPerWindow: 1000 }),
      stream: { maxQuotes: 1 },
    });
    try {
      own.watchQuote(AAPL, ['last'], () => {});
      assert.throws(
        () => own.watchQuote(MSFT, ['last'], () => {}),
        (e: unknown) => e instanceof BrokerError && e.code === 'RATE_LIMITED' && /Unsubscribe/.test(e.hint ?? ''),
      );
    } finally {
      await own.close();
    }
  });
});

describe('selecting another account re-subscribes live orders', () => {
  test("IB scopes sor to the selected account: the stream's list waits for a new seed", async () => {
    const sim = await startSimulator({ seed: 9, pacing: false, tls: false, ws: { hbMs: 100, tickMs: 20 } });
    const b = createCpapiBackend({
      baseUrl: sim.url,
      pacer: new Pacer({ endpoints: {}, maxPerWindow: 1000 }),
      timeoutMs: 8000,
      sleep: async () => {},
      stream: { staleMs: 2000, backoffMs: [50, 100, 200] },
    });
    try {
      await b.session.loggedIn();
      b.session.ready();
      const seeded = async () => {
        const end = Date.now() + 5000;
        while (!b.stream!.orders() && Date.now() < end) await sleep(20);
        return b.stream!.orders() !== undefined;
      };
      // A resting order of the selected account, listed from the stream.
      let p = await b.placeOrder(aaplOrder(`scope-${Date.now()}`, { orderType: 'LMT', limitPrice: 1, tif: 'GTC' }));
      if (p.kind === 'questions') p = await b.reply(p.question.replyId, true);
      assert.equal(p.kind, 'placed');
      await b.liveOrders();
      assert.ok(await seeded(), 'seeded after the first list read');
      assert.ok(b.stream!.orders()!.rows.some((r) => String(r['acct']) === 'DU1234567'));
      const before = sim.state.session.selectedAccount;
      // A read scoped to another account (P&L, orders of it) selects it: POST /iserver/account.
      await b.session.forAccount('DU7654321', undefined, async () => {});
      assert.notEqual(sim.state.session.selectedAccount, before);
      assert.equal(sim.state.session.selectedAccount, 'DU7654321');
      // The background seed after the new sor subscription makes the stream answer again.
      assert.ok(await seeded(), 'seeded again for the newly selected account');
      const rows = b.stream!.orders()!.rows;
      assert.ok(
        rows.every((r) => String(r['acct'] ?? r['account']) === 'DU7654321'),
        JSON.stringify(rows).slice(0, 300),
      );
    } finally {
      await b.close();
      await sim.close();
    }
  });
});
