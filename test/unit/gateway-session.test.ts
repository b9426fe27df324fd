/** Daily-reset detection of the session state machine (pure; the machine itself is in test/integration). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { looksLikeDailyReset } from '../../src/gateway/session.js';

test('daily reset detection: around midnight New York / Zug / Hong Kong, or after ~24 h', () => {
  assert.equal(looksLikeDailyReset(Date.parse('2026-01-15T05:10:00Z')), true); // 00:10 New York (EST)
  assert.equal(looksLikeDailyReset(Date.parse('2026-07-15T22:05:00Z')), true); // 00:05 Zug (CEST)
  assert.equal(looksLikeDailyReset(Date.parse('2026-01-15T16:20:00Z')), true); // 00:20 Hong Kong
  assert.equal(looksLikeDailyReset(Date.parse('2026-01-15T14:00:00Z')), false);
  const t = Date.parse('2026-01-15T14:00:00Z');
  assert.equal(looksLikeDailyReset(t, t - 24 * 3600_000), true);
});
