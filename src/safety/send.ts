/**
 * Sending: the kill switch and the live gate again, the journal line fsync'd, one request, and
 * IB's answer: placed, rejected, or questions (answered by policy, or held for the approval the
 * order had). A lost answer is never retried: the order is looked up, and if IB cannot settle it
 * the result says it may exist. Cancels are sent the same way.
 */
import type { CallOptions } from '../broker/backend.js';
import { BrokerError, isBrokerError } from '../broker/errors.js';
import { numOrNa } from '../broker/numbers.js';
import {
  bracketChildren,
  type CancelResult,
  type LiveOrder,
  type OrderRequest,
  type OrderType,
  ocaMembers,
  type PlacedOrder,
  type PlaceOutcome,
  type TimeInForce,
} from '../broker/orders.js';
import { ident, idents, untrusted } from '../broker/untrusted.js';
import { canonicalHash } from './confirm-token.js';
import { certainlyNotSent, DAY_MS, errorText, type OrderContext } from './context.js';
import { assertNotHalted } from './killswitch.js';
import { journalGroup, ocaLost, ocaPlaced, sendChildChanges } from './oca.js';
import {
  type Approval,
  type CancelOutcome,
  liveFacts,
  type OrderOutcome,
  outcome,
  type Prepared,
  statusOfState,
} from './outcome.js';
import { assertLiveApproval, assertModeAllowed, liveApprovalHint, liveWithoutApproval } from './policy.js';
import type { Preparer } from './prepare.js';
import { decideQuestion, MAX_AUTO_REPLIES } from './questions.js';

const LOOKUP_TIMEOUT_MS = 10_000;

export class Sender {
  constructor(
    private readonly ctx: OrderContext,
    private readonly prep: Preparer,
  ) {}

  /** Re-checks what can change while an order waits, journals it, sends it once, and handles IB's answer. */
  async send(held: Prepared, opts: CallOptions = {}, approval: Approval = 'none'): Promise<OrderOutcome> {
    const { journal, safety } = this.ctx;
    let p = held;
    const modify = p.action === 'modify';
    assertNotHalted(this.ctx.home, modify ? 'modifying' : 'placing');
    assertModeAllowed(p.mode, safety, modify ? 'modifying an order' : 'placing an order');
    assertLiveApproval(p.mode, approval, safety, modify ? 'modifying an order' : 'placing an order');
    if (!modify) {
      const count = journal.attemptsSince(this.ctx.now() - DAY_MS, { accountId: p.order.accountId, mode: p.mode });
      const group = ocaMembers(p.order);
      if (count + group.length > safety.maxOrdersPerDay) {
        throw new BrokerError(
          'REFUSED',
          `Order refused by the safety policy, nothing was sent: ${count} orders were sent for ${p.order.accountId} (${p.mode}) in the last 24 hours${group.length > 1 ? ` and the group has ${group.length}` : ''}; --max-orders-per-day is ${safety.maxOrdersPerDay}.`,
        );
      }
      journal.beginGroup(group, p.mode, approval);
    } else {
      // Journaled before it is sent, whoever placed the order (an order from TWS gets an entry).
      const e = journal.byOrderId(p.orderId!) ?? journal.adopt(p.order, p.orderId!, p.mode);
      if (e.clientOrderId !== p.order.clientOrderId)
        p = { ...p, order: { ...p.order, clientOrderId: e.clientOrderId } };
      const kids = p.childChanges?.map((c) => c.orderId);
      journal.modify(
        e.clientOrderId,
        { ...p.changes, ...(kids ? { children: kids } : {}) },
        p.order,
        undefined,
        approval,
      );
    }
    let answer: PlaceOutcome;
    try {
      answer = modify
        ? await this.ctx.api.modifyOrder(p.orderId!, p.order, opts)
        : await this.ctx.api.placeOrder(p.order, opts);
    } catch (err) {
      return this.answerLost(p, err, approval);
    }
    return this.handle(p, answer, [], opts, approval);
  }

