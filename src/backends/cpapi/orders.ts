/**
 * IB's order endpoints (docs/ib/orders.md, §7): place, the reply chain, what-if, live orders
 * (empty first call, force), status (503 for unknown ids), modify (single-object body),
 * cancel (object or array answer), trades. Every order carries a cOID.
 *
 * Writes are sent once: POST/DELETE requests are not `idempotent`, so CpapiHttp never retries
 * them after a 5xx, a 429, a timeout or a connection reset. The only automatic re-sends are
 * the ones where IB answered that it did not process the request at all ("Please query
 * /accounts first", "no bridge").
 */
import type { CallOptions } from '../../broker/backend.js';
import { BrokerError, isBrokerError } from '../../broker/errors.js';
import type {
  AccountCallOptions,
  CancelResult,
  LiveOrder,
  LiveOrdersOptions,
  OrderPreview,
  OrderRequest,
  OrdersApi,
  PlaceOutcome,
  Trade,
  TradingAccounts,
} from '../../broker/orders.js';
import { type Logger, silentLogger } from '../../log.js';
import { type CpapiHttp, raceSignal } from './http.js';
import {
  errorOf,
  parseCancel,
  parseLiveOrders,
  parseOrderStatus,
  parsePlaceAnswer,
  parseTrades,
  parseWhatIf,
  toWireOrder,
  toWireOrders,
} from './order-wire.js';
import { sleep } from './wire.js';

// ---------------------------------------------------------------- the section

export interface CpapiOrdersHooks {
  /** Calls /iserver/accounts when the session has not (needed before orders, modify, cancel). */
  ensureAccounts(signal?: AbortSignal): Promise<unknown>;
  /** The session's accounts, read fresh: paper or live per account (session.ts), the selected account. */
  iserverAccounts(
    signal?: AbortSignal,
  ): Promise<{ accounts: string[]; paper: Record<string, boolean>; selected: string | undefined }>;
  /** Base currency per account (from /portfolio/accounts, cached by the portfolio section). */
  accountCurrencies(signal?: AbortSignal): Promise<Record<string, string>>;
  /** Runs `work` with the account selected (IB scopes live orders and order status to it); session.ts. */
  forAccount<T>(
    accountId: string | undefined,
    signal: AbortSignal | undefined,
    work: (accountId: string | undefined) => Promise<T>,
  ): Promise<T>;
}

const LIVE_POLLS = 3;

export class CpapiOrders implements OrdersApi {
  /** Shared live-order reads, one per account (key '' for the selected account). */
  private readonly liveFlights = new Map<string, Promise<LiveOrder[]>>();
  constructor(
    private readonly http: CpapiHttp,
    private readonly hooks: CpapiOrdersHooks,
    private readonly log: Logger = silentLogger,
    /** The wait between live-order polls (tests inject a fake). */
    private readonly wait: (ms: number, signal?: AbortSignal) => Promise<void> = sleep,
  ) {}

  /** Accounts, paper/live and base currencies, from what the backend already holds for this session. */
  async tradingAccounts(opts: CallOptions = {}): Promise<TradingAccounts> {
    const info = await this.hooks.iserverAccounts(opts.signal);
    const out: TradingAccounts = { accounts: info.accounts, paper: info.paper };
    if (info.selected) out.selected = info.selected;
    try {
      out.currencies = await this.hooks.accountCurrencies(opts.signal);
    } catch (err) {
      this.log.info('cpapi orders: account currencies unavailable', { err: (err as Error).message });
    }
    return out;
  }

  async previewOrder(order: OrderRequest, opts: CallOptions = {}): Promise<OrderPreview> {
    await this.hooks.ensureAccounts(opts.signal);
    const res = await this.http.post<unknown>(`/iserver/account/${encodeURIComponent(order.accountId)}/orders/whatif`, {
      body: { orders: toWireOrders(order, { withClientId: false }) },
      signal: opts.signal,
    });
    return parseWhatIf(res.data);
  }

  async placeOrder(order: OrderRequest, opts: CallOptions = {}): Promise<PlaceOutcome> {
    if (!order.clientOrderId) throw new BrokerError('INVALID_INPUT', 'Every order needs a client order id.');
    await this.hooks.ensureAccounts(opts.signal);
    const res = await this.http.post<unknown>(`/iserver/account/${encodeURIComponent(order.accountId)}/orders`, {
      body: { orders: toWireOrders(order) },
      signal: opts.signal,
    });
    return parsePlaceAnswer(res.data);
  }

