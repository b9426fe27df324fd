/**
 * The optional packages ibkr-mcp installs on first use are pinned in src/gateway/npm-pins.ts to
 * the versions of package.json's optional peer dependencies and the integrity package-lock.json
 * records: regenerate with `node scripts/pin-optional-packages.mjs` when they change.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
// @ts-expect-error: a plain .mjs script without types
import { pins } from '../../scripts/pin-optional-packages.mjs';
import { OPTIONAL_PACKAGES } from '../../src/gateway/npm-pins.js';

const ROOT = join(import.meta.dirname, '../..');
const read = (f: string) => JSON.parse(readFileSync(join(ROOT, f), 'utf8'));

test('the pins equal package.json and package-lock.json', () => {
  assert.deepEqual(OPTIONAL_PACKAGES, pins(read('package.json'), read('package-lock.json')));
});

test('the optional packages are not installed with ibkr-mcp', () => {
  const pkg = read('package.json');
  for (const name of Object.keys(OPTIONAL_PACKAGES)) {
    assert.equal(pkg.dependencies[name], undefined, `${name} is no dependency`);
    assert.equal(pkg.peerDependenciesMeta[name]?.optional, true, `${name} is an optional peer`);
    assert.equal(pkg.devDependencies[name], pkg.peerDependencies[name], `${name}: the same version in development`);
  }
});
