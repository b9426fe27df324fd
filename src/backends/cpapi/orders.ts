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
  UnlistedOrder,
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
  unlistedRows,
} from './order-wire.js';
import type { CpapiStream } from './stream.js';
import { isObject, sleep } from './wire.js';

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
  /**
   * The login has one account (session.ts). IB's WebSocket pushes the selected account's orders, so
   * on a login with several its list cannot answer for a named account: that read goes to REST.
   */
  singleAccount?(): boolean;
  /** The account IB has selected, as the session last read or set it (session.ts). */
  selectedAccount?(): string | undefined;
  /** Runs `work` with the account selected (IB scopes live orders and order status to it); session.ts. */
  forAccount<T>(
    accountId: string | undefined,
    signal: AbortSignal | undefined,
    work: (accountId: string | undefined) => Promise<T>,
  ): Promise<T>;
}

const LIVE_POLLS = 3;
/** Background reads that may seed the stream's order list after one subscription. */
const SEED_READS = 3;
/** How long a read waits for the WebSocket to hear of this client's last order change before asking IB. */
const STREAM_ORDERS_WAIT_MS = 1000;
/**
 * After this client changes an order, the stream's copy counts only once it has heard of the
 * change, or this long after it (a rejected order changes nothing IB would push).
 */
const WRITE_SETTLE_MS = 3000;

const LIVE_ORDERS = '/iserver/account/orders';

/** What a shared read tells a settled read that may take its answer (joinSharedRead). */
interface ReadTrack {
  /** When the request now under way was sent (undefined between requests). */
  sentAt?: number | undefined;
  /** When the request that brought a complete list was sent. */
  completeSentAt?: number;
  /** The account the read ran for (the one selected while it ran). */
  account?: string | undefined;
  /** A tool call waits for this (background) read: its requests go as the call's. */
  foreground?: boolean;
}

type ReadOptions = LiveOrdersOptions & { background?: boolean; track?: ReadTrack };

export class CpapiOrders implements OrdersApi {
  /** Shared live-order reads, one per account (key '' for the selected account). */
  private readonly liveFlights = new Map<string, { done: Promise<LiveOrder[]>; track: ReadTrack }>();
  /** Settled live-order reads per account: the one under way and the one callers wait for next. */
  private readonly settledTurns = new Map<
    string,
    { running?: Promise<LiveOrder[]> | undefined; next?: Promise<LiveOrder[]> | undefined }
  >();
  constructor(
    private readonly http: CpapiHttp,
    private readonly hooks: CpapiOrdersHooks,
    private readonly log: Logger = silentLogger,
    /** The wait between live-order polls (tests inject a fake). */
    private readonly wait: (ms: number, signal?: AbortSignal) => Promise<void> = sleep,
    /** IB's WebSocket: live orders and order status come from its sor topic while it is up. */
    private readonly stream?: CpapiStream,
  ) {}

  /** Per account read, the last complete list's rows that are not buy or sell orders (an exercise). */
  private readonly unlistedAt = new Map<string, UnlistedOrder[]>();

  /** When this client last changed orders (place, modify, cancel, reply), epoch ms; per order id for modify and cancel. */
  private lastWrite = 0;
  private readonly writes = new Map<string, number>();

  /** Marks a change about to be sent; the returned function takes the mark back (IB changed nothing). */
  private wrote(orderId?: string): () => void {
    const now = Date.now();
    const before = { last: this.lastWrite, mine: orderId ? this.writes.get(orderId) : undefined };
    this.lastWrite = now;
    if (orderId) this.writes.set(orderId, now);
    return () => {
      if (this.lastWrite === now) this.lastWrite = before.last;
      if (orderId && this.writes.get(orderId) === now) {
        if (before.mine === undefined) this.writes.delete(orderId);
        else this.writes.set(orderId, before.mine);
      }
    };
  }

