/**
 * The OAuth 1.0a signer: owns the live session token (LST) of a first-party consumer and signs
 * every request to api.ibkr.com with it (the crypto is in oauth-crypto.ts). CpapiHttp asks it for
 * each request's Authorization header and tells it about a 401.
 *
 *   no token → POST /oauth/live_session_token (RSA-SHA256, DH challenge) → token, expiry (~24 h)
 *   before expiry (or after a 401 with the current token) → a new token, single flight; requests
 *   signed meanwhile wait for it, a request that met a 401 with an old one is sent again.
 *
 * Failures are BrokerErrors with details.oauth = { problem, step }: the session manager shows them
 * as the session's state, and `doctor` and `oauth setup` say which step failed.
 */
import type { KeyObject } from 'node:crypto';
import { BrokerError } from '../../broker/errors.js';
import { untrusted } from '../../broker/untrusted.js';
import { addSecret, type Logger, silentLogger } from '../../log.js';
import {
  authorizationHeader,
  decryptPrepend,
  dhChallenge,
  hmacSha256,
  liveSessionToken,
  lstSignature,
  nonce,
  rsaSha256,
  signatureBaseString,
} from './oauth-crypto.js';

export const LST_PATH = '/oauth/live_session_token';

export interface OAuthCredentials {
  /** The consumer key chosen in the self-service portal (9 characters). */
  consumerKey: string;
  accessToken: string;
  /** The access token secret as the portal shows it: base64, encrypted with our encryption key. */
  encryptedSecret: string;
  signatureKey: KeyObject;
  encryptionKey: KeyObject;
  dhPrime: bigint;
  dhGenerator: bigint;
  /** limited_poa (test_realm for IB's TESTCONS consumer). */
  realm: string;
}

export type OAuthProblem =
  | 'bad_secret'
  | 'not_activated'
  | 'token_rejected'
  | 'bad_signature'
  | 'clock_skew'
  | 'lst_mismatch'
  | 'bad_answer'
  | 'refused';

/** What the LST request got back: status, parsed body and the server's Date header. */
export interface LstAnswer {
  status: number;
  data: unknown;
  date?: string | undefined;
}

/** Sends the unsigned-by-LST request: POST {base}/oauth/live_session_token with this Authorization. */
export type LstPoster = (authorization: string, signal?: AbortSignal) => Promise<LstAnswer>;

interface Token {
  lst: string;
  expiresAt: number;
  obtainedAt: number;
}

export interface OAuthSignerOptions {
  credentials: OAuthCredentials;
  /** The API base, e.g. https://api.ibkr.com/v1/api: the LST URL is signed as {base}/oauth/live_session_token. */
  baseUrl: string;
  log?: Logger;
  now?: () => number;
}

/** How long before its expiry a token is replaced: 10 minutes, or a fifth of a short lifetime. */
function renewLead(lifetimeMs: number): number {
  return Math.min(10 * 60_000, Math.max(0, lifetimeMs) / 5);
}

/** Waits for a shared promise; the caller's signal ends its own wait only (CANCELLED). */
function waitFor<T>(p: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return p;
  p.catch(() => undefined);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new BrokerError('CANCELLED', 'The request was cancelled.', { cause: signal.reason }));
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/** A failed LST request is not repeated for this long (every tool call would hit IB otherwise). */
const FAILURE_HOLD_MS = 20_000;
/** A 401 with the current token renews it at most this often (no renewal loops). */
const RENEW_FOR_401_EVERY_MS = 3000;

export class OAuthSigner {
  private readonly creds: OAuthCredentials;
  private readonly lstUrl: URL;
  private readonly log: Logger;
  private readonly now: () => number;
  private poster: LstPoster | undefined;
  private prepend: string | undefined;
  private token: Token | undefined;
  private flight: Promise<Token> | undefined;
  private failure: { err: BrokerError; at: number } | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private renewedFor401At = 0;
  /** The consumer key (not a secret: it names the consumer in messages). */
  get consumerKey(): string {
    return this.creds.consumerKey;
  }

  constructor(opts: OAuthSignerOptions) {
    this.creds = opts.credentials;
    this.log = opts.log ?? silentLogger;
    this.now = opts.now ?? Date.now;
    this.lstUrl = new URL(`${opts.baseUrl.replace(/\/+$/, '')}${LST_PATH}`);
    addSecret(this.creds.accessToken);
    addSecret(this.creds.encryptedSecret);
  }

  /** The HTTP client that sends the LST request (CpapiHttp installs itself). */
  setPoster(post: LstPoster): void {
    this.poster ??= post;
  }

  /** When the current token expires (epoch ms), if there is one. */
  expiresAt(): number | undefined {
    return this.token?.expiresAt;
  }

  /** The Authorization header for one request, and the token it was signed with. */
  async authorize(method: string, url: URL, signal?: AbortSignal): Promise<{ authorization: string; token: string }> {
    const t = await this.current(signal);
    const params: Record<string, string> = {
      oauth_consumer_key: this.creds.consumerKey,
      oauth_nonce: nonce(),
      oauth_signature_method: 'HMAC-SHA256',
      oauth_timestamp: String(Math.floor(this.now() / 1000)),
      oauth_token: this.creds.accessToken,
    };
    const base = signatureBaseString(method, url, Object.entries(params));
    params['oauth_signature'] = hmacSha256(t.lst, base);
    return { authorization: authorizationHeader(params, this.creds.realm), token: t.lst };
  }

