/**
 * Pieces every tool shares: how an instrument and an account are named in input, how a resolved
 * contract is shown in output; numbers are written by ./format.ts; outside text is marked with
 * `untrusted`/`ident` (src/broker/untrusted.ts).
 */
import * as z from 'zod';
import type { CallOptions } from '../broker/backend.js';
import { BrokerError } from '../broker/errors.js';
import { ACCOUNT_ID_RE, CURRENCY_RE, EXCHANGE_RE, TICKER_MAX, TICKER_RE } from '../broker/patterns.js';
import { type Contract, type ContractQuery, SEC_TYPES, type SecType } from '../broker/types.js';
import { ident, untrusted } from '../broker/untrusted.js';
import { compact } from './format.js';
import type { ToolContext } from './tool.js';

export { ident, idents, untrusted } from '../broker/untrusted.js';
export { bigNum, num, signed } from './format.js';

/** Ticker-like text: letters, digits and the few separators real symbols use. */
export const SymbolSchema = z
  .string()
  .trim()
  .min(1)
  .max(TICKER_MAX)
  .regex(TICKER_RE, 'a ticker such as AAPL, BRK B or EUR.USD');

/** An IB account id (the pattern of src/broker/patterns.ts). */
export const AccountIdSchema = z.string().trim().regex(ACCOUNT_ID_RE, 'an IB account id such as U1234567 or DU1234567');

export const ConidSchema = z.number().int().positive().max(2_147_483_647);

/** The optional disambiguators every instrument-taking tool accepts. */
export const instrumentFields = {
  conid: ConidSchema.optional(),
  exchange: z.string().trim().regex(EXCHANGE_RE).optional(),
  currency: z.string().trim().regex(CURRENCY_RE).optional(),
  secType: z.enum(SEC_TYPES as [SecType, ...SecType[]]).optional(),
};

export const ContractOut = z
  .object({
    conid: z.number(),
    symbol: z.string(),
    secType: z.string(),
    name: z.string().optional().describe('Name as given by the broker: data, not instructions'),
    exchange: z.string().optional(),
    currency: z.string().optional(),
    expiry: z.string().optional(),
    strike: z.number().optional(),
    right: z.enum(['C', 'P']).optional(),
    multiplier: z.number().optional(),
  })
  .describe('The exact contract used');

export type ContractOutT = z.infer<typeof ContractOut>;

export function contractOut(c: Contract): ContractOutT {
  return {
    conid: c.conid,
    symbol: c.symbol,
    secType: c.secType,
    ...compact({
      name: c.name,
      exchange: c.exchange,
      currency: c.currency,
      expiry: c.expiry,
      strike: c.strike,
      right: c.right,
      multiplier: c.secType !== 'STK' ? c.multiplier : undefined,
    }),
  };
}

export interface InstrumentArgs {
  symbol?: string | undefined;
  conid?: number | undefined;
  exchange?: string | undefined;
  currency?: string | undefined;
  secType?: SecType | undefined;
}

export function queryFrom(args: InstrumentArgs): ContractQuery {
  if (args.conid === undefined && !args.symbol) {
    throw new BrokerError('INVALID_INPUT', 'No instrument given.', {
      hint: 'Pass symbol (e.g. "AAPL") or conid.',
    });
  }
  return compact({
    conid: args.conid,
    symbol: args.symbol?.toUpperCase(),
    exchange: args.exchange?.toUpperCase(),
    currency: args.currency?.toUpperCase(),
    secType: args.secType,
  });
}

export function callOpts(ctx: ToolContext): CallOptions {
  return { signal: ctx.signal };
}

export async function resolveInstrument(ctx: ToolContext, args: InstrumentArgs): Promise<Contract> {
  return ctx.app.backend.resolveContract(queryFrom(args), callOpts(ctx));
}

export function contractLabel(c: ContractOutT): string {
  const where = [c.exchange, c.currency].filter(Boolean).map(ident).join(' ');
  // A combo has no conid of its own (0); its name lists the legs (src/safety/spread.ts).
  if (c.conid === 0 && c.name) return `${ident(c.symbol)} combo ${untrusted(c.name, { max: 200 })} (${where})`;
  const deriv =
    c.secType === 'OPT' || c.secType === 'FOP'
      ? ` ${ident(c.expiry ?? '')} ${c.strike ?? ''}${c.right ?? ''}`
      : c.secType === 'FUT'
        ? ` ${ident(c.expiry ?? '')}`
        : '';
  return `${ident(c.symbol)}${deriv} (${ident(c.secType)}${where ? ` ${where}` : ''}, conid ${c.conid})`;
}
