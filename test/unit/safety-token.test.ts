import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BrokerError } from '../../src/broker/errors.js';
import { ConfirmTokens, canonicalHash, canonicalJson, durationText } from '../../src/safety/confirm-token.js';

const order = { accountId: 'DU1', conid: 265598, side: 'BUY', quantity: 10, limitPrice: 185.5 };
const refused = (re: RegExp) => (e: unknown) => e instanceof BrokerError && e.code === 'REFUSED' && re.test(e.message);

describe('confirmation tokens', () => {
  test('canonical hash ignores key order and undefined', () => {
    assert.equal(canonicalJson({ b: 1, a: [1, { d: 2, c: undefined }] }), '{"a":[1,{"d":2}],"b":1}');
    assert.equal(canonicalHash({ a: 1, b: 2 }), canonicalHash({ b: 2, a: 1 }));
    assert.notEqual(canonicalHash({ a: 1 }), canonicalHash({ a: 2 }));
  });

  test('valid token releases exactly the held order, once', () => {
    const t = new ConfirmTokens<typeof order>();
    const { token, expiresAt } = t.issue(canonicalHash(order), 'DU1', order);
    assert.ok(expiresAt > Date.now());
    const r = t.redeem(token, canonicalHash);
    assert.deepEqual(r.data, order);
    assert.equal(r.accountId, 'DU1');
    assert.throws(() => t.redeem(token, canonicalHash), refused(/already used/));
  });

  test('expired after the TTL', () => {
    let now = 1_000_000;
    const t = new ConfirmTokens<typeof order>({ now: () => now });
    const { token } = t.issue(canonicalHash(order), 'DU1', order);
    now += 120_001;
    assert.throws(() => t.redeem(token), refused(/expired/));
  });

  test('tampered tokens are refused: payload, signature, format', () => {
    const t = new ConfirmTokens<typeof order>();
    const { token } = t.issue(canonicalHash(order), 'DU1', order);
    const [v, body, mac] = token.split('.') as [string, string, string];
    const payload = JSON.parse(Buffer.from(body, 'base64url').toString());
    payload.e += 3_600_000;
    const forgedBody = Buffer.from(JSON.stringify(payload)).toString('base64url');
    assert.throws(() => t.redeem(`${v}.${forgedBody}.${mac}`), refused(/signature/));
    const flipped = mac.slice(0, -1) + (mac.endsWith('A') ? 'B' : 'A');
    assert.throws(() => t.redeem(`${v}.${body}.${flipped}`), refused(/signature/));
    assert.throws(() => t.redeem('not-a-token'), refused(/malformed/));
    // A token from another process (another key) is refused.
    const other = new ConfirmTokens<typeof order>();
    assert.throws(() => other.redeem(token), refused(/signature/));
    // The original is still good: failed attempts do not consume it.
    assert.deepEqual(t.redeem(token).data, order);
  });

  test('a held order that no longer matches its hash is refused', () => {
    const t = new ConfirmTokens<{ q: number }>();
    const held = { q: 1 };
    const { token } = t.issue(canonicalHash(held), 'DU1', held);
    held.q = 1000; // mutated after issue
    assert.throws(() => t.redeem(token, canonicalHash), refused(/does not match/));
  });

  test('discard voids a token', () => {
    const t = new ConfirmTokens<typeof order>();
    const { token } = t.issue('h', 'DU1', order);
    t.discard(token);
    // Issue 11 item 8: a declined token was said to be "already sent once".
    assert.throws(() => t.redeem(token), refused(/void: the order it held was declined and never sent/));
    assert.throws(
      () => t.redeem(token),
      (e: unknown) => !/already used|sent once/.test(String(e)),
    );
    assert.equal(t.pending, 0);
  });

  test('the expiry message states the configured lifetime (issue 11 item 8)', () => {
    let now = 1_000_000;
    const t = new ConfirmTokens<typeof order>({ now: () => now, ttlMs: 30_000 });
    const { token } = t.issue('h', 'DU1', order);
    now += 30_001;
    assert.throws(() => t.redeem(token), refused(/valid for 30 seconds/));
    assert.equal(durationText(120_000), '2 minutes');
    assert.equal(durationText(60_000), '1 minute');
    assert.equal(durationText(90_000), '90 seconds');
  });
});
