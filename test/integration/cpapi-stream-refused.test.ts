/**
 * What real gateways do to the WebSocket that the first simulator did not:
 *
 * - refuse a subscription: `sor+{}` answered with {"error":"unable to subscribe","code":500,
 *   "topic":"sor"} (a gateway did so on 17 of 20 reconnects). Nothing is pushed after it, so a list
 *   seeded from REST would go stale while the socket looks healthy;
 * - log in again underneath the socket (the nightly re-authentication): the old socket keeps its
 *   heartbeat with every subscription dead; only /tickle's new session id shows it;
 * - announce a new order by its ids alone (a captured frame: acct, conid, orderId, isEventTrading);
 * - a login with several accounts: the tools always name one, and the stream must still answer for
 *   the account whose list seeded it.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import { type CpapiBackend, createCpapiBackend } from '../../src/backends/cpapi/index.js';
import { Pacer } from '../../src/backends/cpapi/limiter.js';
import type { OrderEvent } from '../../src/backends/cpapi/stream.js';
import type { OrderRequest } from '../../src/broker/orders.js';
import { type SimulatorHandle, startSimulator } from '../../src/simulator/index.js';
import { aaplOrder } from './stream-scenario.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const until = async (pred: () => boolean, ms: number, what: string) => {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await sleep(10);
  }
};

describe('refused subscriptions, a re-login under the socket, several accounts', () => {
  let sim: SimulatorHandle;
  const backends: CpapiBackend[] = [];
  const faults = (body: unknown) =>
    fetch(`${sim.url}/sim/faults`, {
      method: 'POST',
      body: JSON.stringify(body),
      headers: { 'content-type': 'application/json' },
    });
  const simPost = (path: string, body: unknown) =>
    fetch(`${sim.url}${path}`, {
      method: 'POST',
      body: JSON.stringify(body),
      headers: { 'content-type': 'application/json' },
    });
  /** A backend with the WebSocket; `stream: false`: another program on the same gateway (REST only). */
  const login = async (stream = true) => {
    const b = createCpapiBackend({
      baseUrl: sim.url,
      pacer: new Pacer({ endpoints: {}, maxPerWindow: 1000 }),
      timeoutMs: 8000,
      sleep: async () => {},
      stream: stream ? { staleMs: 1000, backoffMs: [50, 100, 200], resubscribeMs: [150, 300] } : false,
    });
    backends.push(b);
    await b.session.loggedIn();
    b.session.ready();
    return b;
  };
  const place = async (b: CpapiBackend, tag: string, over: Partial<OrderRequest> = {}) => {
    let p = await b.placeOrder(
      aaplOrder(`${tag}-${Date.now()}-${Math.random()}`, { orderType: 'LMT', limitPrice: 1, tif: 'GTC', ...over }),
    );
    if (p.kind === 'questions') p = await b.reply(p.question.replyId, true);
    assert.equal(p.kind, 'placed');
    return p.kind === 'placed' ? p.orders[0]!.orderId : '';
  };

  before(async () => {
    sim = await startSimulator({ seed: 11, pacing: false, tls: false, ws: { hbMs: 100, tickMs: 20 } });
  });
  afterEach(async () => {
    while (backends.length) await backends.pop()!.close();
    await faults({ clear: true });
    // A new session: the next test's login starts with the first account selected.
    await simPost('/sim/reset', { state: true });
  });
  after(async () => {
    await sim.close();
  });

  test('a refused sor is never answered from: reads go to IB until a retry is accepted', async () => {
    await faults({ ws: { refuseSor: 2 } });
    const b = await login();
    await b.session.warmUp();
    await until(() => (b.stream!.status().refusals ?? 0) >= 1, 3000, 'the refusal');
    // The warm-up's REST read must not have seeded a stream IB refused.
    assert.equal(b.stream!.orders(), undefined);
    const other = await login(false);
    const id = await place(other, 'refused');
    // Refused: nothing pushed, nothing answered from the stream; the order comes from IB.
    const during = await b.liveOrders({ accountId: 'DU1234567' });
    assert.ok(
      during.some((o) => o.orderId === id),
      'the new order listed',
    );
    assert.ok(
      during.every((o) => o.source === 'request'),
      during.map((o) => o.source).join(','),
    );
    // Two refusals, then the third subscription is accepted (primed by /iserver/accounts) and seeded.
    await until(() => b.stream!.orders() !== undefined, 5000, 'seeded after a retry');
    assert.equal(b.stream!.status().refusals, 2);
    assert.equal(b.stream!.status().refused, undefined);
    await other.cancelOrder('DU1234567', id);
    await until(
      () => b.stream!.orders()?.rows.some((r) => String(r['orderId']) === id && r['status'] === 'Cancelled') === true,
      3000,
      'the cancel pushed',
    );
    const streamed = await b.liveOrders({ accountId: 'DU1234567' });
    assert.equal(streamed.find((o) => o.orderId === id)?.state, 'cancelled');
    assert.ok(streamed.every((o) => o.source === 'stream'));
  });

  test('a refused spl: get_pnl is not answered from old pushes; spl is asked again', async () => {
    await faults({ ws: { refuseSpl: 1 } });
    const b = await login();
    await until(() => b.stream!.status().refusals === 1, 3000, 'the refusal');
    assert.equal(b.stream!.pnlRows(), undefined);
    assert.equal(b.stream!.status().refused?.pnl, 'unable to subscribe');
    await until(() => b.stream!.pnlRows() !== undefined, 3000, 'spl accepted on the retry');
  });

  test('IB logs in again under the socket: the next keep-alive sees the new session and reconnects', async () => {
    await faults({ ws: { orphan: true } });
    const b = await login();
    await b.session.warmUp();
    await until(() => b.stream!.orders() !== undefined, 3000, 'seeded');
    const reconnects = b.stream!.status().reconnects;
    await simPost('/sim/session', { relogin: true });
    // The old socket still beats: it looks healthy, and pushes nothing.
    await sleep(300);
    assert.equal(b.stream!.healthy(), true);
    // An order placed in the new session (TWS, another client) must not be missing from the list.
    const other = await login(false);
    const id = await place(other, 'relogin');
    await b.session.keepAlive();
    await until(() => b.stream!.status().reconnects > reconnects, 3000, 'a new socket');
    const list = await b.liveOrders({ accountId: 'DU1234567' });
    assert.ok(
      list.some((o) => o.orderId === id),
      `order ${id} missing: ${list.map((o) => o.orderId).join(',')}`,
    );
    // The new socket carries the new session's pushes once seeded again.
    await until(() => b.stream!.orders() !== undefined, 5000, 'seeded again');
    assert.ok(b.stream!.orders()!.rows.some((r) => String(r['orderId']) === id));
  });

  test('several accounts: a read naming the account whose list seeded the stream is answered from it', async () => {
    const b = await login();
    await b.session.warmUp();
    await until(() => b.stream!.orders() !== undefined, 3000, 'seeded');
    assert.equal(b.stream!.orders()!.account, 'DU1234567');
    const id = await place(b, 'named');
    await until(() => b.stream!.orders()?.rows.some((r) => String(r['orderId']) === id) === true, 3000, 'pushed');
    const mine = await b.liveOrders({ accountId: 'DU1234567' });
    assert.ok(mine.length > 0 && mine.every((o) => o.source === 'stream' && o.accountId === 'DU1234567'));
    // Another account: asked of IB (the stream carries the selected account's list).
    const theirs = await b.liveOrders({ accountId: 'DU7654321' });
    assert.ok(theirs.every((o) => o.source === 'request' && o.accountId === 'DU7654321'));
  });

  test('a new order pushed by its ids alone is listed: the stream reads the list again', async () => {
    await faults({ ws: { sorNewPartial: true } });
    const b = await login();
    await b.session.warmUp();
    await until(() => b.stream!.orders() !== undefined, 3000, 'seeded');
    const other = await login(false);
    const id = await place(other, 'partial');
    // The push names the order without its terms: the stream must not answer without it.
    await until(() => b.stream!.orderSeenAt(id) > 0, 3000, 'the partial push');
    const list = await b.liveOrders({ accountId: 'DU1234567' });
    const got = list.find((o) => o.orderId === id);
    assert.ok(got, `order ${id} missing: ${list.map((o) => `${o.orderId}/${o.source}`).join(',')}`);
    assert.equal(got.side, 'BUY');
    // Read again in the background (the pushes merged on top): answered from the stream again.
    await until(() => b.stream!.orders() !== undefined, 5000, 'seeded again');
    const again = await b.liveOrders({ accountId: 'DU1234567' });
    assert.ok(again.some((o) => o.orderId === id && o.source === 'stream'));
  });

  test('a fill while the socket is down is announced once, when the list is seeded again', async () => {
    const b = await login();
    await b.session.warmUp();
    await until(() => b.stream!.orders() !== undefined, 3000, 'seeded');
    const id = await place(b, 'down', { limitPrice: 1 });
    const events: OrderEvent[] = [];
    b.stream!.onOrder((e) => {
      if (e.orderId === id) events.push(e);
    });
    await until(() => b.stream!.orders()?.rows.some((r) => String(r['orderId']) === id) === true, 3000, 'pushed');
    events.length = 0;
    // The socket goes silent; IB fills the order meanwhile; the reconnect's sor sends only changes
    // from then on (the simulator's default, as IB's docs promise no more).
    await faults({ ws: { silent: true } });
    const other = await login(false);
    let m = await other.modifyOrder(id, aaplOrder('x', { orderType: 'LMT', limitPrice: 100_000, tif: 'GTC' }));
    if (m.kind === 'questions') m = await other.reply(m.question.replyId, true);
    await until(() => b.stream!.status().reconnects > 0, 5000, 'reconnected');
    await until(() => events.some((e) => e.row['status'] === 'Filled'), 5000, 'the fill announced');
    await sleep(300);
    assert.equal(events.filter((e) => e.row['status'] === 'Filled' && e.changed.includes('status')).length, 1);
  });
});
