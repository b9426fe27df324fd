import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type Harness, simRequest, startServer } from './harness.js';

const PAPER = 'DU1234567';
const EUR_ACCT = 'DU7654321';
const EMPTY = 'DU5550001';
const POSITIONS_ROUTE = 'GET /portfolio/:accountId/positions/:pageId';

// biome-ignore lint/suspicious/noExplicitAny: structured content is checked field by field
type Any = any;

const sum = (xs: number[]) => Math.round(xs.reduce((a, b) => a + b, 0) * 100) / 100;
const near = (a: number, b: number, eps: number, what = '') =>
  assert.ok(Math.abs(a - b) <= eps, `${what} ${a} vs ${b} (±${eps})`);

/** Bytes the model receives: text content plus structured content. */
function resultBytes(raw: Any): number {
  return Buffer.byteLength(JSON.stringify({ content: raw.content, structuredContent: raw.structuredContent }));
}

describe('accounts and portfolio end to end', () => {
  let h: Harness;

  before(async () => {
    h = await startServer();
    // A frozen market clock: the several requests behind one tool call see the same prices.
    await h.simControl('/sim/clock', { freeze: true });
  });
  after(async () => {
    await h?.close();
  });

  test('get_account_info: every account with balances that matter, mode stated', async () => {
    const r = await h.callTool('get_account_info', {});
    assert.equal(r.isError, false, r.text);
    const s = r.structured;
    // The server reaches the simulator as a gateway here, so it reports what IB says: paper.
    assert.equal(s.mode, 'PAPER');
    assert.deepEqual(
      s.accounts.map((a: Any) => [a.id, a.currency, a.paper]),
      [
        [PAPER, 'USD', true],
        [EUR_ACCT, 'EUR', true],
        [EMPTY, 'USD', true],
      ],
    );
    const paper = s.accounts[0];
    for (const k of [
      'netLiquidation',
      'totalCash',
      'buyingPower',
      'excessLiquidity',
      'maintMargin',
      'availableFunds',
    ]) {
      assert.equal(typeof paper[k], 'number', k);
    }
    assert.deepEqual(
      paper.cash.map((c: Any) => c.currency),
      ['USD', 'EUR'],
    );
    // Cash by currency adds up to the total in base currency.
    near(sum(paper.cash.map((c: Any) => c.inBase ?? c.amount)), paper.totalCash, 0.05, 'cash');
    assert.equal(paper.dayTradesRemaining, undefined, 'PDT rule does not apply above 25k');
    const small = s.accounts[2];
    assert.equal(small.dayTradesRemaining, 3);
    assert.match(r.text, /Mode: PAPER \(paper trading; no real money\)/);
    assert.match(r.text, /DU7654321 «Simulated Margin Account EUR» \(paper, DEMO, base EUR\)/);
    assert.ok(!/"accountcode"|availablefunds-s/.test(r.text), 'no raw IB dump');

    const one = await h.callTool('get_account_info', { accountId: EUR_ACCT });
    assert.equal(one.structured.accounts.length, 1);
    assert.equal(one.structured.accounts[0].currency, 'EUR');
  });

  test('an unknown account is a clear error listing the valid ones', async () => {
    for (const tool of ['get_account_info', 'get_positions', 'get_portfolio_summary', 'get_pnl']) {
      const r = await h.callTool(tool, { accountId: 'U9999999' });
      assert.equal(r.isError, true, tool);
      assert.match(r.text, /Unknown account "U9999999"/, tool);
      assert.match(r.text, /DU1234567, DU7654321, DU5550001/, tool);
    }
    const bad = await h.callTool('get_positions', { accountId: '../../iserver' });
    assert.equal(bad.isError, true);
  });

  test('get_positions reads both pages of a 100+ position account; totals are the sum of the rows', async () => {
    const st0 = await h.simStats();
    const r = await h.callTool('get_positions', { accountId: PAPER, limit: 1000 });
    assert.equal(r.isError, false, r.text);
    const st1 = await h.simStats();
    // Two pages, no more (a request the gateway refused with 429 is retried once: not ours to count).
    const pages = (st1.byEndpoint[POSITIONS_ROUTE] ?? 0) - (st0.byEndpoint[POSITIONS_ROUTE] ?? 0);
    assert.ok(
      pages >= 2 && pages - 2 <= st1.status429 - st0.status429,
      `${pages} page requests: ${JSON.stringify(st1)}`,
    );
    const s = r.structured;
    assert.ok(s.count > 100, `${s.count}`);
    assert.equal(s.positions.length, s.count);
    assert.equal(s.more, undefined);
    assert.equal(new Set(s.positions.map((p: Any) => p.conid)).size, s.count, 'no duplicates across pages');
    for (const t of s.totals) {
      const rows = s.positions.filter((p: Any) => p.currency === t.currency);
      assert.equal(t.positions, rows.length);
      assert.equal(t.value, sum(rows.map((p: Any) => p.value)), `value ${t.currency}`);
      assert.equal(t.unrealizedPnl, sum(rows.map((p: Any) => p.unrealizedPnl)), `pnl ${t.currency}`);
    }
    for (const p of s.positions) {
      const mult = p.multiplier ?? 1;
      near(p.value, p.qty * p.price * mult, 0.01 + Math.abs(p.qty * mult) * 0.00005, `value ${p.symbol}`);
      near(
        p.unrealizedPnl,
        p.qty * (p.price - p.avgCost) * mult,
        0.01 + Math.abs(p.qty * mult) * 0.0001,
        `pnl ${p.symbol}`,
      );
    }
    const opts = s.positions.filter((p: Any) => p.secType === 'OPT');
    assert.ok(opts.some((p: Any) => p.qty < 0) && opts.some((p: Any) => p.qty > 0));
    for (const o of opts) {
      assert.match(o.expiry, /^\d{4}-\d{2}-\d{2}$/);
      assert.equal(typeof o.strike, 'number');
      assert.ok(o.right === 'C' || o.right === 'P');
      assert.equal(o.multiplier, 100);
    }
    const fut = s.positions.find((p: Any) => p.secType === 'FUT');
    assert.equal(fut?.multiplier, 50);
    assert.ok(s.positions.some((p: Any) => p.currency === 'EUR'));
    // Sorted by absolute market value, EUR and USD compared in the base currency (issue 14): in
    // each currency the values descend, and the result says which currency they were compared in.
    assert.equal(s.sortedIn, 'USD');
    assert.match(r.text, /sorted by value in USD/);
    for (const ccy of ['USD', 'EUR']) {
      const v = s.positions.filter((p: Any) => p.currency === ccy).map((p: Any) => Math.abs(p.value));
      for (let i = 1; i < v.length; i++) assert.ok(v[i - 1] >= v[i], ccy);
    }
  });

  test('get_positions without an account covers every account, states them, and limits with a count of the rest', async () => {
    const r = await h.callTool('get_positions', { limit: 20 });
    assert.equal(r.isError, false, r.text);
    const s = r.structured;
    assert.deepEqual(s.accounts, [PAPER, EUR_ACCT, EMPTY]);
    assert.equal(s.positions.length, 20);
    assert.equal(s.more, s.count - 20);
    assert.ok(s.positions.every((p: Any) => typeof p.account === 'string'));
    assert.match(r.text, /All 3 accounts/);
    assert.match(r.text, new RegExp(`${s.more} more: pass limit \\d+ for all`));

    const filtered = await h.callTool('get_positions', { accountId: PAPER, secType: 'OPT', sortBy: 'symbol' });
    assert.ok(filtered.structured.positions.length >= 2);
    assert.ok(filtered.structured.positions.every((p: Any) => p.secType === 'OPT'));
    const aapl = await h.callTool('get_positions', { symbol: 'AAPL' });
    assert.ok(aapl.structured.positions.every((p: Any) => p.symbol === 'AAPL'));
    assert.ok(aapl.structured.positions.some((p: Any) => p.account === EUR_ACCT));
  });

  test('an account with no positions', async () => {
    const r = await h.callTool('get_positions', { accountId: EMPTY });
    assert.equal(r.isError, false, r.text);
    assert.equal(r.structured.count, 0);
    assert.deepEqual(r.structured.positions, []);
    assert.match(r.text, /no positions/);
    const s = await h.callTool('get_portfolio_summary', { accountId: EMPTY });
    assert.equal(s.structured.accounts[0].positions, 0);
    assert.equal(s.structured.accounts[0].value, 0);
    near(s.structured.accounts[0].cash, s.structured.accounts[0].netLiquidation, 0.01);
  });

  test('get_portfolio_summary: groups add up to the account, accounts add up to the total', async () => {
    const r = await h.callTool('get_portfolio_summary', {});
    assert.equal(r.isError, false, r.text);
    const s = r.structured;
    assert.equal(s.groupBy, 'secType');
    assert.equal(s.accounts.length, 3);
    for (const a of s.accounts) {
      const g = a.groups;
      assert.equal(sum(g.map((x: Any) => x.value)), a.value, `${a.id} value`);
      assert.equal(sum(g.map((x: Any) => x.unrealizedPnl)), a.unrealizedPnl, `${a.id} pnl`);
      assert.equal(
        g.reduce((n: number, x: Any) => n + x.positions, 0),
        a.positions,
      );
      for (const x of g) near(x.weightPct, (x.value / a.netLiquidation) * 100, 0.051, `${a.id} ${x.key} weight`);
    }
    const paper = s.accounts[0];
    assert.deepEqual(paper.groups.map((g: Any) => g.key).sort(), ['FUT', 'OPT', 'STK']);
    // Net liquidation = cash + positions, with futures at their P&L instead of their notional.
    const fut = paper.groups.find((g: Any) => g.key === 'FUT');
    near(paper.netLiquidation, paper.cash + paper.value - fut.value + fut.unrealizedPnl, 1, 'nlv identity');
    assert.ok(s.notes?.some((n: string) => /Futures/.test(n)));
    // Total across accounts, EUR account converted with the stated rate.
    const t = s.total;
    assert.equal(t.currency, 'USD');
    const eur = s.accounts[1];
    assert.equal(eur.currency, 'EUR');
    assert.ok(eur.fx > 1, 'EUR→USD');
    const conv = (a: Any, k: string) => Math.round(a[k] * (a.fx ?? 1) * 100) / 100;
    near(t.value, sum(s.accounts.map((a: Any) => conv(a, 'value'))), 0.05, 'total value');
    near(t.netLiquidation, sum(s.accounts.map((a: Any) => conv(a, 'netLiquidation'))), 0.05, 'total nlv');
    assert.equal(sum(t.groups.map((g: Any) => g.value)), t.value);
    assert.equal(t.positions, sum(s.accounts.map((a: Any) => a.positions)));
    assert.match(r.text, /Total of 3 accounts \(USD\)/);

    for (const groupBy of ['currency', 'sector'] as const) {
      const g = await h.callTool('get_portfolio_summary', { accountId: PAPER, groupBy });
      assert.equal(g.isError, false, g.text);
      const a = g.structured.accounts[0];
      assert.equal(sum(a.groups.map((x: Any) => x.value)), a.value, groupBy);
      if (groupBy === 'currency') assert.deepEqual(a.groups.map((x: Any) => x.key).sort(), ['CAD', 'EUR', 'USD']);
      if (groupBy === 'sector') assert.ok(a.groups.some((x: Any) => x.key === 'Technology'));
    }
    const none = await h.callTool('get_portfolio_summary', { accountId: EUR_ACCT, groupBy: 'none' });
    assert.equal(none.structured.accounts[0].groups, undefined);
    assert.equal(none.structured.total, undefined);
  });

  test('get_pnl: daily, unrealized and realized per account and in total', async () => {
    const r = await h.callTool('get_pnl', {});
    assert.equal(r.isError, false, r.text);
    const s = r.structured;
    assert.deepEqual(
      s.accounts.map((a: Any) => [a.id, a.currency]),
      [
        [PAPER, 'USD'],
        [EUR_ACCT, 'EUR'],
        [EMPTY, 'USD'],
      ],
    );
    for (const a of s.accounts) {
      for (const k of ['dailyPnl', 'unrealizedPnl', 'realizedPnl', 'netLiquidation'])
        assert.equal(typeof a[k], 'number', k);
    }
    assert.ok(s.accounts[0].unrealizedPnl !== 0);
    assert.equal(s.accounts[2].unrealizedPnl, 0);
    const conv = (a: Any, k: string) => Math.round(a[k] * (a.fx ?? 1) * 100) / 100;
    near(s.total.dailyPnl, sum(s.accounts.map((a: Any) => conv(a, 'dailyPnl'))), 0.05);
    near(s.total.unrealizedPnl, sum(s.accounts.map((a: Any) => conv(a, 'unrealizedPnl'))), 0.05);
    const stats = await h.simStats();
    assert.ok(
      (stats.byEndpoint['GET /iserver/account/pnl/partitioned'] ?? 0) >= 2,
      'the empty first answer was re-polled',
    );
    const one = await h.callTool('get_pnl', { accountId: EUR_ACCT });
    assert.equal(one.structured.accounts.length, 1);
    assert.equal(one.structured.total, undefined);
  });

  test('resources: ibkr://accounts and ibkr://accounts/{id}/positions', async () => {
    const list = await h.client.listResources();
    const uris = list.resources.map((r) => r.uri);
    assert.ok(uris.includes('ibkr://accounts'));
    assert.ok(uris.includes(`ibkr://accounts/${EUR_ACCT}/positions`));
    const templates = await h.client.listResourceTemplates();
    assert.ok(templates.resourceTemplates.some((t) => t.uriTemplate === 'ibkr://accounts/{id}/positions'));
    const accts = await h.client.readResource({ uri: 'ibkr://accounts' });
    const body = JSON.parse((accts.contents[0] as { text: string }).text);
    assert.deepEqual(
      body.accounts.map((a: Any) => a.id),
      [PAPER, EUR_ACCT, EMPTY],
    );
    const pos = await h.client.readResource({ uri: `ibkr://accounts/${EUR_ACCT}/positions` });
    const pb = JSON.parse((pos.contents[0] as { text: string }).text);
    assert.equal(pb.account, EUR_ACCT);
    assert.equal(pb.positions.length, pb.count);
    assert.ok(pb.count >= 5);
    await assert.rejects(h.client.readResource({ uri: 'ibkr://accounts/U0000000/positions' }), /Unknown account/);
  });

  test('size: get_positions and get_portfolio_summary take at most a third of the bytes of IB raw JSON', async () => {
    // IB's raw JSON for the same data, read straight from the simulator (same session).
    const raw = async (path: string): Promise<number> => {
      for (let attempt = 0; ; attempt++) {
        const body = (await simRequest(h.sim!, `/v1/api${path}`)) as Any;
        if (body?.statusCode === 429 && attempt < 5) {
          await new Promise((r) => setTimeout(r, 1100));
          continue;
        }
        assert.ok(Array.isArray(body) || body?.statusCode === undefined, `${path}: ${JSON.stringify(body)}`);
        return Buffer.byteLength(JSON.stringify(body));
      }
    };
    const pages = (await raw(`/portfolio/${PAPER}/positions/0`)) + (await raw(`/portfolio/${PAPER}/positions/1`));
    const summary = await raw(`/portfolio/${PAPER}/summary`);
    const ledger = await raw(`/portfolio/${PAPER}/ledger`);
    const positions = await h.callTool('get_positions', { accountId: PAPER, limit: 1000 });
    const portfolio = await h.callTool('get_portfolio_summary', { accountId: PAPER });
    const posRatio = resultBytes(positions.raw) / pages;
    const sumRatio = resultBytes(portfolio.raw) / (pages + summary + ledger);
    process.stderr.write(
      `  get_positions ${resultBytes(positions.raw)} B vs IB ${pages} B (${(posRatio * 100).toFixed(1)}%); ` +
        `get_portfolio_summary ${resultBytes(portfolio.raw)} B vs IB ${pages + summary + ledger} B (${(sumRatio * 100).toFixed(1)}%)\n`,
    );
    assert.ok(posRatio <= 1 / 3, `get_positions ratio ${posRatio}`);
    assert.ok(sumRatio <= 1 / 3, `get_portfolio_summary ratio ${sumRatio}`);
  });
});
