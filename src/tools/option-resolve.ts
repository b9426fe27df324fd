/**
 * From what a user names to exact contracts: the underlying of an option (stock, index or
 * future, with its price), the expiration among those listed, and `resolveOptionContract`, the
 * exact-contract lookup the option and order tools share.
 */
import type { CallOptions } from '../broker/backend.js';
import { BrokerError, isBrokerError } from '../broker/errors.js';
import { todayNewYork } from '../broker/locale.js';
import type { OptionChainInfo } from '../broker/options.js';
import type { Contract, MarketField, OptionRight, SecType } from '../broker/types.js';
import type { App } from '../runtime.js';
import { ident, idents, num, queryFrom } from './common.js';
import {
  matchExpiration,
  nearestStrikes,
  parseExpiration,
  parseRight,
  sameStrike,
  selectStrikes,
} from './option-dates.js';

// ---------------------------------------------------------------- the option backend

export function optionsApi(app: App): App['backend'] {
  return app.backend;
}

// ---------------------------------------------------------------- underlying

/** Symbols that are indices (their options are index options) unless secType says otherwise. */
const INDEX_SYMBOLS = new Set(['SPX', 'NDX', 'RUT', 'VIX', 'XSP', 'DJX', 'OEX', 'XEO', 'MXEF', 'MXEA']);
/** Futures roots (options on them are FOP) unless secType says otherwise. */
const FUTURE_SYMBOLS = new Set([
  'ES',
  'NQ',
  'RTY',
  'YM',
  'MES',
  'MNQ',
  'CL',
  'NG',
  'GC',
  'SI',
  'HG',
  'ZB',
  'ZN',
  'ZF',
  'ZC',
  'ZS',
  'ZW',
  '6E',
  '6J',
  '6B',
]);

export interface UnderlyingArgs {
  symbol?: string | undefined;
  conid?: number | undefined;
  secType?: SecType | undefined;
  exchange?: string | undefined;
  currency?: string | undefined;
}

export interface ResolvedUnderlying {
  contract: Contract;
  /** How the underlying was chosen, for the result (e.g. "SPX resolved as an index (IND)"). */
  note?: string;
}

const KIND: Partial<Record<SecType, string>> = { STK: 'a stock/ETF', IND: 'an index', FUT: 'a future' };

/**
 * The underlying of an options request: by conid, by symbol with secType, or by symbol
 * alone (known index and futures roots first, then stock, then index, then future).
 * An option conid stands for its underlying.
 */
export async function resolveUnderlying(
  app: App,
  args: UnderlyingArgs,
  opts: CallOptions = {},
): Promise<ResolvedUnderlying> {
  const backend = app.backend;
  if (args.conid !== undefined && !args.symbol) {
    let c = await backend.resolveContract(queryFrom({ conid: args.conid }), opts);
    if ((c.secType === 'OPT' || c.secType === 'FOP') && c.underlyingConid) {
      c = await backend.resolveContract({ conid: c.underlyingConid }, opts);
    }
    return { contract: c };
  }
  const base = queryFrom(args);
  if (base.conid !== undefined) return { contract: await backend.resolveContract(base, opts) };
  if (args.secType) {
    if (!['STK', 'IND', 'FUT'].includes(args.secType)) {
      throw new BrokerError('INVALID_INPUT', `secType ${args.secType} cannot be an option underlying.`, {
        hint: 'Use STK (stocks/ETFs), IND (indices such as SPX) or FUT (futures such as ES).',
      });
    }
    return { contract: await backend.resolveContract(base, opts) };
  }
  const sym = (base.symbol ?? '').toUpperCase();
  const order: SecType[] = INDEX_SYMBOLS.has(sym)
    ? ['IND', 'STK']
    : FUTURE_SYMBOLS.has(sym)
      ? ['FUT', 'STK']
      : ['STK', 'IND', 'FUT'];
  let first: unknown;
  for (const secType of order) {
    try {
      const contract = await backend.resolveContract({ ...base, secType }, opts);
      const note =
        secType === 'STK'
          ? undefined
          : `${sym} resolved as ${KIND[secType]} (${secType}); pass secType to choose another kind of underlying`;
      return note ? { contract, note } : { contract };
    } catch (err) {
      if (!isBrokerError(err) || err.code !== 'NOT_FOUND') throw err;
      first ??= err;
    }
  }
  throw first;
}

const PRICE_FIELDS_BOOK: readonly MarketField[] = ['last', 'bid', 'ask'];
const PRICE_FIELDS_INDEX: readonly MarketField[] = ['last'];

/** The underlying's price: last trade, else the bid/ask midpoint. */
export async function underlyingPrice(app: App, u: Contract, opts: CallOptions = {}): Promise<number | undefined> {
  const fields = u.secType === 'IND' ? PRICE_FIELDS_INDEX : PRICE_FIELDS_BOOK;
  const [s] = await app.backend.snapshot([u.conid], fields, { ...opts, maxWaitMs: 2000 });
  const v = s?.values ?? {};
  if (typeof v.last === 'number' && v.last > 0) return v.last;
  if (typeof v.bid === 'number' && typeof v.ask === 'number' && v.bid > 0 && v.ask > 0) return (v.bid + v.ask) / 2;
  return undefined;
}

// ---------------------------------------------------------------- expirations

