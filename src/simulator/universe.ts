/**
 * The simulated instrument universe. Instruments carry everything routes need
 * (identity, listing, pricing parameters) plus optional derivative details so the
 * options/futures work can add OPT/FOP/FUT instruments with `universe.add()`.
 */
import {
  AEB_HOURS,
  addDays,
  CME_EQUITY_FUT_HOURS,
  FX_HOURS,
  LSE_HOURS,
  localDay,
  monthCode,
  type TradingHours,
  TSX_HOURS,
  thirdFriday,
  US_EQUITY_HOURS,
  US_INDEX_HOURS,
  XETRA_HOURS,
  ymd,
} from './calendar.js';
import { hashString } from './rng.js';
import { ETFS, SP100 } from './universe-data.js';

export type SimSecType =
  | 'STK'
  | 'OPT'
  | 'FUT'
  | 'FOP'
  | 'IND'
  | 'CASH'
  | 'BOND'
  | 'WAR'
  | 'CFD'
  | 'FUND'
  | 'CRYPTO'
  /** A combo order's contract (order-combo.ts); never in the universe. */
  | 'BAG';

export interface Instrument {
  conid: number;
  secType: SimSecType;
  symbol: string;
  /** Company / instrument name, IB style (upper case). */
  name: string;
  /** Routing exchange used by contract info (SMART for stocks). */
  exchange: string;
  /** Primary listing exchange (NASDAQ, NYSE, ARCA, IBIS, LSE, TSE, CME, IDEALPRO …). */
  listingExchange: string;
  validExchanges: string;
  currency: string;
  countryCode: string;
  isUS: boolean;
  /** Contract multiplier (1 for stocks, 50 for ES, 100 for equity options). */
  multiplier: number;
  tickSize: number;
  sector?: string;
  industry?: string;
  category?: string;
  /** ETF, COMMON, ADR, … (the `type` of portfolio rows). */
  stockType?: string;
  optionable: boolean;
  /** Option/future underlying conid (0 for none). */
  underlyingConid?: number;
  /** Derivatives: expiry YYYYMMDD. */
  expiry?: string;
  /** Derivatives: YYYYMM. */
  contractMonth?: string;
  strike?: number;
  right?: 'C' | 'P';
  tradingClass: string;
  localSymbol: string;
  /** Price model parameters. */
  basePrice: number;
  /** Daily log-volatility (e.g. 0.018). */
  dailyVol: number;
  /** Instruments sharing a pathKey move together (SPX/SPY/ES, multi-listings). */
  pathKey: number;
  /** Average daily volume in shares/contracts (0 for none, e.g. indices, FX). */
  avgVolume: number;
  marketCap?: number;
  pe?: number;
  hours: TradingHours;
  /** Free-form extension slot for later modules (option chains, …). */
  extra?: Record<string, unknown>;
}

/** Normalises user symbols: upper case, BRK.B / BRK-B → BRK B. */
export function normalizeSymbol(s: string): string {
  return s
    .trim()
    .toUpperCase()
    .replace(/[.\-/]/g, ' ')
    .replace(/\s+/g, ' ');
}

export class Universe {
  readonly byConid = new Map<number, Instrument>();
  private readonly bySymbol = new Map<string, Instrument[]>();

  add(inst: Instrument): Instrument {
    if (this.byConid.has(inst.conid)) throw new Error(`duplicate conid ${inst.conid}`);
    this.byConid.set(inst.conid, inst);
    const key = normalizeSymbol(inst.symbol);
    const list = this.bySymbol.get(key) ?? [];
    list.push(inst);
    this.bySymbol.set(key, list);
    return inst;
  }

  get(conid: number): Instrument | undefined {
    return this.byConid.get(conid);
  }

  /** Instruments with exactly this symbol (normalised), in insertion order (primary listing first). */
  bySymbolExact(symbol: string): Instrument[] {
    return this.bySymbol.get(normalizeSymbol(symbol)) ?? [];
  }

  /** Case-insensitive substring search over company names. */
  byName(fragment: string, limit = 20): Instrument[] {
    const f = fragment.trim().toUpperCase();
    if (!f) return [];
    const out: Instrument[] = [];
    for (const inst of this.byConid.values()) {
      if (inst.secType === 'OPT' || inst.secType === 'FOP') continue;
      if (inst.name.toUpperCase().includes(f)) out.push(inst);
      if (out.length >= limit) break;
    }
    return out;
  }

  all(): Instrument[] {
    return [...this.byConid.values()];
  }

  /** A conid in IB's usual range that is not yet used, stable for a given key. */
  deriveConid(key: string): number {
    let c = 10_000_000 + (hashString(key) % 690_000_000);
    while (this.byConid.has(c)) c += 1;
    return c;
  }
}

