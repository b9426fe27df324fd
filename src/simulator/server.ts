/**
 * HTTP(S) server, a tiny router with path parameters, and the request pipeline of
 * the simulated gateway:
 *
 *   /v1/api/*  read body → session inactivity check → stats → 411 → faults (hang/fail)
 *              → pacing (429) → latency → auth gate (401) → "no bridge" (400)
 *              → "/accounts first" gate (400) → route handler
 *   /sim/*     control surface (no auth, pacing, latency or stats)
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import { LST_ROUTE, oauthOf } from './oauth.js';
import { checkParamNames, ParamError } from './profiles.js';
import type { Replay } from './replay.js';
import type { SimState } from './state.js';
import { logout, touchSession } from './state.js';

export type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';

export interface RouteContext {
  state: SimState;
  method: Method;
  /** Concrete path below /v1/api (or the full /sim path for control routes). */
  path: string;
  /** Route pattern, e.g. /iserver/contract/:conid/info. */
  pattern: string;
  params: Record<string, string>;
  query: URLSearchParams;
  /** Parsed JSON body (undefined when empty). */
  body: unknown;
  req: IncomingMessage;
}

export interface Reply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export type Handler = (ctx: RouteContext) => Reply | Promise<Reply>;

export type AuthTier = 'none' | 'sso' | 'brokerage';

export interface RouteOptions {
  /** Who may call: 'none' = always, 'sso' = logged in, 'brokerage' = brokerage session. Default: /iserver/* → brokerage, else sso. */
  auth?: AuthTier;
  /** Answer 400 "Please query /accounts first" until GET /iserver/accounts was called in this session. */
  requiresAccounts?: boolean;
}

export interface Route {
  method: Method;
  pattern: string;
  segments: string[];
  paramCount: number;
  handler: Handler;
  opts: RouteOptions;
}

/** Error a handler may throw to answer with a given status and JSON body. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
  ) {
    super(typeof body === 'object' && body && 'error' in body ? String((body as { error: unknown }).error) : 'error');
  }
}

export const json = (body: unknown, status = 200): Reply => ({ status, body });

/** IB's gateway error shape: {"error": msg, "statusCode": n}. */
export const ibError = (status: number, error: string): Reply => ({ status, body: { error, statusCode: status } });

export const NOT_AUTHENTICATED = { error: 'not authenticated', statusCode: 401 };
export const ACCOUNTS_FIRST = { error: 'Bad Request: Please query /accounts first', statusCode: 400 };
export const NO_BRIDGE = { error: 'Bad Request: no bridge', statusCode: 400 };
export const TOO_MANY = { error: 'Too many requests', statusCode: 429 };

function splitPath(p: string): string[] {
  return p.split('/').filter((s) => s.length > 0);
}

export class Router {
  readonly api: Route[] = [];
  readonly control: Route[] = [];

  private make(method: Method, pattern: string, handler: Handler, opts: RouteOptions): Route {
    const segments = splitPath(pattern);
    return { method, pattern, segments, paramCount: segments.filter((s) => s.startsWith(':')).length, handler, opts };
  }

  /** Registers an API route (pattern relative to /v1/api) for one or more methods. */
  add(methods: Method | Method[], pattern: string, handler: Handler, opts: RouteOptions = {}): void {
    for (const m of Array.isArray(methods) ? methods : [methods]) this.api.push(this.make(m, pattern, handler, opts));
  }
  get(pattern: string, handler: Handler, opts?: RouteOptions): void {
    this.add('GET', pattern, handler, opts);
  }
  post(pattern: string, handler: Handler, opts?: RouteOptions): void {
    this.add('POST', pattern, handler, opts);
  }
  delete(pattern: string, handler: Handler, opts?: RouteOptions): void {
    this.add('DELETE', pattern, handler, opts);
  }
  put(pattern: string, handler: Handler, opts?: RouteOptions): void {
    this.add('PUT', pattern, handler, opts);
  }

  /** Registers a control route; `pattern` is the full path, e.g. /sim/stats. */
  addControl(methods: Method | Method[], pattern: string, handler: Handler): void {
    for (const m of Array.isArray(methods) ? methods : [methods]) this.control.push(this.make(m, pattern, handler, {}));
  }

