/**
 * Order tools that only read (toolset "orders"): get_live_orders, get_order_status, get_trades.
 */
import * as z from 'zod';
import { BrokerError } from '../broker/errors.js';
import { numOrNa } from '../broker/numbers.js';
import type { DataSource, LiveOrder, OrdersApi, Trade, UnlistedOrder } from '../broker/orders.js';
import { orderService } from '../safety/index.js';
import { oneAccount } from './account.js';
import { callOpts, ident, num, SymbolSchema, untrusted } from './common.js';
import { compact } from './format.js';
import { AccountId, ClientOrderId } from './order-shapes.js';
import { defineTool, type ToolContext } from './tool.js';

const LiveOrderOut = z.object({
  orderId: z.string(),
  clientOrderId: z.string().optional(),
  accountId: z.string(),
  symbol: z.string(),
  conid: z.number(),
  secType: z.string().optional(),
  side: z.enum(['BUY', 'SELL']),
  orderType: z.string(),
  quantity: z.number().optional().describe('Absent (as filled and remaining) when IB sent none'),
  filled: z.number().optional(),
  remaining: z.number().optional(),
  price: z.number().optional(),
  stopPrice: z.number().optional(),
  avgPrice: z.number().optional(),
  status: z.string(),
  tif: z.string().optional(),
  time: z.string().optional().describe('Last update, ISO time'),
  parentId: z.string().optional().describe("Bracket child: the parent's IB order id"),
});

type LiveOrderOutT = z.infer<typeof LiveOrderOut>;

/** An order as the order tools and the ibkr://orders resources show it. */
export function liveOut(o: LiveOrder): LiveOrderOutT {
  const out: LiveOrderOutT = {
    orderId: o.orderId,
    accountId: o.accountId,
    symbol: o.symbol,
    conid: o.conid,
    side: o.side,
    orderType: o.orderType,
    status: o.status,
    ...compact({ quantity: o.quantity, filled: o.filled, remaining: o.remaining }),
  };
  if (o.clientOrderId) out.clientOrderId = o.clientOrderId;
  if (o.secType) out.secType = o.secType;
  if (o.limitPrice !== undefined) out.price = o.limitPrice;
  if (o.stopPrice !== undefined) out.stopPrice = o.stopPrice;
  if (o.avgPrice !== undefined) out.avgPrice = o.avgPrice;
  if (o.tif) out.tif = o.tif;
  if (o.time) out.time = new Date(o.time).toISOString();
  if (o.parentId) out.parentId = o.parentId;
  return out;
}

function liveLine(o: LiveOrderOutT): string {
  const px = [
    o.price !== undefined ? `@ ${num(o.price)}` : '',
    o.stopPrice !== undefined ? `stop ${num(o.stopPrice)}` : '',
  ]
    .filter(Boolean)
    .join(' ');
  return `${ident(o.orderId)} ${ident(o.status)} ${o.side} ${numOrNa(o.quantity)} ${ident(o.symbol)} ${ident(o.orderType)}${px ? ` ${px}` : ''}${o.tif ? ` ${ident(o.tif)}` : ''} filled ${numOrNa(o.filled)} rem ${numOrNa(o.remaining)}${o.avgPrice !== undefined ? ` avg ${num(o.avgPrice)}` : ''}${o.clientOrderId ? ` cOID ${ident(o.clientOrderId)}` : ''}${o.parentId ? ` parent ${ident(o.parentId)}` : ''}${o.time ? ` ${o.time.slice(0, 19)}Z` : ''}`;
}

/** Where an order's data came from and how old it was when answered. */
function freshness(o: LiveOrder): { source?: DataSource; ageMs?: number } {
  return o.source ? { source: o.source, ageMs: Math.max(0, Date.now() - (o.receivedAt ?? Date.now())) } : {};
}

const freshText = (r: { source?: string; ageMs?: number }) =>
  r.source
    ? ` (${r.source === 'stream' ? 'pushed' : 'asked'}, ${(Math.round((r.ageMs ?? 0) / 100) / 10).toFixed(1)} s old)`
    : '';

const FreshOut = {
  source: z.enum(['stream', 'request']).optional(),
  ageMs: z.number().optional(),
};

/** Between re-reads while waiting (pushed updates wake the wait at once). */
const WAIT_POLL_MS = 2000;

/**
 * Waits until the order is no longer working or `seconds` pass, reporting each status or fill
 * change as MCP progress. Pushed updates arrive at once; the order is also read again every 2 s
 * (from the stream when it has the order, else from IB).
 */
