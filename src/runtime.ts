/**
 * The long-lived part of a running server: config, logger, the backend and (with the
 * simulator backend) the in-process simulator. One App is shared by every MCP connection,
 * so several clients share one IB session and one request pacer.
 */
import { chmodSync, mkdirSync } from 'node:fs';
import { createCpapiBackend } from './backends/cpapi/index.js';
import type { Backend } from './broker/backend.js';
import type { AccountMode } from './broker/types.js';
import type { Config } from './config/index.js';
import { addSecret, type Logger } from './log.js';
import { type SimulatorHandle, startSimulator } from './simulator/index.js';

export interface App {
  config: Config;
  log: Logger;
  backend: Backend;
  /** Human label of where requests go, e.g. "simulator at https://127.0.0.1:43211". */
  backendLabel: string;
  /** The in-process simulator, when backend is "sim". */
  sim: SimulatorHandle | undefined;
  mode(): AccountMode;
  close(): Promise<void>;
}

/** Creates the state directory owner-only (0700). */
export function ensureHome(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  try {
    chmodSync(dir, 0o700);
  } catch {
    // Not ours to fix (e.g. a read-only mount); the directory exists.
  }
}

export async function createApp(config: Config, log: Logger): Promise<App> {
  addSecret(config.ibPasswordAuth);
  addSecret(config.ibTotpSecret);
  ensureHome(config.home);

  let sim: SimulatorHandle | undefined;
  let baseUrl = config.gatewayUrl;
  if (config.backend === 'sim') {
    sim = await startSimulator({ port: 0, host: '127.0.0.1', seed: config.simSeed, latencyMs: config.simLatencyMs });
    baseUrl = sim.url;
  }
  const backend: Backend = createCpapiBackend({
    baseUrl,
    timeoutMs: config.requestTimeoutMs,
    insecureTls: config.gatewayInsecureTls,
    simulated: config.backend === 'sim',
    log: log.child({ mod: 'cpapi' }),
  });
  const backendLabel = sim ? `simulator at ${sim.url}` : `Client Portal gateway at ${baseUrl}`;

  let closed = false;
  return {
    config,
    log,
    backend,
    backendLabel,
    sim,
    mode: () => (config.backend === 'sim' ? 'SIMULATED' : backend.accountMode()),
    async close() {
      if (closed) return;
      closed = true;
      await backend.close().catch(() => {});
      if (sim) await sim.close().catch(() => {});
    },
  };
}
