/**
 * IB's contract answers read into Contracts: /iserver/contract/{conid}/info, /trsrv/stocks
 * entries and /iserver/secdef/search rows, and the small rules for choosing among them
 * (exchange spellings, the US listing). Pure functions; contracts.ts does the requests.
 */
import { type Contract, type ContractQuery, type OptionRight, SEC_TYPES, type SecType } from '../../broker/types.js';
import { isObject, type Row, str, toConid, ymd } from './wire.js';

/** Exchanges treated as "the US listing" when a search result names its exchange. */
export const US_EXCHANGES = new Set([
  'NYSE',
  'NASDAQ',
  'ARCA',
  'NYSE ARCA',
  'AMEX',
  'NYSE AMERICAN',
  'BATS',
  'CBOE',
  'IEX',
  'PINK',
  'OTC',
  'CME',
  'CBOT',
  'NYMEX',
  'COMEX',
  'CFE',
  'SMART',
]);

interface StockContractWire {
  conid: number;
  exchange?: string;
  isUS?: boolean;
}
export interface StockEntryWire {
  name?: string;
  assetClass?: string;
  contracts?: StockContractWire[];
}

/**
 * One symbol's entries of a /trsrv/stocks answer ({"IBM": [{name, assetClass, contracts}]}, keys
 * as sent or lower case); undefined when the answer has none. Entries that are not objects are left out.
 */
export function stockEntriesOf(data: unknown, symbol: string): StockEntryWire[] | undefined {
  const d = isObject(data) ? data : {};
  const v = d[symbol] ?? d[symbol.toLowerCase()];
  const entries = Array.isArray(v) ? (v as unknown[]).filter(isObject) : [];
  return entries.length > 0 ? (entries as StockEntryWire[]) : undefined;
}

export interface Candidate extends Contract {
  isUS?: boolean;
  /** Index of the trsrv/stocks entry (IB's relevance order). */
  entry?: number;
}

function toSecType(v: unknown): SecType | undefined {
  const s = str(v)?.toUpperCase();
  return s && (SEC_TYPES as readonly string[]).includes(s) ? (s as SecType) : undefined;
}

export function normExchange(e: string | undefined): string | undefined {
  return e?.trim().toUpperCase() || undefined;
}

export function exchangeMatches(want: string, have: string | undefined): boolean {
  if (!have) return false;
  const h = have.toUpperCase();
  return h === want || h.startsWith(`${want}.`) || h.split(/[;,]/).includes(want);
}

export function queryKey(q: ContractQuery): string {
  return [
    q.symbol?.trim().toUpperCase() ?? '',
    q.secType ?? '',
    normExchange(q.exchange) ?? '',
    q.currency?.trim().toUpperCase() ?? '',
  ].join('|');
}

export function describe(q: ContractQuery): string {
  const parts = [`"${q.symbol}"`];
  if (q.secType) parts.push(q.secType);
  if (q.exchange) parts.push(`on ${q.exchange}`);
  if (q.currency) parts.push(`in ${q.currency}`);
  return parts.join(' ');
}

/** Parses /iserver/contract/{conid}/info. */
export function parseContractInfo(conid: number, info: Row): Contract {
  const c: Contract = {
    conid: toConid(info['con_id']) ?? toConid(info['conid']) ?? conid,
    symbol: str(info['symbol']) ?? str(info['ticker']) ?? String(conid),
    secType: toSecType(info['instrument_type']) ?? toSecType(info['secType']) ?? 'STK',
  };
  const name = str(info['company_name']) ?? str(info['companyName']);
  if (name) c.name = name;
  const listing = str(info['listing_exchange']) ?? str(info['listingExchange']);
  const exch = str(info['exchange']);
  const exchange = listing ?? (exch && exch !== 'SMART' ? exch : undefined);
  if (exchange) c.exchange = exchange;
  const currency = str(info['currency']);
  if (currency) c.currency = currency;
  const expiry = ymd(info['expiry_full']) ?? ymd(info['maturity_date']) ?? ymd(info['maturityDate']);
  if (expiry) c.expiry = expiry;
  const strike = Number(info['strike']);
  if (Number.isFinite(strike) && strike > 0) c.strike = strike;
  const right = str(info['right'])?.toUpperCase();
  if (right === 'C' || right === 'CALL') c.right = 'C' as OptionRight;
  else if (right === 'P' || right === 'PUT') c.right = 'P' as OptionRight;
  const mult = Number(info['multiplier']);
  if (info['multiplier'] !== null && Number.isFinite(mult) && mult > 0) c.multiplier = mult;
  const tc = str(info['trading_class']);
  if (tc) c.tradingClass = tc;
  const und = toConid(info['underlying_con_id']);
  if (und) c.underlyingConid = und;
  return c;
}

