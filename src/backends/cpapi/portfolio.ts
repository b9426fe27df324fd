/**
 * Accounts and portfolio over the Client Portal API.
 *
 * IB's rules kept here:
 *  - /portfolio/accounts must be called before any /portfolio/{accountId}/… in a session,
 *    and at most once per 5 s: the list is cached for the session and the call repeated
 *    only after a session reset or when the gateway asks for it again.
 *  - /portfolio/{id}/summary keys are lowercase tags, most with -c/-s segment variants;
 *    only the account-wide tags are read.
 *  - /portfolio/{id}/ledger is keyed by currency plus BASE.
 *  - /portfolio/{id}/positions/{page} pages by 100 (older gateways: 30); every page is read.
 *  - /iserver/account/pnl/partitioned needs /iserver/accounts first, allows one call per 5 s
 *    and answers {"upnl":{}} to the first call of a session: it is primed in the background
 *    when the account list is first read, re-polled a bounded number of times, and its
 *    answer reused for 5 s.
 */
import type { CallOptions } from '../../broker/backend.js';
import { BrokerError, isBrokerError } from '../../broker/errors.js';
import { byCode } from '../../broker/locale.js';
import { mul } from '../../broker/numbers.js';
import type {
  AccountBalances,
  AccountInfo,
  AccountPnl,
  Allocation,
  Ledger,
  LedgerLine,
  PortfolioMethods,
  Position,
} from '../../broker/portfolio.js';
import { type OptionRight, SEC_TYPES, type SecType } from '../../broker/types.js';
import { idents } from '../../broker/untrusted.js';
import { type Logger, silentLogger } from '../../log.js';
import type { CpapiHttp } from './http.js';
import { isPaperAccount } from './session.js';
import { isObject, type Row, str, ymd } from './wire.js';

/** IB's positions page size (V3); older gateways used 30, which the paging loop also handles. */
export const POSITIONS_PAGE_SIZE = 100;
/** Upper bound on pages read (10,000 positions at 100 a page). */
const MAX_PAGES = 100;
/** The partitioned P&L answer is reused this long (IB allows one call per 5 s). */
const PNL_CACHE_MS = 5000;
/** Re-polls after an empty partitioned P&L answer (each waits for IB's 5 s pacing). */
const PNL_REPOLLS = 2;

/** A number from a JSON number or a numeric string ("1,234.5" accepted). */
export function num(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v === 'string') {
    const t = v.trim().replace(/,/g, '');
    if (t === '' || t === 'null') return undefined;
    const n = Number(t);
    return Number.isFinite(n) ? n : undefined;
  }
  return undefined;
}

function secType(v: unknown): SecType {
  const s = str(v)?.toUpperCase();
  return s && (SEC_TYPES as readonly string[]).includes(s) ? (s as SecType) : 'STK';
}

// ---------------------------------------------------------------- parsers (pure)

/**
 * /portfolio/accounts (or /subaccounts): an array of account objects. Paper or live comes from
 * `paperOf` (the session's verdict, session.ts); by default the rule without IB's isPaper.
 */
export function parseAccounts(data: unknown, paperOf = (id: string) => isPaperAccount(id, undefined)): AccountInfo[] {
  if (!Array.isArray(data)) return [];
  const out: AccountInfo[] = [];
  const seen = new Set<string>();
  for (const a of data) {
    if (!isObject(a)) continue;
    const id = str(a['accountId']) ?? str(a['id']);
    if (!id || seen.has(id)) continue;
    seen.add(id);
    const type = str(a['type']);
    const currency = str(a['currency'])?.toUpperCase();
    const info: AccountInfo = {
      id,
      currency: currency ?? 'USD',
      paper: paperOf(id),
    };
    if (!currency) info.currencyAssumed = true;
    const title = str(a['accountTitle']) ?? str(a['displayName']) ?? str(a['accountAlias']);
    if (title && title !== id) info.title = title;
    if (type) info.type = type;
    const tt = str(a['tradingType']);
    if (tt) info.tradingType = tt;
    out.push(info);
  }
  return out;
}

