// The HTTP client's keep-alive pool (src/backends/cpapi/http.ts) opens and answers against the simulator.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadPool } from '../../src/backends/cpapi/http.js';
import { startSimulator } from '../../src/simulator/index.js';

test("undici's Pool answers", async () => {
  const { open } = await loadPool();
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
