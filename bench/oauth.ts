/**
 * OAuth figure for `npm run bench` (issue 16): from spawning the server with --auth oauth to its
 * first quote, against the OAuth simulator with 50 ms of latency per request. The keys and the
 * consumer are the user's one-time setup, made before the clock starts.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateOAuthFiles } from '../src/backends/cpapi/oauth-files.js';
import { startSimulator } from '../src/simulator/index.js';
import { call, fmt, spawnServer } from './lib.js';
import type { BenchRow } from './portfolio.js';

export async function oauthRows(cli: string, latencyMs: number): Promise<BenchRow[]> {
  const dir = mkdtempSync(join(tmpdir(), 'ibkr-mcp-bench-oauth-'));
  const { files } = await generateOAuthFiles(join(dir, 'oauth'), { fastDh: true });
  const s = await startSimulator({ port: 0, seed: 42, oauth: true, latencyMs });
  const creds = s.oauth!.register({
    signaturePublicKey: readFileSync(files.signaturePublic, 'utf8'),
    encryptionPublicKey: readFileSync(files.encryptionPublic, 'utf8'),
    dhParams: readFileSync(files.dhParams, 'utf8'),
  });
  const t0 = performance.now();
  const server = await spawnServer(cli, ['--auth', 'oauth', '--log-level', 'error'], {
    IBKR_MCP_HOME: dir,
    IB_OAUTH_BASE_URL: s.apiBase,
    IB_OAUTH_CONSUMER_KEY: creds.consumerKey,
    IB_OAUTH_ACCESS_TOKEN: creds.accessToken,
    IB_OAUTH_ACCESS_TOKEN_SECRET: creds.accessTokenSecret,
  });
  try {
    const q = await call(server.client, 'get_quote', { symbol: 'AAPL' });
    const ms = performance.now() - t0;
    if (q.isError) throw new Error(`bench OAuth quote failed: ${q.text}`);
    return [
      {
        metric: `OAuth: process start → first quote (${latencyMs} ms latency, LST + ssodh/init included)`,
        value: `${fmt(ms)} ms`,
        target: '< 1500 ms',
        ok: ms < 1500,
      },
    ];
  } finally {
    await server.close();
    await s.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
