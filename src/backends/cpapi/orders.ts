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
  OrderQuestion,
  OrderRequest,
  OrderState,
  OrdersApi,
  PlaceOutcome,
  Trade,
  TradingAccounts,
} from '../../broker/orders.js';
import { SEC_TYPES, type SecType } from '../../broker/types.js';
import { untrusted } from '../../broker/untrusted.js';
import { type Logger, silentLogger } from '../../log.js';
import { type CpapiHttp, raceSignal } from './http.js';
import { isObject, type Row, sleep, str } from './wire.js';

/** IB's numbers: 185.5, "185.50", "1,977.60 USD (10 Shares)", "-1" → number. */
export function ibNum(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v !== 'string') return undefined;
  const m = /-?\d[\d,]*(?:\.\d+)?|-?\.\d+/.exec(v.replace(/\s+/g, ' '));
  if (!m) return undefined;
  const n = Number(m[0].replace(/,/g, ''));
  return Number.isFinite(n) ? n : undefined;
}

function secTypeOf(v: unknown): SecType | undefined {
  const s = str(v)?.toUpperCase();
  return s && (SEC_TYPES as readonly string[]).includes(s) ? (s as SecType) : undefined;
}

function sideOf(v: unknown): 'BUY' | 'SELL' | undefined {
  const s = str(v)?.toUpperCase();
  if (s === 'BUY' || s === 'B' || s === 'BOT') return 'BUY';
  if (s === 'SELL' || s === 'S' || s === 'SLD') return 'SELL';
  return undefined;
}

/**
 * IB's order status text → the domain's state. IB: Filled; Cancelled, PendingCancel,
 * PreCancelled, ApiCancelled; Inactive and Rejected (never worked); everything else (PendingSubmit,
 * PreSubmitted, Submitted, WarnState, ...) is still working.
 */
export function orderStateOf(status: string): OrderState {
  const s = status.replace(/[\s_]+/g, '').toLowerCase();
  if (s === 'filled') return 'filled';
  if (s === 'cancelled' || s === 'pendingcancel' || s === 'precancelled' || s === 'apicancelled') return 'cancelled';
  if (s === 'inactive' || s === 'rejected') return 'rejected';
  return 'working';
}

/** IB's order-type spellings in live orders / status → our names (unknown ones pass through). */
export function orderTypeOf(v: unknown): string {
  const s = (str(v) ?? '').toUpperCase().replace(/[\s-]+/g, '_');
  const map: Record<string, string> = {
    MKT: 'MKT',
    MARKET: 'MKT',
    LMT: 'LMT',
    LIMIT: 'LMT',
    STP: 'STP',
    STOP: 'STP',
    STOP_LIMIT: 'STOP_LIMIT',
    STP_LMT: 'STOP_LIMIT',
    STOPLIMIT: 'STOP_LIMIT',
    TRAIL: 'TRAIL',
    TRAILING_STOP: 'TRAIL',
    TRAILSTOP: 'TRAIL',
  };
  return map[s] ?? (s || 'UNKNOWN');
}

// ---------------------------------------------------------------- request bodies

/** One order in IB's shape (the element of `orders[]`, or the whole body of a modify). */
export function toWireOrder(o: OrderRequest, opts: { withClientId?: boolean } = {}): Row {
  const w: Row = {
    acctId: o.accountId,
    conid: o.conid,
    secType: `${o.conid}:${o.secType}`,
    orderType: o.orderType,
    side: o.side,
    quantity: o.quantity,
    tif: o.tif,
    outsideRTH: o.outsideRth,
    ticker: o.symbol,
  };
  if (opts.withClientId !== false) w['cOID'] = o.clientOrderId;
  switch (o.orderType) {
    case 'LMT':
      w['price'] = o.limitPrice;
      break;
    case 'STP':
      // IB: price is the stop price for STP.
      w['price'] = o.stopPrice;
      break;
    case 'STOP_LIMIT':
      w['price'] = o.limitPrice;
      w['auxPrice'] = o.stopPrice;
      break;
    case 'TRAIL':
      // IB: price is the initial stop price of a trailing stop.
      w['price'] = o.stopPrice;
      w['trailingAmt'] = o.trailingAmount;
      w['trailingType'] = o.trailingType ?? 'amt';
      break;
    case 'MKT':
      break;
  }
  return w;
}

