/**
 * Request pacing for one Client Portal gateway. IB puts an IP in a penalty box for
 * 10-15 minutes after a 429, so the client must never exceed the published limits:
 *  - a global limit (10 req/s on the gateway, counted from each answer, with a 25 ms margin),
 *  - per-endpoint minimum intervals (docs/ib/pacing.md, §8),
 *  - a concurrency cap on /iserver/marketdata/history.
 *
 * One Pacer is shared by everything that talks to the same gateway. No timer runs while
 * nobody waits, so an idle pacer never holds the process open. The global budget is shared
 * fairly between callers (owners): each free slot goes to the waiting owner served least
 * recently, and one owner's waiters go first in, first out. A tool call that queued a
 * thousand contract searches therefore cannot hold a later call's quote behind all of them:
 * the quote takes one of the next free slots. A waiter whose endpoint is still in its minimum
 * interval does not block waiters for other endpoints behind it.
 */

import { readFileSync, writeFileSync } from 'node:fs';
import { BrokerError } from '../../broker/errors.js';

export interface EndpointRule {
  /** Minimum time between two requests to this endpoint. */
  minIntervalMs?: number;
  /** At most this many requests to this endpoint in flight at once. */
  maxConcurrent?: number;
}

export interface PacerOptions {
  /** Requests allowed per window by the gateway (default 10). */
  maxPerWindow?: number;
  /** Window length in ms (default 1000). */
  windowMs?: number;
  /**
   * Requests of the gateway's budget left to other clients of the same gateway (IB's web portal, a
   * second tool): IB counts every client's requests against one limit, and a 429 can earn a
   * 15-minute penalty box. Default 2 (we use 8 of the 10 per second).
   */
  headroom?: number;
  /**
   * Extra ms added to the window (default 25). Counting from the answer is already safe by the
   * request's trip and IB's own handling time; this covers timer rounding on either side.
   */
  marginMs?: number;
  /** Added to every per-endpoint minimum interval (default 200 ms), so a paced repeat never arrives early. */
  intervalMarginMs?: number;
  /** Per-endpoint rules keyed by path (no query), replacing the defaults when given. */
  endpoints?: Record<string, EndpointRule>;
  /** Clock, for tests. */
  now?: () => number;
  /**
   * When the paced endpoints were last answered, kept across runs of the process: a restart must
   * not repeat, within IB's interval, the call the previous run just made (IB answers 429 and may
   * start its penalty box). See filePacingMemory.
   */
  memory?: PacingMemory;
}

/** Last answer times (the pacer's clock, epoch ms) of endpoints with a minimum interval. */
export interface PacingMemory {
  load(): Record<string, number>;
  save(key: string, at: number): void;
}

/**
 * A PacingMemory in a small JSON file (the state directory's pacing.json), per gateway. Failures
 * to read or write cost nothing but the memory.
 */
export function filePacingMemory(file: string, gateway: string): PacingMemory {
  const read = (): Record<string, Record<string, number>> => {
    try {
      const v = JSON.parse(readFileSync(file, 'utf8')) as unknown;
      return typeof v === 'object' && v !== null && !Array.isArray(v)
        ? (v as Record<string, Record<string, number>>)
        : {};
    } catch {
      return {};
    }
  };
  return {
    load: () => {
      const mine = read()[gateway];
      return typeof mine === 'object' && mine !== null ? mine : {};
    },
    save: (key, at) => {
      const all: Record<string, Record<string, number>> = {};
      // Keep the last hour only (no interval of IB's is longer than 15 minutes).
      for (const [g, times] of Object.entries(read())) {
        const kept = Object.entries(typeof times === 'object' && times !== null ? times : {}).filter(
          ([, t]) => typeof t === 'number' && t > at - 3_600_000,
        );
        if (kept.length) all[g] = Object.fromEntries(kept);
      }
      all[gateway] = { ...(all[gateway] ?? {}), [key]: at };
      try {
        writeFileSync(file, JSON.stringify(all), { mode: 0o600 });
      } catch {
        // A read-only state directory: pacing still holds within this run.
      }
    },
  };
}

