/**
 * IB's order wire format (docs/ib/orders.md, §7), as pure functions: the order object this
 * client sends (toWireOrder, with its cOID) and the parsers of IB's answers (place and reply
 * chain, what-if, live orders, order status, trades, cancel). CpapiOrders (orders.ts) calls
 * the endpoints with them.
 */
import { BrokerError } from '../../broker/errors.js';
import {
  bracketChildren,
  type CancelResult,
  type LiveOrder,
  type OrderPreview,
  type OrderQuestion,
  type OrderRequest,
  type OrderState,
  ocaMembers,
  type PlaceOutcome,
  type Trade,
  type UnlistedOrder,
} from '../../broker/orders.js';
import { SEC_TYPES, type SecType } from '../../broker/types.js';
import { untrusted } from '../../broker/untrusted.js';
import { comboConidex } from './combo-wire.js';
import { isObject, type Row, str } from './wire.js';

/** IB's numbers: 185.5, "185.50", "1,977.60 USD (10 Shares)", "-1" → number. */
export function ibNum(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v !== 'string') return undefined;
  const m = /-?\d[\d,]*(?:\.\d+)?|-?\.\d+/.exec(v.replace(/\s+/g, ' '));
  if (!m) return undefined;
  const n = Number(m[0].replace(/,/g, ''));
  return Number.isFinite(n) ? n : undefined;
}

function secTypeOf(v: unknown): SecType | undefined {
  const s = str(v)?.toUpperCase();
  return s && (SEC_TYPES as readonly string[]).includes(s) ? (s as SecType) : undefined;
}

function sideOf(v: unknown): 'BUY' | 'SELL' | undefined {
  const s = str(v)?.toUpperCase();
  if (s === 'BUY' || s === 'B' || s === 'BOT') return 'BUY';
  if (s === 'SELL' || s === 'S' || s === 'SLD') return 'SELL';
  return undefined;
}

/**
 * IB's order status text → the domain's state. IB: Filled; Cancelled, PendingCancel,
 * PreCancelled, ApiCancelled; Inactive and Rejected (never worked); everything else (PendingSubmit,
 * PreSubmitted, Submitted, WarnState, ...) is still working.
 */
export function orderStateOf(status: string): OrderState {
  const s = status.replace(/[\s_]+/g, '').toLowerCase();
  if (s === 'filled') return 'filled';
  if (s === 'cancelled' || s === 'pendingcancel' || s === 'precancelled' || s === 'apicancelled') return 'cancelled';
  if (s === 'inactive' || s === 'rejected') return 'rejected';
  return 'working';
}

/** IB's order-type spellings in live orders / status → our names (unknown ones pass through). */
export function orderTypeOf(v: unknown): string {
  const s = (str(v) ?? '').toUpperCase().replace(/[\s-]+/g, '_');
  const map: Record<string, string> = {
    MKT: 'MKT',
    MARKET: 'MKT',
    LMT: 'LMT',
    LIMIT: 'LMT',
    STP: 'STP',
    STOP: 'STP',
    STOP_LIMIT: 'STOP_LIMIT',
    STP_LMT: 'STOP_LIMIT',
    STOPLIMIT: 'STOP_LIMIT',
    TRAIL: 'TRAIL',
    TRAILING_STOP: 'TRAIL',
    TRAILSTOP: 'TRAIL',
  };
  return map[s] ?? (s || 'UNKNOWN');
}

// ---------------------------------------------------------------- request bodies

