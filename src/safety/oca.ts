/**
 * One-cancels-all groups: several orders sent in one request, where a fill of one cancels the
 * others (IB's Client Portal API: `isSingleGroup` on every order of the request; docs/ib/orders.md
 * §7.1). A group is prepared as its orders (each validated, priced and checked as an order of
 * its own), then previewed with one what-if of the whole group and checked as a whole: the sum
 * of the orders' values against --max-order-notional (a fill of one cancels the others, but
 * partial fills and races can fill more than one, so the sum is the bound that fails closed),
 * and every order against --max-orders-per-day. The result is one `Prepared` whose `order`
 * carries the others as `ocaSiblings`: one hash, so one approval covers exactly the group.
 */
import type { CallOptions } from '../broker/backend.js';
import { BrokerError } from '../broker/errors.js';
import { type LiveOrder, type OrderRequest, ocaMembers, type PlacedOrder } from '../broker/orders.js';
import { ident, untrusted } from '../broker/untrusted.js';
import { DAY_MS, errorText, type OrderContext } from './context.js';
import type { JournalPatch } from './journal.js';
import {
  type Approval,
  type ChildChange,
  type GroupMember,
  type OrderDraft,
  type OrderOutcome,
  outcome,
  type Prepared,
  statusOfState,
} from './outcome.js';
import type { CheckResult } from './policy.js';
import type { Preparer } from './prepare.js';
import { bracketProblems, refuseInvalid } from './validate.js';

/** IB's Client Portal API places OCA groups of any size; a tool call is kept to a readable few. */
export const MAX_OCA_ORDERS = 6;

/** OCA types (TWS API "One Cancels All"): 1 cancels the others on a fill; 2 and 3 reduce them. */
export const OCA_TYPES = [1, 2, 3] as const;
export type OcaType = (typeof OCA_TYPES)[number];

export async function prepareOca(
  ctx: OrderContext,
  prep: Preparer,
  drafts: OrderDraft[],
  group: { name?: string | undefined; type?: OcaType | undefined },
  opts: CallOptions = {},
  previewOnly = false,
): Promise<Prepared> {
  const problems: string[] = [];
  if (drafts.length < 2 || drafts.length > MAX_OCA_ORDERS) {
    problems.push(`An OCA group has 2 to ${MAX_OCA_ORDERS} orders, not ${drafts.length}.`);
  }
  if ((group.type ?? 1) !== 1) {
    // [V3] and [DOCJSON] give isSingleGroup only: no field carries the type, so a reducing
    // group cannot be asked for, and sending one as if it were would misstate what IB does.
    problems.push(
      `ocaType ${group.type} cannot be sent: IB's Client Portal API marks a group with isSingleGroup only and has no field for the OCA type.`,
    );
  }
  drafts.forEach((d, i) => {
    if (d.takeProfit !== undefined || d.stopLoss !== undefined) {
      problems.push(`orders[${i}]: an OCA order cannot carry takeProfit/stopLoss (a bracket is its own group).`);
    }
    if (d.cashQty !== undefined) problems.push(`orders[${i}]: an OCA order needs a quantity, not cashQty.`);
  });
  const ids = drafts.map((d) => d.clientOrderId?.trim()).filter((c): c is string => !!c);
  if (new Set(ids).size !== ids.length) problems.push('Each order of the group needs its own clientOrderId.');
  if (problems.length) {
    throw new BrokerError('INVALID_INPUT', `The OCA group is not valid, nothing was sent: ${problems.join(' ')}`, {
      hint: 'Fix the listed fields and call again.',
      details: { problems },
    });
  }
  const members: Prepared[] = [];
  for (const d of drafts) members.push(await prep.prepare(d, opts, previewOnly, false));
  const first = members[0]!;
  const accounts = new Set(members.map((m) => m.order.accountId));
  if (accounts.size > 1) {
    throw new BrokerError('INVALID_INPUT', 'Every order of an OCA group must be for the same account.', {
      hint: 'Pass one accountId for the group.',
    });
  }
  const order: OrderRequest = { ...first.order, ocaSiblings: members.slice(1).map((m) => m.order) };
  if (group.name) order.ocaGroup = group.name;
  const [preview, limits] = await Promise.all([
    ctx.api.previewOrder(order, opts).then(
      (p) => ({ preview: p }),
      (err: unknown) => ({ error: err instanceof Error ? err.message : String(err) }),
    ),
    Promise.resolve(groupLimits(ctx, members)),
  ]);
  const out: Prepared = { action: 'place', order, contract: first.contract, mode: first.mode, limits, members };
  if (first.quote) out.quote = first.quote;
  if ('preview' in preview) out.preview = preview.preview;
  else out.previewError = preview.error;
  return out;
}

