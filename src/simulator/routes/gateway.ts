/**
 * More of the endpoints IB's gateway serves, in the shapes of IB's specs (ibkr-web-api-openapi-v3
 * "[V3]" examples and schemas; cpapi-swagger-v1 "[DOCJSON]" where [V3] lacks the endpoint), with
 * values from the simulator's own state (positions, prices, FX, accounts):
 *
 *   GET    /portfolio2/:accountId/positions           positions without the /portfolio/accounts gate
 *   GET    /portfolio/:accountId/meta                 the account's /portfolio/accounts object
 *   GET    /portfolio/:accountId/position/:conid      [row] of the positions endpoint, [] when none
 *   GET    /iserver/account/:accountId/summary        [V3] example's keys, from the valuation
 *   GET    /iserver/contract/:conid/info-and-rules    contract info plus "rules"
 *   POST   /iserver/contract/rules                    {"conid","isBuy",…} → rules
 *   GET    /trsrv/secdef/schedule                     assetClass + symbol → trading schedule
 *   GET    /iserver/exchangerate?source=&target=      {"rate": units of target per source}
 *   GET    /hmds/history                              [DOCJSON] {"bars":{…,"data":[{t,o,c,h,l,v}]}}
 *   GET    /md/regsnapshot?conid=                     one snapshot row, every quote field at once
 *   GET    /iserver/account/:accountId/alerts         alert list ([] when none)
 *   POST   /iserver/account/:accountId/alert          create / modify (orderId) an alert
 *   POST   /iserver/account/:accountId/alert/activate {"alertId","alertActive"}
 *   DELETE /iserver/account/:accountId/alert/:alertId (0 deletes every alert of the account)
 *   GET    /iserver/account/alert/:alertId?type=Q     one alert's details
 *   GET    /iserver/account/mta                       the selected account's MTA alert
 */
import { localDay } from '../calendar.js';
import { simPortfolio } from '../portfolio.js';
import { decimalsFor } from '../prices.js';
import { HttpError, ibError, json, type Router } from '../server.js';
import type { SimState } from '../state.js';
import type { Instrument } from '../universe.js';
import { contractInfo } from './contracts.js';
import { checkStepSize, generateBars, parseBar, parsePeriod } from './history.js';
import { quoteFields } from './marketdata.js';
import { positionRow } from './portfolio.js';
import { portfolioAccount } from './session.js';

const r2 = (x: number) => Math.round(x * 100) / 100;

const KNOWN_CCY = new Set(['USD', 'EUR', 'GBP', 'JPY', 'CAD', 'CHF', 'AUD', 'HKD']);

function badAccount(acct: string): HttpError {
  return new HttpError(400, { error: `Bad Request: accountId is not valid: ${acct}`, statusCode: 400 });
}

function account(state: SimState, acct: string): void {
  if (!state.accounts.some((a) => a.id === acct)) throw badAccount(acct);
}

function lastPrice(state: SimState, inst: Instrument): number {
  const f = quoteFields(state, inst, state.clock.now(), ['31']);
  const n = Number(String(f['31'] ?? '').replace(/^[CH]/, ''));
  return Number.isFinite(n) && n > 0 ? n : state.prices.quote(inst, state.clock.now()).last;
}

