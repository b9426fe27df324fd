/**
 * What the parts of the order flow share: the backend's order API, the journal, the held
 * confirmations, IB's open questions, the policy, and the clock. One `OrderContext` per
 * OrderService; prepare, send, confirm and reconcile each take it.
 */
import { randomBytes } from 'node:crypto';
import type { Backend } from '../broker/backend.js';
import { BrokerError, isBrokerError } from '../broker/errors.js';
import type { OrdersApi } from '../broker/orders.js';
import type { Logger } from '../log.js';
import type { ApprovalCodes } from './approval-code.js';
import type { ConfirmTokens } from './confirm-token.js';
import type { Journal } from './journal.js';
import type { Approval, Prepared } from './outcome.js';
import type { SafetyConfig } from './policy.js';

export const DAY_MS = 86_400_000;

/** A held confirmation: an order to send, or "yes" to one of IB's questions about it. */
export interface Held {
  prepared: Prepared;
  /**
   * Set when the hold belongs to a client dialog (an elicitation re-entry): the hash of the tool
   * arguments it was issued for. Such a state is useless to confirm_order.
   */
  argsHash?: string;
  /** The hold answers this question of IB's (yes) instead of sending the order. */
  replyId?: string;
  /** Epoch ms the hold was made: an approval code must be newer. */
  at?: number;
}

/** One of IB's questions about an order this server sent, waiting for an answer. */
export interface PendingReply {
  prepared: Prepared;
  autoConfirmed: string[];
  approval: Approval;
}

export interface OrderContext {
  backend: Backend;
  /** The backend's order methods (REFUSED when the backend has none). */
  readonly api: OrdersApi;
  journal: Journal;
  tokens: ConfirmTokens<Held>;
  /** The approval codes of live orders (enrolled with `ibkr-mcp approvals setup`). */
  codes: ApprovalCodes;
  pendingReplies: Map<string, PendingReply>;
  safety: SafetyConfig;
  home: string;
  simulated: boolean;
  log: Logger;
  now: () => number;
  timers: OrderTimers;
}

/** The waits and deadlines of the lost-answer lookups (real by default; tests inject fakes). */
export interface OrderTimers {
  sleep(ms: number): Promise<void>;
  /** A signal that aborts after `ms`. */
  timeout(ms: number): AbortSignal;
}

export const REAL_TIMERS: OrderTimers = {
  sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
  timeout: (ms) => AbortSignal.timeout(ms),
};

/** Errors after which the request certainly did not reach IB's order system. */
const NOT_SENT_NETWORK = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EHOSTDOWN',
  'UND_ERR_CONNECT_TIMEOUT',
]);

export function certainlyNotSent(err: unknown): boolean {
  if (!isBrokerError(err)) return false;
  switch (err.code) {
    case 'NOT_AUTHENTICATED':
    case 'INVALID_INPUT':
    case 'RATE_LIMITED':
    case 'NOT_FOUND':
    case 'REFUSED':
      return true;
    case 'GATEWAY_UNREACHABLE': {
      const code = err.details?.['code'];
      return typeof code === 'string' && NOT_SENT_NETWORK.has(code);
    }
    default:
      return false;
  }
}

export function newClientOrderId(now = Date.now()): string {
  const d = new Date(now).toISOString().slice(2, 10).replace(/-/g, '');
  return `mcp-${d}-${randomBytes(6).toString('hex')}`;
}

export function ordersApi(backend: Backend): OrdersApi {
  const b = backend as Partial<OrdersApi>;
  const needed: (keyof OrdersApi)[] = [
    'tradingAccounts',
    'previewOrder',
    'placeOrder',
    'reply',
    'liveOrders',
    'orderStatus',
    'modifyOrder',
    'cancelOrder',
    'cancelAll',
    'trades',
    'findOrderByClientId',
  ];
  for (const k of needed) {
    if (typeof b[k] !== 'function') {
      throw new BrokerError('REFUSED', `This backend cannot handle orders (${String(k)} is missing).`);
    }
  }
  return backend as unknown as OrdersApi;
}

export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
