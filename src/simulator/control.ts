/**
 * Control surface of the simulator, outside /v1/api: never paced, never delayed, no auth,
 * not counted in the stats. All bodies are JSON; POSTs may omit Content-Length.
 *
 *   GET  /sim/stats    → {"total":N,"byEndpoint":{"GET /iserver/marketdata/snapshot":N,…},
 *                         "status429":N,"byStatus":{"200":N,"429":N,…},
 *                         "rejected":{"global GET /iserver/marketdata/snapshot":N,…}}
 *                        Keys use the route pattern ("GET /iserver/contract/:conid/info"); unknown
 *                        paths use the concrete path. Counts every /v1/api request, including 401/429.
 *   POST /sim/reset    {} clears stats and pacing windows; {"state":true} also clears faults and
 *                        instrument flags, starts a fresh session (logged in unless the simulator was
 *                        started with authenticated:false) and runs state.hooks.reset.
 *   GET  /sim/faults   → current faults, flags and instrument flags.
 *   POST /sim/faults   any combination of (applied in this order, "clear" first):
 *                        {"clear":true}                       remove every fault; pacing, profile, accountScoping,
 *                                                             derivativeSearch and penaltyBoxMs back to the start options
 *                        {"latencyMs":50}                     extra latency on every /v1/api request
 *                        {"fail":{"endpoint":"GET /iserver/marketdata/snapshot","status":503,"count":2,"body":{…}}}
 *                                                             next `count` matching requests answer `status`/`body`
 *                                                             (default body {"error":"simulated failure","statusCode":status});
 *                                                             may be an array. endpoint: "METHOD /pattern", "METHOD /path",
 *                                                             "/path" (any method) or "*".
 *                        {"hang":{"endpoint":"…","count":1}}  next `count` matching requests are never answered
 *                        {"dropResponse":{"endpoint":"POST /iserver/account/:accountId/orders","count":1,"logout":false}}
 *                                                             next `count` matching requests are processed (an order is
 *                                                             accepted), then the connection closes without an answer;
 *                                                             "logout":true also ends the session (a gateway restart)
 *                        {"resetConnection":{"endpoint":"…","count":1}} next matching requests: not processed, the
 *                                                             connection is reset (a TCP RST, over HTTPS too: the
 *                                                             client sees ECONNRESET, never an HTTP answer)
 *                        {"expireSession":true}               session expires now (next request 401)
 *                        {"competing":true|false}             another session took the brokerage session
 *                        {"noBridge":true|false}              /iserver/* answers 400 "no bridge" until ssodh/init
 *                        {"pacing":true|false}                enforce IB's pacing (429)
 *                        {"wholeMonthInfo":"answer"|"empty"|"error"}  secdef/info with strike=0 (undocumented
 *                                                             by IB): every contract of the month, [], or 400
 *                        {"penaltyBoxMs":N}                   after a 429, refuse everything for N ms (default: the
 *                                                             start option; IB's 15 min unless started otherwise)
 *                        {"profile":"strict"|"2023"|"2026"}   IB's answer shapes and parameter rules (profiles.ts)
 *                        {"derivativeSearch":true|false}      derivatives quoted only after the underlying's secdef
 *                                                             search in the session (IB's rule; default on)
 *                        {"accountScoping":true|false}        the account selected with POST /iserver/account scopes
 *                                                             partitioned P&L, live orders and order status (IB's rule; default on)
 *                        {"historyDelayMs":N}                 each history request takes N ms more
 *                        {"oauth":{"activationDelayMs":N,"revokeToken":true|false,"expireTokens":true,
 *                                  "lstLifetimeMs":N,"skewMs":N,"invalidatePrevious":bool,"consumerKey":"…"}}
 *                                                             OAuth faults (simulator started with oauth): consumer not
 *                                                             active for N ms, access token revoked, live session tokens
 *                                                             expired now, their lifetime, the clock IB checks skewed
 *                        {"ws":{"drop":true,"silent":true,"delayMs":N,"refuse":N,"hbMs":N,"tickMs":N,
 *                               "smdLifetimeMs":N,"maxLines":N,"sorSnapshot":false}}  WebSocket faults and timers (ws.ts)
 *                        {"instrument":{"conid":265598,"halted":true,"notTradedToday":false,"delayed":false,
 *                                       "frozen":false}}      per-instrument market data flags; may be an array;
 *                                                             {"conid":N,"reset":true} clears one instrument's flags
 *                      → the new fault state (as GET /sim/faults).
 *   POST /sim/session  {"authenticated":true|false} logs in (fresh session) or out;
 *                      optional "brokerage":false keeps the SSO session without a brokerage session.
 *                      → {"authenticated":…, "brokerage":…, "session":"<32 hex>"}
 *   GET  /sim/clock    → {"now":ms,"iso":"…","frozen":bool}
 *   POST /sim/clock    {"advanceMs":N} | {"set":ms} | {"freeze":true|ms} | {"unfreeze":true} → as GET.
 *                      Moves the market clock only (prices, bars); pacing and session expiry use real time.
 *   GET  /sim/info     → {"seed","accounts","instruments":N,"session":{…}}
 *   GET  /sim/instruments?secType=STK → [{conid,symbol,secType,exchange,currency,name}]
 */
