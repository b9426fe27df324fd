/**
 * The OAuth signer's life cycle with a fake IB (an LstPoster computing IB's side with Node's DH):
 * one token for concurrent requests, renewal before expiry, a 401 with an old token retried, a
 * refused renewal explained, and each refusal classified (clock, activation, token, generic).
 */
import assert from 'node:assert/strict';
import * as nodeCrypto from 'node:crypto';
import { test } from 'node:test';
import { type LstAnswer, OAuthSigner } from '../../src/backends/cpapi/oauth.js';
import { bigintFromBytes } from '../../src/backends/cpapi/oauth-crypto.js';

const group = nodeCrypto.getDiffieHellman('modp14');
const enc = nodeCrypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const sig = nodeCrypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const secret = nodeCrypto.randomBytes(32);

function signer(now: () => number) {
  return new OAuthSigner({
    baseUrl: 'https://api.example/v1/api',
    now,
    credentials: {
      consumerKey: 'TESTCONS1',
      accessToken: 'a1b2c3d4e5f6a7b8c9d0',
      encryptedSecret: nodeCrypto
        .publicEncrypt({ key: enc.publicKey, padding: nodeCrypto.constants.RSA_PKCS1_PADDING }, secret)
        .toString('base64'),
      signatureKey: sig.privateKey,
      encryptionKey: enc.privateKey,
      dhPrime: bigintFromBytes(group.getPrime()),
      dhGenerator: 2n,
      realm: 'limited_poa',
    },
  });
}

/** IB's side: answers a challenge with B and the proof, tokens living `lifetime` ms. */
function fakeIb(now: () => number, lifetime = 24 * 3600_000) {
  const calls: string[] = [];
  const post = async (authorization: string): Promise<LstAnswer> => {
    calls.push(authorization);
    const challenge = /diffie_hellman_challenge="([0-9a-f]+)"/.exec(authorization)![1]!;
    const dh = nodeCrypto.createDiffieHellman(group.getPrime(), Buffer.from([2]));
    dh.generateKeys();
    let k = dh.computeSecret(Buffer.from(challenge.padStart(512, '0'), 'hex'));
    k = k.subarray(k.findIndex((b) => b !== 0));
    if (k[0]! >= 0x80) k = Buffer.concat([Buffer.alloc(1), k]);
    const lst = nodeCrypto.createHmac('sha1', k).update(secret).digest();
    return {
      status: 200,
      data: {
        diffie_hellman_response: dh.getPublicKey('hex'),
        live_session_token_signature: nodeCrypto.createHmac('sha1', lst).update('TESTCONS1').digest('hex'),
        live_session_token_expiration: now() + lifetime,
      },
    };
  };
  return { calls, post };
}

test('one token for concurrent requests; HMAC-SHA256 headers with realm and a fresh nonce each', async () => {
  const now = () => 1_700_000_000_000;
  const s = signer(now);
  const ib = fakeIb(now);
  s.setPoster(ib.post);
  const url = new URL('https://api.example/v1/api/iserver/accounts');
  const [a, b] = await Promise.all([s.authorize('GET', url), s.authorize('GET', url)]);
  assert.equal(ib.calls.length, 1);
  assert.match(
    ib.calls[0]!,
    /^OAuth realm="limited_poa", diffie_hellman_challenge="[0-9a-f]+", oauth_consumer_key="TESTCONS1"/,
  );
  assert.match(ib.calls[0]!, /oauth_signature_method="RSA-SHA256"/);
  assert.match(a.authorization, /oauth_signature_method="HMAC-SHA256", oauth_timestamp="1700000000"/);
  assert.notEqual(/oauth_nonce="(\w+)"/.exec(a.authorization)![1], /oauth_nonce="(\w+)"/.exec(b.authorization)![1]);
  assert.equal(a.token, b.token);
  s.close();
});

