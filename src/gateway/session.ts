/**
 * The one IB session state machine. Every part that learns something about the session
 * (gateway process, status checks, keep-alive, logins, a 401 in a tool's request) reports it
 * here, and tools read it from here: get_connection_status shows it, and requests that need IB
 * are refused at once with the state and what the user must do instead of hanging.
 *
 *   gateway_starting → login_required{url} → (awaiting_second_factor) → authenticated{mode}
 *   authenticated → expired (idle timeout, daily reset, logout) | competing_session | failed{reason}
 */
import { EventEmitter } from 'node:events';
import { BrokerError, isBrokerError } from '../broker/errors.js';
import { wallClock } from '../broker/locale.js';
import type { AuthState, BrokerSession } from '../broker/session.js';
import type { AccountMode } from '../broker/types.js';
import { commandFor } from '../config/command.js';
import { type Logger, silentLogger } from '../log.js';
import type {
  LoginContext,
  LoginDriver,
  LoginOutcome,
  ManagedGateway,
  SessionSnapshot,
  SessionStateName,
} from './session-types.js';

export {
  type LoginContext,
  type LoginDriver,
  type LoginOutcome,
  type ManagedGateway,
  SESSION_STATES,
  type SessionSnapshot,
  type SessionStateName,
} from './session-types.js';

export interface SessionManagerOptions {
  /**
   * The broker's side of the session (src/broker/session.ts): reads the login's state, keeps it
   * alive, reads the accounts at each login, warms up and drops its caches when told.
   */
  broker: BrokerSession;
  gatewayUrl: string;
  /** Where the user logs in; default gatewayUrl. */
  loginUrl?: string;
  log?: Logger;
  simulated?: boolean;
  managedGateway?: boolean;
  keepaliveMs?: number;
  allowCompeting?: boolean;
  loginDriver?: LoginDriver;
  /** Seconds a login may take, second factor included. */
  authTimeoutMs?: number;
  /** Open the login page automatically the first time a login is needed (browser method). */
  autoLogin?: boolean;
  /**
   * Log in again by itself when a session that was up ends (IB's daily reset, a gateway restart):
   * only for a headless login that needs nobody (credentials and a TOTP secret). The three-failures
   * stop still applies.
   */
  reloginOnExpiry?: boolean;
  now?: () => number;
}

/** IB's session endpoints, which must pass the gate. */
const SESSION_PATH = /^\/(iserver\/auth\/|tickle|logout|sso\/|iserver\/reauthenticate)/;

export const MAX_FAILED_LOGINS = 3;

/**
 * IB ends every session once a day, at midnight in New York, Zug or Hong Kong depending on
 * the server region. True when `at` is within 30 minutes after one of those midnights, or the
 * session had lived about 24 hours.
 */
export function looksLikeDailyReset(at: number, sessionStartedAt?: number): boolean {
  if (sessionStartedAt !== undefined && at - sessionStartedAt > 23.5 * 3600_000) return true;
  return (['America/New_York', 'Europe/Zurich', 'Asia/Hong_Kong'] as const).some((zone) => {
    const { hour, minute } = wallClock(zone, at);
    return hour === 0 && minute < 30;
  });
}

export class SessionManager extends EventEmitter {
  private s: SessionStateName;
  private sinceAt: number;
  private extra: Partial<SessionSnapshot> = {};
  private readonly broker: BrokerSession;
  private readonly log: Logger;
  private readonly opts: SessionManagerOptions;
  private readonly now: () => number;
  private refreshing: Promise<void> | undefined;
  private firstRefresh: Promise<void> | undefined;
  private checkedAt = 0;
  private everAuthenticated = false;
  private authenticatedAt: number | undefined;
  private keepTimer: NodeJS.Timeout | undefined;
  private watchTimer: NodeJS.Timeout | undefined;
  private loginStep: string | undefined;
  private keepFailures = 0;
  private lastInitAt = 0;
  private initFlight: Promise<boolean> | undefined;
  /** Counts brokerage sessions re-opened by ssodh/init; an answer asked before the last one is stale. */
  private reopens = 0;
  private loginFlight: Promise<LoginOutcome> | undefined;
  private failures = 0;
  private loginStopped = false;
  private autoLoginDone = false;
  private closed = false;
  private gatewayDown: string | undefined;
  /** The last status check found no gateway listening. */
  private unreachable = false;
  /** OAuth: what to do about the last OAuth failure (IB refused the token, the keys, the clock). */
  private oauthAdvice: string | undefined;
  readonly loginUrl: string;