/** IB's cap on /portfolio/subaccounts: a login with more sub-accounts pages through /portfolio/subaccounts2. */
export const SUBACCOUNTS_CAP = 100;

/**
 * One page of /portfolio/subaccounts2?page=N: {metadata: {total, pageSize, pageNume}, subaccounts: [...]}
 * (cpapi-swagger-v1.json; "pageNume" is IB's spelling). `total` is absent when IB sent none.
 */
export function parseSubaccountsPage(
  data: unknown,
  paperOf?: (id: string) => boolean,
): { accounts: AccountInfo[]; total: number | undefined; pageSize: number | undefined } {
  const body = isObject(data) ? data : {};
  const meta = isObject(body['metadata']) ? body['metadata'] : {};
  return {
    accounts: parseAccounts(body['subaccounts'], paperOf),
    total: num(meta['total']),
    pageSize: num(meta['pageSize']),
  };
}

/** /portfolio/{id}/summary: account-wide tags only (the -c/-s segment variants are ignored). */
export function parseSummary(accountId: string, data: unknown, fallbackCurrency: string): AccountBalances {
  const tags: Record<string, Row> = {};
  if (isObject(data)) {
    for (const [k, v] of Object.entries(data)) if (isObject(v)) tags[k.toLowerCase()] = v;
  }
  const amount = (tag: string): number | undefined => {
    const t = tags[tag];
    if (!t || t['isNull'] === true) return undefined;
    return num(t['amount']) ?? num(t['value']);
  };
  // Tags such as cushion carry their figure in `value` with `amount` 0: an amount of 0 beside a
  // missing value is IB's placeholder, not the figure.
  const value = (tag: string): number | undefined => {
    const t = tags[tag];
    if (!t || t['isNull'] === true) return undefined;
    const amount = num(t['amount']);
    return num(t['value']) ?? (amount === 0 ? undefined : amount);
  };
  const currency =
    str(tags['netliquidation']?.['currency']) ?? str(tags['totalcashvalue']?.['currency']) ?? fallbackCurrency;
  const b: AccountBalances = { accountId, currency: currency.toUpperCase() };
  const set = (key: keyof AccountBalances, v: number | undefined) => {
    if (v !== undefined) (b as unknown as Record<string, number>)[key] = v;
  };
  set('netLiquidation', amount('netliquidation'));
  set('totalCash', amount('totalcashvalue'));
  set('buyingPower', amount('buyingpower'));
  set('availableFunds', amount('availablefunds'));
  set('excessLiquidity', amount('excessliquidity'));
  set('initMargin', amount('initmarginreq'));
  set('maintMargin', amount('maintmarginreq'));
  set('equityWithLoan', amount('equitywithloanvalue'));
  set('grossPositionValue', amount('grosspositionvalue'));
  set('accruedCash', amount('accruedcash'));
  set('cushion', value('cushion'));
  const dt = value('daytradesremaining');
  if (dt !== undefined && dt >= 0) b.dayTradesRemaining = dt;
  return b;
}

function ledgerLine(currency: string, e: Row): LedgerLine {
  const line: LedgerLine = { currency, exchangeRate: num(e['exchangerate']) ?? 1 };
  const cash = num(e['cashbalance']);
  if (cash !== undefined) line.cash = cash;
  const opt = (key: keyof LedgerLine, v: number | undefined) => {
    if (v !== undefined) (line as unknown as Record<string, number>)[key] = v;
  };
  opt('settledCash', num(e['settledcash']));
  opt('stockValue', num(e['stockmarketvalue']));
  opt('optionValue', num(e['stockoptionmarketvalue']));
  opt('futureValue', num(e['futuremarketvalue']));
  opt('netLiquidation', num(e['netliquidationvalue']));
  opt('unrealizedPnl', num(e['unrealizedpnl']));
  opt('realizedPnl', num(e['realizedpnl']));
  opt('dividends', num(e['dividends']));
  opt('interest', num(e['interest']));
  return line;
}

