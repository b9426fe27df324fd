/**
 * IB's combo (spread) orders on the wire. A combo is sent like any order, with `conidex` in place
 * of `conid`: "{spread conid};;;{leg conid}/{ratio},…", a positive ratio buying that leg and a
 * negative one selling it; the spread conid names the currency. Its limit price is the net per
 * spread: positive a debit, negative a credit when the spread is bought.
 *
 * Sources (each noted in test/unit/spreads.test.ts): IBKR Campus, Web API v1.0, "Combo / Spread
 * Orders" (format, ratio signs, the currency table, "conidex instead of conid", and its
 * example body with only conidex, orderType, price, side, tif, quantity); the TWS Users' Guide,
 * "Notes on Combination Orders" (the price sign).
 */
import { BrokerError } from '../../broker/errors.js';
import type { OrderLeg } from '../../broker/spreads.js';

/** IB's spread conid per currency (IBKR Campus, "Available currency spread conids"). */
export const SPREAD_CONIDS: Readonly<Record<string, number>> = {
  AUD: 61227077,
  CAD: 61227082,
  CHF: 61227087,
  CNH: 136000441,
  GBP: 58666491,
  HKD: 61227072,
  INR: 136000444,
  JPY: 61227069,
  KRW: 136000424,
  MXN: 136000449,
  SEK: 136000429,
  SGD: 426116555,
  USD: 28812380,
};

/**
 * The conidex of a combo. IB: US combos give the spread conid alone; other currencies need
 * "{spread conid}@{exchange}".
 */
export function comboConidex(currency: string, legs: OrderLeg[], exchange?: string): string {
  const ccy = currency.toUpperCase();
  const spread = SPREAD_CONIDS[ccy];
  if (spread === undefined) {
    throw new BrokerError('INVALID_INPUT', `IB publishes no spread conid for ${ccy}; this combo cannot be sent.`, {
      hint: `Combos are possible in ${Object.keys(SPREAD_CONIDS).join(', ')}.`,
    });
  }
  if (ccy !== 'USD' && !exchange) {
    throw new BrokerError('INVALID_INPUT', `A ${ccy} combo needs the exchange to route it to.`);
  }
  const head = ccy === 'USD' ? String(spread) : `${spread}@${exchange}`;
  return `${head};;;${legs.map((l) => `${l.conid}/${l.ratio}`).join(',')}`;
}
