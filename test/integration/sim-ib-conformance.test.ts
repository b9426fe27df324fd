/**
 * "A Client Portal client written by someone else, pointed at `ibkr-mcp simulator`, gets no error on
 * the endpoints the simulator documents as served, when used within IB's pacing."
 *
 * This is that client: raw HTTPS (sim-client.ts), nothing of ibkr-mcp's. Each row calls one endpoint
 * of the README's list exactly as IB's spec describes it (method, parameter names and case, body
 * shape from the spec's examples; the spec path is named per row: [V3] ibkr-web-api-openapi-v3.json,
 * [V1] cpapi-swagger-v1.json, [P] cpapi-protocol.md, all in /work/shared/ib), in the order IB asks
 * for (accounts first, /portfolio/accounts before /portfolio/{id}/…, a search before strikes), one
 * request at a time at most 6 a second, each 5-second endpoint once. Every answer must be 2xx with
 * the spec's shape. The simulator runs with its defaults, IB's rules: a single 429 would put the
 * client in the 15-minute penalty box and fail every later row.
 *
 * It also checks the README's list against the simulator's routes, both ways.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type SimulatorHandle, startSimulator } from '../../src/simulator/index.js';
import { registerAll } from '../../src/simulator/routes/index.js';
import { Router } from '../../src/simulator/server.js';
import { createState } from '../../src/simulator/state.js';
import { type Body, call } from './sim-client.js';

/** What the client learnt from earlier answers (as any client would: ids come from IB). */
interface Ctx {
  acct: string;
  price: number;
  orderId?: string;
  replyId?: string;
  alertId?: string;
  /** Listed AAPL call strikes two months out, and two call conids among them (a combo's legs). */
  strikes?: number[];
  legs?: number[];
}

type Shape = 'array' | 'object' | { keys: string[] } | { arrayOf: string[] } | 'any';

interface Row {
  /** "METHOD /pattern" as the simulator's router names it. */
  route: string;
  /** Where the request's form comes from. */
  spec: string;
  path: (c: Ctx) => string;
  body?: (c: Ctx) => unknown;
  shape: Shape;
  /** Reads the answer into the context. */
  read?: (body: Body, c: Ctx) => void;
}

const AAPL = 265598;
const IBM = 8314;

/** A placed or modified order: IB answers the order rows, or a question to reply to first. */
const orderAnswer = (b: Body, c: Ctx) => {
  const first = Array.isArray(b) ? b[0] : b;
  if (first?.id && Array.isArray(first.message)) c.replyId = String(first.id);
  else if (first?.order_id !== undefined) c.orderId = String(first.order_id);
};