  constructor(opts: SessionManagerOptions) {
    super();
    this.opts = opts;
    this.broker = opts.broker;
    this.log = opts.log ?? silentLogger;
    this.now = opts.now ?? Date.now;
    this.loginUrl = (opts.loginUrl ?? opts.gatewayUrl).replace(/\/+$/, '');
    this.s = 'gateway_starting';
    this.sinceAt = this.now();
  }

  get state(): SessionStateName {
    return this.s;
  }

  /** The state now (a method, so TypeScript does not narrow it across awaits). */
  current(): SessionStateName {
    return this.s;
  }

  get loginMethod(): 'browser' | 'headless' | 'oauth' {
    return this.opts.loginDriver?.method ?? 'browser';
  }

  /**
   * The built-in simulator is started by the first request or status read that needs it (the
   * server answers tools/list without it); a gateway's session is checked from the start (start()).
   */
  private startSimulated(): void {
    if (!this.firstRefresh && this.opts.simulated && !this.closed) void this.start();
  }

  snapshot(): SessionSnapshot {
    this.startSimulated();
    const snap: SessionSnapshot = {
      state: this.s,
      since: new Date(this.sinceAt).toISOString(),
      gatewayUrl: this.opts.gatewayUrl,
      whatToDo: this.whatToDo(),
      managedGateway: this.opts.managedGateway === true,
      login: {
        method: this.loginMethod,
        inProgress: this.loginFlight !== undefined,
        failuresInARow: this.failures,
        stopped: this.loginStopped,
        ...(this.loginFlight && this.loginStep ? { step: this.loginStep } : {}),
      },
      ...this.extra,
    };
    const loginPage = this.loginMethod !== 'oauth';
    if (loginPage && (this.s === 'login_required' || this.s === 'expired' || this.s === 'awaiting_second_factor')) {
      snap.loginUrl = this.loginUrl;
    }
    return snap;
  }

  private whatToDo(): string {
    const headless = this.loginMethod === 'headless';
    if (this.loginMethod === 'oauth') return this.oauthWhatToDo();
    switch (this.s) {
      case 'gateway_starting':
        return 'The IB gateway is starting; retry in a few seconds (get_connection_status shows when it is ready).';
      case 'login_required':
      case 'expired':
        if (this.loginStopped) {
          return `Headless login stopped after ${MAX_FAILED_LOGINS} failed attempts in a row, to protect the account from IB's lockout. Check IB_USERNAME / IB_PASSWORD_AUTH / IB_TOTP_SECRET, log in once at ${this.loginUrl} in a browser to clear any IB warning, then restart ibkr-mcp.`;
        }
        if (this.loginFlight && !headless) {
          return `Log in at ${this.loginUrl} in a browser on this machine (user name, password, second factor); ibkr-mcp notices the login by itself.`;
        }
        if (this.loginFlight) return 'A headless login is running; wait a few seconds and check again.';
        return headless
          ? `Call the authenticate tool to log in headlessly (approve the IB app notification if asked), or log in at ${this.loginUrl} in a browser on this machine.`
          : `Open ${this.loginUrl} in a browser on this machine and log in (user name, password, second factor), or call the authenticate tool, which opens it; then retry.`;
      case 'awaiting_second_factor':
        return 'IB is waiting for the second factor: approve the notification in the IBKR mobile app (or enter the code); the login continues by itself.';
      case 'authenticated':
        return 'Nothing: the session is up and kept alive.';
      case 'competing_session':
        return 'Another IB session (TWS, IB Gateway, IBKR mobile or another browser) holds the brokerage session for this user. Log out there, then call authenticate (or retry); ibkr-mcp does not take the session over unless started with --allow-competing-session.';
      case 'failed':
        return this.opts.managedGateway
          ? `Run \`${commandFor('doctor')}\` to see what is wrong; fix it and restart ibkr-mcp.`
          : `Check that your Client Portal gateway runs at ${this.opts.gatewayUrl} (or run \`${commandFor('doctor')}\`), then retry.`;
    }
  }

