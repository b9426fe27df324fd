import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type CpapiBackend, createCpapiBackend } from '../../src/backends/cpapi/index.js';
import { Pacer } from '../../src/backends/cpapi/limiter.js';
import type { OrderEvent } from '../../src/backends/cpapi/stream.js';
import type { OrderRequest } from '../../src/broker/orders.js';
import { type SimulatorHandle, startSimulator } from '../../src/simulator/index.js';

const AAPL = 265598;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const order = (n: number, over: Partial<OrderRequest> = {}): OrderRequest => ({
  accountId: 'DU1234567',
  conid: AAPL,
  secType: 'STK',
  symbol: 'AAPL',
  side: 'BUY',
  orderType: 'MKT',
  quantity: 1,
  tif: 'DAY',
  outsideRth: false,
  clientOrderId: `stream-${n}-${Date.now()}`,
  ...over,
});

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
      timeoutMs: 2000,
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

  test('smd ends and two socket drops: no quote gap over 2 s, each order update once', async () => {
    const events: OrderEvent[] = [];
    const off = b.stream!.onOrder((e) => events.push(e));
    let lastGood = Date.now();
    let worstGap = 0;
    let stop = false;
    const sampler = (async () => {
      while (!stop) {
        const [s] = await b.snapshot([AAPL], ['last', 'bid', 'ask'], { maxWaitMs: 1500 });
        const now = Date.now();
        if (s && typeof s.values.last === 'number' && now - (s.receivedAt ?? 0) < 2000) {
          worstGap = Math.max(worstGap, now - lastGood);
          lastGood = now;
        }
        await sleep(50);
      }
    })();
    const ids: string[] = [];
    const place = async (n: number) => {
      const p = await b.placeOrder(order(n));
      const out = p.kind === 'questions' ? await b.reply(p.question.replyId, true) : p;
      assert.equal(out.kind, 'placed');
      if (out.kind === 'placed') ids.push(out.orders[0]!.orderId);
    };
    await place(10);
    await sleep(1700); // past one smd lifetime: the client renewed it
    await faults({ ws: { drop: true } });
    await place(11); // placed while the socket is down
    await sleep(800);
    await faults({ ws: { silent: true } }); // a socket that stops talking without closing
    await place(12);
    await sleep(1500);
    stop = true;
    await sampler;
    off();
    assert.ok(worstGap <= 2000, `worst quote gap ${worstGap} ms`);
    assert.ok(b.stream!.status().reconnects >= 2, JSON.stringify(b.stream!.status()));
    for (const id of ids) {
      const mine = events.filter((e) => e.orderId === id);
      const statuses = mine.map((e) => String(e.row['status']));
      assert.ok(statuses.includes('Filled'), `order ${id} fill seen: ${statuses.join(',')}`);
      const fills = mine.filter((e) => e.changed.includes('status') && e.row['status'] === 'Filled');
      assert.equal(fills.length, 1, `order ${id}: one Filled update, got ${statuses.join(',')}`);
    }
    const live = await b.liveOrders();
    for (const id of ids) assert.equal(live.find((o) => o.orderId === id)?.state, 'filled');
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
