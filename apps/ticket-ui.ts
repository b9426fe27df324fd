/**
 * The order ticket: the exact order, IB's what-if and warnings, the limit checks; quantity and
 * limit price the human may change (the what-if runs again); Place and Cancel. All actions go
 * through the app-only `order_ticket` tool with the ticket's secret, which only this app holds.
 */
import { type Bridge, el, fmt, textOf } from './bridge.js';

type Json = Record<string, unknown>;

interface Preview {
  amount?: number;
  commission?: number;
  total?: number;
  currency?: string;
  equityBefore?: number;
  equityAfter?: number;
  initialMarginAfter?: number;
  maintenanceMarginAfter?: number;
  positionAfter?: number;
  warnings?: string[];
  error?: string;
}

export interface OrderResult {
  status: string;
  mode: string;
  accountId: string;
  contract: Json & { symbol?: string; secType?: string; conid?: number };
  sent: { side: string; quantity: number; orderType: string; price?: number; stopPrice?: number; tif: string };
  orderId?: string;
  ibStatus?: string;
  preview?: Preview;
  question?: { messages: string[] };
  approval?: string;
  message: string;
}

export interface Ticket {
  ticketId: string;
  status: 'open' | 'question' | 'done' | 'cancelled' | 'expired';
  mode: string;
  expiresAt: string;
  order: OrderResult;
  checks: Array<{ name: string; ok: boolean; detail?: string }>;
  result?: OrderResult;
  problem?: string;
  secret?: string;
}

/** A contract as one line: symbol, type, expiry/strike/right, exchange, currency, conid. */
export function contractLine(c: OrderResult['contract']): string {
  const parts = [c['symbol'], c['secType'], c['expiration'], c['strike'], c['right'], c['exchange'], c['currency']];
  return `${parts.filter((p) => p !== undefined && p !== '').join(' ')} · conid ${c['conid'] ?? '?'}`;
}

function row(label: string, value: string, id?: string): HTMLElement {
  return el('div', { class: 'row' }, el('span', { class: 'muted' }, label), el('span', id ? { id } : {}, value));
}

/** The what-if as rows. */
export function previewRows(p: Preview | undefined): HTMLElement {
  const box = el('div', { class: 'card', id: 'whatif', 'aria-live': 'polite' });
  box.append(el('h2', {}, "IB's what-if"));
  if (!p) {
    box.append(el('p', { class: 'muted' }, 'No what-if from IB.'));
    return box;
  }
  const ccy = p.currency ? ` ${p.currency}` : '';
  box.append(
    row('Cost', `${fmt(p.amount)}${ccy}`, 'wi-amount'),
    row('Commission', `${fmt(p.commission)}${ccy}`, 'wi-commission'),
    row('Total', `${fmt(p.total)}${ccy}`, 'wi-total'),
    row('Equity after', fmt(p.equityAfter, 0)),
    row('Initial margin after', fmt(p.initialMarginAfter, 0)),
    row('Maintenance margin after', fmt(p.maintenanceMarginAfter, 0)),
    row('Position after', fmt(p.positionAfter, 0), 'wi-position'),
  );
  for (const w of p.warnings ?? []) box.append(el('p', { class: 'warn', role: 'note' }, `⚠ ${w}`));
  if (p.error) box.append(el('p', { class: 'bad' }, `IB: ${p.error}`));
  return box;
}

/**
 * Renders a ticket into `root` and wires its controls. With `opening`, the ticket is painted at
 * once from what the order result already says, its controls off until the app has opened it.
 */