  /** IB's answer: placed, rejected, or questions (auto-confirmed by policy or held for approval). */
  private async handle(
    p: Prepared,
    answer: PlaceOutcome,
    autoConfirmed: string[],
    opts: CallOptions,
    approval: Approval,
  ): Promise<OrderOutcome> {
    const { journal } = this.ctx;
    const cOID = p.order.clientOrderId;
    const modify = p.action === 'modify';
    let current = answer;
    const oca = !modify && (p.order.ocaSiblings?.length ?? 0) > 0;
    for (let round = 0; ; round++) {
      if (current.kind === 'placed' && oca) {
        return ocaPlaced(this.ctx, p, current.orders, { autoConfirmed, approval });
      }
      if (current.kind === 'placed') {
        const [first, ...children] = current.orders;
        const orderId = first?.orderId ?? p.orderId;
        const ibStatus = first?.status;
        const orderState = first?.state;
        const group = !modify && bracketChildren(p.order).length > 0 ? bracketNote(p.order, children) : undefined;
        if (!modify) {
          journal.update(cOID, {
            state: 'placed',
            orderId,
            orderState,
            ibStatus,
            replyId: '',
            ...(group ? { message: group.journal } : {}),
          });
        } else
          journal.update(cOID, { orderState, ibStatus, message: `modification accepted (${ibStatus ?? 'pending'})` });
        if (modify && p.childChanges?.length) {
          const kids = await sendChildChanges(this.ctx, p.childChanges, opts);
          journal.update(cOID, { message: kids.text });
          return outcome(
            p,
            statusOfState(orderState ?? 'working'),
            `Modification of order ${ident(orderId)} accepted by IB (${ibStatus ? ident(ibStatus) : 'status pending'}). ${kids.text}`,
            { orderId, ibStatus, autoConfirmed, approval, children: kids.children },
          );
        }
        return outcome(
          p,
          statusOfState(orderState ?? 'working'),
          modify
            ? `Modification of order ${ident(orderId)} accepted by IB (${ibStatus ? ident(ibStatus) : 'status pending'}).`
            : `Order placed: IB order id ${ident(orderId)}, status ${ibStatus ? ident(ibStatus) : 'pending'}.${group ? ` ${group.text}` : ''}`,
          { orderId, ibStatus, autoConfirmed, approval, children: group ? children : undefined },
        );
      }
      if (current.kind === 'rejected') {
        if (!modify) journalGroup(this.ctx, p, { state: 'rejected', message: current.message, replyId: '' });
        else journal.update(cOID, { message: `modification rejected: ${current.message}` });
        return outcome(
          p,
          'rejected',
          `IB rejected the ${modify ? 'modification' : 'order'}; nothing was ${modify ? 'changed' : 'placed'}: ${untrusted(current.message)}`,
          { autoConfirmed, approval },
        );
      }
      const q = current.question;
      const decision = decideQuestion(q, this.ctx.safety.autoConfirmMessageIds, p.mode);
      if (!decision.autoConfirm || round >= MAX_AUTO_REPLIES) {
        if (!modify)
          journalGroup(this.ctx, p, { state: 'questions', replyId: q.replyId, message: q.messages.join(' | ') });
        else journal.update(cOID, { message: `modification awaits IB's question ${q.replyId}` });
        this.ctx.pendingReplies.set(q.replyId, { prepared: p, autoConfirmed, approval });
        const asks = `IB asks for confirmation before ${modify ? 'changing' : 'placing'} this order (${idents(decision.blocking)}).`;
        const what = modify ? 'changed' : 'placed';
        if (approval === 'ticket') {
          return outcome(
            p,
            'needs_reply',
            `${asks} Nothing is ${what} yet: the user answers IB's message in the order ticket.`,
            { approval, question: q, autoConfirmed },
          );
        }
        if (approval === 'none' || approval === 'elicit') {
          return outcome(
            p,
            'needs_reply',
            `${asks} Nothing is ${what} until confirm_order is called with replyId ${ident(q.replyId)}; show the user IB's message first.`,
            { approval, question: q, autoConfirmed },
          );
        }
        // IB's warning is a new fact: it needs the same approval as the order, a new token (and a
        // new code for a live order).
        const t = this.holdReply(q.replyId);
        const call =
          approval === 'code'
            ? `ask them for a new approval code and call confirm_order {"token": "…", "code": "<their code>"}`
            : 'call confirm_order {"token": "…"}';
        return outcome(
          p,
          'needs_reply',
          `${asks} Nothing is ${what} yet. Show the user IB's message; only if they agree, ${call} with this result's new token. To decline: confirm_order {"replyId":"${ident(q.replyId)}","confirmed":false}.`,
          {
            approval,
            question: q,
            autoConfirmed,
            confirmation: { token: t.token, expiresAt: new Date(t.expiresAt).toISOString() },
          },
        );
      }
      autoConfirmed.push(...q.messageIds);
      try {
        current = await this.ctx.api.reply(q.replyId, true, opts);
      } catch (err) {
        return this.answerLost(p, err, approval);
      }
    }
  }