  private oauthWhatToDo(): string {
    switch (this.s) {
      case 'authenticated':
        return 'Nothing: the OAuth session is up; its live session token is renewed before it expires.';
      case 'competing_session':
        return 'Another IB session (TWS, IB Gateway, IBKR mobile or a browser) holds the brokerage session for this user. Log out there, then call authenticate (or retry); ibkr-mcp does not take the session over unless started with --allow-competing-session.';
      case 'failed':
        return (
          this.oauthAdvice ??
          `Run \`${commandFor('doctor')}\` to check the OAuth setup step by step; ibkr-mcp retries by itself every minute.`
        );
      default:
        return 'ibkr-mcp opens the OAuth session by itself (no login needed); call get_connection_status again in a few seconds, or authenticate to try now.';
    }
  }

  /** An OAuth failure (details.oauth): the session is failed with IB's reason, retried by the watch. */
  private oauthFailed(err: unknown): boolean {
    if (!isBrokerError(err) || !err.details?.['oauth']) return false;
    this.oauthAdvice = err.hint;
    if (this.s === 'authenticated') this.broker.reset();
    this.set('failed', { reason: err.message });
    return true;
  }

  private set(state: SessionStateName, extra: Partial<SessionSnapshot> = {}): void {
    const changed = state !== this.s;
    if (changed) this.sinceAt = this.now();
    const keep: Partial<SessionSnapshot> = {};
    if (this.extra.lastKeepAlive) keep.lastKeepAlive = this.extra.lastKeepAlive;
    if (this.extra.ssoExpiresInS !== undefined && state === 'authenticated')
      keep.ssoExpiresInS = this.extra.ssoExpiresInS;
    if (state === 'authenticated' && this.extra.mode) {
      keep.mode = this.extra.mode;
      keep.accounts = this.extra.accounts;
    }
    this.extra = { ...keep, ...extra };
    const prev = this.s;
    this.s = state;
    if (state === 'authenticated') this.startKeepAlive();
    else this.stopKeepAlive();
    this.watch(state);
    if (changed) {
      this.log.info('ib session state', { from: prev, to: state, reason: extra.reason, note: extra.note });
      this.emit('change', this.snapshot(), prev);
      if ((state === 'login_required' || state === 'expired') && this.opts.autoLogin && !this.autoLoginDone) {
        this.autoLoginDone = true;
        void this.login().catch(() => {});
      } else if (state === 'expired' && this.opts.reloginOnExpiry && !this.loginStopped) {
        this.log.info('logging in again by itself (headless, TOTP)', { after: prev });
        void this.login().catch(() => {});
      }
    }
  }

  /** A managed gateway reports its process state. */
  attachGateway(gw: ManagedGateway): void {
    gw.on('state', (st: string, note?: string) => {
      if (st === 'starting' || st === 'restarting') {
        this.gatewayDown = undefined;
        this.set('gateway_starting', note ? { note } : {});
      } else if (st === 'running') {
        this.gatewayDown = undefined;
        void this.refresh();
      } else if (st === 'failed') {
        this.gatewayDown = gw.failure ?? 'The gateway process failed.';
        this.set('failed', { reason: this.gatewayDown });
      } else if (st === 'stopped' && !this.closed) {
        this.gatewayDown = 'The gateway process was stopped.';
        this.set('failed', { reason: this.gatewayDown });
      }
    });
  }

  /** Progress of the managed gateway's start-up (download, Java install), shown while it starts. */
  starting(note: string): void {
    if (this.s === 'gateway_starting') this.extra.note = note;
  }

  /** Reports a failure before the gateway could even start (download, Java, port). */
  fail(reason: string): void {
    this.gatewayDown = reason;
    this.set('failed', { reason });
  }

  /** Starts checking: the first status check now (for a gateway we do not start). */
  start(): Promise<void> {
    if (!this.opts.managedGateway) {
      this.firstRefresh = this.refresh();
      return this.firstRefresh;
    }
    return Promise.resolve();
  }

