// `npm run docs`: rewrites the generated parts of README.md (options and tools tables) and
// server.json's versions (scripts/docs.ts); test/unit/docs.test.ts fails when they are stale.
import { readFileSync, writeFileSync } from 'node:fs';
import { renderReadme, renderServerJson } from './docs.js';

for (const [file, render] of [
  ['README.md', renderReadme],
  ['server.json', renderServerJson],
] as const) {
  const before = readFileSync(file, 'utf8');
  const after = render(before);
  if (after !== before) {
    writeFileSync(file, after);
    process.stdout.write(`updated ${file}\n`);
  }
}