  /** Holds "yes" to IB's question `replyId` for the same approval the order had. */
  holdReply(replyId: string, argsHash?: string): { token: string; expiresAt: number } {
    const pending = this.ctx.pendingReplies.get(replyId);
    if (!pending) throw noPendingReply(replyId);
    const at = this.ctx.now();
    const held = argsHash
      ? { prepared: pending.prepared, replyId, argsHash, at }
      : { prepared: pending.prepared, replyId, at };
    return this.ctx.tokens.issue(heldHash(held), pending.prepared.order.accountId, held);
  }

  /**
   * confirm_order with a reply id: answers IB's question for an order this server sent. "No" is
   * always allowed; "yes" only when the order itself needed no approval (--order-confirmation
   * none): otherwise IB's warning needs the same approval the order had (a new token, or the
   * human's answer in the client's dialog).
   */
  async confirmReply(replyId: string, confirmed: boolean, opts: CallOptions = {}): Promise<OrderOutcome> {
    const pending = this.ctx.pendingReplies.get(replyId);
    if (!pending) throw noPendingReply(replyId);
    if (confirmed && pending.approval !== 'none') {
      throw new BrokerError(
        'REFUSED',
        `IB's question ${replyId} needs the same approval as the order; a reply id alone cannot confirm it. Nothing was sent.`,
        {
          hint:
            pending.approval === 'elicit'
              ? "The user answers IB's question in the client's confirmation dialog; call the order tool again if the dialog was closed."
              : pending.approval === 'ticket'
                ? "The user answers IB's question in the order ticket."
                : "Show the user IB's message; if they agree, call confirm_order with the token from the needs_reply result.",
        },
      );
    }
    return this.answerReply(replyId, confirmed, opts);
  }

  /**
   * Sends the answer to IB's question (once: the pending question is used up). `approval` is how
   * this "yes" was approved (default: the order's own, which only "none" can reuse).
   */
  async answerReply(
    replyId: string,
    confirmed: boolean,
    opts: CallOptions = {},
    approval?: Approval,
  ): Promise<OrderOutcome> {
    const pending = this.ctx.pendingReplies.get(replyId);
    if (!pending) throw noPendingReply(replyId);
    const p = pending.prepared;
    const modify = p.action === 'modify';
    if (confirmed) {
      assertNotHalted(this.ctx.home, modify ? 'modifying' : 'placing');
      assertModeAllowed(p.mode, this.ctx.safety, 'confirming an order');
      assertLiveApproval(p.mode, approval ?? pending.approval, this.ctx.safety, "answering IB's question");
    }
    this.ctx.pendingReplies.delete(replyId);
    let answer: PlaceOutcome;
    try {
      answer = await this.ctx.api.reply(replyId, confirmed, opts);
    } catch (err) {
      if (!confirmed) throw err;
      return this.answerLost(p, err, approval ?? pending.approval);
    }
    if (!confirmed) {
      if (!modify) journalGroup(this.ctx, p, { state: 'declined', replyId: '' });
      return outcome(
        p,
        'declined',
        `IB's question was answered "no"; the ${modify ? 'modification was not sent' : 'order was not placed'}.`,
      );
    }
    return this.handle(p, answer, [...pending.autoConfirmed], opts, pending.approval);
  }

