/**
 * Preparing a spread (a combo of option legs, one order at one net price): the same gates as a
 * single order (kill switch, account and mode from IB, live gate), then the legs as a group:
 * every leg an option on the same underlying, in one currency and multiplier, with whole
 * non-zero ratios; the spread's market from its legs' quotes; its payoff at expiration; IB's
 * what-if for the whole combo; and the limits applied to the spread as a whole: its value (net
 * price × quantity × multiplier), its maximum loss (refused when unlimited or unknown), and the
 * contracts of its largest leg. The result is one `Prepared` order, approved and journaled once.
 */
import type { CallOptions } from '../broker/backend.js';
import { BrokerError } from '../broker/errors.js';
import { round2 } from '../broker/numbers.js';
import type { OrderRequest, TimeInForce } from '../broker/orders.js';
import { CLIENT_ORDER_ID_RE } from '../broker/patterns.js';
import { legProblems, type SpreadSummary, spreadPayoff, spreadQuote } from '../broker/spreads.js';
import type { Contract } from '../broker/types.js';
import { ident } from '../broker/untrusted.js';
import { DAY_MS, newClientOrderId, type OrderContext } from './context.js';
import { assertNotHalted } from './killswitch.js';
import type { Prepared } from './outcome.js';
import { assertModeAllowed, type CheckResult, checkLimits, multiplierOf } from './policy.js';
import type { Preparer } from './prepare.js';
import { isMultiple, refuseInvalid } from './validate.js';

/** A spread as the user described it, its legs resolved to contracts. Ratios: + buy, − sell. */
export interface SpreadDraft {
  accountId?: string | undefined;
  shape: string;
  legs: Array<{ contract: Contract; ratio: number }>;
  /** Number of spreads. */
  quantity: number;
  orderType: 'LMT' | 'MKT';
  /** Net per spread: positive a debit (paid), negative a credit (received). */
  limitPrice?: number | undefined;
  tif: TimeInForce;
  outsideRth: boolean;
  clientOrderId?: string | undefined;
}

/** Every reason these legs and fields cannot make a combo order (empty when they can). */
export function spreadProblems(d: SpreadDraft): string[] {
  const p = legProblems(d.legs.map((l) => ({ conid: l.contract.conid, ratio: l.ratio })));
  const first = d.legs[0]?.contract;
  for (const { contract: c } of d.legs) {
    if (c.secType !== 'OPT') p.push(`leg ${c.conid} is ${ident(c.secType)}; spreads take options only.`);
    if (first && c.symbol.toUpperCase() !== first.symbol.toUpperCase()) {
      p.push(`leg ${c.conid} is on ${ident(c.symbol)}, not ${ident(first.symbol)}: all legs need one underlying.`);
    }
    if (first && (c.currency ?? '') !== (first.currency ?? '')) p.push(`leg ${c.conid} trades in another currency.`);
    if (first && multiplierOf(c) !== multiplierOf(first)) p.push(`leg ${c.conid} has another multiplier.`);
  }
  if (!Number.isInteger(d.quantity) || d.quantity <= 0) {
    p.push(`quantity must be a whole number of spreads, got ${d.quantity}.`);
  }
  if (d.orderType === 'LMT') {
    const px = d.limitPrice;
    if (px === undefined) p.push('a LMT spread needs price (net per spread: + debit, − credit).');
    else if (!Number.isFinite(px) || px === 0) p.push(`price must be a non-zero net price, got ${px}.`);
    else if (!isMultiple(Math.abs(px), 0.01)) p.push(`price ${px} is not a multiple of the tick size 0.01.`);
  } else if (d.limitPrice !== undefined) {
    p.push('a market spread takes no price; use orderType LMT to set a net limit.');
  }
  if (d.orderType === 'MKT' && d.outsideRth) p.push('market orders cannot execute outside regular trading hours.');
  if (d.tif !== 'DAY' && d.tif !== 'GTC') p.push(`spreads are sent DAY or GTC, not ${d.tif}.`);
  return p;
}

export class SpreadPreparer {
  constructor(
    private readonly ctx: OrderContext,
    private readonly prep: Preparer,
  ) {}

  /** The legs' bid and ask (undefined each when IB has none; the checks then say so). */
  private async legQuotes(conids: number[], opts: CallOptions): Promise<Map<number, { bid?: number; ask?: number }>> {
    const out = new Map<number, { bid?: number; ask?: number }>();
    const pos = (x: unknown) => (typeof x === 'number' && Number.isFinite(x) && x > 0 ? x : undefined);
    try {
      const rows = await this.ctx.backend.snapshot(conids, ['bid', 'ask'], { ...opts, maxWaitMs: 2500 });
      for (const r of rows) {
        const q: { bid?: number; ask?: number } = {};
        const bid = pos(r.values.bid);
        const ask = pos(r.values.ask);
        if (bid !== undefined) q.bid = bid;
        if (ask !== undefined) q.ask = ask;
        out.set(r.conid, q);
      }
    } catch (err) {
      this.ctx.log.info('spread: no leg quotes', { err: (err as Error).message });
    }
    return out;
  }

