/**
 * The safety service against the simulator through the real CPAPI backend (in process, no MCP):
 * questions and replies, duplicates, rejections, the kill switch, live refusal, lost answers,
 * reconciliation, and a property test over random place/modify/cancel/fault sequences.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { createCpapiBackend } from '../../src/backends/cpapi/index.js';
import { Pacer } from '../../src/backends/cpapi/limiter.js';
import type { Backend } from '../../src/broker/backend.js';
import { BrokerError } from '../../src/broker/errors.js';
import type { Contract } from '../../src/broker/types.js';
import { halt, resume } from '../../src/safety/killswitch.js';
import { DEFAULT_SAFETY, type SafetyConfig } from '../../src/safety/policy.js';
import { type OrderDraft, OrderService, type OrderTimers } from '../../src/safety/service.js';
import { type SimulatorHandle, startSimulator } from '../../src/simulator/index.js';
import { simOrders } from '../../src/simulator/orders.js';
import { simPortfolio } from '../../src/simulator/portfolio.js';

const ACCT = 'DU1234567';
const cleanups: Array<() => Promise<void> | void> = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

/**
 * Fake timers: the waits between lookups of an order whose answer was lost (300, 600 ms) and
 * between live-order polls (100 ms) return at once, so no test here waits them out in real time.
 * The lookups' 10 s deadlines never fire; the backend's own request timeout still bounds a hang.
 */
const fakeTimers: OrderTimers = { sleep: async () => {}, timeout: () => new AbortController().signal };
const fakeSleep = async () => {};
/**
 * The simulator runs without pacing here and these cases are about orders, not pacing (that is
 * cpapi-limiter, cpapi-backend and the e2e bench): the client's global budget of 10 requests a
 * second is widened so a case does not wait out its own 1 s windows.
 */
const unpaced = () => new Pacer({ endpoints: {}, maxPerWindow: 1000 });

interface Rig {
  sim: SimulatorHandle;
  backend: Backend;
  svc: OrderService;
  home: string;
  aapl: Contract;
  msft: Contract;
  faults(body: unknown): Promise<void>;
  restart(): OrderService;
}

async function rig(safety: Partial<SafetyConfig> = {}, seed = 11): Promise<Rig> {
  const sim = await startSimulator({ port: 0, seed, pacing: false, tls: false });
  const backend = createCpapiBackend({
    baseUrl: sim.url,
    pacer: unpaced(),
    timeoutMs: 3000,
    sleep: fakeSleep,
  });
  const home = mkdtempSync(join(tmpdir(), 'ibkr-orders-'));
  const cfg: SafetyConfig = {
    ...DEFAULT_SAFETY,
    orderConfirmation: 'none',
    autoConfirmMessageIds: ['o10151', 'o10152'],
    maxOrderNotional: 1e7,
    maxOrderQuantity: 1e5,
    maxOrdersPerDay: 1000,
    ...safety,
  };
  const make = () => new OrderService({ backend, home, safety: cfg, simulated: false, timers: fakeTimers });
  const svc = make();
  cleanups.push(async () => {
    await backend.close();
    await sim.close();
    rmSync(home, { recursive: true, force: true });
  });
  const [aapl, msft] = await Promise.all([
    backend.resolveContract({ symbol: 'AAPL' }),
    backend.resolveContract({ symbol: 'MSFT' }),
  ]);
  return {
    sim,
    backend,
    svc,
    home,
    aapl,
    msft,
    async faults(body) {
      await fetch(`${sim.url}/sim/faults`, { method: 'POST', body: JSON.stringify(body) });
    },
    restart: make,
  };
}

const draft = (c: Contract, d: Partial<OrderDraft> = {}): OrderDraft => ({
  accountId: ACCT,
  contract: c,
  side: 'BUY',
  orderType: 'MKT',
  quantity: 10,
  tif: 'DAY',
  outsideRth: false,
  ...d,
});

const refused = (re: RegExp) => (e: unknown) => e instanceof BrokerError && e.code === 'REFUSED' && re.test(e.message);