/** The group's own checks, after each order passed its own: total value and orders per day. */
function groupLimits(ctx: OrderContext, members: Prepared[]): Prepared['limits'] {
  const cfg = ctx.safety;
  const first = members[0]!;
  const checks: CheckResult[] = [];
  const values = members.map((m) => m.limits.notional);
  if (values.some((v) => v === undefined)) {
    checks.push({ name: 'group-notional', ok: false, ran: false, detail: 'an order of the group has no value' });
  } else {
    const sum = values.reduce<number>((a, v) => a + v!, 0);
    const shown = Math.round(sum * 100) / 100;
    checks.push(
      sum > cfg.maxOrderNotional
        ? {
            name: 'group-notional',
            ok: false,
            ran: true,
            detail: `the group's orders are worth ${shown} together, above --max-order-notional ${cfg.maxOrderNotional}`,
          }
        : {
            name: 'group-notional',
            ok: true,
            ran: true,
            detail: `${shown} ≤ ${cfg.maxOrderNotional} (sum of the group)`,
          },
    );
  }
  const count = ctx.journal.attemptsSince(ctx.now() - DAY_MS, {
    accountId: first.order.accountId,
    mode: first.mode,
  });
  const n = members.length;
  checks.push(
    count + n > cfg.maxOrdersPerDay
      ? {
          name: 'orders-per-day',
          ok: false,
          ran: true,
          detail: `${count} orders were sent in the last 24 hours and the group has ${n}; --max-orders-per-day is ${cfg.maxOrdersPerDay}`,
        }
      : { name: 'orders-per-day', ok: true, ran: true, detail: `${count + n} of ${cfg.maxOrdersPerDay}` },
  );
  const bad = checks.filter((c) => !c.ok);
  if (bad.length) {
    throw new BrokerError(
      'REFUSED',
      `OCA group refused by the safety policy, nothing was sent: ${bad.map((c) => `${c.name} (${c.detail})`).join('; ')}.`,
      {
        hint: 'Make the group smaller or its orders cheaper; limits are set by the user when starting the server.',
        details: { checks, failed: bad.map((c) => c.name) },
      },
    );
  }
  const total = values.reduce<number>((a, v) => a + (v ?? 0), 0);
  return {
    notional: total,
    notionalBasis: 'sum of the group',
    checks: [...members.flatMap((m) => m.limits.checks.filter((c) => c.name !== 'orders-per-day')), ...checks],
  };
}

// ---------------------------------------------------------------- sending

/** The journal keys of a prepared order: every order of its group, or just its own. */
export function groupIds(p: Pick<Prepared, 'order'>): string[] {
  return ocaMembers(p.order).map((o) => o.clientOrderId);
}

/** Writes the same patch for every order of the group. */
export function journalGroup(ctx: OrderContext, p: Pick<Prepared, 'order'>, patch: JournalPatch): void {
  for (const id of groupIds(p)) ctx.journal.update(id, patch);
}

/** IB placed the group: one row per order, in the order sent. Each order's entry gets its id. */
export function ocaPlaced(
  ctx: OrderContext,
  p: Prepared,
  rows: PlacedOrder[],
  extra: Partial<OrderOutcome>,
): OrderOutcome {
  const orders = ocaMembers(p.order);
  const members: GroupMember[] = orders.map((o, i) => {
    const r = rows[i];
    const m: GroupMember = { contract: p.members?.[i]?.contract ?? p.contract, order: o };
    if (r && r.state !== 'rejected') {
      ctx.journal.update(o.clientOrderId, {
        state: 'placed',
        orderId: r.orderId,
        orderState: r.state,
        ibStatus: r.status,
        replyId: '',
      });
      return { ...m, orderId: r.orderId, ibStatus: r.status, state: r.state };
    }
    const why = r ? `IB refused it: ${r.status}` : 'IB did not report it';
    ctx.journal.update(o.clientOrderId, { state: r ? 'rejected' : 'unknown', message: why, replyId: '' });
    return { ...m, ...(r ? { ibStatus: r.status, state: 'rejected' as const } : { state: 'unknown' as const }) };
  });
  const missing = members.filter((m) => !m.orderId);
  const first = members[0]!;
  const placed = members.find((m) => m.orderId);
  return outcome(
    p,
    placed ? statusOfState(placed.state as LiveOrder['state']) : 'rejected',
    `OCA group placed (${members.length} orders, one request): ${members
      .map(
        (m) =>
          `${ident(m.order.clientOrderId)} → ${m.orderId ? `IB order ${ident(m.orderId)} (${ident(m.ibStatus ?? '')})` : 'NOT PLACED'}`,
      )
      .join('; ')}. A fill of one cancels the others.` +
      (missing.length
        ? ` WARNING: ${missing.length} order(s) of the group were not confirmed by IB; check get_live_orders before placing them again.`
        : ''),
    { ...extra, members, ...(first.orderId ? { orderId: first.orderId, ibStatus: first.ibStatus } : {}) },
  );
}

