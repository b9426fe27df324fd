/**
 * What a fresh server asks IB for after login, before any tool call: one /iserver/accounts (the
 * session manager's; the backend takes its answer instead of asking again: it used to ask twice,
 * one request of IB's ten a second wasted at the busiest moment), then the live-orders feed (IB
 * answers its first call empty and allows one call per 5 s, so it is opened first), then the
 * portfolio account list.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type Harness, startServer } from './harness.js';

describe('start-up requests', { timeout: 60_000 }, () => {
  let h: Harness;
  const seen: string[] = [];
  let sampler: NodeJS.Timeout | undefined;

  before(async () => {
    // The REST warm-up's order (src/backends/cpapi/backend.ts warmUpWith). With IB's WebSocket on,
    // live orders are read once the socket subscribed, to seed it (test/e2e/stream-seed.test.ts).
    h = await startServer({ args: ['--no-websocket'] });
    // The simulator's counters, sampled in the test process: the order in which endpoints first appear.
    sampler = setInterval(() => {
      for (const k of Object.keys(h.sim!.state.stats.byEndpoint)) if (!seen.includes(k)) seen.push(k);
    }, 2);
  });
  after(async () => {
    clearInterval(sampler);
    await h.close();
  });

  test('one /iserver/accounts, live orders opened before the portfolio warm-up, none again for a quote', async () => {
    const deadline = Date.now() + 10_000;
    while (!seen.includes('GET /portfolio/accounts') && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
    }
    let stats = await h.simStats();
    assert.equal(stats.byEndpoint['GET /iserver/accounts'], 1, JSON.stringify(stats.byEndpoint));
    assert.ok(seen.includes('GET /iserver/account/orders'), `live orders primed: ${seen.join(', ')}`);
    assert.ok(
      seen.indexOf('GET /iserver/account/orders') < seen.indexOf('GET /portfolio/accounts'),
      `live orders before the portfolio accounts: ${seen.join(', ')}`,
    );
    const q = await h.callTool('get_quote', { symbol: 'AAPL' });
    assert.equal(q.isError, false, q.text);
    stats = await h.simStats();
    assert.equal(stats.byEndpoint['GET /iserver/accounts'], 1, JSON.stringify(stats.byEndpoint));
    assert.equal(stats.status429, 0);
  });
});

// The default configuration (no settings: the built-in simulator) answers tools/list without
// loading the simulator, which the first tool call starts (src/runtime.ts, simulatorOnFirstUse).
describe('default configuration: the simulator starts at the first call', { timeout: 60_000 }, () => {
  test('tools/list, then a quote from the simulator; a server never called shuts down cleanly', async () => {
    const idle = await startServer({ sim: false, backendArgs: [] });
    assert.ok((await idle.client.listTools()).tools.length > 10);
    await idle.close();
    assert.doesNotMatch(idle.stderr(), /did not start|error/i, idle.stderr());

    const h = await startServer({ sim: false, backendArgs: [] });
    try {
      assert.ok((await h.client.listTools()).tools.some((t) => t.name === 'get_quote'));
      const [a, b] = await Promise.all([
        h.callTool('get_quote', { symbol: 'AAPL' }),
        h.callTool('get_connection_status', {}),
      ]);
      assert.equal(a.isError, false, a.text);
      assert.equal(a.structured.mode, 'SIMULATED');
      assert.equal(b.isError, false, b.text);
      assert.equal(b.structured.state, 'authenticated', b.text);
    } finally {
      await h.close();
    }
  });

  test('a status read without refresh as the first call starts the simulator too', async () => {
    const h = await startServer({ sim: false, backendArgs: [] });
    try {
      let state = '';
      for (let i = 0; i < 50 && state !== 'authenticated'; i++) {
        state = (await h.callTool('get_connection_status', { refresh: false })).structured.state;
        if (state !== 'authenticated') await new Promise((r) => setTimeout(r, 100));
      }
      assert.equal(state, 'authenticated');
    } finally {
      await h.close();
    }
  });
});
