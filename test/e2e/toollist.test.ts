/**
 * What the tool list costs every conversation before the user types (issue 15): each tool's
 * model-visible part ({name, description, inputSchema} as JSON, as listed over MCP) has a
 * budget, and so have the total and the whole tools/list answer. A new tool or a longer text
 * fails here until it fits or the budget is raised on purpose. Also: tool sets switched on
 * during a conversation (enable_toolset, list_changed), and the original product's promises.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type Harness, startServer } from './harness.js';

// biome-ignore lint/suspicious/noExplicitAny: JSON of tools/list
type Json = any;

/**
 * Bytes per tool, model-visible part. Order entry carries the order fields; the chain its filters;
 * the spread tools (tool set order_groups, off by default) their shapes and legs.
 */
const PER_TOOL = 700;
const LARGER: Record<string, number> = {
  place_stock_order: 1100,
  place_option_order: 1200,
  preview_order: 1300,
  get_options_chain: 950,
  place_spread_order: 1550,
  preview_spread_order: 1450,
  // Its orders[] items carry the order fields once (opt-in set order_groups).
  place_oca_orders: 1000,
};
const AVERAGE = 550;
const DEFAULT_TOTAL = 12_000;
const WHOLE_LIST = 30_000;
/**
 * Every set on: the opt-in sets add their output schemas and annotations (~0.7 KB a tool; the
 * spread tools ~5 KB, statements' three tools ~3 KB with get_flex_query's summary schema,
 * place_oca_orders ~2.4 KB with the order result's schema).
 */
const WHOLE_LIST_ALL = 46_000;

const visible = (t: Json) =>
  Buffer.byteLength(JSON.stringify({ name: t.name, description: t.description, inputSchema: t.inputSchema }));

function measure(tools: Json[]) {
  const per = tools.map((t) => ({ name: t.name as string, bytes: visible(t) }));
  const total = per.reduce((a, p) => a + p.bytes, 0);
  return { per, total, average: total / tools.length };
}

function report(label: string, tools: Json[], whole: number) {
  const m = measure(tools);
  process.stderr.write(
    `${label}: ${tools.length} tools, model-visible ${m.total} B (avg ${Math.round(m.average)}), tools/list ${whole} B\n`,
  );
  return m;
}