describe('order service against the simulator', () => {
  test('market order: informational notice auto-confirmed, filled, position and cash booked', async () => {
    const r = await rig();
    const pf = simPortfolio(r.sim.state);
    const pos0 = pf.position(ACCT, r.aapl.conid);
    const cash0 = pf.cash(ACCT, 'USD');
    const out = await r.svc.send(await r.svc.prepare(draft(r.aapl)));
    assert.equal(out.status, 'filled');
    assert.deepEqual(out.autoConfirmed, ['o10151']);
    assert.equal(out.mode, 'PAPER');
    assert.equal(pf.position(ACCT, r.aapl.conid), pos0 + 10);
    const exec = simOrders(r.sim.state).executions.at(-1)!;
    assert.ok(Math.abs(pf.cash(ACCT, 'USD') - (cash0 - 10 * exec.price - exec.commission)) < 1e-6);
    const e = r.svc.journal.get(out.order.clientOrderId)!;
    assert.equal(e.state, 'placed');
    assert.equal(e.orderId, out.orderId);
  });

  test("IB's real warnings need confirm_order; replies chain; declining places nothing", async () => {
    const r = await rig();
    // 600 shares at market: the market-order notice (allowlisted) then the size limit (o383).
    const held = await r.svc.send(await r.svc.prepare(draft(r.msft, { quantity: 600 })));
    assert.equal(held.status, 'needs_reply');
    assert.deepEqual(held.question?.messageIds, ['o383']);
    assert.deepEqual(held.autoConfirmed, ['o10151']);
    assert.equal(r.svc.journal.get(held.order.clientOrderId)?.state, 'questions');
    const placed = await r.svc.confirmReply(held.question!.replyId, true);
    // Placed: filled at once, or partly when the simulated ask size at that second is under 600.
    assert.ok(['filled', 'submitted'].includes(placed.status), placed.status);
    assert.ok(placed.orderId);
    assert.equal(r.svc.journal.get(held.order.clientOrderId)?.state, 'placed');
    // A limit far from the market (o163), declined.
    const ask = (await r.backend.snapshot([r.aapl.conid], ['ask']))[0]!.values.ask as number;
    const far = Math.round(ask * 0.8 * 100) / 100;
    const q = await r.svc.send(await r.svc.prepare(draft(r.aapl, { orderType: 'LMT', limitPrice: far })));
    assert.deepEqual(q.question?.messageIds, ['o163']);
    const no = await r.svc.confirmReply(q.question!.replyId, false);
    assert.equal(no.status, 'declined');
    assert.equal(r.svc.journal.get(q.order.clientOrderId)?.state, 'declined');
    assert.equal([...simOrders(r.sim.state).orders.values()].filter((o) => o.cOID === q.order.clientOrderId).length, 0);
    await assert.rejects(
      r.svc.confirmReply(q.question!.replyId, true),
      (e: unknown) => e instanceof BrokerError && e.code === 'NOT_FOUND',
    );
  });

  test('a stale reply id (another order sent meanwhile) is rejected, not placed', async () => {
    const r = await rig();
    const ask = (await r.backend.snapshot([r.aapl.conid], ['ask']))[0]!.values.ask as number;
    const q = await r.svc.send(
      await r.svc.prepare(draft(r.aapl, { orderType: 'LMT', limitPrice: Math.round(ask * 0.8 * 100) / 100 })),
    );
    assert.equal(q.status, 'needs_reply');
    await r.svc.send(await r.svc.prepare(draft(r.msft, { quantity: 1 })));
    const stale = await r.svc.confirmReply(q.question!.replyId, true);
    assert.equal(stale.status, 'rejected');
    assert.match(stale.message, /stale|not placed/);
  });

  test('duplicates: a used client order id is never sent again; IB rejects a duplicate cOID too', async () => {
    const r = await rig();
    const first = await r.svc.send(await r.svc.prepare(draft(r.aapl, { clientOrderId: 'my-order-1' })));
    assert.equal(first.status, 'filled');
    const again = await r.svc.existing('my-order-1');
    assert.equal(again?.existing, true);
    assert.equal(again?.orderId, first.orderId);
    await assert.rejects(
      r.svc.send(await r.svc.prepare(draft(r.aapl, { clientOrderId: 'my-order-1' }))),
      refused(/already used/),
    );
    assert.equal(simOrders(r.sim.state).cOIDSubmissions.get('my-order-1'), 1);
    // The gateway's own duplicate check (bypassing the journal).
    const wire = await r.backend.placeOrder({ ...first.order });
    assert.equal(wire.kind, 'rejected');
    assert.match(wire.kind === 'rejected' ? wire.message : '', /already registered/);
  });

  test('insufficient buying power is a 200 rejection', async () => {
    const r = await rig();
    const out = await r.svc
      .send(
        await r.svc.prepare(draft(r.aapl, { accountId: 'DU5550001', orderType: 'LMT', quantity: 5000, limitPrice: 1 })),
      )
      .catch((e) => e);
    // 5000 @ 1 passes; now a value far above the small account's buying power:
    assert.ok(out);
    const big = await r.svc.send(
      await r.svc.prepare(draft(r.aapl, { accountId: 'DU5550001', quantity: 20000, orderType: 'MKT' })),
    );
    assert.equal(big.status === 'rejected' || big.status === 'needs_reply', true);
    if (big.status === 'needs_reply') {
      const c = await r.svc.confirmReply(big.question!.replyId, true);
      const final = c.status === 'needs_reply' ? await r.svc.confirmReply(c.question!.replyId, true) : c;
      assert.equal(final.status, 'rejected');
      assert.match(final.message, /not accepted|Equity/);
    } else assert.match(big.message, /not accepted|Equity/);
  });

  test('kill switch: no place, no modify, cancel still works; survives a new service', async () => {
    const r = await rig();
    const ask = (await r.backend.snapshot([r.aapl.conid], ['ask']))[0]!.values.ask as number;
    const working = await r.svc.send(
      await r.svc.prepare(
        draft(r.aapl, { orderType: 'LMT', limitPrice: Math.round(ask * 0.99 * 100) / 100, tif: 'GTC' }),
      ),
    );
    assert.equal(working.status, 'submitted');
    const prepared = await r.svc.prepare(draft(r.aapl, { quantity: 1 }));
    halt(r.home, 'test');
    const fresh = r.restart();
    await assert.rejects(fresh.prepare(draft(r.aapl)), refused(/halted/));
    await assert.rejects(fresh.send(prepared), refused(/halted/));
    await assert.rejects(
      fresh.prepareModify({ orderId: working.orderId!, limitPrice: 1 }, async () => r.aapl),
      refused(/halted/),
    );
    const c = await fresh.cancel({ orderId: working.orderId! });
    assert.equal(c.accepted, true);
    resume(r.home);
    assert.equal((await r.backend.orderStatus(working.orderId!)).status, 'Cancelled');
  });

  test('simulator orders never spend a paper account quota (issue 14)', async () => {
    const r = await rig({ maxOrdersPerDay: 2 });
    // Earlier simulator sessions on the same home and the same (simulated) account id.
    for (let i = 0; i < 5; i++) {
      r.svc.journal.begin(
        { ...(await r.svc.prepare(draft(r.aapl, { quantity: 1 }))).order, clientOrderId: `sim-${i}` },
        'SIMULATED',
      );
    }
    const out = await r.svc.send(await r.svc.prepare(draft(r.aapl, { quantity: 1 })));
    assert.equal(out.mode, 'PAPER');
    assert.equal(out.status, 'filled', out.message);
  });

  test('the notional cap fails closed when the account currency cannot be read (issue 11 #2)', async () => {
    const r = await rig({ maxOrderNotional: 1000 });
    await r.faults({ fail: { endpoint: 'GET /portfolio/accounts', status: 500, count: 1000 } });
    const n = simOrders(r.sim.state).orders.size;
    await assert.rejects(
      r.svc.prepare(draft(r.aapl, { quantity: 1 })),
      refused(/could not be checked: notional \(the base currency of account DU1234567 could not be read/),
    );
    assert.equal(simOrders(r.sim.state).orders.size, n);
  });

  test('a LIVE account (from IB: isPaper false) is refused without allow-live-trading', async () => {
    const r = await rig();
    for (const a of r.sim.state.accounts) a.isPaper = false;
    await assert.rejects(r.svc.prepare(draft(r.aapl)), refused(/LIVE account/));
    // Confirmation "none" on live needs a second flag (issue #18).
    const unapproved = await rig({ allowLiveTrading: true });
    for (const a of unapproved.sim.state.accounts) a.isPaper = false;
    await assert.rejects(unapproved.svc.prepare(draft(unapproved.aapl)), refused(/--allow-live-without-approval/));
    const live = await rig({ allowLiveTrading: true, allowLiveWithoutApproval: true });
    for (const a of live.sim.state.accounts) a.isPaper = false;
    const p = await live.svc.prepare(draft(live.aapl, { quantity: 1 }));
    assert.equal(p.mode, 'LIVE');
  });

  test('modify price and quantity, cancel, cancel all', async () => {
    const r = await rig();
    const ask = (await r.backend.snapshot([r.aapl.conid], ['ask']))[0]!.values.ask as number;
    const px = Math.round(ask * 0.98 * 100) / 100;
    // Prices as a client sends them: decimals, not float arithmetic (the tick check is exact).
    const lower = Math.round((px - 0.5) * 100) / 100;
    const o = await r.svc.send(await r.svc.prepare(draft(r.aapl, { orderType: 'LMT', limitPrice: px, tif: 'GTC' })));
    const m = await r.svc.send(
      await r.svc.prepareModify({ orderId: o.orderId!, limitPrice: lower, quantity: 12 }, async () => r.aapl),
    );
    assert.equal(m.status, 'submitted');
    const st = await r.backend.orderStatus(o.orderId!);
    assert.equal(st.quantity, 12);
    assert.equal(st.limitPrice, lower);
    assert.equal(r.svc.journal.get(o.order.clientOrderId)?.modifications?.length, 1);
    await r.svc
      .send(await r.svc.prepare(draft(r.msft, { orderType: 'LMT', limitPrice: 100, quantity: 1, tif: 'GTC' })))
      .catch(() => {});
    const all = await r.svc.cancel({ accountId: ACCT, orderId: 'all' });
    assert.equal(all.accepted, true);
    const open = (await r.backend.liveOrders()).filter((x) => x.status === 'Submitted' || x.status === 'PreSubmitted');
    assert.equal(open.length, 0);
  });

  test('cancel with an account not of the session: refused before IB is asked about the order', async () => {
    const r = await rig();
    const before = r.sim.state.stats.byEndpoint['GET /iserver/account/order/status/:orderId'] ?? 0;
    await assert.rejects(
      r.svc.cancel({ accountId: '99991231', orderId: '1' }),
      (e: unknown) =>
        e instanceof BrokerError && e.code === 'INVALID_INPUT' && /not one of this session/.test(e.message),
    );
    assert.equal(r.sim.state.stats.byEndpoint['GET /iserver/account/order/status/:orderId'] ?? 0, before);
  });

  test('#13 modify fails closed when IB sends no quantity or no filled quantity', async () => {
    const r = await rig();
    const ask = (await r.backend.snapshot([r.aapl.conid], ['ask']))[0]!.values.ask as number;
    const px = Math.round(ask * 0.98 * 100) / 100;
    const o = await r.svc.send(await r.svc.prepare(draft(r.aapl, { orderType: 'LMT', limitPrice: px, tif: 'GTC' })));
    assert.ok(o.orderId, o.message);
    const real = r.backend.orderStatus.bind(r.backend);
    let drop: 'filled' | 'quantity' = 'filled';
    r.backend.orderStatus = async (id, opts) => {
      const st = await real(id, opts);
      delete st[drop];
      return st;
    };
    // A new quantity cannot be checked against an unknown filled part: refused, not taken as 0.
    await assert.rejects(
      r.svc.prepareModify({ orderId: o.orderId!, quantity: 1 }, async () => r.aapl),
      (e: unknown) => e instanceof BrokerError && e.code === 'REFUSED' && /filled quantity/.test(e.message),
    );
    // Without IB's quantity, a price change would send an order of unknown size: refused.
    drop = 'quantity';
    await assert.rejects(
      r.svc.prepareModify({ orderId: o.orderId!, limitPrice: Math.round((px - 0.5) * 100) / 100 }, async () => r.aapl),
      (e: unknown) => e instanceof BrokerError && e.code === 'REFUSED' && /'s quantity/.test(e.message),
    );
    assert.equal(r.svc.journal.get(o.order.clientOrderId)?.modifications?.length ?? 0, 0);
  });

  test('lost answer: the order is found by its client order id and exists exactly once', async () => {
    const r = await rig();
    await r.faults({ dropResponse: { endpoint: 'POST /iserver/reply/:replyId', count: 1 } });
    const out = await r.svc.send(await r.svc.prepare(draft(r.aapl, { quantity: 3 })));
    assert.equal(out.status, 'filled');
    assert.match(out.message, /exists exactly once/);
    const cOID = out.order.clientOrderId;
    assert.equal([...simOrders(r.sim.state).orders.values()].filter((o) => o.cOID === cOID).length, 1);
    assert.equal(simOrders(r.sim.state).cOIDSubmissions.get(cOID), 1);
    assert.equal(r.svc.journal.get(cOID)?.orderId, out.orderId);
  });

  test('lost answer and a gateway restart: "may have been placed", then reconciliation finds it', async () => {
    const r = await rig({ autoConfirmMessageIds: ['o10151', 'o10152', 'o163'] });
    const ask = (await r.backend.snapshot([r.aapl.conid], ['ask']))[0]!.values.ask as number;
    await r.faults({ dropResponse: { endpoint: 'POST /iserver/account/:accountId/orders', count: 1, logout: true } });
    const p = await r.svc.prepare(
      draft(r.aapl, { orderType: 'LMT', limitPrice: Math.round(ask * 0.99 * 100) / 100, tif: 'GTC' }),
    );
    const out = await r.svc.send(p);
    assert.equal(out.status, 'uncertain');
    assert.match(out.message, /MAY have been placed.*NOT sent again.*get_order_status/s);
    const cOID = out.order.clientOrderId;
    assert.equal(r.svc.journal.get(cOID)?.state, 'unknown');
    assert.equal(simOrders(r.sim.state).cOIDSubmissions.get(cOID), 1);
    // Back online: a restarted server reconciles the journal with IB.
    await fetch(`${r.sim.url}/sim/session`, { method: 'POST', body: JSON.stringify({ authenticated: true }) });
    const next = r.restart();
    const rec = await next.reconcile();
    assert.deepEqual([rec.checked >= 1, rec.updated >= 1], [true, true]);
    assert.equal(next.journal.get(cOID)?.state, 'placed');
    assert.equal(simOrders(r.sim.state).cOIDSubmissions.get(cOID), 1);
  });

  test('connection reset before IB saw it: uncertain, then reconciliation marks it not found', async () => {
    const r = await rig();
    await r.faults({ resetConnection: { endpoint: 'POST /iserver/account/:accountId/orders', count: 1 } });
    const out = await r.svc.send(await r.svc.prepare(draft(r.aapl, { quantity: 2 })));
    assert.equal(out.status, 'uncertain');
    const rec = await r.restart().reconcile();
    assert.equal(rec.notFound, 1);
    assert.equal(r.svc.journal.get(out.order.clientOrderId)?.state, 'not_found');
  });
});

describe('attacks on the order flow (issue 11)', () => {
  const PLACEHOLDER = { orders: [], snapshot: false };
  const limitBelow = async (r: Rig, c: Contract) => {
    const ask = (await r.backend.snapshot([c.conid], ['ask']))[0]!.values.ask as number;
    return Math.round(ask * 0.98 * 100) / 100;
  };

  test('#1 a filled order whose answer was lost is never concluded missing from reads that failed', async () => {
    const r = await rig();
    // A marketable limit order (no question first): IB fills it, and its answer is lost.
    const ask = (await r.backend.snapshot([r.aapl.conid], ['ask']))[0]!.values.ask as number;
    const p = await r.svc.prepare(
      draft(r.aapl, { orderType: 'LMT', limitPrice: Math.round(ask * 101) / 100, quantity: 2 }),
    );
    await r.faults({ dropResponse: { endpoint: 'POST /iserver/account/:accountId/orders', count: 1, logout: true } });
    const out = await r.svc.send(p);
    assert.equal(out.status, 'uncertain');
    const cOID = out.order.clientOrderId;
    const ibOrder = [...simOrders(r.sim.state).orders.values()].find((o) => o.cOID === cOID);
    assert.equal(ibOrder?.status, 'Filled');
    await fetch(`${r.sim.url}/sim/session`, { method: 'POST', body: JSON.stringify({ authenticated: true }) });
    // IB answers only its empty placeholder, and the executions read fails.
    await r.faults({
      fail: [
        { endpoint: 'GET /iserver/account/orders', status: 200, count: 1000, body: PLACEHOLDER },
        { endpoint: 'GET /iserver/account/trades', status: 500, count: 1000 },
      ],
    });
    const next = r.restart();
    await assert.rejects(next.reconcile(), /did not settle/);
    assert.equal(next.journal.get(cOID)?.state, 'unknown');
    // A real (settled) empty list, but executions still unreadable: still unknown.
    await r.faults({
      clear: true,
      fail: [
        { endpoint: 'GET /iserver/account/orders', status: 200, count: 1000, body: { orders: [], snapshot: true } },
        { endpoint: 'GET /iserver/account/trades', status: 500, count: 1000 },
      ],
    });
    const rec = await next.reconcile();
    assert.equal(rec.unchecked, 1);
    assert.equal(next.journal.get(cOID)?.state, 'unknown');
    const again = await next.existing(cOID);
    assert.equal(again?.status, 'uncertain');
    assert.match(again!.message, /MAY have been placed/);
    assert.doesNotMatch(again!.message, /reject/i);
    // IB's answers come back: the order is known, filled, and was sent once.
    await r.faults({ clear: true });
    await next.reconcile();
    assert.equal(next.journal.get(cOID)?.state, 'placed');
    assert.equal((await next.existing(cOID))?.status, 'filled');
    assert.equal(simOrders(r.sim.state).cOIDSubmissions.get(cOID), 1);
  });

  test("#4 token approval: IB's warning needs a new token, a reply id alone cannot confirm it", async () => {
    const r = await rig({ orderConfirmation: 'token' });
    const px = Math.round((await limitBelow(r, r.aapl)) * 0.92 * 100) / 100;
    const held = r.svc.hold(await r.svc.prepare(draft(r.aapl, { orderType: 'LMT', limitPrice: px, tif: 'GTC' })));
    const q = await r.svc.confirmToken(held.token);
    assert.equal(q.status, 'needs_reply');
    assert.deepEqual(q.question?.messageIds, ['o163']);
    assert.ok(q.confirmation?.token, 'a new token for the warning');
    assert.match(q.message, /only if they agree, call confirm_order \{"token": "…"\}/);
    await assert.rejects(r.svc.confirmReply(q.question!.replyId, true), refused(/needs the same approval/));
    const placed = await r.svc.confirmToken(q.confirmation!.token);
    assert.equal(placed.status, 'submitted', placed.message);
    // Declining by reply id stays possible (it sends nothing).
    const held2 = r.svc.hold(
      await r.svc.prepare(draft(r.aapl, { orderType: 'LMT', limitPrice: px, tif: 'GTC', quantity: 3 })),
    );
    const q2 = await r.svc.confirmToken(held2.token);
    assert.equal((await r.svc.confirmReply(q2.question!.replyId, false)).status, 'declined');
  });

  test('#9 a dialog state (held with the tool arguments) is refused by confirm_order', async () => {
    const r = await rig({ orderConfirmation: 'elicit' });
    const held = r.svc.hold(await r.svc.prepare(draft(r.aapl, { quantity: 1 })), 'args-hash');
    await assert.rejects(r.svc.confirmToken(held.token), refused(/state of the client's confirmation dialog/));
    const out = await r.svc.confirmToken(held.token, {}, 'args-hash');
    assert.equal(out.status, 'filled');
  });

  test('#6 a lost cancel answer is looked up: the cancel took effect', async () => {
    const r = await rig();
    const o = await r.svc.send(
      await r.svc.prepare(draft(r.aapl, { orderType: 'LMT', limitPrice: await limitBelow(r, r.aapl), tif: 'GTC' })),
    );
    assert.equal(o.status, 'submitted', o.message);
    await r.faults({ dropResponse: { endpoint: 'DELETE /iserver/account/:accountId/order/:orderId', count: 1 } });
    const c = await r.svc.cancel({ orderId: o.orderId! });
    assert.equal(c.accepted, true, c.message);
    assert.equal(c.answerLost, true);
    assert.match(c.message, /answer to the cancel was lost .*now shows Cancelled: the cancel took effect/);
    assert.equal(r.svc.journal.get(o.order.clientOrderId)?.cancels?.length, 1);
  });

  test('#6 a cancel whose answer was lost before IB saw it is reported as uncertain, not as a failure', async () => {
    const r = await rig();
    const o = await r.svc.send(
      await r.svc.prepare(draft(r.aapl, { orderType: 'LMT', limitPrice: await limitBelow(r, r.aapl), tif: 'GTC' })),
    );
    await r.faults({ resetConnection: { endpoint: 'DELETE /iserver/account/:accountId/order/:orderId', count: 1 } });
    const c = await r.svc.cancel({ orderId: o.orderId! });
    assert.equal(c.accepted, false);
    assert.equal(c.uncertain, true);
    assert.match(c.message, /^UNCERTAIN: .*still shows (Submitted|PreSubmitted)/);
  });

  test('#7 modifying and cancelling an order placed elsewhere (TWS) is journaled before it is sent', async () => {
    const r = await rig();
    const px = await limitBelow(r, r.msft);
    let placed = await r.backend.placeOrder({
      accountId: ACCT,
      conid: r.msft.conid,
      secType: 'STK',
      symbol: 'MSFT',
      side: 'BUY',
      orderType: 'LMT',
      limitPrice: px,
      quantity: 1,
      tif: 'GTC',
      outsideRth: false,
      clientOrderId: 'tws-order-1',
    });
    while (placed.kind === 'questions') placed = await r.backend.reply(placed.question.replyId, true);
    assert.equal(placed.kind, 'placed');
    const orderId = placed.kind === 'placed' ? placed.orders[0]!.orderId : '';
    const before = r.svc.journal.attemptsSince(0);
    const m = await r.svc.send(
      await r.svc.prepareModify({ orderId, limitPrice: Math.round((px - 1) * 100) / 100 }, async () => r.msft),
    );
    assert.equal(m.status, 'submitted', m.message);
    const e = r.svc.journal.byOrderId(orderId);
    assert.equal(e?.foreign, true);
    assert.equal(e?.clientOrderId, 'tws-order-1');
    assert.equal(e?.modifications?.length, 1);
    await r.svc.cancel({ orderId });
    assert.equal(r.svc.journal.byOrderId(orderId)?.cancels?.length, 1);
    assert.equal(r.svc.journal.attemptsSince(0), before, 'not counted as an order sent');
  });

  test('#8 a modification answered 503 is uncertain, showing what IB still has, not SUBMITTED', async () => {
    const r = await rig();
    const px = await limitBelow(r, r.aapl);
    const o = await r.svc.send(await r.svc.prepare(draft(r.aapl, { orderType: 'LMT', limitPrice: px, tif: 'GTC' })));
    await r.faults({ fail: { endpoint: 'POST /iserver/account/:accountId/order/:orderId', status: 503, count: 1 } });
    const m = await r.svc.send(await r.svc.prepareModify({ orderId: o.orderId!, quantity: 25 }, async () => r.aapl));
    assert.equal(m.status, 'uncertain', m.message);
    assert.match(m.message, /^UNCERTAIN: IB's answer to the modification was lost .*still shows quantity 10/);
    assert.match(r.svc.journal.get(o.order.clientOrderId)?.message ?? '', /modification answer lost/);
  });
});

// ---------------------------------------------------------------- property test

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

describe('property: journal, live orders and positions agree; no client order id is sent twice', () => {
  for (const seed of [1, 2, 3]) {
    test(`random sequence, seed ${seed}`, async () => {
      const r = await rig({ autoConfirmMessageIds: ['o10151', 'o10152', 'o163', 'o383'] }, 100 + seed);
      const rand = lcg(seed);
      const pick = <T>(xs: T[]): T => xs[Math.floor(rand() * xs.length)]!;
      const pf = simPortfolio(r.sim.state);
      const contracts = [r.aapl, r.msft];
      const start = new Map(contracts.map((c) => [c.conid, pf.position(ACCT, c.conid)]));
      const engine = simOrders(r.sim.state);
      let svc = r.svc;
      for (let step = 0; step < 12; step++) {
        const c = pick(contracts);
        const action = pick(['mkt', 'lmt', 'lmt', 'modify', 'cancel', 'drop', 'reset', 'restart']);
        const ask = (await r.backend.snapshot([c.conid], ['ask']))[0]!.values.ask as number;
        const side = rand() < 0.5 ? 'BUY' : 'SELL';
        const qty = 1 + Math.floor(rand() * 20);
        try {
          if (action === 'mkt') await svc.send(await svc.prepare(draft(c, { side, quantity: qty })));
          else if (action === 'lmt') {
            const off = side === 'BUY' ? 0.99 : 1.01;
            const px = Math.round(ask * off * 100) / 100;
            await svc.send(
              await svc.prepare(draft(c, { side, quantity: qty, orderType: 'LMT', limitPrice: px, tif: 'GTC' })),
            );
          } else if (action === 'modify' || action === 'cancel') {
            const open = [...engine.orders.values()].filter(
              (o) => o.status === 'Submitted' || o.status === 'PreSubmitted',
            );
            if (open.length) {
              const o = pick(open);
              if (action === 'cancel') await svc.cancel({ orderId: String(o.orderId) });
              else
                await svc.send(
                  await svc.prepareModify(
                    { orderId: String(o.orderId), limitPrice: Math.round((o.limit ?? ask) * 1.001 * 100) / 100 },
                    async () => (o.conid === r.aapl.conid ? r.aapl : r.msft),
                  ),
                );
            }
          } else if (action === 'drop') {
            await r.faults({ dropResponse: { endpoint: 'POST /iserver/reply/:replyId', count: 1 } });
            await svc.send(await svc.prepare(draft(c, { side, quantity: qty })));
            await r.faults({ clear: true });
          } else if (action === 'reset') {
            await r.faults({ resetConnection: { endpoint: 'POST /iserver/account/:accountId/orders', count: 1 } });
            await svc.send(await svc.prepare(draft(c, { side, quantity: qty })));
            await r.faults({ clear: true });
          } else {
            svc = r.restart();
            await svc.reconcile();
          }
        } catch (e) {
          if (!(e instanceof BrokerError)) throw e;
        }
      }
      await svc.reconcile();
      // 1. No client order id was ever submitted twice.
      for (const [cOID, n] of engine.cOIDSubmissions) assert.equal(n, 1, `cOID ${cOID} sent ${n} times`);
      // 2. Journal and IB agree on every order.
      const live = await r.backend.liveOrders();
      const byCoid = new Map(live.filter((o) => o.clientOrderId).map((o) => [o.clientOrderId!, o]));
      for (const e of svc.journal.all()) {
        const ib = byCoid.get(e.clientOrderId);
        if (e.state === 'placed') {
          assert.ok(ib, `journal says placed, IB does not show ${e.clientOrderId}`);
          assert.equal(ib.orderId, e.orderId);
        } else {
          assert.equal(ib, undefined, `journal says ${e.state}, IB shows ${e.clientOrderId}`);
          assert.notEqual(e.state, 'sending');
          assert.notEqual(e.state, 'unknown');
        }
      }
      for (const o of engine.orders.values())
        assert.ok(o.cOID && svc.journal.get(o.cOID), `order ${o.orderId} not in journal`);
      // 3. Positions equal the fills IB reports.
      for (const c of contracts) {
        const filled = live
          .filter((o) => o.conid === c.conid)
          .reduce((s, o) => s + (o.side === 'BUY' ? 1 : -1) * (o.filled ?? Number.NaN), 0);
        assert.equal(pf.position(ACCT, c.conid) - start.get(c.conid)!, filled);
      }
    });
  }
});
