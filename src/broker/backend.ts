import type { BrokerError } from './errors.js';
import type { OptionsBackend } from './options.js';
import type { OrdersBackend } from './orders.js';
import type { PortfolioBackend } from './portfolio.js';
import type { ResearchBackend } from './research.js';
import type {
  AccountMode,
  Contract,
  ContractQuery,
  HistoryRequest,
  HistoryResult,
  MarketField,
  MarketSnapshot,
  SecType,
} from './types.js';

/** Per-call options every backend method accepts. */
export interface CallOptions {
  /** Aborts the call's outstanding requests (MCP cancellation). */
  signal?: AbortSignal;
  /** Work nobody is waiting for (warm-ups): it yields the broker's request budget to tool calls. */
  background?: boolean;
}

export interface SearchOptions extends CallOptions {
  secType?: SecType;
  /** Treat the text as a company name rather than a ticker. */
  byName?: boolean;
}

export interface SnapshotOptions extends CallOptions {
  /** Upper bound on the time spent polling until the requested fields arrive. Default chosen by the backend. */
  maxWaitMs?: number;
}

/**
 * What the tools need from a broker connection. A backend translates these calls into
 * its own protocol (Client Portal REST today, TWS socket later). Errors are BrokerError.
 *
 * Options, portfolio, orders and research have their own sections in options.ts, portfolio.ts,
 * orders.ts, research.ts.
 */
export interface Backend extends OptionsBackend, PortfolioBackend, OrdersBackend, ResearchBackend {
  /** Short name for logs and status lines, e.g. "cpapi https://127.0.0.1:5000". */
  readonly name: string;

  /** SIMULATED / PAPER / LIVE, once known (UNKNOWN before the first successful account call). */
  accountMode(): AccountMode;

  /** Contracts matching a symbol or a company name, most relevant first. */
  searchContracts(text: string, opts?: SearchOptions): Promise<Contract[]>;
  /** Exactly one contract, or BrokerError NOT_FOUND / AMBIGUOUS (with candidates in details). Cached. */
  resolveContract(query: ContractQuery, opts?: CallOptions): Promise<Contract>;
  /** Many at once, in parallel within pacing. Results in input order; failures as BrokerError values. */
  resolveContracts(queries: ContractQuery[], opts?: CallOptions): Promise<Array<Contract | BrokerError>>;
  /** Full details of one contract by conid. */
  contractDetails(conid: number, opts?: CallOptions): Promise<Contract>;

  /** One snapshot for many conids (batched by the backend's per-request limit), fields by name. */
  snapshot(conids: number[], fields: readonly MarketField[], opts?: SnapshotOptions): Promise<MarketSnapshot[]>;
  /**
   * Translates broker-specific field codes a user typed (IB's "31", "84", …) into field names.
   * Unknown codes are returned in `unknown` so the tool can say which ones it could not use.
   */
  fieldsFromCodes(codes: readonly string[]): { fields: MarketField[]; unknown: string[] };
  /** Historical bars; period/bar validated before any request. */
  history(req: HistoryRequest, opts?: CallOptions): Promise<HistoryResult>;

  /** The broker's push stream (absent for a backend without one). */
  pushStatus?(): PushStatus;
  /**
   * Holds a streamed quote of a conid (a market-data line) and calls `onUpdate` on every pushed
   * change, until the returned release is called (which frees the line). Throws a BrokerError
   * (RATE_LIMITED) when every line is held, or (REFUSED) when the stream is off.
   */
  watchQuote?(conid: number, fields: readonly MarketField[], onUpdate: () => void): () => void;
  /** Calls `listener` with the conid of every pushed quote change (streams nothing by itself). */
  watchQuotes?(listener: (conid: number) => void): () => void;
  /** Calls `listener` whenever the broker pushes P&L; starts the push. Absent without a stream. */
  watchPnl?(listener: () => void): () => void;

  /** Releases connections and timers. */
  close(): Promise<void>;
}

/** A backend's push stream: its connection and what it holds. */
export interface PushStatus {
  /** The backend has a stream (switched on), connected or not. */
  enabled: boolean;
  state: 'off' | 'connecting' | 'open' | 'down';
  /** Open and heard from recently: answers may come from it. */
  healthy: boolean;
  /** Milliseconds since its last message. */
  lastMessageAgeMs?: number;
  /** What the broker last pushed about the session. */
  authenticated?: boolean;
  reconnects: number;
  /** Instruments it streams quotes for. */
  quotes: number;
  /** Instruments whose line a subscription holds, and the most it streams at once. */
  heldQuotes: number;
  maxQuotes: number;
  /** It holds the whole order list. */
  orders: boolean;
  /** It pushed P&L on this connection. */
  pnl: boolean;
  /** Subscriptions the broker refused ('orders', 'pnl'): asked for again, read over requests meanwhile. */
  refused?: string[];
}
