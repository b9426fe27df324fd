/**
 * IB's alert endpoints (ibkr-web-api-openapi-v3, tag "Trading Alerts"; cpapi-swagger-v1 for the
 * condition fields):
 *
 *   GET    /iserver/account/{acct}/alerts           [{order_id, account, alert_name, alert_active,
 *                                                     order_time "YYYYMMDD-HH:mm:ss", alert_triggered,
 *                                                     alert_repeatable}] ([] when none)
 *   GET    /iserver/account/alert/{id}?type=Q       one alert with conditions[] (condition_type, …)
 *   GET    /iserver/account/mta                     the login's MTA alert, same shape
 *   POST   /iserver/account/{acct}/alert            create (no orderId) → {order_id, success, text}
 *   POST   /iserver/account/{acct}/alert/activate   {alertId, alertActive: 0|1}
 *   DELETE /iserver/account/{acct}/alert/{id}       id 0 deletes EVERY alert of the account
 *
 * Condition encoding (swagger v1): type 1 price, 3 time, 4 margin, 5 trade, 6 volume, 7-9 MTA
 * only (market, position, daily P&L; only with iTWSOrdersOnly=1); conidex "conid@exchange";
 * operator ">=" or "<="; value a non-empty string ("*" as a wildcard); logicBind "a" (and) or
 * "o" (or) on every condition but the last, which is "n". IB answers a bad condition with 500
 * {"error":"Condition #1:can't recognize fix [abc]"}, so the body is checked here before it is
 * sent. IB's Web API has no percent-change alert condition and no order attached to an alert.
 *
 * Not confirmed by IB's specs (no example): time and margin conditions name no instrument; they
 * are sent with conidex "*@*", as IB's MTA example does for its instrument-less condition, and a
 * time condition's value as "YYYYMMDD-HH:mm:ss" in UTC with timeZone "UTC".
 */
import type { CallOptions } from '../../broker/backend.js';
import { BrokerError, isBrokerError } from '../../broker/errors.js';
import type {
  AlertCondition,
  AlertConditionInfo,
  AlertDetail,
  AlertRequest,
  AlertSummary,
} from '../../broker/research.js';
import type { CpapiHttp } from './http.js';
import { isObject, noErrorBody, type Row, str, toConid } from './wire.js';

// ---------------------------------------------------------------- encoding (pure)

const TYPE_OF: Record<AlertCondition['kind'], number> = { price: 1, time: 3, margin: 4, volume: 6 };
const KIND_OF: Record<number, AlertConditionInfo['kind']> = {
  1: 'price',
  3: 'time',
  4: 'margin',
  5: 'trade',
  6: 'volume',
  7: 'mta',
  8: 'mta',
  9: 'mta',
};

/** The most conditions one alert carries here (IB states no limit; TWS shows a handful). */
export const MAX_ALERT_CONDITIONS = 10;
const NAME_MAX = 100;

export interface WireAlertCondition {
  type: number;
  conidex: string;
  operator: string;
  triggerMethod: string;
  value: string;
  logicBind: string;
  timeZone?: string;
}

export interface WireAlert {
  alertName: string;
  alertMessage: string;
  alertRepeatable: 0 | 1;
  outsideRth: 0 | 1;
  sendMessage: 0 | 1;
  showPopup: 0 | 1;
  iTWSOrdersOnly: 0;
  tif: 'GTC' | 'GTD';
  expireTime?: string;
  conditions: WireAlertCondition[];
}

function invalid(message: string, hint?: string): BrokerError {
  return new BrokerError('INVALID_INPUT', message, hint ? { hint } : {});
}

/** IB's "YYYYMMDD-HH:mm:ss", in UTC. */
export function ibTime(d: Date): string {
  const t = d.toISOString();
  return `${t.slice(0, 4)}${t.slice(5, 7)}${t.slice(8, 10)}-${t.slice(11, 19)}`;
}

/** A plain decimal (never "1e-7"), as IB reads condition values. */
function decimal(v: number): string {
  const s = String(v);
  return /e/i.test(s) ? v.toFixed(10).replace(/\.?0+$/, '') : s;
}

