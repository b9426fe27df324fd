/**
 * Backend over IB's Client Portal Web API (a local gateway, or the simulator): a façade over the
 * modules beside it (session, contracts, marketdata, options, portfolio, orders). All IB wire
 * knowledge (endpoints, field codes, quirks) stays in this folder.
 */
import type { Backend, CallOptions, PushStatus, SearchOptions, SnapshotOptions } from '../../broker/backend.js';
import { BrokerError } from '../../broker/errors.js';
import type { OptionChainInfo, OptionContractQuery, OptionStrikes } from '../../broker/options.js';
import type {
  AccountCallOptions,
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
import type {
  AccountScopedOptions,
  AlertDetail,
  AlertRequest,
  AlertSummary,
  NewsHeadlines,
  ScanHit,
  ScannerCatalogue,
  ScanRequest,
  Watchlist,
  WatchlistInfo,
} from '../../broker/research.js';
import type {
  AccountMode,
  Contract,
  ContractQuery,
  HistoryRequest,
  HistoryResult,
  MarketField,
  MarketSnapshot,
} from '../../broker/types.js';
import { type Logger, silentLogger } from '../../log.js';
import { CpapiAlerts } from './alerts.js';
import type { ExchangeRecorder } from './capture.js';
import { CpapiContracts } from './contracts.js';
import { fieldsFromCodes } from './fields.js';
import { fxRate } from './fx.js';
import { CpapiHttp, type SessionGate } from './http.js';
import type { Pacer } from './limiter.js';
import { CpapiMarketData } from './marketdata.js';
import { portfolioNews } from './news.js';
import type { OAuthSigner } from './oauth.js';
import { CpapiOptions } from './options.js';
import { CpapiOrders } from './orders.js';
import { CpapiPortfolio } from './portfolio.js';
import { CpapiScanner } from './scanner.js';
import { CpapiSession } from './session.js';
import { CpapiStream, type StreamTimers } from './stream.js';
import { CpapiWatchlists } from './watchlists.js';

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
  /** Open per-session feeds after each login (off for a read-only server). Default true. */
  warmUp?: boolean;
  /** The wait between live-order polls (default: a real timer; tests inject a fake). */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Capture mode: records every exchange of both HTTP clients (capture.ts). */
  recorder?: ExchangeRecorder;
  /** OAuth 1.0a: both HTTP clients sign every request with it (no gateway in between). */
  signer?: OAuthSigner;
  /** IB's WebSocket after each login (default on); timers for tests. */
  stream?: boolean | Partial<StreamTimers>;
  /** --accounts: the only accounts of the login this backend shows and uses; empty: all. */
  accounts?: readonly string[];
}

export class CpapiBackend implements Backend {
  readonly name: string;
  readonly http: CpapiHttp;
  /** The session: give it to the gateway's session manager as its BrokerSession. */
  readonly session: CpapiSession;
  private readonly control: CpapiHttp;
  private readonly signer: OAuthSigner | undefined;
  private readonly contracts: CpapiContracts;
  private readonly marketData: CpapiMarketData;
  private readonly options: CpapiOptions;
  private readonly portfolio: CpapiPortfolio;
  private readonly orders: CpapiOrders;
  private readonly alertsPart: CpapiAlerts;
  private readonly watchlistsPart: CpapiWatchlists;
  private readonly scanner: CpapiScanner;
  /** IB's WebSocket (undefined when off): pushed orders, quotes, P&L and session state. */
  readonly stream: CpapiStream | undefined;