const US_STK_EXCHANGES =
  'SMART,AMEX,NYSE,CBOE,PHLX,ISE,CHX,ARCA,ISLAND,DRCTEDGE,BEX,BATS,EDGEA,BYX,IEX,MEMX,TPLUS1,PSX,LTSE,PEARL,IBEOS,OVERNIGHT';

function parseRows(text: string): string[][] {
  return text
    .trim()
    .split('\n')
    .map((l) => l.split('|'));
}

function stockDailyVol(symbol: string, category: string, pe: number): number {
  const h = (hashString(symbol) % 1000) / 1000;
  let base = 0.014 + h * 0.01;
  if (category.includes('Semicon') || pe > 80) base += 0.008;
  return base;
}

/** Front + next quarterly equity-index future expiries (third Friday of Mar/Jun/Sep/Dec) after `now`. */
export function quarterlyExpiries(now: number, count: number): { expiry: string; month: string; code: string }[] {
  const d = localDay(now, 'America/New_York');
  const out: { expiry: string; month: string; code: string }[] = [];
  let y = d.year;
  let m = d.month;
  while (out.length < count) {
    if (m % 3 === 0) {
      const tf = thirdFriday(y, m);
      const exp = ymd(y, m, tf);
      if (Number(exp) >= d.key)
        out.push({ expiry: exp, month: `${y}${String(m).padStart(2, '0')}`, code: monthCode(y, m) });
    }
    m += 1;
    if (m > 12) {
      m = 1;
      y += 1;
    }
  }
  return out;
}

/**
 * Option expiries offered for an optionable instrument: Fridays for the next 8 weeks,
 * then monthly third Fridays for 12 months, then two January LEAPS. YYYYMMDD strings.
 */
export function optionExpiries(now: number): string[] {
  const set = new Set<string>();
  let d = localDay(now, 'America/New_York');
  for (let i = 0; i < 60 && set.size < 8; i++) {
    if (d.weekday === 5) set.add(ymd(d.year, d.month, d.day));
    d = addDays(d, 1);
  }
  const today = localDay(now, 'America/New_York');
  let y = today.year;
  let m = today.month;
  for (let i = 0; i < 13; i++) {
    const exp = ymd(y, m, thirdFriday(y, m));
    if (Number(exp) >= today.key) set.add(exp);
    m += 1;
    if (m > 12) {
      m = 1;
      y += 1;
    }
  }
  set.add(ymd(today.year + 2, 1, thirdFriday(today.year + 2, 1)));
  set.add(ymd(today.year + 1, 1, thirdFriday(today.year + 1, 1)));
  return [...set].sort();
}

/** `MMMYY` codes of the months that have option expiries (e.g. DEC26;JAN27;…). */
export function optionMonths(now: number): string[] {
  const months: string[] = [];
  for (const e of optionExpiries(now)) {
    const code = monthCode(Number(e.slice(0, 4)), Number(e.slice(4, 6)));
    if (!months.includes(code)) months.push(code);
  }
  return months;
}

function stock(
  u: Universe,
  row: string[],
  opts: { etf?: boolean; listing?: string; currency?: string; hours?: TradingHours; pathKey?: number } = {},
): Instrument {
  const [symbol = '', name = '', exch = '', sector = '', industry = '', category = '', price, conidS, volM, capB, peS] =
    row;
  const conid = Number(conidS) || u.deriveConid(`STK:${symbol}:${opts.listing ?? exch}`);
  const pe = Number(peS) || 0;
  const listing = opts.listing ?? exch;
  const isUS = !opts.currency || opts.currency === 'USD';
  return u.add({
    conid,
    secType: 'STK',
    symbol,
    name,
    exchange: isUS ? 'SMART' : listing,
    listingExchange: listing,
    validExchanges: isUS ? US_STK_EXCHANGES : `SMART,${listing}`,
    currency: opts.currency ?? 'USD',
    countryCode: isUS ? 'US' : (COUNTRY_BY_EXCHANGE[listing] ?? 'XX'),
    isUS,
    multiplier: 1,
    tickSize: 0.01,
    sector,
    industry,
    category,
    stockType: opts.etf ? 'ETF' : 'COMMON',
    optionable: isUS,
    underlyingConid: 0,
    tradingClass: symbol.replace(' ', ''),
    localSymbol: symbol,
    basePrice: Number(price),
    dailyVol: opts.etf ? 0.009 + (hashString(symbol) % 100) / 10000 : stockDailyVol(symbol, category, pe),
    pathKey: opts.pathKey ?? conid,
    avgVolume: Math.round(Number(volM) * 1_000_000),
    marketCap: Number(capB) ? Number(capB) * 1e9 : undefined,
    pe: pe || undefined,
    hours: opts.hours ?? US_EQUITY_HOURS,
  });
}