function conditionValue(c: AlertCondition, i: number): string {
  const at = `condition ${i + 1} (${c.kind})`;
  switch (c.kind) {
    case 'price':
      if (!(Number.isFinite(c.value) && c.value > 0)) throw invalid(`${at}: the price must be above 0.`);
      return decimal(c.value);
    case 'volume':
      if (!(Number.isInteger(c.value) && c.value > 0))
        throw invalid(`${at}: the volume must be a whole number above 0.`);
      return String(c.value);
    case 'margin':
      if (!(Number.isFinite(c.value) && c.value > 0 && c.value <= 100)) {
        throw invalid(`${at}: the margin cushion is a percentage above 0 and at most 100.`);
      }
      return decimal(c.value);
    case 'time':
      if (!Number.isFinite(c.at.getTime())) throw invalid(`${at}: not a valid time.`);
      return ibTime(c.at);
  }
}

/**
 * The request as IB's POST /iserver/account/{acct}/alert body, refusing what IB would reject
 * (and what the domain allows but IB cannot do).
 */
export function toWireAlert(req: AlertRequest, now = Date.now()): WireAlert {
  const name = req.name.trim();
  if (!name || name.length > NAME_MAX) throw invalid(`The alert name must have 1 to ${NAME_MAX} characters.`);
  const n = req.conditions.length;
  if (n === 0 || n > MAX_ALERT_CONDITIONS) throw invalid(`An alert has 1 to ${MAX_ALERT_CONDITIONS} conditions.`);
  const bind = req.logic === 'or' ? 'o' : 'a';
  const conditions = req.conditions.map((c, i): WireAlertCondition => {
    const value = conditionValue(c, i);
    const onInstrument = c.kind === 'price' || c.kind === 'volume';
    const exchange = onInstrument ? (c.exchange ?? 'SMART').toUpperCase() : '';
    return {
      type: TYPE_OF[c.kind],
      conidex: onInstrument ? `${c.conid}@${exchange}` : '*@*',
      operator: c.operator,
      triggerMethod: '0',
      value,
      logicBind: i === n - 1 ? 'n' : bind,
      ...(c.kind === 'time' ? { timeZone: 'UTC' } : {}),
    };
  });
  let expireTime: string | undefined;
  if (req.expires) {
    if (!(req.expires.getTime() > now)) throw invalid('The expiry must be in the future.');
    expireTime = ibTime(req.expires);
  }
  const wire: WireAlert = {
    alertName: name,
    alertMessage: (req.message ?? name).trim() || name,
    alertRepeatable: req.repeatable ? 1 : 0,
    outsideRth: req.outsideRth ? 1 : 0,
    sendMessage: 0,
    showPopup: 0,
    iTWSOrdersOnly: 0,
    tif: expireTime ? 'GTD' : 'GTC',
    ...(expireTime ? { expireTime } : {}),
    conditions,
  };
  checkWireAlert(wire);
  return wire;
}

const CONIDEX = /^(?:[1-9]\d{0,9}@[A-Z0-9.]{1,20}|\*@\*)$/;
const IB_TIME = /^\d{8}-\d{2}:\d{2}:\d{2}$/;

/** IB's condition encoding, checked on the finished body: the last guard before the wire. */
export function checkWireAlert(w: WireAlert): void {
  const fail = (i: number, what: string) => {
    throw invalid(`Alert condition ${i + 1} is not one IB accepts: ${what}.`);
  };
  if (w.tif === 'GTD' && !IB_TIME.test(w.expireTime ?? '')) throw invalid('A GTD alert needs an expiry time.');
  w.conditions.forEach((c, i) => {
    if (![1, 3, 4, 6].includes(c.type)) fail(i, `type ${c.type}`);
    if (!CONIDEX.test(c.conidex)) fail(i, `conidex ${c.conidex}`);
    if ((c.type === 1 || c.type === 6) && c.conidex === '*@*') fail(i, 'it names no instrument');
    if (c.operator !== '>=' && c.operator !== '<=') fail(i, `operator ${c.operator}`);
    if (c.value === '') fail(i, 'empty value');
    if (c.type === 3 ? !IB_TIME.test(c.value) : !/^\d+(?:\.\d+)?$/.test(c.value)) fail(i, `value ${c.value}`);
    const last = i === w.conditions.length - 1;
    if (last ? c.logicBind !== 'n' : c.logicBind !== 'a' && c.logicBind !== 'o') fail(i, `logicBind ${c.logicBind}`);
  });
}

