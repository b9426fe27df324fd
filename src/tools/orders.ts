/**
 * Order tools that change orders (toolset "orders"): place_stock_order, place_option_order,
 * preview_order, confirm_order, modify_order, cancel_order. Names and parameters of the original
 * product are kept. Every write goes through src/safety (policy, approval, journal, kill
 * switch); these tools parse input and render results. Reads are in order-reads.ts.
 */
import { acceptedContent, inputRequired } from '@modelcontextprotocol/server';
import * as z from 'zod';
import { BrokerError } from '../broker/errors.js';
import type { OrderType } from '../broker/orders.js';
import type { Contract } from '../broker/types.js';
import { isDialogState } from '../safety/confirm.js';
import { canonicalHash } from '../safety/confirm-token.js';
import { orderService } from '../safety/index.js';
import { type OrderDraft, type OrderOutcome, outcome, type Prepared } from '../safety/outcome.js';
import { callOpts, ident, instrumentFields, queryFrom, untrusted } from './common.js';
import { resolveOptionContract } from './options.js';
import { ORDER_READ_TOOLS } from './order-reads.js';
import {
  AccountId,
  ConfirmSchema,
  elicitMessage,
  Mode,
  type OptionArgs,
  OrderResultOut,
  type OrderResultT,
  optionInput,
  Price,
  questionMessage,
  renderResult,
  resultOut,
  type StockArgs,
  stockInput,
  supportsElicitation,
  Tif,
  withSuppressNote,
} from './order-shapes.js';
import { defineTool, type ToolContext } from './tool.js';

// ---------------------------------------------------------------- flow

/** The result `_meta` key that carries an order ticket's id to the ticket app (not a secret). */
export const TICKET_META_KEY = 'io.github.ibkr-mcp/ticket';

/** Exactly one size: a quantity, or (stocks) a cash amount. Checked before any request to IB. */
function assertOneSize(args: { quantity?: number | undefined; cashQty?: number | undefined }): void {
  if ((args.quantity === undefined) === (args.cashQty === undefined)) {
    throw new BrokerError('INVALID_INPUT', 'Give exactly one of quantity (shares) or cashQty (an amount of money).', {
      hint: 'cashQty is for stocks and ETFs, market orders only.',
    });
  }
}

export function draftFrom(args: StockArgs | OptionArgs, contract: Contract): OrderDraft {
  const cashQty = 'cashQty' in args ? args.cashQty : undefined;
  assertOneSize({ quantity: args.quantity, cashQty });
  return {
    accountId: args.accountId,
    contract,
    side: args.action,
    orderType: args.orderType as OrderType,
    quantity: args.quantity ?? 0,
    cashQty,
    limitPrice: args.price,
    stopPrice: args.stopPrice,
    trailingAmount: args.trailingAmount,
    trailingType: args.trailingType,
    takeProfit: args.takeProfit,
    stopLoss: args.stopLoss,
    tif: args.tif ?? 'DAY',
    outsideRth: args.outsideRth ?? false,
    clientOrderId: args.clientOrderId,
  };
}

export async function stockContract(ctx: ToolContext, args: StockArgs): Promise<Contract> {
  const c = await ctx.app.backend.resolveContract(
    queryFrom({ ...args, secType: args.conid ? undefined : 'STK' }),
    callOpts(ctx),
  );
  if (c.secType !== 'STK') {
    throw new BrokerError('INVALID_INPUT', `conid ${c.conid} is ${c.secType}, not a stock.`, {
      hint:
        c.secType === 'OPT'
          ? 'Use place_option_order for options.'
          : 'Only stocks and ETFs can be traded with this tool.',
    });
  }
  return c;
}

