/**
 * IB's docs do not promise that `sor+{}` first sends every current order. With the simulator
 * sending only changes ("sorSnapshot":false), orders placed before this client's login (TWS, an
 * earlier session) must still be listed: the stream answers only once a REST read seeded it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type CpapiBackend, createCpapiBackend } from '../../src/backends/cpapi/index.js';
import { Pacer } from '../../src/backends/cpapi/limiter.js';
import type { OrderRequest } from '../../src/broker/orders.js';
import { type SimulatorHandle, startSimulator } from '../../src/simulator/index.js';
import { aaplOrder } from './stream-scenario.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('the stream without an initial sor list (changes only, as IB may)', () => {
  let sim: SimulatorHandle;
  const backends: CpapiBackend[] = [];
  const login = async () => {
    const b = createCpapiBackend({
      baseUrl: sim.url,
      pacer: new Pacer({ endpoints: {}, maxPerWindow: 1000 }),
      timeoutMs: 8000,
      sleep: async () => {},
      stream: { staleMs: 2000, backoffMs: [50, 100, 200] },
    });
    backends.push(b);
    await b.session.loggedIn();
    b.session.ready();
    return b;
  };
  const place = async (b: CpapiBackend, id: string, over: Partial<OrderRequest> = {}) => {
    let p = await b.placeOrder(
      aaplOrder(`${id}-${Date.now()}`, { orderType: 'LMT', limitPrice: 1, tif: 'GTC', ...over }),
    );
    if (p.kind === 'questions') p = await b.reply(p.question.replyId, true);
    assert.equal(p.kind, 'placed');
    return p.kind === 'placed' ? p.orders[0]!.orderId : '';
  };

  before(async () => {
    sim = await startSimulator({ seed: 7, pacing: false, tls: false, ws: { hbMs: 100, tickMs: 20 } });
    await fetch(`${sim.url}/sim/faults`, {
      method: 'POST',
      body: JSON.stringify({ ws: { sorSnapshot: false } }),
      headers: { 'content-type': 'application/json' },
    });
  });
  after(async () => {
    for (const b of backends) await b.close();
    await sim.close();
  });

  test('orders resting before login are listed after a change is pushed', async () => {
    // An earlier session places two resting orders, then goes away.
    const earlier = await login();
    const before = [await place(earlier, 'early-1'), await place(earlier, 'early-2', { limitPrice: 2 })];
    await earlier.close();

    const b = await login();
    await b.session.warmUp();
    // A change IB pushes (this client's new order): the stream hears of it, but not of the others.
    const mine = await place(b, 'late');
    await sleep(200);
    const ids = (await b.liveOrders()).map((o) => o.orderId);
    for (const id of [...before, mine]) assert.ok(ids.includes(id), `order ${id} missing from ${ids.join(',')}`);

    // Seeded by the warm-up's REST read: later reads come from the stream, and still list all.
    const again = await b.liveOrders();
    assert.ok(
      again.every((o) => o.source === 'stream'),
      again.map((o) => o.source).join(','),
    );
    for (const id of [...before, mine])
      assert.ok(
        again.some((o) => o.orderId === id),
        `order ${id} missing`,
      );
    // Order status of an order placed before login: from the seeded list.
    const st = await b.orderStatus(before[0]!);
    assert.equal(st.orderId, before[0]);
    assert.equal(st.source, 'stream');
  });

  test('a reconnect un-seeds the list until a read after the new subscription', async () => {
    const b = backends[backends.length - 1]!;
    assert.ok(b.stream!.orders());
    await fetch(`${sim.url}/sim/faults`, {
      method: 'POST',
      body: JSON.stringify({ ws: { drop: true } }),
      headers: { 'content-type': 'application/json' },
    });
    const end = Date.now() + 3000;
    while (b.stream!.status().state === 'open' && Date.now() < end) await sleep(5);
    assert.equal(b.stream!.orders(), undefined);
    // Re-seeded in the background once the socket subscribed sor again.
    while (!b.stream!.orders() && Date.now() < end + 5000) await sleep(20);
    const list = await b.liveOrders();
    assert.ok(list.length >= 3 && list.every((o) => o.source === 'stream'));
  });
});
