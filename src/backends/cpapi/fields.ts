/**
 * IB market-data field codes and the parsers for the strings the gateway sends.
 * Codes checked against IB's published field list (v3 spec; docs/ib/marketdata.md) and,
 * for 7287/7289/7290/7291 which the v3 list omits, against the v1 Swagger spec.
 */

import {
  type FieldValue,
  MARKET_FIELDS,
  type MarketDataAvailability,
  type MarketField,
  type MarketSnapshot,
} from '../../broker/types.js';

/** Field name → IB snapshot field code. */
export const FIELD_CODES: Readonly<Record<MarketField, string>> = Object.freeze({
  last: '31',
  bid: '84',
  ask: '86',
  bidSize: '88',
  askSize: '85',
  lastSize: '7059',
  volume: '7762',
  avgVolume: '7282',
  change: '82',
  changePct: '83',
  open: '7295',
  high: '70',
  low: '71',
  close: '7296',
  priorClose: '7741',
  high52w: '7293',
  low52w: '7294',
  mark: '7635',
  symbol: '55',
  companyName: '7051',
  exchange: '6004',
  listingExchange: '7221',
  secType: '6070',
  industry: '7280',
  category: '7281',
  marketCap: '7289',
  peRatio: '7290',
  eps: '7291',
  dividendYield: '7287',
  impliedVolatility: '7633',
  historicalVolatility: '7087',
  optionImpliedVolatility: '7283',
  putCallRatio: '7285',
  optionVolume: '7089',
  openInterest: '7638',
  delta: '7308',
  gamma: '7309',
  theta: '7310',
  vega: '7311',
  underlyingConid: '6457',
  canBeTraded: '7184',
  shortable: '7644',
});

/** Formatted volume; requested next to 7762 as a fallback (it comes with an `87_raw` companion). */
export const VOLUME_FALLBACK_CODE = '87';
/** Market data availability (R/D/Z/Y/N…). */
export const AVAILABILITY_CODE = '6509';

/** Alternative codes a user may type that mean the same field. */
const CODE_ALIASES: Readonly<Record<string, MarketField>> = Object.freeze({
  '87': 'volume',
  '87_raw': 'volume',
  '7284': 'historicalVolatility',
});

const CODE_TO_FIELD: ReadonlyMap<string, MarketField> = new Map<string, MarketField>([
  ...(Object.entries(FIELD_CODES) as Array<[MarketField, string]>).map(([f, c]) => [c, f] as [string, MarketField]),
  ...(Object.entries(CODE_ALIASES) as Array<[string, MarketField]>),
]);

/** Fields IB sends in round lots for US stocks (market-data field list: 85 ask size, 88 bid size). */
const ROUND_LOT_FIELDS: ReadonlySet<MarketField> = new Set<MarketField>(['bidSize', 'askSize']);
const US_ROUND_LOT = 100;

/** Fields whose values are text. Everything else is parsed as a number (or boolean below). */
const TEXT_FIELDS: ReadonlySet<MarketField> = new Set<MarketField>([
  'symbol',
  'companyName',
  'exchange',
  'listingExchange',
  'secType',
  'industry',
  'category',
  'shortable',
]);

const BOOLEAN_FIELDS: ReadonlySet<MarketField> = new Set<MarketField>(['canBeTraded']);

/** Fields delivered as integers (conids). */
const ID_FIELDS: ReadonlySet<MarketField> = new Set<MarketField>(['underlyingConid']);

/** IB codes to request for these field names (deduplicated, order kept). Volume also asks for 87. */
export function codesForFields(fields: readonly MarketField[]): string[] {
  const out = new Set<string>();
  for (const f of fields) {
    const code = FIELD_CODES[f];
    if (code) out.add(code);
    if (f === 'volume') out.add(VOLUME_FALLBACK_CODE);
  }
  return [...out];
}

/** Translates IB codes a user typed into field names; unknown codes are listed. */
export function fieldsFromCodes(codes: readonly string[]): { fields: MarketField[]; unknown: string[] } {
  const fields: MarketField[] = [];
  const unknown: string[] = [];
  for (const raw of codes) {
    const code = String(raw).trim();
    if (code === '') continue;
    const f = CODE_TO_FIELD.get(code) ?? (isMarketField(code) ? code : undefined);
    if (f) {
      if (!fields.includes(f)) fields.push(f);
    } else if (!unknown.includes(code)) {
      unknown.push(code);
    }
  }
  return { fields, unknown };
}

export function isMarketField(name: string): name is MarketField {
  return (MARKET_FIELDS as readonly string[]).includes(name);
}

const SUFFIX: Record<string, number> = { K: 1e3, M: 1e6, B: 1e9, T: 1e12 };

/**
 * Parses an IB numeric string: "193.18", "0.54%", "12.2M", "1.5K", "1,234", "-3.50".
 * Returns undefined for empty/unparseable values ("", "-", "N/A").
 */
