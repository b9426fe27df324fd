/**
 * HTTP transport to IB's Client Portal gateway: keep-alive pool, TLS policy, timeouts,
 * pacing, retries and the mapping of the gateway's failure modes to BrokerError.
 */

import { type Dispatcher, Pool } from 'undici';
import { BrokerError } from '../../broker/errors.js';
import { untrusted } from '../../broker/untrusted.js';
import { isLoopbackHost as isLoopback } from '../../config/net.js';
import { addSecret, type Logger, silentLogger } from '../../log.js';
import type { ExchangeRecorder } from './capture.js';
import { Pacer } from './limiter.js';
import { LST_PATH, type LstAnswer, type OAuthSigner } from './oauth.js';
import { sleep } from './wire.js';

export type HttpMethod = 'GET' | 'POST' | 'DELETE';

export interface CpapiHttpOptions {
  /** Gateway URL, e.g. https://127.0.0.1:5000 (a trailing /v1/api is accepted). */
  baseUrl: string;
  /** Per-request timeout in ms (default 15000). */
  timeoutMs?: number;
  /** Skip certificate verification for a non-loopback host. Loopback hosts are always relaxed. */
  insecureTls?: boolean;
  log?: Logger;
  /** Shared pacer for this gateway; one is created when absent. */
  pacer?: Pacer;
  /** Parallel connections to the gateway (default 10: a whole pacing window in flight at once). */
  connections?: number;
  /** Retries for reads after 5xx/429 (default 3). */
  maxRetries?: number;
  /** Base backoff in ms for 5xx retries (default 200, doubled each time). */
  backoffMs?: number;
  /** The session state machine's gate (src/gateway/session.ts): refuses requests at once while not logged in. */
  gate?: SessionGate;
  /** Capture mode (--capture): every exchange is handed to it, which redacts it before writing. */
  recorder?: ExchangeRecorder;
  /** OAuth 1.0a (api.ibkr.com without a gateway): signs every request with its live session token. */
  signer?: OAuthSigner;
}

export type Query = Record<string, string | number | boolean | undefined>;

export interface RequestOptions {
  /**
   * Query parameters. A function is evaluated when the pacer grants the request its slot, so a
   * batcher can keep adding to a request while it waits (see snapshot-batcher.ts).
   */
  query?: Query | (() => Query);
  body?: unknown;
  signal?: AbortSignal;
  /** A POST that may safely be repeated (auth/status, tickle, secdef/search). GETs always are. */
  idempotent?: boolean;
  /**
   * Share one in-flight GET among identical concurrent calls (same path and query).
   * Each caller's signal still cancels its own wait; the shared request keeps only the timeout.
   */
  coalesce?: boolean;
  /** Skip the "Please query /accounts first" recovery (used by the /iserver/accounts call itself). */
  noRecovery?: boolean;
  /** Background work (warm-up): paced behind tool calls, only in a quiet window (Pacer's AcquireOptions). */
  background?: boolean | (() => boolean);
  /** Whose request this is, for the pacer's fair sharing between calls (default: the signal). */
  owner?: object;
  /** Retries after a 5xx, when fewer than the client's (an answer IB gives the same way again). */
  retries?: number;
}

export interface CpapiResponse<T = unknown> {
  status: number;
  data: T;
}

/** Hooks the backend installs so the transport can recover a brokerage session. */
export interface SessionHooks {
  /** Called when IB says "Please query /accounts first": must call /iserver/accounts. */
  queryAccounts?: (signal?: AbortSignal) => Promise<void>;
  /** Called when the brokerage session was (re)established or lost: market-data subscriptions are gone. */
  sessionReset?: () => void;
}

/** Consulted before every request and on a 401, so errors carry the session's state and what to do. */
export interface SessionGate {
  /** Resolves when requests may go out; throws a BrokerError (the state, what to do) otherwise. */
  check(path: string): Promise<void>;
  /** The error for a 401 from the gateway, once the session's state is known again. */
  notAuthenticated(): Promise<BrokerError>;
}

