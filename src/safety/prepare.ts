/**
 * Preparing an order: everything short of sending. The account and its mode come from IB, the
 * live gate and the kill switch are checked, the input is validated, the order is priced (quote
 * and IB's what-if) and every limit is checked. A `Prepared` order is exactly what will be sent.
 */
import type { CallOptions } from '../broker/backend.js';
import { BrokerError } from '../broker/errors.js';
import {
  bracketChildren,
  isOrderType,
  type OrderRequest,
  type TimeInForce,
  type TradingAccounts,
} from '../broker/orders.js';
import { CLIENT_ORDER_ID_RE } from '../broker/patterns.js';
import type { Contract } from '../broker/types.js';
import { ident, idents } from '../broker/untrusted.js';
import { DAY_MS, newClientOrderId, type OrderContext } from './context.js';
import type { TradingMode } from './journal.js';
import { assertNotHalted } from './killswitch.js';
import { bracketOfModify } from './oca.js';
import type { OrderDraft, Prepared } from './outcome.js';
import {
  assertModeAllowed,
  type ConfirmationMode,
  checkLimits,
  confirmationProblem,
  detectMode,
  initialTrailStop,
  type PriceRefs,
} from './policy.js';
import { assertValidOrder, bracketProblems, cashQtyProblems, refuseInvalid } from './validate.js';

const ACCOUNTS_TTL_MS = 60_000;

export interface ModifyArgs {
  accountId?: string | undefined;
  orderId: string;
  quantity?: number | undefined;
  limitPrice?: number | undefined;
  stopPrice?: number | undefined;
  trailingAmount?: number | undefined;
  tif?: TimeInForce | undefined;
}

export class Preparer {
  private accountsCache: { at: number; info: TradingAccounts } | undefined;

  constructor(private readonly ctx: OrderContext) {}

  async accounts(opts: CallOptions = {}, fresh = false): Promise<TradingAccounts> {
    if (!fresh && this.accountsCache && this.ctx.now() - this.accountsCache.at < ACCOUNTS_TTL_MS) {
      return this.accountsCache.info;
    }
    const info = await this.ctx.api.tradingAccounts(opts);
    this.accountsCache = { at: this.ctx.now(), info };
    return info;
  }

  modeOf(accountId: string, info: TradingAccounts): TradingMode {
    return detectMode(accountId, info, this.ctx.simulated);
  }

  /** Picks the account: the one given, else the only one allowed/available. */
  pickAccount(given: string | undefined, info: TradingAccounts): string {
    if (given) {
      const id = given.trim().toUpperCase();
      if (!info.accounts.map((a) => a.toUpperCase()).includes(id)) {
        throw new BrokerError('INVALID_INPUT', `Account ${given} is not one of this session's accounts.`, {
          hint: `Accounts: ${idents(info.accounts) || '(none)'}.`,
        });
      }
      return info.accounts.find((a) => a.toUpperCase() === id)!;
    }
    const allowed = this.ctx.safety.allowedAccounts.length
      ? info.accounts.filter((a) => this.ctx.safety.allowedAccounts.includes(a))
      : info.accounts;
    if (allowed.length === 1) return allowed[0]!;
    if (allowed.length === 0) {
      throw new BrokerError('REFUSED', 'No account of this session may trade.', {
        hint: `Session accounts: ${idents(info.accounts) || '(none)'}; --allowed-accounts: ${this.ctx.safety.allowedAccounts.join(', ') || '(any)'}.`,
      });
    }
    throw new BrokerError('INVALID_INPUT', 'Several accounts can trade; say which one.', {
      hint: `Pass accountId, one of: ${idents(allowed)}.`,
    });
  }

  /** The confirmation this order needs, by configuration and mode. */
  confirmationFor(mode: TradingMode): ConfirmationMode {
    const problem = confirmationProblem(this.ctx.safety, mode);
    if (problem) throw new BrokerError('REFUSED', problem);
    return this.ctx.safety.orderConfirmation;
  }