// ---------------------------------------------------------------- answers

function errorOf(data: unknown): string | undefined {
  if (isObject(data) && data['error'] !== undefined && data['error'] !== null) {
    return typeof data['error'] === 'string' ? data['error'] : JSON.stringify(data['error']);
  }
  return undefined;
}

/** The answer to place / modify / reply: placed, a question, or a rejection. */
export function parsePlaceAnswer(data: unknown): PlaceOutcome {
  const err = errorOf(data);
  if (err !== undefined) return { kind: 'rejected', message: err.trim() };
  const rows = Array.isArray(data) ? data : isObject(data) ? [data] : [];
  const first = rows.find(isObject);
  if (first) {
    const rowErr = errorOf(first);
    if (rowErr !== undefined) return { kind: 'rejected', message: rowErr.trim() };
    if (first['id'] !== undefined && Array.isArray(first['message'])) {
      const q: OrderQuestion = {
        replyId: String(first['id']),
        messages: (first['message'] as unknown[]).map((m) => String(m)),
        messageIds: Array.isArray(first['messageIds']) ? (first['messageIds'] as unknown[]).map(String) : [],
      };
      return { kind: 'questions', question: q };
    }
    const placed = rows.filter(isObject).filter((r) => r['order_id'] !== undefined);
    if (placed.length) {
      return {
        kind: 'placed',
        orders: placed.map((r) => {
          const status = str(r['order_status']) ?? 'PendingSubmit';
          return { orderId: String(r['order_id']), status, state: orderStateOf(status) };
        }),
      };
    }
    // IB's "advanced order reject" prompt (e.g. price management algo): never auto-answered.
    if (first['messageId'] !== undefined && typeof first['text'] === 'string') {
      return {
        kind: 'rejected',
        message: `IB asks: ${first['text']} (${first['messageId']}); not answered automatically.`,
      };
    }
  }
  throw new BrokerError(
    'GATEWAY_ERROR',
    `Unrecognised answer from IB to an order request: ${untrusted(JSON.stringify(data), { max: 200 })}`,
    {
      details: { unrecognised: true },
    },
  );
}

function beforeAfter(v: unknown): { current?: number; change?: number; after?: number } | undefined {
  if (!isObject(v)) return undefined;
  const out: { current?: number; change?: number; after?: number } = {};
  const c = ibNum(v['current']);
  const ch = ibNum(v['change']);
  const a = ibNum(v['after']);
  if (c !== undefined) out.current = c;
  if (ch !== undefined) out.change = ch;
  if (a !== undefined) out.after = a;
  return Object.keys(out).length ? out : undefined;
}

