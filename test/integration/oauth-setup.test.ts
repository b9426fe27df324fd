/**
 * `ibkr-mcp oauth setup` against the simulator speaking OAuth: keys made (owner-only), the portal's
 * steps listed, the credentials stored owner-only, and the live check passing; with a wrong secret
 * or a consumer IB has not activated, the failing step is named with what to do.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { OAUTH_FILES, oauthDir } from '../../src/backends/cpapi/oauth-files.js';
import { runOAuthSetup } from '../../src/oauth-setup.js';
import { type SimulatorHandle, startSimulator } from '../../src/simulator/index.js';

let home: string;
let sim: SimulatorHandle;

before(async () => {
  home = mkdtempSync(join(tmpdir(), 'ibkr-mcp-oauth-setup-'));
  sim = await startSimulator({ port: 0, seed: 7, oauth: true });
});
after(async () => {
  await sim.close();
  rmSync(home, { recursive: true, force: true });
});

async function setup(args: string[]): Promise<{ code: number; out: string }> {
  const lines: string[] = [];
  const code = await runOAuthSetup(['--home', home, '--oauth-base-url', sim.url, ...args], {
    out: (l) => lines.push(l),
  });
  return { code, out: lines.join('\n') };
}

function register(activationDelayMs = 0) {
  const read = (f: string) => readFileSync(join(oauthDir(home), f), 'utf8');
  return sim.oauth!.register({
    signaturePublicKey: read(OAUTH_FILES.signaturePublic),
    encryptionPublicKey: read(OAUTH_FILES.encryptionPublic),
    dhParams: read(OAUTH_FILES.dhParams),
    activationDelayMs,
  });
}

test('first run: keys made owner-only, the portal steps in order, then it waits for the credentials', async () => {
  const r = await setup(['--standard-dh-group']);
  assert.equal(r.code, 1);
  assert.match(r.out, /Step 1 of 4[\s\S]*Step 2 of 4[\s\S]*public_signature\.pem as the public signing key/);
  assert.match(r.out, /Not given yet/);
  const dir = oauthDir(home);
  assert.equal(statSync(dir).mode & 0o777, 0o700);
  for (const f of [OAUTH_FILES.signatureKey, OAUTH_FILES.encryptionKey])
    assert.equal(statSync(join(dir, f)).mode & 0o777, 0o600, f);
  assert.match(readFileSync(join(dir, OAUTH_FILES.dhParams), 'utf8'), /BEGIN DH PARAMETERS/);
});

test('with the portal credentials: stored owner-only and validated with one live session token', async () => {
  const c = register();
  const r = await setup([
    '--consumer-key',
    c.consumerKey,
    '--oauth-access-token',
    c.accessToken,
    '--oauth-access-token-secret',
    c.accessTokenSecret,
  ]);
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /Using the keys already/);
  assert.match(r.out, /✓ live session token: IB gave one/);
  assert.ok(!r.out.includes(c.accessToken) && !r.out.includes(c.accessTokenSecret), 'no secret printed');
  const creds = join(oauthDir(home), OAUTH_FILES.credentials);
  assert.equal(statSync(creds).mode & 0o777, 0o600);
  assert.equal(sim.oauth!.view()['lstIssued'], 1);
});

test('the failing step is named: a secret that does not decrypt, a consumer not yet active', async () => {
  const c = register();
  const bad = await setup([
    '--consumer-key',
    c.consumerKey,
    '--oauth-access-token',
    c.accessToken,
    '--oauth-access-token-secret',
    Buffer.alloc(256, 7).toString('base64'),
  ]);
  assert.equal(bad.code, 1);
  assert.match(bad.out, /✗ decrypt the access token secret: .*What to do: Give the secret exactly/);

  const later = register(3_600_000);
  const inactive = await setup([
    '--consumer-key',
    later.consumerKey,
    '--oauth-access-token',
    later.accessToken,
    '--oauth-access-token-secret',
    later.accessTokenSecret,
  ]);
  assert.equal(inactive.code, 1);
  assert.match(inactive.out, /✓ decrypt the access token secret/);
  assert.match(inactive.out, /✗ request the live session token: .*not active yet.*can take days/);
});
