/**
 * Every order path goes through here, in this order:
 *
 *   kill switch → account and mode (from IB) → live gate → input validation → price and
 *   IB's what-if → limits → approval (none / dialog / token) → kill switch again →
 *   journal line fsync'd → one request → IB's answer journaled → IB's questions by policy,
 *   or held for the approval the order had.
 *
 * The work is split by job: prepare.ts (account, prices, checks), confirm.ts (approval and
 * holds), send.ts (the request, IB's answers and questions, lost answers, cancels) and
 * reconcile.ts (the journal against IB). This class wires them to one context and is what
 * tools call. Tools only parse input and render; they never talk to the backend for writes.
 */
import type { Backend, CallOptions } from '../broker/backend.js';
import { BrokerError } from '../broker/errors.js';
import type { TradingAccounts } from '../broker/orders.js';
import type { Contract } from '../broker/types.js';
import { type Logger, silentLogger } from '../log.js';
import { ApprovalCodes } from './approval-code.js';
import { type ApprovalRequest, type ApprovalStep, Approvals } from './confirm.js';
import { ConfirmTokens } from './confirm-token.js';
import {
  type Held,
  type OrderContext,
  type OrderTimers,
  ordersApi,
  type PendingReply,
  REAL_TIMERS,
} from './context.js';
import { Journal, type JournalEntry, type TradingMode } from './journal.js';
import { type OcaType, prepareOca } from './oca.js';
import type { Approval, CancelOutcome, OrderDraft, OrderOutcome, Prepared } from './outcome.js';
import type { ConfirmationMode, SafetyConfig } from './policy.js';
import { type ModifyArgs, Preparer } from './prepare.js';
import { type ReconcileReport, Reconciler } from './reconcile.js';
import { Sender } from './send.js';
import { type SpreadDraft, SpreadPreparer } from './spread.js';
import { Tickets } from './tickets.js';

export { certainlyNotSent, newClientOrderId, type OrderTimers } from './context.js';
export { MAX_OCA_ORDERS, OCA_TYPES, type OcaType } from './oca.js';
export type {
  Approval,
  CancelOutcome,
  GroupMember,
  OrderDraft,
  OrderOutcome,
  OutcomeStatus,
  Prepared,
} from './outcome.js';
export type { TicketStatus, TicketView } from './tickets.js';

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

export class OrderService {
  readonly journal: Journal;
  readonly tokens: ConfirmTokens<Held>;
  readonly safety: SafetyConfig;
  private readonly prep: Preparer;
  private readonly sender: Sender;
  private readonly reconciler: Reconciler;
  private readonly approvals: Approvals;
  private readonly ctx: OrderContext;
  private readonly spreads: SpreadPreparer;
  /** Order tickets of the Apps extension (tickets.ts). */
  readonly tickets: Tickets;

  constructor(opts: OrderServiceOptions) {
    const now = opts.now ?? Date.now;
    this.safety = opts.safety;
    this.journal = new Journal(opts.home, { now });
    this.tokens = new ConfirmTokens<Held>({ ttlMs: opts.tokenTtlMs, now });
    const ctx: OrderContext = {
      backend: opts.backend,
      get api() {
        return ordersApi(opts.backend);
      },
      journal: this.journal,
      tokens: this.tokens,
      codes: new ApprovalCodes(opts.home, now),
      pendingReplies: new Map<string, PendingReply>(),
      safety: opts.safety,
      home: opts.home,
      simulated: opts.simulated,
      log: opts.log ?? silentLogger,
      now,
      timers: opts.timers ?? REAL_TIMERS,
    };
    this.ctx = ctx;
    this.prep = new Preparer(ctx);
    this.spreads = new SpreadPreparer(ctx, this.prep);
    this.sender = new Sender(ctx, this.prep);
    this.reconciler = new Reconciler(ctx);
    this.tickets = new Tickets(ctx, this.prep, this.sender);
    this.approvals = new Approvals(ctx, this.prep, this.sender, this.reconciler, this.tickets);
  }