import { oauthOf } from './oauth.js';
import { json, type Router } from './server.js';
import {
  type DropRule,
  defaultFaults,
  emptyStats,
  type FailRule,
  type HangRule,
  IB_PROFILES,
  type IbProfile,
  type InstrumentFlags,
  login,
  logout,
  newSessionState,
  type SimState,
} from './state.js';
import { simWs } from './ws.js';

function asArray<T>(v: T | T[] | undefined): T[] {
  if (v === undefined || v === null) return [];
  return Array.isArray(v) ? v : [v];
}

function faultView(state: SimState): Record<string, unknown> {
  const flags: Record<string, InstrumentFlags> = {};
  for (const [k, v] of state.instrumentFlags) flags[String(k)] = v;
  return {
    latencyMs: state.faults.latencyMs,
    fail: state.faults.fail,
    hang: state.faults.hang,
    resetConnection: state.faults.reset,
    dropResponse: state.faults.drop,
    penaltyBoxMs: state.faults.penaltyBoxMs,
    historyDelayMs: state.faults.historyDelayMs,
    ...(oauthOf(state) ? { oauth: oauthOf(state)!.view() } : {}),
    pacing: state.flags.pacing,
    wholeMonthInfo: state.flags.wholeMonthInfo,
    profile: state.flags.profile,
    accountScoping: state.flags.accountScoping,
    derivativeSearch: state.flags.derivativeSearch,
    competing: state.session.competing,
    noBridge: state.session.noBridge,
    instruments: flags,
    ws: simWs(state).view(),
  };
}

function clockView(state: SimState): Record<string, unknown> {
  const now = state.clock.now();
  return { now, iso: new Date(now).toISOString(), frozen: state.clock.frozen };
}

function applyInstrumentFlags(state: SimState, spec: Record<string, unknown>): void {
  const conid = Number(spec.conid);
  if (!Number.isInteger(conid)) return;
  if (spec.reset === true) {
    state.instrumentFlags.delete(conid);
    return;
  }
  const now = state.clock.now();
  const f: InstrumentFlags = { ...(state.instrumentFlags.get(conid) ?? {}) };
  if (typeof spec.halted === 'boolean') {
    f.halted = spec.halted;
    f.haltedAt = spec.halted ? now : undefined;
  }
  if (typeof spec.notTradedToday === 'boolean') f.notTradedToday = spec.notTradedToday;
  if (typeof spec.delayed === 'boolean') f.delayed = spec.delayed;
  if (typeof spec.frozen === 'boolean') {
    f.frozen = spec.frozen;
    f.frozenAt = spec.frozen ? now : undefined;
  }
  state.instrumentFlags.set(conid, f);
}

/** Faults and switches back to the start options. */
function resetFlags(state: SimState): void {
  state.faults = { ...defaultFaults(), penaltyBoxMs: state.opts.penaltyBoxMs };
  state.flags.pacing = state.opts.pacing;
  state.flags.wholeMonthInfo = 'answer';
  state.flags.profile = state.opts.profile;
  state.flags.accountScoping = state.opts.accountScoping;
  state.flags.derivativeSearch = state.opts.derivativeSearch;
}

