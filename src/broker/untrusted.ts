/**
 * Outside text: anything IB, the gateway or the simulator wrote (names, descriptions, account
 * titles, IB's messages, questions, warnings and errors, symbols in its answers). The model must
 * read it as data, never as instructions, so every such piece reaches a result through here:
 *
 * - `untrusted(text)` for text shown to the model: «text», cleaned and bounded. The content can
 *   never close the quote: «, » and every character that looks like them become ", and nothing
 *   that can break a line, reorder the display or hide characters survives.
 * - `ident(text)` for identifiers (symbols, account ids, exchanges, statuses): shown bare when it
 *   has the shape of an identifier, else marked like any outside text.
 * - `plain(text)` for structured content: the same cleaning without the marks (JSON quotes it).
 * - `plainDeep(value)` and `safeText(text)`: the last pass over every result (server.ts), so a
 *   control, separator or bidi character cannot reach the model even through a missed field.
 */

/** Opening and closing marks of outside text. */
export const OPEN = '«';
export const CLOSE = '»';

/** Longest outside text shown in a result (code points, marks excluded). */
export const MAX_UNTRUSTED = 500;

// Removed: format characters (bidi embeddings, overrides and isolates, LRM/RLM/ALM, zero-width
// space/joiners, word joiner, BOM, tag characters, soft hyphen), private-use, unassigned and
// lone surrogates.
const INVISIBLE = /[\p{Cf}\p{Co}\p{Cn}\p{Cs}]/gu;
// Made a single space: C0 and C1 controls (tab, CR, LF, NEL, …), line and paragraph separators,
// and every other kind of space.
const BREAKING = /[\p{Cc}\p{Zl}\p{Zp}\p{Zs}]+/gu;
// The marks and their lookalikes: guillemets, angle brackets (CJK, math, ornaments, presentation
// forms, full- and half-width), so that the content cannot appear to close or open a quote.
const MARKS = /[«»‹›〈〉〈〉《》⟨⟩⟪⟫⦑⦒⦓⦔⦕⦖⧼⧽❬❭❮❯❰❱⹂︽︾︿﹀﹤﹥＜＞]/gu;

/** Cleans outside text for structured content: no controls, separators or invisible characters. */
export function plain(text: unknown, max?: number): string {
  const s = (typeof text === 'string' ? text : String(text ?? '')).replace(INVISIBLE, '').replace(BREAKING, ' ').trim();
  return max === undefined ? s : bound(s, max);
}

function bound(s: string, max: number): string {
  if (s.length <= max) return s; // UTF-16 length ≥ code points: the common case costs nothing
  const cps = [...s];
  return cps.length <= max ? s : `${cps.slice(0, Math.max(0, max - 1)).join('')}…`;
}

/**
 * Outside text as the model sees it: «cleaned, bounded text», with exactly one mark at each end.
 * The bound is an option, not a second argument, so that `list.map(untrusted)` does not compile.
 */
export function untrusted(text: unknown, opts: { max?: number } = {}): string {
  return `${OPEN}${bound(plain(text).replace(MARKS, '"'), opts.max ?? MAX_UNTRUSTED)}${CLOSE}`;
}

// A symbol, account id, exchange, currency, status, order type, date or id: one word of letters,
// digits and . _ : / & + -, optionally a short second word ("BRK B"), and at most two words in
// it ("STOP_LIMIT", "EUR.USD"): "IGNORE_ALL_PREVIOUS_INSTRUCTIONS" is a sentence, not an id.
const IDENT = /^[A-Za-z0-9][A-Za-z0-9._:/&+-]{0,39}(?: [A-Za-z0-9]{1,4})?$/;
const WORDS = /(?:^|[^A-Za-z])[A-Za-z]{3,}(?=$|[^A-Za-z0-9])/g;

/** An identifier from outside: bare when it has the shape of one, else marked as outside text. */
export function ident(text: unknown): string {
  const s = typeof text === 'string' ? text : String(text ?? '');
  return s === '' || (IDENT.test(s) && (s.match(WORDS)?.length ?? 0) <= 2) ? s : untrusted(s, { max: 64 });
}

/** Identifiers joined for text (account lists and the like). */
export function idents(list: readonly unknown[], sep = ', '): string {
  return list.map(ident).join(sep);
}

/**
 * The last pass over a whole text rendering: removes invisible characters and turns every control
 * and separator but the line feeds the rendering itself uses into a space.
 */
export function safeText(text: string): string {
  return text.replace(INVISIBLE, '').replace(/(?!\n)[\p{Cc}\p{Zl}\p{Zp}]/gu, ' ');
}

/** `plain` on every string of a JSON-like value (structured content, resource bodies); a new value. */
export function plainDeep<T>(value: T): T {
  return walk(value, 0) as T;
}

function walk(v: unknown, depth: number): unknown {
  if (typeof v === 'string') return cleanString(v);
  if (v === null || typeof v !== 'object' || depth > 64) return v;
  if (Array.isArray(v)) return v.map((x) => walk(x, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) out[k] = walk(x, depth + 1);
  return out;
}

// Structured strings keep their own spacing (no trim or collapse) unless they hold something to clean.
const DIRTY = /[\p{Cf}\p{Co}\p{Cn}\p{Cs}\p{Cc}\p{Zl}\p{Zp}]/u;
function cleanString(s: string): string {
  return DIRTY.test(s) ? s.replace(INVISIBLE, '').replace(/[\p{Cc}\p{Zl}\p{Zp}]/gu, ' ') : s;
}
