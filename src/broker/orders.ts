/**
 * Orders part of the backend contract: domain types and the methods tools call.
 * Nothing here knows IB's wire format (cOID, reply ids, formatted what-if strings, status
 * codes); the CPAPI backend translates. Every write method sends exactly one request and
 * never retries: the caller (src/safety) decides what to do when an answer is lost.
 */
import type { CallOptions } from './backend.js';
import type { OrderLeg } from './spreads.js';
import type { SecType } from './types.js';

export const ORDER_SIDES = ['BUY', 'SELL'] as const;
export const ORDER_TYPES = ['MKT', 'LMT', 'STP', 'STOP_LIMIT', 'TRAIL'] as const;
export const TIFS = ['DAY', 'GTC', 'IOC', 'OPG'] as const;
/** Trailing amount in price units ("amt") or percent ("%"). */
export const TRAILING_TYPES = ['amt', '%'] as const;
/**
 * Where an order stands, in the domain's words: working (at the broker, may still fill),
 * filled, cancelled (also partly filled, then cancelled), rejected (never worked). The broker's
 * own status text travels beside it for display.
 */
export const ORDER_STATES = ['working', 'filled', 'cancelled', 'rejected'] as const;

export type OrderSide = (typeof ORDER_SIDES)[number];
export type OrderType = (typeof ORDER_TYPES)[number];
export type TimeInForce = (typeof TIFS)[number];
export type TrailingType = (typeof TRAILING_TYPES)[number];
export type OrderState = (typeof ORDER_STATES)[number];

export function isOrderType(t: string): t is OrderType {
  return (ORDER_TYPES as readonly string[]).includes(t);
}

/** One order exactly as it will be sent. `clientOrderId` is unique per order attempt and never reused. */
export interface OrderRequest {
  accountId: string;
  conid: number;
  secType: SecType;
  /** Ticker for display and for the broker's order ticket. */
  symbol: string;
  side: OrderSide;
  orderType: OrderType;
  quantity: number;
  /** Limit price (LMT, STOP_LIMIT). */
  limitPrice?: number;
  /** Stop (trigger) price (STP, STOP_LIMIT). */
  stopPrice?: number;
  /** TRAIL: distance of the trailing stop. */
  trailingAmount?: number;
  trailingType?: TrailingType;
  tif: TimeInForce;
  outsideRth: boolean;
  clientOrderId: string;
  /**
   * Bracket: a take-profit limit order (this price) and/or a stop-loss stop order (this stop)
   * sent with this order in one request. Each child is on the opposite side with the same
   * quantity, account, tif and outsideRth; it works only once this order fills, and the two
   * children cancel each other (one-cancels-other).
   */
  takeProfit?: number;
  stopLoss?: number;
  /**
   * A cash order (stocks and ETFs, market orders only): the broker trades this amount of the
   * contract's currency instead of a number of shares. `quantity` is then the estimate from the
   * market price (for the checks and display); the broker is sent the cash amount, not it.
   */
  cashQty?: number;
  /**
   * A combo (spread): these legs traded together as one order of `quantity` spreads at one net
   * price (`limitPrice` may then be negative: a credit). `conid` is 0, `secType` the legs' type
   * and `symbol` their underlying; the legs' ratios carry their sides (+ buy, − sell).
   */
  combo?: { currency: string; legs: OrderLeg[] };
  /**
   * One-cancels-all: the other orders of this order's group, each with its own client order id,
   * sent with this one in one request (IB: `isSingleGroup` on every order of the request). A fill
   * of one cancels the others. The group is approved, journaled and limited as one.
   */
  ocaSiblings?: OrderRequest[];
  /** A name for the group (journal and display; IB's Client Portal API takes none). */
  ocaGroup?: string;
}

/** The orders of a one-cancels-all group (this order first), or just this order. */
export function ocaMembers(o: OrderRequest): OrderRequest[] {
  return [o, ...(o.ocaSiblings ?? [])];
}

