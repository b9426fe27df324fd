/**
 * The portfolio view: positions with P&L (sortable by any column, by mouse or keyboard), the
 * allocation by security type and by currency, one account or all; Refresh reads the positions
 * again from the server.
 */
import { type Bridge, el, fmt, start, type ToolResult, textOf } from './bridge.js';

interface Position {
  account?: string;
  symbol: string;
  secType: string;
  currency: string;
  qty: number;
  avgCost?: number;
  price?: number;
  value?: number;
  unrealizedPnl?: number;
  realizedPnl?: number;
  name?: string;
}
type Key = 'symbol' | 'secType' | 'currency' | 'qty' | 'avgCost' | 'price' | 'value' | 'unrealizedPnl';
const COLUMNS: Array<[Key, string]> = [
  ['symbol', 'Symbol'],
  ['secType', 'Type'],
  ['currency', 'Ccy'],
  ['qty', 'Qty'],
  ['avgCost', 'Avg cost'],
  ['price', 'Price'],
  ['value', 'Value'],
  ['unrealizedPnl', 'Unrealized P&L'],
];

const { bridge, root } = start('ibkr-portfolio');
let positions: Position[] = [];
let accounts: string[] = [];
let account = '';
let sortKey: Key = 'value';
let desc = true;
let lastArgs: Record<string, unknown> = {};
let more = 0;

function allocation(title: string, groups: Map<string, number>, ccy?: string): HTMLElement {
  const total = [...groups.values()].reduce((a, v) => a + Math.abs(v), 0) || 1;
  const items = [...groups.entries()].sort((a, b) => Math.abs(b[1]) - Math.abs(a[1]));
  return el(
    'div',
    { class: 'card' },
    el('h2', {}, title),
    el(
      'div',
      { class: 'bars' },
      ...items.map(([k, v]) => {
        const pct = (Math.abs(v) / total) * 100;
        const bar = el('i');
        bar.style.width = `${pct.toFixed(1)}%`;
        return el(
          'div',
          { class: 'bar', role: 'img', 'aria-label': `${k} ${pct.toFixed(1)}%` },
          el('span', {}, k),
          el('span', {}, bar),
          el('span', {}, ccy === undefined ? `${pct.toFixed(1)}%` : `${fmt(v, 0)} ${ccy || k}`),
        );
      }),
    ),
  );
}

function render(): void {
  const shown = positions.filter((p) => !account || p.account === account);
  const sorted = [...shown].sort((a, b) => {
    const x = a[sortKey];
    const y = b[sortKey];
    const c = typeof x === 'number' && typeof y === 'number' ? x - y : String(x ?? '').localeCompare(String(y ?? ''));
    return desc ? -c : c;
  });
  const head = el(
    'tr',
    {},
    ...COLUMNS.map(([k, label]) => {
      const b = el('button', { type: 'button', 'data-sort': k }, label + (k === sortKey ? (desc ? ' ▼' : ' ▲') : ''));
      b.addEventListener('click', () => {
        desc = k === sortKey ? !desc : k !== 'symbol';
        sortKey = k;
        render();
        (root.querySelector(`[data-sort="${k}"]`) as HTMLElement | null)?.focus();
      });
      return el('th', { 'aria-sort': k === sortKey ? (desc ? 'descending' : 'ascending') : 'none' }, b);
    }),
  );
  const rows = sorted.map((p) =>
    el(
      'tr',
      {},
      el('td', { title: p.name ?? '' }, p.symbol),
      el('td', {}, p.secType),
      el('td', {}, p.currency),
      el('td', {}, fmt(p.qty, 0)),
      el('td', {}, fmt(p.avgCost)),
      el('td', {}, fmt(p.price)),
      el('td', {}, fmt(p.value, 0)),
      el('td', { class: (p.unrealizedPnl ?? 0) >= 0 ? 'up' : 'down' }, fmt(p.unrealizedPnl, 0)),
    ),
  );
  const byCcy = new Map<string, number>();
  const byType = new Map<string, Map<string, number>>();
  for (const p of shown) {
    byCcy.set(p.currency, (byCcy.get(p.currency) ?? 0) + (p.value ?? 0));
    const m = byType.get(p.currency) ?? new Map<string, number>();
    m.set(p.secType, (m.get(p.secType) ?? 0) + (p.value ?? 0));
    byType.set(p.currency, m);
  }
  const pnl = new Map<string, number>();
  for (const p of shown) pnl.set(p.currency, (pnl.get(p.currency) ?? 0) + (p.unrealizedPnl ?? 0));
  const select = el('select', { id: 'account', 'aria-label': 'Account' });
  select.append(el('option', { value: '' }, `All accounts (${accounts.length})`));
  for (const a of accounts) {
    const o = el('option', { value: a }, a);
    if (a === account) o.selected = true;
    select.append(o);
  }
  select.addEventListener('change', () => {
    account = select.value;
    render();
  });
  const refresh = el('button', { type: 'button', id: 'refresh' }, 'Refresh');
  refresh.addEventListener('click', () => void reload(bridge));
  root.replaceChildren(
    el('header', {}, el('h1', {}, `Portfolio · ${shown.length} positions`), el('span', {}, select, ' ', refresh)),
    el(
      'p',
      { class: 'muted' },
      `Unrealized P&L: ${[...pnl.entries()].map(([c, v]) => `${fmt(v, 0)} ${c}`).join(' · ') || '–'}`,
    ),
    el(
      'div',
      { class: 'grid2' },
      allocation('By currency (value in each currency)', byCcy, ''),
      ...[...byType.entries()].map(([c, m]) => allocation(`By security type (${c})`, m)),
    ),
    more ? el('p', { class: 'muted' }, `${more} more positions not in this result: Refresh loads them all.`) : '',
    el('div', { class: 'scroll' }, el('table', {}, el('thead', {}, head), el('tbody', {}, ...rows))),
  );
}

function show(r: ToolResult): void {
  const s = r.structuredContent as { positions?: Position[]; accounts?: string[] } | undefined;
  if (r.isError || !s?.positions) {
    root.replaceChildren(el('p', { class: 'bad' }, textOf(r)));
    return;
  }
  positions = s.positions;
  more = (s as { more?: number }).more ?? 0;
  accounts = s.accounts ?? [];
  render();
}

async function reload(b: Bridge): Promise<void> {
  show(await b.callTool('get_positions', { ...lastArgs, limit: 1000 }));
}

bridge.onToolInput = (args) => {
  lastArgs = args;
};
bridge.onToolResult = show;
root.replaceChildren(el('p', { class: 'muted' }, 'Waiting for positions…'));
