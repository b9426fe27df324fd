/**
 * Option chains over the Client Portal API:
 *
 *   POST /iserver/secdef/search   the underlying's OPT/FOP section: months, exchanges, and
 *                                 the expiration dates (`opt` / `fop`). IB requires it
 *                                 before strikes, info and derivative snapshots, once per session.
 *   GET  /iserver/secdef/info     strike=K and right: that strike's contracts in the month (IB's
 *                                 documented form). strike=0 listing the whole month is not
 *                                 documented: used as a fast path while the gateway answers it,
 *                                 and dropped for good when it answers [] or 400.
 *   GET  /iserver/secdef/strikes  the month's strikes: without whole-month lists the caller
 *                                 picks strikes from these first and asks only for those.
 *
 * Everything is cached for the session and dropped when the New York date changes; the
 * search is repeated after a brokerage session reset. Requests go through the shared
 * pacer, so months are fetched in parallel without exceeding IB's limits.
 */

import type { CallOptions } from '../../broker/backend.js';
import { BrokerError, isBrokerError } from '../../broker/errors.js';
import { todayNewYork } from '../../broker/locale.js';
import type { OptionChainInfo, OptionContractQuery, OptionSecType, OptionStrikes } from '../../broker/options.js';
import type { Contract, OptionRight } from '../../broker/types.js';
import { ident } from '../../broker/untrusted.js';
import type { Logger } from '../../log.js';
import type { CpapiHttp } from './http.js';
import { isObject, type Row, str, toConid } from './wire.js';

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
/** Above this many strike×right pairs, one whole-month request beats per-strike requests. */
const PER_STRIKE_MAX = 2;
/** Cap on per-strike secdef/info requests for one call (a gateway without whole-month answers). */
const MAX_PER_STRIKE_REQUESTS = 80;

/** `MAR24` → `2024-03`; undefined when malformed. */
export function monthFromCode(code: string): string | undefined {
  const m = /^([A-Z]{3})(\d{2})$/.exec(code.trim().toUpperCase());
  if (!m) return undefined;
  const i = MONTHS.indexOf(m[1] as string);
  return i < 0 ? undefined : `20${m[2]}-${String(i + 1).padStart(2, '0')}`;
}

/** `2024-03` (or an ISO date) → `MAR24`. */
export function codeFromMonth(month: string): string {
  return `${MONTHS[Number(month.slice(5, 7)) - 1]}${month.slice(2, 4)}`;
}

/** `20240315` → `2024-03-15`. */
function isoFromYmd(s: string): string | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})$/.exec(s.trim());
  return m ? `${m[1]}-${m[2]}-${m[3]}` : undefined;
}

export interface SearchChain {
  /** Conid IB wants for strikes/info (the search row's). */
  conid: number;
  secType: OptionSecType;
  exchange: string;
  months: string[];
  /** Dates from the row's `opt`/`fop` list; empty when the gateway did not give them. */
  dates: string[];
}

/**
 * Reads the option section of a secdef/search answer for an underlying: the row whose
 * conid is the underlying's (for a future, the row of its family with an FOP section).
 */
