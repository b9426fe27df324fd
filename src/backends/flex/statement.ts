/**
 * Flex Web Service answers into domain rows. Two shapes come back (docs/ib/flex.md):
 * the envelope `<FlexStatementResponse>` (SendRequest's reference code, or an error code and
 * message from either call), and the statement `<FlexQueryResponse>` with one `<FlexStatement>`
 * per account, its sections as elements whose data are attributes. Values are text; a missing or
 * empty one stays missing (never 0). Dates come as 20230105, 2023-01-05, 01/05/2023 or with a time
 * after ";" or "," (the query's format settings): all become YYYY-MM-DD.
 */
import type {
  Statement,
  StatementAccount,
  StatementCash,
  StatementNav,
  StatementPerformance,
  StatementPosition,
  StatementTrade,
} from '../../broker/statements.js';
import { child, descendants, parseXml, type XmlElement } from './xml.js';

export interface FlexEnvelope {
  status: string;
  referenceCode?: string;
  url?: string;
  errorCode?: number;
  errorMessage?: string;
}

export type FlexAnswer = { kind: 'envelope'; envelope: FlexEnvelope } | { kind: 'statement'; statement: Statement };

/** Reads any Flex answer. Throws XmlError for malformed XML, Error for another root. */
export function parseFlexAnswer(xml: string): FlexAnswer {
  const root = parseXml(xml);
  if (root.name === 'FlexStatementResponse') return { kind: 'envelope', envelope: readEnvelope(root) };
  if (root.name === 'FlexQueryResponse') return { kind: 'statement', statement: readStatement(root) };
  throw new Error(`not a Flex answer (root element <${root.name.slice(0, 40)}>)`);
}

function readEnvelope(root: XmlElement): FlexEnvelope {
  // IB writes <Url> in answers and <url> in one documented example: either.
  const field = (name: string) =>
    root.children.find((c) => c.name.toLowerCase() === name.toLowerCase())?.text || undefined;
  const code = field('ErrorCode');
  const n = code !== undefined && /^\d{1,6}$/.test(code) ? Number(code) : undefined;
  return {
    status: field('Status') ?? '',
    ...opt('referenceCode', field('ReferenceCode')),
    ...opt('url', field('Url')),
    ...opt('errorCode', n),
    ...opt('errorMessage', field('ErrorMessage')),
  };
}

function readStatement(root: XmlElement): Statement {
  const accounts = descendants(root, 'FlexStatement').map(readAccount);
  const known = new Set(Object.keys(SECTIONS));
  const other = new Set<string>();
  for (const s of descendants(root, 'FlexStatement'))
    for (const c of s.children) if (!known.has(c.name) && c.name !== 'AccountInformation') other.add(c.name);
  return {
    ...opt('queryName', root.attrs['queryName']),
    ...opt('type', root.attrs['type']),
    accounts,
    otherSections: [...other].sort(),
  };
}

const SECTIONS = {
  Trades: true,
  CashTransactions: true,
  OpenPositions: true,
  FIFOPerformanceSummaryInBase: true,
  FIFOPerformanceSummaryInUnderlying: true,
  MTMPerformanceSummaryInBase: true,
  ChangeInNAV: true,
};

