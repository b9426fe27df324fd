// `node dist/cli.js` runs the server with the same 1 MB young generation as the bin's shebang
// (src/relaunch.ts): on a Node with process.execve the server process carries the flag, in the
// same process; on an older Node it runs without it, in one process all the same.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { SEMI_SPACE_FLAG } from '../../src/relaunch.js';
import { CLI, serverPid, startServer } from './harness.js';

test('node dist/cli.js: the server runs with the young-generation flag where Node can relaunch', async () => {
  const h = await startServer();
  try {
    const pid = serverPid(h.home);
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    const canRelaunch = typeof (process as unknown as { execve?: unknown }).execve === 'function';
    assert.equal(cmdline.includes(SEMI_SPACE_FLAG), canRelaunch, cmdline.join(' '));
    // One server process: the CLI runs nowhere else.
    const { readdirSync } = await import('node:fs');
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
    const q = await h.callTool('get_quote', { symbol: 'AAPL' });
    assert.equal(q.isError, false, q.text);
  } finally {
    await h.close();
  }
});
