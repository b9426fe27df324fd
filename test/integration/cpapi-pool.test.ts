// The HTTP client loads undici's Pool and request method alone, not the package's index (src/backends/cpapi/http.ts):
// this test notices when a new undici moves those files (the client would still work, through the index).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadPool } from '../../src/backends/cpapi/http.js';
import { startSimulator } from '../../src/simulator/index.js';

test("undici's Pool is loaded without the package's index, and answers", async () => {
  const { lean, open } = await loadPool();
  assert.equal(lean, true);
  const sim = await startSimulator({ port: 0 });
  const pool = open(sim.url, { connect: { rejectUnauthorized: false } });
  try {
    const res = await pool.request({ path: '/sim/info', method: 'GET' });
    assert.equal(res.statusCode, 200);
    assert.equal(((await res.body.json()) as { seed: number }).seed, 42);
  } finally {
    await pool.destroy();
    await sim.close();
  }
});