export function chainFromSearch(rows: readonly Row[], underlying: Contract, today: string): SearchChain | undefined {
  const wanted: OptionSecType = underlying.secType === 'FUT' ? 'FOP' : 'OPT';
  const sectionOf = (r: Row) =>
    (Array.isArray(r['sections']) ? (r['sections'] as unknown[]) : [])
      .filter(isObject)
      .find((s) => str(s['secType'])?.toUpperCase() === wanted);
  let row = rows.find((r) => toConid(r['conid']) === underlying.conid && sectionOf(r));
  // IB answers a futures search with the index row (ES: 11004968), which holds the FOP section.
  if (!row && wanted === 'FOP' && underlying.underlyingConid) {
    row = rows.find((r) => toConid(r['conid']) === underlying.underlyingConid && sectionOf(r));
  }
  if (!row && wanted === 'FOP') {
    row = rows.find(
      (r) => str(r['symbol'])?.toUpperCase() === underlying.symbol.toUpperCase() && toConid(r['conid']) && sectionOf(r),
    );
  }
  const conid = row ? toConid(row['conid']) : undefined;
  if (!row || !conid) return undefined;
  const sec = sectionOf(row) as Row;
  const months = (str(sec['months']) ?? '')
    .split(';')
    .map((m) => monthFromCode(m))
    .filter((m): m is string => m !== undefined && m >= today.slice(0, 7));
  const exchanges = (str(sec['exchange']) ?? '')
    .split(/[;,]/)
    .map((e) => e.trim().toUpperCase())
    .filter(Boolean);
  const exchange = exchanges.includes('SMART') ? 'SMART' : (exchanges[0] ?? (wanted === 'FOP' ? 'CME' : 'SMART'));
  const dates = (str(row[wanted === 'FOP' ? 'fop' : 'opt']) ?? '')
    .split(';')
    .map((d) => isoFromYmd(d))
    .filter((d): d is string => d !== undefined && d >= today);
  return {
    conid,
    secType: wanted,
    exchange,
    months: [...new Set(months)].sort(),
    dates: [...new Set(dates)].sort(),
  };
}

/** One secdef/info row → Contract (undefined when it is not an option row). */
export function contractFromInfo(row: Row, underlyingConid: number): Contract | undefined {
  const conid = toConid(row['conid']);
  // A strike IB left out or sent as null is missing (Number(null) would make it 0).
  const strike = str(row['strike']) === undefined ? Number.NaN : Number(str(row['strike']));
  const right = str(row['right'])?.toUpperCase();
  const expiry = isoFromYmd(str(row['maturityDate']) ?? '');
  const secType = str(row['secType'])?.toUpperCase();
  if (!conid || !Number.isFinite(strike) || !expiry) return undefined;
  if (right !== 'C' && right !== 'P' && right !== 'CALL' && right !== 'PUT') return undefined;
  const c: Contract = {
    conid,
    symbol: str(row['symbol']) ?? '',
    secType: secType === 'FOP' ? 'FOP' : 'OPT',
    expiry,
    strike,
    right: (right[0] as OptionRight) ?? 'C',
    underlyingConid,
  };
  const exchange = str(row['exchange']);
  if (exchange) c.exchange = exchange;
  const currency = str(row['currency']);
  if (currency) c.currency = currency;
  const mult = Number(row['multiplier']);
  if (Number.isFinite(mult) && mult > 0) c.multiplier = mult;
  const tc = str(row['tradingClass']);
  if (tc) c.tradingClass = tc;
  const desc = str(row['desc2']);
  if (desc) c.name = desc;
  return c;
}

/** /iserver/secdef/strikes: {call: [...], put: [...]} (numbers or numeric text; "calls"/"puts" also read), ascending. */
export function parseStrikes(data: unknown): { call: number[]; put: number[] } {
  const d = isObject(data) ? data : {};
  const list = (v: unknown) =>
    (Array.isArray(v) ? v : [])
      .map((x) => (typeof x === 'number' || typeof x === 'string' ? Number(x) : Number.NaN))
      .filter((x) => Number.isFinite(x) && x > 0)
      .sort((a, b) => a - b);
  return { call: list(d['call'] ?? d['calls']), put: list(d['put'] ?? d['puts']) };
}

/** Security types whose quotes need a secdef search first in the session. */
export function isDerivative(secType: string | undefined): boolean {
  return secType === 'OPT' || secType === 'FOP' || secType === 'FUT' || secType === 'WAR';
}

/** The `secType` a secdef search for this underlying sends (IB's default is STK; ES is also a stock). */
function searchSecType(secType: string | undefined): string | undefined {
  return secType === 'STK' || secType === 'IND' || secType === 'FUT' ? secType : undefined;
}

function byStrikeRight(a: Contract, b: Contract): number {
  return (a.strike ?? 0) - (b.strike ?? 0) || (a.right === b.right ? 0 : a.right === 'C' ? -1 : 1);
}

function sameStrike(a: number, b: number): boolean {
  return Math.abs(a - b) < 1e-6 * Math.max(1, Math.abs(a));
}