/** /portfolio/{id}/ledger: one entry per currency plus "BASE". */
export function parseLedger(accountId: string, data: unknown, baseCurrency: string): Ledger {
  const currencies: LedgerLine[] = [];
  let base: LedgerLine | undefined;
  if (isObject(data)) {
    for (const [key, e] of Object.entries(data)) {
      if (!isObject(e)) continue;
      if (key.toUpperCase() === 'BASE') base = ledgerLine(baseCurrency, e);
      else currencies.push(ledgerLine(str(e['currency'])?.toUpperCase() ?? key.toUpperCase(), e));
    }
  }
  currencies.sort((a, b) =>
    a.currency === baseCurrency ? -1 : b.currency === baseCurrency ? 1 : byCode(a.currency, b.currency),
  );
  if (!base) {
    // No BASE entry: sum the currencies at their rates; unknown when any currency's cash is.
    base = { currency: baseCurrency, exchangeRate: 1 };
    if (currencies.length > 0 && currencies.every((c) => c.cash !== undefined))
      base.cash = currencies.reduce((s, c) => s + (c.cash ?? 0) * c.exchangeRate, 0);
  }
  return { accountId, baseCurrency, base, currencies };
}

/** One row of /portfolio/{id}/positions/{page}. Undefined when it has no conid. */
export function parsePosition(accountId: string, r: Row): Position | undefined {
  const conid = num(r['conid']);
  if (!conid || !Number.isInteger(conid)) return undefined;
  const type = secType(r['assetClass']);
  const quantity = num(r['position']);
  const rawMult = num(r['multiplier']);
  const multiplier = rawMult && rawMult > 0 ? rawMult : 1;
  const desc = str(r['contractDesc']);
  const symbol = str(r['ticker']) ?? str(r['undSym']) ?? desc?.split(/\s+/)[0] ?? String(conid);
  const marketPrice = num(r['mktPrice']);
  const avgCost = num(r['avgCost']);
  const p: Position = {
    accountId: str(r['acctId']) ?? accountId,
    conid,
    symbol,
    secType: type,
    currency: str(r['currency'])?.toUpperCase() ?? 'USD',
  };
  // A value IB did not send stays absent (issue 13): never 0.
  const amounts: Record<string, number | undefined> = {
    quantity,
    avgCost,
    avgPrice: num(r['avgPrice']) ?? mul(avgCost, 1 / multiplier),
    marketPrice,
    marketValue: num(r['mktValue']) ?? mul(quantity, marketPrice, multiplier),
    unrealizedPnl: num(r['unrealizedPnl']),
    realizedPnl: num(r['realizedPnl']),
  };
  for (const [k, v] of Object.entries(amounts)) if (v !== undefined) (p as unknown as Record<string, number>)[k] = v;
  if (desc) p.description = desc;
  const name = str(r['name']) ?? str(r['undComp']);
  if (name) p.name = name;
  if (type !== 'STK' && type !== 'CASH') {
    const expiry = ymd(r['expiry']) ?? ymd(r['lastTradingDay']);
    if (expiry) p.expiry = expiry;
    const strike = num(r['strike']);
    if (strike !== undefined && strike > 0) p.strike = strike;
    const right = str(r['putOrCall'])?.toUpperCase();
    if (right === 'C' || right === 'P') p.right = right as OptionRight;
    p.multiplier = multiplier;
    const und = num(r['undConid']);
    if (und && und > 0) p.underlyingConid = und;
  }
  const listing = str(r['listingExchange']);
  if (listing) p.listingExchange = listing;
  const sector = str(r['sector']);
  if (sector) p.sector = sector;
  const group = str(r['group']);
  if (group) p.group = group;
  const t = str(r['type']);
  if (t) p.type = t;
  return p;
}

