/**
 * IB's confirmation questions ("Are you sure you want to submit this order?") are answered by
 * server policy, by message id: ids on the configured allowlist of informational notices are
 * confirmed automatically; any other question goes back to the caller with its text and needs
 * confirm_order. The model has no way to widen the allowlist, and IB's session-wide
 * suppression endpoint is never used (so nothing is silently suppressed on a live account).
 */
import type { OrderQuestion } from '../broker/orders.js';
import type { TradingMode } from './journal.js';

export interface QuestionDecision {
  /** Every message id is on the allowlist: reply "yes" automatically. */
  autoConfirm: boolean;
  /** Ids that need a human (or the caller) to confirm. */
  blocking: string[];
}

export function decideQuestion(q: OrderQuestion, allowlist: readonly string[], _mode: TradingMode): QuestionDecision {
  const allowed = new Set(allowlist.map((s) => s.trim().toLowerCase()).filter(Boolean));
  // A question without ids cannot be classified: it always goes to the caller. Nor can a
  // question with more messages than ids: an allowlisted id must not carry an unknown message.
  const ids = q.messageIds.length ? q.messageIds : ['(no id)'];
  const blocking = ids.filter((id) => !allowed.has(id.toLowerCase()));
  const unidentified = q.messages.length - q.messageIds.length;
  if (unidentified > 0 && q.messageIds.length) {
    blocking.push(`${unidentified} message${unidentified > 1 ? 's' : ''} without an id`);
  }
  return { autoConfirm: blocking.length === 0, blocking };
}

/** Upper bound on automatic replies for one order (IB chains questions; a loop would be a bug). */
export const MAX_AUTO_REPLIES = 6;
