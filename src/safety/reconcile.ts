/**
 * The journal against IB: an order whose answer was lost, or that was sent before a restart, is
 * brought up to date from IB's own answers only. An entry is concluded missing (`not_found`)
 * only when a settled live-order list and an executions answer both really came and neither
 * names it; what could not be checked stays unknown and is checked again later.
 */
import type { CallOptions } from '../broker/backend.js';
import { isBrokerError } from '../broker/errors.js';
import { numOrNa } from '../broker/numbers.js';
import { type LiveOrder, ocaMembers, type Trade } from '../broker/orders.js';
import type { Contract } from '../broker/types.js';
import { ident, untrusted } from '../broker/untrusted.js';
import { errorText, type OrderContext } from './context.js';
import { isFinalEntry, type JournalEntry } from './journal.js';
import {
  type GroupMember,
  liveFacts,
  type OrderOutcome,
  type OutcomeStatus,
  outcome,
  statusOfState,
} from './outcome.js';

const RETRY_MS = 30_000;

export interface ReconcileReport {
  checked: number;
  updated: number;
  notFound: number;
  unchecked: number;
}

export class Reconciler {
  private reconciled: Promise<void> | undefined;
  private reconciledOk = false;
  private lastAttempt = 0;

  constructor(private readonly ctx: OrderContext) {}

  /** A client order id that was already used: its order, looked up again, without sending anything. */
  async existing(clientOrderId: string, opts: CallOptions = {}): Promise<OrderOutcome | undefined> {
    const e = this.ctx.journal.get(clientOrderId);
    if (!e) return undefined;
    const live = await this.lookup(e, opts).catch(() => undefined);
    const contract: Contract = { conid: e.order.conid, symbol: e.order.symbol, secType: e.order.secType };
    const status = live ? statusOfState(live.state) : journalStatus(e);
    let message = `Client order id ${clientOrderId} was already used (${new Date(e.createdAt).toISOString()}); nothing new was sent. ${
      live
        ? `It is IB order ${ident(live.orderId)}: ${ident(live.status)}, filled ${numOrNa(live.filled)} of ${numOrNa(live.quantity)}.`
        : `Journal state: ${e.state}${e.message ? ` (${untrusted(e.message)})` : ''}.`
    }`;
    if (status === 'uncertain') {
      message += ` The order MAY have been placed: check get_order_status {"clientOrderId":"${clientOrderId}"} and get_trades before placing anything similar.`;
    }
    if (e.replyId && e.state === 'questions') message += ` IB's question ${ident(e.replyId)} is still open.`;
    const facts = live ? liveFacts(live) : e.orderId ? { orderId: e.orderId } : {};
    // The first order of a one-cancels-all group: the others as the journal has them.
    const members: GroupMember[] | undefined = e.order.ocaSiblings?.length
      ? ocaMembers(e.order).map((o) => {
          const m = o === e.order ? e : this.ctx.journal.get(o.clientOrderId);
          const c: Contract = { conid: o.conid, symbol: o.symbol, secType: o.secType };
          const row: GroupMember = { contract: c, order: o };
          if (m?.orderId) row.orderId = m.orderId;
          if (m?.ibStatus) row.ibStatus = m.ibStatus;
          return row;
        })
      : undefined;
    if (members) message += ` It is the first of an OCA group of ${members.length} orders, sent together.`;
    return outcome({ action: 'place', order: e.order, contract, mode: e.mode }, status, message, {
      ...facts,
      existing: true,
      members,
    });
  }

  /** The live order behind a journal entry, updating the journal. */
  async lookup(e: JournalEntry, opts: CallOptions = {}): Promise<LiveOrder | undefined> {
    let live: LiveOrder | undefined;
    if (e.orderId) {
      live = await this.ctx.api.orderStatus(e.orderId, opts).catch((err: unknown) => {
        if (isBrokerError(err) && err.code === 'NOT_FOUND') return undefined;
        throw err;
      });
    }
    live ??= await this.ctx.api.findOrderByClientId(e.clientOrderId, opts);
    if (live && (live.orderId !== e.orderId || live.status !== e.ibStatus || e.state !== 'placed')) {
      this.ctx.journal.update(e.clientOrderId, {
        state: 'placed',
        orderId: live.orderId,
        orderState: live.state,
        ibStatus: live.status,
      });
    }
    return live;
  }

