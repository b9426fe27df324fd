/**
 * The OAuth material on disk: key files with Windows line endings (or pasted with literal \n) read
 * as they are, and an incomplete setup named part by part, never with a secret in the text.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync, getDiffieHellman } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { bigintFromBytes, dhParamsPem } from '../../src/backends/cpapi/oauth-crypto.js';
import { loadOAuth, loadOAuthCredentials } from '../../src/backends/cpapi/oauth-files.js';

const base = {
  oauthConsumerKey: 'TESTCONS',
  oauthAccessToken: 'tok-canary-0001',
  oauthAccessTokenSecret: 'sec-canary-0002',
  oauthRealm: 'limited_poa',
};

test('key files with CRLF line endings and a literal-\\n DH file are read; TESTCONS gets test_realm', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ibkr-mcp-oauth-files-'));
  try {
    const pem = (k: ReturnType<typeof generateKeyPairSync>['privateKey']) =>
      (k.export({ type: 'pkcs8', format: 'pem' }) as string).replace(/\n/g, '\r\n');
    writeFileSync(join(dir, 'sig.pem'), pem(generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey));
    writeFileSync(join(dir, 'enc.pem'), pem(generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey));
    const prime = bigintFromBytes(getDiffieHellman('modp14').getPrime());
    writeFileSync(join(dir, 'dh.pem'), dhParamsPem(prime).replace(/\n/g, '\\n'));
    const creds = loadOAuthCredentials({
      ...base,
      home: dir,
      oauthSignatureKeyFile: join(dir, 'sig.pem'),
      oauthEncryptionKeyFile: join(dir, 'enc.pem'),
      oauthDhParamFile: join(dir, 'dh.pem'),
    });
    assert.equal(creds.dhPrime, prime);
    assert.equal(creds.realm, 'test_realm');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an incomplete setup: every missing part named with its setting, no secret in the text', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ibkr-mcp-oauth-files-'));
  try {
    const { credentials, parts } = loadOAuth({ ...base, oauthConsumerKey: undefined, home: dir });
    assert.equal(credentials, undefined);
    assert.deepEqual(
      parts.filter((p) => !p.ok).map((p) => p.name),
      ['consumer key', 'private signature key', 'private encryption key', 'DH parameters'],
    );
    assert.throws(
      () => loadOAuthCredentials({ ...base, oauthConsumerKey: undefined, home: dir }),
      (err: Error) => {
        assert.equal(err.name, 'ConfigError');
        assert.match(err.message, /IB_OAUTH_CONSUMER_KEY[\s\S]*IB_OAUTH_DH_PARAM_FILE/);
        assert.doesNotMatch(err.message, /canary/);
        return true;
      },
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
