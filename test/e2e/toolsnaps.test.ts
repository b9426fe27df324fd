/**
 * A snapshot of every tool's schema as the server sends it in tools/list. A changed schema
 * fails until the snapshot is updated on purpose: UPDATE_TOOLSNAPS=1 npm test.
 * Plus invariants every tool must keep.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { type Harness, startServer } from './harness.js';

const DIR = new URL('../__toolsnaps__/', import.meta.url);
const UPDATE = process.env['UPDATE_TOOLSNAPS'] === '1';

// biome-ignore lint/suspicious/noExplicitAny: JSON schema walk
type Json = any;
let h: Harness;
let tools: Json[];

before(async () => {
  h = await startServer({ sim: false, args: ['--toolsets', 'all'] });
  tools = (await h.client.listTools()).tools;
});
after(async () => {
  await h?.close();
});

test('every tool matches its schema snapshot', () => {
  assert.ok(tools.length >= 4);
  for (const t of tools) {
    const file = new URL(`${t.name}.json`, DIR);
    const current = `${JSON.stringify(t, null, 2)}\n`;
    if (UPDATE || !existsSync(file)) {
      if (!UPDATE)
        assert.fail(`no snapshot for ${t.name}: run UPDATE_TOOLSNAPS=1 npm test and commit test/__toolsnaps__`);
      writeFileSync(file, current);
      continue;
    }
    assert.equal(current, readFileSync(file, 'utf8'), `schema of ${t.name} changed: update the snapshot on purpose`);
  }
});

test('invariants: unique names, valid names, all four annotations, a description, no top-level anyOf/oneOf', () => {
  const names = tools.map((t) => t.name);
  assert.equal(new Set(names).size, names.length, 'no duplicate tool names');
  for (const t of tools) {
    assert.match(t.name, /^[a-z][a-z0-9_]{0,63}$/);
    assert.ok(t.description && t.description.length > 20, `${t.name} has a description`);
    assert.ok(t.title || t.annotations?.title, `${t.name} has a title`);
    for (const k of ['readOnlyHint', 'destructiveHint', 'idempotentHint', 'openWorldHint']) {
      assert.equal(typeof t.annotations?.[k], 'boolean', `${t.name}.${k} set explicitly`);
    }
    assert.equal(t.inputSchema.type, 'object');
    assert.ok(
      !t.inputSchema.anyOf && !t.inputSchema.oneOf && !t.inputSchema.allOf,
      `${t.name} input is a plain object`,
    );
    // Parameters carry a description only where the name and type do not say it (issue 15).
    assert.ok(t.outputSchema?.type === 'object', `${t.name} has an object outputSchema`);
  }
});

test('tools/list is deterministic and compact', async () => {
  const again = (await h.client.listTools()).tools;
  assert.deepEqual(
    again.map((t) => t.name),
    tools.map((t) => t.name),
  );
});

test('an MCP Apps client: the same tools plus _meta.ui, and the app-only order_ticket (snapshot in apps/)', async () => {
  const ui = await startServer({
    sim: false,
    args: ['--toolsets', 'all'],
    capabilities: { extensions: { 'io.modelcontextprotocol/ui': { mimeTypes: ['text/html;profile=mcp-app'] } } },
  });
  try {
    const listed: Json[] = (await ui.client.listTools()).tools;
    const plain = new Map(tools.map((t) => [t.name, t]));
    const apps: Record<string, Json> = {};
    for (const t of listed) {
      const { _meta, ...rest } = t;
      if (t.name === 'order_ticket') {
        apps[t.name] = t;
        continue;
      }
      assert.deepEqual(rest, plain.get(t.name), `${t.name} is otherwise the same for an Apps client`);
      if (_meta?.ui) apps[t.name] = { _meta };
    }
    assert.equal(listed.length, tools.length + 1);
    const file = new URL('apps/tools.json', DIR);
    const current = `${JSON.stringify(apps, null, 2)}\n`;
    if (UPDATE) writeFileSync(file, current);
    else
      assert.equal(current, readFileSync(file, 'utf8'), 'the Apps tool list changed: update the snapshot on purpose');
  } finally {
    await ui.close();
  }
});
