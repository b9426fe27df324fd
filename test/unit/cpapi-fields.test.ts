import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  codesForFields,
  FIELD_CODES,
  fieldsFromCodes,
  parseAvailability,
  parseFieldValue,
  parseIbNumber,
  parseLastPrice,
  parseSnapshotRow,
  rowHasField,
} from '../../src/backends/cpapi/fields.js';
import { MARKET_FIELDS } from '../../src/broker/types.js';
import { variantBody } from '../fixtures/ib/corpus-variants.js';

describe('cpapi fields: codes', () => {
  it('maps every MarketField to a distinct code', () => {
    const codes = MARKET_FIELDS.map((f) => FIELD_CODES[f]);
    assert.equal(codes.length, MARKET_FIELDS.length);
    assert.equal(new Set(codes).size, codes.length);
    for (const c of codes) assert.match(c, /^\d+$/);
  });

  it('uses the documented codes', () => {
    assert.equal(FIELD_CODES.last, '31');
    assert.equal(FIELD_CODES.bid, '84');
    assert.equal(FIELD_CODES.ask, '86');
    assert.equal(FIELD_CODES.bidSize, '88');
    assert.equal(FIELD_CODES.askSize, '85');
    assert.equal(FIELD_CODES.volume, '7762');
    assert.equal(FIELD_CODES.marketCap, '7289');
    assert.equal(FIELD_CODES.dividendYield, '7287');
    assert.equal(FIELD_CODES.shortable, '7644');
  });

  it('asks for 87 next to 7762 for volume, without duplicates', () => {
    assert.deepEqual(codesForFields(['last', 'volume', 'last']), ['31', '7762', '87']);
  });

  it('translates user codes, including aliases, and lists unknown ones', () => {
    const r = fieldsFromCodes(['31', '84', '87', ' 7762 ', 'bid', '9999', 'x']);
    assert.deepEqual(r.fields, ['last', 'bid', 'volume']);
    assert.deepEqual(r.unknown, ['9999', 'x']);
  });
});

describe('cpapi fields: parsers', () => {
  it('parses IB number strings', () => {
    assert.equal(parseIbNumber('193.18'), 193.18);
    assert.equal(parseIbNumber('0.54%'), 0.54);
    assert.equal(parseIbNumber('-3.50'), -3.5);
    assert.equal(parseIbNumber('12.2M'), 12_200_000);
    assert.equal(parseIbNumber('1.5K'), 1500);
    assert.equal(parseIbNumber('2.9B'), 2_900_000_000);
    assert.equal(parseIbNumber('1,234'), 1234);
    assert.equal(parseIbNumber('1,234,567.5'), 1_234_567.5);
    assert.equal(parseIbNumber(1.22e7), 12_200_000);
    assert.equal(parseIbNumber('1.22E7'), 12_200_000);
    assert.equal(parseIbNumber(''), undefined);
    assert.equal(parseIbNumber('N/A'), undefined);
    assert.equal(parseIbNumber('-'), undefined);
    assert.equal(parseIbNumber(null), undefined);
  });

  it('strips the C and H prefixes of the last price', () => {
    assert.deepEqual(parseLastPrice('C193.18'), { value: 193.18, priorClose: true, halted: false });
    assert.deepEqual(parseLastPrice('H12.5'), { value: 12.5, priorClose: false, halted: true });
    assert.deepEqual(parseLastPrice('193.18'), { value: 193.18, priorClose: false, halted: false });
    assert.deepEqual(parseLastPrice(''), { priorClose: false, halted: false });
  });

  it('reads 6509 availability', () => {
    assert.equal(parseAvailability('RpB'), 'live');
    assert.equal(parseAvailability('S'), 'live');
    assert.equal(parseAvailability('DPB'), 'delayed');
    assert.equal(parseAvailability('Z'), 'frozen');
    assert.equal(parseAvailability('Y'), 'frozen-delayed');
    assert.equal(parseAvailability('N'), 'not-subscribed');
    assert.equal(parseAvailability(undefined), 'unknown');
    assert.equal(parseAvailability('i'), 'unknown');
  });

  it('types values by field', () => {
    assert.equal(parseFieldValue('companyName', 'APPLE INC'), 'APPLE INC');
    assert.equal(parseFieldValue('symbol', ' AAPL '), 'AAPL');
    assert.equal(parseFieldValue('canBeTraded', '1'), true);
    assert.equal(parseFieldValue('canBeTraded', '0'), false);
    assert.equal(parseFieldValue('underlyingConid', '265598'), 265598);
    assert.equal(parseFieldValue('underlyingConid', '0'), undefined);
    assert.equal(parseFieldValue('bid', ''), undefined);
    assert.equal(parseFieldValue('changePct', '-1.25%'), -1.25);
    assert.equal(parseFieldValue('last', 'C100'), 100);
  });
});

describe('cpapi fields: snapshot rows', () => {
  it('parses the campus example', () => {
    const row = (variantBody('GET /iserver/marketdata/snapshot', 'campus row') as Record<string, unknown>[])[0]!;
    const s = parseSnapshotRow(row, ['last', 'bid', 'ask', 'volume']);
    assert.deepEqual(s, {
      conid: 265598,
      values: { last: 193.18, bid: 193.06, ask: 193.14 },
      availability: 'live',
      updated: 1702334859712,
    });
  });

  it('parses the conduit example (sizes, %, formatted volume)', () => {
    const row = (
      variantBody('GET /iserver/marketdata/snapshot', 'conduit row with sizes, %') as Record<string, unknown>[]
    )[0]!;
    const s = parseSnapshotRow(row, [
      'last',
      'bid',
      'ask',
      'askSize',
      'bidSize',
      'volume',
      'high',
      'low',
      'change',
      'changePct',
    ]);
    assert.deepEqual(s.values, {
      last: 655.89,
      bid: 655.88,
      ask: 655.9,
      askSize: 100,
      bidSize: 200,
      volume: 50_000_000,
      high: 658.2,
      low: 645.11,
      change: 3.5,
      changePct: 0.54,
    });
  });

  it('prefers 7762, then 87_raw, then 87 for volume', () => {
    assert.equal(
      parseSnapshotRow({ conid: 1, '7762': '12210000', '87': '12.2M' }, ['volume']).values.volume,
      12_210_000,
    );
    assert.equal(parseSnapshotRow({ conid: 1, '87': '12.2M', '87_raw': 1.22e7 }, ['volume']).values.volume, 12_200_000);
    assert.equal(parseSnapshotRow({ conid: 1, '87': '12.2M' }, ['volume']).values.volume, 12_200_000);
  });

  it('reports prior-close and halted last prices', () => {
    const s = parseSnapshotRow({ conid: 1, '31': 'C193.18' }, ['last']);
    assert.equal(s.values.last, 193.18);
    assert.equal(s.lastIsPriorClose, true);
    assert.equal(s.halted, undefined);
    assert.equal(parseSnapshotRow({ conid: 1, '31': 'H5' }, ['last']).halted, true);
  });

  it('pre-flight rows carry no values', () => {
    const row = { conid: 265598, conidEx: '265598' };
    const s = parseSnapshotRow(row, ['last']);
    assert.deepEqual(s.values, {});
    assert.equal(s.availability, 'unknown');
    assert.equal(rowHasField(row, 'last'), false);
    assert.equal(rowHasField({ conid: 1, '87_raw': 5 }, 'volume'), true);
  });
});