describe('tool list budget', () => {
  let def: Harness;
  let all: Harness;
  before(async () => {
    [def, all] = await Promise.all([
      startServer({ sim: false }),
      startServer({ sim: false, args: ['--toolsets', 'all'] }),
    ]);
  });
  after(async () => {
    await Promise.all([def?.close(), all?.close()]);
  });

  test('default tool sets: every tool within its budget, total and average within theirs', async () => {
    const listed = await def.client.listTools();
    const m = report('default', listed.tools, Buffer.byteLength(JSON.stringify(listed)));
    for (const p of m.per) {
      const budget = LARGER[p.name] ?? PER_TOOL;
      assert.ok(p.bytes <= budget, `${p.name}: ${p.bytes} B, budget ${budget} B`);
    }
    assert.ok(m.total <= DEFAULT_TOTAL, `model-visible total ${m.total} B > ${DEFAULT_TOTAL}`);
    assert.ok(m.average <= AVERAGE, `average ${Math.round(m.average)} B > ${AVERAGE}`);
    assert.ok(Buffer.byteLength(JSON.stringify(listed)) <= WHOLE_LIST, 'whole tools/list within 30 KB');
  });

  test('every tool set on: the same per-tool budgets and average', async () => {
    const listed = await all.client.listTools();
    const m = report('all', listed.tools, Buffer.byteLength(JSON.stringify(listed)));
    for (const p of m.per) assert.ok(p.bytes <= (LARGER[p.name] ?? PER_TOOL), `${p.name}: ${p.bytes} B`);
    assert.ok(m.average <= AVERAGE, `average ${Math.round(m.average)} B > ${AVERAGE}`);
    assert.ok(Buffer.byteLength(JSON.stringify(listed)) <= WHOLE_LIST_ALL, 'whole tools/list within 46 KB');
    assert.ok(!listed.tools.some((t: Json) => t.name === 'enable_toolset'), 'nothing left to enable');
  });

  test('advertised schemas carry no limits, no type arrays; output schemas no descriptions', async () => {
    const { tools } = await all.client.listTools();
    const text = JSON.stringify(tools.map((t: Json) => t.inputSchema));
    for (const k of ['pattern', 'minLength', 'maxLength', 'minimum', 'maximum', 'exclusiveMinimum', 'maxItems']) {
      assert.ok(!text.includes(`"${k}"`), `no ${k} in input schemas`);
    }
    const out = JSON.stringify(tools.map((t: Json) => t.outputSchema));
    assert.ok(!out.includes('"description"'), 'no descriptions in output schemas');
    assert.ok(!/"type":\[/.test(text + out), 'no type arrays');
  });

  test('the original product: its tools listed by default, right accepts CALL/PUT as advertised', async () => {
    const { tools } = await def.client.listTools();
    const names = tools.map((t: Json) => t.name);
    for (const n of [
      'get_market_data',
      'get_historical_data',
      'get_quote',
      'get_options_chain',
      'find_option_contract',
      'place_option_order',
      'get_account_info',
      'get_positions',
      'get_portfolio_summary',
      'place_stock_order',
      'get_order_status',
      'get_live_orders',
      'confirm_order',
    ]) {
      assert.ok(names.includes(n), `${n} listed by default`);
    }
    const find: Json = tools.find((t: Json) => t.name === 'find_option_contract');
    assert.deepEqual(find.inputSchema.properties.right.enum, ['C', 'P', 'CALL', 'PUT']);
    const r = await def.callTool('find_option_contract', { symbol: 'AAPL', right: 'PUT' });
    assert.equal(r.isError, false, r.text);
    assert.equal(r.structured.contract.right, 'P');
  });
});

describe('tool sets on demand', () => {
  let h: Harness;
  let changed = 0;
  before(async () => {
    h = await startServer({
      sim: false,
      args: ['--toolsets', 'marketdata'],
      setup: (client) => {
        client.setNotificationHandler('notifications/tools/list_changed', () => {
          changed++;
        });
      },
    });
  });
  after(async () => {
    await h?.close();
  });

  test('enable_toolset adds the set and sends list_changed; a second call changes nothing', async () => {
    const before = (await h.client.listTools()).tools.map((t: Json) => t.name);
    assert.ok(before.includes('enable_toolset'));
    assert.ok(!before.includes('get_price_chart'));
    const r = await h.callTool('enable_toolset', { toolset: 'chart' });
    assert.equal(r.isError, false, r.text);
    assert.deepEqual(r.structured.tools, ['get_price_chart']);
    const deadline = Date.now() + 5000;
    while (changed === 0 && Date.now() < deadline) await new Promise((d) => setTimeout(d, 20));
    assert.ok(changed >= 1, 'notifications/tools/list_changed received');
    const now = (await h.client.listTools()).tools.map((t: Json) => t.name);
    assert.ok(now.includes('get_price_chart'));
    const again = await h.callTool('enable_toolset', { toolset: 'chart' });
    assert.equal(again.structured.alreadyOn, true);
    const bad = await h.callTool('enable_toolset', { toolset: 'nuclear' });
    assert.equal(bad.isError, true);
    assert.match(bad.text, /toolset/);
  });

  test('--read-only: enabling orders brings only its read tools', async () => {
    const ro = await startServer({ sim: false, args: ['--read-only', '--toolsets', 'marketdata'] });
    try {
      const r = await ro.callTool('enable_toolset', { toolset: 'orders' });
      assert.equal(r.isError, false, r.text);
      for (const w of ['place_stock_order', 'place_option_order', 'confirm_order', 'modify_order', 'cancel_order']) {
        assert.ok(!r.structured.tools.includes(w), `${w} stays out in --read-only`);
      }
      assert.ok(r.structured.tools.includes('get_live_orders'));
    } finally {
      await ro.close();
    }
  });
});

test('suppressConfirmations is accepted and the answer says it was not obeyed', async () => {
  const h = await startServer({ sim: false, args: ['--order-confirmation', 'none'] });
  try {
    const r = await h.callTool('place_stock_order', {
      accountId: 'DU1234567',
      symbol: 'AAPL',
      action: 'BUY',
      orderType: 'MKT',
      quantity: 1,
      suppressConfirmations: true,
    });
    assert.equal(r.isError, false, r.text);
    assert.match(r.structured.message, /suppressConfirmations was ignored/);
    assert.match(r.text, /suppressConfirmations was ignored/);
  } finally {
    await h.close();
  }
});