  async reply(replyId: string, confirmed: boolean, opts: CallOptions = {}): Promise<PlaceOutcome> {
    try {
      const res = await this.http.post<unknown>(`/iserver/reply/${encodeURIComponent(replyId)}`, {
        body: { confirmed },
        signal: opts.signal,
      });
      const out = parsePlaceAnswer(res.data);
      if (out.kind === 'rejected' && /reply id not found|not confirmed/i.test(out.message)) {
        return { kind: 'rejected', message: `${out.message} (IB no longer holds this order; it was not placed)` };
      }
      return out;
    } catch (err) {
      // A stale reply id: IB answers 503 and has invalidated the order.
      if (
        isBrokerError(err) &&
        err.details?.['status'] === 503 &&
        /Service Unavailable/i.test(String(err.details?.['error'] ?? ''))
      ) {
        return {
          kind: 'rejected',
          message: 'IB no longer knows this question (stale reply id); the order was not placed.',
        };
      }
      throw err;
    }
  }

  /** One call to open IB's live-order feed for the session (its first answer is always an empty placeholder). */
  async primeLiveOrders(opts: CallOptions = {}): Promise<void> {
    await this.hooks.ensureAccounts(opts.signal);
    await this.http.get<unknown>('/iserver/account/orders', { signal: opts.signal, background: true });
  }

  /**
   * Live orders. Concurrent calls share one read: IB allows one request per 5 s on this endpoint,
   * so eight callers must not queue eight reads (each caller can still cancel its own wait).
   */
  liveOrders(opts: LiveOrdersOptions = {}): Promise<LiveOrder[]> {
    if (opts.force === true || opts.settled === true) return this.readLiveOrders(opts);
    const key = opts.accountId?.toUpperCase() ?? '';
    let flight = this.liveFlights.get(key);
    if (!flight) {
      flight = this.readLiveOrders({ ...opts, signal: undefined }).finally(() => {
        this.liveFlights.delete(key);
      });
      this.liveFlights.set(key, flight);
    }
    return raceSignal(flight, opts.signal);
  }

  /** IB answers for the selected account: select it first, and keep only its rows when one was asked for. */
  private readLiveOrders(opts: LiveOrdersOptions): Promise<LiveOrder[]> {
    return this.hooks.forAccount(opts.accountId, opts.signal, async () => {
      const rows = await this.pollLiveOrders(opts);
      const acct = opts.accountId?.toUpperCase();
      return acct ? rows.filter((o) => o.accountId.toUpperCase() === acct) : rows;
    });
  }

  private async pollLiveOrders(opts: LiveOrdersOptions): Promise<LiveOrder[]> {
    let force = opts.force === true;
    for (let i = 0; i < LIVE_POLLS; i++) {
      const res = await this.http.get<unknown>('/iserver/account/orders', {
        query: force ? { force: true } : undefined,
        signal: opts.signal,
      });
      force = false;
      const { orders, snapshot } = parseLiveOrders(res.data);
      if (snapshot || orders.length) return orders;
      // IB's first call (and the one after force) is an empty placeholder: ask again.
      await this.wait(100, opts.signal);
    }
    if (opts.settled) {
      throw new BrokerError('GATEWAY_ERROR', "IB's live-order list did not settle: it sent only empty placeholders.", {
        hint: 'Try again in a few seconds.',
      });
    }
    return [];
  }

  /**
   * IB knows only the selected account's orders (503 for another's): the order is looked up with
   * `accountId` selected, or without one in the selected account and then in each other account.
   */
  async orderStatus(orderId: string, opts: AccountCallOptions = {}): Promise<LiveOrder> {
    const { accountId, signal } = opts;
    const first = this.hooks.forAccount(accountId, signal, () => this.readOrderStatus(orderId, opts));
    if (accountId) return first;
    return first.catch(async (err: unknown) => {
      if (!isBrokerError(err) || err.code !== 'NOT_FOUND') throw err;
      const info = await this.hooks.iserverAccounts(signal);
      for (const other of info.accounts.filter((a) => a !== info.selected)) {
        const found = await this.hooks
          .forAccount(other, signal, () => this.readOrderStatus(orderId, opts))
          .catch((e: unknown) => {
            if (isBrokerError(e) && e.code === 'NOT_FOUND') return undefined;
            throw e;
          });
        if (found) return found;
      }
      throw err;
    });
  }

