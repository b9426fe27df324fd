/**
 * The trading policy, applied to every order path before anything is sent:
 *
 * - Mode from the backend's verdict on the account itself (what the broker says), never a port
 *   or a setting. An account without a verdict counts as LIVE.
 * - A LIVE account refuses every order unless the server was started with --allow-live-trading,
 *   and then sends one only with a human's approval (a dialog the human answered, or an approval
 *   code only the human can read); "none" needs --allow-live-without-approval as well.
 * - Limits: notional per order (in the account's currency, from ask/bid, the order's own
 *   prices and IB's what-if, never skipped), quantity, orders per day, accounts, symbols,
 *   security types. A check that cannot run refuses the order and says which one.
 */
import { BrokerError } from '../broker/errors.js';
import { round2 } from '../broker/numbers.js';
import type { OrderPreview, OrderRequest, TradingAccounts } from '../broker/orders.js';
import type { Contract } from '../broker/types.js';
import { ident, idents } from '../broker/untrusted.js';
import { commandFor } from '../config/command.js';
import { OPTIONS } from '../config/options.js';
import type { TradingMode } from './journal.js';
import type { Approval } from './outcome.js';
import { standardTick } from './validate.js';

export type ConfirmationMode = 'elicit' | 'token' | 'none';

export interface SafetyConfig {
  allowLiveTrading: boolean;
  /** With --order-confirmation none: live orders are sent without any human approval. */
  allowLiveWithoutApproval: boolean;
  orderConfirmation: ConfirmationMode;
  /** Max order value in the account's currency. */
  maxOrderNotional: number;
  maxOrderQuantity: number;
  /** Orders sent in any rolling 24 hours. */
  maxOrdersPerDay: number;
  /** Empty: every account of the session. */
  allowedAccounts: string[];
  /** Empty: every symbol. Options match by their underlying symbol. */
  allowedSymbols: string[];
  allowedSecTypes: string[];
  autoConfirmMessageIds: string[];
}

/** The option table's defaults (src/config/options.ts is the one source of them). */
function optionDefault<T>(key: keyof SafetyConfig): T {
  const spec = OPTIONS.find((o) => o.key === key);
  if (!spec) throw new Error(`no option ${key}`);
  return spec.default as T;
}

export const DEFAULT_SAFETY: SafetyConfig = {
  allowLiveTrading: optionDefault('allowLiveTrading'),
  allowLiveWithoutApproval: optionDefault('allowLiveWithoutApproval'),
  orderConfirmation: optionDefault('orderConfirmation'),
  maxOrderNotional: optionDefault('maxOrderNotional'),
  maxOrderQuantity: optionDefault('maxOrderQuantity'),
  maxOrdersPerDay: optionDefault('maxOrdersPerDay'),
  allowedAccounts: optionDefault('allowedAccounts'),
  allowedSymbols: optionDefault('allowedSymbols'),
  allowedSecTypes: optionDefault('allowedSecTypes'),
  autoConfirmMessageIds: optionDefault('autoConfirmMessageIds'),
};

/**
 * SIMULATED only for the built-in simulator. PAPER only when the backend says this account is
 * paper; everything else (live, or no verdict) is LIVE.
 */
export function detectMode(accountId: string, info: Pick<TradingAccounts, 'paper'>, simulated: boolean): TradingMode {
  if (simulated) return 'SIMULATED';
  return info.paper?.[accountId] === true ? 'PAPER' : 'LIVE';
}

/** Refuses order-changing actions on a live account unless live trading was allowed at startup. */
export function assertModeAllowed(mode: TradingMode, cfg: Pick<SafetyConfig, 'allowLiveTrading'>, what: string): void {
  if (mode === 'LIVE' && !cfg.allowLiveTrading) {
    throw new BrokerError(
      'REFUSED',
      `This is a LIVE account: ${what} is refused because the server was not started with --allow-live-trading. Nothing was sent.`,
      {
        hint: 'Use a paper account, or have the user restart the server with --allow-live-trading (IB_ALLOW_LIVE_TRADING=true) if they really want the assistant to trade real money.',
        details: { mode, check: 'live-trading' },
      },
    );
  }
}

