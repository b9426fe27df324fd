/**
 * Side-by-side benchmark: ibkr-mcp against the product it replaces, the npm package
 * `interactive-brokers-mcp` (1.24.1), on the same simulator instance (same seed, same injected
 * latency per gateway request).
 *
 * - Both packages are installed from their tarballs into bench/.tmp (gitignored), never as a
 *   dependency of ours: the original with `npm install --prefix`, ours with `npm pack` + install.
 * - The original looks for a gateway at https://localhost:5000 (IB_GATEWAY_HOST / IB_GATEWAY_PORT,
 *   dist/config.js; the gateway manager probes the configured port, then 5000-5005). The simulator
 *   listens on 5000 when it is free, else on a free port handed to the original through
 *   IB_GATEWAY_PORT. A reachable gateway stops the original from launching its bundled Java
 *   gateway; IB_HEADLESS_MODE stays off so it never opens a browser; IB_MCP_DISABLE_LOGGING and a
 *   temporary HOME keep it from writing into the user's home. When authenticated it spawns a
 *   detached "durable tickler" process (dist/scripts/tickler.js, pid in
 *   ib-gateway/.runtime/tickler-session.json): that process is part of its tree while it runs and
 *   is stopped by pid after every run.
 * - Every scenario runs in a fresh process of each server (cold: no cache of either side helps),
 *   after the process has settled, with the simulator's counters and pacing windows reset.
 * - Equivalent tools: get_quote (1 call for N symbols) vs get_market_data (one symbol a call, so N
 *   calls, one after the other as a model would issue them); get_positions vs get_positions;
 *   get_portfolio_summary vs get_account_info; get_options_chain vs get_option_chain;
 *   get_live_orders vs get_live_orders.
 * - Fairness to the original: the simulator session is primed with GET /iserver/accounts and
 *   GET /portfolio/accounts (IB requires them before snapshots and portfolio reads; the original
 *   only calls them during its own login flow), and a bench-only alias serves
 *   GET /portfolio/{id}/positions (no page) as page 0, the form the original requests (IB's
 *   published specs only have the paged form).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { type SimulatorHandle, startSimulator } from '../src/simulator/index.js';
import { simOrders } from '../src/simulator/orders.js';
import type { RouteModule } from '../src/simulator/routes/index.js';
import { type CallMeasure, call, fmt, median, type Spawned, sim, spawnServer, stats, treePeakRssMb } from './lib.js';

export const ORIGINAL_NAME = 'interactive-brokers-mcp';
export const ORIGINAL_VERSION = '1.24.1';
const TMP = resolve(import.meta.dirname, '.tmp');
const ROOT = resolve(import.meta.dirname, '..');
const ACCOUNT = 'DU1234567';

// ---------------------------------------------------------------- installs

function npm(args: string[], cwd: string): string {
  return execFileSync('npm', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Installs the original package into bench/.tmp/original (once; reused while the version matches). */
export function installOriginal(): { dir: string; pkgDir: string; bin: string } {
  const dir = join(TMP, 'original');
  const pkgDir = join(dir, 'node_modules', ORIGINAL_NAME);
  const pkgJson = join(pkgDir, 'package.json');
  const have = existsSync(pkgJson) ? (JSON.parse(readFileSync(pkgJson, 'utf8')) as { version?: string }).version : '';
  if (have !== ORIGINAL_VERSION) {
    mkdirSync(dir, { recursive: true });
    npm(
      ['install', '--prefix', dir, '--no-audit', '--no-fund', '--omit=dev', `${ORIGINAL_NAME}@${ORIGINAL_VERSION}`],
      dir,
    );
  }
  return { dir, pkgDir, bin: join(pkgDir, 'dist', 'index.js') };
}

/** Packs ibkr-mcp (dist must be built) and installs the tarball with its production dependencies. */
export function installOurs(): { dir: string } {
  const dir = join(TMP, 'ours');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const out = npm(['pack', '--ignore-scripts', '--silent', '--pack-destination', dir], ROOT).trim().split('\n');
  const tarball = join(dir, out[out.length - 1] ?? '');
  npm(['install', '--prefix', dir, '--no-audit', '--no-fund', '--omit=dev', tarball], dir);
  rmSync(tarball, { force: true });
  return { dir };
}

/** Disk usage of a directory (du -sk), in MB. */
export function diskMb(dir: string): number {
  const out = execFileSync('du', ['-sk', dir], { encoding: 'utf8' });
  return Number(out.split(/\s/)[0]) / 1024;
}