  match(
    routes: Route[],
    method: string,
    path: string,
  ): { route: Route; params: Record<string, string> } | { methodNotAllowed: true } | undefined {
    const segs = splitPath(path);
    let best: { route: Route; params: Record<string, string> } | undefined;
    let pathMatched = false;
    for (const r of routes) {
      if (r.segments.length !== segs.length) continue;
      const params: Record<string, string> = {};
      let ok = true;
      for (let i = 0; i < segs.length; i++) {
        const want = r.segments[i] as string;
        const got = segs[i] as string;
        if (want.startsWith(':')) params[want.slice(1)] = decodeURIComponent(got);
        else if (want !== got) {
          ok = false;
          break;
        }
      }
      if (!ok) continue;
      pathMatched = true;
      if (r.method !== method) continue;
      if (!best || r.paramCount < best.route.paramCount) best = { route: r, params };
    }
    if (best) return best;
    return pathMatched ? { methodNotAllowed: true } : undefined;
  }
}

const API_PREFIX = '/v1/api';
const MAX_BODY = 1_000_000;

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(new HttpError(413, { error: 'Payload Too Large', statusCode: 413 }));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function parseJson(raw: string): unknown {
  if (raw.trim() === '') return undefined;
  try {
    return JSON.parse(raw);
  } catch {
    throw new HttpError(400, { error: 'Bad Request', statusCode: 400 });
  }
}

/** Does a fault rule's endpoint spec match this request? Accepts "*", "METHOD /pattern", "METHOD /path" or "/path". */
export function endpointMatches(spec: string, method: string, pattern: string | undefined, path: string): boolean {
  const s = spec.trim();
  if (s === '*') return true;
  const sp = s.indexOf(' ');
  const m = sp > 0 ? s.slice(0, sp).toUpperCase() : undefined;
  let p = sp > 0 ? s.slice(sp + 1).trim() : s;
  if (p.startsWith(API_PREFIX)) p = p.slice(API_PREFIX.length);
  if (m && m !== method) return false;
  return p === pattern || p === path;
}

export interface ServerCore {
  handle(req: IncomingMessage, res: ServerResponse): void;
  trackSocket(socket: Socket): void;
  shutdown(): void;
}

