/**
 * Session tools: get_connection_status (read) and authenticate (write). The state comes from
 * the one session state machine (src/gateway/session.ts); tools that need IB while it is not
 * authenticated are refused at once with the same state and what to do.
 */
import * as z from 'zod';
import { BrokerError } from '../broker/errors.js';
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
  loginMethod: z.enum(['browser', 'headless', 'oauth']),
  loginInProgress: z.boolean(),
  loginStep: z
    .string()
    .optional()
    .describe('The login in progress: its latest step, e.g. whether a browser was opened'),
  failedLoginsInARow: z.number().int(),
  lastKeepAlive: z.string().optional(),
  ssoExpiresInS: z.number().optional(),
  gatewayProcess: z
    .object({ pid: z.number().optional(), state: z.string(), restarts: z.number().int() })
    .optional()
    .describe('The gateway process ibkr-mcp runs'),
  push: z
    .object({
      state: z.string(),
      lastMessageAgeMs: z.number().optional(),
      authenticated: z.boolean().optional(),
      healthy: z.boolean().describe('Open and heard from recently: reads may be answered from it'),
      reconnects: z.number().int(),
      quotes: z.number().int().describe('Instruments streamed'),
      heldQuotes: z.number().int().optional().describe('Of those, held by resource subscriptions'),
      refused: z.array(z.string()).optional().describe('Refused by IB, retrying'),
    })
    .optional(),
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
    ...compact({ loginStep: snap.login.step }),
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
  const push = app.backend.pushStatus?.();
  if (push && push.state !== 'off') {
    out.push = {
      state: push.state,
      healthy: push.healthy,
      reconnects: push.reconnects,
      quotes: push.quotes,
      ...compact({
        lastMessageAgeMs: push.lastMessageAgeMs,
        authenticated: push.authenticated,
        heldQuotes: push.heldQuotes || undefined,
        refused: push.refused?.length ? push.refused : undefined,
      }),
    };
  }
  const gw = app.gateway?.gateway;
  if (gw) out.gatewayProcess = { ...(gw.pid ? { pid: gw.pid } : {}), state: gw.state, restarts: gw.deaths };
  return out;
}

function renderSession(s: SessionOutT): string {
  const lines = [`IB session: ${s.state}${s.mode ? ` (${s.mode})` : ''} since ${s.since}`];
  if (s.accounts?.length) lines.push(`Accounts: ${idents(s.accounts)}`);
  if (s.loginUrl) lines.push(`Login: ${s.loginUrl}`);
  if (s.loginStep) lines.push(`Login in progress: ${s.loginStep}`);
  if (s.reason) lines.push(`Reason: ${s.reason}`);
  if (s.note) lines.push(`Note: ${s.note}`);
  if (s.gatewayProcess) {
    lines.push(
      `Gateway process: ${s.gatewayProcess.state}${s.gatewayProcess.pid ? ` (pid ${s.gatewayProcess.pid})` : ''}${s.gatewayProcess.restarts ? `, restarted ${s.gatewayProcess.restarts}x` : ''}`,
    );
  }
  if (s.push) {
    const age = s.push.lastMessageAgeMs;
    lines.push(
      `IB WebSocket: ${s.push.state}${s.push.healthy ? '' : ' (not answering reads: REST instead)'}${age !== undefined ? `, last message ${(age / 1000).toFixed(1)} s ago` : ''}${s.push.authenticated === false ? ', IB says the session ended' : ''}, ${s.push.quotes} quotes streamed${s.push.heldQuotes ? ` (${s.push.heldQuotes} subscribed)` : ''}${s.push.reconnects ? `, ${s.push.reconnects} reconnects` : ''}${s.push.refused ? `, IB refused ${s.push.refused.join(' and ')} (asked again; read over REST meanwhile)` : ''}`,
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
    refresh: z.boolean().optional().describe('Ask the gateway now'),
  }),
  output: SessionOut,
  async handle(args, ctx) {
    const session = ctx.app.gateway.session;
    // A live WebSocket that IB's last word called authenticated answers without asking the gateway.
    const push = ctx.app.backend.pushStatus?.();
    const pushed = push?.healthy === true && push.authenticated === true && session.current() === 'authenticated';
    if (args.refresh === true || (args.refresh === undefined && !pushed)) {
      await Promise.race([session.refresh(), new Promise((r) => setTimeout(r, 5000).unref())]);
    }
    return sessionOut(ctx.app, session.snapshot());
  },
  render: renderSession,
});