// ---------------------------------------------------------------- simulator

/** Bench-only alias: GET /portfolio/{id}/positions answers as page 0 (the form the original requests). */
const positionsAlias: RouteModule = {
  register(router) {
    router.get('/portfolio/:accountId/positions', (ctx) => {
      const m = router.match(
        router.api,
        'GET',
        `/portfolio/${encodeURIComponent(ctx.params['accountId'] ?? '')}/positions/0`,
      );
      if (!m || !('route' in m)) return { status: 404, body: { error: 'no paged route' } };
      return m.route.handler({ ...ctx, params: { ...m.params } });
    });
  },
};

async function startBenchSimulator(seed: number): Promise<SimulatorHandle> {
  // One instance serves every scenario of both servers, and the original earns 429s when pacing
  // is enforced: IB's penalty box would then refuse the next scenarios too. The comparison counts
  // 429s, so this simulator asks for no box (the default simulator has IB's 15 minutes).
  const opts = { seed, modules: [positionsAlias], penaltyBoxMs: 0 };
  try {
    return await startSimulator({ port: 5000, ...opts });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
    return startSimulator({ port: 0, ...opts });
  }
}

/** What the original's own login flow would have done to the session. */
async function primeSession(s: SimulatorHandle): Promise<void> {
  await sim(s, '/v1/api/iserver/accounts');
  await sim(s, '/v1/api/portfolio/accounts');
}

/**
 * A fresh simulator session for each run (no market-data stream or cache left by the other
 * product), the injected latency, IB's pacing on or off, the priming above and, for the
 * live-orders scenario, five resting limit orders placed straight into the simulator's engine.
 */
async function freshSession(
  s: SimulatorHandle,
  latencyMs: number,
  pacing: boolean,
  seedOrders: boolean,
): Promise<void> {
  await sim(s, '/sim/reset', { state: true });
  await sim(s, '/sim/faults', { latencyMs, pacing });
  await primeSession(s);
  if (seedOrders) {
    const engine = simOrders(s.state);
    for (const symbol of ['AAPL', 'MSFT', 'NVDA', 'JPM', 'XOM']) {
      const inst = s.state.universe.bySymbolExact(symbol).find((i) => i.secType === 'STK');
      if (!inst) continue;
      const limit = Math.round(s.state.prices.mid(inst, s.state.clock.now()) * 50) / 100;
      let answer = engine.submit({
        acct: ACCOUNT,
        conid: inst.conid,
        inst,
        side: 'BUY',
        type: 'LMT',
        qty: 10,
        limit,
        tif: 'GTC',
        outsideRth: false,
      });
      // Answer the precautionary questions, as a client confirming them would.
      for (
        let i = 0;
        i < 5 && Array.isArray(answer.body) && (answer.body[0] as { messageIds?: unknown })?.messageIds;
        i++
      ) {
        answer = engine.reply(String((answer.body[0] as { id: unknown }).id), true);
      }
    }
  }
  await sim(s, '/sim/reset', {});
}

// ---------------------------------------------------------------- servers

interface Product {
  label: string;
  spawn(): Promise<Spawned>;
  /** Stops anything the product left running (the original's detached tickler). */
  cleanup(): void;
}

function ticklerCleanup(pkgDir: string): void {
  const file = join(pkgDir, 'ib-gateway', '.runtime', 'tickler-session.json');
  if (!existsSync(file)) return;
  try {
    const { pid } = JSON.parse(readFileSync(file, 'utf8')) as { pid?: number };
    if (typeof pid === 'number' && pid > 1) {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      // Only the tickler this package spawned.
      if (cmd.includes(join(pkgDir, 'dist', 'scripts', 'tickler.js'))) process.kill(pid, 'SIGTERM');
    }
  } catch {
    // already gone
  }
  rmSync(file, { force: true });
}

function ours(cli: string, gatewayUrl: string, home: string): Product {
  return {
    label: 'ibkr-mcp',
    spawn: () =>
      // The binary itself, as npx starts it (its shebang's V8 flags apply).
      spawnServer(cli, ['serve', '--backend', 'gateway', '--gateway-url', gatewayUrl, '--log-level', 'error'], {
        IBKR_MCP_HOME: home,
      }),
    cleanup() {},
  };
}

