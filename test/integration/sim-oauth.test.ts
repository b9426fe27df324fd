/**
 * The simulator's OAuth 1.0a checks, request by request, with hand-made Authorization headers: a
 * good signature passes; a changed query parameter, a reused nonce, a stale timestamp, another realm,
 * an expired or unknown token, and an LST request signed with the wrong key are each refused 401.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync, getDiffieHellman, type KeyObject } from 'node:crypto';
import { after, before, test } from 'node:test';
import { Agent, fetch } from 'undici';
import {
  authorizationHeader,
  bigintFromBytes,
  decryptPrepend,
  dhChallenge,
  dhParamsPem,
  hmacSha256,
  liveSessionToken,
  lstSignature,
  nonce,
  rsaSha256,
  signatureBaseString,
} from '../../src/backends/cpapi/oauth-crypto.js';
import {
  type IssuedCredentials,
  oauthBaseString,
  type SimulatorHandle,
  startSimulator,
} from '../../src/simulator/index.js';

const insecure = new Agent({ connect: { rejectUnauthorized: false } });
const prime = bigintFromBytes(getDiffieHellman('modp14').getPrime());
const pair = () => generateKeyPairSync('rsa', { modulusLength: 2048 });
const sig = pair();
const encr = pair();
let sim: SimulatorHandle;
let creds: IssuedCredentials;
let lst: string;

before(async () => {
  sim = await startSimulator({ port: 0, seed: 7, oauth: true, pacing: false });
  creds = sim.oauth!.register({
    signaturePublicKey: sig.publicKey.export({ type: 'spki', format: 'pem' }) as string,
    encryptionPublicKey: encr.publicKey.export({ type: 'spki', format: 'pem' }) as string,
    dhParams: dhParamsPem(prime),
  });
});
after(() => sim.close());

function oauthParams(method: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    oauth_consumer_key: creds.consumerKey,
    oauth_nonce: nonce(),
    oauth_signature_method: method,
    oauth_timestamp: String(Math.floor(Date.now() / 1000)),
    oauth_token: creds.accessToken,
    ...extra,
  };
}

async function requestLst(key: KeyObject = sig.privateKey, realm = 'limited_poa') {
  const prepend = decryptPrepend(encr.privateKey, creds.accessTokenSecret);
  const { a, challenge } = dhChallenge(prime, 2n);
  const url = new URL(`${sim.apiBase}/oauth/live_session_token`);
  const p = oauthParams('RSA-SHA256', { diffie_hellman_challenge: challenge });
  p['oauth_signature'] = rsaSha256(key, prepend + signatureBaseString('POST', url, Object.entries(p)));
  const res = await fetch(url, {
    method: 'POST',
    headers: { authorization: authorizationHeader(p, realm), 'content-length': '0' },
    dispatcher: insecure,
  });
  const body = (await res.json()) as Record<string, unknown>;
  return { status: res.status, body, a, prepend };
}

async function signed(path: string, edit: (p: Record<string, string>, url: URL) => URL | undefined = () => undefined) {
  const url = new URL(`${sim.apiBase}${path}`);
  const p = oauthParams('HMAC-SHA256');
  p['oauth_signature'] = hmacSha256(lst, signatureBaseString('GET', url, Object.entries(p)));
  const sent = edit(p, url) ?? url;
  const res = await fetch(sent, {
    headers: { authorization: authorizationHeader(p, p['realm'] ?? 'limited_poa') },
    dispatcher: insecure,
  });
  await res.body?.cancel();
  return res.status;
}

test("the simulator's base string: IB's rule, hand-computed (parameters joined as they are, encoded once)", () => {
  const query = new URLSearchParams('fields=31,84&conids=265598');
  const params: Array<[string, string]> = [
    ['realm', 'limited_poa'],
    ['oauth_consumer_key', 'TESTCONS'],
    ['oauth_nonce', 'abc'],
    ['oauth_signature_method', 'HMAC-SHA256'],
    ['oauth_timestamp', '1700000000'],
    ['oauth_token', 'tok'],
    ['oauth_signature', 'ignored'],
  ];
  assert.equal(
    oauthBaseString('GET', 'https://api.ibkr.com/v1/api/iserver/marketdata/snapshot', query, params),
    'GET&https%3A%2F%2Fapi.ibkr.com%2Fv1%2Fapi%2Fiserver%2Fmarketdata%2Fsnapshot&' +
      'conids%3D265598%26fields%3D31%2C84%26oauth_consumer_key%3DTESTCONS%26oauth_nonce%3Dabc' +
      '%26oauth_signature_method%3DHMAC-SHA256%26oauth_timestamp%3D1700000000%26oauth_token%3Dtok',
  );
});

test('parameters sort by name, then value: a name that prefixes another comes first', () => {
  const q = new URLSearchParams('a3=x&a=z&a=y');
  assert.equal(oauthBaseString('GET', 'https://h/p', q, []), 'GET&https%3A%2F%2Fh%2Fp&a%3Dy%26a%3Dz%26a3%3Dx');
});

test('the live session token: IB-shaped answer, proved with the consumer key', async () => {
  const r = await requestLst();
  assert.equal(r.status, 200, JSON.stringify(r.body));
  lst = liveSessionToken(String(r.body['diffie_hellman_response']), r.a, prime, r.prepend);
  assert.equal(lstSignature(lst, creds.consumerKey), r.body['live_session_token_signature']);
  assert.ok((r.body['live_session_token_expiration'] as number) > Date.now() + 23 * 3600_000);
});

test('an LST request signed with another key, or in another realm, is refused', async () => {
  assert.equal((await requestLst(pair().privateKey)).status, 401);
  assert.equal((await requestLst(sig.privateKey, 'other_realm')).status, 401);
});

test('signed requests: query parameters count, nonces are good once, timestamps within 5 minutes', async () => {
  assert.equal(await signed('/iserver/auth/status'), 200);
  // Commas and several query parameters: signed over their decoded values, accepted (no 401).
  assert.notEqual(await signed('/trsrv/stocks?symbols=AAPL,MSFT&x=a%20b'), 401);
  // A query parameter changed after signing.
  assert.equal(await signed('/iserver/auth/status?x=1', (_p, url) => new URL(url.href.replace('x=1', 'x=2'))), 401);
  // The same nonce twice.
  let reused = '';
  assert.equal(
    await signed('/iserver/auth/status', (p) => {
      reused = p['oauth_nonce']!;
      return undefined;
    }),
    200,
  );
  const url = new URL(`${sim.apiBase}/iserver/auth/status`);
  const p = oauthParams('HMAC-SHA256', { oauth_nonce: reused });
  p['oauth_signature'] = hmacSha256(lst, signatureBaseString('GET', url, Object.entries(p)));
  const again = await fetch(url, {
    headers: { authorization: authorizationHeader(p, 'limited_poa') },
    dispatcher: insecure,
  });
  assert.equal(again.status, 401);
  assert.match(await again.text(), /nonce/);
  // A timestamp ten minutes old (signed as such).
  const old = new URL(`${sim.apiBase}/iserver/auth/status`);
  const q = oauthParams('HMAC-SHA256', { oauth_timestamp: String(Math.floor(Date.now() / 1000) - 600) });
  q['oauth_signature'] = hmacSha256(lst, signatureBaseString('GET', old, Object.entries(q)));
  const stale = await fetch(old, {
    headers: { authorization: authorizationHeader(q, 'limited_poa') },
    dispatcher: insecure,
  });
  assert.equal(stale.status, 401);
  assert.match(await stale.text(), /timestamp/);
  // No Authorization at all.
  const none = await fetch(`${sim.apiBase}/iserver/auth/status`, { dispatcher: insecure });
  assert.equal(none.status, 401);
});

test('expired tokens (a fault) and a revoked access token are refused', async () => {
  sim.oauth!.fault({ expireTokens: true });
  assert.equal(await signed('/iserver/auth/status'), 401);
  const r = await requestLst();
  lst = liveSessionToken(String(r.body['diffie_hellman_response']), r.a, prime, r.prepend);
  assert.equal(await signed('/iserver/auth/status'), 200);
  sim.oauth!.fault({ revokeToken: true });
  assert.equal(await signed('/iserver/auth/status'), 401);
  assert.equal((await requestLst()).status, 401);
  sim.oauth!.fault({ revokeToken: false });
});

test('/sim/faults "oauth": the faults over the control surface, and their view', async () => {
  const post = async (body: unknown) => {
    const res = await fetch(`${sim.url}/sim/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      dispatcher: insecure,
    });
    return (await res.json()) as {
      oauth?: { consumers: Array<{ active: boolean; revoked: boolean }>; skewMs: number };
    };
  };
  let view = await post({ oauth: { revokeToken: true, activationDelayMs: 60_000, skewMs: 1000 } });
  assert.deepEqual(view.oauth?.consumers[0], { consumerKey: creds.consumerKey, active: false, revoked: true });
  assert.equal(view.oauth?.skewMs, 1000);
  assert.equal((await requestLst()).status, 401);
  view = await post({ oauth: { revokeToken: false, activationDelayMs: 0, skewMs: 0 } });
  assert.deepEqual(view.oauth?.consumers[0], { consumerKey: creds.consumerKey, active: true, revoked: false });
  assert.equal((await requestLst()).status, 200);
  const plain = await startSimulator({ port: 0 });
  try {
    const res = await fetch(`${plain.url}/sim/faults`, {
      method: 'POST',
      body: JSON.stringify({ oauth: { revokeToken: true } }),
      dispatcher: insecure,
    });
    assert.equal(res.status, 400, 'a simulator without OAuth says so');
  } finally {
    await plain.close();
  }
});
