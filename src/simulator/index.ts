/**
 * Built-in simulator of IB's Client Portal Web API gateway.
 *
 *   const sim = await startSimulator({ seed: 42 });
 *   fetch(`${sim.apiBase}/iserver/auth/status`, { dispatcher: insecureAgent });
 *   await sim.close();
 *
 * Serves HTTPS with a self-signed certificate generated once per process (or plain
 * HTTP with `tls:false`). API under /v1/api, control surface under /sim (see control.ts).
 */
import { createServer as createHttpServer, type Server as HttpServer, type IncomingMessage } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { type SelfSigned, selfSignedCertificate } from './cert.js';
import { registerControl } from './control.js';
import { type SimFlexHandle, type SimFlexOptions, startFlexService } from './flex.js';
import type { SimListener } from './listener.js';
import { SimOAuth, type SimOAuthOptions } from './oauth.js';
import { loadReplay } from './replay.js';
import { type RouteModule, registerAll } from './routes/index.js';
import { createCore, Router } from './server.js';
import { createState, type IbProfile, type SimState } from './state.js';
import { simWs, type WsSettings } from './ws.js';

export interface SimulatorOptions {
  port?: number; // 0 or undefined = free port
  host?: string; // default '127.0.0.1'
  seed?: number; // default 42
  latencyMs?: number; // added to every /v1/api request, default 0
  tls?: boolean; // default true
  sessionTimeoutMs?: number; // inactivity expiry, default 6 minutes
  pacing?: boolean; // enforce IB's pacing with 429, default true
  authenticated?: boolean; // start logged in, default true
  /** Extension: market time (epoch ms) the simulated clock shows at start-up; default now. */
  startAt?: number;
  /** Extension: extra route modules registered after the built-in ones. */
  modules?: RouteModule[];
  /**
   * Extension: CORS like IB's gateway with `cors.origin.allowed` set (vert.x): a request whose
   * Origin header is not one of these is refused with 403. Default: any origin ("*").
   */
  allowedOrigins?: string[];
  /** Extension: IB's answer shapes and rules, 'strict' (default), '2023' or '2026' (profiles.ts). */
  profile?: IbProfile;
  /** Extension: penalty box after a 429, in ms; default IB's 15 minutes (0: none, for tests that provoke 429s). */
  penaltyBoxMs?: number;
  /** Extension: the selected account scopes P&L, live orders and order status, as IB does; default true. */
  accountScoping?: boolean;
  /** Extension: derivatives are quoted only after their underlying's secdef search, as IB does; default true. */
  derivativeSearch?: boolean;
  /** Extension: a live login (accounts U…, isPaper false) instead of a paper one; default false. */
  live?: boolean;
  /** Extension: other ids for the three simulated accounts (another login's account set). */
  accountIds?: string[];
  /**
   * Extension: a capture directory (ibkr-mcp --capture, replay.ts): recorded requests are answered
   * with the recorded answers, anything else by the simulator.
   */
  replay?: string;
  /**
   * Extension: serve the connections of a socket already listening (listener.ts), so that its
   * opener knows the address before the simulator is loaded; `port` is then ignored, `host`
   * only names the address in `url`.
   */
  listener?: SimListener;
  /**
   * Extension: speak IB's OAuth 1.0a like api.ibkr.com (oauth.ts): no session until a live session
   * token is requested, every request signed. Register consumers with `handle.oauth.register`.
   */
  oauth?: SimOAuthOptions | boolean;
  /** Extension: the WebSocket's timers and line limit (ws.ts); tests shorten them. */
  ws?: Partial<WsSettings>;
  /** IB's Flex Web Service on its own port (flex.ts); default on, `false` for none. */
  flex?: SimFlexOptions | false;
}

export interface SimulatorHandle {
  url: string; // e.g. https://127.0.0.1:5123
  apiBase: string; // url + '/v1/api'
  port: number;
  close(): Promise<void>; // closes server and all sockets promptly
  /** Extension: the live state (tests and in-process tools may inspect it). */
  state: SimState;
  /** With `oauth`: the consumer registry (the self-service portal's part). */
  oauth: SimOAuth | undefined;
  /** The Flex Web Service (its own host and port), unless started with flex:false. */
  flex: SimFlexHandle | undefined;
}