export function parseIbNumber(raw: unknown): number | undefined {
  if (typeof raw === 'number') return Number.isFinite(raw) ? raw : undefined;
  if (typeof raw !== 'string') return undefined;
  let s = raw.trim().replace(/,/g, '');
  if (s === '') return undefined;
  if (s.endsWith('%')) s = s.slice(0, -1).trim();
  let mult = 1;
  const last = s.slice(-1).toUpperCase();
  if (last in SUFFIX && s.length > 1) {
    mult = SUFFIX[last] as number;
    s = s.slice(0, -1).trim();
  }
  if (!/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(s)) return undefined;
  const n = Number(s) * mult;
  if (!Number.isFinite(n)) return undefined;
  // Undo float noise from the multiplier ("12.2M" → 12200000, not 12200000.000000002).
  return mult === 1 ? n : Number(n.toPrecision(12));
}

/** Splits the C (prior close) / H (halted) prefix off field 31. */
export function parseLastPrice(raw: unknown): { value?: number; priorClose: boolean; halted: boolean } {
  if (typeof raw === 'number') return { value: raw, priorClose: false, halted: false };
  if (typeof raw !== 'string') return { priorClose: false, halted: false };
  let s = raw.trim();
  let priorClose = false;
  let halted = false;
  while (s.length > 0) {
    const c = s[0];
    if (c === 'C') priorClose = true;
    else if (c === 'H') halted = true;
    else break;
    s = s.slice(1);
  }
  const value = parseIbNumber(s);
  return value === undefined ? { priorClose, halted } : { value, priorClose, halted };
}

/** Field 6509 (or history mdAvailability) → availability. */
export function parseAvailability(raw: unknown): MarketDataAvailability {
  if (typeof raw !== 'string' || raw.length === 0) return 'unknown';
  switch (raw[0]) {
    case 'R':
    case 'S':
      return 'live';
    case 'D':
      return 'delayed';
    case 'Z':
      return 'frozen';
    case 'Y':
      return 'frozen-delayed';
    case 'N':
      return 'not-subscribed';
    default:
      return 'unknown';
  }
}

/** Parses one field's raw value. Returns undefined when the value is absent/empty. */
export function parseFieldValue(field: MarketField, raw: unknown): FieldValue | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (typeof raw === 'string' && raw.trim() === '') return undefined;
  if (field === 'last') return parseLastPrice(raw).value;
  if (TEXT_FIELDS.has(field)) return typeof raw === 'string' ? raw.trim() : String(raw);
  if (BOOLEAN_FIELDS.has(field)) {
    if (typeof raw === 'boolean') return raw;
    const s = String(raw).trim().toLowerCase();
    if (s === '1' || s === 'true') return true;
    if (s === '0' || s === 'false') return false;
    return undefined;
  }
  if (ID_FIELDS.has(field)) {
    const n = parseIbNumber(raw);
    return n === undefined || n === 0 ? undefined : Math.trunc(n);
  }
  return parseIbNumber(raw);
}

/**
 * Converts one element of a /iserver/marketdata/snapshot response into a MarketSnapshot
 * holding the requested fields that are present. `missing` is not set here.
 */
export function parseSnapshotRow(
  row: Record<string, unknown>,
  fields: readonly MarketField[],
  inst: { usStock?: boolean } = {},
): MarketSnapshot {
  const conid = Number(row['conid']);
  const values: MarketSnapshot['values'] = {};
  const snap: MarketSnapshot = { conid, values, availability: parseAvailability(row[AVAILABILITY_CODE]) };
  for (const f of fields) {
    let v: FieldValue | undefined;
    if (f === 'volume') {
      v = parseFieldValue('volume', row[FIELD_CODES.volume]);
      if (v === undefined) v = parseIbNumber(row['87_raw']);
      if (v === undefined) v = parseIbNumber(row[VOLUME_FALLBACK_CODE]);
    } else {
      v = parseFieldValue(f, row[FIELD_CODES[f]]);
    }
    // IB: bid and ask sizes of US stocks are "divided by 100" (round lots); reported in shares.
    if (inst.usStock && typeof v === 'number' && ROUND_LOT_FIELDS.has(f)) v = v * US_ROUND_LOT;
    if (v !== undefined) values[f] = v;
  }
  const last = row[FIELD_CODES.last];
  if (last !== undefined) {
    const p = parseLastPrice(last);
    if (p.priorClose) snap.lastIsPriorClose = true;
    if (p.halted) snap.halted = true;
  }
  const updated = Number(row['_updated']);
  if (Number.isFinite(updated) && updated > 0) snap.updated = updated;
  return snap;
}

/** True when the row carries a value for this field (used to decide whether to poll again). */
export function rowHasField(row: Record<string, unknown>, field: MarketField): boolean {
  const present = (k: string) => {
    const v = row[k];
    return v !== undefined && v !== null && !(typeof v === 'string' && v.trim() === '');
  };
  if (field === 'volume') return present(FIELD_CODES.volume) || present('87_raw') || present(VOLUME_FALLBACK_CODE);
  return present(FIELD_CODES[field]);
}
