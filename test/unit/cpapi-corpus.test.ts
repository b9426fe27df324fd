/**
 * The contract-test corpus (issue 13): every endpoint the client calls, every answer shape IB has
 * been seen to send (test/fixtures/ib/corpus-*.ts, each with its source and date), through the
 * parser the client uses for it. Each sample is also varied mechanically: every field removed in
 * turn, every field null, numbers as text, and IB's empty and error placeholders. For every
 * variant the parser must not crash (a BrokerError is an answer, a TypeError is a bug), and a
 * value the answer lacks must come out missing: never 0, NaN or the text "undefined".
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import {
  parseAlertCreated,
  parseAlertDetail,
  parseAlertList,
  parseAlertSubmitted,
} from '../../src/backends/cpapi/alerts.js';
import {
  hasFuturesSection,
  parseContractInfo,
  parseFuturesList,
  searchRowToContract,
  stockCandidates,
  stockEntriesOf,
} from '../../src/backends/cpapi/contract-wire.js';
import { parseSnapshotRow } from '../../src/backends/cpapi/fields.js';
import { parseFxRate } from '../../src/backends/cpapi/fx.js';
import { parseHistoryResponse } from '../../src/backends/cpapi/history-rules.js';
import { parseNewsHeadlines } from '../../src/backends/cpapi/news.js';
import { chainFromSearch, contractFromInfo, parseStrikes } from '../../src/backends/cpapi/options.js';
import {
  parseCancel,
  parseLiveOrders,
  parseOrderStatus,
  parsePlaceAnswer,
  parseTrades,
  parseWhatIf,
} from '../../src/backends/cpapi/order-wire.js';
import {
  parseAccounts,
  parseAllocation,
  parseLedger,
  parsePnl,
  parsePosition,
  parseSubaccountsPage,
  parseSummary,
} from '../../src/backends/cpapi/portfolio.js';
import { parseScannerParams, parseScanResult } from '../../src/backends/cpapi/scanner.js';
import { readAuth, readIserverAccounts, readSelectAnswer, readTickle } from '../../src/backends/cpapi/session.js';
import {
  parseWatchlist,
  parseWatchlistCreated,
  parseWatchlistDeleted,
  parseWatchlists,
} from '../../src/backends/cpapi/watchlists.js';
import { isObject, toConid } from '../../src/backends/cpapi/wire.js';
import { isBrokerError } from '../../src/broker/errors.js';
import { MARKET_FIELDS } from '../../src/broker/types.js';
import { FA_SAMPLES, NEWS_SAMPLES } from '../fixtures/ib/corpus-fa.js';
import { SPEC_SAMPLES } from '../fixtures/ib/corpus-spec.js';
import type { WireSample } from '../fixtures/ib/corpus-types.js';
import { FIXTURE_SAMPLES, VARIANT_SAMPLES } from '../fixtures/ib/corpus-variants.js';

export const CORPUS: WireSample[] = [
  ...SPEC_SAMPLES,
  ...FIXTURE_SAMPLES,
  ...VARIANT_SAMPLES,
  ...FA_SAMPLES,
  ...NEWS_SAMPLES,
];

const TODAY = '2023-01-02';
const rows = (body: unknown): Record<string, unknown>[] =>
  (Array.isArray(body) ? body : isObject(body) ? [body] : []).filter(isObject);

/** The parser the client applies to each endpoint's answer (as the modules of src/backends/cpapi call them). */
const PARSERS: Record<string, (body: unknown) => unknown> = {
  'GET /iserver/accounts': readIserverAccounts,
  'POST /iserver/account': readSelectAnswer,
  'POST /iserver/auth/status': readAuth,
  'POST /iserver/auth/ssodh/init': readAuth,
  'POST /tickle': readTickle,
  'GET /portfolio/accounts': (b) => parseAccounts(b),
  'GET /portfolio/subaccounts': (b) => parseAccounts(b),
  'GET /portfolio/subaccounts2': (b) => parseSubaccountsPage(b),
  'GET /portfolio/{accountId}/summary': (b) => parseSummary('DU123456', b, 'USD'),
  'GET /portfolio/{accountId}/ledger': (b) => parseLedger('DU123456', b, 'USD'),
  'GET /portfolio/{accountId}/allocation': (b) => parseAllocation('DU123456', b),
  'GET /portfolio/{accountId}/positions/{pageId}': (b) => rows(b).map((r) => parsePosition('DU123456', r)),
  'GET /iserver/account/pnl/partitioned': parsePnl,
  // As marketdata.ts: rows without a conid are not anyone's; the others go to parseSnapshotRow.
  'GET /iserver/marketdata/snapshot': (b) =>
    rows(b)
      .filter((r) => toConid(r['conid']))
      .map((r) => parseSnapshotRow(r, MARKET_FIELDS, { usStock: true })),
  'GET /iserver/marketdata/history': (b) => parseHistoryResponse(265598, b, { secType: 'STK', usStock: true }),
  'GET /iserver/secdef/search': (b) => search(b),
  'POST /iserver/secdef/search': (b) => search(b),
  'GET /iserver/secdef/strikes': parseStrikes,
  'GET /iserver/secdef/info': (b) => rows(b).map((r) => contractFromInfo(r, 265598)),
  'GET /trsrv/stocks': (b) =>
    Object.keys(isObject(b) ? b : {}).map((k) => stockCandidates(k.toUpperCase(), stockEntriesOf(b, k) ?? [])),
  'GET /trsrv/futures': (b) => Object.keys(isObject(b) ? b : {}).map((k) => parseFuturesList(k, b, TODAY)),
  'GET /iserver/contract/{conid}/info': (b) => (isObject(b) ? parseContractInfo(8314, b) : undefined),
  'GET /iserver/account/orders': parseLiveOrders,
  'GET /iserver/account/order/status/{orderId}': parseOrderStatus,
  'GET /iserver/account/trades': parseTrades,
  'POST /iserver/account/{accountId}/orders': parsePlaceAnswer,
  'POST /iserver/reply/{replyId}': parsePlaceAnswer,
  'POST /iserver/account/{accountId}/order/{orderId}': parsePlaceAnswer,
  'POST /iserver/account/{accountId}/orders/whatif': parseWhatIf,
  'DELETE /iserver/account/{accountId}/order/{orderId}': (b) => parseCancel('1370093239', b),
  'GET /iserver/account/{accountId}/alerts': (b) => parseAlertList(b, 'DU123456'),
  'GET /iserver/account/alert/{alertId}': (b) => parseAlertDetail(b, 'DU123456'),
  'GET /iserver/account/mta': (b) => parseAlertDetail(b),
  'POST /iserver/account/{accountId}/alert': parseAlertCreated,
  'POST /iserver/account/{accountId}/alert/activate': (b) => parseAlertSubmitted(b, 'activate the alert'),
  'DELETE /iserver/account/{accountId}/alert/{alertId}': (b) => parseAlertSubmitted(b, 'delete the alert'),
  'GET /iserver/exchangerate': parseFxRate,
  'GET /iserver/news/portfolio': parseNewsHeadlines,
  'GET /iserver/watchlists': parseWatchlists,
  'GET /iserver/watchlist': parseWatchlist,
  'POST /iserver/watchlist': (b) => parseWatchlistCreated(b, '1000', 'Tech'),
  'DELETE /iserver/watchlist': parseWatchlistDeleted,
  'GET /iserver/scanner/params': (b) => parseScannerParams(b, '2026-12-01T00:00:00.000Z'),
  'POST /iserver/scanner/run': parseScanResult,
};

