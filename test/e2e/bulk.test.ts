/**
 * A window's worth of snapshot requests goes out at once: with 1,000 conids the ten pre-flight
 * requests (100 conids each) all reach the gateway before the first answer could come back. The
 * connection pool once had 4 connections, which sent them in three waves of the gateway's latency.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { optionConids } from '../../bench/bulk.js';
import { type Harness, startServer, untilSeen } from './harness.js';

const LATENCY_MS = 300;

describe('bulk quotes', { timeout: 60_000 }, () => {
  let h: Harness;
  before(async () => {
    h = await startServer();
  });
  after(async () => {
    await h.close();
  });

  test('1,000 conids: ten snapshot requests in flight together, every quote priced, no 429', async () => {
    // Let the start-up warm-up finish and its pacing window pass, then slow every answer down.
    await untilSeen(h, 'GET /iserver/account/pnl/partitioned');
    await new Promise((r) => setTimeout(r, 1300));
    await h.simControl('/sim/faults', { latencyMs: LATENCY_MS });
    await h.simControl('/sim/reset', {});
    const conids = optionConids(h.sim!, 'SPY', 1000);
    const arrivals: number[] = [];
    const t0 = performance.now();
    const sampler = setInterval(() => {
      const n = h.sim!.state.stats.byEndpoint['GET /iserver/marketdata/snapshot'] ?? 0;
      while (arrivals.length < n) arrivals.push(performance.now() - t0);
    }, 2);
    const r = await h.callTool('get_quote', { conids });
    clearInterval(sampler);
    assert.equal(r.isError, false, r.text);
    const rows = (r.structured as { quotes: Array<{ last?: number; bid?: number }> }).quotes;
    assert.equal(rows.length, 1000);
    assert.ok(rows.every((q) => q.last !== undefined || q.bid !== undefined));
    assert.equal(arrivals.length, 20, 'ten pre-flights and ten data requests');
    const first = arrivals.slice(0, 10);
    assert.ok(
      first[9]! - first[0]! < LATENCY_MS * 0.8,
      `pre-flights spread over ${first.map(Math.round).join(', ')} ms`,
    );
    assert.equal((await h.simStats()).status429, 0);
  });
});
