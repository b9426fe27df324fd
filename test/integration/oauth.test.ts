/**
 * IB's OAuth 1.0a end to end, in process: keys and DH parameters generated as `oauth setup` does,
 * a consumer registered at the simulator (its independent OAuth checks), then the running server's
 * App over OAuth: the session opens by itself, tools' backend calls work, the live session token is
 * renewed in the middle of a burst without a failed call, and each failure users meet is a clear
 * session state.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { generateOAuthFiles, OAUTH_FILES, oauthDir } from '../../src/backends/cpapi/oauth-files.js';
import { loadConfig } from '../../src/config/index.js';
import { silentLogger } from '../../src/log.js';
import { type App, createApp } from '../../src/runtime.js';
import { type IssuedCredentials, type SimulatorHandle, startSimulator } from '../../src/simulator/index.js';

let home: string;

before(async () => {
  home = mkdtempSync(join(tmpdir(), 'ibkr-mcp-oauth-'));
  await generateOAuthFiles(oauthDir(home), { fastDh: true });
});
after(() => rmSync(home, { recursive: true, force: true }));

function register(sim: SimulatorHandle, activationDelayMs = 0): IssuedCredentials {
  const dir = oauthDir(home);
  return sim.oauth!.register({
    signaturePublicKey: readFileSync(join(dir, OAUTH_FILES.signaturePublic), 'utf8'),
    encryptionPublicKey: readFileSync(join(dir, OAUTH_FILES.encryptionPublic), 'utf8'),
    dhParams: readFileSync(join(dir, OAUTH_FILES.dhParams), 'utf8'),
    activationDelayMs,
  });
}

async function appFor(sim: SimulatorHandle, creds: IssuedCredentials, extra: string[] = []): Promise<App> {
  const { config } = loadConfig(
    ['--auth', 'oauth', '--oauth-base-url', sim.url, '--home', home, '--keepalive-seconds', '1', ...extra],
    {
      IB_OAUTH_CONSUMER_KEY: creds.consumerKey,
      IB_OAUTH_ACCESS_TOKEN: creds.accessToken,
      IB_OAUTH_ACCESS_TOKEN_SECRET: creds.accessTokenSecret,
    },
  );
  return createApp(config, silentLogger);
}

async function until(what: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!what()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('OAuth 1.0a against the simulator', () => {
  test('the session opens by itself; quotes, positions and an order go over OAuth', async () => {
    const sim = await startSimulator({ port: 0, seed: 7, oauth: true });
    const app = await appFor(sim, register(sim));
    try {
      await until(() => app.gateway.session.state === 'authenticated');
      const snap = app.gateway.session.snapshot();
      assert.equal(snap.login.method, 'oauth');
      const aapl = await app.backend.resolveContract({ symbol: 'AAPL', secType: 'STK' });
      const [q] = await app.backend.snapshot([aapl.conid], ['last', 'bid', 'ask']);
      assert.ok(q && typeof q.values.last === 'number', JSON.stringify(q));
      const accounts = await app.backend.listAccounts();
      assert.ok(accounts.length > 0);
      assert.ok((await app.backend.positions(accounts[0]!.id)).length > 0);
      const view = sim.oauth!.view();
      assert.equal(view['lstIssued'], 1);
      assert.ok((view['verified'] as number) > 5);
      assert.equal(view['refused'], 0);
    } finally {
      await app.close();
      await sim.close();
    }
  });

  test('renewal in the middle of a 200-call burst: no failed call, no 401 reaches a caller', async () => {
    // Tokens live 4 s (renewed 0.8 s before their end) and a new one ends the old: the burst
    // (10 requests/s) crosses several renewals, with requests signed by the old token in flight.
    const sim = await startSimulator({ port: 0, seed: 7, oauth: { lstLifetimeMs: 4000 } });
    const app = await appFor(sim, register(sim));
    try {
      await until(() => app.gateway.session.state === 'authenticated');
      const aapl = await app.backend.resolveContract({ symbol: 'AAPL', secType: 'STK' });
      const started = Date.now();
      // And once, IB drops every token without warning: requests already signed meet 401s.
      const drop = setTimeout(() => sim.oauth!.fault({ expireTokens: true }), 5000);
      const results = await Promise.allSettled(
        Array.from({ length: 200 }, (_, i) =>
          i % 2 === 0
            ? app.backend.snapshot([aapl.conid], ['last'])
            : app.backend.history({ conid: aapl.conid, period: '1d', bar: '1h' } as never),
        ),
      );
      clearTimeout(drop);
      const failed = results.filter((r) => r.status === 'rejected');
      assert.deepEqual(
        failed.map((f) => String((f as PromiseRejectedResult).reason?.message)).slice(0, 3),
        [],
        `${failed.length} failed`,
      );
      const view = sim.oauth!.view();
      assert.ok((view['lstIssued'] as number) >= 3, `renewals: ${JSON.stringify(view)}`);
      assert.ok((view['refused'] as number) > 0, `the 401 path ran: ${JSON.stringify(view)}`);
      assert.equal(app.gateway.session.state, 'authenticated');
      process.stdout.write(
        `# burst: 200 calls in ${Date.now() - started} ms, ${view['lstIssued']} tokens, ${view['refused']} 401s retried, 0 failed\n`,
      );
    } finally {
      await app.close();
      await sim.close();
    }
  });

  test('a consumer not yet activated is a failed state that says to wait, and recovers by itself', async () => {
    const sim = await startSimulator({ port: 0, seed: 7, oauth: true });
    const app = await appFor(sim, register(sim, 60_000));
    try {
      await until(() => app.gateway.session.state === 'failed');
      const snap = app.gateway.session.snapshot();
      assert.match(snap.reason ?? '', /not active yet/);
      assert.match(snap.whatToDo, /can take days/);
      await assert.rejects(app.backend.listAccounts(), /not active yet/);
      sim.oauth!.fault({ activationDelayMs: 0 });
      const out = await app.gateway.session.login();
      assert.equal(out.ok, true, JSON.stringify(out));
      assert.equal(app.gateway.session.state, 'authenticated');
    } finally {
      await app.close();
      await sim.close();
    }
  });

  test('a revoked access token and a skewed clock each get their own state and advice', async () => {
    const sim = await startSimulator({ port: 0, seed: 7, oauth: true });
    const app = await appFor(sim, register(sim));
    try {
      await until(() => app.gateway.session.state === 'authenticated');
      sim.oauth!.fault({ revokeToken: true });
      await app.gateway.session.tickle();
      await until(() => app.gateway.session.state === 'failed');
      assert.match(app.gateway.session.snapshot().whatToDo, /new access token/);

      sim.oauth!.fault({ revokeToken: false, skewMs: 20 * 60_000 });
      const out = await app.gateway.session.login();
      assert.equal(out.ok, false);
      assert.match(out.ok ? '' : out.reason, /clock/);
      assert.equal(app.gateway.session.state, 'failed');
      assert.match(app.gateway.session.snapshot().whatToDo, /Synchronise this machine's clock/);
      sim.oauth!.fault({ skewMs: 0 });
      assert.equal((await app.gateway.session.login()).ok, true);
    } finally {
      await app.close();
      await sim.close();
    }
  });
});

describe('OAuth: the brokerage session', () => {
  test('a competing session is its own state, with OAuth advice; it clears when the other session leaves', async () => {
    const sim = await startSimulator({ port: 0, seed: 7, oauth: true });
    const app = await appFor(sim, register(sim));
    try {
      await until(() => app.gateway.session.state === 'authenticated');
      sim.state.session.competing = true;
      sim.state.session.brokerage = false;
      await app.gateway.session.tickle();
      assert.equal(app.gateway.session.state, 'competing_session');
      const snap = app.gateway.session.snapshot();
      assert.match(snap.whatToDo, /Log out there/);
      assert.equal(snap.loginUrl, undefined, 'no login page over OAuth');
      // The other session leaves: the watch re-opens the brokerage session by itself.
      sim.state.session.competing = false;
      await until(() => app.gateway.session.state === 'authenticated', 15_000);
    } finally {
      await app.close();
      await sim.close();
    }
  });
});