const ROWS: Row[] = [
  // Session ([V3] and [P] §3).
  {
    route: 'POST /iserver/auth/status',
    spec: "[V3] paths['/iserver/auth/status'].post",
    path: () => '/iserver/auth/status',
    shape: { keys: ['authenticated', 'connected', 'competing'] },
  },
  {
    route: 'POST /iserver/auth/ssodh/init',
    spec: '[V3] brokerageSessionInitRequest {publish, compete}',
    path: () => '/iserver/auth/ssodh/init',
    body: () => ({ publish: true, compete: true }),
    shape: { keys: ['authenticated'] },
  },
  {
    route: 'POST /tickle',
    spec: "[V3] paths['/tickle'].post",
    path: () => '/tickle',
    shape: { keys: ['session', 'iserver'] },
  },
  {
    route: 'GET /sso/validate',
    spec: "[V3] paths['/sso/validate'].get",
    path: () => '/sso/validate',
    shape: { keys: ['RESULT'] },
  },
  // Accounts ([V3]; /iserver/accounts first, [P] §3.6).
  {
    route: 'GET /iserver/accounts',
    spec: "[V3] paths['/iserver/accounts'].get",
    path: () => '/iserver/accounts',
    shape: { keys: ['accounts', 'selectedAccount'] },
    read: (b, c) => {
      c.acct = b.accounts[0];
    },
  },
  {
    route: 'POST /iserver/account',
    spec: "[V3] paths['/iserver/account'].post body {acctId}",
    path: () => '/iserver/account',
    body: (c) => ({ acctId: c.acct }),
    shape: 'object',
  },
  {
    route: 'GET /portfolio/accounts',
    spec: "[V3] paths['/portfolio/accounts'].get",
    path: () => '/portfolio/accounts',
    shape: { arrayOf: ['id'] },
  },
  {
    route: 'GET /portfolio/subaccounts',
    spec: "[V3] paths['/portfolio/subaccounts'].get",
    path: () => '/portfolio/subaccounts',
    shape: 'array',
  },
  {
    route: 'GET /portfolio/:accountId/meta',
    spec: "[V3] paths['/portfolio/{accountId}/meta'].get",
    path: (c) => `/portfolio/${c.acct}/meta`,
    shape: 'object',
  },
  {
    route: 'GET /iserver/account/:accountId/summary',
    spec: "[V3] paths['/iserver/account/{accountId}/summary'].get",
    path: (c) => `/iserver/account/${c.acct}/summary`,
    shape: 'object',
  },
  // Portfolio ([V3]).
  {
    route: 'GET /portfolio/:accountId/positions/:pageId',
    spec: "[V3] paths['/portfolio/{accountId}/positions/{pageId}'].get ?sort=name&direction=a",
    path: (c) => `/portfolio/${c.acct}/positions/0?sort=name&direction=a`,
    shape: 'array',
  },
  {
    route: 'GET /portfolio2/:accountId/positions',
    spec: '[P] §6.1 (portfolio2, ?sort&direction)',
    path: (c) => `/portfolio2/${c.acct}/positions?sort=name&direction=a`,
    shape: 'array',
  },
  {
    route: 'GET /portfolio/:accountId/position/:conid',
    spec: "[V3] paths['/portfolio/{accountid}/position/{conid}'].get",
    path: (c) => `/portfolio/${c.acct}/position/${AAPL}`,
    shape: 'any',
  },
  {
    route: 'GET /portfolio/:accountId/summary',
    spec: "[V3] paths['/portfolio/{accountId}/summary'].get",
    path: (c) => `/portfolio/${c.acct}/summary`,
    shape: { keys: ['netliquidation'] },
  },
  {
    route: 'GET /portfolio/:accountId/ledger',
    spec: "[V3] paths['/portfolio/{accountId}/ledger'].get",
    path: (c) => `/portfolio/${c.acct}/ledger`,
    shape: { keys: ['BASE'] },
  },
  {
    route: 'GET /portfolio/:accountId/allocation',
    spec: "[V3] paths['/portfolio/{accountId}/allocation'].get",
    path: (c) => `/portfolio/${c.acct}/allocation`,
    shape: { keys: ['assetClass'] },
  },
  {
    route: 'GET /iserver/account/pnl/partitioned',
    spec: "[V3] paths['/iserver/account/pnl/partitioned'].get",
    path: () => '/iserver/account/pnl/partitioned',
    shape: { keys: ['upnl'] },
  },
  // Contracts ([V3]; the search before strikes and info, [P] §4.1).
  {
    route: 'GET /iserver/secdef/search',
    spec: "[V3] paths['/iserver/secdef/search'].get ?symbol=AAPL",
    path: () => '/iserver/secdef/search?symbol=AAPL',
    shape: { arrayOf: ['conid'] },
  },
  {
    route: 'POST /iserver/secdef/search',
    spec: "[V3] paths['/iserver/secdef/search'].post body {symbol, secType, name}",
    path: () => '/iserver/secdef/search',
    body: () => ({ symbol: 'IBM', secType: 'STK', name: false }),
    shape: { arrayOf: ['conid'] },
  },
  {
    route: 'GET /iserver/secdef/strikes',
    spec: "[V3] paths['/iserver/secdef/strikes'].get ?conid&sectype&month&exchange",
    path: () => `/iserver/secdef/strikes?conid=${AAPL}&sectype=OPT&month=${monthCode(2)}&exchange=SMART`,
    shape: { keys: ['call', 'put'] },
    read: (b, c) => {
      c.strikes = Array.isArray(b?.call) ? (b.call as number[]) : [];
    },
  },
  // Two call contracts of that month, the legs of the combo row below.
  ...[0.5, 0.6].map(
    (at): Row => ({
      route: 'GET /iserver/secdef/info',
      spec: "[V3] paths['/iserver/secdef/info'].get ?conid&sectype=OPT&month&strike&right",
      path: (c) =>
        `/iserver/secdef/info?conid=${AAPL}&sectype=OPT&month=${monthCode(2)}&strike=${c.strikes?.[Math.floor((c.strikes?.length ?? 0) * at)]}&right=C`,
      shape: { arrayOf: ['conid'] },
      read: (b, c) => {
        c.legs = [...(c.legs ?? []), Number(b[0].conid)];
      },
    }),
  ),
  {
    route: 'GET /iserver/secdef/info',
    spec: "[V3] paths['/iserver/secdef/info'].get ?conid&sectype=STK",
    path: () => `/iserver/secdef/info?conid=${IBM}&sectype=STK`,
    shape: 'any',
  },
  {
    route: 'GET /trsrv/stocks',
    spec: "[V3] paths['/trsrv/stocks'].get ?symbols=AAPL,IBM",
    path: () => '/trsrv/stocks?symbols=AAPL,IBM',
    shape: { keys: ['AAPL', 'IBM'] },
  },
  {
    route: 'GET /trsrv/futures',
    spec: "[V3] paths['/trsrv/futures'].get ?symbols=ES",
    path: () => '/trsrv/futures?symbols=ES',
    shape: { keys: ['ES'] },
  },
  {
    route: 'GET /trsrv/secdef',
    spec: "[V3] paths['/trsrv/secdef'].get ?conids=265598,8314",
    path: () => `/trsrv/secdef?conids=${AAPL},${IBM}`,
    shape: 'object',
  },
  {
    route: 'GET /trsrv/secdef/schedule',
    spec: "[V3] paths['/trsrv/secdef/schedule'].get ?assetClass&symbol&exchange",
    path: () => '/trsrv/secdef/schedule?assetClass=STK&symbol=AAPL&exchange=NASDAQ',
    shape: 'any',
  },
  {
    route: 'GET /iserver/contract/:conid/info',
    spec: "[V3] paths['/iserver/contract/{conid}/info'].get",
    path: () => `/iserver/contract/${AAPL}/info`,
    shape: { keys: ['con_id'] },
  },
  {
    route: 'GET /iserver/contract/:conid/info-and-rules',
    spec: "[V3] paths['/iserver/contract/{conid}/info-and-rules'].get",
    path: () => `/iserver/contract/${AAPL}/info-and-rules`,
    shape: 'object',
  },
  {
    route: 'POST /iserver/contract/rules',
    spec: "[V3] paths['/iserver/contract/rules'].post body {conid, isBuy}",
    path: () => '/iserver/contract/rules',
    body: () => ({ conid: AAPL, isBuy: true }),
    shape: 'object',
  },
  {
    route: 'GET /iserver/exchangerate',
    spec: "[V3] paths['/iserver/exchangerate'].get ?target=EUR&source=USD",
    path: () => '/iserver/exchangerate?target=EUR&source=USD',
    shape: { keys: ['rate'] },
  },
  // Market data ([V3]; the first snapshot is a pre-flight, [P] §5.1).
  {
    route: 'GET /iserver/marketdata/snapshot',
    spec: "[V3] paths['/iserver/marketdata/snapshot'].get ?conids&fields",
    path: () => `/iserver/marketdata/snapshot?conids=${AAPL},${IBM}&fields=31,84,86`,
    shape: { arrayOf: ['conid'] },
  },
  {
    route: 'GET /md/regsnapshot',
    spec: '[P] §5 (DOCJSON /md/regsnapshot ?conid)',
    path: () => `/md/regsnapshot?conid=${AAPL}`,
    shape: 'object',
  },
  {
    route: 'GET /iserver/marketdata/history',
    spec: "[V3] paths['/iserver/marketdata/history'].get ?conid&exchange&period=6d&bar=5min&outsideRth&source",
    path: () =>
      `/iserver/marketdata/history?conid=${AAPL}&exchange=NASDAQ&period=6d&bar=5min&outsideRth=false&source=Midpoint`,
    shape: { keys: ['data'] },
  },
  {
    route: 'GET /hmds/history',
    spec: "[V1] paths['/hmds/history'].get ?conid&period&bar",
    path: () => `/hmds/history?conid=${AAPL}&period=1d&bar=1h`,
    shape: { keys: ['bars'] },
  },
  // Orders ([V3] and [P] §7): a limit order well below the market, so that it stays working.
  {
    route: 'POST /iserver/account/:accountId/orders/whatif',
    spec: '[V3] ordersSubmissionRequest {orders: [singleOrderSubmissionRequest]}',
    path: (c) => `/iserver/account/${c.acct}/orders/whatif`,
    body: (c) => ({ orders: [order(c, 'conformance-whatif')] }),
    shape: { keys: ['amount', 'equity'] },
  },
  {
    // A combo: conidex "{spread conid};;;{leg}/{ratio},…" instead of conid (IBKR Campus, Web API v1.0,
    // "Combo / Spread Orders", and the web UI's own body quoted in github.com/Voyz/ibind/issues/51).
    route: 'POST /iserver/account/:accountId/orders/whatif',
    spec: '[V3] ordersSubmissionRequest with a combo conidex (IBKR Campus combo orders)',
    path: (c) => `/iserver/account/${c.acct}/orders/whatif`,
    body: (c) => ({
      orders: [
        {
          acctId: c.acct,
          conidex: `28812380;;;${c.legs?.[0]}/1,${c.legs?.[1]}/-1`,
          orderType: 'LMT',
          price: 0.5,
          side: 'BUY',
          tif: 'DAY',
          quantity: 1,
        },
      ],
    }),
    shape: { keys: ['amount', 'equity'] },
  },
  {
    route: 'POST /iserver/account/:accountId/orders',
    spec: '[V3] ordersSubmissionRequest; answer orderSubmitSuccess or orderReplyMessage',
    path: (c) => `/iserver/account/${c.acct}/orders`,
    body: (c) => ({ orders: [order(c, 'conformance-1')] }),
    shape: 'array',
    read: orderAnswer,
  },
  {
    route: 'POST /iserver/reply/:replyId',
    spec: "[V3] paths['/iserver/reply/{replyId}'].post body {confirmed: true}",
    path: (c) => `/iserver/reply/${c.replyId ?? 'none'}`,
    body: () => ({ confirmed: true }),
    shape: 'array',
    read: orderAnswer,
  },
  {
    route: 'GET /iserver/account/orders',
    spec: "[V3] paths['/iserver/account/orders'].get",
    path: () => '/iserver/account/orders',
    shape: { keys: ['orders'] },
  },
  {
    route: 'GET /iserver/account/order/status/:orderId',
    spec: "[V3] paths['/iserver/account/order/status/{orderId}'].get",
    path: (c) => `/iserver/account/order/status/${c.orderId}`,
    shape: { keys: ['order_id', 'order_status'] },
  },
  {
    route: 'POST /iserver/account/:accountId/order/:orderId',
    spec: '[V3] singleOrderSubmissionRequest; [P] §7.7 (mirror the original order)',
    path: (c) => `/iserver/account/${c.acct}/order/${c.orderId}`,
    body: (c) => ({ ...order(c), price: round2(c.price * 0.99) }),
    shape: 'array',
  },
  {
    route: 'DELETE /iserver/account/:accountId/order/:orderId',
    spec: "[V3] paths['/iserver/account/{accountId}/order/{orderId}'].delete",
    path: (c) => `/iserver/account/${c.acct}/order/${c.orderId}`,
    shape: 'any',
  },
  {
    route: 'GET /iserver/account/trades',
    spec: "[V3] paths['/iserver/account/trades'].get ?days=3",
    path: () => '/iserver/account/trades?days=3',
    shape: 'array',
  },
  {
    route: 'POST /iserver/questions/suppress',
    spec: "[V3] paths['/iserver/questions/suppress'].post body {messageIds}",
    path: () => '/iserver/questions/suppress',
    body: () => ({ messageIds: ['o163', 'o354'] }),
    shape: { keys: ['status'] },
  },
  {
    route: 'POST /iserver/questions/suppress/reset',
    spec: "[V3] paths['/iserver/questions/suppress/reset'].post",
    path: () => '/iserver/questions/suppress/reset',
    shape: { keys: ['status'] },
  },
  // Alerts ([V3]).
  {
    route: 'POST /iserver/account/:accountId/alert',
    spec: "[V3] paths['/iserver/account/{accountId}/alert'].post examples['alert-creation-request']",
    path: (c) => `/iserver/account/${c.acct}/alert`,
    body: () => ({
      alertName: 'AAPL_Price',
      alertMessage: 'AAPL Price Drop!',
      alertRepeatable: 0,
      expireTime: '20991231-12:00:00',
      outsideRth: 0,
      sendMessage: 1,
      showPopup: 1,
      tif: 'GTC',
      conditions: [
        {
          conidex: `${AAPL}@NASDAQ`,
          logicBind: 'n',
          operator: '>=',
          timeZone: 'US/Eastern',
          triggerMethod: '0',
          type: 1,
          value: '500',
        },
      ],
    }),
    shape: 'object',
    read: (b, c) => {
      c.alertId = String(b.request_id ?? b.order_id);
    },
  },
  {
    route: 'GET /iserver/account/:accountId/alerts',
    spec: "[V3] paths['/iserver/account/{accountId}/alerts'].get",
    path: (c) => `/iserver/account/${c.acct}/alerts`,
    shape: 'array',
  },
  {
    route: 'GET /iserver/account/alert/:alertId',
    spec: "[V3] paths['/iserver/account/alert/{alertId}'].get ?type=Q",
    path: (c) => `/iserver/account/alert/${c.alertId}?type=Q`,
    shape: 'object',
  },
  {
    route: 'POST /iserver/account/:accountId/alert/activate',
    spec: "[V3] paths['/iserver/account/{accountId}/alert/activate'].post examples['deactivate-request']",
    path: (c) => `/iserver/account/${c.acct}/alert/activate`,
    body: (c) => ({ alertId: Number(c.alertId), alertActive: 0 }),
    shape: 'object',
  },
  {
    route: 'DELETE /iserver/account/:accountId/alert/:alertId',
    spec: "[V3] paths['/iserver/account/{accountId}/alert/{alertId}'].delete",
    path: (c) => `/iserver/account/${c.acct}/alert/${c.alertId}`,
    body: () => ({}),
    shape: 'object',
  },
  {
    route: 'GET /iserver/account/mta',
    spec: "[V3] paths['/iserver/account/mta'].get",
    path: () => '/iserver/account/mta',
    shape: 'object',
  },
  // Watchlists and the scanner ([V3] Trading Watchlists, Trading Scanner).
  {
    route: 'POST /iserver/watchlist',
    spec: "[V3] paths['/iserver/watchlist'].post body {id (digits), name, rows:[{C: conid}]}",
    path: () => '/iserver/watchlist',
    body: () => ({ id: '4242', name: 'Conformance', rows: [{ C: AAPL }, { C: IBM }] }),
    shape: 'object',
  },
  {
    route: 'GET /iserver/watchlists',
    spec: "[V3] paths['/iserver/watchlists'].get ?SC=USER_WATCHLIST",
    path: () => '/iserver/watchlists?SC=USER_WATCHLIST',
    shape: { keys: ['data'] },
  },
  {
    route: 'GET /iserver/watchlist',
    spec: "[V3] paths['/iserver/watchlist'].get ?id",
    path: () => '/iserver/watchlist?id=4242',
    shape: 'object',
  },
  {
    route: 'DELETE /iserver/watchlist',
    spec: "[V3] paths['/iserver/watchlist'].delete ?id",
    path: () => '/iserver/watchlist?id=4242',
    shape: { keys: ['data'] },
  },
  {
    route: 'GET /iserver/scanner/params',
    spec: "[V3] paths['/iserver/scanner/params'].get",
    path: () => '/iserver/scanner/params',
    shape: { keys: ['scan_type_list', 'location_tree', 'filter_list'] },
  },
  {
    route: 'POST /iserver/scanner/run',
    spec: "[V3] paths['/iserver/scanner/run'].post example body, with TOP_PERC_GAIN from the params example",
    path: () => '/iserver/scanner/run',
    body: () => ({
      instrument: 'STK',
      location: 'STK.US.MAJOR',
      type: 'TOP_PERC_GAIN',
      filter: [{ code: 'priceAbove', value: 5 }],
    }),
    shape: { keys: ['contracts'] },
  },
  // Unsubscribing and the end of the session.
  {
    route: 'POST /iserver/marketdata/unsubscribe',
    spec: "[V3] paths['/iserver/marketdata/unsubscribe'].post body {conid}",
    path: () => '/iserver/marketdata/unsubscribe',
    body: () => ({ conid: AAPL }),
    shape: 'any',
  },
  {
    route: 'GET /iserver/marketdata/:conid/unsubscribe',
    spec: "[V1] paths['/iserver/marketdata/{conid}/unsubscribe'].get",
    path: () => `/iserver/marketdata/${IBM}/unsubscribe`,
    shape: 'any',
  },
  {
    route: 'GET /iserver/marketdata/unsubscribeall',
    spec: "[V3] paths['/iserver/marketdata/unsubscribeall'].get",
    path: () => '/iserver/marketdata/unsubscribeall',
    shape: 'object',
  },
  {
    route: 'POST /iserver/reauthenticate',
    spec: '[P] §3.3 (DOCJSON: POST, deprecated)',
    path: () => '/iserver/reauthenticate',
    shape: 'object',
  },
  { route: 'POST /logout', spec: "[V3] paths['/logout'].post", path: () => '/logout', shape: 'object' },
];

