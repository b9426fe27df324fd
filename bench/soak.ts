/**
 * Soak: many mixed tool calls over the simulator against one server process, watching its
 * resident memory and its open file descriptors (sockets among them) from /proc.
 *
 *   npm run soak               10,000 calls (the figure), prints the result
 *   test/e2e/soak.test.ts      2,000 calls inside `npm test`
 *
 * The mix: cheap calls that never reach the gateway (status, refused arguments on every tool),
 * warm reads that do (quotes, positions, history, contract search, options) and
 * errors from the gateway (unknown symbols). Reads that reach the gateway are paced by IB's
 * limits (10 requests a second), which is what bounds the run's length; tools whose endpoint
 * IB paces at one request per 5 seconds (P&L, live orders, trades) are left out for that reason.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Client } from '@modelcontextprotocol/client';
import { startSimulator } from '../src/simulator/index.js';
import { spawnServer } from './lib.js';

export interface ProcSample {
  rssMb: number;
  fds: number;
  sockets: number;
}

export function sampleProc(pid: number): ProcSample {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  let fds = 0;
  let sockets = 0;
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    fds++;
    try {
      if (readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith('socket:')) sockets++;
    } catch {
      // closed meanwhile
    }
  }
  return { rssMb: rssKb / 1024, fds, sockets };
}

const SYMBOLS = ['AAPL', 'MSFT', 'NVDA', 'AMZN', 'JPM', 'XOM', 'KO', 'SPY', 'QQQ', 'IBM'];

/** The i-th call of the mix (deterministic): 8 calls in every `period` reach the gateway. */
export function mixedCall(i: number, period = 100): { name: string; args: Record<string, unknown> } {
  const s = SYMBOLS[i % SYMBOLS.length]!;
  switch (i % period) {
    case 0:
      return { name: 'get_quote', args: { symbols: SYMBOLS } };
    case 1:
      return { name: 'get_quote', args: { symbol: s } };
    case 2:
      // Every account: the simulator's login has three, and a call without one asks which.
      return { name: 'get_positions', args: { limit: 20, allAccounts: true } };
    case 3:
      return { name: 'search_contracts', args: { query: s } };
    case 4:
      return { name: 'get_quote', args: { symbol: `NOPE${i % 7}` } };
    case 5:
      return { name: 'get_historical_data', args: { symbol: s, period: '5d', bar: '1h' } };
    case 6:
      return { name: 'get_options_chain', args: { symbol: 'SPY', strikeCount: 2, expirationCount: 1 } };
    case 7:
      return { name: 'get_market_data', args: { symbol: s } };
    default: {
      // No gateway request: the connection state, and refused arguments on the other tools.
      const refused = [
        { name: 'get_connection_status', args: {} },
        { name: 'get_quote', args: {} },
        { name: 'get_quote', args: { symbols: 'AAPL' } },
        { name: 'get_historical_data', args: { symbol: 'AAPL', period: 'forever' } },
        { name: 'place_stock_order', args: { symbol: 'AAPL', action: 'BUY', orderType: 'LMT', quantity: -1 } },
        { name: 'get_options_chain', args: { symbol: 'SPY', strikeCount: 1000 } },
        { name: 'get_positions', args: { limit: -5 } },
        { name: 'get_connection_status', args: {} },
        { name: 'search_contracts', args: {} },
        { name: 'get_trades', args: { days: 365 } },
        { name: 'get_connection_status', args: {} },
        { name: 'modify_order', args: {} },
      ];
      return refused[(i >> 1) % refused.length]!;
    }
  }
}

export interface SoakResult {
  calls: number;
  errors: number;
  unexpected: string[];
  ms: number;
  afterWarmup: ProcSample;
  end: ProcSample;
}

/**
 * Runs `calls` mixed calls, `concurrency` in flight; samples the process after the first
 * `warmup` calls and at the end (each after a short idle, so in-flight buffers are gone).
 */
