/**
 * MCP Apps, as a user sees them: the built server (against a simulator with a LIVE login) and a test
 * host in headless Chromium that runs ext-apps' own host side (AppBridge) around our views. The
 * order ticket: shown → quantity changed → what-if refreshed → Place → exactly one order; Cancel →
 * none; a double click or a reload → still one. The views render from the tools' results. And a
 * model (every model-visible tool, every result fed back, and the app-only tool without the
 * ticket's secret) places nothing. Skipped, saying why, when Chromium is not installed.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Frame } from 'playwright-core';
import { browserMissing, TestHost, UI_CAPABILITIES } from './apps-host.js';
import { type Harness, startServer } from './harness.js';

const ACCT = 'U1234567';
const LIVE_ARGS = ['--allow-live-trading', '--max-order-notional', '10000000', '--max-orders-per-day', '1000'];
const TICKET_URI = 'ui://ibkr-mcp/order-ticket.html';
const PLACE = 'POST /iserver/account/:accountId/orders';
const ORDER_ENDPOINTS = [
  PLACE,
  'POST /iserver/reply/:replyId',
  'POST /iserver/account/:accountId/order/:orderId',
  'DELETE /iserver/account/:accountId/order/:orderId',
];
const missing = browserMissing();
if (missing) process.stderr.write(`MCP Apps browser tests skipped: ${missing}\n`);

async function orderRequests(h: Harness): Promise<number> {
  const st = await h.simStats();
  return ORDER_ENDPOINTS.reduce((a, k) => a + (st.byEndpoint[k] ?? 0), 0);
}

function journalLines(home: string): Array<Record<string, unknown>> {
  const find = (dir: string): string | undefined => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isFile() && e.name === 'journal.jsonl') return p;
      if (e.isDirectory()) {
        const f = find(p);
        if (f) return f;
      }
    }
    return undefined;
  };
  const file = find(home);
  return file
    ? readFileSync(file, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l))
    : [];
}

/** A LIVE limit order at the current price, which the server holds as a ticket. */
async function liveOrder(h: Harness, quantity = 1) {
  const q = await h.callTool('get_quote', { symbol: 'AAPL' });
  const last = q.structured.quotes[0].last as number;
  const args = { accountId: ACCT, symbol: 'AAPL', action: 'BUY', orderType: 'LMT', price: last, quantity };
  const res = await h.callTool('place_stock_order', args);
  assert.equal(res.structured.status, 'confirmation_required', res.text);
  assert.equal(res.structured.approval, 'ticket', res.text);
  return { args, res };
}

async function waitOpen(frame: Frame): Promise<void> {
  await frame.locator('#place:not([disabled])').waitFor({ timeout: 15_000 });
}

const figures: string[] = [];

