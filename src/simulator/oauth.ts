/**
 * IB's OAuth 1.0a as api.ibkr.com checks it, written apart from the client (src/backends/cpapi/
 * oauth*.ts) so the simulator catches the client's mistakes:
 *
 *   POST /oauth/live_session_token   Authorization: OAuth realm, oauth_consumer_key, oauth_token,
 *     oauth_signature_method=RSA-SHA256, oauth_timestamp, oauth_nonce, diffie_hellman_challenge,
 *     oauth_signature = RSA-SHA256 over prepend + base string (prepend = the access token secret in hex)
 *     → {diffie_hellman_response, live_session_token_signature, live_session_token_expiration}
 *   every other /v1/api request: oauth_signature_method=HMAC-SHA256 with the live session token
 *
 * Base string (RFC 5849 §3.4.1): METHOD & enc(scheme://host/path) & enc(sorted enc(name)=enc(value)
 * of the query and the OAuth parameters, realm and signature left out). Timestamps must be within
 * five minutes of the simulator's clock, a nonce is good once. A consumer is active only after its
 * activation delay; its access token can be revoked and its tokens expired (POST /sim/faults "oauth").
 */
import {
  constants as C,
  createDiffieHellman,
  createHmac,
  createPublicKey,
  type KeyObject,
  publicEncrypt,
  randomBytes,
  timingSafeEqual,
  verify,
} from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Reply } from './server.js';
import { login, type SimState } from './state.js';

export const LST_ROUTE = '/oauth/live_session_token';
const REALMS = ['limited_poa', 'test_realm'];
const WINDOW_S = 300;

interface Consumer {
  key: string;
  accessToken: string;
  secret: Buffer;
  signatureKey: KeyObject;
  prime: Buffer;
  generator: Buffer;
  activeFrom: number;
  revoked: boolean;
}

interface Issued {
  consumer: string;
  key: Buffer;
  expiresAt: number;
}

export interface SimOAuthOptions {
  /** How long a live session token lives (default 24 h). */
  lstLifetimeMs?: number;
  /** A new token ends the consumer's earlier ones (default true). */
  invalidatePrevious?: boolean;
}

/** What the self-service portal gives the user: to be put in the client's configuration. */
export interface IssuedCredentials {
  consumerKey: string;
  accessToken: string;
  /** base64 of the access token secret, RSA PKCS#1 v1.5-encrypted with the user's encryption key. */
  accessTokenSecret: string;
}

/** Reads PKCS#3 DHParameter PEM: SEQUENCE { INTEGER prime, INTEGER generator }. */
export function parseDhPem(pem: string): { prime: Buffer; generator: Buffer } {
  const b64 = pem.replace(/-----[A-Z ]+-----/g, '').replace(/[^A-Za-z0-9+/=]/g, '');
  const der = Buffer.from(b64, 'base64');
  let pos = 0;
  const readLen = () => {
    const b = der.readUInt8(pos++);
    if ((b & 0x80) === 0) return b;
    const n = b & 0x7f;
    const v = der.readUIntBE(pos, n);
    pos += n;
    return v;
  };
  const readInt = () => {
    if (der.readUInt8(pos++) !== 0x02) throw new Error('bad DH parameters');
    const n = readLen();
    const v = der.subarray(pos, pos + n);
    pos += n;
    let i = 0;
    while (i < v.length - 1 && v[i] === 0) i++;
    return v.subarray(i);
  };
  if (der.readUInt8(pos++) !== 0x30) throw new Error('bad DH parameters');
  readLen();
  const prime = readInt();
  const generator = pos < der.length ? readInt() : Buffer.from([2]);
  return { prime, generator };
}

/** RFC 3986 unreserved characters stay, every other UTF-8 byte becomes %XX. */
function enc(s: string): string {
  let out = '';
  for (const byte of Buffer.from(s, 'utf8')) {
    const ch = String.fromCharCode(byte);
    out += /[A-Za-z0-9\-._~]/.test(ch) ? ch : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** Java's BigInteger.toByteArray() of a non-negative magnitude given big-endian. */
function twosComplementBytes(magnitude: Buffer): Buffer {
  let i = 0;
  while (i < magnitude.length - 1 && magnitude[i] === 0) i++;
  const m = magnitude.subarray(i);
  return (m[0] ?? 0) >= 0x80 ? Buffer.concat([Buffer.alloc(1), m]) : Buffer.from(m);
}

function parseAuthorization(header: string | undefined): Map<string, string> | undefined {
  if (!header || !/^OAuth\s/i.test(header)) return undefined;
  const out = new Map<string, string>();
  const re = /([A-Za-z0-9_%.-]+)\s*=\s*"([^"]*)"/g;
  for (let m = re.exec(header); m; m = re.exec(header)) {
    out.set(decodeURIComponent(m[1]!), decodeURIComponent(m[2]!));
  }
  return out;
}

/**
 * The base string as IB's server checks it (IB's reference client: the parameters are joined as
 * they are, `name=value&…` sorted, and the joined string is percent-encoded once, a space as '+'):
 * METHOD & enc(scheme://host/path) & enc(params), realm and oauth_signature left out. Unlike RFC
 * 5849, names and values are not encoded before joining, so `fields=31,84` signs as `%2C`.
 */
