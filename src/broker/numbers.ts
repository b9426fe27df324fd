/** Rounding of domain amounts: one definition for the tools, the portfolio arithmetic and the renderers. */

/** Cents, without a negative zero. */
export function round2(v: number): number {
  const r = Math.round(v * 100) / 100;
  return Object.is(r, -0) ? 0 : r;
}

/** Four decimals: per-share prices and costs. */
export function round4(v: number): number {
  return Math.round(v * 10_000) / 10_000;
}

/** `digits` decimals, through toFixed (what the option tools show). */
export function roundTo(v: number, digits: number): number {
  return Number(v.toFixed(digits));
}

/** part / whole in percent with one decimal; 0 when whole is 0. */
export function pct(part: number, whole: number): number {
  return whole ? Math.round((part / whole) * 1000) / 10 : 0;
}

/** The product of amounts, or undefined when any is missing (a missing value is never taken as 0). */
export function mul(...xs: (number | undefined)[]): number | undefined {
  let r = 1;
  for (const x of xs) {
    if (x === undefined) return undefined;
    r *= x;
  }
  return r;
}

/** a + b, or undefined when either is missing. */
export function add(a: number | undefined, b: number | undefined): number | undefined {
  return a === undefined || b === undefined ? undefined : a + b;
}

/** round2 that keeps a missing amount missing. */
export function round2u(v: number | undefined): number | undefined {
  return v === undefined ? undefined : round2(v);
}

/** A number for text, or "n/a" when the broker did not send it. */
export function numOrNa(v: number | undefined): string {
  return v === undefined ? 'n/a' : String(v);
}
