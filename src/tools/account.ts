/**
 * Account and portfolio tools: get_account_info, get_positions, get_portfolio_summary, get_pnl.
 * Names and parameters of the original product are kept (accountId, groupBy); sorting, limits,
 * filters and get_pnl are additions. Money is a number with its currency stated next to it,
 * rounded to cents; nothing of IB's summary dump is passed through.
 */
import * as z from 'zod';
import type { CallOptions } from '../broker/backend.js';
import { BrokerError } from '../broker/errors.js';
import type { DataSource } from '../broker/orders.js';
import type {
  AccountBalances,
  AccountInfo,
  AccountPnl,
  Ledger,
  PortfolioBackend,
  Position,
} from '../broker/portfolio.js';
import {
  combine,
  GROUP_BY,
  type GroupBy,
  POSITION_SORTS,
  type PortfolioSummary,
  positionRates,
  ratesToCurrency,
  rateToBase,
  sortPositions,
  summarize,
  totalsByCurrency,
} from '../broker/portfolio-math.js';
import { SEC_TYPES, type SecType } from '../broker/types.js';
import { idents } from '../broker/untrusted.js';
import { AccountIdSchema, callOpts, ident, untrusted } from './common.js';
import { cents, compact, money, mul, num, round2, round4, signedMoney } from './format.js';
import { defineTool, type ToolContext } from './tool.js';

// ---------------------------------------------------------------- shared

/** The portfolio part of the backend. */
export function portfolioOf(ctx: Pick<ToolContext, 'app'>): PortfolioBackend {
  return ctx.app.backend;
}

/** Optional: the sole account, or --default-account; on a login with several the answer names them. */
const accountIdInput = AccountIdSchema.optional();
const allAccountsInput = z.boolean().optional();

const Mode = z
  .enum(['SIMULATED', 'PAPER', 'LIVE', 'UNKNOWN'])
  .describe('Who the money belongs to: simulator, paper or live');

/** At most this many account ids are named in a message (an advisor login can have hundreds). */
const NAMED_MAX = 25;

function someIds(ids: string[]): string {
  const named = idents(ids.slice(0, NAMED_MAX));
  return ids.length > NAMED_MAX ? `${named} and ${ids.length - NAMED_MAX} more` : named;
}

/**
 * The accounts a call covers: the one asked for (validated); every one when asked (`all`) or when
 * --default-account is "all"; the only one; the --default-account. On a login with several accounts
 * and none of these, the call is refused with the accounts to choose from: never a silent pick.
 */
export async function selectAccounts(
  ctx: Pick<ToolContext, 'app'>,
  accountId: string | undefined,
  opts: CallOptions,
  all = false,
): Promise<AccountInfo[]> {
  const list = await portfolioOf(ctx).listAccounts(opts);
  const valid = list.map((a) => a.id);
  const find = (id: string) => list.find((a) => a.id.toUpperCase() === id.trim().toUpperCase());
  if (accountId === undefined) {
    if (list.length === 0) {
      throw new BrokerError('NOT_FOUND', 'This session sees no accounts.', {
        hint: 'Check that the gateway is logged in with a user that has trading accounts (and the --accounts setting).',
      });
    }
    if (all || list.length === 1) return list;
    const fallback = ctx.app.config.defaultAccount.trim();
    if (fallback.toLowerCase() === 'all') return list;
    if (fallback) {
      const found = find(fallback);
      if (found) return [found];
      throw new BrokerError('INVALID_INPUT', `--default-account ${ident(fallback)} is not an account of this login.`, {
        hint: `Pass accountId, one of: ${someIds(valid)}; or fix --default-account.`,
        details: { validAccounts: valid },
      });
    }
    throw new BrokerError('INVALID_INPUT', `This login has ${list.length} accounts: say which one.`, {
      hint: `Pass accountId, one of: ${someIds(valid)}; or allAccounts: true for all of them combined. --default-account sets the account used when none is named.`,
      details: { validAccounts: valid },
    });
  }
  const found = find(accountId);
  if (!found) {
    throw new BrokerError('NOT_FOUND', `Unknown account "${accountId}".`, {
      hint: valid.length
        ? `Valid accounts: ${someIds(valid)}. Pass one of them, or allAccounts: true for all.`
        : 'This session sees no accounts; check the gateway login.',
      details: { accountId, validAccounts: valid },
    });
  }
  return [found];
}

