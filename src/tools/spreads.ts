/**
 * Option spreads as one order (toolset "order_groups", off by default): preview_spread_order and place_spread_order.
 * Legs come from a named shape (vertical, straddle, strangle, iron_condor, calendar, butterfly)
 * or are listed (by expiration/strike/right or conid, each with its side and ratio); the combo is
 * one order of `quantity` spreads at one net price. src/safety/spread.ts checks it as a whole;
 * the answer shows each leg, the net debit or credit, the payoff at expiration and IB's what-if.
 */
import * as z from 'zod';
import { BrokerError } from '../broker/errors.js';
import { expandShape, flipLegs, type LegSpec, SPREAD_SHAPES, type SpreadSummary } from '../broker/spreads.js';
import type { Contract } from '../broker/types.js';
import { orderService } from '../safety/index.js';
import { type OrderOutcome, outcome, type Prepared } from '../safety/outcome.js';
import type { SpreadDraft } from '../safety/spread.js';
import { callOpts, ident, SymbolSchema, untrusted } from './common.js';
import { num } from './format.js';
import { resolveOptionContract } from './options.js';
import {
  AccountId,
  ClientOrderId,
  elicitMessage,
  OrderResultOut,
  Price,
  renderResult,
  resultOut,
  Side,
} from './order-shapes.js';
import { approveAndSend, type OrderView } from './orders.js';
import { defineTool, type ToolContext } from './tool.js';

const upper = (v: unknown) => (typeof v === 'string' ? v.trim().toUpperCase() : v);
const Right = z.preprocess(
  (v) => {
    const s = upper(v);
    return s === 'CALL' ? 'C' : s === 'PUT' ? 'P' : s;
  },
  z.enum(['C', 'P']),
);
const Expiration = z.string().trim().min(4).max(12);

const LegIn = z.object({
  conid: z.number().int().positive().optional(),
  expiration: Expiration.optional(),
  strike: Price.optional(),
  right: Right.optional(),
  action: Side,
  ratio: z.number().int().min(1).max(10).optional().describe('Default 1'),
});

const spreadInput = z.object({
  symbol: SymbolSchema.optional().describe('Underlying'),
  shape: z.enum(SPREAD_SHAPES).optional().describe('Or legs'),
  strikes: z.array(Price).min(1).max(4).optional().describe('Ascending; vertical: bought, sold'),
  expiration: Expiration.optional().describe('YYYYMMDD; calendar: near'),
  farExpiration: Expiration.optional().describe('calendar'),
  right: Right.optional().describe('vertical, butterfly, calendar'),
  legs: z.array(LegIn).min(2).max(6).optional(),
  action: Side.optional().describe('Default BUY; SELL flips every leg'),
  quantity: z.number().int().positive().describe('Spreads'),
  orderType: z
    .preprocess(upper, z.enum(['LMT', 'MKT']))
    .optional()
    .describe('Default LMT'),
  price: z.number().finite().optional().describe('Net per spread: + debit, - credit'),
  tif: z.preprocess(upper, z.enum(['DAY', 'GTC'])).optional(),
  accountId: AccountId.optional(),
  clientOrderId: ClientOrderId.optional(),
});
type SpreadArgs = z.infer<typeof spreadInput>;

const SpreadOut = z.object({
  shape: z.string(),
  legs: z.array(
    z.object({
      conid: z.number(),
      ratio: z.number().describe('+ bought, - sold, per spread'),
      expiry: z.string().optional(),
      strike: z.number().optional(),
      right: z.string().optional(),
      bid: z.number().optional(),
      ask: z.number().optional(),
    }),
  ),
  bid: z.number().optional().describe('Net, from the legs'),
  ask: z.number().optional(),
  netPrice: z.number().optional().describe('Per spread: + debit, - credit'),
  priceBasis: z.string(),
  netDebit: z.number().optional().describe('Whole order'),
  netCredit: z.number().optional(),
  maxProfit: z.number().optional(),
  maxProfitUnlimited: z.boolean().optional(),
  maxLoss: z.number().optional(),
  maxLossUnlimited: z.boolean().optional(),
  breakevens: z.array(z.number()).optional().describe('Underlying prices at expiration'),
  margin: z.number().optional().describe("IB's what-if: initial margin change"),
  note: z.string().optional(),
});

const SpreadResultOut = OrderResultOut.extend({ spread: SpreadOut.optional() });
type SpreadResultT = z.infer<typeof SpreadResultOut>;

