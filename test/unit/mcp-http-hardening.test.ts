/** A network bind needs a token with real entropy (issue 11, item 16); the transport itself is in test/integration. */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { ConfigError } from '../../src/config/index.js';
import { checkBindSafety, tokenEntropyBits } from '../../src/mcp/http.js';

const TOKEN = randomBytes(32).toString('base64url');

describe('origin, token and sessions (item 16)', () => {
  test('a network bind refuses a low-entropy token, however long', () => {
    assert.ok(tokenEntropyBits('a'.repeat(64)) < 1);
    assert.ok(tokenEntropyBits('ab'.repeat(32)) < 128);
    assert.ok(tokenEntropyBits(randomBytes(32).toString('hex')) >= 128);
    assert.ok(tokenEntropyBits(randomBytes(32).toString('base64url')) >= 128);
    const bind = { host: '0.0.0.0', insecureHttp: true } as const;
    for (const weak of ['a'.repeat(32), 'a'.repeat(200), 'abcd'.repeat(16), '0123456789'.repeat(4)]) {
      assert.throws(
        () => checkBindSafety(bind, { value: weak, source: 'config' }),
        (e: unknown) => e instanceof ConfigError && /entropy|guessable/i.test(e.message),
        weak,
      );
    }
    checkBindSafety(bind, { value: TOKEN, source: 'config' });
    checkBindSafety(bind, { value: randomBytes(32).toString('hex'), source: 'config' });
  });
});
