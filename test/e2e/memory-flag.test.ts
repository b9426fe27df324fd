// `node dist/cli.js` runs with a young generation that stays at its first size (src/cli.ts,
// src/v8-flags.ts), in one process, however Node is started and whatever its version. Without the
// flag V8 grows the new space to 16 MB semi-spaces (33.6 MB) before the first tools/list answer.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { CLI, serverPid, startServer } from './harness.js';

test('node dist/cli.js: one process, and its new space stays small through a workload', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ibkr-mcp-heap-'));
  const report = join(dir, 'heap.json');
  const preload = join(dir, 'report.cjs');
  // Writes the new space's size when the server exits.
  writeFileSync(
    preload,
    `process.on('exit', () => { const s = require('v8').getHeapSpaceStatistics().find((x) => x.space_name === 'new_space');
      require('fs').writeFileSync(${JSON.stringify(report)}, JSON.stringify({ size: s.space_size })); });`,
  );
  const h = await startServer({ sim: false, env: { NODE_OPTIONS: `--require ${preload}` } });
  try {
    const pid = serverPid(h.home);
    const others = readdirSync('/proc').filter((d) => {
      if (!/^\d+$/.test(d) || Number(d) === pid) return false;
      try {
        return (
          readFileSync(`/proc/${d}/cmdline`, 'utf8').includes(CLI) &&
          readFileSync(`/proc/${d}/environ`, 'utf8').includes(`IBKR_MCP_HOME=${h.home}`)
        );
      } catch {
        return false;
      }
    });
    assert.deepEqual(others, []);
    for (const symbol of ['AAPL', 'MSFT', 'SPY', 'QQQ']) {
      const q = await h.callTool('get_quote', { symbol });
      assert.equal(q.isError, false, q.text);
      const b = await h.callTool('get_historical_data', { symbol, period: '1m', bar: '1h' });
      assert.equal(b.isError, false, b.text);
    }
    await h.client.close();
    const deadline = Date.now() + 10_000;
    while (!existsSync(report) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const { size } = JSON.parse(readFileSync(report, 'utf8')) as { size: number };
    // 1 MB semi-spaces: ~2 MB in all (16 MB ones: 33.6 MB).
    assert.ok(size < 8 * 1024 * 1024, `new space ${(size / 1e6).toFixed(1)} MB`);
  } finally {
    await h.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