  /** Everything short of sending a spread. Throws REFUSED / INVALID_INPUT; nothing is sent. */
  async prepare(d: SpreadDraft, opts: CallOptions = {}, previewOnly = false): Promise<Prepared> {
    if (!previewOnly) assertNotHalted(this.ctx.home, 'placing');
    const info = await this.prep.accounts(opts);
    const accountId = this.prep.pickAccount(d.accountId, info);
    const mode = this.prep.modeOf(accountId, info);
    if (!previewOnly) {
      assertModeAllowed(mode, this.ctx.safety, 'placing an order');
      this.prep.confirmationFor(mode);
    }
    refuseInvalid(spreadProblems(d));
    const clientOrderId = d.clientOrderId?.trim() || newClientOrderId(this.ctx.now());
    if (!CLIENT_ORDER_ID_RE.test(clientOrderId)) {
      throw new BrokerError('INVALID_INPUT', `clientOrderId "${clientOrderId}" is not valid.`, {
        hint: '4-40 characters: letters, digits, . _ : -',
      });
    }
    const first = d.legs[0]!.contract;
    const mult = multiplierOf(first);
    const currency = (first.currency ?? 'USD').toUpperCase();
    const legsText = d.legs
      .map(
        ({ contract: c, ratio }) =>
          `${ratio > 0 ? '+' : ''}${ratio} ${c.expiry ?? '?'} ${c.strike ?? '?'}${c.right ?? ''}`,
      )
      .join(', ');
    const contract: Contract = {
      conid: 0,
      symbol: first.symbol,
      secType: 'OPT',
      currency,
      multiplier: mult,
      name: `${d.shape}: ${legsText}`,
    };
    if (first.exchange) contract.exchange = first.exchange;
    const order: OrderRequest = {
      accountId,
      conid: 0,
      secType: 'OPT',
      symbol: first.symbol,
      side: 'BUY',
      orderType: d.orderType,
      quantity: d.quantity,
      tif: d.tif,
      outsideRth: d.outsideRth,
      clientOrderId,
      combo: { currency, legs: d.legs.map((l) => ({ conid: l.contract.conid, ratio: l.ratio })) },
    };
    if (d.limitPrice !== undefined) order.limitPrice = d.limitPrice;

    const [quotes, preview] = await Promise.all([
      this.legQuotes(
        d.legs.map((l) => l.contract.conid),
        opts,
      ),
      this.ctx.api.previewOrder(order, opts).then(
        (p) => ({ preview: p }),
        (err: unknown) => ({ error: err instanceof Error ? err.message : String(err) }),
      ),
    ]);
    const legs = d.legs.map(({ contract: c, ratio }) => ({
      conid: c.conid,
      ratio,
      expiry: c.expiry,
      strike: c.strike,
      right: c.right,
      ...quotes.get(c.conid),
    }));
    const quote = spreadQuote(legs);
    // The worst net price: the limit (a buy fills at or below it), else the spread's ask.
    const net = d.limitPrice ?? quote.ask;
    const priceBasis = d.limitPrice !== undefined ? 'net limit price' : 'net ask from the legs (estimate)';
    const payable = legs.every((l) => l.expiry !== undefined && l.strike !== undefined && l.right !== undefined);
    const payoff =
      net !== undefined && payable
        ? spreadPayoff(
            legs.map((l) => ({ right: l.right!, strike: l.strike!, expiry: l.expiry!, ratio: l.ratio })),
            net,
            mult,
            d.quantity,
          )
        : undefined;
    const spread: SpreadSummary = { shape: d.shape, legs, quote, priceBasis, payoff };

    const acctCcy = info.currencies?.[accountId]?.toUpperCase();
    const count = this.ctx.journal.attemptsSince(this.ctx.now() - DAY_MS, { accountId, mode });
    const contracts = d.quantity * Math.max(...d.legs.map((l) => Math.abs(l.ratio)));
    const max = this.ctx.safety.maxOrderQuantity;
    const legQuantity: CheckResult =
      contracts > max
        ? {
            name: 'leg-quantity',
            ok: false,
            ran: true,
            detail: `the largest leg has ${contracts} contracts, above --max-order-quantity ${max}`,
          }
        : { name: 'leg-quantity', ok: true, ran: true, detail: `${contracts} ≤ ${max} contracts in the largest leg` };
    const limits = checkLimits(
      {
        order,
        contract,
        brokerAccounts: info.accounts,
        accountCurrency: acctCcy,
        preview: 'preview' in preview ? preview.preview : undefined,
        ordersLast24h: count,
        // The spread's value: its net price (the amount paid or received) per spread.
        valuation: net === undefined || net === 0 ? undefined : { price: Math.abs(net), basis: `${priceBasis} ${net}` },
        extraChecks: [legQuantity, maxLossCheck(spread, currency, acctCcy, this.ctx.safety.maxOrderNotional)],
      },
      this.ctx.safety,
    );
    const out: Prepared = { action: 'place', order, contract, mode, limits, spread };
    if ('preview' in preview) out.preview = preview.preview;
    else out.previewError = preview.error;
    return out;
  }
}

/** The spread's maximum loss against --max-order-notional: unlimited fails, unknown cannot run. */
export function maxLossCheck(
  s: SpreadSummary,
  currency: string,
  accountCurrency: string | undefined,
  max: number,
): CheckResult {
  const name = 'max-loss';
  const cannot = (detail: string): CheckResult => ({ name, ok: false, ran: false, detail });
  const p = s.payoff;
  if (!p) return cannot('no net price to compute the maximum loss from (no limit price and no quotes for every leg)');
  if (p.maxLossUnlimited) {
    return { name, ok: false, ran: true, detail: 'the maximum loss of this spread is unlimited' };
  }
  if (p.maxLoss === undefined) {
    return cannot('the maximum loss of a spread over several expirations is only known for a covered debit calendar');
  }
  if (!accountCurrency) return cannot("the account's base currency could not be read from IB");
  if (accountCurrency !== currency) {
    return cannot(`the spread trades in ${ident(currency)}, the account is in ${ident(accountCurrency)}`);
  }
  const shown = `${round2(p.maxLoss)} ${ident(currency)}`;
  return p.maxLoss > max
    ? { name, ok: false, ran: true, detail: `maximum loss ${shown} is above --max-order-notional ${max}` }
    : { name, ok: true, ran: true, detail: `${shown} ≤ ${max}` };
}
