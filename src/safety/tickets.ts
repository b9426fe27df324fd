/**
 * Order tickets: the strongest approval (MCP Apps). An order the model asked for is prepared
 * (checks, IB's what-if) and held as a ticket; the client's ticket app shows it to the human,
 * who may change quantity and limit price (the what-if runs again) and presses Place. The model
 * cannot: the ticket's actions take a per-ticket secret that only an app-only tool hands out
 * (`open`), never a model-visible result, and each ticket sends at most one order (a second Place,
 * a double click or a reloaded ticket gets the first answer).
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { CallOptions } from '../broker/backend.js';
import { BrokerError } from '../broker/errors.js';
import type { OrderContext } from './context.js';
import type { OrderDraft, OrderOutcome, Prepared } from './outcome.js';
import type { Preparer } from './prepare.js';
import type { Sender } from './send.js';

export const TICKET_TTL_MS = 10 * 60_000;
const MAX_TICKETS = 100;
const TICKET_ID_RE = /^tk-[A-Za-z0-9_-]{16}$/;

/** open: waiting for the human. question: IB asked something after Place. done: sent (see result). */
export type TicketStatus = 'open' | 'question' | 'done' | 'cancelled' | 'expired';

export interface TicketView {
  id: string;
  status: TicketStatus;
  expiresAt: string;
  prepared: Prepared;
  /** The answer to Place (or to IB's question). */
  result?: OrderOutcome;
  /** Why the last action did nothing (e.g. a limit refused the new quantity). */
  problem?: string;
}

interface Ticket {
  id: string;
  /** A new order's draft (quantity and price can change); none for a modification. */
  draft: OrderDraft | undefined;
  prepared: Prepared;
  status: TicketStatus;
  expiresAt: number;
  /** sha256 of the current secret; undefined until the app opens the ticket. */
  secretHash?: Buffer;
  result?: OrderOutcome;
  replyId?: string;
  /** The one Place (or reply) in flight: a second click waits for it instead of sending. */
  busy?: Promise<TicketView>;
}

const sha = (s: string) => createHash('sha256').update(s).digest();

export class Tickets {
  private readonly all = new Map<string, Ticket>();

  constructor(
    private readonly ctx: OrderContext,
    private readonly prep: Preparer,
    private readonly sender: Sender,
  ) {}

  /** Holds a prepared order as a ticket; the draft lets the human change quantity and price. */
  create(prepared: Prepared, draft: OrderDraft | undefined): { id: string; expiresAt: number } {
    this.sweep();
    const id = `tk-${randomBytes(12).toString('base64url')}`;
    const expiresAt = this.ctx.now() + TICKET_TTL_MS;
    // The client order id stays with the ticket: a changed quantity is still this one order.
    const fixed =
      draft && prepared.action === 'place' ? { ...draft, clientOrderId: prepared.order.clientOrderId } : undefined;
    this.all.set(id, { id, draft: fixed, prepared, status: 'open', expiresAt });
    return { id, expiresAt };
  }

  /**
   * The app opens the ticket: the view and a new secret (a reloaded app gets a new one and the old
   * one stops working). Only an app-only tool calls this.
   */
  open(id: string): { view: TicketView; secret: string } {
    const t = this.get(id);
    const secret = randomBytes(32).toString('base64url');
    if (t.status === 'open' || t.status === 'question') t.secretHash = sha(secret);
    return { view: this.view(t), secret };
  }

