/**
 * Spawns the built server with --transport http on a free port, against a simulator owned by
 * the test (so the test can read /sim/stats), and connects real MCP clients of either era.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { type SimulatorHandle, type SimulatorOptions, startSimulator } from '../../src/simulator/index.js';
import { CLI, foreground, simRequest } from './harness.js';

export interface HttpHarness {
  url: string;
  token: string;
  home: string;
  sim: SimulatorHandle | undefined;
  proc: ChildProcess;
  stderr(): string;
  /** A connected MCP client; era "legacy" speaks 2025-11-25 with a session, "modern" pins 2026-07-28. */
  connect(era?: 'legacy' | 'modern', capabilities?: Record<string, unknown>): Promise<Client>;
  simTotal(): Promise<number>;
  close(): Promise<void>;
}

export interface HttpStartOptions {
  args?: string[];
  env?: Record<string, string>;
  /** false: the server runs its own simulator (--backend sim). */
  sim?: SimulatorOptions | false;
}

/** Runs the CLI and resolves with its exit code and stderr (for start-up refusals). */
export async function runCli(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stderr: string }> {
  const home = mkdtempSync(join(tmpdir(), 'ibkr-mcp-cli-'));
  try {
    const proc = spawn(process.execPath, [CLI, ...args], {
      env: { ...process.env, IBKR_MCP_HOME: home, ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    proc.stderr!.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const code = await new Promise<number>((resolve) => proc.on('exit', (c) => resolve(c ?? -1)));
    return { code, stderr };
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}

export async function startHttpServer(opts: HttpStartOptions = {}): Promise<HttpHarness> {
  const home = mkdtempSync(join(tmpdir(), 'ibkr-mcp-http-'));
  const sim = opts.sim === false ? undefined : await startSimulator({ port: 0, seed: 7, ...(opts.sim ?? {}) });
  const backendArgs = sim ? ['--backend', 'gateway', '--gateway-url', sim.url] : ['--backend', 'sim'];
  const proc = spawn(
    process.execPath,
    [CLI, 'serve', '--transport', 'http', '--port', '0', ...backendArgs, '--log-level', 'warn', ...(opts.args ?? [])],
    { env: { ...process.env, IBKR_MCP_HOME: home, ...(opts.env ?? {}) }, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${stderr}`)), 20_000);
    proc.stderr!.on('data', (d: Buffer) => {
      stderr += d.toString();
      const m = /MCP endpoint (\S+)/.exec(stderr);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code}:\n${stderr}`));
    });
  });
  const token = opts.env?.['IBKR_MCP_TOKEN'] ?? readFileSync(join(home, 'http-token'), 'utf8').trim();
  const clients: Client[] = [];
  return {
    url,
    token,
    home,
    sim,
    proc,
    stderr: () => stderr,
    async connect(era = 'legacy', capabilities = {}) {
      const client = new Client({ name: `ibkr-mcp-e2e-${era}`, version: '1.0.0' }, {
        capabilities,
        versionNegotiation: { mode: era === 'legacy' ? 'legacy' : { pin: '2026-07-28' } },
      } as never);
      const transport = new StreamableHTTPClientTransport(new URL(url), {
        requestInit: { headers: { Authorization: `Bearer ${token}` } },
      });
      await client.connect(transport);
      clients.push(client);
      return client;
    },
    async simTotal() {
      if (!sim) throw new Error('no test-owned simulator');
      return foreground((await simRequest(sim, '/sim/stats')) as { byEndpoint: Record<string, number> });
    },
    async close() {
      for (const c of clients) await c.close().catch(() => {});
      if (proc.exitCode === null) {
        proc.kill('SIGTERM');
        await new Promise<void>((r) => {
          const t = setTimeout(() => {
            proc.kill('SIGKILL');
            r();
          }, 5000);
          proc.once('exit', () => {
            clearTimeout(t);
            r();
          });
        });
      }
      if (sim) await sim.close().catch(() => {});
      rmSync(home, { recursive: true, force: true });
    },
  };
}
