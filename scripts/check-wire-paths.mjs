// Only src/backends/cpapi speaks IB's wire format. dependency-cruiser checks the imports
// (.dependency-cruiser.cjs); this checks the text: no IB endpoint path in a string of the
// layers above it. `npm run lint` runs it; test/unit/layers.test.ts proves that it fails.
// Usage: node scripts/check-wire-paths.mjs [root]  (root defaults to the current directory)
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = process.argv[2] ?? process.cwd();
const LAYERS = ['gateway', 'tools', 'safety', 'mcp', 'config', 'broker', 'chart'];
// An IB endpoint as a string: '/iserver/…', "/portfolio/…", `/tickle`, …
const ENDPOINT = /['"`]\/(iserver|portfolio|portfolio2|trsrv|tickle|sso|logout|hmds|pa|fyi|md|acesws)(\/|['"`])/;
// IB's Flex Web Service (src/backends/flex): its paths stay there too.
const FLEX = /FlexWebService|FlexStatementService/;

function* files(dir) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) yield* files(p);
    else if (e.name.endsWith('.ts')) yield p;
  }
}

const problems = [];
for (const layer of LAYERS) {
  let list;
  try {
    list = [...files(join(root, 'src', layer))];
  } catch {
    continue;
  }
  for (const f of list) {
    const rel = relative(root, f).split('\\').join('/');
    readFileSync(f, 'utf8')
      .split('\n')
      .forEach((line, i) => {
        if (ENDPOINT.test(line) || FLEX.test(line)) problems.push(`${rel}:${i + 1}: ${line.trim()}`);
      });
  }
}
if (problems.length) {
  process.stderr.write(
    `IB endpoint paths outside src/backends (only the backends speak IB's wire formats):\n${problems.join('\n')}\n`,
  );
  process.exit(1);
}