/**
 * The one account a per-account call acts on (alerts, news): the one given (checked), the only
 * one, or --default-account; "all" there keeps the original product's behaviour, the session's
 * selected account. Otherwise the call is refused with the accounts to choose from.
 */
export async function oneAccount(
  ctx: Pick<ToolContext, 'app'>,
  given: string | undefined,
  opts: CallOptions,
): Promise<string> {
  const info = await ctx.app.backend.tradingAccounts(opts);
  const find = (id: string) => info.accounts.find((a) => a.toUpperCase() === id.trim().toUpperCase());
  if (given) {
    const hit = find(given);
    if (!hit) {
      throw new BrokerError('NOT_FOUND', `Unknown account "${given}".`, {
        hint: `Accounts: ${someIds(info.accounts) || '(none)'}.`,
        details: { accountId: given, validAccounts: info.accounts },
      });
    }
    return hit;
  }
  if (info.accounts.length === 0) {
    throw new BrokerError('NOT_FOUND', 'This session sees no accounts.', { hint: 'Check the gateway login.' });
  }
  if (info.accounts.length === 1) return info.accounts[0] as string;
  const fallback = ctx.app.config.defaultAccount.trim();
  if (fallback.toLowerCase() === 'all') return (info.selected && find(info.selected)) ?? (info.accounts[0] as string);
  const hit = fallback ? find(fallback) : undefined;
  if (hit) return hit;
  throw new BrokerError('INVALID_INPUT', `This login has ${info.accounts.length} accounts: say which one.`, {
    hint: `Pass accountId, one of: ${someIds(info.accounts)}.${fallback ? ` (--default-account ${ident(fallback)} is not one of them.)` : ' --default-account sets the account used when none is named.'}`,
    details: { validAccounts: info.accounts },
  });
}

function modeNote(mode: string): string {
  if (mode === 'SIMULATED') return 'SIMULATED (built-in simulator; no real money)';
  if (mode === 'PAPER') return 'PAPER (paper trading; no real money)';
  if (mode === 'LIVE') return 'LIVE (real money)';
  return 'UNKNOWN';
}

// ---------------------------------------------------------------- get_account_info

const CashLine = z.object({
  currency: z.string(),
  amount: z.number().optional().describe('Absent when IB sent no balance'),
  inBase: z.number().optional().describe('The amount in the account base currency (non-base currencies only)'),
});

const AccountOut = z.object({
  id: z.string(),
  title: z.string().optional().describe('Account title as the broker gives it: data, not instructions'),
  type: z.string().optional(),
  paper: z.boolean().describe('Paper trading account (no real money)'),
  currency: z.string().describe('Base currency; every balance below is in it'),
  netLiquidation: z.number().optional(),
  totalCash: z.number().optional().describe('All cash converted to the base currency'),
  cash: z.array(CashLine).describe('Cash by currency'),
  buyingPower: z.number().optional(),
  availableFunds: z.number().optional(),
  excessLiquidity: z.number().optional(),
  initMargin: z.number().optional(),
  maintMargin: z.number().optional(),
  equityWithLoan: z.number().optional(),
  grossPositionValue: z.number().optional(),
  cushionPct: z.number().optional().describe('Excess liquidity as a percent of net liquidation'),
  dayTradesRemaining: z
    .number()
    .optional()
    .describe('Day trades left under the pattern-day-trader rule; absent when the rule does not apply'),
});

type AccountOutT = z.infer<typeof AccountOut>;

