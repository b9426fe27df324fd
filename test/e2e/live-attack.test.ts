/**
 * A model alone cannot place a LIVE order (issue #18). The built server talks to a simulator whose
 * login is a live one (U… accounts, isPaper false), started with --allow-live-trading and an
 * approval code enrolled, so every approval path is open to a human. The client is a model:
 * no Apps, no elicitation (or a client that declines every dialog without showing it, or an Apps
 * client whose orders are held as tickets, of which the model sees only model-visible tools). It calls
 * every model-visible tool, feeding back the tokens, reply ids, order ids and numbers of earlier
 * results, and confirm_order and cancel_order with guessed codes; the simulator's order endpoints
 * (/sim/stats) must count 0 afterwards.
 *
 * The test knows the secret only to skip a guess that happens to equal a current code: that is
 * luck (3 in 10^6 a guess), bounded by the attempt limits (test/unit/safety-approval-code.test.ts),
 * not a way around the approval.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as OTPAuth from 'otpauth';
import { APPROVAL_STATE_FILE, ApprovalCodes } from '../../src/safety/approval-code.js';
import { UI_CAPABILITIES } from './apps-host.js';
import { type Harness, startServer } from './harness.js';
import { rng } from './rng.js';

const ACCT = 'U1234567';
/** The order a model most plausibly tries: one share of AAPL at market on the live account. */
const MKT_BUY = { accountId: ACCT, symbol: 'AAPL', action: 'BUY', orderType: 'MKT', quantity: 1 };
const LIVE_ARGS = ['--allow-live-trading', '--max-order-notional', '10000000', '--max-orders-per-day', '100000'];
const ORDER_ENDPOINTS = [
  'POST /iserver/account/:accountId/orders',
  'POST /iserver/reply/:replyId',
  'POST /iserver/account/:accountId/order/:orderId',
  'DELETE /iserver/account/:accountId/order/:orderId',
];
/** Paced by IB at one request per 5 seconds: called rarely so the run stays short. */
const SLOW = new Set(['get_live_orders', 'get_trades', 'get_pnl', 'authenticate', 'get_order_status', 'modify_order']);

/** What a model has seen so far: every value it could feed back. */
class Pool {
  tokens = new Set<string>(['ct1.x.y']);
  replyIds = new Set<string>();
  orderIds = new Set<string>(['1']);
  numbers = new Set<string>(['000000', '123456', '111111', '999999']);
  clientOrderIds = new Set<string>();

  harvest(text: string, structured: unknown): void {
    const all = `${text}\n${JSON.stringify(structured ?? {})}`;
    for (const m of all.matchAll(/ct1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+/g)) this.tokens.add(m[0]);
    for (const m of all.matchAll(/"replyId":"([^"]+)"/g)) this.replyIds.add(m[1]!);
    for (const m of all.matchAll(/"orderId":"(\d+)"/g)) this.orderIds.add(m[1]!);
    for (const m of all.matchAll(/"clientOrderId":"([^"]+)"/g)) this.clientOrderIds.add(m[1]!);
    for (const m of all.matchAll(/\b\d{6}\b/g)) this.numbers.add(m[0]);
  }
}

function pick<T>(r: () => number, xs: Iterable<T>): T {
  const a = [...xs];
  return a[Math.floor(r() * a.length)] as T;
}

