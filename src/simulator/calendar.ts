/**
 * Time-zone and trading-calendar helpers (exchange-local sessions, expiries).
 * Weekends are closed; exchange holidays are not modelled.
 */

export const DAY_MS = 86_400_000;
export const MINUTE_MS = 60_000;

export interface ZonedParts {
  year: number;
  month: number; // 1-12
  day: number;
  hour: number;
  minute: number;
  second: number;
  weekday: number; // 0 = Sunday
}

const formatters = new Map<string, Intl.DateTimeFormat>();
const WEEKDAYS: Record<string, number> = { Sun: 0, Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6 };

function formatter(tz: string): Intl.DateTimeFormat {
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: tz,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
      weekday: 'short',
    });
    formatters.set(tz, f);
  }
  return f;
}

export function zonedParts(ms: number, tz: string): ZonedParts {
  const out: ZonedParts = { year: 0, month: 0, day: 0, hour: 0, minute: 0, second: 0, weekday: 0 };
  for (const p of formatter(tz).formatToParts(new Date(ms))) {
    switch (p.type) {
      case 'year':
        out.year = Number(p.value);
        break;
      case 'month':
        out.month = Number(p.value);
        break;
      case 'day':
        out.day = Number(p.value);
        break;
      case 'hour':
        out.hour = Number(p.value) % 24;
        break;
      case 'minute':
        out.minute = Number(p.value);
        break;
      case 'second':
        out.second = Number(p.value);
        break;
      case 'weekday':
        out.weekday = WEEKDAYS[p.value] ?? 0;
        break;
    }
  }
  return out;
}

/** Offset of `tz` from UTC at instant `ms`, in ms (e.g. -4h for New York in summer). */
export function tzOffsetMs(ms: number, tz: string): number {
  const p = zonedParts(ms, tz);
  const asUtc = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second);
  return asUtc - Math.floor(ms / 1000) * 1000;
}

/** UTC instant of a wall-clock time in `tz`. `minuteOfDay` may be 1440 (next midnight). */
export function zonedToUtc(year: number, month: number, day: number, minuteOfDay: number, tz: string): number {
  const guess = Date.UTC(year, month - 1, day, 0, minuteOfDay);
  let result = guess - tzOffsetMs(guess, tz);
  const off2 = tzOffsetMs(result, tz);
  result = guess - off2;
  return result;
}

/** A calendar day (in some zone) identified by its numeric key yyyymmdd. */
export interface LocalDay {
  year: number;
  month: number;
  day: number;
  weekday: number;
  key: number;
}

export function localDay(ms: number, tz: string): LocalDay {
  const p = zonedParts(ms, tz);
  return { year: p.year, month: p.month, day: p.day, weekday: p.weekday, key: p.year * 10000 + p.month * 100 + p.day };
}

/** The local day `n` days after `d` (n may be negative). */
export function addDays(d: LocalDay, n: number): LocalDay {
  const t = Date.UTC(d.year, d.month - 1, d.day + n);
  const dt = new Date(t);
  const year = dt.getUTCFullYear();
  const month = dt.getUTCMonth() + 1;
  const day = dt.getUTCDate();
  return { year, month, day, weekday: dt.getUTCDay(), key: year * 10000 + month * 100 + day };
}

export function isWeekday(d: LocalDay): boolean {
  return d.weekday >= 1 && d.weekday <= 5;
}

/** Start of the local day containing `ms`, as a UTC instant. */
export function startOfLocalDay(ms: number, tz: string): number {
  const d = localDay(ms, tz);
  return zonedToUtc(d.year, d.month, d.day, 0, tz);
}

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];

/** `MMMYY`, e.g. JAN27. */
export function monthCode(year: number, month: number): string {
  return `${MONTHS[month - 1]}${String(year % 100).padStart(2, '0')}`;
}

export function monthName(month: number): string {
  return MONTHS[month - 1] ?? '';
}

/** yyyymmdd string. */
export function ymd(year: number, month: number, day: number): string {
  return `${year}${String(month).padStart(2, '0')}${String(day).padStart(2, '0')}`;
}

/** Day-of-month of the third Friday of a month. */
export function thirdFriday(year: number, month: number): number {
  const firstWeekday = new Date(Date.UTC(year, month - 1, 1)).getUTCDay();
  const firstFriday = 1 + ((5 - firstWeekday + 7) % 7);
  return firstFriday + 14;
}

/** `YYYYMMDD-HH:mm:ss` in UTC (IB's history/startTime format). */
export function formatUtcStamp(ms: number): string {
  const d = new Date(ms);
  const p2 = (n: number) => String(n).padStart(2, '0');
  return `${d.getUTCFullYear()}${p2(d.getUTCMonth() + 1)}${p2(d.getUTCDate())}-${p2(d.getUTCHours())}:${p2(d.getUTCMinutes())}:${p2(d.getUTCSeconds())}`;
}

/** Parses `YYYYMMDD-HH:mm:ss` (UTC); undefined when malformed. */
export function parseUtcStamp(s: string): number | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})-(\d{2}):(\d{2}):(\d{2})$/.exec(s);
  if (!m) return undefined;
  const [y, mo, d, h, mi, se] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 59) return undefined;
  return Date.UTC(y, mo - 1, d, h, mi, se);
}

/** Trading hours of an instrument, in exchange-local minutes of day. */
export interface TradingHours {
  tz: string;
  /** Regular session [open, close). */
  rth: [number, number];
  /** Extended session used when outsideRth is requested. */
  eth: [number, number];
}

export const US_EQUITY_HOURS: TradingHours = { tz: 'America/New_York', rth: [570, 960], eth: [240, 1200] };
export const US_INDEX_HOURS: TradingHours = { tz: 'America/New_York', rth: [570, 960], eth: [570, 975] };
export const CME_EQUITY_FUT_HOURS: TradingHours = { tz: 'America/New_York', rth: [570, 975], eth: [0, 1440] };
export const FX_HOURS: TradingHours = { tz: 'America/New_York', rth: [0, 1440], eth: [0, 1440] };
export const XETRA_HOURS: TradingHours = { tz: 'Europe/Berlin', rth: [540, 1050], eth: [480, 1320] };
export const LSE_HOURS: TradingHours = { tz: 'Europe/London', rth: [480, 990], eth: [480, 990] };
export const TSX_HOURS: TradingHours = { tz: 'America/Toronto', rth: [570, 960], eth: [570, 960] };
export const AEB_HOURS: TradingHours = { tz: 'Europe/Amsterdam', rth: [540, 1050], eth: [540, 1050] };

/** The session [start, end) UTC of a local day; undefined on weekends. */
export function sessionOf(d: LocalDay, hours: TradingHours, outsideRth: boolean): [number, number] | undefined {
  if (!isWeekday(d)) return undefined;
  const [o, c] = outsideRth ? hours.eth : hours.rth;
  const key = `${hours.tz}|${o}|${c}|${d.key}`;
  let s = sessionCache.get(key);
  if (!s) {
    if (sessionCache.size > 200_000) sessionCache.clear();
    s = [zonedToUtc(d.year, d.month, d.day, o, hours.tz), zonedToUtc(d.year, d.month, d.day, c, hours.tz)];
    sessionCache.set(key, s);
  }
  return [s[0], s[1]];
}

const sessionCache = new Map<string, [number, number]>();
