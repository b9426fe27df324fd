/**
 * IB's exchange rate (ibkr-web-api-openapi-v3, GET /iserver/exchangerate?source=&target=):
 * {"rate": 0.91324199} for source USD, target EUR, "the target currency value divided by the
 * source currency": units of target per unit of source. A pair IB does not know answers 400, or
 * (seen from some gateways, not in the spec) a rate that is absent or not above 0: NOT_FOUND.
 */
import type { CallOptions } from '../../broker/backend.js';
import { BrokerError, isBrokerError } from '../../broker/errors.js';
import type { CpapiHttp } from './http.js';
import { isObject } from './wire.js';

function unknownPair(source: string, target: string): BrokerError {
  return new BrokerError('NOT_FOUND', `IB has no exchange rate for ${source}.${target}.`, {
    hint: 'Pass ISO currency codes IB trades, e.g. USD, EUR, GBP, JPY, CHF, CAD, AUD, HKD.',
    details: { source, target },
  });
}

/** The rate out of IB's answer; undefined when it carries none. */
export function parseFxRate(data: unknown): number | undefined {
  const r = isObject(data) ? data['rate'] : undefined;
  const n = typeof r === 'number' ? r : typeof r === 'string' ? Number(r) : Number.NaN;
  return Number.isFinite(n) && n > 0 ? n : undefined;
}

export async function fxRate(http: CpapiHttp, source: string, target: string, opts: CallOptions = {}): Promise<number> {
  const s = source.toUpperCase();
  const t = target.toUpperCase();
  if (s === t) return 1;
  try {
    const res = await http.get<unknown>('/iserver/exchangerate', {
      query: { source: s, target: t },
      signal: opts.signal,
    });
    const rate = parseFxRate(res.data);
    if (rate === undefined) throw unknownPair(s, t);
    return rate;
  } catch (err) {
    if (isBrokerError(err) && err.code === 'INVALID_INPUT') throw unknownPair(s, t);
    throw err;
  }
}