export async function optionContract(ctx: ToolContext, args: OptionArgs): Promise<Contract> {
  if (args.conid !== undefined) {
    const c = await ctx.app.backend.resolveContract({ conid: args.conid }, callOpts(ctx));
    if (c.secType !== 'OPT') {
      throw new BrokerError('INVALID_INPUT', `conid ${c.conid} is ${c.secType}, not an option.`, {
        hint: 'Use find_option_contract to get an option conid, or pass symbol, expiration, strike and right.',
      });
    }
    return c;
  }
  const missing = [
    !args.symbol && 'symbol',
    !args.expiration && 'expiration',
    args.strike === undefined && 'strike',
    !args.right && 'right',
  ].filter(Boolean);
  if (missing.length) {
    // An order never falls back to "nearest expiration" or "at the money": every leg is explicit.
    throw new BrokerError('INVALID_INPUT', `An option order needs ${missing.join(', ')} (or conid).`, {
      hint: 'Use find_option_contract to look the contract up first.',
    });
  }
  const r = await resolveOptionContract(
    ctx.app,
    { symbol: args.symbol, expiration: args.expiration, strike: args.strike, right: args.right! },
    callOpts(ctx),
  );
  return r.contract;
}

/** How an order tool shows a result and asks the human (spreads show their legs and payoff). */
export interface OrderView<T> {
  out: (r: OrderOutcome) => T;
  ask: (p: Prepared) => string;
}

const ORDER_VIEW: OrderView<OrderResultT> = { out: resultOut, ask: elicitMessage };

/** Place or modify, through safety's approval: a result, or a dialog for the human. */
export async function approveAndSend<T = OrderResultT>(
  ctx: ToolContext,
  toolName: string,
  args: Record<string, unknown>,
  prepare: () => Promise<Prepared>,
  clientOrderId?: string,
  view: OrderView<T> = ORDER_VIEW as unknown as OrderView<T>,
  draft?: () => OrderDraft | undefined,
): Promise<T> {
  const svc = orderService(ctx.app);
  const state = ctx.mcp.mcpReq.requestState();
  const answer = acceptedContent(ctx.mcp.mcpReq.inputResponses, 'confirm', ConfirmSchema);
  const step = await svc.approve(
    {
      argsHash: canonicalHash({ tool: toolName, args }),
      dialog: isDialogState(state) ? { state, accepted: answer?.confirm === true } : undefined,
      canAsk: supportsElicitation(ctx),
      clientOrderId,
      ticket: ctx.uiClient && draft ? { draft } : undefined,
      prepare,
    },
    callOpts(ctx),
  );
  if (step.kind === 'result') return view.out(step.outcome);
  if (step.kind === 'ticket') {
    ctx.setMeta?.({ [TICKET_META_KEY]: { id: step.ticket.id } });
    return view.out(step.outcome);
  }
  const message = step.about === 'order' ? view.ask(step.prepared) : questionMessage(step.outcome);
  return inputRequired({
    inputRequests: { confirm: inputRequired.elicit({ message, requestedSchema: ConfirmSchema }) },
    requestState: step.state,
  }) as never;
}

function placeFlow(
  ctx: ToolContext,
  toolName: string,
  args: StockArgs | OptionArgs,
  resolve: () => Promise<Contract>,
): Promise<OrderResultT> {
  const svc = orderService(ctx.app);
  let draft: OrderDraft | undefined;
  return approveAndSend(
    ctx,
    toolName,
    args as Record<string, unknown>,
    async () => {
      draft = draftFrom(args, await resolve());
      return svc.prepare(draft, callOpts(ctx));
    },
    args.clientOrderId,
    undefined,
    () => draft,
  );
}

/** A place_* tool: destructive, in the orders set, its contract resolved by `contractOf`. */
function placeTool<I extends typeof stockInput | typeof optionInput>(
  def: { name: string; title: string; description: string; input: I },
  contractOf: (ctx: ToolContext, args: z.infer<I>) => Promise<Contract>,
) {
  return defineTool({
    ...def,
    toolset: 'orders',
    kind: 'destructive',
    output: OrderResultOut,
    handle: async (args, ctx) => {
      assertOneSize(args);
      return withSuppressNote(args, await placeFlow(ctx, def.name, args, () => contractOf(ctx, args)));
    },
    render: renderResult,
  });
}

export const placeStockOrder = placeTool(
  {
    name: 'place_stock_order',
    title: 'Place stock order',
    description:
      'Stock/ETF order; takeProfit/stopLoss make a bracket. Policy-checked, user-approved (dialog or confirm_order) before IB sees it.',
    input: stockInput,
  },
  stockContract,
);