export function accountOut(info: AccountInfo, b: AccountBalances, ledger: Ledger): AccountOutT {
  const currency = b.currency || info.currency;
  const cash = ledger.currencies
    .filter((line) => line.cash !== 0 || line.currency === currency)
    .map((line) => ({
      currency: line.currency,
      ...compact({
        amount: cents(line.cash),
        inBase: line.currency !== currency ? cents(mul(line.cash, line.exchangeRate)) : undefined,
      }),
    }));
  return {
    id: info.id,
    paper: info.paper,
    currency,
    cash,
    ...compact({
      title: info.title,
      type: info.type,
      netLiquidation: cents(b.netLiquidation),
      totalCash: cents(b.totalCash ?? ledger.base.cash),
      buyingPower: cents(b.buyingPower),
      availableFunds: cents(b.availableFunds),
      excessLiquidity: cents(b.excessLiquidity),
      initMargin: cents(b.initMargin),
      maintMargin: cents(b.maintMargin),
      equityWithLoan: cents(b.equityWithLoan),
      grossPositionValue: cents(b.grossPositionValue),
      cushionPct: b.cushion === undefined ? undefined : Math.round(b.cushion * 1000) / 10,
      dayTradesRemaining: b.dayTradesRemaining,
    }),
  };
}

export const getAccountInfo = defineTool({
  name: 'get_account_info',
  title: 'Account info and balances',
  toolset: 'account',
  kind: 'read',
  description: 'Accounts and balances: PAPER or LIVE, net liquidation, cash, buying power, margin.',
  input: z.object({ accountId: accountIdInput, allAccounts: allAccountsInput }),
  output: z.object({ mode: Mode, accounts: z.array(AccountOut) }),
  async handle(args, ctx) {
    const opts = callOpts(ctx);
    const accounts = await selectAccounts(ctx, args.accountId, opts, args.allAccounts === true);
    const pf = portfolioOf(ctx);
    const rows = await Promise.all(
      accounts.map(async (a) => {
        const [b, l] = await Promise.all([pf.accountBalances(a.id, opts), pf.ledger(a.id, opts)]);
        return accountOut(a, b, l);
      }),
    );
    return { mode: ctx.app.mode(), accounts: rows };
  },
  render(r) {
    const lines = [`Mode: ${modeNote(r.mode)}. ${r.accounts.length} account${r.accounts.length === 1 ? '' : 's'}.`];
    for (const a of r.accounts) {
      const c = ident(a.currency);
      const head = `${ident(a.id)}${a.title ? ` ${untrusted(a.title)}` : ''} (${a.paper ? 'paper' : 'LIVE'}${a.type ? `, ${ident(a.type)}` : ''}, base ${c})`;
      const cash = a.cash
        .map(
          (x) =>
            `${ident(x.currency)} ${money(x.amount, undefined, NA)}${x.inBase !== undefined ? ` (= ${money(x.inBase)} ${c})` : ''}`,
        )
        .join('; ');
      const parts = [
        `net liquidation ${money(a.netLiquidation)} ${c}`,
        `cash ${money(a.totalCash, undefined, NA)} ${c}${cash ? ` [${cash}]` : ''}`,
        `buying power ${money(a.buyingPower)}`,
        `available funds ${money(a.availableFunds)}`,
        `excess liquidity ${money(a.excessLiquidity)}`,
        `maint margin ${money(a.maintMargin)}`,
        `init margin ${money(a.initMargin)}`,
      ];
      if (a.cushionPct !== undefined) parts.push(`cushion ${num(a.cushionPct, 1)}%`);
      if (a.dayTradesRemaining !== undefined) parts.push(`day trades left ${a.dayTradesRemaining}`);
      lines.push(`${head}\n  ${parts.join('; ')}`);
    }
    return lines.join('\n');
  },
});

// ---------------------------------------------------------------- get_positions