  /** Brings journal entries without a final state up to date with IB. Safe to call repeatedly. */
  async reconcile(opts: CallOptions = {}): Promise<ReconcileReport> {
    const { journal } = this.ctx;
    const open = journal.nonFinal();
    if (!open.length) {
      this.reconciledOk = true;
      return { checked: 0, updated: 0, notFound: 0, unchecked: 0 };
    }
    const live = await this.ctx.api.liveOrders({ ...opts, force: true, settled: true });
    const byId = new Map(live.map((o) => [o.orderId, o]));
    const byCoid = new Map(live.filter((o) => o.clientOrderId).map((o) => [o.clientOrderId!, o]));
    let trades: Trade[] | undefined;
    let tradesError: string | undefined;
    const report: ReconcileReport = { checked: open.length, updated: 0, notFound: 0, unchecked: 0 };
    for (const e of open) {
      const o = (e.orderId ? byId.get(e.orderId) : undefined) ?? byCoid.get(e.clientOrderId);
      if (o) {
        if (o.status !== e.ibStatus || e.state !== 'placed' || o.orderId !== e.orderId) {
          journal.update(e.clientOrderId, {
            state: 'placed',
            orderId: o.orderId,
            orderState: o.state,
            ibStatus: o.status,
            message: 'reconciled with IB live orders',
          });
          report.updated++;
        }
        continue;
      }
      if (!trades && !tradesError) {
        try {
          trades = await this.ctx.api.trades(7, opts);
        } catch (err) {
          tradesError = errorText(err);
        }
      }
      if (!trades) {
        // A failed executions read is not "no executions": the entry stays unsettled.
        report.unchecked++;
        continue;
      }
      const t = trades.find((x) => x.clientOrderId === e.clientOrderId || (e.orderId && x.orderId === e.orderId));
      if (t) {
        // Executions but no longer among the live orders: it filled.
        journal.update(e.clientOrderId, {
          state: 'placed',
          orderId: t.orderId ?? e.orderId,
          orderState: e.orderState && e.orderState !== 'working' ? e.orderState : 'filled',
          message: 'reconciled with IB executions',
        });
        report.updated++;
        continue;
      }
      if (e.state === 'sending' || e.state === 'unknown' || e.state === 'questions') {
        journal.update(e.clientOrderId, {
          state: 'not_found',
          message:
            e.state === 'questions'
              ? "IB's question was never answered; the order was not placed"
              : 'not among IB live orders or executions at reconciliation',
        });
        report.notFound++;
      }
    }
    if (tradesError) {
      this.ctx.log.warn('order journal: executions unreadable; unsettled entries stay unknown', { err: tradesError });
    }
    this.reconciledOk = report.unchecked === 0;
    return report;
  }

  /** Runs reconciliation once per process (retried at most every 30 s while it fails). */
  ensureReconciled(opts: CallOptions = {}): Promise<void> {
    if (this.reconciledOk) return Promise.resolve();
    if (!this.reconciled && this.ctx.now() - this.lastAttempt > RETRY_MS) {
      this.lastAttempt = this.ctx.now();
      this.reconciled = this.reconcile(opts)
        .then((r) => {
          if (r.checked) this.ctx.log.info('order journal reconciled', { ...r });
        })
        .catch((err: unknown) => {
          this.ctx.log.warn('order journal reconciliation failed; will retry', { err: errorText(err) });
        })
        .finally(() => {
          this.reconciled = undefined;
        });
    }
    return this.reconciled ?? Promise.resolve();
  }
}

function journalStatus(e: JournalEntry): OutcomeStatus {
  switch (e.state) {
    case 'placed':
      return statusOfState(e.orderState ?? 'working');
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
