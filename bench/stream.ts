/**
 * `npm run bench:stream`: what IB's WebSocket changes (issue #17), measured in one run against
 * the simulator with 50 ms of latency per gateway request and IB's pacing enforced. Every
 * scenario gets its own simulator (a fresh gateway: a shared one would still be inside the
 * previous scenario's 5-second pacing windows and answer 429). Where a figure exists both ways it
 * is taken with the WebSocket (the default) and with --no-websocket (every read over REST):
 *
 *   1. get_live_orders right after a fresh login, and whether it lists the same orders as REST
 *   2. fill → notifications/resources/updated of a subscribed ibkr://orders (and, for the ratio,
 *      fill → progress notification of get_order_status waitSeconds)
 *   3. price change (the simulator's market clock moved) → notifications/resources/updated of a
 *      subscribed ibkr://quote/AAPL
 *   4. get_quote of 50 subscribed symbols, warm: gateway requests
 *   5. a 30-minute session compressed 30× (in process: the market clock runs 30× via /sim/clock,
 *      every IB and client timer is divided by 30): smd ends every 15 (simulated) minutes, two
 *      socket drops; the worst gap between updates of a held quote, in real ms, and fills missed
 *      or announced twice
 *   6. soak: 50 quote subscriptions, ibkr://orders and ibkr://pnl on one server until 40,000
 *      update notifications: resident memory over the first and the last thousand, reconnects
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createCpapiBackend } from '../src/backends/cpapi/index.js';
import { Pacer } from '../src/backends/cpapi/limiter.js';
import { startSimulator } from '../src/simulator/index.js';
import { simOrders } from '../src/simulator/orders.js';
import { simWs } from '../src/simulator/ws.js';
import { foreground } from '../test/e2e/harness.js';
import { call, fmt, median, type Spawned, sim, spawnServer, stats, treeRssMb } from './lib.js';
import { SP50 } from './symbols.js';

const LATENCY_MS = 50;
/** Tuesday 17 Nov 2026, 10:00 New York: the market is open, prices move every second. */
const OPEN_MARKET = Date.UTC(2026, 10, 17, 15, 0, 0);
const CLI = resolve(import.meta.dirname, '../dist/cli.js');
const ACCT = 'DU1234567';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const cents = (x: number) => Math.round(x * 100) / 100;

type Sim = Awaited<ReturnType<typeof startSimulator>>;

/** A fresh simulator with 50 ms latency and today's orders: two filled, one working. */
async function freshSim(ws: Record<string, number> = {}): Promise<Sim> {
  const s = await startSimulator({ port: 0, seed: 42, startAt: OPEN_MARKET, latencyMs: LATENCY_MS, ws });
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
    const asked = (await sim(s, `/v1/api/iserver/account/${ACCT}/orders`, { orders: [order] })) as Array<{
      id?: string;
    }>;
    if (asked[0]?.id) await sim(s, `/v1/api/iserver/reply/${asked[0].id}`, { confirmed: true });
  }
  // The next login starts clean: its first live-order answer is IB's placeholder.
  await sim(s, '/sim/session', { authenticated: false });
  await sim(s, '/sim/session', { authenticated: true });
  await sim(s, '/sim/reset', {});
  return s;
}

interface Notes {
  updated: Array<{ uri: string; at: number }>;
}

async function withServer<T>(
  websocket: boolean,
  fn: (sv: Spawned, s: Sim, notes: Notes) => Promise<T>,
  ws: Record<string, number> = {},
): Promise<T> {
  const s = await freshSim(ws);
  const home = mkdtempSync(join(tmpdir(), 'ibkr-mcp-bench-ws-'));
  const args = ['--backend', 'gateway', '--gateway-url', s.url, '--log-level', 'error', '--order-confirmation', 'none'];
  if (!websocket) args.push('--no-websocket');
  const sv = await spawnServer(CLI, args, { IBKR_MCP_HOME: home });
  const notes: Notes = { updated: [] };
  sv.client.setNotificationHandler('notifications/resources/updated', (n) => {
    notes.updated.push({ uri: n.params.uri, at: Date.now() });
  });
  try {
    return await fn(sv, s, notes);
  } finally {
    await sv.close();
    await s.close();
    rmSync(home, { recursive: true, force: true });
  }
}

const until = async (ok: () => boolean, ms: number, what: string) => {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await sleep(5);
  }
};

