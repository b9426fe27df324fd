/**
 * Order tickets (src/safety/tickets.ts) against the simulator with a LIVE login, in process: a
 * LIVE order from an Apps client is held as a ticket; only its secret's holder can change, place
 * or cancel it; a new `open` voids the old secret; Place sends once however often it is called;
 * an expired or cancelled ticket sends nothing; IB's question is answered in the ticket.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { createCpapiBackend } from '../../src/backends/cpapi/index.js';
import { Pacer } from '../../src/backends/cpapi/limiter.js';
import type { Backend } from '../../src/broker/backend.js';
import { BrokerError } from '../../src/broker/errors.js';
import type { Contract } from '../../src/broker/types.js';
import { DEFAULT_SAFETY } from '../../src/safety/policy.js';
import { type OrderDraft, OrderService } from '../../src/safety/service.js';
import { TICKET_TTL_MS } from '../../src/safety/tickets.js';
import { type SimulatorHandle, startSimulator } from '../../src/simulator/index.js';

const ACCT = 'U1234567';
const PLACE = 'POST /iserver/account/:accountId/orders';
const cleanups: Array<() => Promise<void> | void> = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

interface Rig {
  sim: SimulatorHandle;
  backend: Backend;
  svc: OrderService;
  aapl: Contract;
  home: string;
  clock: { now: number };
  placed(): Promise<number>;
}

async function rig(): Promise<Rig> {
  const sim = await startSimulator({ port: 0, seed: 5, pacing: false, tls: false, live: true });
  const backend = createCpapiBackend({
    baseUrl: sim.url,
    pacer: new Pacer({ endpoints: {}, maxPerWindow: 1000 }),
    timeoutMs: 3000,
    sleep: async () => {},
  });
  const home = mkdtempSync(join(tmpdir(), 'ibkr-tickets-'));
  const clock = { now: Date.now() };
  const svc = new OrderService({
    backend,
    home,
    safety: { ...DEFAULT_SAFETY, allowLiveTrading: true, maxOrderNotional: 1e7, maxOrderQuantity: 500 },
    simulated: false,
    now: () => clock.now,
    timers: { sleep: async () => {}, timeout: () => new AbortController().signal },
  });
  cleanups.push(async () => {
    await backend.close();
    await sim.close();
    rmSync(home, { recursive: true, force: true });
  });
  const aapl = await backend.resolveContract({ symbol: 'AAPL' });
  return {
    sim,
    backend,
    svc,
    aapl,
    home,
    clock,
    async placed() {
      const st = (await (await fetch(`${sim.url}/sim/stats`)).json()) as { byEndpoint: Record<string, number> };
      return st.byEndpoint[PLACE] ?? 0;
    },
  };
}

async function ticketFor(r: Rig, d: Partial<OrderDraft> = {}) {
  const draft: OrderDraft = {
    accountId: ACCT,
    contract: r.aapl,
    side: 'BUY',
    orderType: 'MKT',
    quantity: 2,
    tif: 'DAY',
    outsideRth: false,
    ...d,
  };
  const step = await r.svc.approve({
    argsHash: 'x',
    canAsk: true,
    ticket: { draft: () => draft },
    prepare: () => r.svc.prepare(draft),
  });
  assert.equal(step.kind, 'ticket');
  if (step.kind !== 'ticket') throw new Error('no ticket');
  assert.equal(step.outcome.approval, 'ticket');
  assert.equal(step.outcome.confirmation, undefined, 'no token the model could redeem');
  return step.ticket.id;
}

const refused = (e: unknown) => e instanceof BrokerError && e.code === 'REFUSED';

describe('order tickets', () => {
  test('only the secret of the latest open acts; Place sends once however often it is called', async () => {
    const r = await rig();
    const id = await ticketFor(r);
    await assert.rejects(r.svc.tickets.place(id, 'guess-guess-guess-guess'), refused);
    const first = r.svc.tickets.open(id);
    const second = r.svc.tickets.open(id);
    await assert.rejects(r.svc.tickets.place(id, first.secret), refused, 'a reopened ticket voids the old secret');
    const updated = await r.svc.tickets.update(id, second.secret, { quantity: 5 });
    assert.equal(updated.prepared.order.quantity, 5);
    assert.equal(updated.prepared.order.clientOrderId, second.view.prepared.order.clientOrderId);
    const tooMany = await r.svc.tickets.update(id, second.secret, { quantity: 900 });
    assert.match(tooMany.problem ?? '', /Not changed/);
    assert.equal(tooMany.prepared.order.quantity, 5, 'a refused change leaves the ticket as it was');

    const before = await r.placed();
    const [a, b] = await Promise.all([r.svc.tickets.place(id, second.secret), r.svc.tickets.place(id, second.secret)]);
    const c = await r.svc.tickets.place(id, second.secret);
    assert.equal(a.status, 'done');
    assert.equal(a.result?.approval, 'ticket');
    assert.equal(a.result?.orderId, b.result?.orderId);
    assert.equal(c.result?.orderId, a.result?.orderId);
    assert.equal(await r.placed(), before + 1);
    const journal = readFileSync(join(r.home, 'journal.jsonl'), 'utf8');
    assert.match(journal, new RegExp(`"cOID":"${a.prepared.order.clientOrderId}"[^\\n]*"approval":"ticket"`));
    // Reopened after placing: the result, no way to send again.
    const reopened = r.svc.tickets.open(id);
    assert.equal(reopened.view.status, 'done');
    await assert.rejects(r.svc.tickets.place(id, reopened.secret), refused);
  });

  test('cancelled and expired tickets send nothing', async () => {
    const r = await rig();
    const before = await r.placed();
    const id = await ticketFor(r);
    const { secret } = r.svc.tickets.open(id);
    assert.equal((await r.svc.tickets.cancel(id, secret)).status, 'cancelled');
    assert.equal((await r.svc.tickets.place(id, secret)).status, 'cancelled');

    const old = await ticketFor(r);
    const o = r.svc.tickets.open(old);
    r.clock.now += TICKET_TTL_MS + 1;
    assert.equal((await r.svc.tickets.place(old, o.secret)).status, 'expired');
    assert.equal(await r.placed(), before);
  });

  test('a LIVE modification is a ticket too: shown as asked, sent once', async () => {
    const r = await rig();
    const q = await r.backend.snapshot([r.aapl.conid], ['last']);
    const last = (q[0] as { last?: number } | undefined)?.last ?? 200;
    const id = await ticketFor(r, { orderType: 'LMT', limitPrice: Math.round(last * 0.9) });
    const s1 = r.svc.tickets.open(id).secret;
    let placed = await r.svc.tickets.place(id, s1);
    if (placed.status === 'question') placed = await r.svc.tickets.place(id, s1);
    const orderId = placed.result?.orderId;
    assert.match(orderId ?? '', /^\d+$/, JSON.stringify(placed.result));
    const step = await r.svc.approve({
      argsHash: 'm',
      canAsk: true,
      ticket: { draft: () => undefined },
      prepare: () =>
        r.svc.prepareModify({ accountId: ACCT, orderId: orderId!, quantity: 4 }, (conid) =>
          r.backend.resolveContract({ conid }),
        ),
    });
    assert.equal(step.kind, 'ticket');
    if (step.kind !== 'ticket') return;
    const { secret } = r.svc.tickets.open(step.ticket.id);
    const edit = await r.svc.tickets.update(step.ticket.id, secret, { quantity: 9 });
    assert.match(edit.problem ?? '', /shown as asked/);
    let modified = await r.svc.tickets.place(step.ticket.id, secret);
    if (modified.status === 'question') modified = await r.svc.tickets.place(step.ticket.id, secret);
    assert.equal(modified.status, 'done', JSON.stringify(modified));
    assert.equal(modified.result?.approval, 'ticket');
    assert.equal(modified.result?.order.quantity, 4);
    const st = (await (await fetch(`${r.sim.url}/sim/stats`)).json()) as { byEndpoint: Record<string, number> };
    assert.equal(st.byEndpoint['POST /iserver/account/:accountId/order/:orderId'], 1);
  });

  test("IB's question is answered in the ticket: the second Place says yes", async () => {
    const r = await rig();
    const q = await r.backend.snapshot([r.aapl.conid], ['last']);
    const last = (q[0] as { last?: number } | undefined)?.last ?? 200;
    // A limit far above the market: IB asks about the price constraint.
    const id = await ticketFor(r, { orderType: 'LMT', limitPrice: Math.round(last * 1.2) });
    const { secret } = r.svc.tickets.open(id);
    const asked = await r.svc.tickets.place(id, secret);
    assert.equal(asked.status, 'question', JSON.stringify(asked.result));
    assert.ok(asked.result?.question?.messages.length);
    const placed = await r.svc.tickets.place(id, secret);
    assert.equal(placed.status, 'done');
    assert.match(placed.result?.orderId ?? '', /^\d+$/);
    assert.equal(placed.result?.approval, 'ticket');
  });
});
