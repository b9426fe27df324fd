/**
 * One mutable object holding everything the simulator's routes need: options, the
 * clock, the seeded RNG, the session, accounts, the universe, prices, instrument
 * flags, faults, pacing and request statistics. Later modules (option chains,
 * portfolio, orders) keep their data in `state.ext` and hook into `state.hooks`.
 */
import { Pacer } from './pacing.js';
import { SimPortfolio } from './portfolio.js';
import { PriceModel } from './prices.js';
import { Rng } from './rng.js';
import { buildUniverse, type Instrument, type Universe } from './universe.js';

/**
 * Which of IB's answer shapes the simulator speaks (see profiles.ts): 'strict' (the default) is
 * IB's current spec with its parameter rules enforced; '2023' and '2026' are older / newer field
 * names, with lenient parameter handling.
 */
export type IbProfile = 'strict' | '2023' | '2026';

export const IB_PROFILES: readonly IbProfile[] = ['strict', '2023', '2026'];

export interface ResolvedOptions {
  seed: number;
  latencyMs: number;
  sessionTimeoutMs: number;
  pacing: boolean;
  authenticated: boolean;
  startAt: number | undefined;
  profile: IbProfile;
  /** Penalty box after a 429, in ms (0 = none); /sim/faults {"clear":true} returns to it. */
  penaltyBoxMs: number;
  /** Scope P&L, live orders and order status to the selected account (POST /iserver/account). */
  accountScoping: boolean;
  /** Quote a derivative only after /iserver/secdef/search of its underlying in the session. */
  derivativeSearch: boolean;
  /** A live login: the accounts are live ones (U…, isPaper false) instead of paper ones (DU…). */
  live: boolean;
  /** Other ids for the three accounts (another login's account set); default DU1234567, DU7654321, DU5550001. */
  accountIds?: readonly string[] | undefined;
  /**
   * An advisor (FA) login with this many client sub-accounts (DU9000001…; the first three carry the
   * three default books): /iserver/accounts says allowFA, /portfolio/accounts lists only the master,
   * /portfolio/subaccounts the first 100, /portfolio/subaccounts2 all of them, 20 a page.
   */
  advisorAccounts?: number | undefined;
}

/** The advisor login's own (master) account: IB's paper advisor accounts start with DF. */
export const ADVISOR_MASTER_ID = 'DF9000000';

/** IB's penalty box after a pacing violation ([V3] / cpapi-protocol.md §8: "penalty box for 15 minutes"). */
export const IB_PENALTY_BOX_MS = 15 * 60_000;

/** Simulated market clock. Market time may be shifted or frozen from /sim/clock; pacing and session expiry use real time. */
export class SimClock {
  private offsetMs: number;
  private frozenAt: number | undefined;

  constructor(startAt?: number) {
    this.offsetMs = startAt === undefined ? 0 : startAt - Date.now();
  }

  /** Market time (ms since epoch). */
  now(): number {
    return this.frozenAt ?? Date.now() + this.offsetMs;
  }

  /** Wall-clock time used for pacing and inactivity. */
  realNow(): number {
    return Date.now();
  }

  advance(ms: number): void {
    if (this.frozenAt !== undefined) this.frozenAt += ms;
    else this.offsetMs += ms;
  }

  set(ms: number): void {
    if (this.frozenAt !== undefined) this.frozenAt = ms;
    else this.offsetMs = ms - Date.now();
  }

  freeze(at?: number): void {
    this.frozenAt = at ?? this.now();
  }

  unfreeze(): void {
    if (this.frozenAt !== undefined) {
      this.offsetMs = this.frozenAt - Date.now();
      this.frozenAt = undefined;
    }
  }

  get frozen(): boolean {
    return this.frozenAt !== undefined;
  }
}

export interface SimAccount {
  id: string;
  title: string;
  currency: string;
  type: string; // DEMO for paper
  tradingType: string;
  /** Absent: /iserver/accounts carries no isPaper (as some gateway versions answer). */
  isPaper?: boolean;
  accountStatus: number;
}

