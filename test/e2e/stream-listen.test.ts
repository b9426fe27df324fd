/**
 * The 2026-07-28 era's `subscriptions/listen` (SDK 2.4): over stdio, a quote read on the
 * connection holds its line and the listen named it, so its pushed changes arrive; URIs the
 * listen did not name are not delivered. Over HTTP (an instance per request), order changes and
 * read quotes' changes are published on the handler's listen bus.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { Client, type StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { getDefaultEnvironment, StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { startSimulator } from '../../src/simulator/index.js';
import { simWs } from '../../src/simulator/ws.js';
import { CLI, simRequest } from './harness.js';
import { startHttpServer } from './http-harness.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const until = async (ok: () => boolean, ms = 8000) => {
  const end = Date.now() + ms;
  while (!ok() && Date.now() < end) await sleep(20);
  return ok();
};

describe('subscriptions/listen (2026-07-28)', () => {
  const cleanups: Array<() => Promise<void>> = [];
  after(async () => {
    for (const c of cleanups.reverse()) await c().catch(() => {});
  });

  test('stdio: a read quote streams to a listen that names it; unnamed URIs stay quiet', async () => {
    const sim = await startSimulator({ port: 0, seed: 7 });
    const home = mkdtempSync(join(tmpdir(), 'ibkr-mcp-listen-'));
    cleanups.push(async () => {
      await sim.close();
      rmSync(home, { recursive: true, force: true });
    });
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [CLI, 'serve', '--backend', 'gateway', '--gateway-url', sim.url, '--log-level', 'warn'],
      env: { ...getDefaultEnvironment(), IBKR_MCP_HOME: home },
      stderr: 'pipe',
    });
    const client = new Client({ name: 'listen-e2e', version: '1.0.0' }, {
      versionNegotiation: { mode: { pin: '2026-07-28' } },
    } as never);
    const updated: string[] = [];
    client.setNotificationHandler('notifications/resources/updated', (n) => {
      updated.push(n.params.uri);
    });
    await client.connect(transport);
    cleanups.push(() => client.close());
    assert.equal(client.getNegotiatedProtocolVersion?.(), '2026-07-28');
    assert.ok(await until(() => simWs(sim.state).conns.size > 0, 15_000), 'WebSocket open');
    const sub = await client.listen({ resourceSubscriptions: ['ibkr://quote/AAPL'] });
    assert.deepEqual(sub.honoredFilter.resourceSubscriptions, ['ibkr://quote/AAPL']);
    await client.readResource({ uri: 'ibkr://quote/AAPL' });
    await client.readResource({ uri: 'ibkr://quote/MSFT' });
    assert.equal(simWs(sim.state).lines(), 2, 'both reads hold their line for the connection');
    updated.length = 0;
    await simRequest(sim, '/sim/clock', { advanceMs: 3_600_000 });
    assert.ok(await until(() => updated.includes('ibkr://quote/AAPL')), JSON.stringify(updated));
    await sleep(500);
    assert.ok(!updated.includes('ibkr://quote/MSFT'), 'not named by the listen: not delivered');
    await sub.close();
  });

  test('http: order and read quote changes reach a listen', async () => {
    const h = await startHttpServer({ args: ['--order-confirmation', 'none'] });
    cleanups.push(() => h.close());
    const client = await h.connect('modern');
    const updated: string[] = [];
    client.setNotificationHandler('notifications/resources/updated', (n) => {
      updated.push(n.params.uri);
    });
    assert.ok(await until(() => simWs(h.sim!.state).conns.size > 0, 15_000), 'WebSocket open');
    const sub = await client.listen({ resourceSubscriptions: ['ibkr://orders'] });
    const placed = await client.callTool({
      name: 'place_stock_order',
      arguments: { accountId: 'DU1234567', symbol: 'AAPL', action: 'BUY', orderType: 'MKT', quantity: 1 },
    });
    assert.equal((placed.structuredContent as { status: string }).status, 'filled', JSON.stringify(placed.content));
    assert.ok(await until(() => updated.includes('ibkr://orders')), JSON.stringify(updated));
    assert.ok(!updated.some((u) => u.startsWith('ibkr://orders/')), 'only what the listen named');
    await sub.close();

    // A quote read over HTTP is streamed (no line held): a listen naming it hears its changes.
    const quotes = await client.listen({ resourceSubscriptions: ['ibkr://quote/AAPL'] });
    await client.readResource({ uri: 'ibkr://quote/AAPL' });
    updated.length = 0;
    await simRequest(h.sim!, '/sim/clock', { advanceMs: 3_600_000 });
    assert.ok(await until(() => updated.includes('ibkr://quote/AAPL')), JSON.stringify(updated));
    await quotes.close();

    // 2025 era on the same server: a client that goes away frees the line its subscription held.
    const legacy = await h.connect('legacy');
    await legacy.subscribeResource({ uri: 'ibkr://quote/NVDA' });
    const lines = () => simWs(h.sim!.state).lines();
    assert.ok(await until(() => lines() >= 1), 'line held');
    const held = lines();
    await (legacy.transport as StreamableHTTPClientTransport).terminateSession();
    await legacy.close();
    assert.ok(await until(() => lines() === held - 1), `line freed when the client left (${lines()} of ${held})`);
  });
});
