import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { FIELD_CODES, parseSnapshotRow } from '../../src/backends/cpapi/fields.js';
import { chainFromSearch, codeFromMonth, contractFromInfo, monthFromCode } from '../../src/backends/cpapi/options.js';
import { variantBody } from '../fixtures/ib/corpus-variants.js';

// Payloads in the shape of IB's published examples (docs/ib/endpoints.md §4, docs/ib/marketdata.md §5).
const IBM_SEARCH = [
  {
    conid: '8314',
    companyHeader: 'INTL BUSINESS MACHINES CORP - NYSE',
    companyName: 'INTL BUSINESS MACHINES CORP',
    symbol: 'IBM',
    description: 'NYSE',
    restricted: null,
    fop: null,
    opt: '20240315;20240322;20240419;20260116',
    war: '20240208',
    sections: [
      { secType: 'STK' },
      {
        secType: 'OPT',
        months: 'MAR24;APR24;MAY24;JUN24;JUL24;SEP24;OCT24;JAN25;JUN25;JAN26',
        exchange: 'SMART;AMEX;BATS;BOX;CBOE;PSE',
      },
      { secType: 'WAR', months: 'FEB24', exchange: 'EBS;FWB;GETTEX;SBF;SWB' },
      { secType: 'IOPT' },
      { secType: 'CFD', exchange: 'SMART', conid: '118239202' },
      { secType: 'BAG' },
    ],
  },
  {
    conid: '41645598',
    companyHeader: 'INTL BUSINESS MACHINES CORP - LSE',
    symbol: 'IBM',
    sections: [{ secType: 'STK' }],
  },
];

const AAPL_INFO = variantBody('GET /iserver/secdef/info', 'option month: array') as Record<string, unknown>[];

describe('cpapi option wire format', () => {
  test('month codes', () => {
    assert.equal(monthFromCode('MAR24'), '2024-03');
    assert.equal(monthFromCode('jan26'), '2026-01');
    assert.equal(monthFromCode('XYZ24'), undefined);
    assert.equal(codeFromMonth('2024-03'), 'MAR24');
    assert.equal(codeFromMonth('2025-01-17'), 'JAN25');
  });

  test('the OPT section of the underlying row from secdef/search', () => {
    const c = chainFromSearch(IBM_SEARCH, { conid: 8314, symbol: 'IBM', secType: 'STK' }, '2024-03-01');
    assert.ok(c);
    assert.equal(c.conid, 8314);
    assert.equal(c.secType, 'OPT');
    assert.equal(c.exchange, 'SMART');
    assert.equal(c.months[0], '2024-03');
    assert.equal(c.months.length, 10);
    assert.deepEqual(c.dates, ['2024-03-15', '2024-03-22', '2024-04-19', '2026-01-16']);
    // Expired dates and months are dropped.
    const later = chainFromSearch(IBM_SEARCH, { conid: 8314, symbol: 'IBM', secType: 'STK' }, '2024-04-01');
    assert.deepEqual(later?.dates, ['2024-04-19', '2026-01-16']);
    assert.equal(later?.months[0], '2024-04');
  });

  test('a listing without options has no chain', () => {
    assert.equal(
      chainFromSearch(IBM_SEARCH, { conid: 41645598, symbol: 'IBM', secType: 'STK' }, '2024-03-01'),
      undefined,
    );
  });

  test('futures options are found by family symbol', () => {
    const rows = [
      {
        conid: '495512563',
        symbol: 'ES',
        fop: '20261127;20261218',
        sections: [{ secType: 'FUT' }, { secType: 'FOP', months: 'NOV26;DEC26', exchange: 'CME' }],
      },
    ];
    const c = chainFromSearch(rows, { conid: 1, symbol: 'ES', secType: 'FUT' }, '2026-11-24');
    assert.equal(c?.secType, 'FOP');
    assert.equal(c?.exchange, 'CME');
    assert.deepEqual(c?.dates, ['2026-11-27', '2026-12-18']);
  });

  test('a secdef/info row becomes an exact contract', () => {
    const c = contractFromInfo(AAPL_INFO[0]!, 265598);
    assert.deepEqual(c, {
      conid: 667629330,
      symbol: 'AAPL',
      secType: 'OPT',
      expiry: '2024-01-05',
      strike: 195,
      right: 'P',
      underlyingConid: 265598,
      exchange: 'SMART',
      currency: 'USD',
      multiplier: 100,
      tradingClass: 'AAPL',
      name: "JAN 05 '24 195 Put",
    });
    assert.equal(contractFromInfo({ conid: 1, strike: 1, maturityDate: '20240105' }, 1), undefined);
  });

  test('greek field codes map to names', () => {
    assert.equal(FIELD_CODES.delta, '7308');
    assert.equal(FIELD_CODES.gamma, '7309');
    assert.equal(FIELD_CODES.theta, '7310');
    assert.equal(FIELD_CODES.vega, '7311');
    assert.equal(FIELD_CODES.impliedVolatility, '7633');
    assert.equal(FIELD_CODES.openInterest, '7638');
    const snap = parseSnapshotRow(
      {
        conid: 667629330,
        '31': '1.24',
        '84': '1.23',
        '86': '1.25',
        '7308': '-0.523',
        '7309': '0.0123',
        '7310': '-0.045',
        '7311': '0.123',
        '7633': '23.4%',
        '7638': '5678',
        '6509': 'RpB',
      },
      ['last', 'bid', 'ask', 'delta', 'gamma', 'theta', 'vega', 'impliedVolatility', 'openInterest'],
    );
    assert.deepEqual(snap.values, {
      last: 1.24,
      bid: 1.23,
      ask: 1.25,
      delta: -0.523,
      gamma: 0.0123,
      theta: -0.045,
      vega: 0.123,
      impliedVolatility: 23.4,
      openInterest: 5678,
    });
  });
});
