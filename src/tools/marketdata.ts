/**
 * Market-data tools: get_quote, get_market_data, get_historical_data, search_contracts.
 * Names and parameters of the original product are kept; lists of symbols, conids and
 * disambiguators are additions.
 */
import * as z from 'zod';
import { BrokerError } from '../broker/errors.js';
import {
  type Contract,
  MARKET_FIELDS,
  type MarketField,
  type MarketSnapshot,
  SEC_TYPES,
  type SecType,
} from '../broker/types.js';
import {
  bigNum,
  ContractOut,
  callOpts,
  contractLabel,
  contractOut,
  ident,
  instrumentFields,
  num,
  queryFrom,
  resolveInstrument,
  SymbolSchema,
  signed,
  untrusted,
} from './common.js';
import { compact } from './format.js';
import { defineTool } from './tool.js';

const Availability = z
  .enum(['live', 'delayed', 'frozen', 'frozen-delayed', 'not-subscribed', 'unknown'])
  .describe('Market-data availability: live, delayed (15-20 min), frozen (last close), not-subscribed');

// ---------------------------------------------------------------- get_quote

const QUOTE_FIELDS: readonly MarketField[] = ['last', 'bid', 'ask', 'volume', 'change', 'changePct', 'high', 'low'];

const MAX_QUOTES = 1000;

const QuoteRow = z.object({
  symbol: z.string(),
  conid: z.number(),
  exchange: z.string().optional(),
  currency: z.string().optional(),
  last: z.number().optional(),
  bid: z.number().optional(),
  ask: z.number().optional(),
  volume: z.number().optional(),
  change: z.number().optional(),
  changePct: z.number().optional().describe('Change since prior close, in percent'),
  high: z.number().optional(),
  low: z.number().optional(),
  availability: Availability,
  lastIsPriorClose: z.boolean().optional().describe('No trade today: last is the prior close'),
  halted: z.boolean().optional(),
  source: z.enum(['stream', 'request']).optional(),
  ageMs: z.number().optional(),
});

type QuoteRowT = z.infer<typeof QuoteRow>;

function quoteRow(c: Contract, s: MarketSnapshot | undefined): QuoteRowT {
  const row: QuoteRowT = {
    symbol: c.symbol,
    conid: c.conid,
    availability: s?.availability ?? 'unknown',
    ...compact({ exchange: c.exchange, currency: c.currency }),
  };
  for (const f of QUOTE_FIELDS) {
    const v = s?.values[f];
    if (typeof v === 'number') (row as Record<string, unknown>)[f] = v;
  }
  if (s?.lastIsPriorClose) row.lastIsPriorClose = true;
  if (s?.halted) row.halted = true;
  if (s?.source) row.source = s.source;
  if (s?.receivedAt) row.ageMs = Math.max(0, Date.now() - s.receivedAt);
  return row;
}

