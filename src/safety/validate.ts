/**
 * Inputs that cannot make a valid order, refused before anything is sent: a limit order
 * without a price, a stop without a stop price, a price on a market order, quantity ≤ 0,
 * fractional option quantities, prices off the contract's tick size, TRAIL without a trailing
 * amount. Pure functions; every problem is reported at once so the model can fix them together.
 */
import { BrokerError } from '../broker/errors.js';
import type { OrderType, TimeInForce, TrailingType } from '../broker/orders.js';
import type { SecType } from '../broker/types.js';

export interface OrderFields {
  secType: SecType;
  orderType: OrderType;
  quantity: number;
  limitPrice?: number | undefined;
  stopPrice?: number | undefined;
  trailingAmount?: number | undefined;
  trailingType?: TrailingType | undefined;
  /** Bracket children: take-profit limit and stop-loss stop prices. */
  takeProfit?: number | undefined;
  stopLoss?: number | undefined;
  tif: TimeInForce;
  outsideRth?: boolean | undefined;
  /** Minimum price increment when the broker gave one; otherwise the standard US rule applies. */
  minTick?: number | undefined;
  /** Smallest quantity step (fractional shares: 0.0001); default 1 for derivatives, 0.0001 for stocks. */
  sizeIncrement?: number | undefined;
}

/** A finite number as an exact decimal: `int × 10^-scale`, from its shortest round-trip text. */
export function exactDecimal(x: number): { int: bigint; scale: number } | undefined {
  if (!Number.isFinite(x)) return undefined;
  const m = /^(-?)(\d+)(?:\.(\d+))?(?:e([+-]\d+))?$/.exec(String(x));
  if (!m) return undefined;
  const frac = m[3] ?? '';
  let int = BigInt(`${m[2]}${frac}`);
  let scale = frac.length - Number(m[4] ?? 0);
  if (scale < 0) {
    int *= 10n ** BigInt(-scale);
    scale = 0;
  }
  return { int: m[1] ? -int : int, scale };
}

/**
 * Whether x is an exact multiple of step, in decimal arithmetic: 0.3 is a multiple of 0.1, but
 * 1e-11 is not a multiple of 0.0001 and 5e-324 is not one of 0.01 (a float tolerance let both by).
 */
export function isMultiple(x: number, step: number): boolean {
  if (!(step > 0)) return true;
  const a = exactDecimal(x);
  const b = exactDecimal(step);
  if (!a || !b) return false;
  const scale = Math.max(a.scale, b.scale);
  const ai = a.int * 10n ** BigInt(scale - a.scale);
  const bi = b.int * 10n ** BigInt(scale - b.scale);
  return ai % bi === 0n;
}

/**
 * The standard minimum price increment: US stocks 0.01 (0.0001 below $1); US equity options
 * 0.01 below $3 and 0.05 from $3 (the penny-interval rule); others 0.01.
 */
export function standardTick(secType: SecType, price: number): number {
  const p = Math.abs(price);
  if (secType === 'STK' || secType === 'FUND') return p < 1 ? 0.0001 : 0.01;
  if (secType === 'OPT') return p < 3 ? 0.01 : 0.05;
  return 0.01;
}

function priceProblem(label: string, value: number, f: OrderFields): string | undefined {
  if (!Number.isFinite(value) || value <= 0) return `${label} must be a positive number, got ${value}.`;
  const tick = f.minTick ?? standardTick(f.secType, value);
  if (value < tick) return `${label} ${value} is below the tick size ${tick}.`;
  if (!isMultiple(value, tick)) {
    const below = Math.floor(value / tick + 1e-9) * tick;
    const decimals = Math.max(0, Math.ceil(-Math.log10(tick) - 1e-9));
    return `${label} ${value} is not a multiple of the tick size ${tick}; use ${below.toFixed(decimals)} or ${(below + tick).toFixed(decimals)}.`;
  }
  return undefined;
}