function readAccount(s: XmlElement): StatementAccount {
  const a = s.attrs;
  const info = child(s, 'AccountInformation');
  const trades = rowsOf(s, 'Trades', 'Trade')
    .filter((t) => !['ORDER', 'CLOSED_LOT', 'SYMBOL_SUMMARY', 'ASSET_SUMMARY'].includes(t['levelOfDetail'] ?? ''))
    .map(readTrade)
    .filter((t): t is StatementTrade => t !== undefined);
  let cashRows = rowsOf(s, 'CashTransactions', 'CashTransaction');
  // A query may ask for both detail and summary rows: the detail ones, then, not both.
  if (cashRows.some((r) => r['levelOfDetail'] === 'DETAIL'))
    cashRows = cashRows.filter((r) => r['levelOfDetail'] !== 'SUMMARY');
  const cash = cashRows.map(readCash).filter((c): c is StatementCash => c !== undefined);
  const positions = rowsOf(s, 'OpenPositions', 'OpenPosition')
    .filter((p) => (p['levelOfDetail'] ?? 'SUMMARY') === 'SUMMARY')
    .map(readPosition)
    .filter((p): p is StatementPosition => p !== undefined);
  const perfRows = [
    ...rowsOf(s, 'FIFOPerformanceSummaryInBase', 'FIFOPerformanceSummaryUnderlying'),
    ...rowsOf(s, 'FIFOPerformanceSummaryInUnderlying', 'FIFOPerformanceSummaryUnderlying'),
  ];
  const performance = (
    perfRows.length ? perfRows : rowsOf(s, 'MTMPerformanceSummaryInBase', 'MTMPerformanceSummaryUnderlying')
  )
    .map(readPerformance)
    .filter((p): p is StatementPerformance => p !== undefined);
  const navEl = child(s, 'ChangeInNAV');
  const nav = navEl ? readNav(navEl.attrs) : undefined;
  return {
    accountId: a['accountId'] ?? info?.attrs['accountId'] ?? '',
    ...opt('fromDate', isoDate(a['fromDate'])),
    ...opt('toDate', isoDate(a['toDate'])),
    ...opt('generated', isoTime(a['whenGenerated'])),
    ...opt('baseCurrency', info?.attrs['currency']),
    trades,
    cash,
    positions,
    performance,
    ...(nav && Object.keys(nav).length > 0 ? { nav } : {}),
  };
}

/** The attributes of every `row` element of a section (a section may hold several kinds of rows). */
function rowsOf(s: XmlElement, section: string, row: string): Record<string, string>[] {
  const out: Record<string, string>[] = [];
  for (const sec of s.children) {
    if (sec.name !== section) continue;
    for (const r of sec.children) if (r.name === row) out.push(r.attrs);
  }
  return out;
}

function readTrade(r: Record<string, string>): StatementTrade | undefined {
  const quantity = num(r['quantity']);
  const date = isoDate(r['tradeDate']) ?? isoDate(r['dateTime']);
  const symbol = r['symbol'];
  if (quantity === undefined || !date || !symbol) return undefined;
  const bs = (r['buySell'] ?? '').toUpperCase();
  const side: 'BUY' | 'SELL' = bs.startsWith('SELL')
    ? 'SELL'
    : bs.startsWith('BUY')
      ? 'BUY'
      : quantity < 0
        ? 'SELL'
        : 'BUY';
  return {
    date,
    ...opt('time', isoTime(r['dateTime'])),
    ...opt('accountId', r['accountId']),
    symbol,
    ...opt('conid', conid(r['conid'])),
    ...opt('assetClass', r['assetCategory']),
    side,
    quantity,
    ...opt('price', num(r['tradePrice'])),
    ...opt('currency', r['currency']),
    ...opt('proceeds', num(r['proceeds'])),
    ...opt('commission', num(r['ibCommission'])),
    ...opt('realizedPnl', num(r['fifoPnlRealized'])),
    ...opt('openClose', r['openCloseIndicator']),
    ...opt('tradeId', r['tradeID']),
  };
}

function readCash(r: Record<string, string>): StatementCash | undefined {
  const amount = num(r['amount']);
  const date = isoDate(r['dateTime']) ?? isoDate(r['settleDate']) ?? isoDate(r['reportDate']);
  const type = r['type'];
  if (amount === undefined || !date || !type) return undefined;
  return {
    date,
    ...opt('accountId', r['accountId']),
    type,
    amount,
    ...opt('currency', r['currency']),
    ...opt('symbol', r['symbol']),
    ...opt('conid', conid(r['conid'])),
    ...opt('description', r['description']),
  };
}

