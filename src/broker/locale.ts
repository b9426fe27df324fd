/**
 * What this server would otherwise ask Intl for, without Intl: wall-clock time in the three places
 * IB's sessions and US options care about (New York, Zug, Hong Kong), number grouping for text and
 * ordering of ASCII codes (symbols, currencies). Intl's time zones and locale data are
 * ICU tables read from the Node binary: the first use makes ~6 MB of them resident for the rest of
 * the process, which is a sizeable share of this server's memory. The rules here are fixed by law
 * (US since 2007, EU since 1996, Hong Kong has no daylight saving) and the unit tests hold them
 * against Intl over years of instants.
 */

export type Zone = 'America/New_York' | 'Europe/Zurich' | 'Asia/Hong_Kong';

const HOUR = 3_600_000;

/** UTC instant of 00:00 UTC on the n-th (1-based; -1 = last) Sunday of a month. */
function sunday(year: number, month: number, n: number): number {
  if (n > 0) {
    const first = new Date(Date.UTC(year, month, 1)).getUTCDay();
    return Date.UTC(year, month, 1 + ((7 - first) % 7) + (n - 1) * 7);
  }
  const lastDay = new Date(Date.UTC(year, month + 1, 0));
  return Date.UTC(year, month, lastDay.getUTCDate() - lastDay.getUTCDay());
}

/** Offset from UTC, in milliseconds, of a zone at an instant. */
export function zoneOffset(zone: Zone, at: number): number {
  const year = new Date(at).getUTCFullYear();
  switch (zone) {
    case 'America/New_York': {
      // EDT from the second Sunday of March, 02:00 EST (07:00 UTC), to the first Sunday of
      // November, 02:00 EDT (06:00 UTC).
      const start = sunday(year, 2, 2) + 7 * HOUR;
      const end = sunday(year, 10, 1) + 6 * HOUR;
      return at >= start && at < end ? -4 * HOUR : -5 * HOUR;
    }
    case 'Europe/Zurich': {
      // CEST from the last Sunday of March to the last Sunday of October, both at 01:00 UTC.
      const start = sunday(year, 2, -1) + HOUR;
      const end = sunday(year, 9, -1) + HOUR;
      return at >= start && at < end ? 2 * HOUR : HOUR;
    }
    case 'Asia/Hong_Kong':
      return 8 * HOUR;
  }
}

/** The wall clock of a zone at an instant: ISO date, hour and minute. */
export function wallClock(zone: Zone, at: number): { date: string; hour: number; minute: number } {
  const d = new Date(at + zoneOffset(zone, at));
  return { date: d.toISOString().slice(0, 10), hour: d.getUTCHours(), minute: d.getUTCMinutes() };
}

/** Today in New York (where US options expire), as an ISO date. */
export function todayNewYork(now = Date.now()): string {
  return wallClock('America/New_York', now).date;
}

/**
 * A number for text with thousands grouped and at most `maxDigits` decimals, trailing zeros
 * dropped unless `minDigits` asks for them: 1234567.891 → "1,234,567.89".
 */
export function grouped(v: number, maxDigits = 2, minDigits = 0): string {
  if (!Number.isFinite(v)) return String(v);
  const fixed = Math.abs(v).toFixed(maxDigits);
  let [int = '0', frac = ''] = fixed.split('.');
  while (frac.length > minDigits && frac.endsWith('0')) frac = frac.slice(0, -1);
  int = int.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  const sign = v < 0 && Number(fixed) !== 0 ? '-' : '';
  return `${sign}${int}${frac ? `.${frac}` : ''}`;
}

/** Orders plain codes (tickers, ISO currencies) by their characters, as sort() wants. */
export function byCode(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