/** Every reason these fields cannot make a valid order (empty when they can). */
export function orderProblems(f: OrderFields): string[] {
  const p: string[] = [];
  const t = f.orderType;
  if (!Number.isFinite(f.quantity) || f.quantity <= 0) p.push(`quantity must be greater than 0, got ${f.quantity}.`);
  else if (f.secType !== 'STK' && !Number.isInteger(f.quantity)) {
    p.push(`quantity must be a whole number of contracts for ${f.secType}, got ${f.quantity}.`);
  } else {
    const step = f.sizeIncrement ?? (f.secType === 'STK' ? 0.0001 : 1);
    if (f.quantity < step) p.push(`quantity ${f.quantity} is below the smallest step ${step}.`);
    else if (!isMultiple(f.quantity, step)) p.push(`quantity ${f.quantity} is not a multiple of ${step}.`);
  }

  const needsLimit = t === 'LMT' || t === 'STOP_LIMIT';
  const needsStop = t === 'STP' || t === 'STOP_LIMIT';
  if (needsLimit && f.limitPrice === undefined) p.push(`a ${t} order needs a limit price (price).`);
  if (!needsLimit && f.limitPrice !== undefined) {
    p.push(
      t === 'MKT'
        ? 'a market order takes no price; use orderType LMT to set a limit price.'
        : `a ${t} order takes no limit price (price); ${t === 'STP' ? 'use stopPrice, or orderType STOP_LIMIT for both' : 'use trailingAmount, and stopPrice for the initial stop'}.`,
    );
  }
  if (needsStop && f.stopPrice === undefined) p.push(`a ${t} order needs a stop price (stopPrice).`);
  // TRAIL: stopPrice is the initial stop (IB's price); prepare sets it from the quote when not given.
  const takesStop = needsStop || t === 'TRAIL';
  if (!takesStop && f.stopPrice !== undefined) p.push(`a ${t} order takes no stop price (stopPrice).`);
  if (t === 'TRAIL') {
    if (f.trailingAmount === undefined) p.push('a TRAIL order needs trailingAmount (and trailingType "amt" or "%").');
    else if (!Number.isFinite(f.trailingAmount) || f.trailingAmount <= 0) {
      p.push(`trailingAmount must be a positive number, got ${f.trailingAmount}.`);
    } else if (f.trailingType === '%' && f.trailingAmount >= 100) {
      p.push(`a trailing percentage must be below 100, got ${f.trailingAmount}.`);
    } else if (f.trailingType === '%' && !isMultiple(f.trailingAmount, 0.01)) {
      p.push(`a trailing percentage takes at most two decimals (≥ 0.01), got ${f.trailingAmount}.`);
    } else if ((f.trailingType ?? 'amt') === 'amt') {
      const e = priceProblem('trailingAmount', f.trailingAmount, f);
      if (e) p.push(e);
    }
  } else if (f.trailingAmount !== undefined || f.trailingType !== undefined) {
    p.push(`trailingAmount and trailingType only apply to TRAIL orders, not ${t}.`);
  }
  if (f.limitPrice !== undefined && needsLimit) {
    const e = priceProblem('price', f.limitPrice, f);
    if (e) p.push(e);
  }
  if (f.stopPrice !== undefined && takesStop) {
    const e = priceProblem('stopPrice', f.stopPrice, f);
    if (e) p.push(e);
  }
  if (f.takeProfit !== undefined || f.stopLoss !== undefined) {
    if (t === 'TRAIL') p.push('a TRAIL order cannot carry takeProfit or stopLoss; use MKT, LMT, STP or STOP_LIMIT.');
    if (f.tif === 'OPG' || f.tif === 'IOC') p.push(`takeProfit and stopLoss cannot be combined with tif ${f.tif}.`);
    for (const [label, v] of [
      ['takeProfit', f.takeProfit],
      ['stopLoss', f.stopLoss],
    ] as const) {
      const e = v === undefined ? undefined : priceProblem(label, v, f);
      if (e) p.push(e);
    }
  }
  if (f.tif === 'OPG' && t !== 'MKT' && t !== 'LMT')
    p.push(`tif OPG (at the opening) is only for MKT and LMT orders, not ${t}.`);
  if (f.tif === 'OPG' && f.outsideRth) p.push('tif OPG cannot be combined with outsideRth.');
  if (t === 'MKT' && f.outsideRth)
    p.push('market orders cannot execute outside regular trading hours; use a LMT order.');
  return p;
}