  /**
   * A question or a rejection changed no order: the stream has nothing new to say. A placement
   * (also one a reply completes) counts as a change of each order it names, from `since`.
   */
  private settled(out: PlaceOutcome, undo: () => void, since: number): PlaceOutcome {
    if (out.kind !== 'placed') undo();
    else for (const o of out.orders) this.writes.set(o.orderId, Math.max(since, this.writes.get(o.orderId) ?? 0));
    return out;
  }

  /** The stream has heard of this order since this client last changed it (read-your-writes). */
  private streamFresh(orderId: string): boolean {
    const st = this.stream;
    const since = Math.max(this.writes.get(orderId) ?? 0, this.writes.get('-1') ?? 0);
    return st !== undefined && (st.orderSeenAt(orderId) > since || Date.now() - since > WRITE_SETTLE_MS);
  }

  /**
   * The live orders the WebSocket holds: undefined until a REST list read after its sor
   * subscription seeded it (IB need not push the orders that already exist).
   */
  private async streamedOrders(opts: LiveOrdersOptions): Promise<LiveOrder[] | undefined> {
    const st = this.stream;
    if (!st) return undefined;
    // Before the first login this waits for it (the request is held at the session's gate).
    await this.hooks.ensureAccounts(opts.signal);
    if (!st.orders()) return undefined;
    // The stream has the orders of the account whose list seeded it: another's would come out missing.
    const seededFor = st.orders()?.account;
    if (
      opts.accountId &&
      this.hooks.singleAccount?.() !== true &&
      seededFor?.toUpperCase() !== opts.accountId.toUpperCase()
    )
      return undefined;
    // After this client changed an order: wait a moment for the push.
    if (Date.now() - this.lastWrite < 2 * STREAM_ORDERS_WAIT_MS) {
      await raceSignal(st.waitForOrders(STREAM_ORDERS_WAIT_MS, this.lastWrite), opts.signal);
    }
    const got = st.orders();
    if (!got || (got.receivedAt <= this.lastWrite && Date.now() - this.lastWrite <= WRITE_SETTLE_MS)) return undefined;
    if (got.account !== seededFor) return undefined;
    if (
      [...this.writes.keys()].some(
        (id) => id !== '-1' && got.rows.some((r) => String(r['orderId']) === id) && !this.streamFresh(id),
      )
    ) {
      return undefined;
    }
    const acct = opts.accountId?.toUpperCase();
    opts.report?.('stream', got.receivedAt);
    opts.unlisted?.(unlistedRows(got.rows).filter((o) => !acct || o.accountId.toUpperCase() === acct));
    return parseLiveOrders({ orders: got.rows, snapshot: true })
      .orders.filter((o) => !acct || o.accountId.toUpperCase() === acct)
      .map((o) => ({ ...o, source: 'stream' as const, receivedAt: got.receivedAt }));
  }