/** The bracket children of an order (none for a plain order), in the order they are sent. */
export function bracketChildren(o: OrderRequest): OrderRequest[] {
  const side: OrderSide = o.side === 'BUY' ? 'SELL' : 'BUY';
  const base = {
    accountId: o.accountId,
    conid: o.conid,
    secType: o.secType,
    symbol: o.symbol,
    side,
    quantity: o.quantity,
    tif: o.tif,
    outsideRth: o.outsideRth,
    clientOrderId: '',
  };
  const out: OrderRequest[] = [];
  if (o.takeProfit !== undefined) out.push({ ...base, orderType: 'LMT', limitPrice: o.takeProfit });
  if (o.stopLoss !== undefined) out.push({ ...base, orderType: 'STP', stopPrice: o.stopLoss });
  return out;
}

/** A broker's confirmation question about an order that is not placed yet. */
export interface OrderQuestion {
  replyId: string;
  /** The broker's texts (untrusted). */
  messages: string[];
  messageIds: string[];
}

export interface PlacedOrder {
  /** The broker's id; '-1' for a bracket child the broker refused. */
  orderId: string;
  state: OrderState;
  /** The broker's status text. */
  status: string;
}

/** The answer to a placement, a modification or a reply. */
export type PlaceOutcome =
  | { kind: 'placed'; orders: PlacedOrder[] }
  | { kind: 'questions'; question: OrderQuestion }
  | { kind: 'rejected'; message: string };

export interface BeforeAfter {
  current?: number;
  change?: number;
  after?: number;
}

/** The broker's what-if for an order: cost, commission, margin and equity, without placing it. */
export interface OrderPreview {
  /** Order value (price × quantity × multiplier), positive. */
  amount?: number;
  commission?: number;
  /** Amount plus commission. */
  total?: number;
  currency?: string;
  equity?: BeforeAfter;
  initialMargin?: BeforeAfter;
  maintenanceMargin?: BeforeAfter;
  position?: BeforeAfter;
  /** Warnings from the broker (untrusted text). */
  warnings: string[];
  /** Set when the broker says the order would be rejected. */
  error?: string;
}

export interface LiveOrder {
  orderId: string;
  clientOrderId?: string;
  accountId: string;
  conid: number;
  symbol: string;
  secType?: SecType;
  side: OrderSide;
  orderType: string;
  /** Total quantity of the order. This and the next two are absent when the broker sent none (never 0). */
  quantity?: number;
  filled?: number;
  remaining?: number;
  limitPrice?: number;
  stopPrice?: number;
  avgPrice?: number;
  state: OrderState;
  /** The broker's status text (display only; decisions use `state`). */
  status: string;
  tif?: string;
  /** Epoch ms of the last update or execution, when known. */
  time?: number;
  description?: string;
  /** Whether the broker allows changing or cancelling it, when known. */
  editable?: boolean;
  /** Where the answer came from: the broker's push stream or a request. */
  source?: DataSource;
  /** Epoch ms the backend received this data. */
  receivedAt?: number;
  /** A bracket child: the broker's order id of its parent. */
  parentId?: string;
  /** The broker's id of the one-cancels-all group the order belongs to, when it says. */
  ocaGroupId?: string;
}

/**
 * An instruction the broker lists with the orders that is neither a buy nor a sell (IB: an option
 * exercise, side "EXER"): shown beside the orders, never handled as one.
 */
export interface UnlistedOrder {
  orderId: string;
  accountId: string;
  /** The broker's own words for it (its description, side and contract). */
  what: string;
  status?: string;
}

/** How a backend got an answer: pushed over its stream, or asked for with a request. */
export type DataSource = 'stream' | 'request';