async function waitForFinal(ctx: ToolContext, first: LiveOrder, seconds: number): Promise<LiveOrder> {
  const b = api(ctx);
  const deadline = Date.now() + seconds * 1000;
  let cur = first;
  const pushed: LiveOrder[] = [];
  let wake: (() => void) | undefined;
  const off = b.watchOrders?.((o) => {
    if (o.orderId !== first.orderId) return;
    pushed.push(o);
    wake?.();
  });
  let changes = 0;
  const see = async (o: LiveOrder) => {
    const moved = o.state !== cur.state || o.filled !== cur.filled || o.status !== cur.status;
    cur = o;
    // Progress counts the changes (it must increase); the message says where the order stands.
    if (moved)
      await ctx.progress(++changes, undefined, `${o.status}: filled ${numOrNa(o.filled)} of ${numOrNa(o.quantity)}`);
  };
  try {
    // The wait has begun (a client can tell a wait from a slow first read): progress 0.
    await ctx.progress(
      0,
      undefined,
      `${first.status}: filled ${numOrNa(first.filled)} of ${numOrNa(first.quantity)}; waiting up to ${seconds} s`,
    );
    while (cur.state === 'working' && Date.now() < deadline && !ctx.signal.aborted) {
      if (pushed.length === 0) {
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, Math.min(WAIT_POLL_MS, Math.max(0, deadline - Date.now())));
          wake = () => {
            clearTimeout(t);
            resolve();
          };
          ctx.signal.addEventListener('abort', wake, { once: true });
        });
        wake = undefined;
      }
      if (pushed.length > 0) {
        for (const o of pushed.splice(0)) await see(o);
      } else if (Date.now() < deadline) {
        const again = await b.orderStatus(first.orderId, callOpts(ctx)).catch(() => undefined);
        if (again) await see(again);
      }
    }
  } finally {
    off?.();
  }
  return cur;
}

/**
 * The account a read of live orders or executions is for (IB answers the selected account's): the
 * one given, else as oneAccount decides; with --default-account all, none (the selected account's
 * rows, each naming its account, as the original product).
 */
async function accountOfRead(ctx: ToolContext, given: string | undefined): Promise<string | undefined> {
  if (given) return given;
  if (ctx.app.config.defaultAccount.trim().toLowerCase() === 'all') return undefined;
  return oneAccount(ctx, undefined, callOpts(ctx));
}

function api(ctx: ToolContext): OrdersApi {
  const b = ctx.app.backend as Partial<OrdersApi>;
  if (typeof b.liveOrders !== 'function') throw new BrokerError('REFUSED', 'This backend cannot handle orders.');
  return b as OrdersApi;
}

export const getLiveOrders = defineTool({
  name: 'get_live_orders',
  title: 'Live orders',
  toolset: 'orders',
  kind: 'read',
  description: "Working and today's orders with status, fills, prices and ids.",
  input: z.object({
    accountId: AccountId.optional(),
  }),
  output: z.object({
    mode: z.string(),
    orders: z.array(LiveOrderOut),
    other: z
      .array(z.object({ orderId: z.string(), accountId: z.string(), what: z.string(), status: z.string().optional() }))
      .optional()
      .describe('Not buy/sell orders (an option exercise)'),
    ...FreshOut,
  }),
  async handle(args, ctx) {
    const acct = (await accountOfRead(ctx, args.accountId))?.toUpperCase();
    let fresh: { source?: DataSource; ageMs?: number } = {};
    const report = (source: DataSource, at: number) => {
      fresh = { source, ageMs: Math.max(0, Date.now() - at) };
    };
    let other: UnlistedOrder[] = [];
    const unlisted = (rows: UnlistedOrder[]) => {
      other = rows;
    };
    const rows = await api(ctx).liveOrders({
      ...callOpts(ctx),
      ...(acct ? { accountId: acct } : {}),
      report,
      unlisted,
    });
    const mine = rows.filter((o) => !acct || o.accountId.toUpperCase() === acct);
    return {
      mode: ctx.app.mode(),
      orders: mine.map(liveOut),
      ...(other.length ? { other: other.map((o) => ({ ...o, what: untrusted(o.what, { max: 200 }) })) } : {}),
      ...fresh,
    };
  },
  render: (r) =>
    [
      r.orders.length
        ? [`[${r.mode}] ${r.orders.length} orders${freshText(r)}:`, ...r.orders.map(liveLine)].join('\n')
        : `[${r.mode}] No live orders${freshText(r)}.`,
      ...(r.other?.length
        ? [
            `Also at IB, not buy/sell orders: ${r.other.map((o) => `${ident(o.orderId)} ${o.what}${o.status ? ` (${ident(o.status)})` : ''} ${ident(o.accountId)}`).join('; ')}`,
          ]
        : []),
    ].join('\n'),
});

