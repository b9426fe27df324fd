/**
 * Option spreads end to end (issue #20): MCP client → stdio server (dist) → simulator. An iron
 * condor is previewed and placed as one combo order: its legs, net credit, maximum profit and
 * loss and breakevens match a hand computation; it fills at the net price into one position per
 * leg, and the simulator saw its client order id once. Refusals: wrong-shaped legs, a maximum
 * loss above the limit, an unlimited loss (short straddle), legs on two underlyings.
 *
 * Sources of the behaviour: IBKR Campus, Web API v1.0, "Combo / Spread Orders" (conidex, ratio
 * signs, the USD spread conid 28812380); TWS Users' Guide, "Notes on Combination Orders" (a
 * bought credit spread has a negative limit price).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type Harness, simRequest, startServer } from './harness.js';

const ACCT = 'DU1234567';

interface SimView {
  orders: Array<{ orderId: number; cOID?: string; conid: number; status: string; filled: number; avgPrice: number }>;
  executions: Array<{ orderId: number; conid: number; side: string; qty: number; price: number }>;
  cOIDSubmissions: Record<string, number>;
}

describe('option spreads end to end', () => {
  let h: Harness;
  let expiry = '';
  let strikes: number[] = [];

  before(async () => {
    h = await startServer({
      args: ['--toolsets', 'default,order_groups', '--order-confirmation', 'none', '--max-order-notional', '5000'],
    });
    const chain = await h.callTool('get_options_chain', { symbol: 'SPY', expirationCount: 2, strikeCount: 10 });
    assert.equal(chain.isError, false, chain.text);
    const e = chain.structured.expirations[1] as { expiry: string; rows: number[][] };
    expiry = e.expiry.replace(/-/g, '');
    strikes = e.rows.map((r) => r[0]!);
  });
  after(async () => {
    await h?.close();
  });

  test('an iron condor: preview and place as one order; legs, credit, max loss, breakevens by hand; positions per leg', async () => {
    // Four ascending strikes around the money: long put, short put, short call, long call.
    const mid = Math.floor(strikes.length / 2);
    const k = [strikes[mid - 3]!, strikes[mid - 1]!, strikes[mid + 1]!, strikes[mid + 3]!];
    const shape = { symbol: 'SPY', shape: 'iron_condor', strikes: k, expiration: expiry, quantity: 2 };
    const probe = await h.callTool('preview_spread_order', { ...shape, orderType: 'MKT', accountId: ACCT });
    assert.equal(probe.isError, false, probe.text);
    const ask = probe.structured.spread.ask as number;
    assert.ok(ask < 0, `an iron condor bought is a credit: net ask ${ask}`);
    // Marketable: 0.10 less credit than the market offers now (the simulated market moves).
    const price = Math.round((ask + 0.1) * 100) / 100;
    const pv = await h.callTool('preview_spread_order', { ...shape, price, accountId: ACCT });
    assert.equal(pv.isError, false, pv.text);
    const s = pv.structured.spread;
    assert.equal(pv.structured.status, 'previewed');
    assert.deepEqual(
      s.legs.map((l: { strike: number; right: string; ratio: number }) => [l.strike, l.right, l.ratio]),
      [
        [k[0], 'P', 1],
        [k[1], 'P', -1],
        [k[2], 'C', -1],
        [k[3], 'C', 1],
      ],
    );
    // By hand: credit c per spread; max profit c × 100 × 2; max loss (wider wing − c) × 100 × 2;
    // breakevens short put − c and short call + c.
    const c = -price;
    const wing = Math.max(k[1]! - k[0]!, k[3]! - k[2]!);
    const r2 = (x: number) => Math.round(x * 100) / 100;
    assert.equal(s.netCredit, r2(c * 200));
    assert.equal(s.maxProfit, r2(c * 200));
    assert.equal(s.maxLoss, r2((wing - c) * 200));
    assert.deepEqual(s.breakevens, [r2(k[1]! - c), r2(k[2]! + c)]);
    // IB's margin from the what-if (the simulator charges a defined-risk spread its maximum loss).
    assert.equal(s.margin, s.maxLoss, pv.text);
    assert.match(pv.text, /IB's initial margin for it: /);
    assert.match(pv.text, /max loss/);

    const r = await h.callTool('place_spread_order', { ...shape, price, accountId: ACCT, clientOrderId: 'e2e-ic-1' });
    assert.equal(r.isError, false, r.text);
    assert.equal(r.structured.status, 'filled', r.text);
    assert.equal(r.structured.spread.maxLoss, s.maxLoss);
    const v = await simView(h);
    assert.equal(v.cOIDSubmissions['e2e-ic-1'], 1, 'sent once');
    const o = v.orders.find((x) => x.cOID === 'e2e-ic-1')!;
    assert.equal(o.conid, 28812380, 'the USD spread conid');
    // A buy fills at its limit or better (the market may have moved since the preview).
    assert.ok(o.avgPrice <= price, `filled at ${o.avgPrice}, limit ${price}`);
    const legsIds = s.legs.map((l: { conid: number }) => l.conid) as number[];
    const ex = v.executions.filter((x) => x.orderId === o.orderId);
    assert.deepEqual(
      ex.map((x) => [x.conid, x.side, x.qty]),
      [
        [legsIds[0], 'BUY', 2],
        [legsIds[1], 'SELL', 2],
        [legsIds[2], 'SELL', 2],
        [legsIds[3], 'BUY', 2],
      ],
    );
    const net = ex.reduce((sum, x) => sum + (x.side === 'BUY' ? 1 : -1) * x.price, 0);
    assert.equal(r2(net), o.avgPrice, 'the legs add up to the net fill price');

    const pos = await h.callTool('get_positions', { accountId: ACCT, symbol: 'SPY', secType: 'OPT' });
    assert.equal(pos.isError, false, pos.text);
    const held = new Map<number, number>(
      (pos.structured.positions as Array<{ conid: number; qty: number }>).map((p) => [p.conid, p.qty]),
    );
    assert.deepEqual(
      legsIds.map((id) => held.get(id)),
      [2, -2, -2, 2],
    );
    const lines = readFileSync(join(h.home, 'journal.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
      .filter((l) => l.cOID === 'e2e-ic-1');
    assert.equal(lines[0].ev, 'attempt', 'journaled before sending');
    assert.equal(lines.filter((l) => l.ev === 'attempt').length, 1, 'one entry for the whole combo');
    assert.deepEqual(
      lines[0].order.combo.legs.map((l: { conid: number; ratio: number }) => [l.conid, l.ratio]),
      legsIds.map((id, i) => [id, [1, -1, -1, 1][i]]),
    );
  });

  test('a calendar by shape, and listed legs (by strike and by conid): legs resolved, loss the debit', async () => {
    const chain = await h.callTool('get_options_chain', { symbol: 'SPY', expirationCount: 2, strikeCount: 4 });
    const [near, far] = (chain.structured.expirations as Array<{ expiry: string }>).map((e) =>
      e.expiry.replace(/-/g, ''),
    );
    const mid = Math.floor(strikes.length / 2);
    const cal = await h.callTool('preview_spread_order', {
      accountId: ACCT,
      symbol: 'SPY',
      shape: 'calendar',
      right: 'C',
      strikes: [strikes[mid]!],
      expiration: near,
      farExpiration: far,
      quantity: 1,
      price: 1.1,
    });
    assert.equal(cal.isError, false, cal.text);
    const c = cal.structured.spread;
    assert.deepEqual(
      c.legs.map((l: { expiry: string; ratio: number }) => [l.expiry.replace(/-/g, ''), l.ratio]),
      [
        [near, -1],
        [far, 1],
      ],
    );
    // By hand: a covered debit calendar can lose at most its debit, 1.10 × 100.
    assert.deepEqual([c.netDebit, c.maxLoss, c.maxProfit, c.breakevens], [110, 110, undefined, undefined]);
    assert.match(c.note, /different dates/);

    // The same vertical by strikes and by conids; a leg on another underlying is refused.
    const byStrike = await h.callTool('preview_spread_order', {
      accountId: ACCT,
      symbol: 'SPY',
      legs: [
        { expiration: far, strike: strikes[mid]!, right: 'C', action: 'BUY' },
        { expiration: far, strike: strikes[mid + 2]!, right: 'C', action: 'SELL' },
      ],
      quantity: 1,
      price: 0.5,
    });
    assert.equal(byStrike.isError, false, byStrike.text);
    const ids = byStrike.structured.spread.legs.map((l: { conid: number }) => l.conid);
    const byConid = await h.callTool('preview_spread_order', {
      accountId: ACCT,
      legs: [
        { conid: ids[0], action: 'BUY' },
        { conid: ids[1], action: 'SELL' },
      ],
      quantity: 1,
      price: 0.5,
    });
    assert.equal(byConid.isError, false, byConid.text);
    const shape = (r: { structured: { spread: { legs: Array<Record<string, unknown>> } } }) =>
      r.structured.spread.legs.map((l) => [l['conid'], l['ratio'], l['expiry'], l['strike'], l['right']]);
    assert.deepEqual(shape(byConid), shape(byStrike));
    const qqq = await h.callTool('find_option_contract', { symbol: 'QQQ', right: 'C' });
    const mixed = await h.callTool('preview_spread_order', {
      accountId: ACCT,
      legs: [
        { conid: ids[0], action: 'BUY' },
        { conid: qqq.structured.contract.conid, action: 'SELL' },
      ],
      quantity: 1,
      price: 0.5,
    });
    assert.equal(mixed.isError, true);
    assert.match(mixed.text, /all legs need one underlying/);
  });

  test('refusals: wrong-shaped legs, max loss above the limit, unlimited loss; nothing reaches IB', async () => {
    const mid = Math.floor(strikes.length / 2);
    const before = (await simView(h)).cOIDSubmissions;
    const bad = await h.callTool('place_spread_order', {
      symbol: 'SPY',
      shape: 'iron_condor',
      strikes: [strikes[mid]!, strikes[mid - 1]!, strikes[mid + 1]!],
      expiration: expiry,
      quantity: 1,
      price: -1,
      accountId: ACCT,
      clientOrderId: 'e2e-bad-shape',
    });
    assert.equal(bad.isError, true);
    assert.match(bad.text, /iron_condor needs 4 strikes/);

    const unsorted = await h.callTool('preview_spread_order', {
      symbol: 'SPY',
      shape: 'butterfly',
      right: 'C',
      strikes: [strikes[mid + 1]!, strikes[mid]!, strikes[mid + 2]!],
      expiration: expiry,
      quantity: 1,
      price: 0.5,
      accountId: ACCT,
    });
    assert.equal(unsorted.isError, true);
    assert.match(unsorted.text, /ascending/);

    // Width × 100 × 30 spreads is far above --max-order-notional 5000.
    const big = await h.callTool('place_spread_order', {
      symbol: 'SPY',
      shape: 'vertical',
      right: 'P',
      strikes: [strikes[mid - 4]!, strikes[mid]!],
      expiration: expiry,
      quantity: 30,
      price: -0.05,
      accountId: ACCT,
      clientOrderId: 'e2e-too-big',
    });
    assert.equal(big.isError, true);
    assert.match(big.text, /max-loss \(maximum loss [\d.]+ USD is above --max-order-notional 5000\)/);

    const naked = await h.callTool('place_spread_order', {
      symbol: 'SPY',
      shape: 'straddle',
      strikes: [strikes[mid]!],
      expiration: expiry,
      action: 'SELL',
      quantity: 1,
      price: -0.05,
      accountId: ACCT,
      clientOrderId: 'e2e-naked',
    });
    assert.equal(naked.isError, true);
    assert.match(naked.text, /maximum loss of this spread is unlimited/);

    const after = (await simView(h)).cOIDSubmissions;
    assert.deepEqual(after, before, 'nothing was sent');
  });

  async function simView(hh: Harness): Promise<SimView> {
    return (await simRequest(hh.sim!, '/sim/orders')) as SimView;
  }
});

describe('a spread with token approval, a lost answer and a change', () => {
  let h: Harness;
  let vertical: Record<string, unknown> = {};
  const view = async () => (await simRequest(h.sim!, '/sim/orders')) as SimView;

  before(async () => {
    h = await startServer({
      args: [
        '--toolsets',
        'default,order_groups',
        '--order-confirmation',
        'elicit',
        '--auto-confirm-message-ids',
        'o10151',
      ],
    });
    const chain = await h.callTool('get_options_chain', { symbol: 'SPY', expirationCount: 2, strikeCount: 10 });
    const e = chain.structured.expirations[1] as { expiry: string; rows: number[][] };
    const k = e.rows.map((r) => r[0]!);
    const mid = Math.floor(k.length / 2);
    // A bull call vertical far below its market (a debit of 0.05): it stays working.
    vertical = {
      accountId: ACCT,
      symbol: 'SPY',
      shape: 'vertical',
      right: 'C',
      strikes: [k[mid]!, k[mid + 2]!],
      expiration: e.expiry.replace(/-/g, ''),
      quantity: 1,
      price: 0.05,
    };
  });
  after(async () => {
    await h?.close();
  });

  test('one token holds exactly the combo shown, sends it once; the same clientOrderId sends nothing new', async () => {
    const held = await h.callTool('place_spread_order', { ...vertical, clientOrderId: 'e2e-vert-1' });
    assert.equal(held.structured.status, 'confirmation_required', held.text);
    assert.equal(held.structured.spread.legs.length, 2);
    assert.match(held.text, /SPY vertical combo/);
    assert.equal((await view()).cOIDSubmissions['e2e-vert-1'], undefined, 'nothing sent before approval');
    const token = held.structured.confirmation.token;
    const ok = await h.callTool('confirm_order', { token });
    assert.equal(ok.isError, false, ok.text);
    assert.equal(ok.structured.status, 'submitted', ok.text);
    assert.equal((await h.callTool('confirm_order', { token })).isError, true, 'the token is single-use');
    const again = await h.callTool('place_spread_order', { ...vertical, clientOrderId: 'e2e-vert-1' });
    assert.equal(again.structured.existing, true, again.text);
    const v = await view();
    assert.equal(v.cOIDSubmissions['e2e-vert-1'], 1);
    const o = v.orders.find((x) => x.cOID === 'e2e-vert-1')!;
    assert.equal(o.status, 'Submitted');

    // A spread's legs and price are one order: modifying it in place is refused, cancelling works.
    const mod = await h.callTool('modify_order', { orderId: String(o.orderId), price: 0.06 });
    assert.equal(mod.isError, true);
    assert.match(mod.text, /is a spread; it cannot be modified here/);
    const cancel = await h.callTool('cancel_order', { orderId: String(o.orderId), accountId: ACCT });
    assert.equal(cancel.structured.accepted, true, cancel.text);
  });

  test('a lost answer: found by its client order id, never sent twice', async () => {
    await h.simControl('/sim/faults', {
      dropResponse: { endpoint: 'POST /iserver/account/:accountId/orders', count: 1 },
    });
    const held = await h.callTool('place_spread_order', { ...vertical, clientOrderId: 'e2e-vert-lost' });
    const r = await h.callTool('confirm_order', { token: held.structured.confirmation.token });
    assert.equal(r.isError, false, r.text);
    const v = await view();
    assert.equal(v.cOIDSubmissions['e2e-vert-lost'], 1, 'sent once');
    const placed = v.orders.filter((x) => x.cOID === 'e2e-vert-lost');
    assert.equal(placed.length, 1);
    assert.equal(r.structured.orderId, String(placed[0]!.orderId), r.text);
  });
});

describe('a spread approved in the client dialog', () => {
  test('the dialog shows the legs, net price, max loss and breakevens; accepting sends the combo once', async () => {
    const asked: string[] = [];
    const h = await startServer({
      args: ['--toolsets', 'default,order_groups'],
      capabilities: { elicitation: { form: {} } },
      setup: (client) =>
        client.setRequestHandler('elicitation/create', async (req) => {
          asked.push(String((req.params as { message: string }).message));
          return { action: 'accept', content: { confirm: true } } as never;
        }),
    });
    try {
      const chain = await h.callTool('get_options_chain', { symbol: 'SPY', expirationCount: 2, strikeCount: 10 });
      const e = chain.structured.expirations[1] as { expiry: string; rows: number[][] };
      const k = e.rows.map((r) => r[0]!);
      const mid = Math.floor(k.length / 2);
      const r = await h.callTool('place_spread_order', {
        accountId: ACCT,
        symbol: 'SPY',
        shape: 'butterfly',
        right: 'P',
        strikes: [k[mid - 2]!, k[mid]!, k[mid + 2]!],
        expiration: e.expiry.replace(/-/g, ''),
        quantity: 1,
        price: 0.05,
        clientOrderId: 'e2e-fly-1',
      });
      assert.equal(r.isError, false, r.text);
      assert.equal(asked.length, 1);
      const w = k[mid]! - k[mid - 2]!;
      // By hand: a 0.05 debit; profit (wing − 0.05) × 100 at the body, loss 5, breakevens wing ± (wing − 0.05).
      assert.match(asked[0]!, /SPY butterfly combo/);
      assert.match(asked[0]!, /BUY 1 [\d-]+ [\d.]+P conid \d+.*SELL 2 .*BUY 1 /);
      assert.match(asked[0]!, new RegExp(`max profit ${w * 100 - 5} USD, max loss 5 USD`));
      const v = (await simRequest(h.sim!, '/sim/orders')) as SimView;
      assert.equal(v.cOIDSubmissions['e2e-fly-1'], 1);
    } finally {
      await h.close();
    }
  });
});
