/**
 * Wires the gateway side of a running server: which gateway (the user's URL, a folder we start,
 * or a download we start), the session manager with its login driver, and the gate the CPAPI
 * client calls before every request. Starting a gateway runs in the background so the MCP server
 * answers at once (tools report gateway_starting meanwhile).
 */
import { join } from 'node:path';
import type { BrokerSession } from '../broker/session.js';
import { type Config, isLoopbackHost } from '../config/index.js';
import type { Logger } from '../log.js';
import { browserLogin } from './login-browser.js';
import type { HeadlessOptions } from './login-headless.js';
import { mergeSelectors } from './login-selectors.js';
import type { GatewayProcess } from './process.js';
import { type LoginDriver, SessionManager } from './session.js';

export { SESSION_STATES, SessionManager, type SessionSnapshot, type SessionStateName } from './session.js';

export interface GatewayRuntime {
  session: SessionManager;
  gateway: GatewayProcess | undefined;
  /** Where API requests go (127.0.0.1 for a gateway we start). */
  apiUrl: string;
  /** True when ibkr-mcp starts (and stops) the gateway itself. */
  managed: boolean;
  close(): Promise<void>;
}

/** Does this configuration ask us to run IB's gateway ourselves? */
export function wantsManagedGateway(config: Config): boolean {
  return (
    config.backend === 'gateway' &&
    config.auth !== 'oauth' &&
    (config.gatewayDir !== undefined || !config.gatewayUrlExplicit)
  );
}

export function managedPort(config: Config): number {
  const u = new URL(config.gatewayUrl);
  return Number(u.port || (u.protocol === 'https:' ? 443 : 80));
}

/** Ports tried, in order, when the managed gateway's default port is busy. */
const SPARE_PORTS = Array.from({ length: 20 }, (_, i) => 5001 + i);

/**
 * The port the managed gateway will use: the configured one; or, when the user did not choose
 * one and the default is busy (another gateway, AirPlay on macOS), the first free spare port.
 * `busy` is set when the default was taken, so the caller can say which port it uses instead.
 */
export async function chooseManagedPort(
  config: Config,
  isFree: (port: number) => Promise<boolean>,
): Promise<{ port: number; busy?: number }> {
  const port = managedPort(config);
  if (config.gatewayPortExplicit || (await isFree(port))) return { port };
  for (const p of SPARE_PORTS) if (p !== port && (await isFree(p))) return { port: p, busy: port };
  return { port };
}

/** The configuration with the managed gateway on a free port (unchanged when not managed). */
export async function withManagedPort(
  config: Config,
  simulated: boolean,
  log: Logger,
  isFree: (port: number) => Promise<boolean>,
): Promise<Config> {
  if (simulated || !wantsManagedGateway(config)) return config;
  const { port, busy } = await chooseManagedPort(config, isFree);
  if (busy === undefined) return config;
  log.warn(`port ${busy} is in use by another program; ibkr-mcp's gateway uses port ${port} instead`, {
    busy,
    port,
  });
  const u = new URL(config.gatewayUrl);
  u.port = String(port);
  return { ...config, gatewayUrl: u.origin };
}

/** Where the gateway answers: API requests, the user's login page, and whether we run it. */
export interface GatewayEndpoints {
  managed: boolean;
  /** The managed gateway's port (0 when not managed). */
  port: number;
  /** Where API requests go (127.0.0.1 for a gateway we start). */
  apiUrl: string;
  /** Where the user logs in. */
  loginUrl: string;
}

/** The endpoints for this configuration; `baseUrl` is the gateway or simulator when not managed. */
export function gatewayEndpoints(config: Config, baseUrl: string, simulated: boolean): GatewayEndpoints {
  const managed = !simulated && wantsManagedGateway(config);
  const port = managed ? managedPort(config) : 0;
  if (managed) {
    const host = new URL(config.gatewayUrl).hostname;
    if (!isLoopbackHost(host)) {
      throw new Error(
        `ibkr-mcp starts its gateway on this machine only; --gateway-url ${config.gatewayUrl} names another host. Drop --gateway-dir to use that gateway as it is.`,
      );
    }
  }
  return {
    managed,
    port,
    apiUrl: managed ? `https://127.0.0.1:${port}` : baseUrl,
    loginUrl: managed ? `https://localhost:${port}` : baseUrl,
  };
}

export interface GatewayRuntimeOptions {
  config: Config;
  log: Logger;
  /** Base URL of the gateway or simulator when not managed. */
  baseUrl: string;
  simulated: boolean;
  /** The broker's side of the session (the backend's), which the session manager drives. */
  broker: BrokerSession;
  /**
   * OAuth 1.0a: the "login" that replaces the gateway's (a new live session token, then the
   * brokerage session); nobody is needed, so it runs at start and after every expiry.
   */
  oauthLogin?: LoginDriver;
}

