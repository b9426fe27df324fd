/**
 * Portfolio arithmetic in domain terms: currency conversion through the ledgers, sorting of
 * positions, totals by currency and the grouped summary of one or several accounts. The tools
 * (src/tools/account.ts) and the MCP resources show what this computes; nothing here renders.
 * Sums are of rounded parts, so that the totals shown add up exactly.
 */
import { byCode } from './locale.js';
import { add, mul, pct, round2, round2u } from './numbers.js';
import type { Ledger, Position } from './portfolio.js';

/** Base-currency units per unit of `currency`, from the account's ledger (undefined when unknown). */
export function rateToBase(ledger: Ledger | undefined, currency: string): number | undefined {
  if (!ledger || currency === ledger.baseCurrency) return 1;
  return ledger.currencies.find((c) => c.currency === currency)?.exchangeRate;
}

/**
 * Rate from each account's base currency to `target`, from the ledgers: the account's own
 * line for `target`, else another ledger's line for the account's base currency.
 */
/**
 * For positions in several currencies: the rate from each position's currency to one currency
 * (the first account's base), from the accounts' ledgers. undefined when a rate is missing.
 */
export function positionRates(
  positions: readonly Position[],
  ledgers: Map<string, Ledger>,
): { currency: string; rate: (p: Position) => number } | undefined {
  const first = ledgers.values().next().value as Ledger | undefined;
  if (!first) return undefined;
  const target = first.baseCurrency;
  const acctRates = ratesToCurrency(target, ledgers);
  const rates = new Map<Position, number>();
  for (const p of positions) {
    const toBase = rateToBase(ledgers.get(p.accountId), p.currency);
    const baseToTarget = acctRates.get(p.accountId);
    if (toBase === undefined || baseToTarget === undefined) return undefined;
    rates.set(p, toBase * baseToTarget);
  }
  return { currency: target, rate: (p) => rates.get(p) ?? 1 };
}

export function ratesToCurrency(target: string, ledgers: Map<string, Ledger>): Map<string, number | undefined> {
  const out = new Map<string, number | undefined>();
  for (const [id, l] of ledgers) {
    if (l.baseCurrency === target) {
      out.set(id, 1);
      continue;
    }
    const own = l.currencies.find((c) => c.currency === target)?.exchangeRate;
    if (own) {
      out.set(id, 1 / own);
      continue;
    }
    let via: number | undefined;
    for (const other of ledgers.values()) {
      if (other.baseCurrency !== target) continue;
      via = other.currencies.find((c) => c.currency === l.baseCurrency)?.exchangeRate;
      if (via) break;
    }
    out.set(id, via);
  }
  return out;
}

export const POSITION_SORTS = ['value', 'pnl', 'pnlPct', 'symbol'] as const;
export type PositionSort = (typeof POSITION_SORTS)[number];

function pnlPct(p: Position): number | undefined {
  const cost = mul(p.quantity, p.avgPrice, p.multiplier ?? 1);
  if (cost === undefined || p.unrealizedPnl === undefined) return undefined;
  return cost ? (p.unrealizedPnl / Math.abs(cost)) * 100 : 0;
}

/**
 * Positions in order. Value and P&L are compared in one currency through `toCommon` (the rate
 * from a position's currency to the currency compared in); without it, in each position's own.
 * A position whose value is unknown comes last, in either order.
 */
export function sortPositions(
  list: Position[],
  by: PositionSort,
  order: 'asc' | 'desc' | undefined,
  toCommon?: (p: Position) => number,
): Position[] {
  const dir = (order ?? (by === 'symbol' ? 'asc' : 'desc')) === 'asc' ? 1 : -1;
  const fx = (p: Position) => toCommon?.(p) ?? 1;
  const value = (p: Position) => mul(p.marketValue, fx(p));
  const key = (p: Position): number | string | undefined =>
    by === 'value'
      ? value(p) === undefined
        ? undefined
        : Math.abs(value(p) as number)
      : by === 'pnl'
        ? mul(p.unrealizedPnl, fx(p))
        : by === 'pnlPct'
          ? pnlPct(p)
          : p.symbol;
  return [...list].sort((a, b) => {
    const x = key(a);
    const y = key(b);
    if (x === undefined || y === undefined) {
      if (x !== y) return x === undefined ? 1 : -1;
      return a.conid - b.conid;
    }
    const c = typeof x === 'number' && typeof y === 'number' ? x - y : byCode(String(x), String(y));
    return c !== 0 ? c * dir : a.conid - b.conid;
  });
}

