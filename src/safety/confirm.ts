/**
 * Approval: how a prepared order gets from "checked" to "sent". By configuration and what the
 * client can do: none (send at once), a dialog the human answers (elicitation; the SDK calls the
 * tool again with the answer and the state we gave), or a single-use token for confirm_order;
 * for a LIVE order the token also needs the approval code only the human can read (else the
 * order is refused with how to set one up).
 * IB's warnings about an order need the same approval the order had. Holds are confirmation
 * tokens (`ct1.` …); a dialog's hold is bound to the tool's arguments and is useless to
 * confirm_order.
 */
import type { CallOptions } from '../broker/backend.js';
import { BrokerError } from '../broker/errors.js';
import { durationText } from './confirm-token.js';
import type { Held, OrderContext } from './context.js';
import { type Approval, type OrderDraft, type OrderOutcome, outcome, type Prepared } from './outcome.js';
import { liveApprovalHint } from './policy.js';
import type { Preparer } from './prepare.js';
import type { Reconciler } from './reconcile.js';
import { heldHash, type Sender } from './send.js';
import type { Tickets } from './tickets.js';

const HOLD_PREFIX = 'ct1.';

/** True for a request state that is one of our holds (a dialog re-entry). */
export function isDialogState(state: unknown): state is string {
  return typeof state === 'string' && state.startsWith(HOLD_PREFIX);
}

/** What an order tool gets back: a result, or a question for the human (a dialog). */
export type ApprovalStep =
  | { kind: 'result'; outcome: OrderOutcome }
  | { kind: 'ticket'; outcome: OrderOutcome; ticket: { id: string; expiresAt: number } }
  | { kind: 'ask'; about: 'order'; prepared: Prepared; state: string }
  | { kind: 'ask'; about: 'question'; outcome: OrderOutcome; state: string };

export interface ApprovalRequest {
  /** Hash of the tool and its arguments: a dialog's state is bound to it. */
  argsHash: string;
  /** On re-entry: the state the client echoed and whether the human accepted. */
  dialog?: { state: string; accepted: boolean } | undefined;
  /** The client can show a dialog (form elicitation). */
  canAsk: boolean;
  /**
   * The client renders the order ticket app (MCP Apps): a LIVE order is then held as a ticket for
   * the human, the strongest approval. A new order's draft lets them change quantity and price there
   * (a modification has none: it is shown as asked).
   */
  ticket?: { draft: () => OrderDraft | undefined } | undefined;
  /** A client order id given by the caller: a second call with it sends nothing new. */
  clientOrderId?: string | undefined;
  prepare: () => Promise<Prepared>;
}

export class Approvals {
  constructor(
    private readonly ctx: OrderContext,
    private readonly prep: Preparer,
    private readonly sender: Sender,
    private readonly reconciler: Reconciler,
    private readonly tickets: Tickets,
  ) {}

  /** The whole path of a place or modify call, from its arguments to a result or a dialog. */
  async run(req: ApprovalRequest, opts: CallOptions = {}): Promise<ApprovalStep> {
    if (req.dialog) return this.reenter(req.dialog, req.argsHash, opts);
    await this.reconciler.ensureReconciled(opts);
    if (req.clientOrderId) {
      const seen = await this.reconciler.existing(req.clientOrderId, opts);
      if (seen) return { kind: 'result', outcome: seen };
    }
    const prepared = await req.prepare();
    const how = this.prep.confirmationFor(prepared.mode);
    if (how === 'none') return { kind: 'result', outcome: await this.sender.send(prepared, opts, 'none') };
    if (req.ticket && prepared.mode === 'LIVE') return this.offerTicket(prepared, req.ticket.draft());
    if (how === 'elicit' && req.canAsk) {
      return { kind: 'ask', about: 'order', prepared, state: this.hold(prepared, req.argsHash).token };
    }
    return { kind: 'result', outcome: this.offerToken(prepared) };
  }

  /** Holds the order as a ticket the human places (or not) in the ticket app. */
  private offerTicket(prepared: Prepared, draft: OrderDraft | undefined): ApprovalStep {
    const ticket = this.tickets.create(prepared, draft);
    const what =
      prepared.action === 'modify'
        ? "this change of an order with IB's estimate; only the user can send it there"
        : "this order with IB's estimate; only the user can place it there (they may change quantity and price first)";
    const message = `Nothing was sent. This is REAL MONEY: an order ticket now shows the user ${what} or cancel it. Do not call again; ask the user what they decided. If they see no ticket, their client cannot show it: restart ibkr-mcp with --no-ui to approve by dialog or approval code.`;
    return {
      kind: 'ticket',
      outcome: outcome(prepared, 'confirmation_required', message, { approval: 'ticket' }),
      ticket,
    };
  }