export function createGatewayRuntime(opts: GatewayRuntimeOptions): GatewayRuntime {
  const { config, log } = opts;
  const { managed, port, apiUrl, loginUrl } = gatewayEndpoints(config, opts.baseUrl, opts.simulated);
  const headless = config.ibHeadlessMode && !opts.simulated;
  const oauth = opts.oauthLogin;
  const driver = oauth
    ? oauth
    : opts.simulated
      ? undefined
      : headless
        ? lazyHeadlessLogin(
            {
              username: config.ibUsername,
              password: config.ibPasswordAuth,
              paper: config.ibPaperTrading,
              totpSecret: config.ibTotpSecret,
              chromiumPath: config.chromiumPath,
              selectors: mergeSelectors(config.loginSelectors),
            },
            config.home,
          )
        : browserLogin({ open: config.openBrowser });
  const session = new SessionManager({
    broker: opts.broker,
    gatewayUrl: apiUrl,
    loginUrl,
    log: log.child({ mod: 'session' }),
    simulated: opts.simulated,
    managedGateway: managed,
    keepaliveMs: config.keepaliveSeconds * 1000,
    allowCompeting: config.allowCompetingSession,
    loginDriver: driver,
    authTimeoutMs: config.ibAuthTimeout * 1000,
    // Log in at start like the original product: headless always; the browser only for a gateway we
    // started (a gateway the user runs is theirs to log in to; the authenticate tool opens the page).
    autoLogin: oauth !== undefined || (!opts.simulated && (headless || (config.openBrowser && managed))),
    // After IB's daily reset or a gateway restart: again by itself only when nobody is needed.
    reloginOnExpiry:
      oauth !== undefined || (headless && Boolean(config.ibUsername && config.ibPasswordAuth && config.ibTotpSecret)),
  });

  let gateway: GatewayProcess | undefined;
  // A shutdown cancels provisioning at whatever stage it is: download, unpack, Java probe, start.
  const shutdown = new AbortController();
  const { signal } = shutdown;
  let provisioning: Promise<void> | undefined;
  if (managed) {
    provisioning = (async () => {
      // Loaded only here: provisioning, Java and the process supervisor are for a gateway we run.
      const [
        { progressPrinter },
        { findJava, installJava, javaInstallAdvice },
        { GatewayProcess },
        { cacheDir, provisionGateway },
      ] = await Promise.all([
        import('./download.js'),
        import('./java.js'),
        import('./process.js'),
        import('./provision.js'),
      ]);
      const cache = cacheDir(config.home);
      // Every progress line goes to the log and to get_connection_status (the state's note).
      const say = (line: string) => {
        log.info(line);
        session.starting(line);
      };
      const prov = await provisionGateway({
        gatewayDir: config.gatewayDir,
        home: config.home,
        downloadBase: config.gatewayDownloadBase,
        sha256: config.gatewaySha256,
        progress: progressPrinter("Downloading IB's Client Portal gateway", (s) => say(s.trim())),
        log: say,
        signal,
      });
      signal.throwIfAborted();
      const found = await findJava({ cacheDir: cache, signal });
      signal.throwIfAborted();
      let java = found.java;
      if (!java) {
        // Nothing suitable installed: a verified Temurin JRE into our cache, once (later starts find it there).
        say(
          `No suitable Java found${found.rejected.length ? ` (${found.rejected.join('; ')})` : ''}; installing a Temurin JRE from Adoptium into ${cache} (SHA-256 verified).`,
        );
        try {
          java = await installJava({
            base: config.javaDownloadBase,
            cacheDir: cache,
            progress: progressPrinter('Downloading Java (Temurin JRE)', (s) => say(s.trim())),
            log: say,
            signal,
          });
          say(`Java ${java.version} installed at ${java.path}.`);
        } catch (err) {
          signal.throwIfAborted();
          session.fail(
            `Java could not be installed automatically: ${(err as Error).message} ${javaInstallAdvice()}${found.rejected.length ? ` Rejected: ${found.rejected.join('; ')}.` : ''}`,
          );
          return;
        }
        signal.throwIfAborted();
      }
      gateway = new GatewayProcess({
        layout: prov.layout,
        javaPath: java.path,
        port,
        runDir: join(config.home, 'gateway-run'),
        log: log.child({ mod: 'gateway' }),
      });
      gateway.on('restarted', (how: string) => log.warn('the IB gateway process died and was restarted once', { how }));
      session.attachGateway(gateway);
      await gateway.start();
    })().catch((err: unknown) => {
      if (signal.aborted) {
        log.info('the IB gateway start was cancelled: shutting down');
        return;
      }
      const msg = err instanceof Error ? err.message : String(err);
      log.error('the IB gateway could not be started', { err: msg });
      if (session.current() !== 'failed') session.fail(msg);
    });
  } else if (!opts.simulated) {
    void session.start();
  }

  return {
    session,
    get gateway() {
      return gateway;
    },
    apiUrl,
    managed,
    async close() {
      shutdown.abort(new Error('ibkr-mcp is shutting down.'));
      // A gateway already created is stopped now, so that a start in progress ends at once.
      const stopping = gateway?.stop().catch(() => {});
      await provisioning;
      await session.close();
      await stopping;
      await gateway?.stop().catch(() => {});
    },
  };
}

/** The headless login, loaded (with the browser driver and TOTP) at the first login. */
function lazyHeadlessLogin(opts: HeadlessOptions, home: string): LoginDriver {
  let driver: Promise<LoginDriver> | undefined;
  return {
    method: 'headless',
    async run(ctx) {
      driver ??= Promise.all([import('./login-headless.js'), import('./provision.js')]).then(([m, p]) =>
        m.headlessLogin({ ...opts, cacheDir: p.cacheDir(home) }),
      );
      return (await driver).run(ctx);
    },
  };
}
