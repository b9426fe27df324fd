/**
 * IB's rules for /iserver/marketdata/history (docs/ib/marketdata.md §5.2): period and bar syntax,
 * the step-size table (allowed bar range per period), and the response envelope.
 *
 * Units: IB writes minutes as "min", hours "h", days "d", weeks "w", months "m", years "y".
 * Note that "m" is a MONTH in IB syntax; friendly aliases such as "5 minutes", "1mo" or
 * "daily" are normalised to IB syntax first.
 */

import { BrokerError } from '../../broker/errors.js';
import type { Bar, HistoryResult, VolumeUnit } from '../../broker/types.js';
import { parseAvailability } from './fields.js';

export type Unit = 'min' | 'h' | 'd' | 'w' | 'm' | 'y';

export interface Span {
  n: number;
  unit: Unit;
}

/** Length of each unit in minutes (months = 30 days, years = 365 days). Only used for ordering. */
const UNIT_MINUTES: Record<Unit, number> = { min: 1, h: 60, d: 1440, w: 10080, m: 43200, y: 525600 };

/** Maximum n per period unit. */
const PERIOD_MAX: Record<Unit, number> = { min: 30, h: 8, d: 1000, w: 792, m: 182, y: 15 };

export const BAR_SIZES = [
  '1min',
  '2min',
  '3min',
  '5min',
  '10min',
  '15min',
  '30min',
  '1h',
  '2h',
  '3h',
  '4h',
  '8h',
  '1d',
  '1w',
  '1m',
] as const;
export type BarSize = (typeof BAR_SIZES)[number];

/**
 * Step-size table ([CAMPUS] 56991278922): for a period at least `from` long, bars from
 * `min` to `max`. A period uses the last row whose `from` it reaches.
 */
const STEP_TABLE: ReadonlyArray<{ from: string; min: BarSize; max: BarSize; dflt: BarSize }> = [
  { from: '1min', min: '1min', max: '1min', dflt: '1min' },
  { from: '1h', min: '1min', max: '8h', dflt: '1min' },
  { from: '1d', min: '1min', max: '8h', dflt: '1min' },
  { from: '1w', min: '10min', max: '1w', dflt: '15min' },
  { from: '1m', min: '1h', max: '1m', dflt: '30min' },
  { from: '3m', min: '2h', max: '1m', dflt: '1d' },
  { from: '6m', min: '4h', max: '1m', dflt: '1d' },
  { from: '1y', min: '8h', max: '1m', dflt: '1d' },
  { from: '2y', min: '1d', max: '1m', dflt: '1d' },
  { from: '3y', min: '1d', max: '1m', dflt: '1w' },
  { from: '15y', min: '1w', max: '1m', dflt: '1w' },
];

const UNIT_WORDS: Array<[RegExp, Unit]> = [
  [/^(min|mins|minute|minutes)$/, 'min'],
  [/^(h|hr|hrs|hour|hours)$/, 'h'],
  [/^(d|day|days)$/, 'd'],
  [/^(w|wk|wks|week|weeks)$/, 'w'],
  [/^(m|mo|mos|mon|mons|month|months)$/, 'm'],
  [/^(y|yr|yrs|year|years)$/, 'y'],
];

const WORD_ALIASES: Record<string, string> = {
  minute: '1min',
  minutely: '1min',
  hour: '1h',
  hourly: '1h',
  day: '1d',
  daily: '1d',
  week: '1w',
  weekly: '1w',
  month: '1m',
  monthly: '1m',
  year: '1y',
  yearly: '1y',
  annual: '1y',
};

/** Parses "5min", "5 mins", "1 day", "1mo", "daily", "1M" (capital M = month) … into a span. */
export function parseSpan(text: string): Span | undefined {
  const raw = String(text).trim();
  if (raw === '') return undefined;
  const lower = raw.toLowerCase();
  const word = WORD_ALIASES[lower];
  if (word) return parseSpan(word);
  const m = /^(\d+)\s*([a-zA-Z]+)$/.exec(raw);
  if (!m) return undefined;
  const n = Number(m[1]);
  const u = (m[2] as string).toLowerCase();
  for (const [re, unit] of UNIT_WORDS) if (re.test(u)) return { n, unit };
  return undefined;
}

