/**
 * Pure helpers for options: reading the expiration a user typed, matching it against the
 * expirations a broker lists, and choosing strikes around the money. No I/O.
 *
 * Dates are ISO `YYYY-MM-DD` strings throughout; they compare correctly as strings.
 */

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];

export type ExpirationInput =
  | { kind: 'date'; date: string }
  | {
      kind: 'month';
      year: number;
      month: number /** The third Friday, IB's standard monthly expiry. */;
      monthly: string;
    };

function pad2(n: number): string {
  return String(n).padStart(2, '0');
}

export function isoDate(year: number, month: number, day: number): string {
  return `${year}-${pad2(month)}-${pad2(day)}`;
}

function validDate(year: number, month: number, day: number): boolean {
  if (month < 1 || month > 12 || day < 1 || day > 31) return false;
  const d = new Date(Date.UTC(year, month - 1, day));
  return d.getUTCFullYear() === year && d.getUTCMonth() === month - 1 && d.getUTCDate() === day;
}

/** Day-of-month of the third Friday. */
export function thirdFridayDay(year: number, month: number): number {
  const first = new Date(Date.UTC(year, month - 1, 1)).getUTCDay();
  return 1 + ((5 - first + 7) % 7) + 14;
}

export function thirdFriday(year: number, month: number): string {
  return isoDate(year, month, thirdFridayDay(year, month));
}

/** Two-digit years are 20YY. */
function fullYear(yy: number): number {
  return yy < 100 ? 2000 + yy : yy;
}

/**
 * Parses an expiration as a user or model writes it: `YYYYMMDD`, `YYMMDD`, `YYYY-MM-DD`
 * (also with `/`), or a month: `JAN25`, `JAN2025`, `JAN 25`, `2025-01`, `202501`.
 * Returns undefined when the text is none of these (or not a real date).
 */
export function parseExpiration(text: string): ExpirationInput | undefined {
  const s = text.trim().toUpperCase().replace(/\s+/g, '');
  let m = /^(\d{4})[-/]?(\d{2})[-/]?(\d{2})$/.exec(s);
  if (m && (s.length === 8 || s.length === 10)) {
    const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
    return validDate(y, mo, d) ? { kind: 'date', date: isoDate(y, mo, d) } : undefined;
  }
  m = /^(\d{2})(\d{2})(\d{2})$/.exec(s);
  if (m) {
    const [y, mo, d] = [fullYear(Number(m[1])), Number(m[2]), Number(m[3])];
    return validDate(y, mo, d) ? { kind: 'date', date: isoDate(y, mo, d) } : undefined;
  }
  m = /^([A-Z]{3})'?(\d{2}|\d{4})$/.exec(s);
  if (m) {
    const month = MONTHS.indexOf(m[1] as string) + 1;
    if (month === 0) return undefined;
    const year = fullYear(Number(m[2]));
    return { kind: 'month', year, month, monthly: thirdFriday(year, month) };
  }
  m = /^(\d{4})-?(\d{2})$/.exec(s);
  if (m) {
    const [year, month] = [Number(m[1]), Number(m[2])];
    if (month < 1 || month > 12 || year < 2000) return undefined;
    return { kind: 'month', year, month, monthly: thirdFriday(year, month) };
  }
  return undefined;
}

/** `MMMYY` (IB's month code, e.g. JAN25) of an ISO date or `YYYY-MM`. */
export function monthCodeOf(iso: string): string {
  const year = Number(iso.slice(0, 4));
  const month = Number(iso.slice(5, 7));
  return `${MONTHS[month - 1]}${pad2(year % 100)}`;
}

/** Whole days from `today` to `date` (both ISO dates). */
export function daysBetween(today: string, date: string): number {
  const a = Date.UTC(Number(today.slice(0, 4)), Number(today.slice(5, 7)) - 1, Number(today.slice(8, 10)));
  const b = Date.UTC(Number(date.slice(0, 4)), Number(date.slice(5, 7)) - 1, Number(date.slice(8, 10)));
  return Math.round((b - a) / 86_400_000);
}

export type ExpirationMatch =
  | { ok: true; date: string; note?: string }
  | { ok: false; reason: 'expired' | 'not-listed' | 'no-month'; nearest: string[] };

/** The listed expirations nearest to `date` (at most `n`, sorted by date). */
export function nearestDates(listed: readonly string[], date: string, n = 4): string[] {
  return [...listed]
    .sort((a, b) => Math.abs(daysBetween(date, a)) - Math.abs(daysBetween(date, b)) || (a < b ? -1 : 1))
    .slice(0, n)
    .sort();
}

