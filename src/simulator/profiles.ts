/**
 * IB response profiles and the parameter rules of the strict profile.
 *
 *   strict (default)  IB's current spec (ibkr-web-api-openapi-v3.json, "[V3]") with its rules
 *                     enforced: query parameters spelt exactly as IB spells them per endpoint (a
 *                     known name in another case is a 400), query booleans read as IB's Java
 *                     gateway reads them (Boolean.parseBoolean: "true" in any case is true,
 *                     anything else, "1" included, is false), body booleans must be JSON booleans
 *                     (a string is IB's 400 "java.lang.String cannot be cast to java.lang.Boolean").
 *                     Shapes: order status as [V3]'s orderStatusExample (cum_fill, average_price,
 *                     side "B"/"S", order_type "MARKET"); history volumeFactor 100 ([V3] example).
 *   2023              the older gateway ([DOCJSON], cpapi-swagger-v1.json, and IB's 2023 examples):
 *                     logout answers {"confirmed":true} ([DOCJSON] /logout), unsubscribeall answers
 *                     {"confirmed":true} ([DOCJSON]); order status as strict (the [V3] example is an
 *                     order of 2023-12-11); history volumeFactor 100 ([CAMPUS]: "volume factor will
 *                     always be 100"). Parameters are read leniently (any case, 1/yes as true).
 *   2026              newer answers: order status with filled_quantity, remaining_quantity,
 *                     avg_fill_price, side "BUY"/"SELL", order_type "Market" (the Client Portal v1
 *                     'Order' model and reported answers, test/fixtures/ib/orders.ts
 *                     ORDER_STATUS_SNAKE); history volumeFactor 1 with volume in shares (the
 *                     [CAMPUS] history example shows volumeFactor 1). Parameters read leniently.
 *
 * Sources are named as in /work/shared/ib/cpapi-protocol.md §0.
 */
import type { Reply } from './server.js';
import type { IbProfile, SimState } from './state.js';

export function profileOf(state: SimState): IbProfile {
  return state.flags.profile;
}

export const isStrict = (state: SimState): boolean => state.flags.profile === 'strict';

/**
 * A query boolean as IB reads it. Strict: Java's Boolean.parseBoolean ("true" in any case, else
 * false; never an error). Lenient profiles also take 1/yes.
 */
export function queryBool(state: SimState, raw: string | null | undefined, def = false): boolean {
  if (raw === null || raw === undefined || raw === '') return def;
  if (isStrict(state)) return raw.toLowerCase() === 'true';
  return /^(true|1|yes)$/i.test(raw);
}

/** A body boolean: strict wants a JSON boolean; lenient profiles also take "true"/"false"/1/0. */
export function bodyBool(state: SimState, field: string, v: unknown, def = false): boolean {
  if (v === undefined || v === null) return def;
  if (typeof v === 'boolean') return v;
  if (isStrict(state)) {
    const javaType = typeof v === 'string' ? 'java.lang.String' : 'java.lang.Integer';
    throw new ParamError(`${javaType} cannot be cast to java.lang.Boolean (${field})`);
  }
  return v === 1 || (typeof v === 'string' && /^(true|1|yes)$/i.test(v));
}

export class ParamError extends Error {}

/** The secdef search's fields, the same whether sent as a query (GET) or a JSON body (POST). */
const SECDEF_SEARCH_FIELDS: readonly string[] = [
  'symbol',
  'secType',
  'name',
  'more',
  'fund',
  'fundFamilyConidEx',
  'pattern',
  'referrer',
];

/**
 * Query parameters of each endpoint exactly as IB names them ([V3] parameters; [DOCJSON] where
 * [V3] lacks the endpoint). Only endpoints listed here are checked.
 */
export const QUERY_PARAMS: Record<string, readonly string[]> = {
  'GET /iserver/secdef/search': SECDEF_SEARCH_FIELDS,
  'GET /iserver/secdef/strikes': ['conid', 'sectype', 'month', 'exchange'],
  'GET /iserver/secdef/info': ['conid', 'sectype', 'month', 'exchange', 'strike', 'right', 'issuerId', 'filters'],
  'GET /iserver/marketdata/history': [
    'conid',
    'exchange',
    'period',
    'bar',
    'startTime',
    'outsideRth',
    'source',
    'direction',
  ],
  'GET /iserver/marketdata/snapshot': ['conids', 'fields', 'since'],
  'GET /iserver/account/orders': ['filters', 'force', 'accountId'],
  'GET /iserver/account/trades': ['days'],
  'GET /trsrv/stocks': ['symbols'],
  'GET /trsrv/futures': ['symbols', 'exchange'],
  'GET /trsrv/secdef': ['conids'],
  'GET /trsrv/secdef/schedule': ['assetClass', 'symbol', 'exchange', 'exchangeFilter'],
  'GET /iserver/exchangerate': ['target', 'source'],
  'GET /md/regsnapshot': ['conid'],
  'GET /hmds/history': ['conid', 'period', 'bar', 'outsideRth'],
  'GET /portfolio/:accountId/positions/:pageId': ['model', 'sort', 'direction', 'waitForSecDef', 'period'],
  'GET /portfolio2/:accountId/positions': ['model', 'sort', 'direction'],
  'GET /iserver/account/alert/:alertId': ['type'],
  'GET /iserver/watchlists': ['SC'],
  'GET /iserver/watchlist': ['id'],
  'DELETE /iserver/watchlist': ['id'],
};

/** Body fields of JSON-bodied endpoints whose case IB checks (a known field in another case is an error). */
export const BODY_FIELDS: Record<string, readonly string[]> = {
  'POST /iserver/secdef/search': SECDEF_SEARCH_FIELDS,
  'POST /iserver/account': ['acctId'],
  'POST /iserver/contract/rules': ['conid', 'isBuy', 'modifyOrder', 'orderId', 'exchange'],
};

function caseError(kind: string, got: string, want: string): Reply {
  return {
    status: 400,
    body: { error: `Bad Request: unknown ${kind} '${got}' (IB spells it '${want}')`, statusCode: 400 },
  };
}

/**
 * Strict profile only: a query parameter or body field that IB knows under another case is
 * refused with 400. Unknown names IB simply ignores, and so does the simulator.
 */
export function checkParamNames(
  state: SimState,
  key: string,
  query: URLSearchParams,
  body: unknown,
): Reply | undefined {
  if (!isStrict(state)) return undefined;
  const names = QUERY_PARAMS[key];
  if (names) {
    for (const k of query.keys()) {
      if (names.includes(k)) continue;
      const want = names.find((n) => n.toLowerCase() === k.toLowerCase());
      if (want) return caseError('parameter', k, want);
    }
  }
  const fields = BODY_FIELDS[key];
  if (fields && body && typeof body === 'object' && !Array.isArray(body)) {
    for (const k of Object.keys(body)) {
      if (fields.includes(k)) continue;
      const want = fields.find((n) => n.toLowerCase() === k.toLowerCase());
      if (want) return caseError('field', k, want);
    }
  }
  return undefined;
}
