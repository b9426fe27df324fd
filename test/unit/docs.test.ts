// One source for each generated fact: the README's options and tools tables come from the
// option table and the tool registry, server.json's versions and the MCP server's version from
// package.json. `npm run docs` brings the files up to date.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { test } from 'node:test';
import { renderReadme, renderServerJson } from '../../scripts/docs.js';
import { VERSION } from '../../src/config/index.js';
import { SERVER_VERSION } from '../../src/mcp/server.js';

const REPO = resolve(import.meta.dirname, '../..');
const read = (f: string) => readFileSync(resolve(REPO, f), 'utf8');

test('README.md tables are what the option table and the tool registry say (npm run docs)', () => {
  const readme = read('README.md');
  assert.equal(readme, renderReadme(readme), 'README.md is stale: run `npm run docs`');
});

test('one version: package.json, the MCP server, server.json', () => {
  const pkg = JSON.parse(read('package.json')) as { version: string };
  assert.equal(VERSION, pkg.version);
  assert.equal(SERVER_VERSION, pkg.version);
  const server = read('server.json');
  assert.equal(server, renderServerJson(server), 'server.json is stale: run `npm run docs`');
  const json = JSON.parse(server) as { version: string; packages: { version: string }[] };
  assert.equal(json.version, pkg.version);
  for (const p of json.packages) assert.equal(p.version, pkg.version);
});

test('package.json main and bin point at files the build makes', () => {
  const pkg = JSON.parse(read('package.json')) as { main: string; bin: Record<string, string> };
  for (const f of [pkg.main, ...Object.values(pkg.bin)]) {
    assert.match(f, /^dist\/.+\.js$/);
    const src = f.replace(/^dist\//, 'src/').replace(/\.js$/, '.ts');
    assert.ok(read(src).length > 0, `${f} is built from ${src}`);
  }
});

test('package.json mcpName is server.json name (MCP Registry ownership check)', () => {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
  const server = JSON.parse(readFileSync(new URL('../../server.json', import.meta.url), 'utf8'));
  assert.equal(pkg.mcpName, server.name);
  assert.match(server.name, /^io\.github\.[^/]+\/[^/]+$/);
  assert.equal(server.version, pkg.version);
  for (const p of server.packages) {
    assert.equal(p.identifier, pkg.name);
    assert.equal(p.version, pkg.version);
  }
});
