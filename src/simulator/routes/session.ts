/**
 * Session and account endpoints: /iserver/auth/status, /tickle, /iserver/auth/ssodh/init,
 * /iserver/reauthenticate, /logout, /sso/validate, /iserver/accounts, /iserver/account,
 * /portfolio/accounts, /portfolio/subaccounts, /portfolio/subaccounts2.
 *
 * An advisor (FA) login (state.opts.advisorAccounts): /iserver/accounts lists the client accounts
 * with allowFeatures.allowFA true; /portfolio/accounts lists only the master (IB:
 * "for tiered account structures see /portfolio/subaccounts"); /portfolio/subaccounts at most 100
 * ([V1]: "a list of up to 100 sub-accounts"); /portfolio/subaccounts2 every one, 20 a page ([V1]).
 * Only the sub-account lists open /portfolio/{accountId}/… of the sub-accounts.
 */
import { profileOf } from '../profiles.js';
import { ibError, json, type Reply, type Router } from '../server.js';
import { ADVISOR_MASTER_ID, login, logout, type SimAccount, type SimState } from '../state.js';

/** IB's caps: /portfolio/subaccounts answers up to 100 sub-accounts, /subaccounts2 20 a page ([V1]). */
const SUBACCOUNTS_CAP = 100;
const SUBACCOUNTS_PAGE = 20;

const isAdvisor = (state: SimState): boolean => (state.opts.advisorAccounts ?? 0) > 0;

/** The advisor's master account, as /portfolio/accounts lists it. */
function masterAccount(): SimAccount {
  return {
    id: ADVISOR_MASTER_ID,
    title: 'Simulated Advisor',
    currency: 'USD',
    type: 'ORG',
    tradingType: 'STKNOPT',
    isPaper: true,
    accountStatus: 1590724800000,
  };
}

const MAC = '5A:1B:3C:7D:9E:F0';

/** As IB's gateway: the session travels in a cookie too (x-sess-uuid), set on the keep-alive's answer. */
function cookie(state: SimState, reply: Reply): Reply {
  return {
    ...reply,
    headers: { ...reply.headers, 'Set-Cookie': `x-sess-uuid=${state.session.id}; Path=/; Secure; HttpOnly` },
  };
}
const SERVER_INFO = { serverName: 'SimN00001', serverVersion: 'Build 10.37.1e, ibkr-mcp simulator' };
export const USER_ID = 12345678;
export const USER_NAME = 'simuser';

export function authStatus(state: SimState, message = ''): Record<string, unknown> {
  const s = state.session;
  if (!s.sso) {
    return { authenticated: false, competing: false, connected: false, established: false, message, MAC, fail: '' };
  }
  return {
    authenticated: s.brokerage,
    competing: s.competing,
    connected: true,
    established: s.brokerage,
    message,
    MAC,
    serverInfo: SERVER_INFO,
    hardware_info: `5a1b3c7d|${MAC}`,
    fail: '',
  };
}

function ssoRemaining(state: SimState): number {
  return Math.max(0, state.opts.sessionTimeoutMs - (state.clock.realNow() - state.session.lastActivity));
}

/** IB's isPaper for the selected account (paper when none is selected); absent when the account has none. */
function paperFlag(state: SimState): { isPaper?: boolean } {
  const selected = state.accounts.find((a) => a.id === state.session.selectedAccount);
  if (!selected) return { isPaper: true };
  return selected.isPaper === undefined ? {} : { isPaper: selected.isPaper };
}

export function iserverAccounts(state: SimState): Record<string, unknown> {
  const ids = state.accounts.map((a) => a.id);
  const acctProps: Record<string, unknown> = {};
  const aliases: Record<string, string> = { All: 'All' };
  for (const id of ids) {
    acctProps[id] = {
      hasChildAccounts: false,
      supportsCashQty: true,
      liteUnderPro: false,
      noFXConv: false,
      isProp: false,
      supportsFractions: true,
      allowCustomerTime: false,
      autoFx: false,
    };
    aliases[id] = id;
  }
  return {
    accounts: ids,
    acctProps,
    aliases,
    allowFeatures: {
      showGFIS: true,
      showEUCostReport: false,
      allowEventContract: true,
      allowFXConv: true,
      allowFinancialLens: false,
      allowMTA: true,
      allowTypeAhead: true,
      allowEventTrading: true,
      snapshotRefreshTimeout: 30,
      liteUser: false,
      showWebNews: true,
      research: true,
      debugPnl: true,
      showTaxOpt: true,
      showImpactDashboard: true,
      allowDynAccount: false,
      allowCrypto: false,
      allowFA: isAdvisor(state),
      allowLiteUnderPro: false,
      allowedAssetTypes:
        'STK,CFD,OPT,FOP,WAR,FUT,BAG,PDC,CASH,IND,BOND,BILL,FUND,SLB,News,CMDTY,IOPT,ICU,ICS,PHYSS,CRYPTO',
      restrictTradeSubscription: false,
      showUkUserLabels: false,
      sideBySide: true,
    },
    chartPeriods: {
      STK: ['*'],
      CFD: ['*'],
      OPT: ['2h', '1d', '2d', '1w', '1m'],
      FOP: ['2h', '1d', '2d', '1w', '1m'],
      WAR: ['*'],
      IOPT: ['*'],
      FUT: ['*'],
      CASH: ['*'],
      IND: ['*'],
      BOND: ['*'],
      FUND: ['*'],
      CMDTY: ['*'],
      PHYSS: ['*'],
      CRYPTO: ['*'],
    },
    groups: isAdvisor(state) ? ['All'] : [],
    profiles: [],
    selectedAccount: state.session.selectedAccount,
    serverInfo: SERVER_INFO,
    sessionId: `${state.session.id.slice(0, 8)}.${state.session.id.slice(8, 16)}`,
    isFT: false,
    ...paperFlag(state),
  };
}

