/**
 * IB's rules for an order, as the simulator plays them: the reasons IB rejects an order outright
 * and the precautionary questions it asks first (market order notice, stop order notice, price
 * far from the market, size or value above the precautionary limits, no market data), with
 * IB's texts.
 */

import { quoteFor } from './order-combo.js';
import { fmt, type OrderSpec, onTick, type Question } from './order-model.js';
import { tickSize } from './order-quote.js';
import { simPortfolio } from './portfolio.js';
import { instrumentFlags, type SimState } from './state.js';

const PRICE_CONSTRAINT_PCT = 3;
const SIZE_LIMIT = 500;
const VALUE_LIMIT = 1_000_000;

/** The questions IB asks again when an order is modified (price, size, value). */
export const MODIFY_QUESTIONS: readonly string[] = ['o163', 'o383', 'o451'];

/** A reason IB would reject this order outright, or undefined. */
export function rejectionOf(state: SimState, spec: OrderSpec): string | undefined {
  const { inst, type } = spec;
  const label = `"${spec.side} ${spec.qty} ${inst.symbol}"`;
  if (!(spec.qty > 0)) return `${label}\nOrder quantity must be positive.`;
  if (inst.secType !== 'STK' && !Number.isInteger(spec.qty))
    return `${label}\nFractional quantities are not supported for this contract.`;
  if (spec.legs) {
    // A combo: a net price that may be negative (a credit). The simulator takes LMT and MKT combos.
    if (type !== 'LMT' && type !== 'MKT') return `${label}\nThis order type is not supported for combination orders.`;
    if (type === 'LMT' && !spec.limit) return `${label}\nMissing order price.`;
    if (spec.legs.some((l) => instrumentFlags(state, l.conid).halted))
      return `${label}\nTrading is halted for a leg of this combo.`;
  } else if ((type === 'LMT' || type === 'STOP_LIMIT') && !(spec.limit! > 0)) return `${label}\nMissing order price.`;
  if ((type === 'STP' || type === 'STOP_LIMIT') && !(spec.stop! > 0)) return `${label}\nMissing stop price.`;
  if (type === 'TRAIL' && !(spec.stop! > 0)) return `${label}\nMissing order price (the initial stop price).`;
  if (type === 'TRAIL' && !(spec.trailAmt! > 0)) return `${label}\nMissing trailing amount.`;
  for (const px of [spec.limit, spec.stop]) {
    if (px !== undefined && !onTick(px, tickSize(inst, px))) {
      return `${label}\nThe price does not conform to the minimum price variation for this contract.`;
    }
  }
  if (spec.tif === 'OPG' && type !== 'MKT' && type !== 'LMT')
    return `${label}\nInvalid time-in-force for at-the-opening order.`;
  if (type === 'MKT' && spec.outsideRth) return `${label}\nMarket orders cannot execute outside regular trading hours.`;
  if (instrumentFlags(state, inst.conid).halted) return `${label}\nTrading is halted for this contract.`;
  if (spec.side === 'BUY') {
    const q = quoteFor(state, spec);
    const px = spec.limit ?? Math.max(spec.stop ?? 0, q.ask ?? 0);
    const value = px * spec.qty * (inst.multiplier || 1);
    const pf = simPortfolio(state);
    if (pf.hasAccount(spec.acct) && value > pf.buyingPower(spec.acct)) {
      return `Your order is not accepted. In order to obtain the desired position your Equity with Loan Value [${fmt(pf.buyingPower(spec.acct) / 4)} USD] must exceed the Initial Margin [${fmt(value / 4)} USD]`;
    }
  }
  return undefined;
}

/** IB's precautionary questions for this order, in the order IB asks them. */
export function questionsFor(state: SimState, spec: OrderSpec): Question[] {
  const { inst } = spec;
  const out: Question[] = [];
  const desc = `${spec.side} ${spec.qty} ${inst.symbol} ${inst.listingExchange}`;
  const flags = instrumentFlags(state, inst.conid);
  if (flags.delayed || flags.frozen) {
    out.push({
      // IB's text ([V3] orderReplyMessageExample and the /iserver/questions/suppress list).
      id: 'o354',
      text: 'You are submitting an order without market data. We strongly recommend against this as it may result in erroneous and unexpected trades.\nAre you sure you want to submit this order?',
    });
  }
  if (spec.type === 'MKT') {
    out.push({
      id: 'o10151',
      text: 'You are about to submit a market order. Market orders execute at the best available price, which may differ from the last price.\nAre you sure you want to submit this order?',
    });
  }
  if (spec.type === 'STP' || spec.type === 'STOP_LIMIT' || spec.type === 'TRAIL') {
    // IB's stop-order notice, text as [V3]'s /iserver/questions/suppress list gives it.
    out.push({
      id: 'o10331',
      text: 'You are about to submit a stop order. Please be aware of the various stop order types available and the risks associated with each one.\nAre you sure you want to submit this order?',
    });
  }
  const q = quoteFor(state, spec);
  const mid = q.bid !== undefined && q.ask !== undefined ? (q.bid + q.ask) / 2 : q.last;
  // The percentage constraint is checked for single contracts here (a combo's net can be ~0).
  if (spec.limit !== undefined && mid && !spec.legs) {
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
