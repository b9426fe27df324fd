/**
 * The subscriptions of one MCP server instance (src/mcp/subscriptions.ts) against a stand-in for
 * the SDK server: what a subscription holds is released on unsubscribe and on close; updates are
 * sent only for subscribed URIs (2025 era), the first at once and the rest coalesced, never lost.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { McpServer } from '@modelcontextprotocol/server';
import { COALESCE_MS, subscriptionsOf } from '../../src/mcp/subscriptions.js';

type Handler = (req: { params: { uri: string } }) => Promise<unknown>;

function fakeServer() {
  const handlers = new Map<string, Handler>();
  const sent: Array<{ uri: string; at: number }> = [];
  const inner = {
    onclose: undefined as (() => void) | undefined,
    setRequestHandler: (method: string, h: Handler) => handlers.set(method, h),
    sendResourceUpdated: async ({ uri }: { uri: string }) => {
      sent.push({ uri, at: Date.now() });
    },
  };
  const server = { server: inner } as unknown as McpServer;
  return {
    server,
    sent,
    subscribe: (uri: string) => handlers.get('resources/subscribe')!({ params: { uri } }),
    unsubscribe: (uri: string) => handlers.get('resources/unsubscribe')!({ params: { uri } }),
    close: () => inner.onclose?.(),
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('a hold is taken on subscribe and released on unsubscribe and on close', async () => {
  const f = fakeServer();
  const subs = subscriptionsOf(f.server);
  const log: string[] = [];
  subs.subscribable(
    (uri) => uri.startsWith('ibkr://quote/'),
    async (uri) => {
      log.push(`hold ${uri}`);
      return () => log.push(`release ${uri}`);
    },
  );
  await f.subscribe('ibkr://quote/AAPL');
  await f.subscribe('ibkr://quote/AAPL'); // once only
  await f.subscribe('ibkr://quote/MSFT');
  await f.unsubscribe('ibkr://quote/AAPL');
  assert.deepEqual(log, ['hold ibkr://quote/AAPL', 'hold ibkr://quote/MSFT', 'release ibkr://quote/AAPL']);
  f.close();
  assert.deepEqual(log.slice(3), ['release ibkr://quote/MSFT']);
  await assert.rejects(f.subscribe('ibkr://accounts'), /Not a subscribable resource/);
});

test('updates: only subscribed URIs, the first at once, later ones coalesced, the last never lost', async () => {
  const f = fakeServer();
  const subs = subscriptionsOf(f.server);
  subs.subscribable((uri) => uri === 'ibkr://orders');
  subs.touch('ibkr://orders'); // not subscribed yet
  assert.equal(f.sent.length, 0);
  await f.subscribe('ibkr://orders');
  const t0 = Date.now();
  for (let i = 0; i < 10; i++) subs.touch('ibkr://orders');
  assert.equal(f.sent.length, 1, 'the first at once');
  await sleep(COALESCE_MS + 50);
  assert.equal(f.sent.length, 2, 'the rest as one, after the window');
  assert.ok(f.sent[1]!.at - t0 >= COALESCE_MS - 5);
  // Unsubscribed while an update waits: it is dropped.
  subs.touch('ibkr://orders');
  await f.unsubscribe('ibkr://orders');
  await sleep(COALESCE_MS + 50);
  assert.equal(f.sent.length, 2);
});