/**
 * The group's answer was lost: each order is looked up by its client order id, never resent.
 * Orders found are placed; when none is found the whole group MAY have been placed.
 */
export async function ocaLost(
  ctx: OrderContext,
  p: Prepared,
  why: string,
  approval: Approval,
  timeoutMs: number,
): Promise<OrderOutcome> {
  const orders = ocaMembers(p.order);
  const found: Array<LiveOrder | undefined> = [];
  let lookupError: string | undefined;
  for (let attempt = 0; attempt < 3; attempt++) {
    if (attempt > 0) await ctx.timers.sleep(300 * attempt);
    lookupError = undefined;
    // In parallel: the backend shares one read of IB's order list between them.
    await Promise.all(
      orders.map(async (o, i) => {
        if (found[i]) return;
        try {
          found[i] = await ctx.api.findOrderByClientId(o.clientOrderId, { signal: ctx.timers.timeout(timeoutMs) });
        } catch (e) {
          lookupError = errorText(e);
        }
      }),
    );
    if (found.filter(Boolean).length === orders.length) break;
  }
  const members: GroupMember[] = orders.map((o, i) => {
    const f = found[i];
    const m: GroupMember = { contract: p.members?.[i]?.contract ?? p.contract, order: o };
    if (!f) {
      ctx.journal.update(o.clientOrderId, { state: 'unknown', message: `answer lost: ${why}` });
      return { ...m, state: 'unknown' };
    }
    ctx.journal.update(o.clientOrderId, {
      state: 'placed',
      orderId: f.orderId,
      orderState: f.state,
      ibStatus: f.status,
    });
    return { ...m, orderId: f.orderId, ibStatus: f.status, state: f.state };
  });
  const seen = members.filter((m) => m.orderId);
  const ids = members.map(
    (m) =>
      `${ident(m.order.clientOrderId)}: ${m.orderId ? `IB order ${ident(m.orderId)} (${ident(m.ibStatus ?? '')})` : 'not found'}`,
  );
  if (seen.length === members.length) {
    const first = members[0]!;
    return outcome(
      p,
      statusOfState(first.state as LiveOrder['state']),
      `IB's answer was lost (${why}), so each order of the OCA group was looked up by its client order id: all ${members.length} exist exactly once (${ids.join('; ')}). Nothing was sent again.`,
      { approval, members, orderId: first.orderId, ibStatus: first.ibStatus },
    );
  }
  return outcome(
    p,
    'uncertain',
    `UNCERTAIN: the OCA group (${members.length} orders, one request) MAY have been placed. IB's answer was lost (${why})` +
      (lookupError ? ` and looking the orders up failed (${lookupError})` : '') +
      `; ${ids.join('; ')}. Nothing was sent again. Check get_order_status with each clientOrderId before placing anything similar; placing the group again under new ids could fill twice.`,
    { approval, members },
  );
}

// ---------------------------------------------------------------- brackets when modified

const roleOf = (o: Pick<LiveOrder, 'orderType'>): ChildChange['role'] =>
  o.orderType === 'LMT' ? 'take-profit' : 'stop-loss';

/**
 * A modification seen as part of its bracket: a child's price must stay on its side of the
 * parent's price (the fill price once filled) and its quantity follows the parent; a parent's
 * new price must keep its children on their sides, and its new quantity is given to its working
 * children (returned, to be sent once the parent's change is accepted). docs/ib/orders.md §7.5:
 * live rows name a child's parentId.
 */
