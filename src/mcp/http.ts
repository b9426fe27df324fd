/**
 * Streamable HTTP transport: one always-on server that several MCP clients share.
 *
 * Every request passes, in this order: the Host check and the exact Origin check (scheme,
 * host and port; 403, DNS rebinding and other local web apps), the path (/healthz needs nothing
 * more; anything but /mcp is 404), the bearer token (401), and the body size limit (413). Only
 * then does a request reach the MCP layer, so a refused request never reaches IB. A refusal
 * closes its connection (a client cannot keep it busy trickling a body); slow headers and slow
 * bodies time out; one client address holds at most MAX_CONNECTIONS_PER_CLIENT connections; a
 * 2025-era session answers only the client (credential and address) that opened it.
 *
 * Both protocol eras are served from the same server factory: 2026-07-28 requests go to
 * the SDK's per-request handler (elicitation there is input_required + retry, stateless by
 * design); 2025-era clients get real sessions (Mcp-Session-Id), so a tool can send
 * elicitation/create mid-call and receive the answer on the same session. All of them share
 * one App: one backend, one IB session, one request pacer.
 */
import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { networkInterfaces, hostname as osHostname } from 'node:os';
import { join } from 'node:path';
import { deflateRawSync } from 'node:zlib';
import { toNodeHandler } from '@modelcontextprotocol/node';
import {
  createMcpHandler,
  isLegacyRequest,
  type McpServer,
  validateHostHeader,
  WebStandardStreamableHTTPServerTransport,
} from '@modelcontextprotocol/server';
import { type Config, ConfigError, ensureHome, isLoopbackHost } from '../config/index.js';
import { addSecret, type Logger } from '../log.js';
import type { App } from '../runtime.js';
import { createMcpServer } from './server.js';
import type { RunningServer } from './stdio.js';
import { feedChanges } from './subscriptions.js';

/** Largest MCP request body accepted. A 1000-symbol quote request is about 20 KB. */
export const MAX_BODY_BYTES = 1024 * 1024;
/** A generated or configured token must be at least this long. */
export const MIN_TOKEN_LENGTH = 32;
export const TOKEN_FILE = 'http-token';
/** 2025-era sessions: at most this many at once; idle ones are dropped after SESSION_IDLE_MS. */
export const MAX_SESSIONS = 256;
export const SESSION_IDLE_MS = 60 * 60 * 1000;
/** A token for a network bind must carry at least this much estimated entropy. */
export const MIN_TOKEN_ENTROPY_BITS = 128;
/** Headers must arrive within this time; an authorised request's body within BODY_TIMEOUT_MS. */
export const HEADERS_TIMEOUT_MS = 10_000;
export const BODY_TIMEOUT_MS = 30_000;
/** Open connections one client address may hold (an MCP client needs a few). */
export const MAX_CONNECTIONS_PER_CLIENT = 32;

const WILDCARD = new Set(['0.0.0.0', '::', '[::]']);

/** An address to listen on that only this machine reaches (src/config/net.ts). */
export function isLoopback(host: string): boolean {
  return isLoopbackHost(host);
}

/**
 * Estimated entropy of a token in bits: its length times the Shannon entropy of its own
 * character frequencies, bounded by its compressed size and by how varied its steps from one
 * character to the next are. A repeated letter scores 0, `abab…` 1 bit a character; 32 random
 * bytes as hex or base64url score well above MIN_TOKEN_ENTROPY_BITS.
 */
export function tokenEntropyBits(token: string): number {
  const counts = new Map<string, number>();
  for (const ch of token) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  const n = [...token].length;
  let perChar = 0;
  for (const c of counts.values()) perChar -= (c / n) * Math.log2(c / n);
  // A run like 0123456789… has high symbol entropy but no randomness: count distinct steps too.
  const steps = new Set<number>();
  const cps = [...token].map((c) => c.codePointAt(0)!);
  for (let i = 1; i < cps.length; i++) steps.add(cps[i]! - cps[i - 1]!);
  const stepBits = steps.size > 1 ? Math.log2(steps.size) : 0;
  // Repeats (abcdabcd…) compress: the deflated size bounds the information in the token.
  const compressedBits = Math.max(0, deflateRawSync(Buffer.from(token), { level: 9 }).length - 2) * 8;
  return Math.min(n * Math.min(perChar, stepBits + 1), compressedBits);
}

