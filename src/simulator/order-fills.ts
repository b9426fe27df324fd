/**
 * The simulator's order book and how its orders fill: MKT, LMT, STP, STOP_LIMIT and TRAIL
 * orders with DAY, GTC, IOC and OPG, filled against the simulator's own quotes (market orders
 * at the ask/bid, limits when the price crosses, stops when triggered, trailing stops that
 * follow the market), in chunks no larger than the displayed size (so large orders fill
 * partially over time), with IB-like commissions, booked into the portfolio.
 *
 * Simplifications: the market is always open (as the price model is); OPG orders act at the
 * next engine step; DAY orders expire when the market date (New York) changes.
 */
import { localDay } from './calendar.js';
import { childCap, childReadiness, reduceOcaGroup } from './order-bracket.js';
import { legFills, quoteFor } from './order-combo.js';
import { commissionFor, roundTo, type SimExecution, type SimOrder, type SimStatus } from './order-model.js';
import { tickSize } from './order-quote.js';
import { simPortfolio } from './portfolio.js';
import { instrumentFlags, type SimState } from './state.js';

/** The orders and executions of a simulator, worked against its quotes. */
export class SimOrderBook {
  readonly orders = new Map<number, SimOrder>();
  readonly executions: SimExecution[] = [];
  protected execSeq = 0;

  constructor(protected readonly state: SimState) {}

  protected get now(): number {
    return this.state.clock.now();
  }

  /** Advances every working order against the current quotes. */
  step(): void {
    for (const o of this.orders.values()) {
      if (o.status === 'Submitted' || o.status === 'PreSubmitted') this.work(o, false);
    }
  }

  protected finish(o: SimOrder, status: SimStatus): void {
    o.status = status;
    o.updatedAt = this.now;
  }

  protected work(o: SimOrder, justPlaced: boolean): void {
    const readiness = childReadiness(this.orders, o);
    if (readiness === 'cancel') {
      this.finish(o, 'Cancelled');
      return;
    }
    // A bracket child waits (PreSubmitted) until its parent is filled.
    if (readiness === 'wait') return;
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
    const q = quoteFor(this.state, o);
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
        const tick = tickSize(o.inst, market);
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
    // A bracket child closes no more than its parent has opened.
    const remaining = Math.min(Math.round((o.qty - o.filled) * 10000) / 10000, childCap(this.orders, o));
    if (!(remaining > 0)) return;
    const chunk = Math.min(remaining, Math.max(1, size));
    const price = limit !== undefined ? (buy ? Math.min(market, limit) : Math.max(market, limit)) : market;
    this.fill(o, chunk, price);
    o.lastFillSec = sec;
    if (o.filled < o.qty && o.tif === 'IOC') this.finish(o, 'Cancelled');
  }

  private fill(o: SimOrder, qty: number, price: number): void {
    // A combo fills at its net price, each leg booked as its own execution and position.
    const legs = o.legs ? legFills(this.state, o.legs, o.side, qty, price) : undefined;
    const commission = legs
      ? Math.round(legs.reduce((s, f) => s + f.commission, 0) * 100) / 100
      : commissionFor(o.inst, qty, price);
    const now = this.now;
    o.avgPrice = (o.avgPrice * o.filled + price * qty) / (o.filled + qty);
    o.filled = Math.round((o.filled + qty) * 10000) / 10000;
    o.commission += commission;
    o.updatedAt = now;
    o.status = o.filled >= o.qty ? 'Filled' : 'Submitted';
    const parts = legs
      ? legs.map((f) => ({ inst: f.leg.inst, side: f.side, qty: f.qty, price: f.price, commission: f.commission }))
      : [{ inst: o.inst, side: o.side, qty, price, commission }];
    for (const part of parts) this.book(o, part);
    reduceOcaGroup(this.orders, o, qty, (sib) => this.finish(sib, 'Cancelled'));
  }

  /** One execution of an order (a combo: of one leg) and its change of the position. */
  private book(
    o: SimOrder,
    x: { inst: SimOrder['inst']; side: 'BUY' | 'SELL'; qty: number; price: number; commission: number },
  ): void {
    this.execSeq++;
    const exec: SimExecution = {
      executionId: `0000e0d5.${(this.execSeq + 0x6576fd38).toString(16)}.01.01`,
      orderId: o.orderId,
      acct: o.acct,
      conid: x.inst.conid,
      inst: x.inst,
      side: x.side,
      qty: x.qty,
      price: x.price,
      commission: x.commission,
      time: this.now,
    };
    if (o.cOID) exec.cOID = o.cOID;
    this.executions.push(exec);
    const pf = simPortfolio(this.state);
    if (pf.hasAccount(o.acct)) {
      pf.applyFill({
        accountId: o.acct,
        conid: x.inst.conid,
        side: x.side,
        quantity: x.qty,
        price: x.price,
        commission: x.commission,
        currency: x.inst.currency,
      });
    }
  }
}