/**
 * Startup and per-order rule: confirmation "none" on a live account needs --allow-live-trading
 * and --allow-live-without-approval.
 */
export function confirmationProblem(
  cfg: Pick<SafetyConfig, 'orderConfirmation' | 'allowLiveTrading' | 'allowLiveWithoutApproval'>,
  mode: TradingMode | 'UNKNOWN',
): string | undefined {
  if (cfg.orderConfirmation === 'none' && mode === 'LIVE' && !liveWithoutApproval(cfg)) {
    return '--order-confirmation none is allowed for paper and simulated accounts, and for live accounts only together with --allow-live-trading and --allow-live-without-approval.';
  }
  return undefined;
}

/** Both flags that let live orders go out without a human's approval. */
export function liveWithoutApproval(
  cfg: Pick<SafetyConfig, 'orderConfirmation' | 'allowLiveTrading' | 'allowLiveWithoutApproval'>,
): boolean {
  return cfg.orderConfirmation === 'none' && cfg.allowLiveTrading && cfg.allowLiveWithoutApproval === true;
}

/** Approvals that show a live order was meant by a human (or that the user opted out of asking). */
const HUMAN_APPROVALS: ReadonlySet<Approval> = new Set(['elicit', 'code', 'ticket']);

/**
 * The last gate before a live request goes out: its approval must be a human's (a dialog they
 * answered, a code they read), or "none" with both opt-out flags. A bare token is never enough.
 */
export function assertLiveApproval(mode: TradingMode, approval: Approval, cfg: SafetyConfig, what: string): void {
  if (mode !== 'LIVE') return;
  if (HUMAN_APPROVALS.has(approval)) return;
  if (approval === 'none' && liveWithoutApproval(cfg)) return;
  throw new BrokerError(
    'REFUSED',
    `This is a LIVE account: ${what} needs the user's own approval (a confirmation dialog or an approval code), and it has none. Nothing was sent.`,
    { hint: liveApprovalHint(), details: { mode, check: 'live-approval', approval } },
  );
}

/** How a user gets a way to approve live orders. */
export function liveApprovalHint(): string {
  return `Have the user run \`${commandFor('approvals setup')}\` in a terminal: it enrols an approval code in their authenticator app, which they then read out for each live order. Or use a client that shows confirmation dialogs.`;
}

export interface PriceRefs {
  bid?: number | undefined;
  ask?: number | undefined;
  last?: number | undefined;
}

export interface LimitInput {
  order: OrderRequest;
  contract: Pick<Contract, 'symbol' | 'secType' | 'multiplier' | 'currency'>;
  /** Accounts the broker says this session has (undefined: could not be read). */
  brokerAccounts: string[] | undefined;
  accountCurrency?: string | undefined;
  quote?: PriceRefs | undefined;
  preview?: OrderPreview | undefined;
  /** Orders sent in the last 24 hours (undefined: unknown). */
  ordersLast24h: number | undefined;
  /** The price to value the order at, instead of the order's own (a spread's net price). */
  valuation?: { price: number; basis: string } | undefined;
  /** Checks made by the caller (a spread's maximum loss), reported and enforced with the rest. */
  extraChecks?: CheckResult[] | undefined;
}

export interface CheckResult {
  name: string;
  ok: boolean;
  /** false when the check could not be made. */
  ran: boolean;
  detail: string;
}

export interface LimitReport {
  notional: number | undefined;
  /** Where the notional came from, e.g. "ask 187.2", "limit price", "what-if". */
  notionalBasis: string | undefined;
  checks: CheckResult[];
}

function pos(n: number | undefined): n is number {
  return typeof n === 'number' && Number.isFinite(n) && n > 0;
}

export function multiplierOf(c: Pick<Contract, 'secType' | 'multiplier'>): number {
  if (pos(c.multiplier)) return c.multiplier;
  return c.secType === 'OPT' || c.secType === 'FOP' ? 100 : 1;
}

/**
 * The highest price this order can plausibly execute at, from what is known, with its basis.
 * Several sources are combined (max), so one stale source cannot make an order look smaller.
 */
