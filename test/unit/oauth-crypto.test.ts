/**
 * The client's OAuth 1.0a pieces against independent references: the base string as IB's own
 * reference client builds it (hand-computed vectors), Java's BigInteger.toByteArray() rule for K, Node's Diffie-Hellman as the
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

// IB's reference client (the Python sample that comes with IB's OAuth guide) joins the query's and
// the protocol's parameters as they are, sorted, and encodes the joined string once (quote_plus).
// Hand-computed: "conids=265598&fields=31,84&oauth_consumer_key=TESTCONS&oauth_nonce=abc&..."
test("IB's base string: parameters joined as they are and encoded once (a comma signs as %2C)", () => {
  const url = new URL('https://api.ibkr.com/v1/api/iserver/marketdata/snapshot?fields=31,84&conids=265598');
  const params: Array<[string, string]> = [
    ['realm', 'limited_poa'],
    ['oauth_consumer_key', 'TESTCONS'],
    ['oauth_nonce', 'abc'],
    ['oauth_signature_method', 'HMAC-SHA256'],
    ['oauth_timestamp', '1700000000'],
    ['oauth_token', 'tok'],
    ['oauth_signature', 'ignored'],
  ];
  const expected =
    'GET&https%3A%2F%2Fapi.ibkr.com%2Fv1%2Fapi%2Fiserver%2Fmarketdata%2Fsnapshot&' +
    'conids%3D265598%26fields%3D31%2C84%26oauth_consumer_key%3DTESTCONS%26oauth_nonce%3Dabc' +
    '%26oauth_signature_method%3DHMAC-SHA256%26oauth_timestamp%3D1700000000%26oauth_token%3Dtok';
  assert.equal(signatureBaseString('GET', url, params), expected);
});

test("IB's base string: a space is '+', and a name that prefixes another sorts first", () => {
  assert.equal(
    signatureBaseString('GET', new URL('https://h/p?symbol=BRK%20B&a3=x&a=z'), []),
    'GET&https%3A%2F%2Fh%2Fp&a%3Dz%26a3%3Dx%26symbol%3DBRK+B',
  );
});

test("percent-encoding: RFC 3986 unreserved kept, everything else upper-case %XX (also !*'())", () => {
  assert.equal(percentEncode("Ladies + Gentlemen!*'()~._-"), 'Ladies%20%2B%20Gentlemen%21%2A%27%28%29~._-');
  assert.equal(percentEncode('é/,'), '%C3%A9%2F%2C');
  assert.equal(
    signatureBaseString('GET', new URL('https://API.ibkr.com:443/v1/api/x?conids=1,2'), []),
    'GET&https%3A%2F%2Fapi.ibkr.com%2Fv1%2Fapi%2Fx&conids%3D1%2C2',
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