function search(body: unknown): unknown {
  const list = rows(body);
  const underlying = { conid: 8314, symbol: 'IBM', secType: 'STK' as const };
  const future = { conid: 495512557, symbol: 'ES', secType: 'FUT' as const, underlyingConid: 11004968 };
  return {
    contracts: list.map((r) => searchRowToContract(r)),
    futures: list.map((r) => hasFuturesSection(r)),
    chain: chainFromSearch(list, underlying, TODAY),
    fop: chainFromSearch(list, future, TODAY),
  };
}

/** Runs a parser: its result, or the BrokerError it answered with. Anything else thrown is a bug. */
function run(endpoint: string, body: unknown): unknown {
  const parse = PARSERS[endpoint];
  assert.ok(parse, `no parser for ${endpoint}`);
  try {
    return parse(body);
  } catch (err) {
    if (isBrokerError(err)) return { brokerError: err.code };
    throw err;
  }
}

type Leaf = { path: string; value: unknown };

/** Every leaf of a parser's result, by path (arrays by index). */
function leaves(v: unknown, path = '$', out: Leaf[] = []): Leaf[] {
  if (Array.isArray(v)) for (const [i, x] of v.entries()) leaves(x, `${path}[${i}]`, out);
  else if (isObject(v)) for (const [k, x] of Object.entries(v)) leaves(x, `${path}.${k}`, out);
  else out.push({ path, value: v });
  return out;
}

