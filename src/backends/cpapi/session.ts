/**
 * The one owner of the Client Portal session's state: it alone reads /iserver/auth/status and
 * /iserver/accounts, decides paper or live, selects the account, drops the per-session caches
 * on a reset and runs the warm-up. The HTTP client (its recovery hooks), orders, portfolio,
 * market data and the gateway's session manager (through BrokerSession) all ask it.
 *
 *   login detected → loggedIn(): /iserver/accounts read → ready(): warm-up, once per session
 *   reset() (lost, replaced, "query /accounts first") → caches dropped → warm-up due again
 */
import type { CallOptions } from '../../broker/backend.js';
import { BrokerError } from '../../broker/errors.js';
import type { AuthState, BrokerSession, KeepAliveAnswer, SessionAccounts } from '../../broker/session.js';
import type { AccountMode } from '../../broker/types.js';
import { untrusted } from '../../broker/untrusted.js';
import { addSecret, type Logger, silentLogger } from '../../log.js';
import { AccountScope } from './account-scope.js';
import type { CpapiHttp } from './http.js';
import { isObject, str } from './wire.js';

/** IB's paper-trading account ids: DU… (a paper account), DF… (a paper advisor account). */
const PAPER_ACCOUNT_ID = /^D[UF]/i;

/**
 * Paper or live for one account, the one rule every answer uses: IB's own isPaper when its
 * /iserver/accounts answer has it, else the paper-account id prefix.
 */
export function isPaperAccount(accountId: string, isPaper: boolean | undefined): boolean {
  return isPaper ?? PAPER_ACCOUNT_ID.test(accountId);
}

export interface IserverAccounts {
  accounts: string[];
  /** IB's isPaper flag, when the answer has it. */
  isPaper: boolean | undefined;
  /** Paper (true) or live per account, by isPaperAccount. */
  paper: Record<string, boolean>;
  selected: string | undefined;
  /** PAPER when every account is paper, LIVE when one is not, UNKNOWN when nothing says. */
  mode: AccountMode;
  /** An advisor (FA) or other tiered login: IB's allowFA, or an account with child accounts. */
  advisor: boolean;
}

/** Reads IB's /iserver/accounts answer. */
export function readIserverAccounts(answer: unknown): IserverAccounts {
  const data = isObject(answer) ? answer : {};
  const accounts = Array.isArray(data['accounts'])
    ? (data['accounts'] as unknown[]).filter((a): a is string => typeof a === 'string')
    : [];
  const isPaper = typeof data['isPaper'] === 'boolean' ? data['isPaper'] : undefined;
  const paper = Object.fromEntries(accounts.map((a) => [a, isPaperAccount(a, isPaper)]));
  const verdicts = accounts.length > 0 ? Object.values(paper) : isPaper === undefined ? [] : [isPaper];
  const mode: AccountMode = verdicts.length === 0 ? 'UNKNOWN' : verdicts.every(Boolean) ? 'PAPER' : 'LIVE';
  const features = isObject(data['allowFeatures']) ? data['allowFeatures'] : {};
  const props = isObject(data['acctProps']) ? Object.values(data['acctProps']) : [];
  const advisor = features['allowFA'] === true || props.some((p) => isObject(p) && p['hasChildAccounts'] === true);
  return { accounts, isPaper, paper, selected: str(data['selectedAccount']), mode, advisor };
}

/** What a /tickle answer says; `auth` absent when it carries none (IB's 200 {"error":…}). */
export interface TickleAnswer {
  auth?: AuthState;
  ssoExpiresInS?: number;
  session?: string;
  error?: string;
}

/** Reads IB's /tickle answer ({session, ssoExpires, iserver: {authStatus}}, or {"error":…}). */
export function readTickle(data: unknown): TickleAnswer {
  const tickle = isObject(data) ? data : {};
  const out: TickleAnswer = {};
  const status = isObject(tickle['iserver']) ? tickle['iserver']['authStatus'] : undefined;
  if (isObject(status)) out.auth = readAuth(status);
  const expires = typeof tickle['ssoExpires'] === 'number' ? tickle['ssoExpires'] : Number.NaN;
  if (Number.isFinite(expires)) out.ssoExpiresInS = Math.round(expires / 1000);
  const session = str(tickle['session']);
  if (session) out.session = session;
  const error = str(tickle['error']);
  if (error) out.error = error;
  return out;
}