export function formatSpan(s: Span): string {
  return `${s.n}${s.unit}`;
}

function minutes(s: Span): number {
  return s.n * UNIT_MINUTES[s.unit];
}

function spanOf(ib: string): Span {
  return parseSpan(ib) as Span;
}

function barRange(min: BarSize, max: BarSize): BarSize[] {
  const lo = minutes(spanOf(min));
  const hi = minutes(spanOf(max));
  return BAR_SIZES.filter((b) => {
    const m = minutes(spanOf(b));
    return m >= lo && m <= hi;
  });
}

/** The allowed bars for a (valid) period, and IB's default bar for it. */
export function allowedBars(period: Span): { bars: BarSize[]; defaultBar: BarSize } {
  const pm = minutes(period);
  let row = STEP_TABLE[0] as (typeof STEP_TABLE)[number];
  for (const r of STEP_TABLE) if (pm >= minutes(spanOf(r.from))) row = r;
  return { bars: barRange(row.min, row.max), defaultBar: row.dflt };
}

export interface ValidatedHistoryParams {
  period: string;
  bar: BarSize;
}

const PERIOD_SYNTAX = '1-30min, 1-8h, 1-1000d, 1-792w, 1-182m (months), 1-15y';

/**
 * Validates and normalises a period and a bar. Throws BrokerError INVALID_INPUT naming
 * the allowed values. An empty bar takes IB's default for the period.
 */
export function validateHistoryParams(periodText: string, barText?: string): ValidatedHistoryParams {
  const period = parseSpan(periodText);
  if (!period || period.n < 1 || period.n > PERIOD_MAX[period.unit]) {
    throw new BrokerError('INVALID_INPUT', `Invalid history period "${periodText}".`, {
      hint: `Use a period of ${PERIOD_SYNTAX}, e.g. "1d", "1w", "6m", "1y". Note "m" means months; write "min" for minutes.`,
      details: { period: periodText, allowed: PERIOD_SYNTAX },
    });
  }
  const periodIb = formatSpan(period);
  const { bars, defaultBar } = allowedBars(period);
  if (barText === undefined || String(barText).trim() === '') return { period: periodIb, bar: defaultBar };
  const barSpan = parseSpan(barText);
  const barIb = barSpan ? formatSpan(barSpan) : undefined;
  if (!barIb || !(BAR_SIZES as readonly string[]).includes(barIb)) {
    throw new BrokerError('INVALID_INPUT', `Invalid bar size "${barText}".`, {
      hint: `Bar sizes are ${BAR_SIZES.join(', ')} ("1m" is one month). For period ${periodIb} use one of: ${bars.join(', ')}.`,
      details: { bar: barText, period: periodIb, allowedBars: bars },
    });
  }
  if (!(bars as string[]).includes(barIb)) {
    throw new BrokerError('INVALID_INPUT', `Bar ${barIb} is not allowed for period ${periodIb}.`, {
      hint: `For period ${periodIb} IB allows bars: ${bars.join(', ')} (default ${defaultBar}).`,
      details: { bar: barIb, period: periodIb, allowedBars: bars, defaultBar },
    });
  }
  return { period: periodIb, bar: barIb as BarSize };
}

/** IB caps a history response at this many points. */
export const MAX_HISTORY_POINTS = 1000;

