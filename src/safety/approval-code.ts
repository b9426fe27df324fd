/**
 * Approval codes: the way a human approves a LIVE order in a client that cannot show them a
 * dialog. `ibkr-mcp approvals setup` enrols a TOTP secret in the human's authenticator app; the
 * secret lives only in `<home>/approval-totp.json` (0600) and in that app, never in a log or a
 * tool result, so a model cannot compute a code: only the human can read it and type it.
 *
 * A code approves one held order (confirm_order with its token and the code):
 * - single use: a code's time step, once used, is never accepted again (also across processes:
 *   the last used step is kept in `approval-state.json`);
 * - fresh: a code from a time step before the order was held is refused, so a code the human
 *   typed for an earlier order cannot release a later one;
 * - limited attempts: MAX_FAILURES wrong codes within FAILURE_WINDOW_MS lock approvals for
 *   LOCK_MS, even for a right code, and the refusal says until when; MAX_FAILURES_PER_DAY wrong
 *   codes within a day lock them until the user enrols a new secret. A guess matches one of 3
 *   codes in 10^6 (the window is one step either side), so one secret survives at most
 *   MAX_FAILURES_PER_DAY guesses a day: a chance of 6 in 100,000 per day of attack.
 */

import { timingSafeEqual } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as OTPAuth from 'otpauth';
import { BrokerError } from '../broker/errors.js';
import { commandFor } from '../config/command.js';

export const APPROVAL_SECRET_FILE = 'approval-totp.json';
export const APPROVAL_STATE_FILE = 'approval-state.json';
export const MAX_FAILURES = 5;
export const FAILURE_WINDOW_MS = 15 * 60_000;
export const LOCK_MS = 10 * 60_000;
export const MAX_FAILURES_PER_DAY = 20;
const DAY_MS = 86_400_000;
const PERIOD_S = 30;
const DIGITS = 6;

interface SecretFile {
  v: 1;
  secret: string;
  createdAt: string;
}

interface StateFile {
  /** The last time step whose code was used. */
  lastStep?: number;
  /** Epoch ms of recent wrong codes. */
  failures?: number[];
  lockedUntil?: number;
  /** Too many wrong codes in a day: locked until a new enrolment. */
  burnt?: boolean;
}

export interface Enrolment {
  /** The otpauth:// URL for the authenticator app (contains the secret: show it only to the human). */
  url: string;
  /** The secret in base32, for typing it in by hand. */
  secret: string;
}

/** The setup command as the user runs it. */
export function setupCommand(): string {
  return commandFor('approvals setup');
}

function writePrivate(path: string, text: string): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, text, { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, path);
}

export class ApprovalCodes {
  private readonly secretPath: string;
  private readonly statePath: string;
  private readonly now: () => number;

  constructor(home: string, now: () => number = Date.now) {
    this.secretPath = join(home, APPROVAL_SECRET_FILE);
    this.statePath = join(home, APPROVAL_STATE_FILE);
    this.now = now;
  }

  /** True when a secret is enrolled (read fresh: setup may run while the server does). */
  enrolled(): boolean {
    return existsSync(this.secretPath);
  }

  /** Enrols a new secret (replacing any old one, whose codes stop working). */
  enrol(label = 'orders'): Enrolment {
    const secret = new OTPAuth.Secret({ size: 20 }).base32;
    const file: SecretFile = { v: 1, secret, createdAt: new Date(this.now()).toISOString() };
    writePrivate(this.secretPath, `${JSON.stringify(file)}\n`);
    if (existsSync(this.statePath)) unlinkSync(this.statePath);
    return { url: this.totp(secret, label).toString(), secret };
  }

  /** Removes the enrolment: live orders then need a dialog (or are refused). */
  remove(): boolean {
    const had = this.enrolled();
    for (const p of [this.secretPath, this.statePath]) if (existsSync(p)) unlinkSync(p);
    return had;
  }

  /** When approvals are locked after wrong codes: the epoch ms it ends (Infinity: until setup), else undefined. */
  lockedUntil(): number | undefined {
    const st = this.readState();
    if (st.burnt) return Number.POSITIVE_INFINITY;
    return st.lockedUntil !== undefined && st.lockedUntil > this.now() ? st.lockedUntil : undefined;
  }

  /**
   * Checks a code for an order held at `heldAt` (epoch ms) and uses it up. Throws REFUSED saying
   * why (missing, locked, wrong, reused, older than the order); nothing is sent then.
   */
  verify(code: string | undefined, heldAt: number): void {
    const secret = this.readSecret();
    const state = this.readState();
    const now = this.now();
    if (state.burnt) throw burnt();
    if (state.lockedUntil !== undefined && state.lockedUntil > now) throw locked(state.lockedUntil, now);
    if (code === undefined || code === '') {
      throw new BrokerError(
        'REFUSED',
        'This LIVE order needs the approval code from the user\'s authenticator app ("code"); nothing was sent.',
        {
          hint: 'Show the user the order; only if they agree, ask them for the current 6-digit ibkr-mcp code and pass it with the token. Never guess a code: wrong codes lock approvals.',
          details: { reason: 'code-missing' },
        },
      );
    }
    const step = this.stepOf(secret, code.trim(), now);
    const why =
      step === undefined
        ? 'wrong code'
        : step <= (state.lastStep ?? -1)
          ? 'this code was already used'
          : step < Math.floor(heldAt / 1000 / PERIOD_S)
            ? 'the code is older than the order'
            : undefined;
    if (why) this.fail(state, now, why);
    // A success clears the short lock's count; the day's count stays.
    const day = (state.failures ?? []).filter((t) => t > now - DAY_MS);
    this.writeState({ lastStep: step!, ...(day.length ? { failures: day } : {}) });
  }