/**
 * Matches a parsed expiration against the listed ones (sorted ISO dates, none expired).
 * A month picks its standard monthly expiry (third Friday); when that is not listed
 * (a holiday moved it, or only weeklies exist), the listed date of that month nearest to it.
 */
export function matchExpiration(input: ExpirationInput, listed: readonly string[], today: string): ExpirationMatch {
  if (input.kind === 'date') {
    if (listed.includes(input.date)) return { ok: true, date: input.date };
    if (input.date < today) return { ok: false, reason: 'expired', nearest: listed.slice(0, 4) };
    return { ok: false, reason: 'not-listed', nearest: nearestDates(listed, input.date) };
  }
  const prefix = `${input.year}-${pad2(input.month)}`;
  const inMonth = listed.filter((d) => d.startsWith(prefix));
  if (inMonth.length === 0) {
    const expired = `${prefix}-31` < today;
    return { ok: false, reason: expired ? 'expired' : 'no-month', nearest: nearestDates(listed, input.monthly) };
  }
  if (inMonth.includes(input.monthly)) return { ok: true, date: input.monthly, note: 'monthly expiry (third Friday)' };
  const best = nearestDates(inMonth, input.monthly, 1)[0] as string;
  return { ok: true, date: best, note: `listed expiry nearest to the third Friday ${input.monthly}` };
}

// ---------------------------------------------------------------- strikes

/** Index of the strike nearest to `price` in a sorted list (ties: the lower strike). -1 for an empty list. */
export function atmIndex(strikes: readonly number[], price: number): number {
  if (strikes.length === 0) return -1;
  let best = 0;
  for (let i = 1; i < strikes.length; i++) {
    if (Math.abs((strikes[i] as number) - price) < Math.abs((strikes[best] as number) - price)) best = i;
  }
  return best;
}

export interface StrikeSelection {
  strikes: number[];
  /** Listed strikes below / above the selection. */
  below: number;
  above: number;
  atm?: number;
}

/**
 * Chooses `count` strikes centred on the money from a sorted list: the at-the-money strike
 * and the ones around it (half below, half above; shifted when one side runs out).
 * With a band, only strikes within [min, max] are candidates, and `count` still caps them.
 * Without a price the middle of the list stands in for the money.
 */
export function selectStrikes(
  sorted: readonly number[],
  price: number | undefined,
  count: number,
  band?: { min?: number; max?: number },
): StrikeSelection {
  const inBand = sorted.filter(
    (k) => (band?.min === undefined || k >= band.min) && (band?.max === undefined || k <= band.max),
  );
  if (inBand.length === 0) return { strikes: [], below: 0, above: 0 };
  const pivot = price ?? (inBand[Math.floor((inBand.length - 1) / 2)] as number);
  const atm = atmIndex(inBand, pivot);
  const n = Math.max(1, Math.min(count, inBand.length));
  // With an even count, the extra strike goes to the side the price leans to.
  const atmStrike = inBand[atm] as number;
  let lo = atm - Math.floor((n - 1) / 2);
  if (n % 2 === 0 && pivot < atmStrike) lo -= 1;
  lo = Math.max(0, Math.min(lo, inBand.length - n));
  const strikes = inBand.slice(lo, lo + n);
  const first = strikes[0] as number;
  const last = strikes[strikes.length - 1] as number;
  const out: StrikeSelection = {
    strikes,
    below: sorted.filter((k) => k < first).length,
    above: sorted.filter((k) => k > last).length,
  };
  const atmAll = atmIndex(sorted, pivot);
  if (price !== undefined && atmAll >= 0) out.atm = sorted[atmAll] as number;
  return out;
}

/** The listed strikes nearest to `strike` (at most `n`, sorted). */
export function nearestStrikes(sorted: readonly number[], strike: number, n = 6): number[] {
  return [...sorted]
    .sort((a, b) => Math.abs(a - strike) - Math.abs(b - strike) || a - b)
    .slice(0, n)
    .sort((a, b) => a - b);
}

/** Strike equality that tolerates float noise from parsing (190.0 vs 190, 2.5 vs 2.4999999). */
export function sameStrike(a: number, b: number): boolean {
  return Math.abs(a - b) < 1e-6 * Math.max(1, Math.abs(a));
}

/** Reads C/P/CALL/PUT (any case). */
export function parseRight(text: string): 'C' | 'P' | undefined {
  const s = text.trim().toUpperCase();
  if (s === 'C' || s === 'CALL' || s === 'CALLS') return 'C';
  if (s === 'P' || s === 'PUT' || s === 'PUTS') return 'P';
  return undefined;
}
