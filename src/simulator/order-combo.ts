/**
 * Combo (spread) orders in the simulator, as IB takes them: an order whose `conidex` is
 * "{spread conid}[@exchange];;;{leg conid}/{ratio},…" instead of a `conid`. A positive ratio
 * buys the leg, a negative one sells it; the spread conid names the currency. The combo's market
 * comes from its legs' (bought at the asks of the bought legs, less the bids of the sold ones),
 * it fills at one net price, and each fill books one execution and one position change per leg.
 *
 * Sources: IBKR Campus, Web API v1.0, "Combo / Spread Orders" (the format, ratio signs, the
 * currency table, "spread_conid@exchange" outside the US, the number of legs by exchange rules);
 * the TWS Users' Guide, "Notes on Combination Orders" (a negative price is a credit). Rules the
 * simulator adds where IB's documents are silent are named as such below.
 */
import { optionMarkets } from './options.js';
import { commissionFor, type OrderSpec, type SimLeg } from './order-model.js';
import { type OrderQuote, orderQuote } from './order-quote.js';
import type { SimState } from './state.js';
import type { Instrument } from './universe.js';

/** IBKR Campus's table of spread conids per currency. */
const SPREAD_CURRENCY: Readonly<Record<number, string>> = {
  61227077: 'AUD',
  61227082: 'CAD',
  61227087: 'CHF',
  136000441: 'CNH',
  58666491: 'GBP',
  61227072: 'HKD',
  136000444: 'INR',
  61227069: 'JPY',
  136000424: 'KRW',
  136000449: 'MXN',
  136000429: 'SEK',
  426116555: 'SGD',
  28812380: 'USD',
};

export type { SimLeg } from './order-model.js';

/** Six legs: the limit TWS documents for combos (a simulator choice; IB says "by exchange rules"). */
const MAX_LEGS = 6;

export interface SimCombo {
  conidex: string;
  inst: Instrument;
  legs: SimLeg[];
}

/** True when this conidex is a combo's (has ";;;"). */
export function isComboConidex(v: unknown): v is string {
  return typeof v === 'string' && v.includes(';;;');
}

/** A combo conidex → the combo, or IB's reason to refuse it. */
export function comboFrom(state: SimState, conidex: string): SimCombo | string {
  const m = /^(\d+)(?:@([A-Z0-9.]+))?;;;(.+)$/.exec(conidex.trim());
  if (!m) return `Invalid conidex: ${conidex}`;
  const spread = Number(m[1]);
  const ccy = SPREAD_CURRENCY[spread];
  if (!ccy) return `Invalid spread contract id: ${spread}`;
  if (ccy !== 'USD' && !m[2]) return `A ${ccy} combo needs its exchange: ${spread}@EXCHANGE;;;…`;
  const legs: SimLeg[] = [];
  for (const part of m[3]!.split(',')) {
    // "+1" is seen too (a user's log in github.com/Voyz/ibind/issues/110).
    const lm = /^(\d+)\/([+-]?\d+)$/.exec(part.trim());
    if (!lm) return `Invalid combo leg: ${part}`;
    const conid = Number(lm[1]);
    const ratio = Number(lm[2]);
    if (ratio === 0) return `Invalid ratio 0 for leg ${conid}`;
    const inst = state.universe.get(conid) ?? optionMarkets(state).lookup(conid);
    if (!inst) return `Contract ${conid} not found`;
    if (legs.some((l) => l.conid === conid)) return `Duplicate combo leg ${conid}`;
    legs.push({ conid, inst, ratio });
  }
  if (legs.length < 2) return 'A combo needs at least two legs.';
  if (legs.length > MAX_LEGS) return `A combo takes at most ${MAX_LEGS} legs.`;
  if (legs.some((l) => l.inst.currency !== ccy))
    return `Combo legs must trade in ${ccy}, the currency of spread ${spread}.`;
  // Simulator rule: the option legs share one underlying (IB's own stock combos, such as
  // IBKR Campus's IBKR/MCD example, may mix symbols).
  const unders = new Set(legs.filter((l) => l.inst.secType !== 'STK').map((l) => l.inst.symbol));
  if (unders.size > 1) return 'The legs of an option combo must share one underlying.';
  const first = legs[0]!.inst;
  const inst: Instrument = {
    ...first,
    conid: spread,
    secType: 'BAG',
    name: `${first.symbol} COMBO`,
    exchange: m[2] ?? 'SMART',
    listingExchange: m[2] ?? 'SMART',
    currency: ccy,
    tickSize: 0.01,
    optionable: false,
  };
  return { conidex: conidex.trim(), inst, legs };
}

