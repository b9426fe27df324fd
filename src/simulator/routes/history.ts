/**
 * GET /iserver/marketdata/history: deterministic OHLCV bars from the price model.
 *
 * - period `{1-30}min | {1-8}h | {1-1000}d | {1-792}w | {1-182}m | {1-15}y`; bar one of
 *   1min 2min 3min 5min 10min 15min 30min 1h 2h 3h 4h 8h 1d 1w 1m; the bar must fit the
 *   step-size table of docs/ib/marketdata.md §5.2 (for a period between two table rows the
 *   lower row applies; periods under 1h accept 1min bars up to the period).
 * - Validation errors answer 400 {"error":…, "statusCode":400}; an unknown conid answers
 *   500 {"error":"Chart data unavailable"} (IB's history errors are {"error":…} 500s).
 * - Bars follow the instrument's sessions (US: 09:30–16:00 ET, 04:00–20:00 with
 *   outsideRth), weekdays only, no holidays. `d` periods count sessions, `min`/`h`
 *   count trading time, `w`/`m`/`y` are calendar spans. At most 1000 bars (the most recent).
 * - `t` is epoch ms of the bar start; daily bars start at the session open; `v` is volume/100
 *   (volumeFactor 100). `points` is data.length - 1, as in IB's examples.
 */
import { addDays, formatUtcStamp, type LocalDay, localDay, parseUtcStamp, sessionOf } from '../calendar.js';
import { decimalsFor, roundToTick } from '../prices.js';
import { profileOf, queryBool } from '../profiles.js';
import { HttpError, json, type Router } from '../server.js';
import type { SimState } from '../state.js';
import type { Instrument } from '../universe.js';

export const MAX_POINTS = 1000;

const PERIOD_LIMITS: Record<string, [number, number]> = {
  min: [1, 30],
  h: [1, 8],
  d: [1, 1000],
  w: [1, 792],
  m: [1, 182],
  y: [1, 15],
};
const UNIT_SECONDS: Record<string, number> = { min: 60, h: 3600, d: 86_400, w: 604_800, m: 2_592_000, y: 31_536_000 };

export const BAR_SECONDS: Record<string, number> = {
  '1min': 60,
  '2min': 120,
  '3min': 180,
  '5min': 300,
  '10min': 600,
  '15min': 900,
  '30min': 1800,
  '1h': 3600,
  '2h': 7200,
  '3h': 10_800,
  '4h': 14_400,
  '8h': 28_800,
  '1d': 86_400,
  '1w': 604_800,
  '1m': 2_592_000,
};

/** [period threshold in seconds, smallest bar, largest bar] — docs/ib/marketdata.md §5.2. */
const STEP_TABLE: [number, string, string][] = [
  [60, '1min', '8h'],
  [3600, '1min', '8h'],
  [604_800, '10min', '1w'],
  [2_592_000, '1h', '1m'],
  [7_776_000, '2h', '1m'],
  [15_552_000, '4h', '1m'],
  [31_536_000, '8h', '1m'],
  [63_072_000, '1d', '1m'],
  [473_040_000, '1w', '1m'],
];

export interface Period {
  n: number;
  unit: string;
  seconds: number;
  text: string;
}

const bad = (msg: string) => new HttpError(400, { error: msg, statusCode: 400 });

export function parsePeriod(raw: string): Period {
  const m = /^(\d+)\s*(min|h|d|w|m|y)$/.exec(raw.trim().toLowerCase());
  if (!m) throw bad(`Bad Request: invalid period '${raw}'`);
  const n = Number(m[1]);
  const unit = m[2] as string;
  const [lo, hi] = PERIOD_LIMITS[unit] as [number, number];
  if (n < lo || n > hi) throw bad(`Bad Request: period '${raw}' out of range (${lo}-${hi}${unit})`);
  return { n, unit, seconds: n * (UNIT_SECONDS[unit] as number), text: `${n}${unit}` };
}

export function parseBar(raw: string): string {
  const b = raw.trim().toLowerCase().replace(/\s+/g, '');
  const alias: Record<string, string> = { '1hour': '1h', '1day': '1d', '1week': '1w', '1month': '1m', '1mins': '1min' };
  const norm = alias[b] ?? b;
  if (!(norm in BAR_SECONDS)) throw bad(`Bad Request: invalid bar size '${raw}'`);
  return norm;
}

