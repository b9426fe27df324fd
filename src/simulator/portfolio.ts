/**
 * Simulated accounts and their books: positions (signed quantity, average price, realized
 * P&L) and cash by currency. Everything else (market value, unrealized P&L, margin,
 * balances, ledger, allocation, partitioned P&L) is computed on demand from the books and
 * the simulator's current prices, so it is always consistent:
 *
 *   market value      = quantity × price × multiplier   (futures: the notional)
 *   unrealized P&L    = quantity × (price − average price) × multiplier
 *   net liquidation   = cash + value of stocks and options + unrealized P&L of futures
 *
 * Futures move no notional cash (IB settles their P&L to cash); other fills move
 * price × quantity × multiplier. Non-base currencies convert through the simulated FX
 * rates (EUR.USD, GBP.USD, USD.JPY; fixed rates for the rest).
 *
 * The order engine calls `applyFill`; `position`, `cash` and `buyingPower` serve its checks.
 */
import { optionMarkets } from './options.js';
import { unitHash } from './rng.js';
import { defaultQuoteFields } from './routes/marketdata.js';
import type { SimAccount, SimState } from './state.js';
import type { Instrument } from './universe.js';

export interface SimFill {
  accountId: string;
  conid: number;
  side: 'BUY' | 'SELL';
  quantity: number;
  price: number;
  commission: number;
  currency?: string;
}

export interface Holding {
  conid: number;
  /** Signed quantity. */
  qty: number;
  /** Average price per unit (per share, or per underlying unit for derivatives), commissions included. */
  avgPrice: number;
  /** Realized P&L of this position today, in its currency. */
  realized: number;
}

interface Book {
  account: SimAccount;
  margin: boolean;
  cash: Map<string, number>;
  holdings: Map<number, Holding>;
  /** Realized P&L today of positions closed completely, by currency. */
  closedRealized: Map<string, number>;
}

/** One position valued at the current price. */
export interface ValuedPosition {
  inst: Instrument;
  qty: number;
  avgPrice: number;
  /** avgPrice × multiplier. */
  avgCost: number;
  price: number;
  priorClose: number;
  multiplier: number;
  marketValue: number;
  unrealized: number;
  realized: number;
  daily: number;
  currency: string;
  /** Base-currency units per unit of the position's currency. */
  fx: number;
  initMargin: number;
  maintMargin: number;
}

/** Per-currency ledger values (in that currency). */
export interface CurrencyValues {
  currency: string;
  cash: number;
  stockValue: number;
  optionValue: number;
  futurePnl: number;
  unrealized: number;
  realized: number;
  netLiquidation: number;
  /** Base-currency units per unit of this currency. */
  fx: number;
}

/** Everything about an account at one instant, base-currency totals included. */
export interface Valuation {
  account: SimAccount;
  margin: boolean;
  now: number;
  positions: ValuedPosition[];
  currencies: CurrencyValues[];
  base: {
    cash: number;
    stockValue: number;
    optionValue: number;
    futureNotional: number;
    futurePnl: number;
    marketValue: number;
    unrealized: number;
    realized: number;
    daily: number;
    netLiquidation: number;
    grossPositionValue: number;
    initMargin: number;
    maintMargin: number;
    /** Commodities segment (futures) part of the margin. */
    initMarginC: number;
    maintMarginC: number;
    availableFunds: number;
    excessLiquidity: number;
    buyingPower: number;
    dayTradesRemaining: number;
  };
}

/** Fixed USD rates for currencies without an FX instrument in the universe. */
const FIXED_USD_RATE: Record<string, number> = { CAD: 0.725, CHF: 1.245, AUD: 0.655, HKD: 0.1285 };
const FX_CONIDS: Record<string, { conid: number; invert: boolean }> = {
  EUR: { conid: 12087792, invert: false },
  GBP: { conid: 12087797, invert: false },
  JPY: { conid: 15016059, invert: true },
};

/** Stocks left out of the paper account (kept for its short list or simply not held). */
const NOT_HELD = new Set(['BKNG', 'CHTR', 'GOOG', 'MO']);
const SHORTS = new Set(['F', 'INTC', 'PFE', 'T', 'CVS']);

interface OptionPick {
  symbol: string;
  right: 'C' | 'P';
  /** Strike as a fraction of the underlying price. */
  moneyness: number;
  /** Target days to expiry. */
  days: number;
  qty: number;
}

