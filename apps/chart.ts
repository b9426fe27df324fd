/**
 * The chart view: candlesticks and volume from get_historical_data's rows, with a crosshair that
 * shows the bar's open, high, low, close and volume; zoom with the wheel, + and −, pan with the
 * arrow keys (←/→ move the crosshair, Shift pans), Home/End jump, 0 resets.
 */
import { el, fmt, start, type ToolResult, textOf } from './bridge.js';

type Row = [string, number, number, number, number, number | null];
interface History {
  contract: { symbol: string; currency?: string };
  period: string;
  bar: string;
  rows: Row[];
  mode?: string;
}

const { bridge, root } = start('ibkr-chart');
const NS = 'http://www.w3.org/2000/svg';
const W = 720;
const H = 360;
const PRICE_H = 260;
const PAD = 44;
let data: History | undefined;
let from = 0;
let to = 0;
let cursor = -1;

function s<K extends keyof SVGElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | number>,
): SVGElementTagNameMap[K] {
  const e = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  return e;
}

function draw(): void {
  if (!data) return;
  const rows = data.rows.slice(from, to);
  const svg = s('svg', { viewBox: `0 0 ${W} ${H}`, width: '100%', role: 'img', id: 'chart-svg', tabindex: 0 });
  svg.setAttribute('aria-label', `${data.contract.symbol} ${data.bar} candles, ${rows.length} bars`);
  const lo = Math.min(...rows.map((r) => r[3]));
  const hi = Math.max(...rows.map((r) => r[2]));
  const vmax = Math.max(1, ...rows.map((r) => r[5] ?? 0));
  const span = hi - lo || 1;
  const step = (W - PAD) / Math.max(1, rows.length);
  const y = (p: number) => 8 + ((hi - p) / span) * (PRICE_H - 16);
  for (let i = 0; i <= 4; i++) {
    const p = lo + (span * i) / 4;
    svg.append(s('line', { x1: 0, x2: W - PAD, y1: y(p), y2: y(p), class: 'grid' }));
    const t = s('text', { x: W - PAD + 4, y: y(p) + 3 });
    t.textContent = fmt(p);
    svg.append(t);
  }
  rows.forEach((r, i) => {
    const [, o, h, l, c, v] = r;
    const x = i * step + step / 2;
    const color = c >= o ? 'c-up' : 'c-down';
    svg.append(s('line', { x1: x, x2: x, y1: y(h), y2: y(l), class: color }));
    const bw = Math.max(1, step * 0.7);
    svg.append(
      s('rect', {
        x: x - bw / 2,
        y: y(Math.max(o, c)),
        width: bw,
        height: Math.max(1, Math.abs(y(o) - y(c))),
        class: color,
      }),
    );
    const vh = ((v ?? 0) / vmax) * (H - PRICE_H - 16);
    svg.append(s('rect', { x: x - bw / 2, y: H - 4 - vh, width: bw, height: vh, class: `${color} vol` }));
  });
  const info = el(
    'p',
    { id: 'ohlc', class: 'muted', 'aria-live': 'polite' },
    'Move over the chart or use ← → for a bar’s values.',
  );
  if (cursor >= 0 && cursor < rows.length) {
    const r = rows[cursor]!;
    const x = cursor * step + step / 2;
    svg.append(s('line', { x1: x, x2: x, y1: 0, y2: H, class: 'cross' }));
    svg.append(s('line', { x1: 0, x2: W - PAD, y1: y(r[4]), y2: y(r[4]), class: 'cross' }));
    info.textContent = `${r[0]}  O ${fmt(r[1])}  H ${fmt(r[2])}  L ${fmt(r[3])}  C ${fmt(r[4])}  V ${fmt(r[5], 0)}`;
  }
  svg.addEventListener('mousemove', (e) => {
    const box = svg.getBoundingClientRect();
    const i = Math.floor((((e.clientX - box.left) / box.width) * W) / step);
    if (i !== cursor && i >= 0 && i < rows.length) {
      cursor = i;
      draw();
    }
  });
  svg.addEventListener('wheel', (e) => {
    e.preventDefault();
    zoom(e.deltaY < 0 ? 0.8 : 1.25);
  });
  svg.addEventListener('keydown', key);
  const old = document.getElementById('chart-svg');
  const focused = document.activeElement === old;
  root.replaceChildren(
    el(
      'header',
      {},
      el('h1', {}, `${data.contract.symbol} · ${data.period} of ${data.bar} bars`),
      el('span', { class: 'badge' }, data.mode ?? ''),
    ),
    svg,
    info,
    el(
      'p',
      { class: 'muted' },
      `Bars ${from + 1}–${to} of ${data.rows.length}. Zoom: wheel, + −; pan: Shift+← →; reset: 0.`,
    ),
  );
  if (focused) svg.focus();
}

function zoom(f: number): void {
  if (!data) return;
  const n = data.rows.length;
  const mid = cursor >= 0 ? from + cursor : Math.floor((from + to) / 2);
  const width = Math.min(n, Math.max(10, Math.round((to - from) * f)));
  from = Math.max(0, Math.min(n - width, mid - Math.floor(width / 2)));
  to = from + width;
  cursor = Math.min(cursor, to - from - 1);
  draw();
}

function key(e: KeyboardEvent): void {
  if (!data) return;
  const n = data.rows.length;
  const width = to - from;
  const k = e.key;
  if (k === '+' || k === '=') zoom(0.8);
  else if (k === '-' || k === '_') zoom(1.25);
  else if (k === '0') {
    from = 0;
    to = n;
    draw();
  } else if (k === 'ArrowLeft' || k === 'ArrowRight') {
    const d = k === 'ArrowLeft' ? -1 : 1;
    if (e.shiftKey) {
      from = Math.max(0, Math.min(n - width, from + d * Math.max(1, Math.floor(width / 10))));
      to = from + width;
    } else cursor = Math.max(0, Math.min(width - 1, (cursor < 0 ? width - 1 : cursor) + d));
    draw();
  } else if (k === 'Home' || k === 'End') {
    cursor = k === 'Home' ? 0 : width - 1;
    draw();
  } else return;
  e.preventDefault();
}

bridge.onToolResult = (r: ToolResult) => {
  const h = r.structuredContent as unknown as History | undefined;
  if (r.isError || !h?.rows?.length) {
    root.replaceChildren(el('p', { class: 'bad' }, r.isError ? textOf(r) : 'No bars.'));
    return;
  }
  data = h;
  from = 0;
  to = h.rows.length;
  cursor = -1;
  draw();
};
root.replaceChildren(el('p', { class: 'muted' }, 'Waiting for bars…'));