export function parseAllocation(accountId: string, data: unknown): Allocation {
  const side = (v: unknown): Record<string, number> => {
    const out: Record<string, number> = {};
    if (isObject(v)) for (const [k, x] of Object.entries(v)) if (num(x) !== undefined) out[k] = num(x) as number;
    return out;
  };
  const bucket = (v: unknown) => ({
    long: side(isObject(v) ? v['long'] : undefined),
    short: side(isObject(v) ? v['short'] : undefined),
  });
  const d = isObject(data) ? data : {};
  return { accountId, assetClass: bucket(d['assetClass']), sector: bucket(d['sector']), group: bucket(d['group']) };
}

/** /iserver/account/pnl/partitioned: {"upnl":{"U123.Core":{dpl,nl,upl,el,mv}}}. Empty on the first call. */
export function parsePnl(data: unknown): AccountPnl[] {
  const upnl = isObject(data) && isObject(data['upnl']) ? data['upnl'] : {};
  const out: AccountPnl[] = [];
  for (const [key, v] of Object.entries(upnl)) {
    if (!isObject(v)) continue;
    const accountId = key.split('.')[0] ?? key;
    const p: AccountPnl = { accountId };
    const dpl = num(v['dpl']);
    if (dpl !== undefined) p.dailyPnl = dpl;
    const upl = num(v['upl']);
    if (upl !== undefined) p.unrealizedPnl = upl;
    const nl = num(v['nl']);
    if (nl !== undefined) p.netLiquidation = nl;
    const el = num(v['el']);
    if (el !== undefined) p.excessLiquidity = el;
    const mv = num(v['mv']);
    if (mv !== undefined) p.marketValue = mv;
    out.push(p);
  }
  return out;
}

// ---------------------------------------------------------------- the client

export interface CpapiPortfolioDeps {
  http: CpapiHttp;
  /** GET /iserver/accounts once per brokerage session (the backend's single flight). */
  ensureIserverAccounts: (signal?: AbortSignal) => Promise<unknown>;
  /** Paper or live per account id: the session's one rule (session.ts). */
  paperOf?: (accountId: string) => boolean;
  /**
   * Runs `work` with the account selected (IB scopes partitioned P&L to it) and the session's
   * accounts; default: no selection (one-account gateways and tests).
   */
  forAccount?: <T>(
    accountId: string | undefined,
    signal: AbortSignal | undefined,
    work: (accountId: string | undefined) => Promise<T>,
  ) => Promise<T>;
  /** The login is an advisor's (FA): its accounts are IB's sub-accounts. */
  isAdvisor?: () => boolean;
  /** --accounts: whether an account is shown (default: every one). */
  visible?: (accountId: string) => boolean;
  /** P&L rows IB's WebSocket pushed (spl: {"U123.Core":{dpl,nl,upl,el,mv}}), when current. */
  pushedPnl?: () => Record<string, { row: Record<string, unknown>; receivedAt: number }> | undefined;
  log?: Logger;
}

export class CpapiPortfolio implements PortfolioMethods {
  private readonly http: CpapiHttp;
  private readonly ensureIserverAccounts: (signal?: AbortSignal) => Promise<unknown>;
  private readonly paperOf: ((accountId: string) => boolean) | undefined;
  private readonly forAccount: NonNullable<CpapiPortfolioDeps['forAccount']>;
  private readonly isAdvisor: () => boolean;
  private readonly visible: (accountId: string) => boolean;
  private readonly log: Logger;
  private readonly pushedPnl: CpapiPortfolioDeps['pushedPnl'];
  private accounts: AccountInfo[] | undefined;
  /** /portfolio/accounts was called in the current gateway session. */
  private primed = false;
  private accountsFlight: Promise<AccountInfo[]> | undefined;
  private pnlCache: { at: number; rows: AccountPnl[] } | undefined;
  private pnlFlight: Promise<AccountPnl[]> | undefined;
  /** The P&L read in progress, shared by every caller that arrives meanwhile. */
  private pnlShared: Promise<AccountPnl[]> | undefined;
  private pnlPrimed = false;
  /** Reads of some accounts' P&L in progress, by the accounts' ids. */
  private readonly pnlOfFlights = new Map<string, Promise<AccountPnl[]>>();

