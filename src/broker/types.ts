/**
 * Domain types shared by tools and backends. Nothing here knows IB's wire format:
 * field codes, string-encoded numbers and endpoint shapes stay inside a backend.
 */

export type SecType = 'STK' | 'OPT' | 'FUT' | 'FOP' | 'IND' | 'CASH' | 'BOND' | 'WAR' | 'CFD' | 'FUND' | 'CRYPTO';

export const SEC_TYPES: readonly SecType[] = [
  'STK',
  'OPT',
  'FUT',
  'FOP',
  'IND',
  'CASH',
  'BOND',
  'WAR',
  'CFD',
  'FUND',
  'CRYPTO',
];

/** Who the backend trades for: the simulator, a paper account or a live one. */
export type AccountMode = 'SIMULATED' | 'PAPER' | 'LIVE' | 'UNKNOWN';

export type OptionRight = 'C' | 'P';

export interface Contract {
  conid: number;
  symbol: string;
  secType: SecType;
  /** Company or instrument name, as the broker gives it (untrusted text). */
  name?: string;
  /** Primary listing exchange (NASDAQ, NYSE, IBIS, …) where known. */
  exchange?: string;
  currency?: string;
  /** Derivatives: expiration as YYYY-MM-DD. */
  expiry?: string;
  strike?: number;
  right?: OptionRight;
  multiplier?: number;
  tradingClass?: string;
  underlyingConid?: number;
}

/** How a caller names an instrument. Either a conid, or a symbol with optional disambiguators. */
export interface ContractQuery {
  symbol?: string;
  conid?: number;
  secType?: SecType;
  exchange?: string;
  currency?: string;
}

export type MarketDataAvailability = 'live' | 'delayed' | 'frozen' | 'frozen-delayed' | 'not-subscribed' | 'unknown';

/**
 * Canonical names of the market-data fields a backend can deliver.
 * The CPAPI backend maps each to an IB field code; tools only ever see names.
 */
export const MARKET_FIELDS = [
  'last',
  'bid',
  'ask',
  'bidSize',
  'askSize',
  'lastSize',
  'volume',
  'avgVolume',
  'change',
  'changePct',
  'open',
  'high',
  'low',
  'close',
  'priorClose',
  'high52w',
  'low52w',
  'mark',
  'symbol',
  'companyName',
  'exchange',
  'listingExchange',
  'secType',
  'industry',
  'category',
  'marketCap',
  'peRatio',
  'eps',
  'dividendYield',
  'impliedVolatility',
  'historicalVolatility',
  'optionImpliedVolatility',
  'putCallRatio',
  'optionVolume',
  'openInterest',
  'delta',
  'gamma',
  'theta',
  'vega',
  'underlyingConid',
  'canBeTraded',
  'shortable',
] as const;

export type MarketField = (typeof MARKET_FIELDS)[number];

export type FieldValue = number | string | boolean | null;

/** One instrument's snapshot: named values (numbers as numbers), plus data quality. */
export interface MarketSnapshot {
  conid: number;
  values: Partial<Record<MarketField, FieldValue>>;
  availability: MarketDataAvailability;
  /** Last price is the prior session's close (IB's C prefix). */
  lastIsPriorClose?: boolean;
  /** Trading is halted (IB's H prefix). */
  halted?: boolean;
  /** Epoch ms of the data, when the backend knows it. */
  updated?: number;
  /** Fields asked for that the backend did not deliver within its polling bound. */
  missing?: MarketField[];
  /** Pushed over the backend's stream, or asked for with a request. */
  source?: 'stream' | 'request';
  /** Epoch ms the backend received this data. */
  receivedAt?: number;
}

export interface Bar {
  /** Epoch ms of the bar's start. */
  t: number;
  o: number;
  h: number;
  l: number;
  c: number;
  /** Volume in the result's `volumeUnit`; absent when the broker sent none. */
  v?: number;
}

export interface HistoryRequest {
  conid: number;
  /** IB period syntax: 1-30min, 1-8h, 1-1000d, 1-792w, 1-182m, 1-15y. */
  period: string;
  /** IB bar syntax: 1min … 1m. */
  bar: string;
  outsideRth?: boolean;
  /** Optional end time, ISO-8601 or epoch ms. */
  endTime?: string;
}

export interface HistoryResult {
  conid: number;
  symbol?: string;
  bars: Bar[];
  availability: MarketDataAvailability;
  /** True when the broker capped the series (IB returns at most 1000 points). */
  truncated?: boolean;
  /**
   * What a bar's `v` counts: `shares` or `contracts` once converted from the broker's units;
   * `as reported` when the broker's unit could not be established (docs/ib/marketdata.md).
   */
  volumeUnit?: VolumeUnit;
}

export type VolumeUnit = 'shares' | 'contracts' | 'units' | 'as reported';