function noOptions(u: Contract): BrokerError {
  return new BrokerError(
    'NOT_FOUND',
    `${ident(u.symbol)} (${ident(u.secType)}, conid ${u.conid}) has no listed options.`,
    {
      hint: 'Check the underlying: for index options pass secType IND (e.g. SPX), for futures options secType FUT (e.g. ES).',
      details: { conid: u.conid, symbol: u.symbol },
    },
  );
}

export class CpapiOptions {
  private day = '';
  /** Search results per underlying conid, for this brokerage session. */
  private searched = new Map<number, Promise<SearchChain | undefined>>();
  /** Whole-month contracts, key conid|secType|month|right|exchange. */
  private monthInfo = new Map<string, Promise<Contract[]>>();
  /** Per-strike contracts, key conid|secType|month|strike|right|exchange. */
  private strikeInfo = new Map<string, Promise<Contract[]>>();
  /** secdef/strikes answers, key conid|secType|month|exchange. */
  private monthStrikes = new Map<string, Promise<{ call: number[]; put: number[] }>>();
  /** Option contracts listed by secdef/info in this process, by conid. */
  private readonly seen = new Map<number, Contract>();
  /** An option contract this process has listed (no request). */
  knownConid(conid: number): Contract | undefined {
    return this.seen.get(conid);
  }
  /** Searches done in this brokerage session, key SYMBOL|secType (derivative snapshot pre-flight). */
  private preflighted = new Map<string, Promise<void>>();
  /** Underlyings whose gateway answered the whole-month request with nothing. */
  private noWholeMonth = new Set<string>();

  constructor(
    private readonly http: CpapiHttp,
    private readonly log: Logger,
  ) {}

  /** After a brokerage session reset IB wants the search again before strikes/info/snapshots. */
  onSessionReset(): void {
    this.searched.clear();
    this.preflighted.clear();
  }

  /** One secdef search; remembers that this symbol and type were searched in the session. */
  private async searchRows(symbol: string, secType: string | undefined, opts: CallOptions): Promise<Row[]> {
    const body: Row = { symbol };
    if (secType) body['secType'] = secType;
    const res = await this.http.post<unknown>('/iserver/secdef/search', {
      body,
      idempotent: true,
      signal: opts.signal,
    });
    const key = `${symbol.toUpperCase()}|${secType ?? ''}`;
    if (!this.preflighted.has(key)) this.preflighted.set(key, Promise.resolve());
    return Array.isArray(res.data) ? (res.data as unknown[]).filter(isObject) : [];
  }

  /**
   * IB quotes a derivative (option, future, futures option) only after /iserver/secdef/search
   * for its underlying in the same brokerage session: searched once per session and symbol.
   * `underlyingSecType` is the underlying's type for an option (STK unless told IND).
   */
  async preflight(c: Contract, underlyingSecType?: string, opts: CallOptions = {}): Promise<void> {
    if (!isDerivative(c.secType) || !c.symbol) return;
    const secType = c.secType === 'FUT' || c.secType === 'FOP' ? 'FUT' : searchSecType(underlyingSecType ?? 'STK');
    const key = `${c.symbol.toUpperCase()}|${secType ?? ''}`;
    let p = this.preflighted.get(key);
    if (!p) {
      p = this.searchRows(c.symbol, secType, opts).then(() => {});
      this.preflighted.set(key, p);
      p.catch(() => this.preflighted.delete(key));
    }
    return p;
  }

  private rollDay(): string {
    const today = todayNewYork();
    if (today !== this.day) {
      this.day = today;
      this.searched.clear();
      this.monthInfo.clear();
      this.strikeInfo.clear();
      this.monthStrikes.clear();
      this.noWholeMonth.clear();
    }
    return today;
  }

  private cached<T>(map: Map<string | number, Promise<T>>, key: string | number, make: () => Promise<T>): Promise<T> {
    let p = map.get(key);
    if (!p) {
      p = make();
      map.set(key, p);
      p.catch(() => map.delete(key));
    }
    return p;
  }