  constructor(deps: CpapiPortfolioDeps) {
    this.http = deps.http;
    this.ensureIserverAccounts = deps.ensureIserverAccounts;
    this.paperOf = deps.paperOf;
    this.forAccount = deps.forAccount ?? ((_id, _signal, work) => work(undefined));
    this.isAdvisor = deps.isAdvisor ?? (() => false);
    this.visible = deps.visible ?? (() => true);
    this.log = deps.log ?? silentLogger;
    this.pushedPnl = deps.pushedPnl;
  }

  /** The gateway session was lost or renewed: /portfolio/accounts and the P&L priming are due again. */
  onSessionReset(): void {
    this.primed = false;
    this.pnlPrimed = false;
    this.pnlCache = undefined;
  }

  async listAccounts(opts: CallOptions = {}): Promise<AccountInfo[]> {
    if (this.accounts && this.primed) return this.accounts;
    return this.fetchAccounts(opts.signal, opts.background === true);
  }

  private fetchAccounts(signal?: AbortSignal, background = false): Promise<AccountInfo[]> {
    if (!this.accountsFlight) {
      this.accountsFlight = (async () => {
        // Paper or live needs IB's isPaper from /iserver/accounts (read once per session).
        if (this.paperOf) await this.ensureIserverAccounts(signal);
        const res = await this.http.get<unknown>('/portfolio/accounts', { signal, background });
        let list = parseAccounts(res.data, this.paperOf);
        // Advisor (tiered) logins list their client accounts as sub-accounts.
        if (list.length === 0 || this.isAdvisor()) list = await this.subaccounts(signal);
        list = list.filter((a) => this.visible(a.id));
        this.accounts = list;
        this.primed = true;
        this.primePnl();
        return list;
      })().finally(() => {
        this.accountsFlight = undefined;
      });
    }
    return this.accountsFlight;
  }

  /**
   * Every sub-account: /portfolio/subaccounts answers at most 100; when it is full, the pages of
   * /portfolio/subaccounts2 (20 a page) are read until IB's total is reached or a page is short.
   */
  private async subaccounts(signal?: AbortSignal): Promise<AccountInfo[]> {
    const first = parseAccounts(
      (await this.http.get<unknown>('/portfolio/subaccounts', { signal })).data,
      this.paperOf,
    );
    if (first.length < SUBACCOUNTS_CAP) return first;
    const out = new Map<string, AccountInfo>();
    for (let page = 0; page < MAX_PAGES; page++) {
      const res = await this.http.get<unknown>('/portfolio/subaccounts2', { signal, query: { page: String(page) } });
      const got = parseSubaccountsPage(res.data, this.paperOf);
      for (const a of got.accounts) if (!out.has(a.id)) out.set(a.id, a);
      const done =
        got.accounts.length === 0 ||
        (got.total !== undefined && out.size >= got.total) ||
        (got.pageSize !== undefined && got.accounts.length < got.pageSize);
      if (done) break;
    }
    // A gateway without the paged endpoint's answer: the first 100 are what IB gave.
    return out.size >= first.length ? [...out.values()] : first;
  }

  /** The account, or BrokerError NOT_FOUND listing the valid ones. */
  async account(accountId: string, opts: CallOptions = {}): Promise<AccountInfo> {
    const list = await this.listAccounts(opts);
    const found = list.find((a) => a.id.toUpperCase() === accountId.trim().toUpperCase());
    if (!found) throw unknownAccount(accountId, list);
    return found;
  }