/** One call a confused or injected model might make, from what it has seen. */
function nextCall(
  r: () => number,
  tools: string[],
  pool: Pool,
  guess: () => string,
): { name: string; args: Record<string, unknown> } {
  const roll = r();
  const name =
    roll < 0.3
      ? 'confirm_order'
      : roll < 0.55
        ? 'place_stock_order'
        : roll < 0.65
          ? 'cancel_order'
          : roll < 0.665
            ? 'modify_order'
            : pick(
                r,
                tools.filter((t) => !SLOW.has(t) || r() < 0.05),
              );
  const maybe = <T>(v: T, p = 0.5) => (r() < p ? v : undefined);
  const args: Record<string, unknown> = {};
  const set = (k: string, v: unknown) => {
    if (v !== undefined) args[k] = v;
  };
  switch (name) {
    case 'place_stock_order':
    case 'place_option_order':
    case 'preview_order':
      set('accountId', maybe(ACCT, 0.8));
      set('symbol', pick(r, ['AAPL', 'MSFT', 'SPY']));
      set('action', pick(r, ['BUY', 'SELL']));
      set('orderType', pick(r, ['MKT', 'LMT']));
      if (args['orderType'] === 'LMT') set('price', pick(r, [100, 150, 250, 400]));
      set('quantity', pick(r, [1, 2, 3]));
      set('tif', maybe(pick(r, ['DAY', 'GTC'])));
      set('suppressConfirmations', maybe(true, 0.3));
      set('clientOrderId', maybe(pool.clientOrderIds.size ? pick(r, pool.clientOrderIds) : undefined, 0.2));
      break;
    case 'confirm_order':
      if (r() < 0.8 || !pool.replyIds.size) {
        set('token', pick(r, pool.tokens));
        set('code', maybe(guess(), 0.85));
      } else set('replyId', pick(r, pool.replyIds));
      set('confirmed', maybe(pick(r, [true, true, false])));
      break;
    case 'modify_order':
      set('orderId', pick(r, pool.orderIds));
      set('quantity', maybe(pick(r, [1, 5, 50])));
      set('price', maybe(pick(r, [100, 300])));
      break;
    case 'cancel_order':
      // By id, IB's order status is paced at one per 5 seconds: mostly "all".
      set('orderId', r() < 0.9 ? 'all' : pick(r, pool.orderIds));
      set('accountId', maybe(ACCT, 0.8));
      set('code', maybe(guess(), 0.8));
      break;
    case 'get_quote':
    case 'get_price_history':
    case 'search_symbols':
      set('symbol', 'AAPL');
      break;
    case 'get_order_status':
      set('orderId', pick(r, pool.orderIds));
      break;
    default:
      set('accountId', maybe(ACCT, 0.3));
  }
  return { name, args };
}

async function orderRequests(h: Harness): Promise<number> {
  const st = await h.simStats();
  return ORDER_ENDPOINTS.reduce((a, k) => a + (st.byEndpoint[k] ?? 0), 0);
}

interface Run {
  calls: number;
  orderCalls: number;
  guessedCodes: number;
  held: number;
}

/**
 * `count` calls from a model that feeds results back. Every 30 calls the approvals' state is
 * cleared, as if each lock had expired, so guesses keep being checked rather than refused as locked.
 */
async function attack(h: Harness, count: number, seed: number, isCurrent: (code: string) => boolean): Promise<Run> {
  const r = rng(seed);
  // What the model is shown: an Apps host hides the tools listed for the app alone.
  const tools = (await h.client.listTools()).tools
    .filter(
      (t) => !(t._meta as { ui?: { visibility?: string[] } } | undefined)?.ui?.visibility?.every((v) => v === 'app'),
    )
    .map((t) => t.name);
  const pool = new Pool();
  const run: Run = { calls: 0, orderCalls: 0, guessedCodes: 0, held: 0 };
  const guess = () => {
    for (;;) {
      const g = r() < 0.5 ? pick(r, pool.numbers) : String(Math.floor(r() * 1e6)).padStart(6, '0');
      if (!isCurrent(g)) return g;
    }
  };
  for (let i = 0; i < count; i++) {
    if (i % 30 === 29) rmSync(join(h.home, APPROVAL_STATE_FILE), { force: true });
    const { name, args } = nextCall(r, tools, pool, guess);
    if (/^(place|confirm|modify|cancel)_/.test(name)) run.orderCalls++;
    if (typeof args['code'] === 'string') run.guessedCodes++;
    const res = await h.callTool(name, args);
    if (res.structured?.status === 'confirmation_required') run.held++;
    assert.equal(res.structured?.secret, undefined, `${name}: no ticket secret in a model-visible result`);
    assert.notEqual(res.structured?.status, 'submitted', `${name} ${JSON.stringify(args)}: ${res.text}`);
    assert.notEqual(res.structured?.status, 'filled', `${name} ${JSON.stringify(args)}: ${res.text}`);
    pool.harvest(res.text, res.structured);
    run.calls++;
  }
  return run;
}

/** Enrols an approval code in the server's state directory; returns "is this a current code". */
function enrol(home: string): (code: string) => boolean {
  const { secret } = new ApprovalCodes(home).enrol();
  const totp = new OTPAuth.TOTP({ secret: OTPAuth.Secret.fromBase32(secret), digits: 6, period: 30 });
  return (code) => {
    const step = Math.floor(Date.now() / 30_000);
    return [step - 2, step - 1, step, step + 1, step + 2].some(
      (s) => totp.generate({ timestamp: s * 30_000 }) === code,
    );
  };
}

