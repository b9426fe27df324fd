import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { WebSocket } from 'undici';
import { type SimulatorHandle, startSimulator } from '../../src/simulator/index.js';
import { type Body, call, dispatcher } from './sim-client.js';

/** A raw socket to the simulator that records every message. */
async function open(sim: SimulatorHandle, cookie?: string) {
  const url = `${sim.url.replace(/^http/, 'ws')}/v1/api/ws`;
  const ws = new WebSocket(url, { dispatcher, headers: cookie ? { cookie } : {} });
  const msgs: Body[] = [];
  let closed = false;
  ws.addEventListener('message', (e) => msgs.push(JSON.parse(String(e.data))));
  ws.addEventListener('close', () => {
    closed = true;
  });
  await new Promise<void>((resolve, reject) => {
    ws.addEventListener('open', () => resolve());
    ws.addEventListener('error', () => reject(new Error('ws error')));
  });
  const until = async (pred: (m: Body) => boolean, ms = 3000): Promise<Body> => {
    const end = Date.now() + ms;
    for (;;) {
      const hit = msgs.find(pred);
      if (hit) return hit;
      if (Date.now() > end) throw new Error(`no matching message in ${ms} ms: ${JSON.stringify(msgs.slice(-5))}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  return { ws, msgs, until, isClosed: () => closed };
}

describe('simulator websocket', () => {
  let sim: SimulatorHandle;
  before(async () => {
    sim = await startSimulator({ pacing: false, ws: { hbMs: 200, tickMs: 50, smdLifetimeMs: 2500, maxLines: 3 } });
    await call(sim, 'GET', '/iserver/accounts');
  });
  after(() => sim.close());

  test('the session cookie authenticates; greeting, sts and heartbeats follow', async () => {
    const c = await open(sim, `x-sess-uuid=${sim.state.session.id}`);
    await c.until((m) => m.topic === 'sts' && m.args?.authenticated === true);
    await c.until((m) => m.topic === 'system' && typeof m.hb === 'number', 1000);
    c.ws.close();
  });

  test('without a cookie commands are ignored until {"session":…}', async () => {
    const c = await open(sim);
    c.ws.send('spl+{}');
    await new Promise((r) => setTimeout(r, 150));
    assert.equal(c.msgs.length, 0);
    c.ws.send(JSON.stringify({ session: sim.state.session.id }));
    await c.until((m) => m.topic === 'sts');
    c.ws.send('spl+{}');
    await c.until((m) => m.topic === 'spl');
    c.ws.close();
  });

  test('smd: full first message, partial updates, silent end after the lifetime, line limit', async () => {
    const c = await open(sim, `api=${sim.state.session.id}`);
    c.ws.send('smd+265598+{"fields":["31","84","86","55"]}');
    const first = await c.until((m) => m.topic === 'smd+265598');
    assert.equal(first.conid, 265598);
    assert.equal(first['55'], 'AAPL');
    assert.ok(first['31'] && first['84'] && first['86']);
    await c.until((m) => m.topic === 'smd+265598' && m !== first && m['55'] === undefined, 2000);
    // After the lifetime nothing more comes for it.
    await new Promise((r) => setTimeout(r, 2600 - (Date.now() - first._updated)));
    const n = c.msgs.filter((m) => m.topic === 'smd+265598').length;
    await new Promise((r) => setTimeout(r, 400));
    assert.equal(c.msgs.filter((m) => m.topic === 'smd+265598').length, n);
    // Re-requesting restarts it, with every field.
    c.ws.send('smd+265598+{"fields":["31","84","86","55"]}');
    await c.until((m) => m.topic === 'smd+265598' && m['55'] === 'AAPL' && m !== first);
    // The line limit (3): a fourth conid is refused.
    for (const conid of [8314, 272093]) c.ws.send(`smd+${conid}+{"fields":["31"]}`);
    c.ws.send('smd+4815747+{"fields":["31"]}');
    const refused = await c.until((m) => m.topic === 'smd+4815747');
    assert.match(refused.error, /market data lines/);
    c.ws.send('umd+8314+{}');
    c.ws.close();
  });

  test('sor: only changes by default, the current orders first when asked; refusals', async () => {
    const c = await open(sim, `api=${sim.state.session.id}`);
    await c.until((m) => m.topic === 'sts');
    c.ws.send('sor+{}');
    await new Promise((r) => setTimeout(r, 200));
    assert.ok(!c.msgs.some((m) => m.topic === 'sor'), 'IB promises no list on subscribing');
    await call(sim, 'POST', '/sim/faults', { ws: { sorSnapshot: true } });
    c.ws.send('sor+{}');
    await c.until((m) => m.topic === 'sor' && Array.isArray(m.args));
    await call(sim, 'POST', '/sim/faults', { ws: { refuseSor: 1, refuseSpl: 1, sorSnapshot: false } });
    c.ws.send('sor+{}');
    c.ws.send('spl+{}');
    await c.until((m) => m.topic === 'sor' && m.error === 'unable to subscribe' && m.code === 500);
    await c.until((m) => m.topic === 'spl' && m.error === 'unable to subscribe');
    c.ws.send('spl+{}');
    await c.until((m) => m.topic === 'spl' && m.args !== undefined);
    c.ws.close();
  });

  test('orphan: a re-login leaves the old socket beating with its subscriptions dead', async () => {
    const c = await open(sim, `api=${sim.state.session.id}`);
    await c.until((m) => m.topic === 'sts');
    c.ws.send('spl+{}');
    await c.until((m) => m.topic === 'spl');
    await call(sim, 'POST', '/sim/faults', { ws: { orphan: true } });
    await call(sim, 'POST', '/sim/session', { relogin: true });
    await new Promise((r) => setTimeout(r, 150));
    const n = c.msgs.length;
    c.ws.send('spl+{}');
    await c.until((m) => m.topic === 'spl' && m.error === 'unable to subscribe');
    await new Promise((r) => setTimeout(r, 300));
    const later = c.msgs.slice(n);
    assert.ok(
      later.some((m) => m.topic === 'system' && m.hb),
      'still beating',
    );
    assert.ok(!later.some((m) => m.topic === 'sts' || (m.topic === 'spl' && m.args)), JSON.stringify(later));
    assert.equal(c.isClosed(), false);
    await call(sim, 'POST', '/sim/faults', { clear: true });
    // The new session, as the next test expects one: its accounts asked for.
    await call(sim, 'GET', '/iserver/accounts');
    c.ws.close();
  });

  test('sor: rows then partial updates; a filtered REST call stops them until force', async () => {
    const c = await open(sim, `api=${sim.state.session.id}`);
    await c.until((m) => m.topic === 'sts');
    c.ws.send('sor+{}');
    await new Promise((r) => setTimeout(r, 100));
    const placed = await call(sim, 'POST', '/iserver/account/DU1234567/orders', {
      orders: [{ conid: 265598, orderType: 'LMT', price: 1, side: 'BUY', quantity: 1, tif: 'GTC', cOID: 'ws-t1' }],
    });
    // IB asks about a limit this far from the market: yes.
    const answer = await call(sim, 'POST', `/iserver/reply/${placed.body[0].id}`, { confirmed: true });
    const id = Number(answer.body[0].order_id);
    assert.ok(id > 0, JSON.stringify(answer.body));
    await c.until((m) => m.topic === 'sor' && m.args.some((r: Body) => r.orderId === id && r.ticker === 'AAPL'));
    await call(sim, 'GET', '/iserver/account/orders?filters=submitted');
    await call(sim, 'DELETE', `/iserver/account/DU1234567/order/${id}`);
    await new Promise((r) => setTimeout(r, 300));
    assert.ok(!c.msgs.some((m) => m.topic === 'sor' && m.args.some((r: Body) => r.status === 'Cancelled')));
    await call(sim, 'GET', '/iserver/account/orders?force=true');
    const upd = await c.until(
      (m) => m.topic === 'sor' && m.args.some((r: Body) => r.orderId === id && r.status === 'Cancelled'),
    );
    const row = upd.args.find((r: Body) => r.orderId === id);
    assert.equal(row.ticker, undefined, 'a partial update carries only what changed');
    c.ws.close();
  });

  test('faults: silent keeps the socket open and sends nothing; drop ends it; session end sends sts', async () => {
    const a = await open(sim, `api=${sim.state.session.id}`);
    await a.until((m) => m.topic === 'sts');
    await call(sim, 'POST', '/sim/faults', { ws: { silent: true } });
    const n = a.msgs.length;
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(a.msgs.length, n);
    assert.equal(a.isClosed(), false);
    await call(sim, 'POST', '/sim/faults', { ws: { drop: true } });
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(a.isClosed(), true);
    const b = await open(sim, `api=${sim.state.session.id}`);
    await b.until((m) => m.topic === 'sts');
    await call(sim, 'POST', '/sim/faults', { expireSession: true });
    await b.until((m) => m.topic === 'sts' && m.args.authenticated === false);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(b.isClosed(), true);
    await call(sim, 'POST', '/sim/session', { authenticated: true });
  });
});