const COUNTRY_BY_EXCHANGE: Record<string, string> = { IBIS: 'DE', LSE: 'GB', TSE: 'CA', AEB: 'NL', MEXI: 'MX' };

/** A US index listed on CBOE (optionable, no volume), its price path keyed by its conid. */
function usIndex(
  u: Universe,
  ix: Pick<Instrument, 'conid' | 'symbol' | 'name' | 'category' | 'basePrice' | 'dailyVol'>,
): Instrument {
  return u.add({
    conid: ix.conid,
    secType: 'IND',
    symbol: ix.symbol,
    name: ix.name,
    exchange: 'CBOE',
    listingExchange: 'CBOE',
    validExchanges: 'CBOE',
    currency: 'USD',
    countryCode: 'US',
    isUS: true,
    multiplier: 1,
    tickSize: 0.01,
    sector: 'Indices',
    industry: 'Indices',
    category: ix.category,
    optionable: true,
    underlyingConid: 0,
    tradingClass: ix.symbol,
    localSymbol: ix.symbol,
    basePrice: ix.basePrice,
    dailyVol: ix.dailyVol,
    pathKey: ix.conid,
    avgVolume: 0,
    hours: US_INDEX_HOURS,
  });
}

/** Builds the default universe. `now` fixes the futures front month. */
export function buildUniverse(now: number): Universe {
  const u = new Universe();
  for (const row of parseRows(SP100)) stock(u, row);
  for (const row of parseRows(ETFS)) stock(u, row, { etf: true });

  const spx = usIndex(u, {
    conid: 416904,
    symbol: 'SPX',
    name: 'S&P 500 STOCK INDEX',
    category: 'Broad Range Equity Index',
    basePrice: 6895.4,
    dailyVol: 0.01,
  });
  // SPY tracks the index.
  const spy = u.bySymbolExact('SPY')[0];
  if (spy) {
    spy.pathKey = spx.pathKey;
    spy.dailyVol = spx.dailyVol;
    spy.basePrice = Math.round(spx.basePrice * 0.0998 * 100) / 100;
  }
  usIndex(u, {
    conid: 13455763,
    symbol: 'VIX',
    name: 'CBOE VOLATILITY INDEX',
    category: 'Volatility Index',
    basePrice: 16.8,
    dailyVol: 0.06,
  });

  // E-mini S&P 500 futures: the front quarter plus the next three, moving with SPX.
  quarterlyExpiries(now, 4).forEach((q, i) => {
    const yy = q.expiry.slice(2, 4);
    u.add({
      conid: u.deriveConid(`FUT:ES:${q.expiry}`),
      secType: 'FUT',
      symbol: 'ES',
      name: 'E-mini S&P 500',
      exchange: 'CME',
      listingExchange: 'CME',
      validExchanges: 'CME,QBALGO',
      currency: 'USD',
      countryCode: 'US',
      isUS: true,
      multiplier: 50,
      tickSize: 0.25,
      sector: 'Indices',
      industry: 'Indices',
      category: 'Broad Range Equity Index',
      optionable: i === 0,
      underlyingConid: 11004968,
      expiry: q.expiry,
      contractMonth: q.month,
      tradingClass: 'ES',
      localSymbol: `ES${'HMUZ'[Math.floor((Number(q.month.slice(4)) - 1) / 3)]}${yy.slice(1)}`,
      basePrice: Math.round((spx.basePrice * (1.004 + i * 0.011)) / 0.25) * 0.25,
      dailyVol: spx.dailyVol,
      pathKey: spx.pathKey,
      avgVolume: i === 0 ? 1_450_000 : 12_000 / (i + 1),
      hours: CME_EQUITY_FUT_HOURS,
      extra: { frontMonth: i === 0 },
    });
  });

  const fx: [number, string, string, number, number][] = [
    [12087792, 'EUR.USD', 'European Monetary Union Euro', 1.1625, 0.0045],
    [12087797, 'GBP.USD', 'British pound', 1.3312, 0.005],
    [15016059, 'USD.JPY', 'US dollar', 152.84, 0.0055],
  ];
  for (const [conid, local, name, price, vol] of fx) {
    const [base = '', quote = ''] = local.split('.');
    u.add({
      conid,
      secType: 'CASH',
      symbol: base,
      name,
      exchange: 'IDEALPRO',
      listingExchange: 'IDEALPRO',
      validExchanges: 'IDEALPRO',
      currency: quote,
      countryCode: '',
      isUS: false,
      multiplier: 1,
      tickSize: quote === 'JPY' ? 0.005 : 0.00005,
      optionable: false,
      underlyingConid: 0,
      tradingClass: local,
      localSymbol: local,
      basePrice: price,
      dailyVol: vol,
      pathKey: conid,
      avgVolume: 0,
      hours: FX_HOURS,
    });
  }

  // Non-US listings and multi-listed names.
  const sapIbis = stock(
    u,
    ['SAP', 'SAP SE', 'IBIS', 'Technology', 'Software', 'Enterprise Software/Serv', '236.40', '0', '2.1', '290', '42'],
    {
      listing: 'IBIS',
      currency: 'EUR',
      hours: XETRA_HOURS,
    },
  );
  stock(
    u,
    [
      'SAP',
      'SAP SE-SPONSORED ADR',
      'NYSE',
      'Technology',
      'Software',
      'Enterprise Software/Serv',
      '274.90',
      '0',
      '1.2',
      '290',
      '42',
    ],
    {
      pathKey: sapIbis.pathKey,
    },
  ).stockType = 'ADR';
  const shop = stock(u, [
    'SHOP',
    'SHOPIFY INC - CLASS A',
    'NYSE',
    'Communications',
    'Internet',
    'E-Commerce/Services',
    '162.30',
    '0',
    '9.4',
    '210',
    '95',
  ]);
  stock(
    u,
    [
      'SHOP',
      'SHOPIFY INC - CLASS A',
      'TSE',
      'Communications',
      'Internet',
      'E-Commerce/Services',
      '226.10',
      '0',
      '1.8',
      '210',
      '95',
    ],
    {
      listing: 'TSE',
      currency: 'CAD',
      hours: TSX_HOURS,
      pathKey: shop.pathKey,
    },
  );
  const ibm = u.bySymbolExact('IBM')[0];
  stock(
    u,
    [
      'IBM',
      'INTL BUSINESS MACHINES CORP',
      'IBIS',
      'Technology',
      'Computers',
      'Computer Services',
      '262.80',
      '1411277',
      '0.02',
      '284',
      '34',
    ],
    {
      listing: 'IBIS',
      currency: 'EUR',
      hours: XETRA_HOURS,
      pathKey: ibm?.pathKey,
    },
  );
  stock(
    u,
    [
      'IBM',
      'INTL BUSINESS MACHINES CORP',
      'LSE',
      'Technology',
      'Computers',
      'Computer Services',
      '305.10',
      '41645598',
      '0.001',
      '284',
      '34',
    ],
    {
      listing: 'LSE',
      currency: 'USD',
      hours: LSE_HOURS,
      pathKey: ibm?.pathKey,
    },
  );
  // The LSE line is USD-quoted but not a US listing.
  const ibmLse = u.get(41645598);
  if (ibmLse) {
    ibmLse.isUS = false;
    ibmLse.countryCode = 'GB';
    ibmLse.exchange = 'LSE';
    ibmLse.validExchanges = 'SMART,LSE';
    ibmLse.optionable = false;
  }
  const asml = stock(u, [
    'ASML',
    'ASML HOLDING NV-NY REG SHS',
    'NASDAQ',
    'Technology',
    'Semiconductors',
    'Semicon Compo-Intg Circu',
    '1012.40',
    '0',
    '1.6',
    '398',
    '38',
  ]);
  stock(
    u,
    [
      'ASML',
      'ASML HOLDING NV',
      'AEB',
      'Technology',
      'Semiconductors',
      'Semicon Compo-Intg Circu',
      '871.30',
      '0',
      '0.7',
      '398',
      '38',
    ],
    {
      listing: 'AEB',
      currency: 'EUR',
      hours: AEB_HOURS,
      pathKey: asml.pathKey,
    },
  );
  // A company listed in two countries and not in the US: a symbol that stays ambiguous
  // until the caller names an exchange or a currency.
  const rio = stock(
    u,
    ['RIO', 'RIO TINTO PLC', 'LSE', 'Basic Materials', 'Mining', 'Metal-Diversified', '48.62', '0', '0.5', '61', '9'],
    { listing: 'LSE', currency: 'GBP', hours: LSE_HOURS },
  );
  rio.optionable = false;
  const rioIbis = stock(
    u,
    ['RIO', 'RIO TINTO PLC', 'IBIS', 'Basic Materials', 'Mining', 'Metal-Diversified', '57.10', '0', '0.1', '61', '9'],
    { listing: 'IBIS', currency: 'EUR', hours: XETRA_HOURS, pathKey: rio.pathKey },
  );
  rioIbis.optionable = false;
  return u;
}
