/**
 * Option spreads as the domain sees them: legs with signed ratios (+ bought, − sold, per spread),
 * the named shapes that expand to legs, and the payoff of a spread at expiration (net debit or
 * credit, maximum profit and loss, breakevens). Pure arithmetic, no wire format: how a broker
 * encodes a combo lives in its backend.
 */
import type { OptionRight } from './types.js';

export const SPREAD_SHAPES = ['vertical', 'straddle', 'strangle', 'iron_condor', 'calendar', 'butterfly'] as const;
export type SpreadShape = (typeof SPREAD_SHAPES)[number];

/** The most legs a combo may have (IB inherits TWS's limit of six; see test/unit/spreads.test.ts). */
export const MAX_SPREAD_LEGS = 6;

/** One leg as the user describes it, before it is resolved to a contract. */
export interface LegSpec {
  expiration: string;
  strike: number;
  right: OptionRight;
  /** Contracts per spread: positive bought, negative sold. */
  ratio: number;
}

/** One leg of an order: a contract id and its signed ratio (+ buy, − sell). */
export interface OrderLeg {
  conid: number;
  ratio: number;
}

/** A leg with what its payoff needs. `expiry` is YYYY-MM-DD (or any sortable date text). */
export interface PayoffLeg {
  right: OptionRight;
  strike: number;
  expiry: string;
  ratio: number;
}

export interface ShapeArgs {
  shape: SpreadShape;
  right?: OptionRight | undefined;
  strikes: number[];
  expiration: string;
  /** calendar: the later expiration (the near one is `expiration`). */
  farExpiration?: string | undefined;
}

function ascending(xs: number[]): boolean {
  return xs.every((x, i) => i === 0 || x > xs[i - 1]!);
}

/**
 * A named shape's legs, as bought (action BUY): vertical buys strikes[0] and sells strikes[1];
 * straddle and strangle buy a put and a call; iron_condor buys the outer strikes and sells the
 * inner ones (a credit); butterfly buys the wings and sells two bodies; calendar sells the near
 * expiration and buys the far one. Throws a message listing what is wrong.
 */
export function expandShape(a: ShapeArgs): LegSpec[] {
  const k = a.strikes;
  const e = a.expiration;
  const need = (n: number, what: string) => {
    if (k.length !== n) throw new Error(`${a.shape} needs ${n} strike${n > 1 ? 's' : ''} (${what}), got ${k.length}.`);
  };
  const needRight = (): OptionRight => {
    if (!a.right) throw new Error(`${a.shape} needs right (C or P).`);
    return a.right;
  };
  const leg = (strike: number, right: OptionRight, ratio: number, expiration = e): LegSpec => ({
    expiration,
    strike,
    right,
    ratio,
  });
  switch (a.shape) {
    case 'vertical': {
      need(2, 'bought, sold');
      const r = needRight();
      if (k[0] === k[1]) throw new Error('vertical needs two different strikes.');
      return [leg(k[0]!, r, 1), leg(k[1]!, r, -1)];
    }
    case 'straddle':
      need(1, 'the strike of both legs');
      return [leg(k[0]!, 'P', 1), leg(k[0]!, 'C', 1)];
    case 'strangle':
      need(2, 'put strike, call strike');
      if (!ascending(k)) throw new Error('strangle needs the put strike below the call strike.');
      return [leg(k[0]!, 'P', 1), leg(k[1]!, 'C', 1)];
    case 'iron_condor':
      need(4, 'long put, short put, short call, long call');
      if (!ascending(k)) throw new Error('iron_condor needs four ascending strikes.');
      return [leg(k[0]!, 'P', 1), leg(k[1]!, 'P', -1), leg(k[2]!, 'C', -1), leg(k[3]!, 'C', 1)];
    case 'butterfly': {
      need(3, 'lower wing, body, upper wing');
      const r = needRight();
      if (!ascending(k)) throw new Error('butterfly needs three ascending strikes.');
      return [leg(k[0]!, r, 1), leg(k[1]!, r, -2), leg(k[2]!, r, 1)];
    }
    case 'calendar': {
      need(1, 'the strike of both legs');
      const r = needRight();
      if (!a.farExpiration) throw new Error('calendar needs farExpiration (the later expiration).');
      if (a.farExpiration === e) throw new Error('calendar needs two different expirations.');
      return [leg(k[0]!, r, -1), leg(k[0]!, r, 1, a.farExpiration)];
    }
  }
}