  /** The human changed quantity or limit price: the checks and IB's what-if run again. */
  async update(
    id: string,
    secret: string,
    change: { quantity?: number | undefined; limitPrice?: number | undefined },
    opts: CallOptions = {},
  ): Promise<TicketView> {
    const t = this.authorised(id, secret);
    if (t.status !== 'open') return this.view(t, 'The ticket can no longer be changed.');
    if (!t.draft) return this.view(t, 'A modification is shown as asked; cancel it and ask for another.');
    const draft: OrderDraft = { ...t.draft };
    if (change.quantity !== undefined) draft.quantity = change.quantity;
    if (change.limitPrice !== undefined) {
      if (draft.orderType === 'MKT') return this.view(t, 'A market order has no limit price.');
      draft.limitPrice = change.limitPrice;
    }
    try {
      t.prepared = await this.prep.prepare(draft, opts);
      t.draft = draft;
      return this.view(t);
    } catch (err) {
      if (err instanceof BrokerError && (err.code === 'REFUSED' || err.code === 'INVALID_INPUT')) {
        return this.view(t, `Not changed: ${err.message}`);
      }
      throw err;
    }
  }

  /** Place (or, after IB's question, "yes"): sends at most once per ticket. */
  async place(id: string, secret: string, opts: CallOptions = {}): Promise<TicketView> {
    const t = this.authorised(id, secret);
    if (t.busy) return t.busy;
    if (t.status !== 'open' && t.status !== 'question') return this.view(t);
    const run = async (): Promise<TicketView> => {
      try {
        const r =
          t.status === 'question' && t.replyId
            ? await this.sender.answerReply(t.replyId, true, opts, 'ticket')
            : await this.sender.send(t.prepared, opts, 'ticket');
        this.settle(t, r);
        return this.view(t);
      } catch (err) {
        // Refused before anything was sent (kill switch, limits): the ticket is used up all the same.
        t.status = 'done';
        t.result = undefined;
        return this.view(t, err instanceof Error ? err.message : String(err));
      } finally {
        t.busy = undefined;
      }
    };
    t.busy = run();
    return t.busy;
  }

  /** Cancel: nothing is sent (after IB's question, IB is told "no"). */
  async cancel(id: string, secret: string, opts: CallOptions = {}): Promise<TicketView> {
    const t = this.authorised(id, secret);
    if (t.busy) return t.busy;
    if (t.status === 'question' && t.replyId) {
      const r = await this.sender.answerReply(t.replyId, false, opts);
      t.result = r;
    }
    if (t.status === 'open' || t.status === 'question') t.status = 'cancelled';
    return this.view(t);
  }

  private settle(t: Ticket, r: OrderOutcome): void {
    t.result = r;
    if (r.status === 'needs_reply' && r.question) {
      t.status = 'question';
      t.replyId = r.question.replyId;
    } else {
      t.status = 'done';
      t.replyId = undefined;
    }
  }

  private get(id: string): Ticket {
    const t = TICKET_ID_RE.test(id) ? this.all.get(id) : undefined;
    if (!t) {
      throw new BrokerError(
        'NOT_FOUND',
        'No such order ticket (it expired, or the server restarted); nothing was sent.',
        {
          hint: 'Ask for the order again to get a new ticket.',
        },
      );
    }
    if (t.status === 'open' && this.ctx.now() > t.expiresAt) t.status = 'expired';
    return t;
  }

  private authorised(id: string, secret: string): Ticket {
    const t = this.get(id);
    const given = sha(secret);
    if (!t.secretHash || !timingSafeEqual(given, t.secretHash)) {
      throw new BrokerError('REFUSED', 'Only the order ticket shown to the user can do this; nothing was sent.', {
        hint: 'The user places or cancels the order in the ticket.',
      });
    }
    return t;
  }

  private view(t: Ticket, problem?: string): TicketView {
    const v: TicketView = {
      id: t.id,
      status: t.status,
      expiresAt: new Date(t.expiresAt).toISOString(),
      prepared: t.prepared,
    };
    if (t.result) v.result = t.result;
    if (problem) v.problem = problem;
    return v;
  }

  private sweep(): void {
    const now = this.ctx.now();
    for (const [id, t] of this.all) if (now > t.expiresAt + TICKET_TTL_MS && !t.busy) this.all.delete(id);
    while (this.all.size >= MAX_TICKETS) {
      const oldest = this.all.keys().next().value;
      if (oldest === undefined) break;
      this.all.delete(oldest);
    }
  }
}
