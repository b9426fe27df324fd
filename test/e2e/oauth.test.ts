/**
 * OAuth 1.0a through the built binary: `ibkr-mcp doctor --auth oauth` checks the setup end to end
 * against the OAuth simulator, and names the failing step with what to do when IB refuses.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { CLI } from './harness.js';
import { oauthFixture, oauthServer } from './oauth-harness.js';

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

test('the whole flow through the binaries: oauth setup, simulator --oauth, then doctor', async () => {
  const home = mkdtempSync(join(tmpdir(), 'ibkr-mcp-oauth-flow-'));
  const env = { IBKR_MCP_HOME: home };
  const dir = join(home, 'oauth');
  let simProc: ChildProcess | undefined;
  try {
    // 1. Keys (setup stops at step 3 until the portal's credentials are given).
    const setup = await run(['oauth', 'setup', '--standard-dh-group'], env);
    assert.equal(setup.status, 1, setup.stdout + setup.stderr);
    assert.match(setup.stdout, /Not given yet/);
    // 2. The simulator as the portal and api.ibkr.com: a consumer for those keys, credentials written 0600.
    const credsFile = join(dir, 'credentials.json');
    simProc = spawn(process.execPath, [CLI, 'simulator', '--port', '0', '--oauth', dir, '--oauth-out', credsFile], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`simulator did not start: ${out}`)), 15_000);
      simProc!.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        if (/Use it with/.test(out)) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    const base = /--oauth-base-url (\S+)/.exec(out)![1]!;
    assert.equal(statSync(credsFile).mode & 0o777, 0o600);
    // 3. The stored setup and that URL are all the server needs.
    const r = await run(['doctor', '--auth', 'oauth', '--oauth-base-url', base], env);
    assert.match(r.stdout, /^PASS {2}OAuth: live session token/m, r.stdout + r.stderr);
    assert.match(r.stdout, /^PASS {2}Session: authenticated/m, r.stdout);
    assert.equal(r.status, 0, r.stdout);
  } finally {
    simProc?.kill('SIGTERM');
    rmSync(home, { recursive: true, force: true });
  }
});

test('200 tool calls across live session token renewals: 0 failed, 0 401 surfaced', async () => {
  // Tokens live 4 s and a new one ends the old; once, IB also drops every token without warning.
  const o = await oauthServer({ lstLifetimeMs: 4000 });
  try {
    const symbols = ['AAPL', 'MSFT', 'NVDA', 'AMZN', 'GOOGL', 'META', 'TSLA', 'JPM', 'V', 'SPY'];
    let next = 0;
    const errors: string[] = [];
    const drop = setTimeout(() => o.sim.oauth!.fault({ expireTokens: true }), 2000);
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: 20 }, async () => {
        while (next < 200) {
          const i = next++;
          const symbol = symbols[i % symbols.length];
          // Quotes and bars of ten symbols: each call reaches IB (the simulator).
          const r =
            i % 2 === 0
              ? await o.h.callTool('get_quote', { symbol })
              : await o.h.callTool('get_historical_data', { symbol, period: i % 4 === 1 ? '5d' : '1m', bar: '1h' });
          if (r.isError) errors.push(r.text);
        }
      }),
    );
    clearTimeout(drop);
    const view = o.sim.oauth!.view();
    process.stdout.write(
      `# oauth burst: 200 tool calls (${view['verified']} signed requests) in ${Math.round(performance.now() - t0)} ms, ${view['lstIssued']} tokens, ${view['refused']} 401s met and retried, ${errors.length} failed\n`,
    );
    assert.deepEqual(errors.slice(0, 3), []);
    assert.ok((view['lstIssued'] as number) >= 3, JSON.stringify(view));
    assert.ok((view['refused'] as number) > 0, `the 401 path ran: ${JSON.stringify(view)}`);
  } finally {
    await o.close();
  }
});
