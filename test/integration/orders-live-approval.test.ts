/**
 * A LIVE order goes out only with a human's approval (issue #18), end to end against a simulator
 * whose login is a live one (isPaper false, U… accounts), over the real HTTP transport:
 * - a model-only client without an approval code is refused, saying how to set one up;
 * - with a code enrolled, confirm_order needs the current code: missing, wrong, reused, older
 *   than the order or for an expired token places nothing; wrong codes lock approvals;
 * - a client that declines the dialog (some decline without showing it) gets the code offered
 *   next, never an order; an accepted dialog sends it with approval "elicit";
 * - modifications and cancel-all of a live account need the same; every result and journal line
 *   names its approval.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import * as OTPAuth from 'otpauth';
import { loadConfig } from '../../src/config/index.js';
import { silentLogger } from '../../src/log.js';
import { type HttpServer, startHttp } from '../../src/mcp/http.js';
import { type App, createApp } from '../../src/runtime.js';
import { ApprovalCodes } from '../../src/safety/approval-code.js';
import { type SimulatorHandle, startSimulator } from '../../src/simulator/index.js';
import { simOrders } from '../../src/simulator/orders.js';

const TOKEN = 'Kq7vXw2LpZ9tRb4NmC8sYd3FhJ6gTe1UaQx5WzVr0oPi';
const ACCT = 'U1234567';
type Text = Array<{ type: string; text: string }>;
// biome-ignore lint/suspicious/noExplicitAny: structured results are inspected field by field
type Out = any;

interface Live {
  app: App;
  server: HttpServer;
  sim: SimulatorHandle;
  home: string;
  /** The human's authenticator (undefined: no code enrolled). */
  code?: (step: number) => string;
  step: () => number;
  submitted: () => number;
  connect(answer?: 'accept' | 'decline'): Promise<Client>;
}

const rigs: Live[] = [];
after(async () => {
  for (const r of rigs) {
    await r.server.close();
    await r.app.close();
    await r.sim.close();
    rmSync(r.home, { recursive: true, force: true });
  }
});

async function live(opts: { enrol: boolean; args?: string[] }): Promise<Live> {
  const sim = await startSimulator({ port: 0, seed: 5, live: true, pacing: false });
  const home = mkdtempSync(join(tmpdir(), 'ibkr-live-'));
  let code: Live['code'];
  if (opts.enrol) {
    const { secret } = new ApprovalCodes(home).enrol();
    const totp = new OTPAuth.TOTP({ secret: OTPAuth.Secret.fromBase32(secret), digits: 6, period: 30 });
    code = (step) => totp.generate({ timestamp: step * 30_000 });
  }
  const { config } = loadConfig(
    [
      ...['--backend', 'gateway', '--gateway-url', sim.url, '--transport', 'http', '--port', '0', '--home', home],
      ...['--allow-live-trading', '--max-order-notional', '1000000', ...(opts.args ?? [])],
    ],
    { IBKR_MCP_TOKEN: TOKEN } as NodeJS.ProcessEnv,
  );
  const app = await createApp(config, silentLogger);
  const server = await startHttp(app, { announce: false });
  const r: Live = {
    app,
    server,
    sim,
    home,
    step: () => Math.floor(Date.now() / 30_000),
    submitted: () => [...simOrders(sim.state).cOIDSubmissions.values()].reduce((a, b) => a + b, 0),
    async connect(answer) {
      const client = new Client({ name: 'c', version: '1' }, {
        capabilities: answer ? { elicitation: { form: {} } } : {},
      } as never);
      if (answer) {
        client.setRequestHandler('elicitation/create', async () =>
          answer === 'accept'
            ? ({ action: 'accept', content: { confirm: true } } as never)
            : ({ action: 'decline' } as never),
        );
      }
      await client.connect(
        new StreamableHTTPClientTransport(new URL(server.url), {
          requestInit: { headers: { Authorization: `Bearer ${TOKEN}` } },
        }),
      );
      return client;
    },
  };
  if (code) r.code = code;
  rigs.push(r);
  return r;
}

async function call(c: Client, name: string, args: Record<string, unknown>) {
  const r = await c.callTool({ name, arguments: args });
  return {
    isError: r.isError === true,
    text: (r.content as Text).map((t) => t.text).join('\n'),
    out: r.structuredContent as Out,
  };
}

