/**
 * IB's gateway WebSocket (`/v1/api/ws`, docs/ib/stream.md): connected after each login,
 * subscribed on demand, and merged into state the backend answers from without a request.
 *
 *   smd+C+{"fields":[…]}  partial field updates per conid → one merged row per conid; renewed
 *                         before IB ends the stream (about 15 minutes after the request)
 *   sor+{}                live-order rows → one merged row per order id, answered from only once
 *                         seeded by a REST list read after the subscription (IB's docs: sor
 *                         relays changes; the day's orders come from /iserver/account/orders; a
 *                         reconnect un-seeds it). IB often refuses it ({"error":"unable to
 *                         subscribe","topic":"sor"}): un-seeded, asked again with back-off
 *   spl+{}                P&L per account (refused the same way);  sts  the session's state
 *   system hb / any message  liveness: nothing for `staleMs` → the socket is dead, reconnect
 *
 * Reconnects back off (0.25 s … 10 s) and resubscribe everything. While the socket is down the
 * backend reads over REST; every answer from here carries when its data arrived.
 */
import { Agent, WebSocket } from 'undici';
import { addSecret, type Logger, silentLogger } from '../../log.js';
import { isObject, type Row, toConid } from './wire.js';

export type StreamState = 'off' | 'connecting' | 'open' | 'down';

export interface StreamTimers {
  /** No message for this long: the socket counts as dead (IB's heartbeat is about every 10 s). */
  staleMs: number;
  /** `ech+hb` this often (IB: at least once a minute). */
  echoMs: number;
  /** `tic` (keeps the session) this often. */
  ticMs: number;
  /** A market-data stream is requested again after this long (IB ends it after about 15 minutes). */
  smdRenewMs: number;
  /** Reconnect delays, the last one repeated. */
  backoffMs: readonly number[];
  /** Delays before a subscription IB refused (sor, spl) is asked for again, the last one repeated. */
  resubscribeMs: readonly number[];
  /**
   * At most this many conids streamed; the one asked for least recently is dropped for a new one.
   * IB's market-data lines (100 by default) are shared with REST snapshots: half stay free.
   */
  maxQuotes: number;
}

export const DEFAULT_STREAM_TIMERS: StreamTimers = {
  staleMs: 15_000,
  echoMs: 30_000,
  ticMs: 60_000,
  smdRenewMs: 10 * 60_000,
  backoffMs: [250, 500, 1000, 2000, 5000, 10_000],
  resubscribeMs: [2000, 5000, 10_000, 30_000, 60_000],
  maxQuotes: 50,
};

export interface CpapiStreamOptions {
  /** The API base, e.g. https://127.0.0.1:5000/v1/api. */
  apiUrl: string;
  insecureTls?: boolean;
  /** The gateway's cookies, as a Cookie header (the session travels in them). */
  cookies: () => string | undefined;
  /** The session id /tickle gives: sent as {"session":…} once connected. */
  sessionToken: () => Promise<string | undefined>;
  /** Before a refused subscription is asked for again (GET /iserver/accounts, IB's precondition). */
  prime?: () => Promise<unknown>;
  log?: Logger;
  timers?: Partial<StreamTimers>;
}

export interface StreamQuote {
  /** The merged row: IB's field codes → values, as in a snapshot row. */
  row: Row;
  /** Field codes requested on the stream. */
  codes: Set<string>;
  /** Epoch ms the last message for this conid arrived (local clock). */
  receivedAt: number;
  /** This connection delivered data for it since its last request: the row is current. */
  live: boolean;
  requestedAt: number;
  /** Epoch ms a read last asked for it (the least recently asked is dropped first). */
  askedAt: number;
  /** Holders that keep its line (a subscribed resource): never dropped for another conid. */
  holds: number;
  refused?: string;
}

/** A market-data line could not be had: every line the stream may use is held. */
export class QuoteLinesFull extends Error {
  constructor(readonly limit: number) {
    super(`All ${limit} streamed market-data lines are held by subscriptions.`);
  }
}

export interface OrderEvent {
  orderId: string;
  /** The merged row after the update. */
  row: Row;
  /** The keys this update carried. */
  changed: string[];
}

