/**
 * The client's OAuth 1.0a pieces against independent references: RFC 5849's own base-string
 * example (§3.4.1.1), Java's BigInteger.toByteArray() rule for K, Node's Diffie-Hellman as the
 * other party, and RSA PKCS#1 v1.5 encryption by Node for the access token secret.
 */
import assert from 'node:assert/strict';
import {
  constants as C,
  createDiffieHellman,
  createHmac,
  generateKeyPairSync,
  getDiffieHellman,
  publicEncrypt,
  randomBytes,
} from 'node:crypto';
import { test } from 'node:test';
import {
  authorizationHeader,
  bigintFromBytes,
  decryptPrepend,
  dhChallenge,
  dhParamsPem,
  javaBytes,
  liveSessionToken,
  lstSignature,
  normalisePem,
  percentEncode,
  readDhParams,
  signatureBaseString,
} from '../../src/backends/cpapi/oauth-crypto.js';

test('RFC 5849 §3.4.1.1: the example request gives the RFC base string', () => {
  const url = new URL('http://example.com/request?b5=%3D%253D&a3=a&c%40=&a2=r%20b');
  const params: Array<[string, string]> = [
    ['realm', 'Example'],
    ['oauth_consumer_key', '9djdj82h48djs9d2'],
    ['oauth_token', 'kkk9d7dh3k39sjv7'],
    ['oauth_signature_method', 'HMAC-SHA1'],
    ['oauth_timestamp', '137131201'],
    ['oauth_nonce', '7d8f3e4a'],
    ['oauth_signature', 'bYT5CMsGcbgUdFHObYMEfcx6bsw='],
    // The form body of the example (c2&a3=2+q).
    ['c2', ''],
    ['a3', '2 q'],
  ];
  const expected =
    'POST&http%3A%2F%2Fexample.com%2Frequest&a2%3Dr%2520b%26a3%3D2%2520q' +
    '%26a3%3Da%26b5%3D%253D%25253D%26c%2540%3D%26c2%3D%26oauth_consumer_' +
    'key%3D9djdj82h48djs9d2%26oauth_nonce%3D7d8f3e4a%26oauth_signature_m' +
    'ethod%3DHMAC-SHA1%26oauth_timestamp%3D137131201%26oauth_token%3Dkkk' +
    '9d7dh3k39sjv7';
  assert.equal(signatureBaseString('POST', url, params), expected);
});

test("percent-encoding: RFC 3986 unreserved kept, everything else upper-case %XX (also !*'())", () => {
  assert.equal(percentEncode("Ladies + Gentlemen!*'()~._-"), 'Ladies%20%2B%20Gentlemen%21%2A%27%28%29~._-');
  assert.equal(percentEncode('é/,'), '%C3%A9%2F%2C');
  assert.equal(
    signatureBaseString('GET', new URL('https://API.ibkr.com:443/v1/api/x?conids=1,2'), []),
    'GET&https%3A%2F%2Fapi.ibkr.com%2Fv1%2Fapi%2Fx&conids%3D1%252C2',
  );
});

test('the Authorization header: realm first, the other parameters sorted and encoded', () => {
  assert.equal(
    authorizationHeader({ oauth_token: 't', oauth_signature: 'a+b/c=' }, 'limited_poa'),
    'OAuth realm="limited_poa", oauth_signature="a%2Bb%2Fc%3D", oauth_token="t"',
  );
});

test("K as Java's BigInteger.toByteArray(): a leading zero byte exactly when the top bit is set", () => {
  assert.deepEqual([...javaBytes(0x7fn)], [0x7f]);
  assert.deepEqual([...javaBytes(0x80n)], [0x00, 0x80]);
  assert.deepEqual([...javaBytes(0xabcn)], [0x0a, 0xbc]);
  assert.deepEqual([...javaBytes(0xffffn)], [0x00, 0xff, 0xff]);
});

test('DH parameters: PEM written and read back; a bare hex prime is accepted; CRLF PEM too', () => {
  const prime = bigintFromBytes(getDiffieHellman('modp14').getPrime());
  const pem = dhParamsPem(prime);
  assert.match(pem, /^-----BEGIN DH PARAMETERS-----\n/);
  assert.deepEqual(readDhParams(pem), { prime, generator: 2n });
  assert.deepEqual(readDhParams(pem.replace(/\n/g, '\r\n')), { prime, generator: 2n });
  assert.equal(readDhParams(prime.toString(16)).prime, prime);
  assert.throws(() => readDhParams('nonsense'), /DH PARAMETERS/);
  assert.equal(normalisePem('a\\nb\r\nc'), 'a\nb\nc');
});

test('the access token secret decrypts (PKCS#1 v1.5) and the LST matches an independent DH party', () => {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const secret = randomBytes(32);
  const encrypted = publicEncrypt({ key: publicKey, padding: C.RSA_PKCS1_PADDING }, secret).toString('base64');
  const prepend = decryptPrepend(privateKey, encrypted);
  assert.equal(prepend, secret.toString('hex'));

  const group = getDiffieHellman('modp14');
  const prime = bigintFromBytes(group.getPrime());
  let sawTopBit = false;
  for (let i = 0; i < 12; i++) {
    const { a, challenge } = dhChallenge(prime, 2n);
    const ib = createDiffieHellman(group.getPrime(), Buffer.from([2]));
    ib.generateKeys();
    const k = ib.computeSecret(Buffer.from(challenge.padStart(512, '0'), 'hex'));
    let j = 0;
    while (k[j] === 0) j++;
    const mag = k.subarray(j);
    sawTopBit ||= mag[0]! >= 0x80;
    const kJava = mag[0]! >= 0x80 ? Buffer.concat([Buffer.alloc(1), mag]) : mag;
    const want = createHmac('sha1', kJava).update(secret).digest('base64');
    const lst = liveSessionToken(ib.getPublicKey('hex'), a, prime, prepend);
    assert.equal(lst, want);
    assert.equal(
      lstSignature(lst, 'TESTCONS'),
      createHmac('sha1', Buffer.from(want, 'base64')).update('TESTCONS').digest('hex'),
    );
  }
  assert.ok(sawTopBit, 'some K had its top bit set (half of them should)');
});

test('parameters sort by name, then value: a name that prefixes another comes first', () => {
  assert.equal(
    signatureBaseString('GET', new URL('https://h/p?a3=x&a=z&a=y'), []),
    'GET&https%3A%2F%2Fh%2Fp&a%3Dy%26a%3Dz%26a3%3Dx',
  );
});
