import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type CpapiBackend, createCpapiBackend } from '../../src/backends/cpapi/index.js';
import { Pacer } from '../../src/backends/cpapi/limiter.js';
import { CpapiStream } from '../../src/backends/cpapi/stream.js';
import type { OrderRequest } from '../../src/broker/orders.js';
import { type SimulatorHandle, startSimulator } from '../../src/simulator/index.js';
import { simWs } from '../../src/simulator/ws.js';
import { aaplOrder, faultSession } from './stream-scenario.js';

const AAPL = 265598;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const order = (n: number, over: Partial<OrderRequest> = {}) => aaplOrder(`stream-${n}-${Date.now()}`, over);

describe('the client WebSocket against the simulator (shortened timers)', () => {
  let sim: SimulatorHandle;
  let b: CpapiBackend;
  const stats = async () =>
    (await (await fetch(`${sim.url}/sim/stats`)).json()) as { total: number; byEndpoint: Record<string, number> };
  const faults = (body: unknown) =>
    fetch(`${sim.url}/sim/faults`, {
      method: 'POST',
      body: JSON.stringify(body),
      headers: { 'content-type': 'application/json' },
    });
  const until = async (pred: () => boolean, ms: number, what: string) => {
    const end = Date.now() + ms;
    while (!pred()) {
      if (Date.now() > end) throw new Error(`timed out: ${what}`);
      await sleep(10);
    }
  };

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
      sleep: async () => {},
      stream: { staleMs: 400, smdRenewMs: 1000, echoMs: 200, ticMs: 1000, backoffMs: [50, 100, 200] },
    });
    await b.session.loggedIn();
    b.session.ready();
  });
  after(async () => {
    await b.close();
    await sim.close();
  });

  test('live orders right after login come from the stream, the same as over REST', async () => {
    const placed = await b.placeOrder(order(1, { orderType: 'LMT', limitPrice: 1 }));
    assert.ok(placed.kind === 'questions' || placed.kind === 'placed');
    if (placed.kind === 'questions') await b.reply(placed.question.replyId, true);
    // Seeded by the warm-up's REST read (again after a reconnect): only then does it answer.
    await until(() => b.stream!.orders() !== undefined, 8000, 'order list seeded');
    const t0 = Date.now();
    const streamed = await b.liveOrders();
    const ms = Date.now() - t0;
    assert.ok(ms < 500, `${ms} ms`);
    assert.ok(streamed.length > 0);
    assert.ok(streamed.every((o) => o.source === 'stream'));
    b.stream!.stop();
    const rest = await b.liveOrders({ settled: true });
    assert.ok(rest.every((o) => o.source === 'request'));
    const strip = (l: typeof rest) =>
      l.map((o) => `${o.orderId}|${o.state}|${o.filled}|${o.quantity}|${o.symbol}`).sort();
    assert.deepEqual(strip(streamed), strip(rest));
    b.stream!.start();
    b.stream!.subscribeOrders();
    await b.stream!.waitForOrders(1000);
  });

  test('reads after this client changes an order show the change (read-your-writes)', async () => {
    let p = await b.placeOrder(order(2, { orderType: 'LMT', limitPrice: 1, tif: 'GTC' }));
    if (p.kind === 'questions') p = await b.reply(p.question.replyId, true);
    assert.equal(p.kind, 'placed');
    const id = p.kind === 'placed' ? p.orders[0]!.orderId : '';
    // Right after the placement the new order is listed.
    assert.ok((await b.liveOrders()).some((o) => o.orderId === id));
    let m = await b.modifyOrder(id, order(2, { orderType: 'LMT', limitPrice: 2, quantity: 3, tif: 'GTC' }));
    if (m.kind === 'questions') m = await b.reply(m.question.replyId, true);
    const after = await b.orderStatus(id);
    assert.equal(after.quantity, 3);
    assert.equal(after.limitPrice, 2);
    await b.cancelOrder('DU1234567', id);
    assert.equal((await b.orderStatus(id)).state, 'cancelled');
    // A question changes no order: the next read still comes from the stream.
    const q = await b.placeOrder(order(3, { orderType: 'LMT', limitPrice: 1, tif: 'GTC' }));
    assert.equal(q.kind, 'questions');
    const t0 = Date.now();
    const list = await b.liveOrders();
    assert.ok(list.every((o) => o.source === 'stream') && Date.now() - t0 < 200, `${Date.now() - t0} ms`);
  });

  test('a streamed quote is answered without a request', async () => {
    const first = await b.snapshot([AAPL, 8314], ['last', 'bid', 'ask']);
    assert.equal(first[0]!.source, 'request');
    await until(() => b.stream!.quote(AAPL, ['31', '84', '86', '6509']) !== undefined, 2000, 'stream quote');
    await until(() => b.stream!.quote(8314, ['31', '84', '86', '6509']) !== undefined, 2000, 'stream quote');
    const before = (await stats()).total;
    const warm = await b.snapshot([AAPL, 8314], ['last', 'bid', 'ask']);
    assert.equal((await stats()).total, before, 'no gateway request');
    assert.ok(warm.every((s) => s.source === 'stream' && typeof s.values.last === 'number'));
  });

  test('smd ends and two socket faults: no quote gap over 2 s, each order update once', async () => {
    const r = await faultSession(1);
    assert.ok(r.worstGapMs <= 2000, `worst quote gap ${r.worstGapMs} ms`);
    assert.ok(r.reconnects >= 2, `reconnects: ${r.reconnects}`);
    assert.equal(r.missed, 0, 'a Filled update missed');
    assert.equal(r.duplicates, 0, 'a Filled update twice');
    for (const [id, state] of Object.entries(r.finalStates)) assert.equal(state, 'filled', id);
  });

  test('at most maxQuotes conids are streamed: the least recently asked one gives its line up', async () => {
    const st = new CpapiStream({
      apiUrl: sim.apiBase,
      cookies: () => `api=${sim.state.session.id}`,
      sessionToken: async () => undefined,
      timers: { maxQuotes: 2 },
    });
    try {
      st.start();
      await until(() => st.status().state === 'open', 2000, 'open');
      st.subscribeQuote(AAPL, ['31']);
      st.subscribeQuote(8314, ['31']);
      await until(() => st.quote(AAPL, ['31']) !== undefined, 2000, 'AAPL streamed');
      st.subscribeQuote(272093, ['31']);
      await until(() => st.quote(272093, ['31']) !== undefined, 2000, 'MSFT streamed');
      // AAPL was read (asked for) after 8314 was subscribed: 8314 is the one dropped.
      assert.deepEqual(
        [...st.quotes.keys()].sort((a, b) => a - b),
        [AAPL, 272093],
      );
      // The simulator was told (umd): one of its sockets streams exactly these two.
      await sleep(100);
      const streamed = [...simWs(sim.state).conns].map((c) => [...c.smd.keys()].sort((a, b) => a - b).join(','));
      assert.ok(streamed.includes(`${AAPL},272093`), streamed.join(' | '));
    } finally {
      await st.close();
    }
  });

  test('the session ending arrives as sts and stops the stream from answering', async () => {
    let lost = false;
    b.stream!.onAuth((a) => {
      if (!a) lost = true;
    });
    await faults({ expireSession: true });
    await until(() => lost, 2000, 'sts authenticated:false');
    assert.equal(b.stream!.quote(AAPL, ['31']), undefined);
  });
});
