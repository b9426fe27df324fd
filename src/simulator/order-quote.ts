/**
 * The market an order of the simulator sees: bid, ask, last and sizes as the snapshot shows
 * them (with an option's theoretical price or the price model where the snapshot is blank),
 * and the minimum price variation of a contract.
 */

import { optionMarkets } from './options.js';
import { roundTo } from './order-model.js';
import { quoteFields } from './routes/marketdata.js';
import type { SimState } from './state.js';
import type { Instrument } from './universe.js';

export interface OrderQuote {
  bid?: number;
  ask?: number;
  last?: number;
  bidSize: number;
  askSize: number;
}

function num(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v === 'string' && v.trim() !== '') {
    const n = Number(v.replace(/^[CH]/, ''));
    return Number.isFinite(n) ? n : undefined;
  }
  return undefined;
}

/** Current bid / ask / last as the snapshot shows them. */
export function orderQuote(state: SimState, inst: Instrument): OrderQuote {
  const f = quoteFields(state, inst, state.clock.now(), ['31', '84', '86', '88', '85']);
  let bid = num(f['84']);
  let ask = num(f['86']);
  let last = num(f['31']);
  if ((bid === undefined || ask === undefined) && (inst.secType === 'OPT' || inst.secType === 'FOP')) {
    const theo = optionMarkets(state).theo(inst, state.clock.now()).price;
    const tick = theo < 3 ? 0.01 : 0.05;
    bid ??= Math.max(tick, roundTo(theo - tick, tick));
    ask ??= roundTo(theo + tick, tick);
    last ??= roundTo(theo, tick);
  }
  if (bid === undefined || ask === undefined) {
    const q = state.prices.quote(inst, state.clock.now());
    bid ??= q.bid;
    ask ??= q.ask;
    last ??= q.last;
  }
  // The snapshot shows US stock sizes in round lots of 100.
  const lots = inst.secType === 'STK' && inst.isUS ? 100 : 1;
  const bidSize = (num(f['88']) ?? 0) * lots || (inst.secType === 'STK' ? 500 : 20);
  const askSize = (num(f['85']) ?? 0) * lots || (inst.secType === 'STK' ? 500 : 20);
  return { bid, ask, last, bidSize, askSize };
}

/** The minimum price variation of a contract at this price. */
export function tickSize(inst: Instrument, price: number): number {
  if (inst.secType === 'OPT') return price < 3 ? 0.01 : 0.05;
  if (inst.secType === 'STK') return price < 1 ? 0.0001 : 0.01;
  return inst.tickSize || 0.01;
}
