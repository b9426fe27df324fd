// Builds the MCP Apps views (apps/*.ts) into self-contained HTML files in dist/apps: one inline
// script and one inline stylesheet each, allowed by their SHA-256 in a content security policy
// that allows nothing else (no network, no outside domain). Fails if a view exceeds 150 KB.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { build } from 'esbuild';

export const VIEWS = ['order-ticket', 'portfolio', 'option-chain', 'chart'];
const MAX_BYTES = 150 * 1024;

const css = readFileSync('apps/style.css', 'utf8').replace(/\n/g, '');
const hash = (s) => `'sha256-${createHash('sha256').update(s).digest('base64')}'`;

mkdirSync('dist/apps', { recursive: true });
for (const name of VIEWS) {
  const out = await build({
    entryPoints: [`apps/${name}.ts`],
    bundle: true,
    minify: true,
    format: 'iife',
    target: 'es2022',
    write: false,
    legalComments: 'none',
  });
  // A "</script" inside the code would end the element early.
  const js = out.outputFiles[0].text.replace(/<\/script/gi, '<\\/script');
  const csp = [
    "default-src 'none'",
    `script-src ${hash(js)}`,
    `style-src ${hash(css)}`,
    'img-src data:',
    "connect-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
  ].join('; ');
  const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta http-equiv="Content-Security-Policy" content="${csp}"><meta name="viewport" content="width=device-width,initial-scale=1"><title>${name}</title><style>${css}</style></head><body><main id="app"></main><script>${js}</script></body></html>`;
  const bytes = Buffer.byteLength(html);
  if (bytes > MAX_BYTES) throw new Error(`dist/apps/${name}.html is ${bytes} bytes, over the 150 KB budget`);
  writeFileSync(`dist/apps/${name}.html`, html);
  console.log(`dist/apps/${name}.html ${(bytes / 1024).toFixed(1)} KB`);
}
