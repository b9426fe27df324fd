import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseHistoryResponse } from '../../src/backends/cpapi/history-rules.js';
import { HISTORY_SAMPLES } from '../fixtures/ib/history.js';

describe('history volume: every recorded shape', () => {
  for (const [name, s] of Object.entries(HISTORY_SAMPLES)) {
    test(`${name} (${s.source})`, () => {
      const r = parseHistoryResponse(265598, s.body, s.inst);
      assert.equal(r.bars.length, s.expect.bars);
      assert.equal(r.bars[0]?.v, s.expect.v);
      assert.equal(r.volumeUnit, s.expect.unit);
      assert.ok(r.bars.every((b) => Number.isFinite(b.o) && Number.isFinite(b.t)));
    });
  }

  test('a US stock day lands in tens of millions of shares whatever the factor', () => {
    for (const s of [
      HISTORY_SAMPLES.HISTORY_V3_FACTOR_100,
      HISTORY_SAMPLES.HISTORY_CAMPUS_FACTOR_1,
      HISTORY_SAMPLES.HISTORY_RECORDED_FACTOR_40,
    ]) {
      const v = parseHistoryResponse(265598, s.body, s.inst).bars[0]?.v ?? 0;
      assert.ok(v > 10e6 && v < 200e6, `${s.source}: ${v}`);
    }
  });

  test('garbage never becomes an internal error', () => {
    for (const body of [null, 'x', { data: 'x' }, { data: [null, 1, { t: 'x' }] }, { volumeFactor: 'abc', data: [] }]) {
      const r = parseHistoryResponse(1, body);
      assert.deepEqual(r.bars, []);
      assert.equal(r.volumeUnit, undefined);
    }
  });
});