/** IB's what-if: formatted strings with thousands separators → numbers. */
export function parseWhatIf(data: unknown): OrderPreview {
  const out: OrderPreview = { warnings: [] };
  if (!isObject(data)) {
    out.error = 'IB returned no what-if';
    return out;
  }
  const amount = isObject(data['amount']) ? data['amount'] : {};
  const a = ibNum(amount['amount']);
  if (a !== undefined) out.amount = Math.abs(a);
  const ccy = /\b([A-Z]{3})\b/.exec(String(amount['amount'] ?? amount['total'] ?? ''));
  if (ccy) out.currency = ccy[1]!;
  const c = ibNum(amount['commission']);
  if (c !== undefined) out.commission = c;
  const t = ibNum(amount['total']);
  if (t !== undefined) out.total = Math.abs(t);
  const eq = beforeAfter(data['equity']);
  if (eq) out.equity = eq;
  const im = beforeAfter(data['initial']);
  if (im) out.initialMargin = im;
  const mm = beforeAfter(data['maintenance']);
  if (mm) out.maintenanceMargin = mm;
  const pos = beforeAfter(data['position']);
  if (pos) out.position = pos;
  const warn = str(data['warn']);
  if (warn) out.warnings.push(warn.replace(/^\d+\//, ''));
  const err = errorOf(data);
  if (err) out.error = err;
  return out;
}

function liveRow(r: Row): LiveOrder | undefined {
  const orderId = str(r['orderId']) ?? str(r['order_id']);
  const conid = ibNum(r['conid']);
  const side = sideOf(r['side']);
  if (!orderId || orderId === '-1' || conid === undefined || !side) return undefined;
  // Field names differ by IB version: camelCase (live orders), snake_case (newer answers), and
  // cum_fill / average_price (order status). docs/ib/fixtures names the source of each.
  const total = ibNum(r['totalSize']) ?? ibNum(r['total_size']) ?? 0;
  const filled = ibNum(r['filledQuantity']) ?? ibNum(r['filled_quantity']) ?? ibNum(r['cum_fill']) ?? 0;
  const remaining = ibNum(r['remainingQuantity']) ?? ibNum(r['remaining_quantity']) ?? Math.max(0, total - filled);
  const o: LiveOrder = {
    orderId,
    accountId: str(r['acct']) ?? str(r['account']) ?? '',
    conid,
    symbol:
      str(r['ticker']) ??
      str(r['symbol']) ??
      str(r['description1']) ??
      str(r['contract_description_1']) ??
      String(conid),
    side,
    orderType: orderTypeOf(r['orderType'] ?? r['order_type'] ?? r['origOrderType']),
    quantity: total || filled + remaining,
    filled,
    remaining,
    state: 'working',
    status: str(r['status']) ?? str(r['order_status']) ?? 'Unknown',
  };
  o.state = orderStateOf(o.status);
  const cOID = str(r['order_ref']) ?? str(r['cOID']);
  if (cOID) o.clientOrderId = cOID;
  const st = secTypeOf(r['secType'] ?? r['sec_type']);
  if (st) o.secType = st;
  const type = o.orderType;
  const price = ibNum(r['price']) ?? ibNum(r['limit_price']);
  const aux = ibNum(r['auxPrice']) ?? ibNum(r['stop_price']) ?? ibNum(r['aux_price']);
  if (type === 'STP') {
    const stop = aux ?? price;
    if (stop !== undefined) o.stopPrice = stop;
  } else {
    if (price !== undefined && type !== 'MKT' && type !== 'TRAIL') o.limitPrice = price;
    if (aux !== undefined && (type === 'STOP_LIMIT' || type === 'TRAIL')) o.stopPrice = aux;
  }
  const avg = ibNum(r['avgPrice']) ?? ibNum(r['avg_fill_price']) ?? ibNum(r['average_price']);
  if (avg !== undefined && filled > 0) o.avgPrice = avg;
  const tif = str(r['timeInForce']) ?? str(r['tif']);
  if (tif) o.tif = tif.toUpperCase();
  const time = ibNum(r['lastExecutionTime_r']) ?? stampMs(str(r['order_time']) ?? str(r['lastExecutionTime']));
  if (time !== undefined) o.time = time;
  const desc = str(r['orderDesc']) ?? str(r['order_description_with_contract']);
  if (desc) o.description = desc;
  if (typeof r['order_not_editable'] === 'boolean') o.editable = !r['order_not_editable'];
  return o;
}

/** IB's trade_time "YYYYMMDD-hh:mm:ss" (UTC) → epoch ms; undefined when it is not that. */
export function tradeTimeMs(s: string | undefined): number | undefined {
  const m = s ? /^(\d{4})(\d{2})(\d{2})-(\d{2}):(\d{2}):(\d{2})$/.exec(s.trim()) : null;
  if (!m) return undefined;
  const ms = Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!);
  return Number.isFinite(ms) ? ms : undefined;
}

/** IB's "YYMMDDHHmmss" (UTC) → epoch ms. */
export function stampMs(s: string | undefined): number | undefined {
  const m = s ? /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})$/.exec(s) : null;
  if (!m) return undefined;
  return Date.UTC(2000 + Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
}

