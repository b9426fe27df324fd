/**
 * A candlestick chart with a volume pane, as a self-contained SVG string built by hand:
 * no DOM, no browser. Pure functions, so layout is testable without rasterising.
 */
import type { Bar } from '../broker/types.js';

export interface ChartOptions {
  width: number;
  height: number;
  /** Left title, e.g. "AAPL 6m · 1d bars". Escaped here. */
  title: string;
  /** Right-aligned headline, e.g. "284.27 +2.15%". Escaped here. */
  headline?: string;
  /** True for intraday bars: the time axis shows hours. */
  intraday?: boolean;
}

export const COLORS = {
  background: '#ffffff',
  up: '#1a9c82',
  down: '#e0454a',
  grid: '#e6e8eb',
  axis: '#5f6670',
  text: '#1f2329',
  last: '#3b6fd8',
};

const FONT = 'DejaVu Sans, Liberation Sans, Arial, Helvetica, sans-serif';

export function escapeXml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!,
  );
}

/** Merges consecutive bars so that at most `max` remain (each keeps open, high, low, close, volume). */
export function aggregateBars(bars: readonly Bar[], max: number): Bar[] {
  if (bars.length <= max) return [...bars];
  const group = Math.ceil(bars.length / max);
  const out: Bar[] = [];
  for (let i = 0; i < bars.length; i += group) {
    const chunk = bars.slice(i, i + group);
    out.push({
      t: chunk[0]!.t,
      o: chunk[0]!.o,
      h: Math.max(...chunk.map((b) => b.h)),
      l: Math.min(...chunk.map((b) => b.l)),
      c: chunk[chunk.length - 1]!.c,
      v: chunk.reduce((a, b) => a + (b.v ?? 0), 0),
    });
  }
  return out;
}

/** About `count` round tick values covering [lo, hi]. */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const ticks: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) ticks.push(Number(v.toFixed(10)));
  return ticks;
}

function fmtPrice(v: number, span: number): string {
  const digits = span >= 100 ? 0 : span >= 10 ? 1 : span >= 1 ? 2 : span >= 0.1 ? 3 : 4;
  return v.toFixed(digits);
}

function fmtVolume(v: number): string {
  const a = Math.abs(v);
  if (a >= 1e9) return `${(v / 1e9).toFixed(1)}B`;
  if (a >= 1e6) return `${(v / 1e6).toFixed(1)}M`;
  if (a >= 1e3) return `${(v / 1e3).toFixed(0)}K`;
  return String(Math.round(v));
}

function fmtTime(t: number, intraday: boolean, spanMs: number): string {
  const iso = new Date(t).toISOString();
  if (!intraday) return spanMs > 400 * 86_400_000 ? iso.slice(0, 7) : iso.slice(0, 10);
  return spanMs > 86_400_000 ? `${iso.slice(5, 10)} ${iso.slice(11, 16)}` : iso.slice(11, 16);
}

const r1 = (v: number) => Math.round(v * 10) / 10;