  private async search(u: Contract, opts: CallOptions): Promise<SearchChain> {
    const today = this.rollDay();
    const chain = await this.cached(
      this.searched as Map<number, Promise<SearchChain | undefined>>,
      u.conid,
      async () => {
        const rows = await this.searchRows(u.symbol, searchSecType(u.secType), opts);
        return chainFromSearch(rows, u, today);
      },
    );
    if (!chain || chain.months.length === 0) throw noOptions(u);
    return chain;
  }

  async optionExpirations(u: Contract, opts: CallOptions = {}): Promise<OptionChainInfo> {
    const chain = await this.search(u, opts);
    let expirations = chain.dates;
    if (expirations.length === 0) {
      // The gateway gave months only: read the dates of the first months from their contracts.
      const first = chain.months.slice(0, 3);
      const lists = await Promise.all(first.map((m) => this.monthContracts(u, chain, m, 'C', opts).catch(() => [])));
      expirations = [...new Set(lists.flat().map((c) => c.expiry as string))].sort();
    }
    return {
      underlying: u,
      secType: chain.secType,
      exchange: chain.exchange,
      expirations,
      months: chain.months,
    };
  }

  private monthKey(chain: SearchChain, month: string, right: OptionRight | 'both'): string {
    return [chain.conid, chain.secType, month, right, chain.exchange].join('|');
  }

  /**
   * Every contract of a month (strike=0), for one right or both (no `right`: one request
   * instead of two). A one-right ask is served from a both-rights answer already at hand.
   */
  private async monthContracts(
    u: Contract,
    chain: SearchChain,
    month: string,
    right: OptionRight | 'both',
    opts: CallOptions,
  ): Promise<Contract[]> {
    if (right !== 'both') {
      const both = this.monthInfo.get(this.monthKey(chain, month, 'both'));
      if (both) return (await both).filter((c) => c.right === right);
    }
    return this.cached(this.monthInfo, this.monthKey(chain, month, right), async () => {
      const query: Record<string, string | number> = {
        conid: chain.conid,
        sectype: chain.secType,
        month: codeFromMonth(month),
        exchange: chain.exchange,
        strike: 0,
      };
      if (right !== 'both') query['right'] = right;
      const res = await this.http.get<unknown>('/iserver/secdef/info', { query, signal: opts.signal });
      return this.parseInfo(res.data, u);
    });
  }

  private async strikeContracts(
    u: Contract,
    chain: SearchChain,
    month: string,
    strike: number,
    right: OptionRight,
    opts: CallOptions,
  ): Promise<Contract[]> {
    const key = [chain.conid, chain.secType, month, strike, right, chain.exchange].join('|');
    return this.cached(this.strikeInfo, key, async () => {
      const res = await this.http.get<unknown>('/iserver/secdef/info', {
        query: {
          conid: chain.conid,
          sectype: chain.secType,
          month: codeFromMonth(month),
          exchange: chain.exchange,
          strike,
          right,
        },
        signal: opts.signal,
      });
      return this.parseInfo(res.data, u);
    });
  }

  private parseInfo(data: unknown, u: Contract): Contract[] {
    const rows = Array.isArray(data) ? data.filter(isObject) : isObject(data) && !('error' in data) ? [data] : [];
    const out: Contract[] = [];
    for (const r of rows) {
      const c = contractFromInfo(r, u.conid);
      if (!c) continue;
      if (!c.symbol) c.symbol = u.symbol;
      this.seen.set(c.conid, c);
      out.push(c);
    }
    return out.sort(byStrikeRight);
  }

  async optionStrikes(u: Contract, expirationOrMonth: string, opts: CallOptions = {}): Promise<OptionStrikes> {
    const chain = await this.search(u, opts);
    const month = expirationOrMonth.slice(0, 7);
    if (expirationOrMonth.length === 10) {
      const exact = await this.expiryContracts(u, chain, expirationOrMonth, ['C', 'P'], opts);
      if (exact) {
        const call = exact.filter((c) => c.right === 'C').map((c) => c.strike as number);
        const put = exact.filter((c) => c.right === 'P').map((c) => c.strike as number);
        return { call, put, exact: true };
      }
    }
    const listed = await this.monthStrikeList(chain, month, opts);
    return { ...listed, exact: false };
  }