export const placeOptionOrder = placeTool(
  {
    name: 'place_option_order',
    title: 'Place option order',
    description:
      'Option order by symbol, expiration, strike, right (or conid); checked and approved like place_stock_order.',
    input: optionInput,
  },
  optionContract,
);

// ---------------------------------------------------------------- preview_order

export const previewOrder = defineTool({
  name: 'preview_order',
  title: 'Preview order (what-if)',
  toolset: 'orders',
  kind: 'read',
  description:
    "What-if of a stock or option order, nothing placed: value, commission, margin after, IB's warnings, policy checks.",
  // No clientOrderId, no suppressConfirmations: nothing is placed (a bracket's what-if gets a
  // fresh client order id to link its children).
  input: optionInput.omit({ clientOrderId: true, suppressConfirmations: true }).extend({
    secType: z.enum(['STK', 'OPT']).optional().describe('Default STK'),
    quantity: z.number().positive().finite().optional().describe('Shares or contracts'),
    cashQty: Price.optional(),
    exchange: instrumentFields.exchange,
    currency: instrumentFields.currency,
  }),
  output: OrderResultOut,
  async handle(args, ctx) {
    assertOneSize(args);
    const svc = orderService(ctx.app);
    const isOpt = args.secType === 'OPT' || args.expiration !== undefined || args.right !== undefined;
    const contract = isOpt
      ? await optionContract(ctx, args as OptionArgs)
      : await stockContract(ctx, args as StockArgs);
    const draft = draftFrom({ ...args, clientOrderId: undefined } as StockArgs, contract);
    const p = await svc.prepare(draft, callOpts(ctx), true);
    const failed = p.previewError ? ` IB's what-if failed: ${untrusted(p.previewError)}` : '';
    return resultOut(
      outcome(
        p,
        'previewed',
        `Preview only: nothing was sent. The limits passed (${p.limits.checks.map((c) => c.name).join(', ')}). To place it, call ${isOpt ? 'place_option_order' : 'place_stock_order'} with the same parameters.${failed}`,
      ),
    );
  },
  render: renderResult,
});

// ---------------------------------------------------------------- confirm_order

export const confirmOrder = defineTool({
  name: 'confirm_order',
  title: 'Confirm order',
  toolset: 'orders',
  kind: 'destructive',
  description:
    "Send a held order once the user agreed (LIVE: with their code); replyId + confirmed false declines IB's question.",
  input: z.object({
    token: z.string().trim().min(10).max(2000).optional().describe('From the held result'),
    replyId: z
      .string()
      .trim()
      .regex(/^[A-Za-z0-9-]{1,80}$/)
      .optional()
      .describe('From a needs_reply result'),
    confirmed: z.boolean().optional().describe('Default true'),
    code: z
      .string()
      .trim()
      .regex(/^\d{6}$/)
      .optional(),
  }),
  output: OrderResultOut,
  async handle(args, ctx) {
    const svc = orderService(ctx.app);
    if ((args.token ? 1 : 0) + (args.replyId ? 1 : 0) !== 1) {
      throw new BrokerError('INVALID_INPUT', 'Pass exactly one of token or replyId.');
    }
    if (args.token) {
      if (args.confirmed === false) {
        const no = await svc.decline(args.token, callOpts(ctx));
        if (no) return resultOut(no);
        throw new BrokerError('REFUSED', 'Order not confirmed; the token is void and nothing was sent.');
      }
      return resultOut(await svc.confirmToken(args.token, callOpts(ctx), undefined, args.code));
    }
    return resultOut(await svc.confirmReply(args.replyId!, args.confirmed ?? true, callOpts(ctx)));
  },
  render: renderResult,
});

// ---------------------------------------------------------------- modify_order