/** The candidates of a /trsrv/stocks entry list for one symbol. */
export function stockCandidates(symbol: string, entries: readonly StockEntryWire[]): Candidate[] {
  const out: Candidate[] = [];
  entries.forEach((e, idx) => {
    if (!isObject(e)) return;
    if (e.assetClass && e.assetClass !== 'STK') return;
    for (const k of Array.isArray(e.contracts) ? e.contracts : []) {
      const conid = toConid(k?.conid);
      if (!conid) continue;
      const cand: Candidate = { conid, symbol, secType: 'STK', entry: idx };
      const name = str(e.name);
      if (name) cand.name = name;
      const exchange = str(k.exchange);
      if (exchange) cand.exchange = exchange;
      if (typeof k.isUS === 'boolean') cand.isUS = k.isUS;
      if (k.isUS === true) cand.currency = 'USD';
      out.push(cand);
    }
  });
  return out;
}

/** Maps one /iserver/secdef/search row to a Contract (secType: the row's first section unless asked). */
export function searchRowToContract(row: Row, wanted?: SecType): Contract | undefined {
  const sections = Array.isArray(row['sections']) ? (row['sections'] as Row[]).filter(isObject) : [];
  let conid = toConid(row['conid']);
  let secType = toSecType(row['secType']) ?? toSecType(sections[0]?.['secType']);
  if (wanted && secType !== wanted) {
    const sec = sections.find((s) => toSecType(s['secType']) === wanted);
    if (!sec) return undefined;
    const own = toConid(sec['conid']);
    if (own) conid = own;
    else if (sections[0] && toSecType(sections[0]['secType']) !== wanted) return undefined;
    secType = wanted;
  }
  if (!conid) return undefined;
  const c: Contract = { conid, symbol: str(row['symbol']) ?? '', secType: secType ?? wanted ?? 'STK' };
  const name = str(row['companyName']) ?? str(row['companyHeader']);
  if (name) c.name = name;
  const header = str(row['companyHeader']);
  const exchange = str(row['description']) ?? (header?.includes(' - ') ? header.split(' - ').pop()?.trim() : undefined);
  if (exchange) c.exchange = exchange;
  return c;
}

export function publicContract(c: Candidate): Contract {
  const { isUS: _u, entry: _e, ...rest } = c;
  return rest;
}

export function candidateList(cands: readonly Contract[]): Array<Record<string, unknown>> {
  return cands.slice(0, 20).map((c) => ({
    conid: c.conid,
    symbol: c.symbol,
    secType: c.secType,
    exchange: c.exchange,
    currency: c.currency,
    name: c.name,
  }));
}

export function dedupeByConid<T extends Contract>(cands: readonly T[]): T[] {
  const seen = new Set<number>();
  return cands.filter((c) => {
    if (seen.has(c.conid)) return false;
    seen.add(c.conid);
    return true;
  });
}

/** A secdef search row of a futures family (IB: the index row, with a FUT section). */
export function hasFuturesSection(row: Row): boolean {
  const sections = Array.isArray(row['sections']) ? (row['sections'] as unknown[]).filter(isObject) : [];
  return toSecType(row['secType']) === 'FUT' || sections.some((s) => toSecType(s['secType']) === 'FUT');
}

/**
 * /trsrv/futures `{SYMBOL: [{conid, underlyingConid, expirationDate, ltd, …}]}` → the futures not
 * expired on `today` (YYYY-MM-DD), nearest first. `ltd` (last trading day) decides when present.
 */
export function parseFuturesList(symbol: string, data: unknown, today: string): Contract[] {
  const list = isObject(data) && Array.isArray(data[symbol]) ? (data[symbol] as unknown[]).filter(isObject) : [];
  const out: Contract[] = [];
  for (const r of list) {
    const conid = toConid(r['conid']);
    const expiry = ymd(r['expirationDate']) ?? ymd(r['ltd']);
    const last = ymd(r['ltd']) ?? expiry;
    if (!conid || !expiry || (last as string) < today) continue;
    const c: Contract = { conid, symbol: str(r['symbol']) ?? symbol, secType: 'FUT', expiry };
    const und = toConid(r['underlyingConid']);
    if (und) c.underlyingConid = und;
    out.push(c);
  }
  return out.sort((a, b) => (a.expiry as string).localeCompare(b.expiry as string));
}

/** A stock listed in the US (IB sends its quote sizes in round lots and its history volume in hundreds). */
export function isUsStock(c: Contract): boolean {
  if (c.secType !== 'STK') return false;
  if (c.currency) return c.currency === 'USD';
  return US_EXCHANGES.has(c.exchange?.split('.')[0]?.toUpperCase() ?? '');
}
