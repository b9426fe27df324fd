/**
 * Every order path goes through here, in this order:
 *
 *   kill switch → account and mode (from IB) → live gate → input validation → price and
 *   IB's what-if → limits → confirmation (elicitation / token / none) → kill switch again →
 *   journal line fsync'd → one request → IB's answer journaled → IB's questions by policy.
 *
 * A lost answer is never retried: the order is looked up by its client order id, and if it
 * cannot be found the result says the order may exist and how to check. Tools only parse
 * input and render; they never talk to the backend for writes themselves.
 */
import { randomBytes } from 'node:crypto';
import type { Backend, CallOptions } from '../broker/backend.js';
import { BrokerError, isBrokerError } from '../broker/errors.js';
import type {
  CancelResult,
  LiveOrder,
  OrderPreview,
  OrderQuestion,
  OrderRequest,
  OrdersApi,
  OrderType,
  PlaceOutcome,
  TimeInForce,
  TradingAccounts,
  TrailingType,
} from '../broker/orders.js';
import type { Contract } from '../broker/types.js';
import { ident, idents, untrusted } from '../broker/untrusted.js';
import { type Logger, silentLogger } from '../log.js';
import { ConfirmTokens, canonicalHash } from './confirm-token.js';
import { isFinalEntry, Journal, type JournalEntry, type TradingMode } from './journal.js';
import { assertNotHalted } from './killswitch.js';
import {
  assertModeAllowed,
  type ConfirmationMode,
  checkLimits,
  confirmationProblem,
  detectMode,
  type LimitReport,
  type PriceRefs,
  type SafetyConfig,
} from './policy.js';
import { decideQuestion, MAX_AUTO_REPLIES } from './questions.js';
import { assertValidOrder } from './validate.js';

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
  message: string;
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
}

/**
 * How the order was approved; IB's questions about it need the same approval. none: the server
 * was set to send without asking. token: confirm_order with a token. elicit: the human answered
 * the client's dialog.
 */
export type Approval = 'none' | 'token' | 'elicit';

interface Held {
  prepared: Prepared;
  /**
   * Set when the hold belongs to a client dialog (an elicitation re-entry): the hash of the tool
   * arguments it was issued for. Such a state is useless to confirm_order.
   */
  argsHash?: string;
  /** The hold answers this question of IB's (yes) instead of sending the order. */
  replyId?: string;
}

interface PendingReply {
  prepared: Prepared;
  autoConfirmed: string[];
  approval: Approval;
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
}

export interface OrderServiceOptions {
  backend: Backend;
  home: string;
  safety: SafetyConfig;
  tokenTtlMs?: number;
  /** The backend is the built-in simulator. */
  simulated: boolean;
  log?: Logger;
  now?: () => number;
  /** The waits and deadlines of the lost-answer lookups (default: real timers; tests inject fakes). */
  timers?: OrderTimers;
}

export interface OrderTimers {
  sleep(ms: number): Promise<void>;
  /** A signal that aborts after `ms`. */
  timeout(ms: number): AbortSignal;
}

const ACCOUNTS_TTL_MS = 60_000;
const DAY_MS = 86_400_000;

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

const CLIENT_ID_RE = /^[A-Za-z0-9._:-]{4,40}$/;

