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
  return config.backend === 'gateway' && (config.gatewayDir !== undefined || !config.gatewayUrlExplicit);
}

export function managedPort(config: Config): number {
  const u = new URL(config.gatewayUrl);
  return Number(u.port || (u.protocol === 'https:' ? 443 : 80));
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
}

export function createGatewayRuntime(opts: GatewayRuntimeOptions): GatewayRuntime {
  const { config, log } = opts;
  const { managed, port, apiUrl, loginUrl } = gatewayEndpoints(config, opts.baseUrl, opts.simulated);
  const headless = config.ibHeadlessMode && !opts.simulated;
  const driver = opts.simulated
    ? undefined
    : headless
      ? lazyHeadlessLogin({
          username: config.ibUsername,
          password: config.ibPasswordAuth,
          paper: config.ibPaperTrading,
          totpSecret: config.ibTotpSecret,
          chromiumPath: config.chromiumPath,
          selectors: mergeSelectors(config.loginSelectors),
        })
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
    autoLogin: !opts.simulated && (headless || (config.openBrowser && managed)),
  });

  let gateway: GatewayProcess | undefined;
  // A shutdown cancels provisioning at whatever stage it is: download, unpack, Java probe, start.
  const shutdown = new AbortController();
  const { signal } = shutdown;
  let provisioning: Promise<void> | undefined;
  if (managed) {
    provisioning = (async () => {
      // Loaded only here: provisioning, Java and the process supervisor are for a gateway we run.
      const [{ progressPrinter }, { findJava, javaInstallAdvice }, { GatewayProcess }, { cacheDir, provisionGateway }] =
        await Promise.all([
          import('./download.js'),
          import('./java.js'),
          import('./process.js'),
          import('./provision.js'),
        ]);
      const cache = cacheDir(config.home);
      const prov = await provisionGateway({
        gatewayDir: config.gatewayDir,
        home: config.home,
        downloadBase: config.gatewayDownloadBase,
        sha256: config.gatewaySha256,
        progress: progressPrinter('ibkr-mcp: downloading the IB gateway', (s) => log.info(s.trim())),
        log: (line) => log.info(line),
        signal,
      });
      signal.throwIfAborted();
      const found = await findJava({ cacheDir: cache, signal });
      signal.throwIfAborted();
      if (!found.java) {
        session.fail(
          `${javaInstallAdvice()}${found.rejected.length ? ` Rejected: ${found.rejected.join('; ')}.` : ''}`,
        );
        return;
      }
      gateway = new GatewayProcess({
        layout: prov.layout,
        javaPath: found.java.path,
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
  } else {
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
function lazyHeadlessLogin(opts: HeadlessOptions): LoginDriver {
  let driver: Promise<LoginDriver> | undefined;
  return {
    method: 'headless',
    async run(ctx) {
      driver ??= import('./login-headless.js').then((m) => m.headlessLogin(opts));
      return (await driver).run(ctx);
    },
  };
}
