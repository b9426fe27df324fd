/**
 * `npm run bench`: figures of ibkr-mcp against the simulator with 50 ms of latency injected per
 * gateway request, measured in one run. Writes bench/results.md and prints the table.
 */
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startSimulator } from '../src/simulator/index.js';
import { bulkRows } from './bulk.js';
import { defaultConfigRows } from './default-config.js';
import { call, fmt, median, type Spawned, sim, spawnServer, stats, treePeakRssMb, treeRssMb } from './lib.js';
import { oauthRows } from './oauth.js';
import { benchOptions } from './options.js';
import { compareWithOriginal, isBetter, renderComparison } from './original.js';
import { portfolioRows } from './portfolio.js';
import { SP50 } from './symbols.js';

const LATENCY_MS = 50;
const CLI = resolve(import.meta.dirname, '../dist/cli.js');

export { SP50 };

interface Row {
  metric: string;
  value: string;
  target: string;
  ok: boolean;
}

async function measured(
  s: Awaited<ReturnType<typeof startSimulator>>,
  fn: () => Promise<{ ms: number; bytes?: number; isError: boolean; text: string }>,
) {
  await sim(s, '/sim/reset', {});
  const r = await fn();
  if (r.isError) throw new Error(`bench call failed: ${r.text}`);
  const st = await stats(s);
  return { ...r, requests: st.total, status429: st.status429 };
}

