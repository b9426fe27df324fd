import assert from 'node:assert/strict';
import { test } from 'node:test';
import { inflateSync } from 'node:zlib';
import type { Bar } from '../../src/broker/types.js';
import { pngSize, svgToPng } from '../../src/chart/png.js';
import { aggregateBars, COLORS, candlestickSvg, escapeXml, niceTicks } from '../../src/chart/svg.js';
import { summarizeBars } from '../../src/tools/chart.js';

function series(n: number, start = 100): Bar[] {
  const out: Bar[] = [];
  let p = start;
  for (let i = 0; i < n; i++) {
    const o = p;
    const c = o * (1 + Math.sin(i * 1.3) * 0.02);
    out.push({
      t: Date.UTC(2026, 0, 2) + i * 86_400_000,
      o,
      h: Math.max(o, c) * 1.01,
      l: Math.min(o, c) * 0.99,
      c,
      v: 1e6 + i * 1e4,
    });
    p = c;
  }
  return out;
}

/** A small, complete PNG decoder for 8-bit RGBA/RGB non-interlaced images: chunks, zlib, the five filters. */
function decodePng(png: Buffer): { width: number; height: number; channels: number; pixels: Uint8Array } {
  let off = 8;
  let width = 0;
  let height = 0;
  let channels = 0;
  const idat: Buffer[] = [];
  while (off < png.length) {
    const len = png.readUInt32BE(off);
    const type = png.toString('latin1', off + 4, off + 8);
    const data = png.subarray(off + 8, off + 8 + len);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      assert.equal(data[8], 8, 'bit depth 8');
      channels = data[9] === 6 ? 4 : data[9] === 2 ? 3 : 0;
      assert.ok(channels, `color type ${data[9]} is RGB or RGBA`);
      assert.equal(data[12], 0, 'not interlaced');
    } else if (type === 'IDAT') {
      idat.push(data);
    } else if (type === 'IEND') {
      break;
    }
    off += 12 + len;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  assert.equal(raw.length, height * (stride + 1), 'decompressed size matches the header');
  const px = new Uint8Array(height * stride);
  for (let y = 0; y < height; y++) {
    const f = raw[y * (stride + 1)]!;
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    for (let x = 0; x < stride; x++) {
      const a = x >= channels ? px[y * stride + x - channels]! : 0;
      const b = y > 0 ? px[(y - 1) * stride + x]! : 0;
      const c = x >= channels && y > 0 ? px[(y - 1) * stride + x - channels]! : 0;
      let pred = 0;
      if (f === 1) pred = a;
      else if (f === 2) pred = b;
      else if (f === 3) pred = (a + b) >> 1;
      else if (f === 4) {
        const p = a + b - c;
        const pa = Math.abs(p - a);
        const pb = Math.abs(p - b);
        const pc = Math.abs(p - c);
        pred = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      }
      px[y * stride + x] = (line[x]! + pred) & 0xff;
    }
  }
  return { width, height, channels, pixels: px };
}

function hex(color: string): [number, number, number] {
  const n = Number.parseInt(color.slice(1), 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}

test('chart PNG decodes to the requested size with candles of both colours and mostly background', async () => {
  const svg = candlestickSvg(series(120), { width: 640, height: 400, title: 'TEST 6m · 1d bars', headline: '1 +2%' });
  const png = await svgToPng(svg);
  assert.deepEqual(pngSize(png.data), { width: 640, height: 400 });
  assert.equal(png.width, 640);
  assert.equal(png.height, 400);
  const img = decodePng(png.data);
  assert.equal(img.width, 640);
  assert.equal(img.height, 400);
  const count = (rgb: [number, number, number]) => {
    let n = 0;
    for (let i = 0; i < img.pixels.length; i += img.channels) {
      if (img.pixels[i] === rgb[0] && img.pixels[i + 1] === rgb[1] && img.pixels[i + 2] === rgb[2]) n++;
    }
    return n;
  };
  const total = img.width * img.height;
  const bg = count(hex(COLORS.background));
  const up = count(hex(COLORS.up));
  const down = count(hex(COLORS.down));
  assert.ok(bg > total * 0.5 && bg < total * 0.98, `background is most but not all of the image (${bg}/${total})`);
  assert.ok(up > 500, `up candles drawn (${up} px)`);
  assert.ok(down > 500, `down candles drawn (${down} px)`);
});

test('an empty series still renders a valid PNG', async () => {
  const png = await svgToPng(candlestickSvg([], { width: 320, height: 240, title: 'X' }));
  assert.deepEqual(pngSize(png.data), { width: 320, height: 240 });
});

test('pngSize refuses non-PNG bytes', () => {
  assert.throws(() => pngSize(Buffer.from('not a png at all, clearly')), /not a PNG/);
});

test('outside text in titles is escaped, never markup', () => {
  const svg = candlestickSvg(series(3), { width: 400, height: 300, title: '<script>alert(1)</script> & "x"' });
  assert.ok(!svg.includes('<script>'));
  assert.ok(svg.includes('&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;x&quot;'));
  assert.equal(escapeXml(`a'b`), 'a&apos;b');
});

test('aggregateBars keeps open, close, extremes and total volume', () => {
  const bars = series(10);
  const agg = aggregateBars(bars, 3);
  assert.ok(agg.length <= 3);
  assert.equal(agg[0]!.o, bars[0]!.o);
  assert.equal(agg[agg.length - 1]!.c, bars[9]!.c);
  assert.equal(Math.max(...agg.map((b) => b.h)), Math.max(...bars.map((b) => b.h)));
  assert.equal(Math.min(...agg.map((b) => b.l)), Math.min(...bars.map((b) => b.l)));
  assert.equal(
    agg.reduce((a, b) => a + (b.v ?? 0), 0),
    bars.reduce((a, b) => a + (b.v ?? 0), 0),
  );
  assert.equal(aggregateBars(bars, 50).length, 10);
});

test('niceTicks gives round steps inside the range', () => {
  assert.deepEqual(niceTicks(97.3, 104.8, 5), [98, 100, 102, 104]);
  assert.deepEqual(niceTicks(0.12, 0.19, 4), [0.12, 0.14, 0.16, 0.18]);
  assert.deepEqual(niceTicks(5, 5), [5]);
});

test('summarizeBars: change from first open to last close, extremes with their times', () => {
  const bars: Bar[] = [
    { t: Date.UTC(2026, 0, 5), o: 10, h: 11, l: 9.5, c: 10.5, v: 100 },
    { t: Date.UTC(2026, 0, 6), o: 10.5, h: 12, l: 10, c: 11.5, v: 200 },
    { t: Date.UTC(2026, 0, 7), o: 11.5, h: 11.8, l: 9, c: 11, v: 300 },
  ];
  const s = summarizeBars(bars)!;
  assert.equal(s.open, 10);
  assert.equal(s.close, 11);
  assert.equal(s.change, 1);
  assert.equal(s.changePct, 10);
  assert.equal(s.high, 12);
  assert.equal(s.highAt, '2026-01-06T00:00Z');
  assert.equal(s.low, 9);
  assert.equal(s.lowAt, '2026-01-07T00:00Z');
  assert.equal(s.volume, 600);
  assert.equal(summarizeBars([]), null);
});
