/**
 * Deterministic price paths. The log-price of an instrument is a sum of value-noise
 * layers at time scales from 1 second to 1 year (amplitudes ~ sqrt(scale), i.e. a
 * Brownian-like walk with one step per second). The price at any instant depends only on
 * (seed, pathKey, second), so snapshots and history agree and two simulators with the
 * same seed show the same prices at the same simulated time.
 */
import { addDays, DAY_MS, type LocalDay, localDay, MINUTE_MS, sessionOf, startOfLocalDay } from './calendar.js';
import { hash32, hashString, unitHash } from './rng.js';
import type { Instrument } from './universe.js';

const SCALES_S = [1, 5, 30, 120, 600, 3600, 14_400, 86_400, 432_000, 2_592_000, 7_776_000, 31_536_000];
const LONG_SCALE_CAP = 0.09;
/** The price equals `basePrice` at this instant (late 2026). */
export const PRICE_ANCHOR_MS = Date.UTC(2026, 10, 20, 21, 0, 0);

const TAG_VOL = hashString('volume');
const TAG_SPREAD = hashString('spread');
const TAG_SIZE = hashString('size');

export interface Quote {
  /** Time the quote was computed for (ms). */
  time: number;
  last: number;
  bid: number;
  ask: number;
  bidSize: number;
  askSize: number;
  lastSize: number;
  open: number;
  high: number;
  low: number;
  priorClose: number;
  change: number;
  changePct: number;
  volume: number;
  avgVolume: number;
  high52: number;
  low52: number;
  /** Annualised 30-day historical volatility, as a fraction. */
  histVol: number;
  /** Start of the current (always-open) trading day, ms. */
  sessionStart: number;
}

interface DayCache {
  sessionStart: number;
  upTo: number;
  high: number;
  low: number;
}

interface YearCache {
  dayKey: number;
  high52: number;
  low52: number;
  histVol: number;
  priorClose: number;
}

export function roundToTick(x: number, tick: number): number {
  const r = Math.round(x / tick) * tick;
  return Number(r.toFixed(decimalsFor(tick)));
}

/** Display decimals for a tick size (at least 2). */
export function decimalsFor(tick: number): number {
  const s = String(tick);
  const i = s.indexOf('.');
  const d = i < 0 ? 0 : s.length - i - 1;
  if (s.includes('e-')) return Math.max(2, Number(s.split('e-')[1]));
  return Math.max(2, d);
}

export class PriceModel {
  private readonly anchorX = new Map<string, number>();
  private readonly dayCache = new Map<number, DayCache>();
  private readonly yearCache = new Map<number, YearCache>();

  constructor(readonly seed: number) {}

  private amplitudes(vol: number): number[] {
    return SCALES_S.map((s) => Math.min(1.1 * vol * Math.sqrt(s / 86_400), LONG_SCALE_CAP));
  }

  private x(pathKey: number, vol: number, tMs: number): number {
    const sec = Math.floor(tMs / 1000);
    const amps = this.amplitudes(vol);
    let sum = 0;
    for (let k = 0; k < SCALES_S.length; k++) {
      const s = SCALES_S[k] as number;
      const i = Math.floor(sec / s);
      const frac = (sec - i * s) / s;
      const a = unitHash(this.seed, pathKey, k, i) * 2 - 1;
      const v = frac === 0 ? a : a + (unitHash(this.seed, pathKey, k, i + 1) * 2 - 1 - a) * frac;
      sum += (amps[k] as number) * v;
    }
    return sum;
  }

  /** Unrounded mid price of an instrument at time t (ms). */
  mid(inst: Instrument, tMs: number): number {
    const key = `${inst.pathKey}:${inst.dailyVol}`;
    let ax = this.anchorX.get(key);
    if (ax === undefined) {
      ax = this.x(inst.pathKey, inst.dailyVol, PRICE_ANCHOR_MS);
      this.anchorX.set(key, ax);
    }
    return inst.basePrice * Math.exp(this.x(inst.pathKey, inst.dailyVol, tMs) - ax);
  }

  /** Last-trade price rounded to the tick. */
  last(inst: Instrument, tMs: number): number {
    return roundToTick(this.mid(inst, tMs), inst.tickSize);
  }

  /** Deterministic uniform in [0,1) for an instrument, a tag and an integer slot. */
  noise(inst: Instrument, tag: number, slot: number): number {
    return unitHash(this.seed, inst.pathKey, tag, slot, inst.conid);
  }

  /** Relative volume of a day (0.6 … 1.4 of average). */
  dayVolumeFactor(inst: Instrument, day: LocalDay): number {
    return 0.6 + 0.8 * this.noise(inst, TAG_VOL, day.key);
  }

  /** Start of the always-open trading day containing t: today's RTH open once reached, else local midnight. */
  sessionStart(inst: Instrument, tMs: number): number {
    const day = localDay(tMs, inst.hours.tz);
    const rth = sessionOf(day, inst.hours, false);
    if (rth && tMs >= rth[0]) return rth[0];
    return startOfLocalDay(tMs, inst.hours.tz);
  }

  /** Close of the previous weekday's regular session (prior close). */
  priorCloseTime(inst: Instrument, tMs: number): number {
    let d = addDays(localDay(tMs, inst.hours.tz), -1);
    for (let i = 0; i < 7; i++) {
      const s = sessionOf(d, inst.hours, false);
      if (s) return s[1] - 1000;
      d = addDays(d, -1);
    }
    return tMs - DAY_MS;
  }