  constructor(opts: CpapiBackendOptions) {
    const log = opts.log ?? silentLogger;
    const { baseUrl, insecureTls, timeoutMs, pacer, gate, recorder, signer } = opts;
    this.signer = signer;
    this.http = new CpapiHttp({ baseUrl, insecureTls, timeoutMs, log, pacer, gate, recorder, signer });
    // The session manager's checks (status, keep-alive, accounts at login): 4 s, no retries, not gated.
    const control = { baseUrl, insecureTls, timeoutMs: 4000, maxRetries: 0, pacer: this.http.pacer, recorder, signer };
    this.control = new CpapiHttp({ ...control, log: log.child({ mod: 'session-http' }) });
    this.name = `cpapi ${this.http.url}`;
    const { simulated, warmUp } = opts;
    const session = new CpapiSession({
      http: this.http,
      control: this.control,
      simulated,
      warmUp,
      log,
      ...(opts.accounts ? { allow: opts.accounts } : {}),
    });
    this.session = session;
    const stream =
      opts.stream === false
        ? undefined
        : new CpapiStream({
            apiUrl: this.http.apiBase,
            insecureTls,
            cookies: () => this.http.cookieHeader() ?? this.control.cookieHeader(),
            sessionToken: () => session.sessionToken(),
            prime: () => session.tradingAccounts(),
            log: log.child({ mod: 'stream' }),
            timers: typeof opts.stream === 'object' ? opts.stream : {},
          });
    this.stream = stream;
    if (stream) {
      session.onReady(() => {
        stream.start();
        stream.subscribeOrders();
        // P&L about once a second: get_pnl answers from it without IB's 5-second paced request.
        stream.subscribePnl();
      });
      session.onReset(() => stream.stop());
      session.onSelect(() => stream.resubscribeOrders());
      session.onSessionChange(() => stream.reconnect('the gateway session changed'));
    }
    const ensureAccounts = (signal?: AbortSignal) => session.ensureAccounts(signal);
    const iserverAccounts = (signal?: AbortSignal) => session.tradingAccounts(signal);
    this.contracts = new CpapiContracts({ http: this.http, log, prefetchAccounts: (s) => session.prefetchAccounts(s) });
    this.options = new CpapiOptions(this.http, log);
    this.marketData = new CpapiMarketData({
      http: this.http,
      ensureAccounts,
      describe: (conid, signal) => this.contracts.describeConid(conid, { signal }),
      known: (conid) => this.contracts.knownConid(conid) ?? this.options.knownConid(conid),
      preflight: (c, und, signal) => this.options.preflight(c, und, { signal }),
      ...(stream ? { stream } : {}),
    });
    const paperOf = (id: string) => session.paperOf(id);
    const forAccount = <T>(id: string | undefined, s: AbortSignal | undefined, work: (id?: string) => Promise<T>) =>
      session.forAccount(id, s, work);
    this.portfolio = new CpapiPortfolio({
      http: this.http,
      ensureIserverAccounts: ensureAccounts,
      paperOf,
      forAccount,
      isAdvisor: () => session.isAdvisor(),
      visible: (id) => session.visible(id),
      ...(stream ? { pushedPnl: () => stream.pnlRows() } : {}),
      log,
    });
    const accountCurrencies = async (signal?: AbortSignal) => {
      const list = await this.portfolio.listAccounts({ signal });
      // Only currencies IB named: the notional cap must not check against an assumed USD.
      return Object.fromEntries(list.filter((a) => !a.currencyAssumed).map((a) => [a.id, a.currency]));
    };
    this.orders = new CpapiOrders(
      this.http,
      {
        ensureAccounts,
        iserverAccounts,
        accountCurrencies,
        forAccount,
        singleAccount: () => session.singleAccount(),
        selectedAccount: () => session.selectedAccount(),
      },
      log,
      opts.sleep,
      stream,
    );
    // After a reconnect the stream answers live orders again once a background read seeded it.
    stream?.onResubscribe(() => void this.orders.seedLiveOrders({ background: true }).catch(() => undefined));
    this.alertsPart = new CpapiAlerts(this.http, ensureAccounts);
    this.watchlistsPart = new CpapiWatchlists(this.http);
    this.scanner = new CpapiScanner(this.http);
    for (const part of [this.options, this.portfolio, this.marketData]) session.onReset(() => part.onSessionReset());
    session.warmUpWith(async (bg) => {
      // Live orders first: IB's 5-second clock on that endpoint starts with this request, and a
      // background request only goes while few slots of the window are taken.
      // With the WebSocket, the whole list (IB's placeholder, the list 5 s later) seeds its order
      // list: the stream answers live orders only once seeded. Its first request goes first.
      if (!stream) await this.orders.primeLiveOrders(bg).catch(() => undefined);
      const seeding = stream ? this.orders.seedLiveOrders(bg).catch(() => undefined) : undefined;
      await this.portfolio.listAccounts(bg).catch(() => undefined);
      await seeding;
    });
  }

