/**
 * Rasterises an SVG to PNG with resvg (Rust, off the main thread via renderAsync): no
 * browser, no native canvas. System fonts are used for labels when present; without any
 * font the chart still renders, just without text.
 */
import { renderAsync } from '@resvg/resvg-js';

export interface Png {
  data: Buffer;
  width: number;
  height: number;
}

export async function svgToPng(svg: string, signal?: AbortSignal): Promise<Png> {
  const img = await renderAsync(
    svg,
    {
      font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans', sansSerifFamily: 'DejaVu Sans' },
      fitTo: { mode: 'original' },
      shapeRendering: 2,
      textRendering: 1,
      logLevel: 'off',
    },
    signal ?? null,
  );
  return { data: img.asPng(), width: img.width, height: img.height };
}

/** Reads width and height from a PNG's IHDR chunk; throws if the bytes are not a PNG. */
export function pngSize(png: Uint8Array): { width: number; height: number } {
  const sig = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  if (png.length < 24 || sig.some((b, i) => png[i] !== b)) throw new Error('not a PNG');
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
  if (String.fromCharCode(...png.subarray(12, 16)) !== 'IHDR') throw new Error('PNG without IHDR');
  return { width: view.getUint32(16), height: view.getUint32(20) };
}
