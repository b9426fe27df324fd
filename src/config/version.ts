/**
 * The version of ibkr-mcp: package.json's, read at start, so that there is one place to change
 * it. server.json (the MCP registry entry) is filled from it by `npm run docs`;
 * test/unit/version.test.ts checks both.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The package's root folder: the nearest folder above this module that holds package.json. The
 * module is src/config/version.ts when run from source and somewhere in dist/ (a bundle chunk)
 * when built, so the depth is not fixed.
 */
export function packageRoot(from: string = fileURLToPath(import.meta.url)): string {
  for (let dir = dirname(from); ; ) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error(`no package.json above ${from}`);
    dir = up;
  }
}

export const VERSION: string = (
  JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string }
).version;