  /**
   * A request signed with `token` was answered 401. True when it may be sent again: a newer token
   * exists, or this one was renewed now. False when a fresh token is refused too (the session's
   * problem, not the token's).
   */
  async after401(token: string, signal?: AbortSignal): Promise<boolean> {
    if (this.flight) {
      await waitFor(this.flight, signal).catch(() => undefined);
      return this.token !== undefined && this.token.lst !== token;
    }
    if (this.token && this.token.lst !== token) return true;
    // IB just refused a new token: that refusal (revoked, not active, clock) is why this 401 came.
    if (this.failure && this.now() - this.failure.at < FAILURE_HOLD_MS) throw this.failure.err;
    // One renewal per burst of 401s: a fresh token refused too is the session's problem.
    if (this.now() - this.renewedFor401At < RENEW_FOR_401_EVERY_MS) return false;
    this.renewedFor401At = this.now();
    this.log.info('oauth: a request was refused with 401; getting a new live session token');
    // A refused renewal (token revoked, consumer deactivated) is the caller's error: it says why.
    await waitFor(this.renew(), signal);
    return true;
  }

  /**
   * A new live session token now (single flight). The request is shared, so no caller's signal
   * ends it (a cancelled tool call must not fail the others waiting); the HTTP timeout bounds it.
   */
  renew(): Promise<Token> {
    if (!this.flight) {
      this.flight = this.requestToken()
        .then(
          (t) => {
            this.token = t;
            this.failure = undefined;
            this.schedule(t);
            return t;
          },
          (err: unknown) => {
            const e = err instanceof BrokerError ? err : new BrokerError('NOT_AUTHENTICATED', String(err));
            this.failure = { err: e, at: this.now() };
            throw e;
          },
        )
        .finally(() => {
          this.flight = undefined;
        });
    }
    return this.flight;
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
  }

  private async current(signal?: AbortSignal): Promise<Token> {
    const t = this.token;
    const now = this.now();
    const held = this.failure !== undefined && now - this.failure.at < FAILURE_HOLD_MS;
    if (!this.flight) {
      if (t && now < t.expiresAt - renewLead(t.expiresAt - t.obtainedAt)) return t;
      if (held && !t) throw this.failure!.err;
      // A renewal failed a moment ago: the old token serves until its end (or until IB refuses it).
      if (held && t && now < t.expiresAt) return t;
    }
    try {
      return await waitFor(this.flight ?? this.renew(), signal);
    } catch (err) {
      if (t && this.now() < t.expiresAt) return t;
      throw err;
    }
  }

