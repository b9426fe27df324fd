/**
 * Approval attacks over the real HTTP transport, both protocol eras (issue 11 items 4 and 9):
 * IB's warnings about an order the human approved in a dialog go to the human in a dialog, never
 * to the model alone; and the state of a dialog (2026 `requestState`) cannot be redeemed with
 * confirm_order.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { loadConfig } from '../../src/config/index.js';
import { silentLogger } from '../../src/log.js';
import { type HttpServer, startHttp } from '../../src/mcp/http.js';
import { type App, createApp } from '../../src/runtime.js';
import { simOrders } from '../../src/simulator/orders.js';

const TOKEN = 'Kq7vXw2LpZ9tRb4NmC8sYd3FhJ6gTe1UaQx5WzVr0oPi';
const ACCT = 'DU1234567';
let app: App;
let server: HttpServer;
let home: string;

before(async () => {
  home = mkdtempSync(join(tmpdir(), 'ibkr-approval-'));
  const { config } = loadConfig(['--backend', 'sim', '--transport', 'http', '--port', '0', '--home', home], {
    IBKR_MCP_TOKEN: TOKEN,
  } as NodeJS.ProcessEnv);
  app = await createApp(config, silentLogger);
  server = await startHttp(app, { announce: false });
});
after(async () => {
  await server?.close();
  await app?.close();
  rmSync(home, { recursive: true, force: true });
});

type Answer = { action: 'accept' | 'decline'; content?: unknown };
type Text = Array<{ type: string; text: string }>;

async function connect(era: 'legacy' | 'modern', answer: (message: string, n: number) => Promise<Answer> | Answer) {
  const client = new Client({ name: 'c', version: '1' }, {
    capabilities: { elicitation: { form: {} } },
    versionNegotiation: { mode: era === 'legacy' ? 'legacy' : { pin: '2026-07-28' } },
  } as never);
  const asked: string[] = [];
  const states: string[] = [];
  client.setRequestHandler('elicitation/create', async (req) => {
    const message = String((req.params as { message: string }).message);
    asked.push(message);
    return (await answer(message, asked.length)) as never;
  });
  // Everything the server sends is visible to a model that holds every result: collect the states.
  const spy: typeof fetch = async (input, init) => {
    const res = await fetch(input, init);
    // Read a copy as it streams (an SSE stream may stay open): never hold the client up.
    void res
      .clone()
      .body?.pipeTo(
        new WritableStream({
          write(chunk) {
            const text = Buffer.from(chunk).toString('utf8');
            for (const m of text.matchAll(/"requestState":"([^"]+)"/g)) states.push(m[1]!);
          },
        }),
      )
      .catch(() => {});
    return res;
  };
  await client.connect(
    new StreamableHTTPClientTransport(new URL(server.url), {
      requestInit: { headers: { Authorization: `Bearer ${TOKEN}` } },
      fetch: spy,
    }),
  );
  return { client, asked, states };
}

const submitted = () => [...simOrders(app.sim!.state).cOIDSubmissions.values()].reduce((a, b) => a + b, 0);

async function farLimit(client: Client): Promise<number> {
  const q = await client.callTool({ name: 'get_quote', arguments: { symbol: 'AAPL' } });
  const ask = (q.structuredContent as { quotes: Array<{ ask: number }> }).quotes[0]!.ask;
  // 10% below the ask: IB's simulator asks o163 (price constraint), a real warning.
  return Math.round(ask * 90) / 100;
}

for (const era of ['legacy', 'modern'] as const) {
  describe(`${era} client`, () => {
    test("#4 IB's warning after the human approved goes to the human, and a decline places nothing", async () => {
      const c = await connect(era, (_m, n) =>
        n === 1 ? { action: 'accept', content: { confirm: true } } : { action: 'decline' },
      );
      const price = await farLimit(c.client);
      const n0 = submitted();
      const r = await c.client.callTool({
        name: 'place_stock_order',
        arguments: { accountId: ACCT, symbol: 'AAPL', action: 'BUY', orderType: 'LMT', price, quantity: 1, tif: 'GTC' },
      });
      assert.equal(c.asked.length, 2, 'the order, then IB warning, both asked of the human');
      assert.match(c.asked[1]!, /IB asks about the order you approved .*\n.*\nIB's warning \(o163\): «/s);
      const out = r.structuredContent as { status: string; question?: unknown };
      assert.equal(out.status, 'declined', (r.content as Text)[0]?.text);
      assert.equal(submitted(), n0 + 1, 'sent once (IB asked), then answered no');
      const orders = [...simOrders(app.sim!.state).orders.values()];
      assert.equal(orders.filter((o) => o.limit === price).length, 0, 'IB placed no order');
      await c.client.close();
    });

    test("#4 a model cannot answer IB's warning for an order the human approved", async () => {
      const other = await connect(era, () => ({ action: 'decline' }));
      const tries: Array<{ isError: boolean; text: string }> = [];
      const c = await connect(era, async (_m, n) => {
        if (n === 1) return { action: 'accept', content: { confirm: true } };
        // While IB's warning waits for the human, the model answers it with every id it could know.
        const engine = simOrders(app.sim!.state) as unknown as { pending: Map<string, unknown> };
        for (const replyId of engine.pending.keys()) {
          const r = await other.client.callTool({ name: 'confirm_order', arguments: { replyId } });
          tries.push({ isError: r.isError === true, text: (r.content as Text)[0]!.text });
        }
        for (const token of c.states) {
          const r = await other.client.callTool({ name: 'confirm_order', arguments: { token } });
          tries.push({ isError: r.isError === true, text: (r.content as Text)[0]!.text });
        }
        return { action: 'decline' };
      });
      const price = await farLimit(c.client);
      const r = await c.client.callTool({
        name: 'place_stock_order',
        arguments: { accountId: ACCT, symbol: 'AAPL', action: 'BUY', orderType: 'LMT', price, quantity: 2, tif: 'GTC' },
      });
      assert.equal(c.asked.length, 2);
      assert.ok(tries.length >= 1);
      for (const t of tries) assert.equal(t.isError, true, t.text);
      assert.match(tries[0]!.text, /needs the same approval as the order; a reply id alone cannot confirm it/);
      assert.equal((r.structuredContent as { status: string }).status, 'declined');
      const orders = [...simOrders(app.sim!.state).orders.values()];
      assert.equal(orders.filter((o) => o.limit === price).length, 0, 'IB placed no order');
      await c.client.close();
      await other.client.close();
    });

    test('#9 the state of a dialog is not a confirmation token', async () => {
      const other = await connect(era, () => ({ action: 'decline' }));
      let attempt: { isError?: boolean; text: string } | undefined;
      const c = await connect(era, async () => {
        // The human has not answered yet: the model redeems every state it has seen.
        for (const s of c.states) {
          const r = await other.client.callTool({ name: 'confirm_order', arguments: { token: s } });
          attempt = { isError: r.isError as boolean, text: (r.content as Text)[0]!.text };
          assert.equal(r.isError, true, attempt.text);
        }
        return { action: 'decline' };
      });
      const n0 = submitted();
      const r = await c.client.callTool({
        name: 'place_stock_order',
        arguments: { accountId: ACCT, symbol: 'AAPL', action: 'BUY', orderType: 'MKT', quantity: 1 },
      });
      assert.equal((r.structuredContent as { status: string }).status, 'declined');
      assert.equal(submitted(), n0, 'nothing was sent');
      if (era === 'modern') {
        assert.ok(c.states.length >= 1, 'the 2026 client saw the requestState');
        assert.match(attempt!.text, /state of the client's confirmation dialog, not a confirmation token/);
      }
      await c.client.close();
      await other.client.close();
    });
  });
}