function original(bin: string, pkgDir: string, port: number, home: string): Product {
  return {
    label: ORIGINAL_NAME,
    spawn: () =>
      spawnServer(process.execPath, [bin], {
        HOME: home,
        IB_GATEWAY_HOST: 'localhost',
        IB_GATEWAY_PORT: String(port),
        IB_HEADLESS_MODE: 'false',
        IB_MCP_DISABLE_LOGGING: 'true',
        IB_MCP_LOG_DIR: join(home, 'logs'),
      }),
    cleanup: () => ticklerCleanup(pkgDir),
  };
}

// ---------------------------------------------------------------- scenarios

export interface Outcome {
  ms: number;
  requests: number;
  status429: number;
  bytes: number;
  tokens: number;
  /** Empty when the tool answered what was asked; else why not. */
  failure: string;
}

type Scenario = (client: Spawned['client']) => Promise<CallMeasure[]>;

/** Recognises the original's failures: it answers errors as normal text results (never isError). */
function failureOf(m: CallMeasure[], check?: (m: CallMeasure) => string): string {
  const bad = m.filter((x) => x.isError || /^Error\b|Failed to|"success":\s*false/.test(x.text));
  if (bad.length) {
    const first = bad[0]?.text.replace(/\s+/g, ' ').slice(0, 80) ?? '';
    return `${bad.length}/${m.length} failed ("${first}")`;
  }
  if (check) {
    const why = m.map(check).filter(Boolean);
    if (why.length) return `${why.length}/${m.length} incomplete (${why[0]})`;
  }
  return '';
}

async function settle(s: SimulatorHandle): Promise<void> {
  // Let start-up probes finish and IB's one-second pacing window empty, then count from zero.
  await new Promise((r) => setTimeout(r, 1200));
  await sim(s, '/sim/reset', {});
}

async function runScenario(
  s: SimulatorHandle,
  p: Product,
  scenario: Scenario,
  check: ((m: CallMeasure) => string) | undefined,
  peak: { rss: number; startup: number[]; toolsList: number },
): Promise<Outcome> {
  const server = await p.spawn();
  peak.startup.push(server.startupMs);
  peak.toolsList = server.toolsListBytes;
  try {
    await settle(s);
    const t0 = performance.now();
    const measures = await scenario(server.client);
    const ms = performance.now() - t0;
    const st = await stats(s);
    peak.rss = Math.max(peak.rss, treePeakRssMb(server.pid));
    return {
      ms,
      requests: st.total,
      status429: st.status429,
      bytes: measures.reduce((a, m) => a + m.bytes, 0),
      tokens: measures.reduce((a, m) => a + m.tokens, 0),
      failure: failureOf(measures, check),
    };
  } finally {
    await server.close();
    p.cleanup();
  }
}

const one =
  (name: string, args: Record<string, unknown>): Scenario =>
  async (c) => [await call(c, name, args)];

const sequential =
  (name: string, argsList: Record<string, unknown>[]): Scenario =>
  async (c) => {
    const out: CallMeasure[] = [];
    for (const a of argsList) out.push(await call(c, name, a));
    return out;
  };

/** The original returns IB's snapshot rows as they come: a row without field 31 has no price. */
const positionsComplete =
  (expected: number) =>
  (m: CallMeasure): string => {
    try {
      const body = JSON.parse(m.text) as unknown;
      return Array.isArray(body) && body.length < expected
        ? `${body.length} of ${expected} positions (first page only)`
        : '';
    } catch {
      return '';
    }
  };

const liveOrdersComplete =
  (expected: number) =>
  (m: CallMeasure): string => {
    try {
      const body = JSON.parse(m.text) as { orders?: unknown[] };
      const n = body.orders?.length ?? 0;
      return n < expected ? `${n} of ${expected} orders (IB's first call answers an empty list)` : '';
    } catch {
      return '';
    }
  };

const originalHasPrice = (m: CallMeasure): string => {
  try {
    const body = JSON.parse(m.text) as { marketData?: Array<Record<string, unknown>> };
    return body.marketData?.some((r) => r['31'] !== undefined) ? '' : 'no price in the answer (IB snapshot pre-flight)';
  } catch {
    return '';
  }
};

// ---------------------------------------------------------------- the comparison

export interface CompareRow {
  measure: string;
  unit: string;
  ours: number | undefined;
  original: number | undefined;
  oursNote?: string;
  originalNote?: string;
  /** Target ratio ours/original, if the issue sets one (e.g. 1/3 for sizes, 1/10 for 50-symbol quote time). */
  target?: number;
}

export interface Comparison {
  rows: CompareRow[];
  port: number;
  notes: string[];
}

