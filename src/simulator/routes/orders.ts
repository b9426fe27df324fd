/**
 * IB's order endpoints (docs/ib/orders.md, §7) over the simulator's order engine:
 *
 *   POST   /iserver/account/:accountId/orders          {"orders":[{…}]} → placed | question | {"error"}; a bracket
 *                                                      (parent with cOID, children with parentId = it) or an OCA
 *                                                      group (every order isSingleGroup) in one request
 *   POST   /iserver/account/:accountId/orders/whatif   same body → amount/equity/margin strings
 *   POST   /iserver/reply/:replyId                     {"confirmed":bool} → placed | next question | error; 503 stale
 *   GET    /iserver/account/orders?force&filters        {"orders":[],"snapshot":false} first (and after force)
 *   GET    /iserver/account/order/status/:orderId       503 for unknown ids
 *   POST   /iserver/account/:accountId/order/:orderId   modify: one order object, not wrapped
 *   DELETE /iserver/account/:accountId/order/:orderId   cancel; -1 cancels all open orders of the account
 *   GET    /iserver/account/trades?days=N               executions, N ≤ 7
 *   POST   /iserver/questions/suppress(/reset)          {"status":"submitted"}
 *
 * Control: GET /sim/orders → {orders, executions, cOIDSubmissions} for tests.
 */

import { comboFrom, isComboConidex } from '../order-combo.js';
import { orderQuote } from '../order-quote.js';
import { type OrderSpec, type SimOrderType, type SimTif, simOrders } from '../orders.js';
import { queryBool } from '../profiles.js';
import { HttpError, ibError, json, type Reply, type Router } from '../server.js';
import type { SimState } from '../state.js';
import { simWs } from '../ws.js';

const TYPES = new Set(['MKT', 'LMT', 'STP', 'STOP_LIMIT', 'TRAIL']);
const TIFS = new Set(['DAY', 'GTC', 'IOC', 'OPG']);

function n(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v === 'string' && v.trim() !== '') {
    const x = Number(v);
    return Number.isFinite(x) ? x : undefined;
  }
  return undefined;
}

function checkAccount(state: SimState, acct: string): void {
  if (!state.accounts.some((a) => a.id === acct)) {
    throw new HttpError(400, { error: `Bad Request: accountId is not valid: ${acct}`, statusCode: 400 });
  }
}

/** One order object of IB's body → the engine's spec; malformed content is IB's 500. */
function specFrom(state: SimState, acct: string, o: unknown): OrderSpec | Reply {
  if (!o || typeof o !== 'object') return { status: 500, body: { error: 'Invalid order' } };
  const r = o as Record<string, unknown>;
  // A combo: conidex "{spread};;;{leg}/{ratio},…" instead of conid (order-combo.ts).
  const combo = isComboConidex(r['conidex']) ? comboFrom(state, r['conidex']) : undefined;
  if (typeof combo === 'string') return json({ error: combo });
  const conid = combo?.inst.conid ?? n(r['conid']) ?? n(String(r['conidex'] ?? '').split('@')[0]);
  const type = String(r['orderType'] ?? '').toUpperCase();
  const side = String(r['side'] ?? '').toUpperCase();
  const tif = String(r['tif'] ?? 'DAY').toUpperCase();
  let qty = n(r['quantity']);
  const cash = n(r['cashQty']);
  if (conid === undefined || !Number.isInteger(conid)) return { status: 500, body: { error: 'conid is required' } };
  if (!TYPES.has(type)) return { status: 200, body: { error: `Invalid order type: ${type || '(none)'}` } };
  if (side !== 'BUY' && side !== 'SELL') return { status: 500, body: { error: 'side must be BUY or SELL' } };
  if (!TIFS.has(tif)) return { status: 200, body: { error: `Invalid time in force: ${tif}` } };
  if (qty === undefined && cash === undefined) return { status: 500, body: { error: 'quantity is required' } };
  const inst = combo?.inst ?? simOrders(state).instrument(conid);
  if (!inst) return { status: 200, body: { error: `Contract ${conid} not found` } };
  if (cash !== undefined) {
    // A cash quantity order: stocks, market orders, no quantity beside it; sized here to 0.0001 share.
    if (qty !== undefined) return json({ error: 'Give either quantity or cashQty, not both.' });
    if (inst.secType !== 'STK' || type !== 'MKT') {
      return json({ error: 'Cash quantity orders are supported for stock market orders only.' });
    }
    const q = orderQuote(state, inst);
    const px = side === 'BUY' ? q.ask : q.bid;
    if (!(cash > 0) || px === undefined) return json({ error: 'The cash quantity cannot be sized: no market price.' });
    qty = Math.floor((cash / px) * 1e4 + 1e-9) / 1e4;
  }
  if (qty === undefined) return { status: 500, body: { error: 'quantity is required' } };
  // IB refuses sizes that are not a positive multiple of the size increment (whole contracts for
  // derivatives, 0.0001 share for fractional stock orders).
  const step = inst.secType === 'STK' ? 1e-4 : 1;
  const steps = qty / step;
  if (!(qty > 0) || Math.abs(steps - Math.round(steps)) > 1e-9 || Math.round(steps) < 1) {
    return {
      status: 200,
      body: { error: `Order size ${qty} is not valid: it must be a positive multiple of ${step}.` },
    };
  }
  if (r['acctId'] !== undefined && String(r['acctId']) !== acct) {
    return { status: 200, body: { error: 'acctId in the order does not match the account in the path' } };
  }
  const spec: OrderSpec = {
    acct,
    conid,
    inst,
    side,
    type: type as SimOrderType,
    qty,
    tif: tif as SimTif,
    outsideRth: r['outsideRTH'] === true || r['outsideRth'] === true,
  };
  const price = n(r['price']);
  const aux = n(r['auxPrice']);
  for (const [name, v] of [
    ['price', price],
    ['auxPrice', aux],
  ] as const) {
    // A combo's net price may be negative (a credit); zero is no price.
    if (v !== undefined && !(combo ? v !== 0 : v >= 0.0001)) {
      return { status: 200, body: { error: `The ${name} ${v} is not a valid price.` } };
    }
  }
  if (type === 'LMT') spec.limit = price;
  if (type === 'STP') spec.stop = price ?? aux;
  if (type === 'STOP_LIMIT') {
    spec.limit = price;
    spec.stop = aux;
  }
  if (type === 'TRAIL') {
    // IB: price is the (initial) stop price of a trailing stop.
    if (price !== undefined) spec.stop = price;
    const amt = n(r['trailingAmt']);
    if (amt !== undefined) spec.trailAmt = amt;
    spec.trailType = r['trailingType'] === '%' ? '%' : 'amt';
  }
  if (typeof r['cOID'] === 'string' && r['cOID'] !== '') spec.cOID = r['cOID'];
  if (combo) {
    spec.conidex = combo.conidex;
    spec.legs = combo.legs;
  }
  return spec;
}