  /** Pushed orders: each new one and each status or fill change, while the WebSocket is up. */
  watch(listener: (order: LiveOrder) => void): () => void {
    if (!this.stream) return () => {};
    return this.stream.onOrder((e) => {
      const o = parseLiveOrders({ orders: [e.row], snapshot: true }).orders[0];
      if (o) listener({ ...o, source: 'stream', receivedAt: Date.now() });
    });
  }

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
    const since = Date.now();
    const undo = this.wrote();
    const res = await this.http.post<unknown>(`/iserver/account/${encodeURIComponent(order.accountId)}/orders`, {
      body: { orders: toWireOrders(order) },
      signal: opts.signal,
    });
    return this.settled(parsePlaceAnswer(res.data), undo, since);
  }

  async reply(replyId: string, confirmed: boolean, opts: CallOptions = {}): Promise<PlaceOutcome> {
    const since = Date.now();
    const undo = this.wrote();
    try {
      const res = await this.http.post<unknown>(`/iserver/reply/${encodeURIComponent(replyId)}`, {
        body: { confirmed },
        signal: opts.signal,
      });
      const out = this.settled(parsePlaceAnswer(res.data), undo, since);
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
   * A background read of the whole list (IB's placeholder, then the list after its 5-second
   * interval): the answer seeds the WebSocket's order list. A tool call asking meanwhile shares it.
   */
  async seedLiveOrders(opts: CallOptions = {}): Promise<void> {
    const st = this.stream;
    // A read that began before the subscription (the login's, sent before the socket opened)
    // cannot seed it: one more, as long as a subscription on an open socket waits for its list.
    for (let i = 0; i < SEED_READS; i++) {
      if (st?.orders() || (i > 0 && st?.ordersEpoch() === 0)) return;
      await this.hooks.ensureAccounts(opts.signal);
      await this.sharedRead({ signal: opts.signal, background: true });
    }
  }

  /**
   * Live orders. Concurrent calls share one read: IB allows one request per 5 s on this endpoint,
   * so eight callers must not queue eight reads (each caller can still cancel its own wait).
   */
  async liveOrders(opts: LiveOrdersOptions = {}): Promise<LiveOrder[]> {
    if (opts.force !== true) {
      const streamed = await this.streamedOrders(opts);
      if (streamed) return streamed;
    }
    const stamp = (list: LiveOrder[]) => {
      const asked = Date.now();
      opts.report?.('request', asked);
      if (opts.unlisted) {
        const acct = opts.accountId?.toUpperCase();
        const rows = [...this.unlistedAt.values()].flat();
        opts.unlisted(rows.filter((o) => !acct || o.accountId.toUpperCase() === acct));
      }
      return list.map((o) => ({ ...o, source: 'request' as const, receivedAt: asked }));
    };
    if (opts.settled === true) {
      const joined = await this.joinSharedRead(opts, Date.now());
      return stamp(joined ?? (await this.settledRead(opts)));
    }
    if (opts.force === true) return stamp(await this.readLiveOrders(opts));
    return stamp(await this.sharedRead(opts));
  }

  /**
   * A settled read must be asked after its caller arrived (an order placed a moment ago must be in
   * it), so a caller never joins a read already under way: it waits for the next one, which starts
   * when that ends and is shared by everyone who arrives meanwhile. N concurrent lookups cost at most
   * two of IB's one-per-5-s reads, not N (the fuzzer's 8-way lookups queued past a client's timeout).
   */
  private settledRead(opts: LiveOrdersOptions): Promise<LiveOrder[]> {
    const key = `${opts.accountId?.toUpperCase() ?? ''}|${opts.force === true}`;
    let turn = this.settledTurns.get(key);
    if (!turn) {
      turn = {};
      this.settledTurns.set(key, turn);
    }
    const t = turn;
    const run = (): Promise<LiveOrder[]> => {
      const p = this.readLiveOrders({ ...opts, signal: undefined }).finally(() => {
        if (t.running === p) t.running = undefined;
        if (!t.running && !t.next) this.settledTurns.delete(key);
      });
      t.running = p;
      return p;
    };
    if (!t.running) return raceSignal(run(), opts.signal);
    t.next ??= t.running
      .catch(() => {})
      .then(() => {
        t.next = undefined;
        return run();
      });
    return raceSignal(t.next, opts.signal);
  }

  private async sharedRead(opts: ReadOptions): Promise<LiveOrder[]> {
    const key = opts.accountId?.toUpperCase() ?? '';
    // A read for the selected account (the login's seed read, a call naming none) answers a call
    // naming that account too: on a login with several accounts the tools always name one.
    const anon = key && !this.liveFlights.has(key) ? this.anonFor(key) : undefined;
    if (anon) {
      if (!opts.background) this.promote(anon.track);
      const got = await raceSignal(
        anon.done.catch(() => undefined),
        opts.signal,
      );
      if (got && anon.track.account?.toUpperCase() === key) return got.filter((o) => o.accountId.toUpperCase() === key);
    }
    let flight = this.liveFlights.get(key);
    if (!flight) {
      const track: ReadTrack = {};
      const done = this.readLiveOrders({ ...opts, signal: undefined, track }).finally(() => {
        this.liveFlights.delete(key);
      });
      flight = { done, track };
      this.liveFlights.set(key, flight);
    }
    if (!opts.background) this.promote(flight.track);
    return raceSignal(flight.done, opts.signal);
  }

  /**
   * A tool call came to share a background read (the login's seed): its waiting request stops
   * waiting for a quiet window. Without this the first get_live_orders after a login waited behind
   * the warm-up's one-per-second background pace (2.2 s of 7.5 s).
   */
  private promote(track: ReadTrack): void {
    if (track.foreground) return;
    track.foreground = true;
    this.http.pacer.promoted();
  }

  /**
   * A shared read whose answer a settled read may take: one whose current request, if any, was
   * sent after `arrived` (a login's seed read still waiting for IB's 5-second slot), and which ends
   * with a complete list asked for after `arrived`. Undefined when there is none or it did not.
   * Without this, the seed and the settled read queued for the same slot, and a cancel's lookup of
   * a bracket's children waited two slots and timed out.
   */
  private async joinSharedRead(opts: LiveOrdersOptions, arrived: number): Promise<LiveOrder[] | undefined> {
    if (opts.force === true) return undefined;
    const key = opts.accountId?.toUpperCase() ?? '';
    // A read naming no account (the login's seed) answers for the account it ran for.
    const flight = this.liveFlights.get(key) ?? (key ? this.anonFor(key) : undefined);
    if (!flight || (flight.track.sentAt !== undefined && flight.track.sentAt < arrived)) return undefined;
    this.promote(flight.track);
    const got = await raceSignal(
      flight.done.catch(() => undefined),
      opts.signal,
    );
    const t = flight.track;
    if (!got || t.completeSentAt === undefined || t.completeSentAt < arrived) return undefined;
    if (!key) return got;
    return t.account?.toUpperCase() === key ? got.filter((o) => o.accountId.toUpperCase() === key) : undefined;
  }

  /**
   * The read naming no account under way, when it runs (or, not started yet, will run) for `key`:
   * worth waiting for. Another account's call, or an unknown one, does not wait for it.
   */
  private anonFor(key: string): { done: Promise<LiveOrder[]>; track: ReadTrack } | undefined {
    const anon = this.liveFlights.get('');
    const account = anon?.track.account ?? this.hooks.selectedAccount?.();
    return account?.toUpperCase() === key ? anon : undefined;
  }

  /** IB answers for the selected account: select it first, and keep only its rows when one was asked for. */
  private async readLiveOrders(opts: ReadOptions): Promise<LiveOrder[]> {
    // A background read waits for IB's slot before it takes the account scope: held through the
    // 5-second wait, the scope kept every call for another account waiting (after each account
    // switch the stream's order list is seeded again: an unknown order id took 5 s per account).
    if (opts.background) {
      for (let ms = this.http.pacer.readyInMs(LIVE_ORDERS); ms > 0; ms = this.http.pacer.readyInMs(LIVE_ORDERS)) {
        await sleep(ms, opts.signal);
      }
    }
    return this.hooks.forAccount(opts.accountId, opts.signal, async (ranFor) => {
      if (opts.track) opts.track.account = ranFor;
      const rows = await this.pollLiveOrders(opts, ranFor);
      const acct = opts.accountId?.toUpperCase();
      return acct ? rows.filter((o) => o.accountId.toUpperCase() === acct) : rows;
    });
  }

  private async pollLiveOrders(opts: ReadOptions, ranFor: string | undefined): Promise<LiveOrder[]> {
    let force = opts.force === true;
    for (let i = 0; i < LIVE_POLLS; i++) {
      // Taken when the pacer sends it: only an answer asked for after the sor subscription seeds it.
      let epoch = 0;
      let startedAt = 0;
      const query = force ? { force: true } : {};
      const res = await this.http.get<unknown>('/iserver/account/orders', {
        query: () => {
          epoch = this.stream?.ordersEpoch() ?? 0;
          startedAt = Date.now();
          if (opts.track) opts.track.sentAt = startedAt;
          return query;
        },
        signal: opts.signal,
        ...(opts.background ? { background: () => opts.track?.foreground !== true } : {}),
      });
      force = false;
      const { orders, snapshot } = parseLiveOrders(res.data);
      // The selected account's whole list (the read selected `ranFor` first, and held the scope).
      const rows = isObject(res.data) ? res.data['orders'] : undefined;
      if (snapshot && Array.isArray(rows)) {
        this.stream?.seedOrders(epoch, rows, startedAt, ranFor);
        this.unlistedAt.set(ranFor?.toUpperCase() ?? '', unlistedRows(rows));
      }
      if (opts.track) {
        opts.track.sentAt = undefined;
        if (snapshot) opts.track.completeSentAt = startedAt;
      }
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
    // Only a seeded stream (orders() is undefined before) knows every order of the session.
    const got = this.stream?.orders();
    const row = this.streamFresh(orderId)
      ? got?.rows.find((r) => String(r['orderId'] ?? r['order_id']) === orderId)
      : undefined;
    const streamed = row ? parseLiveOrders({ orders: [row], snapshot: true }).orders[0] : undefined;
    if (got && streamed && (!accountId || streamed.accountId.toUpperCase() === accountId.toUpperCase())) {
      return { ...streamed, source: 'stream', receivedAt: got.receivedAt };
    }
    const first = this.hooks.forAccount(accountId, signal, () => this.readOrderStatus(orderId, opts));
    if (accountId) return first;
    return first.catch(async (err: unknown) => {
      if (!isBrokerError(err) || err.code !== 'NOT_FOUND') throw err;
      const info = await this.hooks.iserverAccounts(signal);
      for (const other of info.accounts.filter((a) => a !== info.selected)) {
        // IB answers 503 for an order the account does not have: asked in the other accounts, one
        // retry (the selected account's lookup had all of them).
        const found = await this.hooks
          .forAccount(other, signal, () => this.readOrderStatus(orderId, { ...opts, retries: 1 }))
          .catch((e: unknown) => {
            if (isBrokerError(e) && e.code === 'NOT_FOUND') return undefined;
            throw e;
          });
        if (found) return found;
      }
      throw err;
    });
  }

  private async readOrderStatus(orderId: string, opts: CallOptions & { retries?: number }): Promise<LiveOrder> {
    try {
      const res = await this.http.get<unknown>(`/iserver/account/order/status/${encodeURIComponent(orderId)}`, {
        signal: opts.signal,
        ...(opts.retries !== undefined ? { retries: opts.retries } : {}),
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
    const since = Date.now();
    const undo = this.wrote(orderId);
    const res = await this.http.post<unknown>(
      `/iserver/account/${encodeURIComponent(order.accountId)}/order/${encodeURIComponent(orderId)}`,
      { body: toWireOrder(order, { withClientId: false }), signal: opts.signal },
    );
    return this.settled(parsePlaceAnswer(res.data), undo, since);
  }

  async cancelOrder(accountId: string, orderId: string, opts: CallOptions = {}): Promise<CancelResult> {
    await this.hooks.ensureAccounts(opts.signal);
    this.wrote(orderId);
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

  /** IB answers the selected account's executions ([V1]): read inside the account scope, like live orders. */
  async trades(days: number, opts: AccountCallOptions = {}): Promise<Trade[]> {
    const d = Math.min(7, Math.max(1, Math.round(days)));
    return this.hooks.forAccount(opts.accountId, opts.signal, async () => {
      const res = await this.http.get<unknown>('/iserver/account/trades', {
        query: d > 1 ? { days: d } : undefined,
        signal: opts.signal,
      });
      const rows = parseTrades(res.data);
      const acct = opts.accountId?.toUpperCase();
      return acct ? rows.filter((t) => t.accountId.toUpperCase() === acct) : rows;
    });
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
