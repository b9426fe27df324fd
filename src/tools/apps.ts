/**
 * MCP Apps (the `io.modelcontextprotocol/ui` extension): which tools have a view, and the one
 * app-only tool, `order_ticket`, through which the order ticket app shows a held order to the
 * human and places it when they press Place. The MCP layer (src/mcp/apps.ts) lists these only
 * to clients that declared the extension, marked visible to the app alone; a model never sees
 * them, and without the per-ticket secret (handed out by `open`, in this app-only result only)
 * every action but `open` is refused.
 */
import * as z from 'zod';
import { BrokerError } from '../broker/errors.js';
import type { OrderType } from '../broker/orders.js';
import { orderService, type TicketView } from '../safety/index.js';
import { outcome } from '../safety/outcome.js';
import { callOpts } from './common.js';
import { Mode, OrderResultOut, Price, renderResult, resultOut } from './order-shapes.js';
import { defineTool, type ToolContext } from './tool.js';

export const UI_EXTENSION = 'io.modelcontextprotocol/ui';
export const APP_MIME = 'text/html;profile=mcp-app';

/** The views: name, the `ui://` resource, and the model-visible tools whose results they show. */
export const APP_VIEWS = [
  {
    name: 'order-ticket',
    title: 'Order ticket',
    tools: ['place_stock_order', 'place_option_order', 'preview_order', 'modify_order'],
  },
  { name: 'portfolio', title: 'Portfolio', tools: ['get_positions'] },
  { name: 'option-chain', title: 'Option chain', tools: ['get_options_chain'] },
  { name: 'chart', title: 'Price chart', tools: ['get_historical_data'] },
] as const;

export type AppViewName = (typeof APP_VIEWS)[number]['name'];

export function appUri(name: AppViewName): string {
  return `ui://ibkr-mcp/${name}.html`;
}

/** True when the declared client capabilities include the Apps extension with HTML views. */
export function declaresUi(caps: Record<string, unknown> | undefined): boolean {
  const ext = (caps?.['extensions'] as Record<string, unknown> | undefined)?.[UI_EXTENSION] as
    | { mimeTypes?: unknown }
    | undefined;
  if (!ext || typeof ext !== 'object') return false;
  return Array.isArray(ext.mimeTypes) && ext.mimeTypes.includes(APP_MIME);
}

const TicketId = z
  .string()
  .trim()
  .regex(/^tk-[A-Za-z0-9_-]{16}$/);

const TicketOut = z.object({
  ticketId: z.string(),
  status: z.enum(['open', 'question', 'done', 'cancelled', 'expired']),
  mode: Mode,
  expiresAt: z.string(),
  order: OrderResultOut.describe('The order as it would be sent, with the what-if and the limit checks'),
  checks: z.array(z.object({ name: z.string(), ok: z.boolean(), detail: z.string().optional() })),
  result: OrderResultOut.optional().describe('The answer to Place'),
  problem: z.string().optional(),
  secret: z.string().optional().describe('open only: the key of this ticket, for this app alone'),
});
type TicketOutT = z.infer<typeof TicketOut>;

function ticketOut(v: TicketView, secret?: string): TicketOutT {
  const p = v.prepared;
  const out: TicketOutT = {
    ticketId: v.id,
    status: v.status,
    mode: p.mode === 'LIVE' ? 'LIVE' : p.mode === 'PAPER' ? 'PAPER' : 'SIMULATED',
    expiresAt: v.expiresAt,
    order: resultOut(outcome(p, 'confirmation_required', 'Held in the order ticket.', { approval: 'ticket' })),
    checks: (p.limits?.checks ?? []).map((c) => {
      const r: { name: string; ok: boolean; detail?: string } = { name: c.name, ok: c.ok };
      if (c.detail) r.detail = c.detail;
      return r;
    }),
  };
  if (v.result) out.result = resultOut(v.result);
  if (v.problem) out.problem = v.problem;
  if (secret) out.secret = secret;
  return out;
}

/** App-only tools answer only clients that render Apps (and never with --no-ui). */
function assertUi(ctx: ToolContext): void {
  if (!ctx.uiClient) {
    throw new BrokerError('REFUSED', 'order_ticket is for the order ticket app of a client that shows MCP Apps.', {
      hint: 'Orders are approved with confirm_order, a dialog or an approval code in this client.',
    });
  }
}

export const orderTicket = defineTool({
  name: 'order_ticket',
  title: 'Order ticket (app only)',
  toolset: 'orders',
  kind: 'destructive',
  description:
    'For the order ticket app only: open a held order, change quantity/price, place or cancel it; or prepare a ticket for a contract.',
  input: z.object({
    action: z.enum(['open', 'update', 'place', 'cancel', 'prepare']),
    ticketId: TicketId.optional(),
    secret: z.string().trim().min(20).max(100).optional(),
    quantity: z.number().positive().finite().optional(),
    price: Price.optional(),
    // prepare: a new ticket for a contract the human clicked (option chain).
    conid: z.number().int().positive().optional(),
    side: z.enum(['BUY', 'SELL']).optional(),
    accountId: z.string().trim().max(32).optional(),
  }),
  output: TicketOut,
  async handle(args, ctx) {
    assertUi(ctx);
    const svc = orderService(ctx.app);
    const opts = callOpts(ctx);
    if (args.action === 'prepare') {
      if (!args.conid || !args.side || !args.quantity) {
        throw new BrokerError('INVALID_INPUT', 'prepare needs conid, side and quantity.');
      }
      const contract = await ctx.app.backend.resolveContract({ conid: args.conid }, opts);
      const draft = {
        accountId: args.accountId,
        contract,
        side: args.side,
        orderType: (args.price !== undefined ? 'LMT' : 'MKT') as OrderType,
        quantity: args.quantity,
        limitPrice: args.price,
        tif: 'DAY' as const,
        outsideRth: false,
      };
      const prepared = await svc.prepare(draft, opts);
      const { id } = svc.tickets.create(prepared, draft);
      const opened = svc.tickets.open(id);
      return ticketOut(opened.view, opened.secret);
    }
    if (!args.ticketId) throw new BrokerError('INVALID_INPUT', `${args.action} needs ticketId.`);
    if (args.action === 'open') {
      const opened = svc.tickets.open(args.ticketId);
      return ticketOut(opened.view, opened.secret);
    }
    const secret = args.secret ?? '';
    if (args.action === 'update') {
      return ticketOut(
        await svc.tickets.update(args.ticketId, secret, { quantity: args.quantity, limitPrice: args.price }, opts),
      );
    }
    if (args.action === 'place') return ticketOut(await svc.tickets.place(args.ticketId, secret, opts));
    return ticketOut(await svc.tickets.cancel(args.ticketId, secret, opts));
  },
  render: (t) =>
    [
      `[${t.mode}] order ticket ${t.ticketId}: ${t.status}${t.problem ? ` (${t.problem})` : ''}`,
      t.result ? renderResult(t.result) : renderResult(t.order),
    ].join('\n'),
});

/** Tools only an app can call (listed with visibility ["app"], to Apps clients only). */
export const APP_ONLY_TOOLS = [orderTicket];
