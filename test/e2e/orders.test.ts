/**
 * Orders end to end: MCP client → stdio server (dist) → HTTPS → simulator. Every order tool and
 * type, every refusal, both confirmation paths (elicitation accepted/declined; token valid,
 * reused, expired, tampered), the journal and reconciliation, the kill switch, and a lost answer.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type SimulatorHandle, startSimulator } from '../../src/simulator/index.js';
import { TRADES } from '../fixtures/ib/orders.js';
import { CLI, type Harness, simRequest, startServer } from './harness.js';

const ACCT = 'DU1234567';

interface SimOrdersView {
  orders: Array<{ orderId: number; cOID?: string; status: string; filled: number; qty: number }>;
  executions: Array<{ cOID?: string; commission: number }>;
  cOIDSubmissions: Record<string, number>;
}

const simOrders = (sim: SimulatorHandle) => simRequest(sim, '/sim/orders') as Promise<SimOrdersView>;
const submissions = async (sim: SimulatorHandle) =>
  Object.values((await simOrders(sim)).cOIDSubmissions).reduce((a, b) => a + b, 0);

async function ask(h: Harness, symbol: string): Promise<number> {
  const q = await h.callTool('get_quote', { symbol });
  return q.structured.quotes[0].ask as number;
}

const cents = (x: number) => Math.round(x * 100) / 100;

describe('orders end to end, paper account, confirmation none', () => {
  let h: Harness;
  before(async () => {
    h = await startServer({ args: ['--order-confirmation', 'none'] });
  });
  after(async () => {
    await h?.close();
  });

  test('tools/list: order tools with derived annotations', async () => {
    const { tools } = await h.client.listTools();
    const kinds: Record<string, boolean> = {
      place_stock_order: true,
      place_option_order: true,
      confirm_order: true,
      modify_order: true,
      cancel_order: true,
      preview_order: false,
      get_order_status: false,
      get_live_orders: false,
      get_trades: false,
    };
    for (const [name, destructive] of Object.entries(kinds)) {
      const t = tools.find((x) => x.name === name);
      assert.ok(t, `${name} listed`);
      assert.equal(t.annotations?.destructiveHint, destructive, name);
      assert.equal(t.annotations?.readOnlyHint, !destructive, name);
      assert.ok(t.outputSchema);
    }
  });

  test('market order: filled, with account, mode, contract, what was sent, ids, status', async () => {
    const r = await h.callTool('place_stock_order', {
      accountId: ACCT,
      symbol: 'AAPL',
      action: 'BUY',
      orderType: 'MKT',
      quantity: 5,
    });
    assert.equal(r.isError, false, r.text);
    const s = r.structured;
    assert.equal(s.status, 'filled');
    assert.equal(s.mode, 'PAPER');
    assert.equal(s.accountId, ACCT);
    assert.equal(s.contract.symbol, 'AAPL');
    assert.equal(s.contract.conid, 265598);
    assert.deepEqual(s.sent, { side: 'BUY', quantity: 5, orderType: 'MKT', tif: 'DAY', outsideRth: false });
    assert.match(s.orderId, /^\d+$/);
    assert.match(s.clientOrderId, /^mcp-/);
    assert.deepEqual(s.autoConfirmed, ['o10151']);
    assert.match(r.text, /\[PAPER\] FILLED: BUY 5 MKT DAY AAPL/);
    // Journal written.
    const journal = readFileSync(join(h.home, 'journal.jsonl'), 'utf8');
    assert.match(journal, new RegExp(`"cOID":"${s.clientOrderId}".*"state":"sending"`));
    assert.match(journal, new RegExp(`"cOID":"${s.clientOrderId}".*"state":"placed"`));
  });

  test('every order type and time in force', async () => {
    const a = await ask(h, 'MSFT');
    const cases = [
      { orderType: 'LMT', price: cents(a * 0.99), tif: 'GTC', expect: 'submitted' },
      { orderType: 'LMT', price: cents(a * 0.99), tif: 'IOC', expect: 'cancelled' },
      { orderType: 'LMT', price: cents(a * 0.995), tif: 'OPG', expect: 'submitted' },
      { orderType: 'STP', stopPrice: cents(a * 1.02), tif: 'GTC', expect: 'submitted' },
      { orderType: 'STOP_LIMIT', stopPrice: cents(a * 1.02), price: cents(a * 1.025), tif: 'DAY', expect: 'submitted' },
      { orderType: 'TRAIL', trailingAmount: 2, tif: 'GTC', expect: 'submitted', action: 'SELL' },
      { orderType: 'TRAIL', trailingAmount: 1, trailingType: '%', tif: 'DAY', expect: 'submitted', action: 'SELL' },
    ];
    for (const { expect, action, ...c } of cases) {
      const r = await h.callTool('place_stock_order', {
        accountId: ACCT,
        symbol: 'MSFT',
        action: action ?? 'BUY',
        quantity: 2,
        ...c,
      });
      assert.equal(r.isError, false, `${JSON.stringify(c)}: ${r.text}`);
      assert.equal(r.structured.status, expect, `${JSON.stringify(c)}: ${r.text}`);
      if (c.orderType !== 'MKT' && c.orderType !== 'TRAIL') assert.equal(r.structured.sent.orderType, c.orderType);
      // A trailing stop goes out with its initial stop (IB's price), from the quote.
      if (c.orderType === 'TRAIL') assert.ok(r.structured.sent.stopPrice > 0, r.text);
    }
    // Given explicitly, the initial stop is sent as given.
    const t = await h.callTool('place_stock_order', {
      accountId: ACCT,
      symbol: 'MSFT',
      action: 'SELL',
      quantity: 1,
      orderType: 'TRAIL',
      trailingAmount: 3,
      stopPrice: cents(a * 0.97),
      tif: 'GTC',
    });
    assert.equal(t.structured.sent.stopPrice, cents(a * 0.97), t.text);
    const live = (await simOrders(h.sim!)).orders.find((o) => o.orderId === Number(t.structured.orderId));
    assert.ok(live, 'the simulator holds the trailing stop');
  });

  test('fractional shares', async () => {
    const r = await h.callTool('place_stock_order', {
      accountId: ACCT,
      symbol: 'KO',
      action: 'BUY',
      orderType: 'MKT',
      quantity: 0.5,
    });
    assert.equal(r.structured?.status, 'filled', r.text);
    assert.equal(r.structured.sent.quantity, 0.5);
  });

  test('refusals before anything is sent', async () => {
    const before = await h.simStats();
    const bad: Array<[Record<string, unknown>, RegExp]> = [
      [{ orderType: 'LMT' }, /needs a limit price/],
      [{ orderType: 'STP' }, /needs a stop price/],
      [{ orderType: 'STOP_LIMIT', price: 100 }, /needs a stop price/],
      [{ orderType: 'MKT', price: 100 }, /market order takes no price/],
      [{ orderType: 'LMT', price: 100.003 }, /tick size 0.01/],
      [{ orderType: 'TRAIL' }, /needs trailingAmount/],
      [{ orderType: 'MKT', quantity: 0 }, /quantity|too_small|greater/i],
      [{ orderType: 'MKT', quantity: 5000 }, /max-order-quantity|max-order-notional/],
      [{ orderType: 'MKT', quantity: 900 }, /failed: notional/],
    ];
    for (const [args, re] of bad) {
      const r = await h.callTool('place_stock_order', {
        accountId: ACCT,
        symbol: 'AAPL',
        action: 'BUY',
        quantity: 1,
        ...args,
      });
      assert.equal(r.isError, true, JSON.stringify(args));
      assert.match(r.text, re, JSON.stringify(args));
    }
    const opt = await h.callTool('place_option_order', {
      accountId: ACCT,
      symbol: 'AAPL',
      expiration: '20991217',
      strike: 100,
      right: 'C',
      action: 'BUY',
      orderType: 'MKT',
      quantity: 1.5,
    });
    assert.equal(opt.isError, true);
    const after = await h.simStats();
    assert.equal(
      after.byEndpoint['POST /iserver/account/:accountId/orders'] ?? 0,
      before.byEndpoint['POST /iserver/account/:accountId/orders'] ?? 0,
    );
  });

  test('option order by expiration/strike/right, and by conid', async () => {
    const f = await h.callTool('find_option_contract', { symbol: 'AAPL', right: 'C' });
    assert.equal(f.isError, false, f.text);
    const c = f.structured.contract;
    const r = await h.callTool('place_option_order', {
      accountId: ACCT,
      symbol: 'AAPL',
      expiration: String(c.expiry).replace(/-/g, ''),
      strike: c.strike,
      right: 'CALL',
      action: 'BUY',
      orderType: 'MKT',
      quantity: 1,
    });
    assert.equal(r.isError, false, r.text);
    assert.equal(r.structured.contract.secType, 'OPT');
    assert.equal(r.structured.contract.conid, c.conid);
    assert.equal(r.structured.status, 'filled');
    const byConid = await h.callTool('place_option_order', {
      accountId: ACCT,
      conid: c.conid,
      action: 'SELL',
      orderType: 'MKT',
      quantity: 1,
    });
    assert.equal(byConid.structured?.status, 'filled', byConid.text);
  });

  test('preview_order: what-if, nothing placed', async () => {
    const n = await submissions(h.sim!);
    const r = await h.callTool('preview_order', {
      accountId: ACCT,
      symbol: 'AAPL',
      action: 'BUY',
      orderType: 'MKT',
      quantity: 3,
    });
    assert.equal(r.isError, false, r.text);
    assert.equal(r.structured.status, 'previewed');
    assert.ok(r.structured.preview.amount > 0);
    assert.ok(r.structured.preview.commission >= 1);
    assert.equal(typeof r.structured.preview.positionAfter, 'number');
    assert.match(r.text, /Preview only: nothing was sent/);
    assert.equal(await submissions(h.sim!), n);
  });

  test("IB's warning needs confirm_order with the reply id", async () => {
    const a = await ask(h, 'AAPL');
    const r = await h.callTool('place_stock_order', {
      accountId: ACCT,
      symbol: 'AAPL',
      action: 'BUY',
      orderType: 'LMT',
      price: cents(a * 0.9),
      quantity: 1,
      tif: 'GTC',
    });
    assert.equal(r.structured.status, 'needs_reply', r.text);
    assert.deepEqual(r.structured.question.messageIds, ['o163']);
    assert.match(r.text, /«The following order/);
    const c = await h.callTool('confirm_order', { replyId: r.structured.question.replyId });
    assert.equal(c.structured.status, 'submitted', c.text);
    assert.equal(c.structured.clientOrderId, r.structured.clientOrderId);
  });

  test('modify, status, cancel, live orders, trades', async () => {
    const a = await ask(h, 'AAPL');
    const p = await h.callTool('place_stock_order', {
      accountId: ACCT,
      symbol: 'AAPL',
      action: 'BUY',
      orderType: 'LMT',
      price: cents(a * 0.98),
      quantity: 4,
      tif: 'GTC',
      clientOrderId: 'e2e-modify-1',
    });
    assert.equal(p.structured.status, 'submitted', p.text);
    const id = p.structured.orderId;
    const m = await h.callTool('modify_order', { orderId: id, price: cents(a * 0.975), quantity: 6 });
    assert.equal(m.isError, false, m.text);
    assert.equal(m.structured.sent.quantity, 6);
    const s = await h.callTool('get_order_status', { orderId: id });
    assert.equal(s.structured.order.quantity, 6);
    assert.equal(s.structured.order.price, cents(a * 0.975));
    const byCoid = await h.callTool('get_order_status', { clientOrderId: 'e2e-modify-1' });
    assert.equal(byCoid.structured.order.orderId, id);
    const x = await h.callTool('cancel_order', { orderId: id });
    assert.equal(x.structured.accepted, true, x.text);
    const live = await h.callTool('get_live_orders', {});
    const rows = live.structured.orders.filter((o: { orderId: string }) => o.orderId === id);
    assert.equal(rows.length, 1);
    assert.equal(rows[0].status, 'Cancelled');
    const ids = live.structured.orders.map((o: { orderId: string }) => o.orderId);
    assert.equal(new Set(ids).size, ids.length, 'every order once');
    const t = await h.callTool('get_trades', { days: 1 });
    assert.ok(t.structured.trades.length >= 1);
    assert.ok(
      t.structured.trades.every(
        (x: { commission?: number; price: number }) => x.commission !== undefined && x.price > 0,
      ),
    );
    const unknown = await h.callTool('get_order_status', { orderId: '42' });
    assert.equal(unknown.structured.found, false);
  });

  test('get_trades: a row without trade_time_r is shown, its time unknown if IB gave none (issue 13 #11)', async () => {
    await simRequest(h.sim!, '/sim/faults', {
      fail: { endpoint: 'GET /iserver/account/trades', status: 200, count: 1, body: TRADES.body },
    });
    const r = await h.callTool('get_trades', {});
    assert.equal(r.isError, false, r.text);
    const times = (r.structured.trades as Array<{ time?: string }>).map((t) => t.time);
    assert.deepEqual(times, ['2023-12-11T18:05:00.000Z', '2023-12-11T18:00:49.000Z', undefined]);
    assert.match(r.text, /time unknown BUY 1/);
  });

  test('the same clientOrderId twice: one order', async () => {
    const args = {
      accountId: ACCT,
      symbol: 'AAPL',
      action: 'BUY',
      orderType: 'MKT',
      quantity: 1,
      clientOrderId: 'e2e-once-1',
    };
    const a = await h.callTool('place_stock_order', args);
    const b = await h.callTool('place_stock_order', args);
    assert.equal(a.structured.status, 'filled');
    assert.equal(b.structured.existing, true, b.text);
    assert.equal(b.structured.orderId, a.structured.orderId);
    const v = await simOrders(h.sim!);
    assert.equal(v.cOIDSubmissions['e2e-once-1'], 1);
    assert.equal(v.orders.filter((o) => o.cOID === 'e2e-once-1').length, 1);
  });

  test('lost answer: the order exists exactly once and the answer says so', async () => {
    await h.simControl('/sim/faults', { dropResponse: { endpoint: 'POST /iserver/reply/:replyId', count: 1 } });
    const r = await h.callTool('place_stock_order', {
      accountId: ACCT,
      symbol: 'AAPL',
      action: 'BUY',
      orderType: 'MKT',
      quantity: 2,
    });
    assert.equal(r.isError, false, r.text);
    assert.match(r.text, /exists exactly once/);
    const cOID = r.structured.clientOrderId;
    const v = await simOrders(h.sim!);
    assert.equal(v.cOIDSubmissions[cOID], 1);
    assert.equal(v.orders.filter((o) => o.cOID === cOID).length, 1);
    assert.equal(r.structured.orderId, String(v.orders.find((o) => o.cOID === cOID)!.orderId));
  });

  test('kill switch: ibkr-mcp halt blocks placing and modifying; cancel works; resume', async () => {
    const a = await ask(h, 'AAPL');
    const w = await h.callTool('place_stock_order', {
      accountId: ACCT,
      symbol: 'AAPL',
      action: 'BUY',
      orderType: 'LMT',
      price: cents(a * 0.98),
      quantity: 1,
      tif: 'GTC',
    });
    execFileSync(process.execPath, [CLI, 'halt', 'e2e', 'test', '--home', h.home]);
    assert.ok(existsSync(join(h.home, 'HALT')));
    const p = await h.callTool('place_stock_order', {
      accountId: ACCT,
      symbol: 'AAPL',
      action: 'BUY',
      orderType: 'MKT',
      quantity: 1,
    });
    assert.equal(p.isError, true);
    assert.match(p.text, /halted.*e2e test/);
    const m = await h.callTool('modify_order', { orderId: w.structured.orderId, price: cents(a * 0.97) });
    assert.match(m.text, /halted/);
    const c = await h.callTool('cancel_order', { orderId: w.structured.orderId });
    assert.equal(c.structured.accepted, true, c.text);
    execFileSync(process.execPath, [CLI, 'resume', '--home', h.home]);
    const ok = await h.callTool('place_stock_order', {
      accountId: ACCT,
      symbol: 'AAPL',
      action: 'BUY',
      orderType: 'MKT',
      quantity: 1,
    });
    assert.equal(ok.structured.status, 'filled', ok.text);
  });
});

describe('limits and allow-lists', () => {
  let h: Harness;
  before(async () => {
    h = await startServer({
      args: [
        '--order-confirmation',
        'none',
        '--allowed-symbols',
        'MSFT',
        '--allowed-sec-types',
        'STK',
        '--max-orders-per-day',
        '1',
        '--allowed-accounts',
        ACCT,
      ],
    });
  });
  after(async () => {
    await h?.close();
  });
  test('symbol, account, sec type, orders per day', async () => {
    const sym = await h.callTool('place_stock_order', {
      accountId: ACCT,
      symbol: 'AAPL',
      action: 'BUY',
      orderType: 'MKT',
      quantity: 1,
    });
    assert.match(sym.text, /allowed-symbols/);
    const acct = await h.callTool('place_stock_order', {
      accountId: 'DU7654321',
      symbol: 'MSFT',
      action: 'BUY',
      orderType: 'MKT',
      quantity: 1,
    });
    assert.match(acct.text, /allowed-accounts/);
    const first = await h.callTool('place_stock_order', {
      symbol: 'MSFT',
      action: 'BUY',
      orderType: 'MKT',
      quantity: 1,
    });
    assert.equal(first.structured?.status, 'filled', first.text);
    assert.equal(first.structured.accountId, ACCT, 'the only allowed account is the default');
    const second = await h.callTool('place_stock_order', {
      symbol: 'MSFT',
      action: 'BUY',
      orderType: 'MKT',
      quantity: 1,
    });
    assert.match(second.text, /orders-per-day/);
  });
});

describe('read-only mode', () => {
  test('no order-changing tool is registered', async () => {
    const h = await startServer({ sim: false, args: ['--read-only'] });
    try {
      const names = (await h.client.listTools()).tools.map((t) => t.name);
      for (const n of ['place_stock_order', 'place_option_order', 'confirm_order', 'modify_order', 'cancel_order']) {
        assert.ok(!names.includes(n), n);
      }
      for (const n of ['get_live_orders', 'get_order_status', 'get_trades', 'preview_order'])
        assert.ok(names.includes(n), n);
      assert.ok(!names.includes('authenticate'), 'no login tool in read-only mode');
    } finally {
      await h.close();
    }
  });

  test('--allow-login-in-read-only brings back authenticate, and nothing else', async () => {
    const h = await startServer({ sim: false, args: ['--read-only', '--allow-login-in-read-only'] });
    try {
      const names = (await h.client.listTools()).tools.map((t) => t.name);
      assert.ok(names.includes('authenticate'));
      for (const n of ['place_stock_order', 'place_option_order', 'confirm_order', 'modify_order', 'cancel_order']) {
        assert.ok(!names.includes(n), n);
      }
    } finally {
      await h.close();
    }
  });
});

describe('token confirmation (client without elicitation)', () => {
  let h: Harness;
  before(async () => {
    h = await startServer({ args: ['--order-confirmation', 'elicit', '--confirm-token-ttl', '2'] });
  });
  after(async () => {
    await h?.close();
  });
  const place = () =>
    h.callTool('place_stock_order', { accountId: ACCT, symbol: 'AAPL', action: 'BUY', orderType: 'MKT', quantity: 1 });

  test('valid token places exactly the held order once; reuse is refused', async () => {
    const n = await submissions(h.sim!);
    const held = await place();
    assert.equal(held.structured.status, 'confirmation_required', held.text);
    assert.ok(held.structured.preview.commission >= 1);
    assert.equal(await submissions(h.sim!), n, 'nothing sent before confirmation');
    const token = held.structured.confirmation.token;
    const ok = await h.callTool('confirm_order', { token });
    assert.equal(ok.structured.status, 'filled', ok.text);
    assert.equal(ok.structured.clientOrderId, held.structured.clientOrderId);
    const again = await h.callTool('confirm_order', { token });
    assert.equal(again.isError, true);
    assert.match(again.text, /already used/);
    assert.equal(await submissions(h.sim!), n + 1);
  });

  test('tampered and expired tokens are refused', async () => {
    const held = await place();
    const token: string = held.structured.confirmation.token;
    const [v, body, mac] = token.split('.') as [string, string, string];
    const payload = JSON.parse(Buffer.from(body, 'base64url').toString());
    payload.e += 60_000;
    const forged = `${v}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.${mac}`;
    const t = await h.callTool('confirm_order', { token: forged });
    assert.equal(t.isError, true);
    assert.match(t.text, /signature/);
    await new Promise((r) => setTimeout(r, 2200));
    const e = await h.callTool('confirm_order', { token });
    assert.equal(e.isError, true);
    assert.match(e.text, /expired/);
  });
});

describe('elicitation confirmation', () => {
  for (const answer of ['accept', 'decline'] as const) {
    test(`a client that ${answer}s`, async () => {
      const asked: string[] = [];
      const h = await startServer({
        capabilities: { elicitation: { form: {} } },
        setup: (client) =>
          client.setRequestHandler('elicitation/create', async (req) => {
            asked.push(String((req.params as { message: string }).message));
            return (
              answer === 'accept' ? { action: 'accept', content: { confirm: true } } : { action: 'decline' }
            ) as never;
          }),
      });
      try {
        const n = await submissions(h.sim!);
        const r = await h.callTool('place_stock_order', {
          accountId: ACCT,
          symbol: 'AAPL',
          action: 'BUY',
          orderType: 'MKT',
          quantity: 2,
        });
        assert.equal(asked.length, 1);
        assert.match(asked[0]!, /PAPER account DU1234567/);
        assert.match(asked[0]!, /BUY 2 AAPL .*MKT at market/);
        assert.match(asked[0]!, /Estimated cost: [\d,.]+ USD; commission: [\d.]+ USD/);
        if (answer === 'accept') {
          assert.equal(r.structured.status, 'filled', r.text);
          assert.equal(await submissions(h.sim!), n + 1);
        } else {
          assert.equal(r.structured.status, 'declined', r.text);
          assert.equal(await submissions(h.sim!), n);
        }
      } finally {
        await h.close();
      }
    });
  }
});

describe('journal reconciliation across a restart', () => {
  let sim: SimulatorHandle;
  let home: string;
  before(async () => {
    sim = await startSimulator({ port: 0, seed: 9 });
    home = mkdtempSync(join(tmpdir(), 'ibkr-mcp-e2e-journal-'));
  });
  after(async () => {
    await sim.close();
    rmSync(home, { recursive: true, force: true });
  });
  const server = () =>
    startServer({
      sim: false,
      args: ['--backend', 'gateway', '--gateway-url', sim.url, '--order-confirmation', 'none'],
      env: { IBKR_MCP_HOME: home },
    });

  test('answer lost in a gateway restart: "may have been placed"; the next start reconciles it', async () => {
    const h1 = await server();
    let cOID: string;
    try {
      const q = await h1.callTool('get_quote', { symbol: 'AAPL' });
      const px = cents(q.structured.quotes[0].ask * 0.99);
      await simRequest(sim, '/sim/faults', {
        dropResponse: { endpoint: 'POST /iserver/account/:accountId/orders', count: 1, logout: true },
      });
      const r = await h1.callTool('place_stock_order', {
        accountId: ACCT,
        symbol: 'AAPL',
        action: 'BUY',
        orderType: 'LMT',
        price: px,
        quantity: 1,
        tif: 'GTC',
      });
      assert.equal(r.isError, false, r.text);
      assert.equal(r.structured.status, 'uncertain');
      assert.match(r.text, /MAY have been placed/);
      cOID = r.structured.clientOrderId;
      assert.match(r.text, new RegExp(cOID));
    } finally {
      await h1.close();
    }
    await simRequest(sim, '/sim/session', { authenticated: true });
    const h2 = await server();
    try {
      const deadline = Date.now() + 20_000;
      let reconciled = false;
      while (!reconciled && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 250));
        const lines = readFileSync(join(home, 'journal.jsonl'), 'utf8')
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l));
        reconciled = lines.some((l) => l.cOID === cOID && l.state === 'placed');
      }
      assert.ok(reconciled, 'journal reconciled at start-up');
      const s = await h2.callTool('get_order_status', { clientOrderId: cOID });
      assert.equal(s.structured.found, true, s.text);
      const v = await simOrders(sim);
      assert.equal(v.cOIDSubmissions[cOID], 1);
    } finally {
      await h2.close();
    }
  });
});