/** Builds the request handler for a state and router. */
export function createCore(state: SimState, router: Router, replay?: Replay): ServerCore {
  const sockets = new Set<Socket>();
  /** The TCP sockets under the connections, by the client's address and port (a TLS socket shares them). */
  const byPeer = new Map<string, Socket>();
  const peerKey = (s: Socket) => `${s.remoteAddress}|${s.remotePort}`;
  const timers = new Set<NodeJS.Timeout>();
  let closing = false;

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      if (ms <= 0 || closing) return resolve();
      const t = setTimeout(() => {
        timers.delete(t);
        resolve();
      }, ms);
      timers.add(t);
    });

  function send(res: ServerResponse, reply: Reply, counted: boolean): void {
    if (res.writableEnded || res.destroyed) return;
    // A string body with a text/* Content-Type (the login page) goes out as is; everything else is JSON.
    const text = typeof reply.body === 'string' && /^text\//.test(reply.headers?.['Content-Type'] ?? '');
    const payload = reply.body === undefined ? '' : text ? (reply.body as string) : JSON.stringify(reply.body);
    if (counted) {
      const k = String(reply.status);
      state.stats.byStatus[k] = (state.stats.byStatus[k] ?? 0) + 1;
      if (reply.status === 429) state.stats.status429 += 1;
    }
    res.writeHead(reply.status, {
      'Content-Type': 'application/json; charset=utf-8',
      'Content-Length': Buffer.byteLength(payload),
      ...(reply.headers ?? {}),
    });
    res.end(payload);
  }

  /**
   * Ends the request's connection with a TCP RST, as a crashed or restarted gateway does: the client
   * sees ECONNRESET, not an answer. Over HTTPS the RST goes out on the TCP socket under the TLS
   * socket (Node refuses resetAndDestroy on a TLS socket itself).
   */
  function resetConnection(res: ServerResponse): void {
    const socket = res.socket;
    if (!socket) {
      res.destroy();
      return;
    }
    const tcp = socket instanceof TLSSocket ? byPeer.get(peerKey(socket)) : socket;
    if (tcp && !tcp.destroyed) tcp.resetAndDestroy();
    socket.destroy();
    res.destroy();
  }

  async function runHandler(route: Route, ctx: RouteContext): Promise<Reply> {
    try {
      return await route.handler(ctx);
    } catch (e) {
      if (e instanceof HttpError) return { status: e.status, body: e.body };
      if (e instanceof ParamError) return { status: 400, body: { error: e.message, statusCode: 400 } };
      return { status: 500, body: { error: e instanceof Error ? e.message : String(e) } };
    }
  }

  async function handleControl(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const method = (req.method ?? 'GET').toUpperCase() as Method;
    let body: unknown;
    try {
      body = parseJson(await readBody(req));
    } catch (e) {
      send(res, e instanceof HttpError ? { status: e.status, body: e.body } : json({ error: 'bad body' }, 400), false);
      return;
    }
    const m = router.match(router.control, method, url.pathname);
    if (!m) return send(res, json({ error: `no control endpoint ${url.pathname}` }, 404), false);
    if ('methodNotAllowed' in m) return send(res, json({ error: 'Method Not Allowed' }, 405), false);
    const ctx: RouteContext = {
      state,
      method,
      path: url.pathname,
      pattern: m.route.pattern,
      params: m.params,
      query: url.searchParams,
      body,
      req,
    };
    const reply = await runHandler(m.route, ctx);
    // A control call may end the session or change orders: the WebSocket says so at once.
    for (const h of state.hooks.afterRequest) h();
    send(res, reply, false);
  }

  async function handleApi(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const method = (req.method ?? 'GET').toUpperCase() as Method;
    const path = url.pathname.slice(API_PREFIX.length) || '/';
    let raw = '';
    let bodyError: HttpError | undefined;
    try {
      raw = await readBody(req);
    } catch (e) {
      bodyError = e instanceof HttpError ? e : new HttpError(400, { error: 'Bad Request', statusCode: 400 });
    }
    if (closing) return;

    touchSession(state);
    const m = router.match(router.api, method, path);
    const route = m && 'route' in m ? m.route : undefined;
    const key = `${method} ${route ? route.pattern : path}`;
    state.stats.total += 1;
    state.stats.byEndpoint[key] = (state.stats.byEndpoint[key] ?? 0) + 1;
    state.counters.requests += 1;

    // 411: POST/PUT must carry Content-Length (Content-Length: 0 is fine).
    if ((method === 'POST' || method === 'PUT') && req.headers['content-length'] === undefined) {
      return send(res, json({ error: 'Length Required', statusCode: 411 }, 411), true);
    }

    // Faults.
    const hang = state.faults.hang.find(
      (h) => h.count > 0 && endpointMatches(h.endpoint, method, route?.pattern, path),
    );
    if (hang) {
      hang.count -= 1;
      state.faults.hang = state.faults.hang.filter((h) => h.count > 0);
      return; // never answer; the socket is destroyed by close() or by the client.
    }
    const reset = state.faults.reset.find(
      (r) => r.count > 0 && endpointMatches(r.endpoint, method, route?.pattern, path),
    );
    if (reset) {
      reset.count -= 1;
      state.faults.reset = state.faults.reset.filter((r) => r.count > 0);
      resetConnection(res);
      return;
    }
    const fail = state.faults.fail.find(
      (f) => f.count > 0 && endpointMatches(f.endpoint, method, route?.pattern, path),
    );
    if (fail) {
      fail.count -= 1;
      state.faults.fail = state.faults.fail.filter((f) => f.count > 0);
      return send(
        res,
        { status: fail.status, body: fail.body ?? { error: 'simulated failure', statusCode: fail.status } },
        true,
      );
    }

    // A replayed capture (replay.ts) answers what it recorded, before pacing and the session checks.
    const recorded = replay?.answer(method, path, url.searchParams);
    if (recorded) return send(res, { status: recorded.status, body: recorded.body }, true);

    // Pacing.
    let release: (() => void) | undefined;
    if (state.flags.pacing) {
      const now = state.clock.realNow();
      if (state.faults.penaltyUntil > now) return send(res, json(TOO_MANY, 429), true);
      const decision = state.pacer.check(method, path, now);
      if (!decision.ok) {
        const key = `${decision.rule} ${method} ${route?.pattern ?? path}`;
        state.stats.rejected[key] = (state.stats.rejected[key] ?? 0) + 1;
        if (state.faults.penaltyBoxMs > 0) state.faults.penaltyUntil = now + state.faults.penaltyBoxMs;
        return send(res, json(TOO_MANY, 429), true);
      }
      release = decision.release;
      res.on('close', release);
    }

    try {
      await sleep(state.opts.latencyMs + state.faults.latencyMs);
      if (closing) return;
      if (bodyError) return send(res, { status: bodyError.status, body: bodyError.body }, true);

      // OAuth 1.0a (api.ibkr.com): the live session token, then every request signed with it.
      const oauth = oauthOf(state);
      if (oauth) {
        const tls = req.socket instanceof TLSSocket;
        if (method === 'POST' && path === LST_ROUTE) return send(res, oauth.liveSessionToken(req, tls, url), true);
        const refused = oauth.check(req, tls, url);
        if (refused) return send(res, refused, true);
      }

      const tier: AuthTier = route?.opts.auth ?? (path.startsWith('/iserver') ? 'brokerage' : 'sso');
      const s = state.session;
      if (tier !== 'none' && (!s.sso || (tier === 'brokerage' && !s.brokerage))) {
        return send(res, json(NOT_AUTHENTICATED, 401), true);
      }
      if (!m) return send(res, json({ error: `Not Found: ${method} ${path}`, statusCode: 404 }, 404), true);
      // A known path with another method: 405 with Allow, as the gateway's vert.x router answers
      // (IB documents nothing; an unknown path is 404).
      if (!route) {
        const allow = [...new Set(router.api.filter((r) => router.match([r], r.method, path)).map((r) => r.method))];
        return send(
          res,
          { status: 405, body: { error: 'Method Not Allowed', statusCode: 405 }, headers: { Allow: allow.join(', ') } },
          true,
        );
      }
      if (tier === 'brokerage' && s.noBridge) return send(res, json(NO_BRIDGE, 400), true);
      if (route.opts.requiresAccounts && !s.accountsQueried) return send(res, json(ACCOUNTS_FIRST, 400), true);

      let body: unknown;
      try {
        body = parseJson(raw);
      } catch (e) {
        const he = e as HttpError;
        return send(res, { status: he.status, body: he.body }, true);
      }
      const misspelt = checkParamNames(state, `${method} ${route.pattern}`, url.searchParams, body);
      if (misspelt) return send(res, misspelt, true);
      const params = m && 'params' in m ? m.params : {};
      const ctx: RouteContext = {
        state,
        method,
        path,
        pattern: route.pattern,
        params,
        query: url.searchParams,
        body,
        req,
      };
      const reply = await runHandler(route, ctx);
      if (closing) return;
      for (const h of state.hooks.afterRequest) h();
      const drop = state.faults.drop.find(
        (d) => d.count > 0 && endpointMatches(d.endpoint, method, route.pattern, path),
      );
      if (drop) {
        // The request took effect; its answer is lost (and, with logout, the gateway "restarted").
        drop.count -= 1;
        state.faults.drop = state.faults.drop.filter((d) => d.count > 0);
        if (drop.logout) logout(state);
        res.socket?.destroy();
        res.destroy();
        return;
      }
      send(res, reply, true);
    } finally {
      release?.();
    }
  }

  return {
    handle(req, res) {
      const url = new URL(req.url ?? '/', 'http://localhost');
      const p = url.pathname;
      let work: Promise<void>;
      if (p === API_PREFIX || p.startsWith(`${API_PREFIX}/`)) work = handleApi(req, res, url);
      // /sso/* is the login page (routes/login.ts), served like the control surface: no pacing, auth or stats.
      else if (p.startsWith('/sim/') || p.startsWith('/sso/')) work = handleControl(req, res, url);
      else {
        res.writeHead(p === '/' ? 200 : 404, { 'Content-Type': 'text/plain; charset=utf-8' });
        res.end(
          p === '/'
            ? 'ibkr-mcp Client Portal gateway simulator. API under /v1/api, control under /sim.\n'
            : 'Not Found\n',
        );
        return;
      }
      work.catch((e: unknown) => {
        send(res, json({ error: e instanceof Error ? e.message : String(e) }, 500), false);
      });
    },
    trackSocket(socket) {
      sockets.add(socket);
      const key = peerKey(socket);
      byPeer.set(key, socket);
      socket.on('close', () => {
        sockets.delete(socket);
        if (byPeer.get(key) === socket) byPeer.delete(key);
      });
    },
    shutdown() {
      closing = true;
      for (const t of timers) clearTimeout(t);
      timers.clear();
      for (const s of sockets) s.destroy();
      sockets.clear();
      byPeer.clear();
    },
  };
}