/** Throws 400 when the bar is not allowed for the period. */
export function checkStepSize(period: Period, bar: string): void {
  let row = STEP_TABLE[0] as [number, string, string];
  for (const r of STEP_TABLE) if (period.seconds >= r[0]) row = r;
  const barS = BAR_SECONDS[bar] as number;
  const min = BAR_SECONDS[row[1]] as number;
  const max = BAR_SECONDS[row[2]] as number;
  if (barS < min || barS > max || barS > Math.max(period.seconds, 60)) {
    throw bad(
      `Bad Request: bar size '${bar}' is not supported for period '${period.text}' (allowed: ${row[1]} to ${row[2]})`,
    );
  }
}

export interface RawBar {
  t: number;
  end: number;
  o: number;
  h: number;
  l: number;
  c: number;
  /** Actual volume (not divided by volumeFactor). */
  vol: number;
}

interface Slot {
  start: number;
  end: number;
  day: LocalDay;
  sessionStart: number;
  sessionEnd: number;
  rth: [number, number] | undefined;
}

export interface HistoryRequest {
  period: Period;
  bar: string;
  outsideRth: boolean;
  /** Anchor: end of data for direction -1, start for direction 1. */
  anchor: number;
  direction: -1 | 1;
  now: number;
}

function calendarCutoff(period: Period, anchor: number, dir: -1 | 1): number | undefined {
  const d = new Date(anchor);
  switch (period.unit) {
    case 'w':
      return anchor + dir * period.n * 7 * 86_400_000;
    case 'm':
      return Date.UTC(
        d.getUTCFullYear(),
        d.getUTCMonth() + dir * period.n,
        d.getUTCDate(),
        d.getUTCHours(),
        d.getUTCMinutes(),
      );
    case 'y':
      return Date.UTC(
        d.getUTCFullYear() + dir * period.n,
        d.getUTCMonth(),
        d.getUTCDate(),
        d.getUTCHours(),
        d.getUTCMinutes(),
      );
    default:
      return undefined;
  }
}

/** Bar intervals of the request in chronological order. */
function slots(inst: Instrument, req: HistoryRequest): Slot[] {
  const { period, bar, outsideRth, anchor, direction: dir, now } = req;
  const barS = BAR_SECONDS[bar] as number;
  const intraday = barS < 86_400;
  const barMs = barS * 1000;
  const cutoff = calendarCutoff(period, anchor, dir);
  const tradingLimitMs = period.unit === 'min' || period.unit === 'h' ? period.seconds * 1000 : undefined;
  const limitEnd = dir === -1 ? Math.min(anchor, now) : now;
  const collected: Slot[] = [];
  let tradingMs = 0;
  let sessions = 0;
  let day = localDay(dir === -1 ? limitEnd : anchor, inst.hours.tz);
  const maxDays = 15 * 366 + 30 + (period.unit === 'd' ? period.n * 2 : 0);
  const capSlots = intraday || bar === '1d' ? MAX_POINTS : Number.POSITIVE_INFINITY;

  outer: for (let i = 0; i < maxDays; i++, day = addDays(day, dir)) {
    const sess = sessionOf(day, inst.hours, outsideRth);
    if (!sess) continue;
    const [s0, s1] = sess;
    if (dir === -1 && s0 >= limitEnd) continue;
    if (dir === 1 && s1 <= anchor) continue;
    if (dir === 1 && s0 >= now) break;
    if (period.unit === 'd' && sessions >= period.n) break;
    if (cutoff !== undefined && (dir === -1 ? s1 <= cutoff : s0 >= cutoff)) break;
    sessions++;
    const rth = sessionOf(day, inst.hours, false);
    const daySlots: Slot[] = [];
    if (intraday) {
      for (let b = s0; b < s1; b += barMs) {
        const e = Math.min(b + barMs, s1);
        if (b >= limitEnd) break;
        if (dir === 1 && b < anchor) continue;
        daySlots.push({ start: b, end: Math.min(e, limitEnd), day, sessionStart: s0, sessionEnd: s1, rth });
      }
    } else {
      daySlots.push({ start: s0, end: Math.min(s1, limitEnd), day, sessionStart: s0, sessionEnd: s1, rth });
    }
    if (dir === -1) daySlots.reverse();
    for (const sl of daySlots) {
      if (tradingLimitMs !== undefined && tradingMs >= tradingLimitMs) break outer;
      if (cutoff !== undefined && (dir === -1 ? sl.start < cutoff : sl.start >= cutoff)) break outer;
      collected.push(sl);
      tradingMs += sl.end - sl.start;
      if (collected.length >= capSlots) break outer;
    }
  }
  if (dir === -1) collected.reverse();
  return collected;
}

