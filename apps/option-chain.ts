/**
 * The option chain view: strikes × expirations with bid/ask, greeks and IV for calls and puts.
 * A click (or Enter) on a bid or ask prepares an order ticket for that contract: sell at the bid,
 * buy at the ask, one contract; the human checks IB's what-if and places or cancels it there.
 */
import { el, fmt, start, type ToolResult, textOf } from './bridge.js';
import { renderTicket, type Ticket } from './ticket-ui.js';

interface Chain {
  underlying: { symbol: string; price?: number };
  columns: string[];
  expirations: Array<{ expiry: string; daysToExpiry?: number; rows: Array<Array<number | null>> }>;
  mode?: string;
}

const { bridge, root } = start('ibkr-option-chain');
let chain: Chain | undefined;
let current = 0;
let accounts: string[] | undefined;
let account = '';

const CALL = ['C.delta', 'C.gamma', 'C.theta', 'C.vega', 'C.iv', 'C.bid', 'C.ask'];
const PUT = ['P.bid', 'P.ask', 'P.iv', 'P.delta', 'P.gamma', 'P.theta', 'P.vega'];
const LABEL: Record<string, string> = {
  delta: 'Δ',
  gamma: 'Γ',
  theta: 'Θ',
  vega: 'V',
  iv: 'IV%',
  bid: 'Bid',
  ask: 'Ask',
};

async function prepare(conid: number, side: 'BUY' | 'SELL', price: number): Promise<void> {
  const status = document.getElementById('chain-status');
  if (!account) {
    if (status) status.textContent = 'Choose the account first.';
    (document.getElementById('account') as HTMLElement | null)?.focus();
    return;
  }
  if (status) status.textContent = 'Preparing the order ticket…';
  const r = await bridge.callTool('order_ticket', {
    action: 'prepare',
    conid,
    side,
    quantity: 1,
    price,
    accountId: account,
  });
  if (r.isError || !r.structuredContent) {
    if (status) status.textContent = textOf(r);
    return;
  }
  const box = el('div');
  const back = el('button', { type: 'button', id: 'back' }, '← Back to the chain');
  back.addEventListener('click', render);
  root.replaceChildren(back, box);
  renderTicket(bridge, box, r.structuredContent as unknown as Ticket);
}

function cell(v: number | null | undefined, col: string, conid: number | null | undefined): HTMLElement {
  const digits = col.endsWith('iv')
    ? 1
    : col.endsWith('gamma') || col.endsWith('vega')
      ? 4
      : col.endsWith('delta') || col.endsWith('theta')
        ? 3
        : 2;
  const td = el('td', {}, fmt(v, digits));
  const quote = col.endsWith('.bid') || col.endsWith('.ask');
  if (quote && typeof v === 'number' && v > 0 && conid) {
    const side = col.endsWith('.ask') ? 'BUY' : 'SELL';
    td.className = 'cell';
    td.tabIndex = 0;
    td.setAttribute('role', 'button');
    td.setAttribute('aria-label', `${side} 1 at ${v}`);
    const go = () => void prepare(conid, side, v);
    td.addEventListener('click', go);
    td.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' || e.key === ' ') {
        e.preventDefault();
        go();
      }
    });
  }
  return td;
}

function render(): void {
  if (!chain) return;
  const idx = (name: string) => chain!.columns.indexOf(name);
  const exp = chain.expirations[current];
  const select = el('select', { id: 'expiry', 'aria-label': 'Expiration' });
  chain.expirations.forEach((e, i) => {
    const o = el(
      'option',
      { value: String(i) },
      `${e.expiry}${e.daysToExpiry !== undefined ? ` (${e.daysToExpiry}d)` : ''}`,
    );
    if (i === current) o.selected = true;
    select.append(o);
  });
  select.addEventListener('change', () => {
    current = Number(select.value);
    render();
  });
  const acct = el('select', { id: 'account', 'aria-label': 'Account for orders' });
  acct.append(el('option', { value: '' }, accounts ? 'Account…' : 'Loading accounts…'));
  for (const a of accounts ?? []) {
    const o = el('option', { value: a }, a);
    if (a === account) o.selected = true;
    acct.append(o);
  }
  acct.addEventListener('change', () => {
    account = acct.value;
  });
  const px = chain.underlying.price;
  let atm = -1;
  if (exp && px !== undefined) {
    let best = Infinity;
    exp.rows.forEach((r, i) => {
      const d = Math.abs((r[0] ?? 0) - px);
      if (d < best) {
        best = d;
        atm = i;
      }
    });
  }
  const head = el(
    'tr',
    {},
    ...CALL.map((c) => el('th', {}, `C ${LABEL[c.slice(2)]}`)),
    el('th', {}, 'Strike'),
    ...PUT.map((c) => el('th', {}, `P ${LABEL[c.slice(2)]}`)),
  );
  const rows = (exp?.rows ?? []).map((r, i) =>
    el(
      'tr',
      i === atm ? { class: 'atm' } : {},
      ...CALL.map((c) => cell(r[idx(c)], c, r[idx('C.conid')])),
      el('td', { class: 'strike' }, el('b', {}, fmt(r[0], 2))),
      ...PUT.map((c) => cell(r[idx(c)], c, r[idx('P.conid')])),
    ),
  );
  root.replaceChildren(
    el(
      'header',
      {},
      el('h1', {}, `${chain.underlying.symbol} options · ${fmt(px)}`),
      el('span', {}, select, ' ', acct, ' ', el('span', { class: 'badge' }, chain.mode ?? '')),
    ),
    el(
      'p',
      { class: 'muted', id: 'chain-status' },
      'Click a bid to sell or an ask to buy: a ticket opens for you to check.',
    ),
    el('div', { class: 'scroll' }, el('table', {}, el('thead', {}, head), el('tbody', {}, ...rows))),
  );
}

/** The accounts an order may go to; the human picks one (preselected when there is only one). */
async function loadAccounts(): Promise<void> {
  const r = await bridge.callTool('get_account_info', {}).catch(() => undefined);
  const list = (r?.structuredContent?.['accounts'] as Array<{ id?: string; accountId?: string }> | undefined) ?? [];
  accounts = list.map((a) => a.id ?? a.accountId ?? '').filter(Boolean);
  if (accounts.length === 1) account = accounts[0]!;
  render();
}

bridge.onToolResult = (r: ToolResult) => {
  const s = r.structuredContent as unknown as Chain | undefined;
  if (r.isError || !s?.expirations) {
    root.replaceChildren(el('p', { class: 'bad' }, textOf(r)));
    return;
  }
  chain = s;
  current = 0;
  render();
  if (!accounts) void loadAccounts();
};
root.replaceChildren(el('p', { class: 'muted' }, 'Waiting for the chain…'));