export interface SessionState {
  /** SSO / gateway login (read-only tier: /portfolio, /trsrv, /sso …). */
  sso: boolean;
  /** Brokerage session (/iserver/*). */
  brokerage: boolean;
  competing: boolean;
  /** 400 "no bridge" on /iserver/* until ssodh/init. */
  noBridge: boolean;
  /** 32 hex chars, returned by /tickle. */
  id: string;
  startedAt: number;
  /** Real time of the last /v1/api request. */
  lastActivity: number;
  accountsQueried: boolean;
  portfolioAccountsQueried: boolean;
  selectedAccount: string;
  /** Conids with an open market-data stream (pre-flight done) → their server_id ("q0", "q1" …). */
  subscriptions: Map<number, string>;
  snapshotCounter: number;
}

export interface InstrumentFlags {
  /** Trading halted: field 31 gets an "H" prefix and the price stops moving. */
  halted?: boolean;
  haltedAt?: number;
  /** No trade today: field 31 shows the prior close with a "C" prefix. */
  notTradedToday?: boolean;
  /** Market data delayed 15 minutes: 6509 "DPB". */
  delayed?: boolean;
  /** Frozen at `frozenAt` (market time): 6509 "ZPB". */
  frozen?: boolean;
  frozenAt?: number;
}

export interface FailRule {
  endpoint: string;
  status: number;
  count: number;
  body?: unknown;
}

export interface HangRule {
  endpoint: string;
  count: number;
}

export interface DropRule {
  endpoint: string;
  count: number;
  /** Also log the session out, as a gateway restart would. */
  logout?: boolean;
}

export interface Faults {
  latencyMs: number;
  fail: FailRule[];
  hang: HangRule[];
  /** Next matching requests are processed, then the connection is closed without an answer. */
  drop: DropRule[];
  /** Next matching requests are not processed: the connection is reset. */
  reset: HangRule[];
  /** Penalty box after a 429, in ms (0 = none). */
  penaltyBoxMs: number;
  penaltyUntil: number;
  /** Extra processing time of each history request (to exercise the concurrency limit). */
  historyDelayMs: number;
}

export interface Stats {
  total: number;
  byEndpoint: Record<string, number>;
  byStatus: Record<string, number>;
  status429: number;
  /** 429s by pacing rule and endpoint, e.g. "global GET /iserver/marketdata/snapshot". */
  rejected: Record<string, number>;
}

/** Field values for a snapshot row: strings, plus a few numeric `*_raw` companions. */
export type FieldValues = Record<string, string | number>;

export interface FieldContext {
  state: SimState;
  /** Market time of the request. */
  now: number;
  /** Requested field codes. */
  fields: readonly string[];
}

/** Computes snapshot field values for an instrument. */
export type FieldProvider = (inst: Instrument, ctx: FieldContext) => FieldValues;