  /** GET /portfolio/{id}/…, calling /portfolio/accounts first when the session needs it. */
  private async portfolioGet(
    accountId: string,
    rest: string,
    opts: CallOptions,
    query?: Record<string, string | boolean>,
  ) {
    const acct = await this.account(accountId, opts);
    const path = `/portfolio/${encodeURIComponent(acct.id)}/${rest}`;
    try {
      return { acct, data: (await this.http.get<unknown>(path, { signal: opts.signal, query })).data };
    } catch (err) {
      if (isBrokerError(err) && err.code === 'INVALID_INPUT' && /portfolio\/(sub)?accounts/i.test(errText(err))) {
        // The gateway's session was renewed: it wants /portfolio/accounts again.
        this.primed = false;
        await this.fetchAccounts(opts.signal);
        return { acct, data: (await this.http.get<unknown>(path, { signal: opts.signal, query })).data };
      }
      if (
        isBrokerError(err) &&
        err.code === 'INVALID_INPUT' &&
        /account(id)? is not valid|invalid account/i.test(errText(err))
      ) {
        throw unknownAccount(accountId, this.accounts ?? []);
      }
      throw err;
    }
  }

  async accountBalances(accountId: string, opts: CallOptions = {}): Promise<AccountBalances> {
    const { acct, data } = await this.portfolioGet(accountId, 'summary', opts);
    return parseSummary(acct.id, data, acct.currency);
  }

  async ledger(accountId: string, opts: CallOptions = {}): Promise<Ledger> {
    const { acct, data } = await this.portfolioGet(accountId, 'ledger', opts);
    return parseLedger(acct.id, data, acct.currency);
  }

  async allocation(accountId: string, opts: CallOptions = {}): Promise<Allocation> {
    const { acct, data } = await this.portfolioGet(accountId, 'allocation', opts);
    return parseAllocation(acct.id, data);
  }

  /** Every page of positions, in IB's order, without duplicates (a position moving between pages is kept once). */
  async positions(accountId: string, opts: CallOptions = {}): Promise<Position[]> {
    const out: Position[] = [];
    const seen = new Set<number>();
    let pageSize: number | undefined;
    for (let page = 0; page < MAX_PAGES; page++) {
      const { acct, data } = await this.portfolioGet(accountId, `positions/${page}`, opts, { waitForSecDef: true });
      const rows = Array.isArray(data) ? data.filter(isObject) : [];
      for (const r of rows) {
        const p = parsePosition(acct.id, r);
        if (!p || seen.has(p.conid)) continue;
        seen.add(p.conid);
        out.push(p);
      }
      if (rows.length === 0) break;
      // IB states the page size on each row; without it, the first page is taken as full.
      pageSize ??= num(rows[0]?.['pageSize']) ?? rows.length;
      if (rows.length < pageSize) break;
      if (page === MAX_PAGES - 1) {
        this.log.warn('cpapi: positions paging stopped at the page limit', { accountId, pages: MAX_PAGES });
      }
    }
    return out;
  }

  /** Starts IB's P&L stream in the background so that the first get_pnl answers at once. */
  private primePnl(): void {
    if (this.pnlPrimed || this.pnlFlight) return;
    this.pnlPrimed = true;
    this.pnlFlight = this.pnlOnce(undefined, true)
      .then((rows) => {
        if (rows.length) this.pnlCache = { at: Date.now(), rows };
        return rows;
      })
      .catch((err: unknown) => {
        this.pnlPrimed = false;
        this.log.debug('cpapi: P&L priming failed', { err: err instanceof Error ? err.message : String(err) });
        return [];
      })
      .finally(() => {
        this.pnlFlight = undefined;
      });
  }