const PAPER_OPTIONS: OptionPick[] = [
  { symbol: 'AAPL', right: 'C', moneyness: 1.05, days: 45, qty: 5 },
  { symbol: 'MSFT', right: 'C', moneyness: 1.08, days: 30, qty: -2 },
  { symbol: 'SPY', right: 'P', moneyness: 0.95, days: 60, qty: 10 },
  { symbol: 'NVDA', right: 'P', moneyness: 0.9, days: 30, qty: -3 },
];

const EUR_OPTIONS: OptionPick[] = [
  { symbol: 'AAPL', right: 'C', moneyness: 1.1, days: 30, qty: -1 },
  { symbol: 'QQQ', right: 'P', moneyness: 0.93, days: 60, qty: 2 },
];

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}

function parsePrice(v: string | number | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = typeof v === 'number' ? v : Number(String(v).replace(/^[CH]/, ''));
  return Number.isFinite(n) ? n : undefined;
}

export class SimPortfolio {
  private books: Map<string, Book> | undefined;

  /** `state` is read lazily, so the portfolio can be created while the state is being built. */
  constructor(private readonly getState: () => SimState) {}

  private get state(): SimState {
    return this.getState();
  }

  /** Back to the initial fixtures (POST /sim/reset {"state":true}). */
  reset(): void {
    this.books = undefined;
  }

  accountIds(): string[] {
    return [...this.ensure().keys()];
  }

  hasAccount(accountId: string): boolean {
    return this.ensure().has(accountId);
  }

  /** Signed quantity held, 0 if none. */
  position(accountId: string, conid: number): number {
    return this.ensure().get(accountId)?.holdings.get(conid)?.qty ?? 0;
  }

  cash(accountId: string, currency: string): number {
    return this.ensure().get(accountId)?.cash.get(currency.toUpperCase()) ?? 0;
  }

  /** Buying power in the account's base currency (margin: 4 × available funds; cash account: cash). */
  buyingPower(accountId: string): number {
    if (!this.ensure().has(accountId)) return 0;
    return this.valuation(accountId).base.buyingPower;
  }

  /** The raw holdings (for order-engine checks and tests). */
  holdings(accountId: string): Holding[] {
    return [...(this.ensure().get(accountId)?.holdings.values() ?? [])].map((h) => ({ ...h }));
  }

  /**
   * Books a fill: position (average price, realized P&L on reductions and flips) and cash in
   * the instrument's currency. Commission is a positive amount charged in the same currency.
   */
  applyFill(fill: SimFill): void {
    const book = this.ensure().get(fill.accountId);
    if (!book) throw new Error(`unknown account ${fill.accountId}`);
    if (!(fill.quantity > 0) || !Number.isFinite(fill.price))
      throw new Error('fill needs a positive quantity and a price');
    const inst = this.instrument(fill.conid);
    if (!inst) throw new Error(`unknown conid ${fill.conid}`);
    const mult = inst.multiplier || 1;
    const currency = (fill.currency ?? inst.currency).toUpperCase();
    const commission = Math.abs(fill.commission || 0);
    const signed = fill.side === 'BUY' ? fill.quantity : -fill.quantity;
    const isFuture = inst.secType === 'FUT';
    const h = book.holdings.get(fill.conid) ?? { conid: fill.conid, qty: 0, avgPrice: 0, realized: 0 };

    let realizedNow = 0;
    let open = signed;
    if (h.qty !== 0 && Math.sign(h.qty) !== Math.sign(signed)) {
      // Reduction (and maybe a flip): realize P&L on the closed part.
      const closing = Math.min(Math.abs(signed), Math.abs(h.qty));
      const closeCommission = commission * (closing / fill.quantity);
      realizedNow = closing * (fill.price - h.avgPrice) * Math.sign(h.qty) * mult - closeCommission;
      h.qty += Math.sign(signed) * closing;
      open = signed + (signed > 0 ? -closing : closing);
      if (h.qty === 0) h.avgPrice = 0;
    }
    if (open !== 0) {
      // Opening or adding: commissions go into the cost basis (up for longs, down for shorts).
      const openCommission = commission * (Math.abs(open) / fill.quantity);
      const unitCost = fill.price + (Math.sign(open) * openCommission) / (Math.abs(open) * mult);
      const newQty = h.qty + open;
      h.avgPrice = (h.qty * h.avgPrice + open * unitCost) / newQty;
      h.qty = newQty;
    }
    h.realized += realizedNow;

    const cash = book.cash.get(currency) ?? 0;
    // Futures: the opening commission sits in the average price and reaches cash with the realized P&L.
    if (isFuture) book.cash.set(currency, cash + realizedNow);
    else book.cash.set(currency, cash - signed * fill.price * mult - commission);

    if (h.qty === 0) {
      book.holdings.delete(fill.conid);
      book.closedRealized.set(currency, (book.closedRealized.get(currency) ?? 0) + h.realized);
    } else {
      book.holdings.set(fill.conid, h);
    }
  }