/** One order in IB's shape (the element of `orders[]`, or the whole body of a modify). */
export function toWireOrder(o: OrderRequest, opts: { withClientId?: boolean } = {}): Row {
  if (o.combo) return toWireCombo(o, opts);
  const w: Row = {
    acctId: o.accountId,
    conid: o.conid,
    secType: `${o.conid}:${o.secType}`,
    orderType: o.orderType,
    side: o.side,
    quantity: o.quantity,
    tif: o.tif,
    outsideRTH: o.outsideRth,
    ticker: o.symbol,
  };
  if (opts.withClientId !== false) w['cOID'] = o.clientOrderId;
  if (o.cashQty !== undefined) {
    // IB: a cash quantity order gives cashQty instead of quantity.
    delete w['quantity'];
    w['cashQty'] = o.cashQty;
  }
  switch (o.orderType) {
    case 'LMT':
      w['price'] = o.limitPrice;
      break;
    case 'STP':
      // IB: price is the stop price for STP.
      w['price'] = o.stopPrice;
      break;
    case 'STOP_LIMIT':
      w['price'] = o.limitPrice;
      w['auxPrice'] = o.stopPrice;
      break;
    case 'TRAIL':
      // IB: price is the initial stop price of a trailing stop.
      w['price'] = o.stopPrice;
      w['trailingAmt'] = o.trailingAmount;
      w['trailingType'] = o.trailingType ?? 'amt';
      break;
    case 'MKT':
      break;
  }
  return w;
}

/** A combo: conidex instead of conid, no secType or ticker (IBKR Campus's combo example), net price. */
function toWireCombo(o: OrderRequest, opts: { withClientId?: boolean }): Row {
  const w: Row = {
    acctId: o.accountId,
    conidex: comboConidex(o.combo!.currency, o.combo!.legs),
    orderType: o.orderType,
    side: o.side,
    quantity: o.quantity,
    tif: o.tif,
    outsideRTH: o.outsideRth,
  };
  if (opts.withClientId !== false) w['cOID'] = o.clientOrderId;
  if (o.orderType === 'LMT') w['price'] = o.limitPrice;
  return w;
}

/**
 * The `orders` array of a place or what-if request: the order, then its bracket children, which
 * carry no cOID of their own but `parentId` = the parent's cOID (docs/ib/orders.md, §7.1).
 */
export function toWireOrders(o: OrderRequest, opts: { withClientId?: boolean } = {}): Row[] {
  if (o.ocaSiblings?.length) {
    // One-cancels-all (docs/ib/orders.md, §7.1): every order of the request carries
    // isSingleGroup true ([V3] singleOrderSubmissionRequest: "all orders in the containing array
    // are to be treated as an OCA group") and its own cOID (none in a what-if).
    return ocaMembers(o).map((m) => ({ ...toWireOrder(m, opts), isSingleGroup: true }));
  }
  const children = bracketChildren(o);
  // A group needs the parent's cOID to link its children, also in a what-if.
  const parent = toWireOrder(o, { withClientId: opts.withClientId !== false || children.length > 0 });
  return [parent, ...children.map((c) => ({ ...toWireOrder(c, { withClientId: false }), parentId: o.clientOrderId }))];
}

// ---------------------------------------------------------------- answers

export function errorOf(data: unknown): string | undefined {
  if (isObject(data) && data['error'] !== undefined && data['error'] !== null) {
    return typeof data['error'] === 'string' ? data['error'] : JSON.stringify(data['error']);
  }
  return undefined;
}

