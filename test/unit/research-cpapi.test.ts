import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { checkWireAlert, parseAlertDetail, parseAlertList, toWireAlert } from '../../src/backends/cpapi/alerts.js';
import { parseFxRate } from '../../src/backends/cpapi/fx.js';
import type { CpapiHttp } from '../../src/backends/cpapi/http.js';
import {
  CpapiScanner,
  checkScan,
  parseScannerParams,
  parseScanResult,
  SCANNER_PARAMS_TTL_MS,
} from '../../src/backends/cpapi/scanner.js';
import { freshWatchlistId, parseWatchlist, parseWatchlists } from '../../src/backends/cpapi/watchlists.js';
import { isBrokerError } from '../../src/broker/errors.js';
import type { AlertRequest } from '../../src/broker/research.js';
import { parseCondition } from '../../src/tools/alerts.js';
import { ALERT_CREATE_CONDITION, ALERT_DETAIL, ALERT_LIST } from '../fixtures/ib/alerts.js';
import { SCANNER_PARAMS, SCANNER_RUN } from '../fixtures/ib/scanner.js';
import { WATCHLIST, WATCHLISTS } from '../fixtures/ib/watchlists.js';

const base: AlertRequest = {
  accountId: 'U1234567',
  name: 'AAPL up',
  conditions: [{ kind: 'price', conid: 265598, operator: '>=', value: 500 }],
  logic: 'and',
  repeatable: false,
  outsideRth: false,
};

const code = (fn: () => unknown) => {
  try {
    fn();
  } catch (e) {
    return isBrokerError(e) ? e.code : 'other';
  }
  return 'none';
};

describe('cpapi alerts: encoding', () => {
  test("a price alert has the shape of IB's creation example", () => {
    const w = toWireAlert(base);
    const c = w.conditions[0]!;
    assert.deepEqual(Object.keys(c).sort(), Object.keys(ALERT_CREATE_CONDITION.body).sort());
    assert.deepEqual(c, { ...ALERT_CREATE_CONDITION.body, conidex: '265598@SMART', logicBind: 'n' });
    assert.equal(w.tif, 'GTC');
    assert.equal(w.alertMessage, 'AAPL up');
    assert.equal(w.iTWSOrdersOnly, 0);
  });

  test('logic binds every condition but the last; time, margin and volume encoded', () => {
    const w = toWireAlert({
      ...base,
      logic: 'or',
      conditions: [
        { kind: 'volume', conid: 8314, exchange: 'nyse', operator: '>=', value: 1_000_000 },
        { kind: 'time', operator: '>=', at: new Date('2030-01-02T15:30:00Z') },
        { kind: 'margin', operator: '<=', value: 12.5 },
      ],
    });
    assert.deepEqual(
      w.conditions.map((c) => [c.type, c.conidex, c.value, c.logicBind]),
      [
        [6, '8314@NYSE', '1000000', 'o'],
        [3, '*@*', '20300102-15:30:00', 'o'],
        [4, '*@*', '12.5', 'n'],
      ],
    );
    assert.equal(w.conditions[1]!.timeZone, 'UTC');
  });

  test('GTD when it expires; refusals before the wire', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    const w = toWireAlert({ ...base, expires: new Date('2026-02-01T12:00:00Z') }, now);
    assert.equal(w.tif, 'GTD');
    assert.equal(w.expireTime, '20260201-12:00:00');
    assert.equal(
      code(() => toWireAlert({ ...base, expires: new Date('2025-01-01T00:00:00Z') }, now)),
      'INVALID_INPUT',
    );
    assert.equal(
      code(() => toWireAlert({ ...base, conditions: [] })),
      'INVALID_INPUT',
    );
    assert.equal(
      code(() => toWireAlert({ ...base, name: '  ' })),
      'INVALID_INPUT',
    );
    const bad = (c: AlertRequest['conditions'][number]) => code(() => toWireAlert({ ...base, conditions: [c] }));
    assert.equal(bad({ kind: 'price', conid: 1, operator: '>=', value: 0 }), 'INVALID_INPUT');
    assert.equal(bad({ kind: 'volume', conid: 1, operator: '>=', value: 1.5 }), 'INVALID_INPUT');
    assert.equal(bad({ kind: 'margin', operator: '<=', value: 150 }), 'INVALID_INPUT');
    assert.equal(bad({ kind: 'time', operator: '>=', at: new Date('nope') }), 'INVALID_INPUT');
    assert.equal(bad({ kind: 'price', conid: 1, operator: '>' as '>=', value: 10 }), 'INVALID_INPUT');
  });

  test('tiny prices are written as decimals, never in exponent form', () => {
    const w = toWireAlert({ ...base, conditions: [{ kind: 'price', conid: 1, operator: '<=', value: 0.0000005 }] });
    assert.equal(w.conditions[0]!.value, '0.0000005');
  });

  test('the last check rejects what IB would not recognise (MTA types, wildcard prices, bad binds)', () => {
    const ok = toWireAlert(base);
    const tweak = (c: Partial<(typeof ok.conditions)[number]>) => () =>
      checkWireAlert({ ...ok, conditions: [{ ...ok.conditions[0]!, ...c }] });
    assert.equal(code(tweak({ type: 7 })), 'INVALID_INPUT');
    assert.equal(code(tweak({ conidex: '*@*' })), 'INVALID_INPUT');
    assert.equal(code(tweak({ logicBind: 'a' })), 'INVALID_INPUT');
    assert.equal(code(tweak({ value: '' })), 'INVALID_INPUT');
    assert.equal(code(tweak({ conidex: '265598@NYSE' })), 'none');
  });
});

