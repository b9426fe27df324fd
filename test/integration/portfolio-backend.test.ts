/**
 * The Client Portal portfolio client against the simulator (real HTTPS, real pacing):
 * /portfolio/accounts first and once, every positions page, the empty first P&L answer.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { CpapiHttp } from '../../src/backends/cpapi/http.js';
import { CpapiPortfolio } from '../../src/backends/cpapi/portfolio.js';
import { isBrokerError } from '../../src/broker/errors.js';
import { type SimulatorHandle, startSimulator } from '../../src/simulator/index.js';

const POSITIONS_ROUTE = 'GET /portfolio/:accountId/positions/:pageId';

describe('CpapiPortfolio against the simulator', () => {
  let sim: SimulatorHandle;
  let http: CpapiHttp;
  let pf: CpapiPortfolio;
  let iserverCalls = 0;

  before(async () => {
    // This harness wires no account selection (forAccount), so it asks for a simulator that
    // answers P&L for every account; test/integration/cpapi-account-scope.test.ts covers scoping.
    sim = await startSimulator({ port: 0, seed: 7, accountScoping: false });
    http = new CpapiHttp({ baseUrl: sim.url });
    pf = new CpapiPortfolio({
      http,
      ensureIserverAccounts: async (signal) => {
        iserverCalls++;
        await http.get('/iserver/accounts', { signal, noRecovery: true });
      },
    });
  });
  after(async () => {
    await http?.close();
    await sim?.close();
  });

  const stats = () => sim.state.stats.byEndpoint;

  test('accounts: one /portfolio/accounts call, cached', async () => {
    const a = await pf.listAccounts();
    const b = await pf.listAccounts();
    assert.equal(a, b);
    assert.deepEqual(
      a.map((x) => [x.id, x.currency, x.paper]),
      [
        ['DU1234567', 'USD', true],
        ['DU7654321', 'EUR', true],
        ['DU5550001', 'USD', true],
      ],
    );
    assert.equal(stats()['GET /portfolio/accounts'], 1);
  });

  test('positions: both pages, in one pass, no duplicates', async () => {
    const before = stats()[POSITIONS_ROUTE] ?? 0;
    const list = await pf.positions('DU1234567');
    assert.ok(list.length > 100);
    assert.equal(new Set(list.map((p) => p.conid)).size, list.length);
    assert.equal((stats()[POSITIONS_ROUTE] ?? 0) - before, 2);
    const small = await pf.positions('DU7654321');
    assert.ok(small.length > 0 && small.length < 100);
    assert.equal((stats()[POSITIONS_ROUTE] ?? 0) - before, 3, 'a short first page is the last');
    assert.deepEqual(await pf.positions('DU5550001'), []);
  });

  test('balances and ledger agree', async () => {
    const [b, l] = await Promise.all([pf.accountBalances('DU7654321'), pf.ledger('DU7654321')]);
    assert.equal(b.currency, 'EUR');
    assert.equal(l.baseCurrency, 'EUR');
    assert.deepEqual(
      l.currencies.map((c) => c.currency),
      ['EUR', 'USD'],
    );
    assert.ok(Math.abs((b.totalCash ?? 0) - (l.base.cash ?? Number.NaN)) < 0.02);
    assert.ok(b.netLiquidation && b.netLiquidation > 0);
    assert.ok((l.currencies.find((c) => c.currency === 'USD')?.cash ?? 0) < 0, 'a USD loan');
  });

  test('a new gateway session wants /portfolio/accounts again: recovered once', async () => {
    sim.state.session.portfolioAccountsQueried = false;
    const b = await pf.accountBalances('DU1234567');
    assert.ok(b.netLiquidation);
    // Two calls (a third only when the gateway answered 429 to the paced repeat and it was retried).
    const n = stats()['GET /portfolio/accounts'] ?? 0;
    assert.ok(n === 2 || (n === 3 && sim.state.stats.status429 > 0), `${n} calls`);
  });

  test('unknown account: NOT_FOUND listing the valid ones, no request', async () => {
    const before = sim.state.stats.total;
    await assert.rejects(pf.positions('U0000001'), (e: unknown) => {
      assert.ok(isBrokerError(e));
      assert.equal(e.code, 'NOT_FOUND');
      assert.match(e.hint ?? '', /DU1234567, DU7654321, DU5550001/);
      return true;
    });
    assert.equal(sim.state.stats.total, before);
  });

  test('P&L: the empty first answer is primed in the background and re-polled within pacing', async () => {
    const rows = await pf.pnl();
    assert.deepEqual(
      rows.map((r) => r.accountId),
      ['DU1234567', 'DU7654321', 'DU5550001'],
    );
    assert.ok(iserverCalls >= 1, '/iserver/accounts first');
    const calls = stats()['GET /iserver/account/pnl/partitioned'] ?? 0;
    assert.ok(calls >= 2 && calls <= 4, `${calls} calls`);
    // Within 5 s the answer is reused.
    await pf.pnl();
    assert.equal(stats()['GET /iserver/account/pnl/partitioned'], calls);
  });

  test('P&L: callers that arrive together share one read (IB allows one call per 5 s)', async () => {
    // Past the 5-second reuse of the previous test's answer.
    await new Promise((r) => setTimeout(r, 5100));
    const before = stats()['GET /iserver/account/pnl/partitioned'] ?? 0;
    const t0 = Date.now();
    const all = await Promise.all([pf.pnl(), pf.pnl(), pf.pnl(), pf.pnl()]);
    for (const rows of all) assert.equal(rows.length, 3);
    // Before: each caller read on its own, queued 5 s apart by the pacer (four reads, ~15 s).
    assert.equal((stats()['GET /iserver/account/pnl/partitioned'] ?? 0) - before, 1);
    assert.ok(Date.now() - t0 < 8000, `${Date.now() - t0} ms`);
    // A caller that gives up stops waiting at once; the others' read goes on.
    await new Promise((r) => setTimeout(r, 5100));
    const gaveUp = new AbortController();
    const shared = pf.pnl();
    const mine = pf.pnl({ signal: gaveUp.signal });
    gaveUp.abort();
    await assert.rejects(mine, (e: unknown) => isBrokerError(e) && e.code === 'CANCELLED');
    assert.equal((await shared).length, 3);
  });
});
