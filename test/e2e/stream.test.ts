/**
 * IB's WebSocket through the tools: live orders right after the login from the stream, quotes
 * answered without requests once streamed, get_order_status waitSeconds with progress on a fill,
 * and the connection status from the socket.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type Harness, startServer } from './harness.js';

const ACCT = 'DU1234567';
const cents = (x: number) => Math.round(x * 100) / 100;

describe("IB's WebSocket through the tools", () => {
  let h: Harness;
  const updated: Array<{ uri: string; at: number }> = [];
  before(async () => {
    h = await startServer({
      sim: { latencyMs: 50 },
      args: ['--order-confirmation', 'none'],
      setup: (client) =>
        client.setNotificationHandler('notifications/resources/updated', (n) => {
          updated.push({ uri: n.params.uri, at: Date.now() });
        }),
    });
  });
  after(async () => {
    await h?.close();
  });

  test('get_live_orders after the login: asked until the warm-up seeded the stream, then pushed at once', async () => {
    const login = Date.now();
    const first = await h.callTool('get_live_orders', {});
    assert.equal(first.isError, false, first.text);
    // Shares the warm-up's read: IB's placeholder, then the list after its 5 s interval.
    const firstMs = Date.now() - login;
    assert.ok(firstMs < 10_000, `${firstMs} ms`);
    await new Promise((r) => setTimeout(r, 300));
    const t0 = Date.now();
    const r = await h.callTool('get_live_orders', {});
    const ms = Date.now() - t0;
    assert.equal(r.isError, false, r.text);
    assert.equal(r.structured.source, 'stream', r.text);
    assert.ok(ms < 1500, `${ms} ms`);
    assert.match(r.text, /pushed, \d+\.\d s old/);
    console.log(`stream e2e: first read ${first.structured.source} ${firstMs} ms after login; seeded read ${ms} ms`);
  });

  test('get_connection_status shows the socket; quotes of streamed symbols cost no request', async () => {
    const s = await h.callTool('get_connection_status', {});
    assert.equal(s.structured.push?.state, 'open', s.text);
    assert.match(s.text, /IB WebSocket: open/);
    const symbols = ['AAPL', 'MSFT', 'NVDA', 'AMZN'];
    await h.callTool('get_quote', { symbols });
    // The stream delivers its first message within a tick.
    await new Promise((r) => setTimeout(r, 500));
    const before = (await h.simStats()).total;
    const warm = await h.callTool('get_quote', { symbols });
    const after = (await h.simStats()).total;
    assert.equal(after - before, 0, 'no gateway request');
    assert.ok(
      warm.structured.quotes.every((q: { source?: string }) => q.source === 'stream'),
      JSON.stringify(warm.structured.quotes),
    );
    assert.match(warm.text, /4 of 4 from IB's push stream/);
  });

  test('get_order_status waitSeconds returns on the fill with progress notifications', async () => {
    const q = await h.callTool('get_quote', { symbol: 'MSFT' });
    const ask = q.structured.quotes[0].ask as number;
    const below = { symbol: 'MSFT', action: 'BUY', orderType: 'LMT', price: cents(ask * 0.98), tif: 'GTC' };
    let placed = await h.callTool('place_stock_order', { accountId: ACCT, quantity: 1, ...below });
    // IB may ask about a limit away from the market: yes.
    const replyId = placed.structured.question?.replyId;
    if (replyId) placed = await h.callTool('confirm_order', { replyId });
    assert.equal(placed.structured.status, 'submitted', placed.text);
    const id = placed.structured.orderId as string;
    const progress: Array<{ at: number; message?: string }> = [];
    const waiting = h.client.callTool({ name: 'get_order_status', arguments: { orderId: id, waitSeconds: 20 } }, {
      onprogress: (p: { message?: string }) => progress.push({ at: Date.now(), message: p.message }),
    } as never);
    // The wait announces itself (progress 0): only then is the order made marketable.
    for (const end = Date.now() + 10_000; progress.length === 0 && Date.now() < end; )
      await new Promise((r) => setTimeout(r, 10));
    assert.match(progress[0]?.message ?? '', /waiting up to 20 s/);
    const t0 = Date.now();
    const m = await h.callTool('modify_order', { orderId: id, price: cents(ask * 1.02) });
    assert.equal(m.isError, false, m.text);
    const raw = (await waiting) as { structuredContent: { order: { status: string } } };
    assert.equal(raw.structuredContent.order.status, 'Filled');
    const fill = progress.find((p) => /Filled/.test(p.message ?? ''));
    assert.ok(fill, JSON.stringify(progress));
    assert.ok(fill.at - t0 < 3000, `fill notification ${fill.at - t0} ms after the modify was sent`);
  });

  test('ibkr://orders and ibkr://orders/{id} are subscribable: a fill is announced, coalesced', async () => {
    await h.client.subscribeResource({ uri: 'ibkr://orders' });
    const read = await h.client.readResource({ uri: 'ibkr://orders' });
    const body = JSON.parse((read.contents[0] as { text: string }).text);
    assert.equal(body.source, 'stream');
    updated.length = 0;
    const t0 = Date.now();
    const placed = await h.callTool('place_stock_order', {
      accountId: ACCT,
      symbol: 'AAPL',
      action: 'BUY',
      orderType: 'MKT',
      quantity: 2,
    });
    assert.equal(placed.structured.status, 'filled', placed.text);
    const end = Date.now() + 3000;
    while (!updated.some((u) => u.uri === 'ibkr://orders') && Date.now() < end)
      await new Promise((r) => setTimeout(r, 20));
    const hits = updated.filter((u) => u.uri === 'ibkr://orders');
    assert.ok(hits.length >= 1, 'an update for ibkr://orders');
    assert.ok(hits[0]!.at - t0 < 3000);
    // Not subscribed: no notification for the single order's URI.
    assert.ok(!updated.some((u) => u.uri.startsWith('ibkr://orders/')));
    const one = await h.client.readResource({ uri: `ibkr://orders/${placed.structured.orderId}` });
    assert.equal(JSON.parse((one.contents[0] as { text: string }).text).order.status, 'Filled');
    await h.client.unsubscribeResource({ uri: 'ibkr://orders' });
  });
});
