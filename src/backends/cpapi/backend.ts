/**
 * Backend over IB's Client Portal Web API (a local gateway, or the simulator).
 * All IB wire knowledge (endpoints, field codes, quirks) stays in this folder.
 */

import type { Backend, CallOptions, SearchOptions, SnapshotOptions } from '../../broker/backend.js';
import { type BrokerError, isBrokerError } from '../../broker/errors.js';
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
import type {
  AccountMode,
  Contract,
  ContractQuery,
  HistoryRequest,
  HistoryResult,
  MarketField,
  MarketSnapshot,
  SessionStatus,
} from '../../broker/types.js';
import { type Logger, silentLogger } from '../../log.js';
import { CpapiContracts } from './contracts.js';
import { fieldsFromCodes } from './fields.js';
import { CpapiHttp, type SessionGate } from './http.js';
import type { Pacer } from './limiter.js';
import { CpapiMarketData } from './marketdata.js';
import { CpapiOptions } from './options.js';
import { CpapiOrders } from './orders.js';
import { CpapiPortfolio } from './portfolio.js';
import { isObject, type Row, readIserverAccounts, str } from './wire.js';

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
  /** Symbol and conid lookups (contracts.ts). */
  private readonly contracts: CpapiContracts;
  /** Snapshots and history (marketdata.ts). */
  private readonly marketData: CpapiMarketData;
  /** Option chains (secdef search/strikes/info), in options.ts. */
  private readonly options: CpapiOptions;
  /** Accounts, balances, positions and P&L, in portfolio.ts. */
  private readonly portfolio: CpapiPortfolio;
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
    this.contracts = new CpapiContracts({
      http: this.http,
      log: this.log,
      prefetchAccounts: (signal) => {
        if (!this.accountsKnown) this.ensureAccounts(signal).catch(() => {});
      },
    });
    this.marketData = new CpapiMarketData({ http: this.http, ensureAccounts: (signal) => this.ensureAccounts(signal) });
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
    this.marketData.onSessionReset();
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

  // ---------------------------------------------------------------- contracts (contracts.ts)

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

  // ---------------------------------------------------------------- market data (marketdata.ts)

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

  snapshot(conids: number[], fields: readonly MarketField[], opts?: SnapshotOptions): Promise<MarketSnapshot[]> {
    return this.marketData.snapshot(conids, fields, opts);
  }

  history(req: HistoryRequest, opts?: CallOptions): Promise<HistoryResult> {
    return this.marketData.history(req, opts);
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

export function createCpapiBackend(opts: CpapiBackendOptions): CpapiBackend {
  return new CpapiBackend(opts);
}
