/**
 * The order journal: `<home>/journal.jsonl`, append-only JSON lines, one line per event.
 * An order attempt is written and fsync'd *before* its request is sent, with its client order
 * id; IB's answer is appended afterwards. The current state of an order is the fold of its
 * lines. A client order id that has a line is never sent again. Several server processes
 * may share one home: each re-reads what others appended before deciding anything, and the
 * check and the append of an attempt happen under a lock file (`journal.jsonl.lock`), so two
 * processes racing one client order id cannot both pass the check.
 *
 * Modifications and cancels are journaled before they are sent too, also for orders this
 * server did not place (TWS, another tool): such an order gets an entry marked `foreign`,
 * keyed by its own client order id or `ib-<order id>`, which never counts as an order sent.
 */
import {
  closeSync,
  existsSync,
  fstatSync,
  fsyncSync,
  openSync,
  readFileSync,
  readSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { BrokerError } from '../broker/errors.js';
import type { OrderRequest, OrderState } from '../broker/orders.js';
import type { Approval } from './outcome.js';

export const JOURNAL_FILE = 'journal.jsonl';

export const TRADING_MODES = ['SIMULATED', 'PAPER', 'LIVE'] as const;
export type TradingMode = (typeof TRADING_MODES)[number];

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
  /** Where the order stands at the broker (with state placed). */
  orderState?: OrderState;
  /** The broker's status text, for display. */
  ibStatus?: string;
  replyId?: string;
  message?: string;
  /** Modifications sent for this order, in order. */
  modifications?: Array<{ at: number; changes: Record<string, unknown>; result?: string }>;
  /** Cancel requests sent for this order (epoch ms). */
  cancels?: number[];
  /** Not placed by this server: recorded because it was modified or cancelled through it. */
  foreign?: true;
  /** How the human approved the order (or its last modification) before it was sent. */
  approval?: Approval;
  /** An order of a one-cancels-all group: the client order id of the group's first order. */
  group?: string;
}

export interface JournalLine {
  t: number;
  cOID: string;
  ev: 'attempt' | 'update' | 'modify' | 'cancel';
  accountId?: string;
  mode?: TradingMode;
  order?: OrderRequest;
  state?: JournalState;
  orderId?: string;
  orderState?: OrderState;
  ibStatus?: string;
  replyId?: string;
  message?: string;
  changes?: Record<string, unknown>;
  result?: string;
  foreign?: true;
  /** attempt / modify / cancel: the approval it was sent with. */
  approval?: Approval;
  /** attempt: the order belongs to this one-cancels-all group (its first order's client order id). */
  group?: string;
}

export const FINAL_JOURNAL_STATES: ReadonlySet<JournalState> = new Set(['rejected', 'declined', 'not_found']);

/** True when nothing about this order can change any more. */
export function isFinalEntry(e: JournalEntry): boolean {
  if (FINAL_JOURNAL_STATES.has(e.state)) return true;
  return e.state === 'placed' && e.orderState !== undefined && e.orderState !== 'working';
}

export type JournalPatch = Partial<
  Pick<JournalLine, 'state' | 'orderId' | 'orderState' | 'ibStatus' | 'replyId' | 'message'>
>;