export function spreadOut(s: SpreadSummary): z.infer<typeof SpreadOut> {
  const o: z.infer<typeof SpreadOut> = {
    shape: s.shape,
    legs: s.legs.map((l) => {
      const leg: z.infer<typeof SpreadOut>['legs'][number] = { conid: l.conid, ratio: l.ratio };
      if (l.expiry) leg.expiry = l.expiry;
      if (l.strike !== undefined) leg.strike = l.strike;
      if (l.right) leg.right = l.right;
      if (l.bid !== undefined) leg.bid = l.bid;
      if (l.ask !== undefined) leg.ask = l.ask;
      return leg;
    }),
    priceBasis: s.priceBasis,
  };
  if (s.quote.bid !== undefined) o.bid = s.quote.bid;
  if (s.quote.ask !== undefined) o.ask = s.quote.ask;
  const p = s.payoff;
  if (!p) {
    o.note = 'No net price (no limit and no quote for every leg): payoff not computed.';
    return o;
  }
  o.netPrice = p.netPrice;
  if (p.netAmount >= 0) o.netDebit = p.netAmount;
  else o.netCredit = -p.netAmount;
  if (p.maxProfitUnlimited) o.maxProfitUnlimited = true;
  else if (p.maxProfit !== undefined) o.maxProfit = p.maxProfit;
  if (p.maxLossUnlimited) o.maxLossUnlimited = true;
  else if (p.maxLoss !== undefined) o.maxLoss = p.maxLoss;
  if (!p.multiExpiry) o.breakevens = p.breakevens;
  else o.note = 'Legs expire on different dates: profit and breakevens depend on volatility, not computed.';
  return o;
}

function legLine(l: z.infer<typeof SpreadOut>['legs'][number]): string {
  const mkt = l.bid !== undefined || l.ask !== undefined ? ` (${num(l.bid)}/${num(l.ask)})` : '';
  return `${l.ratio > 0 ? 'BUY' : 'SELL'} ${Math.abs(l.ratio)} ${ident(l.expiry ?? '?')} ${l.strike ?? '?'}${l.right ?? ''} conid ${l.conid}${mkt}`;
}

function spreadText(s: z.infer<typeof SpreadOut>, ccy = ''): string {
  const money = (v: number | undefined, unlimited?: boolean) =>
    unlimited ? 'unlimited' : v === undefined ? 'n/a' : `${num(v, 2)}${ccy ? ` ${ident(ccy)}` : ''}`;
  const lines = [`${ident(s.shape)} legs: ${s.legs.map(legLine).join('; ')}`];
  if (s.bid !== undefined || s.ask !== undefined) lines.push(`Spread market (from legs): ${num(s.bid)}/${num(s.ask)}`);
  if (s.netPrice !== undefined) {
    lines.push(
      `Net ${s.netDebit !== undefined ? `debit ${money(s.netDebit)}` : `credit ${money(s.netCredit)}`} (${num(s.netPrice)} per spread, ${s.priceBasis}); max profit ${money(s.maxProfit, s.maxProfitUnlimited)}, max loss ${money(s.maxLoss, s.maxLossUnlimited)}${s.breakevens ? `, breakevens ${s.breakevens.length ? s.breakevens.map((b) => num(b)).join(', ') : 'none'}` : ''} (at expiration)`,
    );
  }
  if (s.margin !== undefined) lines.push(`IB's initial margin for it: ${money(s.margin)}`);
  if (s.note) lines.push(s.note);
  return lines.join('\n');
}

function withSpread(r: OrderOutcome): SpreadResultT {
  const out: SpreadResultT = resultOut(r);
  if (r.spread) {
    out.spread = spreadOut(r.spread);
    const m = r.preview?.initialMargin?.change;
    if (m !== undefined) out.spread.margin = m;
  }
  return out;
}

const SPREAD_VIEW: OrderView<SpreadResultT> = {
  out: withSpread,
  ask: (p: Prepared) =>
    p.spread ? `${elicitMessage(p)}\n${spreadText(spreadOut(p.spread), p.contract.currency)}` : elicitMessage(p),
};

function renderSpread(r: SpreadResultT): string {
  return r.spread ? `${renderResult(r)}\n${spreadText(r.spread, r.contract.currency)}` : renderResult(r);
}