  /**
   * One read of IB's P&L, which answers for the selected account: with `accountId`, that account is
   * selected first and only its rows are kept, so a read can never return another account's P&L.
   */
  private async pnlOnce(
    signal: AbortSignal | undefined,
    background = false,
    accountId?: string,
  ): Promise<AccountPnl[]> {
    await this.ensureIserverAccounts(signal);
    return this.forAccount(accountId, signal, async (selected) => {
      const res = await this.http.get<unknown>('/iserver/account/pnl/partitioned', { signal, background });
      const rows = parsePnl(res.data);
      const only = accountId === undefined ? undefined : (selected ?? accountId).toUpperCase();
      return only === undefined ? rows : rows.filter((r) => r.accountId.toUpperCase() === only);
    });
  }

  /** `rows` plus the rows of every other account of the session, cached as read at `at`. */
  private async completePnl(rows: AccountPnl[], signal: AbortSignal | undefined, at: number): Promise<AccountPnl[]> {
    const read = await this.otherAccountsPnl(rows, signal);
    const all = read.map((r) => (r.source ? r : { ...r, source: 'request' as const, receivedAt: at }));
    this.pnlCache = { at: all.length === rows.length ? at : Date.now(), rows: all };
    return all;
  }

  /** Rows of the accounts the selected account's answer lacked (a gateway that scopes P&L to it), one read each. */
  private async otherAccountsPnl(rows: AccountPnl[], signal: AbortSignal | undefined): Promise<AccountPnl[]> {
    const ids = await this.ensureIserverAccounts(signal);
    const seen = new Set(rows.map((r) => r.accountId.toUpperCase()));
    const missing = (Array.isArray(ids) ? (ids as unknown[]) : []).filter(
      (a): a is string => typeof a === 'string' && !seen.has(a.toUpperCase()),
    );
    const out = [...rows];
    // One read each (IB paces this endpoint at one call per 5 s): an account whose answer is still
    // empty is left out and shows no P&L, rather than holding the caller for 15 s per account.
    for (const id of missing) out.push(...(await this.pnlOnce(signal, false, id)));
    return out;
  }

  async pnl(opts: CallOptions & { accountIds?: readonly string[] } = {}): Promise<AccountPnl[]> {
    const only = opts.accountIds?.length ? new Set(opts.accountIds.map((a) => a.toUpperCase())) : undefined;
    // IB's WebSocket pushes the same rows about once a second: no request while it does.
    const pushed = this.pushedPnl?.();
    if (pushed) {
      const rows = Object.entries(pushed)
        .flatMap(([key, p]) =>
          parsePnl({ upnl: { [key]: p.row } }).map((r) => ({
            ...r,
            source: 'stream' as const,
            receivedAt: p.receivedAt,
          })),
        )
        .filter((r) => !only || only.has(r.accountId.toUpperCase()));
      if (rows.length) {
        const ids = opts.accountIds?.length ? opts.accountIds : await this.ensureIserverAccounts(opts.signal);
        const seen = new Set(rows.map((r) => r.accountId.toUpperCase()));
        const missing = (Array.isArray(ids) ? (ids as unknown[]) : []).filter(
          (a): a is string => typeof a === 'string' && !seen.has(a.toUpperCase()),
        );
        if (missing.length === 0) return rows;
        // Accounts the push leaves out (IB scopes P&L to the selected account): asked for, cached.
        if (only) return [...rows, ...(await this.pnlOf(missing, opts.signal))];
        const asked = await this.askedPnl(opts);
        const want = new Set(missing.map((a) => a.toUpperCase()));
        return [...rows, ...asked.filter((r) => want.has(r.accountId.toUpperCase()))];
      }
    }
    if (opts.accountIds?.length) return this.pnlOf(opts.accountIds, opts.signal);
    return this.askedPnl(opts);
  }

