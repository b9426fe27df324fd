/**
 * The simulator's order engine: IB's order endpoints over the order book (order-fills.ts).
 * It places, modifies and cancels orders and brackets (order-bracket.ts), and plays IB's order
 * dialogue: rejections as 200 {"error":…} and precautionary questions (order-rules.ts), chained
 * replies, stale reply ids, duplicate cOIDs. Its answers are IB's rows (order-rows.ts).
 */
import { localDay } from './calendar.js';
import { optionMarkets } from './options.js';
import { bracketQuestions, ocaGroupFor, singleGroupName } from './order-bracket.js';
import { SimOrderBook } from './order-fills.js';
import { type EngineAnswer, isDone, type OrderSpec, ok, type Question, reject, type SimOrder } from './order-model.js';
import { orderQuote } from './order-quote.js';
import { liveRow, placedRow, statusBody, tradeRow, whatIfBody } from './order-rows.js';
import { MODIFY_QUESTIONS, questionsFor, rejectionOf } from './order-rules.js';
import type { SimState } from './state.js';
import type { Instrument } from './universe.js';

export {
  commissionFor,
  type EngineAnswer,
  type OrderSpec,
  type SimExecution,
  type SimOrder,
  type SimOrderType,
  type SimStatus,
  type SimTif,
} from './order-model.js';

interface PendingReply {
  id: string;
  kind: 'place' | 'modify';
  spec: OrderSpec;
  /** Bracket children placed with the parent (`parentId` = the parent's cOID), or the OCA group's other orders. */
  children?: OrderSpec[];
  /** The orders form one OCA group (isSingleGroup). */
  oca?: boolean;
  targetOrderId?: number;
  remaining: Question[];
  stale: boolean;
  session: string;
}

export class SimOrderEngine extends SimOrderBook {
  private readonly pending = new Map<string, PendingReply>();
  /** cOIDs IB has registered (placed orders). */
  private readonly registered = new Set<string>();
  /** Every order submission per cOID, accepted or not: the "never sent twice" counter for tests. */
  readonly cOIDSubmissions = new Map<string, number>();
  private nextId: number;
  /** Per session: the live-orders list was requested once (IB's empty first call). */
  private liveReady = false;

  constructor(state: SimState) {
    super(state);
    this.nextId = 1_300_000_000 + (state.seed % 1000) * 1000;
    state.hooks.reset.push(() => this.reset());
    state.hooks.sessionStart.push(() => this.newSession());
  }

  reset(): void {
    this.orders.clear();
    this.executions.length = 0;
    this.pending.clear();
    this.registered.clear();
    this.cOIDSubmissions.clear();
    this.liveReady = false;
  }

  /** A new brokerage session: reply ids die, the live-orders list starts empty again. */
  newSession(): void {
    for (const p of this.pending.values()) p.stale = true;
    this.liveReady = false;
  }

  instrument(conid: number): Instrument | undefined {
    return this.state.universe.get(conid) ?? optionMarkets(this.state).lookup(conid);
  }

  private ask(p: PendingReply): EngineAnswer {
    const q = p.remaining[0]!;
    this.pending.set(p.id, p);
    return ok([
      { id: p.id, message: [q.text], isSuppressed: false, messageIds: [q.id], messageOptions: ['Yes', 'No'] },
    ]);
  }

  private newReplyId(): string {
    return this.state.rng.hex(32).replace(/^(.{8})(.{4})(.{4})(.{4})(.{12}).*$/, '$1-$2-$3-$4-$5');
  }

  /** A question to wait on for this order (or modification), in the current session. */
  private pendingFor(
    kind: PendingReply['kind'],
    spec: OrderSpec,
    questions: Question[],
    extra: Pick<PendingReply, 'children' | 'targetOrderId' | 'oca'>,
  ): PendingReply {
    return {
      id: this.newReplyId(),
      kind,
      spec,
      ...extra,
      remaining: questions,
      stale: false,
      session: this.state.session.id,
    };
  }

