/**
 * Several accounts and advisor logins end to end (issue 19): a call without an account on a
 * login with several asks which (unless --default-account says), a combined view only when
 * asked (amounts converted, the rate stated), --accounts hides the others for reads and orders,
 * and an advisor login's sub-accounts beyond IB's first 100 are found and usable.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type Harness, startServer } from './harness.js';

const PAPER = 'DU1234567';
const EUR_ACCT = 'DU7654321';
const EMPTY = 'DU5550001';

// biome-ignore lint/suspicious/noExplicitAny: structured content is checked field by field
type Any = any;

describe('a login with several accounts and no --default-account', () => {
  let h: Harness;
  before(async () => {
    h = await startServer({ args: ['--toolsets', 'default,alerts'], env: { IBKR_MCP_DEFAULT_ACCOUNT: '' } });
  });
  after(async () => {
    await h?.close();
  });

  test('each account tool without accountId asks which, naming the accounts', async () => {
    for (const tool of ['get_account_info', 'get_positions', 'get_portfolio_summary', 'get_pnl']) {
      const r = await h.callTool(tool, {});
      assert.equal(r.isError, true, `${tool}: ${r.text}`);
      assert.match(r.text, /3 accounts: say which one/, tool);
      for (const id of [PAPER, EUR_ACCT, EMPTY]) assert.ok(r.text.includes(id), `${tool} names ${id}`);
      assert.match(r.text, /allAccounts: true/, tool);
    }
  });

  test('per-account tools (alerts, live orders, executions) without accountId ask too', async () => {
    for (const tool of ['get_alerts', 'get_live_orders', 'get_trades']) {
      const r = await h.callTool(tool, {});
      assert.equal(r.isError, true, `${tool}: ${r.text}`);
      assert.match(r.text, /3 accounts: say which one/, tool);
      assert.ok(r.text.includes(EMPTY), tool);
    }
    const one = await h.callTool('get_alerts', { accountId: EUR_ACCT });
    assert.equal(one.isError, false, one.text);
    assert.equal((one.structured as Any).accountId, EUR_ACCT);
  });

  test('one account named: only it, and it is stated in the result', async () => {
    const r = await h.callTool('get_positions', { accountId: EUR_ACCT, limit: 3 });
    assert.equal(r.isError, false, r.text);
    const s: Any = r.structured;
    assert.deepEqual(s.accounts, [EUR_ACCT]);
  });

  test('allAccounts: the combined view, with the EUR account converted and its rate stated', async () => {
    const r = await h.callTool('get_portfolio_summary', { allAccounts: true });
    assert.equal(r.isError, false, r.text);
    const s: Any = r.structured;
    assert.deepEqual(s.accounts.map((a: Any) => a.id).sort(), [EMPTY, PAPER, EUR_ACCT].sort());
    assert.equal(s.total.currency, 'USD');
    const eur = s.accounts.find((a: Any) => a.id === EUR_ACCT);
    assert.equal(eur.currency, 'EUR');
    assert.ok(eur.fx > 0.5 && eur.fx < 2, `EUR→USD rate stated: ${eur.fx}`);
    assert.match(r.text, /Total of 3 accounts/);
  });

  test('an unknown account: an error listing the valid ones', async () => {
    const r = await h.callTool('get_account_info', { accountId: 'DU0000000' });
    assert.equal(r.isError, true);
    assert.match(r.text, /Unknown account/);
    assert.ok(r.text.includes(PAPER));
  });
});

describe('--default-account and --accounts', () => {
  test('--default-account: a call without accountId uses it', async () => {
    const h = await startServer({ env: { IBKR_MCP_DEFAULT_ACCOUNT: EUR_ACCT } });
    try {
      const r = await h.callTool('get_account_info', {});
      assert.equal(r.isError, false, r.text);
      assert.deepEqual(
        (r.structured as Any).accounts.map((a: Any) => a.id),
        [EUR_ACCT],
      );
    } finally {
      await h.close();
    }
  });

  test('--default-account naming no account of the login: an error saying so', async () => {
    const h = await startServer({ env: { IBKR_MCP_DEFAULT_ACCOUNT: 'DU0000000' } });
    try {
      const r = await h.callTool('get_positions', {});
      assert.equal(r.isError, true);
      assert.match(r.text, /--default-account DU0000000 is not an account of this login/);
    } finally {
      await h.close();
    }
  });

  test('--accounts: the others are hidden from reads and refused for orders', async () => {
    const h = await startServer({
      args: ['--accounts', `${PAPER},${EUR_ACCT}`],
      env: { IBKR_MCP_DEFAULT_ACCOUNT: '' },
    });
    try {
      const all = await h.callTool('get_account_info', { allAccounts: true });
      assert.equal(all.isError, false, all.text);
      assert.deepEqual((all.structured as Any).accounts.map((a: Any) => a.id).sort(), [PAPER, EUR_ACCT].sort());
      assert.ok(!all.text.includes(EMPTY));
      const hidden = await h.callTool('get_positions', { accountId: EMPTY });
      assert.equal(hidden.isError, true);
      assert.match(hidden.text, /Unknown account/);
      const order = await h.callTool('preview_order', {
        accountId: EMPTY,
        symbol: 'AAPL',
        action: 'BUY',
        quantity: 1,
        orderType: 'LMT',
        price: 1,
      });
      assert.equal(order.isError, true, order.text);
      assert.match(order.text, /not one of this session's accounts/);
      // Two accounts left: still asks which.
      const ask = await h.callTool('get_pnl', {});
      assert.equal(ask.isError, true);
      assert.match(ask.text, /2 accounts: say which one/);
    } finally {
      await h.close();
    }
  });
});

describe('an advisor login with 120 client accounts', () => {
  let h: Harness;
  before(async () => {
    h = await startServer({ sim: { advisorAccounts: 120 }, env: { IBKR_MCP_DEFAULT_ACCOUNT: '' } });
  });
  after(async () => {
    await h?.close();
  });

  test('a call without accountId asks which: 25 named, the rest counted', async () => {
    const r = await h.callTool('get_positions', {});
    assert.equal(r.isError, true);
    assert.match(r.text, /120 accounts: say which one/);
    assert.match(r.text, /and 95 more/);
  });

  test("get_pnl of one sub-account: its own figures from IB's feed, in time (not one read per sub-account)", async () => {
    const r = await h.callTool('get_pnl', { accountId: 'DU9000110' });
    assert.equal(r.isError, false, r.text);
    const s: Any = r.structured;
    assert.deepEqual(
      s.accounts.map((a: Any) => a.id),
      ['DU9000110'],
    );
    assert.equal(s.note, undefined, "IB's feed answered within the tool's wait");
    assert.ok(s.accounts[0].netLiquidation > 0);
  });

  test('a sub-account only the paged endpoint lists: its own positions', async () => {
    const r = await h.callTool('get_positions', { accountId: 'DU9000110' });
    assert.equal(r.isError, false, r.text);
    const s: Any = r.structured;
    assert.deepEqual(s.accounts, ['DU9000110']);
    assert.deepEqual(
      s.positions.map((p: Any) => [p.symbol, p.qty]),
      [['AAPL', 110]],
    );
  });
});