/** A gateway on this machine (names under .localhost included): its self-signed certificate is accepted. */
export function isLoopbackHost(hostname: string): boolean {
  return isLoopback(hostname, { localhostSubdomains: true });
}

/** Splits a gateway URL into origin and API base path (always ending in /v1/api). */
export function normaliseBaseUrl(baseUrl: string): { origin: string; basePath: string; url: URL } {
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch {
    throw new BrokerError('INVALID_INPUT', `Invalid gateway URL "${baseUrl}".`, {
      hint: 'Give the gateway URL like https://127.0.0.1:5000',
    });
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new BrokerError('INVALID_INPUT', `Gateway URL must be http(s): "${baseUrl}".`);
  }
  let basePath = url.pathname.replace(/\/+$/, '');
  if (!basePath.endsWith('/v1/api')) basePath = `${basePath}/v1/api`;
  return { origin: url.origin, basePath, url };
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EHOSTDOWN',
  'EPIPE',
  'ETIMEDOUT',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_DESTROYED',
]);

/**
 * Codes of a connection the gateway reset or closed while a request was on it (a stale keep-alive
 * socket, a crashed or restarted gateway). The request may or may not have reached IB.
 */
const RESET_CODES = new Set(['ECONNRESET', 'UND_ERR_SOCKET', 'EPIPE']);

/** A request ended by a reset connection: the transport's raw error, or the BrokerError made from one. */
function isConnectionReset(err: unknown): boolean {
  const code =
    err instanceof BrokerError
      ? err.code === 'GATEWAY_UNREACHABLE'
        ? err.details?.['code']
        : undefined
      : errorCode(err);
  return typeof code === 'string' && RESET_CODES.has(code);
}

function errorCode(err: unknown): string | undefined {
  const e = err as { code?: unknown; cause?: unknown; errors?: unknown[] } | undefined;
  if (!e || typeof e !== 'object') return undefined;
  if (typeof e.code === 'string' && e.code !== 'ERR_AGGREGATE') return e.code;
  if (Array.isArray(e.errors) && e.errors.length > 0) return errorCode(e.errors[0]);
  if (e.cause) return errorCode(e.cause);
  return typeof e.code === 'string' ? e.code : undefined;
}

function isTlsError(code: string | undefined, err: unknown): boolean {
  if (code && /CERT|SSL|TLS|SELF_SIGNED|UNABLE_TO_VERIFY|HOSTNAME/i.test(code)) return true;
  return /certificate|SSL routines|TLS/i.test(String((err as Error)?.message ?? ''));
}

function errorText(data: unknown): string | undefined {
  if (data && typeof data === 'object' && !Array.isArray(data)) {
    const e = (data as Record<string, unknown>)['error'];
    if (typeof e === 'string') return e;
    if (e !== undefined && e !== null) return JSON.stringify(e);
  }
  if (typeof data === 'string' && data.trim() !== '') return data.trim().slice(0, 300);
  return undefined;
}

function retryAfterMs(header: string | string[] | undefined): number | undefined {
  const v = Array.isArray(header) ? header[0] : header;
  if (!v) return undefined;
  const s = Number(v);
  if (Number.isFinite(s)) return Math.max(0, s * 1000);
  const d = Date.parse(v);
  return Number.isFinite(d) ? Math.max(0, d - Date.now()) : undefined;
}

const TIMEOUT = Symbol('timeout');