  // ---------------------------------------------------------------- endpoints

  /**
   * POST /iserver/account/{acct}/orders. `children`: a bracket's child orders (IB accepts a parent
   * and its children, `parentId` = the parent's cOID, in one request; the children wait for the
   * parent's fill and form one OCA group). `oca`: the orders are one OCA group instead (isSingleGroup).
   */
  submit(spec: OrderSpec, children: OrderSpec[] = [], oca = false): EngineAnswer {
    this.step();
    for (const sp of [spec, ...children]) {
      if (sp.cOID) this.cOIDSubmissions.set(sp.cOID, (this.cOIDSubmissions.get(sp.cOID) ?? 0) + 1);
    }
    // IB: a new order invalidates any unanswered question.
    for (const p of this.pending.values()) p.stale = true;
    for (const sp of [spec, ...children]) {
      if (sp.cOID && this.registered.has(sp.cOID)) return reject(`Local order ID=${sp.cOID} is already registered.`);
    }
    for (const sp of [spec, ...children]) {
      const why = rejectionOf(this.state, sp);
      if (why) return reject(why);
    }
    const questions = bracketQuestions(this.state, spec, children);
    if (questions.length) {
      const extra = { ...(children.length ? { children } : {}), ...(oca ? { oca } : {}) };
      return this.ask(this.pendingFor('place', spec, questions, extra));
    }
    return this.accept(spec, children, oca);
  }

  /** POST /iserver/reply/{id} */
  reply(id: string, confirmed: boolean): EngineAnswer {
    this.step();
    const p = this.pending.get(id);
    if (!p) return reject(`reply id not found: '${id}'`);
    if (p.stale || p.session !== this.state.session.id) {
      this.pending.delete(id);
      return { status: 503, body: { error: 'Service Unavailable', statusCode: 503 } };
    }
    this.pending.delete(id);
    if (!confirmed) return reject('Order not confirmed ');
    p.remaining.shift();
    if (p.remaining.length) return this.ask({ ...p, id: this.newReplyId() });
    if (p.kind === 'modify') return this.applyModify(p.targetOrderId!, p.spec);
    for (const sp of [p.spec, ...(p.children ?? [])]) {
      if (sp.cOID && this.registered.has(sp.cOID)) return reject(`Local order ID=${sp.cOID} is already registered.`);
    }
    const why = rejectionOf(this.state, p.spec);
    if (why) return reject(why);
    return this.accept(p.spec, p.children ?? [], p.oca === true);
  }

  private accept(spec: OrderSpec, children: OrderSpec[] = [], oca = false): EngineAnswer {
    if (oca) {
      // One OCA group: one placed row per order, in the request's order (cancel on fill: type 1).
      // Every order exists before any works: a fill of the first cancels the others.
      const group = singleGroupName(this.nextId);
      const placed = [spec, ...children].map((sp) => this.acceptOne(sp, undefined, group, 1, false));
      for (const o of placed) if (!isDone(o)) this.work(o, true);
      return ok(placed.map((o) => placedRow(o)));
    }
    const parent = this.acceptOne(spec);
    const rows = [placedRow(parent)];
    const group = ocaGroupFor(parent.orderId, children.length);
    for (const c of children) rows.push(placedRow(this.acceptOne(c, parent.orderId, group)));
    return ok(rows);
  }