  /** Reads the session from the gateway (single flight) and moves the state machine. */
  refresh(): Promise<void> {
    if (this.closed) return Promise.resolve();
    if (!this.refreshing) {
      this.refreshing = this.doRefresh().finally(() => {
        this.refreshing = undefined;
        this.checkedAt = this.now();
      });
    }
    return this.refreshing;
  }

  private async doRefresh(): Promise<void> {
    if (this.gatewayDown !== undefined) return;
    let st: AuthState;
    const askedAt = this.reopens;
    try {
      st = await this.broker.authStatus();
    } catch (err) {
      this.onCheckError(err);
      return;
    }
    this.unreachable = false;
    await this.apply(st, 'status', askedAt);
  }

  private onCheckError(err: unknown): void {
    if (this.gatewayDown !== undefined) return;
    if (this.oauthFailed(err)) return;
    const code = isBrokerError(err) ? err.code : undefined;
    if (code === 'NOT_AUTHENTICATED') {
      this.lost('status check answered "not authenticated"');
      return;
    }
    if (code === 'GATEWAY_TIMEOUT' || code === 'CANCELLED') {
      // The gateway is up but cannot answer the session check: usually it cannot reach IB.
      const note =
        "The gateway answered but could not check the session within a few seconds; it may not reach IB's servers (network, IB maintenance).";
      if (this.s === 'authenticated') this.extra.note = note;
      else if (this.s === 'gateway_starting' || this.s === 'failed') this.set('login_required', { note });
      else this.extra.note = note;
      return;
    }
    this.unreachable = code === 'GATEWAY_UNREACHABLE';
    if (code === 'GATEWAY_UNREACHABLE') {
      if (this.opts.managedGateway && this.s === 'gateway_starting') return;
      const what = this.loginMethod === 'oauth' ? "IB's API" : 'the Client Portal gateway';
      this.set('failed', {
        reason: `Cannot reach ${what} at ${this.opts.gatewayUrl}: ${(err as BrokerError).message}`,
      });
      return;
    }
    this.log.warn('session check failed', { err: (err as Error)?.message });
    this.extra.note = `The last session check failed: ${(err as Error)?.message ?? String(err)}`;
  }

  /** The session is gone (401 or authenticated:false after trying to re-open it). */
  private lost(detail: string): void {
    if (this.s === 'authenticated' || this.everAuthenticated) {
      const at = this.now();
      const daily = looksLikeDailyReset(at, this.authenticatedAt);
      this.broker.reset();
      if (this.s !== 'expired') {
        this.set('expired', {
          reason: daily
            ? "IB ended the session: this looks like IB's daily reset (every session ends once a day around midnight New York, Zug or Hong Kong time). Log in again."
            : `IB ended the session (${detail}): an idle timeout, a logout, or a login elsewhere. Log in again.`,
        });
      }
      return;
    }
    if (this.loginStopped) return;
    if (this.s !== 'login_required' && this.s !== 'awaiting_second_factor') this.set('login_required');
  }

  /** Interprets an auth state from a status check or a keep-alive. */
  private async apply(st: AuthState, from: 'status' | 'tickle', askedAt: number): Promise<void> {
    if (st.authenticated === true && st.competing !== true) {
      await this.onAuthenticated();
      return;
    }
    // Asked before the brokerage session was re-opened: that answer is out of date.
    if (askedAt < this.reopens) return;
    if (st.competing === true && this.opts.allowCompeting !== true) {
      this.broker.reset();
      this.set('competing_session', {
        reason:
          'Another IB session (TWS, IB Gateway, IBKR mobile or another browser) holds the brokerage session for this user.',
      });
      return;
    }
    // OAuth: a valid live session token is the login, whatever "connected" says: open the brokerage session.
    const loggedIn = st.connected === true || this.loginMethod === 'oauth';
    if (loggedIn || (st.competing === true && this.opts.allowCompeting === true)) {
      // Logged in to IB (SSO), but no brokerage session: open it, without kicking others out unless allowed.
      // One attempt at a time: a check that arrives while it runs waits for its outcome instead of
      // reporting the session lost in the middle of re-opening it.
      if (!this.initFlight && this.now() - this.lastInitAt > 5000) {
        this.lastInitAt = this.now();
        this.initFlight = this.reopenBrokerage(from).finally(() => {
          this.initFlight = undefined;
        });
      }
      if (this.initFlight) {
        if (await this.initFlight) return;
      }
      this.lost('the brokerage session could not be opened');
      return;
    }
    this.lost(from === 'tickle' ? 'keep-alive found no session' : 'not logged in');
  }

