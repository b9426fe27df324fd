/**
 * Option chain endpoints: GET /iserver/secdef/strikes and GET /iserver/secdef/info, plus
 * the snapshot field provider for OPT/FOP (prices and greeks from the option model).
 *
 * As on IB's gateway:
 * - /secdef/search must come first for the underlying in the session; until then strikes
 *   answers `{"call":[],"put":[]}` and info answers `[]`.
 * - `month` is `MMMYY`; strikes are the month's strikes over all its expirations.
 * - info with `strike=0` returns the whole month (both rights, or the one asked for);
 *   info answers an array of contracts; a derivative conid may be passed directly.
 * - FOP requests need `exchange` (400 without it, as IB documents it as required).
 */
import { chainMonths, optionMarkets, parseMonthCode } from '../options.js';
import { HttpError, json, type Router } from '../server.js';
import type { FieldProvider, SessionState, SimState } from '../state.js';
import type { Instrument } from '../universe.js';

/** Underlyings searched in each session (a new session object starts empty, as a new IB session does). */
const searched = new WeakMap<SessionState, Set<number>>();

function searchedSet(state: SimState): Set<number> {
  let s = searched.get(state.session);
  if (!s) {
    s = new Set();
    searched.set(state.session, s);
  }
  return s;
}

function badRequest(msg: string): HttpError {
  return new HttpError(400, { error: `Bad Request: ${msg}`, statusCode: 400 });
}

function infoRow(o: Instrument): Record<string, unknown> {
  const text = String(o.extra?.['text'] ?? '');
  return {
    conid: o.conid,
    symbol: o.symbol,
    secType: o.secType,
    exchange: o.exchange,
    listingExchange: null,
    right: o.right,
    strike: o.strike,
    currency: o.currency,
    cusip: null,
    coupon: 'No Coupon',
    desc1: o.symbol,
    desc2: text,
    maturityDate: o.expiry,
    multiplier: String(o.multiplier),
    tradingClass: o.tradingClass,
    validExchanges: o.validExchanges,
  };
}

interface ChainQuery {
  underlying: Instrument;
  months: string[];
  expiries: string[];
}

/** Validates conid/sectype/month/exchange and returns the chain part the month covers. */
function chainQuery(state: SimState, q: URLSearchParams): ChainQuery | undefined {
  const conid = Number(q.get('conid'));
  if (!Number.isInteger(conid) || conid <= 0) throw badRequest('conid is required');
  const secType = (q.get('sectype') ?? q.get('secType') ?? '').toUpperCase();
  if (!secType) throw badRequest('sectype is required');
  const monthRaw = (q.get('month') ?? '').toUpperCase();
  if (!monthRaw) throw badRequest('month is required for derivatives');
  const ym = parseMonthCode(monthRaw);
  if (!ym) throw badRequest(`invalid month '${monthRaw}'`);
  const markets = optionMarkets(state);
  const underlying = markets.underlyingFor(conid);
  if (!underlying) {
    if (!state.universe.get(conid)) throw badRequest(`invalid conid: ${conid}`);
    return undefined;
  }
  const chain = markets.chain(underlying);
  if (chain.secType !== secType) return undefined;
  if (secType === 'FOP' && !q.get('exchange')) throw badRequest('exchange is required for FOP');
  const exchange = q.get('exchange')?.toUpperCase();
  if (exchange && !underlying.validExchanges.split(',').includes(exchange) && exchange !== chain.exchange) {
    if (chain.secType === 'FOP' || !['SMART', 'CBOE', 'AMEX', 'ISE', 'BOX', 'PHLX', 'IBUSOPT'].includes(exchange)) {
      return undefined;
    }
  }
  const prefix = `${ym[0]}${String(ym[1]).padStart(2, '0')}`;
  return {
    underlying,
    months: chainMonths(chain),
    expiries: chain.expiries.filter((e) => e.startsWith(prefix)),
  };
}

function wasSearched(state: SimState, conid: number, underlying: Instrument | undefined): boolean {
  const s = searchedSet(state);
  return s.has(conid) || (underlying !== undefined && s.has(underlying.conid));
}

/** False for a derivative (OPT, FOP, FUT) whose underlying was not searched in this session. */
export function derivativeSearched(state: SimState, inst: Instrument): boolean {
  if (inst.secType !== 'OPT' && inst.secType !== 'FOP' && inst.secType !== 'FUT') return true;
  const s = searchedSet(state);
  const und = inst.underlyingConid ? state.universe.get(inst.underlyingConid) : undefined;
  return [inst.conid, inst.underlyingConid, und?.underlyingConid].some((c) => c !== undefined && c > 0 && s.has(c));
}