// ---------------------------------------------------------------- parsing (pure)

const flag = (v: unknown) => v === true || v === 1 || v === '1' || v === 'true';

/** "20240308-17:08:38" → "2024-03-08T17:08:38Z". */
function isoOf(v: unknown): string | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})-(\d{2}):(\d{2}):(\d{2})$/.exec(str(v) ?? '');
  return m ? `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}Z` : undefined;
}

function summaryOf(r: Row, accountId?: string): AlertSummary | undefined {
  const id = toConid(r['order_id']);
  if (id === undefined) return undefined;
  const created = isoOf(r['order_time']);
  return {
    id,
    accountId: str(r['account']) ?? accountId ?? '',
    name: str(r['alert_name']) ?? str(r['alertName']) ?? '',
    active: flag(r['alert_active']),
    triggered: flag(r['alert_triggered']),
    repeatable: flag(r['alert_repeatable']),
    ...(created ? { created } : {}),
  };
}

/** GET /iserver/account/{acct}/alerts: an array ([V3] "found-alerts" shows one bare object: accepted too). */
export function parseAlertList(data: unknown, accountId: string): AlertSummary[] {
  noErrorBody(data, 'list the alerts');
  const rows = Array.isArray(data) ? data : isObject(data) && data['order_id'] !== undefined ? [data] : [];
  return rows.flatMap((r) => {
    const s = isObject(r) ? summaryOf(r, accountId) : undefined;
    return s ? [s] : [];
  });
}

function conditionOf(c: Row): AlertConditionInfo {
  const type = Number(c['condition_type']);
  const [conidPart, exchange] = (str(c['conidex']) ?? '').split('@');
  const conid = toConid(conidPart);
  const out: AlertConditionInfo = { kind: KIND_OF[type] ?? 'other' };
  if (conid !== undefined) out.conid = conid;
  if (conid !== undefined && exchange && exchange !== '*') out.exchange = exchange;
  const op = str(c['condition_operator']);
  if (op) out.operator = op;
  const value = str(c['condition_value']);
  if (value) out.value = value;
  const desc = str(c['contract_description_1']);
  if (desc) out.description = desc;
  return out;
}

/** GET /iserver/account/alert/{id}?type=Q and GET /iserver/account/mta. */
export function parseAlertDetail(data: unknown, accountId?: string): AlertDetail {
  const r = isObject(data) ? data : {};
  const s = summaryOf(r, accountId);
  if (!s) throw new BrokerError('GATEWAY_ERROR', 'IB answered the alert request without an alert id.');
  const conds = Array.isArray(r['conditions']) ? r['conditions'].filter(isObject) : [];
  const binds = conds.map((c) => str(c['condition_logic_bind']));
  const out: AlertDetail = { ...s, conditions: conds.map(conditionOf) };
  const tif = str(r['tif']);
  if (tif) out.tif = tif;
  const exp = isoOf(r['expire_time']) ?? str(r['expire_time']);
  if (exp) out.expires = exp;
  const msg = str(r['alert_message']);
  if (msg) out.message = msg;
  if (r['condition_outside_rth'] !== undefined) out.outsideRth = flag(r['condition_outside_rth']);
  if (binds.length > 1) out.logic = binds.slice(0, -1).every((b) => b === 'o') ? 'or' : 'and';
  if (r['tool_id'] !== null && r['tool_id'] !== undefined) out.mta = true;
  return out;
}

/** IB's answer to create/activate/delete ({success: true, …}), or its error as a BrokerError. */
export function parseAlertSubmitted(data: unknown, what: string): Row {
  const r = isObject(data) ? data : {};
  if (r['success'] === false || typeof r['error'] === 'string') {
    const why = str(r['error']) ?? str(r['text']) ?? str(r['failure_list']) ?? 'no reason given';
    throw new BrokerError('GATEWAY_ERROR', `IB did not ${what}.`, { details: { error: why } });
  }
  return r;
}

/** POST /iserver/account/{acct}/alert: the new alert's id. */
export function parseAlertCreated(data: unknown): { id: number } {
  const r = parseAlertSubmitted(data, 'create the alert');
  const id = toConid(r['order_id']);
  if (id === undefined) throw new BrokerError('GATEWAY_ERROR', 'IB accepted the alert but named no alert id.');
  return { id };
}