  private monthStrikeList(
    chain: SearchChain,
    month: string,
    opts: CallOptions,
  ): Promise<{ call: number[]; put: number[] }> {
    const key = [chain.conid, chain.secType, month, chain.exchange].join('|');
    return this.cached(this.monthStrikes, key, async () => {
      const res = await this.http.get<unknown>('/iserver/secdef/strikes', {
        query: { conid: chain.conid, sectype: chain.secType, month: codeFromMonth(month), exchange: chain.exchange },
        signal: opts.signal,
      });
      return parseStrikes(res.data);
    });
  }

  /**
   * Every contract of one expiration for the given rights, from the whole-month lists;
   * undefined when this gateway does not answer whole-month requests.
   */
  private async expiryContracts(
    u: Contract,
    chain: SearchChain,
    expiry: string,
    rights: OptionRight[],
    opts: CallOptions,
  ): Promise<Contract[] | undefined> {
    const month = expiry.slice(0, 7);
    const key = `${chain.conid}|${month}`;
    if (this.noWholeMonth.has(key)) return undefined;
    let all: Contract[];
    try {
      all = await this.monthContracts(u, chain, month, rights.length === 1 ? (rights[0] as OptionRight) : 'both', opts);
    } catch (err) {
      // strike=0 is not in IB's documentation: a gateway may refuse it (400). Not an error of ours.
      if (!isBrokerError(err) || err.code !== 'INVALID_INPUT') throw err;
      all = [];
    }
    if (all.length === 0) {
      this.noWholeMonth.add(key);
      this.log.debug('cpapi: whole-month secdef/info answered nothing; using per-strike requests', {
        conid: chain.conid,
        month,
      });
      return undefined;
    }
    return all.filter((c) => c.expiry === expiry && rights.includes(c.right as OptionRight)).sort(byStrikeRight);
  }

  async optionContracts(
    u: Contract,
    expiration: string,
    query: OptionContractQuery = {},
    opts: CallOptions = {},
  ): Promise<Contract[]> {
    if (!/^\d{4}-\d{2}-\d{2}$/.test(expiration)) {
      throw new BrokerError('INVALID_INPUT', `Expiration ${expiration} is not an ISO date (YYYY-MM-DD).`);
    }
    const chain = await this.search(u, opts);
    const rights: OptionRight[] = query.right ? [query.right] : ['C', 'P'];
    const strikes = query.strikes;
    const month = expiration.slice(0, 7);
    const monthKnown =
      this.monthInfo.has(this.monthKey(chain, month, 'both')) ||
      rights.every((r) => this.monthInfo.has(this.monthKey(chain, month, r)));
    const few = strikes !== undefined && strikes.length * rights.length <= PER_STRIKE_MAX;
    if (!few || monthKnown) {
      const all = await this.expiryContracts(u, chain, expiration, rights, opts);
      if (all) return strikes ? all.filter((c) => strikes.some((k) => sameStrike(k, c.strike as number))) : all;
    }
    // Per-strike requests: few strikes asked, or a gateway without whole-month answers. Without
    // strikes the caller gets [] and picks them from optionStrikes first (the documented way).
    if (!strikes) return [];
    const wanted = [...strikes];
    if (wanted.length * rights.length > MAX_PER_STRIKE_REQUESTS) {
      throw new BrokerError(
        'INVALID_INPUT',
        `${wanted.length} strikes of ${month} asked; IB lists them one request per strike and right.`,
        { hint: 'Ask for fewer strikes (strikeCount or strikeRange).' },
      );
    }
    const lists = await Promise.all(
      wanted.flatMap((k) => rights.map((r) => this.strikeContracts(u, chain, month, k, r, opts))),
    );
    return lists
      .flat()
      .filter((c) => c.expiry === expiration)
      .sort(byStrikeRight);
  }
}