/** Requests per window left for other clients of the gateway (docs/ib/pacing.md). */
export const DEFAULT_HEADROOM = 2;

/**
 * 429s in a row (no other answer between them) within BACKOFF_MEMORY_MS after which we stop
 * sending for STOP_MS: the gateway keeps refusing, IB is close to its penalty box.
 */
const STOP_AFTER_429S = 3;
const BACKOFF_MEMORY_MS = 60_000;
const STOP_MS = 60_000;

/** IB's published per-endpoint limits (docs/ib/pacing.md, §8). Keys are paths below /v1/api. */
export const DEFAULT_ENDPOINT_RULES: Readonly<Record<string, EndpointRule>> = Object.freeze({
  '/iserver/account/orders': { minIntervalMs: 5000 },
  '/iserver/account/pnl/partitioned': { minIntervalMs: 5000 },
  '/iserver/account/trades': { minIntervalMs: 5000 },
  '/portfolio/accounts': { minIntervalMs: 5000 },
  '/portfolio/subaccounts': { minIntervalMs: 5000 },
  '/tickle': { minIntervalMs: 1000 },
  '/sso/validate': { minIntervalMs: 60_000 },
  '/iserver/scanner/run': { minIntervalMs: 1000 },
  '/iserver/scanner/params': { minIntervalMs: 15 * 60_000 },
  '/iserver/marketdata/history': { maxConcurrent: 4 },
});

/** Call once the request has completed (needed for concurrency-capped endpoints). Idempotent. */
export type Release = () => void;

interface Waiter {
  key: string;
  rule: EndpointRule | undefined;
  resolve: (release: Release) => void;
  reject: (err: unknown) => void;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
  /**
   * Background work (warm-ups, priming): runs only in a quiet window, never ahead of a tool call.
   * Asked each time the waiter is considered: a tool call that comes to share it promotes it.
   */
  background: () => boolean;
  /** Who is waiting (one tool call), for fair sharing of the budget between callers. */
  owner: object;
}

export interface AcquireOptions {
  /**
   * Background work (warm-up): paced behind tool calls, only in a quiet window. A function is asked
   * each time the request is considered (false once a tool call waits for its answer; then call
   * `promoted()`).
   */
  background?: boolean | (() => boolean);
  /**
   * The caller the request belongs to, for fairness: slots rotate between owners. Defaults to
   * the abort signal (one per tool call); requests with neither share one anonymous owner.
   */
  owner?: object;
}

/** The owner of requests that name none and carry no signal. */
const ANONYMOUS: object = Object.freeze({});

/** Slots of the window a background request leaves free for tool calls. */
const BACKGROUND_RESERVE = 7;

interface EndpointState {
  lastAt: number;
  inFlight: number;
}

export class Pacer {
  private readonly limit: number;
  private readonly window: number;
  private readonly intervalMargin: number;
  private readonly rules: Record<string, EndpointRule>;
  private readonly now: () => number;
  /** Grant times inside the current window, oldest first. */
  /**
   * One slot per request in the window. A slot's time is +Infinity while the request is in flight
   * and its completion time afterwards: IB counts a request when it arrives, which is somewhere
   * between our send and the answer. Counting from the grant under-counted when sends were
   * delayed (a new TLS connection under load) and bunched up at the gateway: 11 in 947 ms.
   */
  private grants: Array<{ at: number }> = [];
  private readonly queue: Waiter[] = [];
  /** When each owner was last granted a slot (a grant counter): the least recent goes next. */
  private readonly servedAt = new WeakMap<object, number>();
  private grantCount = 0;
  private readonly state = new Map<string, EndpointState>();
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Number.POSITIVE_INFINITY;
  private pausedUntil = 0;
  /** Times of recent 429s (within BACKOFF_MEMORY_MS), oldest first. */
  private rejections: number[] = [];
  /** Until then the budget is halved (after a 429). */
  private slowUntil = 0;
  /** Until then nothing is sent: the gateway kept answering 429. */
  private stoppedUntil = 0;
  private closed = false;
  private readonly memory: PacingMemory | undefined;

