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
 * Where a bracket child stands: 'cancel' when its parent is gone or cancelled, 'wait' until
 * the parent is filled, then 'work' (a child that is no stop order becomes Submitted).
 */
export function childReadiness(orders: Map<number, SimOrder>, o: SimOrder): 'cancel' | 'wait' | 'work' {
  if (o.parentOrderId === undefined) return 'work';
  const parent = orders.get(o.parentOrderId);
  if (!parent || parent.status === 'Cancelled' || parent.status === 'Inactive') return 'cancel';
  if (parent.status !== 'Filled') return 'wait';
  if (o.status === 'PreSubmitted' && o.type !== 'STP' && o.type !== 'STOP_LIMIT' && o.type !== 'TRAIL') {
    o.status = 'Submitted';
  }
  return 'work';
}

/** A fill of `qty` on `o` reduces the other working orders of its OCA group; those left with nothing are cancelled. */
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
    sib.qty = Math.round((sib.qty - qty) * 10000) / 10000;
    if (sib.qty <= sib.filled) cancel(sib);
  }
}
