/**
 * Contract endpoints: /iserver/secdef/search (GET and POST), /trsrv/stocks,
 * /trsrv/secdef, /trsrv/futures, /iserver/contract/:conid/info.
 *
 * Choices where IB's behaviour varies:
 * - secdef/search with no match answers HTTP 200 `[]` (some gateway versions answer
 *   `{"error":"No symbol found"}`; an empty array is what the v3 schema allows).
 * - Without `secType` the search returns every asset class (stocks, indices, futures,
 *   FX); with `secType` it filters (v3 documents STK, IND, BOND; FUT and CASH also work here).
 * - `name=true` (v3: treat `symbol` as a company name) and `name=<text>` (substring of
 *   the company name) are both accepted. When a symbol matches nothing, the search falls
 *   back to company names, as IB's search box does.
 * - Futures are found as IB documents it: one row for the futures' index (ES: conid 11004968)
 *   with IND, FUT and FOP sections (FUT and FOP carry months, no conid); the futures themselves
 *   are listed by /trsrv/futures, and FOP strikes/info take the index conid.
 * - contract info for an unknown conid answers 400 {"error":"Bad Request: invalid conid: N","statusCode":400}.
 */
import { bodyBool, isStrict, queryBool } from '../profiles.js';
import { HttpError, json, type Router } from '../server.js';
import type { SimState } from '../state.js';
import { type Instrument, optionExpiries, optionMonths } from '../universe.js';

const US_OPT_EXCHANGES =
  'SMART;AMEX;BATS;BOX;CBOE;CBOE2;EDGX;EMERALD;GEMINI;IBUSOPT;ISE;MERCURY;MIAX;NASDAQBX;NASDAQOM;PEARL;PHLX;PSE';

function truthy(v: unknown): boolean {
  return v === true || v === 'true' || v === '1' || v === 1;
}

/** The description / exchange label a search row shows. */
function searchDescription(inst: Instrument): string {
  return inst.listingExchange;
}

function sectionsFor(state: SimState, inst: Instrument): Record<string, unknown>[] {
  const now = state.clock.now();
  const months = optionMonths(now).join(';');
  switch (inst.secType) {
    case 'STK': {
      const out: Record<string, unknown>[] = [{ secType: 'STK' }];
      if (inst.optionable) out.push({ secType: 'OPT', months, exchange: US_OPT_EXCHANGES });
      if (inst.isUS) out.push({ secType: 'IOPT' });
      out.push({ secType: 'BAG' });
      return out;
    }
    case 'IND': {
      const out: Record<string, unknown>[] = [{ secType: 'IND' }];
      if (inst.optionable) out.push({ secType: 'OPT', months, exchange: 'SMART;CBOE;IBUSOPT' });
      if (inst.symbol === 'SPX') out.push({ secType: 'FUT', months: esMonths(state), exchange: 'CME' });
      out.push({ secType: 'BAG' });
      return out;
    }
    case 'FUT':
      return [
        { secType: 'FUT', months: esMonths(state), exchange: inst.listingExchange },
        ...(inst.optionable ? [{ secType: 'FOP', months, exchange: inst.listingExchange }] : []),
        { secType: 'BAG' },
      ];
    default:
      return [{ secType: inst.secType, exchange: inst.listingExchange }];
  }
}

function esMonths(state: SimState): string {
  return state.universe
    .bySymbolExact('ES')
    .filter((i) => i.secType === 'FUT' && i.contractMonth)
    .map((i) => {
      const ym = i.contractMonth as string;
      return (
        ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'][Number(ym.slice(4)) - 1] +
        ym.slice(2, 4)
      );
    })
    .join(';');
}

export function searchRow(state: SimState, inst: Instrument): Record<string, unknown> {
  const sections = sectionsFor(state, inst);
  const exp = inst.optionable ? optionExpiries(state.clock.now()).join(';') : null;
  return {
    conid: String(inst.conid),
    companyHeader: `${inst.name} - ${searchDescription(inst)}`,
    companyName: inst.name,
    symbol: inst.symbol,
    description: searchDescription(inst),
    restricted: null,
    fop: inst.secType === 'FUT' && inst.optionable ? exp : null,
    opt: inst.secType !== 'FUT' ? exp : null,
    war: null,
    sections,
  };
}