/** The bind rules: loopback is always fine; anything else needs TLS or an explicit --insecure-http, and a strong token. */
export function checkBindSafety(
  config: Pick<Config, 'host' | 'tlsCert' | 'tlsKey' | 'insecureHttp'>,
  token: { value: string | undefined; source: TokenInfo['source'] },
): void {
  if (Boolean(config.tlsCert) !== Boolean(config.tlsKey)) {
    throw new ConfigError('--tls-cert and --tls-key go together: give both (PEM files) or neither.');
  }
  if (token.source === 'config' && (token.value ?? '').length < MIN_TOKEN_LENGTH) {
    throw new ConfigError(
      `IBKR_MCP_TOKEN/--token is too short: use at least ${MIN_TOKEN_LENGTH} random characters (e.g. \`openssl rand -hex 32\`), or unset it to have one generated.`,
    );
  }
  if (isLoopback(config.host)) return;
  if (!token.value) {
    throw new ConfigError(
      `Refusing to listen on the non-loopback address ${config.host} without a bearer token you chose: set IBKR_MCP_TOKEN (at least ${MIN_TOKEN_LENGTH} random characters, e.g. \`openssl rand -hex 32\`), or start once on 127.0.0.1 to generate one in the state directory.`,
    );
  }
  if (!config.tlsCert && !config.insecureHttp) {
    throw new ConfigError(
      `Refusing to serve plain HTTP on the non-loopback address ${config.host}: the bearer token and account data would cross the network in clear. ` +
        'Give --tls-cert and --tls-key, or put a TLS proxy in front and pass --insecure-http, or bind 127.0.0.1.',
    );
  }
  if (tokenEntropyBits(token.value) < MIN_TOKEN_ENTROPY_BITS) {
    throw new ConfigError(
      `Refusing to listen on the non-loopback address ${config.host} with a guessable bearer token (about ${Math.floor(tokenEntropyBits(token.value))} bits of entropy, at least ${MIN_TOKEN_ENTROPY_BITS} needed): ` +
        'use random characters, e.g. `openssl rand -hex 32`.',
    );
  }
}

export interface TokenInfo {
  /** Undefined only when none exists and generating was not allowed. */
  value: string | undefined;
  source: 'config' | 'file' | 'generated' | 'none';
  path?: string;
}

/**
 * The bearer token: from config (IBKR_MCP_TOKEN), else from the state directory, else
 * generated and stored 0600 when `generate` (a loopback bind); a non-loopback bind must not
 * start on a token nobody chose.
 */
export function loadOrCreateToken(config: Pick<Config, 'token' | 'home'>, generate = true): TokenInfo {
  if (config.token) return { value: config.token, source: 'config' };
  const path = join(config.home, TOKEN_FILE);
  if (existsSync(path)) {
    const value = readFileSync(path, 'utf8').trim();
    if (value.length >= MIN_TOKEN_LENGTH) return { value, source: 'file', path };
  }
  if (!generate) return { value: undefined, source: 'none' };
  ensureHome(config.home);
  const value = randomBytes(32).toString('base64url');
  writeFileSync(path, `${value}\n`, { mode: 0o600 });
  chmodSync(path, 0o600); // `mode` applies only when the file is created
  return { value, source: 'generated', path };
}

/** Host names (no ports) accepted in Host and Origin headers. */
export function allowedHostnames(config: Pick<Config, 'host' | 'allowedHosts'>): string[] {
  const names = new Set(['localhost', '127.0.0.1', '[::1]']);
  const add = (h: string) => {
    const v = h.trim().toLowerCase();
    if (!v) return;
    names.add(v.includes(':') && !v.startsWith('[') ? `[${v}]` : v);
  };
  if (WILDCARD.has(config.host)) {
    // Bound to every interface: the machine's own addresses and name are how clients reach it.
    add(osHostname());
    for (const list of Object.values(networkInterfaces())) {
      for (const a of list ?? []) add(a.address.replace(/%.*$/, ''));
    }
  } else {
    add(config.host);
  }
  for (const h of config.allowedHosts) add(h);
  return [...names];
}