export interface StreamStatus {
  state: StreamState;
  since: number;
  lastMessageAt?: number;
  /** What IB's last sts said. */
  authenticated?: boolean;
  reconnects: number;
  quotes: number;
  /** Conids whose line a subscription holds. */
  held: number;
  /** The most conids streamed at once. */
  maxQuotes: number;
  orders: boolean;
  /** P&L pushed on this connection. */
  pnl: boolean;
  /** IB refused the subscription (its error text); asked for again with back-off. */
  refused?: { orders?: string; pnl?: string };
  /** Subscriptions IB refused since start. */
  refusals: number;
}

type Listener<T> = (v: T) => void;

export class CpapiStream {
  private readonly opts: CpapiStreamOptions;
  private readonly timers: StreamTimers;
  private readonly log: Logger;
  private readonly wsUrl: string;
  private readonly dispatcher: Agent | undefined;
  private ws: WebSocket | undefined;
  private state: StreamState = 'off';
  private since = Date.now();
  private lastMessageAt = 0;
  private authenticated: boolean | undefined;
  private reconnects = 0;
  private attempt = 0;
  private wanted = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private watchTimer: NodeJS.Timeout | undefined;
  private lastEcho = 0;
  private lastTic = 0;
  /** Generation: callbacks of an old socket are ignored. */
  private gen = 0;

  readonly quotes = new Map<number, StreamQuote>();
  readonly orderRows = new Map<string, Row>();
  private ordersWanted = false;
  /**
   * orderRows is the whole list: seeded from a REST answer taken after this connection's sor
   * subscription, with every push since merged on top.
   */
  private ordersSeeded = false;
  /** The account whose REST list seeded it (IB's list is the selected account's). */
  private seedAccount: string | undefined;
  /** The last seed since start(), kept over an un-seed: a re-seed of its account announces changes. */
  private lastSeed: { account: string | undefined } | undefined;
  /** This connection's sor subscription (0: none sent on it yet). */
  private sorEpoch = 0;
  private sorEpochs = 0;
  /** What this subscription pushed, per order id (kept over a seed). */
  private readonly pushed = new Map<string, Row>();
  private ordersAt = 0;
  private readonly ordersWaiters = new Set<{ after: number; done: () => void }>();
  private readonly orderSeen = new Map<string, number>();
  private pnlWanted = false;
  /** Merged P&L rows; `live`: pushed on the current connection. */
  private pnl: { rows: Record<string, { row: Row; receivedAt: number }>; live: boolean } | undefined;
  private readonly orderListeners = new Set<Listener<OrderEvent>>();
  private readonly quoteListeners = new Set<Listener<number>>();
  private readonly authListeners = new Set<Listener<boolean>>();
  private readonly pnlListeners = new Set<Listener<void>>();
  private readonly resubscribeListeners = new Set<Listener<void>>();
  /** What IB said refusing a subscription, per topic, until it is asked for again. */
  private readonly refusedNow = new Map<'sor' | 'spl', string>();
  /** A refused subscription's retry; `fired`: asked again, and data since resets the back-off. */
  private readonly retries = new Map<'sor' | 'spl', { timer?: NodeJS.Timeout; attempt: number; fired: boolean }>();
  private refusals = 0;

  constructor(opts: CpapiStreamOptions) {
    this.opts = opts;
    this.timers = { ...DEFAULT_STREAM_TIMERS, ...opts.timers };
    this.log = opts.log ?? silentLogger;
    const u = new URL(opts.apiUrl.replace(/\/+$/, ''));
    u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
    u.pathname = `${u.pathname}/ws`;
    this.wsUrl = u.toString();
    this.dispatcher =
      u.protocol === 'wss:' && (opts.insecureTls || /^(127\.|localhost$|\[::1\]$)/.test(u.hostname))
        ? new Agent({ connect: { rejectUnauthorized: false } })
        : undefined;
  }

  // ---------------------------------------------------------------- life cycle

  /** Connects (after a login); reconnects until stop(). */
  start(): void {
    this.wanted = true;
    if (this.state === 'open' || this.state === 'connecting') return;
    this.connect();
  }

  /** Ends the socket and forgets the session's state (logout, session reset, close). */
  stop(): void {
    this.wanted = false;
    clearTimeout(this.retryTimer);
    this.closeSocket();
    this.setState('off');
    this.quotes.clear();
    this.orderRows.clear();
    this.orderSeen.clear();
    this.unseed();
    this.lastSeed = undefined;
    this.pnl = undefined;
    this.refusals = 0;
  }

