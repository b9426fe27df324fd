/**
 * Statement tools (tool set "statements"), the original product's names: get_flex_query runs a
 * Flex query on IB's Flex Web Service (IB_FLEX_TOKEN) and answers a summary, or one section's rows
 * a page at a time; list_flex_queries and forget_flex_query manage the queries remembered by name
 * (state directory). Everything in a statement is IB's text: symbols shown as identifiers,
 * descriptions marked as untrusted data.
 */
import * as z from 'zod';
import { BrokerError } from '../broker/errors.js';
import { type AccountSummary, isDividend, summarizeAccount } from '../broker/statement-summary.js';
import type { SavedQuery, StatementAccount, StatementResult } from '../broker/statements.js';
import { ident, plain, untrusted } from '../broker/untrusted.js';
import { compact, money, num } from './format.js';
import { defineTool } from './tool.js';

const PAGE_SIZE = 50;
const SECTIONS = ['summary', 'trades', 'cash', 'dividends', 'positions', 'performance'] as const;
const DateSchema = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'YYYY-MM-DD');
const Mode = z.enum(['SIMULATED', 'PAPER', 'LIVE']);

const Money = z.object({ currency: z.string(), amount: z.number() });
const SummaryOut = z.object({
  accountId: z.string(),
  fromDate: z.string().optional(),
  toDate: z.string().optional(),
  generated: z.string().optional(),
  baseCurrency: z.string().optional(),
  trades: z.object({
    count: z.number(),
    buys: z.number(),
    sells: z.number(),
    symbols: z.number(),
    commissions: z.array(Money),
    realized: z.array(Money),
  }),
  dividends: z.object({ count: z.number(), gross: z.array(Money), withholding: z.array(Money) }),
  cash: z.array(z.object({ type: z.string(), currency: z.string(), amount: z.number(), count: z.number() })),
  positions: z.object({
    count: z.number(),
    value: z.array(Money),
    top: z.array(z.object({ symbol: z.string(), value: z.number(), currency: z.string().optional() })),
  }),
  best: z.array(z.object({ symbol: z.string(), total: z.number() })),
  worst: z.array(z.object({ symbol: z.string(), total: z.number() })),
  nav: z
    .object({ start: z.number().optional(), end: z.number().optional(), twrPercent: z.number().optional() })
    .optional(),
});

const Row = z.record(z.string(), z.union([z.string(), z.number()]));

const QueryOut = z.object({ id: z.string(), name: z.string(), savedAt: z.string(), lastRunAt: z.string().optional() });

function queryOut(q: SavedQuery): z.infer<typeof QueryOut> {
  return { id: q.id, name: plain(q.name, 64), savedAt: q.savedAt, ...compact({ lastRunAt: q.lastRunAt }) };
}

/** PAPER for IB's paper accounts (DU…, DF…), else LIVE; the simulator's service is SIMULATED. */
function modeOf(r: StatementResult): z.infer<typeof Mode> {
  if (r.simulated) return 'SIMULATED';
  const ids = r.statement.accounts.map((a) => a.accountId);
  return ids.length > 0 && ids.every((id) => /^D/i.test(id)) ? 'PAPER' : 'LIVE';
}

/** One section's rows of every account (with the account id when there are several). */
function rowsOf(accounts: StatementAccount[], section: (typeof SECTIONS)[number]): Record<string, string | number>[] {
  const many = accounts.length > 1;
  const out: Record<string, string | number>[] = [];
  for (const a of accounts) {
    const acct: Record<string, string> = many ? { accountId: a.accountId } : {};
    if (section === 'trades')
      for (const t of a.trades)
        out.push({
          ...acct,
          date: t.date,
          symbol: t.symbol,
          side: t.side,
          quantity: t.quantity,
          ...compact({
            price: t.price,
            currency: t.currency,
            proceeds: t.proceeds,
            commission: t.commission,
            realizedPnl: t.realizedPnl || undefined,
          }),
        });
    if (section === 'cash' || section === 'dividends')
      for (const c of a.cash) {
        if (section === 'dividends' && !isDividend(c) && !/withholding/i.test(c.type)) continue;
        out.push({
          ...acct,
          date: c.date,
          type: c.type,
          amount: c.amount,
          ...compact({
            currency: c.currency,
            symbol: c.symbol,
            description: c.description ? plain(c.description, 120) : undefined,
          }),
        });
      }
    if (section === 'positions')
      for (const p of a.positions)
        out.push({
          ...acct,
          symbol: p.symbol,
          quantity: p.quantity,
          ...compact({
            markPrice: p.markPrice,
            value: p.value,
            costBasis: p.costBasis,
            unrealizedPnl: p.unrealizedPnl,
            currency: p.currency,
          }),
        });
    if (section === 'performance')
      for (const p of a.performance)
        out.push({
          ...acct,
          symbol: p.symbol,
          ...compact({ realized: p.realized, unrealized: p.unrealized, total: p.total }),
        });
  }
  return out;
}

