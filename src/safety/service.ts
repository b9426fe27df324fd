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

interface Held {
  prepared: Prepared;
  /** Hash of the tool arguments that produced it (elicitation re-entry must match). */
  argsHash?: string;
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

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export class OrderService {
  readonly journal: Journal;
  readonly tokens: ConfirmTokens<Held>;
  readonly safety: SafetyConfig;
  private readonly backend: Backend;
  private readonly home: string;
  private readonly simulated: boolean;
  private readonly log: Logger;
  private readonly now: () => number;
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

  /** Holds a prepared order for confirmation; the token releases it once within the TTL. */
  hold(prepared: Prepared, argsHash?: string): { token: string; expiresAt: number } {
    const held: Held = { prepared };
    if (argsHash) held.argsHash = argsHash;
    return this.tokens.issue(heldHash(held), prepared.order.accountId, held);
  }

  /** Checks a token without using it (elicitation re-entry). */
  peek(token: string): Held {
    return this.tokens.check(token, heldHash).data;
  }

  /** Uses a token up and sends exactly the order it holds. */
  async confirmToken(token: string, opts: CallOptions = {}, argsHash?: string): Promise<OrderOutcome> {
    const pre = this.tokens.check(token, heldHash).data;
    if (argsHash !== undefined && pre.argsHash !== argsHash) {
      throw new BrokerError(
        'REFUSED',
        'The confirmation does not belong to these order parameters; nothing was sent.',
        {
          hint: 'Place the order again.',
        },
      );
    }
    const { prepared } = this.tokens.redeem(token, heldHash).data;
    return this.send(prepared, opts);
  }

  decline(token: string): void {
    this.tokens.discard(token);
  }

  // ------------------------------------------------------------------ send

  /** Re-checks what can change while an order waits, journals it, sends it once, and handles IB's answer. */
  async send(p: Prepared, opts: CallOptions = {}): Promise<OrderOutcome> {
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
      this.journal.modify(p.order.clientOrderId, p.changes ?? {}, p.order);
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
    return this.handle(p, outcome, [], opts);
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
        this.pendingReplies.set(q.replyId, { prepared: p, autoConfirmed });
        const out: OrderOutcome = {
          ...this.base(p),
          status: 'needs_reply',
          question: q,
          message: `IB asks for confirmation before ${p.action === 'modify' ? 'changing' : 'placing'} this order (${idents(decision.blocking)}). Nothing is ${p.action === 'modify' ? 'changed' : 'placed'} until confirm_order is called with replyId ${ident(q.replyId)}; show the user IB's message first.`,
        };
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

  private readonly pendingReplies = new Map<string, { prepared: Prepared; autoConfirmed: string[] }>();

  /** confirm_order with a reply id: answers IB's question for an order this server sent. */
  async confirmReply(replyId: string, confirmed: boolean, opts: CallOptions = {}): Promise<OrderOutcome> {
    const pending = this.pendingReplies.get(replyId);
    if (!pending) {
      throw new BrokerError('NOT_FOUND', `No order of this server is waiting on IB's question ${replyId}.`, {
        hint: "IB's questions expire when another order is sent or the server restarts; check get_live_orders and place the order again if it is not there.",
      });
    }
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
    return this.handle(p, outcome, [...pending.autoConfirmed], opts);
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
        if (attempt > 0) await sleep(300 * attempt);
        try {
          found = await this.api.findOrderByClientId(cOID, { signal: AbortSignal.timeout(10_000) });
          lookupError = undefined;
        } catch (e) {
          lookupError = e instanceof Error ? e.message : String(e);
          if (isBrokerError(e) && e.code === 'NOT_AUTHENTICATED') break;
        }
      }
    } else if (p.orderId) {
      try {
        found = await this.api.orderStatus(p.orderId, { signal: AbortSignal.timeout(10_000) });
      } catch (e) {
        lookupError = e instanceof Error ? e.message : String(e);
      }
    }
    if (found) {
      if (p.action === 'place') {
        this.journal.update(cOID, { state: 'placed', orderId: found.orderId, ibStatus: found.status });
      }
      return {
        ...this.base(p),
        ...liveFacts(found),
        status: statusOf(found.status),
        message:
          p.action === 'place'
            ? `IB's answer was lost (${why}), so the order was looked up by its client order id ${cOID}: it exists exactly once as IB order ${ident(found.orderId)} (${ident(found.status)}). It was not sent again.`
            : `IB's answer was lost (${why}); order ${ident(found.orderId)} now shows ${ident(found.status)}, quantity ${found.quantity}${found.limitPrice !== undefined ? `, price ${found.limitPrice}` : ''}. Check whether the change took effect before trying again.`,
      };
    }
    if (p.action === 'place') this.journal.update(cOID, { state: 'unknown', message: `answer lost: ${why}` });
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
    const prev: Partial<OrderRequest> = ours?.order ?? {};
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
  ): Promise<{
    mode: TradingMode;
    accountId: string;
    orderId: string;
    accepted: boolean;
    message: string;
    order?: LiveOrder;
  }> {
    const info = await this.accounts(opts);
    let accountId: string;
    let live: LiveOrder | undefined;
    if (args.orderId === 'all' || args.orderId === '-1') {
      accountId = this.pickAccount(args.accountId, info);
    } else {
      live = await this.api.orderStatus(args.orderId, opts);
      accountId = live.accountId || this.pickAccount(args.accountId, info);
    }
    const mode = this.modeOf(accountId, info);
    // Cancels still work under the kill switch; a live account still needs --allow-live-trading.
    assertModeAllowed(mode, this.safety, 'cancelling an order');
    const res = await this.api.cancelOrder(accountId, args.orderId === 'all' ? '-1' : args.orderId, opts);
    const ours = live ? this.journal.byOrderId(live.orderId) : undefined;
    if (ours) this.journal.update(ours.clientOrderId, { message: `cancel requested: ${res.message}` });
    const out = { mode, accountId, orderId: res.orderId, accepted: res.accepted, message: res.message } as {
      mode: TradingMode;
      accountId: string;
      orderId: string;
      accepted: boolean;
      message: string;
      order?: LiveOrder;
    };
    if (live) out.order = live;
    return out;
  }

  // ------------------------------------------------------------------ reconciliation

  /**
   * Brings journal entries without a final state up to date with IB's live orders (and the
   * last days' executions). Entries that were only "sending" or "unknown" and that IB does not
   * show at all are marked not_found. Safe to call repeatedly; failures leave entries as they are.
   */
  async reconcile(opts: CallOptions = {}): Promise<{ checked: number; updated: number; notFound: number }> {
    const open = this.journal.nonFinal();
    if (!open.length) {
      this.reconciledOk = true;
      return { checked: 0, updated: 0, notFound: 0 };
    }
    const live = await this.api.liveOrders({ ...opts, force: true });
    const byId = new Map(live.map((o) => [o.orderId, o]));
    const byCoid = new Map(live.filter((o) => o.clientOrderId).map((o) => [o.clientOrderId!, o]));
    let trades: Awaited<ReturnType<OrdersApi['trades']>> | undefined;
    let updated = 0;
    let notFound = 0;
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
      trades ??= await this.api.trades(7, opts).catch(() => []);
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
    this.reconciledOk = true;
    return { checked: open.length, updated, notFound };
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

function heldHash(h: Held): string {
  return canonicalHash({
    action: h.prepared.action,
    order: h.prepared.order,
    orderId: h.prepared.orderId,
    argsHash: h.argsHash,
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
    case 'not_found':
      return 'rejected';
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