  /**
   * The request may or may not have reached IB. Never resend: look the order up by its
   * client order id; if that fails, say it may exist.
   */
  private async answerLost(p: Prepared, err: unknown, approval: Approval): Promise<OrderOutcome> {
    const { journal } = this.ctx;
    const cOID = p.order.clientOrderId;
    const why = errorText(err);
    if (p.action === 'place' && certainlyNotSent(err)) {
      journalGroup(this.ctx, p, { state: 'rejected', message: `not sent: ${why}` });
      throw err;
    }
    if (p.action === 'place' && p.order.ocaSiblings?.length)
      return ocaLost(this.ctx, p, why, approval, LOOKUP_TIMEOUT_MS);
    this.ctx.log.warn('order: answer lost, looking up by client order id', { cOID, err: why });
    let found: LiveOrder | undefined;
    let lookupError: string | undefined;
    if (p.action === 'place') {
      for (let attempt = 0; attempt < 3 && !found; attempt++) {
        if (attempt > 0) await this.ctx.timers.sleep(300 * attempt);
        try {
          found = await this.ctx.api.findOrderByClientId(cOID, { signal: this.ctx.timers.timeout(LOOKUP_TIMEOUT_MS) });
          lookupError = undefined;
        } catch (e) {
          lookupError = errorText(e);
          if (isBrokerError(e) && e.code === 'NOT_AUTHENTICATED') break;
        }
      }
    } else if (p.orderId) {
      try {
        found = await this.ctx.api.orderStatus(p.orderId, { signal: this.ctx.timers.timeout(LOOKUP_TIMEOUT_MS) });
      } catch (e) {
        lookupError = errorText(e);
      }
    }
    if (found && p.action === 'place') {
      const bracket = bracketChildren(p.order).length > 0;
      const kids = bracket
        ? (await this.childrenOf(found.orderId))?.map((o) => ({ orderId: o.orderId, status: o.status, state: o.state }))
        : undefined;
      const group = kids ? bracketNote(p.order, kids) : undefined;
      journal.update(cOID, {
        state: 'placed',
        orderId: found.orderId,
        orderState: found.state,
        ibStatus: found.status,
        ...(group ? { message: group.journal } : {}),
      });
      return outcome(
        p,
        statusOfState(found.state),
        `IB's answer was lost (${why}), so the order was looked up by its client order id ${cOID}: it exists exactly once as IB order ${ident(found.orderId)} (${ident(found.status)}). It was not sent again.` +
          (group
            ? ` ${group.text}`
            : bracket
              ? ` Its take-profit/stop-loss orders could not be read; check get_live_orders for orders whose parent is ${ident(found.orderId)}.`
              : ''),
        { ...liveFacts(found), approval, children: kids },
      );
    }
    if (found) {
      // A modification: only IB's order as it now stands says whether the change took effect.
      const shows = `quantity ${numOrNa(found.quantity)}${found.limitPrice !== undefined ? `, price ${found.limitPrice}` : ''}${found.stopPrice !== undefined ? `, stop ${found.stopPrice}` : ''}`;
      const id = ident(found.orderId);
      const st = ident(found.status);
      const took = changeShows(p.order, found);
      journal.update(cOID, {
        orderState: found.state,
        ibStatus: found.status,
        message: `modification answer lost; IB shows ${shows} (${took ? 'change in effect' : 'change not visible'})`,
      });
      return outcome(
        p,
        took ? statusOfState(found.state) : 'uncertain',
        took
          ? `IB's answer was lost (${why}); order ${id} now shows the change (${shows}, ${st}). It was not sent again.`
          : `UNCERTAIN: IB's answer to the modification was lost (${why}); order ${id} still shows ${shows} (${st}). The change may not have taken effect, or may still; it was NOT sent again. Check get_order_status {"orderId":"${id}"} before changing it again.`,
        { ...liveFacts(found), approval },
      );
    }
    if (p.action === 'place') {
      journal.update(cOID, { state: 'unknown', message: `answer lost: ${why}` });
      const n = bracketChildren(p.order).length;
      return outcome(
        p,
        'uncertain',
        `UNCERTAIN: the order${n ? ` and its ${n === 2 ? 'take-profit and stop-loss' : p.order.takeProfit !== undefined ? 'take-profit' : 'stop-loss'} (one bracket, sent in one request)` : ''} MAY have been placed. IB's answer was lost (${why})` +
          (lookupError
            ? ` and looking it up failed (${lookupError})`
            : ' and it does not show among the live orders yet') +
          `. It was NOT sent again. Check with get_order_status {"clientOrderId":"${cOID}"}${n ? ' (the bracket children carry no client order id of their own: in get_live_orders they name that order as parent)' : ''} before placing anything similar; ` +
          'placing it again under a new id could double the position.',
        { approval },
      );
    }
    journal.update(cOID, { message: `modification answer lost: ${why}` });
    return outcome(
      p,
      'uncertain',
      `UNCERTAIN: the modification of order ${p.orderId} MAY have taken effect. IB's answer was lost (${why})${lookupError ? ` and looking the order up failed (${lookupError})` : ''}. It was NOT sent again. Check get_order_status {"orderId":"${p.orderId}"} before changing it again.`,
      { approval },
    );
  }

