/**
 * The simulator's order engine: MKT, LMT, STP, STOP_LIMIT and TRAIL orders with DAY, GTC, IOC
 * and OPG, filled against the simulator's own quotes (market orders at the ask/bid, limits
 * when the price crosses, stops when triggered, trailing stops that follow the market), in
 * chunks no larger than the displayed size (so large orders fill partially over time), with
 * IB-like commissions, booked into the portfolio (positions and cash).
 *
 * It also plays IB's order dialogue: questions under realistic conditions (market order
 * notice, price far from the market, size or value above the precautionary limits, no market
 * data), chained replies, stale reply ids, rejections as 200 {"error":…}, duplicate cOIDs.
 *
 * Simplifications: the market is always open (as the price model is); OPG orders act at the
 * next engine step; DAY orders expire when the market date (New York) changes.
 */
import { localDay } from './calendar.js';
import { optionMarkets } from './options.js';
import { simPortfolio } from './portfolio.js';
import { quoteFields } from './routes/marketdata.js';
import { instrumentFlags, type SimState } from './state.js';
import type { Instrument } from './universe.js';

export type SimOrderType = 'MKT' | 'LMT' | 'STP' | 'STOP_LIMIT' | 'TRAIL';
export type SimTif = 'DAY' | 'GTC' | 'IOC' | 'OPG';
export type SimStatus = 'PreSubmitted' | 'Submitted' | 'Filled' | 'Cancelled' | 'Inactive';

export interface SimOrder {
  orderId: number;
  cOID?: string;
  acct: string;
  conid: number;
  inst: Instrument;
  side: 'BUY' | 'SELL';
  type: SimOrderType;
  qty: number;
  filled: number;
  /** Limit price (LMT, STOP_LIMIT). */
  limit?: number;
  /** Stop price (STP, STOP_LIMIT). */
  stop?: number;
  trailAmt?: number;
  trailType?: 'amt' | '%';
  /** TRAIL: current stop level. */
  trailStop?: number;
  triggered: boolean;
  tif: SimTif;
  outsideRth: boolean;
  status: SimStatus;
  avgPrice: number;
  commission: number;
  createdAt: number;
  updatedAt: number;
  /** Market second of the last fill (one chunk per order per second). */
  lastFillSec?: number;
  session: string;
}

export interface SimExecution {
  executionId: string;
  orderId: number;
  cOID?: string;
  acct: string;
  conid: number;
  inst: Instrument;
  side: 'BUY' | 'SELL';
  qty: number;
  price: number;
  commission: number;
  time: number;
}

export interface OrderSpec {
  acct: string;
  conid: number;
  inst: Instrument;
  side: 'BUY' | 'SELL';
  type: SimOrderType;
  qty: number;
  limit?: number;
  stop?: number;
  trailAmt?: number;
  trailType?: 'amt' | '%';
  tif: SimTif;
  outsideRth: boolean;
  cOID?: string;
}

interface Question {
  id: string;
  text: string;
}

interface PendingReply {
  id: string;
  kind: 'place' | 'modify';
  spec: OrderSpec;
  targetOrderId?: number;
  remaining: Question[];
  stale: boolean;
  session: string;
}

export type EngineAnswer = { status: number; body: unknown };

const ok = (body: unknown): EngineAnswer => ({ status: 200, body });
const reject = (error: string): EngineAnswer => ({ status: 200, body: { error } });

const PRICE_CONSTRAINT_PCT = 3;
const SIZE_LIMIT = 500;
const VALUE_LIMIT = 1_000_000;

function roundTo(x: number, step: number): number {
  return Math.round(x / step) * step;
}

function onTick(x: number, tick: number): boolean {
  const q = x / tick;
  return Math.abs(q - Math.round(q)) < 1e-6;
}

function fmt(n: number, digits = 2): string {
  return n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function num(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v === 'string' && v.trim() !== '') {
    const n = Number(v.replace(/^[CH]/, ''));
    return Number.isFinite(n) ? n : undefined;
  }
  return undefined;
}

