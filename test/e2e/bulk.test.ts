/**
 * A window's worth of snapshot requests goes out at once: with 1,000 conids the ten pre-flight
 * requests (100 conids each) all reach the gateway before the first answer could come back. The
 * connection pool once had 4 connections, which sent them in three waves of the gateway's latency.
 * And one call with 1,000 unknown symbols once made 1,000 contract searches over 106 s, with a
 * quote asked meanwhile waiting behind all of them.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { optionConids } from '../../bench/bulk.js';
import { type Harness, startServer, untilSeen } from './harness.js';

const LATENCY_MS = 300;

describe('bulk quotes', { timeout: 60_000 }, () => {
  let h: Harness;
  before(async () => {
    // IB's full 10 a second (the default keeps 2 of them for other clients of the gateway):
    // the window's worth of requests is what this test is about.
    h = await startServer({ args: ['--requests-per-second', '10'] });
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
    // IB quotes an option only after the secdef search of its underlying in the session, and these
    // conids were never seen: ten pre-flights and ten requests that show them silent, then (after
    // the search) ten pre-flights and ten data requests. Before the client started its recovery
    // after the second answer, it polled the silent conids until the deadline (93 requests).
    assert.equal(arrivals.length, 40, 'two rounds of ten pre-flights and ten data requests, around one search');
    assert.equal(h.sim!.state.stats.byEndpoint['POST /iserver/secdef/search'], 1);
    const first = arrivals.slice(0, 10);
    assert.ok(
      first[9]! - first[0]! < LATENCY_MS * 0.8,
      `pre-flights spread over ${first.map(Math.round).join(', ')} ms`,
    );
    assert.equal((await h.simStats()).status429, 0);
  });

  test('1,000 unknown symbols: at most 50 searched, the rest told why, and a quote asked meanwhile answers in seconds', async () => {
    await h.simControl('/sim/faults', { clear: true });
    assert.equal((await h.callTool('get_quote', { symbol: 'MSFT' })).isError, false);
    await new Promise((r) => setTimeout(r, 1100));
    await h.simControl('/sim/reset', {});
    const symbols = Array.from({ length: 1000 }, (_, i) => `QX${String(i).padStart(3, '0')}`);
    const t0 = performance.now();
    let bigMs: number | undefined;
    const big = h.callTool('get_quote', { symbols }).then((r) => {
      bigMs = performance.now() - t0;
      return r;
    });
    await new Promise((r) => setTimeout(r, 1500));
    const t1 = performance.now();
    const msft = await h.callTool('get_quote', { symbol: 'MSFT' });
    const quoteMs = performance.now() - t1;
    assert.equal(msft.isError, false, msft.text);
    assert.equal(bigMs, undefined, 'the big call was still in flight when the quote answered');
    // Generous for a loaded CI machine: pacing alone would allow well under a second.
    assert.ok(quoteMs < 4000, `the quote took ${Math.round(quoteMs)} ms`);
    const r = await big;
    assert.equal(r.isError, false, r.text.slice(0, 300));
    assert.ok(bigMs! < 30_000, `the big call took ${Math.round(bigMs!)} ms`);
    const errors = (r.structured as { errors: Array<{ input: string; error: string }> }).errors;
    assert.equal(errors.length, 1000);
    const skipped = errors.filter((e) => /too many unknown symbols in one call/.test(e.error));
    assert.equal(skipped.length, 950);
    assert.match(skipped[0]!.error, /conids/);
    const st = await h.simStats();
    assert.ok((st.byEndpoint['POST /iserver/secdef/search'] ?? 0) <= 50, JSON.stringify(st.byEndpoint));
    assert.equal(st.status429, 0);
  });
});