  /**
   * A bracket parent's children as IB lists them, take-profit (a limit order) first, then
   * stop-loss, as they were sent, whatever order IB lists them in. Undefined when the list cannot
   * be read.
   */
  private async childrenOf(parentId: string): Promise<LiveOrder[] | undefined> {
    try {
      const live = await this.ctx.api.liveOrders({ settled: true, signal: this.ctx.timers.timeout(LOOKUP_TIMEOUT_MS) });
      return live
        .filter((o) => o.parentId === parentId)
        .sort((a, b) => Number(a.orderType !== 'LMT') - Number(b.orderType !== 'LMT'));
    } catch (e) {
      this.ctx.log.info('order: bracket children not readable', { parentId, err: errorText(e) });
      return undefined;
    }
  }

  /** Cancels one order, or every open order of an account (`orderId` "all"). Works while halted. */
  async cancel(
    args: { accountId?: string | undefined; orderId: string; code?: string | undefined },
    opts: CallOptions = {},
  ): Promise<CancelOutcome> {
    const { journal } = this.ctx;
    const info = await this.prep.accounts(opts);
    let accountId: string;
    let live: LiveOrder | undefined;
    const all = args.orderId === 'all';
    if (all) {
      accountId = this.prep.pickAccount(args.accountId, info);
    } else {
      // An account given is checked first and narrows the lookup to it: a wrong one is refused at
      // once, not after asking IB in every account of the session (paced: up to ~30 s under load).
      const given = args.accountId ? this.prep.pickAccount(args.accountId, info) : undefined;
      live = await this.ctx.api.orderStatus(args.orderId, given ? { ...opts, accountId: given } : opts);
      accountId = live.accountId || given || this.prep.pickAccount(args.accountId, info);
    }
    const mode = this.prep.modeOf(accountId, info);
    // Cancels still work under the kill switch; a live account still needs --allow-live-trading.
    assertModeAllowed(mode, this.ctx.safety, 'cancelling an order');
    // Cancelling every order of a live account (stops and hedges too) needs the human's code.
    let approval: Approval | undefined;
    if (all && mode === 'LIVE' && !liveWithoutApproval(this.ctx.safety)) {
      if (!this.ctx.codes.enrolled()) {
        throw new BrokerError(
          'REFUSED',
          "Cancelling every order of a LIVE account needs the user's approval code, and none is set up. Nothing was sent.",
          { hint: `${liveApprovalHint()} Single orders can still be cancelled by order id.` },
        );
      }
      if (!args.code) {
        throw new BrokerError(
          'REFUSED',
          "Cancelling every order of a LIVE account needs the user's approval code; nothing was sent.",
          {
            hint: 'Tell the user which orders this cancels; only if they agree, ask for the 6-digit ibkr-mcp code from their authenticator and pass it as code.',
          },
        );
      }
      this.ctx.codes.verify(args.code, 0);
      approval = 'code';
    }
    // Journaled before it is sent, whoever placed the order.
    let cOID: string | undefined;
    let kids: LiveOrder[] = [];
    if (live) {
      const at = { orderState: live.state, ibStatus: live.status };
      const entry = journal.byOrderId(live.orderId) ?? journal.adopt(orderOf(live), live.orderId, mode, at);
      cOID = entry.clientOrderId;
      // A bracket parent: IB cancels its children with it; they are named before and after.
      if (bracketChildren(entry.order).length && live.state === 'working')
        kids = ((await this.childrenOf(live.orderId)) ?? []).filter((o) => o.state === 'working');
      journal.cancel(cOID);
      if (kids.length) {
        journal.update(cOID, {
          message: `cancel of bracket parent; children ${kids.map((k) => k.orderId).join(', ')}`,
        });
      }
    } else journal.note(accountId, 'cancel', 'cancel of every open order requested', approval);
    const base = { mode, accountId, ...(live ? { order: live } : {}) };
    let res: CancelResult;
    try {
      res = all
        ? await this.ctx.api.cancelAll(accountId, opts)
        : await this.ctx.api.cancelOrder(accountId, args.orderId, opts);
    } catch (err) {
      const why = errorText(err);
      if (cOID) journal.update(cOID, { message: `cancel answer lost: ${why}` });
      if (certainlyNotSent(err)) throw err;
      return { ...base, answerLost: true, ...(await this.cancelLost(accountId, all ? undefined : args.orderId, why)) };
    }
    if (cOID) journal.update(cOID, { message: `cancel ${res.accepted ? 'accepted' : 'refused'}: ${res.message}` });
    const out: CancelOutcome = { ...base, orderId: res.orderId, accepted: res.accepted, message: res.message };
    if (kids.length) out.affected = await this.afterCancel(kids, live!);
    return out;
  }