  /** Everything short of sending: validates, prices, previews and checks limits. Throws REFUSED/INVALID_INPUT. */
  async prepare(draft: OrderDraft, opts: CallOptions = {}, previewOnly = false, whatIf = true): Promise<Prepared> {
    if (!previewOnly) assertNotHalted(this.ctx.home, 'placing');
    const info = await this.accounts(opts);
    const accountId = this.pickAccount(draft.accountId, info);
    const mode = this.modeOf(accountId, info);
    if (!previewOnly) {
      assertModeAllowed(mode, this.ctx.safety, 'placing an order');
      this.confirmationFor(mode);
    }
    const c = draft.contract;
    let quantity = draft.quantity;
    if (draft.cashQty !== undefined) {
      refuseInvalid(cashQtyProblems({ ...draft, secType: c.secType }));
      quantity = await this.cashShares(draft.cashQty, draft.side, c.conid, opts);
    }
    assertValidOrder(
      { ...draft, quantity, secType: c.secType },
      draft.orderType === 'MKT' ? [] : bracketProblems(draft),
    );
    let clientOrderId = draft.clientOrderId?.trim();
    if (clientOrderId !== undefined && !CLIENT_ORDER_ID_RE.test(clientOrderId)) {
      throw new BrokerError('INVALID_INPUT', `clientOrderId "${clientOrderId}" is not valid.`, {
        hint: '4-40 characters: letters, digits, . _ : -',
      });
    }
    clientOrderId ||= newClientOrderId(this.ctx.now());
    const order: OrderRequest = {
      accountId,
      conid: c.conid,
      secType: c.secType,
      symbol: c.symbol,
      side: draft.side,
      orderType: draft.orderType,
      quantity,
      tif: draft.tif,
      outsideRth: draft.outsideRth,
      clientOrderId,
    };
    if (draft.limitPrice !== undefined) order.limitPrice = draft.limitPrice;
    if (draft.stopPrice !== undefined) order.stopPrice = draft.stopPrice;
    if (draft.trailingAmount !== undefined) {
      order.trailingAmount = draft.trailingAmount;
      order.trailingType = draft.trailingType ?? 'amt';
    }
    if (draft.takeProfit !== undefined) order.takeProfit = draft.takeProfit;
    if (draft.stopLoss !== undefined) order.stopLoss = draft.stopLoss;
    if (draft.cashQty !== undefined) order.cashQty = draft.cashQty;
    return this.priceAndCheck({ action: 'place', order, contract: c, mode }, info, opts, true, whatIf);
  }

  /**
   * The shares a cash order is estimated to buy or sell (ask for a buy, bid for a sell, else the
   * last price), down to 0.0001: for the checks and the display; IB sizes the order itself.
   */
  private async cashShares(cash: number, side: 'BUY' | 'SELL', conid: number, opts: CallOptions): Promise<number> {
    const q = await this.quote(conid, opts);
    const px = (side === 'BUY' ? q?.ask : q?.bid) ?? q?.last;
    const shares = px ? Math.floor((cash / px) * 1e4 + 1e-9) / 1e4 : 0;
    if (!(shares > 0)) {
      throw new BrokerError(
        'INVALID_INPUT',
        px
          ? `cashQty ${cash} buys less than 0.0001 share at ${px}; nothing was sent.`
          : 'A cash order needs a market price to be checked against the limits, and IB gave none; nothing was sent.',
        {
          hint: px
            ? 'Give a larger cashQty.'
            : 'Give a quantity of shares instead, or retry when the market is quoted.',
        },
      );
    }
    return shares;
  }

  /** Bid, ask and last for the checks; undefined when IB has none (the checks then say so). */
  private quote(conid: number, opts: CallOptions): Promise<PriceRefs | undefined> {
    return this.ctx.backend
      .snapshot([conid], ['bid', 'ask', 'last'], { ...opts, maxWaitMs: 2500 })
      .then((rows) => {
        const v = rows[0]?.values ?? {};
        const n = (x: unknown) => (typeof x === 'number' && Number.isFinite(x) && x > 0 ? x : undefined);
        return { bid: n(v.bid), ask: n(v.ask), last: n(v.last) };
      })
      .catch((err: unknown) => {
        this.ctx.log.info('order: no quote', { conid, err: (err as Error).message });
        return undefined;
      });
  }

