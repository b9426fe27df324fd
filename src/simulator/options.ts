/**
 * Simulated option markets: chains for every optionable instrument (stocks and ETFs, the
 * SPX and VIX indices, and options on the front E-mini S&P 500 future), priced with
 * Black-Scholes (Black-76 for futures options) on the simulated underlying with a
 * volatility smile.
 *
 * - Expirations: the weekly and monthly ones of `optionExpiries` (the same list the
 *   search route publishes); futures options stop at their future's expiry.
 * - Strikes: realistic increments by price level, fine near the money and coarser away
 *   from it, wider for longer expirations.
 * - Conids: `OPT_CONID_BASE + slot * 2^24 + hash(expiry, strike, right)`, where the slot
 *   comes from the underlying's conid, so a conid is the same in every run and an unknown
 *   one can be traced back to its underlying's chain (generated on first use).
 * - Quotes: theoretical value from the underlying's current price, bid/ask around it on
 *   the option tick, deterministic volume and open interest that fall off away from the money.
 */

import { localDay, monthCode, thirdFriday, ymd } from './calendar.js';
import { hashString, unitHash } from './rng.js';
import { type FieldContext, type FieldValues, instrumentFlags, type SimState } from './state.js';
import { type Instrument, optionExpiries } from './universe.js';

// ---------------------------------------------------------------- Black-Scholes

/** Standard normal density. */
export function normPdf(x: number): number {
  return Math.exp(-0.5 * x * x) / Math.sqrt(2 * Math.PI);
}

/** Standard normal CDF, double precision (Hart's rational approximation as given by West, 2005). */
export function normCdf(x: number): number {
  const a = Math.abs(x);
  let c: number;
  if (a > 37) c = 0;
  else {
    const e = Math.exp((-a * a) / 2);
    if (a < 7.07106781186547) {
      let n = 3.52624965998911e-2 * a + 0.700383064443688;
      n = n * a + 6.37396220353165;
      n = n * a + 33.912866078383;
      n = n * a + 112.079291497871;
      n = n * a + 221.213596169931;
      n = n * a + 220.206867912376;
      let d = 8.83883476483184e-2 * a + 1.75566716318264;
      d = d * a + 16.064177579207;
      d = d * a + 86.7807322029461;
      d = d * a + 296.564248779674;
      d = d * a + 637.333633378831;
      d = d * a + 793.826512519948;
      d = d * a + 440.413735824752;
      c = (e * n) / d;
    } else {
      let d = a + 0.65;
      d = a + 4 / d;
      d = a + 3 / d;
      d = a + 2 / d;
      d = a + 1 / d;
      c = e / d / 2.506628274631;
    }
  }
  return x > 0 ? 1 - c : c;
}

export interface BsInput {
  /** Underlying price (spot, or the future's price with q = r for Black-76). */
  S: number;
  K: number;
  /** Years to expiry (> 0). */
  T: number;
  /** Risk-free rate, continuous. */
  r: number;
  /** Dividend yield (or r for a futures option), continuous. */
  q: number;
  /** Volatility, annual fraction. */
  sigma: number;
  right: 'C' | 'P';
}

export interface BsOutput {
  price: number;
  delta: number;
  gamma: number;
  /** Per calendar day, in price units (IB's convention). */
  theta: number;
  /** Per 1 volatility point (1%), in price units. */
  vega: number;
}