  /** Units of `to` per unit of `from` at market time `now`. */
  fxRate(from: string, to: string, now = this.state.clock.now()): number {
    if (from === to) return 1;
    return this.usdRate(from, now) / this.usdRate(to, now);
  }

  private usdRate(ccy: string, now: number): number {
    if (ccy === 'USD') return 1;
    const fx = FX_CONIDS[ccy];
    if (fx) {
      const inst = this.state.universe.get(fx.conid);
      if (inst) {
        const p = this.state.prices.mid(inst, now);
        return fx.invert ? 1 / p : p;
      }
    }
    return FIXED_USD_RATE[ccy] ?? 1;
  }

  /** Instrument by conid, generating an option chain when the conid is an option not seen yet. */
  instrument(conid: number): Instrument | undefined {
    return this.state.universe.get(conid) ?? optionMarkets(this.state).lookup(conid);
  }

  /** Last price and prior close as the snapshot shows them. */
  marks(inst: Instrument, now: number): { price: number; priorClose: number } {
    const state = this.state;
    const provider = state.fieldProviders.get(inst.secType) ?? state.fieldProviders.get('*') ?? defaultQuoteFields;
    let price: number | undefined;
    let prior: number | undefined;
    try {
      const f = provider(inst, { state, now, fields: ['31', '7741'] });
      price = parsePrice(f['31']);
      prior = parsePrice(f['7741']);
    } catch {
      // fall through to the model price
    }
    if (price === undefined || price <= 0) {
      price =
        inst.secType === 'OPT' || inst.secType === 'FOP'
          ? round2(optionMarkets(state).theo(inst, now).price)
          : state.prices.last(inst, now);
    }
    return { price, priorClose: prior ?? price };
  }