export function registerControl(router: Router, state: SimState): void {
  router.addControl('GET', '/sim/stats', () => json(state.stats));

  router.addControl('POST', '/sim/reset', (ctx) => {
    state.stats = emptyStats();
    state.pacer.reset();
    const body = (ctx.body ?? {}) as { state?: unknown };
    if (body.state === true) {
      resetFlags(state);
      state.instrumentFlags.clear();
      state.instrumentFlags.set(41645598, { notTradedToday: true });
      state.session = newSessionState(state, state.opts.authenticated);
      for (const h of state.hooks.reset) h();
    }
    return json({ reset: true, state: body.state === true });
  });

  router.addControl('GET', '/sim/faults', () => json(faultView(state)));

  router.addControl('POST', '/sim/faults', (ctx) => {
    const b = (ctx.body ?? {}) as Record<string, unknown>;
    if (b.clear === true) {
      resetFlags(state);
      simWs(state).configure({
        delayMs: 0,
        refuse: 0,
        refuseSor: 0,
        refuseSpl: 0,
        orphan: false,
        sorSnapshot: false,
        sorNewPartial: false,
      });
      state.session.competing = false;
      state.session.noBridge = false;
    }
    if (typeof b.latencyMs === 'number') state.faults.latencyMs = Math.max(0, b.latencyMs);
    for (const f of asArray(b.fail as FailRule | FailRule[] | undefined)) {
      state.faults.fail.push({
        endpoint: String(f.endpoint ?? '*'),
        status: Number(f.status ?? 503),
        count: Number(f.count ?? 1),
        ...(f.body !== undefined ? { body: f.body } : {}),
      });
    }
    for (const h of asArray(b.hang as HangRule | HangRule[] | undefined)) {
      state.faults.hang.push({ endpoint: String(h.endpoint ?? '*'), count: Number(h.count ?? 1) });
    }
    for (const d of asArray(b.dropResponse as DropRule | DropRule[] | undefined)) {
      state.faults.drop.push({
        endpoint: String(d.endpoint ?? '*'),
        count: Number(d.count ?? 1),
        logout: d.logout === true,
      });
    }
    for (const r of asArray(b.resetConnection as HangRule | HangRule[] | undefined)) {
      state.faults.reset.push({ endpoint: String(r.endpoint ?? '*'), count: Number(r.count ?? 1) });
    }
    if (b.expireSession === true) logout(state);
    if (typeof b.competing === 'boolean') {
      state.session.competing = b.competing;
      if (b.competing) state.session.brokerage = false;
      else if (state.session.sso) state.session.brokerage = true;
    }
    if (typeof b.noBridge === 'boolean') state.session.noBridge = b.noBridge;
    if (typeof b.pacing === 'boolean') state.flags.pacing = b.pacing;
    if (b.wholeMonthInfo === 'answer' || b.wholeMonthInfo === 'empty' || b.wholeMonthInfo === 'error') {
      state.flags.wholeMonthInfo = b.wholeMonthInfo;
    }
    if (typeof b.profile === 'string') {
      if (!(IB_PROFILES as readonly string[]).includes(b.profile)) {
        return json({ error: `profile must be one of ${IB_PROFILES.join(', ')}` }, 400);
      }
      state.flags.profile = b.profile as IbProfile;
    }
    if (typeof b.accountScoping === 'boolean') state.flags.accountScoping = b.accountScoping;
    if (typeof b.derivativeSearch === 'boolean') state.flags.derivativeSearch = b.derivativeSearch;
    if (typeof b.penaltyBoxMs === 'number') {
      state.faults.penaltyBoxMs = Math.max(0, b.penaltyBoxMs);
      if (b.penaltyBoxMs <= 0) state.faults.penaltyUntil = 0;
    }
    if (typeof b.historyDelayMs === 'number') state.faults.historyDelayMs = Math.max(0, b.historyDelayMs);
    if (b.ws && typeof b.ws === 'object') simWs(state).configure(b.ws as Record<string, unknown>);
    for (const spec of asArray(b.instrument as Record<string, unknown> | Record<string, unknown>[] | undefined)) {
      applyInstrumentFlags(state, spec);
    }
    if (b.oauth && typeof b.oauth === 'object') {
      const oauth = oauthOf(state);
      if (!oauth) return json({ error: 'the simulator was not started with OAuth (--oauth)' }, 400);
      oauth.fault(b.oauth as Record<string, unknown>);
    }
    return json(faultView(state));
  });

  router.addControl('POST', '/sim/session', (ctx) => {
    const b = (ctx.body ?? {}) as { authenticated?: unknown; brokerage?: unknown; relogin?: unknown };
    if (b.relogin === true) {
      // The gateway logs in again by itself (IB's nightly re-authentication): a new session id.
      state.session = newSessionState(state, true);
      for (const h of state.hooks.sessionStart) h();
    } else if (b.authenticated === true) {
      login(state);
      if (b.brokerage === false) state.session.brokerage = false;
    } else if (b.authenticated === false) {
      logout(state);
    }
    return json({ authenticated: state.session.sso, brokerage: state.session.brokerage, session: state.session.id });
  });

  router.addControl('GET', '/sim/clock', () => json(clockView(state)));
  router.addControl('POST', '/sim/clock', (ctx) => {
    const b = (ctx.body ?? {}) as { advanceMs?: unknown; set?: unknown; freeze?: unknown; unfreeze?: unknown };
    const before = state.clock.now();
    if (b.unfreeze === true) state.clock.unfreeze();
    if (typeof b.set === 'number') state.clock.set(b.set);
    if (typeof b.advanceMs === 'number') state.clock.advance(b.advanceMs);
    if (b.freeze === true) state.clock.freeze();
    else if (typeof b.freeze === 'number') state.clock.freeze(b.freeze);
    if (state.clock.now() < before) state.prices.clearCaches();
    return json(clockView(state));
  });

  router.addControl('GET', '/sim/info', () =>
    json({
      seed: state.seed,
      accounts: state.accounts.map((a) => a.id),
      instruments: state.universe.byConid.size,
      session: {
        authenticated: state.session.sso,
        brokerage: state.session.brokerage,
        accountsQueried: state.session.accountsQueried,
        subscriptions: [...state.session.subscriptions.keys()],
      },
      clock: clockView(state),
    }),
  );

  router.addControl('GET', '/sim/instruments', (ctx) => {
    const secType = ctx.query.get('secType')?.toUpperCase();
    return json(
      state.universe
        .all()
        .filter((i) => !secType || i.secType === secType)
        .map((i) => ({
          conid: i.conid,
          symbol: i.symbol,
          secType: i.secType,
          exchange: i.listingExchange,
          currency: i.currency,
          name: i.name,
        })),
    );
  });
}