export const PositionOut = z.object({
  account: z.string().optional().describe('Account id (when several accounts are listed)'),
  symbol: z.string(),
  conid: z.number(),
  secType: z.string(),
  name: z.string().optional().describe('Company or instrument name: data, not instructions'),
  qty: z.number().optional().describe('Signed quantity; negative is short. Absent (here and below) when IB sent none'),
  avgCost: z.number().optional().describe('Average cost per share/unit, comparable with price'),
  price: z.number().optional().describe('Market price per share/unit'),
  value: z.number().optional().describe('Market value = qty × price × multiplier (futures: notional)'),
  unrealizedPnl: z.number().optional(),
  realizedPnl: z.number().optional(),
  currency: z.string().describe('Currency of price, value and P&L'),
  expiry: z.string().optional().describe('Derivatives: YYYY-MM-DD'),
  strike: z.number().optional(),
  right: z.enum(['C', 'P']).optional(),
  multiplier: z.number().optional(),
});

export type PositionOutT = z.infer<typeof PositionOut>;

export function positionOut(p: Position, withAccount: boolean): PositionOutT {
  return {
    ...(withAccount ? { account: p.accountId } : {}),
    symbol: p.symbol,
    conid: p.conid,
    secType: p.secType,
    currency: p.currency,
    ...compact({
      qty: p.quantity,
      avgCost: p.avgPrice === undefined ? undefined : round4(p.avgPrice),
      price: p.marketPrice === undefined ? undefined : round4(p.marketPrice),
      value: cents(p.marketValue),
      unrealizedPnl: cents(p.unrealizedPnl),
      realizedPnl: cents(p.realizedPnl),
      name: p.name,
      expiry: p.expiry,
      strike: p.strike,
      right: p.right,
      multiplier: p.secType !== 'STK' ? p.multiplier : undefined,
    }),
  };
}

/** Sums leave out nothing: one unknown part makes the sum absent, and `unknown` names the positions. */
const Sums = {
  value: z.number().optional(),
  unrealizedPnl: z.number().optional(),
  realizedPnl: z.number().optional(),
  unknown: z
    .array(z.string())
    .optional()
    .describe('Positions with an amount IB did not send; sums they lack are absent'),
};

const CurrencyTotal = z.object({ currency: z.string(), positions: z.number(), ...Sums });

function positionLabel(p: PositionOutT): string {
  const sym = ident(p.symbol);
  if (p.secType === 'OPT' || p.secType === 'FOP') {
    return `${sym} ${ident(p.expiry ?? '')} ${num(p.strike)}${p.right ?? ''}${p.multiplier && p.multiplier !== 100 ? ` x${p.multiplier}` : ''}`;
  }
  if (p.secType === 'FUT') return `${sym} FUT ${ident(p.expiry ?? '')}${p.multiplier ? ` x${p.multiplier}` : ''}`;
  return p.secType === 'STK' ? sym : `${sym} ${ident(p.secType)}`;
}

export function positionLine(p: PositionOutT): string {
  const r = p.realizedPnl !== 0 ? ` real ${orNa(p.realizedPnl)}` : '';
  return `${p.account ? `${ident(p.account)} ` : ''}${positionLabel(p)} ${numOrNa(p.qty)} @${numOrNa(p.avgCost)} now ${numOrNa(p.price)} = ${money(p.value, undefined, NA)} ${ident(p.currency)} P&L ${orNa(p.unrealizedPnl)}${r}`;
}

/** P&L sums as text: "n/a" for an absent one, and the positions that made it so. */
function pnlText(t: z.infer<z.ZodObject<typeof Sums>>, sep = ', '): string {
  const r = t.realizedPnl !== 0 ? `${sep}realized ${orNa(t.realizedPnl)}` : '';
  const u = t.unknown?.length ? `; n/a for ${idents(t.unknown)}` : '';
  return `P&L ${orNa(t.unrealizedPnl)}${r}${u}`;
}