/** IB answers an unknown alert id with 500 "… doesn't exist" / "failed to …": NOT_FOUND. */
function notFound(err: unknown, alertId: number): unknown {
  if (!isBrokerError(err)) return err;
  const text = String(err.details?.['error'] ?? '');
  if (
    err.code === 'GATEWAY_ERROR' &&
    /doesn't exist|does not exist|not found|failed to (?:delete|activate)/i.test(text)
  ) {
    return unknownAlert(alertId);
  }
  return err;
}

function unknownAlert(alertId: number): BrokerError {
  return new BrokerError('NOT_FOUND', `No alert ${alertId} in this account.`, {
    hint: 'List the alerts with get_alerts and pass one of their ids.',
    details: { alertId },
  });
}

// ---------------------------------------------------------------- the section

export class CpapiAlerts {
  constructor(
    private readonly http: CpapiHttp,
    private readonly ensureAccounts: (signal?: AbortSignal) => Promise<unknown>,
  ) {}

  async alerts(accountId: string, opts: CallOptions = {}): Promise<AlertSummary[]> {
    await this.ensureAccounts(opts.signal);
    const res = await this.http.get<unknown>(`/iserver/account/${encodeURIComponent(accountId)}/alerts`, {
      signal: opts.signal,
    });
    return parseAlertList(res.data, accountId);
  }

  async alert(accountId: string, alertId: number, opts: CallOptions = {}): Promise<AlertDetail> {
    // IB's detail read takes no account and answers an unknown id with 503 (retried as a
    // hiccup): the account's list says first whether the alert exists.
    const list = await this.alerts(accountId, opts);
    if (!list.some((a) => a.id === alertId)) throw unknownAlert(alertId);
    const res = await this.http.get<unknown>(`/iserver/account/alert/${alertId}`, {
      query: { type: 'Q' },
      signal: opts.signal,
    });
    return parseAlertDetail(res.data, accountId);
  }

  async mtaAlert(opts: CallOptions = {}): Promise<AlertDetail> {
    await this.ensureAccounts(opts.signal);
    const res = await this.http.get<unknown>('/iserver/account/mta', { signal: opts.signal });
    return { ...parseAlertDetail(res.data), mta: true };
  }

  async createAlert(req: AlertRequest, opts: CallOptions = {}): Promise<{ id: number }> {
    const body = toWireAlert(req);
    const { accountId } = req;
    await this.ensureAccounts(opts.signal);
    try {
      const res = await this.http.post<unknown>(`/iserver/account/${encodeURIComponent(accountId)}/alert`, {
        body,
        signal: opts.signal,
      });
      return parseAlertCreated(res.data);
    } catch (err) {
      if (isBrokerError(err) && (err.code === 'GATEWAY_TIMEOUT' || err.code === 'GATEWAY_UNREACHABLE')) {
        throw new BrokerError(err.code, `${err.message} The alert may have been created.`, {
          hint: 'Check get_alerts before creating it again.',
          details: err.details,
        });
      }
      throw err;
    }
  }

  async setAlertActive(accountId: string, alertId: number, active: boolean, opts: CallOptions = {}): Promise<void> {
    await this.ensureAccounts(opts.signal);
    try {
      const res = await this.http.post<unknown>(`/iserver/account/${encodeURIComponent(accountId)}/alert/activate`, {
        body: { alertId, alertActive: active ? 1 : 0 },
        signal: opts.signal,
      });
      parseAlertSubmitted(res.data, active ? 'activate the alert' : 'deactivate the alert');
    } catch (err) {
      throw notFound(err, alertId);
    }
  }

  async deleteAlert(accountId: string, alertId: number, opts: CallOptions = {}): Promise<void> {
    // IB deletes every alert of the account for id 0: never sent from here.
    if (!(Number.isInteger(alertId) && alertId > 0)) throw invalid('The alert id must be a whole number above 0.');
    await this.ensureAccounts(opts.signal);
    try {
      const path = `/iserver/account/${encodeURIComponent(accountId)}/alert/${alertId}`;
      const res = await this.http.request<unknown>('DELETE', path, { signal: opts.signal });
      parseAlertSubmitted(res.data, 'delete the alert');
    } catch (err) {
      throw notFound(err, alertId);
    }
  }
}