/** Wraps the search routes so the session remembers which underlyings were searched. */
function observeSearch(router: Router, state: SimState): boolean {
  const routes = router.api.filter((r) => r.pattern === '/iserver/secdef/search');
  for (const r of routes) {
    const inner = r.handler;
    r.handler = async (ctx) => {
      const reply = await inner(ctx);
      if (reply.status === 200 && Array.isArray(reply.body)) {
        const markets = optionMarkets(state);
        for (const row of reply.body as Record<string, unknown>[]) {
          const conid = Number(row['conid']);
          if (!Number.isInteger(conid)) continue;
          searchedSet(state).add(conid);
          // Futures options: publish the dates and months this chain really has.
          const u = markets.underlyingFor(conid);
          if (u && u.secType === 'FUT') {
            const chain = markets.chain(u);
            row['fop'] = chain.expiries.join(';');
            const sections = Array.isArray(row['sections']) ? (row['sections'] as Record<string, unknown>[]) : [];
            for (const s of sections) if (s['secType'] === 'FOP') s['months'] = chainMonths(chain).join(';');
          }
        }
      }
      return reply;
    };
  }
  return routes.length > 0;
}

/** Makes `universe.get` find option conids whose chain was not built yet in this run. */
function patchLookup(state: SimState): void {
  const u = state.universe as typeof state.universe & { __optionsPatched?: boolean };
  if (u.__optionsPatched) return;
  const orig = u.get.bind(u);
  u.get = (conid: number) => orig(conid) ?? optionMarkets(state).lookup(conid);
  u.__optionsPatched = true;
}

export function register(router: Router, state: SimState): void {
  const observed = observeSearch(router, state);
  patchLookup(state);
  // The option markets survive a reset: their contracts stay in the universe with the same conids.
  state.hooks.reset.push(() => patchLookup(state));
  const provider: FieldProvider = (inst, ctx) => optionMarkets(state).fields(inst, ctx);
  state.fieldProviders.set('OPT', provider);
  state.fieldProviders.set('FOP', provider);

  router.get('/iserver/secdef/strikes', (ctx) => {
    const cq = chainQuery(state, ctx.query);
    const conid = Number(ctx.query.get('conid'));
    if (!cq || (observed && !wasSearched(state, conid, cq.underlying))) return json({ call: [], put: [] });
    const chain = optionMarkets(state).chain(cq.underlying);
    const call = new Set<number>();
    const put = new Set<number>();
    for (const e of cq.expiries) {
      for (const [k, cell] of chain.byExpiry.get(e) ?? []) {
        if (cell.C) call.add(k);
        if (cell.P) put.add(k);
      }
    }
    return json({ call: [...call].sort((a, b) => a - b), put: [...put].sort((a, b) => a - b) });
  });

  router.get('/iserver/secdef/info', (ctx) => {
    const q = ctx.query;
    const conid = Number(q.get('conid'));
    // A derivative conid passed directly.
    const direct = Number.isInteger(conid) ? state.universe.get(conid) : undefined;
    if (direct && (direct.secType === 'OPT' || direct.secType === 'FOP')) return json([infoRow(direct)]);
    // A stock (or index, future…) asked with its own sectype needs no month: [V3]'s example
    // "infoBy-symbol-exchange-conid" answers one object for conid 8314, sectype STK.
    const secType = (q.get('sectype') ?? '').toUpperCase();
    if (direct && secType === direct.secType && !['OPT', 'FOP', 'WAR'].includes(secType)) {
      return json({
        conid: direct.conid,
        ticker: direct.symbol,
        secType: direct.secType,
        listingExchange: direct.listingExchange,
        exchange: direct.exchange,
        companyName: direct.name,
        currency: direct.currency,
        validExchanges: direct.validExchanges,
        priceRendering: null,
        maturityDate: direct.expiry ?? null,
        right: '?',
        strike: 0.0,
      });
    }
    const cq = chainQuery(state, q);
    if (!cq || (observed && !wasSearched(state, conid, cq.underlying))) return json([]);
    const strikeRaw = q.get('strike');
    if (strikeRaw === null || strikeRaw.trim() === '') throw badRequest('strike is required for OPT/FOP');
    const strike = Number(strikeRaw);
    if (!Number.isFinite(strike) || strike < 0) throw badRequest(`invalid strike '${strikeRaw}'`);
    // IB documents one request per month and strike; whether strike=0 lists the month is a variant.
    if (strike === 0 && state.flags.wholeMonthInfo === 'empty') return json([]);
    if (strike === 0 && state.flags.wholeMonthInfo === 'error') throw badRequest('strike is required for OPT/FOP');
    const rightRaw = (q.get('right') ?? '').toUpperCase();
    const rights: ('C' | 'P')[] =
      rightRaw === 'C' || rightRaw === 'CALL' ? ['C'] : rightRaw === 'P' || rightRaw === 'PUT' ? ['P'] : ['C', 'P'];
    const chain = optionMarkets(state).chain(cq.underlying);
    const rows: Record<string, unknown>[] = [];
    for (const e of cq.expiries) {
      for (const [k, cell] of chain.byExpiry.get(e) ?? []) {
        if (strike !== 0 && Math.abs(k - strike) > 1e-6) continue;
        for (const r of rights) {
          const o = cell[r];
          if (o) rows.push(infoRow(o));
        }
      }
    }
    return json(rows);
  });
}