/** Trading rules of a contract ([V3] POST /iserver/contract/rules example's keys). */
export function rulesFor(state: SimState, inst: Instrument, isBuy: boolean): Record<string, unknown> {
  const stk = inst.secType === 'STK';
  const px = lastPrice(state, inst);
  const digits = decimalsFor(inst.tickSize);
  const price = Number(px.toFixed(digits));
  return {
    algoEligible: true,
    allOrNoneEligible: stk,
    overnightEligible: stk,
    costReport: false,
    canTradeAcctIds: state.accounts.map((a) => a.id),
    error: null,
    orderTypes: ['limit', 'market', 'stop', 'stop_limit', 'trailing_stop', 'trailing_stop_limit', 'midprice'],
    ibAlgoTypes: ['limit', 'stop_limit', 'trailing_stop_limit'],
    fraqTypes: stk ? ['limit', 'market', 'stop', 'stop_limit', 'trailing_stop'] : [],
    forceOrderPreview: false,
    cqtTypes: stk ? ['limit', 'market', 'stop', 'stop_limit'] : [],
    orderDefaults: { LMT: { LP: price.toFixed(digits) } },
    orderTypesOutside: stk ? ['limit', 'stop_limit', 'trailing_stop_limit'] : [],
    defaultSize: stk ? 100 : 1,
    cashSize: 0.0,
    sizeIncrement: stk ? 100 : 1,
    tifTypes: ['IOC/MARKET,LIMIT,a', 'GTC/o,a', 'OPG/LIMIT,MARKET,a', 'DAY/o,a'],
    tifDefaults: { TIF: 'DAY', DEFAULT_ACCT: state.session.selectedAccount, SIZE: stk ? '100.00' : '1.00' },
    limitPrice: price,
    stopprice: price,
    orderOrigination: null,
    preview: true,
    displaySize: null,
    fraqInt: stk ? 4 : 0,
    cashCcy: inst.currency,
    cashQtyIncr: stk ? 500 : null,
    priceMagnifier: null,
    negativeCapable: false,
    incrementType: 1,
    incrementRules: [{ lowerEdge: 0.0, increment: inst.tickSize }],
    hasSecondary: true,
    increment: inst.tickSize,
    incrementDigits: digits,
    side: isBuy ? 'BUY' : 'SELL',
  };
}

function hhmm(minutes: number): string {
  const m = Math.min(minutes, 1439);
  return `${String(Math.floor(m / 60)).padStart(2, '0')}${String(m % 60).padStart(2, '0')}`;
}

// ---------------------------------------------------------------- alerts

interface SimAlert {
  id: number;
  acct: string;
  name: string;
  message: string;
  repeatable: number;
  email: string;
  outsideRth: number;
  sendMessage: number;
  showPopup: number;
  tif: string;
  expireTime: string | null;
  active: number;
  triggered: boolean;
  created: number;
  conditions: {
    type: number;
    conidex: string;
    operator: string;
    triggerMethod: string;
    value: string;
    logicBind: string;
  }[];
}

interface AlertStore {
  next: number;
  byId: Map<number, SimAlert>;
}

function alerts(state: SimState): AlertStore {
  let s = state.ext.get('alerts') as AlertStore | undefined;
  if (!s) {
    s = { next: 1_408_549_184 + (state.seed % 1000), byId: new Map() };
    state.ext.set('alerts', s);
  }
  return s;
}

function stamp(ms: number): string {
  const t = new Date(ms).toISOString();
  return `${t.slice(0, 10).replace(/-/g, '')}-${t.slice(11, 19)}`;
}

