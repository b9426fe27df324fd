/**
 * IB's OAuth 1.0a (first-party, self-service) as the client computes it: the signature base
 * string (RFC 5849 §3.4.1 as IB's reference client encodes it), the Authorization header, the Diffie-Hellman exchange behind the live
 * session token, and the key material read from the files the self-service portal was given.
 * Pure functions: no network, no clock (callers pass the nonce and timestamp).
 *
 *   prepend  = hex(RSA-PKCS#1-v1.5-decrypt(encryption key, base64(access token secret)))
 *   LST req  = RSA-SHA256(signature key, prepend + base string), with diffie_hellman_challenge = hex(2^a mod p)
 *   K        = B^a mod p as Java's BigInteger.toByteArray() (a leading 0 byte when the top bit is set)
 *   LST      = base64(HMAC-SHA1(K, prepend bytes)); IB's answer is checked: hex(HMAC-SHA1(LST, consumer key))
 *   request  = HMAC-SHA256(base64-decoded LST, base string)
 */
import { createHmac, createPrivateKey, type KeyObject, randomBytes, sign } from 'node:crypto';

/** RFC 5849 §3.6: every byte but ALPHA, DIGIT, '-', '.', '_', '~' as %XX (upper case). */
export function percentEncode(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** RFC 5849 §3.4.1.2: scheme and host in lower case, the default port left out, no query. */
export function baseStringUri(url: URL): string {
  const scheme = url.protocol.toLowerCase();
  const defaultPort = (scheme === 'https:' && url.port === '443') || (scheme === 'http:' && url.port === '80');
  const host = url.hostname.toLowerCase() + (url.port && !defaultPort ? `:${url.port}` : '');
  return `${scheme}//${host}${url.pathname}`;
}

/** The base string's encoding, as IB's reference client does it (Python's quote_plus): a space is '+'. */
export function formEncode(value: string): string {
  return percentEncode(value).replace(/%20/g, '+');
}

/**
 * The signature base string as IB's own reference client builds it (IB's OAuth guide and its
 * Python sample; see docs/ib/oauth.md): METHOD & enc(base string URI) & enc(parameters), where the
 * parameters are the query's and the protocol's (realm and oauth_signature excluded) as they are,
 * sorted by name then value and joined `name=value&…`, and that string encoded ONCE. RFC 5849
 * §3.4.1.3.2 would encode each name and value first; IB does not, which differs for values such
 * as `fields=31,84` (`%2C` here, `%252C` under the RFC).
 */
export function signatureBaseString(
  method: string,
  url: URL,
  params: ReadonlyArray<readonly [string, string]>,
): string {
  const pairs: Array<[string, string]> = [];
  for (const [k, v] of url.searchParams) pairs.push([k, v]);
  for (const [k, v] of params) {
    if (k === 'realm' || k === 'oauth_signature') continue;
    pairs.push([k, v]);
  }
  pairs.sort(([ak, av], [bk, bv]) => (ak < bk ? -1 : ak > bk ? 1 : av < bv ? -1 : av > bv ? 1 : 0));
  const normalised = pairs.map(([k, v]) => `${k}=${v}`).join('&');
  return `${method.toUpperCase()}&${formEncode(baseStringUri(url))}&${formEncode(normalised)}`;
}

/** The Authorization header: `OAuth realm="…", k="enc(v)", …` (RFC 5849 §3.5.1), keys sorted. */
export function authorizationHeader(params: Record<string, string>, realm: string): string {
  const parts = Object.keys(params)
    .sort()
    .map((k) => `${percentEncode(k)}="${percentEncode(params[k]!)}"`);
  return `OAuth realm="${realm}", ${parts.join(', ')}`;
}

/** 16 characters of [0-9a-zA-Z], unique per request. */
export function nonce(): string {
  const alphabet = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
  return [...randomBytes(16)].map((b) => alphabet[b % alphabet.length]).join('');
}

/** base^exp mod m. */
export function modPow(base: bigint, exp: bigint, m: bigint): bigint {
  let result = 1n;
  let b = base % m;
  let e = exp;
  while (e > 0n) {
    if (e & 1n) result = (result * b) % m;
    b = (b * b) % m;
    e >>= 1n;
  }
  return result;
}

export function bigintFromBytes(bytes: Uint8Array): bigint {
  return bytes.length === 0 ? 0n : BigInt(`0x${Buffer.from(bytes).toString('hex')}`);
}

/**
 * A non-negative integer as Java's BigInteger.toByteArray(): big-endian, shortest, with a leading
 * zero byte when the top bit of the first byte is set (IB's server computes K this way; without
 * the zero byte the token differs and every request fails with 401).
 */
export function javaBytes(n: bigint): Buffer {
  let hex = n.toString(16);
  if (hex.length % 2 === 1) hex = `0${hex}`;
  const bytes = Buffer.from(hex, 'hex');
  return bytes.length > 0 && (bytes[0]! & 0x80) !== 0 ? Buffer.concat([Buffer.from([0]), bytes]) : bytes;
}

/** PEM text as Node reads it: Windows line endings and literal "\n" (from an env variable) made real. */
export function normalisePem(text: string): string {
  return text.replace(/\\n/g, '\n').replace(/\r\n?/g, '\n').trim();
}

export function readPrivateKey(pem: string): KeyObject {
  return createPrivateKey({ key: normalisePem(pem), format: 'pem' });
}

/** A minimal DER reader: SEQUENCE of INTEGERs (DH parameters). */
function derIntegers(der: Buffer): bigint[] {
  let i = 0;
  const len = (): number => {
    const first = der[i++]!;
    if (first < 0x80) return first;
    let n = 0;
    for (let k = 0; k < (first & 0x7f); k++) n = n * 256 + der[i++]!;
    return n;
  };
  if (der[i++] !== 0x30) throw new Error('not a DER sequence');
  const end = len() + i;
  const out: bigint[] = [];
  while (i < end) {
    if (der[i++] !== 0x02) throw new Error('not a DER integer');
    const n = len();
    out.push(bigintFromBytes(der.subarray(i, i + n)));
    i += n;
  }
  return out;
}

function derLength(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

/** DH parameters as `openssl dhparam` writes them (PKCS#3 DHParameter in PEM), for the portal. */
export function dhParamsPem(prime: bigint, generator = 2n): string {
  const int = (v: bigint) => {
    const b = javaBytes(v);
    return Buffer.concat([Buffer.from([0x02]), derLength(b.length), b]);
  };
  const body = Buffer.concat([int(prime), int(generator)]);
  const der = Buffer.concat([Buffer.from([0x30]), derLength(body.length), body]);
  const b64 = der.toString('base64').replace(/(.{64})/g, '$1\n');
  return `-----BEGIN DH PARAMETERS-----\n${b64.trim()}\n-----END DH PARAMETERS-----\n`;
}

/** The DH prime and generator from a PEM file (`openssl dhparam` output) or a bare hex prime. */
export function readDhParams(text: string): { prime: bigint; generator: bigint } {
  const t = normalisePem(text);
  const m = /-----BEGIN DH PARAMETERS-----([\s\S]*?)-----END DH PARAMETERS-----/.exec(t);
  if (m) {
    const [prime, generator] = derIntegers(Buffer.from(m[1]!.replace(/\s+/g, ''), 'base64'));
    if (!prime || prime < 2n ** 1023n) throw new Error('the DH prime is missing or shorter than 1024 bits');
    return { prime, generator: generator ?? 2n };
  }
  const hex = t.replace(/^0x/i, '').replace(/[\s:]/g, '');
  if (/^[0-9a-f]{256,}$/i.test(hex)) return { prime: BigInt(`0x${hex}`), generator: 2n };
  throw new Error('expected "-----BEGIN DH PARAMETERS-----" (openssl dhparam) or the prime in hexadecimal');
}

/**
 * RSA PKCS#1 v1.5 decryption with the private key's own numbers. Node refuses this padding for
 * private decryption since the Marvin attack fix (CVE-2023-46809); IB encrypts the access token
 * secret with it, and the key and the secret are the user's own, on their machine.
 */
export function rsaPkcs1Decrypt(key: KeyObject, ciphertext: Buffer): Buffer {
  const jwk = key.export({ format: 'jwk' }) as Record<string, string | undefined>;
  if (!jwk['n'] || !jwk['d']) throw new Error('the encryption key is not an RSA private key');
  const num = (name: string) => bigintFromBytes(Buffer.from(jwk[name]!, 'base64url'));
  const n = num('n');
  const k = Buffer.from(jwk['n'], 'base64url').length;
  if (ciphertext.length !== k) throw new Error(`the ciphertext is ${ciphertext.length} bytes, the key's modulus ${k}`);
  const c = bigintFromBytes(ciphertext);
  let m: bigint;
  if (jwk['p'] && jwk['q'] && jwk['dp'] && jwk['dq'] && jwk['qi']) {
    // The Chinese remainder theorem: two half-size exponentiations, about 3 times faster.
    const [p, q] = [num('p'), num('q')];
    const m1 = modPow(c, num('dp'), p);
    const m2 = modPow(c, num('dq'), q);
    const h = (((num('qi') * (m1 - m2)) % p) + p) % p;
    m = m2 + h * q;
  } else {
    m = modPow(c, num('d'), n);
  }
  const em = Buffer.from(m.toString(16).padStart(k * 2, '0'), 'hex');
  if (em[0] !== 0 || em[1] !== 2) throw new Error('the decrypted block is not PKCS#1 v1.5 padded');
  const sep = em.indexOf(0, 2);
  if (sep < 10) throw new Error('the decrypted block is not PKCS#1 v1.5 padded');
  return em.subarray(sep + 1);
}

/** The prepend: the decrypted access token secret, in hex. */
export function decryptPrepend(encryptionKey: KeyObject, encryptedSecret: string): string {
  return rsaPkcs1Decrypt(encryptionKey, Buffer.from(encryptedSecret.trim(), 'base64')).toString('hex');
}

/** Base64 RSA-SHA256 (PKCS#1 v1.5) signature of a base string. */
export function rsaSha256(key: KeyObject, text: string): string {
  return sign('sha256', Buffer.from(text, 'utf8'), key).toString('base64');
}

/** Base64 HMAC-SHA256 of a base string with the live session token (base64) as the key. */
export function hmacSha256(lst: string, text: string): string {
  return createHmac('sha256', Buffer.from(lst, 'base64')).update(text, 'utf8').digest('base64');
}

/** The live session token from IB's DH answer `B` (hex), our private `a` and the prepend (hex). */
export function liveSessionToken(b: string, a: bigint, prime: bigint, prepend: string): string {
  const k = modPow(BigInt(`0x${b.replace(/^0x/i, '')}`), a, prime);
  return createHmac('sha1', javaBytes(k)).update(Buffer.from(prepend, 'hex')).digest('base64');
}

/** IB's proof that it computed the same token: hex(HMAC-SHA1(LST, consumer key)). */
export function lstSignature(lst: string, consumerKey: string): string {
  return createHmac('sha1', Buffer.from(lst, 'base64')).update(consumerKey, 'utf8').digest('hex');
}

/** A fresh DH private value (256 random bits, as IB's examples) and its challenge hex(g^a mod p). */
export function dhChallenge(prime: bigint, generator: bigint): { a: bigint; challenge: string } {
  const a = bigintFromBytes(randomBytes(32)) | 1n;
  return { a, challenge: modPow(generator, a, prime).toString(16) };
}