  /**
   * Where a cancelled parent's children stand, as IB shows each: IB cancels them after the
   * parent, so a child still working is read again, up to three times, half a second apart.
   */
  private async afterCancel(kids: LiveOrder[], parent: LiveOrder): Promise<NonNullable<CancelOutcome['affected']>> {
    const out = new Map<string, NonNullable<CancelOutcome['affected']>[number]>();
    for (let round = 0; round < 3; round++) {
      if (round > 0) await this.ctx.timers.sleep(500);
      for (const k of kids) {
        if (out.get(k.orderId)?.state === 'cancelled') continue;
        const role = `${k.orderType === 'LMT' ? 'take-profit' : 'stop-loss'} of ${parent.orderId}`;
        try {
          const now = await this.ctx.api.orderStatus(k.orderId, { signal: this.ctx.timers.timeout(LOOKUP_TIMEOUT_MS) });
          out.set(k.orderId, { orderId: k.orderId, role, status: now.status, state: now.state });
        } catch (e) {
          out.set(k.orderId, { orderId: k.orderId, role, status: `not readable: ${errorText(e)}`, state: 'unknown' });
        }
      }
      if ([...out.values()].every((a) => a.state === 'cancelled')) break;
    }
    return [...out.values()];
  }

  /** The answer to a cancel was lost: IB's order list says whether it took effect. */
  private async cancelLost(
    accountId: string,
    orderId: string | undefined,
    why: string,
  ): Promise<Pick<CancelOutcome, 'orderId' | 'accepted' | 'uncertain' | 'message'>> {
    const signal = this.ctx.timers.timeout(LOOKUP_TIMEOUT_MS);
    try {
      if (orderId) {
        const o = await this.ctx.api.orderStatus(orderId, { signal });
        if (o.state === 'cancelled') {
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
          message: `UNCERTAIN: IB's answer to the cancel was lost (${why}); order ${orderId} still shows ${ident(o.status)} (filled ${numOrNa(o.filled)} of ${numOrNa(o.quantity)}). The cancel may still take effect. Check get_order_status {"orderId":"${orderId}"} before acting on it.`,
        };
      }
      const open = (await this.ctx.api.liveOrders({ signal, force: true })).filter(
        (o) => o.accountId === accountId && o.state === 'working',
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
        message: `UNCERTAIN: IB's answer to the cancel was lost (${why}) and the order could not be looked up (${errorText(e)}). The cancel MAY have taken effect. Check ${orderId ? `get_order_status {"orderId":"${orderId}"}` : 'get_live_orders'}.`,
      };
    }
  }
}