function slotBar(state: SimState, inst: Instrument, sl: Slot, daily: boolean): RawBar {
  const prices = state.prices;
  const len = sl.end - sl.start;
  const samples = Math.min(26, Math.max(2, Math.round(len / 5000)));
  const { o, h, l, c } = prices.ohlc(inst, sl.start, sl.end, samples);
  let vol = 0;
  if (inst.avgVolume > 0) {
    const dayVol = inst.avgVolume * prices.dayVolumeFactor(inst, sl.day);
    const rthLen = sl.rth ? sl.rth[1] - sl.rth[0] : sl.sessionEnd - sl.sessionStart;
    const inRth = !sl.rth || (sl.start >= sl.rth[0] && sl.start < sl.rth[1]);
    const x = sl.rth && inRth ? ((sl.start - sl.rth[0]) / Math.max(1, rthLen)) * 2 - 1 : 0;
    const shape = (1 + 0.8 * x * x) / 1.267;
    const jitter = 0.7 + 0.6 * prices.noise(inst, 0x5eed, Math.floor(sl.start / 60_000));
    vol = daily ? dayVol * Math.min(1, len / rthLen) : dayVol * (len / rthLen) * shape * jitter * (inRth ? 1 : 0.05);
  }
  return { t: sl.start, end: sl.end, o, h, l, c, vol: Math.round(vol) };
}

function groupKey(bar: string, day: LocalDay): number {
  if (bar === '1m') return day.year * 100 + day.month;
  // Week key: the Monday of the week.
  const monday = addDays(day, -((day.weekday + 6) % 7));
  return monday.key;
}

/** Generates raw bars (unrounded prices) for a request. */
export function generateBars(state: SimState, inst: Instrument, req: HistoryRequest): RawBar[] {
  const list = slots(inst, req);
  const daily = (BAR_SECONDS[req.bar] as number) >= 86_400;
  if (req.bar !== '1w' && req.bar !== '1m') return list.map((s) => slotBar(state, inst, s, daily));
  const groups: RawBar[] = [];
  let lastKey = -1;
  for (const s of list) {
    const b = slotBar(state, inst, s, true);
    const key = groupKey(req.bar, s.day);
    const g = groups[groups.length - 1];
    if (g && key === lastKey) {
      g.h = Math.max(g.h, b.h);
      g.l = Math.min(g.l, b.l);
      g.c = b.c;
      g.end = b.end;
      g.vol += b.vol;
    } else {
      groups.push({ ...b });
      lastKey = key;
    }
  }
  return req.direction === -1 ? groups.slice(-MAX_POINTS) : groups.slice(0, MAX_POINTS);
}

function roundBar(inst: Instrument, b: RawBar, source: string): { o: number; c: number; h: number; l: number } {
  const tick = inst.tickSize;
  let o: number;
  let c: number;
  let h: number;
  let l: number;
  if (source === 'midpoint') {
    const r = (x: number) => roundToTick(x, tick / 2);
    [o, c, h, l] = [r(b.o), r(b.c), r(b.h), r(b.l)];
  } else if (source === 'bid_ask') {
    const r = (x: number) => roundToTick(x, tick);
    [o, c, h, l] = [r(b.o - tick), r(b.c - tick), r(b.h + tick), r(b.l - tick)];
  } else {
    const r = (x: number) => roundToTick(x, tick);
    [o, c, h, l] = [r(b.o), r(b.c), r(b.h), r(b.l)];
  }
  return { o, c, h: Math.max(o, c, h, l), l: Math.min(o, c, h, l) };
}

