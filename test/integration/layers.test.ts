// The layer rules are a checked fact: `npm run lint:layers` (dependency-cruiser with
// .dependency-cruiser.cjs, then scripts/check-wire-paths.mjs) passes on the real tree and fails
// as soon as a wrong-direction import or an IB endpoint path is planted in a copy of it.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { appendFileSync, cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';

const REPO = resolve(import.meta.dirname, '../..');
const DEPCRUISE = join(REPO, 'node_modules/dependency-cruiser/bin/dependency-cruise.mjs');
const WIRE = join(REPO, 'scripts/check-wire-paths.mjs');

function depcruise(cwd: string) {
  const r = spawnSync(process.execPath, [DEPCRUISE, 'src', '--config', '.dependency-cruiser.cjs'], {
    cwd,
    encoding: 'utf8',
  });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

function wirePaths(root: string) {
  const r = spawnSync(process.execPath, [WIRE, root], { encoding: 'utf8' });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

test('the real tree keeps every layer rule', () => {
  const dc = depcruise(REPO);
  assert.equal(dc.code, 0, dc.out);
  assert.match(dc.out, /no dependency violations found/);
  const wire = wirePaths(REPO);
  assert.equal(wire.code, 0, wire.out);
});

const CASES: { name: string; rule: string; file: string; line: string }[] = [
  {
    name: 'tools → backends',
    rule: 'tools-not-to-infrastructure',
    file: 'src/tools/chart.ts',
    line: "import '../backends/cpapi/http.js';",
  },
  {
    name: 'tools → gateway',
    rule: 'tools-not-to-infrastructure',
    file: 'src/tools/session.ts',
    line: "export type { SessionManager } from '../gateway/session.js';",
  },
  {
    name: 'mcp → a tool module other than the registry',
    rule: 'mcp-to-tools-via-registry',
    file: 'src/mcp/resources.ts',
    line: "export { getPositions } from '../tools/account.js';",
  },
  {
    name: 'tools → mcp (a folder cycle)',
    rule: 'tools-not-to-mcp',
    file: 'src/tools/common.ts',
    line: "export { selectTools } from '../mcp/registry.js';",
  },
  {
    name: 'safety → tools',
    rule: 'safety-decides-alone',
    file: 'src/safety/policy.ts',
    line: "import '../tools/format.js';",
  },
  {
    name: 'broker → config',
    rule: 'broker-is-the-core',
    file: 'src/broker/numbers.ts',
    line: "import '../config/index.js';",
  },
  {
    name: 'cpapi → safety',
    rule: 'cpapi-is-a-backend',
    file: 'src/backends/cpapi/probe.ts',
    line: "import '../../safety/policy.js';",
  },
  {
    name: 'simulator → broker',
    rule: 'simulator-stands-alone',
    file: 'src/simulator/rng.ts',
    line: "import '../broker/types.js';",
  },
  {
    name: 'gateway → runtime (a cycle)',
    rule: 'gateway-not-to-upper-layers',
    file: 'src/gateway/setup.ts',
    line: "import '../runtime.js';",
  },
  {
    name: 'config → broker',
    rule: 'config-is-a-leaf',
    file: 'src/config/home.ts',
    line: "import '../broker/types.js';",
  },
];

describe('planted violations fail the check, each under its rule', () => {
  let root: string;
  let dc: { code: number | null; out: string };
  before(() => {
    // One copy of the tree with every violation planted: one run of dependency-cruiser.
    root = mkdtempSync(join(tmpdir(), 'ibkr-mcp-layers-'));
    cpSync(join(REPO, 'src'), join(root, 'src'), { recursive: true });
    for (const f of ['.dependency-cruiser.cjs', 'tsconfig.json']) cpSync(join(REPO, f), join(root, f));
    for (const c of CASES) appendFileSync(join(root, c.file), `\n${c.line}\n`);
    // chart → tools is a folder cycle (tools → chart exists).
    writeFileSync(join(root, 'src/chart/planted.ts'), "export { num } from '../tools/format.js';\n");
    appendFileSync(join(root, 'src/tools/marketdata.ts'), "\nexport const planted = '/iserver/marketdata/snapshot';\n");
    appendFileSync(
      join(root, 'src/tools/statements.ts'),
      "\nexport const plantedFlex = 'https://x/AccountManagement/FlexWebService';\n",
    );
    dc = depcruise(root);
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  test('dependency-cruiser fails', () => {
    assert.notEqual(dc.code, 0, dc.out);
  });

  for (const c of CASES) {
    test(c.name, () => {
      assert.match(dc.out, new RegExp(`${c.rule}: ${c.file.replaceAll('.', '\\.')} → `), dc.out);
    });
  }

  test('a folder cycle', () => {
    assert.match(dc.out, /no-folder-cycles: src\/chart/, dc.out);
  });

  test('an IB endpoint path outside the CPAPI backend', () => {
    const wire = wirePaths(root);
    assert.equal(wire.code, 1, wire.out);
    assert.match(wire.out, /src\/tools\/marketdata\.ts:\d+: export const planted/);
    assert.match(wire.out, /src\/tools\/statements\.ts:\d+: export const plantedFlex/, 'a Flex Web Service path too');
  });
});