function ordersApi(backend: Backend): OrdersApi {
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

const REAL_TIMERS: OrderTimers = {
  sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
  timeout: (ms) => AbortSignal.timeout(ms),
};

export class OrderService {
  readonly journal: Journal;
  readonly tokens: ConfirmTokens<Held>;
  readonly safety: SafetyConfig;
  private readonly backend: Backend;
  private readonly home: string;
  private readonly simulated: boolean;
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly timers: OrderTimers;
  private accountsCache: { at: number; info: TradingAccounts } | undefined;
  private reconciled: Promise<void> | undefined;
  private reconciledOk = false;
  private lastReconcileAttempt = 0;

  constructor(opts: OrderServiceOptions) {
    this.backend = opts.backend;
    this.home = opts.home;
    this.safety = opts.safety;
    this.simulated = opts.simulated;
    this.log = opts.log ?? silentLogger;
    this.now = opts.now ?? Date.now;
    this.timers = opts.timers ?? REAL_TIMERS;
    this.journal = new Journal(opts.home, { now: this.now });
    this.tokens = new ConfirmTokens<Held>({ ttlMs: opts.tokenTtlMs, now: this.now });
  }

  private get api(): OrdersApi {
    return ordersApi(this.backend);
  }

  // ------------------------------------------------------------------ accounts and mode

  async accounts(opts: CallOptions = {}, fresh = false): Promise<TradingAccounts> {
    if (!fresh && this.accountsCache && this.now() - this.accountsCache.at < ACCOUNTS_TTL_MS) {
      return this.accountsCache.info;
    }
    const info = await this.api.tradingAccounts(opts);
    this.accountsCache = { at: this.now(), info };
    return info;
  }

  modeOf(accountId: string, info: TradingAccounts): TradingMode {
    return detectMode(accountId, info, this.simulated);
  }

  /** Picks the account: the one given, else the only one allowed/available. */
  pickAccount(given: string | undefined, info: TradingAccounts): string {
    if (given) {
      const id = given.trim().toUpperCase();
      if (!info.accounts.map((a) => a.toUpperCase()).includes(id)) {
        throw new BrokerError('INVALID_INPUT', `Account ${given} is not one of this session's accounts.`, {
          hint: `Accounts: ${idents(info.accounts) || '(none)'}.`,
        });
      }
      return info.accounts.find((a) => a.toUpperCase() === id)!;
    }
    const allowed = this.safety.allowedAccounts.length
      ? info.accounts.filter((a) => this.safety.allowedAccounts.includes(a))
      : info.accounts;
    if (allowed.length === 1) return allowed[0]!;
    if (allowed.length === 0) {
      throw new BrokerError('REFUSED', 'No account of this session may trade.', {
        hint: `Session accounts: ${idents(info.accounts) || '(none)'}; --allowed-accounts: ${this.safety.allowedAccounts.join(', ') || '(any)'}.`,
      });
    }
    throw new BrokerError('INVALID_INPUT', 'Several accounts can trade; say which one.', {
      hint: `Pass accountId, one of: ${idents(allowed)}.`,
    });
  }

  /** The confirmation this order needs, by configuration and mode. */
  confirmationFor(mode: TradingMode): ConfirmationMode {
    const problem = confirmationProblem(this.safety, mode);
    if (problem) throw new BrokerError('REFUSED', problem);
    return this.safety.orderConfirmation;
  }

  // ------------------------------------------------------------------ prepare

  /** Everything short of sending: validates, prices, previews and checks limits. Throws REFUSED/INVALID_INPUT. */
  async prepare(draft: OrderDraft, opts: CallOptions = {}, previewOnly = false): Promise<Prepared> {
    if (!previewOnly) assertNotHalted(this.home, 'placing');
    const info = await this.accounts(opts);
    const accountId = this.pickAccount(draft.accountId, info);
    const mode = this.modeOf(accountId, info);
    if (!previewOnly) {
      assertModeAllowed(mode, this.safety, 'placing an order');
      this.confirmationFor(mode);
    }
    const c = draft.contract;
    assertValidOrder({ ...draft, secType: c.secType });
    let clientOrderId = draft.clientOrderId?.trim();
    if (clientOrderId !== undefined && !CLIENT_ID_RE.test(clientOrderId)) {
      throw new BrokerError('INVALID_INPUT', `clientOrderId "${clientOrderId}" is not valid.`, {
        hint: '4-40 characters: letters, digits, . _ : -',
      });
    }
    clientOrderId ||= newClientOrderId(this.now());
    const order: OrderRequest = {
      accountId,
      conid: c.conid,
      secType: c.secType,
      symbol: c.symbol,
      side: draft.side,
      orderType: draft.orderType,
      quantity: draft.quantity,
      tif: draft.tif,
      outsideRth: draft.outsideRth,
      clientOrderId,
    };
    if (draft.limitPrice !== undefined) order.limitPrice = draft.limitPrice;
    if (draft.stopPrice !== undefined) order.stopPrice = draft.stopPrice;
    if (draft.trailingAmount !== undefined) {
      order.trailingAmount = draft.trailingAmount;
      order.trailingType = draft.trailingType ?? 'amt';
    }
    return this.priceAndCheck({ action: 'place', order, contract: c, mode }, info, opts, true);
  }

  private async priceAndCheck(
    base: Pick<Prepared, 'action' | 'order' | 'contract' | 'mode' | 'orderId' | 'changes'>,
    info: TradingAccounts,
    opts: CallOptions,
    newOrder: boolean,
  ): Promise<Prepared> {
    const { order, contract } = base;
    const [quote, preview] = await Promise.all([
      this.backend
        .snapshot([order.conid], ['bid', 'ask', 'last'], { ...opts, maxWaitMs: 2500 })
        .then((rows) => {
          const v = rows[0]?.values ?? {};
          const n = (x: unknown) => (typeof x === 'number' && Number.isFinite(x) && x > 0 ? x : undefined);
          return { bid: n(v.bid), ask: n(v.ask), last: n(v.last) } as PriceRefs;
        })
        .catch((err: unknown) => {
          this.log.info('order: no quote', { conid: order.conid, err: (err as Error).message });
          return undefined;
        }),
      this.api.previewOrder(order, opts).then(
        (p) => ({ preview: p }),
        (err: unknown) => ({ error: err instanceof Error ? err.message : String(err) }),
      ),
    ]);
    const count = this.journal.attemptsSince(this.now() - DAY_MS);
    const limits = checkLimits(
      {
        order,
        contract,
        brokerAccounts: info.accounts,
        accountCurrency: info.currencies?.[order.accountId],
        quote,
        preview: 'preview' in preview ? preview.preview : undefined,
        ordersLast24h: newOrder ? count : Math.max(0, count - 1),
      },
      this.safety,
    );
    const out: Prepared = { ...base, limits };
    if (quote) out.quote = quote;
    if ('preview' in preview) out.preview = preview.preview;
    else out.previewError = preview.error;
    return out;
  }

  // ------------------------------------------------------------------ confirmation

  /**
   * Holds a prepared order for confirmation; the token releases it once within the TTL. With
   * `argsHash` the hold is the state of a client dialog: only that tool's re-entry with the same
   * arguments can release it, never confirm_order.
   */
  hold(prepared: Prepared, argsHash?: string): { token: string; expiresAt: number } {
    const held: Held = { prepared };
    if (argsHash) held.argsHash = argsHash;
    return this.tokens.issue(heldHash(held), prepared.order.accountId, held);
  }

  /** Holds "yes" to IB's question `replyId` for the same approval the order had. */
  holdReply(replyId: string, argsHash?: string): { token: string; expiresAt: number } {
    const pending = this.pendingReplies.get(replyId);
    if (!pending) throw noPendingReply(replyId);
    const held: Held = { prepared: pending.prepared, replyId };
    if (argsHash) held.argsHash = argsHash;
    return this.tokens.issue(heldHash(held), pending.prepared.order.accountId, held);
  }

  /** Checks a hold without using it (elicitation re-entry). */
  peek(token: string): Held {
    return this.tokens.check(token, heldHash).data;
  }

  /**
   * Uses a hold up and releases exactly what it holds: the order, or "yes" to IB's question.
   * `argsHash` is given only by a dialog re-entry (approval elicit); confirm_order gives none and
   * so cannot redeem a dialog's state.
   */
  async confirmToken(token: string, opts: CallOptions = {}, argsHash?: string): Promise<OrderOutcome> {
    const pre = this.tokens.check(token, heldHash).data;
    if (argsHash === undefined && pre.argsHash !== undefined) {
      throw new BrokerError(
        'REFUSED',
        "This is the state of the client's confirmation dialog, not a confirmation token; nothing was sent.",
        { hint: 'Only the human answering the dialog can confirm this order.' },
      );
    }
    if (argsHash !== undefined && pre.argsHash !== argsHash) {
      throw new BrokerError(
        'REFUSED',
        'The confirmation does not belong to these order parameters; nothing was sent.',
        {
          hint: 'Place the order again.',
        },
      );
    }
    const held = this.tokens.redeem(token, heldHash).data;
    const approval: Approval = argsHash !== undefined ? 'elicit' : 'token';
    if (held.replyId) return this.answerReply(held.replyId, true, opts);
    return this.send(held.prepared, opts, approval);
  }

  /** Voids a hold. For a held question of IB's, also answers IB "no" (nothing is placed). */
  async decline(token: string, opts: CallOptions = {}): Promise<OrderOutcome | undefined> {
    let held: Held | undefined;
    try {
      held = this.peek(token);
    } catch {
      // Already invalid: nothing to decline.
    }
    this.tokens.discard(token);
    if (held?.replyId && this.pendingReplies.has(held.replyId)) return this.answerReply(held.replyId, false, opts);
    return undefined;
  }

  // ------------------------------------------------------------------ send

  /** Re-checks what can change while an order waits, journals it, sends it once, and handles IB's answer. */
  async send(held: Prepared, opts: CallOptions = {}, approval: Approval = 'none'): Promise<OrderOutcome> {
    let p = held;
    assertNotHalted(this.home, p.action === 'modify' ? 'modifying' : 'placing');
    assertModeAllowed(p.mode, this.safety, p.action === 'modify' ? 'modifying an order' : 'placing an order');
    if (p.action === 'place') {
      const count = this.journal.attemptsSince(this.now() - DAY_MS);
      if (count + 1 > this.safety.maxOrdersPerDay) {
        throw new BrokerError(
          'REFUSED',
          `Order refused by the safety policy, nothing was sent: ${count} orders were sent in the last 24 hours; --max-orders-per-day is ${this.safety.maxOrdersPerDay}.`,
        );
      }
      this.journal.begin(p.order, p.mode);
    } else {
      // Journaled before it is sent, whoever placed the order (an order from TWS gets an entry).
      const e = this.journal.byOrderId(p.orderId!) ?? this.journal.adopt(p.order, p.orderId!, p.mode);
      if (e.clientOrderId !== p.order.clientOrderId)
        p = { ...p, order: { ...p.order, clientOrderId: e.clientOrderId } };
      this.journal.modify(e.clientOrderId, p.changes ?? {}, p.order);
    }
    let outcome: PlaceOutcome;
    try {
      outcome =
        p.action === 'place'
          ? await this.api.placeOrder(p.order, opts)
          : await this.api.modifyOrder(p.orderId!, p.order, opts);
    } catch (err) {
      return this.answerLost(p, err);
    }
    return this.handle(p, outcome, [], opts, approval);
  }

  private base(p: Prepared): Omit<OrderOutcome, 'status' | 'message'> {
    const o: Omit<OrderOutcome, 'status' | 'message'> = {
      mode: p.mode,
      accountId: p.order.accountId,
      contract: p.contract,
      order: p.order,
      action: p.action,
    };
    if (p.orderId) o.orderId = p.orderId;
    if (p.preview) o.preview = p.preview;
    if (p.previewError) o.previewError = p.previewError;
    if (p.limits.notional !== undefined) o.notional = p.limits.notional;
    if (p.limits.notionalBasis) o.notionalBasis = p.limits.notionalBasis;
    return o;
  }

  /** IB's answer: placed, rejected, or questions (auto-confirmed by policy or returned). */
  private async handle(
    p: Prepared,
    outcome: PlaceOutcome,
    autoConfirmed: string[],
    opts: CallOptions,
    approval: Approval,
  ): Promise<OrderOutcome> {
    const cOID = p.order.clientOrderId;
    let current = outcome;
    for (let round = 0; ; round++) {
      if (current.kind === 'placed') {
        const first = current.orders[0];
        const orderId = first?.orderId ?? p.orderId;
        const ibStatus = first?.status;
        if (p.action === 'place') this.journal.update(cOID, { state: 'placed', orderId, ibStatus, replyId: '' });
        else this.journal.update(cOID, { ibStatus, message: `modification accepted (${ibStatus ?? 'pending'})` });
        const out: OrderOutcome = {
          ...this.base(p),
          status: statusOf(ibStatus ?? 'Submitted'),
          message:
            p.action === 'modify'
              ? `Modification of order ${ident(orderId)} accepted by IB (${ibStatus ? ident(ibStatus) : 'status pending'}).`
              : `Order placed: IB order id ${ident(orderId)}, status ${ibStatus ? ident(ibStatus) : 'pending'}.`,
        };
        if (orderId) out.orderId = orderId;
        if (ibStatus) out.ibStatus = ibStatus;
        if (autoConfirmed.length) out.autoConfirmed = autoConfirmed;
        return out;
      }
      if (current.kind === 'rejected') {
        if (p.action === 'place')
          this.journal.update(cOID, { state: 'rejected', message: current.message, replyId: '' });
        else this.journal.update(cOID, { message: `modification rejected: ${current.message}` });
        const out: OrderOutcome = {
          ...this.base(p),
          status: 'rejected',
          message: `IB rejected the ${p.action === 'modify' ? 'modification' : 'order'}; nothing was ${p.action === 'modify' ? 'changed' : 'placed'}: ${untrusted(current.message)}`,
        };
        if (autoConfirmed.length) out.autoConfirmed = autoConfirmed;
        return out;
      }
      const q = current.question;
      const decision = decideQuestion(q, this.safety.autoConfirmMessageIds, p.mode);
      if (!decision.autoConfirm || round >= MAX_AUTO_REPLIES) {
        if (p.action === 'place') {
          this.journal.update(cOID, { state: 'questions', replyId: q.replyId, message: q.messages.join(' | ') });
        } else this.journal.update(cOID, { message: `modification awaits IB's question ${q.replyId}` });
        this.pendingReplies.set(q.replyId, { prepared: p, autoConfirmed, approval });
        const what = p.action === 'modify' ? 'changed' : 'placed';
        const out: OrderOutcome = {
          ...this.base(p),
          status: 'needs_reply',
          approval,
          question: q,
          message: `IB asks for confirmation before ${p.action === 'modify' ? 'changing' : 'placing'} this order (${idents(decision.blocking)}). Nothing is ${what} until confirm_order is called with replyId ${ident(q.replyId)}; show the user IB's message first.`,
        };
        if (approval === 'token') {
          // IB's warning is a new fact: it needs the same approval as the order, a new token.
          const t = this.holdReply(q.replyId);
          out.confirmation = { token: t.token, expiresAt: new Date(t.expiresAt).toISOString() };
          out.message = `IB asks for confirmation before ${p.action === 'modify' ? 'changing' : 'placing'} this order (${idents(decision.blocking)}). Nothing is ${what} yet. Show the user IB's message; only if they agree, call confirm_order {"token": "…"} with this result's new token. To decline: confirm_order {"replyId":"${ident(q.replyId)}","confirmed":false}.`;
        }
        if (autoConfirmed.length) out.autoConfirmed = autoConfirmed;
        return out;
      }
      autoConfirmed.push(...q.messageIds);
      try {
        current = await this.api.reply(q.replyId, true, opts);
      } catch (err) {
        return this.answerLost(p, err);
      }
    }
  }

  private readonly pendingReplies = new Map<string, PendingReply>();

  /**
   * confirm_order with a reply id: answers IB's question for an order this server sent. "No" is
   * always allowed; "yes" only when the order itself needed no approval (--order-confirmation
   * none): otherwise IB's warning needs the same approval the order had (a new token, or the
   * human's answer in the client's dialog).
   */
  async confirmReply(replyId: string, confirmed: boolean, opts: CallOptions = {}): Promise<OrderOutcome> {
    const pending = this.pendingReplies.get(replyId);
    if (!pending) throw noPendingReply(replyId);
    if (confirmed && pending.approval !== 'none') {
      throw new BrokerError(
        'REFUSED',
        `IB's question ${replyId} needs the same approval as the order; a reply id alone cannot confirm it. Nothing was sent.`,
        {
          hint:
            pending.approval === 'elicit'
              ? "The user answers IB's question in the client's confirmation dialog; call the order tool again if the dialog was closed."
              : "Show the user IB's message; if they agree, call confirm_order with the token from the needs_reply result.",
        },
      );
    }
    return this.answerReply(replyId, confirmed, opts);
  }

  /** Sends the answer to IB's question (once: the pending question is used up). */
  private async answerReply(replyId: string, confirmed: boolean, opts: CallOptions): Promise<OrderOutcome> {
    const pending = this.pendingReplies.get(replyId);
    if (!pending) throw noPendingReply(replyId);
    this.pendingReplies.delete(replyId);
    const p = pending.prepared;
    if (confirmed) {
      assertNotHalted(this.home, p.action === 'modify' ? 'modifying' : 'placing');
      assertModeAllowed(p.mode, this.safety, 'confirming an order');
    }
    let outcome: PlaceOutcome;
    try {
      outcome = await this.api.reply(replyId, confirmed, opts);
    } catch (err) {
      if (!confirmed) throw err;
      return this.answerLost(p, err);
    }
    if (!confirmed) {
      if (p.action === 'place') this.journal.update(p.order.clientOrderId, { state: 'declined', replyId: '' });
      return {
        ...this.base(p),
        status: 'declined',
        message: `IB's question was answered "no"; the ${p.action === 'modify' ? 'modification was not sent' : 'order was not placed'}.`,
      };
    }
    return this.handle(p, outcome, [...pending.autoConfirmed], opts, pending.approval);
  }

  /**
   * The request may or may not have reached IB. Never resend: look the order up by its
   * client order id; if that fails, say it may exist.
   */
  private async answerLost(p: Prepared, err: unknown): Promise<OrderOutcome> {
    const cOID = p.order.clientOrderId;
    const why = err instanceof Error ? err.message : String(err);
    if (p.action === 'place' && certainlyNotSent(err)) {
      this.journal.update(cOID, { state: 'rejected', message: `not sent: ${why}` });
      throw err;
    }
    this.log.warn('order: answer lost, looking up by client order id', { cOID, err: why });
    let found: LiveOrder | undefined;
    let lookupError: string | undefined;
    if (p.action === 'place') {
      for (let attempt = 0; attempt < 3 && !found; attempt++) {
        if (attempt > 0) await this.timers.sleep(300 * attempt);
        try {
          found = await this.api.findOrderByClientId(cOID, { signal: this.timers.timeout(10_000) });
          lookupError = undefined;
        } catch (e) {
          lookupError = e instanceof Error ? e.message : String(e);
          if (isBrokerError(e) && e.code === 'NOT_AUTHENTICATED') break;
        }
      }
    } else if (p.orderId) {
      try {
        found = await this.api.orderStatus(p.orderId, { signal: this.timers.timeout(10_000) });
      } catch (e) {
        lookupError = e instanceof Error ? e.message : String(e);
      }
    }
    if (found && p.action === 'place') {
      this.journal.update(cOID, { state: 'placed', orderId: found.orderId, ibStatus: found.status });
      return {
        ...this.base(p),
        ...liveFacts(found),
        status: statusOf(found.status),
        message: `IB's answer was lost (${why}), so the order was looked up by its client order id ${cOID}: it exists exactly once as IB order ${ident(found.orderId)} (${ident(found.status)}). It was not sent again.`,
      };
    }
    if (found) {
      // A modification: only IB's order as it now stands says whether the change took effect.
      const shows = `quantity ${found.quantity}${found.limitPrice !== undefined ? `, price ${found.limitPrice}` : ''}${found.stopPrice !== undefined ? `, stop ${found.stopPrice}` : ''}`;
      const id = ident(found.orderId);
      const st = ident(found.status);
      const took = changeShows(p.order, found);
      this.journal.update(cOID, {
        ibStatus: found.status,
        message: `modification answer lost; IB shows ${shows} (${took ? 'change in effect' : 'change not visible'})`,
      });
      return {
        ...this.base(p),
        ...liveFacts(found),
        status: took ? statusOf(found.status) : 'uncertain',
        message: took
          ? `IB's answer was lost (${why}); order ${id} now shows the change (${shows}, ${st}). It was not sent again.`
          : `UNCERTAIN: IB's answer to the modification was lost (${why}); order ${id} still shows ${shows} (${st}). The change may not have taken effect, or may still; it was NOT sent again. Check get_order_status {"orderId":"${id}"} before changing it again.`,
      };
    }
    if (p.action === 'place') {
      this.journal.update(cOID, { state: 'unknown', message: `answer lost: ${why}` });
      return {
        ...this.base(p),
        status: 'uncertain',
        message:
          `UNCERTAIN: the order MAY have been placed. IB's answer was lost (${why})` +
          (lookupError
            ? ` and looking it up failed (${lookupError})`
            : ' and it does not show among the live orders yet') +
          `. It was NOT sent again. Check with get_order_status {"clientOrderId":"${cOID}"} before placing anything similar; ` +
          'placing it again under a new id could double the position.',
      };
    }
    this.journal.update(cOID, { message: `modification answer lost: ${why}` });
    return {
      ...this.base(p),
      status: 'uncertain',
      message: `UNCERTAIN: the modification of order ${p.orderId} MAY have taken effect. IB's answer was lost (${why})${lookupError ? ` and looking the order up failed (${lookupError})` : ''}. It was NOT sent again. Check get_order_status {"orderId":"${p.orderId}"} before changing it again.`,
    };
  }

  // ------------------------------------------------------------------ idempotency and status

  /** A client order id that was already used: its order, looked up again, without sending anything. */
  async existing(clientOrderId: string, opts: CallOptions = {}): Promise<OrderOutcome | undefined> {
    const e = this.journal.get(clientOrderId);
    if (!e) return undefined;
    const live = await this.lookup(e, opts).catch(() => undefined);
    const contract: Contract = { conid: e.order.conid, symbol: e.order.symbol, secType: e.order.secType };
    const out: OrderOutcome = {
      mode: e.mode,
      accountId: e.accountId,
      contract,
      order: e.order,
      action: 'place',
      existing: true,
      status: live ? statusOf(live.status) : journalStatus(e),
      message: `Client order id ${clientOrderId} was already used (${new Date(e.createdAt).toISOString()}); nothing new was sent. ${
        live
          ? `It is IB order ${ident(live.orderId)}: ${ident(live.status)}, filled ${live.filled} of ${live.quantity}.`
          : `Journal state: ${e.state}${e.message ? ` (${untrusted(e.message)})` : ''}.`
      }`,
    };
    if (out.status === 'uncertain') {
      out.message += ` The order MAY have been placed: check get_order_status {"clientOrderId":"${clientOrderId}"} and get_trades before placing anything similar.`;
    }
    if (live) Object.assign(out, liveFacts(live));
    else if (e.orderId) out.orderId = e.orderId;
    if (e.replyId && e.state === 'questions') {
      out.message += ` IB's question is still open: confirm_order {"replyId":"${ident(e.replyId)}"}.`;
    }
    return out;
  }

  /** The live order behind a journal entry, updating the journal. */
  async lookup(e: JournalEntry, opts: CallOptions = {}): Promise<LiveOrder | undefined> {
    let live: LiveOrder | undefined;
    if (e.orderId) {
      live = await this.api.orderStatus(e.orderId, opts).catch((err: unknown) => {
        if (isBrokerError(err) && err.code === 'NOT_FOUND') return undefined;
        throw err;
      });
    }
    live ??= await this.api.findOrderByClientId(e.clientOrderId, opts);
    if (live && (live.orderId !== e.orderId || live.status !== e.ibStatus || e.state !== 'placed')) {
      this.journal.update(e.clientOrderId, { state: 'placed', orderId: live.orderId, ibStatus: live.status });
    }
    return live;
  }

  // ------------------------------------------------------------------ modify and cancel

  async prepareModify(
    args: {
      accountId?: string | undefined;
      orderId: string;
      quantity?: number | undefined;
      limitPrice?: number | undefined;
      stopPrice?: number | undefined;
      trailingAmount?: number | undefined;
      tif?: TimeInForce | undefined;
    },
    resolveContract: (conid: number) => Promise<Contract>,
    opts: CallOptions = {},
  ): Promise<Prepared> {
    assertNotHalted(this.home, 'modifying');
    const live = await this.api.orderStatus(args.orderId, opts);
    const info = await this.accounts(opts);
    const accountId = args.accountId ? this.pickAccount(args.accountId, info) : live.accountId;
    if (live.accountId && accountId !== live.accountId) {
      throw new BrokerError(
        'INVALID_INPUT',
        `Order ${args.orderId} belongs to account ${ident(live.accountId)}, not ${ident(accountId)}.`,
      );
    }
    const mode = this.modeOf(accountId, info);
    assertModeAllowed(mode, this.safety, 'modifying an order');
    this.confirmationFor(mode);
    if (['Filled', 'Cancelled', 'Inactive', 'PendingCancel', 'PreCancelled', 'Rejected'].includes(live.status)) {
      throw new BrokerError('REFUSED', `Order ${args.orderId} is ${ident(live.status)}; it can no longer be changed.`);
    }
    const changes: Record<string, unknown> = {};
    for (const k of ['quantity', 'limitPrice', 'stopPrice', 'trailingAmount', 'tif'] as const) {
      if (args[k] !== undefined) changes[k] = args[k];
    }
    if (!Object.keys(changes).length) {
      throw new BrokerError('INVALID_INPUT', 'Nothing to change.', {
        hint: 'Pass price, stopPrice, quantity, trailingAmount or tif.',
      });
    }
    const ours =
      this.journal.byOrderId(live.orderId) ?? (live.clientOrderId ? this.journal.get(live.clientOrderId) : undefined);
    // For an order placed elsewhere, IB's answer is the only truth (the journal only records it).
    const prev: Partial<OrderRequest> = ours && !ours.foreign ? ours.order : {};
    const type = (prev.orderType ?? normaliseType(live.orderType)) as OrderType | undefined;
    if (!type) {
      throw new BrokerError(
        'REFUSED',
        `Order ${args.orderId} has type ${ident(live.orderType)}, which this server cannot modify.`,
      );
    }
    const contract = await resolveContract(live.conid);
    const order: OrderRequest = {
      accountId,
      conid: live.conid,
      secType: contract.secType,
      symbol: contract.symbol,
      side: live.side,
      orderType: type,
      quantity: args.quantity ?? live.quantity,
      tif: args.tif ?? ((prev.tif ?? live.tif ?? 'DAY') as TimeInForce),
      outsideRth: prev.outsideRth ?? false,
      clientOrderId: ours?.clientOrderId ?? live.clientOrderId ?? '',
    };
    const limit = args.limitPrice ?? prev.limitPrice ?? live.limitPrice;
    const stop = args.stopPrice ?? prev.stopPrice ?? live.stopPrice;
    if ((type === 'LMT' || type === 'STOP_LIMIT') && limit !== undefined) order.limitPrice = limit;
    if ((type === 'STP' || type === 'STOP_LIMIT') && stop !== undefined) order.stopPrice = stop;
    if (type === 'TRAIL') {
      const amt = args.trailingAmount ?? prev.trailingAmount;
      if (amt === undefined) {
        throw new BrokerError(
          'REFUSED',
          `Order ${args.orderId} is a trailing order this server did not place; its trailing amount is unknown.`,
        );
      }
      order.trailingAmount = amt;
      order.trailingType = prev.trailingType ?? 'amt';
    }
    if (args.limitPrice !== undefined && type !== 'LMT' && type !== 'STOP_LIMIT') {
      throw new BrokerError('INVALID_INPUT', `Order ${args.orderId} is ${type}: it has no limit price to change.`);
    }
    if (args.stopPrice !== undefined && type !== 'STP' && type !== 'STOP_LIMIT') {
      throw new BrokerError('INVALID_INPUT', `Order ${args.orderId} is ${type}: it has no stop price to change.`);
    }
    if (order.quantity < live.filled) {
      throw new BrokerError('INVALID_INPUT', `Quantity ${order.quantity} is below the ${live.filled} already filled.`);
    }
    assertValidOrder({ ...order, secType: contract.secType });
    return this.priceAndCheck(
      { action: 'modify', order, contract, mode, orderId: live.orderId, changes },
      info,
      opts,
      false,
    );
  }

  async cancel(
    args: { accountId?: string | undefined; orderId: string },
    opts: CallOptions = {},
  ): Promise<CancelOutcome> {
    const info = await this.accounts(opts);
    let accountId: string;
    let live: LiveOrder | undefined;
    const all = args.orderId === 'all' || args.orderId === '-1';
    if (all) {
      accountId = this.pickAccount(args.accountId, info);
    } else {
      live = await this.api.orderStatus(args.orderId, opts);
      accountId = live.accountId || this.pickAccount(args.accountId, info);
    }
    const mode = this.modeOf(accountId, info);
    // Cancels still work under the kill switch; a live account still needs --allow-live-trading.
    assertModeAllowed(mode, this.safety, 'cancelling an order');
    // Journaled before it is sent, whoever placed the order.
    let cOID: string | undefined;
    if (live) {
      const e =
        this.journal.byOrderId(live.orderId) ?? this.journal.adopt(orderOf(live), live.orderId, mode, live.status);
      cOID = e.clientOrderId;
      this.journal.cancel(cOID);
    } else this.journal.note(accountId, 'cancel', 'cancel of every open order requested');
    const base = { mode, accountId, ...(live ? { order: live } : {}) };
    let res: CancelResult;
    try {
      res = await this.api.cancelOrder(accountId, all ? '-1' : args.orderId, opts);
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      if (cOID) this.journal.update(cOID, { message: `cancel answer lost: ${why}` });
      if (certainlyNotSent(err)) throw err;
      return { ...base, answerLost: true, ...(await this.cancelLost(accountId, all ? undefined : args.orderId, why)) };
    }
    if (cOID) this.journal.update(cOID, { message: `cancel ${res.accepted ? 'accepted' : 'refused'}: ${res.message}` });
    return { ...base, orderId: res.orderId, accepted: res.accepted, message: res.message };
  }

  /** The answer to a cancel was lost: IB's order list says whether it took effect. */
  private async cancelLost(
    accountId: string,
    orderId: string | undefined,
    why: string,
  ): Promise<Pick<CancelOutcome, 'orderId' | 'accepted' | 'uncertain' | 'message'>> {
    const signal = this.timers.timeout(10_000);
    try {
      if (orderId) {
        const o = await this.api.orderStatus(orderId, { signal });
        if (statusOf(o.status) === 'cancelled') {
          return {
            orderId,
            accepted: true,
            message: `IB's answer to the cancel was lost (${why}), but order ${orderId} now shows ${ident(o.status)}: the cancel took effect.`,
          };
        }
        return {
          orderId,
          accepted: false,
          uncertain: true,
          message: `UNCERTAIN: IB's answer to the cancel was lost (${why}); order ${orderId} still shows ${ident(o.status)} (filled ${o.filled} of ${o.quantity}). The cancel may still take effect. Check get_order_status {"orderId":"${orderId}"} before acting on it.`,
        };
      }
      const open = (await this.api.liveOrders({ signal, force: true })).filter(
        (o) => o.accountId === accountId && statusOf(o.status) === 'submitted',
      );
      return {
        orderId: 'all',
        accepted: open.length === 0,
        ...(open.length ? { uncertain: true as const } : {}),
        message: open.length
          ? `UNCERTAIN: IB's answer to the cancel was lost (${why}); ${open.length} orders of ${accountId} still show as working (${idents(open.map((o) => o.orderId))}). Check get_live_orders.`
          : `IB's answer to the cancel was lost (${why}), but ${accountId} shows no working orders now.`,
      };
    } catch (e) {
      return {
        orderId: orderId ?? 'all',
        accepted: false,
        uncertain: true,
        message: `UNCERTAIN: IB's answer to the cancel was lost (${why}) and the order could not be looked up (${e instanceof Error ? e.message : String(e)}). The cancel MAY have taken effect. Check ${orderId ? `get_order_status {"orderId":"${orderId}"}` : 'get_live_orders'}.`,
      };
    }
  }

  // ------------------------------------------------------------------ reconciliation

  /**
   * Brings journal entries without a final state up to date with IB's live orders (and the
   * last days' executions). Entries that were only "sending" or "unknown" and that IB does not
   * show at all are marked not_found, but only when both of IB's lists really came (a settled
   * live-order list, not IB's empty placeholder; an executions answer, not an error): what could
   * not be checked stays as it is and is checked again later. Safe to call repeatedly.
   */
  async reconcile(
    opts: CallOptions = {},
  ): Promise<{ checked: number; updated: number; notFound: number; unchecked: number }> {
    const open = this.journal.nonFinal();
    if (!open.length) {
      this.reconciledOk = true;
      return { checked: 0, updated: 0, notFound: 0, unchecked: 0 };
    }
    const live = await this.api.liveOrders({ ...opts, force: true, settled: true });
    const byId = new Map(live.map((o) => [o.orderId, o]));
    const byCoid = new Map(live.filter((o) => o.clientOrderId).map((o) => [o.clientOrderId!, o]));
    let trades: Awaited<ReturnType<OrdersApi['trades']>> | undefined;
    let tradesError: string | undefined;
    let updated = 0;
    let notFound = 0;
    let unchecked = 0;
    for (const e of open) {
      const o = (e.orderId ? byId.get(e.orderId) : undefined) ?? byCoid.get(e.clientOrderId);
      if (o) {
        if (o.status !== e.ibStatus || e.state !== 'placed' || o.orderId !== e.orderId) {
          this.journal.update(e.clientOrderId, {
            state: 'placed',
            orderId: o.orderId,
            ibStatus: o.status,
            message: 'reconciled with IB live orders',
          });
          updated++;
        }
        continue;
      }
      if (!trades && !tradesError) {
        try {
          trades = await this.api.trades(7, opts);
        } catch (err) {
          tradesError = err instanceof Error ? err.message : String(err);
        }
      }
      if (!trades) {
        // A failed executions read is not "no executions": the entry stays unsettled.
        unchecked++;
        continue;
      }
      const t = trades.find((x) => x.clientOrderId === e.clientOrderId || (e.orderId && x.orderId === e.orderId));
      if (t) {
        this.journal.update(e.clientOrderId, {
          state: 'placed',
          orderId: t.orderId ?? e.orderId,
          ibStatus: e.ibStatus && e.ibStatus !== 'Filled' ? e.ibStatus : 'Filled',
          message: 'reconciled with IB executions',
        });
        updated++;
        continue;
      }
      if (e.state === 'sending' || e.state === 'unknown' || e.state === 'questions') {
        this.journal.update(e.clientOrderId, {
          state: 'not_found',
          message:
            e.state === 'questions'
              ? "IB's question was never answered; the order was not placed"
              : 'not among IB live orders or executions at reconciliation',
        });
        notFound++;
      }
    }
    if (tradesError) {
      this.log.warn('order journal: executions unreadable; unsettled entries stay unknown', { err: tradesError });
    }
    this.reconciledOk = unchecked === 0;
    return { checked: open.length, updated, notFound, unchecked };
  }

  /** Runs reconciliation once per process (retried at most every 30 s while it fails). */
  ensureReconciled(opts: CallOptions = {}): Promise<void> {
    if (this.reconciledOk) return Promise.resolve();
    if (!this.reconciled && this.now() - this.lastReconcileAttempt > 30_000) {
      this.lastReconcileAttempt = this.now();
      this.reconciled = this.reconcile(opts)
        .then((r) => {
          if (r.checked) this.log.info('order journal reconciled', r);
        })
        .catch((err: unknown) => {
          this.log.warn('order journal reconciliation failed; will retry', { err: (err as Error).message });
        })
        .finally(() => {
          this.reconciled = undefined;
        });
    }
    return this.reconciled ?? Promise.resolve();
  }
}

/** A live order this server did not place, as a journal record. */
function orderOf(o: LiveOrder): OrderRequest {
  const out: OrderRequest = {
    accountId: o.accountId,
    conid: o.conid,
    secType: o.secType ?? 'STK',
    symbol: o.symbol,
    side: o.side,
    orderType: normaliseType(o.orderType) ?? (o.orderType as OrderType),
    quantity: o.quantity,
    tif: (o.tif ?? 'DAY') as TimeInForce,
    outsideRth: false,
    clientOrderId: o.clientOrderId ?? '',
  };
  if (o.limitPrice !== undefined) out.limitPrice = o.limitPrice;
  if (o.stopPrice !== undefined) out.stopPrice = o.stopPrice;
  return out;
}

/** Whether IB's order as it now stands carries the requested quantity and prices. */
function changeShows(want: OrderRequest, live: LiveOrder): boolean {
  const same = (a: number | undefined, b: number | undefined) => a === undefined || a === b;
  return (
    live.quantity === want.quantity && same(want.limitPrice, live.limitPrice) && same(want.stopPrice, live.stopPrice)
  );
}

function heldHash(h: Held): string {
  return canonicalHash({
    action: h.prepared.action,
    order: h.prepared.order,
    orderId: h.prepared.orderId,
    argsHash: h.argsHash,
    replyId: h.replyId,
  });
}

function noPendingReply(replyId: string): BrokerError {
  return new BrokerError('NOT_FOUND', `No order of this server is waiting on IB's question ${replyId}.`, {
    hint: "IB's questions expire when another order is sent or the server restarts; check get_live_orders and place the order again if it is not there.",
  });
}

export function statusOf(ib: string): OutcomeStatus {
  if (ib === 'Filled') return 'filled';
  if (ib === 'Cancelled' || ib === 'PendingCancel' || ib === 'PreCancelled') return 'cancelled';
  if (ib === 'Inactive' || ib === 'Rejected') return 'rejected';
  return 'submitted';
}

function journalStatus(e: JournalEntry): OutcomeStatus {
  switch (e.state) {
    case 'placed':
      return statusOf(e.ibStatus ?? 'Submitted');
    case 'questions':
      return 'needs_reply';
    case 'rejected':
      return 'rejected';
    case 'not_found':
      // IB showed no such order when checked: not a rejection IB gave. Stay cautious.
      return 'uncertain';
    case 'declined':
      return 'declined';
    default:
      return isFinalEntry(e) ? 'rejected' : 'uncertain';
  }
}

function liveFacts(o: LiveOrder): Partial<OrderOutcome> {
  const out: Partial<OrderOutcome> = {
    orderId: o.orderId,
    ibStatus: o.status,
    filled: o.filled,
    remaining: o.remaining,
  };
  if (o.avgPrice !== undefined) out.avgPrice = o.avgPrice;
  return out;
}

/** IB's order type names in live orders/status ("Limit", "LMT", "Stop Limit", …) → ours. */
export function normaliseType(t: string | undefined): OrderType | undefined {
  const s = (t ?? '').toUpperCase().replace(/[\s-]+/g, '_');
  if (s === 'MKT' || s === 'MARKET') return 'MKT';
  if (s === 'LMT' || s === 'LIMIT') return 'LMT';
  if (s === 'STP' || s === 'STOP') return 'STP';
  if (s === 'STOP_LIMIT' || s === 'STP_LMT' || s === 'STOPLIMIT') return 'STOP_LIMIT';
  if (s === 'TRAIL' || s === 'TRAILING_STOP' || s === 'TRAILSTOP') return 'TRAIL';
  return undefined;
}