  private async priceAndCheck(
    given: Pick<Prepared, 'action' | 'order' | 'contract' | 'mode' | 'orderId' | 'changes'>,
    info: TradingAccounts,
    opts: CallOptions,
    newOrder: boolean,
    whatIf = true,
  ): Promise<Prepared> {
    let base = given;
    const { contract } = base;
    let order = base.order;
    let quoted: Promise<PriceRefs | undefined> = this.quote(order.conid, opts);
    if (order.orderType === 'TRAIL' && order.stopPrice === undefined) {
      // IB needs the initial stop of a trailing stop: from the quote, before the what-if.
      const q = await quoted;
      const stop = initialTrailStop(order, q);
      if (stop === undefined) {
        throw new BrokerError(
          'INVALID_INPUT',
          'A TRAIL order needs stopPrice (its initial stop): no quote to set it from.',
          {
            hint: 'Pass stopPrice, the price at which the trailing stop starts.',
          },
        );
      }
      order = { ...order, stopPrice: stop };
      base = { ...base, order };
      quoted = Promise.resolve(q);
    }
    if (order.orderType === 'MKT' && (order.takeProfit !== undefined || order.stopLoss !== undefined)) {
      // A market entry's bracket is checked against the last price, when IB has one.
      const q = await quoted;
      assertValidOrder({ ...order }, bracketProblems(order, q?.last));
      quoted = Promise.resolve(q);
    }
    const [quote, preview] = await Promise.all([
      quoted,
      whatIf
        ? this.ctx.api.previewOrder(order, opts).then(
            (p) => ({ preview: p }),
            (err: unknown) => ({ error: err instanceof Error ? err.message : String(err) }),
          )
        : { preview: undefined },
    ]);
    const count = this.ctx.journal.attemptsSince(this.ctx.now() - DAY_MS, {
      accountId: order.accountId,
      mode: base.mode,
    });
    const limits = checkLimits(
      {
        order,
        contract,
        brokerAccounts: info.accounts,
        accountCurrency: info.currencies?.[order.accountId],
        quote,
        preview: 'preview' in preview ? preview.preview : undefined,
        ordersLast24h: newOrder ? count : Math.max(0, count - 1),
      },
      this.ctx.safety,
    );
    const out: Prepared = { ...base, limits };
    if (quote) out.quote = quote;
    if (!('preview' in preview)) out.previewError = preview.error;
    else if (preview.preview) out.preview = preview.preview;
    return out;
  }