export const getQuote = defineTool({
  name: 'get_quote',
  title: 'Quote',
  toolset: 'marketdata',
  kind: 'read',
  description:
    'Current quote (last, bid, ask, volume, change) for one instrument, or up to 1000 with symbols or conids.',
  input: z.object({
    symbol: SymbolSchema.optional(),
    symbols: z.array(SymbolSchema).max(MAX_QUOTES).optional(),
    conids: z.array(instrumentFields.conid.unwrap()).max(MAX_QUOTES).optional(),
    ...instrumentFields,
  }),
  output: z.object({
    quotes: z.array(QuoteRow),
    errors: z
      .array(z.object({ input: z.string(), error: z.string() }))
      .optional()
      .describe('Instruments that could not be quoted, with the reason'),
  }),
  async handle(args, ctx) {
    const { exchange, currency, secType } = args;
    const queries = [
      ...(args.symbol ? [{ symbol: args.symbol }] : []),
      ...(args.symbols ?? []).map((symbol) => ({ symbol })),
      ...(args.conid !== undefined ? [{ conid: args.conid }] : []),
      ...(args.conids ?? []).map((conid) => ({ conid })),
    ].map((q) => queryFrom({ ...q, exchange, currency, secType }));
    if (queries.length === 0) {
      throw new BrokerError('INVALID_INPUT', 'No instrument given.', {
        hint: 'Pass symbol (e.g. "AAPL"), symbols (e.g. ["AAPL","MSFT"]), conid or conids.',
      });
    }
    if (queries.length > MAX_QUOTES) {
      throw new BrokerError(
        'INVALID_INPUT',
        `Too many instruments: ${queries.length}; at most ${MAX_QUOTES} per call.`,
        {
          hint: 'Split the list into several calls.',
        },
      );
    }
    // Bare conids (bulk quoting) skip contract lookups: the snapshot itself names the symbol and exchange.
    const byConidOnly = queries.filter((q) => q.conid !== undefined && !q.symbol);
    const toResolve = queries.filter((q) => !(q.conid !== undefined && !q.symbol));
    const resolved = toResolve.length ? await ctx.app.backend.resolveContracts(toResolve, callOpts(ctx)) : [];
    const contracts: Contract[] = [];
    const errors: { input: string; error: string }[] = [];
    resolved.forEach((r, i) => {
      const q = toResolve[i]!;
      if (r instanceof BrokerError)
        errors.push({ input: q.symbol ?? String(q.conid), error: `${r.message}${r.hint ? ` ${r.hint}` : ''}` });
      else contracts.push(r);
    });
    if (contracts.length === 0 && errors.length === 1 && queries.length === 1) {
      const only = resolved[0];
      if (only instanceof BrokerError) throw only;
    }
    const direct = [...new Set(byConidOnly.map((q) => q.conid as number))];
    const conids = [...new Set([...contracts.map((c) => c.conid), ...direct])];
    const fields: MarketField[] = direct.length ? [...QUOTE_FIELDS, 'symbol', 'listingExchange'] : [...QUOTE_FIELDS];
    const snaps = conids.length ? await ctx.app.backend.snapshot(conids, fields, callOpts(ctx)) : [];
    const byConid = new Map(snaps.map((s) => [s.conid, s]));
    const quotes = contracts.map((c) => quoteRow(c, byConid.get(c.conid)));
    for (const conid of direct) {
      const snap = byConid.get(conid);
      const symbol = snap?.values.symbol;
      const hasPrice = ['last', 'bid', 'ask'].some((f) => typeof snap?.values[f as MarketField] === 'number');
      if (typeof symbol !== 'string' && !hasPrice) {
        errors.push({
          input: String(conid),
          error: `No market data for conid ${conid}: unknown contract, or no data yet. Check it with search_contracts.`,
        });
        continue;
      }
      const listing = snap?.values.listingExchange;
      // secType is not shown in a quote row; the snapshot does not say it.
      const contract: Contract = { conid, symbol: typeof symbol === 'string' ? symbol : String(conid), secType: 'STK' };
      if (typeof listing === 'string') contract.exchange = listing;
      quotes.push(quoteRow(contract, snap));
    }
    if (quotes.length === 0 && errors.length === 1 && queries.length === 1) {
      throw new BrokerError('NOT_FOUND', errors[0]!.error, { hint: 'Check the conid with search_contracts.' });
    }
    return errors.length ? { quotes, errors } : { quotes };
  },
  render(r) {
    const lines = r.quotes.map((q) => {
      const flags = [
        q.availability !== 'live' ? q.availability : '',
        q.lastIsPriorClose ? 'prior close' : '',
        q.halted ? 'HALTED' : '',
      ]
        .filter(Boolean)
        .join(', ');
      return `${ident(q.symbol)}${q.currency && q.currency !== 'USD' ? ` ${ident(q.currency)}` : ''}: ${num(q.last)} ${signed(q.change)} (${signed(q.changePct)}%) bid/ask ${num(q.bid)}/${num(q.ask)} vol ${bigNum(q.volume)} day ${num(q.low)}-${num(q.high)}${flags ? ` [${flags}]` : ''}`;
    });
    for (const e of r.errors ?? []) lines.push(`${e.input}: error: ${e.error}`);
    const pushed = r.quotes.filter((q) => q.source === 'stream').length;
    if (pushed > 0) lines.push(`(${pushed} of ${r.quotes.length} from IB's push stream)`);
    return lines.join('\n');
  },
});

// ---------------------------------------------------------------- get_market_data

/** The broker's market fields from `first` to `last`, in its order. */
function fieldsFrom(first: MarketField, last: MarketField): MarketField[] {
  return MARKET_FIELDS.slice(MARKET_FIELDS.indexOf(first), MARKET_FIELDS.indexOf(last) + 1);
}

