import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as z from 'zod';
import type { Toolset } from '../../src/config/index.js';
import { loadConfig } from '../../src/config/index.js';
import { selectTools } from '../../src/mcp/registry.js';
import { ALL_TOOLS, defineTool, type ToolDef, type ToolKind } from '../../src/tools/index.js';

function tool(name: string, toolset: Toolset, kind: ToolKind): ToolDef {
  return defineTool({
    name,
    title: name,
    description: name,
    toolset,
    kind,
    input: z.object({}),
    output: z.object({}),
    handle: async () => ({}),
    render: () => '',
  }) as unknown as ToolDef;
}

const ALL: ToolDef[] = [
  tool('get_quote', 'marketdata', 'read'),
  tool('get_options_chain', 'options', 'read'),
  tool('place_option_order', 'options', 'destructive'),
  tool('get_positions', 'account', 'read'),
  tool('get_live_orders', 'orders', 'read'),
  tool('place_stock_order', 'orders', 'destructive'),
  tool('cancel_order', 'orders', 'write'),
  tool('get_session_status', 'session', 'read'),
  tool('login', 'session', 'write'),
];

const env = { HOME: '/tmp/h' } as NodeJS.ProcessEnv;
const pick = (argv: string[]) => selectTools(ALL, loadConfig(argv, env).config).map((t) => t.name);

test('by default every tool of every tool set is exposed, in the given order', () => {
  assert.deepEqual(
    pick([]),
    ALL.map((t) => t.name),
  );
});

test('--toolsets limits to those sets', () => {
  assert.deepEqual(pick(['--toolsets', 'marketdata,account']), ['get_quote', 'get_positions']);
  assert.deepEqual(pick(['--toolsets', 'session']), ['get_session_status', 'login']);
  assert.throws(() => pick(['--toolsets', 'marketdata,bogus']), /unknown tool set bogus/);
});

test('--tools keeps only the named tools within the tool sets; --exclude-tools removes', () => {
  assert.deepEqual(pick(['--tools', 'get_quote,place_stock_order']), ['get_quote', 'place_stock_order']);
  assert.deepEqual(pick(['--tools', 'get_quote,get_positions', '--toolsets', 'marketdata']), ['get_quote']);
  assert.deepEqual(pick(['--exclude-tools', 'login,cancel_order', '--toolsets', 'orders,session']), [
    'get_live_orders',
    'place_stock_order',
    'get_session_status',
  ]);
});

test('--read-only wins over everything: no destructive tool and no order-changing tool, even when named', () => {
  const ro = pick(['--read-only']);
  assert.deepEqual(ro, ['get_quote', 'get_options_chain', 'get_positions', 'get_live_orders', 'get_session_status']);
  assert.deepEqual(pick(['--read-only', '--tools', 'place_stock_order,place_option_order,cancel_order,get_quote']), [
    'get_quote',
  ]);
  assert.deepEqual(pick(['--read-only', '--toolsets', 'orders']), ['get_live_orders']);
  assert.deepEqual(selectTools(ALL, loadConfig([], { ...env, IB_READ_ONLY_MODE: 'true' }).config).length, ro.length);
});

test('--read-only starts no login unless --allow-login-in-read-only asks for the login tool', () => {
  assert.ok(!pick(['--read-only']).includes('login'));
  assert.ok(!pick(['--read-only', '--tools', 'login,get_quote']).includes('login'));
  assert.deepEqual(pick(['--read-only', '--allow-login-in-read-only', '--toolsets', 'session']), [
    'get_session_status',
    'login',
  ]);
  assert.deepEqual(
    selectTools(ALL, loadConfig(['--read-only'], { ...env, IBKR_MCP_ALLOW_LOGIN_IN_READ_ONLY: 'true' }).config).map(
      (t) => t.name,
    ),
    ['get_quote', 'get_options_chain', 'get_positions', 'get_live_orders', 'get_session_status', 'login'],
  );
  assert.ok(pick(['--allow-login-in-read-only']).includes('cancel_order'), 'without --read-only it changes nothing');
  const real = selectTools(ALL_TOOLS, loadConfig(['--read-only'], env).config).map((t) => t.name);
  assert.ok(!real.includes('authenticate'), 'the real authenticate tool is absent in read-only mode');
  assert.ok(real.includes('get_connection_status'));
});

test('the real tool list: read-only leaves no destructive tool and no non-read order tool', () => {
  const ro = selectTools(ALL_TOOLS, loadConfig(['--read-only'], env).config);
  assert.ok(ro.length > 0);
  for (const t of ro) {
    assert.notEqual(t.kind, 'destructive', `${t.name} must not be exposed in read-only mode`);
    if (t.toolset === 'orders') assert.equal(t.kind, 'read', `${t.name} must not be exposed in read-only mode`);
  }
  const names = ALL_TOOLS.map((t) => t.name);
  assert.equal(new Set(names).size, names.length, 'tool names are unique');
});