function search(state: SimState, symbol: string, secType: string | undefined, nameMode: boolean, nameText?: string) {
  let found: Instrument[];
  if (nameText) found = state.universe.byName(nameText);
  else if (nameMode) found = state.universe.byName(symbol);
  else {
    found = state.universe.bySymbolExact(symbol);
    if (found.length === 0) found = state.universe.byName(symbol);
  }
  // Futures are represented by one row for their index (IB's answer), built from the front month.
  const seen = new Set<string>();
  found = found.filter((i) => {
    if (i.secType === 'OPT' || i.secType === 'FOP') return false;
    if (i.secType === 'FUT') {
      if (seen.has(`FUT:${i.symbol}`)) return false;
      seen.add(`FUT:${i.symbol}`);
    }
    return true;
  });
  if (secType) found = found.filter((i) => i.secType === secType.toUpperCase());
  return found.map((i) => (i.secType === 'FUT' && i.underlyingConid ? futuresIndexRow(state, i) : searchRow(state, i)));
}

/** IB's search row for a futures family: the index conid, with IND, FUT and FOP sections. */
function futuresIndexRow(state: SimState, front: Instrument): Record<string, unknown> {
  const row = searchRow(state, front);
  const sections = (row.sections as Record<string, unknown>[]).filter((s) => s.secType !== 'BAG');
  return {
    ...row,
    conid: String(front.underlyingConid),
    sections: [{ secType: 'IND', exchange: `${front.listingExchange};` }, ...sections],
  };
}

/**
 * Search parameters. Strict profile: `name` is IB's boolean (query: Java parseBoolean; body: a
 * JSON boolean, else 400) and `symbol` is required. Lenient profiles also take a company name
 * in `name` (an extension of the simulator).
 */
function searchParams(
  state: SimState,
  src: Record<string, unknown>,
  from: 'query' | 'body',
): {
  symbol: string;
  secType?: string;
  nameMode: boolean;
  nameText?: string;
} {
  const symbol = typeof src.symbol === 'string' ? src.symbol : '';
  const secType = typeof src.secType === 'string' && src.secType ? src.secType : undefined;
  const name = src.name;
  if (isStrict(state)) {
    const nameMode =
      from === 'query' ? queryBool(state, typeof name === 'string' ? name : undefined) : bodyBool(state, 'name', name);
    if (!symbol) throw new HttpError(400, { error: 'Bad Request: symbol required', statusCode: 400 });
    return { symbol, secType, nameMode };
  }
  const nameMode = truthy(name);
  const nameText =
    typeof name === 'string' && name !== '' && !['true', 'false', '0', '1'].includes(name) ? name : undefined;
  if (!symbol && !nameText) throw new HttpError(400, { error: 'Bad Request: symbol required', statusCode: 400 });
  return { symbol, secType, nameMode, nameText };
}

/** yyyymmdd of the weekday before yyyymmdd `d`. */
export function previousBusinessDay(d: number): number {
  const t = new Date(Date.UTC(Math.floor(d / 10000), (Math.floor(d / 100) % 100) - 1, d % 100));
  do t.setUTCDate(t.getUTCDate() - 1);
  while (t.getUTCDay() === 0 || t.getUTCDay() === 6);
  return t.getUTCFullYear() * 10000 + (t.getUTCMonth() + 1) * 100 + t.getUTCDate();
}

export function contractInfo(inst: Instrument): Record<string, unknown> {
  const isDeriv = inst.secType === 'OPT' || inst.secType === 'FOP';
  return {
    cfi_code: '',
    symbol: inst.symbol,
    cusip: null,
    expiry_full: inst.expiry ?? null,
    con_id: inst.conid,
    maturity_date: inst.expiry ?? null,
    industry: inst.industry ?? null,
    instrument_type: inst.secType,
    trading_class: inst.tradingClass,
    valid_exchanges: inst.validExchanges,
    allow_sell_long: false,
    is_zero_commission_security: false,
    local_symbol: inst.localSymbol,
    contract_clarification_type: null,
    classifier: null,
    currency: inst.currency,
    text: (inst.extra?.text as string | undefined) ?? null,
    underlying_con_id: inst.underlyingConid ?? 0,
    r_t_h: true,
    multiplier: inst.multiplier !== 1 || isDeriv ? String(inst.multiplier) : null,
    underlying_issuer: null,
    contract_month: inst.contractMonth ?? null,
    company_name: inst.name,
    smart_available: inst.exchange === 'SMART' || inst.validExchanges.startsWith('SMART'),
    exchange: inst.exchange,
    category: inst.category ?? null,
    ...(inst.strike !== undefined ? { strike: String(inst.strike) } : {}),
    ...(inst.right ? { right: inst.right === 'C' ? 'CALL' : 'PUT' } : {}),
  };
}

