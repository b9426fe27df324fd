/**
 * The order ticket view. For a LIVE order the model asked for, the result's `_meta` names the
 * ticket; the app opens it (app-only tool, which hands this app the ticket's secret) and the human
 * places or cancels it. Any other order result is shown read-only.
 */
import { el, start, textOf } from './bridge.js';
import { contractLine, type OrderResult, previewRows, renderTicket, type Ticket } from './ticket-ui.js';

const TICKET_META_KEY = 'io.github.ibkr-mcp/ticket';
const { bridge, root } = start('ibkr-order-ticket');
root.replaceChildren(el('p', { class: 'muted' }, 'Waiting for the order…'));

bridge.onToolResult = async (r) => {
  const ticket = r._meta?.[TICKET_META_KEY] as { id?: string } | undefined;
  const o = r.structuredContent as unknown as OrderResult | undefined;
  if (ticket?.id && o?.sent) {
    const id = ticket.id;
    const opening = bridge.callTool('order_ticket', { action: 'open', ticketId: id }).then(
      (opened) =>
        !opened.isError && opened.structuredContent
          ? (opened.structuredContent as unknown as Ticket)
          : textOf(opened) || 'The ticket could not be opened.',
      (err: Error) => err.message,
    );
    renderTicket(
      bridge,
      root,
      { ticketId: id, status: 'open', mode: o.mode, expiresAt: '', order: o, checks: [] },
      opening,
    );
    return;
  }
  if (r.isError || !o?.sent) {
    root.replaceChildren(el('p', { class: 'bad' }, textOf(r)));
    return;
  }
  root.replaceChildren(
    el('header', {}, el('h1', {}, `Order: ${o.status}`), el('span', { class: 'badge' }, o.mode)),
    el(
      'div',
      { class: 'card' },
      el('p', {}, contractLine(o.contract)),
      el(
        'p',
        {},
        `${o.sent.side} ${o.sent.quantity} ${o.sent.orderType}${o.sent.price !== undefined ? ` @ ${o.sent.price}` : ''}`,
      ),
      el('p', { class: 'muted' }, o.message),
    ),
    previewRows(o.preview),
  );
};