/** Normalised origin (scheme://host[:port], default ports dropped), or undefined when malformed. */
function normalOrigin(origin: string): string | undefined {
  try {
    const u = new URL(origin);
    if ((u.protocol !== 'http:' && u.protocol !== 'https:') || u.username || u.password) return undefined;
    if (u.pathname !== '/' || u.search || u.hash || origin.endsWith('/')) return undefined;
    return `${u.protocol}//${u.host}`.toLowerCase();
  } catch {
    return undefined;
  }
}

/**
 * Browser origins allowed to call the server: its own (every allowed host name with this
 * server's scheme and port) and the ones configured with --allowed-origins, compared exactly.
 */
export function allowedOrigins(
  hostnames: readonly string[],
  scheme: 'http' | 'https',
  port: number,
  extra: readonly string[] = [],
): Set<string> {
  const out = new Set<string>();
  for (const h of hostnames) {
    const o = normalOrigin(`${scheme}://${h}:${port}`);
    if (o) out.add(o);
  }
  for (const e of extra) {
    const o = normalOrigin(e.trim());
    if (!o)
      throw new ConfigError(`--allowed-origins: ${JSON.stringify(e)} is not an origin like http://localhost:6274.`);
    out.add(o);
  }
  return out;
}

/** Origin check: no header (not a browser) passes; otherwise it must be one of `allowed`, exactly. */
export function originAllowed(header: string | string[] | undefined, allowed: ReadonlySet<string>): boolean {
  if (header === undefined) return true;
  if (Array.isArray(header)) return false;
  const o = normalOrigin(header);
  return o !== undefined && allowed.has(o);
}

function tokenMatches(header: string | undefined, token: string): boolean {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  if (!m) return false;
  const given = Buffer.from(m[1]!);
  const want = Buffer.from(token);
  return given.length === want.length && timingSafeEqual(given, want);
}

/**
 * A refusal: the answer, then the connection is closed. The client may still be sending a
 * body (slowly, on purpose); we neither read it nor keep the socket for another request.
 * `drain` (a declared body over the limit): closing at once would reset a connection whose body
 * is still arriving, and the reset can reach the client before it reads the answer (a 2 MB upload
 * saw ECONNRESET, never 413). The answer then leaves the connection open, Node discards the body,
 * and the socket is destroyed a second later whatever the client does.
 */
function jsonError(
  res: ServerResponse,
  status: number,
  message: string,
  headers: Record<string, string> = {},
  drain = false,
): void {
  const body = JSON.stringify({ jsonrpc: '2.0', error: { code: -32000, message }, id: null });
  if (!drain) res.shouldKeepAlive = false;
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(body)),
    ...(drain ? {} : { connection: 'close' }),
    ...headers,
  });
  const socket = res.socket;
  res.end(body, () => (drain ? setTimeout(() => socket?.destroy(), 1000).unref() : socket?.destroy()));
}

const CORS_HEADERS = {
  'access-control-allow-methods': 'GET, POST, DELETE, OPTIONS',
  'access-control-allow-headers':
    'authorization, content-type, accept, mcp-session-id, mcp-protocol-version, last-event-id, mcp-method, mcp-name',
  'access-control-expose-headers': 'mcp-session-id, mcp-protocol-version, www-authenticate',
  'access-control-max-age': '600',
  vary: 'Origin',
};

interface Session {
  transport: WebStandardStreamableHTTPServerTransport;
  /** Who opened it: a hash of the credential and the client address. */
  owner: string;
  close(): Promise<void>;
  lastSeen: number;
}

export interface HttpServer extends RunningServer {
  /** The MCP endpoint, e.g. http://127.0.0.1:8765/mcp. */
  url: string;
  /** How many 2025-era sessions are open. */
  sessionCount(): number;
}

function firstRequest(body: unknown): { method?: string } | undefined {
  const msg = Array.isArray(body) ? body[0] : body;
  return msg && typeof msg === 'object' ? (msg as { method?: string }) : undefined;
}

export interface StartHttpOptions {
  /** The per-connection server factory; default createMcpServer(app). Tests pass their own. */
  factory?: (ctx: { era: 'legacy' | 'modern' }) => McpServer;
  /** Announce on stderr (default true). */
  announce?: boolean;
  /** Tests shorten these: HEADERS_TIMEOUT_MS, BODY_TIMEOUT_MS, MAX_CONNECTIONS_PER_CLIENT. */
  headersTimeoutMs?: number;
  bodyTimeoutMs?: number;
  maxConnectionsPerClient?: number;
}

