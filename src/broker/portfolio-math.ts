/**
 * Portfolio arithmetic in domain terms: currency conversion through the ledgers, sorting of
 * positions, totals by currency and the grouped summary of one or several accounts. The tools
 * (src/tools/account.ts) and the MCP resources show what this computes; nothing here renders.
 * Sums are of rounded parts, so that the totals shown add up exactly.
 */
import { byCode } from './locale.js';
import { pct, round2 } from './numbers.js';
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

function pnlPct(p: Position): number {
  const cost = Math.abs(p.quantity * p.avgPrice * (p.multiplier ?? 1));
  return cost ? (p.unrealizedPnl / cost) * 100 : 0;
}

/**
 * Positions in order. Value and P&L are compared in one currency through `toCommon` (the rate
 * from a position's currency to the currency compared in); without it, in each position's own.
 */
export function sortPositions(
  list: Position[],
  by: PositionSort,
  order: 'asc' | 'desc' | undefined,
  toCommon?: (p: Position) => number,
): Position[] {
  const dir = (order ?? (by === 'symbol' ? 'asc' : 'desc')) === 'asc' ? 1 : -1;
  const fx = (p: Position) => toCommon?.(p) ?? 1;
  const key = (p: Position): number | string =>
    by === 'value'
      ? Math.abs(p.marketValue * fx(p))
      : by === 'pnl'
        ? p.unrealizedPnl * fx(p)
        : by === 'pnlPct'
          ? pnlPct(p)
          : p.symbol;
  return [...list].sort((a, b) => {
    const x = key(a);
    const y = key(b);
    const c = typeof x === 'number' && typeof y === 'number' ? x - y : byCode(String(x), String(y));
    return c !== 0 ? c * dir : a.conid - b.conid;
  });
}

/** What a total adds up: value and P&L in one currency. */
export interface Amounts {
  value: number;
  unrealizedPnl: number;
  realizedPnl: number;
}

export interface CurrencyTotal extends Amounts {
  currency: string;
  positions: number;
}

/** Totals by currency of a list of (already rounded) position rows, largest value first. */
export function totalsByCurrency(rows: readonly (Amounts & { currency: string })[]): CurrencyTotal[] {
  const m = new Map<string, CurrencyTotal>();
  for (const r of rows) {
    const t = m.get(r.currency) ?? { currency: r.currency, positions: 0, value: 0, unrealizedPnl: 0, realizedPnl: 0 };
    t.positions += 1;
    t.value += r.value;
    t.unrealizedPnl += r.unrealizedPnl;
    t.realizedPnl += r.realizedPnl;
    m.set(r.currency, t);
  }
  return [...m.values()]
    .map((t) => ({
      ...t,
      value: round2(t.value),
      unrealizedPnl: round2(t.unrealizedPnl),
      realizedPnl: round2(t.realizedPnl),
    }))
    .sort((a, b) => Math.abs(b.value) - Math.abs(a.value));
}

export const GROUP_BY = ['secType', 'currency', 'sector', 'none'] as const;
export type GroupBy = (typeof GROUP_BY)[number];

export interface SummaryGroup extends Amounts {
  key: string;
  positions: number;
  /** value / net liquidation, in percent. */
  weightPct: number;
}

/** One account (or the total of several) in one currency. */
export interface PortfolioSummary extends Amounts {
  id?: string | undefined;
  currency: string;
  netLiquidation: number;
  cash: number;
  cashPct: number;
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
  return { key, positions: 0, value: 0, unrealizedPnl: 0, realizedPnl: 0, weightPct: 0 };
}

/** Adds `a` converted with `fx` into `into`, each part rounded to cents. */
function addConverted(into: Amounts, a: Amounts, fx: number): void {
  into.value += round2(a.value * fx);
  into.unrealizedPnl += round2(a.unrealizedPnl * fx);
  into.realizedPnl += round2(a.realizedPnl * fx);
}

/** The summary of rounded groups: group totals with their weights, sums of the groups. */
function summaryOf(
  groups: Iterable<SummaryGroup>,
  currency: string,
  netLiquidation: number,
  cash: number,
  positions: number,
  by: GroupBy,
  id?: string,
): PortfolioSummary {
  const list = [...groups]
    .map((g) => ({
      ...g,
      value: round2(g.value),
      unrealizedPnl: round2(g.unrealizedPnl),
      realizedPnl: round2(g.realizedPnl),
      weightPct: pct(g.value, netLiquidation),
    }))
    .sort((a, b) => Math.abs(b.value) - Math.abs(a.value));
  const out: PortfolioSummary = {
    currency,
    netLiquidation: round2(netLiquidation),
    cash: round2(cash),
    cashPct: pct(cash, netLiquidation),
    value: round2(list.reduce((s, g) => s + g.value, 0)),
    unrealizedPnl: round2(list.reduce((s, g) => s + g.unrealizedPnl, 0)),
    realizedPnl: round2(list.reduce((s, g) => s + g.realizedPnl, 0)),
    positions,
  };
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
  cash: number,
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
    addConverted(g, { value: p.marketValue, unrealizedPnl: p.unrealizedPnl, realizedPnl: p.realizedPnl }, fx);
    groups.set(key, g);
  }
  return summaryOf(groups.values(), base, netLiquidation, cash, positions.length, by, id);
}

/** Adds account summaries (converted with `fx`) into one total; groups merge by key. */
export function combine(parts: { s: PortfolioSummary; fx: number }[], currency: string, by: GroupBy): PortfolioSummary {
  const groups = new Map<string, SummaryGroup>();
  let nlv = 0;
  let cash = 0;
  let positions = 0;
  for (const { s, fx } of parts) {
    nlv += s.netLiquidation * fx;
    cash += s.cash * fx;
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
  return { value: a.value, unrealizedPnl: a.unrealizedPnl, realizedPnl: a.realizedPnl };
}