/** Reads IB's POST /iserver/account answer: {set: true, acctId}, {success: "Account already set"}, or {error}. */
export function readSelectAnswer(data: unknown): { selected: boolean; acctId?: string; error?: string } {
  const answer = isObject(data) ? data : {};
  const already = typeof answer['success'] === 'string' && /already/i.test(answer['success']);
  const out: { selected: boolean; acctId?: string; error?: string } = { selected: answer['set'] === true || already };
  const acctId = str(answer['acctId']);
  if (acctId) out.acctId = acctId;
  const error = str(answer['error']);
  if (error) out.error = error;
  return out;
}

/** IB's auth status, from /iserver/auth/status, ssodh/init or the one /tickle carries. */
export function readAuth(v: unknown): AuthState {
  const st = isObject(v) ? v : {};
  return {
    authenticated: st['authenticated'] === true,
    competing: st['competing'] === true,
    connected: st['connected'] === true,
  };
}

export interface CpapiSessionOptions {
  /** The backend's client: requests a tool call waits for (it installs its recovery hooks here). */
  http: CpapiHttp;
  /** The session manager's client (short timeout, no retries, not gated); default `http`. */
  control?: CpapiHttp;
  /** The built-in simulator: the mode is SIMULATED. */
  simulated?: boolean;
  /** --accounts: the only accounts this server sees (upper case); empty or absent: all of the login's. */
  allow?: readonly string[];
  /** Open per-session feeds after each login (off for a read-only server). Default true. */
  warmUp?: boolean;
  log?: Logger;
}

/** Paper/live and the selection, as orders see them. */
export interface SessionTradingAccounts {
  accounts: string[];
  paper: Record<string, boolean>;
  selected: string | undefined;
}

export class CpapiSession implements BrokerSession {
  private readonly http: CpapiHttp;
  private readonly control: CpapiHttp;
  private readonly simulated: boolean;
  private readonly warmUpOn: boolean;
  private readonly log: Logger;
  private read: IserverAccounts | undefined;
  /** How many accounts IB's answer listed, before --accounts hid any. */
  private loginAccounts = 0;
  private readonly allow: ReadonlySet<string> | undefined;
  private accountsKnown = false;
  private accountsFlight: Promise<string[]> | undefined;
  /** The session's warm-up, once started. */
  private warmed: Promise<void> | undefined;
  private warmUpWork: ((opts: CallOptions) => Promise<void>) | undefined;
  private readonly resetListeners: Array<() => void> = [];
  private readonly selectListeners: Array<(accountId: string) => void> = [];
  private readonly readyListeners: Array<() => void> = [];
  private readonly sessionChangeListeners: Array<() => void> = [];
  /** The session id the last /tickle gave (it authenticates the WebSocket). */
  private tickleSession: string | undefined;
  /** Serialises account selection with the reads IB scopes to the selected account. */
  private readonly scope = new AccountScope();

  constructor(opts: CpapiSessionOptions) {
    this.http = opts.http;
    this.control = opts.control ?? opts.http;
    this.simulated = opts.simulated === true;
    this.warmUpOn = opts.warmUp !== false;
    this.log = opts.log ?? silentLogger;
    this.allow = opts.allow?.length ? new Set(opts.allow.map((a) => a.toUpperCase())) : undefined;
    this.http.setHooks({
      queryAccounts: async (signal) => {
        await this.ensureAccounts(signal, true);
      },
      sessionReset: () => this.reset(),
    });
  }

  /** Registers what a reset must drop (a module's per-session cache). */
  /** Another account was selected (POST /iserver/account): what IB pushes is scoped to it now. */
  onSelect(l: (accountId: string) => void): void {
    this.selectListeners.push(l);
  }

  onReset(drop: () => void): void {
    this.resetListeners.push(drop);
  }

  /** The session id /tickle gives changed (IB logged in again without this server). */
  onSessionChange(l: () => void): void {
    this.sessionChangeListeners.push(l);
  }

  /** Registers what starts with each brokerage session (the WebSocket). */
  onReady(start: () => void): void {
    this.readyListeners.push(start);
  }

  /** The session id for the WebSocket: from the last /tickle, or from one now. */
  async sessionToken(): Promise<string | undefined> {
    if (!this.tickleSession) await this.keepAlive().catch(() => undefined);
    return this.tickleSession;
  }

  /** Registers the warm-up's work: run once per session, in the background, after the accounts. */
  warmUpWith(work: (opts: CallOptions) => Promise<void>): void {
    this.warmUpWork = work;
  }

