/**
 * Confirmation tokens: an order held for confirmation gets a token that is bound to a hash
 * of the exact order and account, usable once, valid for two minutes by default, and signed with an
 * HMAC key that is random per process and never leaves it (so the model cannot forge one,
 * and a restart voids every outstanding token). The order itself stays on the server: a
 * token only names it, and redeeming re-checks the hash.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { BrokerError } from '../broker/errors.js';

export const DEFAULT_TOKEN_TTL_MS = 120_000;

/** sha256 over a canonical JSON rendering (keys sorted, undefined dropped). */
export function canonicalHash(value: unknown): string {
  return createHash('sha256').update(canonicalJson(value)).digest('hex');
}

export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value ?? null);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

interface Payload {
  /** Random id of the held order. */
  n: string;
  /** Hash of the exact order. */
  h: string;
  /** Account. */
  a: string;
  /** Expiry, epoch ms. */
  e: number;
}

interface Held<T> {
  data: T;
  hash: string;
  accountId: string;
  expiresAt: number;
}

export interface Issued {
  token: string;
  expiresAt: number;
}

export interface Redeemed<T> {
  data: T;
  hash: string;
  accountId: string;
}

export interface ConfirmTokenOptions {
  /** HMAC key (≥ 32 bytes); random per instance by default. */
  key?: Buffer;
  ttlMs?: number;
  now?: () => number;
}

const b64 = (b: Buffer | string) => Buffer.from(b).toString('base64url');

export class ConfirmTokens<T> {
  private readonly key: Buffer;
  readonly ttlMs: number;
  private readonly now: () => number;
  private readonly held = new Map<string, Held<T>>();
  /** Ids already redeemed or declined (kept until their expiry, so a reuse says which). */
  private readonly used = new Map<string, { until: number; how: 'sent' | 'declined' }>();

  constructor(opts: ConfirmTokenOptions = {}) {
    this.key = opts.key ?? randomBytes(32);
    if (this.key.length < 32) throw new Error('confirmation token key must be at least 32 bytes');
    this.ttlMs = opts.ttlMs ?? DEFAULT_TOKEN_TTL_MS;
    this.now = opts.now ?? Date.now;
  }

  private sign(body: string): string {
    return createHmac('sha256', this.key).update(`ibkr-mcp.confirm.v1:${body}`).digest('base64url');
  }

  /** Holds `data` (the exact order) and returns the token that releases it once. */
  issue(hash: string, accountId: string, data: T): Issued {
    this.sweep();
    const id = randomBytes(16).toString('base64url');
    const expiresAt = this.now() + this.ttlMs;
    const payload: Payload = { n: id, h: hash, a: accountId, e: expiresAt };
    const body = b64(JSON.stringify(payload));
    this.held.set(id, { data, hash, accountId, expiresAt });
    return { token: `ct1.${body}.${this.sign(body)}`, expiresAt };
  }

  /** Checks a token without using it up; throws REFUSED saying why it is not valid. */
  check(token: string, hashOf?: (data: T) => string): Redeemed<T> & { id: string } {
    const refuse = (why: string, hint: string) =>
      new BrokerError('REFUSED', `Confirmation token refused: ${why}. Nothing was sent.`, {
        hint,
        details: { reason: why },
      });
    const parts = typeof token === 'string' ? token.trim().split('.') : [];
    if (parts.length !== 3 || parts[0] !== 'ct1' || !parts[1] || !parts[2]) {
      throw refuse('malformed token', 'Pass the token exactly as the order tool returned it.');
    }
    const [, body, mac] = parts as [string, string, string];
    const expected = Buffer.from(this.sign(body));
    const given = Buffer.from(mac);
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) {
      throw refuse(
        'the signature does not match (altered, or issued before a restart)',
        'Place the order again to get a new preview and token.',
      );
    }
    let payload: Payload;
    try {
      payload = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as Payload;
    } catch {
      throw refuse('malformed token', 'Pass the token exactly as the order tool returned it.');
    }
    if (typeof payload.e !== 'number' || this.now() > payload.e) {
      this.held.delete(payload.n);
      throw refuse(
        `expired (tokens are valid for ${durationText(this.ttlMs)})`,
        'Place the order again to get a new preview and token.',
      );
    }
    const used = this.used.get(payload.n);
    if (used?.how === 'declined') {
      throw refuse(
        'void: the order it held was declined and never sent',
        'Place the order again if the user now wants it.',
      );
    }
    if (used) {
      throw refuse(
        'already used: the order it confirmed was already sent once',
        'Check it with get_order_status or get_live_orders; place a new order only if you mean a second one.',
      );
    }
    const held = this.held.get(payload.n);
    if (!held) throw refuse('unknown token', 'Place the order again to get a new preview and token.');
    const hash = hashOf ? hashOf(held.data) : held.hash;
    if (hash !== payload.h || held.hash !== payload.h || held.accountId !== payload.a) {
      throw refuse('the held order does not match the token', 'Place the order again.');
    }
    return { id: payload.n, data: held.data, hash, accountId: held.accountId };
  }

  /** Checks and uses up a token: the held order is released exactly once. */
  redeem(token: string, hashOf?: (data: T) => string): Redeemed<T> {
    const r = this.check(token, hashOf);
    this.held.delete(r.id);
    this.used.set(r.id, { until: this.now() + this.ttlMs, how: 'sent' });
    return { data: r.data, hash: r.hash, accountId: r.accountId };
  }

  /** Voids a token without using it (a declined confirmation). */
  discard(token: string): void {
    try {
      const r = this.check(token);
      this.held.delete(r.id);
      this.used.set(r.id, { until: this.now() + this.ttlMs, how: 'declined' });
    } catch {
      // Already invalid.
    }
  }

  get pending(): number {
    this.sweep();
    return this.held.size;
  }

  private sweep(): void {
    const now = this.now();
    for (const [id, h] of this.held) if (h.expiresAt < now) this.held.delete(id);
    for (const [id, u] of this.used) if (u.until < now) this.used.delete(id);
  }
}

/** "2 minutes", "90 seconds", "1 minute": a token lifetime as people say it. */
export function durationText(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s >= 60 && s % 60 === 0) return `${s / 60} minute${s === 60 ? '' : 's'}`;
  return `${s} second${s === 1 ? '' : 's'}`;
}
