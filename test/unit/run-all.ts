/**
 * `npm run test:unit`: every unit test file of this folder in one process. They are pure (no
 * simulator, sockets, real timers or child processes), so they need no isolation, and one process
 * saves a TypeScript loader start per file. `npm test` still runs each file in its own process.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const files = readdirSync(import.meta.dirname)
  .filter((f) => f.endsWith('.test.ts'))
  .sort();
for (const f of files) await import(pathToFileURL(join(import.meta.dirname, f)).href);