/** Every leg's ratio negated: selling a spread is buying its opposite. */
export function flipLegs<T extends { ratio: number }>(legs: T[]): T[] {
  return legs.map((l) => ({ ...l, ratio: -l.ratio }));
}

/** Problems with a set of legs as one combo (empty when none). */
export function legProblems(legs: Array<{ conid: number; ratio: number }>): string[] {
  const p: string[] = [];
  if (legs.length < 2) p.push(`a spread needs at least 2 legs, got ${legs.length}.`);
  if (legs.length > MAX_SPREAD_LEGS) p.push(`a spread takes at most ${MAX_SPREAD_LEGS} legs, got ${legs.length}.`);
  for (const l of legs) {
    if (!Number.isInteger(l.ratio) || l.ratio === 0) p.push(`leg ${l.conid}: ratio must be a non-zero whole number.`);
  }
  const seen = new Set<number>();
  for (const l of legs) {
    if (seen.has(l.conid)) p.push(`contract ${l.conid} appears in two legs; combine them into one.`);
    seen.add(l.conid);
  }
  return p;
}

/** The payoff of one spread at expiration; money amounts are for the whole order. */
export interface SpreadPayoff {
  /** Net price per spread: positive a debit (paid), negative a credit (received). */
  netPrice: number;
  /** Cash paid (> 0) or received (< 0) for the whole order: netPrice × multiplier × quantity. */
  netAmount: number;
  /** undefined: unlimited. */
  maxProfit: number | undefined;
  /** undefined: unlimited (or, with several expirations, not known). */
  maxLoss: number | undefined;
  maxLossUnlimited: boolean;
  maxProfitUnlimited: boolean;
  /** Underlying prices where the spread breaks even at expiration. */
  breakevens: number[];
  /** The legs expire on different dates: payoff at the first expiration depends on volatility. */
  multiExpiry: boolean;
}

function intrinsic(l: PayoffLeg, s: number): number {
  return l.right === 'C' ? Math.max(0, s - l.strike) : Math.max(0, l.strike - s);
}

const r4 = (x: number) => {
  const v = Math.round(x * 10_000) / 10_000;
  return Object.is(v, -0) ? 0 : v;
};

/**
 * The payoff at expiration of `quantity` spreads bought at `netPrice` (+ debit, − credit) per
 * spread, with `multiplier` units per contract. With one expiration the payoff is piecewise
 * linear in the underlying's price S, with kinks at the strikes: its extremes are at S = 0, at a
 * strike, or unlimited as S grows (when the calls' ratios do not sum to 0). With several
 * expirations (calendars) only the maximum loss of a debit spread whose every sold leg is covered
 * by a later bought leg of the same right and strike is known: the debit.
 */