export const FIELD_SETS: Record<'basic' | 'detailed' | 'options' | 'fundamentals', readonly MarketField[]> = {
  basic: ['last', 'bid', 'ask', 'volume', 'change', 'changePct'],
  // Every price, size and volume field (the broker's list from last to mark), and where it is listed.
  detailed: [...fieldsFrom('last', 'mark'), 'listingExchange'],
  // Prices, then every volatility, option-volume and greek field (the broker's list from impliedVolatility to vega).
  options: ['last', 'bid', 'ask', ...fieldsFrom('impliedVolatility', 'vega')],
  fundamentals: [
    'companyName',
    'industry',
    'category',
    'marketCap',
    'peRatio',
    'eps',
    'dividendYield',
    'high52w',
    'low52w',
    'avgVolume',
  ],
};

const FieldSetName = z.enum(['basic', 'detailed', 'options', 'fundamentals', 'all']);

/** Turns the user's field selection (set name, field names, or IB codes) into field names. */
export function selectFields(
  fields: z.infer<typeof FieldSetName> | string[],
  fromCodes: (codes: string[]) => { fields: MarketField[]; unknown: string[] },
): MarketField[] {
  if (typeof fields === 'string') {
    if (fields === 'all') return [...new Set(Object.values(FIELD_SETS).flat())];
    return [...FIELD_SETS[fields]];
  }
  const names = new Set<MarketField>();
  const codes: string[] = [];
  const unknownNames: string[] = [];
  for (const f of fields) {
    if ((MARKET_FIELDS as readonly string[]).includes(f)) names.add(f as MarketField);
    else if (/^\d+(_raw)?$/.test(f)) codes.push(f);
    else unknownNames.push(f);
  }
  const translated = fromCodes(codes);
  for (const f of translated.fields) names.add(f);
  const unknown = [...unknownNames, ...translated.unknown];
  if (unknown.length) {
    throw new BrokerError('INVALID_INPUT', `Unknown market-data field(s): ${unknown.join(', ')}.`, {
      hint: `Use a set (basic, detailed, options, fundamentals, all), field names (${MARKET_FIELDS.join(', ')}) or IB field codes such as "31" (last), "84" (bid), "86" (ask).`,
    });
  }
  if (names.size === 0)
    throw new BrokerError('INVALID_INPUT', 'No fields requested.', { hint: 'Use fields: "basic".' });
  return [...names];
}

const FieldValueOut = z.union([z.number(), z.string(), z.boolean()]);

export const getMarketData = defineTool({
  name: 'get_market_data',
  title: 'Market data',
  toolset: 'marketdata',
  kind: 'read',
  description:
    'Chosen fields for one instrument: a set (basic, detailed, options = volatility and greeks, fundamentals, all) or field names / IB codes.',
  input: z.object({
    symbol: SymbolSchema.optional(),
    fields: z.union([FieldSetName, z.array(z.string().max(32)).min(1).max(50)]).default('basic'),
    ...instrumentFields,
  }),
  output: z.object({
    contract: ContractOut,
    values: z.record(z.string(), FieldValueOut).describe('Named field values; absent when the broker had none'),
    availability: Availability,
    missing: z.array(z.string()).optional().describe('Requested fields the broker did not deliver'),
    lastIsPriorClose: z.boolean().optional(),
    halted: z.boolean().optional(),
  }),
  async handle(args, ctx) {
    const fields = selectFields(args.fields, (codes) => ctx.app.backend.fieldsFromCodes(codes));
    const contract = await resolveInstrument(ctx, args);
    const [snap] = await ctx.app.backend.snapshot([contract.conid], fields, callOpts(ctx));
    const values: Record<string, number | string | boolean> = {};
    for (const f of fields) {
      const v = snap?.values[f];
      if (v !== null && v !== undefined) values[f] = v;
    }
    const out: {
      contract: z.infer<typeof ContractOut>;
      values: Record<string, number | string | boolean>;
      availability: z.infer<typeof Availability>;
      missing?: string[];
      lastIsPriorClose?: boolean;
      halted?: boolean;
    } = { contract: contractOut(contract), values, availability: snap?.availability ?? 'unknown' };
    const missing = fields.filter((f) => !(f in values));
    if (missing.length) out.missing = missing;
    if (snap?.lastIsPriorClose) out.lastIsPriorClose = true;
    if (snap?.halted) out.halted = true;
    return out;
  },
  render(r) {
    const vals = Object.entries(r.values)
      .map(([k, v]) => {
        if (typeof v === 'number')
          return `${k} ${k === 'volume' || k === 'avgVolume' || k === 'marketCap' ? bigNum(v) : num(v)}`;
        if (typeof v === 'string' && (k === 'companyName' || k === 'industry' || k === 'category'))
          return `${k} ${untrusted(v)}`;
        return `${k} ${typeof v === 'string' ? ident(v) : String(v)}`;
      })
      .join(', ');
    const notes = [
      `data ${r.availability}`,
      r.lastIsPriorClose ? 'last is prior close' : '',
      r.halted ? 'HALTED' : '',
      r.missing?.length ? `not available: ${r.missing.join(', ')}` : '',
    ].filter(Boolean);
    return `${contractLabel(r.contract)}: ${vals || 'no values'}\n(${notes.join('; ')})`;
  },
});