/** Who a request comes from, for session ownership: the credential it presented and its address. */
function clientFingerprint(req: IncomingMessage): string {
  return createHash('sha256')
    .update(String(req.headers.authorization ?? ''))
    .update('\0')
    .update(req.socket.remoteAddress ?? '')
    .digest('hex');
}

/** The auth info we hand to the MCP layer; `extra.client` carries the fingerprint to the session table. */
function clientOf(authInfo: unknown): string | undefined {
  const extra = (authInfo as { extra?: { client?: unknown } } | undefined)?.extra;
  return typeof extra?.client === 'string' ? extra.client : undefined;
}

/** Starts the HTTP transport; resolves once it is listening. */
export async function startHttp(app: App, opts: StartHttpOptions = {}): Promise<HttpServer> {
  const { config } = app;
  const log: Logger = app.log.child({ mod: 'http' });
  const found = loadOrCreateToken(config, isLoopback(config.host));
  checkBindSafety(config, found);
  const token = { ...found, value: found.value! };
  addSecret(token.value);
  const hostnames = allowedHostnames(config);
  const bodyTimeoutMs = opts.bodyTimeoutMs ?? BODY_TIMEOUT_MS;
  const perClient = opts.maxConnectionsPerClient ?? MAX_CONNECTIONS_PER_CLIENT;
  // Filled in once the port is known (--port 0 picks one); the configured ones are checked now.
  let origins: Set<string> = allowedOrigins([], 'http', 1, config.allowedOrigins);
  // 2026-07-28 requests each get their own instance ('stateless'); 2025-era sessions keep theirs.
  const factory =
    opts.factory ?? ((ctx) => createMcpServer(app, undefined, ctx.era === 'modern' ? 'stateless' : 'legacy'));
  const onerror = (err: Error) => log.warn('mcp http error', { err: err.message });

  // 2026-07-28: per-request, stateless.
  const modern = createMcpHandler(factory, { legacy: 'reject', maxRequestBodySize: MAX_BODY_BYTES, onerror });
  // Its subscriptions/listen streams hear of order, position and P&L changes (quotes: see subscriptions.ts).
  const stopFeed = feedChanges(app.backend, (uri) => modern.notify.resourceUpdated(uri));

  // 2025-era: sessions, so server-to-client requests (elicitation) reach the client mid-call.
  const sessions = new Map<string, Session>();
  const evictIdle = (now: number) => {
    for (const [id, s] of sessions) {
      if (now - s.lastSeen > SESSION_IDLE_MS) {
        sessions.delete(id);
        void s.close();
      }
    }
  };
  const sweeper = setInterval(() => evictIdle(Date.now()), 60_000);
  sweeper.unref();

  const legacy = async (request: Request, authInfo: unknown): Promise<Response> => {
    const opts = authInfo ? { authInfo: authInfo as never } : {};
    const sid = request.headers.get('mcp-session-id');
    const client = clientOf(authInfo);
    if (sid) {
      const s = sessions.get(sid);
      // Another client's session is answered as unknown: it can neither use nor end it.
      if (!s || client === undefined || s.owner !== client) {
        return Response.json(
          {
            jsonrpc: '2.0',
            error: { code: -32001, message: 'Session not found; initialize a new session.' },
            id: null,
          },
          { status: 404 },
        );
      }
      s.lastSeen = Date.now();
      return s.transport.handleRequest(request, opts);
    }
    const body =
      request.method === 'POST'
        ? await request
            .clone()
            .json()
            .catch(() => undefined)
        : undefined;
    if (firstRequest(body)?.method !== 'initialize') {
      return Response.json(
        {
          jsonrpc: '2.0',
          error: { code: -32000, message: 'Bad Request: no session; send initialize first.' },
          id: null,
        },
        { status: 400 },
      );
    }
    if (sessions.size >= MAX_SESSIONS) {
      // Make room by dropping the longest-idle session.
      const oldest = [...sessions.entries()].sort((a, b) => a[1].lastSeen - b[1].lastSeen)[0];
      if (oldest) {
        sessions.delete(oldest[0]);
        void oldest[1].close();
      }
    }
    if (client === undefined) throw new Error('request without a client fingerprint');
    const server = factory({ era: 'legacy' });
    const transport: WebStandardStreamableHTTPServerTransport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      maxRequestBodySize: MAX_BODY_BYTES,
      onsessioninitialized: (id) => {
        sessions.set(id, {
          transport,
          owner: client,
          lastSeen: Date.now(),
          close: () => server.close().catch(() => {}),
        });
        log.debug('session opened', { sessions: sessions.size });
      },
      onsessionclosed: (id) => {
        sessions.delete(id);
        log.debug('session closed', { sessions: sessions.size });
      },
    });
    transport.onerror = onerror;
    await server.connect(transport);
    return transport.handleRequest(request, opts);
  };

  const route = async (request: Request, options?: { authInfo?: unknown }): Promise<Response> => {
    if (await isLegacyRequest(request, undefined, { maxRequestBodySize: MAX_BODY_BYTES })) {
      return legacy(request, options?.authInfo);
    }
    return modern.fetch(request, options as never);
  };
  const mcpNode = toNodeHandler({ fetch: route }, { maxRequestBodySize: MAX_BODY_BYTES, onerror });

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const host = validateHostHeader(req.headers.host, hostnames);
    if (!host.ok) {
      log.warn('refused request: unexpected Host', { host: String(req.headers.host ?? '').slice(0, 100) });
      return jsonError(res, 403, 'Forbidden: unexpected Host header.');
    }
    const originHeader = req.headers.origin;
    if (!originAllowed(originHeader, origins)) {
      log.warn('refused request: foreign Origin', { origin: String(originHeader).slice(0, 100) });
      return jsonError(res, 403, 'Forbidden: unexpected Origin header.');
    }
    const cors: Record<string, string> =
      typeof originHeader === 'string' ? { 'access-control-allow-origin': originHeader, ...CORS_HEADERS } : {};
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/healthz') {
      if (req.method !== 'GET' && req.method !== 'HEAD') return jsonError(res, 405, 'Method not allowed.', cors);
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store', ...cors });
      res.end(req.method === 'HEAD' ? undefined : '{"status":"ok"}');
      return;
    }
    if (path !== '/mcp') return jsonError(res, 404, 'Not found. The MCP endpoint is /mcp.', cors);
    if (req.method === 'OPTIONS') {
      // Preflight: only origins that passed the check above get CORS headers.
      res.writeHead(204, cors);
      res.end();
      return;
    }
    if (!tokenMatches(req.headers.authorization, token.value)) {
      log.warn('refused request: missing or wrong bearer token');
      return jsonError(
        res,
        401,
        'Unauthorized: send Authorization: Bearer <token> (see the server start-up message).',
        {
          'www-authenticate': 'Bearer realm="ibkr-mcp"',
          ...cors,
        },
      );
    }
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > MAX_BODY_BYTES) {
      return jsonError(res, 413, `Request body too large: at most ${MAX_BODY_BYTES} bytes.`, cors, true);
    }
    for (const [k, v] of Object.entries(cors)) res.setHeader(k, v);
    (req as IncomingMessage & { auth?: unknown }).auth = {
      token: 'bearer',
      clientId: 'bearer-token',
      scopes: [],
      extra: { client: clientFingerprint(req) },
    };
    // The body must arrive in time; a client trickling it is cut off (the timer ends with the body).
    if (!req.complete) {
      const timer = setTimeout(() => {
        if (req.complete) return;
        log.warn('closed a connection: request body too slow');
        if (!res.headersSent) jsonError(res, 408, 'Request body not received in time.');
        else req.socket.destroy();
      }, bodyTimeoutMs);
      timer.unref();
      req.once('end', () => clearTimeout(timer));
      req.once('close', () => clearTimeout(timer));
    }
    await mcpNode(req as never, res as never);
  };

  const listener = (req: IncomingMessage, res: ServerResponse) => {
    handle(req, res).catch((err: unknown) => {
      log.error('http handler failed', { err: err instanceof Error ? err.message : String(err) });
      if (!res.headersSent) jsonError(res, 500, 'Internal server error.');
      else res.end();
    });
  };
  const tls = config.tlsCert && config.tlsKey;
  const headersTimeout = opts.headersTimeoutMs ?? HEADERS_TIMEOUT_MS;
  const serverOptions = {
    // Node checks the headers timeout on this interval; keep it well below the timeout.
    connectionsCheckingInterval: Math.max(250, Math.min(1000, Math.floor(headersTimeout / 4))),
    headersTimeout,
    requestTimeout: 0, // SSE streams stay open; bodies have their own timer (bodyTimeoutMs).
  };
  const server: Server = tls
    ? createHttpsServer(
        { ...serverOptions, cert: readFileSync(config.tlsCert!), key: readFileSync(config.tlsKey!) },
        listener,
      )
    : createHttpServer(serverOptions, listener);
  // At most `perClient` open connections per client address; more are closed at once.
  const byAddress = new Map<string, number>();
  server.on('connection', (socket: Socket) => {
    const addr = socket.remoteAddress ?? '?';
    const n = byAddress.get(addr) ?? 0;
    if (n >= perClient) {
      log.warn('refused a connection: too many from one address', { open: n });
      socket.destroy();
      return;
    }
    byAddress.set(addr, n + 1);
    socket.once('close', () => {
      const left = (byAddress.get(addr) ?? 1) - 1;
      if (left > 0) byAddress.set(addr, left);
      else byAddress.delete(addr);
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        err.code === 'EADDRINUSE'
          ? new ConfigError(`Port ${config.port} on ${config.host} is in use; pick another with --port.`)
          : err,
      ),
    );
    server.listen(config.port, config.host, () => resolve());
  });
  const addr = server.address() as AddressInfo;
  origins = allowedOrigins(hostnames, tls ? 'https' : 'http', addr.port, config.allowedOrigins);
  const shownHost = WILDCARD.has(config.host)
    ? osHostname()
    : addr.family === 'IPv6'
      ? `[${addr.address}]`
      : addr.address;
  const url = `${tls ? 'https' : 'http'}://${shownHost}:${addr.port}/mcp`;
  if (opts.announce !== false) announce(url, token, config);
  log.info('ibkr-mcp HTTP listening', { url, tls: Boolean(tls), allowedHosts: hostnames });

  let done!: () => void;
  const closed = new Promise<void>((r) => {
    done = r;
  });
  let closing = false;
  const close = async () => {
    if (closing) return closed;
    closing = true;
    log.info('ibkr-mcp shutting down');
    clearInterval(sweeper);
    await Promise.all([...sessions.values()].map((s) => s.close()));
    sessions.clear();
    stopFeed();
    await modern.close().catch(() => {});
    server.closeAllConnections?.();
    await new Promise<void>((r) => server.close(() => r()));
    await app.close();
    done();
  };
  process.once('SIGINT', () => void close());
  process.once('SIGTERM', () => void close());
  return { url, closed, close, sessionCount: () => sessions.size };
}