  /** SIMULATED / PAPER / LIVE, once known (UNKNOWN before /iserver/accounts was read). */
  mode(): AccountMode {
    return this.simulated ? 'SIMULATED' : (this.read?.mode ?? 'UNKNOWN');
  }

  /** Paper or live for any account id, by the rule and IB's flag of this session. */
  paperOf(accountId: string): boolean {
    return isPaperAccount(accountId, this.read?.isPaper);
  }

  /** IB's accounts answer, with the accounts --accounts hides left out. */
  private adopt(answer: unknown): string[] {
    const read = readIserverAccounts(answer);
    this.loginAccounts = read.accounts.length;
    if (this.allow) read.accounts = read.accounts.filter((a) => this.visible(a));
    this.read = read;
    this.accountsKnown = true;
    return read.accounts;
  }

  /** Shown by --accounts (every account when it is not set). */
  visible(accountId: string): boolean {
    return !this.allow || this.allow.has(accountId.toUpperCase());
  }

  /** IB's accounts answer listed one account (before --accounts hid any). */
  singleAccount(): boolean {
    return this.accountsKnown && this.loginAccounts === 1;
  }

  /** The login is an advisor's (FA) or another tiered one: its sub-accounts are listed by /portfolio/subaccounts. */
  isAdvisor(): boolean {
    return this.read?.advisor === true;
  }

  /** GET /iserver/accounts once per brokerage session (single flight); `force` reads it again. */
  async ensureAccounts(signal?: AbortSignal, force = false): Promise<string[]> {
    if (this.accountsKnown && !force) return this.read?.accounts ?? [];
    if (!this.accountsFlight) {
      this.accountsFlight = (async () => {
        const res = await this.http.get<unknown>('/iserver/accounts', { signal, noRecovery: true });
        return this.adopt(res.data);
      })().finally(() => {
        this.accountsFlight = undefined;
      });
    }
    return this.accountsFlight;
  }

  /** Starts the /iserver/accounts call now, unless this session has read it (errors are the caller's next request's). */
  prefetchAccounts(signal?: AbortSignal): void {
    if (!this.accountsKnown) this.ensureAccounts(signal).catch(() => {});
  }

  /** Read fresh for every order: paper or live comes from IB each time, never from a cache. */
  async tradingAccounts(signal?: AbortSignal): Promise<SessionTradingAccounts> {
    const accounts = [...(await this.ensureAccounts(signal, true))];
    return { accounts, paper: { ...this.read?.paper }, selected: this.read?.selected };
  }

  /** The account IB has selected for this session, as last read or set (undefined before /iserver/accounts). */
  selectedAccount(): string | undefined {
    return this.read?.selected;
  }

  /**
   * Runs `work` with `accountId` selected (POST /iserver/account when another one is), holding the
   * session's account scope so no concurrent call switches the account until `work` is done. Without
   * an account id, `work` runs for the account selected now. `work` is given the account it runs for.
   */
  async forAccount<T>(
    accountId: string | undefined,
    signal: AbortSignal | undefined,
    work: (accountId: string | undefined) => Promise<T>,
  ): Promise<T> {
    await this.ensureAccounts(signal);
    const known = this.read?.accounts ?? [];
    const wanted = accountId?.toUpperCase();
    if (accountId !== undefined && !this.visible(accountId)) {
      throw new BrokerError('NOT_FOUND', `Account ${untrusted(accountId)} is not one this server may use.`, {
        hint: `The --accounts setting allows: ${known.map((a) => untrusted(a)).join(', ') || '(none of this login)'}.`,
        details: { accountId, validAccounts: known },
      });
    }
    const selectedNow = this.read?.selected;
    const target =
      (wanted === undefined ? undefined : (known.find((a) => a.toUpperCase() === wanted) ?? accountId)) ??
      (selectedNow !== undefined && this.visible(selectedNow) ? selectedNow : undefined) ??
      known[0];
    if (target === undefined) return work(undefined);
    const leave = await this.scope.enter(target, signal);
    try {
      // A login with one account needs no switch; any other switches unless IB confirmed this one.
      if (this.read?.selected?.toUpperCase() !== target.toUpperCase() && (this.loginAccounts > 1 || accountId)) {
        await this.select(target, signal);
      }
      return await work(target);
    } finally {
      leave();
    }
  }