export interface Trade {
  executionId: string;
  orderId?: string;
  clientOrderId?: string;
  accountId: string;
  conid: number;
  symbol: string;
  secType?: SecType;
  side: OrderSide;
  quantity: number;
  price: number;
  commission?: number;
  netAmount?: number;
  exchange?: string;
  /** Epoch ms. */
  /** Epoch ms of the execution; undefined when the broker gave no readable time. */
  time?: number;
}

export interface CancelResult {
  orderId: string;
  /** The broker accepted the cancel request (the order may still fill before it takes effect). */
  accepted: boolean;
  message: string;
}

/** Accounts the session can trade, with what the broker says about paper vs live. */
export interface TradingAccounts {
  accounts: string[];
  /** The backend's verdict per account: paper (true) or live; an account it has none for counts as live. */
  paper?: Record<string, boolean>;
  selected?: string;
  /** Base currency per account, when known. */
  currencies?: Record<string, string>;
}

/** A read the broker may scope to one account (IB: the session's selected account). */
export interface AccountCallOptions extends CallOptions {
  /** The account the read is for; default the broker's selected account. */
  accountId?: string;
}

export interface LiveOrdersOptions extends AccountCallOptions {
  /** Drop the broker's cached list first (IB's force=true). */
  force?: boolean;
  /**
   * Only a list the broker gave as complete: throw (GATEWAY_ERROR) rather than answer "no
   * orders" when the broker only sent placeholders. For decisions such as reconciliation.
   */
  settled?: boolean;
  /** Told where the answer came from and when it arrived (also for an empty list). */
  report?: (source: DataSource, receivedAt: number) => void;
  /** Told of the instructions listed with the orders that are not orders (see UnlistedOrder). */
  unlisted?: (rows: UnlistedOrder[]) => void;
}

export interface OrdersApi {
  /** Accounts and the paper flag, read from the broker (not from configuration). */
  tradingAccounts(opts?: CallOptions): Promise<TradingAccounts>;
  /** The broker's what-if: nothing is placed. */
  previewOrder(order: OrderRequest, opts?: CallOptions): Promise<OrderPreview>;
  /** Sends one order once. Never retried: a lost answer surfaces as an error to the caller. */
  placeOrder(order: OrderRequest, opts?: CallOptions): Promise<PlaceOutcome>;
  /** Answers a confirmation question (replies can chain into another question). */
  reply(replyId: string, confirmed: boolean, opts?: CallOptions): Promise<PlaceOutcome>;
  /** Working and recent orders of the session, each once. */
  liveOrders(opts?: LiveOrdersOptions): Promise<LiveOrder[]>;
  /** One order's status; BrokerError NOT_FOUND when the broker does not know it. */
  orderStatus(orderId: string, opts?: AccountCallOptions): Promise<LiveOrder>;
  /** Replaces a working order's parameters; `order` is the full new order. */
  modifyOrder(orderId: string, order: OrderRequest, opts?: CallOptions): Promise<PlaceOutcome>;
  /** Cancels one order. */
  cancelOrder(accountId: string, orderId: string, opts?: CallOptions): Promise<CancelResult>;
  /** Cancels every open order of the account. */
  cancelAll(accountId: string, opts?: CallOptions): Promise<CancelResult>;
  /** Executions of the last `days` days (1-7). */
  /** IB answers the selected account's executions: with accountId, that account is selected first and only its rows kept. */
  trades(days: number, opts?: AccountCallOptions): Promise<Trade[]>;
  /** The order with this client order id, if the broker shows it among the session's orders. */
  findOrderByClientId(clientOrderId: string, opts?: CallOptions): Promise<LiveOrder | undefined>;
  /**
   * Calls `listener` with each new order and each status or fill change the broker pushes, while
   * its stream is up (absent for a backend without one). Returns the unsubscribe function.
   */
  watchOrders?(listener: (order: LiveOrder) => void): () => void;
}

/** The section of the Backend contract (the CPAPI backend delegates to src/backends/cpapi/orders.ts). */
export interface OrdersBackend extends OrdersApi {}