  /** A change of a working order, checked as a new order would be. */
  async prepareModify(
    args: ModifyArgs,
    resolveContract: (conid: number) => Promise<Contract>,
    opts: CallOptions = {},
  ): Promise<Prepared> {
    assertNotHalted(this.ctx.home, 'modifying');
    const live = await this.ctx.api.orderStatus(args.orderId, opts);
    const info = await this.accounts(opts);
    const accountId = args.accountId ? this.pickAccount(args.accountId, info) : live.accountId;
    if (live.accountId && accountId !== live.accountId) {
      throw new BrokerError(
        'INVALID_INPUT',
        `Order ${args.orderId} belongs to account ${ident(live.accountId)}, not ${ident(accountId)}.`,
      );
    }
    const mode = this.modeOf(accountId, info);
    assertModeAllowed(mode, this.ctx.safety, 'modifying an order');
    this.confirmationFor(mode);
    if (live.state !== 'working') {
      throw new BrokerError('REFUSED', `Order ${args.orderId} is ${ident(live.status)}; it can no longer be changed.`);
    }
    const changes: Record<string, unknown> = {};
    for (const k of ['quantity', 'limitPrice', 'stopPrice', 'trailingAmount', 'tif'] as const) {
      if (args[k] !== undefined) changes[k] = args[k];
    }
    if (!Object.keys(changes).length) {
      throw new BrokerError('INVALID_INPUT', 'Nothing to change.', {
        hint: 'Pass price, stopPrice, quantity, trailingAmount or tif.',
      });
    }
    const ours =
      this.ctx.journal.byOrderId(live.orderId) ??
      (live.clientOrderId ? this.ctx.journal.get(live.clientOrderId) : undefined);
    // For an order placed elsewhere, IB's answer is the only truth (the journal only records it).
    const prev: Partial<OrderRequest> = ours && !ours.foreign ? ours.order : {};
    const type = prev.orderType ?? (isOrderType(live.orderType) ? live.orderType : undefined);
    if (!type) {
      throw new BrokerError(
        'REFUSED',
        `Order ${args.orderId} has type ${ident(live.orderType)}, which this server cannot modify.`,
      );
    }
    // Fail closed: IB's order without a quantity (or, for a new quantity, without its filled
    // part) cannot be checked, so it is not modified (issue 13).
    const quantity = args.quantity ?? live.quantity;
    if (quantity === undefined || (args.quantity !== undefined && live.filled === undefined)) {
      throw new BrokerError(
        'REFUSED',
        `IB did not send order ${ident(live.orderId)}'s ${quantity === undefined ? 'quantity' : 'filled quantity'}, so the change cannot be checked.`,
        {
          hint: `Check get_order_status {"orderId":"${live.orderId}"} and try again; ${quantity === undefined ? 'pass quantity, or ' : ''}cancel and place anew if it persists.`,
        },
      );
    }
    const contract = await resolveContract(live.conid);
    const order: OrderRequest = {
      accountId,
      conid: live.conid,
      secType: contract.secType,
      symbol: contract.symbol,
      side: live.side,
      orderType: type,
      quantity,
      tif: args.tif ?? ((prev.tif ?? live.tif ?? 'DAY') as TimeInForce),
      outsideRth: prev.outsideRth ?? false,
      clientOrderId: ours?.clientOrderId ?? live.clientOrderId ?? '',
    };
    const limit = args.limitPrice ?? prev.limitPrice ?? live.limitPrice;
    const stop = args.stopPrice ?? prev.stopPrice ?? live.stopPrice;
    if ((type === 'LMT' || type === 'STOP_LIMIT') && limit !== undefined) order.limitPrice = limit;
    if ((type === 'STP' || type === 'STOP_LIMIT' || type === 'TRAIL') && stop !== undefined) order.stopPrice = stop;
    if (type === 'TRAIL') {
      const amt = args.trailingAmount ?? prev.trailingAmount;
      if (amt === undefined) {
        throw new BrokerError(
          'REFUSED',
          `Order ${args.orderId} is a trailing order this server did not place; its trailing amount is unknown.`,
        );
      }
      order.trailingAmount = amt;
      order.trailingType = prev.trailingType ?? 'amt';
    }
    if (args.limitPrice !== undefined && type !== 'LMT' && type !== 'STOP_LIMIT') {
      throw new BrokerError('INVALID_INPUT', `Order ${args.orderId} is ${type}: it has no limit price to change.`);
    }
    if (args.stopPrice !== undefined && type !== 'STP' && type !== 'STOP_LIMIT' && type !== 'TRAIL') {
      throw new BrokerError('INVALID_INPUT', `Order ${args.orderId} is ${type}: it has no stop price to change.`);
    }
    if (live.filled !== undefined && order.quantity < live.filled) {
      throw new BrokerError('INVALID_INPUT', `Quantity ${order.quantity} is below the ${live.filled} already filled.`);
    }
    assertValidOrder({ ...order, secType: contract.secType });
    const ourParent = !!ours && !ours.foreign && bracketChildren(ours.order).length > 0;
    const childChanges = await bracketOfModify(this.ctx, live, order, args, ourParent, opts);
    const p = await this.priceAndCheck(
      { action: 'modify', order, contract, mode, orderId: live.orderId, changes },
      info,
      opts,
      false,
    );
    if (childChanges.length) p.childChanges = childChanges;
    return p;
  }
}
