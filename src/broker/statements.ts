/**
 * Statements (IB's Flex Web Service, a service apart from the gateway): a saved query of the
 * account's history run on the broker's side, answered as rows. Nothing here knows Flex's XML;
 * src/backends/flex translates. Text fields (descriptions, symbols) are the broker's: untrusted.
 */
import type { CallOptions } from './backend.js';

/** One execution. Quantity is signed: positive bought, negative sold. */
export interface StatementTrade {
  /** Trade date, YYYY-MM-DD. */
  date: string;
  /** Execution time as the statement gives it (ISO-like, the account's time zone), when present. */
  time?: string;
  accountId?: string;
  symbol: string;
  conid?: number;
  assetClass?: string;
  side: 'BUY' | 'SELL';
  quantity: number;
  price?: number;
  currency?: string;
  /** Cash effect of the trade before commission (negative for a purchase). */
  proceeds?: number;
  /** Commission, negative as charged. */
  commission?: number;
  /** Realised profit or loss of a closing trade (FIFO). */
  realizedPnl?: number;
  /** O open, C close, or both. */
  openClose?: string;
  tradeId?: string;
}

/** A cash movement: dividends, withholding tax, interest, deposits, fees. */
export interface StatementCash {
  date: string;
  accountId?: string;
  /** The broker's type, e.g. "Dividends", "Withholding Tax", "Deposits/Withdrawals". */
  type: string;
  amount: number;
  currency?: string;
  symbol?: string;
  conid?: number;
  description?: string;
}

export interface StatementPosition {
  accountId?: string;
  symbol: string;
  conid?: number;
  assetClass?: string;
  quantity: number;
  markPrice?: number;
  value?: number;
  costBasis?: number;
  unrealizedPnl?: number;
  currency?: string;
  /** As of, YYYY-MM-DD. */
  date?: string;
}

/** Profit and loss of one underlying over the period. */
export interface StatementPerformance {
  symbol: string;
  conid?: number;
  assetClass?: string;
  realized?: number;
  unrealized?: number;
  total?: number;
}

/** The change of the account's net asset value over the period, in the base currency. */
export interface StatementNav {
  start?: number;
  end?: number;
  /** Time-weighted return in percent. */
  twrPercent?: number;
  depositsWithdrawals?: number;
  dividends?: number;
  commissions?: number;
  mtm?: number;
  realized?: number;
}

/** One account's statement. */
export interface StatementAccount {
  accountId: string;
  /** YYYY-MM-DD. */
  fromDate?: string;
  toDate?: string;
  /** When the broker generated it (ISO-like). */
  generated?: string;
  baseCurrency?: string;
  trades: StatementTrade[];
  cash: StatementCash[];
  positions: StatementPosition[];
  performance: StatementPerformance[];
  nav?: StatementNav;
}

/** A whole Flex answer: one statement per account the query covers. */
export interface Statement {
  queryName?: string;
  /** The query's type as the broker names it (AF: activity). */
  type?: string;
  accounts: StatementAccount[];
  /** Sections present in the answer that this reader does not turn into rows (names only). */
  otherSections: string[];
}

/** A query remembered under a name in the state directory. */
export interface SavedQuery {
  id: string;
  name: string;
  /** ISO 8601 times. */
  savedAt: string;
  lastRunAt?: string;
}

export interface StatementRequest extends CallOptions {
  queryId: string;
  /** YYYY-MM-DD; with toDate, at most 365 days apart (the service's limit). */
  fromDate?: string;
  toDate?: string;
  /** Longest wait while the broker generates the statement, in ms. */
  maxWaitMs?: number;
  /** Called while the broker generates the statement: the wait so far and its message. */
  onWait?(waitedMs: number, message: string): void;
}

export interface StatementResult {
  statement: Statement;
  /** When it was fetched (ISO 8601); a cached answer keeps its time. */
  fetchedAt: string;
  /** SIMULATED when the simulator's service answered. */
  simulated: boolean;
  /** Answered from the short cache of recent statements (no request to the broker). */
  cached: boolean;
}

/** The statements service, and the queries remembered by name. */
export interface StatementsSource {
  /** A token is configured (or the simulator's is in use). */
  configured(): boolean;
  run(req: StatementRequest): Promise<StatementResult>;
  saved(): SavedQuery[];
  /** Saves or renames; returns the saved entry. */
  remember(id: string, name: string | undefined, ran: boolean): SavedQuery;
  /** By id or name (case-insensitive); the removed entry, or undefined. */
  forget(idOrName: string): SavedQuery | undefined;
  /** The saved query with this id or name (case-insensitive). */
  find(idOrName: string): SavedQuery | undefined;
}

/** Longest period of one request, in days (the Flex Web Service's limit). */
export const MAX_STATEMENT_DAYS = 365;
