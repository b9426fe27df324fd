/**
 * `npm run bench:stream`: what IB's WebSocket changes (issue #17), measured in one run against
 * the simulator with 50 ms of latency per gateway request. Each figure is taken with the
 * WebSocket (the default) and with --no-websocket (every read over REST), as a ratio:
 *
 *   1. get_live_orders right after a fresh login (IB answers the first REST call empty and
 *      allows one call per 5 s)
 *   2. fill → MCP progress notification of get_order_status waitSeconds
 *   3. get_quote of 50 symbols, warm (second call): gateway requests
 *   4. a session with smd ends and two socket faults (drop, silent), timers shortened: the worst
 *      quote gap and the order updates seen (in process, the backend with the simulator)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startSimulator } from '../src/simulator/index.js';
import { faultSession } from '../test/integration/stream-scenario.js';
import { call, fmt, median, type Spawned, sim, spawnServer, stats } from './lib.js';
import { SP50 } from './symbols.js';

const LATENCY_MS = 50;
const CLI = resolve(import.meta.dirname, '../dist/cli.js');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Sim = Awaited<ReturnType<typeof startSimulator>>;

async function withServer<T>(s: Sim, websocket: boolean, fn: (sv: Spawned) => Promise<T>): Promise<T> {
  const home = mkdtempSync(join(tmpdir(), 'ibkr-mcp-bench-ws-'));
  const args = ['--backend', 'gateway', '--gateway-url', s.url, '--log-level', 'error', '--order-confirmation', 'none'];
  if (!websocket) args.push('--no-websocket');
  const sv = await spawnServer(CLI, args, { IBKR_MCP_HOME: home });
  try {
    return await fn(sv);
  } finally {
    await sv.close();
    rmSync(home, { recursive: true, force: true });
  }
}

/** A fresh login, then get_live_orders: the first call after it, or (`second`) the one after that. */
async function liveOrdersAfterLogin(s: Sim, websocket: boolean, second = false) {
  await sim(s, '/sim/session', { authenticated: false });
  await sim(s, '/sim/session', { authenticated: true });
  return withServer(s, websocket, async (sv) => {
    const st = await call(sv.client, 'get_connection_status', { refresh: true });
    if (!/authenticated/.test(st.text)) throw new Error(st.text);
    if (second) await sv.client.callTool({ name: 'get_live_orders', arguments: {} });
    const t0 = performance.now();
    const r = await sv.client.callTool({ name: 'get_live_orders', arguments: {} });
    const sc = r.structuredContent as { source?: string; orders: unknown[] };
    return { ms: performance.now() - t0, source: sc.source ?? '?', n: sc.orders.length };
  });
}

/** get_order_status waitSeconds on a working order that a modify makes marketable. */
async function fillToNotification(s: Sim, websocket: boolean): Promise<number> {
  return withServer(s, websocket, async (sv) => {
    const q = await call(sv.client, 'get_quote', { symbol: 'MSFT' });
    const ask = Number(/bid\/ask [\d.]+\/([\d.]+)/.exec(q.text)?.[1]);
    const cents = (x: number) => Math.round(x * 100) / 100;
    let placed = await sv.client.callTool({
      name: 'place_stock_order',
      arguments: {
        accountId: 'DU1234567',
        symbol: 'MSFT',
        action: 'BUY',
        orderType: 'LMT',
        price: cents(ask * 0.97),
        quantity: 1,
        tif: 'GTC',
      },
    });
    if (placed.isError) throw new Error(JSON.stringify(placed.content));
    // IB may ask about a limit away from the market: yes.
    const replyId = (placed.structuredContent as { question?: { replyId: string } }).question?.replyId;
    if (replyId) placed = await sv.client.callTool({ name: 'confirm_order', arguments: { replyId } });
    const id = (placed.structuredContent as { orderId?: string }).orderId;
    if (!id) throw new Error(`not placed: ${JSON.stringify(placed.content)}`);
    let notifiedAt = 0;
    const waiting = sv.client.callTool({ name: 'get_order_status', arguments: { orderId: id, waitSeconds: 30 } }, {
      onprogress: (p: { message?: string }) => {
        if (!notifiedAt && /Filled/.test(p.message ?? '')) notifiedAt = Date.now();
      },
      timeout: 60_000,
    } as never);
    await sleep(500);
    await sv.client.callTool({ name: 'modify_order', arguments: { orderId: id, price: cents(ask * 1.02) } });
    const done = (await waiting) as {
      structuredContent?: { order: { time?: string; status: string } };
      content?: unknown;
    };
    if (!done.structuredContent) throw new Error(`get_order_status: ${JSON.stringify(done.content)}`);
    const filledAt = Date.parse(done.structuredContent.order.time ?? '');
    if (!notifiedAt || !Number.isFinite(filledAt)) throw new Error(`no fill notification: ${JSON.stringify(done)}`);
    return notifiedAt - filledAt;
  });
}