export interface SimState {
  readonly opts: ResolvedOptions;
  readonly seed: number;
  readonly clock: SimClock;
  readonly rng: Rng;
  session: SessionState;
  /** Accounts of the logged-in user; the first is selected by default. */
  accounts: SimAccount[];
  universe: Universe;
  prices: PriceModel;
  instrumentFlags: Map<number, InstrumentFlags>;
  /** Global switches. */
  flags: {
    pacing: boolean;
    /**
     * How /iserver/secdef/info answers strike=0 (whole month), which IB does not document:
     * 'answer' (every contract of the month), 'empty' ([]) or 'error' (400, strike required).
     */
    wholeMonthInfo: 'answer' | 'empty' | 'error';
    /** Answer shapes and parameter rules (profiles.ts). */
    profile: IbProfile;
    /**
     * Account selection scopes answers as IB does: partitioned P&L, live orders and order status
     * are those of the selected account only (another account's order status is IB's 503).
     */
    accountScoping: boolean;
    /**
     * A derivative is quoted only after /iserver/secdef/search for its underlying in the session,
     * as IB documents; before, its snapshot row is empty. On by default, as IB behaves.
     */
    derivativeSearch: boolean;
  };
  faults: Faults;
  stats: Stats;
  pacer: Pacer;
  /**
   * Primary field provider per secType ('*' = default). A provider registered for a
   * secType replaces the default quote fields for it (e.g. OPT with greeks).
   */
  fieldProviders: Map<string, FieldProvider>;
  /** Providers run after the primary one; their values are merged on top (e.g. position fields 73-80). */
  fieldAugmenters: FieldProvider[];
  hooks: {
    /** Called by POST /sim/reset {"state":true}. */
    reset: (() => void)[];
    /** Called whenever a new session starts (login after logout/expiry). */
    sessionStart: (() => void)[];
    /** Called after each /v1/api request was handled (the WebSocket pushes what it changed). */
    afterRequest: (() => void)[];
  };
  counters: { historyServerId: number; requests: number };
  /** Storage for later modules, keyed by module name. */
  ext: Map<string, unknown>;
  /** Positions and cash of every account (portfolio.ts); the order engine books fills here. */
  portfolio: SimPortfolio;
}

export function newSessionState(state: Pick<SimState, 'rng' | 'clock' | 'accounts'>, loggedIn: boolean): SessionState {
  return {
    sso: loggedIn,
    brokerage: loggedIn,
    competing: false,
    noBridge: false,
    id: state.rng.hex(32),
    startedAt: state.clock.realNow(),
    lastActivity: state.clock.realNow(),
    accountsQueried: false,
    portfolioAccountsQueried: false,
    selectedAccount: state.accounts[0]?.id ?? '',
    subscriptions: new Map(),
    snapshotCounter: 0,
  };
}

export function emptyStats(): Stats {
  return { total: 0, byEndpoint: {}, byStatus: {}, status429: 0, rejected: {} };
}

export function defaultFaults(): Faults {
  return {
    latencyMs: 0,
    fail: [],
    hang: [],
    drop: [],
    reset: [],
    penaltyBoxMs: 0,
    penaltyUntil: 0,
    historyDelayMs: 0,
  };
}

/** The default accounts; for a live login the same books under live ids (U…) with isPaper false. */
export function defaultAccounts(live = false): SimAccount[] {
  const paper = paperAccounts();
  if (!live) return paper;
  return paper.map((a) => ({
    ...a,
    id: liveAccountId(a.id),
    title: a.title.replace('Paper', 'Live'),
    type: 'INDIVIDUAL',
    isPaper: false,
  }));
}

/** The live id of a default paper account: DU1234567 → U1234567. */
export function liveAccountId(paperId: string): string {
  return paperId.replace(/^DU/, 'U');
}

function paperAccounts(): SimAccount[] {
  return [
    {
      id: 'DU1234567',
      title: 'Simulated Paper Account',
      currency: 'USD',
      type: 'DEMO',
      tradingType: 'STKNOPT',
      isPaper: true,
      accountStatus: 1590724800000,
    },
    {
      id: 'DU7654321',
      title: 'Simulated Margin Account EUR',
      currency: 'EUR',
      type: 'DEMO',
      tradingType: 'STKNOPT',
      isPaper: true,
      accountStatus: 1622505600000,
    },
    {
      id: 'DU5550001',
      title: 'Simulated Small Account',
      currency: 'USD',
      type: 'DEMO',
      tradingType: 'STKNOPT',
      isPaper: true,
      accountStatus: 1654041600000,
    },
  ];
}

/** An advisor's client sub-accounts: DU9000001…, the first three with the default accounts' currencies and books. */
export function advisorAccounts(count: number): SimAccount[] {
  const base = paperAccounts();
  return Array.from({ length: Math.max(1, count) }, (_, i) => {
    const like = base[i] ?? base[2]!;
    return {
      ...like,
      id: `DU${String(9_000_001 + i)}`,
      title: `Advisor Client ${i + 1}`,
      type: 'INDIVIDUAL',
    };
  });
}

