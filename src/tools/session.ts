/**
 * Session tools: get_connection_status (read) and authenticate (write). The state comes from
 * the one session state machine (src/gateway/session.ts); tools that need IB while it is not
 * authenticated are refused at once with the same state and what to do.
 */
import * as z from 'zod';
import { SESSION_STATES, type SessionSnapshot } from '../broker/session.js';
import { idents } from '../broker/untrusted.js';
import type { App } from '../runtime.js';
import { compact } from './format.js';
import { defineTool } from './tool.js';

const SessionOut = z.object({
  state: z.enum(SESSION_STATES),
  since: z.string().describe('When the state began (ISO 8601)'),
  gatewayUrl: z.string(),
  loginUrl: z.string().optional().describe('Open this in a browser on the machine running the gateway to log in'),
  mode: z.enum(['SIMULATED', 'PAPER', 'LIVE', 'UNKNOWN']).optional().describe('Account mode once authenticated'),
  accounts: z.array(z.string()).optional(),
  reason: z.string().optional(),
  note: z.string().optional(),
  whatToDo: z.string(),
  managedGateway: z.boolean().describe('ibkr-mcp started this gateway and stops it on exit'),
  loginMethod: z.enum(['browser', 'headless']),
  loginInProgress: z.boolean(),
  failedLoginsInARow: z.number().int(),
  lastKeepAlive: z.string().optional(),
  ssoExpiresInS: z.number().optional(),
  gatewayProcess: z
    .object({ pid: z.number().optional(), state: z.string(), restarts: z.number().int() })
    .optional()
    .describe('The gateway process ibkr-mcp runs'),
});
type SessionOutT = z.infer<typeof SessionOut>;

function sessionOut(app: App, snap: SessionSnapshot): SessionOutT {
  const out: SessionOutT = {
    state: snap.state,
    since: snap.since,
    gatewayUrl: snap.gatewayUrl,
    whatToDo: snap.whatToDo,
    managedGateway: snap.managedGateway,
    loginMethod: snap.login.method,
    loginInProgress: snap.login.inProgress,
    failedLoginsInARow: snap.login.failuresInARow,
    ...compact({
      loginUrl: snap.loginUrl,
      mode: snap.mode,
      accounts: snap.accounts,
      reason: snap.reason,
      note: snap.note,
      lastKeepAlive: snap.lastKeepAlive,
      ssoExpiresInS: snap.ssoExpiresInS,
    }),
  };
  const gw = app.gateway?.gateway;
  if (gw) out.gatewayProcess = { ...(gw.pid ? { pid: gw.pid } : {}), state: gw.state, restarts: gw.deaths };
  return out;
}

function renderSession(s: SessionOutT): string {
  const lines = [`IB session: ${s.state}${s.mode ? ` (${s.mode})` : ''} since ${s.since}`];
  if (s.accounts?.length) lines.push(`Accounts: ${idents(s.accounts)}`);
  if (s.loginUrl) lines.push(`Login: ${s.loginUrl}`);
  if (s.reason) lines.push(`Reason: ${s.reason}`);
  if (s.note) lines.push(`Note: ${s.note}`);
  if (s.gatewayProcess) {
    lines.push(
      `Gateway process: ${s.gatewayProcess.state}${s.gatewayProcess.pid ? ` (pid ${s.gatewayProcess.pid})` : ''}${s.gatewayProcess.restarts ? `, restarted ${s.gatewayProcess.restarts}x` : ''}`,
    );
  }
  if (s.state !== 'authenticated') lines.push(`What to do: ${s.whatToDo}`);
  return lines.join('\n');
}

export const getConnectionStatus = defineTool({
  name: 'get_connection_status',
  title: 'IB connection status',
  description: 'State of the IB session (login needed, authenticated PAPER/LIVE, expired, …) and what to do next.',
  toolset: 'session',
  kind: 'read',
  input: z.object({
    refresh: z.boolean().optional().describe('Ask the gateway now (default true)'),
  }),
  output: SessionOut,
  async handle(args, ctx) {
    const session = ctx.app.gateway.session;
    if (args.refresh !== false) {
      await Promise.race([session.refresh(), new Promise((r) => setTimeout(r, 5000).unref())]);
    }
    return sessionOut(ctx.app, session.snapshot());
  },
  render: renderSession,
});

const AuthOut = SessionOut.extend({
  outcome: z.enum(['authenticated', 'in_progress', 'failed']),
  message: z.string(),
});

export const authenticate = defineTool({
  name: 'authenticate',
  title: 'Log in to IB',
  description: "Log in to IB (headless, or the login page in the user's browser) and wait for the session.",
  toolset: 'session',
  kind: 'write',
  input: z.object({
    waitSeconds: z
      .number()
      .int()
      .min(0)
      .max(600)
      .optional()
      .describe('Default IB_AUTH_TIMEOUT; 0 starts the login and returns'),
  }),
  output: AuthOut,
  async handle(args, ctx) {
    const session = ctx.app.gateway.session;
    if (session.current() !== 'authenticated') await session.refresh();
    if (session.current() === 'authenticated') {
      return {
        ...sessionOut(ctx.app, session.snapshot()),
        outcome: 'authenticated' as const,
        message: 'Already authenticated.',
      };
    }
    let step = 0;
    const flight = session.login({
      progress: (m) => {
        step += 1;
        void ctx.progress(step, undefined, m);
      },
      signal: ctx.signal,
    });
    // By default wait for the login's own outcome: its time limit plus browser start and shutdown.
    const waitMs =
      args.waitSeconds !== undefined ? args.waitSeconds * 1000 : (ctx.app.config.ibAuthTimeout + 20) * 1000;
    const outcome = await Promise.race([
      flight,
      new Promise<undefined>((r) => setTimeout(() => r(undefined), waitMs).unref()),
    ]);
    const snap = sessionOut(ctx.app, session.snapshot());
    if (!outcome) {
      return {
        ...snap,
        outcome: 'in_progress' as const,
        message: 'The login is still running; call get_connection_status to follow it.',
      };
    }
    if (outcome.ok) return { ...snap, outcome: 'authenticated' as const, message: outcome.message ?? 'Logged in.' };
    return { ...snap, outcome: 'failed' as const, message: outcome.reason };
  },
  render: (r) => `${r.outcome === 'authenticated' ? 'Logged in.' : r.message}\n${renderSession(r)}`,
});

export const SESSION_TOOLS = [getConnectionStatus, authenticate] as const;