export function blackScholes(i: BsInput): BsOutput {
  const { S, K, r, q, right } = i;
  const T = Math.max(i.T, 1e-6);
  const sigma = Math.max(i.sigma, 1e-4);
  const sqrtT = Math.sqrt(T);
  const d1 = (Math.log(S / K) + (r - q + 0.5 * sigma * sigma) * T) / (sigma * sqrtT);
  const d2 = d1 - sigma * sqrtT;
  const dq = Math.exp(-q * T);
  const dr = Math.exp(-r * T);
  const pdf = normPdf(d1);
  const gamma = (dq * pdf) / (S * sigma * sqrtT);
  const vega = (S * dq * pdf * sqrtT) / 100;
  const decay = (-S * dq * pdf * sigma) / (2 * sqrtT);
  if (right === 'C') {
    const nd1 = normCdf(d1);
    const nd2 = normCdf(d2);
    return {
      price: S * dq * nd1 - K * dr * nd2,
      delta: dq * nd1,
      gamma,
      theta: (decay - r * K * dr * nd2 + q * S * dq * nd1) / 365,
      vega,
    };
  }
  const nm1 = normCdf(-d1);
  const nm2 = normCdf(-d2);
  return {
    price: K * dr * nm2 - S * dq * nm1,
    delta: -dq * nm1,
    gamma,
    theta: (decay + r * K * dr * nm2 - q * S * dq * nm1) / 365,
    vega,
  };
}

/**
 * Implied volatility at a strike: the at-the-money level with a skew (out-of-the-money puts
 * dearer) and a smile, in standardised moneyness ln(K/F) / (atmVol * sqrt(T)).
 */
export function smileVol(atmVol: number, forward: number, K: number, T: number): number {
  const m = Math.max(-4, Math.min(4, Math.log(K / forward) / (atmVol * Math.sqrt(Math.max(T, 1e-4)))));
  return atmVol * Math.max(0.5, 1 - 0.1 * m + 0.025 * m * m);
}

export const RISK_FREE = 0.04;

// ---------------------------------------------------------------- strikes

/** Strike increment near the money for an underlying at `price`. */
export function strikeIncrement(price: number, kind: 'stock' | 'etf' | 'index' | 'future'): number {
  if (kind === 'index' || kind === 'future') return price < 100 ? 1 : 5;
  if (kind === 'etf') return price < 25 ? 0.5 : 1;
  if (price < 25) return 0.5;
  if (price < 75) return 1;
  if (price < 200) return 2.5;
  if (price < 500) return 5;
  if (price < 1000) return 10;
  return 25;
}

function nice(x: number): number {
  const p = 10 ** Math.floor(Math.log10(x));
  const f = x / p;
  return (f <= 1 ? 1 : f <= 2.5 ? 2.5 : f <= 5 ? 5 : 10) * p;
}

function roundTo(x: number, step: number): number {
  return Number((Math.round(x / step) * step).toFixed(4));
}

/**
 * Strikes for one expiration: `inner` strikes each side on the base increment, then a
 * coarser grid out to ±`reach` of the price, then a coarser one still.
 */
export function strikeLadder(price: number, inc: number, reach: number, inner = 20): number[] {
  const set = new Set<number>();
  const atm = roundTo(price, inc);
  for (let i = -inner; i <= inner; i++) set.add(roundTo(atm + i * inc, inc));
  const mid = nice(inc * 5 > price * 0.02 ? inc * 2 : inc * 5);
  const far = nice(mid * 2);
  const midReach = Math.min(reach, 0.15) * price;
  for (let k = roundTo(atm, mid); k <= atm + midReach; k += mid) set.add(roundTo(k, mid));
  for (let k = roundTo(atm, mid); k >= atm - midReach; k -= mid) set.add(roundTo(k, mid));
  for (let k = roundTo(atm + midReach, far); k <= atm + reach * price; k += far) set.add(roundTo(k, far));
  for (let k = roundTo(atm - midReach, far); k >= atm - reach * price; k -= far) set.add(roundTo(k, far));
  return [...set].filter((k) => k > 0).sort((a, b) => a - b);
}

// ---------------------------------------------------------------- chains

export const OPT_CONID_BASE = 900_000_000;
const SLOT_BITS = 24;
const SLOTS = 64;

