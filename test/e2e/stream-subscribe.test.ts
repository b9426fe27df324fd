/**
 * Subscribable live resources over stdio (2025-11-25 resources/subscribe) against the simulator's
 * WebSocket: a quote subscription holds one of IB's market-data lines and announces pushed price
 * changes; unsubscribing frees the line; a dropped socket is reopened and the quote resubscribed;
 * P&L and positions announce changes; get_pnl answers from IB's pushed P&L.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { simWs } from '../../src/simulator/ws.js';
import { type Harness, startServer } from './harness.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('live resources: subscribe, update, unsubscribe', () => {
  let h: Harness;
  const updated: Array<{ uri: string; at: number }> = [];
  const lines = () => simWs(h.sim!.state).lines();
  const until = async (ok: () => boolean, ms = 5000) => {
    const end = Date.now() + ms;
    while (!ok() && Date.now() < end) await sleep(20);
    return ok();
  };
  before(async () => {
    h = await startServer({
      sim: { latencyMs: 20 },
      args: ['--order-confirmation', 'none'],
      setup: (client) =>
        client.setNotificationHandler('notifications/resources/updated', (n) => {
          updated.push({ uri: n.params.uri, at: Date.now() });
        }),
    });
    // The socket is open once the login's warm-up ran.
    assert.ok(await until(() => simWs(h.sim!.state).conns.size > 0, 15_000), 'the server opened the WebSocket');
  });
  after(async () => {
    await h?.close();
  });

  test('a quote subscription holds a line and announces a price change; unsubscribing frees the line', async () => {
    assert.equal(lines(), 0);
    await h.client.subscribeResource({ uri: 'ibkr://quote/AAPL' });
    assert.equal(lines(), 1, 'one market-data line held');
    const status = await h.callTool('get_connection_status', {});
    assert.equal(status.structured.push.heldQuotes, 1, status.text);
    assert.ok(await until(() => updated.some((u) => u.uri === 'ibkr://quote/AAPL')), 'first pushed row announced');
    // Move market time: the simulator's price moves, its next push carries the change.
    updated.length = 0;
    const t0 = Date.now();
    await h.simControl('/sim/clock', { advanceMs: 3_600_000 });
    assert.ok(await until(() => updated.some((u) => u.uri === 'ibkr://quote/AAPL')), 'price change announced');
    const ms = updated[0]!.at - t0;
    assert.ok(ms < 1000, `${ms} ms from the price change to the notification`);
    const read = await h.client.readResource({ uri: 'ibkr://quote/AAPL' });
    const q = JSON.parse((read.contents[0] as { text: string }).text);
    assert.equal(q.source, 'stream', JSON.stringify(q));
    assert.equal(typeof q.ageMs, 'number');
    await h.client.unsubscribeResource({ uri: 'ibkr://quote/AAPL' });
    assert.ok(await until(() => lines() === 0), `line released (${lines()} held)`);
    updated.length = 0;
    await h.simControl('/sim/clock', { advanceMs: 3_600_000 });
    await sleep(600);
    assert.ok(!updated.some((u) => u.uri === 'ibkr://quote/AAPL'), 'no update after unsubscribing');
  });

  test('a dropped socket is reopened and the subscribed quote streams again', async () => {
    await h.client.subscribeResource({ uri: 'ibkr://quote/MSFT' });
    assert.ok(await until(() => updated.some((u) => u.uri === 'ibkr://quote/MSFT')));
    const before = (await h.callTool('get_connection_status', {})).structured.push.reconnects as number;
    await h.simControl('/sim/faults', { ws: { drop: true } });
    assert.ok(await until(() => lines() === 0 || simWs(h.sim!.state).conns.size === 0, 2000));
    updated.length = 0;
    // Reconnected (backoff 0.25 s) and subscribed again: the first message carries every field.
    assert.ok(await until(() => lines() === 1, 5000), 'line taken again after the reconnect');
    await h.simControl('/sim/clock', { advanceMs: 3_600_000 });
    assert.ok(await until(() => updated.some((u) => u.uri === 'ibkr://quote/MSFT')), 'updates resume');
    const after = (await h.callTool('get_connection_status', {})).structured.push;
    assert.ok(after.reconnects > before, JSON.stringify(after));
    await h.client.unsubscribeResource({ uri: 'ibkr://quote/MSFT' });
    assert.ok(await until(() => lines() === 0));
  });

  test('ibkr://pnl and ibkr://positions announce changes; get_pnl answers from the push', async () => {
    await h.client.subscribeResource({ uri: 'ibkr://pnl' });
    await h.client.subscribeResource({ uri: 'ibkr://positions' });
    updated.length = 0;
    const placed = await h.callTool('place_stock_order', {
      accountId: 'DU1234567',
      symbol: 'AAPL',
      action: 'BUY',
      orderType: 'MKT',
      quantity: 3,
    });
    assert.equal(placed.structured.status, 'filled', placed.text);
    assert.ok(await until(() => updated.some((u) => u.uri === 'ibkr://positions')), 'positions announced');
    await h.simControl('/sim/clock', { advanceMs: 3_600_000 });
    assert.ok(await until(() => updated.some((u) => u.uri === 'ibkr://pnl')), 'P&L announced');
    const positions = JSON.parse(
      ((await h.client.readResource({ uri: 'ibkr://positions' })).contents[0] as { text: string }).text,
    );
    assert.ok(
      positions.accounts.some((a: { positions: Array<{ symbol: string }> }) =>
        a.positions.some((p) => p.symbol === 'AAPL'),
      ),
      JSON.stringify(positions).slice(0, 300),
    );
    // Last: P&L of the other accounts is asked for with each selected in turn, and IB (and the
    // simulator) push P&L and orders of the selected account only.
    const pnl = await h.callTool('get_pnl', {});
    assert.equal(pnl.isError, false, pnl.text);
    // IB's push covers the selected account (the simulator scopes P&L like IB); the others are asked for.
    assert.match(pnl.structured.source, /^(stream|mixed)$/, pnl.text);
    assert.match(pnl.text, /P&L (partly )?pushed by IB/);
    const read = JSON.parse(
      ((await h.client.readResource({ uri: 'ibkr://pnl' })).contents[0] as { text: string }).text,
    );
    assert.match(read.source, /^(stream|mixed)$/);
    assert.ok(
      read.accounts.some(
        (a: { accountId: string; source: string }) => a.accountId === 'DU1234567' && a.source === 'stream',
      ),
      JSON.stringify(read),
    );
    await h.client.unsubscribeResource({ uri: 'ibkr://pnl' });
    await h.client.unsubscribeResource({ uri: 'ibkr://positions' });
  });

  test('subscribing to something that is not subscribable is refused', async () => {
    const held = lines();
    await assert.rejects(h.client.subscribeResource({ uri: 'ibkr://accounts' }), /Not a subscribable resource/);
    await assert.rejects(h.client.subscribeResource({ uri: 'ibkr://quote/ZZZZQX' }), /No contract found/);
    assert.equal(lines(), held);
  });
});