  private fail(state: StateFile, now: number, why: string): never {
    const failures = (state.failures ?? []).filter((t) => t > now - DAY_MS);
    failures.push(now);
    const recent = failures.filter((t) => t > now - FAILURE_WINDOW_MS).length;
    const next: StateFile = { failures };
    if (state.lastStep !== undefined) next.lastStep = state.lastStep;
    if (failures.length >= MAX_FAILURES_PER_DAY) next.burnt = true;
    else if (recent >= MAX_FAILURES) next.lockedUntil = now + LOCK_MS;
    this.writeState(next);
    if (next.burnt) throw burnt(why);
    if (next.lockedUntil) throw locked(next.lockedUntil, now, why);
    const left = MAX_FAILURES - recent;
    throw new BrokerError(
      'REFUSED',
      `Approval code refused: ${why} (${left} more wrong code${left === 1 ? '' : 's'} lock approvals for ${LOCK_MS / 60_000} minutes). Nothing was sent.`,
      {
        hint: 'Ask the user for the code their authenticator shows now (a new one every 30 seconds; each code works once). Never guess.',
        details: { reason: why, attemptsLeft: left },
      },
    );
  }

  /** The time step (within one step of now) whose code this is, compared in constant time. */
  private stepOf(secret: string, code: string, now: number): number | undefined {
    if (!new RegExp(`^\\d{${DIGITS}}$`).test(code)) return undefined;
    const totp = this.totp(secret);
    const nowStep = Math.floor(now / 1000 / PERIOD_S);
    let found: number | undefined;
    for (const s of [nowStep - 1, nowStep, nowStep + 1]) {
      const want = totp.generate({ timestamp: s * PERIOD_S * 1000 });
      if (timingSafeEqual(Buffer.from(want), Buffer.from(code)) && found === undefined) found = s;
    }
    return found;
  }

  private totp(secret: string, label = 'orders'): OTPAuth.TOTP {
    return new OTPAuth.TOTP({
      issuer: 'ibkr-mcp',
      label,
      algorithm: 'SHA1',
      digits: DIGITS,
      period: PERIOD_S,
      secret: OTPAuth.Secret.fromBase32(secret),
    });
  }

  private readSecret(): string {
    if (!this.enrolled()) {
      throw new BrokerError('REFUSED', 'No approval code is set up; nothing was sent.', {
        hint: `Have the user run \`${setupCommand()}\` in a terminal.`,
      });
    }
    if (process.platform !== 'win32' && (statSync(this.secretPath).mode & 0o077) !== 0) {
      throw new BrokerError(
        'REFUSED',
        `The approval secret ${this.secretPath} is readable by other users; approvals are off and nothing was sent.`,
        { hint: `Have the user run \`${setupCommand()}\` again (it writes a new secret, owner-only).` },
      );
    }
    try {
      const f = JSON.parse(readFileSync(this.secretPath, 'utf8')) as SecretFile;
      if (typeof f.secret !== 'string' || !f.secret) throw new Error('no secret');
      return f.secret;
    } catch {
      throw new BrokerError('REFUSED', 'The approval secret could not be read; nothing was sent.', {
        hint: `Have the user run \`${setupCommand()}\` again.`,
      });
    }
  }

  private readState(): StateFile {
    try {
      return JSON.parse(readFileSync(this.statePath, 'utf8')) as StateFile;
    } catch {
      return {};
    }
  }

  private writeState(s: StateFile): void {
    writePrivate(this.statePath, `${JSON.stringify(s)}\n`);
  }
}

function burnt(why?: string): BrokerError {
  return new BrokerError(
    'REFUSED',
    `${why ? `Approval code refused: ${why}. ` : ''}Approvals are locked after ${MAX_FAILURES_PER_DAY} wrong codes within a day, until the user sets up a new code. Nothing was sent.`,
    {
      hint: `The user must run \`${setupCommand()}\` again in a terminal. Never guess codes.`,
      details: { reason: 'locked', until: 'setup' },
    },
  );
}

function locked(until: number, now: number, why?: string): BrokerError {
  const mins = Math.max(1, Math.ceil((until - now) / 60_000));
  return new BrokerError(
    'REFUSED',
    `${why ? `Approval code refused: ${why}. ` : ''}Approvals are locked after ${MAX_FAILURES} wrong codes, until ${new Date(until).toISOString()} (about ${mins} minute${mins === 1 ? '' : 's'}). Nothing was sent.`,
    {
      hint: 'Wait until then, and only pass a code the user read from their authenticator app. Never guess codes.',
      details: { reason: 'locked', lockedUntil: new Date(until).toISOString() },
    },
  );
}