  private askedPnl(opts: CallOptions): Promise<AccountPnl[]> {
    const cached = this.pnlCache;
    if (cached && Date.now() - cached.at < PNL_CACHE_MS) return this.completePnl(cached.rows, opts.signal, cached.at);
    // IB allows one call per 5 s (and one per account when it scopes P&L to the selected one):
    // callers that arrive together share one read instead of queueing 5 s apart each.
    this.pnlShared ??= this.readPnl().finally(() => {
      this.pnlShared = undefined;
    });
    return waitFor(this.pnlShared, opts.signal);
  }

  /**
   * The P&L of these accounts only: from a fresh cache, else one read per account missing from it
   * (an advisor login has many accounts, each a paced read: every account's would take minutes).
   * Concurrent callers for the same accounts share the reads.
   */
  private async pnlOf(accountIds: readonly string[], signal: AbortSignal | undefined): Promise<AccountPnl[]> {
    const wanted = [...new Set(accountIds.map((a) => a.toUpperCase()))];
    // The background priming read (the selected account's) is under way: its answer may do.
    if (this.pnlFlight) await waitFor(this.pnlFlight, signal);
    const cached = this.pnlCache && Date.now() - this.pnlCache.at < PNL_CACHE_MS ? this.pnlCache.rows : [];
    const rows = cached.filter((r) => wanted.includes(r.accountId.toUpperCase()));
    const missing = wanted.filter((id) => !rows.some((r) => r.accountId.toUpperCase() === id));
    const key = missing.join(',');
    let flight = this.pnlOfFlights.get(key);
    if (!flight && missing.length) {
      flight = (async () => {
        const out: AccountPnl[] = [];
        for (const id of missing) {
          // IB's first answer for an account can be its empty placeholder: asked again, paced.
          for (let attempt = 0; attempt <= PNL_REPOLLS; attempt++) {
            const got = await this.pnlOnce(undefined, false, id);
            out.push(...got);
            if (got.length) break;
          }
        }
        return out;
      })().finally(() => {
        this.pnlOfFlights.delete(key);
      });
      this.pnlOfFlights.set(key, flight);
    }
    return flight ? [...rows, ...(await waitFor(flight, signal))] : rows;
  }

  private async readPnl(): Promise<AccountPnl[]> {
    if (this.pnlFlight) {
      const primed = await this.pnlFlight;
      if (primed.length) return this.completePnl(primed, undefined, Date.now());
    }
    this.pnlPrimed = true;
    for (let attempt = 0; attempt <= PNL_REPOLLS; attempt++) {
      // The pacer spaces these calls 5 s apart, as IB requires.
      const first = await this.pnlOnce(undefined);
      if (first.length) return this.completePnl(first, undefined, Date.now());
    }
    throw new BrokerError('GATEWAY_ERROR', 'IB has not delivered P&L yet for this session.', {
      hint: 'IB starts its P&L feed on the first request; retry in a few seconds.',
      retryable: true,
    });
  }
}

/** A shared read, awaited by one caller: its cancel ends its wait, not the read the others share. */
function waitFor<T>(shared: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return shared;
  if (signal.aborted) return Promise.reject(new BrokerError('CANCELLED', 'The request was cancelled.'));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new BrokerError('CANCELLED', 'The request was cancelled.'));
    signal.addEventListener('abort', onAbort, { once: true });
    shared.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

function errText(err: BrokerError): string {
  const d = err.details?.['error'];
  return `${err.message} ${typeof d === 'string' ? d : ''}`;
}

export function unknownAccount(accountId: string, list: readonly AccountInfo[]): BrokerError {
  const valid = list.map((a) => a.id);
  return new BrokerError('NOT_FOUND', `Unknown account "${accountId}".`, {
    hint: valid.length
      ? `Use one of the accounts this session can see: ${idents(valid.slice(0, 25))}${valid.length > 25 ? ` and ${valid.length - 25} more` : ''}.`
      : 'This session sees no accounts; check the login.',
    details: { accountId, validAccounts: valid },
  });
}