  // prepare.ts
  accounts(opts: CallOptions = {}, fresh = false): Promise<TradingAccounts> {
    return this.prep.accounts(opts, fresh);
  }
  modeOf(accountId: string, info: TradingAccounts): TradingMode {
    return this.prep.modeOf(accountId, info);
  }
  pickAccount(given: string | undefined, info: TradingAccounts): string {
    return this.prep.pickAccount(given, info);
  }
  confirmationFor(mode: TradingMode): ConfirmationMode {
    return this.prep.confirmationFor(mode);
  }
  prepare(draft: OrderDraft, opts: CallOptions = {}, previewOnly = false): Promise<Prepared> {
    return this.prep.prepare(draft, opts, previewOnly);
  }
  /** A one-cancels-all group, prepared and checked as one (oca.ts). */
  prepareOca(
    drafts: OrderDraft[],
    group: { name?: string | undefined; type?: OcaType | undefined },
    opts: CallOptions = {},
    previewOnly = false,
  ): Promise<Prepared> {
    return prepareOca(this.ctx, this.prep, drafts, group, opts, previewOnly);
  }
  /** spread.ts: a combo of option legs as one order. */
  prepareSpread(draft: SpreadDraft, opts: CallOptions = {}, previewOnly = false): Promise<Prepared> {
    return this.spreads.prepare(draft, opts, previewOnly);
  }
  prepareModify(
    args: ModifyArgs,
    resolveContract: (conid: number) => Promise<Contract>,
    opts: CallOptions = {},
  ): Promise<Prepared> {
    if (this.journal.byOrderId(args.orderId)?.order.combo) {
      // A combo's legs and net price are one order; this server changes none of it in place.
      throw new BrokerError('REFUSED', `Order ${args.orderId} is a spread; it cannot be modified here.`, {
        hint: 'Cancel it (cancel_order) and place the spread again with place_spread_order.',
      });
    }
    return this.prep.prepareModify(args, resolveContract, opts);
  }

  // confirm.ts
  approve(req: ApprovalRequest, opts: CallOptions = {}): Promise<ApprovalStep> {
    return this.approvals.run(req, opts);
  }
  hold(prepared: Prepared, argsHash?: string): { token: string; expiresAt: number } {
    return this.approvals.hold(prepared, argsHash);
  }
  holdReply(replyId: string, argsHash?: string): { token: string; expiresAt: number } {
    return this.sender.holdReply(replyId, argsHash);
  }
  peek(token: string): Held {
    return this.approvals.peek(token);
  }
  confirmToken(token: string, opts: CallOptions = {}, argsHash?: string, code?: string): Promise<OrderOutcome> {
    return this.approvals.confirmToken(token, opts, argsHash, code);
  }
  decline(token: string, opts: CallOptions = {}): Promise<OrderOutcome | undefined> {
    return this.approvals.decline(token, opts);
  }

  // send.ts
  send(prepared: Prepared, opts: CallOptions = {}, approval: Approval = 'none'): Promise<OrderOutcome> {
    return this.sender.send(prepared, opts, approval);
  }
  confirmReply(replyId: string, confirmed: boolean, opts: CallOptions = {}): Promise<OrderOutcome> {
    return this.sender.confirmReply(replyId, confirmed, opts);
  }
  cancel(
    args: { accountId?: string | undefined; orderId: string; code?: string | undefined },
    opts: CallOptions = {},
  ): Promise<CancelOutcome> {
    return this.sender.cancel(args, opts);
  }

  // reconcile.ts
  existing(clientOrderId: string, opts: CallOptions = {}): Promise<OrderOutcome | undefined> {
    return this.reconciler.existing(clientOrderId, opts);
  }
  lookup(e: JournalEntry, opts: CallOptions = {}) {
    return this.reconciler.lookup(e, opts);
  }
  reconcile(opts: CallOptions = {}): Promise<ReconcileReport> {
    return this.reconciler.reconcile(opts);
  }
  ensureReconciled(opts: CallOptions = {}): Promise<void> {
    return this.reconciler.ensureReconciled(opts);
  }
}