  accountMode(): AccountMode {
    return this.session.mode();
  }

  contractDetails(conid: number, opts?: CallOptions): Promise<Contract> {
    return this.contracts.contractDetails(conid, opts);
  }
  resolveContract(query: ContractQuery, opts?: CallOptions): Promise<Contract> {
    return this.contracts.resolveContract(query, opts);
  }
  resolveContracts(queries: ContractQuery[], opts?: CallOptions): Promise<Array<Contract | BrokerError>> {
    return this.contracts.resolveContracts(queries, opts);
  }
  searchContracts(text: string, opts?: SearchOptions): Promise<Contract[]> {
    return this.contracts.searchContracts(text, opts);
  }

  fieldsFromCodes(codes: readonly string[]): { fields: MarketField[]; unknown: string[] } {
    return fieldsFromCodes(codes);
  }
  snapshot(conids: number[], fields: readonly MarketField[], opts?: SnapshotOptions): Promise<MarketSnapshot[]> {
    return this.marketData.snapshot(conids, fields, opts);
  }
  history(req: HistoryRequest, opts?: CallOptions): Promise<HistoryResult> {
    return this.marketData.history(req, opts);
  }

  optionExpirations(underlying: Contract, opts?: CallOptions): Promise<OptionChainInfo> {
    return this.options.optionExpirations(underlying, opts);
  }
  optionStrikes(underlying: Contract, expirationOrMonth: string, opts?: CallOptions): Promise<OptionStrikes> {
    return this.options.optionStrikes(underlying, expirationOrMonth, opts);
  }
  optionContracts(u: Contract, expiration: string, q?: OptionContractQuery, opts?: CallOptions): Promise<Contract[]> {
    return this.options.optionContracts(u, expiration, q, opts);
  }

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
  pnl(opts?: CallOptions & { accountIds?: readonly string[] }): Promise<AccountPnl[]> {
    return this.portfolio.pnl(opts);
  }
  // Orders (orders.ts): writes are sent once, never retried.
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
  orderStatus(orderId: string, opts?: AccountCallOptions): Promise<LiveOrder> {
    return this.orders.orderStatus(orderId, opts);
  }
  modifyOrder(orderId: string, order: OrderRequest, opts?: CallOptions): Promise<PlaceOutcome> {
    return this.orders.modifyOrder(orderId, order, opts);
  }
  cancelOrder(accountId: string, orderId: string, opts?: CallOptions): Promise<CancelResult> {
    return this.orders.cancelOrder(accountId, orderId, opts);
  }

  cancelAll(accountId: string, opts?: CallOptions): Promise<CancelResult> {
    return this.orders.cancelAll(accountId, opts);
  }

  trades(days: number, opts?: AccountCallOptions): Promise<Trade[]> {
    return this.orders.trades(days, opts);
  }
  findOrderByClientId(clientOrderId: string, opts?: CallOptions): Promise<LiveOrder | undefined> {
    return this.orders.findOrderByClientId(clientOrderId, opts);
  }

