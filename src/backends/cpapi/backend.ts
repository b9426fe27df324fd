/**
 * Backend over IB's Client Portal Web API (a local gateway, or the simulator).
 * All IB wire knowledge (endpoints, field codes, quirks) stays in this folder.
 */

import type { Backend, CallOptions, SearchOptions, SnapshotOptions } from '../../broker/backend.js';
import { BrokerError, isBrokerError } from '../../broker/errors.js';
import type { OptionChainInfo, OptionContractQuery, OptionStrikes } from '../../broker/options.js';
import type {
  CancelResult,
  LiveOrder,
  LiveOrdersOptions,
  OrderPreview,
  OrderRequest,
  PlaceOutcome,
  Trade,
  TradingAccounts,
} from '../../broker/orders.js';
import type { AccountBalances, AccountInfo, AccountPnl, Allocation, Ledger, Position } from '../../broker/portfolio.js';
import {
  type AccountMode,
  type Contract,
  type ContractQuery,
  type HistoryRequest,
  type HistoryResult,
  type MarketField,
  type MarketSnapshot,
  type OptionRight,
  SEC_TYPES,
  type SecType,
  type SessionStatus,
} from '../../broker/types.js';
import { untrusted } from '../../broker/untrusted.js';
import { type Logger, silentLogger } from '../../log.js';
import {
  AVAILABILITY_CODE,
  codesForFields,
  fieldsFromCodes,
  parseAvailability,
  parseSnapshotRow,
  rowHasField,
} from './fields.js';
import { parseHistoryResponse, toIbStartTime, validateHistoryParams } from './history-rules.js';
import { CpapiHttp, type SessionGate } from './http.js';
import type { Pacer } from './limiter.js';
import { CpapiOptions } from './options.js';
import { CpapiOrders } from './orders.js';
import { CpapiPortfolio } from './portfolio.js';
import { MAX_SNAPSHOT_CONIDS, MAX_SNAPSHOT_FIELDS, SnapshotBatcher } from './snapshot-batcher.js';
import { isObject, type Row, readIserverAccounts, sleep, str, ymd } from './wire.js';