/** The start-up message on stderr: where to connect, and the token once, when it was just generated. */
function announce(url: string, token: TokenInfo, config: Config): void {
  const lines = [`ibkr-mcp: MCP endpoint ${url} (health: ${url.replace(/\/mcp$/, '/healthz')})`];
  if (token.source === 'generated') {
    const snippet = JSON.stringify(
      { mcpServers: { ibkr: { type: 'http', url, headers: { Authorization: `Bearer ${token.value}` } } } },
      null,
      2,
    );
    lines.push(
      `ibkr-mcp: generated a bearer token, stored owner-only in ${token.path}. It is shown this once:`,
      `  ${token.value}`,
      'Client configuration (Claude Desktop, Cursor and others that take mcpServers JSON):',
      snippet,
      `Claude Code: claude mcp add --transport http ibkr ${url} --header "Authorization: Bearer ${token.value}"`,
    );
  } else if (token.source === 'file') {
    lines.push(`ibkr-mcp: clients authenticate with the bearer token stored in ${token.path}.`);
  } else {
    lines.push('ibkr-mcp: clients authenticate with the bearer token from IBKR_MCP_TOKEN.');
  }
  if (!isLoopback(config.host) && !config.tlsCert) {
    lines.push(
      'ibkr-mcp: WARNING plain HTTP on a non-loopback address (--insecure-http): use only behind a TLS proxy.',
    );
  }
  process.stderr.write(`${lines.join('\n')}\n`);
}
