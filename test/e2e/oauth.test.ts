/**
 * OAuth 1.0a through the built binary: `ibkr-mcp doctor --auth oauth` checks the setup end to end
 * against the OAuth simulator, and names the failing step with what to do when IB refuses.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { CLI } from './harness.js';
import { oauthFixture } from './oauth-harness.js';

function run(args: string[], env: Record<string, string>): Promise<{ status: number; stdout: string; stderr: string }> {
  // Asynchronously: the simulator runs in this process and must keep answering.
  return new Promise((res) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      { encoding: 'utf8', timeout: 30_000, env: { ...process.env, ...env } },
      (err, stdout, stderr) => res({ status: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

test('ibkr-mcp doctor over OAuth: every part, the token, the session, accounts and market data', async () => {
  const f = await oauthFixture();
  const home = mkdtempSync(join(tmpdir(), 'ibkr-mcp-oauth-doctor-'));
  try {
    const r = await run(['doctor'], { ...f.env, IBKR_MCP_HOME: home });
    for (const line of [
      /^PASS {2}OAuth: consumer key/m,
      /^PASS {2}OAuth: private signature key/m,
      /^PASS {2}OAuth: DH parameters/m,
      /^PASS {2}OAuth: decrypt the access token secret/m,
      /^PASS {2}OAuth: live session token: IB gave one/m,
      /^PASS {2}Session: authenticated/m,
      /^PASS {2}Accounts: /m,
      /^(PASS|WARN) {2}Market data/m,
    ]) {
      assert.match(r.stdout, line, `${r.stdout}${r.stderr}`);
    }
    assert.doesNotMatch(r.stdout, /Java|Chromium|Gateway answering/);
    assert.equal(r.status, 0, r.stdout);
    for (const secret of [f.env.IB_OAUTH_ACCESS_TOKEN!, f.env.IB_OAUTH_ACCESS_TOKEN_SECRET!.slice(0, 40)]) {
      assert.ok(!`${r.stdout}${r.stderr}`.includes(secret), 'no secret printed');
    }

    f.sim.oauth!.fault({ revokeToken: true });
    const revoked = await run(['doctor'], { ...f.env, IBKR_MCP_HOME: home });
    assert.equal(revoked.status, 1);
    assert.match(revoked.stdout, /^FAIL {2}OAuth: request the live session token: IB refused the access token/m);
    assert.match(revoked.stdout, /→ Generate a new access token/);
  } finally {
    rmSync(home, { recursive: true, force: true });
    await f.close();
  }
});