/** The answer to place / modify / reply: placed, a question, or a rejection. */
export function parsePlaceAnswer(data: unknown): PlaceOutcome {
  const err = errorOf(data);
  if (err !== undefined) return { kind: 'rejected', message: err.trim() };
  const rows = Array.isArray(data) ? data : isObject(data) ? [data] : [];
  const first = rows.find(isObject);
  if (first) {
    const rowErr = errorOf(first);
    if (rowErr !== undefined) return { kind: 'rejected', message: rowErr.trim() };
    const replyId = str(first['id']);
    if (replyId !== undefined && Array.isArray(first['message'])) {
      const q: OrderQuestion = {
        replyId,
        messages: (first['message'] as unknown[]).map((m) => String(m)),
        messageIds: Array.isArray(first['messageIds']) ? (first['messageIds'] as unknown[]).map(String) : [],
      };
      return { kind: 'questions', question: q };
    }
    // A row without a usable order id (missing, null, "") is no proof of anything: it falls
    // through to "unrecognised", which the caller reports as "may have been placed".
    const placed = rows.filter(isObject).flatMap((r) => {
      const orderId = str(r['order_id']);
      return orderId === undefined ? [] : [{ orderId, row: r }];
    });
    if (placed.length) {
      return {
        kind: 'placed',
        orders: placed.map(({ orderId, row }) => {
          const status = str(row['order_status']) ?? str(row['status']) ?? 'PendingSubmit';
          // A bracket child IB refused: order_id -1, status "Failed", the reason in text.
          if (orderId === '-1') {
            const why = str(row['text']) ?? str(row['warning_message']);
            return { orderId, status: why ? `${status}: ${why}` : status, state: 'rejected' as const };
          }
          return { orderId, status, state: orderStateOf(status) };
        }),
      };
    }
    // IB's "advanced order reject" prompt (e.g. price management algo): never auto-answered.
    if (first['messageId'] !== undefined && typeof first['text'] === 'string') {
      return {
        kind: 'rejected',
        message: `IB asks: ${first['text']} (${first['messageId']}); not answered automatically.`,
      };
    }
  }
  throw new BrokerError(
    'GATEWAY_ERROR',
    `Unrecognised answer from IB to an order request: ${untrusted(JSON.stringify(data), { max: 200 })}`,
    {
      details: { unrecognised: true },
    },
  );
}

function beforeAfter(v: unknown): { current?: number; change?: number; after?: number } | undefined {
  if (!isObject(v)) return undefined;
  const out: { current?: number; change?: number; after?: number } = {};
  const c = ibNum(v['current']);
  const ch = ibNum(v['change']);
  const a = ibNum(v['after']);
  if (c !== undefined) out.current = c;
  if (ch !== undefined) out.change = ch;
  if (a !== undefined) out.after = a;
  return Object.keys(out).length ? out : undefined;
}