let cert: SelfSigned | undefined;

/** Self-signed certificate for localhost, generated once per process (src/simulator/cert.ts). */
function certificate(): Promise<SelfSigned> {
  cert ??= selfSignedCertificate();
  return Promise.resolve(cert);
}

export async function startSimulator(opts: SimulatorOptions = {}): Promise<SimulatorHandle> {
  const state = createState({
    seed: opts.seed ?? 42,
    latencyMs: opts.latencyMs ?? 0,
    sessionTimeoutMs: opts.sessionTimeoutMs ?? 6 * 60_000,
    pacing: opts.pacing ?? true,
    authenticated: opts.oauth ? false : (opts.authenticated ?? true),
    startAt: opts.startAt,
    profile: opts.profile,
    penaltyBoxMs: opts.penaltyBoxMs,
    accountScoping: opts.accountScoping,
    derivativeSearch: opts.derivativeSearch,
    live: opts.live ?? false,
    accountIds: opts.accountIds,
  });
  const oauth = opts.oauth ? new SimOAuth(state, opts.oauth === true ? {} : opts.oauth) : undefined;
  if (oauth) state.ext.set('oauth', oauth);
  const router = new Router();
  registerAll(router, state, opts.modules ?? []);
  registerControl(router, state);
  const core = createCore(state, router, opts.replay ? loadReplay(opts.replay) : undefined);

  const tls = opts.tls ?? true;
  const origins = opts.allowedOrigins ?? ['*'];
  const handle: typeof core.handle = origins.includes('*')
    ? core.handle
    : (req, res) => {
        const origin = req.headers.origin;
        if (origin !== undefined && !origins.includes(origin)) {
          res.writeHead(403, { 'content-type': 'text/plain', connection: 'close' });
          res.end('CORS Rejected - Invalid origin');
          return;
        }
        return core.handle(req, res);
      };
  let server: HttpServer;
  if (tls) {
    const { key, cert } = await certificate();
    server = createHttpsServer({ key, cert }, handle) as unknown as HttpServer;
  } else {
    server = createHttpServer(handle);
  }
  server.on('connection', (s: Socket) => core.trackSocket(s));
  const hub = simWs(state);
  hub.configure({ ...opts.ws });
  server.on('upgrade', (req: IncomingMessage, socket: Duplex) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (path !== '/v1/api/ws') {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
      return;
    }
    hub.upgrade(req, socket);
  });
  server.keepAliveTimeout = 5000;

  const host = opts.host ?? '127.0.0.1';
  const { listener } = opts;
  if (listener) {
    listener.attach((socket) => {
      server.emit('connection', socket);
      // TLS reads through its own wrap of the socket; plain HTTP reads from the socket itself.
      if (!tls) socket.resume();
    });
  } else {
    await new Promise<void>((resolve, reject) => {
      const onError = (e: Error) => reject(e);
      server.once('error', onError);
      server.listen(opts.port ?? 0, host, () => {
        server.off('error', onError);
        resolve();
      });
    });
  }
  const port = listener ? listener.port : (server.address() as AddressInfo).port;
  const flex = opts.flex === false ? undefined : await startFlexService(state, { host: '127.0.0.1', ...opts.flex });
  const hostForUrl = host.includes(':') ? `[${host}]` : host === '0.0.0.0' ? '127.0.0.1' : host;
  const url = `${tls ? 'https' : 'http'}://${hostForUrl}:${port}`;
  let closed: Promise<void> | undefined;

  return {
    url,
    apiBase: `${url}/v1/api`,
    port,
    state,
    oauth,
    flex,
    close() {
      closed ??= new Promise<void>((resolve) => {
        void flex?.close();
        hub.close();
        core.shutdown();
        server.close(() => resolve());
        server.closeAllConnections?.();
        void listener?.close();
      });
      return closed;
    },
  };
}

export { SIM_FLEX_TOKEN, type SimFlexHandle, type SimFlexOptions } from './flex.js';
export { type IssuedCredentials, oauthBaseString, parseDhPem, SimOAuth, type SimOAuthOptions } from './oauth.js';
export type { IbProfile, SimState } from './state.js';
export type { Instrument } from './universe.js';
