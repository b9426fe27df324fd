import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  atmIndex,
  matchExpiration,
  nearestStrikes,
  parseExpiration,
  parseRight,
  selectStrikes,
  thirdFriday,
} from '../../src/tools/option-dates.js';

describe('parseExpiration', () => {
  test('every accepted date format names the same day', () => {
    for (const s of ['20250117', '250117', '2025-01-17', '2025/01/17', ' 2025-01-17 ']) {
      assert.deepEqual(parseExpiration(s), { kind: 'date', date: '2025-01-17' }, s);
    }
  });
  test('months map to the third Friday', () => {
    assert.deepEqual(parseExpiration('JAN25'), { kind: 'month', year: 2025, month: 1, monthly: '2025-01-17' });
    assert.deepEqual(parseExpiration('jan 2025'), { kind: 'month', year: 2025, month: 1, monthly: '2025-01-17' });
    assert.deepEqual(parseExpiration("MAR'24"), { kind: 'month', year: 2024, month: 3, monthly: '2024-03-15' });
    assert.deepEqual(parseExpiration('2026-12'), { kind: 'month', year: 2026, month: 12, monthly: '2026-12-18' });
  });
  test('rejects nonsense and impossible dates', () => {
    for (const s of ['', 'tomorrow', '20250230', '251301', 'FOO25', '2025-1-17', '123']) {
      assert.equal(parseExpiration(s), undefined, s);
    }
  });
  test('third Fridays', () => {
    assert.equal(thirdFriday(2024, 1), '2024-01-19');
    assert.equal(thirdFriday(2025, 1), '2025-01-17');
    assert.equal(thirdFriday(2026, 5), '2026-05-15');
    assert.equal(thirdFriday(2027, 1), '2027-01-15');
  });
});

describe('matchExpiration', () => {
  const listed = ['2026-11-27', '2026-12-04', '2026-12-11', '2026-12-18', '2027-01-15', '2027-03-19'];
  const today = '2026-11-24';
  test('an exact listed date', () => {
    assert.deepEqual(matchExpiration({ kind: 'date', date: '2026-12-04' }, listed, today), {
      ok: true,
      date: '2026-12-04',
    });
  });
  test('a month picks its third Friday', () => {
    const m = matchExpiration(parseExpiration('DEC26')!, listed, today);
    assert.equal(m.ok && m.date, '2026-12-18');
  });
  test('a month whose third Friday is not listed picks the nearest date in that month', () => {
    const m = matchExpiration(parseExpiration('DEC26')!, ['2026-12-04', '2026-12-17'], today);
    assert.equal(m.ok && m.date, '2026-12-17');
  });
  test('expired and unlisted dates list the nearest', () => {
    const e = matchExpiration({ kind: 'date', date: '2025-01-17' }, listed, today);
    assert.equal(e.ok, false);
    assert.equal(!e.ok && e.reason, 'expired');
    const n = matchExpiration({ kind: 'date', date: '2026-12-10' }, listed, today);
    assert.equal(!n.ok && n.reason, 'not-listed');
    assert.deepEqual(!n.ok && n.nearest, ['2026-11-27', '2026-12-04', '2026-12-11', '2026-12-18']);
    const m = matchExpiration(parseExpiration('FEB27')!, listed, today);
    assert.equal(!m.ok && m.reason, 'no-month');
  });
});

describe('strike selection', () => {
  const strikes = [170, 172.5, 175, 177.5, 180, 182.5, 185, 187.5, 190, 192.5, 195, 197.5, 200, 205, 210];
  test('atm index', () => {
    assert.equal(atmIndex(strikes, 183.9), 6);
    assert.equal(atmIndex(strikes, 100), 0);
    assert.equal(atmIndex([], 1), -1);
  });
  test('centred on the money', () => {
    const s = selectStrikes(strikes, 186, 5);
    assert.deepEqual(s.strikes, [180, 182.5, 185, 187.5, 190]);
    assert.equal(s.atm, 185);
    assert.equal(s.below, 4);
    assert.equal(s.above, 6);
  });
  test('even counts lean to the side of the price', () => {
    assert.deepEqual(selectStrikes(strikes, 186, 4).strikes, [182.5, 185, 187.5, 190]);
    assert.deepEqual(selectStrikes(strikes, 184, 4).strikes, [180, 182.5, 185, 187.5]);
  });
  test('shifts at the edges and caps at the list', () => {
    assert.deepEqual(selectStrikes(strikes, 160, 3).strikes, [170, 172.5, 175]);
    assert.deepEqual(selectStrikes(strikes, 300, 3).strikes, [200, 205, 210]);
    assert.equal(selectStrikes(strikes, 186, 100).strikes.length, strikes.length);
  });
  test('a band limits the candidates', () => {
    const s = selectStrikes(strikes, 186, 60, { min: 180, max: 190 });
    assert.deepEqual(s.strikes, [180, 182.5, 185, 187.5, 190]);
    assert.equal(selectStrikes(strikes, 186, 10, { min: 300 }).strikes.length, 0);
  });
  test('without a price the middle of the list', () => {
    assert.deepEqual(selectStrikes([1, 2, 3, 4, 5], undefined, 1).strikes, [3]);
  });
  test('nearest strikes', () => {
    assert.deepEqual(nearestStrikes(strikes, 186, 4), [182.5, 185, 187.5, 190]);
  });
  test('rights', () => {
    assert.equal(parseRight('call'), 'C');
    assert.equal(parseRight('P'), 'P');
    assert.equal(parseRight('x'), undefined);
  });
});