export function renderTicket(
  bridge: Bridge,
  root: HTMLElement,
  first: Ticket,
  opening?: Promise<Ticket | string>,
): void {
  let secret = first.secret ?? '';
  let t = first;
  let busy = opening !== undefined;
  // A modification of a working order (it has IB's order id): shown as asked, not editable.
  const modify = first.order.orderId !== undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const call = async (action: string, extra: Json = {}): Promise<Ticket | undefined> => {
    const r = await bridge.callTool('order_ticket', { action, ticketId: t.ticketId, secret, ...extra });
    if (r.isError || !r.structuredContent) {
      status.textContent = textOf(r) || 'The ticket could not be updated.';
      status.className = 'bad';
      return undefined;
    }
    return r.structuredContent as unknown as Ticket;
  };

  const qty = el('input', {
    id: 'quantity',
    type: 'number',
    min: '0',
    step: 'any',
    inputmode: 'decimal',
    'aria-label': 'Quantity',
  });
  const price = el('input', { id: 'price', type: 'number', min: '0', step: 'any', 'aria-label': 'Limit price' });
  const place = el('button', { id: 'place', type: 'button', class: 'primary' }, 'Place');
  const cancel = el('button', { id: 'cancel', type: 'button' }, 'Cancel');
  const status = el('p', { id: 'status', role: 'status', 'aria-live': 'polite' });
  const whatif = el('div');
  const checks = el('ul', { class: 'checks' });
  const outcome = el('div', { id: 'outcome' });

  const paint = () => {
    const o = t.order;
    qty.value = String(o.sent.quantity);
    if (o.sent.price !== undefined) price.value = String(o.sent.price);
    whatif.replaceChildren(previewRows(o.preview));
    checks.replaceChildren(
      ...t.checks.map((c) =>
        el('li', { class: c.ok ? 'ok' : 'bad' }, `${c.ok ? '✓' : '✗'} ${c.name}${c.detail ? `: ${c.detail}` : ''}`),
      ),
    );
    const open = t.status === 'open' || t.status === 'question';
    place.disabled = busy || !open;
    cancel.disabled = busy || !open;
    qty.disabled = busy || modify || t.status !== 'open';
    price.disabled = busy || modify || t.status !== 'open';
    place.textContent = t.status === 'question' ? "Confirm IB's warning and send" : modify ? 'Send change' : 'Place';
    root.dataset['status'] = t.status;
    if (t.problem) {
      status.textContent = t.problem;
      status.className = 'bad';
    } else if (!busy) {
      status.textContent = open ? `Ticket valid until ${new Date(t.expiresAt).toLocaleTimeString()}` : '';
      status.className = 'muted';
    }
    const r = t.result;
    outcome.replaceChildren();
    if (t.status === 'cancelled') outcome.append(el('p', { class: 'muted' }, 'Cancelled: nothing was sent.'));
    if (t.status === 'expired') outcome.append(el('p', { class: 'muted' }, 'This ticket expired: nothing was sent.'));
    if (r) {
      outcome.append(
        el(
          'div',
          { class: 'card' },
          el('h2', {}, `Result: ${r.status}`),
          row('IB order id', r.orderId ?? '–', 'order-id'),
          row('IB status', r.ibStatus ?? '–'),
          row('Approval', r.approval ?? '–', 'approval'),
          el('p', {}, r.message),
          ...(r.question?.messages ?? []).map((m) => el('p', { class: 'warn' }, `IB asks: ${m}`)),
        ),
      );
    }
  };

  const refresh = async () => {
    const quantity = Number(qty.value);
    if (!(quantity > 0)) {
      status.textContent = 'Quantity must be more than 0.';
      status.className = 'bad';
      return;
    }
    const change: Json = { quantity };
    if (t.order.sent.orderType !== 'MKT' && price.value) change['price'] = Number(price.value);
    busy = true;
    status.textContent = 'Updating the what-if…';
    status.className = 'muted';
    paint();
    const next = await call('update', change).catch(() => undefined);
    busy = false;
    if (next) t = next;
    root.dataset['whatif'] = String(Number(root.dataset['whatif'] ?? '0') + 1);
    paint();
  };
  const changed = () => {
    if (timer) clearTimeout(timer);
    place.disabled = true;
    timer = setTimeout(() => {
      timer = undefined;
      void refresh();
    }, 300);
  };
  qty.addEventListener('input', changed);
  price.addEventListener('input', changed);

  const act = (action: 'place' | 'cancel') => async () => {
    if (busy) return;
    if (timer) {
      // A change still waiting for its what-if: the human must see the new figures first.
      status.textContent = 'Wait for the updated what-if.';
      return;
    }
    busy = true;
    status.textContent = action === 'place' ? 'Placing…' : 'Cancelling…';
    paint();
    const next = await call(action).catch(() => undefined);
    busy = false;
    if (next) t = next;
    paint();
  };
  place.addEventListener('click', act('place'));
  cancel.addEventListener('click', act('cancel'));

  const o = t.order;
  const live = o.mode === 'LIVE';
  root.replaceChildren(
    el(
      'header',
      {},
      el('h1', {}, modify ? `Change of order ${o.orderId}` : 'Order ticket'),
      el('span', { class: `badge ${live ? 'live' : ''}`, id: 'mode' }, live ? 'LIVE · real money' : o.mode),
    ),
    el(
      'div',
      { class: 'card' },
      row('Account', o.accountId),
      row('Contract', contractLine(o.contract), 'contract'),
      row('Side', o.sent.side, 'side'),
      row('Order type', `${o.sent.orderType} · ${o.sent.tif}`),
      el('label', { class: 'row', for: 'quantity' }, el('span', { class: 'muted' }, 'Quantity'), qty),
      o.sent.orderType === 'MKT'
        ? row('Price', 'market')
        : el('label', { class: 'row', for: 'price' }, el('span', { class: 'muted' }, 'Limit price'), price),
    ),
    whatif,
    el('div', { class: 'card' }, el('h2', {}, 'Checks'), checks),
    el('div', { class: 'actions' }, cancel, place),
    status,
    outcome,
  );
  if (busy) status.textContent = 'Opening the ticket…';
  paint();
  void opening?.then((opened) => {
    busy = false;
    if (typeof opened === 'string') {
      t = { ...t, status: 'expired', problem: opened };
    } else {
      t = opened;
      secret = opened.secret ?? '';
    }
    paint();
  });
  // After the frame that shows the ticket: the test host reads this as the ticket's first paint.
  requestAnimationFrame(() => setTimeout(() => performance.mark('ticket-painted'), 0));
}