/** IB-like commissions: stocks 0.005/share (min 1, max 1% of value); options 0.65/contract (min 1). */
export function commissionFor(inst: Instrument, qty: number, price: number): number {
  if (inst.secType === 'OPT' || inst.secType === 'FOP') return Math.round(Math.max(1, 0.65 * qty) * 100) / 100;
  const value = qty * price * (inst.multiplier || 1);
  return Math.round(Math.min(Math.max(1, 0.005 * qty), Math.max(1, value * 0.01)) * 100) / 100;
}

export class SimOrderEngine {
  readonly orders = new Map<number, SimOrder>();
  readonly executions: SimExecution[] = [];
  private readonly pending = new Map<string, PendingReply>();
  /** cOIDs IB has registered (placed orders). */
  private readonly registered = new Set<string>();
  /** Every order submission per cOID, accepted or not: the "never sent twice" counter for tests. */
  readonly cOIDSubmissions = new Map<string, number>();
  private nextId: number;
  private execSeq = 0;
  /** Per session: the live-orders list was requested once (IB's empty first call). */
  private liveReady = false;

  constructor(private readonly state: SimState) {
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

  private get now(): number {
    return this.state.clock.now();
  }

  instrument(conid: number): Instrument | undefined {
    return this.state.universe.get(conid) ?? optionMarkets(this.state).lookup(conid);
  }

  /** Current bid / ask / last as the snapshot shows them. */
  quote(inst: Instrument): { bid?: number; ask?: number; last?: number; bidSize: number; askSize: number } {
    const f = quoteFields(this.state, inst, this.now, ['31', '84', '86', '88', '85']);
    let bid = num(f['84']);
    let ask = num(f['86']);
    let last = num(f['31']);
    if ((bid === undefined || ask === undefined) && (inst.secType === 'OPT' || inst.secType === 'FOP')) {
      const theo = optionMarkets(this.state).theo(inst, this.now).price;
      const tick = theo < 3 ? 0.01 : 0.05;
      bid ??= Math.max(tick, roundTo(theo - tick, tick));
      ask ??= roundTo(theo + tick, tick);
      last ??= roundTo(theo, tick);
    }
    if (bid === undefined || ask === undefined) {
      const q = this.state.prices.quote(inst, this.now);
      bid ??= q.bid;
      ask ??= q.ask;
      last ??= q.last;
    }
    const bidSize = num(f['88']) || (inst.secType === 'STK' ? 500 : 20);
    const askSize = num(f['85']) || (inst.secType === 'STK' ? 500 : 20);
    return { bid, ask, last, bidSize, askSize };
  }

  tickSize(inst: Instrument, price: number): number {
    if (inst.secType === 'OPT') return price < 3 ? 0.01 : 0.05;
    if (inst.secType === 'STK') return price < 1 ? 0.0001 : 0.01;
    return inst.tickSize || 0.01;
  }

  // ---------------------------------------------------------------- validation and questions

  /** A reason IB would reject this order outright, or undefined. */
  private rejection(spec: OrderSpec): string | undefined {
    const { inst, type } = spec;
    const label = `"${spec.side} ${spec.qty} ${inst.symbol}"`;
    if (!(spec.qty > 0)) return `${label}\nOrder quantity must be positive.`;
    if (inst.secType !== 'STK' && !Number.isInteger(spec.qty))
      return `${label}\nFractional quantities are not supported for this contract.`;
    if ((type === 'LMT' || type === 'STOP_LIMIT') && !(spec.limit! > 0)) return `${label}\nMissing order price.`;
    if ((type === 'STP' || type === 'STOP_LIMIT') && !(spec.stop! > 0)) return `${label}\nMissing stop price.`;
    if (type === 'TRAIL' && !(spec.stop! > 0)) return `${label}\nMissing order price (the initial stop price).`;
    if (type === 'TRAIL' && !(spec.trailAmt! > 0)) return `${label}\nMissing trailing amount.`;
    for (const px of [spec.limit, spec.stop]) {
      if (px !== undefined && !onTick(px, this.tickSize(inst, px))) {
        return `${label}\nThe price does not conform to the minimum price variation for this contract.`;
      }
    }
    if (spec.tif === 'OPG' && type !== 'MKT' && type !== 'LMT')
      return `${label}\nInvalid time-in-force for at-the-opening order.`;
    if (type === 'MKT' && spec.outsideRth)
      return `${label}\nMarket orders cannot execute outside regular trading hours.`;
    if (instrumentFlags(this.state, inst.conid).halted) return `${label}\nTrading is halted for this contract.`;
    if (spec.side === 'BUY') {
      const q = this.quote(inst);
      const px = spec.limit ?? Math.max(spec.stop ?? 0, q.ask ?? 0);
      const value = px * spec.qty * (inst.multiplier || 1);
      const pf = simPortfolio(this.state);
      if (pf.hasAccount(spec.acct) && value > pf.buyingPower(spec.acct)) {
        return `Your order is not accepted. In order to obtain the desired position your Equity with Loan Value [${fmt(pf.buyingPower(spec.acct) / 4)} USD] must exceed the Initial Margin [${fmt(value / 4)} USD]`;
      }
    }
    return undefined;
  }

  /** IB's precautionary questions for this order, in the order IB asks them. */
  questionsFor(spec: OrderSpec): Question[] {
    const { inst } = spec;
    const out: Question[] = [];
    const desc = `${spec.side} ${spec.qty} ${inst.symbol} ${inst.listingExchange}`;
    const flags = instrumentFlags(this.state, inst.conid);
    if (flags.delayed || flags.frozen) {
      out.push({
        id: 'o354',
        text: `You are submitting an order without market data. We strongly recommend against this as it may result in suboptimal execution.\nAre you sure you want to submit this order?`,
      });
    }
    if (spec.type === 'MKT') {
      out.push({
        id: 'o10151',
        text: 'You are about to submit a market order. Market orders execute at the best available price, which may differ from the last price.\nAre you sure you want to submit this order?',
      });
    }
    if (spec.type === 'STP' || spec.type === 'STOP_LIMIT' || spec.type === 'TRAIL') {
      out.push({
        id: 'o10152',
        text: 'Stop orders become market or limit orders once triggered and may execute at prices significantly different from the stop price.\nAre you sure you want to submit this order?',
      });
    }
    const q = this.quote(inst);
    const mid = q.bid !== undefined && q.ask !== undefined ? (q.bid + q.ask) / 2 : q.last;
    if (spec.limit !== undefined && mid) {
      const dev = (Math.abs(spec.limit - mid) / mid) * 100;
      if (dev > PRICE_CONSTRAINT_PCT) {
        out.push({
          id: 'o163',
          text: `The following order "${desc} @ ${spec.limit}" price exceeds \nthe Percentage constraint of ${PRICE_CONSTRAINT_PCT}%.\nAre you sure you want to submit this order?`,
        });
      }
    }
    if (spec.qty > SIZE_LIMIT && inst.secType === 'STK') {
      out.push({
        id: 'o383',
        text: `The following order "${desc}" size exceeds the Size Limit of ${SIZE_LIMIT}.\nAre you sure you want to submit this order?`,
      });
    }
    const value = (spec.limit ?? mid ?? 0) * spec.qty * (inst.multiplier || 1);
    if (value > VALUE_LIMIT) {
      out.push({
        id: 'o451',
        text: `The following order "${desc}" value estimate of ${fmt(value)} USD exceeds \nthe Total Value Limit of ${fmt(VALUE_LIMIT, 0)} USD.\nAre you sure you want to submit this order?`,
      });
    }
    return out;
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

  // ---------------------------------------------------------------- endpoints

  /** POST /iserver/account/{acct}/orders */
  submit(spec: OrderSpec): EngineAnswer {
    this.step();
    if (spec.cOID) this.cOIDSubmissions.set(spec.cOID, (this.cOIDSubmissions.get(spec.cOID) ?? 0) + 1);
    // IB: a new order invalidates any unanswered question.
    for (const p of this.pending.values()) p.stale = true;
    if (spec.cOID && this.registered.has(spec.cOID)) {
      return reject(`Local order ID=${spec.cOID} is already registered.`);
    }
    const why = this.rejection(spec);
    if (why) return reject(why);
    const questions = this.questionsFor(spec);
    if (questions.length) {
      return this.ask({
        id: this.newReplyId(),
        kind: 'place',
        spec,
        remaining: questions,
        stale: false,
        session: this.state.session.id,
      });
    }
    return this.accept(spec);
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
    if (p.spec.cOID && this.registered.has(p.spec.cOID)) {
      return reject(`Local order ID=${p.spec.cOID} is already registered.`);
    }
    const why = this.rejection(p.spec);
    if (why) return reject(why);
    return this.accept(p.spec);
  }

  private accept(spec: OrderSpec): EngineAnswer {
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
    if (o.type === 'STP' || o.type === 'STOP_LIMIT' || o.type === 'TRAIL' || o.tif === 'OPG') o.status = 'PreSubmitted';
    this.orders.set(o.orderId, o);
    this.work(o, true);
    const row: Record<string, unknown> = {
      order_id: String(o.orderId),
      order_status: o.status,
      encrypt_message: '1',
    };
    if (o.cOID) row['local_order_id'] = o.cOID;
    return ok([row]);
  }

  /** POST /iserver/account/{acct}/orders/whatif */
  whatIf(spec: OrderSpec): EngineAnswer {
    this.step();
    const why = this.rejection({ ...spec, cOID: undefined });
    const { inst } = spec;
    const q = this.quote(inst);
    const px = spec.limit ?? (spec.side === 'BUY' ? Math.max(q.ask ?? 0, spec.stop ?? 0) : (q.bid ?? spec.stop ?? 0));
    const mult = inst.multiplier || 1;
    const value = px * spec.qty * mult;
    const comm = commissionFor(inst, spec.qty, px);
    const pf = simPortfolio(this.state);
    const known = pf.hasAccount(spec.acct);
    const v = known ? pf.valuation(spec.acct).base : undefined;
    const posNow = known ? pf.position(spec.acct, spec.conid) : 0;
    const signed = spec.side === 'BUY' ? spec.qty : -spec.qty;
    const marginRate = inst.secType === 'OPT' ? (spec.side === 'BUY' ? 1 : 0.2) : 0.25;
    const im = value * marginRate;
    const ccy = inst.currency;
    const unit = inst.secType === 'OPT' ? 'Contracts' : 'Shares';
    const ba = (cur: number, ch: number) => ({ current: fmt(cur, 0), change: fmt(ch, 0), after: fmt(cur + ch, 0) });
    const flags = instrumentFlags(this.state, inst.conid);
    return ok({
      amount: {
        amount: `${fmt(value)} ${ccy} (${spec.qty} ${unit})`,
        commission: `${fmt(comm)} ${ccy}`,
        total: `${fmt(value + comm)} ${ccy}`,
      },
      equity: ba(v?.netLiquidation ?? 0, -comm),
      initial: ba(v?.initMargin ?? 0, spec.side === 'BUY' ? im : im * 0.5),
      maintenance: ba(v?.maintMargin ?? 0, (spec.side === 'BUY' ? im : im * 0.5) * 0.9),
      position: { current: String(posNow), change: String(signed), after: String(posNow + signed) },
      warn:
        flags.delayed || flags.frozen
          ? '21/You are trying to submit an order without having market data for this instrument.'
          : null,
      error: why ?? null,
    });
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
      .map((o) => this.liveRow(o));
    return ok({ orders: rows, snapshot: true });
  }

  private typeName(t: SimOrderType): string {
    return { MKT: 'Market', LMT: 'Limit', STP: 'Stop', STOP_LIMIT: 'Stop Limit', TRAIL: 'Trail' }[t];
  }

  private desc(o: SimOrder): string {
    const verb = o.side === 'BUY' ? 'Buy' : 'Sell';
    const px =
      o.type === 'LMT'
        ? ` Limit ${o.limit}`
        : o.type === 'STP'
          ? ` Stop ${o.stop}`
          : o.type === 'STOP_LIMIT'
            ? ` Stop Limit ${o.stop} ${o.limit}`
            : o.type === 'TRAIL'
              ? ` Trail ${o.trailAmt}${o.trailType === '%' ? '%' : ''}`
              : ' Market';
    const tif = { DAY: 'Day', GTC: 'GTC', IOC: 'IOC', OPG: 'OPG' }[o.tif];
    return `${verb} ${o.qty}${px}, ${tif}`;
  }

  private stamp(ms: number): string {
    return new Date(ms).toISOString().slice(2, 19).replace(/[-T:]/g, '');
  }

  liveRow(o: SimOrder): Record<string, unknown> {
    const row: Record<string, unknown> = {
      acct: o.acct,
      conidex: String(o.conid),
      conid: o.conid,
      account: o.acct,
      orderId: o.orderId,
      cashCcy: o.inst.currency,
      sizeAndFills: o.filled > 0 && o.filled < o.qty ? `${o.filled}/${o.qty}` : String(o.qty),
      orderDesc: this.desc(o),
      description1: o.inst.secType === 'OPT' ? o.inst.localSymbol || o.inst.symbol : o.inst.symbol,
      ticker: o.inst.symbol,
      secType: o.inst.secType,
      listingExchange: o.inst.listingExchange,
      remainingQuantity: o.qty - o.filled,
      filledQuantity: o.filled,
      totalSize: o.qty,
      companyName: o.inst.name,
      status: o.status,
      order_ccp_status: o.status,
      origOrderType: this.typeName(o.type).toUpperCase(),
      supportsTaxOpt: '1',
      lastExecutionTime: this.stamp(o.updatedAt),
      orderType: this.typeName(o.type),
      bgColor: '#FFFFFF',
      fgColor: '#000000',
      timeInForce: o.tif,
      lastExecutionTime_r: o.updatedAt,
      side: o.side,
    };
    if (o.cOID) row['order_ref'] = o.cOID;
    if (o.filled > 0) row['avgPrice'] = String(Math.round(o.avgPrice * 10000) / 10000);
    if (o.limit !== undefined) row['price'] = o.limit.toFixed(o.limit < 1 ? 4 : 2);
    if (o.type === 'STP') row['price'] = o.stop!.toFixed(2);
    if (o.type === 'STOP_LIMIT') row['auxPrice'] = o.stop!.toFixed(2);
    if (o.type === 'TRAIL' && o.trailStop !== undefined) row['auxPrice'] = o.trailStop.toFixed(2);
    return row;
  }

  /** GET /iserver/account/order/status/{id} */
  status(orderId: number, selected?: string): EngineAnswer {
    this.step();
    const o = this.orders.get(orderId);
    // IB shows only the selected account's orders: another account's order is unknown (503).
    if (!o || (selected !== undefined && o.acct !== selected))
      return { status: 503, body: { error: `Order ${orderId} is not found`, statusCode: 503 } };
    const done = o.status === 'Filled' || o.status === 'Cancelled' || o.status === 'Inactive';
    const body: Record<string, unknown> = {
      sub_type: null,
      request_id: String(this.execSeq),
      server_id: '0',
      order_id: o.orderId,
      conidex: String(o.conid),
      conid: o.conid,
      symbol: o.inst.symbol,
      side: o.side === 'BUY' ? 'B' : 'S',
      contract_description_1: o.inst.symbol,
      listing_exchange: o.inst.listingExchange,
      option_acct: 'c',
      company_name: o.inst.name,
      size: String(o.qty - o.filled),
      total_size: String(o.qty),
      currency: o.inst.currency,
      account: o.acct,
      order_type: this.typeName(o.type).toUpperCase(),
      cum_fill: String(o.filled),
      order_status: o.status,
      order_ccp_status: o.status,
      order_status_description: o.status === 'Filled' ? 'Order Filled' : `Order ${o.status}`,
      tif: o.tif,
      fg_color: '#FFFFFF',
      bg_color: '#000000',
      order_not_editable: done,
      editable_fields: done ? '' : 'price,quantity,tif',
      cannot_cancel_order: done,
      deactivate_order: false,
      sec_type: o.inst.secType,
      available_chart_periods: '#R|1',
      order_description: this.desc(o),
      order_description_with_contract: `${this.desc(o).split(' ')[0]} ${o.qty} ${o.inst.symbol} ${this.desc(o).split(' ').slice(2).join(' ')}`,
      alert_active: 1,
      child_order_type: '0',
      order_clearing_account: o.acct,
      size_and_fills: String(o.filled),
      allowed_duplicate_opposite: true,
      order_time: this.stamp(o.createdAt),
    };
    if (o.cOID) body['order_ref'] = o.cOID;
    if (o.filled > 0) body['average_price'] = String(Math.round(o.avgPrice * 10000) / 10000);
    if (o.limit !== undefined) body['limit_price'] = String(o.limit);
    if (o.stop !== undefined) body['stop_price'] = String(o.stop);
    if (o.type === 'TRAIL' && o.trailStop !== undefined) body['stop_price'] = String(o.trailStop);
    return ok(body);
  }

  /** POST /iserver/account/{acct}/order/{id} */
  modify(acct: string, orderId: number, spec: OrderSpec): EngineAnswer {
    this.step();
    const o = this.orders.get(orderId);
    if (!o || o.acct !== acct) return reject(`OrderID ${orderId} doesn't exist`);
    if (o.status === 'Filled' || o.status === 'Cancelled' || o.status === 'Inactive') {
      return reject(`OrderID ${orderId} is ${o.status.toLowerCase()} and cannot be modified`);
    }
    if (spec.conid !== o.conid || spec.side !== o.side)
      return reject('The order contract and side cannot be modified.');
    if (spec.qty < o.filled) return reject(`Order quantity cannot be less than the filled quantity ${o.filled}.`);
    const why = this.rejection({ ...spec, cOID: undefined });
    if (why) return reject(why);
    for (const p of this.pending.values()) p.stale = true;
    const questions = this.questionsFor({ ...spec, type: spec.type === 'MKT' ? 'LMT' : spec.type }).filter(
      (q) => q.id === 'o163' || q.id === 'o383' || q.id === 'o451',
    );
    if (questions.length) {
      return this.ask({
        id: this.newReplyId(),
        kind: 'modify',
        spec,
        targetOrderId: orderId,
        remaining: questions,
        stale: false,
        session: this.state.session.id,
      });
    }
    return this.applyModify(orderId, spec);
  }

  private applyModify(orderId: number, spec: OrderSpec): EngineAnswer {
    const o = this.orders.get(orderId);
    if (!o || o.status === 'Filled' || o.status === 'Cancelled' || o.status === 'Inactive') {
      return reject(`OrderID ${orderId} can no longer be modified`);
    }
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
    if (o.status === 'Filled' || o.status === 'Cancelled' || o.status === 'Inactive') {
      return reject(`OrderID ${orderId} is already ${o.status.toLowerCase()}`);
    }
    this.finish(o, 'Cancelled');
    return ok({ msg: 'Request was submitted', order_id: o.orderId, conid: o.conid, account: o.acct });
  }

  /** GET /iserver/account/trades?days=N */
  trades(days: number): EngineAnswer {
    this.step();
    const d = Math.min(7, Math.max(1, days));
    const since = this.now - d * 86_400_000;
    const rows = this.executions
      .filter((e) => e.time >= since)
      .sort((a, b) => b.time - a.time)
      .map((e) => {
        const t = new Date(e.time).toISOString();
        const row: Record<string, unknown> = {
          execution_id: e.executionId,
          symbol: e.inst.symbol,
          supports_tax_opt: '1',
          side: e.side === 'BUY' ? 'B' : 'S',
          order_description: `${e.side === 'BUY' ? 'Bot' : 'Sold'} ${e.qty} @ ${e.price} on ${e.inst.listingExchange}`,
          trade_time: `${t.slice(0, 10).replace(/-/g, '')}-${t.slice(11, 19)}`,
          trade_time_r: e.time,
          size: e.qty,
          price: String(e.price),
          submitter: 'simuser',
          exchange: e.inst.listingExchange,
          commission: e.commission.toFixed(2),
          net_amount: Math.round(e.qty * e.price * (e.inst.multiplier || 1) * 100) / 100,
          account: e.acct,
          accountCode: e.acct,
          account_allocation_name: e.acct,
          company_name: e.inst.name,
          contract_description_1: e.inst.symbol,
          sec_type: e.inst.secType,
          listing_exchange: e.inst.listingExchange,
          conid: e.conid,
          conidEx: String(e.conid),
          clearing_id: 'IB',
          clearing_name: 'IB',
          liquidation_trade: '0',
          is_event_trading: '0',
          order_id: e.orderId,
        };
        if (e.cOID) row['order_ref'] = e.cOID;
        return row;
      });
    return ok(rows);
  }

  // ---------------------------------------------------------------- execution

  /** Advances every working order against the current quotes. */
  step(): void {
    for (const o of this.orders.values()) {
      if (o.status === 'Submitted' || o.status === 'PreSubmitted') this.work(o, false);
    }
  }

  private finish(o: SimOrder, status: SimStatus): void {
    o.status = status;
    o.updatedAt = this.now;
  }

  private work(o: SimOrder, justPlaced: boolean): void {
    const now = this.now;
    const tz = 'America/New_York';
    if ((o.tif === 'DAY' || o.tif === 'OPG') && !justPlaced) {
      const a = localDay(o.createdAt, tz);
      const b = localDay(now, tz);
      if (a.year !== b.year || a.month !== b.month || a.day !== b.day) {
        this.finish(o, 'Cancelled');
        return;
      }
    }
    if (instrumentFlags(this.state, o.conid).halted) return;
    const q = this.quote(o.inst);
    const buy = o.side === 'BUY';
    const market = buy ? q.ask : q.bid;
    if (market === undefined) return;
    let limit: number | undefined;
    switch (o.type) {
      case 'MKT':
        break;
      case 'LMT':
        limit = o.limit;
        break;
      case 'STP':
      case 'STOP_LIMIT': {
        if (!o.triggered) {
          const ref = q.last ?? market;
          o.triggered = buy ? ref >= o.stop! || market >= o.stop! : ref <= o.stop! || market <= o.stop!;
          if (!o.triggered) return;
          o.status = 'Submitted';
          o.updatedAt = now;
        }
        if (o.type === 'STOP_LIMIT') limit = o.limit;
        break;
      }
      case 'TRAIL': {
        const off = o.trailType === '%' ? (market * (o.trailAmt ?? 0)) / 100 : (o.trailAmt ?? 0);
        const tick = this.tickSize(o.inst, market);
        if (!o.triggered) {
          const level = roundTo(buy ? market + off : market - off, tick);
          const hit = o.trailStop !== undefined && (buy ? market >= o.trailStop : market <= o.trailStop);
          if (!hit) {
            o.trailStop =
              o.trailStop === undefined ? level : buy ? Math.min(o.trailStop, level) : Math.max(o.trailStop, level);
            return;
          }
          o.triggered = true;
          o.status = 'Submitted';
          o.updatedAt = now;
        }
        break;
      }
    }
    if (limit !== undefined && (buy ? market > limit : market < limit)) {
      if (o.tif === 'IOC') this.finish(o, 'Cancelled');
      return;
    }
    const sec = Math.floor(now / 1000);
    if (o.lastFillSec === sec && !justPlaced) return;
    const size = buy ? q.askSize : q.bidSize;
    const remaining = Math.round((o.qty - o.filled) * 10000) / 10000;
    const chunk = Math.min(remaining, Math.max(1, size));
    const price = limit !== undefined ? (buy ? Math.min(market, limit) : Math.max(market, limit)) : market;
    this.fill(o, chunk, price);
    o.lastFillSec = sec;
    if (o.filled < o.qty && o.tif === 'IOC') this.finish(o, 'Cancelled');
  }

  private fill(o: SimOrder, qty: number, price: number): void {
    const commission = commissionFor(o.inst, qty, price);
    const now = this.now;
    o.avgPrice = (o.avgPrice * o.filled + price * qty) / (o.filled + qty);
    o.filled = Math.round((o.filled + qty) * 10000) / 10000;
    o.commission += commission;
    o.updatedAt = now;
    o.status = o.filled >= o.qty ? 'Filled' : 'Submitted';
    this.execSeq++;
    const exec: SimExecution = {
      executionId: `0000e0d5.${(this.execSeq + 0x6576fd38).toString(16)}.01.01`,
      orderId: o.orderId,
      acct: o.acct,
      conid: o.conid,
      inst: o.inst,
      side: o.side,
      qty,
      price,
      commission,
      time: now,
    };
    if (o.cOID) exec.cOID = o.cOID;
    this.executions.push(exec);
    const pf = simPortfolio(this.state);
    if (pf.hasAccount(o.acct)) {
      pf.applyFill({
        accountId: o.acct,
        conid: o.conid,
        side: o.side,
        quantity: qty,
        price,
        commission,
        currency: o.inst.currency,
      });
    }
  }
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