export async function soak(
  client: Client,
  pid: number,
  opts: { calls: number; warmup: number; concurrency: number; period?: number; progress?: (done: number) => void },
): Promise<SoakResult> {
  const idle = () => new Promise((r) => setTimeout(r, 1500));
  const unexpected: string[] = [];
  let errors = 0;
  let done = 0;
  const t0 = performance.now();
  const run = async (from: number, to: number) => {
    let next = from;
    await Promise.all(
      Array.from({ length: opts.concurrency }, async () => {
        while (next < to) {
          const i = next++;
          const { name, args } = mixedCall(i, opts.period);
          try {
            const r = await client.callTool({ name, arguments: args }, { timeout: 60_000 });
            if (r.isError) {
              errors++;
              const text = ((r.content ?? []) as Array<{ text?: string }>).map((c) => c.text ?? '').join('');
              if (/\[INTERNAL\]/.test(text) && unexpected.length < 10)
                unexpected.push(`${name}: ${text.slice(0, 200)}`);
            }
          } catch (err) {
            if (unexpected.length < 10)
              unexpected.push(`${name} threw ${err instanceof Error ? err.message : String(err)}`);
          }
          done++;
          if (done % 500 === 0) opts.progress?.(done);
        }
      }),
    );
  };
  // RSS moves with the garbage collector's timing: the smallest of three samples, 500 ms apart.
  const settled = async (): Promise<ProcSample> => {
    await idle();
    const xs: ProcSample[] = [];
    for (let k = 0; k < 3; k++) {
      if (k) await new Promise((r) => setTimeout(r, 500));
      xs.push(sampleProc(pid));
    }
    return xs.reduce((a, b) => (b.rssMb < a.rssMb ? b : a));
  };
  await run(0, opts.warmup);
  const afterWarmup = await settled();
  await run(opts.warmup, opts.calls);
  const end = await settled();
  return { calls: opts.calls, errors, unexpected, ms: performance.now() - t0, afterWarmup, end };
}

/**
 * The bounds: RSS at the end within 20% of that after the warm-up; no growth in sockets or
 * handles beyond the gateway connection pool filling up (undici keeps up to 10 connections).
 */
export const POOL_CONNECTIONS = 10;
export function soakWithinBounds(r: SoakResult): boolean {
  return (
    r.end.rssMb <= r.afterWarmup.rssMb * 1.2 &&
    r.end.sockets <= Math.max(r.afterWarmup.sockets, 0) + POOL_CONNECTIONS - 1 &&
    r.end.fds - r.afterWarmup.fds <= r.end.sockets - r.afterWarmup.sockets + 1
  );
}

export function describeSoak(r: SoakResult): string {
  const growth = (r.end.rssMb / r.afterWarmup.rssMb - 1) * 100;
  return (
    `${r.calls} calls in ${(r.ms / 1000).toFixed(1)} s (${r.errors} isError by design, ${r.unexpected.length} unexpected); ` +
    `RSS ${r.afterWarmup.rssMb.toFixed(1)} MB after the warm-up → ${r.end.rssMb.toFixed(1)} MB at the end (${growth >= 0 ? '+' : ''}${growth.toFixed(1)}%); ` +
    `open fds ${r.afterWarmup.fds} → ${r.end.fds}, sockets ${r.afterWarmup.sockets} → ${r.end.sockets}`
  );
}

async function main() {
  const calls = Number(process.argv[2] ?? 10_000);
  const s = await startSimulator({ port: 0, seed: 42 });
  const home = mkdtempSync(join(tmpdir(), 'ibkr-mcp-soak-'));
  // Started as npx starts it (the binary itself), so its shebang's V8 flags apply, as in the bench.
  const server = await spawnServer(
    resolve(import.meta.dirname, '../dist/cli.js'),
    ['serve', '--backend', 'gateway', '--gateway-url', s.url, '--log-level', 'error'],
    { IBKR_MCP_HOME: home },
  );
  try {
    const r = await soak(server.client, server.pid, {
      calls,
      warmup: 1000,
      concurrency: 4,
      period: 100,
      progress: (d) => process.stderr.write(`  ${d}/${calls}\n`),
    });
    process.stdout.write(`soak: ${describeSoak(r)}\n`);
    // The figure goes into bench/results.md too (its own section, replaced on every run).
    const file = resolve(import.meta.dirname, 'results.md');
    const before = existsSync(file)
      ? readFileSync(file, 'utf8').replace(/\n## Soak\n[\s\S]*$/, '')
      : '# Benchmark results\n';
    const section = `\n## Soak\n\n\`npm run soak\` (${new Date().toISOString().slice(0, 10)}): ${describeSoak(r)}. Within bounds: ${soakWithinBounds(r) ? 'yes' : '**no**'}.\n`;
    writeFileSync(file, `${before.trimEnd()}\n${section}`);
    const ok = soakWithinBounds(r) && r.unexpected.length === 0;
    if (r.unexpected.length) process.stdout.write(`unexpected:\n${r.unexpected.join('\n')}\n`);
    process.exitCode = ok ? 0 : 1;
  } finally {
    await server.close();
    await s.close();
    rmSync(home, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().catch((err) => {
    process.stderr.write(`soak failed: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  });
}
