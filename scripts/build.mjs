// `npm run build`: bundles the server with esbuild into dist/.
//
//   dist/cli.js     the `ibkr-mcp` binary (src/cli.ts)
//   dist/index.js   the entry for code that embeds ibkr-mcp (src/index.ts, package.json `main`)
//   dist/chunks/    code shared by both, and what the server loads only when needed (the
//                   simulator, the gateway manager, OAuth, setup and doctor commands)
//
// Why a bundle rather than tsc's one file per module: V8 keeps the source text of every module it
// loads for as long as the process runs. The SDK, zod and undici come as hundreds of files with
// comments and source-map references; one whitespace-minified bundle holds the same code in less
// than half the text, and that is ~5 MB less resident memory in the default configuration (npm run
// bench, "default configuration" rows). Identifiers are kept, so stack traces stay readable.
// Types are checked by `npm run lint` (tsc --noEmit), not here.
//
// Not bundled: the optional packages installed into the cache on first use (src/gateway/npm-package.ts
// loads them from there) and the deep undici paths that src/backends/cpapi/http.ts imports by name
// at run time; the dependencies stay in package.json for those and for their licences.
import { chmodSync, rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { build } from 'esbuild';

const ROOT = resolve(import.meta.dirname, '..');
const OUT = resolve(ROOT, 'dist');

export const OPTIONAL_PACKAGES = ['playwright-core', '@resvg/resvg-js'];

export async function buildDist(outdir = OUT) {
  rmSync(outdir, { recursive: true, force: true });
  const result = await build({
    absWorkingDir: ROOT,
    entryPoints: { cli: 'src/cli.ts', index: 'src/index.ts' },
    outdir,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    // Node 18 must still parse the entry, so that src/node-check.ts can say which Node is needed.
    target: 'node18',
    chunkNames: 'chunks/[name]-[hash]',
    minifyWhitespace: true,
    minifySyntax: true,
    legalComments: 'linked',
    external: OPTIONAL_PACKAGES,
    // Bundled CommonJS (undici, parts of the SDK's dependencies) calls require() for Node's modules.
    banner: {
      js: "import{createRequire as __ibkrRequire}from'node:module';const require=__ibkrRequire(import.meta.url);",
    },
    logLevel: 'warning',
    metafile: true,
  });
  chmodSync(resolve(outdir, 'cli.js'), 0o755);
  return result;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { metafile } = await buildDist();
  const bytes = Object.values(metafile.outputs).reduce((n, o) => n + o.bytes, 0);
  console.log(`dist: ${Object.keys(metafile.outputs).length} files, ${(bytes / 1e6).toFixed(2)} MB`);
}
