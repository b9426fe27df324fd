/**
 * The server over IB's OAuth 1.0a (issue 16): keys made as `oauth setup` makes them, a consumer
 * registered at a simulator speaking OAuth (in this process, so tests can inject its faults), the
 * server spawned with --auth oauth and every OAuth setting in its environment.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateOAuthFiles, OAUTH_FILES } from '../../src/backends/cpapi/oauth-files.js';
import { type SimulatorHandle, startSimulator } from '../../src/simulator/index.js';
import { type Harness, startServer } from './harness.js';

/** Keys (as `oauth setup` makes them), an OAuth simulator, a consumer for the keys, and the env to use it. */
export async function oauthFixture(opts: { latencyMs?: number; lstLifetimeMs?: number } = {}): Promise<{
  sim: SimulatorHandle;
  keys: string;
  env: Record<string, string>;
  close(): Promise<void>;
}> {
  const keys = mkdtempSync(join(tmpdir(), 'ibkr-mcp-oauth-keys-'));
  const { files } = await generateOAuthFiles(keys, { fastDh: true });
  const sim = await startSimulator({
    port: 0,
    seed: 7,
    oauth: opts.lstLifetimeMs ? { lstLifetimeMs: opts.lstLifetimeMs } : true,
    latencyMs: opts.latencyMs ?? 0,
  });
  const creds = sim.oauth!.register({
    signaturePublicKey: readFileSync(files.signaturePublic, 'utf8'),
    encryptionPublicKey: readFileSync(files.encryptionPublic, 'utf8'),
    dhParams: readFileSync(files.dhParams, 'utf8'),
  });
  const env = {
    IB_AUTH: 'oauth',
    IB_OAUTH_BASE_URL: sim.apiBase,
    IB_OAUTH_CONSUMER_KEY: creds.consumerKey,
    IB_OAUTH_ACCESS_TOKEN: creds.accessToken,
    IB_OAUTH_ACCESS_TOKEN_SECRET: creds.accessTokenSecret,
    IB_OAUTH_SIGNATURE_KEY_FILE: join(keys, OAUTH_FILES.signatureKey),
    IB_OAUTH_ENCRYPTION_KEY_FILE: join(keys, OAUTH_FILES.encryptionKey),
    IB_OAUTH_DH_PARAM_FILE: join(keys, OAUTH_FILES.dhParams),
  };
  return {
    sim,
    keys,
    env,
    async close() {
      await sim.close();
      rmSync(keys, { recursive: true, force: true });
    },
  };
}

export async function oauthServer(
  opts: { latencyMs?: number; lstLifetimeMs?: number; args?: string[]; env?: Record<string, string> } = {},
): Promise<{
  h: Harness;
  sim: SimulatorHandle;
  keys: string;
  env: Record<string, string>;
  /** performance.now() just before the server was spawned. */
  spawnedAt: number;
  close(): Promise<void>;
}> {
  const f = await oauthFixture(opts);
  const spawnedAt = performance.now();
  const h = await startServer({ sim: false, backendArgs: [], args: opts.args ?? [], env: { ...f.env, ...opts.env } });
  return {
    h,
    spawnedAt,
    sim: f.sim,
    keys: f.keys,
    env: f.env,
    async close() {
      await h.close();
      await f.close();
    },
  };
}