/**
 * What a total adds up: value and P&L in one currency. An amount is absent when a part of it
 * is unknown (a sum over rows where one is missing would be wrong, not partial); `unknown`
 * then names the positions (symbols) that lack a value.
 */
export interface Amounts {
  value?: number | undefined;
  unrealizedPnl?: number | undefined;
  realizedPnl?: number | undefined;
  unknown?: string[] | undefined;
}

export interface CurrencyTotal extends Amounts {
  currency: string;
  positions: number;
}

/** The amounts of a position (or row) with the symbol to name when one of them is unknown. */
type Part = Amounts & { symbol?: string | undefined };

/** Adds `a` converted with `fx` into `into`, each part rounded to cents; a missing part makes the sum missing. */
function addConverted(into: Amounts, a: Part, fx: number): void {
  into.value = add(into.value, round2u(mul(a.value, fx)));
  into.unrealizedPnl = add(into.unrealizedPnl, round2u(mul(a.unrealizedPnl, fx)));
  into.realizedPnl = add(into.realizedPnl, round2u(mul(a.realizedPnl, fx)));
  const lacking =
    a.unknown ??
    (a.value === undefined || a.unrealizedPnl === undefined || a.realizedPnl === undefined ? [a.symbol ?? '?'] : []);
  if (lacking.length) into.unknown = [...(into.unknown ?? []), ...lacking];
}

/** Rounded amounts, without the absent ones. */
function rounded<T extends Amounts>(t: T): T {
  const out = {
    ...t,
    value: round2u(t.value),
    unrealizedPnl: round2u(t.unrealizedPnl),
    realizedPnl: round2u(t.realizedPnl),
  };
  for (const k of ['value', 'unrealizedPnl', 'realizedPnl', 'unknown'] as const)
    if (out[k] === undefined) delete out[k];
  return out;
}

/** Largest absolute value first; unknown values last. */
function byValue(a: Amounts, b: Amounts): number {
  if (a.value === undefined || b.value === undefined) return a.value === b.value ? 0 : a.value === undefined ? 1 : -1;
  return Math.abs(b.value) - Math.abs(a.value);
}

/** Totals by currency of a list of (already rounded) position rows, largest value first. */
export function totalsByCurrency(rows: readonly (Part & { currency: string })[]): CurrencyTotal[] {
  const m = new Map<string, CurrencyTotal>();
  for (const r of rows) {
    const t = m.get(r.currency) ?? { currency: r.currency, positions: 0, value: 0, unrealizedPnl: 0, realizedPnl: 0 };
    t.positions += 1;
    addConverted(t, r, 1);
    m.set(r.currency, t);
  }
  return [...m.values()].map(rounded).sort(byValue);
}

export const GROUP_BY = ['secType', 'currency', 'sector', 'none'] as const;
export type GroupBy = (typeof GROUP_BY)[number];

export interface SummaryGroup extends Amounts {
  key: string;
  positions: number;
  /** value / net liquidation, in percent; absent when either is unknown. */
  weightPct?: number | undefined;
}

/** One account (or the total of several) in one currency. */
export interface PortfolioSummary extends Amounts {
  id?: string | undefined;
  currency: string;
  netLiquidation: number;
  /** Absent when the ledger has no cash (or, in a total, when an account's is unknown). */
  cash?: number | undefined;
  cashPct?: number | undefined;
  positions: number;
  groups?: SummaryGroup[] | undefined;
  /** Rate used to convert this account into the total currency. */
  fx?: number | undefined;
}

