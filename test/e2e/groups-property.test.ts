/**
 * Property test over random order groups (issue #20): a seeded sequence of OCA groups,
 * brackets, cancels, market moves and one lost answer, through the MCP server against the
 * simulator. Afterwards: no client order id was sent twice; the journal and IB's orders agree
 * (every order IB has under one of our ids is in the journal with IB's id, and every journal
 * entry with an IB id is that order at IB); IB's working orders as get_live_orders lists them
 * are the simulator's; the positions moved by exactly the executions; an OCA group (type 1)
 * has fills on one order at most; bracket children close no more than their parent opened.
 * Seed: IBKR_PROP_SEED (default below); bounded to 16 steps so it runs in well under 30 s.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { cents, journalLines, lastPrice, type SimView } from './group-helpers.js';
import { type Harness, simRequest, startServer } from './harness.js';
import { rng } from './rng.js';

const ACCT = 'DU1234567';
const SEED = Number(process.env['IBKR_PROP_SEED'] ?? 1);
const STEPS = 16;
const SYMBOLS = ['AAPL', 'MSFT'] as const;

describe(`order groups property (seed ${SEED})`, () => {
  let h: Harness;
  const view = () => simRequest(h.sim!, '/sim/orders') as Promise<SimView>;
  const positions = async (): Promise<Map<number, number>> => {
    const r = await h.callTool('get_positions', { accountId: ACCT, limit: 1000 });
    assert.equal(r.isError, false, r.text);
    return new Map(
      (r.structured.positions as Array<{ conid: number; qty?: number }>).map((p) => [p.conid, p.qty ?? 0]),
    );
  };

  before(async () => {
    h = await startServer({
      args: ['--order-confirmation', 'none', '--toolsets', 'default,order_groups', '--max-orders-per-day', '500'],
    });
  });
  after(async () => {
    await h?.close();
  });

  test('journal, IB orders and positions agree; no client order id sent twice', async () => {
    const rand = rng(SEED);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
    const within = (px: number, maxPct: number) => cents(px * (1 + (rand() * 2 - 1) * maxPct));
    const start = await positions();
    const startExec = (await view()).executions.length;
    let n = 0;
    let faulted = false;
    const log: string[] = [];
    for (let step = 0; step < STEPS; step++) {
      const action = pick(['oca', 'oca', 'bracket', 'bracket', 'cancel', 'clock'] as const);
      if (action === 'oca') {
        const size = 2 + Math.floor(rand() * 2);
        const orders = [];
        for (let i = 0; i < size; i++) {
          const symbol = pick(SYMBOLS);
          const px = await lastPrice(h, symbol);
          orders.push({
            symbol,
            action: pick(['BUY', 'SELL'] as const),
            orderType: 'LMT',
            quantity: 1 + Math.floor(rand() * 3),
            // Within IB's 3 % price constraint (question o163), either side of the market.
            price: within(px, 0.02),
            clientOrderId: `prop-${SEED}-${n++}`,
          });
        }
        if (!faulted && rand() < 0.3) {
          faulted = true;
          await h.simControl('/sim/faults', {
            dropResponse: { endpoint: 'POST /iserver/account/:accountId/orders', count: 1 },
          });
        }
        const r = await h.callTool('place_oca_orders', { accountId: ACCT, orders });
        log.push(`${step} oca ${orders.map((o) => o.clientOrderId).join(',')}: ${r.structured?.status ?? r.text}`);
        assert.equal(r.isError, false, r.text);
      } else if (action === 'bracket') {
        const symbol = pick(SYMBOLS);
        const px = await lastPrice(h, symbol);
        const buy = rand() < 0.5;
        const entry = within(px, 0.01);
        const clientOrderId = `prop-${SEED}-${n++}`;
        const r = await h.callTool('place_stock_order', {
          accountId: ACCT,
          symbol,
          action: buy ? 'BUY' : 'SELL',
          orderType: 'LMT',
          price: entry,
          quantity: 1 + Math.floor(rand() * 3),
          tif: 'GTC',
          takeProfit: cents(entry * (buy ? 1.01 : 0.99)),
          stopLoss: cents(entry * (buy ? 0.985 : 1.015)),
          clientOrderId,
        });
        log.push(`${step} bracket ${clientOrderId}: ${r.structured?.status ?? r.text}`);
        assert.equal(r.isError, false, r.text);
      } else if (action === 'cancel') {
        const working = (await view()).orders.filter(
          (o) => (o.status === 'Submitted' || o.status === 'PreSubmitted') && o.parentOrderId === undefined,
        );
        if (!working.length) continue;
        const o = pick(working);
        const r = await h.callTool('cancel_order', { orderId: String(o.orderId) });
        log.push(`${step} cancel ${o.orderId}: ${r.text.slice(0, 80)}`);
        assert.equal(r.isError, false, r.text);
      } else {
        const ms = Math.floor(rand() * 3_600_000);
        await h.simControl('/sim/clock', { advanceMs: ms });
        log.push(`${step} clock +${ms} ms`);
      }
    }
    const why = `seed ${SEED}:\n${log.join('\n')}`;
    const v = await view();

    // No client order id sent twice.
    for (const [c, k] of Object.entries(v.cOIDSubmissions)) assert.equal(k, 1, `${c} sent ${k} times; ${why}`);

    // The journal and IB's orders agree.
    const journal = new Map<string, { orderId?: string; state?: string; group?: string }>();
    for (const l of journalLines(h)) {
      const e = journal.get(l.cOID) ?? {};
      if (l.orderId) e.orderId = l.orderId;
      if (l.state) e.state = l.state;
      if (l.group) e.group = l.group;
      journal.set(l.cOID, e);
    }
    const mine = v.orders.filter((o) => o.cOID?.startsWith(`prop-${SEED}-`));
    for (const o of mine) {
      const e = journal.get(o.cOID!);
      assert.ok(e, `IB has ${o.cOID} but the journal does not; ${why}`);
      assert.equal(e.orderId, String(o.orderId), `${o.cOID}; ${why}`);
      assert.equal(e.state, 'placed', `${o.cOID}; ${why}`);
    }
    for (const [c, e] of journal) {
      if (!c.startsWith(`prop-${SEED}-`) || !e.orderId) continue;
      assert.ok(
        mine.some((o) => String(o.orderId) === e.orderId && o.cOID === c),
        `journal ${c} → ${e.orderId} not at IB; ${why}`,
      );
    }

    // IB's working orders as the server lists them are the simulator's.
    const live = await h.callTool('get_live_orders', {});
    const listed = new Set(
      (live.structured.orders as Array<{ orderId: string; status: string }>)
        .filter((o) => o.status === 'Submitted' || o.status === 'PreSubmitted')
        .map((o) => o.orderId),
    );
    const working = new Set(
      v.orders.filter((o) => o.status === 'Submitted' || o.status === 'PreSubmitted').map((o) => String(o.orderId)),
    );
    assert.deepEqual([...listed].sort(), [...working].sort(), why);

    // Positions moved by exactly the executions.
    const end = await positions();
    const moved = new Map<number, number>();
    for (const x of v.executions.slice(startExec)) {
      moved.set(x.conid, (moved.get(x.conid) ?? 0) + (x.side === 'BUY' ? x.qty : -x.qty));
    }
    for (const conid of new Set([...start.keys(), ...end.keys(), ...moved.keys()])) {
      const d = Math.round(((end.get(conid) ?? 0) - (start.get(conid) ?? 0)) * 1e4) / 1e4;
      assert.equal(d, Math.round((moved.get(conid) ?? 0) * 1e4) / 1e4, `position of ${conid}; ${why}`);
    }

    // An OCA group fills on one order at most; children close no more than the parent opened.
    const groups = new Map<string, typeof mine>();
    for (const o of mine) if (o.ocaGroup) groups.set(o.ocaGroup, [...(groups.get(o.ocaGroup) ?? []), o]);
    for (const [g, os] of groups) {
      assert.ok(os.filter((o) => o.filled > 0).length <= 1, `OCA ${g} filled on several orders; ${why}`);
    }
    for (const p of mine) {
      const kids = v.orders.filter((o) => o.parentOrderId === p.orderId);
      const closed = kids.reduce((s, k) => s + k.filled, 0);
      assert.ok(closed <= p.filled + 1e-9, `children of ${p.orderId} closed ${closed} > ${p.filled}; ${why}`);
    }
    process.stderr.write(
      `# property seed ${SEED}: ${STEPS} steps, ${mine.length} orders with our ids, ${v.executions.length - startExec} executions, fault ${faulted}\n`,
    );
  });
});