const isReply = (x: OrderSpec | Reply): x is Reply => 'status' in x && !('acct' in x);

/**
 * The `orders` array of a place or what-if body → the order, its bracket children, and whether
 * the orders form one OCA group. IB: "With the exception of OCA groups and bracket orders, the
 * orders endpoint does not currently support the placement of unrelated orders in bulk." A
 * bracket: the first order (the parent) carries a cOID, every other one has parentId = that
 * cOID. An OCA group: every order has isSingleGroup true ([V3] singleOrderSubmissionRequest:
 * "all orders in the containing array are to be treated as an OCA group").
 */
function groupFrom(state: SimState, acct: string, body: unknown): [OrderSpec, OrderSpec[], boolean] | Reply {
  const raw = (body as { orders?: unknown } | undefined)?.orders;
  const orders = Array.isArray(raw) ? raw : [];
  if (orders.length === 0) return { status: 500, body: { error: 'No orders in the request' } };
  const single = orders.map((o) => (o as Record<string, unknown> | null)?.['isSingleGroup'] === true);
  if (single.some(Boolean)) return ocaGroupFrom(state, acct, orders, single);
  const spec = specFrom(state, acct, orders[0]);
  if (isReply(spec)) return spec;
  const parentCOID = spec.cOID;
  const children: OrderSpec[] = [];
  for (const o of orders.slice(1)) {
    const pid = (o as Record<string, unknown> | null)?.['parentId'];
    if (parentCOID === undefined || pid !== parentCOID) return unrelated();
    const c = specFrom(state, acct, o);
    if (isReply(c)) return c;
    if (c.side === spec.side) return json({ error: 'A bracket child must be on the side opposite its parent.' });
    if (Math.abs(c.qty - spec.qty) > 1e-9)
      return json({ error: "A bracket child's quantity must equal its parent's." });
    children.push(c);
  }
  return [spec, children, false];
}

const unrelated = (): Reply =>
  json({ error: 'Placing unrelated orders in bulk is not supported; send one order at a time.' });

/** An OCA group: two or more orders, every one with isSingleGroup true, none a bracket child. */
function ocaGroupFrom(
  state: SimState,
  acct: string,
  orders: unknown[],
  single: boolean[],
): [OrderSpec, OrderSpec[], boolean] | Reply {
  if (!single.every(Boolean)) return unrelated();
  if (orders.length < 2) return json({ error: 'An OCA group needs at least two orders.' });
  const specs: OrderSpec[] = [];
  for (const o of orders) {
    const r = o as Record<string, unknown>;
    if (r['parentId'] !== undefined && r['parentId'] !== null) return unrelated();
    const sp = specFrom(state, acct, o);
    if (isReply(sp)) return sp;
    specs.push(sp);
  }
  const cOIDs = specs.map((sp) => sp.cOID).filter((c): c is string => c !== undefined);
  if (new Set(cOIDs).size !== cOIDs.length) return json({ error: 'Each order of an OCA group needs its own cOID.' });
  return [specs[0]!, specs.slice(1), true];
}