describe('MCP Apps in a test host', {
  skip: missing ? `chromium missing: ${missing}` : false,
  timeout: 240_000,
}, () => {
  let h: Harness;
  let host: TestHost;
  before(async () => {
    h = await startServer({ sim: { live: true }, args: LIVE_ARGS, capabilities: UI_CAPABILITIES });
    host = await TestHost.start(h);
  });
  after(async () => {
    await host?.close();
    await h?.close();
    if (figures.length) process.stderr.write(`MCP Apps: ${figures.join('; ')}\n`);
  });

  it('an Apps client sees the views and the app-only ticket tool; other clients see today’s tools', async () => {
    const tools = (await h.client.listTools()).tools;
    const byName = new Map(tools.map((t) => [t.name, t]));
    const meta = (n: string) => (byName.get(n)?._meta as { ui?: Record<string, unknown> } | undefined)?.ui;
    assert.equal(meta('place_stock_order')?.['resourceUri'], TICKET_URI);
    assert.equal(meta('get_positions')?.['resourceUri'], 'ui://ibkr-mcp/portfolio.html');
    assert.equal(meta('get_options_chain')?.['resourceUri'], 'ui://ibkr-mcp/option-chain.html');
    assert.equal(meta('get_historical_data')?.['resourceUri'], 'ui://ibkr-mcp/chart.html');
    assert.deepEqual(meta('order_ticket')?.['visibility'], ['app']);
    const res = await h.client.readResource({ uri: TICKET_URI });
    const c = res.contents[0] as { text: string; mimeType: string; _meta?: { ui?: { csp?: unknown } } };
    assert.equal(c.mimeType, 'text/html;profile=mcp-app');
    assert.ok(Buffer.byteLength(c.text) < 150 * 1024);
    assert.match(c.text, /default-src 'none'/);
    assert.doesNotMatch(c.text, /https?:\/\/(?!www\.w3\.org)/, 'no remote asset');
    assert.deepEqual(c._meta?.ui?.csp, { connectDomains: [], resourceDomains: [] });

    for (const opts of [{}, { capabilities: UI_CAPABILITIES, args: ['--no-ui'] }]) {
      const plain = await startServer({ sim: false, ...opts });
      try {
        const list = (await plain.client.listTools()).tools;
        assert.ok(!list.some((t) => t.name === 'order_ticket'));
        assert.ok(list.every((t) => t._meta === undefined || !('ui' in t._meta)));
        // Not registered (--no-ui), or refused to a client without Apps.
        const r = await plain
          .callTool('order_ticket', { action: 'open', ticketId: 'tk-AAAAAAAAAAAAAAAA' })
          .catch((err: Error) => ({ isError: true, text: err.message }));
        assert.equal(r.isError, true, r.text);
      } finally {
        await plain.close();
      }
    }
  });

  it('ticket: shown → quantity changed → what-if refreshed → Place → one order, approval "ticket"', async () => {
    const before = await orderRequests(h);
    const { args, res } = await liveOrder(h);
    const { frame, initializedMs } = await host.mount(TICKET_URI, { args, result: res.raw });
    await waitOpen(frame);
    const paint = await frame.evaluate(() => {
      const m = performance.getEntriesByName('ticket-painted')[0];
      const fcp = performance.getEntriesByName('first-contentful-paint')[0];
      return { ticket: m?.startTime ?? -1, fcp: fcp?.startTime ?? -1 };
    });
    figures.push(
      `ticket first paint ${paint.ticket.toFixed(0)} ms (document FCP ${paint.fcp.toFixed(0)} ms, handshake ${initializedMs.toFixed(0)} ms)`,
    );
    // The figure is bench:apps' (bench/apps-results.md); here only that the view marks its paint.
    assert.ok(paint.ticket > 0, 'the ticket marks its first paint');
    assert.match(await frame.locator('#mode').innerText(), /LIVE/);
    assert.match(await frame.locator('#contract').innerText(), /AAPL STK/);
    assert.equal(await frame.locator('#side').innerText(), 'BUY');
    const posBefore = await frame.locator('#wi-position').innerText();

    await frame.locator('#quantity').fill('3');
    await frame.locator('#app[data-whatif="1"]').waitFor({ timeout: 15_000 });
    await waitOpen(frame);
    const update = host.appCalls.find((c) => c.name === 'order_ticket' && c.args['action'] === 'update');
    assert.equal(update?.args['quantity'], 3);
    assert.equal(update?.result.structuredContent.order.sent.quantity, 3);
    assert.notEqual(await frame.locator('#wi-position').innerText(), posBefore, 'the what-if was refreshed');
    assert.equal(await orderRequests(h), before, 'nothing sent before Place');

    await frame.locator('#place').click();
    await frame
      .locator('#app[data-status="done"]')
      .waitFor({ timeout: 15_000 })
      .catch(() => {
        throw new Error(JSON.stringify(host.appCalls.at(-1)));
      });
    assert.match(await frame.locator('#order-id').innerText(), /^\d+$/);
    assert.equal(await frame.locator('#approval').innerText(), 'ticket');
    assert.equal(await orderRequests(h), before + 1);
    const placed = host.appCalls.find((c) => c.args['action'] === 'place');
    assert.equal(placed?.result.structuredContent.result.sent.quantity, 3);
    const journal = journalLines(h.home).filter((l) => l['cOID'] === res.structured.clientOrderId);
    assert.ok(
      journal.some((l) => l['approval'] === 'ticket'),
      JSON.stringify(journal),
    );

    // The secret reached the app and nothing the model saw.
    const secrets = host.appCalls.map((c) => c.result.structuredContent?.secret).filter(Boolean) as string[];
    assert.ok(secrets.length >= 1);
    for (const s of secrets) assert.ok(!JSON.stringify(res.raw).includes(s));

    // A reload: the same view again shows the placed order and cannot send another.
    const again = await host.mount(TICKET_URI, { args, result: res.raw });
    await again.frame.locator('#app[data-status="done"]').waitFor({ timeout: 15_000 });
    assert.equal(await again.frame.locator('#place').isDisabled(), true);
    await again.frame.locator('#place').click({ force: true });
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(await orderRequests(h), before + 1, 'still one order after a reload');
  });

  it('ticket: Cancel sends nothing', async () => {
    const before = await orderRequests(h);
    const { args, res } = await liveOrder(h);
    const { frame } = await host.mount(TICKET_URI, { args, result: res.raw });
    await waitOpen(frame);
    await frame.locator('#cancel').click();
    await frame.locator('#app[data-status="cancelled"]').waitFor({ timeout: 15_000 });
    assert.equal(await frame.locator('#place').isDisabled(), true);
    assert.equal(await orderRequests(h), before);
  });

  it('ticket: a double click, and two Place calls at once with the secret, send one order', async () => {
    const before = await orderRequests(h);
    const { args, res } = await liveOrder(h);
    const { frame } = await host.mount(TICKET_URI, { args, result: res.raw });
    await waitOpen(frame);
    await frame.locator('#place').dblclick();
    await frame.locator('#app[data-status="done"]').waitFor({ timeout: 15_000 });
    assert.equal(await orderRequests(h), before + 1);

    const second = await liveOrder(h);
    const ticketId = (second.res.raw._meta as Record<string, { id: string }>)['io.github.ibkr-mcp/ticket']!.id;
    const opened = await h.callTool('order_ticket', { action: 'open', ticketId });
    const secret = opened.structured.secret as string;
    const both = await Promise.all([
      h.callTool('order_ticket', { action: 'place', ticketId, secret }),
      h.callTool('order_ticket', { action: 'place', ticketId, secret }),
    ]);
    assert.equal(both[0]!.structured.result.orderId, both[1]!.structured.result.orderId);
    const third = await h.callTool('order_ticket', { action: 'place', ticketId, secret });
    assert.equal(third.structured.status, 'done');
    assert.equal(await orderRequests(h), before + 2);
  });

  it('attack: a model with every result, every model-visible tool and the app-only tool without the secret places nothing', async () => {
    const before = await orderRequests(h);
    const tools = (await h.client.listTools()).tools;
    const visible = tools.filter((t) => {
      const v = (t._meta as { ui?: { visibility?: string[] } } | undefined)?.ui?.visibility;
      return !v || v.includes('model');
    });
    assert.ok(!visible.some((t) => t.name === 'order_ticket'), 'order_ticket is not visible to the model');
    const seen: string[] = [];
    const { res } = await liveOrder(h);
    seen.push(JSON.stringify(res.raw));
    const ticketId = (res.raw._meta as Record<string, { id: string }>)['io.github.ibkr-mcp/ticket']!.id;
    const strings = () => [...new Set(seen.join('\n').match(/[A-Za-z0-9_.-]{16,}/g) ?? [])];
    // Every model-visible tool, fed what the model has seen.
    for (const t of visible) {
      if (t.name === 'authenticate' || t.name === 'cancel_order') continue;
      const r = await h.client.callTool({
        name: t.name,
        arguments: t.name === 'confirm_order' ? { token: ticketId } : {},
      });
      seen.push(JSON.stringify(r));
    }
    for (const token of strings().slice(0, 40)) {
      seen.push(JSON.stringify(await h.client.callTool({ name: 'confirm_order', arguments: { token } })));
      seen.push(
        JSON.stringify(await h.client.callTool({ name: 'confirm_order', arguments: { token, code: '123456' } })),
      );
    }
    // The app-only tool, as a host that leaked it to the model would allow: without `open`'s secret.
    for (const secret of [...strings().slice(0, 40), ticketId, 'x'.repeat(43)]) {
      for (const action of ['place', 'update', 'cancel']) {
        const r = await h.callTool('order_ticket', { action, ticketId, secret, quantity: 5 });
        assert.equal(r.isError, true, `${action} with ${secret}: ${r.text}`);
      }
    }
    assert.equal(await orderRequests(h), before, 'no order request reached the simulator');
  });

  it('views: portfolio, option chain (a click prepares a ticket) and chart render from tool results', async () => {
    const pos = await h.callTool('get_positions', {});
    let v = await host.mount('ui://ibkr-mcp/portfolio.html', { args: {}, result: pos.raw });
    await v.frame.locator('table tbody tr').first().waitFor({ timeout: 15_000 });
    assert.equal(await v.frame.locator('table tbody tr').count(), pos.structured.positions.length);
    await v.frame.locator('[data-sort="symbol"]').focus();
    await host.page.keyboard.press('Enter');
    assert.equal(await v.frame.locator('th[aria-sort="ascending"] [data-sort="symbol"]').count(), 1);
    assert.ok((await v.frame.locator('.bar').count()) > 0, 'allocation bars');

    const chain = await h.callTool('get_options_chain', { symbol: 'AAPL', expirationCount: 2, strikeCount: 6 });
    v = await host.mount('ui://ibkr-mcp/option-chain.html', { args: {}, result: chain.raw });
    await v.frame.locator('td.cell').first().waitFor({ timeout: 15_000 });
    await v.frame.locator('#account option[value="U1234567"]').waitFor({ state: 'attached', timeout: 15_000 });
    await v.frame.locator('#account').selectOption('U1234567');
    const before = await orderRequests(h);
    await v.frame.locator('td.cell').first().press('Enter');
    await waitOpen(v.frame);
    assert.match(await v.frame.locator('#contract').innerText(), /AAPL OPT/);
    assert.equal(await orderRequests(h), before, 'a click prepares; only Place sends');

    const hist = await h.callTool('get_historical_data', { symbol: 'AAPL', period: '1w', bar: '1h' });
    v = await host.mount('ui://ibkr-mcp/chart.html', { args: {}, result: hist.raw });
    await v.frame.locator('#chart-svg').waitFor({ timeout: 15_000 });
    assert.equal(await v.frame.locator('rect.vol').count(), hist.structured.rows.length);
    await v.frame.locator('#chart-svg').focus();
    await host.page.keyboard.press('ArrowLeft');
    assert.match(await v.frame.locator('#ohlc').innerText(), /O .* H .* L .* C .* V /);
    await host.page.keyboard.press('+');
    assert.ok((await v.frame.locator('rect.vol').count()) < hist.structured.rows.length, 'zoomed in');
    await host.setTheme('dark');
    assert.equal(await v.frame.evaluate('document.documentElement.dataset.theme'), 'dark');
  });
});