// ---------------------------------------------------------------- get_flex_query

export const getFlexQuery = defineTool({
  name: 'get_flex_query',
  title: 'Run a Flex query',
  toolset: 'statements',
  kind: 'read',
  description:
    'Run a Flex query (IB statements: trades, cash, dividends, positions, performance) by id or saved name; remembered. A summary, or section + page for rows. ≤365 days.',
  input: z.object({
    queryId: z.string().trim().min(1).max(64).describe('Query id, or a saved name'),
    queryName: z.string().trim().min(1).max(64).optional().describe('Save as'),
    parseXml: z.boolean().optional().describe('Ignored: always parsed'),
    fromDate: DateSchema.optional(),
    toDate: DateSchema.optional(),
    section: z.enum(SECTIONS).optional(),
    page: z.number().int().min(1).max(10_000).optional(),
    maxWaitSeconds: z.number().int().min(5).max(300).optional(),
  }),
  output: z.object({
    mode: Mode,
    queryId: z.string(),
    queryName: z.string().optional(),
    fetchedAt: z.string().describe('When IB answered (ISO 8601)'),
    cached: z.boolean(),
    section: z.enum(SECTIONS),
    accounts: z.array(SummaryOut).optional(),
    rows: z.array(Row).optional(),
    page: z.number().optional(),
    pages: z.number().optional(),
    total: z.number().optional(),
    otherSections: z.array(z.string()).optional(),
  }),
  async handle(args, ctx) {
    const src = ctx.app.statements;
    const saved = src.find(args.queryId);
    const id = saved?.id ?? args.queryId;
    if (!/^\d{1,20}$/.test(id)) {
      throw new BrokerError('NOT_FOUND', `"${plain(args.queryId, 64)}" is neither a query id nor a saved query name.`, {
        hint: 'list_flex_queries shows the saved names; a query id is the number Client Portal shows for the query.',
      });
    }
    const maxWaitMs = (args.maxWaitSeconds ?? 60) * 1000;
    const result = await src.run({
      queryId: id,
      ...compact({ fromDate: args.fromDate, toDate: args.toDate }),
      maxWaitMs,
      signal: ctx.signal,
      onWait: (waited, message) => void ctx.progress(Math.round(waited / 100) / 10, maxWaitMs / 1000, message),
    });
    const name = args.queryName ?? saved?.name ?? plain(result.statement.queryName ?? '', 64);
    const entry = src.remember(id, name || undefined, true);
    const section = args.section ?? 'summary';
    const base = {
      mode: modeOf(result),
      queryId: id,
      queryName: entry.name,
      fetchedAt: result.fetchedAt,
      cached: result.cached,
      section,
      ...(result.statement.otherSections.length ? { otherSections: result.statement.otherSections.slice(0, 20) } : {}),
    };
    if (section === 'summary') return { ...base, accounts: result.statement.accounts.map(summarizeAccount) };
    const all = rowsOf(result.statement.accounts, section);
    const pages = Math.max(1, Math.ceil(all.length / PAGE_SIZE));
    const page = Math.min(args.page ?? 1, pages);
    return { ...base, rows: all.slice((page - 1) * PAGE_SIZE, page * PAGE_SIZE), page, pages, total: all.length };
  },
  render(r) {
    const head = `Flex query ${ident(r.queryId)} ${untrusted(r.queryName ?? '', { max: 64 })}, fetched ${r.fetchedAt}${r.cached ? ' (cached)' : ''}`;
    if (r.section !== 'summary') {
      // A table: the columns once, then one line a row (the structured rows carry the same).
      const rows = r.rows ?? [];
      const cols = [...new Set(rows.flatMap((row) => Object.keys(row)))];
      const cell = (k: string, v: string | number | undefined) =>
        v === undefined
          ? ''
          : typeof v === 'number'
            ? num(v)
            : k === 'description' || k === 'type'
              ? untrusted(v, { max: 120 })
              : ident(v);
      return [
        `${head}: ${r.section} page ${r.page}/${r.pages} (${r.total} rows, ${PAGE_SIZE} a page)`,
        ...(rows.length ? [cols.join(' | ')] : []),
        ...rows.map((row) => cols.map((k) => cell(k, row[k])).join(' | ')),
      ].join('\n');
    }
    return [head, ...(r.accounts ?? []).map(summaryText)].join('\n');
  },
});