export function register(router: Router, state: SimState): void {
  const engine = () => simOrders(state);
  engine();

  router.post(
    '/iserver/account/:accountId/orders',
    (ctx) => {
      const acct = ctx.params['accountId'] ?? '';
      checkAccount(state, acct);
      const group = groupFrom(state, acct, ctx.body);
      if (!Array.isArray(group)) return group;
      const [spec, children, oca] = group;
      return engine().submit(spec, children, oca);
    },
    { requiresAccounts: true },
  );

  router.post(
    '/iserver/account/:accountId/orders/whatif',
    (ctx) => {
      const acct = ctx.params['accountId'] ?? '';
      checkAccount(state, acct);
      const group = groupFrom(state, acct, ctx.body);
      if (!Array.isArray(group)) return group;
      return engine().whatIf(group[0], group[1], group[2]);
    },
    { requiresAccounts: true },
  );

  router.post('/iserver/reply/:replyId', (ctx) => {
    const b = (ctx.body ?? {}) as { confirmed?: unknown };
    return engine().reply(ctx.params['replyId'] ?? '', b.confirmed === true);
  });

  router.get(
    '/iserver/account/orders',
    (ctx) => {
      const force = queryBool(state, ctx.query.get('force'));
      const filters = (ctx.query.get('filters') ?? '')
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
      // With account scoping, the selected account's orders unless accountId names another.
      // IB's trap: a filtered call stops the WebSocket's order updates until a force=true call.
      if (filters.length > 0) simWs(state).sorBlocked = true;
      if (force) simWs(state).sorBlocked = false;
      const acct =
        ctx.query.get('accountId') ?? (state.flags.accountScoping ? state.session.selectedAccount : undefined);
      return engine().live({ force, filters, ...(acct ? { acct } : {}) });
    },
    { requiresAccounts: true },
  );

  router.get('/iserver/account/order/status/:orderId', (ctx) => {
    const id = Number(ctx.params['orderId']);
    if (!Number.isInteger(id)) return ibError(503, `Order ${ctx.params['orderId']} is not found`);
    return engine().status(id, state.flags.accountScoping ? state.session.selectedAccount : undefined);
  });

  router.post(
    '/iserver/account/:accountId/order/:orderId',
    (ctx) => {
      const acct = ctx.params['accountId'] ?? '';
      checkAccount(state, acct);
      const id = Number(ctx.params['orderId']);
      if (ctx.body && typeof ctx.body === 'object' && Array.isArray((ctx.body as { orders?: unknown }).orders)) {
        return { status: 500, body: { error: 'The modify body is one order object, not an orders array' } };
      }
      const spec = specFrom(state, acct, ctx.body);
      if (isReply(spec)) return spec;
      return engine().modify(acct, id, spec);
    },
    { requiresAccounts: true },
  );

  router.delete(
    '/iserver/account/:accountId/order/:orderId',
    (ctx) => {
      const acct = ctx.params['accountId'] ?? '';
      checkAccount(state, acct);
      return engine().cancel(acct, Number(ctx.params['orderId']));
    },
    { requiresAccounts: true },
  );

  router.get('/iserver/account/trades', (ctx) =>
    engine().trades(
      Number(ctx.query.get('days') ?? 1) || 1,
      state.flags.accountScoping ? state.session.selectedAccount : undefined,
    ),
  );

  router.post('/iserver/questions/suppress', (ctx) => {
    const ids = (ctx.body as { messageIds?: unknown } | undefined)?.messageIds;
    if (!Array.isArray(ids) || ids.length === 0) return { status: 500, body: { error: 'messageIds required' } };
    return json({ status: 'submitted' });
  });
  router.post('/iserver/questions/suppress/reset', () => json({ status: 'submitted' }));

  router.addControl('GET', '/sim/orders', () => {
    const e = engine();
    e.step();
    return json({
      orders: [...e.orders.values()].map((o) => ({
        orderId: o.orderId,
        cOID: o.cOID,
        acct: o.acct,
        conid: o.conid,
        symbol: o.inst.symbol,
        side: o.side,
        type: o.type,
        qty: o.qty,
        filled: o.filled,
        status: o.status,
        avgPrice: o.avgPrice,
        limit: o.limit,
        stop: o.stop,
        tif: o.tif,
        parentOrderId: o.parentOrderId,
        ocaGroup: o.ocaGroup,
      })),
      executions: e.executions.map((x) => ({
        executionId: x.executionId,
        orderId: x.orderId,
        cOID: x.cOID,
        conid: x.conid,
        side: x.side,
        qty: x.qty,
        price: x.price,
        commission: x.commission,
      })),
      cOIDSubmissions: Object.fromEntries(e.cOIDSubmissions),
    });
  });
}