/** IB's "YYYYMMDD-HH:mm:ss" (UTC) as epoch ms; NaN when malformed. */
function ibTimeMs(v: string): number {
  const m = /^(\d{4})(\d{2})(\d{2})-(\d{2}):(\d{2}):(\d{2})$/.exec(v);
  return m ? Date.parse(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}Z`) : Number.NaN;
}

/** Whether one condition holds now: price (1) on the last price, time (3) on the clock, volume (6) on the day's volume. */
function conditionHolds(state: SimState, c: SimAlert['conditions'][number]): boolean {
  const cmp = (x: number, v: number) => (c.operator === '>=' ? x >= v : x <= v);
  if (c.type === 3) {
    const t = ibTimeMs(c.value);
    return Number.isFinite(t) && cmp(state.clock.now(), t);
  }
  if (c.type !== 1 && c.type !== 6) return false;
  const inst = state.universe.get(Number(c.conidex.split('@')[0]));
  const v = Number(c.value);
  if (!inst || !Number.isFinite(v)) return false;
  if (c.type === 1) return cmp(lastPrice(state, inst), v);
  return cmp(state.prices.quote(inst, state.clock.now()).volume, v);
}

/** An active alert triggers once its conditions (joined by their logicBind) hold. */
function refreshTriggered(state: SimState, a: SimAlert): void {
  if (!a.active || (a.triggered && !a.repeatable)) return;
  const hits = a.conditions.map((c) => conditionHolds(state, c));
  const all = a.conditions.every((c, i) => hits[i] || c.logicBind === 'o');
  if (hits.length && (all || hits.some((h, i) => h && a.conditions[i]?.logicBind === 'o'))) a.triggered = true;
}

function alertDetail(a: SimAlert): Record<string, unknown> {
  return {
    account: a.acct,
    order_id: a.id,
    alert_name: a.name,
    tif: a.tif,
    expire_time: a.expireTime,
    alert_active: a.active,
    alert_repeatable: a.repeatable,
    alert_email: a.email || null,
    alert_send_message: a.sendMessage,
    alert_message: a.message,
    alert_show_popup: a.showPopup,
    alert_play_audio: null,
    order_status: a.active ? 'Submitted' : 'Inactive',
    alert_triggered: a.triggered,
    fg_color: '#FFFFFF',
    bg_color: '#0000CC',
    order_not_editable: false,
    itws_orders_only: 0,
    alert_mta_currency: null,
    alert_mta_defaults: null,
    tool_id: null,
    time_zone: null,
    alert_default_type: null,
    condition_size: a.conditions.length,
    condition_outside_rth: a.outsideRth,
    conditions: a.conditions.map((c) => ({
      condition_type: c.type,
      conidex: c.conidex,
      contract_description_1: '',
      condition_operator: c.operator,
      condition_trigger_method: c.triggerMethod,
      condition_value: c.value,
      condition_logic_bind: c.logicBind,
      condition_time_zone: null,
    })),
  };
}

const submitted = (id: number) => ({
  request_id: null,
  order_id: id,
  success: true,
  text: 'Request was submitted',
  failure_list: null,
});

function int01(v: unknown): number | undefined {
  const n = typeof v === 'string' ? Number(v) : v;
  return n === 0 || n === 1 ? n : undefined;
}

// ---------------------------------------------------------------- routes

export function register(router: Router, state: SimState): void {
  const portfolio = simPortfolio(state);
  state.hooks.reset.push(() => state.ext.delete('alerts'));

  router.get('/portfolio2/:accountId/positions', (ctx) => {
    const id = ctx.params['accountId'] ?? '';
    if (!portfolio.hasAccount(id)) throw badAccount(id);
    const v = portfolio.valuation(id);
    const ts = Math.floor(v.now / 1000);
    const rows = v.positions.map((p) => ({
      position: p.qty,
      conid: String(p.inst.conid),
      avgCost: p.avgCost,
      avgPrice: p.avgPrice,
      currency: p.currency,
      description: p.inst.secType === 'STK' ? p.inst.symbol : p.inst.localSymbol || p.inst.symbol,
      isLastToLoq: false,
      marketPrice: p.price,
      marketValue: r2(p.marketValue),
      realizedPnl: r2(p.realized),
      secType: p.inst.secType,
      timestamp: ts,
      unrealizedPnl: r2(p.unrealized),
      assetClass: p.inst.secType,
      sector: p.inst.sector ?? '',
      group: p.inst.industry ?? '',
      model: '',
    }));
    const key = ctx.query.get('sort')?.trim() || 'description';
    const dir = ctx.query.get('direction') === 'd' ? -1 : 1;
    rows.sort((a, b) => {
      const x = (a as Record<string, unknown>)[key];
      const y = (b as Record<string, unknown>)[key];
      return (typeof x === 'number' && typeof y === 'number' ? x - y : String(x).localeCompare(String(y))) * dir;
    });
    return json(rows);
  });

  const portfolioGate = (id: string) => {
    if (!state.session.portfolioAccountsQueried) {
      throw new HttpError(400, {
        error: 'Bad Request: Please query /portfolio/accounts or /portfolio/subaccounts first',
        statusCode: 400,
      });
    }
    if (!portfolio.hasAccount(id)) throw badAccount(id);
  };

  router.get('/portfolio/:accountId/meta', (ctx) => {
    const id = ctx.params['accountId'] ?? '';
    portfolioGate(id);
    const a = state.accounts.find((x) => x.id === id);
    if (!a) throw badAccount(id);
    return json(portfolioAccount(a));
  });

  router.get('/portfolio/:accountId/position/:conid', (ctx) => {
    const id = ctx.params['accountId'] ?? '';
    portfolioGate(id);
    const conid = Number(ctx.params['conid']);
    if (!Number.isInteger(conid) || conid <= 0)
      return ibError(400, `Bad Request: invalid conid: ${ctx.params['conid']}`);
    const v = portfolio.valuation(id);
    return json(v.positions.filter((p) => p.inst.conid === conid).map((p) => positionRow(state, id, p)));
  });

  router.get('/iserver/account/:accountId/summary', (ctx) => {
    const id = ctx.params['accountId'] ?? '';
    account(state, id);
    const v = portfolio.valuation(id);
    const b = v.base;
    const base = v.account.currency;
    return json({
      accountType: '',
      status: '',
      balance: r2(b.cash),
      SMA: r2(Math.max(0, b.excessLiquidity)),
      buyingPower: r2(b.buyingPower),
      availableFunds: r2(b.availableFunds),
      excessLiquidity: r2(b.excessLiquidity),
      netLiquidationValue: r2(b.netLiquidation),
      equityWithLoanValue: r2(b.netLiquidation),
      regTLoan: 0.0,
      securitiesGVP: r2(b.grossPositionValue),
      totalCashValue: r2(b.cash),
      accruedInterest: 0.0,
      regTMargin: 0.0,
      initialMargin: r2(b.initMargin),
      maintenanceMargin: r2(b.maintMargin),
      cashBalances: [
        ...v.currencies.map((c) => ({ currency: c.currency, balance: r2(c.cash), settledCash: r2(c.cash) })),
        { currency: `Total (in ${base})`, balance: r2(b.cash), settledCash: r2(b.cash) },
      ],
    });
  });

  router.get('/iserver/contract/:conid/info-and-rules', (ctx) => {
    const conid = Number(ctx.params['conid']);
    const inst = Number.isInteger(conid) ? portfolio.instrument(conid) : undefined;
    if (!inst) return ibError(400, `Bad Request: invalid conid: ${ctx.params['conid']}`);
    return json({ ...contractInfo(inst), rules: rulesFor(state, inst, true) });
  });

  router.post('/iserver/contract/rules', (ctx) => {
    const b = (ctx.body ?? {}) as Record<string, unknown>;
    const conid = typeof b['conid'] === 'number' ? b['conid'] : Number.NaN;
    if (typeof b['conid'] === 'string') return ibError(400, 'java.lang.String cannot be cast to java.lang.Number');
    const inst = Number.isInteger(conid) ? portfolio.instrument(conid) : undefined;
    if (!inst) return ibError(400, `Bad Request: invalid conid: ${String(b['conid'] ?? '')}`);
    const isBuy = b['isBuy'] === undefined ? true : b['isBuy'] === true;
    return json(rulesFor(state, inst, isBuy));
  });

  router.get('/trsrv/secdef/schedule', (ctx) => {
    const assetClass = ctx.query.get('assetClass')?.toUpperCase();
    const symbol = ctx.query.get('symbol');
    if (!assetClass || !symbol) return ibError(400, 'Bad Request: assetClass and symbol are required');
    const exchange = ctx.query.get('exchange')?.toUpperCase();
    const insts = state.universe
      .bySymbolExact(symbol)
      .filter((i) => i.secType === assetClass && (!exchange || i.listingExchange === exchange));
    const now = state.clock.now();
    const seen = new Set<string>();
    const out: Record<string, unknown>[] = [];
    for (const inst of insts) {
      if (seen.has(inst.listingExchange)) continue;
      seen.add(inst.listingExchange);
      const { tz, rth, eth } = inst.hours;
      const schedules: Record<string, unknown>[] = [];
      for (let i = 0; i < 31; i++) {
        const d = localDay(now + i * 86_400_000, tz);
        if (d.weekday === 0 || d.weekday === 6) continue;
        schedules.push({
          clearingCycleEndTime: '1700',
          tradingScheduleDate: String(d.key),
          sessions: [{ openingTime: hhmm(rth[0]), closingTime: hhmm(rth[1]), prop: 'LIQUID' }],
          tradingtimes: [{ openingTime: hhmm(eth[0]), closingTime: hhmm(eth[1]), cancelDayOrders: 'Y' }],
        });
      }
      out.push({
        id: `p${inst.conid}`,
        tradeVenueId: `v${inst.conid % 100000}`,
        exchange: inst.listingExchange,
        description: inst.listingExchange,
        timezone: tz,
        schedules,
      });
    }
    return json(out);
  });

  router.get('/iserver/exchangerate', (ctx) => {
    const source = ctx.query.get('source') ?? '';
    const target = ctx.query.get('target') ?? '';
    if (!source || !target) return ibError(400, 'Bad Request: source and target are required');
    if (!KNOWN_CCY.has(source) || !KNOWN_CCY.has(target)) {
      return json({ error: `Bad Request: unknown currency pair ${source}.${target}` }, 400);
    }
    return json({ rate: Number(portfolio.fxRate(source, target).toPrecision(8)) });
  });

  router.get('/hmds/history', (ctx) => {
    const conid = Number(ctx.query.get('conid'));
    const inst = Number.isInteger(conid) && conid > 0 ? state.universe.get(conid) : undefined;
    if (!inst) return ibError(400, `Bad Request: invalid conid: ${ctx.query.get('conid') ?? ''}`);
    const periodRaw = ctx.query.get('period');
    if (!periodRaw) return ibError(400, 'Bad Request: period is required');
    const period = parsePeriod(periodRaw);
    const bar = parseBar(ctx.query.get('bar') ?? (period.seconds <= 86_400 ? '5min' : '1d'));
    checkStepSize(period, bar);
    const now = state.clock.now();
    const outsideRth = (ctx.query.get('outsideRth') ?? '').toLowerCase() === 'true';
    const raw = generateBars(state, inst, { period, bar, outsideRth, anchor: now, direction: -1, now });
    const digits = decimalsFor(inst.tickSize);
    const rd = (x: number) => Number(x.toFixed(digits));
    const data = raw.map((b) => ({ t: b.t, o: rd(b.o), c: rd(b.c), h: rd(b.h), l: rd(b.l), v: Math.round(b.vol) }));
    const first = raw[0];
    const last = raw[raw.length - 1];
    const ymd = (ms: number) => new Date(ms).toISOString().slice(0, 10).replace(/-/g, '');
    return json({
      bars: {
        open: first ? rd(first.o) : 0,
        startTime: first ? ymd(first.t) : ymd(now),
        startTimeVal: first?.t ?? now,
        endTime: last ? ymd(last.t) : ymd(now),
        endTimeVal: last?.t ?? now,
        points: data.length,
        data,
        mktDataDelay: 0,
      },
    });
  });

  router.get('/md/regsnapshot', (ctx) => {
    const conid = Number(ctx.query.get('conid'));
    const inst = Number.isInteger(conid) && conid > 0 ? portfolio.instrument(conid) : undefined;
    if (!inst) return ibError(400, `Bad Request: invalid conid: ${ctx.query.get('conid') ?? ''}`);
    // A regulatory snapshot (IB charges $0.01 each): every quote field at once, no pre-flight.
    const fields = ['31', '55', '70', '71', '82', '83', '84', '85', '86', '87', '88', '7059', '7295', '7296', '6509'];
    const f = quoteFields(state, inst, state.clock.now(), fields);
    const row: Record<string, unknown> = {
      conid: inst.conid,
      conidEx: String(inst.conid),
      _updated: state.clock.now(),
    };
    for (const k of fields) if (f[k] !== undefined) row[k] = f[k];
    return json(row);
  });

  // ------------------------------------------------------------ alerts

  router.get('/iserver/account/:accountId/alerts', (ctx) => {
    const id = ctx.params['accountId'] ?? '';
    account(state, id);
    const rows = [...alerts(state).byId.values()]
      .filter((a) => a.acct === id)
      .map((a) => {
        refreshTriggered(state, a);
        return {
          order_id: a.id,
          account: a.acct,
          alert_name: a.name,
          alert_active: a.active,
          order_time: stamp(a.created),
          alert_triggered: a.triggered,
          alert_repeatable: a.repeatable,
        };
      });
    return json(rows);
  });

  router.post('/iserver/account/:accountId/alert', (ctx) => {
    const id = ctx.params['accountId'] ?? '';
    account(state, id);
    const b = ctx.body as Record<string, unknown> | undefined;
    if (!b || typeof b !== 'object' || Object.keys(b).length === 0) {
      return ibError(400, "Bad Request: body can't be empty");
    }
    for (const k of ['alertName', 'alertMessage', 'alertRepeatable', 'conditions', 'outsideRth', 'tif']) {
      if (b[k] === undefined) return json({ error: `${k} is required` }, 500);
    }
    const conds = Array.isArray(b['conditions']) ? (b['conditions'] as Record<string, unknown>[]) : [];
    if (conds.length === 0) return json({ error: 'At least one condition is required' }, 500);
    const conditions: SimAlert['conditions'] = [];
    for (const [i, c] of conds.entries()) {
      const op = String(c['operator'] ?? '');
      if (op !== '>=' && op !== '<=') return json({ error: `Condition #${i + 1}:can't recognize fix [${op}]` }, 500);
      // Types 1 price, 3 time, 4 margin, 5 trade, 6 volume; 7-9 only for the MTA (iTWSOrdersOnly=1).
      const type = Number(c['type'] ?? 1);
      const mtaOnly = type >= 7 && type <= 9 && int01(b['iTWSOrdersOnly']) !== 1;
      if (![1, 3, 4, 5, 6, 7, 8, 9].includes(type) || mtaOnly) {
        return json({ error: `Condition #${i + 1}:invalid condition type [${String(c['type'])}]` }, 500);
      }
      if (String(c['value'] ?? '') === '') return json({ error: `Condition #${i + 1}:value can't be empty` }, 500);
      conditions.push({
        type,
        conidex: String(c['conidex'] ?? ''),
        operator: op,
        triggerMethod: String(c['triggerMethod'] ?? '0'),
        value: String(c['value'] ?? ''),
        logicBind: String(c['logicBind'] ?? 'n'),
      });
    }
    const store = alerts(state);
    const modId = b['orderId'] !== undefined ? Number(b['orderId']) : undefined;
    const existing = modId !== undefined ? store.byId.get(modId) : undefined;
    if (modId !== undefined && (!existing || existing.acct !== id)) {
      return json({ error: `Alert ${b['orderId']} doesn't exist` }, 500);
    }
    if (existing && existing.name !== String(b['alertName']))
      return json({ error: 'Alert name cannot be modified' }, 500);
    const tif = String(b['tif']).toUpperCase();
    if (!['GTC', 'GTD', 'DAY'].includes(tif)) return json({ error: `Invalid time in force: ${tif}` }, 500);
    const alert: SimAlert = {
      id: existing?.id ?? store.next++,
      acct: id,
      name: String(b['alertName']),
      message: String(b['alertMessage']),
      repeatable: int01(b['alertRepeatable']) ?? 0,
      email: typeof b['email'] === 'string' ? b['email'] : '',
      outsideRth: int01(b['outsideRth']) ?? 0,
      sendMessage: int01(b['sendMessage']) ?? 0,
      showPopup: int01(b['showPopup']) ?? 0,
      tif,
      expireTime: tif === 'GTD' && typeof b['expireTime'] === 'string' ? b['expireTime'] : null,
      active: existing?.active ?? 1,
      triggered: false,
      created: existing?.created ?? state.clock.now(),
      conditions,
    };
    store.byId.set(alert.id, alert);
    return json({
      request_id: null,
      order_id: alert.id,
      success: true,
      text: 'Submitted',
      order_status: null,
      warning_message: null,
    });
  });

  router.post('/iserver/account/:accountId/alert/activate', (ctx) => {
    const id = ctx.params['accountId'] ?? '';
    account(state, id);
    const b = (ctx.body ?? {}) as Record<string, unknown>;
    const alertId = Number(b['alertId']);
    const active = int01(b['alertActive']);
    if (!Number.isInteger(alertId) || active === undefined) {
      return ibError(400, 'Bad Request: alertId and alertActive are required');
    }
    const a = alerts(state).byId.get(alertId);
    if (!a || a.acct !== id) return json({ error: `Alert ${alertId} doesn't exist` }, 500);
    a.active = active;
    return json(submitted(a.id));
  });

  router.delete('/iserver/account/:accountId/alert/:alertId', (ctx) => {
    const id = ctx.params['accountId'] ?? '';
    account(state, id);
    const alertId = Number(ctx.params['alertId']);
    if (!Number.isInteger(alertId)) return ibError(400, `Bad Request: invalid alertId: ${ctx.params['alertId']}`);
    const store = alerts(state);
    if (alertId === 0) {
      // IB: alertId 0 deletes every alert of the account.
      for (const a of [...store.byId.values()]) if (a.acct === id) store.byId.delete(a.id);
      return json(submitted(0));
    }
    const a = store.byId.get(alertId);
    if (!a || a.acct !== id) return json({ error: `Alert ${alertId} doesn't exist` }, 500);
    store.byId.delete(alertId);
    return json(submitted(alertId));
  });

  router.get('/iserver/account/alert/:alertId', (ctx) => {
    const type = ctx.query.get('type');
    const alertId = Number(ctx.params['alertId']);
    if (!type || ctx.params['alertId'] === '') return ibError(400, 'Bad Request: orderId and type are required');
    if (!Number.isInteger(alertId)) return ibError(500, `orderId is not parsable: ${ctx.params['alertId']}`);
    const a = alerts(state).byId.get(alertId);
    if (!a) return ibError(503, `Alert ${alertId} is not found`);
    refreshTriggered(state, a);
    return json(alertDetail(a));
  });

  router.get('/iserver/account/mta', () => {
    // [V3] mta-details example: the account's one Mobile Trading Assistant alert.
    return json({
      account: state.session.selectedAccount,
      order_id: 167_426_254,
      alert_name: 'MTA (AutoAlert)',
      tif: 'GTC',
      expire_time: null,
      alert_active: 1,
      alert_repeatable: 1,
      alert_email: null,
      alert_send_message: 1,
      alert_message: null,
      alert_show_popup: 0,
      alert_play_audio: null,
      order_status: 'Submitted',
      alert_triggered: false,
      fg_color: '#FFFFFF',
      bg_color: '#0000CC',
      order_not_editable: false,
      itws_orders_only: 0,
      alert_mta_currency: state.accounts.find((a) => a.id === state.session.selectedAccount)?.currency ?? 'USD',
      alert_mta_defaults:
        '9:STATE=1,MIN=-260000,MAX=260000,STEP=500,DEF_MIN=-26000,DEF_MAX=26000|8:STATE=0,MIN=-15,MAX=15,STEP=0.5,DEF_MIN=-2,DEF_MAX=2|7:STATE=1,MIN=-5,MAX=5,STEP=0.5,DEF_MIN=-2,DEF_MAX=2|4:STATE=1,MIN=1,MAX=50,STEP=1,DEF_VAL=10|5:STATE=0',
      tool_id: 55_834_574_848,
      time_zone: 'America/New_York',
      alert_default_type: null,
      condition_size: 1,
      condition_outside_rth: 0,
      conditions: [
        {
          condition_type: 5,
          conidex: '*@*',
          contract_description_1: 'Unknown',
          condition_operator: null,
          condition_trigger_method: null,
          condition_value: '*',
          condition_logic_bind: 'n',
          condition_time_zone: null,
        },
      ],
    });
  });
}
