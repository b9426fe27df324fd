import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  blackScholes,
  normCdf,
  occSymbol,
  optionText,
  smileVol,
  strikeIncrement,
  strikeLadder,
} from '../../src/simulator/options.js';

describe('Black-Scholes', () => {
  test('normal CDF', () => {
    assert.ok(Math.abs(normCdf(0) - 0.5) < 1e-15);
    assert.ok(Math.abs(normCdf(1.96) - 0.9750021048517795) < 1e-12);
    assert.ok(Math.abs(normCdf(-1) - 0.15865525393145707) < 1e-12);
    for (const x of [-5, -1.3, 0.2, 3.7, 9]) assert.ok(Math.abs(normCdf(x) + normCdf(-x) - 1) < 1e-14);
  });

  test('a textbook value (Hull: S=42 K=40 r=10% sigma=20% T=0.5)', () => {
    const c = blackScholes({ S: 42, K: 40, T: 0.5, r: 0.1, q: 0, sigma: 0.2, right: 'C' });
    const p = blackScholes({ S: 42, K: 40, T: 0.5, r: 0.1, q: 0, sigma: 0.2, right: 'P' });
    assert.ok(Math.abs(c.price - 4.76) < 0.005, String(c.price));
    assert.ok(Math.abs(p.price - 0.81) < 0.005, String(p.price));
  });

  test('put-call parity, delta bounds and signs, positive gamma and vega, across a grid', () => {
    for (const S of [20, 190, 6900]) {
      for (const m of [0.5, 0.8, 0.95, 1, 1.05, 1.25, 2]) {
        for (const T of [1 / 365, 0.05, 0.5, 2]) {
          for (const q of [0, 0.013, 0.04]) {
            const K = S * m;
            const sigma = smileVol(0.25, S, K, T);
            const c = blackScholes({ S, K, T, r: 0.04, q, sigma, right: 'C' });
            const p = blackScholes({ S, K, T, r: 0.04, q, sigma, right: 'P' });
            const parity = S * Math.exp(-q * T) - K * Math.exp(-0.04 * T);
            assert.ok(Math.abs(c.price - p.price - parity) < 1e-9 * S, `parity S=${S} K=${K} T=${T}`);
            assert.ok(c.delta >= 0 && c.delta <= 1, `call delta ${c.delta}`);
            assert.ok(p.delta >= -1 && p.delta <= 0, `put delta ${p.delta}`);
            assert.ok(Math.abs(c.delta - p.delta - Math.exp(-q * T)) < 1e-12);
            assert.ok(c.gamma >= 0 && Math.abs(c.gamma - p.gamma) < 1e-15);
            assert.ok(c.vega >= 0 && Math.abs(c.vega - p.vega) < 1e-12);
            assert.ok(c.price >= -1e-12 && p.price >= -1e-12);
          }
        }
      }
    }
  });

  test('prices move with the underlying: calls up, puts down', () => {
    const at = (S: number, right: 'C' | 'P') =>
      blackScholes({ S, K: 100, T: 0.25, r: 0.04, q: 0, sigma: 0.3, right }).price;
    assert.ok(at(101, 'C') > at(100, 'C'));
    assert.ok(at(101, 'P') < at(100, 'P'));
    // Delta predicts the change.
    const d = blackScholes({ S: 100, K: 100, T: 0.25, r: 0.04, q: 0, sigma: 0.3, right: 'C' }).delta;
    assert.ok(Math.abs(at(100.01, 'C') - at(100, 'C') - d * 0.01) < 1e-5);
  });

  test('theta is negative per day for an at-the-money call, vega per vol point', () => {
    const a = { S: 100, K: 100, T: 0.25, r: 0.04, q: 0, right: 'C' as const };
    const c = blackScholes({ ...a, sigma: 0.3 });
    assert.ok(c.theta < 0 && c.theta > -0.2);
    const up = blackScholes({ ...a, sigma: 0.31 });
    assert.ok(Math.abs(up.price - c.price - c.vega) < 0.01);
  });

  test('smile: out-of-the-money puts dearer than calls, never below half the ATM vol', () => {
    assert.ok(smileVol(0.2, 100, 80, 0.25) > smileVol(0.2, 100, 120, 0.25));
    assert.ok(smileVol(0.2, 100, 100, 0.25) === 0.2);
    assert.ok(smileVol(0.2, 100, 1, 0.01) >= 0.1);
  });
});

describe('chain layout', () => {
  test('strike increments by price level', () => {
    assert.equal(strikeIncrement(12, 'stock'), 0.5);
    assert.equal(strikeIncrement(150, 'stock'), 2.5);
    assert.equal(strikeIncrement(270, 'stock'), 5);
    assert.equal(strikeIncrement(688, 'etf'), 1);
    assert.equal(strikeIncrement(6900, 'index'), 5);
  });
  test('ladders are sorted, positive, on their grid and cover the money', () => {
    const l = strikeLadder(688.3, 1, 0.35);
    assert.deepEqual(
      [...l].sort((a, b) => a - b),
      l,
    );
    assert.ok(l.every((k) => k > 0 && Number.isInteger(k)));
    assert.ok(l.includes(688) && l.includes(668) && l.includes(708));
    assert.ok(l[0]! < 688 * 0.7 && l[l.length - 1]! > 688 * 1.3);
    assert.ok(l.length < 200, String(l.length));
    const s = strikeLadder(6895, 5, 0.15);
    assert.ok(s.every((k) => k % 5 === 0));
  });
  test('IB text and OCC symbols', () => {
    assert.equal(optionText('20240105', 195, 'P'), "JAN 05 '24 195 Put");
    assert.equal(occSymbol('IBM', '20240315', 187.5, 'C'), 'IBM   240315C00187500');
  });
});