  private acceptOne(
    spec: OrderSpec,
    parentOrderId?: number,
    ocaGroup?: string,
    ocaType?: 1 | 2 | 3,
    workNow = true,
  ): SimOrder {
    const now = this.now;
    const o: SimOrder = {
      orderId: this.nextId++,
      acct: spec.acct,
      conid: spec.conid,
      inst: spec.inst,
      side: spec.side,
      type: spec.type,
      qty: spec.qty,
      filled: 0,
      triggered: false,
      tif: spec.tif,
      outsideRth: spec.outsideRth,
      status: 'Submitted',
      avgPrice: 0,
      commission: 0,
      createdAt: now,
      updatedAt: now,
      session: this.state.session.id,
    };
    if (spec.cOID) {
      o.cOID = spec.cOID;
      this.registered.add(spec.cOID);
    }
    if (spec.limit !== undefined) o.limit = spec.limit;
    if (spec.stop !== undefined) o.stop = spec.stop;
    if (spec.trailAmt !== undefined) {
      o.trailAmt = spec.trailAmt;
      o.trailType = spec.trailType ?? 'amt';
    }
    if (o.type === 'TRAIL' && spec.stop !== undefined) o.trailStop = spec.stop;
    if (spec.legs) {
      o.legs = spec.legs;
      if (spec.conidex) o.conidex = spec.conidex;
    }
    if (o.type === 'STP' || o.type === 'STOP_LIMIT' || o.type === 'TRAIL' || o.tif === 'OPG') o.status = 'PreSubmitted';
    if (parentOrderId !== undefined) {
      o.parentOrderId = parentOrderId;
      o.status = 'PreSubmitted';
    }
    if (ocaGroup) o.ocaGroup = ocaGroup;
    if (ocaType) o.ocaType = ocaType;
    this.orders.set(o.orderId, o);
    if (workNow) this.work(o, true);
    return o;
  }

  /** POST /iserver/account/{acct}/orders/whatif */
  whatIf(spec: OrderSpec, children: OrderSpec[] = [], oca = false): EngineAnswer {
    this.step();
    // A bracket's what-if is its entry's (the children only close what it opens); an OCA group's
    // is its largest order's (one fill cancels the rest). An order IB would reject makes the
    // group's error.
    const why = [spec, ...children].map((sp) => rejectionOf(this.state, { ...sp, cOID: undefined })).find(Boolean);
    const lead = oca ? largest(this.state, [spec, ...children]) : spec;
    return ok(whatIfBody(this.state, lead, why));
  }

  /** GET /iserver/account/orders */
  live(opts: { force: boolean; filters: string[]; acct?: string }): EngineAnswer {
    this.step();
    if (opts.force || !this.liveReady) {
      this.liveReady = true;
      return ok({ orders: [], snapshot: false });
    }
    const want = new Set(opts.filters.map((f) => f.replace(/_/g, '').toLowerCase()).filter((f) => f !== 'sortbytime'));
    const today = localDay(this.now, 'America/New_York');
    const rows = [...this.orders.values()]
      .filter((o) => !opts.acct || o.acct === opts.acct)
      .filter((o) => {
        const d = localDay(o.updatedAt, 'America/New_York');
        const sameDay = d.year === today.year && d.month === today.month && d.day === today.day;
        return sameDay || o.status === 'Submitted' || o.status === 'PreSubmitted';
      })
      .filter((o) => want.size === 0 || want.has(o.status.toLowerCase()))
      .sort((a, b) => b.updatedAt - a.updatedAt)
      .slice(0, 1000)
      .map((o) => liveRow(o));
    return ok({ orders: rows, snapshot: true });
  }

  /**
   * GET /iserver/account/order/status/{id}. `acct`: with account scoping, the selected account;
   * another account's order is then as unknown to IB as an order of another session (503).
   */
  status(orderId: number, acct?: string): EngineAnswer {
    this.step();
    const o = this.orders.get(orderId);
    if (!o || (acct !== undefined && o.acct !== acct))
      return { status: 503, body: { error: `Order ${orderId} is not found`, statusCode: 503 } };
    return ok(statusBody(o, this.execSeq, this.state.flags.profile));
  }