  /** Values every position and balance of an account at the current market time. */
  valuation(accountId: string): Valuation {
    const book = this.ensure().get(accountId);
    if (!book) throw new Error(`unknown account ${accountId}`);
    const state = this.state;
    const now = state.clock.now();
    const baseCcy = book.account.currency;
    const positions: ValuedPosition[] = [];
    const byCcy = new Map<string, CurrencyValues>();
    const ccyValues = (c: string): CurrencyValues => {
      let v = byCcy.get(c);
      if (!v) {
        v = {
          currency: c,
          cash: 0,
          stockValue: 0,
          optionValue: 0,
          futurePnl: 0,
          unrealized: 0,
          realized: 0,
          netLiquidation: 0,
          fx: this.fxRate(c, baseCcy, now),
        };
        byCcy.set(c, v);
      }
      return v;
    };
    for (const [c, amount] of book.cash) ccyValues(c).cash += amount;
    for (const [c, r] of book.closedRealized) ccyValues(c).realized += r;

    let initC = 0;
    let maintC = 0;
    let init = 0;
    let maint = 0;
    let gross = 0;
    let futureNotional = 0;
    let daily = 0;
    for (const h of book.holdings.values()) {
      const inst = this.instrument(h.conid);
      if (!inst) continue;
      const mult = inst.multiplier || 1;
      const { price, priorClose } = this.marks(inst, now);
      const marketValue = h.qty * price * mult;
      const unrealized = h.qty * (price - h.avgPrice) * mult;
      const cv = ccyValues(inst.currency);
      const fx = cv.fx;
      let im = 0;
      let mm = 0;
      if (inst.secType === 'FUT') {
        im = Math.abs(marketValue) * 0.06;
        mm = Math.abs(marketValue) * 0.05;
        initC += im * fx;
        maintC += mm * fx;
        cv.futurePnl += unrealized;
        futureNotional += marketValue * fx;
      } else if (inst.secType === 'OPT' || inst.secType === 'FOP') {
        cv.optionValue += marketValue;
        gross += Math.abs(marketValue) * fx;
        if (h.qty < 0) {
          const und = state.universe.get(inst.underlyingConid ?? 0);
          const s = und ? this.marks(und, now).price : price;
          im = Math.abs(h.qty) * mult * (price + 0.2 * s);
          mm = im * 0.9;
        }
      } else {
        cv.stockValue += marketValue;
        gross += Math.abs(marketValue) * fx;
        // Reg T-like: 25 % of longs, 30 % of shorts; a cash account has no margin requirement.
        const rate = book.margin ? (h.qty < 0 ? 0.3 : 0.25) : 0;
        im = Math.abs(marketValue) * rate;
        mm = im;
      }
      init += im * fx;
      maint += mm * fx;
      cv.unrealized += unrealized;
      cv.realized += h.realized;
      const dayMove = h.qty * (price - priorClose) * mult;
      daily += dayMove * fx;
      positions.push({
        inst,
        qty: h.qty,
        avgPrice: h.avgPrice,
        avgCost: h.avgPrice * mult,
        price,
        priorClose,
        multiplier: mult,
        marketValue,
        unrealized,
        realized: h.realized,
        daily: dayMove,
        currency: inst.currency,
        fx,
        initMargin: im,
        maintMargin: mm,
      });
    }
    const currencies = [...byCcy.values()].sort((a, b) =>
      a.currency === baseCcy ? -1 : b.currency === baseCcy ? 1 : a.currency.localeCompare(b.currency),
    );
    let cash = 0;
    let stockValue = 0;
    let optionValue = 0;
    let futurePnl = 0;
    let unrealized = 0;
    let realized = 0;
    for (const c of currencies) {
      c.netLiquidation = c.cash + c.stockValue + c.optionValue + c.futurePnl;
      cash += c.cash * c.fx;
      stockValue += c.stockValue * c.fx;
      optionValue += c.optionValue * c.fx;
      futurePnl += c.futurePnl * c.fx;
      unrealized += c.unrealized * c.fx;
      realized += c.realized * c.fx;
    }
    const netLiquidation = cash + stockValue + optionValue + futurePnl;
    daily += realized;
    const availableFunds = netLiquidation - init;
    const excessLiquidity = netLiquidation - maint;
    const buyingPower = book.margin ? Math.max(0, 4 * availableFunds) : Math.max(0, cash);
    return {
      account: book.account,
      margin: book.margin,
      now,
      positions,
      currencies,
      base: {
        cash,
        stockValue,
        optionValue,
        futureNotional,
        futurePnl,
        marketValue: stockValue + optionValue + futureNotional,
        unrealized,
        realized,
        daily,
        netLiquidation,
        grossPositionValue: gross,
        initMargin: init,
        maintMargin: maint,
        initMarginC: initC,
        maintMarginC: maintC,
        availableFunds,
        excessLiquidity,
        buyingPower,
        dayTradesRemaining: netLiquidation >= 25_000 || !book.margin ? -1 : 3,
      },
    };
  }

  // ---------------------------------------------------------------- fixtures

  private ensure(): Map<string, Book> {
    if (!this.books) this.books = this.build();
    return this.books;
  }