/**
 * A cash order (an amount of money instead of shares): IB takes it for stocks and ETFs as a
 * market order only, in whole cents, and it cannot carry bracket exits (their size would be unknown).
 */
export function cashQtyProblems(
  f: Pick<OrderFields, 'secType' | 'orderType' | 'takeProfit' | 'stopLoss'> & { cashQty?: number | undefined },
): string[] {
  const c = f.cashQty;
  if (c === undefined) return [];
  const p: string[] = [];
  if (!Number.isFinite(c) || c <= 0) p.push(`cashQty must be a positive amount, got ${c}.`);
  else if (!isMultiple(c, 0.01)) p.push(`cashQty ${c} takes at most two decimals.`);
  if (f.secType !== 'STK') p.push(`cashQty is for stocks and ETFs, not ${f.secType}.`);
  if (f.orderType !== 'MKT')
    p.push(`cashQty needs orderType MKT (IB takes cash quantities for market orders only), not ${f.orderType}.`);
  if (f.takeProfit !== undefined || f.stopLoss !== undefined) {
    p.push('cashQty cannot be combined with takeProfit or stopLoss; give a quantity of shares.');
  }
  return p;
}

/**
 * A bracket's exit prices against its entry: a BUY takes profit above the entry and stops out
 * below it, a SELL the reverse. The entry is the limit price (STP: the stop), or for a market
 * order `last` when known; the take-profit must also be beyond the stop-loss.
 */
export function bracketProblems(
  f: Pick<OrderFields, 'orderType' | 'limitPrice' | 'stopPrice' | 'takeProfit' | 'stopLoss'> & {
    side: 'BUY' | 'SELL';
  },
  last?: number,
): string[] {
  const { takeProfit: tp, stopLoss: sl } = f;
  if (tp === undefined && sl === undefined) return [];
  const entry = f.orderType === 'MKT' ? last : f.orderType === 'STP' ? f.stopPrice : f.limitPrice;
  const what = f.orderType === 'MKT' ? `the last price ${entry}` : `the entry price ${entry}`;
  const buy = f.side === 'BUY';
  const p: string[] = [];
  if (entry !== undefined && tp !== undefined && (buy ? tp <= entry : tp >= entry)) {
    p.push(`takeProfit ${tp} must be ${buy ? 'above' : 'below'} ${what} of a ${f.side} order.`);
  }
  if (entry !== undefined && sl !== undefined && (buy ? sl >= entry : sl <= entry)) {
    p.push(`stopLoss ${sl} must be ${buy ? 'below' : 'above'} ${what} of a ${f.side} order.`);
  }
  if (tp !== undefined && sl !== undefined && (buy ? tp <= sl : tp >= sl)) {
    p.push(`takeProfit ${tp} must be ${buy ? 'above' : 'below'} stopLoss ${sl} for a ${f.side} order.`);
  }
  return p;
}

/** Throws INVALID_INPUT listing every problem; nothing has been sent when this throws. */
export function assertValidOrder(f: OrderFields, more: string[] = []): void {
  refuseInvalid([...orderProblems(f), ...more]);
}

/** Throws INVALID_INPUT listing these problems, if any. */
export function refuseInvalid(problems: string[]): void {
  if (problems.length) {
    throw new BrokerError('INVALID_INPUT', `The order is not valid, nothing was sent: ${problems.join(' ')}`, {
      hint: 'Fix the listed fields and call again.',
      details: { problems },
    });
  }
}
