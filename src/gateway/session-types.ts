/**
 * The session state machine's vocabulary: its states, the snapshot tools show, and what a login
 * driver and a managed gateway process must provide (session.ts runs the machine).
 */
import type { EventEmitter } from 'node:events';
import type { AccountMode } from '../broker/types.js';
import type { Logger } from '../log.js';

export const SESSION_STATES = [
  'gateway_starting',
  'login_required',
  'awaiting_second_factor',
  'authenticated',
  'competing_session',
  'expired',
  'failed',
] as const;
export type SessionStateName = (typeof SESSION_STATES)[number];

export interface SessionSnapshot {
  state: SessionStateName;
  /** ISO time of the last state change. */
  since: string;
  gatewayUrl: string;
  /** Where the user logs in (login_required, expired). */
  loginUrl?: string;
  /** authenticated: PAPER, LIVE or SIMULATED. */
  mode?: AccountMode;
  accounts?: string[];
  /** failed, expired, competing_session: why. */
  reason?: string;
  /** Extra facts (e.g. "the gateway could not reach IB's servers"). */
  note?: string;
  /** What the user (or the model) should do next. */
  whatToDo: string;
  /** True when ibkr-mcp started this gateway (and will stop it). */
  managedGateway: boolean;
  login: { method: 'browser' | 'headless'; inProgress: boolean; failuresInARow: number; stopped: boolean };
  lastKeepAlive?: string;
  /** Seconds until IB's SSO session ends unless kept alive (from /tickle). */
  ssoExpiresInS?: number;
}

export type LoginOutcome =
  | { ok: true; message?: string }
  | {
      ok: false;
      /** credentials / second_factor: IB refused or the user did not approve (counts toward the 3-failure stop); setup: our side (no browser, no password). */
      kind: 'credentials' | 'second_factor' | 'timeout' | 'setup' | 'cancelled';
      reason: string;
    };

export interface LoginContext {
  loginUrl: string;
  /** Base URL of the gateway (https://localhost:5000). */
  gatewayUrl: string;
  timeoutMs: number;
  signal: AbortSignal;
  log: Logger;
  /** True once the gateway reports an authenticated brokerage session (opens it if needed). */
  checkAuthenticated(): Promise<boolean>;
  /** The login page asks for a second factor. */
  secondFactor(how: string): void;
  progress(message: string): void;
}

export interface LoginDriver {
  method: 'browser' | 'headless';
  run(ctx: LoginContext): Promise<LoginOutcome>;
}

/** What the session manager needs from a managed gateway process. */
export interface ManagedGateway extends EventEmitter {
  state: string;
  failure: string | undefined;
}