const moneyList = (l: { currency: string; amount: number }[]) =>
  l.map((m) => money(m.amount, ident(m.currency))).join(', ') || '0';

function summaryText(a: AccountSummary): string {
  const lines = [
    `${ident(a.accountId)} ${a.fromDate ?? '?'}..${a.toDate ?? '?'}${a.generated ? `, generated ${a.generated}` : ''}${a.baseCurrency ? `, base ${ident(a.baseCurrency)}` : ''}`,
    `Trades: ${a.trades.count} (${a.trades.buys} buys, ${a.trades.sells} sells, ${a.trades.symbols} symbols); realized ${moneyList(a.trades.realized)}; commissions ${moneyList(a.trades.commissions)}`,
    `Dividends: ${a.dividends.count}, gross ${moneyList(a.dividends.gross)}, withholding ${moneyList(a.dividends.withholding)}`,
  ];
  if (a.cash.length)
    lines.push(
      `Other cash: ${a.cash.map((c) => `${untrusted(c.type, { max: 40 })} ${money(c.amount, ident(c.currency))} (${c.count})`).join('; ')}`,
    );
  lines.push(
    `Positions: ${a.positions.count}, value ${moneyList(a.positions.value)}${a.positions.top.length ? `; largest ${a.positions.top.map((p) => `${ident(p.symbol)} ${money(p.value)}`).join(', ')}` : ''}`,
  );
  if (a.best.length || a.worst.length)
    lines.push(
      `P&L best ${a.best.map((p) => `${ident(p.symbol)} ${money(p.total)}`).join(', ') || '-'}; worst ${a.worst.map((p) => `${ident(p.symbol)} ${money(p.total)}`).join(', ') || '-'}`,
    );
  if (a.nav)
    lines.push(
      `NAV ${money(a.nav.start)} → ${money(a.nav.end)}${a.nav.twrPercent !== undefined ? `, TWR ${num(a.nav.twrPercent, 2)}%` : ''}`,
    );
  return lines.join('\n');
}

// ---------------------------------------------------------------- list_flex_queries

export const listFlexQueries = defineTool({
  name: 'list_flex_queries',
  title: 'List saved Flex queries',
  toolset: 'statements',
  kind: 'read',
  description: 'The Flex queries remembered by name (saved by get_flex_query).',
  input: z.object({ confirm: z.boolean().optional() }),
  output: z.object({ tokenConfigured: z.boolean(), queries: z.array(QueryOut) }),
  async handle(_args, ctx) {
    const src = ctx.app.statements;
    return {
      tokenConfigured: src.configured(),
      queries: src.saved().map(queryOut),
    };
  },
  render(r) {
    const token = r.tokenConfigured ? '' : ' No Flex token: set IB_FLEX_TOKEN to run them.';
    if (r.queries.length === 0) return `No saved Flex queries; get_flex_query saves each query it runs.${token}`;
    return [
      `${r.queries.length} saved Flex quer${r.queries.length === 1 ? 'y' : 'ies'}:${token}`,
      ...r.queries.map(
        (q) => `${ident(q.id)} ${untrusted(q.name, { max: 64 })}${q.lastRunAt ? `, last run ${q.lastRunAt}` : ''}`,
      ),
    ].join('\n');
  },
});

// ---------------------------------------------------------------- forget_flex_query

export const forgetFlexQuery = defineTool({
  name: 'forget_flex_query',
  title: 'Forget a saved Flex query',
  toolset: 'statements',
  kind: 'write',
  description: 'Remove a saved Flex query (by id or name) from the remembered list. IB keeps the query.',
  input: z.object({ queryId: z.string().trim().min(1).max(64).describe('Query id or saved name') }),
  output: z.object({ forgotten: z.boolean(), query: QueryOut.optional() }),
  async handle(args, ctx) {
    const hit = ctx.app.statements.forget(args.queryId);
    if (!hit) {
      throw new BrokerError('NOT_FOUND', `No saved Flex query "${plain(args.queryId, 64)}".`, {
        hint: 'list_flex_queries shows the saved ones.',
      });
    }
    return { forgotten: true, query: queryOut(hit) };
  },
  render(r) {
    return r.query
      ? `Forgot Flex query ${ident(r.query.id)} ${untrusted(r.query.name, { max: 64 })}.`
      : 'Nothing forgotten.';
  },
});

export const STATEMENTS_TOOLS = [getFlexQuery, listFlexQueries, forgetFlexQuery] as const;
