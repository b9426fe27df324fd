import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createCpapiBackend } from '../../src/backends/cpapi/index.js';
import { Pacer } from '../../src/backends/cpapi/limiter.js';
import { BrokerError } from '../../src/broker/errors.js';
import type { OrderRequest } from '../../src/broker/orders.js';
import { type SimulatorHandle, startSimulator } from '../../src/simulator/index.js';
import { AAPL_LMT } from '../fixtures/order-request.js';

const order: OrderRequest = AAPL_LMT;

describe('order writes are sent once, never retried (against the simulator)', () => {
  let sim: SimulatorHandle;
  // A fake wait between live-order polls: the placeholder is polled through without 100 ms of real time.
  const backend = () =>
    createCpapiBackend({
      baseUrl: sim.url,
      // The simulator runs without pacing; the client's 10/s window is widened (orders, not pacing, here).
      pacer: new Pacer({ endpoints: {}, maxPerWindow: 1000 }),
      timeoutMs: 2000,
      sleep: async () => {},
    });
  const stats = async () =>
    (await (await fetch(`${sim.url}/sim/stats`)).json()) as { byEndpoint: Record<string, number> };
  const faults = (body: unknown) =>
    fetch(`${sim.url}/sim/faults`, {
      method: 'POST',
      body: JSON.stringify(body),
      headers: { 'content-type': 'application/json' },
    });
  before(async () => {
    sim = await startSimulator({ port: 0, seed: 3, pacing: false, tls: false });
  });
  after(async () => {
    await sim.close();
  });

  test('the simulator refuses sizes and prices IB refuses, and keeps working after (issue 11 item 3)', async () => {
    const b = backend();
    await b.tradingAccounts();
    const tiny = await b.placeOrder({ ...order, quantity: 1e-11, clientOrderId: 'tiny-qty' });
    assert.equal(tiny.kind, 'rejected');
    assert.match(tiny.kind === 'rejected' ? tiny.message : '', /size 1e-11 is not valid/);
    const px = await b.placeOrder({ ...order, limitPrice: 5e-324, clientOrderId: 'tiny-px' });
    assert.equal(px.kind, 'rejected');
    // Like IB, a trailing stop without its initial stop (price) is refused (issue 13 item 5).
    const trail = await b.placeOrder({
      ...order,
      orderType: 'TRAIL',
      limitPrice: undefined,
      trailingAmount: 2,
      clientOrderId: 'trail-no-price',
    });
    assert.equal(trail.kind, 'rejected');
    assert.match(trail.kind === 'rejected' ? trail.message : '', /initial stop price/);
    let ok = await b.placeOrder({ ...order, clientOrderId: 'after-tiny' });
    while (ok.kind === 'questions') ok = await b.reply(ok.question.replyId, true);
    assert.equal(ok.kind, 'placed');
    await b.close();
  });

  test('503 on place: one request, error surfaces', async () => {
    await fetch(`${sim.url}/sim/reset`, { method: 'POST', body: '{}' });
    const b = backend();
    await b.tradingAccounts();
    await faults({ fail: { endpoint: 'POST /iserver/account/:accountId/orders', status: 503, count: 5 } });
    await assert.rejects(b.placeOrder(order), (e: unknown) => e instanceof BrokerError && e.code === 'GATEWAY_ERROR');
    assert.equal((await stats()).byEndpoint['POST /iserver/account/:accountId/orders'], 1);
    await faults({ clear: true });
    await b.close();
  });

  test('connection reset on place: one request', async () => {
    await fetch(`${sim.url}/sim/reset`, { method: 'POST', body: '{}' });
    const b = backend();
    await b.tradingAccounts();
    await faults({ resetConnection: { endpoint: 'POST /iserver/account/:accountId/orders', count: 3 } });
    // Reported as a reset connection (so the safety layer says the order MAY have been placed), never as an answer.
    await assert.rejects(
      b.placeOrder({ ...order, clientOrderId: 'c-2' }),
      (e: unknown) =>
        e instanceof BrokerError &&
        e.code === 'GATEWAY_UNREACHABLE' &&
        /^(ECONNRESET|UND_ERR_SOCKET|EPIPE)$/.test(String(e.details?.['code'])) &&
        /reset/.test(e.message),
    );
    assert.equal((await stats()).byEndpoint['POST /iserver/account/:accountId/orders'], 1);
    await faults({ clear: true });
    await b.close();
  });

  test('timeouts on reply and 500 on cancel: one request each; reads are retried', async () => {
    await fetch(`${sim.url}/sim/reset`, { method: 'POST', body: '{}' });
    const b = backend();
    await b.tradingAccounts();
    await faults({
      hang: { endpoint: 'POST /iserver/reply/:replyId', count: 3 },
      fail: [
        { endpoint: 'DELETE /iserver/account/:accountId/order/:orderId', status: 500, count: 3 },
        { endpoint: 'GET /iserver/account/trades', status: 500, count: 1 },
      ],
    });
    await assert.rejects(
      b.reply('abc', true),
      (e: unknown) => e instanceof BrokerError && e.code === 'GATEWAY_TIMEOUT',
    );
    await assert.rejects(b.cancelOrder('DU1234567', '42'));
    assert.deepEqual(await b.trades(1), []);
    const s = (await stats()).byEndpoint;
    assert.equal(s['POST /iserver/reply/:replyId'], 1);
    assert.equal(s['DELETE /iserver/account/:accountId/order/:orderId'], 1);
    assert.equal(s['GET /iserver/account/trades'], 2);
    await faults({ clear: true });
    await b.close();
  });

  test('concurrent live-order reads share one request (IB allows one per 5 s)', async () => {
    await fetch(`${sim.url}/sim/reset`, { method: 'POST', body: '{"state":true}' });
    const b = backend();
    await b.tradingAccounts();
    await fetch(`${sim.url}/sim/reset`, { method: 'POST', body: '{}' });
    const all = await Promise.all(Array.from({ length: 8 }, () => b.liveOrders()));
    assert.equal(new Set(all.map((l) => JSON.stringify(l))).size, 1, 'every caller got the same answer');
    // The session's first read is IB's empty placeholder, polled once more: two requests for eight callers.
    assert.equal((await stats()).byEndpoint['GET /iserver/account/orders'], 2);
    await b.close();
  });

  test('concurrent settled lookups cost two reads, and each read began after its caller arrived', async () => {
    const b = backend();
    await b.tradingAccounts();
    await b.liveOrders({ settled: true });
    await fetch(`${sim.url}/sim/reset`, { method: 'POST', body: '{}' });
    // One lookup is under way when an order is placed; lookups after the placement must see it.
    const early = b.liveOrders({ settled: true });
    let placed = await b.placeOrder({ ...order, clientOrderId: 'c-settled', limitPrice: 1 });
    while (placed.kind === 'questions') placed = await b.reply(placed.question.replyId, true);
    assert.equal(placed.kind, 'placed');
    const late = await Promise.all(Array.from({ length: 8 }, () => b.findOrderByClientId('c-settled')));
    await early;
    for (const o of late) assert.equal(o?.clientOrderId, 'c-settled');
    // Before: a read per caller; now the one under way (IB's placeholder after the reset, then the
    // list: two requests) and one shared next read.
    const reads = (await stats()).byEndpoint['GET /iserver/account/orders'];
    assert.ok(reads !== undefined && reads <= 3, `${reads} reads`);
    await b.close();
  });

  test('a settled lookup takes a shared read still waiting for its slot: one read, the new order in it', async () => {
    // A login's background read of the list waits for IB's one-per-interval slot; a cancel's lookup
    // (settled: asked after the cancel began) arrives meanwhile. It used to queue behind it for a
    // second slot and time out; a read sent after it arrived serves it.
    const b = createCpapiBackend({
      baseUrl: sim.url,
      pacer: new Pacer({
        endpoints: { '/iserver/account/orders': { minIntervalMs: 2000 } },
        intervalMarginMs: 0,
        maxPerWindow: 1000,
      }),
      timeoutMs: 5000,
      sleep: async () => {},
    });
    await b.tradingAccounts();
    await b.liveOrders({ force: true });
    const reads = async () => (await stats()).byEndpoint['GET /iserver/account/orders'] ?? 0;
    const before = await reads();
    const shared = b.liveOrders();
    let placed = await b.placeOrder({ ...order, clientOrderId: 'c-join', limitPrice: 1 });
    while (placed.kind === 'questions') placed = await b.reply(placed.question.replyId, true);
    assert.equal(placed.kind, 'placed');
    const settled = await b.liveOrders({ settled: true });
    assert.ok(
      settled.some((o) => o.clientOrderId === 'c-join'),
      'the order placed before the lookup is in it',
    );
    await shared;
    assert.equal((await reads()) - before, 1, 'one read served both');
    await b.close();
  });

  test('live orders: the empty first call is polled through; unknown status is NOT_FOUND', async () => {
    const b = backend();
    const placed = await b.placeOrder({ ...order, clientOrderId: 'c-live', limitPrice: undefined, orderType: 'MKT' });
    // MKT asks the market-order notice first.
    assert.equal(placed.kind, 'questions');
    const done = placed.kind === 'questions' ? await b.reply(placed.question.replyId, true) : placed;
    assert.equal(done.kind, 'placed');
    const live = await b.liveOrders({ force: true });
    assert.ok(live.some((o) => o.clientOrderId === 'c-live'));
    assert.equal((await b.findOrderByClientId('c-live'))?.status, 'Filled');
    await assert.rejects(b.orderStatus('999'), (e: unknown) => e instanceof BrokerError && e.code === 'NOT_FOUND');
    await b.close();
  });

  test('an unknown order id is looked for in the other accounts with one retry each, not three', async () => {
    // IB answers 503 for an order the selected account lacks, every time: the selected account's
    // read keeps the client's retries; each other account's gets one (they held the account scope
    // through back-off while every other account's call waited).
    await fetch(`${sim.url}/sim/reset`, { method: 'POST', body: '{}' });
    const b = backend();
    const { accounts } = await b.tradingAccounts();
    assert.equal(accounts.length, 3);
    await assert.rejects(b.orderStatus('999'), (e: unknown) => e instanceof BrokerError && e.code === 'NOT_FOUND');
    assert.equal((await stats()).byEndpoint['GET /iserver/account/order/status/:orderId'], 4 + 2 * 2);
    await b.close();
  });
});