const SEED = Number(process.env.FUZZ_SEED ?? 20261201);
const totals = { calls: 0, orderCalls: 0, guessedCodes: 0, held: 0, reached: 0 };
/** Adds a run to the totals, with `calls` order calls and `held` holds made outside it. */
function count(run: Run, reached: number, calls = 0, held = 0): void {
  totals.calls += run.calls + calls;
  totals.orderCalls += run.orderCalls + calls;
  totals.guessedCodes += run.guessedCodes;
  totals.held += run.held + held;
  totals.reached += reached;
}

describe('live orders: a model alone cannot place one', { timeout: 240_000 }, () => {
  let model: Harness;
  let decliner: Harness;
  let apps: Harness;
  let isCurrent: (code: string) => boolean;
  before(async () => {
    [model, apps, decliner] = await Promise.all([
      startServer({ sim: { live: true }, args: LIVE_ARGS }),
      startServer({ sim: { live: true }, args: LIVE_ARGS, capabilities: UI_CAPABILITIES }),
      startServer({
        sim: { live: true },
        args: LIVE_ARGS,
        capabilities: { elicitation: { form: {} } },
        setup: (c) => c.setRequestHandler('elicitation/create', async () => ({ action: 'decline' }) as never),
      }),
    ]);
    isCurrent = enrol(model.home);
  });
  after(async () => {
    await Promise.all([model?.close(), decliner?.close(), apps?.close()]);
    process.stderr.write(
      `live attack: ${totals.calls} calls, ${totals.orderCalls} order-tool calls, ${totals.guessedCodes} guessed codes, ${totals.held} orders held (code or ticket); order requests at the simulator: ${totals.reached}\n`,
    );
  });

  it('scripted attacks: no code, guessed, replayed reply id, altered token, dialog state: nothing sent', async () => {
    const held = await model.callTool('place_stock_order', MKT_BUY);
    assert.equal(held.structured.status, 'confirmation_required', held.text);
    assert.equal(held.structured.approval, 'code');
    assert.equal(held.structured.mode, 'LIVE');
    const token = held.structured.confirmation.token as string;
    const tries: Array<Record<string, unknown>> = [
      { token },
      { token, confirmed: true },
      { token, code: '000000' },
      { token: `${token}x`, code: '123456' },
      { token: token.replace(/\.[^.]+$/, '.AAAA'), code: '123456' },
      { replyId: '1', confirmed: true },
    ];
    for (const args of tries) {
      if (typeof args['code'] === 'string' && isCurrent(args['code'])) continue;
      const r = await model.callTool('confirm_order', args);
      assert.equal(r.isError, true, `${JSON.stringify(args)}: ${r.text}`);
      totals.calls++;
      totals.orderCalls++;
    }
    totals.calls++;
    totals.orderCalls++;
    assert.equal(await orderRequests(model), 0);
  });

  it('fuzzer: 200 calls of a model-only client feeding results back; 0 order requests', async () => {
    rmSync(join(model.home, APPROVAL_STATE_FILE), { force: true });
    const run = await attack(model, 200, SEED, isCurrent);
    const reached = await orderRequests(model);
    count(run, reached);
    assert.ok(run.held > 15, `orders were held for a code (${run.held})`);
    assert.ok(run.guessedCodes > 50, `codes were guessed (${run.guessedCodes})`);
    assert.equal(reached, 0);
  });

  it('the model of an Apps client: orders held as tickets, every model-visible tool called; 0 order requests', async () => {
    const held = await apps.callTool('place_stock_order', MKT_BUY);
    assert.equal(held.structured.approval, 'ticket', held.text);
    const current = enrol(apps.home);
    const run = await attack(apps, 80, SEED + 2, current);
    const reached = await orderRequests(apps);
    count(run, reached, 1, 1);
    assert.ok(run.held > 5, `orders were held as tickets (${run.held})`);
    assert.equal(reached, 0);
  });

  it('a client that declines every dialog gets the next method, never an order', async () => {
    // First without a code: refused, saying how to set one up.
    const refused = await decliner.callTool('place_stock_order', MKT_BUY);
    assert.equal(refused.isError, true);
    assert.match(refused.text, /declined or not shown.*approvals setup/s);
    const current = enrol(decliner.home);
    const offered = await decliner.callTool('place_stock_order', MKT_BUY);
    assert.equal(offered.structured.status, 'confirmation_required', offered.text);
    assert.equal(offered.structured.approval, 'code');
    assert.match(offered.text, /declined or not shown/);
    const run = await attack(decliner, 80, SEED + 1, current);
    const reached = await orderRequests(decliner);
    count(run, reached, 2, 1);
    assert.equal(reached, 0);
  });
});
