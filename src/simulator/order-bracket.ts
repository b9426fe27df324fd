/**
 * Brackets in the simulator: IB accepts a parent and its children (`parentId` = the parent's
 * cOID) in one request; the children wait (PreSubmitted) until the parent is filled, die with
 * it, and form one OCA group, in which a fill of one child reduces, then cancels, the others.
 */
import type { OrderSpec, Question, SimOrder } from './order-model.js';
import { questionsFor } from './order-rules.js';
import type { SimState } from './state.js';

/** The OCA group of a bracket's children: one only when there is more than one child. */
export function ocaGroupFor(parentOrderId: number, children: number): string | undefined {
  return children > 1 ? `oca${parentOrderId}` : undefined;
}

/** The questions for a parent and its children, each message id asked once. */
export function bracketQuestions(state: SimState, spec: OrderSpec, children: OrderSpec[]): Question[] {
  const questions = questionsFor(state, spec);
  for (const c of children) {
    for (const q of questionsFor(state, c)) if (!questions.some((x) => x.id === q.id)) questions.push(q);
  }
  return questions;
}

/**
 * Where a bracket child stands: 'cancel' when its parent is gone, or cancelled before any fill;
 * 'wait' until the parent has a fill; then 'work' (a child that is no stop order becomes
 * Submitted). A parent cancelled after a partial fill leaves its children protecting the filled
 * part: they shrink to it. Partial fills activate the children (see `childCap`): IB's documents
 * in shared/ib say nothing about it, so the simulator takes the side that never leaves a filled
 * part unprotected.
 */
export function childReadiness(orders: Map<number, SimOrder>, o: SimOrder): 'cancel' | 'wait' | 'work' {
  if (o.parentOrderId === undefined) return 'work';
  const parent = orders.get(o.parentOrderId);
  if (!parent) return 'cancel';
  if (parent.status === 'Cancelled' || parent.status === 'Inactive') {
    if (parent.filled <= 0) return 'cancel';
    const max = Math.round((o.filled + childCap(orders, o)) * 10000) / 10000;
    if (o.qty > max) o.qty = max;
    if (o.filled >= o.qty) return 'cancel';
  } else if (parent.filled <= 0) return 'wait';
  if (o.status === 'PreSubmitted' && o.type !== 'STP' && o.type !== 'STOP_LIMIT' && o.type !== 'TRAIL') {
    o.status = 'Submitted';
  }
  return 'work';
}

/**
 * How much more a bracket child may fill: what its parent has filled, less what the children
 * have already closed (they share one OCA group); unlimited for any other order.
 */
export function childCap(orders: Map<number, SimOrder>, o: SimOrder): number {
  if (o.parentOrderId === undefined) return Number.POSITIVE_INFINITY;
  const parent = orders.get(o.parentOrderId);
  if (!parent) return 0;
  let closed = 0;
  for (const c of orders.values()) if (c.parentOrderId === o.parentOrderId) closed += c.filled;
  return Math.max(0, Math.round((parent.filled - closed) * 10000) / 10000);
}

/**
 * A fill of `qty` on `o` acts on the other working orders of its OCA group by the group's type
 * (TWS API "One Cancels All"; ibapi's OcaType): 1 cancels them all at the first fill, even a
 * partial one; 2 and 3 reduce each by the filled quantity, and cancel those left with nothing.
 */
export function reduceOcaGroup(
  orders: Map<number, SimOrder>,
  o: SimOrder,
  qty: number,
  cancel: (sib: SimOrder) => void,
): void {
  if (!o.ocaGroup) return;
  for (const sib of orders.values()) {
    if (sib === o || sib.ocaGroup !== o.ocaGroup) continue;
    if (sib.status !== 'Submitted' && sib.status !== 'PreSubmitted') continue;
    if (o.ocaType === 1) {
      cancel(sib);
      continue;
    }
    sib.qty = Math.round((sib.qty - qty) * 10000) / 10000;
    if (sib.qty <= sib.filled) cancel(sib);
  }
}

/** The OCA group of orders placed together with `isSingleGroup` (named after the first order). */
export function singleGroupName(firstOrderId: number): string {
  return `${firstOrderId}`;
}