/** The lengths of every list in a result, as one text. */
function arrayLengths(v: unknown, path = '$'): string {
  if (Array.isArray(v)) return `${path}:${v.length};${v.map((x, i) => arrayLengths(x, `${path}[${i}]`)).join('')}`;
  if (isObject(v))
    return Object.entries(v)
      .map(([k, x]) => arrayLengths(x, `${path}.${k}`))
      .join('');
  return '';
}

/** Paths of every field of an answer (objects' keys at any depth; array elements by index). */
function fieldPaths(
  v: unknown,
  path: (string | number)[] = [],
  out: (string | number)[][] = [],
): (string | number)[][] {
  if (Array.isArray(v)) for (const [i, x] of v.entries()) fieldPaths(x, [...path, i], out);
  else if (isObject(v))
    for (const [k, x] of Object.entries(v)) {
      out.push([...path, k]);
      fieldPaths(x, [...path, k], out);
    }
  return out;
}

function edit(body: unknown, path: (string | number)[], how: 'delete' | 'null'): unknown {
  const copy = structuredClone(body);
  let at: unknown = copy;
  for (const k of path.slice(0, -1)) at = (at as Record<string | number, unknown>)[k];
  const last = path[path.length - 1] as string;
  if (how === 'delete') delete (at as Record<string, unknown>)[last];
  else (at as Record<string, unknown>)[last] = null;
  return copy;
}

/** Numbers as text, as IB sends many of them ("185.50"). */
function numbersAsText(v: unknown): unknown {
  if (typeof v === 'number') return String(v);
  if (Array.isArray(v)) return v.map(numbersAsText);
  if (isObject(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, numbersAsText(x)]));
  return v;
}

/** No leaf is NaN, ±Infinity or the text "undefined"/"NaN"/"[object Object]". */
function assertClean(out: unknown, what: string): void {
  for (const { path, value } of leaves(out)) {
    if (typeof value === 'number') assert.ok(Number.isFinite(value), `${what}: ${path} is ${value}`);
    if (typeof value === 'string')
      assert.ok(!/^(undefined|NaN|null)$|\[object Object\]/.test(value), `${what}: ${path} is "${value}"`);
  }
}

/** A value the answer had and a variant lost must come out missing, not 0. */
function assertMissingNotZero(before: unknown, after: unknown, what: string): void {
  // Compared leaf by leaf only while every list kept its length (else index i is another row).
  if (arrayLengths(before) !== arrayLengths(after)) return;
  const was = new Map(leaves(before).map((l) => [l.path, l.value]));
  for (const { path, value } of leaves(after)) {
    if (value !== 0) continue;
    const old = was.get(path);
    if (old === undefined || old === 0) continue;
    assert.fail(`${what}: ${path} became 0 (was ${JSON.stringify(old)})`);
  }
}

const PLACEHOLDERS: [string, unknown][] = [
  ['[]', []],
  ['{}', {}],
  ['null', null],
  ['""', ''],
  ['{"error"}', { error: 'simulated failure' }],
  ['{"error", statusCode}', { error: 'Service Unavailable', statusCode: 503 }],
];

