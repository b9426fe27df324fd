/**
 * IB's gateway WebSocket, `/v1/api/ws` on the simulator's HTTP(S) server (cpapi-protocol §9).
 *
 *   auth       the session cookie (x-sess-uuid or api = the session id) or a first message
 *              {"session":"<id from /tickle>"}; commands before that are ignored
 *   greeting   {"topic":"system","success":"<user>"}, {"topic":"sts","args":{"authenticated":true}}
 *   heartbeat  {"topic":"system","hb":<ms>} every `hbMs` (IB: about 10 s)
 *   smd+C+{"fields":[…]}  market data: the first message carries every field, later ones only the
 *              fields that changed; the stream ends silently `smdLifetimeMs` after the request
 *              (IB: about 15 minutes); more than `maxLines` conids: an error message instead
 *   umd+C+{}   ends it; sor+{} / uor+{}  live orders (rows as GET /iserver/account/orders, then
 *              partial rows: orderId plus the keys that changed); a filtered live-orders REST call
 *              stops sor updates until a force=true call; spl+{} / upl+{}  P&L about once a second;
 *              str+{} / utr+{}  new executions; ech+hb, tic  keep-alives (tic touches the session)
 *   sts        {"topic":"sts","args":{"authenticated":false}} when the session ends, then a close
 *
 * Faults and timers (POST /sim/faults {"ws":{…}}): "drop":true ends every socket without a close
 * frame; "silent":true stops sending on the open sockets without closing them; "delayMs":N delays
 * every message; "refuse":N refuses the next N upgrades; "refuseSor":N / "refuseSpl":N answer
 * the next N sor+{} / spl+{} with {"error":"unable to subscribe","code":500,"topic":…} (a real
 * gateway did so on 17 of 20 reconnects); "orphan":true keeps a socket whose session a re-login
 * replaced open, heartbeating, with every subscription dead (IB's nightly re-authentication)
 * instead of ending it; "sorNewPartial":true announces a new order by its ids alone (acct, conid,
 * orderId, isEventTrading: a frame captured from IB), the rest only as later changes; "hbMs", "tickMs", "smdLifetimeMs", "maxLines" change the timers and the
 * line limit; "sorSnapshot":true makes sor+{} first send every current order (by default it sends
 * only changes from then on: IB's docs promise no more).
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { optionMarkets } from './options.js';
import { liveRow, tradeRow } from './order-rows.js';
import { simOrders } from './orders.js';
import { quoteFields } from './routes/marketdata.js';
import { pnlBody } from './routes/portfolio.js';
import { extOf, type SimState, touchSession } from './state.js';
import { acceptKey, closeFrame, FrameParser, frame, OP_CLOSE, OP_PING, OP_PONG, OP_TEXT } from './ws-frames.js';

export interface WsSettings {
  hbMs: number;
  /** How often orders, quotes and P&L are looked at for changes. */
  tickMs: number;
  smdLifetimeMs: number;
  maxLines: number;
  /** P&L messages are at most this often. */
  splMs: number;
}

export const DEFAULT_WS: WsSettings = {
  hbMs: 10_000,
  tickMs: 250,
  smdLifetimeMs: 15 * 60_000,
  maxLines: 100,
  splMs: 1000,
};

interface SmdSub {
  fields: string[];
  serverId: string;
  startedAt: number;
  last: Record<string, string>;
}

interface Conn {
  socket: Duplex;
  parser: FrameParser;
  authed: boolean;
  silent: boolean;
  session: string;
  smd: Map<number, SmdSub>;
  sor: boolean;
  /** Last row sent per order id (sor). */
  sorRows: Map<number, Record<string, unknown>>;
  spl: boolean;
  splLast: string;
  splAt: number;
  str: boolean;
  strSeen: number;
  lastHb: number;
  /** Its session was replaced by a re-login and the hub keeps it ("orphan"). */
  orphaned: boolean;
}

export class SimWsHub {
  readonly settings: WsSettings;
  readonly conns = new Set<Conn>();
  delayMs = 0;
  refuse = 0;
  /** A filtered GET /iserver/account/orders stops sor updates until a force=true call (IB's trap). */
  sorBlocked = false;
  /** sor+{} first sends every current order (false: only changes from the subscription on). */
  sorSnapshot = false;
  refuseSor = 0;
  refuseSpl = 0;
  /** A new order's first sor frame carries only its ids (acct, conid, orderId), as one captured from IB. */
  sorNewPartial = false;
  /** A socket whose session a re-login replaced stays open with its heartbeat only. */
  orphan = false;
  /** Messages sent, by topic (tests). */
  readonly sent: Record<string, number> = {};
  private timer: NodeJS.Timeout | undefined;
  private serverIds = 0;
  private nudged = false;