/** After a fresh login, get_live_orders: the first call after it, or (`second`) the one after that. */
async function liveOrdersAfterLogin(websocket: boolean, second = false) {
  return withServer(websocket, async (sv) => {
    const st = await call(sv.client, 'get_connection_status', { refresh: true });
    if (!/authenticated/.test(st.text)) throw new Error(st.text);
    if (second) await sv.client.callTool({ name: 'get_live_orders', arguments: { accountId: ACCT } });
    const t0 = performance.now();
    const r = await sv.client.callTool({ name: 'get_live_orders', arguments: { accountId: ACCT } });
    const ms = performance.now() - t0;
    const sc = r.structuredContent as
      | { source?: string; orders: Array<{ orderId: string; status: string; filled?: number }> }
      | undefined;
    if (!sc) throw new Error(`get_live_orders: ${JSON.stringify(r.content)}`);
    const orders = sc.orders.map((o) => `${o.orderId}:${o.status}:${o.filled ?? 0}`).sort();
    return { ms, source: sc.source ?? '?', orders };
  });
}

/** Places a limit order below the market and returns its id and the price that fills it. */
async function workingOrder(sv: Spawned): Promise<{ id: string; fillPrice: number }> {
  const q = await call(sv.client, 'get_quote', { symbol: 'MSFT' });
  const ask = Number(/bid\/ask [\d.]+\/([\d.]+)/.exec(q.text)?.[1]);
  let placed = await sv.client.callTool({
    name: 'place_stock_order',
    arguments: {
      accountId: ACCT,
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
  return { id, fillPrice: cents(ask * 1.02) };
}

/**
 * When the simulator (in this process) executes the order, on this machine's clock: its
 * executions are looked at every millisecond (the order's own time is in market time, to the second).
 */
function fillClock(s: Sim, id: string): { at: () => number; stop: () => void } {
  let at = 0;
  const t = setInterval(() => {
    if (!at && simOrders(s.state).executions.some((e) => String(e.orderId) === id)) at = Date.now();
  }, 1);
  return { at: () => at, stop: () => clearInterval(t) };
}

/** get_order_status waitSeconds on a working order that a modify makes marketable. */
async function fillToProgress(websocket: boolean): Promise<number> {
  return withServer(websocket, async (sv, s) => {
    const { id, fillPrice } = await workingOrder(sv);
    let notifiedAt = 0;
    const messages: string[] = [];
    const waiting = sv.client.callTool({ name: 'get_order_status', arguments: { orderId: id, waitSeconds: 30 } }, {
      onprogress: (p: { message?: string }) => {
        messages.push(p.message ?? '');
        if (!notifiedAt && /Filled/.test(p.message ?? '')) notifiedAt = Date.now();
      },
      timeout: 60_000,
    } as never);
    await sleep(500);
    const fill = fillClock(s, id);
    await sv.client.callTool({ name: 'modify_order', arguments: { orderId: id, price: fillPrice } });
    const done = await waiting;
    fill.stop();
    const filledAt = fill.at();
    if (!notifiedAt || !filledAt)
      throw new Error(`no fill notification: ${messages.join(' | ')} ${JSON.stringify(done).slice(0, 400)}`);
    return notifiedAt - filledAt;
  });
}

/** Subscribed ibkr://orders/{id}: fill → notifications/resources/updated (three fills, each its own order). */
async function fillToResourceUpdate(): Promise<number[]> {
  return withServer(true, async (sv, s, notes) => {
    const out: number[] = [];
    for (let i = 0; i < 3; i++) {
      const { id, fillPrice } = await workingOrder(sv);
      const uri = `ibkr://orders/${id}`;
      await sv.client.subscribeResource({ uri });
      await sleep(400);
      notes.updated.length = 0;
      const fill = fillClock(s, id);
      await sv.client.callTool({ name: 'modify_order', arguments: { orderId: id, price: fillPrice } });
      await until(() => fill.at() > 0, 10_000, 'fill');
      fill.stop();
      const filledAt = fill.at();
      await until(() => notes.updated.some((u) => u.uri === uri && u.at >= filledAt), 10_000, 'order update');
      out.push(notes.updated.find((u) => u.uri === uri && u.at >= filledAt)!.at - filledAt);
      await sv.client.unsubscribeResource({ uri });
    }
    return out;
  });
}

/** Subscribed ibkr://quote/AAPL: the simulator's market clock moves → notifications/resources/updated. */
async function priceToQuoteUpdate(): Promise<number[]> {
  return withServer(true, async (sv, s, notes) => {
    const uri = 'ibkr://quote/AAPL';
    // Market time frozen: the price changes only when the bench moves the clock.
    await sim(s, '/sim/clock', { freeze: true });
    await sv.client.subscribeResource({ uri });
    await until(() => notes.updated.some((u) => u.uri === uri), 10_000, 'first quote update');
    const out: number[] = [];
    for (let i = 0; i < 7; i++) {
      await sleep(400); // past the 250 ms coalescing window
      notes.updated.length = 0;
      const t0 = Date.now();
      await sim(s, '/sim/clock', { advanceMs: 60_000 });
      await until(() => notes.updated.some((u) => u.uri === uri), 5000, 'quote update');
      out.push(notes.updated[0]!.at - t0);
    }
    return out;
  });
}

/** get_quote of 50 symbols twice (subscribed to each first, with the WebSocket); the requests of the second call. */
async function warmQuotes(
  websocket: boolean,
): Promise<{ requests: number; ms: number; held: number; background: string[] }> {
  return withServer(websocket, async (sv, s) => {
    if (websocket) for (const sym of SP50) await sv.client.subscribeResource({ uri: `ibkr://quote/${sym}` });
    await call(sv.client, 'get_quote', { symbols: SP50 });
    await sleep(1000);
    const before = (await stats(s)).byEndpoint;
    const r = await call(sv.client, 'get_quote', { symbols: SP50 });
    const held = websocket ? simWs(s.state).lines() : 0;
    const now = (await stats(s)).byEndpoint;
    const diff = Object.fromEntries(
      Object.entries(now)
        .map(([k, v]) => [k, v - (before[k] ?? 0)] as const)
        .filter(([, v]) => v > 0),
    );
    // The server's own session work (keep-alive, status) may fall in the window: not the call's.
    const background = Object.keys(diff).filter((k) => foreground({ byEndpoint: { [k]: 1 } }) === 0);
    return { requests: foreground({ byEndpoint: diff }), ms: r.ms, held, background };
  });
}

/**
 * 30 simulated minutes in 60 s: the market clock runs 30× (moved by /sim/clock every 50 ms), and
 * IB's timers (heartbeat 10 s, smd end 15 min) and the client's (dead after 15 s, smd renewed
 * every 10 min, keep-alives, backoff) are divided by 30. Two socket drops (at 10 and 20 minutes),
 * a market order every 2 minutes. The quote gap is measured in real ms (2 s real = 60 s simulated).
 */
async function compressedSession() {
  const K = 30;
  const s = await startSimulator({
    seed: 5,
    tls: false,
    startAt: OPEN_MARKET,
    latencyMs: LATENCY_MS,
    ws: { hbMs: 10_000 / K, tickMs: 10, smdLifetimeMs: (15 * 60_000) / K },
  });
  const b = createCpapiBackend({
    baseUrl: s.url,
    pacer: new Pacer({ maxPerWindow: 10 }),
    timeoutMs: 8000,
    stream: {
      staleMs: 15_000 / K,
      echoMs: 30_000 / K,
      ticMs: 60_000 / K,
      smdRenewMs: (10 * 60_000) / K,
      backoffMs: [250, 500, 1000, 2000, 5000, 10_000].map((ms) => ms / K),
    },
  });
  const control = (path: string, body: unknown) =>
    fetch(`${s.url}${path}`, {
      method: 'POST',
      body: JSON.stringify(body),
      headers: { 'content-type': 'application/json' },
    });
  try {
    await b.session.loggedIn();
    b.session.ready();
    while (b.pushStatus().state !== 'open') await sleep(10);
    const quoteAt: number[] = [];
    const release = b.watchQuote(265598, ['last', 'bid', 'ask'], () => quoteAt.push(Date.now()));
    // Duplicates: a Filled announcement for an order already announced as filled.
    const announced = new Map<string, number>();
    b.stream!.onOrder((e) => {
      if (e.row['status'] === 'Filled' && e.changed.includes('status'))
        announced.set(e.orderId, (announced.get(e.orderId) ?? 0) + 1);
    });
    const ids: string[] = [];
    const sessionMs = (30 * 60_000) / K;
    const t0 = Date.now();
    let clockRuns = true;
    const clock = (async () => {
      let last = Date.now();
      while (clockRuns) {
        await sleep(50);
        const now = Date.now();
        await control('/sim/clock', { advanceMs: (now - last) * (K - 1) });
        last = now;
      }
    })();
    const drops = [sessionMs / 3, (2 * sessionMs) / 3];
    let n = 0;
    while (Date.now() - t0 < sessionMs) {
      const el = Date.now() - t0;
      if (drops.length && el >= drops[0]!) {
        drops.shift();
        await control('/sim/faults', { ws: { drop: true } });
      }
      if (el >= n * ((2 * 60_000) / K)) {
        n++;
        let out = await b.placeOrder({
          accountId: ACCT,
          conid: 265598,
          secType: 'STK',
          symbol: 'AAPL',
          side: 'BUY',
          orderType: 'MKT',
          quantity: 1,
          tif: 'DAY',
          outsideRth: false,
          clientOrderId: `bench-session-${n}-${Date.now()}`,
        });
        if (out.kind === 'questions') out = await b.reply(out.question.replyId, true);
        if (out.kind === 'placed') ids.push(out.orders[0]!.orderId);
      }
      await sleep(20);
    }
    clockRuns = false;
    await clock;
    await sleep(1000);
    release();
    let worst = 0;
    for (let i = 1; i < quoteAt.length; i++) worst = Math.max(worst, quoteAt[i]! - quoteAt[i - 1]!);
    worst = Math.max(worst, quoteAt.length ? quoteAt[0]! - t0 : Number.POSITIVE_INFINITY);
    const missed = ids.filter((id) => !announced.get(id)).length;
    const duplicates = ids.reduce((t, id) => t + Math.max(0, (announced.get(id) ?? 0) - 1), 0);
    return {
      worstGapMs: worst,
      updates: quoteAt.length,
      orders: ids.length,
      missed,
      duplicates,
      reconnects: b.pushStatus().reconnects,
    };
  } finally {
    await b.close();
    await s.close();
  }
}

/** 50 quote subscriptions plus orders and P&L until `total` notifications: RSS per thousand. */
async function soak(total = 40_000) {
  return withServer(true, async (sv, s, notes) => {
    for (const sym of SP50) await sv.client.subscribeResource({ uri: `ibkr://quote/${sym}` });
    await sv.client.subscribeResource({ uri: 'ibkr://orders' });
    await sv.client.subscribeResource({ uri: 'ibkr://pnl' });
    notes.updated.length = 0;
    let running = true;
    // Market time 10× real time: prices move ten times a second.
    const clock = (async () => {
      while (running) {
        await sleep(100);
        await sim(s, '/sim/clock', { advanceMs: 900 });
      }
    })();
    const rss: number[] = [];
    const t0 = Date.now();
    let sampled = 0;
    while (notes.updated.length < total && Date.now() - t0 < 600_000) {
      await sleep(20);
      const k = Math.floor(notes.updated.length / 100);
      while (sampled < k && sampled < total / 100) {
        rss[sampled++] = treeRssMb(sv.pid);
      }
    }
    running = false;
    await clock;
    if (process.env['BENCH_STREAM_RSS'])
      console.error(`RSS every 100 notifications: ${rss.map((x) => x.toFixed(0)).join(' ')}`);
    const per = rss.length / (total / 1000);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
    const first = mean(rss.slice(0, per));
    const last = mean(rss.slice(-per));
    const status = (await sv.client.callTool({ name: 'get_connection_status', arguments: {} })).structuredContent as {
      push?: { reconnects: number; state: string };
    };
    return {
      updates: notes.updated.length,
      seconds: (Date.now() - t0) / 1000,
      firstMb: first,
      lastMb: last,
      reconnects: status.push?.reconnects ?? -1,
      sockets: simWs(s.state).conns.size,
    };
  });
}

/** BENCH_STREAM_ONLY=orders,fill,progress,price,quotes,session,soak runs those figures only. */
const ONLY = process.env['BENCH_STREAM_ONLY']?.split(',');
const want = (name: string) => !ONLY || ONLY.includes(name);

async function main() {
  const rows: string[][] = [];
  const show = () => console.error(rows.at(-1)!.join(' | '));
  if (want('orders')) {
    const wsFirst = await liveOrdersAfterLogin(true);
    const restFirst = await liveOrdersAfterLogin(false);
    const same = JSON.stringify(wsFirst.orders) === JSON.stringify(restFirst.orders);
    rows.push([
      'get_live_orders, first call after a fresh login',
      `${fmt(wsFirst.ms)} ms (${wsFirst.source}, ${wsFirst.orders.length} orders)`,
      `${fmt(restFirst.ms)} ms (${restFirst.source}, ${restFirst.orders.length} orders)`,
      `${fmt(restFirst.ms / wsFirst.ms, 1)}×`,
      `< 500 ms, same orders: ${same ? 'yes' : `NO (${wsFirst.orders.join(',')} vs ${restFirst.orders.join(',')})`}`,
    ]);
    show();
    const wsSecond = await liveOrdersAfterLogin(true, true);
    const restSecond = await liveOrdersAfterLogin(false, true);
    rows.push([
      'get_live_orders, second call',
      `${fmt(wsSecond.ms)} ms`,
      `${fmt(restSecond.ms)} ms`,
      `${fmt(restSecond.ms / wsSecond.ms, 1)}×`,
      '',
    ]);
    show();
  }
  if (want('fill')) {
    const fills = await fillToResourceUpdate();
    rows.push([
      'fill → notifications/resources/updated of subscribed ibkr://orders/{id} (3 fills: median, max)',
      `${fmt(median(fills))} ms, ${fmt(Math.max(...fills))} ms`,
      'no push without the socket',
      '',
      '< 300 ms',
    ]);
    show();
  }
  if (want('progress')) {
    const wsFill = median([await fillToProgress(true), await fillToProgress(true), await fillToProgress(true)]);
    const restFill = median([await fillToProgress(false), await fillToProgress(false), await fillToProgress(false)]);
    rows.push([
      'fill → progress notification (get_order_status waitSeconds; median of 3)',
      `${fmt(wsFill)} ms`,
      `${fmt(restFill)} ms`,
      `${fmt(restFill / Math.max(1, wsFill), 1)}×`,
      '',
    ]);
    show();
  }
  if (want('price')) {
    const prices = await priceToQuoteUpdate();
    rows.push([
      'price change → notifications/resources/updated of subscribed ibkr://quote/AAPL (7 changes: median, max)',
      `${fmt(median(prices))} ms, ${fmt(Math.max(...prices))} ms`,
      'no push without the socket',
      '',
      '< 300 ms',
    ]);
    show();
  }
  if (want('quotes')) {
    const wsQuotes = await warmQuotes(true);
    const restQuotes = await warmQuotes(false);
    rows.push([
      'get_quote of 50 symbols, warm: gateway requests (wall time)',
      `${wsQuotes.requests} (${fmt(wsQuotes.ms)} ms; 50 subscribed, ${wsQuotes.held} lines at IB${wsQuotes.background.length ? `; background meanwhile: ${wsQuotes.background.join(', ')}` : ''})`,
      `${restQuotes.requests} (${fmt(restQuotes.ms)} ms)`,
      '',
      '0 requests',
    ]);
    show();
  }
  if (want('session')) {
    const f = await compressedSession();
    rows.push([
      '30-minute session compressed 30× (smd ends every 15 min, 2 socket drops, an order every 2 min): worst gap between quote updates; fills missed/duplicated',
      `${fmt(f.worstGapMs)} ms real (${f.updates} updates); ${f.missed}/${f.duplicates} of ${f.orders} (${f.reconnects} reconnects)`,
      '',
      '',
      '≤ 2000 ms; 0/0',
    ]);
    show();
  }
  if (want('soak')) {
    const k = await soak(Number(process.env['BENCH_STREAM_SOAK'] ?? 40_000));
    const drift = ((k.lastMb - k.firstMb) / k.firstMb) * 100;
    rows.push([
      `soak: 50 quote + orders + P&L subscriptions, ${k.updates} notifications in ${fmt(k.seconds)} s: server RSS, first vs last thousand`,
      `${fmt(k.firstMb, 1)} MB → ${fmt(k.lastMb, 1)} MB (${drift >= 0 ? '+' : ''}${fmt(drift, 1)} %); ${k.reconnects} reconnects, ${k.sockets} socket`,
      '',
      '',
      'within 20 %',
    ]);
    show();
  }
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