export function candlestickSvg(input: readonly Bar[], opts: ChartOptions): string {
  const W = Math.round(opts.width);
  const H = Math.round(opts.height);
  const m = { top: 34, right: 62, bottom: 24, left: 10 };
  const plotW = W - m.left - m.right;
  const plotH = H - m.top - m.bottom;
  const volH = Math.round(plotH * 0.22);
  const priceH = plotH - volH - 8;
  const bars = aggregateBars(input, Math.max(1, Math.floor(plotW / 2)));
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="${FONT}">`,
    `<rect width="${W}" height="${H}" fill="${COLORS.background}"/>`,
    `<text x="${m.left}" y="21" font-size="14" font-weight="bold" fill="${COLORS.text}">${escapeXml(opts.title)}</text>`,
  ];
  if (opts.headline) {
    out.push(
      `<text x="${W - m.right}" y="21" font-size="13" text-anchor="end" fill="${COLORS.text}">${escapeXml(opts.headline)}</text>`,
    );
  }
  if (bars.length === 0) {
    out.push(
      `<text x="${W / 2}" y="${H / 2}" font-size="14" text-anchor="middle" fill="${COLORS.axis}">no data</text>`,
      '</svg>',
    );
    return out.join('');
  }

  let lo = Math.min(...bars.map((b) => b.l));
  let hi = Math.max(...bars.map((b) => b.h));
  if (hi === lo) {
    hi += Math.abs(hi) * 0.01 || 1;
    lo -= Math.abs(lo) * 0.01 || 1;
  }
  const pad = (hi - lo) * 0.04;
  lo -= pad;
  hi += pad;
  const y = (p: number) => m.top + ((hi - p) / (hi - lo)) * priceH;
  const maxVol = Math.max(...bars.map((b) => b.v ?? 0), 0);
  const volTop = m.top + priceH + 8;
  const yv = (v: number) => volTop + volH - (maxVol > 0 ? (v / maxVol) * volH : 0);
  const slot = plotW / bars.length;
  const bodyW = Math.max(1, Math.min(slot * 0.7, 24));
  const x = (i: number) => m.left + slot * (i + 0.5);

  const last = bars[bars.length - 1]!.c;
  const ly = r1(y(last));
  // Price grid and right-hand axis (labels the last-close tag would cover are left out).
  for (const t of niceTicks(lo, hi, 5)) {
    const yy = r1(y(t));
    out.push(
      `<line x1="${m.left}" y1="${yy}" x2="${m.left + plotW}" y2="${yy}" stroke="${COLORS.grid}" stroke-width="1"/>`,
    );
    if (Math.abs(yy - ly) >= 14) {
      out.push(
        `<text x="${m.left + plotW + 6}" y="${r1(yy + 4)}" font-size="11" fill="${COLORS.axis}">${fmtPrice(t, hi - lo)}</text>`,
      );
    }
  }
  // Volume pane frame and its max label.
  out.push(
    `<line x1="${m.left}" y1="${volTop + volH}" x2="${m.left + plotW}" y2="${volTop + volH}" stroke="${COLORS.grid}" stroke-width="1"/>`,
  );
  if (maxVol > 0) {
    out.push(
      `<text x="${m.left + plotW + 6}" y="${volTop + 10}" font-size="10" fill="${COLORS.axis}">${fmtVolume(maxVol)}</text>`,
    );
  }
  // Time axis labels, about one per 110 px.
  const spanMs = bars[bars.length - 1]!.t - bars[0]!.t;
  const labels = Math.max(2, Math.min(bars.length, Math.floor(plotW / 110)));
  for (let k = 0; k < labels; k++) {
    const i = Math.round((k * (bars.length - 1)) / Math.max(1, labels - 1));
    const anchor = k === 0 ? 'start' : k === labels - 1 ? 'end' : 'middle';
    const xx = k === 0 ? m.left : k === labels - 1 ? m.left + plotW : x(i);
    out.push(
      `<text x="${r1(xx)}" y="${H - 7}" font-size="10" text-anchor="${anchor}" fill="${COLORS.axis}">${fmtTime(bars[i]!.t, opts.intraday ?? false, spanMs)}</text>`,
    );
  }
  // Candles and volume bars.
  const candles: string[] = [];
  for (let i = 0; i < bars.length; i++) {
    const b = bars[i]!;
    const color = b.c >= b.o ? COLORS.up : COLORS.down;
    const cx = r1(x(i));
    const top = y(Math.max(b.o, b.c));
    const bodyH = Math.max(1, y(Math.min(b.o, b.c)) - top);
    candles.push(
      `<line x1="${cx}" y1="${r1(y(b.h))}" x2="${cx}" y2="${r1(y(b.l))}" stroke="${color}" stroke-width="1"/>`,
      `<rect x="${r1(cx - bodyW / 2)}" y="${r1(top)}" width="${r1(bodyW)}" height="${r1(bodyH)}" fill="${color}"/>`,
    );
    if (maxVol > 0 && b.v !== undefined && b.v > 0) {
      const vy = yv(b.v);
      candles.push(
        `<rect x="${r1(cx - bodyW / 2)}" y="${r1(vy)}" width="${r1(bodyW)}" height="${r1(volTop + volH - vy)}" fill="${color}" fill-opacity="0.45"/>`,
      );
    }
  }
  out.push(...candles);
  // Last close: a dashed line and a tag on the axis.
  out.push(
    `<line x1="${m.left}" y1="${ly}" x2="${m.left + plotW}" y2="${ly}" stroke="${COLORS.last}" stroke-width="1" stroke-dasharray="4 3"/>`,
    `<rect x="${m.left + plotW + 2}" y="${r1(ly - 8)}" width="${m.right - 4}" height="16" rx="2" fill="${COLORS.last}"/>`,
    `<text x="${m.left + plotW + 6}" y="${r1(ly + 4)}" font-size="11" fill="#ffffff">${fmtPrice(last, hi - lo)}</text>`,
    '</svg>',
  );
  return out.join('');
}