describe('cpapi alerts: parsing', () => {
  test(`list: ${ALERT_LIST.source}`, () => {
    const one = parseAlertList(ALERT_LIST.body, 'U1234567');
    assert.deepEqual(one, [
      {
        id: 9876543210,
        accountId: 'U1234567',
        name: 'AAPL',
        active: true,
        triggered: false,
        repeatable: false,
        created: '2024-03-08T17:08:38Z',
      },
    ]);
    assert.deepEqual(parseAlertList([ALERT_LIST.body, { junk: 1 }], 'U1'), one);
    assert.deepEqual(parseAlertList([], 'U1'), []);
  });

  test(`detail: ${ALERT_DETAIL.source}`, () => {
    const d = parseAlertDetail(ALERT_DETAIL.body);
    assert.equal(d.id, 833967258);
    assert.equal(d.name, 'IBM');
    assert.equal(d.tif, 'GTC');
    assert.equal(d.outsideRth, true);
    assert.equal(d.mta, undefined);
    assert.deepEqual(d.conditions, [
      { kind: 'price', conid: 8314, exchange: 'NYSE', operator: '>=', value: '500.00', description: 'IBM' },
    ]);
    assert.equal(
      code(() => parseAlertDetail({})),
      'GATEWAY_ERROR',
    );
  });
});

describe('create_alert condition text', () => {
  test('the accepted forms', () => {
    assert.deepEqual(parseCondition('AAPL price >= 200', 0), {
      kind: 'price',
      instrument: 'AAPL',
      operator: '>=',
      value: '200',
    });
    assert.deepEqual(parseCondition(' brk b@nyse  volume<=1,000 ', 0), {
      kind: 'volume',
      instrument: 'BRK B',
      exchange: 'NYSE',
      operator: '<=',
      value: '1,000',
    });
    assert.deepEqual(parseCondition('time >= 2026-12-01T15:30:00Z', 0), {
      kind: 'time',
      operator: '>=',
      value: '2026-12-01T15:30:00Z',
    });
    assert.equal(parseCondition('margin <= 10', 0).kind, 'margin');
    assert.equal(parseCondition('AAPL change% >= 5', 0).kind, 'change');
  });

  test('refused: unknown words, operators IB lacks, an instrument where none belongs', () => {
    for (const t of ['AAPL above 200', 'AAPL price > 200', 'AAPL time >= 2026-01-01T00:00:00Z', 'price >= 5', '']) {
      assert.equal(
        code(() => parseCondition(t, 0)),
        'INVALID_INPUT',
        t,
      );
    }
  });
});

describe('cpapi exchange rate', () => {
  test("IB's example {rate: 0.91324199} (V3 GET /iserver/exchangerate, source USD target EUR)", () => {
    assert.equal(parseFxRate({ rate: 0.91324199 }), 0.91324199);
    assert.equal(parseFxRate({ rate: '1.1625' }), 1.1625);
    for (const bad of [{}, { rate: 0 }, { rate: -1 }, { rate: null }, [], 'x'])
      assert.equal(parseFxRate(bad), undefined);
  });
});