export function worstPrice(
  order: OrderRequest,
  q: PriceRefs | undefined,
): { price: number; basis: string } | undefined {
  const cands: Array<[number, string]> = [];
  const add = (v: number | undefined, basis: string) => {
    if (pos(v)) cands.push([v, basis]);
  };
  const buy = order.side === 'BUY';
  const market = buy ? q?.ask : q?.bid;
  const marketName = buy ? 'ask' : 'bid';
  switch (order.orderType) {
    case 'MKT':
      add(market, marketName);
      break;
    case 'LMT':
      add(order.limitPrice, 'limit price');
      if (!buy) add(market, marketName);
      break;
    case 'STP':
      add(order.stopPrice, 'stop price');
      add(market, marketName);
      break;
    case 'STOP_LIMIT':
      add(order.limitPrice, 'limit price');
      if (!buy) add(market, marketName);
      break;
    case 'TRAIL': {
      add(order.stopPrice, 'initial stop');
      if (pos(market)) {
        const t = order.trailingAmount ?? 0;
        const offset = order.trailingType === '%' ? (market * t) / 100 : t;
        add(buy ? market + offset : market, `${marketName}${buy ? ' + trailing amount' : ''}`);
      }
      break;
    }
  }
  if (!cands.length) return undefined;
  cands.sort((a, b) => b[0] - a[0]);
  const [price, basis] = cands[0]!;
  return { price, basis: `${basis} ${price}` };
}

/**
 * A trailing stop's initial stop from the market: last (else ask for a buy, bid for a sell)
 * plus the trail for a buy, minus it for a sell, on the contract's tick. undefined without a price.
 */
export function initialTrailStop(order: OrderRequest, q: PriceRefs | undefined): number | undefined {
  const buy = order.side === 'BUY';
  const ref = q?.last ?? (buy ? q?.ask : q?.bid);
  const amt = order.trailingAmount;
  if (!pos(ref) || !pos(amt)) return undefined;
  const off = order.trailingType === '%' ? (ref * amt) / 100 : amt;
  const raw = buy ? ref + off : ref - off;
  if (!(raw > 0)) return undefined;
  const tick = standardTick(order.secType, raw);
  const decimals = Math.max(0, Math.ceil(-Math.log10(tick) - 1e-9));
  const stop = Number((Math.round(raw / tick) * tick).toFixed(decimals));
  return stop > 0 ? stop : undefined;
}