export async function compareWithOriginal(opts: {
  cli: string;
  seed: number;
  latencyMs: number;
  symbols: string[];
  log?: (s: string) => void;
}): Promise<Comparison> {
  const log = opts.log ?? (() => {});
  log('installing interactive-brokers-mcp@1.24.1 and packing ibkr-mcp …');
  const orig = installOriginal();
  const mine = installOurs();
  const rows: CompareRow[] = [];
  const origMb = diskMb(join(orig.dir, 'node_modules'));
  const oursMb = diskMb(join(mine.dir, 'node_modules'));
  rows.push({
    measure: 'install size on disk (package + production dependencies)',
    unit: 'MB',
    ours: oursMb,
    original: origMb,
    target: 1 / 3,
  });

  const s = await startBenchSimulator(opts.seed);
  const home = mkdtempSync(join(tmpdir(), 'ibkr-mcp-bench-cmp-'));
  const notes: string[] = [];
  if (s.port !== 5000)
    notes.push(`Port 5000 was busy: the simulator ran on ${s.port}, given to the original as IB_GATEWAY_PORT.`);
  const products = {
    ours: ours(opts.cli, s.url, join(home, 'ours')),
    original: original(orig.bin, orig.pkgDir, s.port, join(home, 'original')),
  };
  mkdirSync(join(home, 'original'), { recursive: true });
  const peaks = {
    ours: { rss: 0, startup: [] as number[], toolsList: 0 },
    original: { rss: 0, startup: [] as number[], toolsList: 0 },
  };
  try {
    const sym = opts.symbols;
    const scenarios: Array<{
      label: string;
      ours: Scenario;
      original: Scenario;
      originalCheck?: (m: CallMeasure) => string;
      timeTarget?: number;
      sizeTarget?: number;
      orders?: boolean;
    }> = [
      {
        label: 'market data, 1 symbol',
        ours: one('get_quote', { symbol: sym[0] }),
        original: sequential('get_market_data', [{ symbol: sym[0] }]),
        originalCheck: originalHasPrice,
        sizeTarget: 1 / 3,
      },
      {
        label: 'market data, 10 symbols',
        ours: one('get_quote', { symbols: sym.slice(0, 10) }),
        original: sequential(
          'get_market_data',
          sym.slice(0, 10).map((symbol) => ({ symbol })),
        ),
        originalCheck: originalHasPrice,
        sizeTarget: 1 / 3,
      },
      {
        label: 'market data, 50 symbols',
        ours: one('get_quote', { symbols: sym.slice(0, 50) }),
        original: sequential(
          'get_market_data',
          sym.slice(0, 50).map((symbol) => ({ symbol })),
        ),
        originalCheck: originalHasPrice,
        timeTarget: 1 / 10,
        sizeTarget: 1 / 3,
      },
      {
        label: 'positions (111 positions)',
        ours: one('get_positions', { accountId: ACCOUNT }),
        original: one('get_positions', { accountId: ACCOUNT }),
        originalCheck: positionsComplete(111),
        sizeTarget: 1 / 3,
      },
      {
        label: 'portfolio summary (get_account_info in the original)',
        ours: one('get_portfolio_summary', { accountId: ACCOUNT }),
        original: one('get_account_info', { confirm: true }),
        sizeTarget: 1 / 3,
      },
      {
        label: 'option chain SPY',
        ours: one('get_options_chain', { symbol: 'SPY' }),
        original: one('get_option_chain', { symbol: 'SPY' }),
        sizeTarget: 1 / 3,
      },
      {
        label: 'live orders (5 resting orders)',
        ours: one('get_live_orders', {}),
        original: one('get_live_orders', {}),
        originalCheck: liveOrdersComplete(5),
        sizeTarget: 1 / 3,
        orders: true,
      },
    ];
    for (const sc of scenarios) {
      log(`  ${sc.label}`);
      // ibkr-mcp with IB's pacing enforced, as a real gateway does.
      await freshSession(s, opts.latencyMs, true, sc.orders === true);
      const a = await runScenario(s, products.ours, sc.ours, undefined, peaks.ours);
      // The original with pacing off: its best case, so its figures are for work actually done …
      await freshSession(s, opts.latencyMs, false, sc.orders === true);
      const b = await runScenario(s, products.original, sc.original, sc.originalCheck, peaks.original);
      // … and once more with pacing on, to report what a real gateway does to it.
      await freshSession(s, opts.latencyMs, true, sc.orders === true);
      const paced = await runScenario(s, products.original, sc.original, sc.originalCheck, peaks.original);
      const note = (o: Outcome) =>
        [o.failure, o.status429 ? `${o.status429} × 429` : ''].filter(Boolean).join('; ') || undefined;
      const on = note(a);
      const bn = note(b);
      const pacedNote =
        paced.failure || paced.status429
          ? `with IB's pacing enforced: ${[paced.failure, `${paced.status429} × 429`].filter(Boolean).join('; ')}`
          : undefined;
      rows.push({
        measure: `${sc.label}: gateway requests`,
        unit: '',
        ours: a.requests,
        original: b.requests,
        oursNote: on,
        originalNote: [bn, pacedNote].filter(Boolean).join('; ') || undefined,
      });
      rows.push({
        measure: `${sc.label}: wall time`,
        unit: 'ms',
        ours: a.ms,
        original: b.ms,
        oursNote: on,
        originalNote: bn,
        ...(sc.timeTarget ? { target: sc.timeTarget } : {}),
      });
      rows.push({
        measure: `${sc.label}: result size`,
        unit: 'B',
        ours: a.bytes,
        original: b.bytes,
        oursNote: `~${a.tokens} tokens`,
        originalNote: `~${b.tokens} tokens`,
        ...(sc.sizeTarget ? { target: sc.sizeTarget } : {}),
      });
    }
    rows.splice(
      1,
      0,
      {
        measure: 'process start → first tools/list answer (median of all starts)',
        unit: 'ms',
        ours: median(peaks.ours.startup),
        original: median(peaks.original.startup),
      },
      {
        measure: 'tools/list answer size',
        unit: 'B',
        ours: peaks.ours.toolsList,
        original: peaks.original.toolsList,
        oursNote: `~${Math.ceil(peaks.ours.toolsList / 4)} tokens`,
        originalNote: `~${Math.ceil(peaks.original.toolsList / 4)} tokens`,
      },
    );
    rows.push({
      measure: 'peak resident memory of the process tree (max over runs)',
      unit: 'MB',
      ours: peaks.ours.rss,
      original: peaks.original.rss,
      originalNote: 'includes its detached tickler process',
    });
  } finally {
    products.original.cleanup();
    await s.close();
    rmSync(home, { recursive: true, force: true });
  }
  return { rows, port: s.port, notes };
}

