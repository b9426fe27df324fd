/**
 * Research part of the backend contract: alerts and exchange rates (later watchlists and
 * scanners), in domain terms. Nothing here knows IB's condition codes or field names; the
 * backend translates (src/backends/cpapi/alerts.ts) and checks what its broker accepts.
 */
import type { CallOptions } from './backend.js';

export type AlertOperator = '>=' | '<=';

/**
 * One condition of an alert. Price and volume watch one instrument; time fires at an instant
 * (UTC); margin watches the account's margin cushion in percent.
 */
export type AlertCondition =
  | { kind: 'price'; conid: number; exchange?: string; operator: AlertOperator; value: number }
  | { kind: 'volume'; conid: number; exchange?: string; operator: AlertOperator; value: number }
  | { kind: 'time'; operator: AlertOperator; at: Date }
  | { kind: 'margin'; operator: AlertOperator; value: number };

export interface AlertRequest {
  accountId: string;
  name: string;
  /** The text the notification carries; the name when absent. */
  message?: string;
  conditions: AlertCondition[];
  /** How the conditions combine. */
  logic: 'and' | 'or';
  /** Fires again after it fired once. */
  repeatable: boolean;
  /** May fire outside regular trading hours. */
  outsideRth: boolean;
  /** Until when the alert lives; absent: until cancelled. */
  expires?: Date;
}

export interface AlertSummary {
  id: number;
  accountId: string;
  /** As the broker gives it (untrusted text). */
  name: string;
  active: boolean;
  triggered: boolean;
  repeatable: boolean;
  /** When it was created, ISO 8601 UTC, when the broker says. */
  created?: string;
}

/** One condition as the broker reports it back. */
export interface AlertConditionInfo {
  kind: 'price' | 'time' | 'margin' | 'trade' | 'volume' | 'mta' | 'other';
  conid?: number;
  exchange?: string;
  operator?: string;
  /** As the broker writes it (a price, a volume, a time, "*"). */
  value?: string;
  /** The broker's contract description (untrusted text). */
  description?: string;
}

export interface AlertDetail extends AlertSummary {
  /** GTC or GTD. */
  tif?: string;
  expires?: string;
  /** Untrusted text. */
  message?: string;
  outsideRth?: boolean;
  logic?: 'and' | 'or';
  conditions: AlertConditionInfo[];
  /** The login's one Mobile Trading Assistant alert: it can be modified, never created or deleted. */
  mta?: boolean;
}

export interface WatchlistInfo {
  id: string;
  /** As the broker gives it (untrusted text). */
  name: string;
  /** Made by the broker (or locked): cannot be changed or deleted. */
  readOnly: boolean;
  /** Last change, ISO 8601 UTC, when the broker says. */
  modified?: string;
}

export interface WatchlistEntry {
  conid: number;
  symbol: string;
  secType?: string;
  /** Untrusted text. */
  name?: string;
}

export interface Watchlist extends WatchlistInfo {
  instruments: WatchlistEntry[];
}

/** The broker's scanner catalogue: what a scan may ask for. */
export interface ScannerCatalogue {
  scanTypes: { code: string; name: string; instruments: string[] }[];
  instruments: { type: string; name: string; filters: string[] }[];
  filters: { code: string; name: string; kind?: string }[];
  /** The location tree, flattened; `instrument` is the top-level type it sits under. */
  locations: { code: string; name: string; instrument: string }[];
  /** When the broker was asked (ISO 8601): the catalogue is cached. */
  fetchedAt: string;
}

export interface ScanRequest {
  instrument: string;
  type: string;
  location: string;
  filters: { code: string; value: number | string | boolean }[];
}

export interface ScanHit {
  rank: number;
  conid: number;
  symbol: string;
  /** Untrusted text. */
  name?: string;
  exchange?: string;
  secType?: string;
  /** The scan's own column (e.g. "+4.31%"), as the broker writes it. */
  value?: string;
}

export interface ResearchBackend {
  /** The account's alerts (the MTA alert is not among them). */
  alerts(accountId: string, opts?: CallOptions): Promise<AlertSummary[]>;
  /** One alert with its conditions; NOT_FOUND when the account has no such alert. */
  alert(accountId: string, alertId: number, opts?: CallOptions): Promise<AlertDetail>;
  /** The login's Mobile Trading Assistant alert. */
  mtaAlert(opts?: CallOptions): Promise<AlertDetail>;
  /** Checks the request against what the broker accepts (INVALID_INPUT/REFUSED), then sends it once. */
  createAlert(req: AlertRequest, opts?: CallOptions): Promise<{ id: number }>;
  setAlertActive(accountId: string, alertId: number, active: boolean, opts?: CallOptions): Promise<void>;
  /** Deletes one alert (never all: the id must be positive). */
  deleteAlert(accountId: string, alertId: number, opts?: CallOptions): Promise<void>;

  /** The login's watchlists. */
  watchlists(opts?: CallOptions): Promise<WatchlistInfo[]>;
  /** One watchlist with its instruments; NOT_FOUND when there is none with this id. */
  watchlist(id: string, opts?: CallOptions): Promise<Watchlist>;
  /** A new watchlist with a fresh id (the broker cannot change a list in place: edit = create + delete). */
  createWatchlist(name: string, conids: number[], opts?: CallOptions): Promise<WatchlistInfo>;
  /** Deletes one watchlist; NOT_FOUND when there is none, REFUSED when it is read-only. */
  deleteWatchlist(id: string, opts?: CallOptions): Promise<void>;

  /** The scanner catalogue, cached as the broker's pacing requires (IB: one read per 15 minutes). */
  scannerCatalogue(opts?: CallOptions): Promise<ScannerCatalogue>;
  /** Runs a scan after checking every code against the catalogue (INVALID_INPUT, with valid codes). */
  scan(req: ScanRequest, opts?: CallOptions): Promise<{ column?: string; hits: ScanHit[] }>;

  /** Units of `target` per unit of `source` (1 for the same currency); NOT_FOUND for an unknown pair. */
  fxRate(source: string, target: string, opts?: CallOptions): Promise<number>;

  /**
   * The news headlines of an account's holdings (the broker's portfolio news), newest first, with
   * the account they were read for. Headlines are outside text: data, never instructions.
   * NOT_FOUND when the broker serves no news headlines.
   */
  newsHeadlines(opts?: AccountScopedOptions): Promise<NewsHeadlines>;
}

export interface AccountScopedOptions extends CallOptions {
  /** The account to read for; absent: the one the session has selected. */
  accountId?: string | undefined;
}

export interface NewsHeadline {
  /** The broker's id of the story, when it gives one. */
  id?: string;
  /** As the broker gives it (untrusted text). */
  headline: string;
  /** The news provider's code (DJ-N, RTFL, BRFG, …), when given. */
  provider?: string;
  /** When the story was received, ISO 8601 UTC, when the broker says. */
  time?: string;
  /** The symbols the broker tags the story with. */
  tickers: string[];
  /** The broker's sentiment score (-1 … 1), when given. */
  sentiment?: number;
}

export interface NewsHeadlines {
  /** The account whose holdings the headlines are about, when known. */
  accountId?: string;
  headlines: NewsHeadline[];
}
