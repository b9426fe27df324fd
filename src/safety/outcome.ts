/**
 * The shapes an order moves through in safety, and the one function that builds an order
 * result. An order is an `OrderDraft` (what the user asked) until `prepare` turns it into a
 * `Prepared` (the exact `OrderRequest` for the wire plus what the checks found); every answer
 * about it is an `OrderOutcome`, built by `outcome()`.
 */
import type {
  LiveOrder,
  OrderPreview,
  OrderQuestion,
  OrderRequest,
  OrderState,
  OrderType,
  PlacedOrder,
  TimeInForce,
  TrailingType,
} from '../broker/orders.js';
import type { SpreadSummary } from '../broker/spreads.js';
import type { Contract } from '../broker/types.js';
import type { TradingMode } from './journal.js';
import type { LimitReport, PriceRefs } from './policy.js';

export type OutcomeStatus =
  | 'submitted'
  | 'filled'
  | 'cancelled'
  | 'confirmation_required'
  | 'needs_reply'
  | 'rejected'
  | 'declined'
  | 'uncertain'
  | 'previewed';

export const OUTCOME_STATUSES: readonly OutcomeStatus[] = [
  'submitted',
  'filled',
  'cancelled',
  'confirmation_required',
  'needs_reply',
  'rejected',
  'declined',
  'uncertain',
  'previewed',
];

/**
 * How the order was approved; IB's questions about it need the same approval. none: the server
 * was set to send without asking. token: confirm_order with a token (paper and simulator).
 * elicit: the human answered the client's dialog. code: confirm_order with a token and the
 * approval code the human read from their authenticator app (live). ticket: the human pressed
 * Place in the order ticket app (MCP Apps), which the model cannot do.
 */
export type Approval = 'none' | 'token' | 'elicit' | 'code' | 'ticket';

export const APPROVALS: readonly Approval[] = ['none', 'token', 'elicit', 'code', 'ticket'];

export interface OrderOutcome {
  status: OutcomeStatus;
  mode: TradingMode;
  accountId: string;
  contract: Contract;
  /** Exactly what was sent (or would be sent). */
  order: OrderRequest;
  action: 'place' | 'modify';
  orderId?: string;
  ibStatus?: string;
  /** A bracket's children as IB placed them (take-profit first, then stop-loss). */
  children?: PlacedOrder[];
  filled?: number;
  remaining?: number;
  avgPrice?: number;
  preview?: OrderPreview;
  previewError?: string;
  notional?: number;
  notionalBasis?: string;
  confirmation?: { token: string; expiresAt: string };
  question?: OrderQuestion;
  /** With needs_reply: the approval IB's question needs (the order's own). */
  approval?: Approval;
  autoConfirmed?: string[];
  /** True when this call did not send anything because the client order id was already used. */
  existing?: boolean;
  /** A one-cancels-all group: each order's contract and where it stands (the first is this order). */
  members?: GroupMember[];
  /** A spread: its legs, market and payoff as checked. */
  spread?: SpreadSummary;
  message: string;
}

/** One order of a group as a result shows it. */
export interface GroupMember {
  contract: Contract;
  order: OrderRequest;
  orderId?: string;
  ibStatus?: string;
  state?: OrderState | 'unknown';
}

/** An order as the user described it, before account and policy. */
export interface OrderDraft {
  accountId?: string | undefined;
  contract: Contract;
  side: 'BUY' | 'SELL';
  orderType: OrderType;
  quantity: number;
  limitPrice?: number | undefined;
  stopPrice?: number | undefined;
  trailingAmount?: number | undefined;
  trailingType?: TrailingType | undefined;
  takeProfit?: number | undefined;
  stopLoss?: number | undefined;
  /** A cash order: this amount instead of `quantity` (which prepare then estimates). */
  cashQty?: number | undefined;
  tif: TimeInForce;
  outsideRth: boolean;
  clientOrderId?: string | undefined;
}

export interface Prepared {
  action: 'place' | 'modify';
  order: OrderRequest;
  contract: Contract;
  mode: TradingMode;
  quote?: PriceRefs;
  preview?: OrderPreview;
  previewError?: string;
  limits: LimitReport;
  /** For modify: IB's order id. */
  orderId?: string;
  /** For modify: the fields changed. */
  changes?: Record<string, unknown>;
  /** A one-cancels-all group: every order of it, prepared (the first is `order` itself). */
  members?: Prepared[];
  /** For modify of a bracket parent: its children's changes, sent once the parent's is accepted. */
  childChanges?: ChildChange[];
  /** A spread: its legs, market and payoff as checked. */
  spread?: SpreadSummary;
}

/** A bracket child's new order, sent after its parent's change was accepted. */
export interface ChildChange {
  orderId: string;
  role: 'take-profit' | 'stop-loss';
  order: OrderRequest;
}

export interface CancelOutcome {
  mode: TradingMode;
  accountId: string;
  orderId: string;
  accepted: boolean;
  /** IB's answer was lost; `message` says what IB's order list shows now. */
  answerLost?: true;
  /** The answer was lost and IB's order list could not settle whether the cancel took effect. */
  uncertain?: true;
  message: string;
  order?: LiveOrder;
  /** Other orders the cancel affects (a bracket parent's children), as IB shows them after it. */
  affected?: Array<{ orderId: string; role: string; status: string; state: OrderState | 'unknown' }>;
}

/** What an order result is about: a prepared order, or an order as recorded (journal). */
type Subject = Pick<Prepared, 'action' | 'order' | 'contract' | 'mode'> &
  Partial<Pick<Prepared, 'orderId' | 'preview' | 'previewError' | 'limits' | 'members' | 'spread'>>;

/** The one builder of order results: the subject's facts, then the status, message and extras. */
export function outcome(
  p: Subject,
  status: OutcomeStatus,
  message: string,
  extra: Partial<Omit<OrderOutcome, 'status' | 'message'>> = {},
): OrderOutcome {
  const o: OrderOutcome = {
    status,
    mode: p.mode,
    accountId: p.order.accountId,
    contract: p.contract,
    order: p.order,
    action: p.action,
    message,
  };
  if (p.orderId) o.orderId = p.orderId;
  if (p.preview) o.preview = p.preview;
  if (p.previewError) o.previewError = p.previewError;
  if (p.limits?.notional !== undefined) o.notional = p.limits.notional;
  if (p.limits?.notionalBasis) o.notionalBasis = p.limits.notionalBasis;
  if (p.members?.length) o.members = p.members.map((m) => ({ contract: m.contract, order: m.order }));
  if (p.spread) o.spread = p.spread;
  for (const [k, v] of Object.entries(extra)) {
    if (v !== undefined && !(Array.isArray(v) && v.length === 0)) (o as unknown as Record<string, unknown>)[k] = v;
  }
  return o;
}

/** The result status for where an order stands at the broker. */
export function statusOfState(state: OrderState): OutcomeStatus {
  return state === 'working' ? 'submitted' : state;
}

/** The broker's facts about an order, as result fields. */
export function liveFacts(o: LiveOrder): Partial<OrderOutcome> {
  const out: Partial<OrderOutcome> = {
    orderId: o.orderId,
    ibStatus: o.status,
    filled: o.filled,
    remaining: o.remaining,
  };
  if (o.avgPrice !== undefined) out.avgPrice = o.avgPrice;
  return out;
}