  constructor(
    private readonly state: SimState,
    settings: Partial<WsSettings> = {},
  ) {
    this.settings = { ...DEFAULT_WS, ...settings };
    state.hooks.reset.push(() => this.dropAll());
    state.hooks.afterRequest.push(() => this.nudge());
  }

  configure(b: Record<string, unknown>): void {
    for (const k of ['hbMs', 'tickMs', 'smdLifetimeMs', 'maxLines', 'splMs'] as const) {
      if (typeof b[k] === 'number' && (b[k] as number) >= 0) this.settings[k] = b[k] as number;
    }
    if (typeof b['delayMs'] === 'number') this.delayMs = Math.max(0, b['delayMs']);
    if (typeof b['refuse'] === 'number') this.refuse = Math.max(0, b['refuse']);
    if (typeof b['sorSnapshot'] === 'boolean') this.sorSnapshot = b['sorSnapshot'];
    if (typeof b['refuseSor'] === 'number') this.refuseSor = Math.max(0, b['refuseSor']);
    if (typeof b['refuseSpl'] === 'number') this.refuseSpl = Math.max(0, b['refuseSpl']);
    if (typeof b['orphan'] === 'boolean') this.orphan = b['orphan'];
    if (typeof b['sorNewPartial'] === 'boolean') this.sorNewPartial = b['sorNewPartial'];
    if (b['silent'] === true) for (const c of this.conns) c.silent = true;
    if (b['drop'] === true) this.dropAll();
    if (typeof b['tickMs'] === 'number' && this.timer) {
      this.stopTimer();
      this.startTimer();
    }
  }

  view(): Record<string, unknown> {
    return {
      ...this.settings,
      delayMs: this.delayMs,
      refuse: this.refuse,
      sorBlocked: this.sorBlocked,
      sorSnapshot: this.sorSnapshot,
      refuseSor: this.refuseSor,
      refuseSpl: this.refuseSpl,
      orphan: this.orphan,
      sorNewPartial: this.sorNewPartial,
      sockets: this.conns.size,
      lines: this.lines(),
      sent: this.sent,
    };
  }

  /** Market-data lines in use: distinct streamed conids over every socket. */
  lines(): number {
    const s = new Set<number>();
    for (const c of this.conns) for (const k of c.smd.keys()) s.add(k);
    return s.size;
  }