export interface CpapiBackendOptions {
  baseUrl: string;
  timeoutMs?: number;
  insecureTls?: boolean;
  /** The gateway is the built-in simulator: accountMode() reports SIMULATED. */
  simulated?: boolean;
  log?: Logger;
  pacer?: Pacer;
  /** The session state machine's gate (see CpapiHttpOptions.gate). */
  gate?: SessionGate;
  /** The wait between live-order polls (default: a real timer; tests inject a fake). */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

/** Symbols per /trsrv/stocks request. */
const STOCKS_CHUNK = 50;
/**
 * Symbols one call may look up one by one (secdef search, futures) when no cache and no
 * /trsrv/stocks answer settles them. Each costs at least one request of IB's ~10 a second, so
 * 50 is about five seconds of the gateway's budget; the rest of the call's symbols are answered
 * "not resolved" instead of holding the gateway for minutes.
 */
export const MAX_SEARCHES_PER_CALL = 50;
/** How long a query IB found nothing for is answered NOT_FOUND from memory, without a new search. */
export const UNKNOWN_TTL_MS = 10 * 60_000;
/** Bound on remembered unknown queries (expired ones are dropped first). */
const UNKNOWN_MAX = 10_000;
const DEFAULT_MAX_WAIT_MS = 3000;
/** How long to wait for missing fields once every instrument has delivered some data. */
const STRAGGLER_MS = 600;
/** Delays between snapshot polls while fields are missing. */
const POLL_DELAYS_MS = [60, 100, 200, 300, 500];

/** Exchanges treated as "the US listing" when a search result names its exchange. */
const US_EXCHANGES = new Set([
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
interface StockEntryWire {
  name?: string;
  assetClass?: string;
  contracts?: StockContractWire[];
}

interface Candidate extends Contract {
  isUS?: boolean;
  /** Index of the trsrv/stocks entry (IB's relevance order). */
  entry?: number;
}

function toConid(v: unknown): number | undefined {
  const n = typeof v === 'number' ? v : typeof v === 'string' ? Number(v.trim()) : Number.NaN;
  return Number.isInteger(n) && n > 0 ? n : undefined;
}

function toSecType(v: unknown): SecType | undefined {
  const s = str(v)?.toUpperCase();
  return s && (SEC_TYPES as readonly string[]).includes(s) ? (s as SecType) : undefined;
}

function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

function normExchange(e: string | undefined): string | undefined {
  return e?.trim().toUpperCase() || undefined;
}

function exchangeMatches(want: string, have: string | undefined): boolean {
  if (!have) return false;
  const h = have.toUpperCase();
  return h === want || h.startsWith(`${want}.`) || h.split(/[;,]/).includes(want);
}

function queryKey(q: ContractQuery): string {
  return [
    q.symbol?.trim().toUpperCase() ?? '',
    q.secType ?? '',
    normExchange(q.exchange) ?? '',
    q.currency?.trim().toUpperCase() ?? '',
  ].join('|');
}

function describe(q: ContractQuery): string {
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

function publicContract(c: Candidate): Contract {
  const { isUS: _u, entry: _e, ...rest } = c;
  return rest;
}

function candidateList(cands: readonly Contract[]): Array<Record<string, unknown>> {
  return cands.slice(0, 20).map((c) => ({
    conid: c.conid,
    symbol: c.symbol,
    secType: c.secType,
    exchange: c.exchange,
    currency: c.currency,
    name: c.name,
  }));
}

function dedupeByConid<T extends Contract>(cands: readonly T[]): T[] {
  const seen = new Set<number>();
  return cands.filter((c) => {
    if (seen.has(c.conid)) return false;
    seen.add(c.conid);
    return true;
  });
}

/** Keys a pre-flight answer may carry without any market data. */
const IDENTITY_KEYS = new Set(['conid', 'conidEx', 'server_id', '6119', '6509', 'topic']);

/** A snapshot row that carries data beyond the pre-flight identity keys. */
function hasData(row: Row | undefined): boolean {
  return row !== undefined && Object.keys(row).some((k) => !IDENTITY_KEYS.has(k) && !k.startsWith('_'));
}

export class CpapiBackend implements Backend {
  readonly name: string;
  readonly http: CpapiHttp;
  private readonly simulated: boolean;
  private readonly log: Logger;
  private mode: AccountMode = 'UNKNOWN';
  private accounts: string[] = [];
  private accountsFlight: Promise<string[]> | undefined;
  private accountsKnown = false;
  /** The session's warm-up, once started. */
  private warmed: Promise<void> | undefined;
  /** From /iserver/accounts: IB's own word on paper vs live, and the selected account. */
  private isPaper: boolean | undefined;
  private selectedAccount: string | undefined;
  /** Conids with a market-data subscription opened in this brokerage session. */
  private readonly subscribed = new Set<number>();
  /** Fields a conid did not deliver within a full wait; not waited for again this session. */
  private readonly absent = new Map<number, Set<MarketField>>();
  private readonly resolved = new Map<string, Contract>();
  /** Queries IB found no contract for (queryKey → until when that answer is reused). */
  private readonly unknown = new Map<string, number>();
  private readonly details = new Map<number, Promise<Contract>>();
  /** /trsrv/stocks answers per symbol (undefined: IB does not know it). */
  private readonly stocks = new Map<string, Promise<StockEntryWire[] | undefined>>();
  /** Option chains (secdef search/strikes/info), in options.ts. */
  private readonly options: CpapiOptions;
  /** Accounts, balances, positions and P&L, in portfolio.ts. */
  private readonly portfolio: CpapiPortfolio;
  /** Merges concurrent snapshot requests (snapshot-batcher.ts). */
  private readonly batcher: SnapshotBatcher;
  /** Orders: place, reply, what-if, live, status, modify, cancel, trades (orders.ts). */
  private readonly orders: CpapiOrders;

  constructor(opts: CpapiBackendOptions) {
    this.log = opts.log ?? silentLogger;
    this.http = new CpapiHttp({
      baseUrl: opts.baseUrl,
      timeoutMs: opts.timeoutMs,
      insecureTls: opts.insecureTls,
      log: this.log,
      pacer: opts.pacer,
      gate: opts.gate,
    });
    this.simulated = opts.simulated === true;
    if (this.simulated) this.mode = 'SIMULATED';
    this.name = `cpapi ${this.http.url}`;
    this.batcher = new SnapshotBatcher(this.http);
    this.options = new CpapiOptions(this.http, this.log);
    this.portfolio = new CpapiPortfolio({
      http: this.http,
      ensureIserverAccounts: (signal) => this.ensureAccounts(signal),
      log: this.log,
    });
    this.orders = new CpapiOrders(
      this.http,
      {
        ensureAccounts: (signal) => this.ensureAccounts(signal),
        // Read fresh for every order: paper or live comes from IB each time, never from a cache.
        iserverAccounts: async (signal) => {
          const accounts = [...(await this.ensureAccounts(signal, true))];
          return { accounts, isPaper: this.isPaper, selected: this.selectedAccount };
        },
        accountCurrencies: async (signal) => {
          const list = await this.portfolio.listAccounts({ signal });
          // Only currencies IB named: the notional cap must not check against an assumed USD.
          return Object.fromEntries(list.filter((a) => !a.currencyAssumed).map((a) => [a.id, a.currency]));
        },
      },
      this.log,
      opts.sleep,
    );
    this.http.setHooks({
      queryAccounts: async (signal) => {
        await this.ensureAccounts(signal, true);
      },
      sessionReset: () => this.onSessionReset(),
    });
  }

  accountMode(): AccountMode {
    return this.mode;
  }

  private onSessionReset(): void {
    this.warmed = undefined;
    this.options.onSessionReset();
    this.portfolio.onSessionReset();
    this.subscribed.clear();
    this.absent.clear();
    this.accountsKnown = false;
  }

  /**
   * Takes an /iserver/accounts answer read in this brokerage session by someone else (the session
   * manager reads it right after login): IB's requirement is met, and the request is not repeated.
   */
  adoptAccounts(answer: unknown): string[] {
    const read = readIserverAccounts(answer);
    this.accounts = read.accounts;
    this.accountsKnown = true;
    this.isPaper = read.isPaper;
    this.selectedAccount = read.selected;
    if (!this.simulated && read.mode !== 'UNKNOWN') this.mode = read.mode;
    return read.accounts;
  }

  /** GET /iserver/accounts once per brokerage session (single flight). */
  private async ensureAccounts(signal?: AbortSignal, force = false): Promise<string[]> {
    if (this.accountsKnown && !force) return this.accounts;
    if (!this.accountsFlight) {
      this.accountsFlight = (async () => {
        const res = await this.http.get<unknown>('/iserver/accounts', { signal, noRecovery: true });
        return this.adoptAccounts(res.data);
      })().finally(() => {
        this.accountsFlight = undefined;
      });
    }
    return this.accountsFlight;
  }

  async sessionStatus(opts: CallOptions = {}): Promise<SessionStatus> {
    const read = async (): Promise<Row | undefined> => {
      try {
        const res = await this.http.post<unknown>('/iserver/auth/status', { signal: opts.signal, idempotent: true });
        return isObject(res.data) ? res.data : {};
      } catch (err) {
        if (isBrokerError(err) && err.code === 'NOT_AUTHENTICATED') return undefined;
        throw err;
      }
    };
    let st = await read();
    if (st && st['connected'] === true && st['authenticated'] !== true && st['competing'] !== true) {
      // Logged in to the portal but no brokerage session yet: open one (IB's documented step).
      try {
        await this.http.initBrokerageSession(opts.signal);
        st = await read();
      } catch (err) {
        if (isBrokerError(err) && err.code === 'CANCELLED') throw err;
      }
    }
    const loginHint = `Log in to the gateway at ${this.http.url} in a browser, then retry.`;
    if (!st) {
      return {
        authenticated: false,
        connected: false,
        competing: false,
        mode: this.mode,
        accounts: [],
        message: loginHint,
      };
    }
    const authenticated = st['authenticated'] === true;
    const status: SessionStatus = {
      authenticated,
      connected: st['connected'] === true,
      competing: st['competing'] === true,
      mode: this.mode,
      accounts: [],
    };
    const msg = str(st['message']) ?? str(st['fail']);
    if (authenticated) {
      status.accounts = [...(await this.ensureAccounts(opts.signal))];
      status.mode = this.mode;
    } else {
      this.onSessionReset();
      status.message = status.competing
        ? 'Another session (TWS, mobile or another browser) holds the brokerage session for this user. Log out there or log in again at the gateway.'
        : (msg ?? loginHint);
    }
    if (authenticated && msg) status.message = msg;
    return status;
  }

  // ---------------------------------------------------------------- contracts

  async contractDetails(conid: number, opts: CallOptions = {}): Promise<Contract> {
    if (!Number.isInteger(conid) || conid <= 0) {
      throw new BrokerError('INVALID_INPUT', `Invalid conid ${conid}.`, { hint: 'A conid is a positive integer.' });
    }
    let p = this.details.get(conid);
    if (!p) {
      p = (async () => {
        let res: { data: unknown };
        try {
          res = await this.http.get<unknown>(`/iserver/contract/${conid}/info`, { signal: opts.signal });
        } catch (err) {
          // IB answers 400 (or 500) "invalid conid" for a conid it does not know.
          if (isBrokerError(err) && (err.code === 'INVALID_INPUT' || err.code === 'NOT_FOUND')) {
            throw new BrokerError('NOT_FOUND', `No contract with conid ${conid}.`, {
              hint: 'Check the conid, or use search_contracts to find the instrument.',
              details: { conid, error: err.details?.['error'] },
            });
          }
          throw err;
        }
        const data = res.data;
        if (!isObject(data) || typeof data['error'] === 'string' || (!data['con_id'] && !data['symbol'])) {
          const why = isObject(data) && typeof data['error'] === 'string' ? `: ${untrusted(data['error'])}.` : '.';
          throw new BrokerError('NOT_FOUND', `No contract with conid ${conid}${why}`, {
            hint: 'Check the conid, or use search_contracts to find the instrument.',
            details: { conid },
          });
        }
        return parseContractInfo(conid, data);
      })();
      this.details.set(conid, p);
      p.catch(() => this.details.delete(conid));
    }
    return p;
  }

  async resolveContract(query: ContractQuery, opts: CallOptions = {}): Promise<Contract> {
    const [r] = await this.resolveContracts([query], opts);
    if (r instanceof BrokerError) throw r;
    if (!r) throw new BrokerError('NOT_FOUND', 'No contract found.');
    return r;
  }

  async resolveContracts(queries: ContractQuery[], opts: CallOptions = {}): Promise<Array<Contract | BrokerError>> {
    // Resolution is nearly always followed by market data, which needs /iserver/accounts first:
    // ask for it now, in parallel, instead of after the lookups (one round trip less on a cold call).
    if (!this.accountsKnown) this.ensureAccounts(opts.signal).catch(() => {});
    const results: Array<Contract | BrokerError | undefined> = new Array(queries.length);
    const budget: SearchBudget = { left: MAX_SEARCHES_PER_CALL, wanted: 0 };
    const work: Array<Promise<void>> = [];
    // Symbols that /trsrv/stocks may know, batched into few requests.
    const stockIdx: number[] = [];
    queries.forEach((q, i) => {
      if (q.conid !== undefined) {
        work.push(
          this.contractDetails(q.conid, opts).then(
            (c) => {
              results[i] = c;
            },
            (e) => {
              results[i] = toBrokerError(e);
            },
          ),
        );
        return;
      }
      const symbol = q.symbol?.trim();
      if (!symbol) {
        results[i] = new BrokerError('INVALID_INPUT', 'Give a symbol or a conid.', {
          hint: 'Pass symbol (e.g. "AAPL") or conid.',
        });
        return;
      }
      const cached = this.resolved.get(queryKey(q));
      if (cached) {
        results[i] = cached;
        return;
      }
      if ((q.secType === undefined || q.secType === 'STK') && /^[A-Z][A-Z0-9 .]*$/.test(symbol.toUpperCase())) {
        stockIdx.push(i);
      } else {
        work.push(
          this.resolveOne(q, undefined, budget, opts).then((r) => {
            results[i] = r;
          }),
        );
      }
    });
    if (stockIdx.length > 0) {
      const symbols = [...new Set(stockIdx.map((i) => (queries[i]?.symbol ?? '').trim().toUpperCase()))];
      const stocksReady = this.lookupStocks(symbols, opts.signal);
      for (const i of stockIdx) {
        const q = queries[i] as ContractQuery;
        const sym = (q.symbol ?? '').trim().toUpperCase();
        work.push(
          stocksReady
            .then(async (m) => this.resolveOne(q, await m.get(sym), budget, opts))
            .then(
              (r) => {
                results[i] = r;
              },
              (e) => {
                results[i] = toBrokerError(e);
              },
            ),
        );
      }
    }
    await Promise.all(work);
    if (opts.signal?.aborted) throw new BrokerError('CANCELLED', 'The request was cancelled.');
    if (budget.wanted > MAX_SEARCHES_PER_CALL) {
      this.log.info('contract resolution: search budget of one call spent', {
        searched: MAX_SEARCHES_PER_CALL,
        skipped: budget.wanted - MAX_SEARCHES_PER_CALL,
      });
    }
    return results.map((r) => r ?? new BrokerError('NOT_FOUND', 'No contract found.'));
  }

  /** Fetches /trsrv/stocks for the symbols not yet looked up, chunked; per-symbol single flight. */
  private async lookupStocks(
    symbols: string[],
    signal?: AbortSignal,
  ): Promise<Map<string, Promise<StockEntryWire[] | undefined>>> {
    const todo = symbols.filter((s) => !this.stocks.has(s));
    for (const group of chunk(todo, STOCKS_CHUNK)) {
      const req = this.http
        .get<unknown>('/trsrv/stocks', { query: { symbols: group.join(',') }, signal })
        .then((res) => (isObject(res.data) ? res.data : {}));
      for (const sym of group) {
        const p = req.then((data) => {
          const v = data[sym] ?? data[sym.toLowerCase()];
          return Array.isArray(v) && v.length > 0 ? (v as StockEntryWire[]) : undefined;
        });
        this.stocks.set(sym, p);
        p.catch(() => this.stocks.delete(sym));
      }
    }
    const out = new Map<string, Promise<StockEntryWire[] | undefined>>();
    for (const s of symbols) out.set(s, this.stocks.get(s) as Promise<StockEntryWire[] | undefined>);
    return out;
  }

  /**
   * Resolves one symbol query; `stockEntries` from /trsrv/stocks when it was consulted. A query
   * that needs a search of its own takes one from the call's `budget`, unless IB recently found
   * nothing for it.
   */
  private async resolveOne(
    q: ContractQuery,
    stockEntries: StockEntryWire[] | undefined,
    budget: SearchBudget,
    opts: CallOptions,
  ): Promise<Contract | BrokerError> {
    try {
      const symbol = (q.symbol ?? '').trim().toUpperCase();
      const key = queryKey(q);
      let picked: Contract | BrokerError | undefined;
      if (stockEntries) picked = await this.pickCandidate(q, stockCandidates(symbol, stockEntries), opts);
      if (picked === undefined) {
        const until = this.unknown.get(key);
        if (until !== undefined && until > Date.now()) return this.notFound(q, true);
        budget.wanted++;
        if (budget.left <= 0) return this.tooManyUnknown(q);
        budget.left--;
        if (q.secType === 'FUT') picked = await this.resolveFuture(q, opts);
        if (picked === undefined) picked = await this.resolveBySearch(q, opts);
        if (picked instanceof BrokerError && picked.code === 'NOT_FOUND') this.rememberUnknown(key);
      }
      if (picked instanceof BrokerError) return picked;
      this.unknown.delete(key);
      this.resolved.set(key, picked);
      return picked;
    } catch (err) {
      return toBrokerError(err);
    }
  }

  private rememberUnknown(key: string): void {
    const now = Date.now();
    if (this.unknown.size >= UNKNOWN_MAX) {
      for (const [k, until] of this.unknown) if (until <= now) this.unknown.delete(k);
      // Still full: forget the oldest (a Map iterates in insertion order).
      for (const k of this.unknown.keys()) {
        if (this.unknown.size < UNKNOWN_MAX) break;
        this.unknown.delete(k);
      }
    }
    this.unknown.delete(key);
    this.unknown.set(key, now + UNKNOWN_TTL_MS);
  }

  private tooManyUnknown(q: ContractQuery): BrokerError {
    return new BrokerError(
      'REFUSED',
      `Not resolved: too many unknown symbols in one call (at most ${MAX_SEARCHES_PER_CALL} symbols are searched one by one per call; ${describe(q)} was not searched).`,
      {
        hint: 'Use conids, or fewer symbols per call. Symbols already searched are remembered, so repeating the call searches the next ones.',
        details: { query: q, maxSearchesPerCall: MAX_SEARCHES_PER_CALL },
      },
    );
  }

  /**
   * Chooses among candidates by exchange/currency, preferring the US listing when no exchange
   * is given and the currency (if any) is USD. undefined when nothing matches (the caller then tries another route).
   */
  private async pickCandidate(
    q: ContractQuery,
    all: Candidate[],
    opts: CallOptions,
  ): Promise<Contract | BrokerError | undefined> {
    let cands = dedupeByConid(all);
    const exchange = normExchange(q.exchange);
    const currency = q.currency?.trim().toUpperCase();
    if (exchange) cands = cands.filter((c) => exchangeMatches(exchange, c.exchange));
    if (currency && cands.length > 0) cands = await this.filterByCurrency(cands, currency, opts);
    // Without an exchange, a US listing wins over foreign ones (in USD, or when no currency was asked).
    if (!exchange && (!currency || currency === 'USD')) {
      const us = cands.filter((c) => c.isUS === true || US_EXCHANGES.has(normExchange(c.exchange) ?? ''));
      if (us.length > 0) cands = us;
      // Several US listings from /trsrv/stocks: IB lists the main company's entry first.
      if (cands.length > 1 && cands.every((c) => c.isUS === true && c.entry !== undefined)) {
        const first = Math.min(...cands.map((c) => c.entry as number));
        const top = cands.filter((c) => c.entry === first);
        if (top.length === 1) cands = top;
      }
    }
    if (cands.length === 0) return undefined;
    if (cands.length === 1) {
      const only = cands[0] as Candidate;
      if (only.currency) return publicContract(only);
      // A foreign listing from /trsrv/stocks carries no currency; a price must never be shown without one.
      const [withCurrency] = await this.filterByCurrency([only], '', opts, true);
      return publicContract(withCurrency ?? only);
    }
    return this.ambiguous(q, cands.map(publicContract));
  }

  /** Candidates in `currency`, looking currencies up where IB's answer lacked them (or all of them, with `keepAll`). */
  private async filterByCurrency(
    cands: Candidate[],
    currency: string,
    opts: CallOptions,
    keepAll = false,
  ): Promise<Candidate[]> {
    const keep = (c: Candidate) => keepAll || c.currency === currency;
    const known = cands.filter((c) => c.currency);
    if (known.length === cands.length) return cands.filter(keep);
    const checked = await Promise.all(
      cands.slice(0, 8).map(async (c) => {
        if (c.currency) return c;
        try {
          const d = await this.contractDetails(c.conid, opts);
          return { ...c, currency: d.currency, exchange: c.exchange ?? d.exchange } as Candidate;
        } catch {
          return c;
        }
      }),
    );
    return checked.filter(keep);
  }

  private ambiguous(q: ContractQuery, cands: Contract[]): BrokerError {
    return new BrokerError('AMBIGUOUS', `${describe(q)} matches ${cands.length} contracts.`, {
      hint: 'Pass the conid of the one you mean, or narrow it with exchange and/or currency.',
      details: { query: q, candidates: candidateList(cands) },
    });
  }

  private notFound(q: ContractQuery, remembered = false): BrokerError {
    const when = remembered
      ? ` (IB found none in the last ${UNKNOWN_TTL_MS / 60_000} minutes; not searched again)`
      : '';
    return new BrokerError('NOT_FOUND', `No contract found for ${describe(q)}${when}.`, {
      hint: 'Check the symbol, or try search_contracts with the company name; for non-US listings pass exchange/currency.',
      details: { query: q },
    });
  }

  /** Front-month future via /trsrv/futures. */
  private async resolveFuture(q: ContractQuery, opts: CallOptions): Promise<Contract | BrokerError | undefined> {
    const symbol = (q.symbol ?? '').trim().toUpperCase();
    let data: unknown;
    try {
      data = (await this.http.get<unknown>('/trsrv/futures', { query: { symbols: symbol }, signal: opts.signal })).data;
    } catch (err) {
      if (isBrokerError(err) && (err.code === 'NOT_FOUND' || err.code === 'INVALID_INPUT')) return undefined;
      throw err;
    }
    const list = isObject(data) && Array.isArray(data[symbol]) ? (data[symbol] as Row[]) : [];
    const today = Number(new Date().toISOString().slice(0, 10).replace(/-/g, ''));
    const live = list
      .filter(isObject)
      .map((r) => ({ r, exp: Number(r['expirationDate'] ?? r['ltd']) }))
      .filter((x) => toConid(x.r['conid']) && Number.isFinite(x.exp) && x.exp >= today)
      .sort((a, b) => a.exp - b.exp);
    const front = live[0];
    if (!front) return undefined;
    const c: Contract = { conid: toConid(front.r['conid']) as number, symbol, secType: 'FUT' };
    const expiry = ymd(front.r['expirationDate']);
    if (expiry) c.expiry = expiry;
    const und = toConid(front.r['underlyingConid']);
    if (und) c.underlyingConid = und;
    return c;
  }

  private async secdefSearch(text: string, opts: SearchOptions): Promise<Row[]> {
    const body: Record<string, unknown> = { symbol: text };
    if (opts.byName) body['name'] = true;
    if (opts.secType === 'STK' || opts.secType === 'IND' || opts.secType === 'BOND') body['secType'] = opts.secType;
    const res = await this.http.post<unknown>('/iserver/secdef/search', {
      body,
      idempotent: true,
      signal: opts.signal,
    });
    return Array.isArray(res.data) ? (res.data as unknown[]).filter(isObject) : [];
  }

  private async resolveBySearch(q: ContractQuery, opts: CallOptions): Promise<Contract | BrokerError> {
    const symbol = (q.symbol ?? '').trim().toUpperCase();
    const wanted = q.secType ?? 'STK';
    const rows = await this.secdefSearch(symbol, { secType: wanted, signal: opts.signal });
    let cands = dedupeByConid(
      rows.map((r) => searchRowToContract(r, wanted)).filter((c): c is Contract => c !== undefined),
    );
    const exact = cands.filter((c) => c.symbol.toUpperCase() === symbol);
    if (exact.length > 0) cands = exact;
    const picked = await this.pickCandidate(
      q,
      cands.map((c) => ({ ...c })),
      opts,
    );
    return picked ?? this.notFound(q);
  }

  async searchContracts(text: string, opts: SearchOptions = {}): Promise<Contract[]> {
    const t = text.trim();
    if (!t) throw new BrokerError('INVALID_INPUT', 'Give a symbol or a company name to search for.');
    const rows = await this.secdefSearch(t, opts);
    let out = dedupeByConid(
      rows
        .map((r) => searchRowToContract(r, opts.secType && opts.secType !== 'STK' ? opts.secType : undefined))
        .filter((c): c is Contract => c !== undefined),
    );
    if (opts.secType) {
      const same = out.filter((c) => c.secType === opts.secType);
      if (same.length > 0) out = same;
    }
    if (out.length === 0 && !opts.byName && (opts.secType ?? 'STK') === 'STK' && /^[A-Z][A-Z0-9 .]*$/i.test(t)) {
      const sym = t.toUpperCase();
      const entries = await (await this.lookupStocks([sym], opts.signal)).get(sym);
      if (entries) out = stockCandidates(sym, entries).map(publicContract);
    }
    return out;
  }

  // ---------------------------------------------------------------- market data

  fieldsFromCodes(codes: readonly string[]): { fields: MarketField[]; unknown: string[] } {
    return fieldsFromCodes(codes);
  }

  warmUp(opts: CallOptions = {}): Promise<void> {
    // Once per brokerage session (onSessionReset clears it), however many callers ask.
    this.warmed ??= (async () => {
      try {
        await this.ensureAccounts(opts.signal);
        const bg = { ...opts, background: true };
        // Live orders first: IB's 5-second clock on that endpoint starts with this request, and a
        // background request only goes while few slots of the window are taken.
        await this.orders.primeLiveOrders(bg).catch(() => undefined);
        await this.portfolio.listAccounts(bg).catch(() => undefined);
      } catch (err) {
        this.warmed = undefined;
        this.log.debug('warm-up skipped', { err: (err as Error).message });
      }
    })();
    return this.warmed;
  }

  async snapshot(
    conids: number[],
    fields: readonly MarketField[],
    opts: SnapshotOptions = {},
  ): Promise<MarketSnapshot[]> {
    const ids = [...new Set(conids)];
    for (const c of ids) {
      if (!Number.isInteger(c) || c <= 0) {
        throw new BrokerError('INVALID_INPUT', `Invalid conid ${c}.`, { hint: 'Conids are positive integers.' });
      }
    }
    if (ids.length === 0) return [];
    const wanted = [...new Set(fields)];
    await this.ensureAccounts(opts.signal);
    const codes = codesForFields(wanted);
    if (!codes.includes(AVAILABILITY_CODE)) codes.push(AVAILABILITY_CODE);
    const codeChunks = chunk(codes, MAX_SNAPSHOT_FIELDS);
    const deadline = Date.now() + Math.max(0, opts.maxWaitMs ?? DEFAULT_MAX_WAIT_MS);
    const rows = new Map<number, Row>();
    await Promise.all(
      chunk(ids, MAX_SNAPSHOT_CONIDS).map((batch) => this.pollBatch(batch, wanted, codeChunks, deadline, rows, opts)),
    );
    return conids
      .filter((c, i) => conids.indexOf(c) === i)
      .map((conid) => {
        const row = rows.get(conid) ?? { conid };
        const snap = parseSnapshotRow(row, wanted);
        snap.conid = conid;
        const missing = wanted.filter((f) => snap.values[f] === undefined);
        if (missing.length > 0) snap.missing = missing;
        return snap;
      });
  }

  /** Fields this conid still owes (ignoring ones it did not deliver in an earlier full wait). */
  private owed(conid: number, row: Row | undefined, fields: readonly MarketField[]): MarketField[] {
    if (!row) return [...fields];
    if (parseAvailability(row[AVAILABILITY_CODE]) === 'not-subscribed') return [];
    const skip = this.absent.get(conid);
    return fields.filter((f) => !rowHasField(row, f) && !skip?.has(f));
  }

  private async pollBatch(
    batch: number[],
    fields: readonly MarketField[],
    codeChunks: string[][],
    deadline: number,
    rows: Map<number, Row>,
    opts: SnapshotOptions,
  ): Promise<void> {
    let pending = batch;
    let round = 0;
    let dataAt: number | undefined;
    for (;;) {
      await Promise.all(
        codeChunks.map(async (codes) => {
          const data = await this.batcher.fetch(pending, codes, opts.signal);
          const mine = new Set(pending);
          for (const item of data) {
            if (!isObject(item)) continue;
            const conid = toConid(item['conid']);
            if (!conid || !mine.has(conid)) continue;
            const prev = rows.get(conid);
            rows.set(conid, prev ? { ...prev, ...item } : { ...item });
          }
        }),
      );
      for (const c of pending) this.subscribed.add(c);
      const still = pending.filter((c) => this.owed(c, rows.get(c), fields).length > 0);
      if (still.length === 0) return;
      // Once every conid has delivered data, stragglers get a short grace period only: a field an
      // instrument simply lacks (no dividend, no greeks) must not cost the whole wait.
      if (still.every((c) => hasData(rows.get(c)))) {
        dataAt ??= Date.now();
        deadline = Math.min(deadline, dataAt + STRAGGLER_MS);
      }
      const delay = POLL_DELAYS_MS[Math.min(round, POLL_DELAYS_MS.length - 1)] as number;
      if (Date.now() + delay > deadline) {
        // Give up on these fields for this session's later calls (they are requested, not awaited).
        for (const c of still) {
          const row = rows.get(c);
          if (!row || Object.keys(row).every((k) => k === 'conid' || k === 'conidEx')) continue;
          const owed = this.owed(c, row, fields);
          let set = this.absent.get(c);
          if (!set) {
            set = new Set();
            this.absent.set(c, set);
          }
          for (const f of owed) set.add(f);
        }
        return;
      }
      await sleep(delay, opts.signal);
      pending = still;
      round++;
    }
  }

  async history(req: HistoryRequest, opts: CallOptions = {}): Promise<HistoryResult> {
    const { period, bar } = validateHistoryParams(req.period, req.bar);
    if (!Number.isInteger(req.conid) || req.conid <= 0) {
      throw new BrokerError('INVALID_INPUT', `Invalid conid ${req.conid}.`, { hint: 'Conids are positive integers.' });
    }
    const query: Record<string, string | number | boolean | undefined> = { conid: req.conid, period, bar };
    if (req.outsideRth !== undefined) query['outsideRth'] = req.outsideRth;
    if (req.endTime !== undefined && String(req.endTime).trim() !== '') query['startTime'] = toIbStartTime(req.endTime);
    const res = await this.http.get<unknown>('/iserver/marketdata/history', { query, signal: opts.signal });
    if (isObject(res.data) && typeof res.data['error'] === 'string') {
      throw new BrokerError('NO_MARKET_DATA', `No history for conid ${req.conid}: ${untrusted(res.data['error'])}`, {
        hint: 'Check the conid and the period; some instruments have no data for some bar sizes.',
        details: { conid: req.conid, period, bar },
      });
    }
    return parseHistoryResponse(req.conid, res.data);
  }

  // ---------------------------------------------------------------- options (options.ts)

  optionExpirations(underlying: Contract, opts?: CallOptions): Promise<OptionChainInfo> {
    return this.options.optionExpirations(underlying, opts);
  }

  optionStrikes(underlying: Contract, expirationOrMonth: string, opts?: CallOptions): Promise<OptionStrikes> {
    return this.options.optionStrikes(underlying, expirationOrMonth, opts);
  }

  optionContracts(
    underlying: Contract,
    expiration: string,
    query?: OptionContractQuery,
    opts?: CallOptions,
  ): Promise<Contract[]> {
    return this.options.optionContracts(underlying, expiration, query, opts);
  }

  // ---------------------------------------------------------------- portfolio (portfolio.ts)

  listAccounts(opts?: CallOptions): Promise<AccountInfo[]> {
    return this.portfolio.listAccounts(opts);
  }

  accountBalances(accountId: string, opts?: CallOptions): Promise<AccountBalances> {
    return this.portfolio.accountBalances(accountId, opts);
  }

  ledger(accountId: string, opts?: CallOptions): Promise<Ledger> {
    return this.portfolio.ledger(accountId, opts);
  }

  positions(accountId: string, opts?: CallOptions): Promise<Position[]> {
    return this.portfolio.positions(accountId, opts);
  }

  allocation(accountId: string, opts?: CallOptions): Promise<Allocation> {
    return this.portfolio.allocation(accountId, opts);
  }

  pnl(opts?: CallOptions): Promise<AccountPnl[]> {
    return this.portfolio.pnl(opts);
  }

  // Orders (src/backends/cpapi/orders.ts); writes are sent once, never retried.
  tradingAccounts(opts?: CallOptions): Promise<TradingAccounts> {
    return this.orders.tradingAccounts(opts);
  }

  previewOrder(order: OrderRequest, opts?: CallOptions): Promise<OrderPreview> {
    return this.orders.previewOrder(order, opts);
  }

  placeOrder(order: OrderRequest, opts?: CallOptions): Promise<PlaceOutcome> {
    return this.orders.placeOrder(order, opts);
  }

  reply(replyId: string, confirmed: boolean, opts?: CallOptions): Promise<PlaceOutcome> {
    return this.orders.reply(replyId, confirmed, opts);
  }

  liveOrders(opts?: LiveOrdersOptions): Promise<LiveOrder[]> {
    return this.orders.liveOrders(opts);
  }

  orderStatus(orderId: string, opts?: CallOptions): Promise<LiveOrder> {
    return this.orders.orderStatus(orderId, opts);
  }

  modifyOrder(orderId: string, order: OrderRequest, opts?: CallOptions): Promise<PlaceOutcome> {
    return this.orders.modifyOrder(orderId, order, opts);
  }

  cancelOrder(accountId: string, orderId: string, opts?: CallOptions): Promise<CancelResult> {
    return this.orders.cancelOrder(accountId, orderId, opts);
  }

  trades(days: number, opts?: CallOptions): Promise<Trade[]> {
    return this.orders.trades(days, opts);
  }

  findOrderByClientId(clientOrderId: string, opts?: CallOptions): Promise<LiveOrder | undefined> {
    return this.orders.findOrderByClientId(clientOrderId, opts);
  }

  async close(): Promise<void> {
    await this.http.close();
  }
}

/** How many one-by-one searches a resolveContracts call may still start, and how many it wanted. */
interface SearchBudget {
  left: number;
  wanted: number;
}

function toBrokerError(err: unknown): BrokerError {
  if (err instanceof BrokerError) return err;
  return new BrokerError('GATEWAY_ERROR', String((err as Error)?.message ?? err), { cause: err });
}

export function createCpapiBackend(opts: CpapiBackendOptions): CpapiBackend {
  return new CpapiBackend(opts);
}