  constructor(opts: PacerOptions = {}) {
    const max = opts.maxPerWindow ?? 10;
    const headroom = opts.headroom ?? DEFAULT_HEADROOM;
    this.limit = Math.max(1, max - Math.max(0, headroom));
    this.window = (opts.windowMs ?? 1000) + Math.max(0, opts.marginMs ?? 25);
    this.intervalMargin = Math.max(0, opts.intervalMarginMs ?? 200);
    this.rules = { ...(opts.endpoints ?? DEFAULT_ENDPOINT_RULES) };
    this.now = opts.now ?? Date.now;
    this.memory = opts.memory;
    const now = this.now();
    for (const [key, at] of Object.entries(this.memory?.load() ?? {})) {
      const interval = this.rules[key]?.minIntervalMs;
      // Only times that still matter (a clock that went back is not trusted beyond one interval).
      if (interval !== undefined && typeof at === 'number' && at > now - interval && at <= now + interval) {
        this.endpoint(key).lastAt = at;
      }
    }
  }

  /** How long until `path`'s minimum interval has passed (0: it may go now, as far as that rule goes). */
  readyInMs(path: string): number {
    const key = Pacer.keyFor(path);
    const interval = this.rules[key]?.minIntervalMs;
    if (interval === undefined) return 0;
    return Math.max(0, this.endpoint(key).lastAt + interval + this.intervalMargin - this.now());
  }

  /** A waiting background request became a tool call's: it may go now (see AcquireOptions). */
  promoted(): void {
    this.pump();
  }

  /** Requests the pacer lets through per window (after headroom). */
  get effectiveLimit(): { requests: number; windowMs: number } {
    return { requests: this.limit, windowMs: this.window };
  }

  /** Number of callers waiting for a slot. */
  get pending(): number {
    return this.queue.length;
  }

  /** Normalises a path (drops the query and the /v1/api prefix) to the key rules use. */
  static keyFor(path: string): string {
    let p = path;
    const q = p.indexOf('?');
    if (q >= 0) p = p.slice(0, q);
    if (p.startsWith('/v1/api/')) p = p.slice('/v1/api'.length);
    if (p.length > 1 && p.endsWith('/')) p = p.slice(0, -1);
    return p;
  }

  /**
   * Waits for a slot for a request to `path`. Resolves with a release function the caller
   * must call when the request completes. Rejects with BrokerError CANCELLED on abort.
   */
  acquire(path: string, signal?: AbortSignal, opts: AcquireOptions = {}): Promise<Release> {
    if (this.closed) return Promise.reject(new BrokerError('CANCELLED', 'The connection to the gateway was closed.'));
    if (signal?.aborted) return Promise.reject(cancelled(signal));
    const stopped = this.stoppedError();
    if (stopped) return Promise.reject(stopped);
    const key = Pacer.keyFor(path);
    return new Promise<Release>((resolve, reject) => {
      const waiter: Waiter = {
        key,
        rule: this.rules[key],
        resolve,
        reject,
        signal,
        onAbort: undefined,
        background: typeof opts.background === 'function' ? opts.background : () => opts.background === true,
        owner: opts.owner ?? signal ?? ANONYMOUS,
      };
      if (signal) {
        waiter.onAbort = () => {
          const i = this.queue.indexOf(waiter);
          if (i >= 0) this.queue.splice(i, 1);
          reject(cancelled(signal));
          this.pump();
        };
        signal.addEventListener('abort', waiter.onAbort, { once: true });
      }
      this.queue.push(waiter);
      this.pump();
    });
  }