// ---------------------------------------------------------------- get_historical_data

/** A sensible default bar for each period unit, sized to keep results small. */
export function defaultBar(period: string): string {
  const m = /^(\d+)\s*(min|h|d|w|m|y)$/.exec(period.trim().toLowerCase());
  if (!m) return '1d';
  const n = Number(m[1]);
  switch (m[2]) {
    case 'min':
      return '1min';
    case 'h':
      return n <= 2 ? '1min' : '5min';
    case 'd':
      return n <= 1 ? '5min' : n <= 5 ? '30min' : n <= 30 ? '1h' : '1d';
    case 'w':
      return n <= 1 ? '1h' : n <= 8 ? '1d' : '1w';
    case 'm':
      return n <= 6 ? '1d' : '1w';
    default:
      return n <= 2 ? '1d' : '1w';
  }
}

const HISTORY_DEFAULT_LIMIT = 500;

const HistoryOut = z.object({
  contract: ContractOut,
  period: z.string(),
  bar: z.string(),
  columns: z.array(z.string()),
  // Plain arrays rather than tuples: tuple schemas (prefixItems, items:false) are not portable across clients.
  rows: z
    .array(z.array(z.union([z.string(), z.number(), z.null()])))
    .describe('One row per bar, in the order of columns: time (UTC), open, high, low, close, volume (null: none sent)'),
  volumeUnit: z
    .enum(['shares', 'contracts', 'units', 'as reported'])
    .optional()
    .describe("What volume counts; 'as reported' when IB's unit could not be established"),
  summary: z
    .object({
      from: z.string(),
      to: z.string(),
      open: z.number(),
      close: z.number(),
      high: z.number(),
      low: z.number(),
      changePct: z.number(),
      volume: z.number(),
    })
    .optional(),
  availability: Availability,
  omitted: z.number().optional().describe('Older bars left out by limit; raise limit to get them'),
  truncated: z.boolean().optional().describe('IB capped the series at 1000 points'),
});

function isoMinute(t: number): string {
  return new Date(t).toISOString().slice(0, 16) + 'Z';
}