const buy = (quantity = 1) => ({ accountId: ACCT, symbol: 'AAPL', action: 'BUY', orderType: 'MKT', quantity });

function journal(home: string): Array<Record<string, unknown>> {
  return readFileSync(join(home, 'journal.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** A refusal that says why, and nothing reached the simulator. */
function refusedNothingSent(r: Live, res: { isError: boolean; text: string }, why: RegExp): void {
  assert.equal(res.isError, true, res.text);
  assert.match(res.text, why);
  assert.equal(r.submitted(), 0);
}

/** A live rig without a code, a client answering dialogs so (or none), and one market buy. */
async function placeOnce(answer?: 'accept' | 'decline') {
  const r = await live({ enrol: false });
  const c = await r.connect(answer);
  return { r, c, p: await call(c, 'place_stock_order', buy()) };
}

describe('live orders without an approval code', () => {
  test('a model-only client is refused with how to set one up; nothing reaches the simulator', async () => {
    const { r, c, p } = await placeOnce();
    assert.equal(p.isError, true, p.text);
    assert.match(p.text, /LIVE order needs the user's own approval/);
    assert.match(p.text, /approvals setup/);
    const all = await call(c, 'cancel_order', { orderId: 'all', accountId: ACCT });
    assert.equal(all.isError, true, all.text);
    assert.match(all.text, /approval code, and none is set up/);
    assert.equal(r.submitted(), 0);
    await c.close();
  });

  test('an auto-declining dialog is "declined or not shown", then refused: never an order', async () => {
    const { r, c, p } = await placeOnce('decline');
    assert.match(p.text, /declined or not shown/);
    assert.equal([p.isError, r.submitted()].join(), 'true,0', p.text);
    await c.close();
  });

  test('an accepted dialog sends it once, with approval "elicit" in the result and the journal', async () => {
    const { r, c, p } = await placeOnce('accept');
    assert.equal(p.isError, false, p.text);
    assert.equal(p.out.mode, 'LIVE');
    assert.equal(p.out.approval, 'elicit');
    assert.match(p.text, /Approval: the user's answer in the client's dialog/);
    assert.equal(r.submitted(), 1);
    const attempt = journal(r.home).find((l) => l['ev'] === 'attempt');
    assert.equal(attempt?.['approval'], 'elicit');
    await c.close();
  });

  test('--order-confirmation none on live needs --allow-live-without-approval too', async () => {
    const r = await live({ enrol: false, args: ['--order-confirmation', 'none'] });
    const c = await r.connect();
    const p = await call(c, 'place_stock_order', buy());
    assert.equal(p.isError, true);
    assert.match(p.text, /--allow-live-without-approval/);
    assert.equal(r.submitted(), 0);
    const opted = await live({
      enrol: false,
      args: ['--order-confirmation', 'none', '--allow-live-without-approval'],
    });
    const c2 = await opted.connect();
    const q = await call(c2, 'place_stock_order', buy());
    assert.equal(q.isError, false, q.text);
    assert.equal(q.out.approval, 'none');
    assert.equal(opted.submitted(), 1);
    await c.close();
    await c2.close();
  });
});

describe('live orders with an approval code', () => {
  test('the code places exactly the held order once; missing, wrong, reused or stale codes place nothing', async () => {
    const r = await live({ enrol: true });
    const c = await r.connect();
    const before = r.step();
    const held = await call(c, 'place_stock_order', buy(2));
    assert.equal(held.isError, false, held.text);
    assert.equal(held.out.status, 'confirmation_required');
    assert.equal(held.out.approval, 'code');
    assert.match(held.text, /6-digit code their authenticator app shows/);
    const token = held.out.confirmation.token as string;
    // The model alone: no code, a guessed one.
    const none = await call(c, 'confirm_order', { token });
    assert.match(none.text, /needs the approval code/);
    const now = r.step();
    const right = r.code!(now);
    const guess = right === '123456' ? '654321' : '123456';
    const wrong = await call(c, 'confirm_order', { token, code: guess });
    assert.match(wrong.text, /wrong code \(4 more wrong codes lock approvals/);
    // A code from before the order was held approved something else.
    const stale = await call(c, 'confirm_order', { token, code: r.code!(before - 1) });
    // (Refused as older than the order; as a wrong code if a step boundary passed meanwhile.)
    assert.match(stale.text, /older than the order|wrong code/);
    assert.equal(r.submitted(), 0);
    // The human's code: the token (still valid after wrong codes) sends exactly this order.
    const ok = await call(c, 'confirm_order', { token, code: right });
    assert.equal(ok.isError, false, ok.text);
    assert.equal(ok.out.approval, 'code');
    assert.equal(ok.out.sent.quantity, 2);
    assert.match(ok.text, /Approval: the user's approval code/);
    assert.equal(r.submitted(), 1);
    assert.equal(journal(r.home).find((l) => l['ev'] === 'attempt')?.['approval'], 'code');
    // Replayed: the same code for another order (another token) places nothing.
    const other = await call(c, 'place_stock_order', buy(3));
    const replay = await call(c, 'confirm_order', { token: other.out.confirmation.token, code: right });
    assert.equal(replay.isError, true);
    assert.match(replay.text, /already used/);
    // And the token that was used cannot be used again, code or not.
    const again = await call(c, 'confirm_order', { token, code: r.code!(now + 1) });
    assert.match(again.text, /already used/);
    assert.equal(r.submitted(), 1);
    await c.close();
  });

  test('an expired token places nothing, whatever the code', async () => {
    const r = await live({ enrol: true, args: ['--confirm-token-ttl', '1'] });
    const c = await r.connect();
    const held = await call(c, 'place_stock_order', buy());
    await new Promise((res) => setTimeout(res, 1100));
    const late = await call(c, 'confirm_order', { token: held.out.confirmation.token, code: r.code!(r.step()) });
    refusedNothingSent(r, late, /expired/);
    await c.close();
  });

  test('brute force: five wrong codes lock approvals, and then the right code places nothing', async () => {
    const r = await live({ enrol: true });
    const c = await r.connect();
    const held = await call(c, 'place_stock_order', buy());
    const token = held.out.confirmation.token as string;
    const right = r.code!(r.step());
    const texts: string[] = [];
    for (let i = 0, n = 0; n < 5; i++) {
      const guess = String(100000 + i * 7919).slice(0, 6);
      if (guess === right || guess === r.code!(r.step() + 1) || guess === r.code!(r.step() - 1)) continue;
      texts.push((await call(c, 'confirm_order', { token, code: guess })).text);
      n++;
    }
    assert.match(texts.at(-1)!, /locked after 5 wrong codes, until .* Nothing was sent/);
    refusedNothingSent(r, await call(c, 'confirm_order', { token, code: right }), /locked/);
    await c.close();
  });

  test('a declined dialog offers the code next; modify and cancel-all need it too', async () => {
    const r = await live({ enrol: true });
    const c = await r.connect('decline');
    const q = await call(c, 'get_quote', { symbol: 'AAPL' });
    // A working limit order just below the market (within IB's price constraint: no question).
    const price = Math.round(q.out.quotes[0].ask * 99) / 100;
    const p = await call(c, 'place_stock_order', { ...buy(), orderType: 'LMT', price, tif: 'GTC' });
    assert.equal(p.isError, false, p.text);
    assert.equal(p.out.status, 'confirmation_required');
    assert.match(p.text, /declined or not shown/);
    assert.equal(r.submitted(), 0);
    // The human reads the code: the order is placed.
    const step = r.step();
    const placed = await call(c, 'confirm_order', { token: p.out.confirmation.token, code: r.code!(step) });
    assert.equal(placed.isError, false, placed.text);
    assert.equal(r.submitted(), 1);
    // A change of it: held for a code as well (the dialog declines again).
    const m = await call(c, 'modify_order', { orderId: placed.out.orderId, quantity: 5 });
    assert.equal(m.out?.status, 'confirmation_required', m.text);
    assert.equal(m.out.approval, 'code');
    // Cancel-all of a live account: refused without the code, never a guessed one.
    const noCode = await call(c, 'cancel_order', { orderId: 'all', accountId: ACCT });
    assert.match(noCode.text, /needs the user's approval code/);
    const guessed = await call(c, 'cancel_order', { orderId: 'all', accountId: ACCT, code: '000000' });
    assert.equal(guessed.isError, true);
    const all = await call(c, 'cancel_order', { orderId: 'all', accountId: ACCT, code: r.code!(step + 1) });
    assert.equal(all.isError, false, all.text);
    const note = journal(r.home).find((l) => l['cOID'] === '*');
    assert.equal(note?.['approval'], 'code');
    await c.close();
  });
});