  /** ssodh/init once; true when it settled the state (authenticated or competing). */
  private async reopenBrokerage(from: 'status' | 'tickle'): Promise<boolean> {
    try {
      const compete = this.opts.allowCompeting === true;
      this.log.info('opening the brokerage session (ssodh/init)', { compete, from });
      const again = await this.broker.openBrokerageSession(compete);
      if (again.authenticated === true && again.competing !== true) {
        this.reopens += 1;
        this.broker.reset();
        await this.onAuthenticated();
        return true;
      }
      if (again.competing === true) {
        this.set('competing_session', {
          reason:
            'Another IB session (TWS, IB Gateway, IBKR mobile or another browser) holds the brokerage session for this user; ibkr-mcp did not take it over (compete=false).',
        });
        return true;
      }
    } catch (err) {
      if (!isBrokerError(err) || err.code !== 'NOT_AUTHENTICATED') {
        this.log.warn('ssodh/init failed', { err: (err as Error)?.message });
      }
    }
    return false;
  }

  private async onAuthenticated(): Promise<void> {
    let mode: AccountMode = this.opts.simulated ? 'SIMULATED' : 'UNKNOWN';
    let accounts: string[] | undefined = this.extra.accounts;
    if (this.s !== 'authenticated' || !this.extra.mode || this.extra.mode === 'UNKNOWN') {
      try {
        const read = await this.broker.loggedIn();
        accounts = read.accounts;
        if (!this.opts.simulated) mode = read.mode;
      } catch (err) {
        this.log.debug('accounts after login failed', { err: (err as Error)?.message });
      }
    } else {
      mode = this.extra.mode;
    }
    const fresh = this.s !== 'authenticated';
    this.oauthAdvice = undefined;
    if (fresh) {
      this.everAuthenticated = true;
      this.authenticatedAt = this.now();
      this.failures = 0;
    }
    this.set('authenticated', { mode, ...(accounts ? { accounts } : {}) });
    // Requests pass the gate now: the broker side warms up (once per brokerage session).
    if (fresh) this.broker.ready();
  }

  // ------------------------------------------------------------------ keep-alive

  private startKeepAlive(): void {
    if (this.keepTimer || this.closed) return;
    const every = this.opts.keepaliveMs ?? 55_000;
    this.keepTimer = setInterval(() => void this.tickle(), every);
    this.keepTimer.unref();
  }

  private stopKeepAlive(): void {
    if (this.keepTimer) clearInterval(this.keepTimer);
    this.keepTimer = undefined;
  }

  /**
   * While the session is down but the gateway runs (login needed, expired, competing), check the
   * status now and then, so that a login made elsewhere (the browser, TWS logging out) is seen
   * without waiting for a tool call. Not while a login runs: it checks by itself.
   */
  private watch(state: SessionStateName): void {
    const down =
      state === 'login_required' ||
      state === 'expired' ||
      state === 'competing_session' ||
      (state === 'failed' && this.loginMethod === 'oauth');
    if (!down || this.closed) {
      if (this.watchTimer) clearInterval(this.watchTimer);
      this.watchTimer = undefined;
      return;
    }
    if (this.watchTimer) return;
    const every = Math.max(this.opts.keepaliveMs ?? 55_000, 1000);
    this.watchTimer = setInterval(() => {
      if (!this.loginFlight && this.gatewayDown === undefined) void this.refresh();
    }, every);
    this.watchTimer.unref();
  }