export function spreadPayoff(legs: PayoffLeg[], netPrice: number, multiplier: number, quantity: number): SpreadPayoff {
  const scale = multiplier * quantity;
  const base = { netPrice, netAmount: r4(netPrice * scale) };
  const expiries = new Set(legs.map((l) => l.expiry));
  if (expiries.size > 1) {
    const covered = legs
      .filter((l) => l.ratio < 0)
      .every((s) => {
        const cover = legs
          .filter((b) => b.ratio > 0 && b.right === s.right && b.strike === s.strike && b.expiry > s.expiry)
          .reduce((n, b) => n + b.ratio, 0);
        return cover >= -s.ratio;
      });
    const known = covered && netPrice > 0;
    return {
      ...base,
      maxProfit: undefined,
      maxLoss: known ? r4(netPrice * scale) : undefined,
      maxLossUnlimited: false,
      maxProfitUnlimited: false,
      breakevens: [],
      multiExpiry: true,
    };
  }
  const value = (s: number) => legs.reduce((v, l) => v + l.ratio * intrinsic(l, s), 0) - netPrice;
  const strikes = [...new Set(legs.map((l) => l.strike))].sort((a, b) => a - b);
  const points = [0, ...strikes.filter((k) => k > 0)];
  const values = points.map(value);
  // Beyond the highest strike only calls move: the slope is the sum of the calls' ratios.
  const slope = legs.filter((l) => l.right === 'C').reduce((n, l) => n + l.ratio, 0);
  const hi = Math.max(...values);
  const lo = Math.min(...values);
  const breakevens: number[] = [];
  const push = (x: number) => {
    const v = r4(x);
    if (v >= 0 && !breakevens.some((b) => Math.abs(b - v) < 1e-9)) breakevens.push(v);
  };
  for (let i = 0; i < points.length; i++) {
    const x0 = points[i]!;
    const v0 = values[i]!;
    const onZero = Math.abs(v0) < 1e-12;
    // A kink on zero counts when the payoff crosses or touches zero there from a non-zero side.
    if (onZero) {
      const prev = i > 0 ? values[i - 1]! : undefined;
      const next = i + 1 < points.length ? values[i + 1]! : slope;
      if ((prev !== undefined && Math.abs(prev) > 1e-12) || Math.abs(next) > 1e-12) push(x0);
      continue;
    }
    if (i + 1 < points.length) {
      const x1 = points[i + 1]!;
      const v1 = values[i + 1]!;
      if (Math.abs(v1) > 1e-12 && Math.sign(v0) !== Math.sign(v1)) push(x0 + ((x1 - x0) * -v0) / (v1 - v0));
    } else if (slope !== 0 && Math.sign(v0) !== Math.sign(slope)) {
      push(x0 - v0 / slope);
    }
  }
  breakevens.sort((a, b) => a - b);
  const maxProfitUnlimited = slope > 0;
  const maxLossUnlimited = slope < 0;
  return {
    ...base,
    maxProfit: maxProfitUnlimited ? undefined : r4(Math.max(0, hi) * scale),
    maxLoss: maxLossUnlimited ? undefined : r4(Math.max(0, -lo) * scale),
    maxLossUnlimited,
    maxProfitUnlimited,
    breakevens,
    multiExpiry: false,
  };
}

/**
 * The market of a spread from its legs' markets: buying it pays the asks of the bought legs and
 * receives the bids of the sold ones (undefined when a leg lacks the price it needs).
 */
export function spreadQuote(legs: Array<{ ratio: number; bid?: number | undefined; ask?: number | undefined }>): {
  bid?: number;
  ask?: number;
} {
  let ask: number | undefined = 0;
  let bid: number | undefined = 0;
  for (const l of legs) {
    const n = Math.abs(l.ratio);
    const buyPx = l.ratio > 0 ? l.ask : l.bid;
    const sellPx = l.ratio > 0 ? l.bid : l.ask;
    ask = ask === undefined || buyPx === undefined ? undefined : ask + Math.sign(l.ratio) * n * buyPx;
    bid = bid === undefined || sellPx === undefined ? undefined : bid + Math.sign(l.ratio) * n * sellPx;
  }
  const out: { bid?: number; ask?: number } = {};
  if (ask !== undefined) out.ask = r4(ask);
  if (bid !== undefined) out.bid = r4(bid);
  return out;
}

/** A spread as checked and shown: its legs (resolved), their market, and the payoff. */
export interface SpreadSummary {
  /** The shape's name ("iron_condor") or "custom". */
  shape: string;
  legs: Array<{
    conid: number;
    ratio: number;
    expiry?: string | undefined;
    strike?: number | undefined;
    right?: OptionRight | undefined;
    bid?: number | undefined;
    ask?: number | undefined;
  }>;
  /** The spread's market from the legs' (bid: selling it, ask: buying it). */
  quote: { bid?: number; ask?: number };
  /** The net price the payoff was computed at and where it came from. */
  priceBasis: string;
  payoff?: SpreadPayoff | undefined;
}
