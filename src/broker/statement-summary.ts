/**
 * A statement in a few numbers: per account, counts and totals by currency of trades,
 * commissions, realised P&L, dividends and withholding tax, other cash by type, positions by value,
 * and the best and worst underlyings. Totals are per currency (never added across currencies).
 */
import { round2 } from './numbers.js';
import type { StatementAccount, StatementCash } from './statements.js';

export interface MoneyByCurrency {
  currency: string;
  amount: number;
}

export interface AccountSummary {
  accountId: string;
  fromDate?: string;
  toDate?: string;
  generated?: string;
  baseCurrency?: string;
  trades: {
    count: number;
    buys: number;
    sells: number;
    symbols: number;
    commissions: MoneyByCurrency[];
    realized: MoneyByCurrency[];
  };
  dividends: { count: number; gross: MoneyByCurrency[]; withholding: MoneyByCurrency[] };
  /** Other cash movements by type (deposits, interest, fees), largest first, at most 8. */
  cash: { type: string; currency: string; amount: number; count: number }[];
  positions: { count: number; value: MoneyByCurrency[]; top: { symbol: string; value: number; currency?: string }[] };
  /** Underlyings by total P&L: the 3 best and the 3 worst. */
  best: { symbol: string; total: number }[];
  worst: { symbol: string; total: number }[];
  nav?: { start?: number; end?: number; twrPercent?: number };
}

/** Cash types that are dividends (IB's names). */
export function isDividend(c: StatementCash): boolean {
  return /dividend/i.test(c.type) && !/withholding/i.test(c.type);
}

export function isWithholding(c: StatementCash): boolean {
  return /withholding/i.test(c.type);
}

function add(map: Map<string, number>, ccy: string | undefined, v: number | undefined): void {
  if (v === undefined) return;
  const k = ccy ?? '?';
  map.set(k, (map.get(k) ?? 0) + v);
}

function list(map: Map<string, number>): MoneyByCurrency[] {
  return [...map]
    .map(([currency, amount]) => ({ currency, amount: round2(amount) }))
    .sort((a, b) => a.currency.localeCompare(b.currency));
}

export function summarizeAccount(a: StatementAccount): AccountSummary {
  const commissions = new Map<string, number>();
  const realized = new Map<string, number>();
  let buys = 0;
  const symbols = new Set<string>();
  for (const t of a.trades) {
    if (t.side === 'BUY') buys++;
    symbols.add(t.symbol);
    add(commissions, t.currency, t.commission);
    add(realized, t.currency, t.realizedPnl);
  }
  const gross = new Map<string, number>();
  const withholding = new Map<string, number>();
  let divCount = 0;
  const other = new Map<string, { type: string; currency: string; amount: number; count: number }>();
  for (const c of a.cash) {
    if (isDividend(c)) {
      divCount++;
      add(gross, c.currency, c.amount);
    } else if (isWithholding(c)) add(withholding, c.currency, c.amount);
    else {
      const k = `${c.type}|${c.currency ?? '?'}`;
      const o = other.get(k) ?? { type: c.type, currency: c.currency ?? '?', amount: 0, count: 0 };
      o.amount += c.amount;
      o.count++;
      other.set(k, o);
    }
  }
  const value = new Map<string, number>();
  for (const p of a.positions) add(value, p.currency, p.value);
  const byTotal = a.performance
    .filter((p) => p.total !== undefined)
    .map((p) => ({ symbol: p.symbol, total: round2(p.total as number) }))
    .sort((x, y) => y.total - x.total);
  return {
    accountId: a.accountId,
    ...(a.fromDate ? { fromDate: a.fromDate } : {}),
    ...(a.toDate ? { toDate: a.toDate } : {}),
    ...(a.generated ? { generated: a.generated } : {}),
    ...(a.baseCurrency ? { baseCurrency: a.baseCurrency } : {}),
    trades: {
      count: a.trades.length,
      buys,
      sells: a.trades.length - buys,
      symbols: symbols.size,
      commissions: list(commissions),
      realized: list(realized),
    },
    dividends: { count: divCount, gross: list(gross), withholding: list(withholding) },
    cash: [...other.values()]
      .map((o) => ({ ...o, amount: round2(o.amount) }))
      .sort((x, y) => Math.abs(y.amount) - Math.abs(x.amount))
      .slice(0, 8),
    positions: {
      count: a.positions.length,
      value: list(value),
      top: [...a.positions]
        .filter((p) => p.value !== undefined)
        .sort((x, y) => Math.abs(y.value as number) - Math.abs(x.value as number))
        .slice(0, 5)
        .map((p) => ({
          symbol: p.symbol,
          value: round2(p.value as number),
          ...(p.currency ? { currency: p.currency } : {}),
        })),
    },
    best: byTotal.filter((p) => p.total > 0).slice(0, 3),
    worst: byTotal
      .filter((p) => p.total < 0)
      .slice(-3)
      .reverse(),
    ...(a.nav
      ? {
          nav: {
            ...(a.nav.start !== undefined ? { start: round2(a.nav.start) } : {}),
            ...(a.nav.end !== undefined ? { end: round2(a.nav.end) } : {}),
            ...(a.nav.twrPercent !== undefined ? { twrPercent: a.nav.twrPercent } : {}),
          },
        }
      : {}),
  };
}