/** The legs the arguments describe, as bought (SELL flips them). Throws INVALID_INPUT. */
export function legSpecs(args: SpreadArgs): Array<LegSpec | { conid: number; ratio: number }> {
  if ((args.shape === undefined) === (args.legs === undefined)) {
    throw new BrokerError('INVALID_INPUT', 'Give either shape (with strikes, expiration) or legs, not both.');
  }
  let legs: Array<LegSpec | { conid: number; ratio: number }>;
  if (args.shape) {
    if (!args.expiration || !args.strikes) {
      throw new BrokerError('INVALID_INPUT', `${args.shape} needs expiration and strikes.`);
    }
    try {
      legs = expandShape({
        shape: args.shape,
        right: args.right,
        strikes: args.strikes,
        expiration: args.expiration,
        farExpiration: args.farExpiration,
      });
    } catch (err) {
      throw new BrokerError('INVALID_INPUT', `The spread is not valid, nothing was sent: ${(err as Error).message}`);
    }
  } else {
    legs = args.legs!.map((l, i) => {
      const ratio = (l.ratio ?? 1) * (l.action === 'SELL' ? -1 : 1);
      if (l.conid !== undefined) return { conid: l.conid, ratio };
      const missing = [!l.expiration && 'expiration', l.strike === undefined && 'strike', !l.right && 'right'].filter(
        Boolean,
      );
      if (missing.length) {
        throw new BrokerError('INVALID_INPUT', `Leg ${i + 1} needs ${missing.join(', ')} (or conid).`);
      }
      return { expiration: l.expiration!, strike: l.strike!, right: l.right!, ratio };
    });
  }
  return args.action === 'SELL' ? flipLegs(legs) : legs;
}

async function resolveLegs(ctx: ToolContext, args: SpreadArgs): Promise<SpreadDraft['legs']> {
  const specs = legSpecs(args);
  return Promise.all(
    specs.map(async (l): Promise<{ contract: Contract; ratio: number }> => {
      if ('conid' in l) {
        return { contract: await ctx.app.backend.resolveContract({ conid: l.conid }, callOpts(ctx)), ratio: l.ratio };
      }
      if (!args.symbol) throw new BrokerError('INVALID_INPUT', 'Legs by strike need symbol (the underlying).');
      const r = await resolveOptionContract(
        ctx.app,
        { symbol: args.symbol, expiration: l.expiration, strike: l.strike, right: l.right },
        callOpts(ctx),
      );
      return { contract: r.contract, ratio: l.ratio };
    }),
  );
}

async function draftOf(ctx: ToolContext, args: SpreadArgs): Promise<SpreadDraft> {
  return {
    accountId: args.accountId,
    shape: args.shape ?? 'custom',
    legs: await resolveLegs(ctx, args),
    quantity: args.quantity,
    orderType: args.orderType ?? 'LMT',
    limitPrice: args.price,
    tif: args.tif ?? 'DAY',
    outsideRth: false,
    clientOrderId: args.clientOrderId,
  };
}

export const placeSpreadOrder = defineTool({
  name: 'place_spread_order',
  title: 'Place option spread',
  toolset: 'order_groups',
  kind: 'destructive',
  description:
    'Option spread as one combo order at a net price: a shape or legs. Checked as a whole (value, max loss), approved once.',
  input: spreadInput,
  output: SpreadResultOut,
  handle: (args, ctx) =>
    approveAndSend(
      ctx,
      'place_spread_order',
      args as Record<string, unknown>,
      async () => orderService(ctx.app).prepareSpread(await draftOf(ctx, args), callOpts(ctx)),
      args.clientOrderId,
      SPREAD_VIEW,
    ),
  render: renderSpread,
});

export const previewSpreadOrder = defineTool({
  name: 'preview_spread_order',
  title: 'Preview option spread',
  toolset: 'order_groups',
  kind: 'read',
  description:
    "What-if of place_spread_order, nothing placed: legs, net debit/credit, max profit/loss, breakevens, IB's margin.",
  input: spreadInput.omit({ clientOrderId: true }),
  output: SpreadResultOut,
  async handle(args, ctx) {
    const p = await orderService(ctx.app).prepareSpread(await draftOf(ctx, args), callOpts(ctx), true);
    const failed = p.previewError ? ` IB's what-if failed: ${untrusted(p.previewError)}` : '';
    return withSpread(
      outcome(
        p,
        'previewed',
        `Preview only: nothing was sent. The limits passed (${p.limits.checks.map((c) => c.name).join(', ')}). To place it, call place_spread_order with the same parameters.${failed}`,
      ),
    );
  },
  render: renderSpread,
});

export const SPREAD_TOOLS = [previewSpreadOrder, placeSpreadOrder];