  /** POST /iserver/account: makes `accountId` the session's selected account. Call only inside the scope. */
  private async select(accountId: string, signal?: AbortSignal): Promise<void> {
    // Until IB confirms, the selection is unknown: a switch that failed half-way (a timeout after IB
    // switched) must not leave the old account recorded, or the next call for it would skip its switch.
    const before = this.read?.selected;
    if (this.read) this.read.selected = undefined;
    const res = await this.http.post<unknown>('/iserver/account', {
      body: { acctId: accountId },
      signal,
      idempotent: true,
      // IB answers an account it does not know with 500 "Invalid account ID", every time: one
      // retry for a passing fault, not three with back-off while every other account's call waits.
      retries: 1,
    });
    const answer = readSelectAnswer(res.data);
    const other = answer.acctId !== undefined && answer.acctId.toUpperCase() !== accountId.toUpperCase();
    if (!answer.selected || other) {
      const why = other
        ? `it selected ${answer.acctId}`
        : (answer.error ?? JSON.stringify(res.data ?? null).slice(0, 200));
      throw new BrokerError('GATEWAY_ERROR', `IB did not select account ${untrusted(accountId)}: ${untrusted(why)}.`, {
        hint: 'Check the account id against get_account_info; retry in a few seconds.',
        details: { accountId },
      });
    }
    if (this.read) this.read.selected = accountId;
    this.log.debug('cpapi: account selected', { accountId });
    if (before?.toUpperCase() !== accountId.toUpperCase()) for (const l of this.selectListeners) l(accountId);
  }

  /** Runs the warm-up once per session, however many callers ask. Never throws. */
  warmUp(opts: CallOptions = {}): Promise<void> {
    const work = this.warmUpWork;
    if (!work) return Promise.resolve();
    if (!this.warmed) {
      const run: Promise<void> = (async () => {
        await this.ensureAccounts(opts.signal);
        await work({ ...opts, background: true });
      })().catch((err: unknown) => {
        // Due again at the next login, unless a reset already started another one.
        if (this.warmed === run) this.warmed = undefined;
        this.log.debug('warm-up skipped', { err: (err as Error).message });
      });
      this.warmed = run;
    }
    return this.warmed;
  }

  // ---------------------------------------------------------------- BrokerSession

  async authStatus(): Promise<AuthState> {
    return readAuth((await this.control.post<unknown>('/iserver/auth/status', { idempotent: true })).data);
  }

  async openBrokerageSession(compete: boolean): Promise<AuthState> {
    const res = await this.control.post<unknown>('/iserver/auth/ssodh/init', { body: { publish: true, compete } });
    // Some gateways answer ssodh/init without the status: ask for it then.
    return isObject(res.data) && typeof res.data['authenticated'] === 'boolean'
      ? readAuth(res.data)
      : this.authStatus();
  }

  async keepAlive(): Promise<KeepAliveAnswer> {
    const res = await this.control.post<unknown>('/tickle', { idempotent: true });
    const tickle = readTickle(res.data);
    // The session id authenticates the websocket: a secret like the password.
    if (tickle.session) {
      addSecret(tickle.session);
      const before = this.tickleSession;
      this.tickleSession = tickle.session;
      // IB logged in again underneath (its nightly re-authentication): a WebSocket opened under
      // the old session keeps its heartbeat while every subscription on it is dead.
      if (before !== undefined && before !== tickle.session) for (const l of this.sessionChangeListeners) l();
    }
    // IB's failed tickle is 200 {"error":"failed to process request"}: it says nothing about the
    // session, so the session's state comes from /iserver/auth/status instead.
    const auth = tickle.auth ?? (await this.authStatus());
    if (!tickle.auth) this.log.info('cpapi: keep-alive failed; the auth status decides', { error: tickle.error });
    const out: KeepAliveAnswer = { auth };
    if (tickle.ssoExpiresInS !== undefined) out.ssoExpiresInS = tickle.ssoExpiresInS;
    return out;
  }

  async loggedIn(): Promise<SessionAccounts> {
    const res = await this.control.get<unknown>('/iserver/accounts', { noRecovery: true });
    const accounts = this.adopt(res.data);
    return { accounts, mode: this.mode() };
  }

  ready(): void {
    for (const start of this.readyListeners) start();
    if (this.warmUpOn) void this.warmUp();
  }

  reset(): void {
    this.tickleSession = undefined;
    this.warmed = undefined;
    this.accountsKnown = false;
    for (const drop of this.resetListeners) drop();
  }
}
