/**
 * The default configuration, started the way users start it: `node dist/cli.js` with no
 * settings at all (a fresh state directory, no IBKR_* variables), so the server runs its own
 * simulator in-process (SIMULATED mode). Measures the time from spawn to the first tools/list
 * answer and the resident memory of the whole process tree after 100 tool calls (the mix of
 * `npm run soak`). Part of `npm run bench`; alone: `node --import tsx bench/default-config.ts [runs] [cli.js]`
 * (another build's cli.js for a before/after comparison).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { getDefaultEnvironment } from '@modelcontextprotocol/client/stdio';
import { fmt, median, spawnServer, treePeakRssMb, treeRssMb } from './lib.js';
import type { BenchRow } from './portfolio.js';
import { mixedCall } from './soak.js';

const CLI = resolve(import.meta.dirname, '../dist/cli.js');

export interface DefaultConfigRun {
  startupMs: number;
  rssMb: number;
  peakMb: number;
  errors: number;
}

/** The environment of a user who set nothing: no IBKR_* variable, a fresh state directory. */
function userEnv(home: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(getDefaultEnvironment())) if (!k.startsWith('IBKR_')) env[k] = v;
  return { ...env, IBKR_MCP_HOME: home };
}

/** One fresh process: spawn → tools/list, then 100 calls of the soak mix, then its memory. */
export async function defaultConfigRun(cli = CLI, calls = 100): Promise<DefaultConfigRun> {
  const home = mkdtempSync(join(tmpdir(), 'ibkr-mcp-default-'));
  const server = await spawnServer(process.execPath, [cli], userEnv(home));
  try {
    let errors = 0;
    for (let i = 0; i < calls; i++) {
      const { name, args } = mixedCall(i);
      const res = await server.client.callTool({ name, arguments: args }, { timeout: 120_000 });
      // The mix refuses arguments on purpose; a failure is a gateway-reaching call that errs.
      if (res.isError && i % 100 < 8 && i % 100 !== 4) errors++;
    }
    return { startupMs: server.startupMs, rssMb: treeRssMb(server.pid), peakMb: treePeakRssMb(server.pid), errors };
  } finally {
    await server.close();
    rmSync(home, { recursive: true, force: true });
  }
}

export async function defaultConfigRows(runs = 5, cli = CLI): Promise<BenchRow[]> {
  const all: DefaultConfigRun[] = [];
  for (let i = 0; i < runs; i++) all.push(await defaultConfigRun(cli));
  const start = all.map((r) => r.startupMs);
  const rss = all.map((r) => r.rssMb);
  const peak = Math.max(...all.map((r) => r.peakMb));
  const errors = all.reduce((n, r) => n + r.errors, 0);
  return [
    {
      metric: `default configuration (\`node dist/cli.js\`, built-in simulator): spawn → first tools/list answer, median of ${runs} starts`,
      value: `${fmt(median(start))} ms [${start.map((x) => fmt(x)).join(', ')}]`,
      target: '< 500 ms',
      ok: median(start) < 500,
    },
    {
      metric: 'default configuration: resident memory of the process tree after 100 tool calls, max of runs',
      value: `${fmt(Math.max(...rss), 1)} MB (peak ${fmt(peak, 1)} MB; ${errors} unexpected errors)`,
      target: '< 100 MB',
      ok: Math.max(...rss) < 100 && errors === 0,
    },
  ];
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const runs = Number(process.argv[2] ?? 5);
  defaultConfigRows(runs, process.argv[3] ? resolve(process.argv[3]) : CLI).then(
    (rows) => {
      for (const r of rows)
        process.stdout.write(`${r.metric}: ${r.value} (target ${r.target}: ${r.ok ? 'met' : 'MISSED'})\n`);
      process.exit(0);
    },
    (err) => {
      process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
      process.exit(1);
    },
  );
}