// ---------------------------------------------------------------- rendering

function show(v: number | undefined, unit: string): string {
  if (v === undefined) return 'n/a';
  const digits = unit === 'MB' ? 1 : 0;
  return `${fmt(v, digits)}${unit ? ` ${unit}` : ''}`;
}

export function isBetter(r: CompareRow): boolean | undefined {
  if (r.ours === undefined || r.original === undefined) return undefined;
  return r.ours < r.original || (r.ours === 0 && r.original === 0);
}

export function renderComparison(c: Comparison): string {
  const lines = [
    '| Measure | ibkr-mcp | interactive-brokers-mcp 1.24.1 | ibkr-mcp / original | Target | Better |',
    '| --- | --- | --- | --- | --- | --- |',
  ];
  for (const r of c.rows) {
    const ratio = r.ours !== undefined && r.original ? r.ours / r.original : undefined;
    const ratioText =
      ratio === undefined
        ? 'n/a'
        : ratio >= 1
          ? `${fmt(ratio, 2)}×`
          : `${fmt(ratio, 3)} (${fmt(1 / ratio, 1)}× better)`;
    const target = r.target ? `≤ ${fmt(r.target, 3)}` : '';
    const met = r.target && ratio !== undefined ? (ratio <= r.target ? 'met' : '**missed**') : '';
    const better = isBetter(r);
    const cell = (v: number | undefined, note?: string) => `${show(v, r.unit)}${note ? ` (${note})` : ''}`;
    lines.push(
      `| ${r.measure} | ${cell(r.ours, r.oursNote)} | ${cell(r.original, r.originalNote)} | ${ratioText} | ${target}${met ? ` ${met}` : ''} | ${better === undefined ? 'n/a' : better ? 'yes' : '**no**'} |`,
    );
  }
  return lines.join('\n');
}

/** For tests and the README: the installed original's file list (proves nothing of it is our dependency). */
export function originalIsNotOurDependency(): boolean {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as Record<string, Record<string, string>>;
  const deps = { ...(pkg['dependencies'] ?? {}), ...(pkg['devDependencies'] ?? {}) };
  return !(ORIGINAL_NAME in deps) && !readdirSync(join(ROOT, 'node_modules')).includes(ORIGINAL_NAME);
}