export const getOrderStatus = defineTool({
  name: 'get_order_status',
  title: 'Order status',
  toolset: 'orders',
  kind: 'read',
  description: "One order's status, fills and average price, by IB order id or clientOrderId.",
  input: z.object({
    orderId: z
      .string()
      .trim()
      .regex(/^\d{1,20}$/)
      .optional(),
    clientOrderId: ClientOrderId.optional().describe('Given or returned when placing'),
    waitSeconds: z.number().min(0).max(600).optional(),
  }),
  output: z.object({
    found: z.boolean(),
    ...FreshOut,
    order: LiveOrderOut.optional(),
    journal: z.string().optional().describe("This server's record of the order, when it placed it"),
    message: z.string(),
  }),
  async handle(args, ctx) {
    if (!args.orderId && !args.clientOrderId) {
      throw new BrokerError('INVALID_INPUT', 'Pass orderId or clientOrderId.');
    }
    const svc = orderService(ctx.app);
    let live: LiveOrder | undefined;
    let journal: string | undefined;
    if (args.clientOrderId) {
      const e = svc.journal.get(args.clientOrderId);
      if (e) {
        journal = `${e.state}${e.ibStatus ? ` (${ident(e.ibStatus)})` : ''}${e.message ? `: ${untrusted(e.message)}` : ''}`;
        live = await svc.lookup(e, callOpts(ctx));
      } else live = await api(ctx).findOrderByClientId(args.clientOrderId, callOpts(ctx));
    } else {
      live = await api(ctx)
        .orderStatus(args.orderId!, callOpts(ctx))
        .catch((err: unknown) => {
          if (err instanceof BrokerError && err.code === 'NOT_FOUND') return undefined;
          throw err;
        });
      const e = live ? svc.journal.byOrderId(live.orderId) : undefined;
      if (e) journal = `${e.state}${e.message ? `: ${untrusted(e.message)}` : ''}`;
    }
    const id = args.orderId ?? args.clientOrderId!;
    if (live && args.waitSeconds && live.state === 'working') live = await waitForFinal(ctx, live, args.waitSeconds);
    if (!live) {
      return {
        found: false,
        ...(journal ? { journal } : {}),
        message: args.clientOrderId
          ? `IB shows no order with client order id ${id} in this session${journal ? ` (journal: ${journal})` : ''}.`
          : `IB does not know order ${id} in this session (IB only shows orders of the current session).`,
      };
    }
    return {
      found: true,
      ...freshness(live),
      order: liveOut(live),
      ...(journal ? { journal } : {}),
      message: `Order ${ident(live.orderId)}: ${ident(live.status)}, filled ${numOrNa(live.filled)} of ${numOrNa(live.quantity)}.`,
    };
  },
  render: (r) =>
    [
      r.order ? `${liveLine(r.order)}${freshText(r)}` : '',
      r.journal ? `journal: ${r.journal}` : '',
      r.found ? '' : r.message,
    ]
      .filter(Boolean)
      .join('\n'),
});

const TradeOut = z.object({
  executionId: z.string(),
  orderId: z.string().optional(),
  clientOrderId: z.string().optional(),
  accountId: z.string(),
  symbol: z.string(),
  conid: z.number(),
  secType: z.string().optional(),
  side: z.enum(['BUY', 'SELL']),
  quantity: z.number(),
  price: z.number(),
  commission: z.number().optional(),
  netAmount: z.number().optional(),
  exchange: z.string().optional(),
  time: z.string().optional().describe('Execution time, ISO; absent when IB gave none'),
});

export const getTrades = defineTool({
  name: 'get_trades',
  title: 'Trades (executions)',
  toolset: 'orders',
  kind: 'read',
  description: 'Executions (fills) of the last days: price, quantity, commission, order ids.',
  input: z.object({
    days: z.number().int().min(1).max(7).optional().describe('1-7, default 1 (today)'),
    accountId: AccountId.optional(),
    symbol: SymbolSchema.optional(),
  }),
  output: z.object({ trades: z.array(TradeOut) }),
  async handle(args, ctx) {
    const acct = (await accountOfRead(ctx, args.accountId))?.toUpperCase();
    const rows = await api(ctx).trades(args.days ?? 1, { ...callOpts(ctx), accountId: acct });
    const sym = args.symbol?.toUpperCase();
    const trades = rows
      .filter((t: Trade) => (!acct || t.accountId.toUpperCase() === acct) && (!sym || t.symbol.toUpperCase() === sym))
      .sort((a, b) => (b.time ?? 0) - (a.time ?? 0))
      .map((t) => {
        const o: z.infer<typeof TradeOut> = {
          executionId: t.executionId,
          accountId: t.accountId,
          symbol: t.symbol,
          conid: t.conid,
          side: t.side,
          quantity: t.quantity,
          price: t.price,
        };
        if (t.time !== undefined) o.time = new Date(t.time).toISOString();
        if (t.orderId) o.orderId = t.orderId;
        if (t.clientOrderId) o.clientOrderId = t.clientOrderId;
        if (t.secType) o.secType = t.secType;
        if (t.commission !== undefined) o.commission = t.commission;
        if (t.netAmount !== undefined) o.netAmount = t.netAmount;
        if (t.exchange) o.exchange = t.exchange;
        return o;
      });
    return { trades };
  },
  render: (r) =>
    r.trades.length
      ? r.trades
          .map(
            (t) =>
              `${t.time ? `${t.time.slice(0, 19)}Z` : 'time unknown'} ${t.side} ${num(t.quantity)} ${ident(t.symbol)} @ ${num(t.price)}${t.commission !== undefined ? ` comm ${num(t.commission, 2)}` : ''} order ${t.orderId ? ident(t.orderId) : '-'}${t.clientOrderId ? ` cOID ${ident(t.clientOrderId)}` : ''}`,
          )
          .join('\n')
      : 'No executions in that period.',
});

export const ORDER_READ_TOOLS = [getOrderStatus, getLiveOrders, getTrades];
