/**
 * The rows the simulator's order engine answers with, in IB's wire format: a placed order, a
 * live-orders row, an order status, an execution of the trades list, a what-if preview.
 */

import { comboWhatIf, quoteFor } from './order-combo.js';
import {
  commissionFor,
  fmt,
  isDone,
  type OrderSpec,
  type SimExecution,
  type SimOrder,
  type SimOrderType,
} from './order-model.js';
import { simPortfolio } from './portfolio.js';
import { instrumentFlags, type SimState } from './state.js';

function typeName(t: SimOrderType): string {
  return { MKT: 'Market', LMT: 'Limit', STP: 'Stop', STOP_LIMIT: 'Stop Limit', TRAIL: 'Trail' }[t];
}

function desc(o: SimOrder): string {
  const verb = o.side === 'BUY' ? 'Buy' : 'Sell';
  const px =
    o.type === 'LMT'
      ? ` Limit ${o.limit}`
      : o.type === 'STP'
        ? ` Stop ${o.stop}`
        : o.type === 'STOP_LIMIT'
          ? ` Stop Limit ${o.stop} ${o.limit}`
          : o.type === 'TRAIL'
            ? ` Trail ${o.trailAmt}${o.trailType === '%' ? '%' : ''}`
            : ' Market';
  const tif = { DAY: 'Day', GTC: 'GTC', IOC: 'IOC', OPG: 'OPG' }[o.tif];
  return `${verb} ${o.qty}${px}, ${tif}`;
}

function stamp(ms: number): string {
  return new Date(ms).toISOString().slice(2, 19).replace(/[-T:]/g, '');
}

const round4 = (x: number): string => String(Math.round(x * 10000) / 10000);

/** An order as IB's answer to a placement or a modification lists it. */
export function placedRow(o: SimOrder): Record<string, unknown> {
  const row: Record<string, unknown> = { order_id: String(o.orderId), order_status: o.status, encrypt_message: '1' };
  if (o.cOID) row['local_order_id'] = o.cOID;
  return row;
}

/** A row of GET /iserver/account/orders. */
export function liveRow(o: SimOrder): Record<string, unknown> {
  const row: Record<string, unknown> = {
    acct: o.acct,
    conidex: o.conidex ?? String(o.conid),
    conid: o.conid,
    account: o.acct,
    orderId: o.orderId,
    cashCcy: o.inst.currency,
    sizeAndFills: o.filled > 0 && o.filled < o.qty ? `${o.filled}/${o.qty}` : String(o.qty),
    orderDesc: desc(o),
    description1: o.inst.secType === 'OPT' ? o.inst.localSymbol || o.inst.symbol : o.inst.symbol,
    ticker: o.inst.symbol,
    secType: o.inst.secType,
    listingExchange: o.inst.listingExchange,
    remainingQuantity: o.qty - o.filled,
    filledQuantity: o.filled,
    totalSize: o.qty,
    companyName: o.inst.name,
    status: o.status,
    order_ccp_status: o.status,
    origOrderType: typeName(o.type).toUpperCase(),
    supportsTaxOpt: '1',
    lastExecutionTime: stamp(o.updatedAt),
    orderType: typeName(o.type),
    bgColor: '#FFFFFF',
    fgColor: '#000000',
    timeInForce: o.tif,
    lastExecutionTime_r: o.updatedAt,
    side: o.side,
  };
  if (o.cOID) row['order_ref'] = o.cOID;
  if (o.parentOrderId !== undefined) row['parentId'] = o.parentOrderId;
  // docs/ib/orders.md §7.5: rows may include ocaGroupId.
  if (o.ocaGroup !== undefined) row['ocaGroupId'] = o.ocaGroup;
  if (o.filled > 0) row['avgPrice'] = round4(o.avgPrice);
  if (o.limit !== undefined) row['price'] = o.limit.toFixed(o.limit < 1 ? 4 : 2);
  if (o.type === 'STP') row['price'] = o.stop!.toFixed(2);
  if (o.type === 'STOP_LIMIT') row['auxPrice'] = o.stop!.toFixed(2);
  if (o.type === 'TRAIL' && o.trailStop !== undefined) row['auxPrice'] = o.trailStop.toFixed(2);
  return row;
}