  upgrade(req: IncomingMessage, socket: Duplex): void {
    const key = req.headers['sec-websocket-key'];
    const s = this.state.session;
    if (typeof key !== 'string' || (req.headers.upgrade ?? '').toLowerCase() !== 'websocket') {
      socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
      return;
    }
    if (this.refuse > 0) {
      this.refuse -= 1;
      socket.end('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\n\r\n');
      return;
    }
    touchSession(this.state);
    if (!s.sso || !s.brokerage) {
      socket.end('HTTP/1.1 401 Unauthorized\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    socket.write(
      'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        `Sec-WebSocket-Accept: ${acceptKey(key)}\r\n\r\n`,
    );
    const cookies = parseCookies(req.headers.cookie);
    const conn: Conn = {
      socket,
      parser: new FrameParser(),
      authed: cookies['api'] === s.id || cookies['x-sess-uuid'] === s.id,
      silent: false,
      session: s.id,
      smd: new Map(),
      sor: false,
      sorRows: new Map(),
      spl: false,
      splLast: '',
      splAt: 0,
      str: false,
      strSeen: 0,
      lastHb: Date.now(),
      orphaned: false,
    };
    this.conns.add(conn);
    socket.on('data', (chunk: Buffer) => {
      let msgs: ReturnType<FrameParser['push']>;
      try {
        msgs = conn.parser.push(chunk);
      } catch {
        this.end(conn, 1002, 'protocol error');
        return;
      }
      for (const m of msgs) {
        if (m.opcode === OP_TEXT) this.command(conn, m.payload.toString('utf8'));
        else if (m.opcode === OP_PING) this.raw(conn, frame(OP_PONG, m.payload));
        else if (m.opcode === OP_CLOSE) this.end(conn, 1000, '');
      }
    });
    socket.on('close', () => this.conns.delete(conn));
    socket.on('error', () => this.conns.delete(conn));
    if (conn.authed) this.greet(conn);
    this.startTimer();
  }

  private greet(conn: Conn): void {
    this.send(conn, { topic: 'system', success: 'simuser' });
    this.send(conn, { topic: 'sts', args: { authenticated: true, competing: false, connected: true } });
  }

  private command(conn: Conn, text: string): void {
    const t = text.trim();
    if (t.startsWith('{')) {
      const obj = parseJson(t) as { session?: unknown } | undefined;
      if (!conn.authed && obj && obj.session === this.state.session.id) {
        conn.authed = true;
        this.greet(conn);
      }
      return;
    }
    if (!conn.authed) return;
    const plus = t.indexOf('+');
    const topic = plus < 0 ? t : t.slice(0, plus);
    const rest = plus < 0 ? '' : t.slice(plus + 1);
    switch (topic) {
      case 'tic':
        touchSession(this.state);
        this.send(conn, { topic: 'tic', alive: true, lastAccessed: Date.now() });
        return;
      case 'ech':
        this.send(conn, { topic: 'ech', hb: Date.now() });
        return;
      case 'smd':
        this.subscribeSmd(conn, rest);
        return;
      case 'umd': {
        const conid = Number(rest.split('+')[0]);
        conn.smd.delete(conid);
        return;
      }
      case 'sor':
        if (this.refuseSor > 0 || conn.orphaned) {
          if (!conn.orphaned) this.refuseSor -= 1;
          this.send(conn, { error: 'unable to subscribe', code: 500, topic: 'sor' });
          return;
        }
        conn.sor = true;
        conn.sorRows.clear();
        this.pushOrders(conn, true, !this.sorSnapshot);
        return;
      case 'uor':
        conn.sor = false;
        return;
      case 'spl':
        if (this.refuseSpl > 0 || conn.orphaned) {
          if (!conn.orphaned) this.refuseSpl -= 1;
          this.send(conn, { error: 'unable to subscribe', code: 500, topic: 'spl' });
          return;
        }
        conn.spl = true;
        conn.splLast = '';
        conn.splAt = 0;
        this.pushPnl(conn);
        return;
      case 'upl':
        conn.spl = false;
        return;
      case 'str':
        conn.str = true;
        conn.strSeen = simOrders(this.state).executions.length;
        return;
      case 'utr':
        conn.str = false;
        return;
      default:
        this.send(conn, { topic: 'system', error: `unknown topic ${topic.slice(0, 20)}` });
    }
  }

  private subscribeSmd(conn: Conn, rest: string): void {
    if (conn.orphaned) return;
    const sep = rest.indexOf('+');
    const conid = Number(sep < 0 ? rest : rest.slice(0, sep));
    const args = (sep < 0 ? {} : parseJson(rest.slice(sep + 1))) as { fields?: unknown } | undefined;
    const fields = Array.isArray(args?.fields) ? args.fields.map(String) : [];
    const topic = `smd+${conid}`;
    if (!Number.isInteger(conid) || !this.instrument(conid)) {
      this.send(conn, { topic, error: `Invalid conid ${String(rest).slice(0, 20)}` });
      return;
    }
    if (!conn.smd.has(conid) && this.lines() >= this.settings.maxLines) {
      this.send(conn, { topic, error: `Max number of market data lines (${this.settings.maxLines}) reached` });
      return;
    }
    const prev = conn.smd.get(conid);
    const serverId = prev?.serverId ?? `q${this.serverIds++}`;
    const merged = [...new Set([...(prev?.fields ?? []), ...fields])];
    // A (re)subscription sends every field again.
    conn.smd.set(conid, { fields: merged, serverId, startedAt: Date.now(), last: {} });
    this.pushQuote(conn, conid);
  }

  private instrument(conid: number) {
    return this.state.universe.get(conid) ?? optionMarkets(this.state).lookup(conid);
  }

  private pushQuote(conn: Conn, conid: number): void {
    const sub = conn.smd.get(conid);
    const inst = this.instrument(conid);
    if (!sub || !inst) return;
    const now = this.state.clock.now();
    const values = quoteFields(this.state, inst, now, sub.fields);
    const msg: Record<string, unknown> = {};
    let changed = 0;
    for (const f of sub.fields) {
      const v = values[f];
      if (v === undefined) continue;
      const s = String(v);
      if (sub.last[f] === s) continue;
      sub.last[f] = s;
      msg[f] = s;
      changed++;
    }
    if (changed === 0) return;
    this.send(conn, {
      server_id: sub.serverId,
      conid,
      _updated: now,
      '6119': sub.serverId,
      ...msg,
      topic: `smd+${conid}`,
    });
  }

  /** `quiet`: remember the current rows without sending them (only later changes go out). */
  private pushOrders(conn: Conn, full: boolean, quiet = false): void {
    if (this.sorBlocked && !full) return;
    const engine = simOrders(this.state);
    const scoped = this.state.flags.accountScoping ? this.state.session.selectedAccount : undefined;
    const args: Record<string, unknown>[] = [];
    for (const o of engine.orders.values()) {
      if (scoped && o.acct !== scoped) continue;
      const row = liveRow(o);
      const last = conn.sorRows.get(o.orderId);
      if (!last) {
        // "sorNewPartial": a new order announced by its ids alone (a frame captured from IB).
        args.push(
          this.sorNewPartial && !full
            ? { acct: o.acct, conidex: String(o.conid), conid: o.conid, orderId: o.orderId, isEventTrading: '0' }
            : row,
        );
      } else {
        const diff: Record<string, unknown> = {};
        for (const [k, v] of Object.entries(row)) if (JSON.stringify(last[k]) !== JSON.stringify(v)) diff[k] = v;
        if (Object.keys(diff).length === 0) continue;
        args.push({ acct: o.acct, orderId: o.orderId, ...diff });
      }
      conn.sorRows.set(o.orderId, row);
    }
    if (quiet) return;
    if (args.length > 0 || full) this.send(conn, { topic: 'sor', args });
  }

  private pushPnl(conn: Conn): void {
    const body = pnlBody(this.state);
    const text = JSON.stringify(body);
    if (text === conn.splLast) return;
    conn.splLast = text;
    conn.splAt = Date.now();
    this.send(conn, { topic: 'spl', args: body });
  }

  private pushTrades(conn: Conn): void {
    const ex = simOrders(this.state).executions;
    if (ex.length <= conn.strSeen) return;
    const fresh = ex.slice(conn.strSeen).map(tradeRow);
    conn.strSeen = ex.length;
    this.send(conn, { topic: 'str', args: fresh });
  }

  /** A request may have changed orders: look at once rather than at the next tick. */
  nudge(): void {
    if (this.nudged || this.conns.size === 0) return;
    this.nudged = true;
    setImmediate(() => {
      this.nudged = false;
      this.tick();
    });
  }

  private tick(): void {
    const now = Date.now();
    const s = this.state.session;
    if (this.conns.size === 0) {
      this.stopTimer();
      return;
    }
    simOrders(this.state).step();
    for (const conn of [...this.conns]) {
      if (!conn.authed) continue;
      if (this.orphan && s.sso && s.brokerage && s.id !== conn.session) conn.orphaned = true;
      if (!conn.orphaned && (!s.sso || !s.brokerage || s.id !== conn.session)) {
        this.send(conn, { topic: 'sts', args: { authenticated: false, competing: s.competing, connected: s.sso } });
        this.end(conn, 1000, 'session ended');
        continue;
      }
      if (now - conn.lastHb >= this.settings.hbMs) {
        conn.lastHb = now;
        this.send(conn, { topic: 'system', hb: now });
      }
      // Bound to a session that is gone: the heartbeat goes on, nothing else does.
      if (conn.orphaned) continue;
      for (const [conid, sub] of conn.smd) {
        // IB ends a market-data stream after about 15 minutes, silently: the line stays taken.
        if (now - sub.startedAt >= this.settings.smdLifetimeMs) continue;
        this.pushQuote(conn, conid);
      }
      if (conn.sor) this.pushOrders(conn, false);
      if (conn.spl && now - conn.splAt >= this.settings.splMs) this.pushPnl(conn);
      if (conn.str) this.pushTrades(conn);
    }
  }

  private startTimer(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.tick(), Math.max(10, this.settings.tickMs));
    this.timer.unref();
  }

