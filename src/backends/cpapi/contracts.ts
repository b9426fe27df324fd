/**
 * Contract resolution over the Client Portal API: conid details, symbol queries (batched
 * /trsrv/stocks, then secdef search or /trsrv/futures one by one), the choice among candidates
 * by exchange and currency, and free-text search.
 *
 * One call may search at most MAX_SEARCHES_PER_CALL symbols one by one; queries IB found
 * nothing for are answered from memory for UNKNOWN_TTL_MS. Resolved queries and conid details
 * are kept for the process (contracts do not change with the brokerage session).
 */
import type { CallOptions, SearchOptions } from '../../broker/backend.js';
import { BrokerError, isBrokerError } from '../../broker/errors.js';
import type { Contract, ContractQuery } from '../../broker/types.js';
import { untrusted } from '../../broker/untrusted.js';
import { type Logger, silentLogger } from '../../log.js';
import {
  type Candidate,
  candidateList,
  dedupeByConid,
  describe,
  exchangeMatches,
  hasFuturesSection,
  normExchange,
  parseContractInfo,
  parseFuturesList,
  publicContract,
  queryKey,
  type StockEntryWire,
  searchRowToContract,
  stockCandidates,
  stockEntriesOf,
  US_EXCHANGES,
} from './contract-wire.js';
import type { CpapiHttp } from './http.js';
import { chunk, isObject, type Row, str } from './wire.js';

/** Security types IB's secdef search takes as `secType` (v3: STK, IND, BOND; IB's futures guide: FUT). */
const SEARCH_SEC_TYPES = new Set(['STK', 'IND', 'BOND', 'FUT']);

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

/** How many one-by-one searches a resolveContracts call may still start, and how many it wanted. */
interface SearchBudget {
  left: number;
  wanted: number;
}

function toBrokerError(err: unknown): BrokerError {
  if (err instanceof BrokerError) return err;
  return new BrokerError('GATEWAY_ERROR', String((err as Error)?.message ?? err), { cause: err });
}

export interface CpapiContractsDeps {
  http: CpapiHttp;
  log?: Logger;
  /**
   * Resolution is nearly always followed by market data, which needs /iserver/accounts first:
   * called at the start of a resolution so that request goes in parallel with the lookups.
   */
  prefetchAccounts?: (signal?: AbortSignal) => void;
}

export class CpapiContracts {
  private readonly http: CpapiHttp;
  private readonly log: Logger;
  private readonly prefetchAccounts: (signal?: AbortSignal) => void;
  private readonly resolved = new Map<string, Contract>();
  /** Queries IB found no contract for (queryKey → until when that answer is reused). */
  private readonly unknown = new Map<string, number>();
  private readonly details = new Map<number, Promise<Contract>>();
  /** Every contract this process has seen, by conid (for the unit and derivative rules of market data). */
  private readonly known = new Map<number, Contract>();
  /** /trsrv/stocks answers per symbol (undefined: IB does not know it). */
  private readonly stocks = new Map<string, Promise<StockEntryWire[] | undefined>>();

  constructor(deps: CpapiContractsDeps) {
    this.http = deps.http;
    this.log = deps.log ?? silentLogger;
    this.prefetchAccounts = deps.prefetchAccounts ?? (() => {});
  }

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
        return this.remember(parseContractInfo(conid, data));
      })();
      this.details.set(conid, p);
      p.catch(() => this.details.delete(conid));
    }
    return p;
  }

  private remember<T extends Contract>(c: T): T {
    if (!this.known.has(c.conid) || c.currency) this.known.set(c.conid, c);
    return c;
  }

  /** The contract of a conid this process has already seen (no request). */
  knownConid(conid: number): Contract | undefined {
    return this.known.get(conid);
  }

  /** The contract of a conid: from what this process has seen, else /iserver/contract/{conid}/info; undefined if IB does not know it. */
  async describeConid(conid: number, opts: CallOptions = {}): Promise<Contract | undefined> {
    const seen = this.known.get(conid);
    if (seen) return seen;
    try {
      return await this.contractDetails(conid, opts);
    } catch (err) {
      if (isBrokerError(err) && err.code === 'NOT_FOUND') return undefined;
      throw err;
    }
  }

  async resolveContract(query: ContractQuery, opts: CallOptions = {}): Promise<Contract> {
    const [r] = await this.resolveContracts([query], opts);
    if (r instanceof BrokerError) throw r;
    if (!r) throw new BrokerError('NOT_FOUND', 'No contract found.');
    return r;
  }

  async resolveContracts(queries: ContractQuery[], opts: CallOptions = {}): Promise<Array<Contract | BrokerError>> {
    // Market data usually follows, and needs /iserver/accounts first: ask now, in parallel with the
    // lookups instead of after them (one round trip less on a cold call).
    this.prefetchAccounts(opts.signal);
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
        const p = req.then((data) => stockEntriesOf(data, sym));
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
      this.resolved.set(key, this.remember(picked));
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

  /** The unexpired futures of a symbol from /trsrv/futures, nearest first ([] when IB lists none). */
  private async listFutures(symbol: string, opts: CallOptions): Promise<Contract[]> {
    let data: unknown;
    try {
      data = (await this.http.get<unknown>('/trsrv/futures', { query: { symbols: symbol }, signal: opts.signal })).data;
    } catch (err) {
      if (isBrokerError(err) && (err.code === 'NOT_FOUND' || err.code === 'INVALID_INPUT')) return [];
      throw err;
    }
    return parseFuturesList(symbol, data, new Date().toISOString().slice(0, 10)).map((c) => this.remember(c));
  }

  /** Front-month future via /trsrv/futures. */
  private async resolveFuture(q: ContractQuery, opts: CallOptions): Promise<Contract | BrokerError | undefined> {
    return (await this.listFutures((q.symbol ?? '').trim().toUpperCase(), opts))[0];
  }

  private async secdefSearch(text: string, opts: SearchOptions): Promise<Row[]> {
    const body: Record<string, unknown> = { symbol: text };
    if (opts.byName) body['name'] = true;
    // IB's search defaults to STK: futures must be asked for (ES is also a stock).
    if (opts.secType && SEARCH_SEC_TYPES.has(opts.secType)) body['secType'] = opts.secType;
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

  /**
   * IB answers a futures search with the futures' index row (ES: conid 11004968, sections IND,
   * FUT, FOP; the FUT section has months but no conid): the futures come from /trsrv/futures.
   */
  private async futuresOfRows(rows: readonly Row[], opts: SearchOptions): Promise<Contract[]> {
    const symbols = [...new Set(rows.filter(hasFuturesSection).map((r) => str(r['symbol'])?.toUpperCase() ?? ''))];
    const lists = await Promise.all(symbols.filter(Boolean).map((s) => this.listFutures(s, opts)));
    return dedupeByConid(lists.flat());
  }

  async searchContracts(text: string, opts: SearchOptions = {}): Promise<Contract[]> {
    const t = text.trim();
    if (!t) throw new BrokerError('INVALID_INPUT', 'Give a symbol or a company name to search for.');
    const rows = await this.secdefSearch(t, opts);
    if (opts.secType === 'FUT') return this.futuresOfRows(rows, opts);
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
}