const SOURCES: Record<string, string> = {
  trades: 'trades',
  last: 'trades',
  midpoint: 'midpoint',
  bid_ask: 'bid_ask',
  bidask: 'bid_ask',
};

export function register(router: Router, state: SimState): void {
  router.get('/iserver/marketdata/history', async (ctx) => {
    const started = Date.now();
    const q = ctx.query;
    const conidRaw = q.get('conid');
    if (!conidRaw) throw bad('Bad Request: conid is required');
    const conid = Number(conidRaw);
    if (!Number.isInteger(conid) || conid <= 0) throw bad(`Bad Request: invalid conid '${conidRaw}'`);
    const barRaw = q.get('bar');
    if (!barRaw) throw bad('Bad Request: bar is required');
    const period = parsePeriod(q.get('period') ?? '1d');
    const bar = parseBar(barRaw);
    checkStepSize(period, bar);
    const sourceRaw = (q.get('source') ?? 'trades').toLowerCase();
    const source = SOURCES[sourceRaw];
    if (!source) throw bad(`Bad Request: invalid source '${q.get('source')}'`);
    const outsideRth = queryBool(state, q.get('outsideRth'));
    const dirRaw = q.get('direction');
    const direction: -1 | 1 = dirRaw === '1' ? 1 : -1;
    if (dirRaw !== null && dirRaw !== '1' && dirRaw !== '-1') throw bad(`Bad Request: invalid direction '${dirRaw}'`);
    const startRaw = q.get('startTime');
    const now = state.clock.now();
    let anchor = now;
    if (startRaw) {
      const st = parseUtcStamp(startRaw);
      if (st === undefined) throw bad(`Bad Request: invalid startTime '${startRaw}' (expected YYYYMMDD-HH:mm:ss)`);
      anchor = Math.min(st, now);
    } else if (direction === 1) {
      throw bad('Bad Request: direction=1 requires startTime');
    }
    const inst = state.universe.get(conid);
    if (!inst) return json({ error: 'Chart data unavailable' }, 500);

    if (state.faults.historyDelayMs > 0) await new Promise((r) => setTimeout(r, state.faults.historyDelayMs));

    const raw = generateBars(state, inst, { period, bar, outsideRth, anchor, direction, now });
    const decimals = decimalsFor(inst.tickSize);
    const priceFactor = 10 ** decimals;
    const hasVolume = inst.avgVolume > 0 && source === 'trades';
    // Volume in hundreds (volumeFactor 100, [V3]/[CAMPUS]) except the 2026 profile: in shares, factor 1.
    const volumeFactor = profileOf(state) === '2026' ? 1 : 100;
    const data = raw.map((b) => {
      const r = roundBar(inst, b, source);
      return { o: r.o, c: r.c, h: r.h, l: r.l, v: hasVolume ? Math.round(b.vol) / volumeFactor : 0, t: b.t };
    });
    const first = data[0];
    let hi = first;
    let lo = first;
    for (const d of data) {
      if (hi && d.h > hi.h) hi = d;
      if (lo && d.l < lo.l) lo = d;
    }
    const mark = (d: (typeof data)[number] | undefined, price: 'h' | 'l') =>
      d && first ? `${Math.round(d[price] * priceFactor)}/${d.v}/${Math.round((d.t - first.t) / 60_000)}` : '0/0/0';
    state.counters.historyServerId += 1;
    const sess = inst.hours.rth;
    return json({
      serverId: String(state.counters.historyServerId),
      symbol: inst.symbol,
      text: inst.name,
      priceFactor,
      startTime: formatUtcStamp(first ? first.t : anchor),
      high: mark(hi, 'h'),
      low: mark(lo, 'l'),
      timePeriod: period.text,
      barLength: BAR_SECONDS[bar],
      mdAvailability: 'S',
      mktDataDelay: 0,
      outsideRth,
      tradingDayDuration: outsideRth ? inst.hours.eth[1] - inst.hours.eth[0] : sess[1] - sess[0],
      volumeFactor,
      priceDisplayRule: 1,
      priceDisplayValue: String(decimals),
      chartPanStartTime: formatUtcStamp(anchor),
      direction,
      negativeCapable: false,
      messageVersion: 2,
      data,
      points: Math.max(0, data.length - 1),
      travelTime: Date.now() - started,
    });
  });
}