const AuthOut = SessionOut.extend({
  outcome: z.enum(['authenticated', 'in_progress']),
  message: z.string(),
});

/** How long authenticate waits for the login by default before it answers (the login goes on). */
export const AUTH_ANSWER_MS = 2000;
/** The longest wait without a progress token: clients give up on a silent call at about 60 s. */
const SILENT_WAIT_CAP_MS = 45_000;
/** Progress notifications while waiting, so that a client that resets its timeout on progress waits. */
const HEARTBEAT_MS = 5000;

export const authenticate = defineTool({
  name: 'authenticate',
  title: 'Log in to IB',
  description:
    'Start the IB login; answers in ~2 s with its state and what the human must do (URL, second factor) while it goes on; get_connection_status follows it.',
  toolset: 'session',
  kind: 'write',
  input: z.object({
    waitSeconds: z
      .number()
      .int()
      .min(0)
      .max(600)
      .optional()
      .describe('Seconds to wait for the login (default 2; 45 at most without progress)'),
  }),
  output: AuthOut,
  async handle(args, ctx) {
    const session = ctx.app.gateway.session;
    const t0 = Date.now();
    const wanted = args.waitSeconds !== undefined ? args.waitSeconds * 1000 : AUTH_ANSWER_MS;
    const waitMs = ctx.progressRequested ? wanted : Math.min(wanted, SILENT_WAIT_CAP_MS);
    const left = () => Math.max(0, waitMs - (Date.now() - t0));
    // A fresh look first (a browser login may just have finished, or the session just ended), within the answer time.
    await Promise.race([session.refresh(), delay(Math.min(1500, left()))]);
    if (session.current() === 'authenticated') {
      return {
        ...sessionOut(ctx.app, session.snapshot()),
        outcome: 'authenticated' as const,
        message: 'Already authenticated.',
      };
    }
    let answered = false;
    let step = 0;
    const notify = (m: string) => {
      if (answered) return;
      step += 1;
      void ctx.progress(step, undefined, m);
    };
    const flight = session.login({ progress: notify });
    // Say at once what the human must do (URL, second factor), then every few seconds.
    if (ctx.progressRequested) notify(`Waiting for the IB login: ${session.snapshot().whatToDo}`);
    const heartbeat = ctx.progressRequested
      ? setInterval(() => notify(`Waiting for the IB login: ${session.snapshot().whatToDo}`), HEARTBEAT_MS)
      : undefined;
    heartbeat?.unref();
    let outcome: Awaited<typeof flight> | undefined;
    try {
      outcome = await Promise.race([flight, delay(left(), ctx.signal).then(() => undefined)]);
    } finally {
      answered = true;
      if (heartbeat) clearInterval(heartbeat);
    }
    const snap = sessionOut(ctx.app, session.snapshot());
    if (outcome && !outcome.ok) {
      // An honest failure: the client sees isError, with the state and what to do.
      throw new BrokerError(
        snap.state === 'competing_session' ? 'COMPETING_SESSION' : 'NOT_AUTHENTICATED',
        `IB login failed: ${outcome.reason} (session: ${snap.state}).`,
        { hint: snap.whatToDo, details: { session: { state: snap.state, loginUrl: snap.loginUrl } } },
      );
    }
    if (outcome?.ok) return { ...snap, outcome: 'authenticated' as const, message: outcome.message ?? 'Logged in.' };
    return {
      ...snap,
      outcome: 'in_progress' as const,
      message: `The login goes on in the background. ${snap.loginStep ? `${snap.loginStep} ` : ''}${snap.whatToDo} Call get_connection_status to follow it.`,
    };
  },
  render: (r) => `${r.outcome === 'authenticated' ? 'Logged in.' : r.message}\n${renderSession(r)}`,
});

function delay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const t = setTimeout(done, ms);
    t.unref();
    signal?.addEventListener('abort', done, { once: true });
  });
}

export const SESSION_TOOLS = [getConnectionStatus, authenticate] as const;