function expirationError(u: Contract, text: string, info: OptionChainInfo, today: string): BrokerError {
  const parsed = parseExpiration(text);
  if (!parsed) {
    return new BrokerError('INVALID_INPUT', `Cannot read the expiration "${text}".`, {
      hint: 'Write it as YYYYMMDD (20250117), YYMMDD (250117), YYYY-MM-DD (2025-01-17), or a month: JAN25.',
    });
  }
  const m = matchExpiration(parsed, info.expirations, today);
  if (m.ok) throw new Error('unreachable');
  const shown = parsed.kind === 'date' ? parsed.date : `${text.toUpperCase()} (${parsed.monthly})`;
  if (m.reason === 'expired') {
    return new BrokerError(
      'INVALID_INPUT',
      `${ident(u.symbol)} options expiring ${shown} have expired (today is ${today}).`,
      {
        hint: `Choose a listed expiration, e.g. ${idents(m.nearest)}.`,
        details: { nearestExpirations: m.nearest },
      },
    );
  }
  return new BrokerError('NOT_FOUND', `${ident(u.symbol)} has no option expiration ${shown}.`, {
    hint: `Nearest listed expirations: ${idents(m.nearest)}.`,
    details: { nearestExpirations: m.nearest },
  });
}

/** The listed expiration the text names (date or month), or a BrokerError that lists the nearest. */
export function pickExpiration(
  u: Contract,
  text: string,
  info: OptionChainInfo,
  today: string,
): { date: string; note?: string } {
  const parsed = parseExpiration(text);
  const m = parsed ? matchExpiration(parsed, info.expirations, today) : undefined;
  if (m?.ok) return m.note ? { date: m.date, note: `${text}: ${m.note} ${m.date}` } : { date: m.date };
  throw expirationError(u, text, info, today);
}

// ---------------------------------------------------------------- resolveOptionContract

export interface OptionContractArgs extends UnderlyingArgs {
  /** YYYYMMDD, YYMMDD, YYYY-MM-DD or a month (JAN25); nearest expiration when absent. */
  expiration?: string | undefined;
  /** Listed strike; the at-the-money strike when absent. */
  strike?: number | undefined;
  right: OptionRight | 'CALL' | 'PUT' | string;
}

export interface ResolvedOption {
  contract: Contract;
  underlying: Contract;
  underlyingPrice?: number;
  /** How defaults and loose inputs were resolved (nearest expiration, ATM strike, underlying kind). */
  notes: string[];
}

/**
 * The exact option contract for (underlying, expiration, strike, right). Throws BrokerError:
 * NOT_FOUND listing the nearest listed strikes or expirations, INVALID_INPUT for an expired
 * or unreadable date. Used by find_option_contract and by the option order tools.
 */
export async function resolveOptionContract(
  app: App,
  args: OptionContractArgs,
  opts: CallOptions = {},
): Promise<ResolvedOption> {
  const right = parseRight(String(args.right));
  if (!right) {
    throw new BrokerError('INVALID_INPUT', `Unknown option right "${args.right}".`, {
      hint: 'Use C (call) or P (put).',
    });
  }
  const api = optionsApi(app);
  const { contract: u, note } = await resolveUnderlying(app, args, opts);
  const notes: string[] = note ? [note] : [];
  const needPrice = args.strike === undefined;
  const [info, price] = await Promise.all([
    api.optionExpirations(u, opts),
    needPrice ? underlyingPrice(app, u, opts) : Promise.resolve(undefined),
  ]);
  const today = todayNewYork();
  if (info.expirations.length === 0) {
    throw new BrokerError('NOT_FOUND', `${ident(u.symbol)} has no listed option expirations.`, {
      details: { conid: u.conid },
    });
  }
  let expiry: string;
  if (args.expiration !== undefined && args.expiration.trim() !== '') {
    const picked = pickExpiration(u, args.expiration, info, today);
    expiry = picked.date;
    if (picked.note) notes.push(picked.note);
  } else {
    expiry = info.expirations[0] as string;
    notes.push(`expiration: nearest listed, ${expiry}`);
  }
  let strike = args.strike;
  if (strike === undefined) {
    const listed = await api.optionStrikes(u, expiry, opts);
    const strikes = right === 'C' ? listed.call : listed.put;
    if (price === undefined) {
      throw new BrokerError('NO_MARKET_DATA', `No price for ${ident(u.symbol)} to find the at-the-money strike.`, {
        hint: `Pass strike. Listed strikes near the middle: ${strikes.slice(Math.max(0, strikes.length / 2 - 3), strikes.length / 2 + 3).join(', ')}.`,
      });
    }
    const sel = selectStrikes(strikes, price, 1);
    if (sel.atm === undefined)
      throw new BrokerError('NOT_FOUND', `No ${expiry} strikes listed for ${ident(u.symbol)}.`);
    strike = sel.atm;
    notes.push(`strike: at the money, ${strike} (${ident(u.symbol)} at ${num(price)})`);
  }
  const found = await api.optionContracts(u, expiry, { strikes: [strike], right }, opts);
  const c = found.find((x) => sameStrike(x.strike as number, strike as number) && x.right === right);
  if (!c) {
    const listed = await api.optionStrikes(u, expiry, opts);
    const strikes = right === 'C' ? listed.call : listed.put;
    const near = nearestStrikes(strikes, strike);
    throw new BrokerError(
      'NOT_FOUND',
      `${ident(u.symbol)} has no ${expiry} ${strike} ${right === 'C' ? 'call' : 'put'}.`,
      {
        hint: near.length
          ? `Nearest listed strikes for ${expiry}: ${near.join(', ')}.`
          : 'No strikes are listed for that expiration; check the expiration.',
        details: { nearestStrikes: near, expiration: expiry },
      },
    );
  }
  const out: ResolvedOption = { contract: c, underlying: u, notes };
  if (price !== undefined) out.underlyingPrice = price;
  return out;
}