export interface Chain {
  underlying: Instrument;
  secType: 'OPT' | 'FOP';
  /** Exchange for secdef/strikes and secdef/info (SMART, CME). */
  exchange: string;
  multiplier: number;
  /** YYYYMMDD, ascending. */
  expiries: string[];
  /** Options by expiry, then strike, then right. */
  byExpiry: Map<string, Map<number, { C?: Instrument; P?: Instrument }>>;
  /** yyyymmdd key of the day the chain was built for. */
  day: number;
}

const US_OPT_VALID =
  'SMART,AMEX,CBOE,PHLX,PSE,ISE,BOX,BATS,NASDAQOM,CBOE2,NASDAQBX,MIAX,GEMINI,EDGX,MERCURY,PEARL,EMERALD,MEMX,IBUSOPT';
const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];

/** IB's `desc2` / contract text, e.g. "JAN 17 '25 190 Call". */
export function optionText(expiry: string, strike: number, right: 'C' | 'P'): string {
  const m = MONTHS[Number(expiry.slice(4, 6)) - 1];
  return `${m} ${expiry.slice(6, 8)} '${expiry.slice(2, 4)} ${strike} ${right === 'C' ? 'Call' : 'Put'}`;
}

/** OCC-style local symbol: root padded to 6, YYMMDD, C/P, strike × 1000 in 8 digits. */
export function occSymbol(root: string, expiry: string, strike: number, right: 'C' | 'P'): string {
  return `${root.padEnd(6, ' ')}${expiry.slice(2)}${right}${String(Math.round(strike * 1000)).padStart(8, '0')}`;
}

export function conidSlot(underlyingConid: number): number {
  return underlyingConid % SLOTS;
}

function kindOf(u: Instrument): 'stock' | 'etf' | 'index' | 'future' {
  if (u.secType === 'IND') return 'index';
  if (u.secType === 'FUT') return 'future';
  return u.stockType === 'ETF' ? 'etf' : 'stock';
}

function dividendYield(u: Instrument): number {
  if (u.secType === 'FUT') return RISK_FREE;
  if (u.secType === 'IND') return u.symbol === 'VIX' ? 0 : 0.013;
  if (u.stockType === 'ETF') return 0.013;
  return 0.005 + (hashString(u.symbol) % 20) / 1000;
}

/** Annual at-the-money volatility of an underlying, with a mild term structure. */
export function atmVolatility(u: Instrument, T: number): number {
  const base = u.dailyVol * Math.sqrt(252) * 1.05;
  return base * (0.95 + 0.12 * Math.exp(-3 * T));
}

/** Expiry instant: 16:00 New York on the expiry date (UTC approximation good to an hour). */
function expiryMs(expiry: string): number {
  return Date.UTC(Number(expiry.slice(0, 4)), Number(expiry.slice(4, 6)) - 1, Number(expiry.slice(6, 8)), 21, 0, 0);
}

export function yearsTo(expiry: string, now: number): number {
  return Math.max((expiryMs(expiry) - now) / (365 * 86_400_000), 1 / (365 * 24 * 4));
}

export class OptionMarkets {
  private readonly chains = new Map<number, Chain>();
  /** Conids already handed out (for collision probing within the option range). */
  private readonly taken = new Set<number>();

  constructor(private readonly state: SimState) {}

  /** Whether an instrument has options here, and of which kind. */
  isOptionable(u: Instrument): boolean {
    if (!u.optionable) return false;
    return u.secType === 'STK' || u.secType === 'IND' || (u.secType === 'FUT' && u.extra?.['frontMonth'] === true);
  }

  /** The chain's underlying for a conid: the instrument itself, or the family's front future. */
  underlyingFor(conid: number): Instrument | undefined {
    const inst = this.state.universe.get(conid);
    // IB lists futures options under the futures' index conid (ES: 11004968), which has no instrument here.
    if (!inst)
      return this.state.universe
        .all()
        .find((i) => i.secType === 'FUT' && i.underlyingConid === conid && this.isOptionable(i));
    if (this.isOptionable(inst)) return inst;
    if (inst.secType === 'FUT') {
      return this.state.universe.bySymbolExact(inst.symbol).find((i) => i.secType === 'FUT' && this.isOptionable(i));
    }
    return undefined;
  }