  /** Renews in the background before the token's end; requests meanwhile wait for the new one. */
  private schedule(t: Token): void {
    if (this.timer) clearTimeout(this.timer);
    if (this.closed) return;
    const at = t.expiresAt - renewLead(t.expiresAt - t.obtainedAt);
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        this.renew().catch((err: unknown) => {
          this.log.warn('oauth: renewing the live session token failed; retrying in 30 s', {
            err: (err as Error).message,
          });
          if (!this.closed && this.token && this.now() < this.token.expiresAt) {
            this.timer = setTimeout(() => this.schedule(this.token!), 30_000);
            this.timer.unref();
          }
        });
      },
      Math.max(0, at - this.now()),
    );
    this.timer.unref();
  }

  private fail(problem: OAuthProblem, step: string, message: string, hint: string, status?: number): BrokerError {
    return new BrokerError('NOT_AUTHENTICATED', message, { hint, details: { oauth: { problem, step }, status } });
  }

  private decryptSecret(): string {
    if (this.prepend === undefined) {
      try {
        this.prepend = decryptPrepend(this.creds.encryptionKey, this.creds.encryptedSecret);
      } catch (err) {
        throw this.fail(
          'bad_secret',
          'decrypt the access token secret',
          `The access token secret could not be decrypted with the encryption key (${(err as Error).message}).`,
          'Give the secret exactly as the self-service portal showed it (IB_OAUTH_ACCESS_TOKEN_SECRET) and the private encryption key whose public half you uploaded (IB_OAUTH_ENCRYPTION_KEY_FILE). Run `ibkr-mcp doctor` to check each part.',
        );
      }
      addSecret(this.prepend);
    }
    return this.prepend;
  }

  private async requestToken(attempt = 0): Promise<Token> {
    if (!this.poster) throw new Error('OAuthSigner: no HTTP client');
    const prepend = this.decryptSecret();
    const { a, challenge } = dhChallenge(this.creds.dhPrime, this.creds.dhGenerator);
    const params: Record<string, string> = {
      diffie_hellman_challenge: challenge,
      oauth_consumer_key: this.creds.consumerKey,
      oauth_nonce: nonce(),
      oauth_signature_method: 'RSA-SHA256',
      oauth_timestamp: String(Math.floor(this.now() / 1000)),
      oauth_token: this.creds.accessToken,
    };
    const base = prepend + signatureBaseString('POST', this.lstUrl, Object.entries(params));
    params['oauth_signature'] = rsaSha256(this.creds.signatureKey, base);
    const sentAt = this.now();
    const answer = await this.poster(authorizationHeader(params, this.creds.realm));
    // Outside the pacer (requests waiting for the token hold its slots): a 429 is waited out, twice.
    if (answer.status === 429 && attempt < 2) {
      await new Promise((r) => setTimeout(r, 1000 * (attempt + 1)));
      return this.requestToken(attempt + 1);
    }
    if (answer.status !== 200) throw this.refused(answer, sentAt);
    const body = (answer.data ?? {}) as Record<string, unknown>;
    const b = body['diffie_hellman_response'] ?? body['diffie_hellman_challenge'];
    const sig = body['live_session_token_signature'];
    const exp = body['live_session_token_expiration'];
    if (typeof b !== 'string' || typeof sig !== 'string') {
      throw this.fail(
        'bad_answer',
        'read the live session token answer',
        'IB answered the live session token request without a Diffie-Hellman response or signature.',
        'Check the OAuth base URL (https://api.ibkr.com/v1/api); retry later.',
      );
    }
    const lst = liveSessionToken(b, a, this.creds.dhPrime, prepend);
    if (lstSignature(lst, this.creds.consumerKey) !== sig.toLowerCase()) {
      throw this.fail(
        'lst_mismatch',
        'check the live session token',
        "The live session token computed here does not match IB's signature of it.",
        'The access token secret, the encryption key or the DH parameters differ from what the self-service portal has for this consumer: use the files whose public halves you uploaded and the secret the portal showed for the current access token.',
      );
    }
    addSecret(lst);
    const now = this.now();
    const expiresAt = typeof exp === 'number' && exp > now ? exp : now + 24 * 3600_000;
    this.log.info('oauth: live session token obtained', { expiresAt: new Date(expiresAt).toISOString() });
    return { lst, expiresAt, obtainedAt: now };
  }

  /** Explains a refused LST request: which of the usual causes it is, and what to do. */
  private refused(answer: LstAnswer, sentAt: number): BrokerError {
    const data = answer.data as Record<string, unknown> | string | undefined;
    const text =
      typeof data === 'string'
        ? data
        : data
          ? String(data['error'] ?? data['detail'] ?? data['title'] ?? data['message'] ?? JSON.stringify(data))
          : '';
    const said = text ? ` IB says: ${untrusted(text.slice(0, 200))}.` : '';
    const serverAt = answer.date ? Date.parse(answer.date) : Number.NaN;
    const skewS = Number.isFinite(serverAt) ? Math.round((sentAt - serverAt) / 1000) : 0;
    const step = 'request the live session token';
    const s = answer.status;
    if (Math.abs(skewS) > 60 || /timestamp|nonce/i.test(text)) {
      return this.fail(
        'clock_skew',
        step,
        `IB refused the live session token request (${s}): this machine's clock is ${skewS ? `${Math.abs(skewS)} s ${skewS > 0 ? 'ahead of' : 'behind'} IB's` : 'not in step with IB'}.${said}`,
        'OAuth requests carry a timestamp IB accepts only when it is current. Synchronise this machine\'s clock (e.g. `timedatectl set-ntp true`, or "Set time automatically"), then retry.',
        s,
      );
    }
    if (/activ|pending|not enabled/i.test(text)) {
      return this.fail(
        'not_activated',
        step,
        `IB refused the live session token (${s}): consumer ${untrusted(this.creds.consumerKey)} is not active yet.${said}`,
        'IB activates a new consumer key some time after the self-service portal registered it; it can take days. Nothing is wrong on this side: wait, ibkr-mcp tries again by itself every minute.',
        s,
      );
    }
    if (/token/i.test(text)) {
      return this.fail(
        'token_rejected',
        step,
        `IB refused the access token (${s}): it was revoked, or regenerated in the self-service portal.${said}`,
        'Generate a new access token in the self-service portal and set both IB_OAUTH_ACCESS_TOKEN and IB_OAUTH_ACCESS_TOKEN_SECRET to what it shows, then restart ibkr-mcp.',
        s,
      );
    }
    if (/signature|consumer/i.test(text)) {
      return this.fail(
        'bad_signature',
        step,
        `IB could not verify the live session token request (${s}).${said}`,
        'The signature key must be the private half of the public signature key uploaded for this consumer key; check IB_OAUTH_CONSUMER_KEY and IB_OAUTH_SIGNATURE_KEY_FILE (and the realm: limited_poa).',
        s,
      );
    }
    return this.fail(
      'refused',
      step,
      `IB refused the live session token request (${s}).${said}`,
      s === 401 || s === 403
        ? 'Usually: the consumer is not activated yet (it can take days), the access token was revoked or regenerated, the keys do not match those uploaded, or the clock is off. Run `ibkr-mcp doctor`.'
        : 'Retry in a minute; if it persists, run `ibkr-mcp doctor`.',
      s,
    );
  }
}