/** Rows of GET /iserver/account/orders, each order once (IB can repeat rows across updates). */
export function parseLiveOrders(data: unknown): { orders: LiveOrder[]; snapshot: boolean } {
  const rows = isObject(data) && Array.isArray(data['orders']) ? (data['orders'] as unknown[]) : [];
  const snapshot = isObject(data) ? data['snapshot'] !== false : false;
  const byId = new Map<string, LiveOrder>();
  for (const r of rows) {
    if (!isObject(r)) continue;
    const o = liveRow(r);
    if (!o) continue;
    const prev = byId.get(o.orderId);
    if (!prev || (o.time ?? 0) >= (prev.time ?? 0)) byId.set(o.orderId, o);
  }
  return { orders: [...byId.values()], snapshot };
}

export function parseOrderStatus(data: unknown): LiveOrder | undefined {
  return isObject(data) ? liveRow(data) : undefined;
}

export function parseTrades(data: unknown): Trade[] {
  const rows = Array.isArray(data) ? data : [];
  const out: Trade[] = [];
  const seen = new Set<string>();
  for (const r of rows) {
    if (!isObject(r)) continue;
    const id = str(r['execution_id']);
    const conid = ibNum(r['conid']);
    const side = sideOf(r['side']);
    const qty = ibNum(r['size']);
    const price = ibNum(r['price']);
    if (!id || seen.has(id) || conid === undefined || !side || qty === undefined || price === undefined) continue;
    seen.add(id);
    const t: Trade = {
      executionId: id,
      accountId: str(r['account']) ?? str(r['accountCode']) ?? '',
      conid,
      symbol: str(r['symbol']) ?? str(r['contract_description_1']) ?? String(conid),
      side,
      quantity: qty,
      price,
    };
    const time = ibNum(r['trade_time_r']) ?? tradeTimeMs(str(r['trade_time']));
    if (time !== undefined) t.time = time;
    const oid = str(r['order_id']);
    if (oid) t.orderId = oid;
    const ref = str(r['order_ref']);
    if (ref) t.clientOrderId = ref;
    const st = secTypeOf(r['sec_type']);
    if (st) t.secType = st;
    const comm = ibNum(r['commission']);
    if (comm !== undefined) t.commission = comm;
    const net = ibNum(r['net_amount']);
    if (net !== undefined) t.netAmount = net;
    const ex = str(r['exchange']);
    if (ex) t.exchange = ex;
    out.push(t);
  }
  return out;
}

export function parseCancel(orderId: string, data: unknown): CancelResult {
  const err = errorOf(data);
  if (err !== undefined) return { orderId, accepted: false, message: err };
  const row = Array.isArray(data) ? data.find(isObject) : isObject(data) ? data : undefined;
  if (!row) return { orderId, accepted: false, message: 'IB gave no answer to the cancel request' };
  const rowErr = errorOf(row);
  if (rowErr !== undefined) return { orderId, accepted: false, message: rowErr };
  return {
    orderId: str(row['order_id']) ?? orderId,
    accepted: true,
    message: str(row['msg']) ?? str(row['order_status']) ?? 'Request was submitted',
  };
}

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
      body: { orders: [toWireOrder(order, { withClientId: false })] },
      signal: opts.signal,
    });
    return parseWhatIf(res.data);
  }

  async placeOrder(order: OrderRequest, opts: CallOptions = {}): Promise<PlaceOutcome> {
    if (!order.clientOrderId) throw new BrokerError('INVALID_INPUT', 'Every order needs a client order id.');
    await this.hooks.ensureAccounts(opts.signal);
    const res = await this.http.post<unknown>(`/iserver/account/${encodeURIComponent(order.accountId)}/orders`, {
      body: { orders: [toWireOrder(order)] },
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
