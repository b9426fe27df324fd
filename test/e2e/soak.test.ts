/**
 * Soak inside `npm test`: 2,000 mixed tool calls against one server process (the full 10,000 run
 * is `npm run soak`, bench/soak.ts). Resident memory at the end within 20% of that after the
 * first 1,000 calls; no growth in open sockets or file descriptors beyond the gateway
 * connection pool; no internal error and no protocol failure.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { describeSoak, POOL_CONNECTIONS, soak } from '../../bench/soak.js';
import { serverPid, startServer } from './harness.js';

describe('soak', { timeout: 150_000 }, () => {
  test('2,000 mixed calls: memory and handles stay flat', async () => {
    // As shipped: the binary's shebang gives Node a 1 MB young generation (without it V8's default
    // 16 MB semi-spaces fill up during the run and read as growth).
    const h = await startServer({ nodeArgs: ['--max-semi-space-size=1'] });
    try {
      const pid = serverPid(h.home);
      // 8 in every 100 calls reach the gateway (paced at IB's 10 requests/s); the rest are answered locally.
      const r = await soak(h.client, pid, { calls: 2000, warmup: 1000, concurrency: 4, period: 100 });
      process.stderr.write(`soak: ${describeSoak(r)}\n`);
      assert.deepEqual(r.unexpected, []);
      assert.ok(r.end.rssMb <= r.afterWarmup.rssMb * 1.2, `RSS grew more than 20%: ${describeSoak(r)}`);
      assert.ok(r.end.sockets - r.afterWarmup.sockets < POOL_CONNECTIONS, `sockets grew: ${describeSoak(r)}`);
      assert.ok(
        r.end.fds - r.afterWarmup.fds <= r.end.sockets - r.afterWarmup.sockets + 1,
        `handles grew: ${describeSoak(r)}`,
      );
      // Still serving.
      const q = await h.callTool('get_quote', { symbol: 'AAPL' });
      assert.equal(q.isError, false, q.text);
    } finally {
      await h.close();
    }
  });
});
