/**
 * IB quotes a derivative only after the secdef search of its underlying in the session (issue 13
 * item 9). A conid this process never saw, quoted bare (from an earlier session, say), answers
 * nothing until then: the client looks it up, runs the search, and asks again.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { optionConids } from '../../bench/bulk.js';
import { createCpapiBackend } from '../../src/backends/cpapi/index.js';
import { Pacer } from '../../src/backends/cpapi/limiter.js';
import { type SimulatorHandle, startSimulator } from '../../src/simulator/index.js';

let sim: SimulatorHandle;
before(async () => {
  sim = await startSimulator({ port: 0, seed: 5, pacing: false, tls: false });
  await fetch(`${sim.url}/sim/faults`, { method: 'POST', body: JSON.stringify({ derivativeSearch: true }) });
});
after(async () => {
  await sim.close();
});

test('bare option conids never seen are priced after the underlying search', async () => {
  const backend = createCpapiBackend({ baseUrl: sim.url, pacer: new Pacer({ endpoints: {} }), timeoutMs: 3000 });
  try {
    const conids = optionConids(sim, 'SPY', 40);
    const rows = await backend.snapshot(conids, ['bid', 'ask'], { maxWaitMs: 2500 });
    const priced = rows.filter((r) => typeof r.values.ask === 'number');
    assert.equal(priced.length, conids.length, `${priced.length} of ${conids.length} priced`);
    const searches = sim.state.stats.byEndpoint['POST /iserver/secdef/search'] ?? 0;
    assert.ok(searches >= 1 && searches <= 5, `${searches} searches`);
    const lookups = sim.state.stats.byEndpoint['GET /iserver/contract/:conid/info'] ?? 0;
    assert.ok(lookups <= 5, `${lookups} contract lookups`);
    // The search starts as soon as the conids answer nothing after their pre-flight, not at the
    // end of the wait: pre-flight, silent, (search), pre-flight, data. It once polled until the
    // 2.5 s deadline first (about 15 requests).
    const snapshots = sim.state.stats.byEndpoint['GET /iserver/marketdata/snapshot'] ?? 0;
    assert.ok(snapshots <= 5, `${snapshots} snapshot requests`);
  } finally {
    await backend.close();
  }
});