describe('cpapi watchlists', () => {
  test(`list: ${WATCHLISTS.source}`, () => {
    assert.deepEqual(parseWatchlists(WATCHLISTS.body), [
      { id: '1234', name: 'Test Watchlist', readOnly: false, modified: '2023-12-14T19:15:06.241Z' },
    ]);
    assert.deepEqual(parseWatchlists({}), []);
  });

  test(`one list: ${WATCHLIST.source}`, () => {
    const w = parseWatchlist(WATCHLIST.body);
    assert.equal(w.id, '1234');
    assert.deepEqual(w.instruments, [
      { conid: 8314, symbol: 'IBM', secType: 'STK', name: 'INTL BUSINESS MACHINES CORP' },
    ]);
    assert.equal(
      code(() => parseWatchlist({ name: 'x' })),
      'GATEWAY_ERROR',
    );
  });

  test('a new id is digits only and not taken', () => {
    assert.equal(freshWatchlistId(new Set(['1000', '1001', '1003'])), '1002');
    assert.equal(freshWatchlistId(new Set()), '1000');
  });
});

describe('cpapi scanner', () => {
  const cat = parseScannerParams(SCANNER_PARAMS.body, '2026-01-01T00:00:00.000Z');
  const scan = { instrument: 'STK', type: 'TOP_PERC_GAIN', location: 'STK.US.MAJOR', filters: [] };

  test(`catalogue: ${SCANNER_PARAMS.source}`, () => {
    assert.deepEqual(
      cat.scanTypes.map((t) => t.code),
      ['TOP_PERC_GAIN'],
    );
    assert.deepEqual(cat.locations, [
      { code: 'STK.US.MAJOR', name: 'Listed/NASDAQ', instrument: 'STK' },
      { code: 'STK.US.MINOR', name: 'OTCMarkets', instrument: 'STK' },
      { code: 'FUT.CME', name: 'CME', instrument: 'FUT.US' },
      { code: 'FUT.CBOT', name: 'CBOT', instrument: 'FUT.US' },
    ]);
    assert.deepEqual(
      cat.filters.map((f) => f.code),
      ['afterHoursChangeAbove', 'stkTypes'],
    );
  });

  test('a scan is checked against the catalogue', () => {
    checkScan(scan, cat);
    checkScan({ ...scan, filters: [{ code: 'afterHoursChangeAbove', value: 1 }] }, cat);
    for (const bad of [
      { ...scan, instrument: 'BOND' },
      { ...scan, type: 'TOP_GAINERS' },
      { ...scan, location: 'FUT.CME' }, // a location of another instrument
      { ...scan, filters: [{ code: 'priceAbove', value: 5 }] },
    ]) {
      assert.equal(
        code(() => checkScan(bad, cat)),
        'INVALID_INPUT',
        JSON.stringify(bad),
      );
    }
  });

  test(`results: ${SCANNER_RUN.source}`, () => {
    const r = parseScanResult(SCANNER_RUN.body);
    assert.equal(r.column, 'Trades');
    assert.deepEqual(r.hits[0], {
      rank: 1,
      conid: 76792991,
      symbol: 'TSLA',
      name: 'TESLA INC',
      exchange: 'NASDAQ.NMS',
      secType: 'STK',
      value: '221.521K',
    });
    assert.equal(r.hits[1]?.rank, 2);
  });

  test('the catalogue is read once per 15 minutes, one read in flight', async () => {
    let now = 0;
    let reads = 0;
    const http = {
      async get() {
        reads++;
        await new Promise((r) => setTimeout(r, 5));
        return { status: 200, data: SCANNER_PARAMS.body };
      },
      async post() {
        return { status: 200, data: SCANNER_RUN.body };
      },
    } as unknown as CpapiHttp;
    const s = new CpapiScanner(http, () => now);
    await Promise.all([s.catalogue(), s.catalogue(), s.scan(scan)]);
    assert.equal(reads, 1);
    now = SCANNER_PARAMS_TTL_MS - 1;
    await s.catalogue();
    assert.equal(reads, 1);
    now = SCANNER_PARAMS_TTL_MS;
    await s.catalogue();
    assert.equal(reads, 2);
  });
});