  private dayRange(inst: Instrument, sessionStart: number, tMs: number): { high: number; low: number } {
    let c = this.dayCache.get(inst.conid);
    if (!c || c.sessionStart !== sessionStart || c.upTo > tMs) {
      const p = this.mid(inst, sessionStart);
      c = { sessionStart, upTo: sessionStart, high: p, low: p };
      this.dayCache.set(inst.conid, c);
    }
    for (let t = c.upTo + MINUTE_MS; t <= tMs; t += MINUTE_MS) {
      const p = this.mid(inst, t);
      if (p > c.high) c.high = p;
      if (p < c.low) c.low = p;
      c.upTo = t;
    }
    const now = this.mid(inst, tMs);
    return { high: Math.max(c.high, now), low: Math.min(c.low, now) };
  }

  private yearStats(inst: Instrument, tMs: number): YearCache {
    const today = localDay(tMs, inst.hours.tz);
    const cached = this.yearCache.get(inst.conid);
    if (cached && cached.dayKey === today.key) return cached;
    const closes: number[] = [];
    let d = addDays(today, -1);
    let hi = Number.NEGATIVE_INFINITY;
    let lo = Number.POSITIVE_INFINITY;
    for (let i = 0; i < 366; i++) {
      const s = sessionOf(d, inst.hours, false);
      if (s) {
        const c = this.mid(inst, s[1] - 1000);
        const o = this.mid(inst, s[0]);
        closes.push(c);
        hi = Math.max(hi, c, o);
        lo = Math.min(lo, c, o);
      }
      d = addDays(d, -1);
    }
    const rets: number[] = [];
    for (let i = 0; i < Math.min(30, closes.length - 1); i++) {
      rets.push(Math.log((closes[i] as number) / (closes[i + 1] as number)));
    }
    const mean = rets.reduce((a, b) => a + b, 0) / Math.max(1, rets.length);
    const variance = rets.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, rets.length - 1);
    const y: YearCache = {
      dayKey: today.key,
      high52: hi,
      low52: lo,
      histVol: Math.sqrt(variance * 252),
      priorClose: this.mid(inst, this.priorCloseTime(inst, tMs)),
    };
    this.yearCache.set(inst.conid, y);
    return y;
  }

  /** Full top-of-book quote and day statistics at time t. */
  quote(inst: Instrument, tMs: number): Quote {
    const tick = inst.tickSize;
    const sec = Math.floor(tMs / 1000);
    const last = this.last(inst, tMs);
    const sessionStart = this.sessionStart(inst, tMs);
    const range = this.dayRange(inst, sessionStart, tMs);
    const year = this.yearStats(inst, tMs);
    const maxSpread = inst.secType === 'STK' ? (last < 50 ? 1 : last < 250 ? 2 : 4) : inst.secType === 'CASH' ? 2 : 1;
    const bidTicks = 1 + Math.floor(this.noise(inst, TAG_SPREAD, sec) * maxSpread);
    const askTicks = 1 + Math.floor(this.noise(inst, TAG_SPREAD + 1, sec) * maxSpread);
    const bid = roundToTick(last - bidTicks * tick, tick);
    const ask = roundToTick(last + askTicks * tick, tick);
    const lot = inst.secType === 'STK' ? 100 : inst.secType === 'CASH' ? 1_000_000 : 1;
    const sizeMax = inst.secType === 'FUT' ? 60 : inst.secType === 'CASH' ? 10 : 20;
    const bidSize = lot * (1 + Math.floor(this.noise(inst, TAG_SIZE, sec) * sizeMax));
    const askSize = lot * (1 + Math.floor(this.noise(inst, TAG_SIZE + 1, sec) * sizeMax));
    const lastSize = (inst.secType === 'STK' ? 100 : 1) * (1 + Math.floor(this.noise(inst, TAG_SIZE + 2, sec) * 5));
    const day = localDay(tMs, inst.hours.tz);
    const elapsed = Math.max(0, tMs - sessionStart);
    const frac = Math.min(1.25, elapsed / (6.5 * 3_600_000));
    const volume =
      inst.avgVolume > 0
        ? Math.round((inst.avgVolume * this.dayVolumeFactor(inst, day) * frac) / lot) * lot +
          (elapsed > 0 ? lastSize : 0)
        : 0;
    const priorClose = roundToTick(year.priorClose, tick);
    const open = roundToTick(this.mid(inst, sessionStart), tick);
    const high = Math.max(roundToTick(range.high, tick), last, open);
    const low = Math.min(roundToTick(range.low, tick), last, open);
    const change = roundToTick(last - priorClose, tick);
    return {
      time: tMs,
      last,
      bid,
      ask,
      bidSize,
      askSize,
      lastSize,
      open,
      high,
      low,
      priorClose,
      change,
      changePct: priorClose ? ((last - priorClose) / priorClose) * 100 : 0,
      volume,
      avgVolume: inst.avgVolume,
      high52: Math.max(roundToTick(year.high52, tick), high),
      low52: Math.min(roundToTick(year.low52, tick), low),
      histVol: year.histVol,
      sessionStart,
    };
  }

  /** Open/high/low/close of the mid path over [from, to), sampled `samples` times. */
  ohlc(inst: Instrument, from: number, to: number, samples: number): { o: number; h: number; l: number; c: number } {
    const o = this.mid(inst, from);
    let h = o;
    let l = o;
    let c = o;
    const n = Math.max(1, samples);
    const span = Math.max(1000, to - from);
    for (let i = 1; i <= n; i++) {
      const t = i === n ? from + span - 1000 : from + Math.floor((span * i) / n);
      const p = this.mid(inst, t);
      if (p > h) h = p;
      if (p < l) l = p;
      c = p;
    }
    return { o, h, l, c };
  }

  /** Stable seed-dependent hash helper for other modules. */
  hash(...parts: number[]): number {
    return hash32(this.seed, ...parts);
  }

  /** Drops caches (after a clock jump backwards). */
  clearCaches(): void {
    this.dayCache.clear();
    this.yearCache.clear();
  }
}