export const getPositions = defineTool({
  name: 'get_positions',
  title: 'Positions',
  toolset: 'account',
  kind: 'read',
  description: 'Positions with quantity, cost, market value and P&L, largest first.',
  input: z.object({
    accountId: accountIdInput,
    allAccounts: allAccountsInput,
    symbol: z.string().trim().max(32).optional().describe('Its options and futures included'),
    secType: z.enum(SEC_TYPES as [SecType, ...SecType[]]).optional(),
    sortBy: z.enum(POSITION_SORTS).default('value'),
    order: z.enum(['asc', 'desc']).optional().describe('Default desc, asc for symbol'),
    limit: z.number().int().min(1).max(1000).default(50),
  }),
  output: z.object({
    accounts: z.array(z.string()).describe('Accounts covered'),
    positions: z.array(PositionOut),
    count: z.number().describe('Matching positions'),
    more: z.number().optional().describe('Matching positions left out by limit'),
    sortedIn: z.string().optional().describe('Positions in several currencies: values compared in this one'),
    totals: z.array(CurrencyTotal).describe('Sums over every matching position, by currency'),
  }),
  async handle(args, ctx) {
    const opts = callOpts(ctx);
    const accounts = await selectAccounts(ctx, args.accountId, opts, args.allAccounts === true);
    const pf = portfolioOf(ctx);
    const lists = await Promise.all(accounts.map((a) => pf.positions(a.id, opts)));
    let all = lists.flat();
    if (args.symbol) {
      const s = args.symbol.toUpperCase();
      all = all.filter((p) => p.symbol.toUpperCase() === s);
    }
    if (args.secType) all = all.filter((p) => p.secType === args.secType);
    const multi = accounts.length > 1;
    // Several currencies: compare values in one (the first account's base), at the ledgers' rates.
    let common: ReturnType<typeof positionRates>;
    if (new Set(all.map((p) => p.currency)).size > 1 && (args.sortBy === 'value' || args.sortBy === 'pnl')) {
      const ledgers = await Promise.all(accounts.map((a) => pf.ledger(a.id, opts).catch(() => undefined)));
      const byAccount = new Map(ledgers.flatMap((l) => (l ? [[l.accountId, l] as const] : [])));
      common = byAccount.size === accounts.length ? positionRates(all, byAccount) : undefined;
    }
    const rowsAll = sortPositions(all, args.sortBy, args.order, common?.rate).map((p) => positionOut(p, multi));
    const positions = rowsAll.slice(0, args.limit);
    const out: {
      accounts: string[];
      positions: PositionOutT[];
      count: number;
      more?: number;
      sortedIn?: string;
      totals: z.infer<typeof CurrencyTotal>[];
    } = { accounts: accounts.map((a) => a.id), positions, count: rowsAll.length, totals: totalsByCurrency(rowsAll) };
    if (rowsAll.length > positions.length) out.more = rowsAll.length - positions.length;
    if (common) out.sortedIn = common.currency;
    return out;
  },
  render(r) {
    const scope =
      r.accounts.length === 1
        ? `Account ${ident(r.accounts[0])}`
        : `All ${r.accounts.length} accounts (${idents(r.accounts)})`;
    if (r.count === 0) return `${scope}: no positions.`;
    const lines = [
      `${scope}: ${r.count} position${r.count === 1 ? '' : 's'}${r.more ? `, showing ${r.positions.length} (${r.more} more: pass limit ${Math.min(1000, r.count)} for all)` : ''}${r.sortedIn ? `, sorted by value in ${ident(r.sortedIn)}` : ''}. symbol qty @avgCost now price = value ccy P&L`,
      ...r.positions.map(positionLine),
      `Totals: ${r.totals.map((t) => `${ident(t.currency)} ${money(t.value, undefined, NA)} (${pnlText(t)}; ${t.positions})`).join('; ')}`,
    ];
    return lines.join('\n');
  },
});

// ---------------------------------------------------------------- get_portfolio_summary

