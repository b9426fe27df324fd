/**
 * The order journal: `<home>/journal.jsonl`, append-only JSON lines, one line per event.
 * An order attempt is written and fsync'd *before* its request is sent, with its client order
 * id; IB's answer is appended afterwards. The current state of an order is the fold of its
 * lines. A client order id that has a line is never sent again. Several server processes
 * may share one home: each re-reads what others appended before deciding anything.
 */
import { closeSync, existsSync, fstatSync, fsyncSync, openSync, readSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { BrokerError } from '../broker/errors.js';
import type { OrderRequest } from '../broker/orders.js';

export const JOURNAL_FILE = 'journal.jsonl';

export type TradingMode = 'SIMULATED' | 'PAPER' | 'LIVE';

/**
 * sending: written, request about to go out (or its answer was never seen).
 * placed: IB accepted it (working or done; see ibStatus). questions: IB asked, waiting for a reply.
 * unknown: the answer was lost and the order could not be found: it may exist.
 * rejected / declined / not_found: final, no order exists.
 */
export type JournalState = 'sending' | 'placed' | 'questions' | 'unknown' | 'rejected' | 'declined' | 'not_found';

export interface JournalEntry {
  clientOrderId: string;
  accountId: string;
  mode: TradingMode;
  order: OrderRequest;
  /** Epoch ms of the first line. */
  createdAt: number;
  updatedAt: number;
  state: JournalState;
  orderId?: string;
  ibStatus?: string;
  replyId?: string;
  message?: string;
  /** Modifications sent for this order, in order. */
  modifications?: Array<{ at: number; changes: Record<string, unknown>; result?: string }>;
}

export interface JournalLine {
  t: number;
  cOID: string;
  ev: 'attempt' | 'update' | 'modify';
  accountId?: string;
  mode?: TradingMode;
  order?: OrderRequest;
  state?: JournalState;
  orderId?: string;
  ibStatus?: string;
  replyId?: string;
  message?: string;
  changes?: Record<string, unknown>;
  result?: string;
}

export const FINAL_JOURNAL_STATES: ReadonlySet<JournalState> = new Set(['rejected', 'declined', 'not_found']);
const FINAL_IB = new Set(['Filled', 'Cancelled', 'Inactive', 'Rejected']);

/** True when nothing about this order can change any more. */
export function isFinalEntry(e: JournalEntry): boolean {
  if (FINAL_JOURNAL_STATES.has(e.state)) return true;
  return e.state === 'placed' && e.ibStatus !== undefined && FINAL_IB.has(e.ibStatus);
}

export type JournalPatch = Partial<Pick<JournalLine, 'state' | 'orderId' | 'ibStatus' | 'replyId' | 'message'>>;

export class Journal {
  readonly path: string;
  private readonly entries = new Map<string, JournalEntry>();
  private readonly byOrder = new Map<string, string>();
  private offset = 0;
  private partial = '';
  private fd: number | undefined;
  private readonly now: () => number;
  /** Lines that could not be parsed (a torn last write, hand edits). */
  skipped = 0;

  constructor(home: string, opts: { now?: () => number; file?: string } = {}) {
    this.path = join(home, opts.file ?? JOURNAL_FILE);
    this.now = opts.now ?? Date.now;
    this.refresh();
  }

  /** Reads whatever was appended since the last read (by this or another process). */
  refresh(): void {
    if (!existsSync(this.path)) return;
    const fd = openSync(this.path, 'r');
    try {
      const size = fstatSync(fd).size;
      if (size < this.offset) {
        // The file was replaced: start over.
        this.entries.clear();
        this.byOrder.clear();
        this.offset = 0;
        this.partial = '';
      }
      if (size === this.offset) return;
      const buf = Buffer.alloc(size - this.offset);
      let read = 0;
      while (read < buf.length) {
        const n = readSync(fd, buf, read, buf.length - read, this.offset + read);
        if (n <= 0) break;
        read += n;
      }
      this.offset += read;
      const text = this.partial + buf.subarray(0, read).toString('utf8');
      const lines = text.split('\n');
      this.partial = lines.pop() ?? '';
      for (const line of lines) this.apply(line);
    } finally {
      closeSync(fd);
    }
  }

  private apply(raw: string): void {
    const line = raw.trim();
    if (!line) return;
    let l: JournalLine;
    try {
      l = JSON.parse(line) as JournalLine;
    } catch {
      this.skipped++;
      return;
    }
    if (!l || typeof l.cOID !== 'string' || typeof l.t !== 'number') {
      this.skipped++;
      return;
    }
    let e = this.entries.get(l.cOID);
    if (l.ev === 'attempt') {
      if (e || !l.order || !l.accountId) return;
      e = {
        clientOrderId: l.cOID,
        accountId: l.accountId,
        mode: l.mode ?? 'LIVE',
        order: l.order,
        createdAt: l.t,
        updatedAt: l.t,
        state: l.state ?? 'sending',
      };
      this.entries.set(l.cOID, e);
      return;
    }
    if (!e) return;
    e.updatedAt = l.t;
    if (l.ev === 'modify') {
      e.modifications ??= [];
      e.modifications.push({
        at: l.t,
        changes: l.changes ?? {},
        ...(l.result ? { result: l.result } : {}),
      });
      if (l.order) e.order = l.order;
    }
    if (l.state) e.state = l.state;
    if (l.orderId) {
      e.orderId = l.orderId;
      this.byOrder.set(l.orderId, l.cOID);
    }
    if (l.ibStatus) e.ibStatus = l.ibStatus;
    if (l.replyId !== undefined) e.replyId = l.replyId || undefined;
    if (l.message !== undefined) e.message = l.message;
  }

  /** Appends one line and forces it to disk before returning. */
  private write(line: JournalLine): void {
    if (this.fd === undefined) this.fd = openSync(this.path, 'a', 0o600);
    const text = `${JSON.stringify(line)}\n`;
    try {
      writeSync(this.fd, text);
      fsyncSync(this.fd);
    } catch (err) {
      throw new BrokerError(
        'REFUSED',
        `The order journal ${this.path} could not be written (${(err as Error).message}); nothing was sent.`,
        { hint: 'Check the disk and the permissions of the state directory, then retry.', cause: err },
      );
    }
  }

  /**
   * Records an attempt before it is sent. Throws if this client order id was ever used:
   * a client order id is sent at most once.
   */
  begin(order: OrderRequest, mode: TradingMode): JournalEntry {
    this.refresh();
    if (this.entries.has(order.clientOrderId)) {
      throw new BrokerError('REFUSED', `Client order id ${order.clientOrderId} was already used; nothing was sent.`, {
        details: { clientOrderId: order.clientOrderId, duplicate: true },
      });
    }
    const line: JournalLine = {
      t: this.now(),
      cOID: order.clientOrderId,
      ev: 'attempt',
      accountId: order.accountId,
      mode,
      order,
      state: 'sending',
    };
    this.writeAndApply(line);
    return this.entries.get(order.clientOrderId)!;
  }

  update(clientOrderId: string, patch: JournalPatch): JournalEntry | undefined {
    this.refresh();
    if (!this.entries.has(clientOrderId)) return undefined;
    const line: JournalLine = { t: this.now(), cOID: clientOrderId, ev: 'update', ...clean(patch) };
    this.writeAndApply(line);
    return this.entries.get(clientOrderId);
  }

  /** Records a modification before it is sent (`result` appended later with update). */
  modify(clientOrderId: string, changes: Record<string, unknown>, order: OrderRequest, result?: string): void {
    this.refresh();
    if (!this.entries.has(clientOrderId)) return;
    const line: JournalLine = { t: this.now(), cOID: clientOrderId, ev: 'modify', changes, order };
    if (result) line.result = result;
    this.writeAndApply(line);
  }

  /** Writes, then reads the file forward: lines other processes appended meanwhile are folded in order. */
  private writeAndApply(line: JournalLine): void {
    this.write(line);
    this.refresh();
  }

  get(clientOrderId: string): JournalEntry | undefined {
    this.refresh();
    return this.entries.get(clientOrderId);
  }

  has(clientOrderId: string): boolean {
    return this.get(clientOrderId) !== undefined;
  }

  byOrderId(orderId: string): JournalEntry | undefined {
    this.refresh();
    const c = this.byOrder.get(orderId);
    return c ? this.entries.get(c) : undefined;
  }

  all(): JournalEntry[] {
    this.refresh();
    return [...this.entries.values()];
  }

  /** Entries whose outcome is not settled: to reconcile with the broker. */
  nonFinal(): JournalEntry[] {
    return this.all().filter((e) => !isFinalEntry(e));
  }

  /** Attempts (each sent, or possibly sent) since `sinceMs`: the orders-per-day count. */
  attemptsSince(sinceMs: number): number {
    return this.all().filter((e) => e.createdAt >= sinceMs && e.state !== 'declined').length;
  }

  close(): void {
    if (this.fd !== undefined) {
      closeSync(this.fd);
      this.fd = undefined;
    }
  }
}

function clean(patch: JournalPatch): JournalPatch {
  const out: JournalPatch = {};
  for (const [k, v] of Object.entries(patch)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}