  /** Expirations (YYYYMMDD) offered for an underlying. */
  expiriesFor(u: Instrument, now: number): string[] {
    const all = optionExpiries(now);
    if (u.secType !== 'FUT' || !u.expiry) return all;
    const futExp = u.expiry;
    return [...new Set([...all.filter((e) => e <= futExp), futExp])].sort();
  }

  /** The chain of an optionable instrument, built on first use (and again when the day rolls). */
  chain(u: Instrument): Chain {
    const now = this.state.clock.now();
    const day = localDay(now, 'America/New_York').key;
    const have = this.chains.get(u.conid);
    if (have && have.day === day) return have;
    const built = this.build(u, now, day, have);
    this.chains.set(u.conid, built);
    return built;
  }

  private build(u: Instrument, now: number, day: number, prev: Chain | undefined): Chain {
    const secType = u.secType === 'FUT' ? 'FOP' : 'OPT';
    const exchange = u.secType === 'FUT' ? u.listingExchange : 'SMART';
    const multiplier = u.secType === 'FUT' ? u.multiplier : 100;
    const price = this.state.prices.mid(u, now);
    const inc = strikeIncrement(price, kindOf(u));
    const expiries = this.expiriesFor(u, now).filter((e) => Number(e) >= day);
    const byExpiry: Chain['byExpiry'] = new Map();
    const slot = conidSlot(u.conid);
    for (const expiry of expiries) {
      const T = yearsTo(expiry, now);
      const reach = T < 0.1 ? 0.15 : T < 1.1 ? 0.35 : 0.6;
      const strikes = strikeLadder(price, inc, reach, T < 0.1 ? 20 : 15);
      const existing = prev?.byExpiry.get(expiry);
      const row = new Map<number, { C?: Instrument; P?: Instrument }>(existing ?? []);
      for (const strike of strikes) {
        const cell = row.get(strike) ?? {};
        for (const right of ['C', 'P'] as const) {
          if (cell[right]) continue;
          cell[right] = this.makeOption(u, secType, exchange, multiplier, expiry, strike, right, slot);
        }
        row.set(strike, cell);
      }
      byExpiry.set(expiry, new Map([...row.entries()].sort((a, b) => a[0] - b[0])));
    }
    return { underlying: u, secType, exchange, multiplier, expiries, byExpiry, day };
  }

  private conidFor(u: Instrument, expiry: string, strike: number, right: 'C' | 'P', slot: number): number {
    const span = 2 ** SLOT_BITS;
    let off = hashString(`${u.conid}:${expiry}:${strike}:${right}`) % span;
    let conid = OPT_CONID_BASE + slot * span + off;
    while (this.taken.has(conid) || this.state.universe.byConid.has(conid)) {
      off = (off + 1) % span;
      conid = OPT_CONID_BASE + slot * span + off;
    }
    this.taken.add(conid);
    return conid;
  }