/** IB's own rules, the default of every switch; a test that wants a lenient simulator turns them off. */
type IbRules = 'profile' | 'penaltyBoxMs' | 'accountScoping' | 'derivativeSearch';

/**
 * The options createState needs. IB's rules default to what IB does: strict profile, the
 * 15-minute penalty box, account scoping and the derivative search requirement.
 */
export type StateOptions = Omit<ResolvedOptions, IbRules | 'live'> & Partial<Pick<ResolvedOptions, IbRules | 'live'>>;

export function createState(input: StateOptions): SimState {
  const opts: ResolvedOptions = {
    ...input,
    profile: input.profile ?? 'strict',
    penaltyBoxMs: Math.max(0, input.penaltyBoxMs ?? IB_PENALTY_BOX_MS),
    accountScoping: input.accountScoping ?? true,
    derivativeSearch: input.derivativeSearch ?? true,
    live: input.live ?? false,
  };
  const clock = new SimClock(opts.startAt);
  const rng = new Rng(opts.seed);
  const accounts = opts.advisorAccounts
    ? advisorAccounts(opts.advisorAccounts)
    : defaultAccounts(opts.live).map((a, i) => ({ ...a, id: opts.accountIds?.[i] ?? a.id }));
  const state: SimState = {
    opts,
    seed: opts.seed,
    clock,
    rng,
    session: newSessionState({ rng, clock, accounts }, opts.authenticated),
    accounts,
    universe: buildUniverse(clock.now()),
    prices: new PriceModel(opts.seed),
    instrumentFlags: new Map(),
    flags: {
      pacing: opts.pacing,
      wholeMonthInfo: 'answer',
      profile: opts.profile,
      accountScoping: opts.accountScoping,
      derivativeSearch: opts.derivativeSearch,
    },
    faults: { ...defaultFaults(), penaltyBoxMs: opts.penaltyBoxMs },
    stats: emptyStats(),
    pacer: new Pacer(),
    fieldProviders: new Map(),
    fieldAugmenters: [],
    hooks: { reset: [], sessionStart: [], afterRequest: [] },
    counters: { historyServerId: 4155800, requests: 0 },
    ext: new Map(),
    portfolio: new SimPortfolio(() => state),
  };
  // IBM's LSE line rarely trades: it shows the prior close with a "C" prefix.
  state.instrumentFlags.set(41645598, { notTradedToday: true });
  return state;
}

/** Logs in (or re-establishes) a session. A fresh session is created when the previous one was gone. */
export function login(state: SimState): void {
  if (!state.session.sso) {
    state.session = newSessionState(state, true);
    for (const h of state.hooks.sessionStart) h();
  }
  state.session.sso = true;
  state.session.brokerage = true;
  state.session.competing = false;
  state.session.noBridge = false;
  state.session.lastActivity = state.clock.realNow();
}

/** Ends the session completely (logout, expiry). */
export function logout(state: SimState): void {
  state.session.sso = false;
  state.session.brokerage = false;
  state.session.accountsQueried = false;
  state.session.portfolioAccountsQueried = false;
  state.session.subscriptions.clear();
}

/** Expires the session if it was idle longer than the timeout; then records activity. */
export function touchSession(state: SimState): void {
  const now = state.clock.realNow();
  if (state.session.sso && now - state.session.lastActivity > state.opts.sessionTimeoutMs) logout(state);
  state.session.lastActivity = now;
}

export function instrumentFlags(state: SimState, conid: number): InstrumentFlags {
  return state.instrumentFlags.get(conid) ?? {};
}

/** A later module's one object per state, made on first use (kept in `state.ext`). */
export function extOf<T>(state: SimState, key: string, make: () => T): T {
  if (!state.ext.has(key)) state.ext.set(key, make());
  return state.ext.get(key) as T;
}