  /**
   * The gateway answered 429. Holds every request back for the time it asks (at least 1 s, doubling
   * with each 429 of the last minute), halves the budget for a minute, and after STOP_AFTER_429S
   * 429s in a minute stops sending for STOP_MS (waiting requests then fail with RATE_LIMITED): IB
   * puts an IP that keeps exceeding its limits in a penalty box for 10-15 minutes.
   */
  rejected(retryAfterMs?: number): void {
    const now = this.now();
    this.rejections = this.rejections.filter((t) => t > now - BACKOFF_MEMORY_MS);
    this.rejections.push(now);
    const n = this.rejections.length;
    this.slowUntil = now + BACKOFF_MEMORY_MS;
    if (n >= STOP_AFTER_429S) {
      this.stoppedUntil = now + Math.max(STOP_MS, retryAfterMs ?? 0);
      this.pause(this.stoppedUntil - now);
      this.rejectStopped();
      return;
    }
    this.pause(Math.min(Math.max(retryAfterMs ?? 0, 1000 * 2 ** (n - 1)), 60_000));
  }

  /**
   * The gateway answered something other than 429: it accepts us again. The stop counts 429s in a
   * row; a gateway that answers in between is not refusing us (IB counts violations, and the
   * halved budget and the pause after each 429 stay in force for their minute).
   */
  accepted(): void {
    if (this.rejections.length) this.rejections = [];
  }

  /** When the pacer stopped sending after repeated 429s: until when (ms since epoch), else undefined. */
  get stoppedUntilMs(): number | undefined {
    return this.now() < this.stoppedUntil ? this.stoppedUntil : undefined;
  }

  private stoppedError(): BrokerError | undefined {
    const until = this.stoppedUntilMs;
    if (until === undefined) return undefined;
    const s = Math.ceil((until - this.now()) / 1000);
    return new BrokerError(
      'RATE_LIMITED',
      `The gateway answered "too many requests" (429) ${this.rejections.length} times in a row: ibkr-mcp stopped sending to it for ${s} s.`,
      {
        hint: "Another client of the same gateway (IB's web portal, another tool) may be using IB's request budget. IB blocks an IP that keeps exceeding it for 10-15 minutes; retry after the pause, with fewer requests.",
        details: { retryAfterMs: until - this.now() },
        retryable: true,
      },
    );
  }

  /** Fails every waiting request with the stop's error. */
  private rejectStopped(): void {
    const err = this.stoppedError();
    if (!err) return;
    for (const w of this.queue.splice(0)) {
      if (w.signal && w.onAbort) w.signal.removeEventListener('abort', w.onAbort);
      w.reject(err);
    }
    this.pump();
  }

  /** Holds every request back for `ms` (after a 429 the gateway wants us to stop). */
  pause(ms: number): void {
    if (!(ms > 0)) return;
    this.pausedUntil = Math.max(this.pausedUntil, this.now() + ms);
    this.pump();
  }

  /** Re-evaluates the queue now (for an injected clock that jumped). */
  tick(): void {
    this.pump();
  }

  /** Rejects all waiters and clears timers. */
  close(): void {
    this.closed = true;
    this.clearTimer();
    const waiting = this.queue.splice(0);
    for (const w of waiting) {
      if (w.signal && w.onAbort) w.signal.removeEventListener('abort', w.onAbort);
      w.reject(new BrokerError('CANCELLED', 'The connection to the gateway was closed.'));
    }
  }

  private endpoint(key: string): EndpointState {
    let s = this.state.get(key);
    if (!s) {
      s = { lastAt: Number.NEGATIVE_INFINITY, inFlight: 0 };
      this.state.set(key, s);
    }
    return s;
  }

  private pump(): void {
    if (this.closed) return;
    const now = this.now();
    // Drop grants that left the window.
    if (this.grants.some((g) => g.at <= now - this.window)) {
      this.grants = this.grants.filter((g) => g.at > now - this.window);
    }

    let wakeAt = Number.POSITIVE_INFINITY;
    if (now < this.pausedUntil) {
      wakeAt = this.pausedUntil;
    } else {
      const limit = now < this.slowUntil ? Math.max(1, Math.floor(this.limit / 2)) : this.limit;
      while (this.queue.length > 0) {
        if (this.grants.length >= limit) {
          // The oldest completed slot frees first; in-flight ones free on release (which pumps).
          wakeAt = Math.min(wakeAt, this.oldestGrant() + this.window);
          break;
        }
        const next = this.pick(now);
        wakeAt = Math.min(wakeAt, next.wakeAt);
        if (next.index < 0) break;
        const [w] = this.queue.splice(next.index, 1);
        this.grant(w as Waiter, now);
      }
    }
    this.schedule(this.queue.length > 0 ? wakeAt : Number.POSITIVE_INFINITY, now);
  }