/** The endpoint paths the client's source calls, as IB's spec names them. */
function clientEndpoints(): Set<string> {
  const dir = join(import.meta.dirname, '../../src/backends/cpapi');
  const text = readdirSync(dir)
    .filter((f) => f.endsWith('.ts'))
    .map((f) => readFileSync(join(dir, f), 'utf8'))
    .join('\n');
  const found = new Set<string>();
  for (const m of text.matchAll(/['`](\/(?:iserver|portfolio|trsrv|tickle|hmds)[^'`]*)['`]/g)) {
    const path = (m[1] as string)
      .replace(/\$\{encodeURIComponent\(acct\.id\)\}\/\$\{rest\}/, '{accountId}/…')
      .replace(/\$\{encodeURIComponent\((order\.)?accountId\)\}/, '{accountId}')
      .replace(/\$\{encodeURIComponent\(orderId\)\}/, '{orderId}')
      .replace(/\$\{encodeURIComponent\(replyId\)\}/, '{replyId}')
      .replace(/\$\{alertId\}/, '{alertId}')
      .replace(/\$\{conid\}/, '{conid}');
    found.add(path);
  }
  return found;
}

describe('contract-test corpus: every endpoint, every shape IB sends', () => {
  test('every endpoint the client calls has samples and a parser', () => {
    const sampled = new Set(CORPUS.map((s) => s.endpoint.split(' ')[1]));
    const paths = [...clientEndpoints()].filter((p) => !p.endsWith('…') && p !== '/sso/validate');
    // /portfolio/{id}/{rest} stands for these three (portfolio.ts portfolioGet).
    paths.push(
      '/portfolio/{accountId}/summary',
      '/portfolio/{accountId}/ledger',
      '/portfolio/{accountId}/positions/{pageId}',
    );
    const missing = paths.filter((p) => !sampled.has(p));
    assert.deepEqual(missing, [], `endpoints without samples: ${missing.join(', ')}`);
    for (const s of CORPUS) assert.ok(PARSERS[s.endpoint], `no parser for ${s.endpoint}`);
    assert.ok(sampled.size >= 38, `${sampled.size} endpoints`);
  });

  test('an error body sent with 200 is an error, not an empty list (alerts, watchlists, scans)', () => {
    for (const endpoint of [
      'GET /iserver/account/{accountId}/alerts',
      'GET /iserver/watchlists',
      'POST /iserver/scanner/run',
    ]) {
      for (const [name, body] of PLACEHOLDERS.filter(([n]) => n.startsWith('{"error"'))) {
        assert.deepEqual(run(endpoint, body), { brokerError: 'GATEWAY_ERROR' }, `${endpoint} ${name}`);
      }
    }
  });

  test('every sample names its source and date', () => {
    for (const s of CORPUS) {
      assert.match(s.source, /\.(json|md|txt|ts)\b/, `${s.endpoint} ${s.variant}: source names no file`);
      assert.ok(s.date.length >= 4, `${s.endpoint} ${s.variant}: no date`);
    }
  });

  for (const s of CORPUS) {
    test(`${s.endpoint} — ${s.variant}: parsed, and every variant of it`, () => {
      const out = run(s.endpoint, s.body);
      assertClean(out, 'as sent');
      let variants = 0;
      for (const path of fieldPaths(s.body)) {
        for (const how of ['delete', 'null'] as const) {
          const what = `${how} ${path.join('.')}`;
          const v = run(s.endpoint, edit(s.body, path, how));
          assertClean(v, what);
          assertMissingNotZero(out, v, what);
          variants++;
        }
      }
      const text = run(s.endpoint, numbersAsText(s.body));
      assertClean(text, 'numbers as text');
      for (const [name, body] of PLACEHOLDERS) {
        assertClean(run(s.endpoint, body), `placeholder ${name}`);
        variants++;
      }
      assert.ok(variants > 0);
    });
  }
});
