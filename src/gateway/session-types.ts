/**
 * The session state machine's vocabulary: its states, the snapshot tools show, and what a login
 * driver and a managed gateway process must provide (session.ts runs the machine).
 */
import type { EventEmitter } from 'node:events';
import type { Logger } from '../log.js';

export { SESSION_STATES, type SessionSnapshot, type SessionStateName } from '../broker/session.js';

export type LoginOutcome =
  | { ok: true; message?: string }
  | {
      ok: false;
      /** credentials / second_factor: IB refused or the user did not approve (counts toward the 3-failure stop); setup: our side (no browser, no password). */
      kind: 'credentials' | 'second_factor' | 'timeout' | 'setup' | 'cancelled';
      reason: string;
      /** What to do, when the driver knows better than the state machine (OAuth's failures). */
      hint?: string;
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
  method: 'browser' | 'headless' | 'oauth';
  run(ctx: LoginContext): Promise<LoginOutcome>;
}

/** What the session manager needs from a managed gateway process. */
export interface ManagedGateway extends EventEmitter {
  state: string;
  failure: string | undefined;
}