  private oldestGrant(): number {
    let at = Number.POSITIVE_INFINITY;
    for (const g of this.grants) if (g.at < at) at = g.at;
    return at;
  }

  /**
   * The waiter that gets the next free slot: among waiters that may go now, the first one of the
   * owner served least recently (an owner never served first, ties in arrival order). Returns -1
   * when none may go, with the time the earliest of them may.
   */
  private pick(now: number): { index: number; wakeAt: number } {
    let wakeAt = Number.POSITIVE_INFINITY;
    let best = -1;
    let bestServed = Number.POSITIVE_INFINITY;
    const considered = new Set<object>();
    for (let i = 0; i < this.queue.length; i++) {
      const w = this.queue[i] as Waiter;
      // Only an owner's first eligible waiter competes: its later ones keep their order.
      if (considered.has(w.owner)) continue;
      if (this.grants.length >= this.limit - BACKGROUND_RESERVE && w.background()) {
        wakeAt = Math.min(wakeAt, this.oldestGrant() + this.window);
        continue; // foreground callers behind it go first
      }
      const rule = w.rule;
      if (rule) {
        const st = this.endpoint(w.key);
        if (rule.maxConcurrent !== undefined && st.inFlight >= rule.maxConcurrent) continue; // woken by a release
        // The margin absorbs network jitter: IB measures arrival, we measure departure.
        const interval = rule.minIntervalMs === undefined ? undefined : rule.minIntervalMs + this.intervalMargin;
        if (interval !== undefined && now - st.lastAt < interval) {
          wakeAt = Math.min(wakeAt, st.lastAt + interval);
          continue;
        }
      }
      considered.add(w.owner);
      const served = this.servedAt.get(w.owner) ?? Number.NEGATIVE_INFINITY;
      if (served < bestServed) {
        best = i;
        bestServed = served;
        if (served === Number.NEGATIVE_INFINITY) break; // nobody can come before a never-served owner
      }
    }
    return { index: best, wakeAt };
  }

  private grant(w: Waiter, now: number): void {
    if (w.signal && w.onAbort) w.signal.removeEventListener('abort', w.onAbort);
    this.servedAt.set(w.owner, ++this.grantCount);
    const slot = { at: Number.POSITIVE_INFINITY };
    this.grants.push(slot);
    let counted: EndpointState | undefined;
    let paced: EndpointState | undefined;
    if (w.rule) {
      const st = this.endpoint(w.key);
      st.lastAt = now;
      if (w.rule.minIntervalMs !== undefined) paced = st;
      if (w.rule.maxConcurrent !== undefined) {
        st.inFlight++;
        counted = st;
      }
    }
    let done = false;
    const release: Release = () => {
      if (done) return;
      done = true;
      slot.at = this.now();
      if (counted) counted.inFlight--;
      // Per-endpoint intervals also run from the answer, for the same reason as the window.
      if (paced) {
        paced.lastAt = Math.max(paced.lastAt, slot.at);
        this.memory?.save(w.key, paced.lastAt);
      }
      this.pump();
    };
    w.resolve(release);
  }

  private schedule(at: number, now: number): void {
    if (at === Number.POSITIVE_INFINITY) {
      this.clearTimer();
      return;
    }
    if (this.timer && this.timerAt <= at) return;
    this.clearTimer();
    this.timerAt = at;
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        this.timerAt = Number.POSITIVE_INFINITY;
        this.pump();
      },
      Math.max(1, Math.ceil(at - now)),
    );
    // The timer exists only while callers wait, so it stays ref'd: an awaited request is
    // pending work and must keep the process alive. When idle no timer exists.
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = Number.POSITIVE_INFINITY;
  }
}

function cancelled(signal: AbortSignal): BrokerError {
  return new BrokerError('CANCELLED', 'The request was cancelled.', { cause: signal.reason });
}