/** IB's what-if: formatted strings with thousands separators → numbers. */
export function parseWhatIf(data: unknown): OrderPreview {
  const out: OrderPreview = { warnings: [] };
  if (!isObject(data)) {
    out.error = 'IB returned no what-if';
    return out;
  }
  const amount = isObject(data['amount']) ? data['amount'] : {};
  const a = ibNum(amount['amount']);
  if (a !== undefined) out.amount = Math.abs(a);
  const ccy = /\b([A-Z]{3})\b/.exec(String(amount['amount'] ?? amount['total'] ?? ''));
  if (ccy) out.currency = ccy[1]!;
  const c = ibNum(amount['commission']);
  if (c !== undefined) out.commission = c;
  const t = ibNum(amount['total']);
  if (t !== undefined) out.total = Math.abs(t);
  const eq = beforeAfter(data['equity']);
  if (eq) out.equity = eq;
  const im = beforeAfter(data['initial']);
  if (im) out.initialMargin = im;
  const mm = beforeAfter(data['maintenance']);
  if (mm) out.maintenanceMargin = mm;
  const pos = beforeAfter(data['position']);
  if (pos) out.position = pos;
  const warn = str(data['warn']);
  if (warn) out.warnings.push(warn.replace(/^\d+\//, ''));
  const err = errorOf(data);
  if (err) out.error = err;
  return out;
}

function liveRow(r: Row): LiveOrder | undefined {
  const orderId = str(r['orderId']) ?? str(r['order_id']);
  const conid = ibNum(r['conid']);
  const side = sideOf(r['side']);
  if (!orderId || orderId === '-1' || conid === undefined || !side) return undefined;
  // Field names differ by IB version: camelCase (live orders), snake_case (newer answers), and
  // cum_fill / average_price (order status). docs/ib/fixtures names the source of each.
  // A quantity IB did not send stays missing (issue 13); it is derived only from the other two.
  const total = ibNum(r['totalSize']) ?? ibNum(r['total_size']);
  const filled = ibNum(r['filledQuantity']) ?? ibNum(r['filled_quantity']) ?? ibNum(r['cum_fill']);
  const remaining =
    ibNum(r['remainingQuantity']) ??
    ibNum(r['remaining_quantity']) ??
    (total !== undefined && filled !== undefined ? Math.max(0, total - filled) : undefined);
  const quantity = total || (filled !== undefined && remaining !== undefined ? filled + remaining : total);
  const o: LiveOrder = {
    orderId,
    accountId: str(r['acct']) ?? str(r['account']) ?? '',
    conid,
    symbol:
      str(r['ticker']) ??
      str(r['symbol']) ??
      str(r['description1']) ??
      str(r['contract_description_1']) ??
      String(conid),
    side,
    orderType: orderTypeOf(r['orderType'] ?? r['order_type'] ?? r['origOrderType']),
    state: 'working',
    status: str(r['status']) ?? str(r['order_status']) ?? 'Unknown',
  };
  o.state = orderStateOf(o.status);
  if (quantity !== undefined) o.quantity = quantity;
  if (filled !== undefined) o.filled = filled;
  if (remaining !== undefined) o.remaining = remaining;
  const cOID = str(r['order_ref']) ?? str(r['cOID']);
  if (cOID) o.clientOrderId = cOID;
  const st = secTypeOf(r['secType'] ?? r['sec_type']);
  if (st) o.secType = st;
  const type = o.orderType;
  const price = ibNum(r['price']) ?? ibNum(r['limit_price']);
  const aux = ibNum(r['auxPrice']) ?? ibNum(r['stop_price']) ?? ibNum(r['aux_price']);
  if (type === 'STP') {
    const stop = aux ?? price;
    if (stop !== undefined) o.stopPrice = stop;
  } else {
    if (price !== undefined && type !== 'MKT' && type !== 'TRAIL') o.limitPrice = price;
    if (aux !== undefined && (type === 'STOP_LIMIT' || type === 'TRAIL')) o.stopPrice = aux;
  }
  const avg = ibNum(r['avgPrice']) ?? ibNum(r['avg_fill_price']) ?? ibNum(r['average_price']);
  if (avg !== undefined && (filled === undefined ? avg > 0 : filled > 0)) o.avgPrice = avg;
  const tif = str(r['timeInForce']) ?? str(r['tif']);
  if (tif) o.tif = tif.toUpperCase();
  const time = ibNum(r['lastExecutionTime_r']) ?? stampMs(str(r['order_time']) ?? str(r['lastExecutionTime']));
  if (time !== undefined) o.time = time;
  const desc = str(r['orderDesc']) ?? str(r['order_description_with_contract']);
  if (desc) o.description = desc;
  if (typeof r['order_not_editable'] === 'boolean') o.editable = !r['order_not_editable'];
  const parent = str(r['parentId']) ?? str(r['parent_order_id']);
  if (parent && parent !== '0') o.parentId = parent;
  const oca = str(r['ocaGroupId']) ?? str(r['oca_group_id']);
  if (oca && oca !== '0') o.ocaGroupId = oca;
  return o;
}

/** IB's trade_time "YYYYMMDD-hh:mm:ss" (UTC) → epoch ms; undefined when it is not that. */
export function tradeTimeMs(s: string | undefined): number | undefined {
  const m = s ? /^(\d{4})(\d{2})(\d{2})-(\d{2}):(\d{2}):(\d{2})$/.exec(s.trim()) : null;
  if (!m) return undefined;
  const ms = Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!);
  return Number.isFinite(ms) ? ms : undefined;
}

/** IB's "YYMMDDHHmmss" (UTC) → epoch ms. */
export function stampMs(s: string | undefined): number | undefined {
  const m = s ? /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})$/.exec(s) : null;
  if (!m) return undefined;
  return Date.UTC(2000 + Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
}

