/**
 * How the tools write numbers: amounts, prices, quantities, and the price part of an order.
 * One module, so that every tool shows a figure the same way. Rounding itself is domain
 * arithmetic (src/broker/numbers.ts) and is re-exported here for the tools.
 */
import { grouped } from '../broker/locale.js';
import { round2 } from '../broker/numbers.js';
import type { OrderType, TrailingType } from '../broker/orders.js';

export { mul, pct, round2, round4, roundTo } from '../broker/numbers.js';

/** Cents of an amount that may be missing. */
export function cents(v: number | undefined): number | undefined {
  return v === undefined ? undefined : round2(v);
}

/** Compact number for text: up to 4 decimals, no trailing zeros; big volumes as 12.3M. */
export function num(v: number | null | undefined, digits = 4): string {
  if (v === null || v === undefined || Number.isNaN(v)) return '-';
  return Number(v.toFixed(digits)).toString();
}

export function bigNum(v: number | null | undefined): string {
  if (v === null || v === undefined) return '-';
  const a = Math.abs(v);
  if (a >= 1e9) return `${num(v / 1e9, 2)}B`;
  if (a >= 1e6) return `${num(v / 1e6, 2)}M`;
  if (a >= 1e4) return `${num(v / 1e3, 1)}K`;
  return num(v, 2);
}

export function signed(v: number | null | undefined, digits = 2): string {
  if (v === null || v === undefined) return '-';
  return `${v > 0 ? '+' : ''}${num(v, digits)}`;
}

/** Money for text: 1,234,567.89 (grouped, cents only when present); `unknown` stands for a missing amount. */
export function money(v: number | undefined, ccy?: string, unknown = '-'): string {
  if (v === undefined || Number.isNaN(v)) return unknown;
  return `${grouped(v)}${ccy ? ` ${ccy}` : ''}`;
}

/** Money with its sign: +12.5, -3. */
export function signedMoney(v: number | undefined): string {
  if (v === undefined) return '-';
  return `${v > 0 ? '+' : ''}${money(v)}`;
}

/** The price fields of an order. */
export interface OrderPrices {
  orderType: OrderType;
  limitPrice?: number | undefined;
  stopPrice?: number | undefined;
  trailingAmount?: number | undefined;
  trailingType?: TrailingType | undefined;
}

/** The price part of an order in words: "at market", "limit 190.5", "stop 180, limit 179.5", "trailing 2%". */
export function priceLine(o: OrderPrices, fmt: (v: number | undefined) => string = (v) => num(v)): string {
  switch (o.orderType) {
    case 'MKT':
      return 'at market';
    case 'LMT':
      return `limit ${fmt(o.limitPrice)}`;
    case 'STP':
      return `stop ${fmt(o.stopPrice)}`;
    case 'STOP_LIMIT':
      return `stop ${fmt(o.stopPrice)}, limit ${fmt(o.limitPrice)}`;
    default:
      return `trailing ${fmt(o.trailingAmount)}${o.trailingType === '%' ? '%' : ''}${o.stopPrice !== undefined ? `, initial stop ${fmt(o.stopPrice)}` : ''}`;
  }
}

/** Drops the entries that say nothing: undefined, null and empty text (0 and false stay). */
export type Compact<T> = { [K in keyof T]?: Exclude<T[K], undefined | null> };

/**
 * `obj` without undefined, null or '' values, for optional output fields:
 * `{ conid, ...compact({ name: c.name, expiry: c.expiry }) }` instead of one `if` per field.
 */
export function compact<T extends Record<string, unknown>>(obj: T): Compact<T> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) if (v !== undefined && v !== null && v !== '') out[k] = v;
  return out as Compact<T>;
}
