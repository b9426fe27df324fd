/**
 * get_price_chart: a candlestick chart with volume as a PNG image, plus a short text
 * summary (range, change, high/low) so a model that cannot see images still gets the facts.
 */
import * as z from 'zod';
import { BrokerError } from '../broker/errors.js';
import type { Bar } from '../broker/types.js';
import { candlestickSvg } from '../chart/svg.js';
import {
  ContractOut,
  callOpts,
  contractLabel,
  contractOut,
  ident,
  instrumentFields,
  num,
  resolveInstrument,
  SymbolSchema,
  signed,
} from './common.js';
import { defaultBar } from './marketdata.js';
import { defineTool, type ToolContext } from './tool.js';

const isoMinute = (t: number) => `${new Date(t).toISOString().slice(0, 16)}Z`;

/** Range, change and extremes of a bar series (null when empty). */
export function summarizeBars(bars: readonly Bar[]) {
  if (bars.length === 0) return null;
  const first = bars[0]!;
  const last = bars[bars.length - 1]!;
  let hi = first;
  let lo = first;
  for (const b of bars) {
    if (b.h > hi.h) hi = b;
    if (b.l < lo.l) lo = b;
  }
  const change = last.c - first.o;
  return {
    from: isoMinute(first.t),
    to: isoMinute(last.t),
    open: first.o,
    close: last.c,
    change: Number(change.toFixed(6)),
    changePct: first.o ? Number(((change / first.o) * 100).toFixed(2)) : 0,
    high: hi.h,
    highAt: isoMinute(hi.t),
    low: lo.l,
    lowAt: isoMinute(lo.t),
    volume: bars.reduce((a, b) => a + (b.v ?? 0), 0),
  };
}

export const getPriceChart = defineTool({
  name: 'get_price_chart',
  title: 'Price chart',
  toolset: 'chart',
  kind: 'read',
  description: 'Candlestick chart (PNG) with volume and a short summary, to show a price history.',
  input: z.object({
    symbol: SymbolSchema.optional(),
    period: z.string().trim().max(12).default('6m').describe('e.g. 1d, 5d, 1m, 1y, 5y'),
    bar: z.string().trim().max(8).optional().describe('Default from the period'),
    outsideRth: z.boolean().default(false),
    width: z.number().int().min(320).max(1600).default(800),
    height: z.number().int().min(240).max(1200).default(480),
    ...instrumentFields,
  }),
  output: z.object({
    contract: ContractOut,
    period: z.string(),
    bar: z.string(),
    bars: z.number().describe('Bars drawn'),
    summary: z
      .object({
        from: z.string(),
        to: z.string(),
        open: z.number(),
        close: z.number(),
        change: z.number(),
        changePct: z.number(),
        high: z.number(),
        highAt: z.string(),
        low: z.number(),
        lowAt: z.string(),
        volume: z.number(),
      })
      .optional(),
    availability: z.string().describe('Market-data availability: live, delayed, frozen, not-subscribed'),
    image: z.object({ width: z.number(), height: z.number(), bytes: z.number() }).describe('The attached PNG'),
  }),
  async handle(args, ctx) {
    const period = args.period.toLowerCase().replace(/\s+/g, '');
    const bar = (args.bar ?? defaultBar(period)).toLowerCase().replace(/\s+/g, '');
    await ctx.progress(0, 3, 'resolving the instrument');
    const contract = await resolveInstrument(ctx, args);
    await ctx.progress(1, 3, 'loading history');
    const hist = await ctx.app.backend.history(
      { conid: contract.conid, period, bar, outsideRth: args.outsideRth },
      callOpts(ctx),
    );
    await ctx.progress(2, 3, 'drawing');
    const summary = summarizeBars(hist.bars);
    const intraday = /min|h$/.test(bar);
    const svg = candlestickSvg(hist.bars, {
      width: args.width,
      height: args.height,
      title: `${ident(contract.symbol)}${contract.currency ? ` (${ident(contract.currency)})` : ''} · ${period} of ${bar} bars`,
      ...(summary ? { headline: `${num(summary.close)}  ${signed(summary.changePct)}%` } : {}),
      intraday,
    });
    // Loaded on first use: the native rasteriser costs start-up time every other tool would pay,
    // and it is installed into the cache on first use (~4 MB a platform).
    const renderer = await chartRenderer(ctx);
    const { svgToPng } = await import('../chart/png.js');
    const png = await svgToPng(svg, ctx.signal, renderer);
    ctx.attach({ type: 'image', data: png.data.toString('base64'), mimeType: 'image/png' });
    await ctx.progress(3, 3, 'done');
    return {
      contract: contractOut(contract),
      period,
      bar,
      bars: hist.bars.length,
      ...(summary ? { summary } : {}),
      availability: hist.availability,
      image: { width: png.width, height: png.height, bytes: png.data.length },
    };
  },
  render(r) {
    const s = r.summary;
    const head = `${contractLabel(r.contract)} ${r.period} of ${r.bar} bars (${r.bars})`;
    const body = s
      ? `${s.from} → ${s.to}: open ${num(s.open)} close ${num(s.close)} (${signed(s.change)}, ${signed(s.changePct)}%), high ${num(s.high)} at ${s.highAt}, low ${num(s.low)} at ${s.lowAt}`
      : 'no bars in this period';
    const notes = r.availability !== 'live' ? ` (data ${r.availability})` : '';
    return `${head}\n${body}${notes}\nChart: ${r.image.width}x${r.image.height} PNG attached.`;
  },
});

/** The chart renderer's entry (@resvg/resvg-js), installed on first use; a clear error if it can't be. */
async function chartRenderer(ctx: ToolContext): Promise<string> {
  let step = 2;
  try {
    const pkg = await ctx.app.loadPackage('@resvg/resvg-js', {
      progress: (line) => {
        step = Math.min(step + 0.1, 2.9);
        void ctx.progress(step, 3, line);
      },
      signal: ctx.signal,
    });
    return pkg.entry;
  } catch (err) {
    ctx.signal.throwIfAborted();
    throw new BrokerError('MISSING_COMPONENT', `The chart renderer is not available. ${(err as Error).message}.`, {
      hint: 'Run that command (or install @resvg/resvg-js next to ibkr-mcp), then call get_price_chart again; get_historical_data returns the same bars as numbers meanwhile.',
      cause: err,
    });
  }
}

export const CHART_TOOLS = [getPriceChart];