export const modifyOrder = defineTool({
  name: 'modify_order',
  title: 'Modify order',
  toolset: 'orders',
  kind: 'destructive',
  description:
    'Change a working order (price, stopPrice, quantity, tif, trailingAmount); checked and approved like placing.',
  input: z.object({
    orderId: z
      .string()
      .trim()
      .regex(/^\d{1,20}$/),
    accountId: AccountId.optional(),
    price: Price.optional(),
    stopPrice: Price.optional(),
    quantity: z.number().positive().finite().optional().describe('New total'),
    tif: Tif.optional(),
    trailingAmount: Price.optional(),
  }),
  output: OrderResultOut,
  async handle(args, ctx) {
    const svc = orderService(ctx.app);
    return approveAndSend(
      ctx,
      'modify_order',
      args as Record<string, unknown>,
      () =>
        svc.prepareModify(
          {
            accountId: args.accountId,
            orderId: args.orderId,
            quantity: args.quantity,
            limitPrice: args.price,
            stopPrice: args.stopPrice,
            tif: args.tif,
            trailingAmount: args.trailingAmount,
          },
          (conid) => ctx.app.backend.resolveContract({ conid }, callOpts(ctx)),
          callOpts(ctx),
        ),
      undefined,
      undefined,
      () => undefined,
    );
  },
  render: renderResult,
});

// ---------------------------------------------------------------- cancel_order

export const cancelOrder = defineTool({
  name: 'cancel_order',
  title: 'Cancel order',
  toolset: 'orders',
  kind: 'destructive',
  description: 'Cancel a working order by IB order id, or "all" open orders of the account; works while halted.',
  input: z.object({
    orderId: z
      .string()
      .trim()
      .regex(/^(\d{1,20}|all)$/i)
      .describe('IB order id or "all"'),
    accountId: AccountId.optional(),
    code: z
      .string()
      .trim()
      .regex(/^\d{6}$/)
      .optional(),
  }),
  output: z.object({
    mode: Mode,
    accountId: z.string(),
    orderId: z.string(),
    accepted: z.boolean().describe('IB accepted the cancel request'),
    uncertain: z.boolean().optional().describe("IB's answer was lost: the cancel may or may not have taken effect"),
    symbol: z.string().optional(),
    clientOrderId: z.string().optional(),
    affected: z
      .array(z.object({ orderId: z.string(), role: z.string(), status: z.string() }))
      .optional()
      .describe('Bracket children cancelled with it'),
    message: z.string(),
  }),
  async handle(args, ctx) {
    const svc = orderService(ctx.app);
    const r = await svc.cancel(
      { accountId: args.accountId, orderId: args.orderId.toLowerCase(), code: args.code },
      callOpts(ctx),
    );
    const out: {
      mode: 'SIMULATED' | 'PAPER' | 'LIVE';
      accountId: string;
      orderId: string;
      accepted: boolean;
      uncertain?: boolean;
      symbol?: string;
      clientOrderId?: string;
      affected?: Array<{ orderId: string; role: string; status: string }>;
      message: string;
    } = {
      mode: r.mode,
      accountId: r.accountId,
      orderId: r.orderId,
      accepted: r.accepted,
      message: r.answerLost
        ? r.message
        : r.accepted
          ? `Cancel request accepted by IB (${untrusted(r.message)}). The order may still fill before the cancel takes effect; check get_order_status.`
          : `IB did not accept the cancel: ${untrusted(r.message)}`,
    };
    if (r.uncertain) out.uncertain = true;
    if (r.order?.symbol) out.symbol = r.order.symbol;
    if (r.order?.clientOrderId) out.clientOrderId = r.order.clientOrderId;
    if (r.affected?.length) {
      out.affected = r.affected.map(({ orderId, role, status }) => ({ orderId, role, status }));
      const open = r.affected.filter((a) => a.state !== 'cancelled');
      out.message += ` Its bracket children: ${r.affected.map((a) => `${a.role} ${ident(a.orderId)} (${ident(a.status)})`).join(', ')}.${open.length ? ` ${open.length} of them do not show as cancelled yet: check get_live_orders.` : ' All cancelled with it.'}`;
    }
    return out;
  },
  render: (r) =>
    `[${r.mode}] cancel ${ident(r.orderId)} (${ident(r.accountId)}${r.symbol ? ` ${ident(r.symbol)}` : ''}): ${r.message}`,
});

export const ORDERS_TOOLS = [
  placeStockOrder,
  placeOptionOrder,
  previewOrder,
  confirmOrder,
  modifyOrder,
  cancelOrder,
  ...ORDER_READ_TOOLS,
];