function readPosition(r: Record<string, string>): StatementPosition | undefined {
  const quantity = num(r['position']);
  const symbol = r['symbol'];
  if (quantity === undefined || !symbol) return undefined;
  return {
    ...opt('accountId', r['accountId']),
    symbol,
    ...opt('conid', conid(r['conid'])),
    ...opt('assetClass', r['assetCategory']),
    quantity,
    ...opt('markPrice', num(r['markPrice'])),
    ...opt('value', num(r['positionValue'])),
    ...opt('costBasis', num(r['costBasisMoney'])),
    ...opt('unrealizedPnl', num(r['fifoPnlUnrealized'])),
    ...opt('currency', r['currency']),
    ...opt('date', isoDate(r['reportDate'])),
  };
}

function readPerformance(r: Record<string, string>): StatementPerformance | undefined {
  const symbol = r['symbol'];
  if (!symbol) return undefined; // the section's total row
  const realized = num(r['totalRealizedPnl']) ?? num(r['realized']);
  const unrealized = num(r['totalUnrealizedPnl']) ?? num(r['unrealized']);
  const total = num(r['totalFifoPnl']) ?? num(r['total']);
  return {
    symbol,
    ...opt('conid', conid(r['conid'])),
    ...opt('assetClass', r['assetCategory']),
    ...opt('realized', realized),
    ...opt('unrealized', unrealized),
    ...opt('total', total),
  };
}

function readNav(r: Record<string, string>): StatementNav {
  return {
    ...opt('start', num(r['startingValue'])),
    ...opt('end', num(r['endingValue'])),
    ...opt('twrPercent', num(r['twr'])),
    ...opt('depositsWithdrawals', num(r['depositsWithdrawals'])),
    ...opt('dividends', num(r['dividends'])),
    ...opt('commissions', num(r['commissions'])),
    ...opt('mtm', num(r['mtm'])),
    ...opt('realized', num(r['realized'])),
  };
}

/** A number from Flex text ("1,234.5" in some formats); missing for empty, "--" or anything else. */
export function num(s: string | undefined): number | undefined {
  if (s === undefined) return undefined;
  const t = s.trim().replace(/,/g, '');
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(t)) return undefined;
  const v = Number(t);
  return Number.isFinite(v) ? v : undefined;
}

function conid(s: string | undefined): number | undefined {
  const v = num(s);
  return v !== undefined && Number.isSafeInteger(v) && v > 0 ? v : undefined;
}

/** YYYY-MM-DD from 20230105, 2023-01-05, 01/05/2023 (US order), with or without a time after ; , or space. */
export function isoDate(s: string | undefined): string | undefined {
  if (!s) return undefined;
  const d = s.trim().split(/[;, T]/)[0] ?? '';
  let m = /^(\d{4})-?(\d{2})-?(\d{2})$/.exec(d);
  if (m) return valid(m[1] as string, m[2] as string, m[3] as string);
  m = /^(\d{2})\/(\d{2})\/(\d{4})$/.exec(d);
  if (m) return valid(m[3] as string, m[1] as string, m[2] as string);
  return undefined;
}

function valid(y: string, mo: string, d: string): string | undefined {
  const month = Number(mo);
  const day = Number(d);
  if (month < 1 || month > 12 || day < 1 || day > 31) return undefined;
  return `${y}-${mo}-${d}`;
}

/** YYYY-MM-DDTHH:MM:SS from "20230105;093512", "2023-01-05, 09:35:12" and the like; the date alone when no time. */
export function isoTime(s: string | undefined): string | undefined {
  const date = isoDate(s);
  if (!date || !s) return date;
  const rest = s
    .trim()
    .slice(s.trim().search(/[;, T]/) + 1)
    .trim();
  const m = /^(\d{2}):?(\d{2}):?(\d{2})?$/.exec(rest);
  if (!m) return date;
  return `${date}T${m[1]}:${m[2]}:${m[3] ?? '00'}`;
}

/** `{ [key]: value }` when the value is there (not undefined, not empty text), else `{}`. */
function opt<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return value === undefined || value === '' ? {} : ({ [key]: value } as { [P in K]?: V });
}
