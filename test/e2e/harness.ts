/**
 * End-to-end harness: the built server (dist/cli.js) is spawned over stdio by the real SDK
 * client, and talks HTTPS to a simulator started here in the test process, so tests can read
 * its /sim/stats and inject faults. Nothing of ours is mocked.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Client } from '@modelcontextprotocol/client';
import { getDefaultEnvironment, StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { Agent, fetch } from 'undici';
import { type SimulatorHandle, type SimulatorOptions, startSimulator } from '../../src/simulator/index.js';

export const CLI = resolve(import.meta.dirname, '../../dist/cli.js');

export interface ToolResult {
  isError: boolean;
  text: string;
  // biome-ignore lint/suspicious/noExplicitAny: tests inspect arbitrary structured content
  structured: any;
  // biome-ignore lint/suspicious/noExplicitAny: raw result for content-type checks
  raw: any;
}

export interface StartOptions {
  /** Simulator options; `false` runs the server with --backend sim (its own in-process simulator). */
  sim?: SimulatorOptions | false;
  args?: string[];
  /** Replaces the backend arguments the harness adds (e.g. [] to test a configuration as a user writes it). */
  backendArgs?: string[];
  /** Node options before the script, e.g. the V8 flags the `ibkr-mcp` binary's shebang passes. */
  nodeArgs?: string[];
  env?: Record<string, string>;
  /** Client capabilities, e.g. { elicitation: { form: {} } }. */
  capabilities?: Record<string, unknown>;
  /** Called to set extra request handlers on the client before connecting. */
  setup?: (client: Client) => void;
}

export interface Harness {
  client: Client;
  sim: SimulatorHandle | undefined;
  home: string;
  stderr: () => string;
  callTool(name: string, args?: Record<string, unknown>): Promise<ToolResult>;
  simStats(): Promise<{ total: number; byEndpoint: Record<string, number>; status429: number }>;
  simControl(path: string, body?: unknown): Promise<unknown>;
  close(): Promise<void>;
}

const insecure = new Agent({ connect: { rejectUnauthorized: false } });

export async function simRequest(sim: SimulatorHandle, path: string, body?: unknown): Promise<unknown> {
  const res = await fetch(`${sim.url}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    dispatcher: insecure,
  });
  const text = await res.text();
  return text ? JSON.parse(text) : null;
}

/**
 * Requests a tool call made: the total less the server's own background session work (status
 * checks, keep-alive, and the warm-up of live orders, accounts and P&L), which runs at its own pace.
 */
export function foreground(stats: { byEndpoint: Record<string, number> }): number {
  const background =
    /^(POST|GET) \/(iserver\/auth\/status|tickle|iserver\/accounts|portfolio\/accounts|iserver\/account\/orders|iserver\/account\/pnl\/partitioned)$/;
  return Object.entries(stats.byEndpoint)
    .filter(([k]) => !background.test(k))
    .reduce((n, [, v]) => n + v, 0);
}

export async function startServer(opts: StartOptions = {}): Promise<Harness> {
  const home = mkdtempSync(join(tmpdir(), 'ibkr-mcp-e2e-'));
  const sim = opts.sim === false ? undefined : await startSimulator({ port: 0, seed: 7, ...(opts.sim ?? {}) });
  const backendArgs =
    opts.backendArgs ?? (sim ? ['--backend', 'gateway', '--gateway-url', sim.url] : ['--backend', 'sim']);
  // The simulator's login has three accounts: these tests were written for calls without accountId
  // covering all of them (the original product's behaviour), which --default-account all keeps.
  const env: Record<string, string> = {
    ...getDefaultEnvironment(),
    IBKR_MCP_HOME: home,
    IBKR_MCP_DEFAULT_ACCOUNT: 'all',
    ...(opts.env ?? {}),
  };
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [...(opts.nodeArgs ?? []), CLI, 'serve', ...backendArgs, '--log-level', 'warn', ...(opts.args ?? [])],
    env,
    stderr: 'pipe',
  });
  let stderr = '';
  transport.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const client = new Client(
    { name: 'ibkr-mcp-e2e', version: '1.0.0' },
    { capabilities: (opts.capabilities ?? {}) as never },
  );
  opts.setup?.(client);
  await client.connect(transport);
  return {
    client,
    sim,
    home,
    stderr: () => stderr,
    async callTool(name, args = {}) {
      const raw = await client.callTool({ name, arguments: args });
      const text = ((raw.content ?? []) as Array<{ type: string; text?: string }>)
        .filter((c) => c.type === 'text')
        .map((c) => c.text ?? '')
        .join('\n');
      return { isError: raw.isError === true, text, structured: raw.structuredContent, raw };
    },
    async simStats() {
      if (!sim) throw new Error('no test-owned simulator');
      return (await simRequest(sim, '/sim/stats')) as never;
    },
    async simControl(path, body) {
      if (!sim) throw new Error('no test-owned simulator');
      return simRequest(sim, path, body ?? {});
    },
    async close() {
      await client.close().catch(() => {});
      if (sim) await sim.close().catch(() => {});
      rmSync(home, { recursive: true, force: true });
    },
  };
}

/** The pid of the server process started by the harness for this state directory. */
export function serverPid(home: string): number {
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (!readFileSync(`/proc/${d}/cmdline`, 'utf8').includes(CLI)) continue;
      if (readFileSync(`/proc/${d}/environ`, 'utf8').includes(`IBKR_MCP_HOME=${home}`)) return Number(d);
    } catch {
      // not ours, or ended
    }
  }
  throw new Error('server process not found');
}

/** Waits (up to 10 s) until the simulator has seen a request to `endpoint`, e.g. the warm-up's last one. */
export async function untilSeen(h: Harness, endpoint: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await h.simStats()).byEndpoint[endpoint] && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
  }
}