/** Routes the simulator also answers with another method than the spec's (lenient extras, not documented). */
const OTHER_METHODS = new Set([
  'GET /iserver/auth/status',
  'GET /tickle',
  'GET /iserver/reauthenticate',
  'GET /logout',
]);

function order(c: Ctx, cOID?: string): Record<string, unknown> {
  return {
    acctId: c.acct,
    conid: AAPL,
    secType: `${AAPL}:STK`,
    ...(cOID ? { cOID } : {}),
    orderType: 'LMT',
    listingExchange: 'SMART',
    outsideRTH: false,
    price: round2(c.price * 0.9),
    side: 'BUY',
    ticker: 'AAPL',
    tif: 'DAY',
    quantity: 1,
  };
}

const round2 = (x: number) => Math.round(x * 100) / 100;
const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
/** IB's month code ("MAR26") `ahead` months from now. */
function monthCode(ahead: number): string {
  const d = new Date();
  d.setUTCDate(1);
  d.setUTCMonth(d.getUTCMonth() + ahead);
  return `${MONTHS[d.getUTCMonth()]}${String(d.getUTCFullYear()).slice(2)}`;
}

function assertShape(body: Body, shape: Shape, what: string): void {
  const isObj = Boolean(body) && typeof body === 'object' && !Array.isArray(body);
  if (shape === 'any') return;
  if (shape === 'array') {
    assert.ok(Array.isArray(body), `${what}: not an array: ${JSON.stringify(body)}`);
  } else if (shape === 'object') {
    assert.ok(isObj, `${what}: not an object`);
  } else if ('arrayOf' in shape) {
    assert.ok(Array.isArray(body) && body.length > 0, `${what}: not a non-empty array: ${JSON.stringify(body)}`);
    for (const k of shape.arrayOf) assert.ok(k in body[0], `${what}: rows lack ${k}`);
  } else {
    assert.ok(isObj, `${what}: not an object`);
    for (const k of shape.keys) assert.ok(k in body, `${what}: no ${k} in ${JSON.stringify(body).slice(0, 300)}`);
  }
}