  /** One keep-alive, and act on the auth state it carries. */
  async tickle(): Promise<void> {
    if (this.closed) return;
    const askedAt = this.reopens;
    try {
      const { auth, ssoExpiresInS } = await this.broker.keepAlive();
      this.keepFailures = 0;
      this.extra.lastKeepAlive = new Date(this.now()).toISOString();
      if (ssoExpiresInS !== undefined) this.extra.ssoExpiresInS = ssoExpiresInS;
      if (auth.authenticated && !auth.competing) {
        if (this.s !== 'authenticated') await this.onAuthenticated();
        return;
      }
      await this.apply(auth, 'tickle', askedAt);
    } catch (err) {
      if (this.oauthFailed(err)) return;
      if (isBrokerError(err) && err.code === 'NOT_AUTHENTICATED') {
        this.lost('keep-alive answered "not authenticated"');
        return;
      }
      this.keepFailures += 1;
      this.log.warn('keep-alive failed', { err: (err as Error)?.message, inARow: this.keepFailures });
      if (this.keepFailures >= 3 && this.gatewayDown === undefined) {
        this.set('failed', {
          reason: `The gateway at ${this.opts.gatewayUrl} did not answer ${this.keepFailures} keep-alive calls in a row: ${(err as Error)?.message}`,
        });
      }
    }
  }

  // ------------------------------------------------------------------ gate

  /** The error a tool gets while the session is not usable: the state and what to do. */
  error(): BrokerError {
    const snap = this.snapshot();
    const code = snap.state === 'competing_session' ? 'COMPETING_SESSION' : 'NOT_AUTHENTICATED';
    const what = {
      gateway_starting: 'the IB gateway is still starting',
      login_required: `nobody is logged in to IB at the gateway (${this.loginUrl})`,
      awaiting_second_factor: 'an IB login is waiting for the second factor',
      authenticated: 'the session is up',
      competing_session: 'another IB session holds the brokerage session',
      expired: 'the IB session has expired',
      failed: 'the IB connection failed',
    }[snap.state];
    const detail = snap.reason ?? snap.note;
    return new BrokerError(code, `IB session: ${snap.state}: ${what}.${detail ? ` ${detail}` : ''}`, {
      hint: snap.whatToDo,
      details: { session: { state: snap.state, loginUrl: snap.loginUrl } },
      retryable: snap.state === 'gateway_starting',
    });
  }

  /**
   * Called before every request a tool makes. Resolves at once when authenticated; otherwise
   * re-checks quickly (a browser login may just have finished) and throws the state.
   */
  async check(path: string): Promise<void> {
    if (SESSION_PATH.test(path) || this.closed) return;
    if (this.s === 'authenticated') return;
    this.startSimulated();
    if (this.firstRefresh) await this.firstRefresh;
    const s = this.current();
    if (s === 'authenticated') return;
    const recheck = s === 'login_required' || s === 'expired' || s === 'competing_session' || s === 'failed';
    // An unreachable gateway is asked again at once (a refused connection costs IB nothing): a
    // gateway back up is not reported unreachable for two more seconds.
    const due = this.now() - this.checkedAt > 2000 || (s === 'failed' && this.unreachable);
    if (recheck && this.gatewayDown === undefined && due) {
      await Promise.race([this.refresh(), new Promise((r) => setTimeout(r, 2500).unref())]);
      if (this.current() === 'authenticated') return;
    }
    throw this.error();
  }

  /**
   * A tool's request got 401 from the gateway: the session is gone, or another session took the
   * brokerage session (a TWS login answers 401 too). Asks the gateway which (a few seconds at most)
   * before saying so: "expired, log in again" for a TWS login was wrong, and, with a headless login
   * configured, started a login that would take the session back from TWS.
   */
  async notAuthenticated(): Promise<BrokerError> {
    if (this.s === 'authenticated') {
      await Promise.race([this.refresh(), new Promise((r) => setTimeout(r, 2500).unref())]);
      if (this.current() === 'authenticated') this.lost('a request answered "not authenticated"');
      // That check only named the error: the next read asks again (the user may log in at once).
      this.checkedAt = 0;
    } else {
      void this.refresh();
    }
    return this.error();
  }

  // ------------------------------------------------------------------ login

