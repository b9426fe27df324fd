/**
 * The long-lived part of a running server: config, logger, the backend and (with the
 * simulator backend) the in-process simulator. One App is shared by every MCP connection,
 * so several clients share one IB session and one request pacer.
 */

import { join } from 'node:path';
import { CaptureWriter, createCpapiBackend } from './backends/cpapi/index.js';
import { filePacingMemory, Pacer } from './backends/cpapi/limiter.js';
import type { OAuthSigner } from './backends/cpapi/oauth.js';
import { createFlexSource, FLEX_DEFAULT_URL } from './backends/flex/index.js';
import type { Backend } from './broker/backend.js';
import type { StatementsSource } from './broker/statements.js';
import type { AccountMode } from './broker/types.js';
import { type Config, ensureHome, VERSION } from './config/index.js';
import { createGatewayRuntime, type GatewayRuntime, gatewayEndpoints, withManagedPort } from './gateway/index.js';
import type { FoundPackage, InstallOptions, OptionalPackage } from './gateway/npm-package.js';
import { cacheDir } from './gateway/provision.js';
import type { LoginDriver } from './gateway/session.js';
import { addSecret, type Logger } from './log.js';
import type { SimulatorHandle } from './simulator/index.js';

export interface App {
  config: Config;
  log: Logger;
  backend: Backend;
  /** IB's Flex Web Service (statements), a service apart from the gateway. */
  statements: StatementsSource;
  /** Human label of where requests go, e.g. "simulator at https://127.0.0.1:43211". */
  backendLabel: string;
  /** The in-process simulator, when backend is "sim" (once it is up). */
  sim: SimulatorHandle | undefined;
  /** The IB session state machine, and the gateway process when ibkr-mcp runs it (src/gateway). */
  gateway: GatewayRuntime;
  mode(): AccountMode;
  /**
   * An optional npm package (chart images, headless login): where our dependencies are, else in
   * ibkr-mcp's cache, else installed there now (src/gateway/npm-package.ts). Throws when it can't.
   */
  loadPackage(name: OptionalPackage, opts?: Pick<InstallOptions, 'progress' | 'signal'>): Promise<FoundPackage>;
  close(): Promise<void>;
}

export interface CreateAppOptions {
  /**
   * Start the in-process simulator at the first request to it rather than now (default: now).
   * Its address is known at once (a socket opened first), and that request waits until it
   * answers: the MCP server answers tools/list without loading it.
   */
  simulatorOnFirstUse?: boolean;
}