/** Rows of GET /iserver/account/orders, each order once (IB can repeat rows across updates). */
export function parseLiveOrders(data: unknown): { orders: LiveOrder[]; snapshot: boolean } {
  const rows = isObject(data) && Array.isArray(data['orders']) ? (data['orders'] as unknown[]) : [];
  const snapshot = isObject(data) ? data['snapshot'] !== false : false;
  const byId = new Map<string, LiveOrder>();
  for (const r of rows) {
    if (!isObject(r)) continue;
    const o = liveRow(r);
    if (!o) continue;
    const prev = byId.get(o.orderId);
    if (!prev || (o.time ?? 0) >= (prev.time ?? 0)) byId.set(o.orderId, o);
  }
  return { orders: [...byId.values()], snapshot };
}

/**
 * Rows of a live-order list that are not buy or sell orders: an id, a contract and a side IB gave
 * that is neither (an option exercise pushed as side "EXER", IBKR Campus). A row without a side (a
 * push of ids alone) is not one: its terms are still to come.
 */
export function unlistedRows(rows: readonly unknown[]): UnlistedOrder[] {
  const out: UnlistedOrder[] = [];
  for (const r of rows) {
    if (!isObject(r)) continue;
    const orderId = str(r['orderId']) ?? str(r['order_id']);
    const side = str(r['side']);
    if (!orderId || orderId === '-1' || !side || sideOf(side) || liveRow(r)) continue;
    const what = [str(r['orderDesc']), str(r['ticker']), str(r['description2'])].filter(Boolean).join(' ');
    const o: UnlistedOrder = {
      orderId,
      accountId: str(r['acct']) ?? str(r['account']) ?? '',
      what: what || `side ${side}`,
    };
    const status = str(r['status']) ?? str(r['order_status']);
    if (status) o.status = status;
    out.push(o);
  }
  return out;
}

export function parseOrderStatus(data: unknown): LiveOrder | undefined {
  return isObject(data) ? liveRow(data) : undefined;
}

export function parseTrades(data: unknown): Trade[] {
  const rows = Array.isArray(data) ? data : [];
  const out: Trade[] = [];
  const seen = new Set<string>();
  for (const r of rows) {
    if (!isObject(r)) continue;
    const id = str(r['execution_id']);
    const conid = ibNum(r['conid']);
    const side = sideOf(r['side']);
    const qty = ibNum(r['size']);
    const price = ibNum(r['price']);
    if (!id || seen.has(id) || conid === undefined || !side || qty === undefined || price === undefined) continue;
    seen.add(id);
    const t: Trade = {
      executionId: id,
      accountId: str(r['account']) ?? str(r['accountCode']) ?? '',
      conid,
      symbol: str(r['symbol']) ?? str(r['contract_description_1']) ?? String(conid),
      side,
      quantity: qty,
      price,
    };
    const time = ibNum(r['trade_time_r']) ?? tradeTimeMs(str(r['trade_time']));
    if (time !== undefined) t.time = time;
    const oid = str(r['order_id']);
    if (oid) t.orderId = oid;
    const ref = str(r['order_ref']);
    if (ref) t.clientOrderId = ref;
    const st = secTypeOf(r['sec_type']);
    if (st) t.secType = st;
    const comm = ibNum(r['commission']);
    if (comm !== undefined) t.commission = comm;
    const net = ibNum(r['net_amount']);
    if (net !== undefined) t.netAmount = net;
    const ex = str(r['exchange']);
    if (ex) t.exchange = ex;
    out.push(t);
  }
  return out;
}

export function parseCancel(orderId: string, data: unknown): CancelResult {
  const err = errorOf(data);
  if (err !== undefined) return { orderId, accepted: false, message: err };
  const row = Array.isArray(data) ? data.find(isObject) : isObject(data) ? data : undefined;
  if (!row) return { orderId, accepted: false, message: 'IB gave no answer to the cancel request' };
  const rowErr = errorOf(row);
  if (rowErr !== undefined) return { orderId, accepted: false, message: rowErr };
  return {
    orderId: str(row['order_id']) ?? orderId,
    accepted: true,
    message: str(row['msg']) ?? str(row['order_status']) ?? 'Request was submitted',
  };
}
