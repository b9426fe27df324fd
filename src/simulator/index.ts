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
import { registerControl } from './control.js';
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
  /** Extension: penalty box after a 429, in ms; default 0 (the CLI's `--ib-profile strict` uses 15 minutes). */
  penaltyBoxMs?: number;
  /** Extension: the selected account scopes P&L, live orders and order status; default false. */
  accountScoping?: boolean;
  /**
   * Extension: a capture directory (ibkr-mcp --capture, replay.ts): recorded requests are answered
   * with the recorded answers, anything else by the simulator.
   */
  replay?: string;
  /** Extension: the WebSocket's timers and line limit (ws.ts); tests shorten them. */
  ws?: Partial<WsSettings>;
}

export interface SimulatorHandle {
  url: string; // e.g. https://127.0.0.1:5123
  apiBase: string; // url + '/v1/api'
  port: number;
  close(): Promise<void>; // closes server and all sockets promptly
  /** Extension: the live state (tests and in-process tools may inspect it). */
  state: SimState;
}

let certPromise: Promise<{ key: string; cert: string }> | undefined;

/** Self-signed certificate for localhost, generated once per process. */
function certificate(): Promise<{ key: string; cert: string }> {
  // Loaded on first use: the X.509 libraries cost ~10 MB and ~100 ms that a gateway-backed server never needs.
  certPromise ??= import('selfsigned')
    .then(({ generate }) =>
      generate([{ name: 'commonName', value: 'localhost' }], {
        keyType: 'ec',
        curve: 'P-256',
        algorithm: 'sha256',
        notAfterDate: new Date(Date.now() + 825 * 86_400_000),
        extensions: [
          { name: 'basicConstraints', cA: false },
          { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
          { name: 'extKeyUsage', serverAuth: true },
          {
            name: 'subjectAltName',
            altNames: [
              { type: 2, value: 'localhost' },
              { type: 7, ip: '127.0.0.1' },
              { type: 7, ip: '::1' },
            ],
          },
        ],
      }),
    )
    .then((p) => ({ key: p.private, cert: p.cert }));
  return certPromise;
}

export async function startSimulator(opts: SimulatorOptions = {}): Promise<SimulatorHandle> {
  const state = createState({
    seed: opts.seed ?? 42,
    latencyMs: opts.latencyMs ?? 0,
    sessionTimeoutMs: opts.sessionTimeoutMs ?? 6 * 60_000,
    pacing: opts.pacing ?? true,
    authenticated: opts.authenticated ?? true,
    startAt: opts.startAt,
    profile: opts.profile ?? 'strict',
    penaltyBoxMs: Math.max(0, opts.penaltyBoxMs ?? 0),
    accountScoping: opts.accountScoping ?? false,
  });
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
  await new Promise<void>((resolve, reject) => {
    const onError = (e: Error) => reject(e);
    server.once('error', onError);
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const hostForUrl = host.includes(':') ? `[${host}]` : host === '0.0.0.0' ? '127.0.0.1' : host;
  const url = `${tls ? 'https' : 'http'}://${hostForUrl}:${port}`;
  let closed: Promise<void> | undefined;

  return {
    url,
    apiBase: `${url}/v1/api`,
    port,
    state,
    close() {
      closed ??= new Promise<void>((resolve) => {
        hub.close();
        core.shutdown();
        server.close(() => resolve());
        server.closeAllConnections?.();
      });
      return closed;
    },
  };
}

export type { IbProfile, SimState } from './state.js';
export type { Instrument } from './universe.js';