export const getHistoricalData = defineTool({
  name: 'get_historical_data',
  title: 'Historical bars',
  toolset: 'marketdata',
  kind: 'read',
  description:
    'Historical OHLCV bars, most recent last. period e.g. 1d, 1w, 3m, 1y; bar e.g. 1min, 5min, 1h, 1d (a refused pair names the allowed bars).',
  input: z.object({
    symbol: SymbolSchema.optional(),
    period: z.string().trim().max(12).default('1d'),
    bar: z.string().trim().max(8).optional().describe('Default from the period'),
    outsideRth: z.boolean().default(false),
    limit: z.number().int().min(1).max(1000).default(HISTORY_DEFAULT_LIMIT).describe('Most recent bars, at most 1000'),
    ...instrumentFields,
  }),
  output: HistoryOut,
  async handle(args, ctx) {
    const period = args.period.toLowerCase().replace(/\s+/g, '');
    const bar = (args.bar ?? defaultBar(period)).toLowerCase().replace(/\s+/g, '');
    await ctx.progress(0, 2, 'resolving the instrument');
    const contract = await resolveInstrument(ctx, args);
    await ctx.progress(1, 2, `loading ${period} of ${bar} bars`);
    const hist = await ctx.app.backend.history(
      { conid: contract.conid, period, bar, outsideRth: args.outsideRth },
      callOpts(ctx),
    );
    const all = hist.bars;
    const bars = all.length > args.limit ? all.slice(all.length - args.limit) : all;
    const rows = bars.map((b) => [isoMinute(b.t), b.o, b.h, b.l, b.c, b.v ?? null]);
    const out: z.infer<typeof HistoryOut> = {
      contract: contractOut(contract),
      period,
      bar,
      columns: ['time', 'open', 'high', 'low', 'close', 'volume'],
      rows,
      availability: hist.availability,
    };
    if (bars.length) {
      const first = bars[0]!;
      const last = bars[bars.length - 1]!;
      out.summary = {
        from: isoMinute(first.t),
        to: isoMinute(last.t),
        open: first.o,
        close: last.c,
        high: Math.max(...bars.map((b) => b.h)),
        low: Math.min(...bars.map((b) => b.l)),
        changePct: first.o ? Number((((last.c - first.o) / first.o) * 100).toFixed(2)) : 0,
        volume: bars.reduce((a, b) => a + (b.v ?? 0), 0),
      };
      if (hist.volumeUnit) out.volumeUnit = hist.volumeUnit;
    }
    if (all.length > bars.length) out.omitted = all.length - bars.length;
    if (hist.truncated) out.truncated = true;
    return out;
  },
  render(r) {
    const head = `${contractLabel(r.contract)} ${r.period} of ${r.bar} bars: ${r.rows.length}`;
    const s = r.summary;
    const sum = s
      ? `${s.from} → ${s.to}: open ${num(s.open)} close ${num(s.close)} (${signed(s.changePct)}%), high ${num(s.high)} low ${num(s.low)}, volume ${bigNum(s.volume)}${r.volumeUnit ? ` ${r.volumeUnit}` : ''}`
      : 'no bars';
    const rows = r.rows
      .map((row) => row.map((v) => (typeof v === 'number' ? num(v) : (v ?? '-'))).join(' '))
      .join('\n');
    const notes = [
      r.omitted ? `${r.omitted} older bars omitted (raise limit)` : '',
      r.availability !== 'live' ? `data ${r.availability}` : '',
    ]
      .filter(Boolean)
      .join('; ');
    return `${head}\n${sum}${notes ? `\n(${notes})` : ''}\ntime open high low close volume\n${rows}`;
  },
});

// ---------------------------------------------------------------- search_contracts

export const searchContracts = defineTool({
  name: 'search_contracts',
  title: 'Search contracts',
  toolset: 'marketdata',
  kind: 'read',
  description:
    'Find contracts by ticker or company name when a symbol is ambiguous; pass the conid found to other tools.',
  input: z.object({
    query: z.string().trim().min(1).max(64).describe('Ticker, or company name with byName'),
    byName: z.boolean().default(false),
    secType: z.enum(SEC_TYPES as [SecType, ...SecType[]]).optional(),
    limit: z.number().int().min(1).max(50).default(10),
  }),
  output: z.object({
    matches: z.array(ContractOut),
    more: z.number().optional().describe('Further matches left out by limit'),
  }),
  async handle(args, ctx) {
    const found = await ctx.app.backend.searchContracts(args.query, {
      byName: args.byName,
      ...(args.secType ? { secType: args.secType } : {}),
      ...callOpts(ctx),
    });
    const matches = found.slice(0, args.limit).map(contractOut);
    return found.length > matches.length ? { matches, more: found.length - matches.length } : { matches };
  },
  render(r) {
    if (!r.matches.length) return 'No matching contracts. Try byName: true with part of the company name.';
    const lines = r.matches.map((m) => `${contractLabel(m)}${m.name ? ` ${untrusted(m.name)}` : ''}`);
    if (r.more) lines.push(`(${r.more} more; raise limit)`);
    return lines.join('\n');
  },
});

export const MARKETDATA_TOOLS = [getQuote, getMarketData, getHistoricalData, searchContracts];
