/**
 * The IB session as the rest of the server sees it: its states and a snapshot of where it
 * stands. The gateway's session manager (src/gateway/session.ts) keeps it; the session tools
 * and the status resource show it.
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
  login: { method: 'browser' | 'headless'; inProgress: boolean; failuresInARow: number; stopped: boolean };
  lastKeepAlive?: string;
  /** Seconds until IB's SSO session ends unless kept alive (from /tickle). */
  ssoExpiresInS?: number;
}