  private makeOption(
    u: Instrument,
    secType: 'OPT' | 'FOP',
    exchange: string,
    multiplier: number,
    expiry: string,
    strike: number,
    right: 'C' | 'P',
    slot: number,
  ): Instrument {
    const y = Number(expiry.slice(0, 4));
    const m = Number(expiry.slice(4, 6));
    const monthly = expiry === ymd(y, m, thirdFriday(y, m));
    const root = u.symbol.replace(/\s/g, '');
    const tradingClass =
      u.secType === 'FUT'
        ? expiry === u.expiry
          ? root
          : `${root.slice(0, 1)}W${Math.ceil(Number(expiry.slice(6)) / 7)}`
        : u.symbol === 'SPX' && !monthly
          ? 'SPXW'
          : root;
    const inst: Instrument = {
      conid: this.conidFor(u, expiry, strike, right, slot),
      secType,
      symbol: u.symbol,
      name: u.name,
      exchange,
      listingExchange: exchange === 'SMART' ? (u.secType === 'IND' ? 'CBOE' : 'SMART') : exchange,
      validExchanges: exchange === 'SMART' ? US_OPT_VALID : exchange,
      currency: u.currency,
      countryCode: u.countryCode,
      isUS: u.isUS,
      multiplier,
      tickSize: 0.01,
      optionable: false,
      underlyingConid: u.conid,
      expiry,
      contractMonth: expiry.slice(0, 6),
      strike,
      right,
      tradingClass,
      localSymbol:
        secType === 'OPT'
          ? occSymbol(tradingClass, expiry, strike, right)
          : `${tradingClass} ${monthCode(y, m)} ${strike}${right}`,
      basePrice: 0,
      dailyVol: u.dailyVol,
      pathKey: u.pathKey,
      avgVolume: 0,
      hours: u.hours,
      extra: { text: optionText(expiry, strike, right), monthly },
    };
    this.state.universe.add(inst);
    return inst;
  }

  /**
   * Generates the chains whose conid slot matches an unknown option conid, so a conid from
   * an earlier run resolves without a prior chain request.
   */
  lookup(conid: number): Instrument | undefined {
    const span = 2 ** SLOT_BITS;
    if (conid < OPT_CONID_BASE || conid >= OPT_CONID_BASE + SLOTS * span) return undefined;
    const slot = Math.floor((conid - OPT_CONID_BASE) / span);
    for (const u of [...this.state.universe.byConid.values()]) {
      if (conidSlot(u.conid) !== slot || !this.isOptionable(u) || this.chains.has(u.conid)) continue;
      this.chain(u);
      const hit = this.state.universe.byConid.get(conid);
      if (hit) return hit;
    }
    return undefined;
  }

  /** Theoretical value and greeks of an option at market time `now`. */
  theo(opt: Instrument, now: number): BsOutput & { iv: number; S: number; T: number } {
    const u = this.state.universe.byConid.get(opt.underlyingConid ?? 0);
    if (!u || opt.strike === undefined || !opt.right || !opt.expiry) {
      return { price: 0, delta: 0, gamma: 0, theta: 0, vega: 0, iv: 0, S: 0, T: 0 };
    }
    const flags = instrumentFlags(this.state, u.conid);
    const t = flags.frozen ? (flags.frozenAt ?? now) : flags.halted ? Math.min(now, flags.haltedAt ?? now) : now;
    const S = this.state.prices.mid(u, t);
    const T = yearsTo(opt.expiry, t);
    const q = dividendYield(u);
    const forward = S * Math.exp((RISK_FREE - q) * T);
    const iv = smileVol(atmVolatility(u, T), forward, opt.strike, T);
    return { ...blackScholes({ S, K: opt.strike, T, r: RISK_FREE, q, sigma: iv, right: opt.right }), iv, S, T };
  }

  /** Option tick for a premium: penny below 3, nickel above (indices: 0.05 / 0.10; ES: 0.05 / 0.25). */
  tick(opt: Instrument, price: number): number {
    if (opt.secType === 'FOP') return price < 5 ? 0.05 : 0.25;
    if (opt.symbol === 'SPX') return price < 3 ? 0.05 : 0.1;
    if (['SPY', 'QQQ', 'IWM'].includes(opt.symbol)) return 0.01;
    return price < 3 ? 0.01 : 0.05;
  }

