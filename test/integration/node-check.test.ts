import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { test } from 'node:test';
import { nodeTooOld } from '../../src/node-check.js';

test('versions below 20.18.1 are refused, others pass (issue 14)', () => {
  for (const v of ['18.20.4', 'v20.18.0', '19.9.0', '16.0.0']) assert.equal(nodeTooOld(v), true, v);
  for (const v of ['20.18.1', 'v20.19.0', '22.0.0', '24.3.1']) assert.equal(nodeTooOld(v), false, v);
});

test('an old Node gets one plain line, no stack trace, exit 1', () => {
  const file = resolve(import.meta.dirname, '../../src/node-check.ts');
  // Pretend to be Node 18: the check reads process.versions.node.
  const r = spawnSync(
    process.execPath,
    [
      '--import',
      'tsx',
      '--input-type=module',
      '-e',
      `Object.defineProperty(process.versions, 'node', { value: '18.20.4' }); await import(${JSON.stringify(file)});`,
    ],
    { encoding: 'utf8' },
  );
  assert.equal(r.status, 1);
  assert.match(r.stderr, /^ibkr-mcp needs Node\.js 20\.18\.1 or newer; this is Node\.js 18\.20\.4\./);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
});
