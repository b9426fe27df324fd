import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  allowedBars,
  parseHistoryResponse,
  parseSpan,
  toIbStartTime,
  validateHistoryParams,
} from '../../src/backends/cpapi/history-rules.js';
import { BrokerError } from '../../src/broker/errors.js';

function invalid(fn: () => unknown, re: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof BrokerError);
    assert.equal(e.code, 'INVALID_INPUT');
    assert.match(`${e.message} ${e.hint}`, re);
    return true;
  });
}

describe('cpapi history rules', () => {
  it('parses IB syntax and friendly aliases', () => {
    assert.deepEqual(parseSpan('5min'), { n: 5, unit: 'min' });
    assert.deepEqual(parseSpan('1h'), { n: 1, unit: 'h' });
    assert.deepEqual(parseSpan('1 day'), { n: 1, unit: 'd' });
    assert.deepEqual(parseSpan('5 days'), { n: 5, unit: 'd' });
    assert.deepEqual(parseSpan('2 weeks'), { n: 2, unit: 'w' });
    assert.deepEqual(parseSpan('1m'), { n: 1, unit: 'm' });
    assert.deepEqual(parseSpan('6mo'), { n: 6, unit: 'm' });
    assert.deepEqual(parseSpan('1M'), { n: 1, unit: 'm' });
    assert.deepEqual(parseSpan('15 mins'), { n: 15, unit: 'min' });
    assert.deepEqual(parseSpan('daily'), { n: 1, unit: 'd' });
    assert.deepEqual(parseSpan('hourly'), { n: 1, unit: 'h' });
    assert.deepEqual(parseSpan('1y'), { n: 1, unit: 'y' });
    assert.equal(parseSpan('abc'), undefined);
    assert.equal(parseSpan(''), undefined);
  });

  it('accepts valid combinations and normalises them', () => {
    assert.deepEqual(validateHistoryParams('1d', '1min'), { period: '1d', bar: '1min' });
    assert.deepEqual(validateHistoryParams('1 week', '1 day'), { period: '1w', bar: '1d' });
    assert.deepEqual(validateHistoryParams('1y', 'daily'), { period: '1y', bar: '1d' });
    assert.deepEqual(validateHistoryParams('5d', '5 mins'), { period: '5d', bar: '5min' });
    assert.deepEqual(validateHistoryParams('15y', '1m'), { period: '15y', bar: '1m' });
    assert.deepEqual(validateHistoryParams('30min', '1min'), { period: '30min', bar: '1min' });
  });

  it('fills the default bar for the period', () => {
    assert.equal(validateHistoryParams('1d').bar, '1min');
    assert.equal(validateHistoryParams('1w').bar, '15min');
    assert.equal(validateHistoryParams('6m', '').bar, '1d');
    assert.equal(validateHistoryParams('3y').bar, '1w');
  });

  it('rejects bad periods', () => {
    invalid(() => validateHistoryParams('31min', '1min'), /1-30min/);
    invalid(() => validateHistoryParams('9h', '1min'), /1-8h/);
    invalid(() => validateHistoryParams('16y', '1w'), /1-15y/);
    invalid(() => validateHistoryParams('0d', '1min'), /period/);
    invalid(() => validateHistoryParams('forever', '1d'), /period/);
  });

  it('rejects bars outside the step table, naming the allowed ones', () => {
    invalid(() => validateHistoryParams('1y', '1min'), /8h, 1d, 1w, 1m/);
    invalid(() => validateHistoryParams('1d', '1w'), /1min, 2min.*8h/);
    invalid(() => validateHistoryParams('15y', '1d'), /1w, 1m/);
    invalid(() => validateHistoryParams('1d', '7min'), /Bar sizes are/);
    invalid(() => validateHistoryParams('1w', '5min'), /10min/);
  });

  it('lists allowed bars per period', () => {
    assert.deepEqual(allowedBars({ n: 1, unit: 'm' }).bars, ['1h', '2h', '3h', '4h', '8h', '1d', '1w', '1m']);
    assert.deepEqual(allowedBars({ n: 2, unit: 'y' }).bars, ['1d', '1w', '1m']);
  });

  it('formats the end time as IB startTime', () => {
    assert.equal(toIbStartTime('2024-05-01T16:00:00Z'), '20240501-16:00:00');
    assert.equal(toIbStartTime(String(Date.UTC(2025, 0, 2, 3, 4, 5))), '20250102-03:04:05');
    invalid(() => toIbStartTime('yesterday'), /end time/);
  });

  it('converts the v3 history envelope', () => {
    const env = {
      serverId: '4155816',
      symbol: 'AAPL',
      text: 'APPLE INC',
      priceFactor: 100,
      startTime: '20250513-13:30:00',
      high: '21394/266616.18/1440',
      low: '20426/267569.89/8640',
      timePeriod: '1w',
      barLength: 86400,
      mdAvailability: 'S',
      mktDataDelay: 0,
      outsideRth: false,
      volumeFactor: 100,
      data: [
        { o: 210.95, c: 211.45, h: 212.96, l: 209.54, v: 256847.25, t: 1747315800000 },
        { o: 212.43, c: 212.33, h: 213.94, l: 210.58, v: 266616.18, t: 1747229400000 },
      ],
      points: 1,
    };
    const r = parseHistoryResponse(265598, env);
    assert.equal(r.conid, 265598);
    assert.equal(r.symbol, 'AAPL');
    assert.equal(r.availability, 'live');
    assert.equal(r.truncated, undefined);
    assert.deepEqual(r.bars[0], { t: 1747229400000, o: 212.43, h: 213.94, l: 210.58, c: 212.33, v: 26661618 });
    assert.equal(r.bars[1]?.v, 25684725);
  });

  it('flags 1000-point responses as truncated and tolerates junk', () => {
    const data = Array.from({ length: 1000 }, (_, i) => ({ o: 1, h: 1, l: 1, c: 1, v: 1, t: 1_700_000_000 + i * 60 }));
    const r = parseHistoryResponse(1, { data, volumeFactor: 1, mdAvailability: 'D' });
    assert.equal(r.truncated, true);
    assert.equal(r.availability, 'delayed');
    assert.equal(r.bars[0]?.t, 1_700_000_000_000);
    assert.deepEqual(parseHistoryResponse(1, { data: [null, { o: 'x' }] }).bars, []);
    assert.deepEqual(parseHistoryResponse(1, undefined).bars, []);
  });
});