  async close(): Promise<void> {
    this.stop();
    await this.dispatcher?.close().catch(() => {});
  }

  /** Open, heard from within `staleMs`, and IB has not said the session ended. */
  healthy(now = Date.now()): boolean {
    // IB's sts saying the session ended outranks a socket that is still open.
    if (this.authenticated === false) return false;
    return this.state === 'open' && now - this.lastMessageAt < this.timers.staleMs;
  }

  status(): StreamStatus {
    const out: StreamStatus = {
      state: this.state,
      since: this.since,
      reconnects: this.reconnects,
      quotes: [...this.quotes.values()].filter((q) => q.live).length,
      held: [...this.quotes.values()].filter((q) => q.holds > 0).length,
      maxQuotes: this.timers.maxQuotes,
      orders: this.ordersSeeded,
      pnl: this.pnl?.live === true,
      refusals: this.refusals,
    };
    if (this.refusedNow.size) {
      const r: { orders?: string; pnl?: string } = {};
      const sor = this.refusedNow.get('sor');
      const spl = this.refusedNow.get('spl');
      if (sor !== undefined) r.orders = sor;
      if (spl !== undefined) r.pnl = spl;
      out.refused = r;
    }
    if (this.lastMessageAt) out.lastMessageAt = this.lastMessageAt;
    if (this.authenticated !== undefined) out.authenticated = this.authenticated;
    return out;
  }

  private setState(s: StreamState): void {
    if (this.state === s) return;
    this.state = s;
    this.since = Date.now();
  }

  private connect(): void {
    const gen = ++this.gen;
    this.setState('connecting');
    // A new socket: IB greets it with the session's state.
    this.authenticated = undefined;
    const cookie = this.opts.cookies();
    let ws: WebSocket;
    try {
      ws = new WebSocket(this.wsUrl, {
        ...(this.dispatcher ? { dispatcher: this.dispatcher } : {}),
        headers: cookie ? { cookie } : {},
      });
    } catch (err) {
      this.log.info('stream: cannot connect', { err: (err as Error).message });
      this.scheduleRetry();
      return;
    }
    this.ws = ws;
    ws.addEventListener('open', () => {
      if (gen !== this.gen) return;
      this.lastMessageAt = Date.now();
      this.setState('open');
      this.onOpen(gen).catch(() => {});
    });
    ws.addEventListener('message', (e) => {
      if (gen !== this.gen) return;
      this.lastMessageAt = Date.now();
      this.onMessage(typeof e.data === 'string' ? e.data : '');
    });
    const gone = () => {
      if (gen !== this.gen) return;
      this.dropped('closed');
    };
    ws.addEventListener('close', gone);
    ws.addEventListener('error', gone);
  }

  private async onOpen(gen: number): Promise<void> {
    this.attempt = 0;
    const token = await this.opts.sessionToken().catch(() => undefined);
    if (gen !== this.gen) return;
    if (token) {
      addSecret(token);
      this.sendRaw(JSON.stringify({ session: token }));
    }
    // Everything asked for so far is asked for again on this connection.
    this.unseed();
    for (const q of this.quotes.values()) q.live = false;
    if (this.pnl) this.pnl.live = false;
    for (const [conid, q] of this.quotes) if (!q.refused) this.requestQuote(conid, q);
    if (this.ordersWanted) this.sendSor();
    if (this.pnlWanted) this.sendSpl();
    clearInterval(this.watchTimer);
    const every = Math.max(20, Math.min(1000, Math.floor(this.timers.staleMs / 4)));
    this.watchTimer = setInterval(() => this.watch(), every);
    this.watchTimer.unref();
  }

  /** Dead-socket detection, keep-alives and market-data renewal. */
  private watch(): void {
    const now = Date.now();
    if (this.state !== 'open') return;
    if (now - this.lastMessageAt >= this.timers.staleMs) {
      this.log.info('stream: no message within the heartbeat bound; reconnecting', { ms: now - this.lastMessageAt });
      this.dropped('silent');
      return;
    }
    if (now - this.lastEcho >= this.timers.echoMs) {
      this.lastEcho = now;
      this.sendRaw('ech+hb');
    }
    if (now - this.lastTic >= this.timers.ticMs) {
      this.lastTic = now;
      this.sendRaw('tic');
    }
    for (const [conid, q] of this.quotes) {
      if (!q.refused && now - q.requestedAt >= this.timers.smdRenewMs) this.requestQuote(conid, q);
    }
  }