/** The combo's market from its legs': buying pays the bought legs' asks and gets the sold legs' bids. */
export function comboQuote(state: SimState, legs: SimLeg[]): OrderQuote {
  let bid = 0;
  let ask = 0;
  let size = Number.POSITIVE_INFINITY;
  for (const l of legs) {
    const q = orderQuote(state, l.inst);
    const n = Math.abs(l.ratio);
    if (q.bid === undefined || q.ask === undefined) return { bidSize: 0, askSize: 0 };
    ask += l.ratio > 0 ? n * q.ask : -n * q.bid;
    bid += l.ratio > 0 ? n * q.bid : -n * q.ask;
    size = Math.min(size, Math.floor(Math.min(q.bidSize, q.askSize) / n));
  }
  const r = (x: number) => Math.round(x * 100) / 100;
  const s = Number.isFinite(size) ? Math.max(1, size) : 1;
  return { bid: r(bid), ask: r(ask), last: r((bid + ask) / 2), bidSize: s, askSize: s };
}

/** The market an order sees: its combo's, or its contract's. */
export function quoteFor(state: SimState, o: { inst: Instrument; legs?: SimLeg[] | undefined }): OrderQuote {
  return o.legs ? comboQuote(state, o.legs) : orderQuote(state, o.inst);
}

/**
 * Each leg's part of a combo fill of `qty` spreads on `side`: its side, size and price (the
 * bought legs at their ask, the sold ones at their bid, then shifted on the first leg so that the
 * legs add up to the combo's net price exactly), and its commission.
 */
export function legFills(
  state: SimState,
  legs: SimLeg[],
  side: 'BUY' | 'SELL',
  qty: number,
  net: number,
): Array<{ leg: SimLeg; side: 'BUY' | 'SELL'; qty: number; price: number; commission: number }> {
  const sign = side === 'BUY' ? 1 : -1;
  const out = legs.map((leg) => {
    const buys = leg.ratio * sign > 0;
    const q = orderQuote(state, leg.inst);
    const price = (buys ? q.ask : q.bid) ?? q.last ?? 0;
    return { leg, side: (buys ? 'BUY' : 'SELL') as 'BUY' | 'SELL', qty: qty * Math.abs(leg.ratio), price };
  });
  const sum = out.reduce((s, f) => s + Math.sign(f.leg.ratio) * Math.abs(f.leg.ratio) * f.price, 0);
  const gap = net - sum;
  if (Math.abs(gap) > 1e-9 && out[0]) {
    const f = out[0];
    f.price = Math.max(
      0.01,
      Math.round((f.price + gap / (Math.sign(f.leg.ratio) * Math.abs(f.leg.ratio))) * 100) / 100,
    );
  }
  return out.map((f) => ({ ...f, commission: commissionFor(f.leg.inst, f.qty, f.price) }));
}

/**
 * The combo's worst loss per spread at expiration, bought at `net` (legs of one expiration;
 * a simulator estimate of IB's margin for a defined-risk spread). Infinity when unlimited.
 */
export function comboWorstLoss(legs: SimLeg[], net: number): number {
  const strikes = legs.map((l) => l.inst.strike ?? 0);
  const top = Math.max(0, ...strikes);
  const value = (s: number) =>
    legs.reduce((v, l) => {
      const k = l.inst.strike ?? 0;
      const intrinsic = l.inst.right === 'C' ? Math.max(0, s - k) : l.inst.right === 'P' ? Math.max(0, k - s) : s;
      return v + l.ratio * intrinsic;
    }, 0) - net;
  const callSlope = legs.filter((l) => l.inst.right === 'C').reduce((n, l) => n + l.ratio, 0);
  if (callSlope < 0) return Number.POSITIVE_INFINITY;
  const worst = Math.min(...[0, ...strikes, top * 2].map(value));
  return Math.max(0, -worst);
}

/** The what-if of a combo: value at the net price, the legs' commissions, the worst loss as margin. */
export function comboWhatIf(state: SimState, spec: OrderSpec): { value: number; commission: number; margin: number } {
  const legs = spec.legs ?? [];
  const q = comboQuote(state, legs);
  const net = spec.limit ?? (spec.side === 'BUY' ? q.ask : q.bid) ?? 0;
  const mult = legs[0]?.inst.multiplier || 1;
  const fills = legFills(state, legs, spec.side, spec.qty, net);
  const loss = comboWorstLoss(
    spec.side === 'BUY' ? legs : legs.map((l) => ({ ...l, ratio: -l.ratio })),
    spec.side === 'BUY' ? net : -net,
  );
  return {
    value: Math.abs(net) * spec.qty * mult,
    commission: Math.round(fills.reduce((s, f) => s + f.commission, 0) * 100) / 100,
    margin: Number.isFinite(loss) ? loss * spec.qty * mult : Math.abs(net) * spec.qty * mult * 5,
  };
}