/** /trsrv/secdef row (used by portfolio tools). */
export function secdefRow(inst: Instrument): Record<string, unknown> {
  return {
    conid: inst.conid,
    currency: inst.currency,
    time: 0,
    chineseName: null,
    allExchanges: inst.validExchanges,
    listingExchange: inst.listingExchange,
    countryCode: inst.countryCode,
    name: inst.name,
    assetClass: inst.secType,
    expiry: inst.expiry ?? null,
    lastTradingDay: inst.expiry ?? null,
    group: inst.industry ?? null,
    putOrCall: inst.right ?? null,
    sector: inst.sector ?? null,
    sectorGroup: inst.category ?? null,
    strike: inst.strike !== undefined ? String(inst.strike) : '0',
    ticker: inst.symbol,
    undConid: inst.underlyingConid ?? 0,
    multiplier: inst.multiplier,
    type: inst.stockType ?? '',
    hasOptions: inst.optionable,
    fullName: inst.localSymbol,
    isUS: inst.isUS,
    incrementRules: [{ lowerEdge: 0.0, increment: inst.tickSize }],
    displayRule: {
      magnification: 0,
      displayRuleStep: [{ decimalDigits: inst.tickSize < 0.01 ? 5 : 2, lowerEdge: 0.0, wholeDigits: 4 }],
    },
  };
}

export function register(router: Router, state: SimState): void {
  router.get('/iserver/secdef/search', (ctx) => {
    const q = Object.fromEntries(ctx.query.entries());
    const p = searchParams(state, q, 'query');
    return json(search(state, p.symbol, p.secType, p.nameMode, p.nameText));
  });
  router.post('/iserver/secdef/search', (ctx) => {
    const body = (ctx.body && typeof ctx.body === 'object' ? ctx.body : {}) as Record<string, unknown>;
    const p = searchParams(state, body, 'body');
    return json(search(state, p.symbol, p.secType, p.nameMode, p.nameText));
  });

  // Symbols are case-sensitive (IB wants upper case); an unknown symbol maps to [].
  router.get('/trsrv/stocks', (ctx) => {
    const symbols = (ctx.query.get('symbols') ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    const out: Record<string, unknown[]> = {};
    for (const sym of symbols) {
      const insts =
        sym === sym.toUpperCase() ? state.universe.bySymbolExact(sym).filter((i) => i.secType === 'STK') : [];
      const groups = new Map<string, Instrument[]>();
      for (const i of insts) groups.set(i.name, [...(groups.get(i.name) ?? []), i]);
      out[sym] = [...groups.entries()].map(([name, list]) => ({
        name,
        chineseName: null,
        assetClass: 'STK',
        contracts: list.map((i) => ({ conid: i.conid, exchange: i.listingExchange, isUS: i.isUS })),
      }));
    }
    return json(out);
  });

  router.get('/trsrv/secdef', (ctx) => {
    const conids = (ctx.query.get('conids') ?? '')
      .split(',')
      .map((s) => Number(s.trim()))
      .filter((n) => Number.isFinite(n) && n > 0);
    const rows = conids.map((c) => state.universe.get(c)).filter((i): i is Instrument => !!i);
    return json({ secdef: rows.map(secdefRow) });
  });

  // [V3] example: {"symbol":"ES","conid":…,"underlyingConid":…,"expirationDate":20241220,
  // "ltd":20241219,"shortFuturesCutOff":20241219,"longFuturesCutOff":20241219}: the last trading
  // day is the business day before expiration, and both cut-offs are the last trading day.
  router.get('/trsrv/futures', (ctx) => {
    const symbols = (ctx.query.get('symbols') ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    if (symbols.length === 0) throw new HttpError(400, { error: 'Bad Request: symbols required', statusCode: 400 });
    const exchange = ctx.query.get('exchange')?.toUpperCase();
    const out: Record<string, unknown[]> = {};
    for (const sym of symbols) {
      out[sym] = state.universe
        .bySymbolExact(sym)
        .filter((i) => i.secType === 'FUT' && (!exchange || i.listingExchange === exchange))
        .sort((a, b) => Number(a.expiry) - Number(b.expiry))
        .map((i) => {
          const ltd = previousBusinessDay(Number(i.expiry));
          return {
            symbol: i.symbol,
            conid: i.conid,
            underlyingConid: i.underlyingConid ?? 0,
            expirationDate: Number(i.expiry),
            ltd,
            shortFuturesCutOff: ltd,
            longFuturesCutOff: ltd,
          };
        });
    }
    return json(out);
  });

  router.get('/iserver/contract/:conid/info', (ctx) => {
    const conid = Number(ctx.params.conid);
    const inst = Number.isInteger(conid) ? state.universe.get(conid) : undefined;
    if (!inst) return json({ error: `Bad Request: invalid conid: ${ctx.params.conid}`, statusCode: 400 }, 400);
    return json(contractInfo(inst));
  });
}