export function oauthBaseString(
  method: string,
  uri: string,
  query: URLSearchParams,
  params: Iterable<[string, string]>,
): string {
  const pairs: Array<[string, string]> = [...query];
  for (const [k, v] of params) if (k !== 'realm' && k !== 'oauth_signature') pairs.push([k, v]);
  // By name, then by value (byte order): "a" before "a3", which sorting "name=value" strings gets wrong.
  pairs.sort(
    (x, y) =>
      Buffer.compare(Buffer.from(x[0]), Buffer.from(y[0])) || Buffer.compare(Buffer.from(x[1]), Buffer.from(y[1])),
  );
  const plus = (s: string) => enc(s).replace(/%20/g, '+');
  return [method.toUpperCase(), plus(uri), plus(pairs.map(([k, v]) => `${k}=${v}`).join('&'))].join('&');
}

const unauthorized = (error: string): Reply => ({ status: 401, body: { error, statusCode: 401 } });

export class SimOAuth {
  private readonly consumers = new Map<string, Consumer>();
  private readonly issued = new Map<string, Issued>();
  private readonly nonces = new Map<string, number>();
  /** The last live session tokens issued (for secrets()). */
  private readonly history: string[] = [];
  lstLifetimeMs: number;
  invalidatePrevious: boolean;
  /** Added to the simulator's clock when checking timestamps (a clock-skew fault). */
  skewMs = 0;
  /** Counters for tests: tokens issued, requests refused. */
  readonly stats = { lstIssued: 0, refused: 0, verified: 0 };

  constructor(
    private readonly state: SimState,
    opts: SimOAuthOptions = {},
  ) {
    this.lstLifetimeMs = opts.lstLifetimeMs ?? 24 * 3600_000;
    this.invalidatePrevious = opts.invalidatePrevious ?? true;
  }

  private now(): number {
    return this.state.clock.realNow();
  }

  /** Registers a consumer as the self-service portal does, from the user's three public files. */
  register(input: {
    signaturePublicKey: string;
    encryptionPublicKey: string;
    dhParams: string;
    consumerKey?: string;
    activationDelayMs?: number;
  }): IssuedCredentials {
    const key = input.consumerKey ?? `SIM${randomBytes(3).toString('hex').toUpperCase()}`;
    const accessToken = randomBytes(10).toString('hex');
    const secret = randomBytes(32);
    const { prime, generator } = parseDhPem(input.dhParams);
    this.consumers.set(key, {
      key,
      accessToken,
      secret,
      signatureKey: createPublicKey(input.signaturePublicKey),
      prime,
      generator,
      activeFrom: this.now() + (input.activationDelayMs ?? 0),
      revoked: false,
    });
    const encrypted = publicEncrypt(
      { key: createPublicKey(input.encryptionPublicKey), padding: C.RSA_PKCS1_PADDING },
      secret,
    );
    return { consumerKey: key, accessToken, accessTokenSecret: encrypted.toString('base64') };
  }

  /** POST /sim/faults {"oauth":{…}}: activation delay, revocation, expiry, clock skew, lifetime. */
  fault(spec: Record<string, unknown>): void {
    const pick = (k: unknown) =>
      typeof k === 'string' ? [this.consumers.get(k)].filter((c): c is Consumer => !!c) : [...this.consumers.values()];
    if (typeof spec['activationDelayMs'] === 'number') {
      for (const c of pick(spec['consumerKey'])) c.activeFrom = this.now() + spec['activationDelayMs'];
    }
    if (spec['revokeToken'] === true) for (const c of pick(spec['consumerKey'])) c.revoked = true;
    if (spec['revokeToken'] === false) for (const c of pick(spec['consumerKey'])) c.revoked = false;
    if (spec['expireTokens'] === true) this.issued.clear();
    if (typeof spec['lstLifetimeMs'] === 'number') this.lstLifetimeMs = Math.max(1, spec['lstLifetimeMs']);
    if (typeof spec['skewMs'] === 'number') this.skewMs = spec['skewMs'];
    if (typeof spec['invalidatePrevious'] === 'boolean') this.invalidatePrevious = spec['invalidatePrevious'];
  }

  view(): Record<string, unknown> {
    return {
      consumers: [...this.consumers.values()].map((c) => ({
        consumerKey: c.key,
        active: this.now() >= c.activeFrom,
        revoked: c.revoked,
      })),
      liveTokens: this.issued.size,
      lstLifetimeMs: this.lstLifetimeMs,
      skewMs: this.skewMs,
      ...this.stats,
    };
  }

  /** For tests (the secrets canary): every secret this registry knows, as the client would hold it. */
  secrets(): string[] {
    const out: string[] = [];
    for (const c of this.consumers.values())
      out.push(c.accessToken, c.secret.toString('hex'), c.secret.toString('base64'));
    return [...out, ...this.history];
  }