  private async readOrderStatus(orderId: string, opts: CallOptions): Promise<LiveOrder> {
    try {
      const res = await this.http.get<unknown>(`/iserver/account/order/status/${encodeURIComponent(orderId)}`, {
        signal: opts.signal,
      });
      const err = errorOf(res.data);
      const o = err === undefined ? parseOrderStatus(res.data) : undefined;
      if (!o) throw notFound(orderId, err);
      return o;
    } catch (e) {
      if (isBrokerError(e) && e.details?.['status'] === 503)
        throw notFound(orderId, String(e.details?.['error'] ?? ''));
      throw e;
    }
  }

  async modifyOrder(orderId: string, order: OrderRequest, opts: CallOptions = {}): Promise<PlaceOutcome> {
    await this.hooks.ensureAccounts(opts.signal);
    const res = await this.http.post<unknown>(
      `/iserver/account/${encodeURIComponent(order.accountId)}/order/${encodeURIComponent(orderId)}`,
      { body: toWireOrder(order, { withClientId: false }), signal: opts.signal },
    );
    return parsePlaceAnswer(res.data);
  }

  async cancelOrder(accountId: string, orderId: string, opts: CallOptions = {}): Promise<CancelResult> {
    await this.hooks.ensureAccounts(opts.signal);
    const res = await this.http.request<unknown>(
      'DELETE',
      `/iserver/account/${encodeURIComponent(accountId)}/order/${encodeURIComponent(orderId)}`,
      { signal: opts.signal },
    );
    return parseCancel(orderId, res.data);
  }

  /** IB cancels every open order of the account for the order id -1. */
  cancelAll(accountId: string, opts: CallOptions = {}): Promise<CancelResult> {
    return this.cancelOrder(accountId, '-1', opts);
  }

  async trades(days: number, opts: CallOptions = {}): Promise<Trade[]> {
    const d = Math.min(7, Math.max(1, Math.round(days)));
    const res = await this.http.get<unknown>('/iserver/account/trades', {
      query: d > 1 ? { days: d } : undefined,
      signal: opts.signal,
    });
    return parseTrades(res.data);
  }

  /**
   * undefined only when IB's settled live orders and today's executions both really came and
   * neither names it; any read that fails throws (a failed read is not "no such order").
   */
  async findOrderByClientId(clientOrderId: string, opts: CallOptions = {}): Promise<LiveOrder | undefined> {
    const live = await this.liveOrders({ ...opts, settled: true });
    const hit = live.find((o) => o.clientOrderId === clientOrderId);
    if (hit) return hit;
    // A fully filled order may have left the live list: its executions still name it.
    const trades = await this.trades(1, opts);
    const fills = trades.filter((x) => x.clientOrderId === clientOrderId && x.orderId);
    const t = fills[0];
    if (!t?.orderId) return undefined;
    return this.orderStatus(t.orderId, opts).catch((err: unknown) => {
      if (!isBrokerError(err) || err.code !== 'NOT_FOUND') throw err;
      // IB no longer shows the order itself, but its executions prove it was placed and filled.
      const filled = fills.reduce((s, x) => s + x.quantity, 0);
      const o: LiveOrder = {
        orderId: t.orderId!,
        clientOrderId,
        accountId: t.accountId,
        conid: t.conid,
        symbol: t.symbol,
        side: t.side,
        orderType: '',
        quantity: filled,
        filled,
        remaining: 0,
        state: 'filled',
        status: 'Filled',
        description: 'from executions',
      };
      if (t.secType) o.secType = t.secType;
      return o;
    });
  }
}

function notFound(orderId: string, why: string | undefined): BrokerError {
  return new BrokerError('NOT_FOUND', `IB does not know order ${orderId} in this session.`, {
    hint: 'IB shows only orders of the current session; use get_live_orders or get_trades.',
    details: { orderId, error: why },
  });
}