async function main() {
  const s = await startSimulator({ port: 0, seed: 42 });
  await sim(s, '/sim/faults', { latencyMs: LATENCY_MS });
  const home = mkdtempSync(join(tmpdir(), 'ibkr-mcp-bench-'));
  const rows: Row[] = [];
  let server: Spawned | undefined;
  try {
    // First, the default configuration exactly as users start it: `node dist/cli.js`, no settings.
    rows.push(...(await defaultConfigRows()));
    // Started as npx starts it: the binary itself, so its shebang's V8 flags apply.
    server = await spawnServer(CLI, ['--backend', 'gateway', '--gateway-url', s.url, '--log-level', 'error'], {
      IBKR_MCP_HOME: home,
    });
    const c = server.client;
    rows.push({
      metric: 'process start → first tools/list answer (against a gateway, the binary run by its shebang)',
      value: `${fmt(server.startupMs)} ms`,
      target: '< 500 ms',
      ok: server.startupMs < 500,
    });
    rows.push({ metric: 'tools/list size', value: `${server.toolsListBytes} B`, target: '', ok: true });

    const cold = await measured(s, () => call(c, 'get_quote', { symbols: SP50 }));
    rows.push({
      metric: 'get_quote 50 symbols, cold',
      value: `${fmt(cold.ms)} ms, ${cold.requests} requests, ${cold.bytes} B`,
      target: '< 1500 ms',
      ok: cold.ms < 1500,
    });
    const warm = await measured(s, () => call(c, 'get_quote', { symbols: SP50 }));
    rows.push({
      metric: 'get_quote 50 symbols, warm',
      value: `${fmt(warm.ms)} ms, ${warm.requests} requests`,
      target: '≤ 3 requests, < 400 ms',
      ok: warm.requests <= 3 && warm.ms < 400,
    });
    const one = await measured(s, () => call(c, 'get_quote', { symbol: 'AAPL' }));
    rows.push({
      metric: 'get_quote 1 symbol, warm',
      value: `${fmt(one.ms)} ms, ${one.requests} requests, ${one.bytes} B`,
      target: '',
      ok: true,
    });

    // Round-trip overhead of the MCP layer alone: a call refused by validation never reaches the gateway.
    const rt: number[] = [];
    for (let i = 0; i < 50; i++) rt.push((await call(c, 'get_quote', {})).ms);
    rows.push({
      metric: 'tool-call round trip (no gateway request), median',
      value: `${fmt(median(rt), 2)} ms`,
      target: '',
      ok: true,
    });

    rows.push(...(await portfolioRows(c, s)));

    // A burst of 500 quote calls, 25 in flight at a time, with no injected latency: the pacer must keep IB's limits.
    await sim(s, '/sim/faults', { latencyMs: 0 });
    await sim(s, '/sim/reset', {});
    const symbols = SP50;
    const t0 = performance.now();
    let next = 0;
    let failed = 0;
    await Promise.all(
      Array.from({ length: 25 }, async () => {
        while (next < 500) {
          const i = next++;
          const r = await call(c, 'get_quote', { symbol: symbols[i % symbols.length] });
          if (r.isError) failed++;
        }
      }),
    );
    const burstMs = performance.now() - t0;
    const burst = await stats(s);
    rows.push({
      metric: '500-call burst of get_quote (25 in flight)',
      value: `${fmt(burstMs)} ms, ${burst.total} requests, ${burst.status429} × 429, ${failed} errors`,
      target: '0 × 429',
      ok: burst.status429 === 0 && failed === 0,
    });
    await sim(s, '/sim/faults', { latencyMs: LATENCY_MS });
    rows.push(...(await benchOptions(s, c)));
    rows.push(...(await bulkRows(c, s)));
    rows.push(...(await oauthRows(CLI, LATENCY_MS)));
    const now = treeRssMb(server.pid);
    rows.push({
      metric: 'resident memory after the workload above (server process tree)',
      value: `${fmt(now, 1)} MB`,
      target: '< 100 MB',
      ok: now < 100,
    });
    const rss = treePeakRssMb(server.pid);
    rows.push({
      metric: 'peak resident memory (server process tree)',
      value: `${fmt(rss, 1)} MB`,
      target: '< 100 MB',
      ok: rss < 100,
    });
  } finally {
    await server?.close();
    await s.close();
  }

  // Side by side with the product ibkr-mcp replaces (bench/original.ts), unless --no-original.
  let comparison = '';
  if (!process.argv.includes('--no-original')) {
    const cmp = await compareWithOriginal({
      cli: CLI,
      seed: 42,
      latencyMs: LATENCY_MS,
      symbols: SP50,
      log: (m) => process.stderr.write(`${m}\n`),
    });
    const worse = cmp.rows.filter((r) => isBetter(r) === false).map((r) => r.measure);
    comparison = [
      '## Side by side with interactive-brokers-mcp 1.24.1',
      '',
      `Same simulator instance (seed 42, port ${cmp.port}), ${LATENCY_MS} ms of latency per gateway request, each scenario in a fresh process of each server on a fresh simulator session. ibkr-mcp runs with IB's pacing enforced; the original runs with pacing off (its best case: with pacing on it gets 429s, noted in the requests row). Sizes are the bytes of the tool result as the client receives it (text content plus structured content), tokens ≈ bytes / 4. How it is measured: bench/original.ts.`,
      '',
      renderComparison(cmp),
      '',
      ...cmp.notes.map((n) => `- ${n}`),
      worse.length
        ? `Rows where ibkr-mcp is not better: ${worse.length} (explained in bench/README.md).`
        : 'ibkr-mcp is better on every row.',
      '',
    ].join('\n');
  }

  const table = [
    `Figures from \`npm run bench\` (${new Date().toISOString().slice(0, 10)}, Node ${process.version}, ${LATENCY_MS} ms latency per gateway request unless stated).`,
    '',
    '| Measure | ibkr-mcp | Target | Met |',
    '| --- | --- | --- | --- |',
    ...rows.map((r) => `| ${r.metric} | ${r.value} | ${r.target} | ${r.target ? (r.ok ? 'yes' : '**no**') : ''} |`),
    '',
    comparison,
  ].join('\n');
  // Keep the section `npm run soak` writes (bench/soak.ts).
  const file = resolve(import.meta.dirname, 'results.md');
  const soakSection = existsSync(file) ? (/\n## Soak\n[\s\S]*$/.exec(readFileSync(file, 'utf8'))?.[0] ?? '') : '';
  writeFileSync(file, `# Benchmark results\n\n${table}${soakSection}`);
  process.stdout.write(`${table}\n`);
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);
