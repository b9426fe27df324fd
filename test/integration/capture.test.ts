/**
 * Capture mode (issue 13): a server session against the simulator whose account id, account
 * title, session id (also its cookie) and amounts are canaries is captured with --capture; no
 * canary may reach a file, replacements are consistent across files, files are 0600 in a 0700
 * directory, and the simulator replays the capture well enough to answer a tool call.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { Agent, request } from 'undici';
import { loadConfig } from '../../src/config/index.js';
import { silentLogger } from '../../src/log.js';
import { type HttpServer, startHttp } from '../../src/mcp/http.js';
import { type App, createApp } from '../../src/runtime.js';
import { type SimulatorHandle, startSimulator } from '../../src/simulator/index.js';

const TOKEN = 'Vb8nQ2xLp7ZtRk4MwC9sYd3FhJ6gTe1UaQx5WzVr0oPi';
const CANARY_ACCT = 'U7310042';
const CANARY_TITLE = 'Canary Quixotic Holdings';
const CANARY_SESSION = 'c0ffee00deadbeef1234567890abcdef';
const CANARY_NETLIQ = 987654.32;
const CANARY_CASH = 123456.79;
const SECOND_ACCT = 'DU7654321';

const agent = new Agent({ connect: { rejectUnauthorized: false } });
let home: string;
let dir: string;

async function simControl(sim: SimulatorHandle, method: 'GET' | 'POST', path: string, body?: unknown) {
  const res = await request(`${sim.url}${path}`, {
    method,
    dispatcher: agent,
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? (method === 'POST' ? '{}' : undefined) : JSON.stringify(body),
  });
  return (await res.body.json()) as Record<string, unknown>;
}

async function serverOn(
  gatewayUrl: string,
  extra: string[],
): Promise<{ app: App; server: HttpServer; client: Client }> {
  const args = ['--gateway-url', gatewayUrl, '--home', home, '--transport', 'http', '--port', '0'];
  const { config } = loadConfig([...args, '--open-browser', 'false', ...extra], {
    IBKR_MCP_TOKEN: TOKEN,
  } as NodeJS.ProcessEnv);
  const app = await createApp(config, silentLogger);
  const server = await startHttp(app, { announce: false });
  const client = new Client({ name: 'capture-test', version: '1' });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(server.url), {
      requestInit: { headers: { Authorization: `Bearer ${TOKEN}` } },
    }),
  );
  return { app, server, client };
}

type Text = Array<{ type: string; text: string }>;
async function call(client: Client, name: string, args: Record<string, unknown> = {}): Promise<string> {
  const r = await client.callTool({ name, arguments: args });
  const text = (r.content as Text).map((c) => c.text).join('\n');
  assert.notEqual(r.isError, true, `${name} failed: ${text}`);
  return text;
}

interface Line {
  method: string;
  path: string;
  pattern: string;
  status: number;
  body: unknown;
}
function readCapture(): Map<string, Line[]> {
  const files = new Map<string, Line[]>();
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.jsonl'))) {
    const lines = readFileSync(join(dir, f), 'utf8').trim().split('\n');
    files.set(
      f,
      lines.map((l) => JSON.parse(l) as Line),
    );
  }
  return files;
}

describe('capture mode', () => {
  before(() => {
    home = mkdtempSync(join(tmpdir(), 'ibkr-capture-home-'));
    dir = join(mkdtempSync(join(tmpdir(), 'ibkr-capture-')), 'cap');
  });
  after(() => {
    rmSync(home, { recursive: true, force: true });
    rmSync(join(dir, '..'), { recursive: true, force: true });
  });

  test('records a redacted session', async () => {
    const sim = await startSimulator({ pacing: false });
    try {
      // Canaries: the first account's id and title, the session id (sent as the x-sess-uuid cookie
      // and in /tickle's answer) and two amounts of the account.
      const acct = sim.state.accounts[0]!;
      acct.id = CANARY_ACCT;
      acct.title = CANARY_TITLE;
      sim.state.session.selectedAccount = CANARY_ACCT;
      sim.state.session.id = CANARY_SESSION;
      await simControl(sim, 'GET', '/v1/api/portfolio/accounts');
      const summary = await simControl(sim, 'GET', `/v1/api/portfolio/${CANARY_ACCT}/summary`);
      (summary['netliquidation'] as { amount: number }).amount = CANARY_NETLIQ;
      (summary['totalcashvalue'] as { amount: number }).amount = CANARY_CASH;
      await simControl(sim, 'POST', '/sim/faults', {
        fail: { endpoint: `GET /portfolio/${CANARY_ACCT}/summary`, status: 200, count: 50, body: summary },
      });

      const { app, server, client } = await serverOn(sim.url, [
        '--capture',
        dir,
        '--keepalive-seconds',
        '1',
        '--default-account',
        'all',
      ]);
      try {
        const info = await call(client, 'get_account_info');
        assert.match(info, new RegExp(CANARY_ACCT), 'the live session itself is not redacted');
        await call(client, 'get_positions');
        await call(client, 'get_pnl');
        await call(client, 'get_quote', { symbol: 'AAPL' });
        // Let the keep-alive (/tickle, which sets the session cookie) run at least once.
        await new Promise((r) => setTimeout(r, 1500));
        await call(client, 'get_connection_status');
      } finally {
        await client.close();
        await server.close();
        await app.close();
      }
    } finally {
      await sim.close();
    }

    assert.equal(statSync(dir).mode & 0o777, 0o700);
    const names = readdirSync(dir);
    assert.ok(names.includes('capture.json'));
    for (const f of names) assert.equal(statSync(join(dir, f)).mode & 0o777, 0o600, f);

    const all = names.map((f) => readFileSync(join(dir, f), 'utf8')).join('\n');
    for (const canary of [CANARY_ACCT, CANARY_TITLE, CANARY_SESSION, String(CANARY_NETLIQ), String(CANARY_CASH)]) {
      assert.ok(!all.includes(canary), `canary ${canary} was written`);
    }
    for (const leak of [SECOND_ACCT, 'Simulated Margin Account EUR', 'simuser', '12345678', 'SimN00001', '5A:1B:3C']) {
      assert.ok(!all.includes(leak), `${leak} was written`);
    }

    const files = readCapture();
    // The same account is the same alias in every file: ACCT1 is the canary (it came first).
    const accounts = files.get('GET_iserver_accounts.jsonl')![0]!.body as {
      accounts: string[];
      selectedAccount: string;
    };
    assert.deepEqual(accounts.accounts.slice(0, 2), ['ACCT1', 'ACCT2']);
    assert.equal(accounts.selectedAccount, 'ACCT1');
    const pf = files.get('GET_portfolio_accounts.jsonl')![0]!.body as Array<Record<string, unknown>>;
    assert.equal(pf[0]!['id'], 'ACCT1');
    assert.equal(pf[0]!['accountTitle'], 'NAME1');
    assert.equal(pf[1]!['id'], 'ACCT2');
    const sums = files.get('GET_portfolio_{accountId}_summary.jsonl')!;
    const first = sums.find((l) => l.path === '/portfolio/ACCT1/summary')!;
    assert.ok(first, 'the canary account summary is recorded under ACCT1');
    assert.ok(sums.some((l) => l.path === '/portfolio/ACCT2/summary'));
    const body = first.body as Record<string, { amount: number }>;
    const netliq = body['netliquidation']!.amount;
    const cash = body['totalcashvalue']!.amount;
    assert.notEqual(netliq, CANARY_NETLIQ);
    // One factor for the capture: the ratio stays.
    assert.ok(Math.abs(netliq / cash - CANARY_NETLIQ / CANARY_CASH) < 0.001, `ratio ${netliq / cash}`);
    const ledger = files.get('GET_portfolio_{accountId}_ledger.jsonl');
    assert.ok(ledger?.every((l) => l.path.startsWith('/portfolio/ACCT')));
    const tickle = [...files.entries()].find(([f]) => f.endsWith('_tickle.jsonl'));
    assert.ok(tickle, 'the keep-alive was recorded');
    assert.equal((tickle[1][0]!.body as { session: string }).session, 'REDACTED');
  });

  test('the simulator replays the capture', async () => {
    const sim = await startSimulator({ pacing: false, replay: dir });
    try {
      const { app, server, client } = await serverOn(sim.url, []);
      try {
        const text = await call(client, 'get_account_info', { accountId: 'ACCT1' });
        assert.match(text, /ACCT1/);
        assert.match(text, /NAME1/);
      } finally {
        await client.close();
        await server.close();
        await app.close();
      }
    } finally {
      await sim.close();
    }
  });
});