  /** Ends the current socket; its late events are ignored (a new generation). */
  private closeSocket(): void {
    this.gen++;
    for (const r of this.retries.values()) clearTimeout(r.timer);
    this.retries.clear();
    this.refusedNow.clear();
    clearInterval(this.watchTimer);
    this.watchTimer = undefined;
    const ws = this.ws;
    this.ws = undefined;
    try {
      ws?.close();
    } catch {
      // gone already
    }
  }

  private dropped(why: string): void {
    this.closeSocket();
    this.unseed();
    for (const q of this.quotes.values()) q.live = false;
    if (this.pnl) this.pnl.live = false;
    if (!this.wanted) {
      this.setState('off');
      return;
    }
    this.setState('down');
    this.log.info('stream: socket down', { why });
    this.scheduleRetry();
  }

  private scheduleRetry(): void {
    if (!this.wanted) return;
    this.setState('down');
    const list = this.timers.backoffMs;
    const base = list[Math.min(this.attempt, list.length - 1)] ?? 1000;
    this.attempt++;
    const delay = Math.round(base * (0.8 + Math.random() * 0.4));
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => {
      if (!this.wanted) return;
      this.reconnects++;
      this.connect();
    }, delay);
    this.retryTimer.unref();
  }

  private sendRaw(text: string): boolean {
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) return false;
    try {
      ws.send(text);
      return true;
    } catch {
      // the close event follows
      return false;
    }
  }

  /** Subscribes sor on this connection: a new epoch, not seeded until a REST list read after it. */
  private sendSor(): void {
    if (!this.sendRaw('sor+{}')) return;
    this.refusedNow.delete('sor');
    this.unseed();
    this.sorEpoch = ++this.sorEpochs;
    for (const l of this.resubscribeListeners) l();
  }

  private unseed(): void {
    this.ordersSeeded = false;
    this.seedAccount = undefined;
    this.sorEpoch = 0;
    this.pushed.clear();
  }

  // ---------------------------------------------------------------- subscriptions

  /**
   * Streams these field codes of a conid from now on (kept across reconnects). When every line is
   * taken, the least recently asked conid no subscription holds gives its line up; false when all
   * are held.
   */
  subscribeQuote(conid: number, codes: readonly string[]): boolean {
    const q = this.quotes.get(conid);
    if (q && codes.every((c) => q.codes.has(c))) return true;
    if (!q && this.quotes.size >= this.timers.maxQuotes) {
      let oldest: [number, StreamQuote] | undefined;
      for (const e of this.quotes) if (e[1].holds === 0 && (!oldest || e[1].askedAt < oldest[1].askedAt)) oldest = e;
      if (!oldest) return false;
      this.dropQuote(oldest[0]);
    }
    const next: StreamQuote = q ?? {
      row: { conid },
      codes: new Set(),
      receivedAt: 0,
      live: false,
      requestedAt: 0,
      askedAt: Date.now(),
      holds: 0,
    };
    for (const c of codes) next.codes.add(c);
    this.quotes.set(conid, next);
    if (this.state === 'open' && !next.refused) this.requestQuote(conid, next);
    return true;
  }

  /**
   * Keeps a conid streamed until the returned release is called (a subscription); the last
   * release ends the stream and frees IB's line. Throws QuoteLinesFull when every line is held.
   */
  holdQuote(conid: number, codes: readonly string[]): () => void {
    if (!this.subscribeQuote(conid, codes)) throw new QuoteLinesFull(this.timers.maxQuotes);
    const q = this.quotes.get(conid)!;
    q.holds++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const now = this.quotes.get(conid);
      if (now !== q) return;
      q.holds--;
      if (q.holds === 0) this.dropQuote(conid);
    };
  }

  /** Ends a conid's stream (umd) and forgets it: its line is free. */
  private dropQuote(conid: number): void {
    if (this.quotes.delete(conid)) this.sendRaw(`umd+${conid}+{}`);
  }

  private requestQuote(conid: number, q: StreamQuote): void {
    q.requestedAt = Date.now();
    this.sendRaw(`smd+${conid}+${JSON.stringify({ fields: [...q.codes] })}`);
  }

  /** The merged row of a conid when the stream has it current and carries every code. */
  quote(conid: number, codes: readonly string[]): StreamQuote | undefined {
    const q = this.quotes.get(conid);
    if (q) q.askedAt = Date.now();
    if (!q?.live || q.refused || !this.healthy()) return undefined;
    return codes.every((c) => q.codes.has(c)) ? q : undefined;
  }

  subscribeOrders(): void {
    if (this.ordersWanted) return;
    this.ordersWanted = true;
    this.sendSor();
  }

  /**
   * The session's selected account changed: IB scopes live orders to it, so the merged list is
   * no longer the one a REST read returns. sor is asked for again (a new subscription, not seeded
   * until a REST read after it; the resubscribe listeners start one).
   */
  resubscribeOrders(): void {
    if (!this.ordersWanted) return;
    // The rows stay (a re-pushed order is no new update); the next seed replaces them.
    this.unseed();
    this.sendSor();
  }

  /**
   * Every order of the session as merged rows, once seeded on this connection (else undefined);
   * `account`: the account whose REST list seeded it.
   */
  orders(): { rows: Row[]; receivedAt: number; account?: string } | undefined {
    if (!this.ordersSeeded || !this.healthy()) return undefined;
    const out: { rows: Row[]; receivedAt: number; account?: string } = {
      rows: [...this.orderRows.values()],
      receivedAt: this.ordersAt,
    };
    if (this.seedAccount !== undefined) out.account = this.seedAccount;
    return out;
  }

  /**
   * The current sor subscription, taken before a REST live-order read (0: none, the read cannot
   * seed). Pass it to seedOrders with the read's answer.
   */
  ordersEpoch(): number {
    return this.state === 'open' ? this.sorEpoch : 0;
  }

  /**
   * Seeds the order list from a complete REST answer (`GET /iserver/account/orders`, snapshot)
   * whose request started at `startedAt` under subscription `epoch`, for `account` (the one
   * selected): its rows, with what this subscription pushed merged on top. Refused (false) when
   * the socket reconnected or IB refused the subscription since.
   */
  seedOrders(epoch: number, rows: readonly unknown[], startedAt: number, account?: string): boolean {
    if (epoch === 0 || epoch !== this.sorEpoch || this.state !== 'open') return false;
    const next = new Map<string, Row>();
    for (const r of rows) {
      const id = isObject(r) ? orderIdOf(r) : undefined;
      if (id !== undefined && isObject(r)) next.set(id, { ...r });
    }
    for (const [id, p] of this.pushed) next.set(id, { ...(next.get(id) ?? {}), ...p });
    // A re-seed (after a reconnect or a refusal) of the same account's list: what changed while
    // nothing was pushed (a fill while the socket was down) is announced as a push would have been,
    // once. The first seed of a login, or of another account's list, announces nothing.
    const before = this.lastSeed?.account === account ? new Map(this.orderRows) : undefined;
    this.orderRows.clear();
    const news: OrderEvent[] = [];
    for (const [id, row] of next) {
      this.orderRows.set(id, row);
      this.orderSeen.set(id, Math.max(this.orderSeen.get(id) ?? 0, startedAt));
      if (!before) continue;
      const prev = before.get(id);
      const changed = prev
        ? Object.keys(row).filter((k) => ORDER_PROGRESS_KEYS.has(k) && String(prev[k]) !== String(row[k]))
        : Object.keys(row);
      if (changed.length) news.push({ orderId: id, row, changed });
    }
    this.ordersSeeded = true;
    this.seedAccount = account;
    this.lastSeed = { account };
    for (const e of news) for (const l of this.orderListeners) l(e);
    this.ordersAt = Math.max(this.ordersAt, startedAt);
    this.wakeOrderWaiters();
    return true;
  }

  subscribePnl(): void {
    if (this.pnlWanted) return;
    this.pnlWanted = true;
    this.sendSpl();
  }

  private sendSpl(): void {
    if (this.sendRaw('spl+{}')) this.refusedNow.delete('spl');
  }

  /**
   * The session under the socket changed (a re-login IB did on its own): a socket opened under the
   * old one may keep its heartbeat with every subscription dead. A new one is opened.
   */
  reconnect(why: string): void {
    if (!this.wanted || this.state === 'off') return;
    this.log.info('stream: reconnecting', { why });
    this.dropped(why);
  }

  /**
   * P&L rows per IB account key ("U123.Core") with when each was last pushed, when this connection
   * pushed them and is healthy. IB pushes the selected account's row: another's may be old.
   */
  pnlRows(): Record<string, { row: Row; receivedAt: number }> | undefined {
    const p = this.pnl;
    if (!p?.live || !this.healthy()) return undefined;
    return p.rows;
  }

  onOrder(l: Listener<OrderEvent>): () => void {
    return listen(this.orderListeners, l);
  }
  onQuote(l: Listener<number>): () => void {
    return listen(this.quoteListeners, l);
  }
  onAuth(l: Listener<boolean>): () => void {
    return listen(this.authListeners, l);
  }
  onPnl(l: Listener<void>): () => void {
    return listen(this.pnlListeners, l);
  }
  /** sor subscribed (at login, after a reconnect, a refusal or an account switch): the list needs seeding. */
  onResubscribe(l: Listener<void>): () => void {
    return listen(this.resubscribeListeners, l);
  }

  // ---------------------------------------------------------------- messages

  private onMessage(text: string): void {
    let msg: unknown;
    try {
      msg = JSON.parse(text);
    } catch {
      return;
    }
    if (!isObject(msg)) return;
    const topic = typeof msg['topic'] === 'string' ? msg['topic'] : '';
    if (topic.startsWith('smd+')) this.onQuoteMessage(topic, msg);
    else if ((topic === 'sor' || topic === 'spl') && msg['args'] === undefined && msg['error'] !== undefined)
      this.onRefused(topic, msg['error']);
    else if (topic === 'sor') this.onOrders(msg['args']);
    else if (topic === 'spl') this.onPnlMessage(msg['args']);
    else if (topic === 'sts') this.onSts(msg['args']);
  }

  /**
   * IB refused a subscription ({"error":"unable to subscribe","code":500,"topic":"sor"}, seen on
   * most reconnects of one gateway): nothing will be pushed, so nothing is answered from it. It is
   * asked for again after a back-off, primed by /iserver/accounts; a sor subscription is seeded
   * again by the REST read its resubscribe listeners start.
   */
  private onRefused(topic: 'sor' | 'spl', error: unknown): void {
    const text = typeof error === 'string' ? error.slice(0, 200) : JSON.stringify(error).slice(0, 200);
    this.refusals++;
    this.refusedNow.set(topic, text);
    if (topic === 'sor') {
      this.unseed();
    } else if (this.pnl) {
      this.pnl.live = false;
    }
    this.log.info('stream: subscription refused', { topic, error: text });
    const prev = this.retries.get(topic);
    if (prev) clearTimeout(prev.timer);
    const attempt = prev?.attempt ?? 0;
    const list = this.timers.resubscribeMs;
    const delay = list[Math.min(attempt, list.length - 1)] ?? 5000;
    const gen = this.gen;
    const entry: { timer?: NodeJS.Timeout; attempt: number; fired: boolean } = { attempt: attempt + 1, fired: false };
    entry.timer = setTimeout(() => {
      entry.fired = true;
      void (async () => {
        await this.opts.prime?.().catch(() => undefined);
        if (gen !== this.gen || this.state !== 'open') return;
        if (topic === 'sor' && this.ordersWanted) this.sendSor();
        if (topic === 'spl' && this.pnlWanted) this.sendSpl();
      })();
    }, delay);
    entry.timer.unref();
    this.retries.set(topic, entry);
  }

  /** The topic delivered data: a later refusal starts the back-off from the beginning. */
  private delivered(topic: 'sor' | 'spl'): void {
    if (this.retries.get(topic)?.fired) this.retries.delete(topic);
  }

  private onQuoteMessage(topic: string, msg: Row): void {
    const conid = toConid(msg['conid']) ?? toConid(topic.slice(4));
    if (!conid) return;
    const q = this.quotes.get(conid);
    if (!q) return;
    if (typeof msg['error'] === 'string') {
      q.refused = msg['error'];
      this.log.info('stream: market data refused', { conid, error: msg['error'] });
      return;
    }
    for (const [k, v] of Object.entries(msg)) if (k !== 'topic') q.row[k] = v;
    q.receivedAt = Date.now();
    q.live = true;
    for (const l of this.quoteListeners) l(conid);
  }

  private onOrders(args: unknown): void {
    this.ordersAt = Date.now();
    this.delivered('sor');
    if (!Array.isArray(args)) args = [];
    let incomplete = false;
    for (const r of args as unknown[]) {
      if (!isObject(r)) continue;
      const orderId = orderIdOf(r);
      if (orderId === undefined) continue;
      this.pushed.set(orderId, { ...(this.pushed.get(orderId) ?? {}), ...r });
      const prev = this.orderRows.get(orderId);
      const changed: string[] = [];
      const row: Row = prev ? { ...prev } : {};
      for (const [k, v] of Object.entries(r)) {
        if (prev && JSON.stringify(prev[k]) === JSON.stringify(v)) continue;
        row[k] = v;
        changed.push(k);
      }
      this.orderRows.set(orderId, row);
      this.orderSeen.set(orderId, this.ordersAt);
      // An order known only from a partial push (a captured one: acct, conid, orderId and
      // isEventTrading, nothing else) cannot be listed: the list would leave it out.
      // (Another account's order is not in the seeded list's account: nothing to complete.)
      const acct = row['acct'] ?? row['account'];
      const ours =
        acct === undefined ||
        this.seedAccount === undefined ||
        String(acct).toUpperCase() === this.seedAccount.toUpperCase();
      if (ours && (row['side'] === undefined || row['conid'] === undefined)) incomplete = true;
      // Listeners hear of new orders and of progress (status, fills), each once: a resend after a
      // reconnect that changes nothing is no update.
      if (prev && !changed.some((k) => ORDER_PROGRESS_KEYS.has(k))) continue;
      for (const l of this.orderListeners) l({ orderId, row, changed });
    }
    if (incomplete && this.ordersSeeded) {
      // Not answered from until a REST read on this subscription completes the rows (the pushes
      // merge on top of it); the resubscribe listeners start one.
      this.log.info('stream: an order pushed without its terms; the list is read again');
      this.ordersSeeded = false;
      for (const l of this.resubscribeListeners) l();
      return;
    }
    this.wakeOrderWaiters();
  }

  private wakeOrderWaiters(): void {
    if (!this.ordersSeeded) return;
    for (const w of this.ordersWaiters) {
      if (this.ordersAt > w.after) {
        this.ordersWaiters.delete(w);
        w.done();
      }
    }
  }

  /**
   * Resolves once the stream holds the whole (seeded) order list with a message newer than
   * `after` (epoch ms; default any), or after `ms`.
   */
  waitForOrders(ms: number, after = 0): Promise<void> {
    if ((this.ordersSeeded && this.ordersAt > after) || !this.wanted || !this.ordersWanted || ms <= 0)
      return Promise.resolve();
    return new Promise((resolve) => {
      const w = { after, done: () => {} };
      const t = setTimeout(() => {
        this.ordersWaiters.delete(w);
        resolve();
      }, ms);
      t.unref();
      w.done = () => {
        clearTimeout(t);
        resolve();
      };
      this.ordersWaiters.add(w);
    });
  }

  /** Epoch ms the stream last heard of this order (0: never). */
  orderSeenAt(orderId: string): number {
    return this.orderSeen.get(orderId) ?? 0;
  }

  private onPnlMessage(args: unknown): void {
    if (!isObject(args)) return;
    this.delivered('spl');
    const rows = { ...(this.pnl?.rows ?? {}) };
    const now = Date.now();
    for (const [k, v] of Object.entries(args))
      if (isObject(v)) rows[k] = { row: { ...rows[k]?.row, ...v }, receivedAt: now };
    this.pnl = { rows, live: true };
    for (const l of this.pnlListeners) l();
  }

  private onSts(args: unknown): void {
    if (!isObject(args) || typeof args['authenticated'] !== 'boolean') return;
    const auth = args['authenticated'];
    const changed = this.authenticated !== auth;
    this.authenticated = auth;
    if (changed) for (const l of this.authListeners) l(auth);
  }
}

/** Keys whose change is an order's progress (status, fills). */
const ORDER_PROGRESS_KEYS = new Set(['status', 'order_ccp_status', 'filledQuantity', 'remainingQuantity', 'avgPrice']);

function orderIdOf(r: Row): string | undefined {
  const id = r['orderId'] ?? r['order_id'];
  return id === undefined || id === null ? undefined : String(id);
}

function listen<T>(set: Set<Listener<T>>, l: Listener<T>): () => void {
  set.add(l);
  return () => set.delete(l);
}