  /**
   * Holds the order for confirm_order. A LIVE order needs the human's approval code with the
   * token; without an enrolled code it is refused, saying how to set one up. `before` is what
   * happened first (a dialog that was declined or not shown).
   */
  private offerToken(prepared: Prepared, before = ''): OrderOutcome {
    const what = prepared.action === 'modify' ? 'change' : 'order';
    const live = prepared.mode === 'LIVE';
    if (live && !this.ctx.codes.enrolled()) {
      throw new BrokerError(
        'REFUSED',
        `${before}This LIVE ${what} needs the user's own approval, and neither a confirmation dialog nor an approval code is available. Nothing was sent.`,
        { hint: liveApprovalHint(), details: { mode: prepared.mode, check: 'live-approval' } },
      );
    }
    const { token, expiresAt } = this.hold(prepared);
    const within = durationText(this.ctx.tokens.ttlMs);
    const message = live
      ? `${before}Nothing was sent. This is REAL MONEY: show the user this ${what} and the estimate. Only if they agree, ask them for the 6-digit code their authenticator app shows for ibkr-mcp, and call confirm_order {"token": "…", "code": "<their code>"} within ${within}. Never guess or reuse a code: wrong codes lock approvals. If the user said no, do nothing.`
      : `${before}Nothing was sent. Show the user this ${what} and the estimate; if they agree, call confirm_order {"token": "…"} within ${within}. The token sends exactly this ${what}, once.`;
    return outcome(prepared, 'confirmation_required', message, {
      confirmation: { token, expiresAt: new Date(expiresAt).toISOString() },
      approval: live ? 'code' : 'token',
    });
  }

  /**
   * The human answered the dialog: send on yes. On no, nothing is sent (or IB is told no). For a
   * LIVE order a "no" may be a client that declines without showing anything, so it is reported
   * as "declined or not shown" and the next method (an approval code) is offered; it is never
   * taken as consent, and the dialog is not asked again.
   */
  private async reenter(dialog: { state: string; accepted: boolean }, argsHash: string, opts: CallOptions) {
    if (dialog.accepted) return this.afterDialog(await this.confirmToken(dialog.state, opts, argsHash), argsHash);
    const held = this.peek(dialog.state);
    const no = await this.decline(dialog.state, opts);
    if (no)
      return { kind: 'result', outcome: { ...no, message: `The user declined IB's warning. ${no.message}` } } as const;
    const p = held.prepared;
    if (p.mode === 'LIVE') {
      const before = 'The confirmation dialog was declined or not shown (some clients decline without showing it). ';
      return { kind: 'result', outcome: this.offerToken(p, before) } as const;
    }
    return {
      kind: 'result',
      outcome: outcome(p, 'declined', `The user declined; nothing was ${p.action === 'modify' ? 'changed' : 'sent'}.`),
    } as const;
  }

  /** After a dialog approval, IB's warnings go to the human in a dialog too. */
  private afterDialog(r: OrderOutcome, argsHash: string): ApprovalStep {
    if (r.status !== 'needs_reply' || r.approval !== 'elicit' || !r.question) return { kind: 'result', outcome: r };
    return {
      kind: 'ask',
      about: 'question',
      outcome: r,
      state: this.sender.holdReply(r.question.replyId, argsHash).token,
    };
  }

  /**
   * Holds a prepared order for confirmation; the token releases it once within the TTL. With
   * `argsHash` the hold is the state of a client dialog: only that tool's re-entry with the same
   * arguments can release it, never confirm_order.
   */
  hold(prepared: Prepared, argsHash?: string): { token: string; expiresAt: number } {
    const held: Held = { prepared, at: this.ctx.now() };
    if (argsHash) held.argsHash = argsHash;
    return this.ctx.tokens.issue(heldHash(held), prepared.order.accountId, held);
  }

  /** Checks a hold without using it. */
  peek(token: string): Held {
    return this.ctx.tokens.check(token, heldHash).data;
  }

  /**
   * Uses a hold up and releases exactly what it holds: the order, or "yes" to IB's question.
   * `argsHash` is given only by a dialog re-entry (approval elicit); confirm_order gives none and
   * so cannot redeem a dialog's state. A LIVE hold redeemed by confirm_order needs the human's
   * approval `code` (checked before the token is used, so a mistyped code can be corrected).
   */
  async confirmToken(token: string, opts: CallOptions = {}, argsHash?: string, code?: string): Promise<OrderOutcome> {
    const pre = this.peek(token);
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
    let approval: Approval = argsHash !== undefined ? 'elicit' : 'token';
    if (approval === 'token' && pre.prepared.mode === 'LIVE') {
      this.ctx.codes.verify(code, pre.at ?? this.ctx.now());
      approval = 'code';
    }
    const held = this.ctx.tokens.redeem(token, heldHash).data;
    if (held.replyId) return this.sender.answerReply(held.replyId, true, opts, approval);
    return this.sender.send(held.prepared, opts, approval);
  }

  /** Voids a hold. For a held question of IB's, also answers IB "no" (nothing is placed). */
  async decline(token: string, opts: CallOptions = {}): Promise<OrderOutcome | undefined> {
    let held: Held | undefined;
    try {
      held = this.peek(token);
    } catch {
      // Already invalid: nothing to decline.
    }
    this.ctx.tokens.discard(token);
    if (held?.replyId && this.ctx.pendingReplies.has(held.replyId)) {
      return this.sender.answerReply(held.replyId, false, opts);
    }
    return undefined;
  }
}