  /** Snapshot field values of an option (IB field codes, strings as on the wire). */
  fields(opt: Instrument, ctx: FieldContext): FieldValues {
    const th = this.theo(opt, ctx.now);
    const tick = this.tick(opt, th.price);
    const dec = tick < 0.01 ? 3 : 2;
    const half = Math.max(tick, Math.round((th.price * 0.012) / tick) * tick);
    const bid = Math.max(0, Math.floor((th.price - half / 2) / tick) * tick);
    const ask = Math.max(tick, Math.ceil((th.price + half / 2) / tick) * tick);
    const u = this.state.universe.byConid.get(opt.underlyingConid ?? 0);
    const sec = Math.floor(ctx.now / 1000);
    const dayN = Math.floor(ctx.now / 86_400_000);
    const seed = this.state.seed;
    // Open interest and volume: bell-shaped around the money, larger for monthlies and liquid names.
    const sd = Math.log((opt.strike ?? 1) / Math.max(th.S, 1e-9)) / Math.max(th.iv * Math.sqrt(th.T), 1e-3);
    const bell = Math.exp(-0.5 * sd * sd);
    const liquidity = u ? Math.max(200, Math.min(60_000, (u.avgVolume || 5_000_000) / 1500)) : 500;
    const monthly = opt.extra?.['monthly'] === true ? 2 : 1;
    const oi = Math.round(liquidity * monthly * (0.05 + bell) * (0.5 + unitHash(seed, opt.conid, 7638)));
    const volume = Math.round(oi * 0.25 * (0.3 + unitHash(seed, opt.conid, dayN, 7762)));
    const lastPrice = Math.max(
      0,
      Math.round((th.price + (unitHash(seed, opt.conid, Math.floor(sec / 30)) - 0.5) * half) / tick) * tick,
    );
    const prior = this.theo(opt, ctx.now - 86_400_000).price;
    const p = (x: number) => x.toFixed(dec);
    const g = (x: number) => String(Number(x.toPrecision(5)));
    const out: FieldValues = {
      '31': p(lastPrice),
      '84': p(bid),
      '86': p(ask),
      '85': String(1 + Math.floor(unitHash(seed, opt.conid, sec, 85) * 50)),
      '88': String(1 + Math.floor(unitHash(seed, opt.conid, sec, 88) * 50)),
      '7059': String(1 + Math.floor(unitHash(seed, opt.conid, sec, 7059) * 10)),
      '87': String(volume),
      '87_raw': volume,
      '7762': String(volume),
      '7089': String(volume),
      '82': p(lastPrice - prior),
      '83': `${prior > 0 ? (((lastPrice - prior) / prior) * 100).toFixed(2) : '0.00'}%`,
      '7741': p(prior),
      '7296': p(prior),
      '7295': p(prior),
      '70': p(Math.max(lastPrice, prior)),
      '71': p(Math.min(lastPrice, prior)),
      '7635': p((bid + ask) / 2),
      '7308': g(th.delta),
      '7309': g(th.gamma),
      '7310': g(th.theta),
      '7311': g(th.vega),
      '7633': `${(th.iv * 100).toFixed(1)}%`,
      '7283': `${(th.iv * 100).toFixed(1)}%`,
      '7638': String(oi),
    };
    return out;
  }
}

/** The simulator's option markets (one per state; created on first use). */
export function optionMarkets(state: SimState): OptionMarkets {
  let m = state.ext.get('options') as OptionMarkets | undefined;
  if (!m) {
    m = new OptionMarkets(state);
    state.ext.set('options', m);
  }
  return m;
}

/** `MMMYY` codes of the chain's expiry months, in order. */
export function chainMonths(chain: Chain): string[] {
  const out: string[] = [];
  for (const e of chain.expiries) {
    const code = monthCode(Number(e.slice(0, 4)), Number(e.slice(4, 6)));
    if (!out.includes(code)) out.push(code);
  }
  return out;
}

/** Parses `MMMYY` into [year, month]; undefined when malformed. */
export function parseMonthCode(s: string): [number, number] | undefined {
  const m = /^([A-Z]{3})(\d{2})$/.exec(s.trim().toUpperCase());
  if (!m) return undefined;
  const month = MONTHS.indexOf(m[1] as string) + 1;
  return month ? [2000 + Number(m[2]), month] : undefined;
}