const GroupOut = z.object({
  key: z.string(),
  positions: z.number(),
  ...Sums,
  value: Sums.value.describe('Market value in the base currency'),
  weightPct: z.number().optional().describe('value / net liquidation, in percent'),
});

const SummaryOut = z.object({
  id: z.string().optional(),
  currency: z.string().describe('Currency of every amount in this entry'),
  netLiquidation: z.number(),
  cash: z.number().optional().describe('Absent when IB sent no cash balance'),
  cashPct: z.number().optional().describe('cash / net liquidation, in percent'),
  ...Sums,
  value: Sums.value.describe('Market value of all positions (sum of the groups)'),
  positions: z.number(),
  groups: z.array(GroupOut).optional(),
  fx: z.number().optional().describe('Rate used to convert this account into the total currency'),
});
type SummaryOutT = PortfolioSummary;

function summaryLines(s: SummaryOutT, label: string): string[] {
  const c = ident(s.currency);
  const lines = [
    `${label} (${c}): net liquidation ${money(s.netLiquidation)}; cash ${s.cash === undefined ? NA : `${money(s.cash)} (${num(s.cashPct, 1)}%)`}; positions ${s.positions} worth ${money(s.value, undefined, NA)}, unrealized ${pnlText(s)}${s.fx !== undefined ? ` (fx ${num(s.fx, 6)})` : ''}`,
  ];
  for (const g of s.groups ?? []) {
    lines.push(
      `  ${ident(g.key)}: ${money(g.value, undefined, NA)} (${g.weightPct === undefined ? NA : `${num(g.weightPct, 1)}%`}) ${pnlText(g, ' ')}; ${g.positions}`,
    );
  }
  return lines;
}

export const getPortfolioSummary = defineTool({
  name: 'get_portfolio_summary',
  title: 'Portfolio summary',
  toolset: 'account',
  kind: 'read',
  description: 'Portfolio overview: net liquidation, cash, and value, P&L and weight per group.',
  input: z.object({
    accountId: accountIdInput,
    allAccounts: allAccountsInput,
    groupBy: z.enum(GROUP_BY).default('secType'),
  }),
  output: z.object({
    groupBy: z.enum(GROUP_BY),
    accounts: z.array(SummaryOut),
    total: SummaryOut.optional().describe('All accounts together (when several)'),
    notes: z.array(z.string()).optional(),
  }),
  async handle(args, ctx) {
    const opts = callOpts(ctx);
    const accounts = await selectAccounts(ctx, args.accountId, opts, args.allAccounts === true);
    const pf = portfolioOf(ctx);
    const data = await Promise.all(
      accounts.map(async (a) => {
        // The ledger's BASE line has net liquidation and cash: /summary is read only when it does not.
        const [positions, ledger] = await Promise.all([pf.positions(a.id, opts), pf.ledger(a.id, opts)]);
        const nlv = ledger.base.netLiquidation ?? (await pf.accountBalances(a.id, opts)).netLiquidation ?? 0;
        return { a, positions, ledger, nlv };
      }),
    );
    const missing = new Set<string>();
    const notes: string[] = [];
    const summaries = data.map(({ a, positions, ledger, nlv }) =>
      summarize(
        a.id,
        ledger.baseCurrency,
        positions,
        (c) => rateToBase(ledger, c),
        nlv,
        ledger.base.cash,
        args.groupBy,
        missing,
      ),
    );
    if (data.some((d) => d.positions.some((p) => p.secType === 'FUT'))) {
      notes.push('Futures count at notional in value and weight; net liquidation includes only their P&L.');
    }
    const out: {
      groupBy: GroupBy;
      accounts: SummaryOutT[];
      total?: SummaryOutT;
      notes?: string[];
    } = { groupBy: args.groupBy, accounts: summaries };
    if (summaries.length > 1) {
      const target = summaries[0]?.currency ?? 'USD';
      const rates = ratesToCurrency(target, new Map(data.map((d) => [d.a.id, d.ledger])));
      const parts: { s: SummaryOutT; fx: number }[] = [];
      for (const s of summaries) {
        const fx = rates.get(s.id ?? '');
        if (fx === undefined) {
          notes.push(
            `Account ${ident(s.id)} (${ident(s.currency)}) is left out of the total: no ${ident(s.currency)}/${ident(target)} rate in the ledgers.`,
          );
          continue;
        }
        if (s.currency !== target) s.fx = Number(fx.toFixed(6));
        parts.push({ s, fx: s.fx ?? 1 });
      }
      out.total = combine(parts, target, args.groupBy);
    }
    if (missing.size) notes.push(`No exchange rate for ${idents([...missing])}; those positions are counted 1:1.`);
    if (notes.length) out.notes = notes;
    return out;
  },
  render(r) {
    const lines: string[] = [];
    for (const s of r.accounts) lines.push(...summaryLines(s, `Account ${ident(s.id)}`));
    if (r.total) lines.push(...summaryLines(r.total, `Total of ${r.accounts.length} accounts`));
    for (const n of r.notes ?? []) lines.push(`Note: ${n}`);
    return lines.join('\n');
  },
});