/** Converts an end time (ISO-8601 or epoch ms) into IB's `startTime` (YYYYMMDD-HH:mm:ss UTC). */
export function toIbStartTime(endTime: string | number): string {
  const text = String(endTime).trim();
  const ms = /^\d{10,}$/.test(text) ? Number(text) : Date.parse(text);
  if (!Number.isFinite(ms)) {
    throw new BrokerError('INVALID_INPUT', `Invalid end time "${endTime}".`, {
      hint: 'Give the end time as ISO-8601 (e.g. 2024-05-01T16:00:00Z) or epoch milliseconds.',
    });
  }
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, '0');
  return (
    `${d.getUTCFullYear()}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}-` +
    `${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}`
  );
}

function num(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v === 'string' && v.trim() !== '') {
    const n = Number(v);
    return Number.isFinite(n) ? n : undefined;
  }
  return undefined;
}

/** What the caller knows of the instrument whose bars these are (for the volume unit). */
export interface HistoryInstrument {
  secType?: string;
  /** True for a stock (or ETF) listed in the US. */
  usStock?: boolean;
}

const CONTRACT_TYPES = new Set(['FUT', 'OPT', 'FOP', 'WAR']);

/**
 * The volume rule (docs/ib/marketdata.md "History volume", every sample in
 * test/fixtures/ib/history.ts): a `volumeFactor` above 1 is the divisor IB applied (v × factor);
 * a factor of 1 (or none) on a US stock still carries v in round lots of 100 shares (IB's
 * 2021–2023 answers); for anything else with factor 1 the unit is not established, so v is
 * passed on as reported and says so.
 */
export function volumeScale(
  volumeFactor: number | undefined,
  inst: HistoryInstrument | undefined,
): { factor: number; unit: VolumeUnit } {
  const secType = inst?.secType?.toUpperCase();
  const counted: VolumeUnit =
    inst?.usStock || secType === 'STK' ? 'shares' : secType && CONTRACT_TYPES.has(secType) ? 'contracts' : 'units';
  if (volumeFactor !== undefined && volumeFactor > 1) return { factor: volumeFactor, unit: counted };
  if (inst?.usStock) return { factor: 100, unit: 'shares' };
  if (secType && CONTRACT_TYPES.has(secType)) return { factor: 1, unit: 'contracts' };
  return { factor: 1, unit: 'as reported' };
}

/**
 * Converts IB's history envelope into a HistoryResult.
 * - Bar prices in `data` are already in price units; `priceFactor` only scales the
 *   `high`/`low` summary strings ("21394/…" with factor 100 is 213.94), which we do not use.
 * - Volumes: see volumeScale. A bar without `v` has no volume (undefined), never 0.
 * - `t` is epoch ms (values that look like seconds are converted).
 */
export function parseHistoryResponse(conid: number, body: unknown, inst?: HistoryInstrument): HistoryResult {
  const env = (body && typeof body === 'object' ? body : {}) as Record<string, unknown>;
  const data = Array.isArray(env['data']) ? (env['data'] as unknown[]) : [];
  const { factor, unit } = volumeScale(num(env['volumeFactor']), inst);
  const bars: Bar[] = [];
  for (const item of data) {
    if (!item || typeof item !== 'object') continue;
    const r = item as Record<string, unknown>;
    let t = num(r['t']);
    const o = num(r['o']);
    const h = num(r['h']);
    const l = num(r['l']);
    const c = num(r['c']);
    if (t === undefined || o === undefined || h === undefined || l === undefined || c === undefined) continue;
    if (t < 1e11) t *= 1000;
    const bar: Bar = { t, o, h, l, c };
    const v = num(r['v']);
    if (v !== undefined) bar.v = Number((v * factor).toPrecision(12));
    bars.push(bar);
  }
  bars.sort((a, b) => a.t - b.t);
  const result: HistoryResult = { conid, bars, availability: parseAvailability(env['mdAvailability']) };
  if (typeof env['symbol'] === 'string' && env['symbol'] !== '') result.symbol = env['symbol'];
  if (bars.some((b) => b.v !== undefined)) result.volumeUnit = unit;
  if (bars.length >= MAX_HISTORY_POINTS || (num(env['points']) ?? 0) >= MAX_HISTORY_POINTS) result.truncated = true;
  return result;
}
