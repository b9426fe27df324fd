/**
 * The IB session as the rest of the server sees it. The states and the snapshot the gateway's
 * session manager (src/gateway/session.ts) keeps, and the session tools and status resource
 * show; and the broker's side of the life cycle the manager drives (BrokerSession): the
 * manager owns the state machine (logins, keep-alive, expiry, the gate); a BrokerSession reads
 * the broker's answers in its own protocol and owns what lives and dies with a brokerage
 * session: the accounts, paper or live, the per-session caches and the warm-up.
 *
 *   login detected → loggedIn() (accounts read) → ready() (warm-up, once per session)
 *   session lost or replaced → reset() (caches dropped; the next ready() warms up again)
 */
import type { AccountMode } from './types.js';

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
  login: {
    /** oauth: no login by a person; the OAuth session renews itself (IB's OAuth 1.0a). */
    method: 'browser' | 'headless' | 'oauth';
    inProgress: boolean;
    failuresInARow: number;
    stopped: boolean;
    /** The login in progress: its latest step (e.g. "Opened … in your browser", "Could not open a browser"). */
    step?: string;
  };
  lastKeepAlive?: string;
  /** Seconds until IB's SSO session ends unless kept alive (from /tickle). */
  ssoExpiresInS?: number;
}

/** What the broker says about the login. */
export interface AuthState {
  /** A brokerage session is open: trading and market-data requests may go. */
  authenticated: boolean;
  /** Another session (another app, device or browser) holds the brokerage session for this user. */
  competing: boolean;
  /** Logged in to the broker, with or without a brokerage session. */
  connected: boolean;
}

export interface KeepAliveAnswer {
  /** The login as the keep-alive found it. */
  auth: AuthState;
  /** Seconds until the broker's login ends unless kept alive, when the broker says. */
  ssoExpiresInS?: number;
}

export interface SessionAccounts {
  accounts: string[];
  /** PAPER or LIVE as the broker's answer implies (SIMULATED for the simulator; UNKNOWN when nothing says). */
  mode: AccountMode;
}

export interface BrokerSession {
  /** Reads the login's state. Throws a BrokerError when the broker cannot be asked. */
  authStatus(): Promise<AuthState>;
  /**
   * Opens the brokerage session of a user who is logged in to the broker, taking it from another
   * session only with `compete`. Resolves with the state afterwards.
   */
  openBrokerageSession(compete: boolean): Promise<AuthState>;
  /** One keep-alive call. */
  keepAlive(): Promise<KeepAliveAnswer>;
  /** A login was detected: reads this login's accounts and paper/live verdict. */
  loggedIn(): Promise<SessionAccounts>;
  /** Requests may go now: starts, in the background, what this session needs first. Never throws. */
  ready(): void;
  /** The brokerage session was lost or replaced: everything kept for it is dropped. */
  reset(): void;
}