export interface JournalOptions {
  now?: () => number;
  file?: string;
  /** How long to wait for another process's lock before refusing (default 5 s). */
  lockTimeoutMs?: number;
  /** A lock older than this is taken as left behind by a crash (default 30 s). */
  staleLockMs?: number;
  /** Tests: runs between the duplicate check and the append of an attempt. */
  beforeAppend?: () => void;
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));
function sleepSync(ms: number): void {
  Atomics.wait(sleeper, 0, 0, ms);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export class Journal {
  readonly path: string;
  private readonly entries = new Map<string, JournalEntry>();
  private readonly byOrder = new Map<string, string>();
  private offset = 0;
  private partial = '';
  private fd: number | undefined;
  private readonly now: () => number;
  private readonly opts: JournalOptions;
  /** Lines that could not be parsed (a torn last write, hand edits). */
  skipped = 0;

  constructor(home: string, opts: JournalOptions = {}) {
    this.path = join(home, opts.file ?? JOURNAL_FILE);
    this.now = opts.now ?? Date.now;
    this.opts = opts;
    this.refresh();
  }

  /**
   * Runs `fn` holding the journal's lock file (created exclusively; holds the owner's pid). A
   * lock whose owner is gone, or older than staleLockMs, is taken over. Waiting longer than
   * lockTimeoutMs refuses: nothing is sent without the check.
   */
  private locked<T>(fn: () => T): T {
    const lockPath = `${this.path}.lock`;
    const deadline = Date.now() + (this.opts.lockTimeoutMs ?? 5000);
    let fd: number | undefined;
    for (;;) {
      try {
        fd = openSync(lockPath, 'wx', 0o600);
        writeSync(fd, String(process.pid));
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
          throw new BrokerError('REFUSED', `The order journal lock ${lockPath} could not be taken; nothing was sent.`, {
            hint: 'Check the permissions of the state directory, then retry.',
            cause: err,
          });
        }
      }
      let owner = 0;
      let age = 0;
      try {
        owner = Number(readFileSync(lockPath, 'utf8')) || 0;
        age = Date.now() - statSync(lockPath).mtimeMs;
      } catch {
        continue; // Released meanwhile.
      }
      const ownerGone = owner > 0 && owner !== process.pid && !alive(owner);
      if (ownerGone || age > (this.opts.staleLockMs ?? 30_000)) {
        try {
          unlinkSync(lockPath);
        } catch {
          // Another process took it over first.
        }
        continue;
      }
      if (Date.now() > deadline) {
        throw new BrokerError(
          'REFUSED',
          `The order journal is locked by another process (pid ${owner || 'unknown'}); nothing was sent.`,
          { hint: 'Retry in a moment; if no other ibkr-mcp is running, remove the stale lock file.' },
        );
      }
      sleepSync(5);
    }
    try {
      return fn();
    } finally {
      closeSync(fd);
      try {
        unlinkSync(lockPath);
      } catch {
        // Gone already.
      }
    }
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
      if (l.foreign) e.foreign = true;
      if (l.approval) e.approval = l.approval;
      if (l.group) e.group = l.group;
      this.entries.set(l.cOID, e);
      if (l.orderId) {
        e.orderId = l.orderId;
        this.byOrder.set(l.orderId, l.cOID);
      }
      if (l.ibStatus) e.ibStatus = l.ibStatus;
      if (l.orderState) e.orderState = l.orderState;
      return;
    }
    if (!e) return;
    e.updatedAt = l.t;
    if (l.ev === 'cancel') {
      e.cancels ??= [];
      e.cancels.push(l.t);
    }
    if (l.ev === 'modify') {
      e.modifications ??= [];
      e.modifications.push({
        at: l.t,
        changes: l.changes ?? {},
        ...(l.result ? { result: l.result } : {}),
      });
      if (l.order) e.order = l.order;
      if (l.approval) e.approval = l.approval;
    }
    if (l.state) e.state = l.state;
    if (l.orderId) {
      e.orderId = l.orderId;
      this.byOrder.set(l.orderId, l.cOID);
    }
    if (l.ibStatus) e.ibStatus = l.ibStatus;
    if (l.orderState) e.orderState = l.orderState;
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
  begin(order: OrderRequest, mode: TradingMode, approval?: Approval): JournalEntry {
    return this.beginGroup([order], mode, approval)[0]!;
  }

  /**
   * Records the orders of a one-cancels-all group before their one request is sent: every
   * client order id is checked first, under one lock, then one attempt line per order (each
   * marked with the group; a single order is a group of one, unmarked). Throws, writing
   * nothing, if any of them was ever used.
   */
  beginGroup(orders: OrderRequest[], mode: TradingMode, approval?: Approval): JournalEntry[] {
    return this.locked(() => {
      this.refresh();
      const used = orders.filter((o) => this.entries.has(o.clientOrderId));
      if (used.length) {
        throw new BrokerError(
          'REFUSED',
          `Client order id ${used.map((o) => o.clientOrderId).join(', ')} was already used; nothing was sent.`,
          { details: { clientOrderId: used[0]!.clientOrderId, duplicate: true } },
        );
      }
      this.opts.beforeAppend?.();
      const group = orders.length > 1 ? orders[0]!.clientOrderId : undefined;
      return orders.map((order) => {
        const line: JournalLine = {
          t: this.now(),
          cOID: order.clientOrderId,
          ev: 'attempt',
          accountId: order.accountId,
          mode,
          order,
          state: 'sending',
        };
        if (group) line.group = group;
        if (approval) line.approval = approval;
        this.writeAndApply(line);
        return this.entries.get(order.clientOrderId)!;
      });
    });
  }

  /**
   * The entry of an order this server did not place, created on first use (before a
   * modification or cancel of it is sent). Keyed by the order's own client order id when it
   * has one that is not ours, else `ib-<orderId>`. Never counts as an order sent.
   */
  adopt(
    order: OrderRequest,
    orderId: string,
    mode: TradingMode,
    at?: { orderState: OrderState; ibStatus: string },
  ): JournalEntry {
    return this.locked(() => {
      this.refresh();
      const mine = this.byOrderId(orderId);
      if (mine) return mine;
      const cOID =
        order.clientOrderId && !this.entries.has(order.clientOrderId) ? order.clientOrderId : `ib-${orderId}`;
      const existing = this.entries.get(cOID);
      if (existing) return existing;
      const line: JournalLine = {
        t: this.now(),
        cOID,
        ev: 'attempt',
        accountId: order.accountId,
        mode,
        order: { ...order, clientOrderId: cOID },
        state: 'placed',
        orderId,
        foreign: true,
      };
      if (at) {
        line.orderState = at.orderState;
        line.ibStatus = at.ibStatus;
      }
      this.writeAndApply(line);
      return this.entries.get(cOID)!;
    });
  }

  /** Records a cancel request before it is sent. */
  cancel(clientOrderId: string): void {
    this.refresh();
    if (!this.entries.has(clientOrderId)) return;
    this.writeAndApply({ t: this.now(), cOID: clientOrderId, ev: 'cancel', message: 'cancel requested' });
  }

  /** Records a request that names no single order (cancel all) before it is sent. */
  note(accountId: string, ev: 'cancel', message: string, approval?: Approval): void {
    this.writeAndApply({ t: this.now(), cOID: '*', ev, accountId, message, ...(approval ? { approval } : {}) });
  }

  update(clientOrderId: string, patch: JournalPatch): JournalEntry | undefined {
    this.refresh();
    if (!this.entries.has(clientOrderId)) return undefined;
    const line: JournalLine = { t: this.now(), cOID: clientOrderId, ev: 'update', ...clean(patch) };
    this.writeAndApply(line);
    return this.entries.get(clientOrderId);
  }

  /** Records a modification before it is sent (`result` appended later with update). */
  modify(
    clientOrderId: string,
    changes: Record<string, unknown>,
    order: OrderRequest,
    result?: string,
    approval?: Approval,
  ): void {
    this.refresh();
    if (!this.entries.has(clientOrderId)) return;
    const line: JournalLine = { t: this.now(), cOID: clientOrderId, ev: 'modify', changes, order };
    if (result) line.result = result;
    if (approval) line.approval = approval;
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

  /**
   * Attempts (each sent, or possibly sent) since `sinceMs`: the orders-per-day count, per
   * account and mode (simulator orders never spend a paper or live account's quota).
   */
  attemptsSince(sinceMs: number, scope?: { accountId: string; mode: TradingMode }): number {
    return this.all().filter(
      (e) =>
        e.createdAt >= sinceMs &&
        e.state !== 'declined' &&
        !e.foreign &&
        (!scope || (e.accountId === scope.accountId && e.mode === scope.mode)),
    ).length;
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