  /** POST /iserver/account/{acct}/order/{id} */
  modify(acct: string, orderId: number, spec: OrderSpec): EngineAnswer {
    this.step();
    const o = this.orders.get(orderId);
    if (!o || o.acct !== acct) return reject(`OrderID ${orderId} doesn't exist`);
    if (isDone(o)) return reject(`OrderID ${orderId} is ${o.status.toLowerCase()} and cannot be modified`);
    if (spec.conid !== o.conid || spec.side !== o.side)
      return reject('The order contract and side cannot be modified.');
    if (spec.qty < o.filled) return reject(`Order quantity cannot be less than the filled quantity ${o.filled}.`);
    const why = rejectionOf(this.state, { ...spec, cOID: undefined });
    if (why) return reject(why);
    for (const p of this.pending.values()) p.stale = true;
    const questions = questionsFor(this.state, { ...spec, type: spec.type === 'MKT' ? 'LMT' : spec.type }).filter((q) =>
      MODIFY_QUESTIONS.includes(q.id),
    );
    if (questions.length) return this.ask(this.pendingFor('modify', spec, questions, { targetOrderId: orderId }));
    return this.applyModify(orderId, spec);
  }

  private applyModify(orderId: number, spec: OrderSpec): EngineAnswer {
    const o = this.orders.get(orderId);
    if (!o || isDone(o)) return reject(`OrderID ${orderId} can no longer be modified`);
    o.qty = spec.qty;
    o.tif = spec.tif;
    if (spec.limit !== undefined) o.limit = spec.limit;
    if (spec.stop !== undefined) o.stop = spec.stop;
    if (spec.trailAmt !== undefined) {
      o.trailAmt = spec.trailAmt;
      o.trailStop = o.type === 'TRAIL' ? spec.stop : undefined;
    }
    o.updatedAt = this.now;
    if (o.filled >= o.qty) o.status = 'Filled';
    else this.work(o, false);
    return ok([{ order_id: String(o.orderId), order_status: o.status, encrypt_message: '1' }]);
  }

  /** DELETE /iserver/account/{acct}/order/{id}; "-1" cancels every open order of the account. */
  cancel(acct: string, orderId: number): EngineAnswer {
    this.step();
    if (orderId === -1) {
      let n = 0;
      for (const o of this.orders.values()) {
        if (o.acct === acct && (o.status === 'Submitted' || o.status === 'PreSubmitted')) {
          this.finish(o, 'Cancelled');
          n++;
        }
      }
      return ok({ msg: `Request was submitted (${n} orders)`, order_id: -1, conid: -1, account: acct });
    }
    const o = this.orders.get(orderId);
    if (!o || o.acct !== acct) return reject(`OrderID ${orderId} doesn't exist`);
    if (isDone(o)) return reject(`OrderID ${orderId} is already ${o.status.toLowerCase()}`);
    this.finish(o, 'Cancelled');
    return ok({ msg: 'Request was submitted', order_id: o.orderId, conid: o.conid, account: o.acct });
  }

  /** GET /iserver/account/trades?days=N; `acct`: only that account's (IB answers the selected account's). */
  trades(days: number, acct?: string): EngineAnswer {
    this.step();
    const d = Math.min(7, Math.max(1, days));
    const since = this.now - d * 86_400_000;
    return ok(
      this.executions
        .filter((e) => e.time >= since && (acct === undefined || e.acct === acct))
        .sort((a, b) => b.time - a.time)
        .map(tradeRow),
    );
  }
}

/** The order of a group worth the most at the current quotes. */
function largest(state: SimState, specs: OrderSpec[]): OrderSpec {
  const worth = (sp: OrderSpec) => {
    const q = orderQuote(state, sp.inst);
    const px = sp.limit ?? sp.stop ?? (sp.side === 'BUY' ? q.ask : q.bid) ?? 0;
    return px * sp.qty * (sp.inst.multiplier || 1);
  };
  return specs.reduce((a, b) => (worth(b) > worth(a) ? b : a));
}

/** The engine of a simulator state (one per state). */
export function simOrders(state: SimState): SimOrderEngine {
  let e = state.ext.get('orders') as SimOrderEngine | undefined;
  if (!e) {
    e = new SimOrderEngine(state);
    state.ext.set('orders', e);
  }
  return e;
}
