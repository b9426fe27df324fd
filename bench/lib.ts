/**
 * Benchmark helpers: spawn a server over stdio with the real SDK client, count gateway requests
 * through the simulator's /sim/stats, read a process tree's resident memory from /proc.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { Client } from '@modelcontextprotocol/client';
import { getDefaultEnvironment, StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import type { SimulatorHandle } from '../src/simulator/index.js';
import { simRequest } from '../test/e2e/harness.js';

/** GET (no body) or POST to the simulator's control surface; the same helper the e2e tests use. */
export const sim = simRequest;

export interface Stats {
  total: number;
  status429: number;
  byEndpoint: Record<string, number>;
}

export async function stats(handle: SimulatorHandle): Promise<Stats> {
  return (await sim(handle, '/sim/stats')) as Stats;
}

export interface Spawned {
  client: Client;
  pid: number;
  /** ms from spawn to the first tools/list answer */
  startupMs: number;
  toolsListBytes: number;
  close(): Promise<void>;
}

export async function spawnServer(command: string, args: string[], env: Record<string, string>): Promise<Spawned> {
  const t0 = performance.now();
  const transport = new StdioClientTransport({
    command,
    args,
    env: { ...getDefaultEnvironment(), ...env },
    stderr: 'ignore',
  });
  const client = new Client({ name: 'ibkr-mcp-bench', version: '1.0.0' });
  await client.connect(transport);
  const list = await client.listTools();
  const startupMs = performance.now() - t0;
  return {
    client,
    pid: transport.pid ?? 0,
    startupMs,
    toolsListBytes: Buffer.byteLength(JSON.stringify(list)),
    close: () => client.close(),
  };
}

export interface CallMeasure {
  ms: number;
  bytes: number;
  tokens: number;
  isError: boolean;
  text: string;
}

/** Token estimate: ~4 characters a token (a common approximation for English/JSON with cl100k-like tokenizers). */
export function tokens(s: string): number {
  return Math.ceil(s.length / 4);
}

/** What the model receives: the text content plus the structured content, serialised. */
export async function call(client: Client, name: string, args: Record<string, unknown>): Promise<CallMeasure> {
  const t0 = performance.now();
  const res = await client.callTool({ name, arguments: args }, { timeout: 600_000 });
  const ms = performance.now() - t0;
  const text = ((res.content ?? []) as Array<{ type: string; text?: string }>).map((c) => c.text ?? '').join('\n');
  const payload = JSON.stringify({ content: res.content, structuredContent: res.structuredContent });
  return { ms, bytes: Buffer.byteLength(payload), tokens: tokens(payload), isError: res.isError === true, text };
}

function children(pid: number): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push(Number(d));
    } catch {
      // process ended meanwhile
    }
  }
  return out;
}

/** Peak resident memory (VmHWM) summed over a process and its descendants, in MB. */
export function treePeakRssMb(pid: number): number {
  return treeMemMb(pid, 'VmHWM');
}

/** Current resident memory (VmRSS) summed over a process and its descendants, in MB. */
export function treeRssMb(pid: number): number {
  return treeMemMb(pid, 'VmRSS');
}

function treeMemMb(pid: number, key: 'VmHWM' | 'VmRSS'): number {
  let kb = 0;
  const stack = [pid];
  while (stack.length) {
    const p = stack.pop()!;
    try {
      const m = new RegExp(`${key}:\\s+(\\d+)`).exec(readFileSync(`/proc/${p}/status`, 'utf8'));
      if (m) kb += Number(m[1]);
    } catch {
      continue;
    }
    stack.push(...children(p));
  }
  return kb / 1024;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? 0;
}

export function fmt(n: number, digits = 0): string {
  return n.toFixed(digits);
}