/** Runs every limit check; returns the report, or throws REFUSED naming failed and unrunnable checks. */
export function checkLimits(input: LimitInput, cfg: SafetyConfig): LimitReport {
  const { order, contract } = input;
  const checks: CheckResult[] = [];
  const ok = (name: string, detail: string) => checks.push({ name, ok: true, ran: true, detail });
  const fail = (name: string, detail: string) => checks.push({ name, ok: false, ran: true, detail });
  const cannot = (name: string, detail: string) => checks.push({ name, ok: false, ran: false, detail });

  // Account
  if (!input.brokerAccounts) cannot('account', 'the account list could not be read from IB');
  else if (!input.brokerAccounts.includes(order.accountId)) {
    fail(
      'account',
      `account ${ident(order.accountId)} is not one of this session's accounts (${idents(input.brokerAccounts)})`,
    );
  } else if (cfg.allowedAccounts.length && !cfg.allowedAccounts.includes(order.accountId)) {
    fail('account', `account ${order.accountId} is not in --allowed-accounts (${cfg.allowedAccounts.join(', ')})`);
  } else ok('account', order.accountId);

  // Security type and symbol
  if (!cfg.allowedSecTypes.map((s) => s.toUpperCase()).includes(contract.secType)) {
    fail(
      'secType',
      `${ident(contract.secType)} is not in --allowed-sec-types (${cfg.allowedSecTypes.join(', ') || 'none'})`,
    );
  } else ok('secType', contract.secType);
  const sym = contract.symbol.toUpperCase();
  if (cfg.allowedSymbols.length && !cfg.allowedSymbols.map((s) => s.toUpperCase()).includes(sym)) {
    fail('symbol', `${ident(sym)} is not in --allowed-symbols (${cfg.allowedSymbols.join(', ')})`);
  } else ok('symbol', sym);

  // Quantity
  if (order.quantity > cfg.maxOrderQuantity) {
    fail('quantity', `quantity ${order.quantity} is above --max-order-quantity ${cfg.maxOrderQuantity}`);
  } else ok('quantity', `${order.quantity} ≤ ${cfg.maxOrderQuantity}`);

  // Orders per day
  if (input.ordersLast24h === undefined) cannot('orders-per-day', 'the order journal could not be read');
  else if (input.ordersLast24h + 1 > cfg.maxOrdersPerDay) {
    fail(
      'orders-per-day',
      `${input.ordersLast24h} orders were sent in the last 24 hours; --max-orders-per-day is ${cfg.maxOrdersPerDay}`,
    );
  } else ok('orders-per-day', `${input.ordersLast24h + 1} of ${cfg.maxOrdersPerDay}`);

  // Notional
  let notional: number | undefined;
  let notionalBasis: string | undefined;
  const currency = contract.currency?.toUpperCase();
  const acctCcy = input.accountCurrency?.toUpperCase();
  if (!acctCcy) {
    cannot('notional', `the base currency of account ${ident(order.accountId)} could not be read from IB`);
  } else if (!currency) {
    cannot('notional', `the currency of ${ident(contract.symbol)} is not known`);
  } else if (currency !== acctCcy) {
    cannot(
      'notional',
      `the contract trades in ${ident(currency)} but the account's currency is ${ident(acctCcy)}; the order value cannot be converted`,
    );
  } else {
    const mult = multiplierOf(contract);
    const w = input.valuation ?? worstPrice(order, input.quote);
    // A cash order spends at most its cash amount (IB sizes it): valued at the higher of the two.
    const byPrice = w ? w.price * order.quantity * mult : undefined;
    const fromPrice =
      order.cashQty !== undefined && !(byPrice !== undefined && byPrice > order.cashQty) ? order.cashQty : byPrice;
    const whatIf = pos(input.preview?.amount) ? input.preview!.amount : undefined;
    if (fromPrice === undefined && whatIf === undefined) {
      cannot(
        'notional',
        `no price to value the order: no ${order.side === 'BUY' ? 'ask' : 'bid'} quote and no what-if amount from IB`,
      );
    } else {
      if (fromPrice !== undefined && (whatIf === undefined || fromPrice >= whatIf)) {
        notional = fromPrice;
        notionalBasis =
          fromPrice === byPrice ? `${w!.basis} × ${order.quantity}${mult !== 1 ? ` × ${mult}` : ''}` : 'cash quantity';
      } else {
        notional = whatIf!;
        notionalBasis = "IB's what-if order value";
      }
      const shown = `${round2(notional)} ${ident(acctCcy)}`;
      if (notional > cfg.maxOrderNotional) {
        fail(
          'notional',
          `order value ${shown} (${notionalBasis}) is above --max-order-notional ${cfg.maxOrderNotional}`,
        );
      } else ok('notional', `${shown} ≤ ${cfg.maxOrderNotional} (${notionalBasis})`);
    }
  }

  checks.push(...(input.extraChecks ?? []));
  const failed = checks.filter((c) => c.ran && !c.ok);
  const unrun = checks.filter((c) => !c.ran);
  if (failed.length || unrun.length) {
    const parts: string[] = [];
    if (failed.length) parts.push(`failed: ${failed.map((c) => `${c.name} (${c.detail})`).join('; ')}`);
    if (unrun.length) parts.push(`could not be checked: ${unrun.map((c) => `${c.name} (${c.detail})`).join('; ')}`);
    throw new BrokerError('REFUSED', `Order refused by the safety policy, nothing was sent. ${parts.join('. ')}.`, {
      hint: failed.length
        ? 'Change the order to fit the limits; limits are set by the user when starting the server (--max-order-notional, --max-order-quantity, --max-orders-per-day, --allowed-*).'
        : 'A check that cannot run refuses the order. Retry when market data / account data is available, or use a limit order.',
      details: { checks, failed: failed.map((c) => c.name), notRun: unrun.map((c) => c.name) },
    });
  }
  return { notional, notionalBasis, checks };
}