  private baseString(req: IncomingMessage, tls: boolean, url: URL, params: Map<string, string>): string {
    const host = (req.headers.host ?? 'localhost').toLowerCase();
    return oauthBaseString(
      req.method ?? 'GET',
      `${tls ? 'https' : 'http'}://${host}${url.pathname}`,
      url.searchParams,
      params,
    );
  }

  /** The checks every OAuth request gets; the consumer, or the 401 to answer. */
  private common(params: Map<string, string> | undefined, method: string): Consumer | Reply {
    if (!params) return unauthorized('missing OAuth Authorization header');
    const realm = params.get('realm');
    if (!realm || !REALMS.includes(realm)) return unauthorized('invalid realm');
    if (params.get('oauth_signature_method') !== method) return unauthorized('invalid oauth_signature_method');
    const c = this.consumers.get(params.get('oauth_consumer_key') ?? '');
    if (!c) return unauthorized('invalid consumer');
    if (this.now() < c.activeFrom) return unauthorized('consumer is not activated yet');
    if (c.revoked || params.get('oauth_token') !== c.accessToken) return unauthorized('invalid oauth_token');
    const ts = Number(params.get('oauth_timestamp'));
    const nowS = (this.now() + this.skewMs) / 1000;
    if (!Number.isInteger(ts) || Math.abs(nowS - ts) > WINDOW_S) return unauthorized('invalid oauth_timestamp');
    const n = params.get('oauth_nonce') ?? '';
    if (n.length < 8) return unauthorized('invalid oauth_nonce');
    const seen = `${c.key}:${n}`;
    if (this.nonces.has(seen)) return unauthorized('oauth_nonce already used');
    if (this.nonces.size > 100_000) this.forgetNonces();
    this.nonces.set(seen, this.now());
    return c;
  }

  private forgetNonces(): void {
    const cutoff = this.now() - 2 * WINDOW_S * 1000;
    for (const [k, at] of this.nonces) if (at < cutoff) this.nonces.delete(k);
  }

  /** POST /oauth/live_session_token. */
  liveSessionToken(req: IncomingMessage, tls: boolean, url: URL): Reply {
    const params = parseAuthorization(req.headers.authorization);
    const c = this.common(params, 'RSA-SHA256');
    if (!('key' in c)) return this.refuse(c);
    const p = params!;
    const challenge = p.get('diffie_hellman_challenge') ?? '';
    if (!/^[0-9a-fA-F]+$/.test(challenge)) return this.refuse(unauthorized('invalid diffie_hellman_challenge'));
    const base = c.secret.toString('hex') + this.baseString(req, tls, url, p);
    const sig = Buffer.from(p.get('oauth_signature') ?? '', 'base64');
    if (!verify('RSA-SHA256', Buffer.from(base), c.signatureKey, sig))
      return this.refuse(unauthorized('invalid signature'));

    const dh = createDiffieHellman(c.prime, c.generator);
    dh.generateKeys();
    const theirs = Buffer.from(challenge.length % 2 ? `0${challenge}` : challenge, 'hex');
    const k = twosComplementBytes(dh.computeSecret(theirs));
    const lst = createHmac('sha1', k).update(c.secret).digest();
    const expiresAt = this.now() + this.lstLifetimeMs;
    if (this.invalidatePrevious) for (const [t, i] of this.issued) if (i.consumer === c.key) this.issued.delete(t);
    this.issued.set(lst.toString('base64'), { consumer: c.key, key: lst, expiresAt });
    this.history.push(lst.toString('base64'));
    if (this.history.length > 100) this.history.shift();
    this.stats.lstIssued += 1;
    // The OAuth session is the SSO login; the brokerage session still needs ssodh/init.
    if (!this.state.session.sso) {
      login(this.state);
      this.state.session.brokerage = false;
    }
    return {
      status: 200,
      body: {
        diffie_hellman_response: dh.getPublicKey('hex').replace(/^0+/, ''),
        live_session_token_signature: createHmac('sha1', lst).update(c.key, 'utf8').digest('hex'),
        live_session_token_expiration: expiresAt,
      },
    };
  }

  /** Every other request: undefined when its HMAC-SHA256 signature is good, else the 401. */
  check(req: IncomingMessage, tls: boolean, url: URL): Reply | undefined {
    const params = parseAuthorization(req.headers.authorization);
    const c = this.common(params, 'HMAC-SHA256');
    if (!('key' in c)) return this.refuse(c);
    const base = this.baseString(req, tls, url, params!);
    const given = Buffer.from(params!.get('oauth_signature') ?? '', 'base64');
    const now = this.now();
    for (const [t, i] of this.issued) {
      if (i.consumer !== c.key) continue;
      if (i.expiresAt <= now) {
        this.issued.delete(t);
        continue;
      }
      const want = createHmac('sha256', i.key).update(base).digest();
      if (want.length === given.length && timingSafeEqual(want, given)) {
        this.stats.verified += 1;
        return undefined;
      }
    }
    return this.refuse(unauthorized('invalid or expired live session token'));
  }

  private refuse(r: Reply): Reply {
    this.stats.refused += 1;
    return r;
  }
}

export function oauthOf(state: SimState): SimOAuth | undefined {
  return state.ext.get('oauth') as SimOAuth | undefined;
}
