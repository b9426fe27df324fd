import assert from 'node:assert/strict';
import { test } from 'node:test';
import { byCode, grouped, todayNewYork, wallClock, type Zone } from '../../src/broker/locale.js';

const ZONES: Zone[] = ['America/New_York', 'Europe/Zurich', 'Asia/Hong_Kong'];

function intlWallClock(zone: Zone, at: number) {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-CA', {
      timeZone: zone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    })
      .formatToParts(new Date(at))
      .map((p) => [p.type, p.value]),
  );
  return { date: `${parts.year}-${parts.month}-${parts.day}`, hour: Number(parts.hour), minute: Number(parts.minute) };
}

test('wall clocks agree with Intl every 17 minutes from 2008 to 2040', () => {
  const step = 17 * 60_000;
  let checked = 0;
  for (let at = Date.UTC(2008, 0, 1); at < Date.UTC(2040, 0, 1); at += step * 97) {
    for (const zone of ZONES) {
      assert.deepEqual(wallClock(zone, at), intlWallClock(zone, at), `${zone} at ${new Date(at).toISOString()}`);
      checked++;
    }
  }
  assert.ok(checked > 3000);
});

test('every daylight-saving switch, minute by minute around it', () => {
  for (let year = 2008; year < 2040; year++) {
    for (const [zone, months] of [
      ['America/New_York', [2, 10]],
      ['Europe/Zurich', [2, 9]],
    ] as const) {
      for (const month of months) {
        for (let day = 1; day <= 31; day++) {
          const midnight = Date.UTC(year, month, day);
          if (new Date(midnight).getUTCDay() !== 0) continue;
          for (let at = midnight; at < midnight + 12 * 3_600_000; at += 15 * 60_000) {
            assert.deepEqual(wallClock(zone, at), intlWallClock(zone, at), `${zone} at ${new Date(at).toISOString()}`);
          }
        }
      }
    }
  }
});

test('today in New York turns at New York midnight', () => {
  assert.equal(todayNewYork(Date.parse('2026-11-24T04:59:00Z')), '2026-11-23');
  assert.equal(todayNewYork(Date.parse('2026-11-24T05:00:00Z')), '2026-11-24');
  assert.equal(todayNewYork(Date.parse('2026-07-04T03:59:00Z')), '2026-07-03');
  assert.equal(todayNewYork(Date.parse('2026-07-04T04:00:00Z')), '2026-07-04');
});

test('grouped numbers match en-US formatting', () => {
  const cases = [0, 1, -1, 12.5, 999.999, 1000, -1234.5, 1234567.891, 0.004, -0.004, 1e12 + 0.25, 100000, -999999.996];
  // Intl writes "-0" for a negative amount that rounds to zero; a zero is a zero.
  const intl = (v: number, max: number, min: number) =>
    v
      .toLocaleString('en-US', { maximumFractionDigits: max, minimumFractionDigits: min })
      .replace(/^-(0(\.0*)?)$/, '$1');
  for (const v of cases) {
    assert.equal(grouped(v), intl(v, 2, 0), String(v));
    assert.equal(grouped(v, 4, 2), intl(v, 4, 2), String(v));
  }
  assert.equal(grouped(Number.NaN), 'NaN');
});

test('codes sort by their characters', () => {
  assert.deepEqual(['USD', 'CHF', 'EUR', 'BRK B', 'AAPL'].sort(byCode), ['AAPL', 'BRK B', 'CHF', 'EUR', 'USD']);
  assert.equal(byCode('A', 'A'), 0);
});