/** The README's list of served endpoints: the backticked paths of "The simulator as a gateway". */
function readmeEndpoints(): string[] {
  const readme = readFileSync(join(import.meta.dirname, '../../README.md'), 'utf8');
  const start = readme.indexOf('### The simulator as a gateway');
  const end = readme.indexOf('Profiles (', start);
  // The OAuth bullet names what a simulator started with --oauth serves (test/integration/sim-oauth.test.ts).
  const section = readme.slice(start, end).replace(/^- OAuth 1\.0a[\s\S]*?(?=^- )/m, '');
  return [...section.matchAll(/`((?:GET|POST|DELETE) )?([/…][^`\s?]*)[^`]*`/g)]
    .map((m) => (m[2] as string).replace(/^…/, ''))
    .filter((t) => t !== '/v1/api');
}

/** "/portfolio/{a}/positions/{page}" and "/portfolio/:accountId/positions/:pageId" alike. */
const norm = (p: string) => p.replace(/\{[^}]*\}|:[A-Za-z]+/g, '{}');
const ROOTS = /^\/(iserver|portfolio2?|trsrv|hmds|md|tickle|logout|sso)(\/|$)/;
/** A README token names a route when it is its path, or (a shorthand such as `/ledger`) its tail. */
const names = (token: string, pattern: string) =>
  ROOTS.test(token) ? norm(token) === norm(pattern) : norm(pattern).endsWith(norm(token));