/** get_quote of 50 symbols twice; the requests of the second call. */
async function warmQuotes(s: Sim, websocket: boolean): Promise<{ requests: number; ms: number }> {
  return withServer(s, websocket, async (sv) => {
    await call(sv.client, 'get_quote', { symbols: SP50 });
    await sleep(1000);
    const before = (await stats(s)).total;
    const r = await call(sv.client, 'get_quote', { symbols: SP50 });
    return { requests: (await stats(s)).total - before, ms: r.ms };
  });
}

async function main() {
  const s = await startSimulator({ port: 0, seed: 42 });
  await sim(s, '/sim/faults', { latencyMs: LATENCY_MS });
  const rows: string[][] = [];
  try {
    // Today's orders for the live-order comparison: two filled, one working.
    await sim(s, '/v1/api/iserver/accounts');
    for (const [type, price] of [
      ['MKT', undefined],
      ['MKT', undefined],
      ['LMT', 1],
    ] as const) {
      const order = {
        conid: 265598,
        orderType: type,
        side: 'BUY',
        quantity: 1,
        tif: 'GTC',
        cOID: `bench-ws-${type}-${Math.random()}`,
        ...(price ? { price } : {}),
      };
      const asked = (await sim(s, '/v1/api/iserver/account/DU1234567/orders', { orders: [order] })) as Array<{
        id?: string;
      }>;
      if (asked[0]?.id) await sim(s, `/v1/api/iserver/reply/${asked[0].id}`, { confirmed: true });
    }
    const wsFirst = await liveOrdersAfterLogin(s, true);
    const restFirst = await liveOrdersAfterLogin(s, false);
    if (rows.length) console.error(rows.at(-1)!.join(' | '));
    rows.push([
      'get_live_orders, first call after a fresh login',
      `${fmt(wsFirst.ms)} ms (${wsFirst.source}, ${wsFirst.n} orders)`,
      `${fmt(restFirst.ms)} ms (${restFirst.source}, ${restFirst.n} orders)`,
      `${fmt(restFirst.ms / wsFirst.ms, 1)}×`,
      '< 500 ms',
    ]);
    const wsSecond = await liveOrdersAfterLogin(s, true, true);
    const restSecond = await liveOrdersAfterLogin(s, false, true);
    if (rows.length) console.error(rows.at(-1)!.join(' | '));
    rows.push([
      'get_live_orders, second call',
      `${fmt(wsSecond.ms)} ms`,
      `${fmt(restSecond.ms)} ms`,
      `${fmt(restSecond.ms / wsSecond.ms, 1)}×`,
      '',
    ]);
    // Median of three each.
    const wsFill = median([
      await fillToNotification(s, true),
      await fillToNotification(s, true),
      await fillToNotification(s, true),
    ]);
    const restFill = median([
      await fillToNotification(s, false),
      await fillToNotification(s, false),
      await fillToNotification(s, false),
    ]);
    if (rows.length) console.error(rows.at(-1)!.join(' | '));
    rows.push([
      'fill → progress notification (get_order_status waitSeconds)',
      `${fmt(wsFill)} ms`,
      `${fmt(restFill)} ms`,
      `${fmt(restFill / Math.max(1, wsFill), 1)}×`,
      '< 300 ms',
    ]);
    const wsQuotes = await warmQuotes(s, true);
    const restQuotes = await warmQuotes(s, false);
    if (rows.length) console.error(rows.at(-1)!.join(' | '));
    rows.push([
      'get_quote 50 symbols, warm: gateway requests (wall time)',
      `${wsQuotes.requests} (${fmt(wsQuotes.ms)} ms)`,
      `${restQuotes.requests} (${fmt(restQuotes.ms)} ms)`,
      '',
      '0 requests',
    ]);
  } finally {
    await s.close();
  }
  const f = await faultSession(2);
  rows.push([
    'smd ends + 2× (drop, silent) per run, shortened timers: worst quote gap; fills missed/duplicated',
    `${fmt(f.worstGapMs)} ms; ${f.missed}/${f.duplicates} (${f.reconnects} reconnects)`,
    '',
    '',
    '≤ 2000 ms; 0/0',
  ]);
  const table = [
    '| Figure | WebSocket | --no-websocket | Ratio | Target |',
    '| --- | --- | --- | --- | --- |',
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n');
  console.log(table);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