  /** Runs the configured login (single flight). Resolves with the outcome. */
  login(opts: { progress?: (message: string) => void; signal?: AbortSignal } = {}): Promise<LoginOutcome> {
    if (this.s === 'authenticated') return Promise.resolve({ ok: true, message: 'Already authenticated.' });
    if (this.loginStopped) {
      return Promise.resolve({
        ok: false,
        kind: 'credentials',
        reason: `Headless login is stopped after ${MAX_FAILED_LOGINS} failed attempts in a row (IB locks accounts after repeated failures). Fix the credentials and restart ibkr-mcp.`,
      });
    }
    if (this.s === 'gateway_starting' || (this.s === 'failed' && this.gatewayDown !== undefined)) {
      return Promise.resolve({ ok: false, kind: 'setup', reason: this.error().message });
    }
    const driver = this.opts.loginDriver;
    if (!driver) {
      return Promise.resolve({ ok: false, kind: 'setup', reason: `Log in at ${this.loginUrl} in a browser.` });
    }
    if (!this.loginFlight) {
      const listeners = new Set<(m: string) => void>();
      const ac = new AbortController();
      this.loginAbort = ac;
      this.loginStep = undefined;
      const flight = (async (): Promise<LoginOutcome> => {
        const ctx: LoginContext = {
          loginUrl: this.loginUrl,
          gatewayUrl: this.opts.gatewayUrl,
          timeoutMs: this.opts.authTimeoutMs ?? 60_000,
          signal: ac.signal,
          log: this.log.child({ mod: 'login' }),
          checkAuthenticated: async () => {
            await this.refresh();
            return this.current() === 'authenticated';
          },
          secondFactor: (how) => {
            if (this.current() !== 'authenticated') this.set('awaiting_second_factor', { note: how });
          },
          progress: (m) => {
            this.loginStep = m;
            for (const l of listeners) l(m);
          },
        };
        let outcome: LoginOutcome;
        try {
          outcome = await driver.run(ctx);
        } catch (err) {
          outcome = { ok: false, kind: 'setup', reason: (err as Error)?.message ?? String(err) };
        }
        if (outcome.ok) {
          await this.refresh();
          if (this.current() !== 'authenticated') {
            outcome = {
              ok: false,
              kind: 'timeout',
              reason: 'The login page reported success but the gateway has no brokerage session yet.',
            };
          }
        }
        this.afterLogin(outcome, driver.method);
        return outcome;
      })().finally(() => {
        this.loginFlight = undefined;
        this.loginProgress = undefined;
        this.loginStep = undefined;
      });
      this.loginFlight = flight;
      this.loginProgress = listeners;
    }
    if (opts.progress) this.loginProgress?.add(opts.progress);
    return this.loginFlight;
  }

  private loginProgress: Set<(m: string) => void> | undefined;
  private loginAbort: AbortController | undefined;

  private afterLogin(outcome: LoginOutcome, method: LoginDriver['method']): void {
    if (outcome.ok) {
      this.failures = 0;
      return;
    }
    if (method === 'oauth' && outcome.kind === 'setup' && outcome.hint) {
      this.oauthAdvice = outcome.hint;
      this.set('failed', { reason: outcome.reason });
      return;
    }
    const counts = method === 'headless' && (outcome.kind === 'credentials' || outcome.kind === 'second_factor');
    if (counts) this.failures += 1;
    this.log.warn('login failed', {
      method,
      kind: outcome.kind,
      reason: outcome.reason,
      failuresInARow: this.failures,
    });
    if (this.failures >= MAX_FAILED_LOGINS) {
      this.loginStopped = true;
      this.set('failed', {
        reason: `${MAX_FAILED_LOGINS} headless logins failed in a row (last: ${outcome.reason}); ibkr-mcp stopped trying, to protect the account from IB's lockout.`,
      });
      return;
    }
    if (this.s === 'awaiting_second_factor' || this.s === 'gateway_starting') {
      this.set(this.everAuthenticated ? 'expired' : 'login_required', {
        note: `Last login attempt: ${outcome.reason}`,
      });
    } else if (this.s !== 'authenticated') {
      this.extra.note = `Last login attempt: ${outcome.reason}`;
    }
  }

  /** Stops keep-alive and any login in progress (its browser is closed); waits up to 5 s for it. */
  async close(): Promise<void> {
    this.closed = true;
    this.stopKeepAlive();
    if (this.watchTimer) clearInterval(this.watchTimer);
    this.watchTimer = undefined;
    this.loginAbort?.abort();
    const flight = this.loginFlight;
    if (flight) await Promise.race([flight.catch(() => {}), new Promise((r) => setTimeout(r, 5000).unref())]);
  }
}