  // Research (alerts.ts): writes are sent once, never retried.
  alerts(accountId: string, opts?: CallOptions): Promise<AlertSummary[]> {
    return this.alertsPart.alerts(accountId, opts);
  }
  alert(accountId: string, alertId: number, opts?: CallOptions): Promise<AlertDetail> {
    return this.alertsPart.alert(accountId, alertId, opts);
  }
  mtaAlert(opts?: CallOptions): Promise<AlertDetail> {
    return this.alertsPart.mtaAlert(opts);
  }
  createAlert(req: AlertRequest, opts?: CallOptions): Promise<{ id: number }> {
    return this.alertsPart.createAlert(req, opts);
  }
  setAlertActive(accountId: string, alertId: number, active: boolean, opts?: CallOptions): Promise<void> {
    return this.alertsPart.setAlertActive(accountId, alertId, active, opts);
  }
  deleteAlert(accountId: string, alertId: number, opts?: CallOptions): Promise<void> {
    return this.alertsPart.deleteAlert(accountId, alertId, opts);
  }
  watchlists(opts?: CallOptions): Promise<WatchlistInfo[]> {
    return this.watchlistsPart.watchlists(opts);
  }
  watchlist(id: string, opts?: CallOptions): Promise<Watchlist> {
    return this.watchlistsPart.watchlist(id, opts);
  }
  createWatchlist(name: string, conids: number[], opts?: CallOptions): Promise<WatchlistInfo> {
    return this.watchlistsPart.createWatchlist(name, conids, opts);
  }
  deleteWatchlist(id: string, opts?: CallOptions): Promise<void> {
    return this.watchlistsPart.deleteWatchlist(id, opts);
  }
  scannerCatalogue(opts?: CallOptions): Promise<ScannerCatalogue> {
    return this.scanner.catalogue(opts);
  }
  scan(req: ScanRequest, opts?: CallOptions): Promise<{ column?: string; hits: ScanHit[] }> {
    return this.scanner.scan(req, opts);
  }
  newsHeadlines(opts: AccountScopedOptions = {}): Promise<NewsHeadlines> {
    return portfolioNews(this.http, (id, signal, work) => this.session.forAccount(id, signal, work), opts);
  }
  fxRate(source: string, target: string, opts?: CallOptions): Promise<number> {
    return fxRate(this.http, source, target, opts);
  }

  pushStatus(): PushStatus {
    const st = this.stream;
    if (!st)
      return {
        enabled: false,
        state: 'off',
        healthy: false,
        reconnects: 0,
        quotes: 0,
        heldQuotes: 0,
        maxQuotes: 0,
        orders: false,
        pnl: false,
      };
    const s = st.status();
    const out: PushStatus = {
      enabled: true,
      state: s.state,
      healthy: st.healthy(),
      reconnects: s.reconnects,
      quotes: s.quotes,
      heldQuotes: s.held,
      maxQuotes: s.maxQuotes,
      orders: s.orders,
      pnl: s.pnl,
    };
    if (s.lastMessageAt) out.lastMessageAgeMs = Date.now() - s.lastMessageAt;
    if (s.authenticated !== undefined) out.authenticated = s.authenticated;
    if (s.refused) out.refused = Object.keys(s.refused);
    return out;
  }

  watchOrders(listener: (order: LiveOrder) => void): () => void {
    return this.orders.watch(listener);
  }

  watchQuote(conid: number, fields: readonly MarketField[], onUpdate: () => void): () => void {
    return this.marketData.watch(conid, fields, onUpdate);
  }

  watchQuotes(listener: (conid: number) => void): () => void {
    return this.stream?.onQuote(listener) ?? (() => {});
  }

  watchPnl(listener: () => void): () => void {
    const st = this.stream;
    if (!st) throw new BrokerError('REFUSED', "P&L updates need IB's WebSocket, which is off.");
    st.subscribePnl();
    return st.onPnl(listener);
  }

  async close(): Promise<void> {
    this.signer?.close();
    await this.stream?.close();
    await this.http.close();
    await this.control.close();
  }
}

export function createCpapiBackend(opts: CpapiBackendOptions): CpapiBackend {
  return new CpapiBackend(opts);
}