export async function bracketOfModify(
  ctx: OrderContext,
  live: LiveOrder,
  order: OrderRequest,
  args: { quantity?: number | undefined },
  isOurParent: boolean,
  opts: CallOptions,
): Promise<ChildChange[]> {
  if (live.parentId) {
    if (args.quantity !== undefined) {
      throw new BrokerError(
        'INVALID_INPUT',
        `Order ${ident(live.orderId)} is a bracket child: its quantity follows its parent ${ident(live.parentId)}. Nothing was sent.`,
        { hint: `Change the quantity of the parent: modify_order {"orderId":"${live.parentId}","quantity":…}.` },
      );
    }
    const parent = await ctx.api.orderStatus(live.parentId, opts);
    const entry = parent.filled ? parent.avgPrice : (parent.limitPrice ?? parent.stopPrice);
    const tp = roleOf(live) === 'take-profit';
    refuseInvalid(
      bracketProblems(
        {
          side: parent.side,
          orderType: 'LMT',
          limitPrice: entry,
          ...(tp ? { takeProfit: order.limitPrice } : { stopLoss: order.stopPrice }),
        },
        undefined,
      ),
    );
    return [];
  }
  if (!isOurParent) return [];
  const kids = (await ctx.api.liveOrders({ ...opts, settled: true })).filter(
    (o) => o.parentId === live.orderId && o.state === 'working',
  );
  if (!kids.length) return [];
  const tpKid = kids.find((k) => roleOf(k) === 'take-profit');
  const slKid = kids.find((k) => roleOf(k) === 'stop-loss');
  refuseInvalid(
    bracketProblems({
      side: order.side,
      orderType: order.orderType,
      limitPrice: order.limitPrice,
      stopPrice: order.stopPrice,
      takeProfit: tpKid?.limitPrice,
      stopLoss: slKid?.stopPrice,
    }),
  );
  if (args.quantity === undefined) return [];
  return kids.map((k) => {
    const c: OrderRequest = {
      accountId: order.accountId,
      conid: order.conid,
      secType: order.secType,
      symbol: order.symbol,
      side: k.side,
      orderType: roleOf(k) === 'take-profit' ? 'LMT' : 'STP',
      quantity: order.quantity,
      tif: order.tif,
      outsideRth: order.outsideRth,
      clientOrderId: '',
    };
    if (c.orderType === 'LMT' && k.limitPrice !== undefined) c.limitPrice = k.limitPrice;
    if (c.orderType === 'STP' && k.stopPrice !== undefined) c.stopPrice = k.stopPrice;
    return { orderId: k.orderId, role: roleOf(k), order: c };
  });
}

/**
 * Sends each child's change after its parent's was accepted, once; a lost answer is reported
 * as such (never resent). The answer lists every order affected.
 */
export async function sendChildChanges(
  ctx: OrderContext,
  changes: ChildChange[],
  opts: CallOptions,
): Promise<{ children: PlacedOrder[]; text: string }> {
  const children: PlacedOrder[] = [];
  const parts: string[] = [];
  for (const c of changes) {
    try {
      const a = await ctx.api.modifyOrder(c.orderId, c.order, opts);
      if (a.kind === 'placed') {
        const r = a.orders[0];
        children.push({ orderId: c.orderId, status: r?.status ?? 'pending', state: r?.state ?? 'working' });
        parts.push(`${c.role} ${ident(c.orderId)} → quantity ${c.order.quantity} (${ident(r?.status ?? 'pending')})`);
      } else {
        const why = a.kind === 'rejected' ? a.message : `IB asks: ${a.question.messages.join(' ')}`;
        children.push({ orderId: c.orderId, status: `not changed: ${why}`, state: 'working' });
        parts.push(`${c.role} ${ident(c.orderId)} NOT changed (${untrusted(why)})`);
      }
    } catch (err) {
      children.push({ orderId: c.orderId, status: `answer lost: ${errorText(err)}`, state: 'working' });
      parts.push(
        `${c.role} ${ident(c.orderId)}: the change MAY have taken effect (answer lost: ${errorText(err)}; not resent)`,
      );
    }
  }
  const bad = children.filter((c) => c.status.startsWith('not changed') || c.status.startsWith('answer lost'));
  return {
    children,
    text:
      `Bracket children: ${parts.join('; ')}.` +
      (bad.length
        ? ` WARNING: ${bad.length} child order(s) may not match the parent's quantity; check get_live_orders and modify them.`
        : ''),
  };
}