export function portfolioAccount(a: SimAccount): Record<string, unknown> {
  return {
    id: a.id,
    'PrepaidCrypto-Z': false,
    'PrepaidCrypto-P': false,
    brokerageAccess: true,
    accountId: a.id,
    accountVan: a.id,
    accountTitle: a.title,
    displayName: a.title,
    accountAlias: null,
    accountStatus: a.accountStatus,
    currency: a.currency,
    type: a.type,
    tradingType: a.tradingType,
    businessType: 'IB_PROSERVE',
    category: '',
    ibEntity: 'IBLLC-US',
    faclient: false,
    clearingStatus: 'O',
    covestor: false,
    noClientTrading: false,
    trackVirtualFXPortfolio: true,
    acctCustType: 'INDIVIDUAL',
    parent: { mmc: [], accountId: '', isMParent: false, isMChild: false, isMultiplex: false },
    desc: a.id,
  };
}

export function register(router: Router, state: SimState): void {
  router.add(['GET', 'POST'], '/iserver/auth/status', () => json(authStatus(state)), { auth: 'none' });

  router.add(
    ['GET', 'POST'],
    '/tickle',
    () => {
      const s = state.session;
      const status = authStatus(state);
      const { hardware_info: _h, fail: _f, ...iserverStatus } = status;
      return cookie(
        state,
        json({
          session: s.id,
          ssoExpires: ssoRemaining(state),
          collission: s.competing,
          userId: USER_ID,
          hmds: { error: 'no bridge' },
          iserver: { authStatus: iserverStatus },
        }),
      );
    },
    { auth: 'sso' },
  );

  router.post(
    '/iserver/auth/ssodh/init',
    (ctx) => {
      // As IB: no SSO login → 401; another session holds the brokerage session → it stays
      // there unless the caller competes ({"compete":true} logs the other session out).
      if (state.opts.authenticated === false && !state.session.sso) return ibError(401, 'not authenticated');
      const compete = (ctx.body as { compete?: unknown } | undefined)?.compete === true;
      if (state.session.sso && state.session.competing && !compete) return json(authStatus(state));
      login(state);
      return json(authStatus(state));
    },
    { auth: 'none' },
  );

  // Deprecated in v3; kept because older clients use it. Answers the auth status with message "triggered".
  router.add(
    ['GET', 'POST'],
    '/iserver/reauthenticate',
    () => {
      login(state);
      return json(authStatus(state, 'triggered'));
    },
    { auth: 'none' },
  );

  router.add(
    ['GET', 'POST'],
    '/logout',
    () => {
      logout(state);
      // [V3]: {"status":true}; the older gateway ([DOCJSON]): {"confirmed":true}.
      return json(profileOf(state) === '2023' ? { confirmed: true } : { status: true });
    },
    { auth: 'none' },
  );

  router.get('/sso/validate', () => {
    const now = state.clock.realNow();
    return json({
      USER_ID: USER_ID,
      USER_NAME: USER_NAME,
      RESULT: true,
      AUTH_TIME: state.session.startedAt,
      SF_ENABLED: false,
      IS_FREE_TRIAL: false,
      CREDENTIAL: USER_NAME,
      IP: '127.0.0.1',
      EXPIRES: ssoRemaining(state),
      QUALIFIED_FOR_MOBILE_AUTH: null,
      LANDING_APP: 'UNIVERSAL',
      IS_MASTER: false,
      lastAccessed: now,
      LOGIN_TYPE: state.accounts.every((a) => a.isPaper) ? 2 : 1,
      PAPER_USER_NAME: USER_NAME,
      features: {
        env: 'PROD',
        wlms: true,
        realtime: true,
        bond: true,
        optionChains: true,
        calendar: true,
        newMf: true,
      },
      region: 'NJ',
    });
  });

  router.get('/iserver/accounts', () => {
    state.session.accountsQueried = true;
    return json(iserverAccounts(state));
  });

  router.post('/iserver/account', (ctx) => {
    const acctId = (ctx.body as { acctId?: unknown } | undefined)?.acctId;
    const acct = state.accounts.find((a) => a.id === acctId);
    if (!acct) return json({ error: 'Invalid account ID' }, 500);
    if (state.session.selectedAccount === acct.id) return json({ success: 'Account already set' });
    state.session.selectedAccount = acct.id;
    return json({ set: true, acctId: acct.id });
  });

  router.get('/portfolio/accounts', () => {
    if (isAdvisor(state)) return json([portfolioAccount(masterAccount())]);
    state.session.portfolioAccountsQueried = true;
    return json(state.accounts.map(portfolioAccount));
  });
  router.get('/portfolio/subaccounts', () => {
    state.session.portfolioAccountsQueried = true;
    const list = isAdvisor(state) ? state.accounts.slice(0, SUBACCOUNTS_CAP) : state.accounts;
    return json(list.map((a) => ({ ...portfolioAccount(a), faclient: isAdvisor(state) })));
  });
  router.get('/portfolio/subaccounts2', (ctx) => {
    const raw = ctx.query.get('page') ?? '0';
    const page = /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
    if (!Number.isSafeInteger(page)) return ibError(400, `Bad Request: page is not valid: ${raw}`);
    state.session.portfolioAccountsQueried = true;
    const rows = state.accounts.slice(page * SUBACCOUNTS_PAGE, (page + 1) * SUBACCOUNTS_PAGE);
    return json({
      metadata: { total: state.accounts.length, pageSize: SUBACCOUNTS_PAGE, pageNume: page },
      subaccounts: rows.map((a) => ({ ...portfolioAccount(a), faclient: isAdvisor(state) })),
    });
  });
}
