/**
 * Approval codes for live orders (issue #18): the secret is owner-only and never in an error, a
 * code is single use, must be newer than the order it approves, and wrong codes lock approvals.
 */
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, test } from 'node:test';
import * as OTPAuth from 'otpauth';
import { isBrokerError } from '../../src/broker/errors.js';
import {
  APPROVAL_SECRET_FILE,
  APPROVAL_STATE_FILE,
  ApprovalCodes,
  LOCK_MS,
  MAX_FAILURES,
  MAX_FAILURES_PER_DAY,
} from '../../src/safety/approval-code.js';

const homes: string[] = [];
afterEach(() => {
  for (const h of homes.splice(0)) rmSync(h, { recursive: true, force: true });
});

/** A clock the test moves, an enrolled home, and the human's authenticator. */
function rig(start = Date.UTC(2026, 11, 1, 12, 0, 10)) {
  const home = mkdtempSync(join(tmpdir(), 'ibkr-codes-'));
  homes.push(home);
  let now = start;
  const codes = new ApprovalCodes(home, () => now);
  const { secret } = codes.enrol();
  const app = new OTPAuth.TOTP({ secret: OTPAuth.Secret.fromBase32(secret), digits: 6, period: 30 });
  return {
    home,
    codes,
    secret,
    code: (at = now) => app.generate({ timestamp: at }),
    advance(ms: number) {
      now += ms;
    },
    now: () => now,
  };
}

function refused(re: RegExp) {
  return (err: unknown) => {
    assert.ok(isBrokerError(err), String(err));
    assert.equal(err.code, 'REFUSED');
    assert.match(err.message, re);
    return true;
  };
}

describe('approval codes', () => {
  test('enrolment writes the secret owner-only; the URL is an otpauth TOTP', () => {
    const home = mkdtempSync(join(tmpdir(), 'ibkr-codes-'));
    homes.push(home);
    const codes = new ApprovalCodes(home);
    assert.equal(codes.enrolled(), false);
    const e = codes.enrol();
    assert.match(e.url, /^otpauth:\/\/totp\/ibkr-mcp:orders\?.*secret=/);
    const file = join(home, APPROVAL_SECRET_FILE);
    if (process.platform !== 'win32') assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.equal(JSON.parse(readFileSync(file, 'utf8')).secret, e.secret);
  });

  test('the current code approves once; the same code again is refused (replay)', () => {
    const r = rig();
    const heldAt = r.now();
    const code = r.code();
    r.codes.verify(code, heldAt);
    assert.throws(() => r.codes.verify(code, heldAt), refused(/already used/));
    if (process.platform !== 'win32') assert.equal(statSync(join(r.home, APPROVAL_STATE_FILE)).mode & 0o777, 0o600);
  });

  test('the single use holds across processes sharing the state directory', () => {
    const r = rig();
    const code = r.code();
    r.codes.verify(code, r.now());
    const other = new ApprovalCodes(r.home, r.now);
    assert.throws(() => other.verify(code, r.now()), refused(/already used/));
  });

  test('a code from before the order was held is refused (it approved something else)', () => {
    const r = rig();
    const early = r.code();
    r.advance(30_000);
    assert.throws(() => r.codes.verify(early, r.now()), refused(/older than the order/));
    r.codes.verify(r.code(), r.now());
  });

  test('an expired code (two steps old) and a missing code are refused', () => {
    const r = rig();
    const old = r.code();
    r.advance(75_000);
    assert.throws(() => r.codes.verify(old, 0), refused(/wrong code/));
    assert.throws(() => r.codes.verify(undefined, 0), refused(/needs the approval code/));
  });

  test(`${MAX_FAILURES} wrong codes lock approvals, even for the right code, and say until when`, () => {
    const r = rig();
    const right = r.code();
    const wrong = right === '000000' ? '111111' : '000000';
    for (let i = 1; i < MAX_FAILURES; i++) {
      assert.throws(() => r.codes.verify(wrong, 0), refused(new RegExp(`${MAX_FAILURES - i} more wrong code`)));
    }
    assert.throws(() => r.codes.verify(wrong, 0), refused(/locked after 5 wrong codes, until/));
    assert.throws(() => r.codes.verify(right, 0), refused(/locked/));
    assert.ok(r.codes.lockedUntil());
    r.advance(LOCK_MS + 1000);
    assert.equal(r.codes.lockedUntil(), undefined);
    r.codes.verify(r.code(), 0);
  });

  test(`${MAX_FAILURES_PER_DAY} wrong codes in a day lock approvals until a new enrolment`, () => {
    const r = rig();
    const wrongNow = () => (r.code() === '000000' ? '111111' : '000000');
    // The attacker waits out each short lock and guesses again, until the day's limit.
    let guesses = 0;
    for (let i = 0; i < 100; i++) {
      const err = (() => {
        try {
          r.codes.verify(wrongNow(), 0);
        } catch (e) {
          return (e as Error).message;
        }
        return 'accepted';
      })();
      if (/^Approval code refused/.test(err)) guesses++;
      if (/sets up a new code/.test(err)) break;
      if (/locked/.test(err)) r.advance(LOCK_MS + 1000);
    }
    assert.equal(guesses, MAX_FAILURES_PER_DAY);
    assert.throws(() => r.codes.verify(r.code(), 0), refused(/until the user sets up a new code/));
    assert.equal(r.codes.lockedUntil(), Number.POSITIVE_INFINITY);
    r.advance(86_400_000);
    assert.throws(() => r.codes.verify(r.code(), 0), refused(/until the user sets up a new code/));
    // A new enrolment (the human, at a terminal) starts afresh.
    const { secret } = r.codes.enrol();
    const app = new OTPAuth.TOTP({ secret: OTPAuth.Secret.fromBase32(secret), digits: 6, period: 30 });
    r.codes.verify(app.generate({ timestamp: r.now() }), 0);
  });

  test('brute force: 1,000 guesses place nothing and never reveal the secret', () => {
    const r = rig();
    let accepted = 0;
    for (let i = 0; i < 1000; i++) {
      try {
        r.codes.verify(String(i * 997).padStart(6, '0'), 0);
        accepted++;
      } catch (err) {
        assert.ok(!String((err as Error).message).includes(r.secret));
        assert.ok(!JSON.stringify((err as { details?: unknown }).details ?? {}).includes(r.secret));
      }
    }
    // At most the guesses before the lock could have matched (each 1 in 10^6, 3 steps wide).
    assert.equal(accepted, 0);
  });

  test('a secret readable by others turns approvals off', { skip: process.platform === 'win32' }, () => {
    const r = rig();
    chmodSync(join(r.home, APPROVAL_SECRET_FILE), 0o644);
    assert.throws(() => r.codes.verify(r.code(), 0), refused(/readable by other users/));
  });

  test('remove() ends the enrolment', () => {
    const r = rig();
    assert.equal(r.codes.remove(), true);
    assert.equal(r.codes.enrolled(), false);
    assert.throws(() => r.codes.verify(r.code(), 0), refused(/No approval code is set up/));
  });
});