test('renewed before expiry; a 401 with the old token is retried; a refused renewal says why', async () => {
  let t = 1_700_000_000_000;
  const now = () => t;
  const s = signer(now);
  const ib = fakeIb(now, 60_000);
  s.setPoster(ib.post);
  const url = new URL('https://api.example/v1/api/tickle');
  const first = await s.authorize('POST', url);
  t += 49_000; // within the last fifth of the minute: the next request gets a new token
  const second = await s.authorize('POST', url);
  assert.equal(ib.calls.length, 2);
  assert.notEqual(first.token, second.token);
  assert.equal(await s.after401(first.token), true, 'a newer token exists');

  t += 10_000;
  const refuse = async (): Promise<LstAnswer> => ({ status: 401, data: { error: 'invalid oauth_token' } });
  // A new poster only when none is set: make a fresh signer whose IB now refuses.
  const s2 = signer(now);
  let refusing = false;
  s2.setPoster((h) => (refusing ? refuse() : ib.post(h)));
  const tok = await s2.authorize('GET', url);
  t += 5000;
  refusing = true;
  await assert.rejects(s2.after401(tok.token), /revoked, or regenerated/);
  // Within the hold, requests get the same explanation without asking IB again.
  const before = ib.calls.length;
  await assert.rejects(s2.after401(tok.token), /revoked/);
  assert.equal(ib.calls.length, before);
  s.close();
  s2.close();
});

test('refusals are classified: clock skew (Date header), not activated, generic', async () => {
  const now = () => 1_700_000_000_000;
  const url = new URL('https://api.example/v1/api/tickle');
  const cases: Array<[LstAnswer, RegExp, string]> = [
    [
      { status: 401, data: { error: 'unauthorized' }, date: new Date(now() - 600_000).toUTCString() },
      /600 s ahead of IB/,
      'clock_skew',
    ],
    [{ status: 401, data: { error: 'consumer not activated' } }, /not active yet/, 'not_activated'],
    [{ status: 401, data: 'nope' }, /refused the live session token request \(401\)/, 'refused'],
  ];
  for (const [answer, message, problem] of cases) {
    const s = signer(now);
    s.setPoster(async () => answer);
    await assert.rejects(s.authorize('GET', url), (err: Error & { details?: { oauth?: { problem?: string } } }) => {
      assert.match(err.message, message);
      assert.equal(err.details?.oauth?.problem, problem);
      return true;
    });
    s.close();
  }
});

test('a renewal that fails (network) leaves the old token in use until its end', async () => {
  let t = 1_700_000_000_000;
  const now = () => t;
  const s = signer(now);
  const ib = fakeIb(now, 60_000);
  let down = false;
  s.setPoster(async (h) => {
    if (down) throw new Error('ECONNRESET');
    return ib.post(h);
  });
  const url = new URL('https://api.example/v1/api/tickle');
  const first = await s.authorize('GET', url);
  t += 50_000;
  down = true;
  assert.equal((await s.authorize('GET', url)).token, first.token, 'the old token, still valid');
  assert.equal((await s.authorize('GET', url)).token, first.token, 'held: no second attempt at once');
  t += 11_000; // past its end
  await assert.rejects(s.authorize('GET', url), /ECONNRESET/);
  down = false;
  t += 30_000;
  assert.notEqual((await s.authorize('GET', url)).token, first.token);
  s.close();
});

test('a cancelled caller ends its own wait only: the shared token request goes on for the others', async () => {
  const now = () => 1_700_000_000_000;
  const s = signer(now);
  const ib = fakeIb(now);
  // An HTTP client honours the signal it is given, as CpapiHttp's does.
  s.setPoster(async (h, signal) => {
    await new Promise((r) => setTimeout(r, 50));
    if (signal?.aborted) throw new Error('aborted');
    return ib.post(h);
  });
  const url = new URL('https://api.example/v1/api/tickle');
  const ac = new AbortController();
  const cancelled = s.authorize('GET', url, ac.signal);
  const other = s.authorize('GET', url);
  ac.abort();
  await assert.rejects(cancelled, /cancelled/);
  assert.match((await other).authorization, /oauth_signature=/);
  assert.equal(ib.calls.length, 1);
  s.close();
});