/** The body of GET /iserver/account/order/status/{id}; `profile` '2026' uses IB's newer names. */
export function statusBody(o: SimOrder, requestId: number, profile: string): Record<string, unknown> {
  const done = isDone(o);
  const body: Record<string, unknown> = {
    sub_type: null,
    request_id: String(requestId),
    server_id: '0',
    order_id: o.orderId,
    conidex: o.conidex ?? String(o.conid),
    conid: o.conid,
    symbol: o.inst.symbol,
    side: o.side === 'BUY' ? 'B' : 'S',
    contract_description_1: o.inst.symbol,
    listing_exchange: o.inst.listingExchange,
    option_acct: 'c',
    company_name: o.inst.name,
    size: String(o.qty - o.filled),
    total_size: String(o.qty),
    currency: o.inst.currency,
    account: o.acct,
    order_type: typeName(o.type).toUpperCase(),
    cum_fill: String(o.filled),
    order_status: o.status,
    order_ccp_status: o.status,
    order_status_description: o.status === 'Filled' ? 'Order Filled' : `Order ${o.status}`,
    tif: o.tif,
    fg_color: '#FFFFFF',
    bg_color: '#000000',
    order_not_editable: done,
    editable_fields: done ? '' : 'price,quantity,tif',
    cannot_cancel_order: done,
    deactivate_order: false,
    sec_type: o.inst.secType,
    available_chart_periods: '#R|1',
    order_description: desc(o),
    order_description_with_contract: `${desc(o).split(' ')[0]} ${o.qty} ${o.inst.symbol} ${desc(o).split(' ').slice(2).join(' ')}`,
    alert_active: 1,
    child_order_type: '0',
    order_clearing_account: o.acct,
    size_and_fills: String(o.filled),
    allowed_duplicate_opposite: true,
    order_time: stamp(o.createdAt),
  };
  if (o.cOID) body['order_ref'] = o.cOID;
  if (o.filled > 0) body['average_price'] = round4(o.avgPrice);
  if (o.limit !== undefined) body['limit_price'] = String(o.limit);
  if (o.stop !== undefined) body['stop_price'] = String(o.stop);
  if (o.type === 'TRAIL' && o.trailStop !== undefined) body['stop_price'] = String(o.trailStop);
  if (o.parentOrderId !== undefined) body['parent_order_id'] = o.parentOrderId;
  if (profile === '2026') {
    // Newer names (profiles.ts): filled/remaining/avg_fill_price, side and order type spelt out.
    delete body['cum_fill'];
    delete body['average_price'];
    body['filled_quantity'] = String(o.filled);
    body['remaining_quantity'] = round4(o.qty - o.filled);
    if (o.filled > 0) body['avg_fill_price'] = round4(o.avgPrice);
    body['side'] = o.side;
    body['order_type'] = typeName(o.type);
  }
  return body;
}

/** A row of GET /iserver/account/trades. */
export function tradeRow(e: SimExecution): Record<string, unknown> {
  const t = new Date(e.time).toISOString();
  const row: Record<string, unknown> = {
    execution_id: e.executionId,
    symbol: e.inst.symbol,
    supports_tax_opt: '1',
    side: e.side === 'BUY' ? 'B' : 'S',
    order_description: `${e.side === 'BUY' ? 'Bot' : 'Sold'} ${e.qty} @ ${e.price} on ${e.inst.listingExchange}`,
    trade_time: `${t.slice(0, 10).replace(/-/g, '')}-${t.slice(11, 19)}`,
    trade_time_r: e.time,
    size: e.qty,
    price: String(e.price),
    submitter: 'simuser',
    exchange: e.inst.listingExchange,
    commission: e.commission.toFixed(2),
    net_amount: Math.round(e.qty * e.price * (e.inst.multiplier || 1) * 100) / 100,
    account: e.acct,
    accountCode: e.acct,
    account_allocation_name: e.acct,
    company_name: e.inst.name,
    contract_description_1: e.inst.symbol,
    sec_type: e.inst.secType,
    listing_exchange: e.inst.listingExchange,
    conid: e.conid,
    conidEx: String(e.conid),
    clearing_id: 'IB',
    clearing_name: 'IB',
    liquidation_trade: '0',
    is_event_trading: '0',
    order_id: e.orderId,
  };
  if (e.cOID) row['order_ref'] = e.cOID;
  return row;
}

/** The body of POST /iserver/account/{acct}/orders/whatif; `why`: IB's rejection, if any. */
export function whatIfBody(state: SimState, spec: OrderSpec, why: string | undefined): Record<string, unknown> {
  const { inst } = spec;
  const q = quoteFor(state, spec);
  const px = spec.limit ?? (spec.side === 'BUY' ? Math.max(q.ask ?? 0, spec.stop ?? 0) : (q.bid ?? spec.stop ?? 0));
  const mult = inst.multiplier || 1;
  const combo = spec.legs ? comboWhatIf(state, spec) : undefined;
  const value = combo?.value ?? px * spec.qty * mult;
  const comm = combo?.commission ?? commissionFor(inst, spec.qty, px);
  const pf = simPortfolio(state);
  const known = pf.hasAccount(spec.acct);
  const v = known ? pf.valuation(spec.acct).base : undefined;
  const posNow = known ? pf.position(spec.acct, spec.conid) : 0;
  const signed = spec.side === 'BUY' ? spec.qty : -spec.qty;
  const marginRate = inst.secType === 'OPT' ? (spec.side === 'BUY' ? 1 : 0.2) : 0.25;
  const im = combo ? combo.margin : value * marginRate;
  const ccy = inst.currency;
  const unit = inst.secType === 'OPT' || combo ? 'Contracts' : 'Shares';
  const ba = (cur: number, ch: number) => ({ current: fmt(cur, 0), change: fmt(ch, 0), after: fmt(cur + ch, 0) });
  const flags = instrumentFlags(state, inst.conid);
  return {
    amount: {
      amount: `${fmt(value)} ${ccy} (${spec.qty} ${unit})`,
      commission: `${fmt(comm)} ${ccy}`,
      total: `${fmt(value + comm)} ${ccy}`,
    },
    equity: ba(v?.netLiquidation ?? 0, -comm),
    initial: ba(v?.initMargin ?? 0, spec.side === 'BUY' || combo ? im : im * 0.5),
    maintenance: ba(v?.maintMargin ?? 0, (spec.side === 'BUY' || combo ? im : im * 0.5) * 0.9),
    position: { current: String(posNow), change: String(signed), after: String(posNow + signed) },
    warn:
      flags.delayed || flags.frozen
        ? '21/You are trying to submit an order without having market data for this instrument.'
        : null,
    error: why ?? null,
  };
}
