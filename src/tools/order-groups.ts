/**
 * Order groups (toolset "order_groups"): place_oca_orders places 2-6 stock or option orders as one
 * one-cancels-all group in one request (IB: `isSingleGroup` on each; a fill of one cancels the
 * others). The group is checked as a whole, previewed with one what-if, approved once (the
 * approval covers exactly these orders) and journaled before it is sent (src/safety/oca.ts).
 */
import * as z from 'zod';
import { BrokerError } from '../broker/errors.js';
import { CLIENT_ORDER_ID_RE } from '../broker/patterns.js';
import { orderService } from '../safety/index.js';
import type { OrderOutcome } from '../safety/outcome.js';
import { MAX_OCA_ORDERS } from '../safety/service.js';
import { callOpts, ident, instrumentFields, num, SymbolSchema } from './common.js';
import {
  AccountId,
  ClientOrderId,
  elicitMessage,
  type OptionArgs,
  OrderResultOut,
  OrderTypeIn,
  Price,
  renderResult,
  resultOut,
  Side,
  type StockArgs,
  Tif,
} from './order-shapes.js';
import { approveAndSend, draftFrom, optionContract, stockContract } from './orders.js';
import { defineTool, type ToolContext } from './tool.js';

// Strict: a field this tool does not send (takeProfit, cashQty…) is refused, never dropped.
const Member = z.strictObject({
  symbol: SymbolSchema.optional(),
  conid: instrumentFields.conid,
  expiration: z.string().trim().min(4).max(12).optional(),
  strike: Price.optional(),
  right: z.enum(['C', 'P']).optional(),
  action: Side,
  orderType: OrderTypeIn,
  quantity: z.number().positive().finite(),
  price: Price.optional(),
  stopPrice: Price.optional(),
  tif: Tif.optional(),
  clientOrderId: ClientOrderId.optional(),
});

const input = z.object({
  accountId: AccountId.optional(),
  orders: z.array(Member).min(2).max(MAX_OCA_ORDERS),
  ocaGroup: z.string().trim().regex(CLIENT_ORDER_ID_RE).optional(),
  // IB's OCA types 1-3; the Client Portal API carries none (isSingleGroup only), so 2 and 3 are refused.
  ocaType: z.number().int().min(1).max(3).optional(),
});

const MemberOut = z.object({
  clientOrderId: z.string(),
  conid: z.number(),
  symbol: z.string(),
  side: z.string(),
  quantity: z.number(),
  orderType: z.string(),
  price: z.number().optional(),
  stopPrice: z.number().optional(),
  orderId: z.string().optional(),
  ibStatus: z.string().optional(),
});

const output = OrderResultOut.extend({
  members: z.array(MemberOut).optional().describe('Every order of the group, first = this result'),
});
type Out = z.infer<typeof output>;

function groupOut(r: OrderOutcome): Out {
  const out: Out = resultOut(r);
  if (r.members?.length) {
    out.members = r.members.map((m) => {
      const o = m.order;
      const row: z.infer<typeof MemberOut> = {
        clientOrderId: o.clientOrderId,
        conid: o.conid,
        symbol: m.contract.symbol,
        side: o.side,
        quantity: o.quantity,
        orderType: o.orderType,
      };
      if (o.limitPrice !== undefined) row.price = o.limitPrice;
      if (o.stopPrice !== undefined) row.stopPrice = o.stopPrice;
      if (m.orderId) row.orderId = m.orderId;
      if (m.ibStatus) row.ibStatus = m.ibStatus;
      return row;
    });
  }
  return out;
}

async function memberContract(ctx: ToolContext, m: z.infer<typeof Member>) {
  // An option by its expiration, strike and right (or an option conid); a stock otherwise.
  const opt = m.expiration !== undefined || m.right !== undefined || m.strike !== undefined;
  if (!opt && m.conid !== undefined) {
    const c = await ctx.app.backend.resolveContract({ conid: m.conid }, callOpts(ctx));
    if (c.secType === 'STK' || c.secType === 'OPT') return c;
    throw new BrokerError('INVALID_INPUT', `conid ${c.conid} is ${c.secType}: an OCA order is a stock or an option.`);
  }
  return opt ? optionContract(ctx, m as OptionArgs) : stockContract(ctx, m as StockArgs);
}

export const placeOcaOrders = defineTool({
  name: 'place_oca_orders',
  title: 'Place one-cancels-all orders',
  toolset: 'order_groups',
  kind: 'destructive',
  description:
    'Stock/option orders (2-6) as one one-cancels-all group: a fill of one cancels the rest. Checked and approved as one.',
  input,
  output,
  async handle(args, ctx) {
    const svc = orderService(ctx.app);
    return approveAndSend(
      ctx,
      'place_oca_orders',
      args as Record<string, unknown>,
      async () => {
        const drafts = [];
        for (const m of args.orders) {
          const contract = await memberContract(ctx, m);
          drafts.push(draftFrom({ ...m, accountId: args.accountId } as StockArgs, contract));
        }
        return svc.prepareOca(
          drafts,
          { name: args.ocaGroup, type: args.ocaType as 1 | 2 | 3 | undefined },
          callOpts(ctx),
        );
      },
      args.orders[0]?.clientOrderId,
      { out: groupOut, ask: elicitMessage },
    );
  },
  render: (r) =>
    [
      renderResult(r),
      ...(r.members ?? []).map(
        (m, i) =>
          `  ${i + 1}. ${m.side} ${num(m.quantity)} ${ident(m.symbol)} (conid ${m.conid}) ${m.orderType}${m.price !== undefined ? ` @ ${num(m.price)}` : ''}${m.stopPrice !== undefined ? ` stop ${num(m.stopPrice)}` : ''} cOID ${m.clientOrderId}${m.orderId ? ` → IB ${ident(m.orderId)} (${ident(m.ibStatus ?? '')})` : ''}`,
      ),
    ].join('\n'),
});

export const ORDER_GROUP_TOOLS = [placeOcaOrders];