export async function createApp(config: Config, log: Logger, opts: CreateAppOptions = {}): Promise<App> {
  addSecret(config.ibPasswordAuth);
  addSecret(config.ibTotpSecret);
  addSecret(config.flexToken);
  ensureHome(config.home);
  // A gateway we run takes a spare port when the default one is busy (and says which).
  config = await withManagedPort(config, config.backend === 'sim', log, async (port) =>
    (await import('./gateway/process.js')).portIsFree(port),
  );

  // Capture mode: every exchange with the gateway, redacted, into --capture DIR.
  const recorder = config.capture ? new CaptureWriter(config.capture) : undefined;
  if (recorder) log.info('capture: recording redacted gateway exchanges', { dir: recorder.dir });

  let sim: SimulatorHandle | undefined;
  let baseUrl = config.gatewayUrl;
  let simStart: Promise<void> | undefined;
  let ensureSim: (() => Promise<void>) | undefined;
  let closeListener: (() => Promise<void>) | undefined;
  // OAuth 1.0a: every request signed here and sent to IB's API (or an OAuth simulator) directly.
  const oauth = config.auth === 'oauth' ? await oauthParts(config, log) : undefined;
  if (oauth) baseUrl = oauth.baseUrl;
  if (config.backend === 'sim') {
    const { openListener } = await import('./simulator/listener.js');
    const startSim = () => {
      simStart ??= import('./simulator/index.js')
        .then(({ startSimulator }) =>
          startSimulator({ listener, host: '127.0.0.1', seed: config.simSeed, latencyMs: config.simLatencyMs }),
        )
        .then(
          (handle) => {
            sim = handle;
          },
          (err: unknown) => {
            // Requests then fail at once (connection refused) and say so, rather than wait.
            log.error('the built-in simulator did not start', {
              err: err instanceof Error ? err.message : String(err),
            });
            void listener.close();
          },
        );
      return simStart;
    };
    ensureSim = startSim;
    const listener = await openListener('127.0.0.1', startSim);
    closeListener = () => listener.close();
    baseUrl = `https://127.0.0.1:${listener.port}`;
    if (!opts.simulatorOnFirstUse) await startSim();
  }
  const simulated = config.backend === 'sim';
  // One pacer for the backend and the session manager: together they stay within IB's limits.
  // It leaves the part of IB's 10 requests/s that --requests-per-second does not use to other clients.
  // The paced endpoints' last calls are kept in the state directory, so that a restart does not
  // repeat the previous run's last call within IB's interval (a 429 can start IB's penalty box).
  const pacer = new Pacer({
    maxPerWindow: 10,
    headroom: 10 - config.requestsPerSecond,
    // (Not for the in-process simulator: a new one, on a new port, each run.)
    ...(simulated ? {} : { memory: filePacingMemory(join(config.home, 'pacing.json'), baseUrl) }),
  });
  // The session manager gates the backend's requests; it is created right after the backend,
  // whose session it drives (logins, keep-alive, resets). No request goes out before that.
  let gateway: GatewayRuntime | undefined;
  const cpapi = createCpapiBackend({
    baseUrl: gatewayEndpoints(config, baseUrl, simulated).apiUrl,
    timeoutMs: config.requestTimeoutMs,
    insecureTls: config.gatewayInsecureTls,
    simulated,
    log: log.child({ mod: 'cpapi' }),
    pacer,
    gate: {
      check: (path) => gateway!.session.check(path),
      notAuthenticated: () => gateway!.session.notAuthenticated(),
    },
    // After each login, open the feeds IB answers empty at first (live orders), in the background.
    warmUp: !config.readOnly,
    // Over OAuth the WebSocket needs IB's oauth_token handshake, not built yet: REST only.
    stream: oauth ? false : config.websocket,
    ...(recorder ? { recorder } : {}),
    ...(oauth ? { signer: oauth.signer } : {}),
  });
  const backend: Backend = cpapi;
  gateway = createGatewayRuntime({
    config,
    log,
    baseUrl,
    simulated,
    broker: cpapi.session,
    ...(oauth ? { oauthLogin: oauth.login } : {}),
  });
  // IB's WebSocket says at once when the session ends: the session manager looks then, not at its next keep-alive.
  cpapi.stream?.onAuth((authenticated) => {
    if (!authenticated) void gateway?.session.refresh().catch(() => {});
  });
  const backendLabel = simulated
    ? `simulator at ${baseUrl}`
    : oauth
      ? `IB's API over OAuth 1.0a at ${baseUrl} (consumer ${oauth.signer.consumerKey})`
      : gateway.managed
        ? `IB Client Portal gateway started by ibkr-mcp at ${gateway.session.loginUrl}`
        : `Client Portal gateway at ${baseUrl}`;

  // Flex: IB's service, or with --backend sim and no --flex-url the simulator's (its token unless one is set).
  const flexSimulated = simulated && !config.flexUrl;
  const statements = createFlexSource({
    home: config.home,
    log: log.child({ mod: 'flex' }),
    userAgent: `ibkr-mcp/${VERSION}`,
    timeoutMs: Math.max(config.requestTimeoutMs, 30_000),
    configured: () => flexSimulated || Boolean(config.flexToken),
    async target() {
      if (flexSimulated) {
        await ensureSim?.();
        const f = sim?.flex;
        return f ? { baseUrl: f.baseUrl, token: config.flexToken ?? f.token, simulated: true } : undefined;
      }
      if (!config.flexToken) return undefined;
      return {
        baseUrl: (config.flexUrl ?? FLEX_DEFAULT_URL).replace(/\/+$/, ''),
        token: config.flexToken,
        simulated: false,
      };
    },
  });

  let closed = false;
  return {
    config,
    log,
    backend,
    statements,
    backendLabel,
    get sim() {
      return sim;
    },
    gateway,
    // The backend's session decides, for the banner, the status and every order alike.
    mode: () => backend.accountMode(),
    async loadPackage(name, opts = {}) {
      const { ensurePackage } = await import('./gateway/npm-package.js');
      return ensurePackage(name, { cacheDir: cacheDir(config.home), ...opts });
    },
    async close() {
      if (closed) return;
      closed = true;
      await backend.close().catch(() => {});
      await gateway.close().catch(() => {});
      pacer.close();
      await simStart;
      if (sim) await sim.close().catch(() => {});
      else await closeListener?.();
    },
  };
}

/** The OAuth signer over the configured credentials, and the "login" that renews its token. */
async function oauthParts(
  config: Config,
  log: Logger,
): Promise<{ signer: OAuthSigner; login: LoginDriver; baseUrl: string }> {
  const [{ OAuthSigner }, { loadOAuthCredentials }, { normaliseBaseUrl }] = await Promise.all([
    import('./backends/cpapi/oauth.js'),
    import('./backends/cpapi/oauth-files.js'),
    import('./backends/cpapi/http.js'),
  ]);
  const credentials = loadOAuthCredentials(config);
  const { origin, basePath } = normaliseBaseUrl(config.oauthBaseUrl);
  const baseUrl = `${origin}${basePath}`;
  const signer = new OAuthSigner({ credentials, baseUrl, log: log.child({ mod: 'oauth' }) });
  const login: LoginDriver = {
    method: 'oauth',
    async run(ctx) {
      try {
        await signer.renew();
      } catch (err) {
        const hint = (err as { hint?: string }).hint;
        return { ok: false, kind: 'setup', reason: (err as Error).message, ...(hint ? { hint } : {}) };
      }
      return (await ctx.checkAuthenticated())
        ? { ok: true }
        : { ok: false, kind: 'setup', reason: 'IB gave a live session token but did not open the brokerage session.' };
    },
  };
  return { signer, login, baseUrl };
}