/** Resolves like `p`, or rejects with CANCELLED when `signal` aborts first. */
export function raceSignal<T>(p: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return p;
  if (signal.aborted) {
    p.catch(() => undefined);
    return Promise.reject(new BrokerError('CANCELLED', 'The request was cancelled.', { cause: signal.reason }));
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => {
      p.catch(() => undefined);
      reject(new BrokerError('CANCELLED', 'The request was cancelled.', { cause: signal.reason }));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

/** What this client uses of undici's Pool. */
interface Connections {
  request(opts: Dispatcher.RequestOptions): Promise<Dispatcher.ResponseData>;
  destroy(): Promise<void>;
}

/**
 * undici's Pool. The built server is one bundle (scripts/build.mjs) in which the WebSocket client
 * (stream.ts) brings undici too: both use that one copy, so one HTTP parser (llhttp, WebAssembly)
 * is in memory, not two (~1 MB resident less than loading the Pool's own files beside the bundle).
 */
export async function loadPool(): Promise<{ open: (origin: string, opts: Pool.Options) => Connections }> {
  return { open: (origin, opts) => new Pool(origin, opts) };
}

export class CpapiHttp {
  readonly url: string;
  readonly pacer: Pacer;
  private readonly origin: string;
  private readonly basePath: string;
  /** The keep-alive pool, made at the first request (undici costs ~100 ms to load: after the MCP server is up). */
  private pool: Promise<Connections> | undefined;
  private readonly poolOptions: Pool.Options;
  private readonly timeoutMs: number;
  private readonly log: Logger;
  private readonly maxRetries: number;
  private readonly backoffMs: number;
  private readonly ownsPacer: boolean;
  private readonly cookies = new Map<string, string>();
  private hooks: SessionHooks = {};
  private readonly gate: SessionGate | undefined;
  private readonly recorder: ExchangeRecorder | undefined;
  private readonly signer: OAuthSigner | undefined;
  private readonly inflight = new Map<string, Promise<CpapiResponse<unknown>>>();
  private bridgeInit: Promise<void> | undefined;
  private closed = false;

  constructor(opts: CpapiHttpOptions) {
    const { origin, basePath, url } = normaliseBaseUrl(opts.baseUrl);
    this.origin = origin;
    this.basePath = basePath;
    this.url = origin;
    this.timeoutMs = opts.timeoutMs ?? 15_000;
    this.log = opts.log ?? silentLogger;
    this.maxRetries = opts.maxRetries ?? 3;
    this.backoffMs = opts.backoffMs ?? 200;
    this.gate = opts.gate;
    this.recorder = opts.recorder;
    this.signer = opts.signer;
    this.signer?.setPoster((authorization, signal) => this.postLst(authorization, signal));
    this.ownsPacer = !opts.pacer;
    this.pacer = opts.pacer ?? new Pacer();
    const relaxTls = isLoopbackHost(url.hostname) || opts.insecureTls === true;
    this.poolOptions = {
      connections: opts.connections ?? 10,
      pipelining: 1,
      keepAliveTimeout: 30_000,
      keepAliveMaxTimeout: 60_000,
      // Our own timer bounds the whole request; these are only a backstop.
      headersTimeout: this.timeoutMs + 1000,
      bodyTimeout: this.timeoutMs + 1000,
      connect: {
        timeout: Math.min(this.timeoutMs, 10_000),
        ...(url.protocol === 'https:' ? { rejectUnauthorized: !relaxTls } : {}),
      },
    };
  }

  private connections(): Promise<Connections> {
    this.pool ??= loadPool().then(({ open }) => open(this.origin, this.poolOptions));
    return this.pool;
  }

  setHooks(hooks: SessionHooks): void {
    this.hooks = hooks;
  }

  get<T = unknown>(path: string, opts: Omit<RequestOptions, 'body'> = {}): Promise<CpapiResponse<T>> {
    return this.request<T>('GET', path, opts);
  }

  post<T = unknown>(path: string, opts: RequestOptions = {}): Promise<CpapiResponse<T>> {
    return this.request<T>('POST', path, opts);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.ownsPacer) this.pacer.close();
    await this.pool?.then((p) => p.destroy()).catch(() => undefined);
  }

  /**
   * Sends one request, with pacing, retries (reads only), and session recovery.
   * Resolves for 2xx (including 200 with {"error":…}, which the caller interprets).
   */
  async request<T = unknown>(method: HttpMethod, path: string, opts: RequestOptions = {}): Promise<CpapiResponse<T>> {
    if (opts.coalesce && method === 'GET') {
      const key = this.buildPath(path, typeof opts.query === 'function' ? opts.query() : opts.query);
      let shared = this.inflight.get(key);
      if (!shared) {
        const owner = opts.owner ?? opts.signal;
        shared = this.request<unknown>(method, path, { ...opts, coalesce: false, signal: undefined, owner }).finally(
          () => {
            this.inflight.delete(key);
          },
        );
        this.inflight.set(key, shared);
      }
      return raceSignal(shared, opts.signal) as Promise<CpapiResponse<T>>;
    }
    if (this.gate) await this.gate.check(path);
    const retryable = method === 'GET' || opts.idempotent === true;
    let bridgeTried = false;
    let accountsTried = opts.noRecovery === true;
    let attempt = 0;
    let resetRetried = false;
    let signRetried = false;
    for (;;) {
      let res: CpapiResponse<unknown> & { retryAfter?: number | undefined; token?: string };
      try {
        res = await this.once(method, path, opts);
      } catch (err) {
        if (retryable && !resetRetried && isConnectionReset(err)) {
          // A keep-alive socket the gateway closed or reset; one immediate retry is safe for reads.
          // Writes are never repeated: the caller is told the request may have reached IB.
          resetRetried = true;
          this.log.debug('cpapi: connection reset, retrying the read once', { path: Pacer.keyFor(path) });
          continue;
        }
        throw err;
      }
      const { status, data } = res;
      if (status !== 429) this.pacer.accepted();
      if (status >= 200 && status < 300) return { status, data: data as T };
      const text = errorText(data) ?? '';

      if (status === 401) {
        // OAuth: a token IB no longer takes (renewed meanwhile, expired, revoked) is replaced and the
        // request sent again, once; IB refuses a 401 request before acting on it, so writes too.
        if (this.signer && res.token && !signRetried && (await this.signer.after401(res.token, opts.signal))) {
          signRetried = true;
          continue;
        }
        this.hooks.sessionReset?.();
        if (this.gate) throw await this.gate.notAuthenticated();
        throw new BrokerError('NOT_AUTHENTICATED', `The gateway at ${this.url} has no authenticated session.`, {
          hint: `Log in to the gateway at ${this.url} in a browser (user name, password and 2FA), then retry.`,
          details: { status, path: Pacer.keyFor(path) },
        });
      }
      if (/query \/accounts first/i.test(text) && !accountsTried && this.hooks.queryAccounts) {
        accountsTried = true;
        this.hooks.sessionReset?.();
        await this.hooks.queryAccounts(opts.signal);
        continue;
      }
      if (status === 400 && /no bridge/i.test(text) && !bridgeTried) {
        bridgeTried = true;
        await this.initBrokerageSession(opts.signal);
        continue;
      }
      if (status === 429) {
        const wait = res.retryAfter;
        // The pacer backs off (and stops sending after repeated 429s); a retry waits in its queue.
        this.pacer.rejected(wait);
        // One retry: a read's own attempts never add up to the pacer's stop (three 429s in a row),
        // which stays for a gateway that keeps refusing call after call. With two, a single quote
        // call on a quiet server stopped every request for a minute (the fault test, flaky in CI).
        if (retryable && attempt < Math.min(this.maxRetries, 1) && (wait ?? 0) <= 30_000) {
          attempt++;
          continue;
        }
        throw new BrokerError('RATE_LIMITED', `The gateway at ${this.url} rejected the request: too many requests.`, {
          hint: 'IB limits requests (10/s overall, less on some endpoints) and may block the IP for 10-15 minutes after repeated violations. Another client of the same gateway may be using the budget. Wait a minute and retry with fewer requests.',
          details: { status, path: Pacer.keyFor(path), retryAfterMs: wait },
        });
      }
      if (status >= 500) {
        if (retryable && attempt < (opts.retries ?? this.maxRetries)) {
          attempt++;
          await sleep(this.backoffMs * 2 ** (attempt - 1), opts.signal);
          continue;
        }
        throw new BrokerError(
          'GATEWAY_ERROR',
          `The gateway at ${this.url} answered ${status} for ${method} ${Pacer.keyFor(path)}${text ? `: ${untrusted(text)}` : ''}.`,
          {
            hint:
              status === 503
                ? 'IB answers 503 when its backend is slow or the request is stale. Retry in a few seconds.'
                : 'The gateway reported an internal error. Retry; if it persists, restart the gateway or log in again.',
            details: { status, path: Pacer.keyFor(path), error: text || undefined },
            retryable: true,
          },
        );
      }
      if (status === 404) {
        throw new BrokerError(
          'NOT_FOUND',
          `The gateway at ${this.url} does not know ${method} ${Pacer.keyFor(path)}.`,
          {
            hint: text ? `IB says: ${untrusted(text)}` : 'The endpoint or the object does not exist on this gateway.',
            details: { status, path: Pacer.keyFor(path), error: text || undefined },
          },
        );
      }
      if (status === 400) {
        throw new BrokerError(
          'INVALID_INPUT',
          `The gateway rejected the request${text ? `: ${untrusted(text)}` : '.'}`,
          {
            details: { status, path: Pacer.keyFor(path), error: text || undefined },
          },
        );
      }
      throw new BrokerError(
        'GATEWAY_ERROR',
        `The gateway at ${this.url} answered ${status} for ${method} ${Pacer.keyFor(path)}${text ? `: ${untrusted(text)}` : ''}.`,
        { details: { status, path: Pacer.keyFor(path), error: text || undefined } },
      );
    }
  }

  /** POST /iserver/auth/ssodh/init once (single flight), which opens the brokerage session. */
  private async initBrokerageSession(signal?: AbortSignal): Promise<void> {
    if (!this.bridgeInit) {
      this.bridgeInit = (async () => {
        this.log.info('cpapi: brokerage session not up, calling ssodh/init');
        this.hooks.sessionReset?.();
        const res = await this.once('POST', '/iserver/auth/ssodh/init', {
          body: { publish: true, compete: false },
          signal,
        });
        if (res.status === 401) {
          throw new BrokerError('NOT_AUTHENTICATED', `The gateway at ${this.url} has no authenticated session.`, {
            hint: `Log in to the gateway at ${this.url} in a browser, then retry.`,
          });
        }
      })().finally(() => {
        this.bridgeInit = undefined;
      });
    }
    await this.bridgeInit;
  }

  private buildPath(path: string, query: Query | undefined): string {
    let p = `${this.basePath}${path.startsWith('/') ? path : `/${path}`}`;
    if (query) {
      const parts: string[] = [];
      for (const [k, v] of Object.entries(query)) {
        if (v === undefined) continue;
        // Keep commas readable (conids=1,2,3): IB accepts them unescaped.
        parts.push(`${encodeURIComponent(k)}=${encodeURIComponent(String(v)).replace(/%2C/gi, ',')}`);
      }
      if (parts.length > 0) p += `${p.includes('?') ? '&' : '?'}${parts.join('&')}`;
    }
    return p;
  }

  /** One paced request; network failures and timeouts become BrokerError. */
  private async once(
    method: HttpMethod,
    path: string,
    opts: RequestOptions,
  ): Promise<CpapiResponse<unknown> & { retryAfter?: number | undefined; token?: string }> {
    if (this.closed) throw new BrokerError('CANCELLED', 'The connection to the gateway was closed.');
    const pool = await this.connections();
    const release = await this.pacer.acquire(path, opts.signal, {
      ...(opts.background ? { background: opts.background } : {}),
      ...(opts.owner ? { owner: opts.owner } : {}),
    });
    const started = Date.now();
    const timeout = new AbortController();
    const timer = setTimeout(() => timeout.abort(TIMEOUT), this.timeoutMs);
    timer.unref();
    const signal = opts.signal ? AbortSignal.any([opts.signal, timeout.signal]) : timeout.signal;
    const query = typeof opts.query === 'function' ? opts.query() : opts.query;
    const fullPath = this.buildPath(path, query);
    const headers: Record<string, string> = {
      accept: 'application/json',
      'user-agent': 'ibkr-mcp',
    };
    let body: string | undefined;
    if (method === 'POST') {
      body = JSON.stringify(opts.body ?? {});
      headers['content-type'] = 'application/json';
      headers['content-length'] = String(Buffer.byteLength(body));
    }
    const cookie = this.cookieHeader();
    if (cookie) headers['cookie'] = cookie;
    let status = 0;
    let token: string | undefined;
    try {
      if (this.signer) {
        const signed = await this.signer.authorize(method, new URL(`${this.origin}${fullPath}`), signal);
        headers['authorization'] = signed.authorization;
        token = signed.token;
      }
      const res = await pool.request({ origin: this.origin, path: fullPath, method, headers, body, signal });
      // IB has the request once its answer starts: the pacing slot counts from here, not from the
      // end of a long body.
      release();
      status = res.statusCode;
      this.storeCookies(res.headers['set-cookie']);
      const text = await res.body.text();
      let data: unknown = text;
      if (text.length > 0) {
        try {
          data = JSON.parse(text);
        } catch {
          data = text;
        }
      } else {
        data = undefined;
      }
      if (this.recorder) this.capture(method, path, query, opts.body, status, data);
      return { status, data, retryAfter: retryAfterMs(res.headers['retry-after']), ...(token ? { token } : {}) };
    } catch (err) {
      if (timeout.signal.aborted && !opts.signal?.aborted) throw this.timeoutError(method, path, err);
      if (opts.signal?.aborted) {
        throw new BrokerError('CANCELLED', 'The request was cancelled.', { cause: opts.signal.reason });
      }
      throw this.networkError(err);
    } finally {
      clearTimeout(timer);
      release();
      this.log.debug('cpapi request', {
        method,
        path: Pacer.keyFor(path),
        status: status || undefined,
        ms: Date.now() - started,
      });
    }
  }

  /** OAuth: POST /oauth/live_session_token with the signer's Authorization (not paced, not gated). */
  private async postLst(authorization: string, signal?: AbortSignal): Promise<LstAnswer> {
    const timeout = AbortSignal.timeout(this.timeoutMs);
    const pool = await this.connections();
    const res = await pool
      .request({
        origin: this.origin,
        path: `${this.basePath}${LST_PATH}`,
        method: 'POST',
        headers: { authorization, accept: 'application/json', 'user-agent': 'ibkr-mcp', 'content-length': '0' },
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      })
      .catch((err: unknown) => {
        if (timeout.aborted) throw this.timeoutError('POST', LST_PATH, err);
        throw this.networkError(err);
      });
    const text = await res.body.text();
    let data: unknown = text;
    try {
      data = text ? JSON.parse(text) : undefined;
    } catch {
      // text as is
    }
    const date = res.headers['date'];
    return { status: res.statusCode, data, date: Array.isArray(date) ? date[0] : date };
  }

  /** Hands one exchange to the capture recorder; a failing capture never fails the request. */
  private capture(
    method: HttpMethod,
    path: string,
    query: Query | undefined,
    body: unknown,
    status: number,
    data: unknown,
  ): void {
    try {
      const q = path.indexOf('?');
      const params: Record<string, string> = {};
      if (q >= 0) for (const [k, v] of new URLSearchParams(path.slice(q + 1))) params[k] = v;
      for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) params[k] = String(v);
      this.recorder!.record({
        method,
        path: Pacer.keyFor(path),
        query: Object.keys(params).length > 0 ? params : undefined,
        requestBody: method === 'POST' ? (body ?? {}) : undefined,
        status,
        body: data,
      });
    } catch (err) {
      this.log.warn('capture: could not record an exchange', { error: (err as Error).message });
    }
  }

  /** The gateway's cookies as a Cookie header (the WebSocket carries the session in them). */
  cookieHeader(): string | undefined {
    return this.cookies.size > 0 ? [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ') : undefined;
  }

  /** The API's base URL, e.g. https://127.0.0.1:5000/v1/api. */
  get apiBase(): string {
    return this.origin + this.basePath;
  }

  private storeCookies(header: string | string[] | undefined): void {
    if (!header) return;
    for (const line of Array.isArray(header) ? header : [header]) {
      const pair = line.split(';', 1)[0] ?? '';
      const eq = pair.indexOf('=');
      if (eq <= 0) continue;
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      if (value === '' || /max-age=0\b/i.test(line)) this.cookies.delete(name);
      else {
        // Gateway cookies carry the session: never let one reach a log line.
        addSecret(value);
        this.cookies.set(name, value);
      }
    }
  }

  private timeoutError(method: HttpMethod, path: string, cause: unknown): BrokerError {
    const s = Math.round(this.timeoutMs / 100) / 10;
    return new BrokerError(
      'GATEWAY_TIMEOUT',
      `${this.signer ? "IB's API" : 'The gateway'} at ${this.url} accepted the connection but did not answer ${method} ${Pacer.keyFor(path)} within ${s} s.`,
      {
        hint: this.signer
          ? "IB's API was slow to answer (IB's nightly maintenance, or network trouble). Retry in a moment."
          : "IB's gateway does this when it cannot reach IB's servers (network trouble, IB's nightly maintenance, or a gateway that needs a restart); it is not a login problem. " +
            `Check the gateway's console output, open ${this.url} in a browser to see whether it responds, check this machine's internet connection, then retry.`,
        details: { path: Pacer.keyFor(path), timeoutMs: this.timeoutMs },
        retryable: true,
        cause,
      },
    );
  }

  private networkError(err: unknown): BrokerError {
    if (err instanceof BrokerError) return err;
    const code = errorCode(err);
    if (isTlsError(code, err)) {
      return new BrokerError(
        'GATEWAY_UNREACHABLE',
        `TLS handshake with the gateway at ${this.url} failed (${code ?? (err as Error)?.message}).`,
        {
          hint: "The gateway's certificate is self-signed. For a gateway on another host, pass insecureTls: true (only on a trusted network) or install a proper certificate; check http vs https in the URL.",
          details: { code },
          cause: err,
        },
      );
    }
    if (code && RESET_CODES.has(code)) {
      return new BrokerError(
        'GATEWAY_UNREACHABLE',
        `The connection to the gateway at ${this.url} was reset before it answered (${code}).`,
        {
          hint:
            'The gateway closed the connection mid-request (a restart, a crash, or something between us and it). ' +
            `Retry; if it keeps happening, check that the gateway at ${this.url} is running and logged in.`,
          details: { code },
          retryable: true,
          cause: err,
        },
      );
    }
    const what = code && NETWORK_CODES.has(code) ? code : (code ?? String((err as Error)?.message ?? err));
    if (this.signer) {
      return new BrokerError('GATEWAY_UNREACHABLE', `Could not connect to IB's API at ${this.url} (${what}).`, {
        hint: "Check this machine's internet connection (and a proxy or firewall), and --oauth-base-url (IB's is https://api.ibkr.com/v1/api); then retry.",
        details: { code },
        retryable: true,
        cause: err,
      });
    }
    return new BrokerError(
      'GATEWAY_UNREACHABLE',
      `Could not connect to the Client Portal gateway at ${this.url} (${what}).`,
      {
        hint:
          `Start IB's Client Portal gateway (bin/run.sh root/conf.yaml) and log in at ${this.url}, ` +
          'check the host and port, or run the built-in simulator (ibkr-mcp simulator) to try things without IB.',
        details: { code },
        retryable: true,
        cause: err,
      },
    );
  }
}