/** The hash a held confirmation is bound to: the exact order, and what the hold releases. */
export function heldHash(h: { prepared: Prepared; argsHash?: string; replyId?: string }): string {
  return canonicalHash({
    action: h.prepared.action,
    order: h.prepared.order,
    orderId: h.prepared.orderId,
    // A bracket parent's change carries its children's: the approval covers them too.
    children: h.prepared.childChanges,
    argsHash: h.argsHash,
    replyId: h.replyId,
  });
}

function noPendingReply(replyId: string): BrokerError {
  return new BrokerError('NOT_FOUND', `No order of this server is waiting on IB's question ${replyId}.`, {
    hint: "IB's questions expire when another order is sent or the server restarts; check get_live_orders and place the order again if it is not there.",
  });
}

/** A live order this server did not place, as a journal record. */
function orderOf(o: LiveOrder): OrderRequest {
  const out: OrderRequest = {
    accountId: o.accountId,
    conid: o.conid,
    secType: o.secType ?? 'STK',
    symbol: o.symbol,
    side: o.side,
    // IB's own type, even one we cannot send: the record is never read back to fill in a
    // modification of a foreign order.
    orderType: o.orderType as OrderType,
    // Unknown when IB sent none: recorded as such (NaN is written as null), never as 0.
    quantity: o.quantity ?? Number.NaN,
    tif: (o.tif ?? 'DAY') as TimeInForce,
    outsideRth: false,
    clientOrderId: o.clientOrderId ?? '',
  };
  if (o.limitPrice !== undefined) out.limitPrice = o.limitPrice;
  if (o.stopPrice !== undefined) out.stopPrice = o.stopPrice;
  return out;
}

/**
 * What IB did with a bracket's children: for the journal (ids) and for the answer, which says
 * loudly when a child is missing or refused (the entry then works without that protection).
 */
function bracketNote(o: OrderRequest, children: PlacedOrder[]): { journal: string; text: string } {
  const roles = [o.takeProfit !== undefined && 'take-profit', o.stopLoss !== undefined && 'stop-loss'].filter(
    (r): r is string => typeof r === 'string',
  );
  const parts = roles.map((role, i) => {
    const c = children[i];
    return c ? `${role} ${c.state === 'rejected' ? 'REFUSED' : c.orderId} (${c.status})` : `${role} not reported`;
  });
  const bad = roles.filter((_, i) => !children[i] || children[i]!.state === 'rejected');
  return {
    journal: `bracket: ${parts.join(', ')}`,
    text:
      `Bracket children: ${parts.map((x) => ident(x)).join(', ')}; they work once the entry fills, and one cancels the other.` +
      (bad.length
        ? ` WARNING: IB did not confirm the ${bad.join(' and ')}; the entry may work without it. Check get_live_orders and place the missing protection, or cancel the entry.`
        : ''),
  };
}

/** Whether IB's order as it now stands carries the requested quantity and prices. */
function changeShows(want: OrderRequest, live: LiveOrder): boolean {
  const same = (a: number | undefined, b: number | undefined) => a === undefined || a === b;
  return (
    live.quantity === want.quantity && same(want.limitPrice, live.limitPrice) && same(want.stopPrice, live.stopPrice)
  );
}
