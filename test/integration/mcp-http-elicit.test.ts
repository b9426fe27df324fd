/**
 * Elicitation over the HTTP transport, both eras: a 2025-era client on a session receives
 * elicitation/create mid-call; a 2026-07-28 client answers input_required and retries. The
 * tool here is a stand-in for order confirmation; the transport is the real one.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { acceptedContent, inputRequired, McpServer } from '@modelcontextprotocol/server';
import * as z from 'zod';
import { loadConfig } from '../../src/config/index.js';
import { silentLogger } from '../../src/log.js';
import { type HttpServer, startHttp } from '../../src/mcp/http.js';
import { createApp } from '../../src/runtime.js';

const Confirm = z.object({ confirm: z.boolean() });
let server: HttpServer;
let home: string;
const TOKEN = 't'.repeat(40);

function factory(): McpServer {
  const s = new McpServer({ name: 'elicit-test', version: '1.0.0' }, { capabilities: { tools: {} } });
  s.registerTool(
    'confirm_thing',
    { description: 'asks for confirmation', inputSchema: z.object({ what: z.string() }) },
    async ({ what }, ctx) => {
      const answer = acceptedContent(ctx.mcpReq.inputResponses, 'confirm', Confirm);
      if (!answer) {
        if (ctx.mcpReq.inputResponses?.['confirm']) return { content: [{ type: 'text', text: 'declined' }] };
        return inputRequired({
          inputRequests: {
            confirm: inputRequired.elicit({ message: `Really ${what}?`, requestedSchema: Confirm }),
          },
        });
      }
      return { content: [{ type: 'text', text: answer.confirm ? `done: ${what}` : 'not confirmed' }] };
    },
  );
  return s;
}

before(async () => {
  home = mkdtempSync(join(tmpdir(), 'ibkr-elicit-'));
  const { config } = loadConfig(['--backend', 'sim', '--transport', 'http', '--port', '0', '--home', home], {
    IBKR_MCP_TOKEN: TOKEN,
  } as NodeJS.ProcessEnv);
  const app = await createApp(config, silentLogger);
  server = await startHttp(app, { factory, announce: false });
});
after(async () => {
  await server?.close();
  rmSync(home, { recursive: true, force: true });
});

async function connect(era: 'legacy' | 'modern', answer: { action: 'accept' | 'decline'; content?: unknown }) {
  const client = new Client({ name: 'c', version: '1' }, {
    capabilities: { elicitation: { form: {} } },
    versionNegotiation: { mode: era === 'legacy' ? 'legacy' : { pin: '2026-07-28' } },
  } as never);
  const asked: string[] = [];
  client.setRequestHandler('elicitation/create', async (req) => {
    asked.push(String((req.params as { message: string }).message));
    return answer as never;
  });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(server.url), {
      requestInit: { headers: { Authorization: `Bearer ${TOKEN}` } },
    }),
  );
  return { client, asked };
}

for (const era of ['legacy', 'modern'] as const) {
  test(`${era} client: elicitation over HTTP asks once and the answer reaches the tool`, async () => {
    const yes = await connect(era, { action: 'accept', content: { confirm: true } });
    const r = await yes.client.callTool({ name: 'confirm_thing', arguments: { what: 'buy 1 AAPL' } });
    assert.deepEqual(yes.asked, ['Really buy 1 AAPL?']);
    assert.equal((r.content as Array<{ text: string }>)[0]!.text, 'done: buy 1 AAPL');
    const no = await connect(era, { action: 'decline' });
    const r2 = await no.client.callTool({ name: 'confirm_thing', arguments: { what: 'sell' } });
    assert.equal(no.asked.length, 1);
    assert.equal((r2.content as Array<{ text: string }>)[0]!.text, 'declined');
    if (era === 'legacy') assert.ok(server.sessionCount() >= 2, 'each 2025-era client has its session');
    await yes.client.close();
    await no.client.close();
  });
}
