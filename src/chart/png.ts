/**
 * Rasterises an SVG to PNG with resvg (Rust): no browser, no native canvas. Each picture is drawn
 * in a short-lived worker thread. resvg's native buffers (the pixmap, the parsed tree, the fonts)
 * are freed only when V8 collects their small JavaScript handles, which in this small heap can be
 * many charts later: in process, resident memory grew ~5 MB a chart; a worker's end frees them all,
 * so a chart costs the same ~20 MB however many are drawn, for ~50 ms more per picture.
 * Labels use one sans-serif font file found at a well-known path (loading the whole system font
 * set costs more memory for the same picture); only when none is found are the system fonts
 * searched. Without any font the chart still renders, just without text.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/** Sans-serif fonts by family, at the paths where Linux distributions, macOS and Windows put them. */
const SANS_FONTS: { family: string; paths: string[] }[] = [
  {
    family: 'DejaVu Sans',
    paths: [
      '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf',
      '/usr/share/fonts/dejavu/DejaVuSans.ttf',
      '/usr/share/fonts/TTF/DejaVuSans.ttf',
      '/usr/share/fonts/dejavu-sans-fonts/DejaVuSans.ttf',
    ],
  },
  {
    family: 'Liberation Sans',
    paths: [
      '/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf',
      '/usr/share/fonts/liberation-sans/LiberationSans-Regular.ttf',
      '/usr/share/fonts/TTF/LiberationSans-Regular.ttf',
    ],
  },
  {
    family: 'Arial',
    paths: [
      '/System/Library/Fonts/Supplemental/Arial.ttf',
      '/Library/Fonts/Arial.ttf',
      `${process.env['WINDIR'] ?? 'C:\\Windows'}\\Fonts\\arial.ttf`,
    ],
  },
];

type FontOptions = { fontFiles: string[]; loadSystemFonts: false } | { loadSystemFonts: true };
let chosen: ({ family: string } & FontOptions) | undefined;

/** The font resvg gets: the first known sans file that exists, else the system's fonts. */
export function chartFont(exists: (p: string) => boolean = existsSync): { family: string } & FontOptions {
  for (const f of SANS_FONTS) {
    const file = f.paths.find((p) => exists(p));
    if (file) return { family: f.family, fontFiles: [file], loadSystemFonts: false };
  }
  return { family: 'DejaVu Sans', loadSystemFonts: true };
}

export interface Png {
  data: Buffer;
  width: number;
  height: number;
}

/** The worker: CommonJS evaluated from a string, so that it runs the same from src/ and dist/. */
const WORKER = `
const { parentPort, workerData: w } = require('node:worker_threads');
const { Resvg } = require(w.module);
const img = new Resvg(w.svg, w.options).render();
const png = img.asPng();
parentPort.postMessage({ png, width: img.width, height: img.height }, [png.buffer]);
`;

/**
 * `module` is the entry of @resvg/resvg-js (an optional package, installed on first use: the
 * caller finds it); by default the one Node resolves from here.
 */
export async function svgToPng(svg: string, signal?: AbortSignal, module?: string): Promise<Png> {
  signal?.throwIfAborted();
  chosen ??= chartFont();
  const { family, ...files } = chosen;
  const options = {
    font: { ...files, defaultFontFamily: family, sansSerifFamily: family },
    fitTo: { mode: 'original' },
    shapeRendering: 2,
    textRendering: 1,
    logLevel: 'off',
  };
  const worker = new Worker(WORKER, {
    eval: true,
    workerData: { module: module ?? createRequire(import.meta.url).resolve('@resvg/resvg-js'), svg, options },
    resourceLimits: { maxOldGenerationSizeMb: 32, maxYoungGenerationSizeMb: 2 },
    // Never the process's own stdout: in serve mode that is the MCP protocol.
    stdout: true,
    stderr: true,
  });
  let abort: (() => void) | undefined;
  try {
    return await new Promise<Png>((resolve, reject) => {
      abort = () => reject(signal?.reason ?? new Error('aborted'));
      signal?.addEventListener('abort', abort, { once: true });
      worker.once('message', (m: { png: Uint8Array; width: number; height: number }) =>
        resolve({
          data: Buffer.from(m.png.buffer, m.png.byteOffset, m.png.byteLength),
          width: m.width,
          height: m.height,
        }),
      );
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new Error(`the chart renderer stopped (exit ${code})`)));
    });
  } finally {
    if (abort) signal?.removeEventListener('abort', abort);
    await worker.terminate();
  }
}

/** Reads width and height from a PNG's IHDR chunk; throws if the bytes are not a PNG. */
export function pngSize(png: Uint8Array): { width: number; height: number } {
  const sig = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  if (png.length < 24 || sig.some((b, i) => png[i] !== b)) throw new Error('not a PNG');
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
  if (String.fromCharCode(...png.subarray(12, 16)) !== 'IHDR') throw new Error('PNG without IHDR');
  return { width: view.getUint32(16), height: view.getUint32(20) };
}
