/**
 * Research tools (tool set "research"): exchange rates; later watchlists and the market scanner.
 * Read-only; every result says when IB was asked (`asOf`) and, through the server's tag, where
 * the data comes from.
 */
import * as z from 'zod';
import { CURRENCY_RE } from '../broker/patterns.js';
import { ident } from '../broker/untrusted.js';
import { callOpts } from './common.js';
import { compact, num } from './format.js';
import { defineTool } from './tool.js';

const Currency = z
  .string()
  .trim()
  .regex(CURRENCY_RE, 'an ISO currency code such as USD')
  .transform((s) => s.toUpperCase());

// ---------------------------------------------------------------- get_fx_rate

export const getFxRate = defineTool({
  name: 'get_fx_rate',
  title: 'Exchange rate',
  toolset: 'research',
  kind: 'read',
  description: 'IB exchange rate: units of `to` per `from`; with amount, the converted amount.',
  input: z.object({ from: Currency, to: Currency, amount: z.number().finite().optional() }),
  output: z.object({
    from: z.string(),
    to: z.string(),
    rate: z.number(),
    amount: z.number().optional(),
    converted: z.number().optional(),
    asOf: z.string().describe('When IB was asked (ISO 8601)'),
  }),
  async handle(args, ctx) {
    const rate = await ctx.app.backend.fxRate(args.from, args.to, callOpts(ctx));
    const converted = args.amount === undefined ? undefined : args.amount * rate;
    return {
      from: args.from,
      to: args.to,
      rate,
      ...compact({ amount: args.amount, converted }),
      asOf: new Date().toISOString(),
    };
  },
  render(r) {
    const head = `1 ${ident(r.from)} = ${num(r.rate, 6)} ${ident(r.to)}`;
    const conv =
      r.amount !== undefined && r.converted !== undefined
        ? `; ${num(r.amount, 2)} ${ident(r.from)} = ${num(r.converted, 2)} ${ident(r.to)}`
        : '';
    return `${head}${conv} (as of ${r.asOf}).`;
  },
});

export const RESEARCH_TOOLS = [getFxRate] as const;