  private build(): Map<string, Book> {
    const state = this.state;
    const books = new Map<string, Book>();
    // The accounts of state.ts, in order: DU1234567 (USD), DU7654321 (EUR), DU5550001 (USD, no positions).
    for (const account of state.accounts) {
      books.set(account.id, {
        account,
        margin: account.tradingType !== 'STKCASH',
        cash: new Map(),
        holdings: new Map(),
        closedRealized: new Map(),
      });
    }
    // Books by position in state.accounts: a live login (U…) or another account set has the same books.
    const now = state.clock.now();
    const seed = state.seed;
    const hold = (book: Book | undefined, inst: Instrument | undefined, qty: number) => {
      if (!book || !inst || qty === 0) return;
      const { price } = this.marks(inst, now);
      // Bought some time ago: average price within -30 % … +12 % of today's price (futures: -3 % … +2 %).
      const u = unitHash(seed, inst.conid, hashAccount(book.account.id));
      const f = inst.secType === 'FUT' ? 0.97 + 0.05 * u : 0.7 + 0.42 * u;
      const tick = inst.secType === 'OPT' || inst.secType === 'FOP' ? 0.01 : inst.tickSize;
      const avg = Math.max(tick, Math.round((price * f) / tick) * tick);
      book.holdings.set(inst.conid, { conid: inst.conid, qty, avgPrice: Number(avg.toFixed(4)), realized: 0 });
    };
    const stock = (symbol: string, currency = 'USD') =>
      state.universe.bySymbolExact(symbol).find((i) => i.secType === 'STK' && i.currency === currency);
    const sized = (inst: Instrument | undefined, target: number) => {
      if (!inst) return 0;
      const p = this.marks(inst, now).price;
      return Math.max(1, Math.round(target / p));
    };

    // The paper account: a broad US book (two pages of positions), ETFs, non-US listings,
    // long and short options, an E-mini future, and cash in USD and EUR.
    const paper = books.get(state.accounts[0]?.id ?? '');
    if (paper) {
      paper.cash.set('USD', 250_000);
      paper.cash.set('EUR', 20_000);
      const usStocks = state.universe
        .all()
        .filter((i) => i.secType === 'STK' && i.currency === 'USD' && i.isUS && i.stockType === 'COMMON')
        .filter((i) => !NOT_HELD.has(i.symbol) && !['SHOP', 'ASML', 'SAP'].includes(i.symbol));
      for (const inst of usStocks) {
        const target = 8_000 + 30_000 * unitHash(seed, inst.conid, 11);
        const qty = sized(inst, target);
        hold(paper, inst, SHORTS.has(inst.symbol) ? -qty : qty);
      }
      for (const etf of ['SPY', 'QQQ', 'GLD', 'TLT']) hold(paper, stock(etf), sized(stock(etf), 40_000));
      hold(paper, stock('SAP', 'EUR'), 80);
      hold(paper, stock('SHOP', 'CAD'), 60);
      hold(paper, stock('ASML', 'EUR'), 12);
      for (const o of PAPER_OPTIONS) hold(paper, this.pickOption(o, now), o.qty);
      const es = state.universe.all().find((i) => i.secType === 'FUT' && i.symbol === 'ES' && i.extra?.['frontMonth']);
      hold(paper, es, 2);
    }

    // A margin account in EUR: European and US stocks, an ETF, options, and a USD loan.
    const eur = books.get(state.accounts[1]?.id ?? '');
    if (eur) {
      eur.cash.set('EUR', 85_000);
      eur.cash.set('USD', -12_000);
      hold(eur, stock('SAP', 'EUR'), 150);
      hold(eur, stock('ASML', 'EUR'), 40);
      hold(eur, stock('IBM', 'EUR'), 60);
      hold(eur, stock('AAPL'), 100);
      hold(eur, stock('MSFT'), 40);
      hold(eur, stock('NVDA'), 200);
      hold(eur, stock('SPY'), 30);
      for (const o of EUR_OPTIONS) hold(eur, this.pickOption(o, now), o.qty);
    }

    // A small margin account with no positions (the pattern-day-trader rule applies below 25,000).
    books.get(state.accounts[2]?.id ?? '')?.cash.set('USD', 20_000);
    // An advisor's further client accounts: each its own cash and its own number of AAPL shares,
    // so that an answer with another account's figures is told apart.
    state.accounts.slice(3).forEach((account, i) => {
      const book = books.get(account.id);
      book?.cash.set('USD', 10_000 + 1_000 * i);
      hold(book, stock('AAPL'), 4 + i);
    });
    return books;
  }

  /** The listed option closest to the wanted expiry and strike. */
  private pickOption(pick: OptionPick, now: number): Instrument | undefined {
    const state = this.state;
    const u = state.universe.bySymbolExact(pick.symbol).find((i) => i.secType === 'STK' && i.currency === 'USD');
    if (!u) return undefined;
    const markets = optionMarkets(state);
    if (!markets.isOptionable(u)) return undefined;
    const chain = markets.chain(u);
    const target = now + pick.days * 86_400_000;
    let best: string | undefined;
    let bestDist = Number.POSITIVE_INFINITY;
    for (const e of chain.expiries) {
      const t = Date.UTC(Number(e.slice(0, 4)), Number(e.slice(4, 6)) - 1, Number(e.slice(6, 8)));
      const d = Math.abs(t - target);
      if (d < bestDist) {
        bestDist = d;
        best = e;
      }
    }
    const row = best ? chain.byExpiry.get(best) : undefined;
    if (!row) return undefined;
    const wanted = state.prices.mid(u, now) * pick.moneyness;
    let strike: number | undefined;
    for (const k of row.keys())
      if (strike === undefined || Math.abs(k - wanted) < Math.abs(strike - wanted)) strike = k;
    return strike === undefined ? undefined : row.get(strike)?.[pick.right];
  }
}

function hashAccount(id: string): number {
  let h = 0;
  for (let i = 0; i < id.length; i++) h = (h * 31 + id.charCodeAt(i)) >>> 0;
  return h;
}

/** The simulator's portfolio (one per state). */
export function simPortfolio(state: SimState): SimPortfolio {
  return state.portfolio;
}
