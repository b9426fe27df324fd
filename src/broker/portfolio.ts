/**
 * Portfolio part of the backend contract: accounts, balances, positions and P&L in domain
 * terms. Money is a plain number with the currency stated next to it; nothing here knows
 * IB's summary tags, ledger keys or position rows.
 */
import type { CallOptions } from './backend.js';
import type { DataSource } from './orders.js';
import type { OptionRight, SecType } from './types.js';

/** One account the session can see. */
export interface AccountInfo {
  id: string;
  /** Account title or display name, as the broker gives it (untrusted text). */
  title?: string;
  /** Base currency: every balance of the account is stated in it. */
  currency: string;
  /** The broker named no base currency: `currency` is a display default, never a fact to check against. */
  currencyAssumed?: true;
  /** Paper (simulated trading at the broker) rather than live money. */
  paper: boolean;
  /** The broker's account type, e.g. DEMO, INDIVIDUAL, JOINT, LLC. */
  type?: string;
  /** Permitted products, e.g. STKNOPT, STKMRGN. */
  tradingType?: string;
}

/** Balances that matter, in the account's base currency. Absent values were not reported. */
export interface AccountBalances {
  accountId: string;
  currency: string;
  netLiquidation?: number;
  totalCash?: number;
  /** Settled cash. */
  settledCash?: number;
  buyingPower?: number;
  availableFunds?: number;
  excessLiquidity?: number;
  initMargin?: number;
  maintMargin?: number;
  equityWithLoan?: number;
  grossPositionValue?: number;
  accruedCash?: number;
  /** Excess liquidity / net liquidation (0..1). */
  cushion?: number;
  /** Day trades left under the pattern-day-trader rule; absent when the rule does not apply (IB's -1). */
  dayTradesRemaining?: number;
}

/** One currency line of the cash ledger. */
export interface LedgerLine {
  currency: string;
  /** Cash balance; absent when the broker sent none (never taken as 0). */
  cash?: number;
  settledCash?: number;
  /** Value of this currency's stocks, options and futures P&L, in this currency. */
  stockValue?: number;
  optionValue?: number;
  futureValue?: number;
  netLiquidation?: number;
  unrealizedPnl?: number;
  realizedPnl?: number;
  dividends?: number;
  interest?: number;
  /** Units of base currency per unit of this currency. */
  exchangeRate: number;
}

/** Cash and values by currency, plus the totals in base currency. */
export interface Ledger {
  accountId: string;
  baseCurrency: string;
  /** Totals converted to the base currency. */
  base: LedgerLine;
  /** One line per currency held (the base currency included). */
  currencies: LedgerLine[];
}

export interface Position {
  accountId: string;
  conid: number;
  symbol: string;
  /** Contract description as the broker shows it, e.g. "AAPL JAN2027 300 C [AAPL 270115C00300000 100]" (untrusted). */
  description?: string;
  /** Company or instrument name (untrusted). */
  name?: string;
  secType: SecType;
  /**
   * Signed: negative is short. Each amount below is absent when the broker sent none: it is
   * unknown, never 0 (a position without a quantity must not size or cap an order).
   */
  quantity?: number;
  /** Average cost per unit, multiplier included (what one contract/share cost). */
  avgCost?: number;
  /** Average price per share/underlying unit (avgCost / multiplier). */
  avgPrice?: number;
  marketPrice?: number;
  /** quantity × marketPrice × multiplier, in the position's currency (futures: notional). */
  marketValue?: number;
  unrealizedPnl?: number;
  realizedPnl?: number;
  currency: string;
  /** Derivatives: YYYY-MM-DD. */
  expiry?: string;
  strike?: number;
  right?: OptionRight;
  multiplier?: number;
  underlyingConid?: number;
  listingExchange?: string;
  sector?: string;
  /** Industry group. */
  group?: string;
  /** ETF, COMMON, ADR, … */
  type?: string;
}

/** Today's P&L of one account, in its base currency. */
export interface AccountPnl {
  accountId: string;
  /** Absent when the broker did not send it (never 0 in its place). */
  dailyPnl?: number;
  unrealizedPnl?: number;
  netLiquidation?: number;
  excessLiquidity?: number;
  marketValue?: number;
  /** Pushed by the broker's stream or asked for; epoch ms the figures arrived. */
  source?: DataSource;
  receivedAt?: number;
}

/** Market value by asset class, sector and industry group, long and short (base currency). */
export interface Allocation {
  accountId: string;
  assetClass: { long: Record<string, number>; short: Record<string, number> };
  sector: { long: Record<string, number>; short: Record<string, number> };
  group: { long: Record<string, number>; short: Record<string, number> };
}

export interface PortfolioBackend {
  /** Every account the session can see (cached for the session: IB allows this call once per 5 s). */
  listAccounts(opts?: CallOptions): Promise<AccountInfo[]>;
  /** The balances that matter, in base currency. */
  accountBalances(accountId: string, opts?: CallOptions): Promise<AccountBalances>;
  /** Cash and values by currency plus base-currency totals. */
  ledger(accountId: string, opts?: CallOptions): Promise<Ledger>;
  /** Every position of the account (all pages). */
  positions(accountId: string, opts?: CallOptions): Promise<Position[]>;
  allocation(accountId: string, opts?: CallOptions): Promise<Allocation>;
  /** Today's P&L of every account of the session; with accountIds, of those only (fewer paced reads). */
  pnl(opts?: CallOptions & { accountIds?: readonly string[] }): Promise<AccountPnl[]>;
}

/** The portfolio methods alone (what CpapiPortfolio implements). */
export type PortfolioMethods = PortfolioBackend;
