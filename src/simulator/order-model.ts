/**
 * The simulator's order records: an order as IB keeps it, an execution, a request to place or
 * modify one, an open question, and the small arithmetic the order engine shares (ticks,
 * IB's number formats, commissions). See orders.ts for the engine itself.
 */
import type { Instrument } from './universe.js';

export type SimOrderType = 'MKT' | 'LMT' | 'STP' | 'STOP_LIMIT' | 'TRAIL';
export type SimTif = 'DAY' | 'GTC' | 'IOC' | 'OPG';
export type SimStatus = 'PreSubmitted' | 'Submitted' | 'Filled' | 'Cancelled' | 'Inactive';

/** One leg of a combo order: its contract and signed ratio (+ buy, − sell, per spread). */
export interface SimLeg {
  conid: number;
  inst: Instrument;
  ratio: number;
}

export interface SimOrder {
  orderId: number;
  cOID?: string;
  acct: string;
  conid: number;
  inst: Instrument;
  side: 'BUY' | 'SELL';
  type: SimOrderType;
  qty: number;
  filled: number;
  /** Limit price (LMT, STOP_LIMIT). */
  limit?: number;
  /** Stop price (STP, STOP_LIMIT). */
  stop?: number;
  trailAmt?: number;
  trailType?: 'amt' | '%';
  /** TRAIL: current stop level. */
  trailStop?: number;
  triggered: boolean;
  tif: SimTif;
  outsideRth: boolean;
  status: SimStatus;
  avgPrice: number;
  commission: number;
  createdAt: number;
  updatedAt: number;
  /** Market second of the last fill (one chunk per order per second). */
  lastFillSec?: number;
  session: string;
  /** Bracket child: the parent's order id; the child waits until the parent is filled. */
  parentOrderId?: number;
  /** Bracket children share one OCA group: a fill of one reduces (then cancels) the others. */
  ocaGroup?: string;
  /**
   * What a fill does to the rest of the group (IB's OCA types, TWS API "One Cancels All"):
   * 1 cancels the others, 2 and 3 reduce them by the filled quantity. Default 2 (bracket children).
   */
  ocaType?: 1 | 2 | 3;
  /** A combo: its conidex as sent and its legs (`conid`/`inst` are then the spread's). */
  conidex?: string;
  legs?: SimLeg[];
}

export interface SimExecution {
  executionId: string;
  orderId: number;
  cOID?: string;
  acct: string;
  conid: number;
  inst: Instrument;
  side: 'BUY' | 'SELL';
  qty: number;
  price: number;
  commission: number;
  time: number;
}

export interface OrderSpec {
  acct: string;
  conid: number;
  inst: Instrument;
  side: 'BUY' | 'SELL';
  type: SimOrderType;
  qty: number;
  limit?: number;
  stop?: number;
  trailAmt?: number;
  trailType?: 'amt' | '%';
  tif: SimTif;
  outsideRth: boolean;
  cOID?: string;
  /** A combo (order-combo.ts). */
  conidex?: string;
  legs?: SimLeg[];
}

/** One of IB's precautionary questions (message id and text). */
export interface Question {
  id: string;
  text: string;
}

export type EngineAnswer = { status: number; body: unknown };

export const ok = (body: unknown): EngineAnswer => ({ status: 200, body });
export const reject = (error: string): EngineAnswer => ({ status: 200, body: { error } });

/** Filled, cancelled or inactive: the order no longer works. */
export function isDone(o: SimOrder): boolean {
  return o.status === 'Filled' || o.status === 'Cancelled' || o.status === 'Inactive';
}

export function roundTo(x: number, step: number): number {
  return Math.round(x / step) * step;
}

export function onTick(x: number, tick: number): boolean {
  const q = x / tick;
  return Math.abs(q - Math.round(q)) < 1e-6;
}

export function fmt(n: number, digits = 2): string {
  return n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** IB-like commissions: stocks 0.005/share (min 1, max 1% of value); options 0.65/contract (min 1). */
export function commissionFor(inst: Instrument, qty: number, price: number): number {
  if (inst.secType === 'OPT' || inst.secType === 'FOP') return Math.round(Math.max(1, 0.65 * qty) * 100) / 100;
  const value = qty * price * (inst.multiplier || 1);
  return Math.round(Math.min(Math.max(1, 0.005 * qty), Math.max(1, value * 0.01)) * 100) / 100;
}