  private stopTimer(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private send(conn: Conn, msg: Record<string, unknown>): void {
    if (conn.silent) return;
    const topic = String(msg['topic'] ?? '').split('+')[0] ?? '';
    this.sent[topic] = (this.sent[topic] ?? 0) + 1;
    this.raw(conn, frame(OP_TEXT, JSON.stringify(msg)));
  }

  private raw(conn: Conn, data: Buffer): void {
    if (conn.silent) return;
    const write = () => {
      if (!conn.socket.destroyed && this.conns.has(conn)) conn.socket.write(data);
    };
    if (this.delayMs > 0) setTimeout(write, this.delayMs).unref();
    else write();
  }

  private end(conn: Conn, code: number, reason: string): void {
    if (!conn.socket.destroyed) conn.socket.end(closeFrame(code, reason));
    this.conns.delete(conn);
  }

  /** Every socket ends without a close frame (a gateway crash or a network cut). */
  dropAll(): void {
    for (const c of this.conns) c.socket.destroy();
    this.conns.clear();
  }

  close(): void {
    this.stopTimer();
    this.dropAll();
  }
}

function parseCookies(header: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0) out[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
  }
  return out;
}

function parseJson(s: string): unknown {
  try {
    return JSON.parse(s);
  } catch {
    return undefined;
  }
}

/** The hub of a simulator state (one per state). */
export function simWs(state: SimState): SimWsHub {
  return extOf(state, 'ws', () => new SimWsHub(state));
}