function groupKey(p: Position, by: GroupBy): string {
  if (by === 'secType') return p.secType;
  if (by === 'currency') return p.currency;
  if (by === 'sector') return p.sector ?? (p.secType === 'STK' ? 'Unknown' : p.secType);
  return 'all';
}

function emptyGroup(key: string): SummaryGroup {
  return { key, positions: 0, value: 0, unrealizedPnl: 0, realizedPnl: 0 };
}

/** Sum of the groups' amounts; missing when one group's is. */
function sumOf(list: readonly Amounts[], k: 'value' | 'unrealizedPnl' | 'realizedPnl'): number | undefined {
  return round2u(list.reduce<number | undefined>((s, g) => add(s, g[k]), 0));
}

/** The summary of rounded groups: group totals with their weights, sums of the groups. */
function summaryOf(
  groups: Iterable<SummaryGroup>,
  currency: string,
  netLiquidation: number,
  cash: number | undefined,
  positions: number,
  by: GroupBy,
  id?: string,
): PortfolioSummary {
  const list = [...groups]
    .map((g) => {
      const r = rounded(g);
      if (g.value !== undefined) r.weightPct = pct(g.value, netLiquidation);
      else delete r.weightPct;
      return r;
    })
    .sort(byValue);
  const out: PortfolioSummary = rounded({
    currency,
    netLiquidation: round2(netLiquidation),
    cash: round2u(cash),
    cashPct: cash === undefined ? undefined : pct(cash, netLiquidation),
    value: sumOf(list, 'value'),
    unrealizedPnl: sumOf(list, 'unrealizedPnl'),
    realizedPnl: sumOf(list, 'realizedPnl'),
    unknown: list.flatMap((g) => g.unknown ?? []),
    positions,
  });
  if (!out.unknown?.length) delete out.unknown;
  if (out.cash === undefined) {
    delete out.cash;
    delete out.cashPct;
  }
  if (id) out.id = id;
  if (by !== 'none') out.groups = list;
  return out;
}

/** Groups of positions in the base currency; sums are of the rounded parts, so totals add up exactly. */
export function summarize(
  id: string | undefined,
  base: string,
  positions: readonly Position[],
  rate: (currency: string) => number | undefined,
  netLiquidation: number,
  cash: number | undefined,
  by: GroupBy,
  missingRates: Set<string>,
): PortfolioSummary {
  const groups = new Map<string, SummaryGroup>();
  for (const p of positions) {
    let fx = rate(p.currency);
    if (fx === undefined) {
      missingRates.add(p.currency);
      fx = 1;
    }
    const key = groupKey(p, by);
    const g = groups.get(key) ?? emptyGroup(key);
    g.positions += 1;
    addConverted(
      g,
      { value: p.marketValue, unrealizedPnl: p.unrealizedPnl, realizedPnl: p.realizedPnl, symbol: p.symbol },
      fx,
    );
    groups.set(key, g);
  }
  return summaryOf(groups.values(), base, netLiquidation, cash, positions.length, by, id);
}

/** Adds account summaries (converted with `fx`) into one total; groups merge by key. */
export function combine(parts: { s: PortfolioSummary; fx: number }[], currency: string, by: GroupBy): PortfolioSummary {
  const groups = new Map<string, SummaryGroup>();
  let nlv = 0;
  let cash: number | undefined = 0;
  let positions = 0;
  for (const { s, fx } of parts) {
    nlv += s.netLiquidation * fx;
    cash = add(cash, mul(s.cash, fx));
    positions += s.positions;
    for (const g of s.groups ?? [{ ...emptyGroup('all'), ...pick(s), positions: s.positions }]) {
      const t = groups.get(g.key) ?? emptyGroup(g.key);
      t.positions += g.positions;
      addConverted(t, g, fx);
      groups.set(g.key, t);
    }
  }
  return summaryOf(groups.values(), currency, nlv, cash, positions, by);
}

function pick(a: Amounts): Amounts {
  return { value: a.value, unrealizedPnl: a.unrealizedPnl, realizedPnl: a.realizedPnl, unknown: a.unknown };
}