describe('an independent Client Portal client against the default simulator', () => {
  let sim: SimulatorHandle;
  const routes = (() => {
    const r = new Router();
    registerAll(
      r,
      createState({
        seed: 1,
        latencyMs: 0,
        sessionTimeoutMs: 60_000,
        pacing: false,
        authenticated: true,
        startAt: undefined,
      }),
    );
    return r.api
      .map((x) => `${x.method} ${x.pattern}`)
      .filter((x) => !x.includes('/sso/Login') && !x.startsWith('GET /sso/Dispatcher'));
  })();

  before(async () => {
    sim = await startSimulator({ port: 0, seed: 3 });
  });
  after(async () => {
    await sim?.close();
  });

  test('the README lists every endpoint the simulator serves, and only those', () => {
    const tokens = readmeEndpoints();
    const served = routes.filter((r) => r.includes(' /') && !OTHER_METHODS.has(r));
    const unlisted = served.filter((r) => !tokens.some((t) => names(t, r.split(' ')[1] as string)));
    assert.deepEqual(unlisted, [], `served but not in the README: ${unlisted.join(', ')}`);
    const unknown = tokens.filter((t) => !served.some((r) => names(t, r.split(' ')[1] as string)));
    assert.deepEqual(unknown, [], `in the README but not served: ${unknown.join(', ')}`);
  });

  test('every served endpoint has a row here (the spec method; other methods are extras)', () => {
    const covered = new Set(ROWS.map((r) => r.route));
    const missing = routes.filter((r) => !covered.has(r) && !OTHER_METHODS.has(r));
    assert.deepEqual(missing, [], `no conformance row: ${missing.join(', ')}`);
    for (const r of ROWS) assert.ok(routes.includes(r.route), `${r.route} is not served`);
  });

  test('each endpoint, called as the spec describes and within pacing, answers 2xx in the spec shape', async () => {
    const c: Ctx = { acct: '', price: 0 };
    let last = 0;
    const failures: string[] = [];
    for (const row of ROWS) {
      // 6 requests a second at most, one at a time.
      const wait = last + 170 - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      // The live price (for a limit order below it) once the snapshot stream is open.
      if (row.route === 'POST /iserver/account/:accountId/orders/whatif') {
        const snap = await call(sim, 'GET', `/iserver/marketdata/snapshot?conids=${AAPL}&fields=31,84,86`);
        c.price = Number(String(snap.body?.[0]?.['31'] ?? '').replace(/^[CH]/, ''));
        assert.ok(c.price > 0, `no price: ${JSON.stringify(snap.body)}`);
        await new Promise((r) => setTimeout(r, 170));
      }
      // A question answered, the reply row is due; else there is nothing to confirm.
      if (row.route === 'POST /iserver/reply/:replyId' && !c.replyId) continue;
      const method = row.route.split(' ')[0] as string;
      const path = row.path(c);
      const res = await call(sim, method, path, row.body?.(c));
      last = Date.now();
      const what = `${method} ${path} (${row.spec})`;
      try {
        assert.ok(res.status >= 200 && res.status < 300, `${what}: ${res.status} ${JSON.stringify(res.body)}`);
        // IB's answers may carry "error": null (the what-if example does): only a value is an error.
        const err = res.body && typeof res.body === 'object' && !Array.isArray(res.body) ? res.body.error : undefined;
        assert.ok(err === undefined || err === null, `${what}: error ${JSON.stringify(err)}`);
        assertShape(res.body, row.shape, what);
        row.read?.(res.body, c);
      } catch (e) {
        failures.push((e as Error).message);
      }
    }
    assert.deepEqual(failures, []);
    assert.equal(sim.state.stats.status429, 0, 'no 429 within pacing');
  });
});
