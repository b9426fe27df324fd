/**
 * Alerts end to end against the simulator: create (price, volume, time, margin), list, read
 * one, trigger on simulated prices, pause, delete; the refusals (percent change, an order in an
 * alert, an unknown alert, an account the session does not have) and --read-only (also for the
 * research set switched on with enable_toolset).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type Harness, startServer } from './harness.js';

const ACCT = 'DU1234567';

describe('alerts end to end', () => {
  let h: Harness;
  let ro: Harness;
  before(async () => {
    [h, ro] = await Promise.all([
      startServer({ args: ['--toolsets', 'alerts'] }),
      startServer({ args: ['--toolsets', 'alerts', '--read-only'] }),
    ]);
  });
  after(async () => {
    await Promise.all([h?.close(), ro?.close()]);
  });

  test('annotations: read, write, destructive; --read-only lists get_alerts only', async () => {
    const { tools } = await h.client.listTools();
    const by = Object.fromEntries(tools.map((t) => [t.name, t.annotations]));
    assert.equal(by['get_alerts']?.readOnlyHint, true);
    assert.equal(by['create_alert']?.readOnlyHint, false);
    assert.equal(by['create_alert']?.destructiveHint, false);
    assert.equal(by['activate_alert']?.destructiveHint, false);
    assert.equal(by['delete_alert']?.destructiveHint, true);
    for (const t of tools.filter((x) => x.name.includes('alert'))) assert.ok(t.outputSchema, `${t.name} outputSchema`);
    const listed = (await ro.client.listTools()).tools.map((t) => t.name).filter((n) => n.includes('alert'));
    assert.deepEqual(listed, ['get_alerts']);
  });

  test('create, list, read, trigger, pause, delete', async () => {
    const empty = await h.callTool('get_alerts', {});
    assert.equal(empty.isError, false, empty.text);
    assert.equal(empty.structured.accountId, ACCT);
    assert.equal(empty.structured.mode, 'PAPER');
    assert.match(empty.text, /^\[PAPER\]/);
    assert.deepEqual(empty.structured.alerts, []);

    // >= 1 holds at once on the simulated price: the alert triggers.
    const made = await h.callTool('create_alert', {
      name: 'AAPL above 1',
      conditions: ['AAPL price >= 1'],
    });
    assert.equal(made.isError, false, made.text);
    const id = made.structured.alertId;
    assert.equal(typeof id, 'number');

    const later = await h.callTool('create_alert', {
      name: 'Far away',
      message: 'volume, time or margin',
      logic: 'or',
      expires: '2099-01-01T00:00:00Z',
      conditions: ['MSFT@NASDAQ volume >= 1e15', 'time >= 2099-01-01T00:00:00Z', 'margin <= 0.5'],
    });
    assert.equal(later.isError, false, later.text);

    const list = await h.callTool('get_alerts', { accountId: ACCT });
    const rows = list.structured.alerts;
    assert.equal(rows.length, 2);
    const first = rows.find((a: { id: number }) => a.id === id);
    assert.equal(first.triggered, true);
    assert.equal(first.active, true);
    assert.match(list.text, /«AAPL above 1»: active, TRIGGERED/);

    const one = await h.callTool('get_alerts', { alertId: later.structured.alertId });
    assert.equal(one.isError, false, one.text);
    const d = one.structured.alert;
    assert.equal(d.tif, 'GTD');
    assert.equal(d.logic, 'or');
    assert.equal(d.triggered, false);
    assert.deepEqual(
      d.conditions.map((c: { kind: string }) => c.kind),
      ['volume', 'time', 'margin'],
    );
    assert.match(one.text, /OR/);
    // IB's operators are shown as they are, not marked as outside text.
    assert.match(one.text, /OR time >= 20990101-00:00:00 OR margin <= 0\.5/);

    const off = await h.callTool('activate_alert', { alertId: id, active: false });
    assert.equal(off.isError, false, off.text);
    const after = await h.callTool('get_alerts', { alertId: id });
    assert.equal(after.structured.alert.active, false);

    const del = await h.callTool('delete_alert', { alertId: id });
    assert.equal(del.isError, false, del.text);
    assert.equal(del.structured.deleted, true);
    const left = await h.callTool('get_alerts', {});
    assert.deepEqual(
      left.structured.alerts.map((a: { id: number }) => a.id),
      [later.structured.alertId],
    );
  });

  test('the MTA alert', async () => {
    const r = await h.callTool('get_alerts', { mta: true });
    assert.equal(r.isError, false, r.text);
    assert.equal(r.structured.alert.mta, true);
    assert.match(r.text, /\(MTA\)/);
  });

  test('refusals: percent change, an order, unknown alert, unknown account, id 0', async () => {
    const pct = await h.callTool('create_alert', {
      name: 'pct',
      conditions: ['AAPL change% >= 5'],
    });
    assert.equal(pct.isError, true);
    assert.match(pct.text, /no percent-change alert condition/);

    const order = await h.callTool('create_alert', {
      name: 'with order',
      conditions: ['AAPL price >= 1'],
      order: { side: 'BUY', quantity: 10 },
    });
    assert.equal(order.isError, true);
    assert.match(order.text, /order/);

    const garbled = await h.callTool('create_alert', { name: 'garbled', conditions: ['AAPL above 200'] });
    assert.equal(garbled.isError, true);
    assert.match(garbled.text, /not understood/);
    assert.match(garbled.text, /AAPL price >= 200/);

    // A time without its offset would be read in the server's own time zone: refused.
    const local = await h.callTool('create_alert', { name: 'local', conditions: ['time >= 2099-01-01T09:30'] });
    assert.equal(local.isError, true);
    assert.match(local.text, /with its offset/);

    for (const [tool, args] of [
      ['get_alerts', { alertId: 42 }],
      ['activate_alert', { alertId: 42 }],
      ['delete_alert', { alertId: 42 }],
    ] as const) {
      const r = await h.callTool(tool, args);
      assert.equal(r.isError, true, tool);
      assert.match(r.text, /No alert 42/, `${tool}: ${r.text}`);
    }

    const acct = await h.callTool('get_alerts', { accountId: 'U9999999' });
    assert.equal(acct.isError, true);
    assert.match(acct.text, /Unknown account/);

    const zero = await h.callTool('delete_alert', { alertId: 0 });
    assert.equal(zero.isError, true, 'id 0 would delete every alert at IB');
  });

  test('enable_toolset: research joins; in --read-only only its read tools', async () => {
    const { tools } = await h.client.listTools();
    const enable = tools.find((t) => t.name === 'enable_toolset');
    assert.match(enable?.description ?? '', /research \(FX, watchlists, scanner, news\)/);
    const r = await h.callTool('enable_toolset', { toolset: 'research' });
    assert.equal(r.isError, false, r.text);
    assert.deepEqual(r.structured.tools, [
      'get_fx_rate',
      'get_watchlists',
      'create_watchlist',
      'edit_watchlist',
      'delete_watchlist',
      'scan_market',
      'get_news',
    ]);
    const rr = await ro.callTool('enable_toolset', { toolset: 'research' });
    assert.deepEqual(rr.structured.tools, ['get_fx_rate', 'get_watchlists', 'scan_market', 'get_news']);
  });
});
