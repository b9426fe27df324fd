/**
 * The long-lived part of a running server: config, logger, the backend and (with the
 * simulator backend) the in-process simulator. One App is shared by every MCP connection,
 * so several clients share one IB session and one request pacer.
 */

import { CaptureWriter, createCpapiBackend } from './backends/cpapi/index.js';
import { Pacer } from './backends/cpapi/limiter.js';
import type { Backend } from './broker/backend.js';
import type { AccountMode } from './broker/types.js';
import { type Config, ensureHome } from './config/index.js';
import { createGatewayRuntime, type GatewayRuntime, gatewayEndpoints, withManagedPort } from './gateway/index.js';
import { addSecret, type Logger } from './log.js';
import type { SimulatorHandle } from './simulator/index.js';

export interface App {
  config: Config;
  log: Logger;
  backend: Backend;
  /** Human label of where requests go, e.g. "simulator at https://127.0.0.1:43211". */
  backendLabel: string;
  /** The in-process simulator, when backend is "sim". */
  sim: SimulatorHandle | undefined;
  /** The IB session state machine, and the gateway process when ibkr-mcp runs it (src/gateway). */
  gateway: GatewayRuntime;
  mode(): AccountMode;
  close(): Promise<void>;
}

export async function createApp(config: Config, log: Logger): Promise<App> {
  addSecret(config.ibPasswordAuth);
  addSecret(config.ibTotpSecret);
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
  if (config.backend === 'sim') {
    sim = await (await import('./simulator/index.js')).startSimulator({
      port: 0,
      host: '127.0.0.1',
      seed: config.simSeed,
      latencyMs: config.simLatencyMs,
    });
    baseUrl = sim.url;
  }
  const simulated = config.backend === 'sim';
  // One pacer for the backend and the session manager: together they stay within IB's limits.
  // It leaves the part of IB's 10 requests/s that --requests-per-second does not use to other clients.
  const pacer = new Pacer({ maxPerWindow: 10, headroom: 10 - config.requestsPerSecond });
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
    stream: config.websocket,
    ...(recorder ? { recorder } : {}),
  });
  const backend: Backend = cpapi;
  gateway = createGatewayRuntime({ config, log, baseUrl, simulated, broker: cpapi.session });
  // IB's WebSocket says at once when the session ends: the session manager looks then, not at its next keep-alive.
  cpapi.stream?.onAuth((authenticated) => {
    if (!authenticated) void gateway?.session.refresh().catch(() => {});
  });
  const backendLabel = sim
    ? `simulator at ${sim.url}`
    : gateway.managed
      ? `IB Client Portal gateway started by ibkr-mcp at ${gateway.session.loginUrl}`
      : `Client Portal gateway at ${baseUrl}`;

  let closed = false;
  return {
    config,
    log,
    backend,
    backendLabel,
    sim,
    gateway,
    // The backend's session decides, for the banner, the status and every order alike.
    mode: () => backend.accountMode(),
    async close() {
      if (closed) return;
      closed = true;
      await backend.close().catch(() => {});
      await gateway.close().catch(() => {});
      pacer.close();
      if (sim) await sim.close().catch(() => {});
    },
  };
}