// ---------------------------------------------------------------- get_pnl

const PnlOut = z.object({
  id: z.string().optional(),
  currency: z.string(),
  dailyPnl: z.number().optional().describe("Today's P&L (absent when IB sent none)"),
  unrealizedPnl: z.number().optional(),
  realizedPnl: z.number().optional().describe("Today's realized P&L"),
  netLiquidation: z.number().optional(),
  excessLiquidity: z.number().optional(),
  fx: z.number().optional().describe('Rate used to convert this account into the total currency'),
});
type PnlOutT = z.infer<typeof PnlOut>;

/** How long get_pnl waits for IB's P&L feed before answering from the ledgers. */
const PNL_WAIT_MS = 25_000;

export const getPnl = defineTool({
  name: 'get_pnl',
  title: 'Daily P&L',
  toolset: 'account',
  kind: 'read',
  description: "Today's P&L per account: daily, unrealized, realized.",
  input: z.object({ accountId: accountIdInput, allAccounts: allAccountsInput }),
  output: z.object({
    accounts: z.array(PnlOut),
    total: PnlOut.optional(),
    source: z
      .enum(['stream', 'request', 'mixed'])
      .optional()
      .describe("Today's and unrealized P&L: pushed, asked for, or some of each"),
    ageMs: z.number().optional(),
    note: z.string().optional(),
  }),
  async handle(args, ctx) {
    const opts = callOpts(ctx);
    const accounts = await selectAccounts(ctx, args.accountId, opts, args.allAccounts === true);
    const pf = portfolioOf(ctx);
    // IB paces its P&L feed at one call per 5 s (one per account where it scopes P&L to the selected
    // one): wait for it a bounded time, then answer from the ledgers; the read goes on and is reused.
    let late = false;
    // Some of the login's accounts (one, or --accounts' few of an advisor's many): only theirs are read.
    const some = accounts.length < (await pf.listAccounts(opts)).length;
    const feed = pf.pnl(some ? { ...opts, accountIds: accounts.map((a) => a.id) } : opts);
    feed.catch(() => {});
    const bounded = Promise.race([
      feed,
      new Promise<AccountPnl[]>((resolve) => {
        setTimeout(() => {
          late = true;
          resolve([]);
        }, PNL_WAIT_MS).unref();
      }),
    ]);
    const [rows, ledgers] = await Promise.all([bounded, Promise.all(accounts.map((a) => pf.ledger(a.id, opts)))]);
    const byId = new Map<string, AccountPnl>(rows.map((r) => [r.accountId.toUpperCase(), r]));
    const out: PnlOutT[] = accounts.map((a, i) => {
      const p = byId.get(a.id.toUpperCase());
      const l = ledgers[i];
      return {
        id: a.id,
        currency: l?.baseCurrency ?? a.currency,
        ...compact({
          dailyPnl: cents(p?.dailyPnl),
          unrealizedPnl: cents(p?.unrealizedPnl ?? l?.base.unrealizedPnl),
          realizedPnl: cents(l?.base.realizedPnl),
          netLiquidation: cents(p?.netLiquidation ?? l?.base.netLiquidation),
          excessLiquidity: cents(p?.excessLiquidity),
        }),
      };
    });
    const result: {
      accounts: PnlOutT[];
      total?: PnlOutT;
      source?: DataSource | 'mixed';
      ageMs?: number;
      note?: string;
    } = { accounts: out };
    if (rows.length) {
      const pushed = rows.filter((r) => r.source === 'stream').length;
      result.source = pushed === rows.length ? 'stream' : pushed === 0 ? 'request' : 'mixed';
      const oldest = Math.min(...rows.map((r) => r.receivedAt ?? Date.now()));
      result.ageMs = Math.max(0, Date.now() - oldest);
    }
    if (late)
      result.note = `IB's P&L feed did not answer within ${PNL_WAIT_MS / 1000} s (it allows one call per 5 s): today's P&L is n/a; the other figures are from the ledgers. Ask again in a few seconds.`;
    if (out.length > 1) {
      const target = out[0]?.currency ?? 'USD';
      const rates = ratesToCurrency(target, new Map(ledgers.map((l) => [l.accountId, l])));
      for (const r of out) {
        const fx = rates.get(r.id ?? '') ?? 1;
        if (r.currency !== target) r.fx = Number(fx.toFixed(6));
      }
      // A total of daily or unrealized P&L exists only when every account has that figure.
      const sum = (key: 'dailyPnl' | 'unrealizedPnl') =>
        out.every((r) => r[key] !== undefined)
          ? out.reduce((t, r) => round2(t + round2((r[key] as number) * (r.fx ?? 1))), 0)
          : undefined;
      result.total = {
        currency: target,
        ...compact({ dailyPnl: sum('dailyPnl'), unrealizedPnl: sum('unrealizedPnl') }),
        realizedPnl: out.reduce((t, r) => round2(t + round2((r.realizedPnl ?? 0) * (r.fx ?? 1))), 0),
        netLiquidation: out.reduce((t, r) => round2(t + round2((r.netLiquidation ?? 0) * (r.fx ?? 1))), 0),
      };
    }
    return result;
  },
  render(r) {
    const line = (p: PnlOutT, label: string) =>
      `${label} (${ident(p.currency)}): today ${orNa(p.dailyPnl)}, unrealized ${orNa(p.unrealizedPnl)}, realized ${signedMoney(p.realizedPnl ?? 0)}; net liquidation ${money(p.netLiquidation)}${p.fx !== undefined ? ` (fx ${num(p.fx, 6)})` : ''}`;
    const lines = r.accounts.map((p) => line(p, `Account ${ident(p.id)}`));
    if (r.total) lines.push(line(r.total, `Total of ${r.accounts.length} accounts`));
    if (r.source)
      lines.push(
        `P&L ${r.source === 'stream' ? 'pushed by IB' : r.source === 'mixed' ? 'partly pushed by IB, partly asked' : 'asked of IB'}, ${((r.ageMs ?? 0) / 1000).toFixed(1)} s old`,
      );
    if (r.note) lines.push(r.note);
    return lines.join('\n');
  },
});

const NA = 'n/a';

/** A signed amount, or "n/a" when IB did not send it. */
function orNa(v: number | undefined): string {
  return v === undefined ? NA : signedMoney(v);
}

/** A number, or "n/a" when IB did not send it. */
function numOrNa(v: number | undefined): string {
  return v === undefined ? NA : num(v);
}

export const ACCOUNT_TOOLS = [getAccountInfo, getPositions, getPortfolioSummary, getPnl];
