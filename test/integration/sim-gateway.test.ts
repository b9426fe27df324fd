/**
 * The simulator as a gateway: a tiny Client Portal client written here from IB's documented calls
 * (plain fetch, not ibkr-mcp's client) visits every endpoint the README lists as served and gets
 * no error, within IB's pacing; and the same small tour runs against every profile.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Agent, fetch } from 'undici';
import { type IbProfile, type SimulatorHandle, startSimulator } from '../../src/simulator/index.js';

const agent = new Agent({ connect: { rejectUnauthorized: false } });
after(() => agent.close());

// biome-ignore lint/suspicious/noExplicitAny: JSON answers of any shape
type Json = any;

/** IB's documented pacing: at most 10 requests a second; one every 150 ms here leaves room for a loaded machine. */
class TinyCpClient {
  private last = 0;
  constructor(private readonly base: string) {}

  async call(method: string, path: string, body?: unknown): Promise<{ status: number; body: Json }> {
    const wait = this.last + 150 - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    this.last = Date.now();
    const res = await fetch(this.base + path, {
      method,
      dispatcher: agent,
      headers: { 'content-type': 'application/json' },
      // IB: a POST must carry Content-Length, so always a body.
      body: method === 'POST' ? JSON.stringify(body ?? {}) : undefined,
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  }

  async ok(method: string, path: string, body?: unknown): Promise<Json> {
    const r = await this.call(method, path, body);
    assert.ok(r.status < 400, `${method} ${path} → ${r.status} ${JSON.stringify(r.body)}`);
    assert.ok(
      !(r.body && typeof r.body === 'object' && 'error' in r.body && r.body.error),
      `${method} ${path}: ${JSON.stringify(r.body)}`,
    );
    return r.body;
  }

  /** Places an order, answering each question with yes. */
  async placeOrder(acct: string, order: Record<string, unknown>): Promise<Json> {
    let out = await this.ok('POST', `/iserver/account/${acct}/orders`, { orders: [order] });
    for (let i = 0; i < 10 && Array.isArray(out) && out[0]?.id && out[0]?.message; i++) {
      out = await this.ok('POST', `/iserver/reply/${out[0].id}`, { confirmed: true });
    }
    return out;
  }
}

describe('the simulator as a gateway', () => {
  let sim: SimulatorHandle;
  before(async () => {
    sim = await startSimulator({ seed: 7 }); // pacing on, as IB
  });
  after(() => sim.close());

  test('an independent client gets no error on every endpoint the README lists', { timeout: 60_000 }, async () => {
    const c = new TinyCpClient(sim.apiBase);
    await c.ok('POST', '/iserver/auth/status');
    await c.ok('POST', '/tickle');
    await c.ok('GET', '/sso/validate');
    const accts = await c.ok('GET', '/iserver/accounts');
    const acct: string = accts.selectedAccount;
    await c.ok('POST', '/iserver/account', { acctId: acct });
    await c.ok('GET', '/portfolio/accounts');
    await c.ok('GET', '/portfolio/subaccounts');
    await c.ok('GET', `/portfolio/${acct}/meta`);
    await c.ok('GET', `/portfolio/${acct}/positions/0`);
    await c.ok('GET', `/portfolio2/${acct}/positions`);
    await c.ok('GET', `/portfolio/${acct}/position/265598`);
    await c.ok('GET', `/portfolio/${acct}/summary`);
    await c.ok('GET', `/portfolio/${acct}/ledger`);
    await c.ok('GET', `/portfolio/${acct}/allocation`);
    await c.ok('GET', `/iserver/account/${acct}/summary`);
    await c.ok('GET', '/iserver/account/pnl/partitioned');
    await c.ok('GET', '/iserver/secdef/search?symbol=AAPL');
    const search = await c.ok('POST', '/iserver/secdef/search', { symbol: 'AAPL' });
    const month = String(search[0].sections.find((s: Json) => s.secType === 'OPT').months).split(';')[0];
    const strikes = await c.ok('GET', `/iserver/secdef/strikes?conid=265598&sectype=OPT&month=${month}`);
    const k = strikes.call[Math.floor(strikes.call.length / 2)];
    await c.ok('GET', `/iserver/secdef/info?conid=265598&sectype=OPT&month=${month}&strike=${k}&right=C`);
    await c.ok('GET', '/trsrv/stocks?symbols=AAPL');
    await c.ok('GET', '/trsrv/futures?symbols=ES');
    await c.ok('GET', '/trsrv/secdef?conids=265598');
    await c.ok('GET', '/trsrv/secdef/schedule?assetClass=STK&symbol=AAPL');
    await c.ok('GET', '/iserver/contract/265598/info');
    await c.ok('GET', '/iserver/contract/265598/info-and-rules');
    await c.ok('POST', '/iserver/contract/rules', { conid: 265598, isBuy: true });
    await c.ok('GET', '/iserver/exchangerate?source=USD&target=EUR');
    await c.ok('GET', '/iserver/marketdata/snapshot?conids=265598&fields=31,84,86');
    await c.ok('GET', '/iserver/marketdata/snapshot?conids=265598&fields=31,84,86');
    await c.ok('GET', '/md/regsnapshot?conid=265598');
    await c.ok('GET', '/iserver/marketdata/history?conid=265598&period=1d&bar=5min');
    await c.ok('GET', '/hmds/history?conid=265598&period=1d&bar=5min');
    await c.ok('POST', '/iserver/marketdata/unsubscribe', { conid: 265598 });
    await c.ok('GET', '/iserver/marketdata/unsubscribeall');
    await c.ok('POST', `/iserver/account/${acct}/orders/whatif`, {
      orders: [{ conid: 265598, orderType: 'LMT', side: 'BUY', quantity: 1, price: 100, tif: 'DAY' }],
    });
    const placed = await c.placeOrder(acct, {
      conid: 265598,
      orderType: 'LMT',
      side: 'BUY',
      quantity: 1,
      price: 1,
      tif: 'GTC',
    });
    const orderId = placed[0].order_id;
    await c.ok('GET', '/iserver/account/orders?force=true');
    await c.ok('GET', `/iserver/account/order/status/${orderId}`);
    await c.ok('DELETE', `/iserver/account/${acct}/order/${orderId}`);
    await new Promise((r) => setTimeout(r, 5100)); // /iserver/account/orders: 1 per 5 s
    await c.ok('GET', '/iserver/account/orders');
    await c.ok('GET', '/iserver/account/trades');
    await c.ok('POST', '/iserver/questions/suppress', { messageIds: ['o163'] });
    await c.ok('POST', '/iserver/questions/suppress/reset');
    const alert = await c.ok('POST', `/iserver/account/${acct}/alert`, {
      alertName: 'AAPL high',
      alertMessage: 'AAPL above 10000',
      alertRepeatable: 0,
      outsideRth: 0,
      tif: 'GTC',
      conditions: [
        { conidex: '265598@SMART', logicBind: 'n', operator: '>=', triggerMethod: '0', type: 1, value: '10000' },
      ],
    });
    await c.ok('GET', `/iserver/account/${acct}/alerts`);
    await c.ok('GET', `/iserver/account/alert/${alert.order_id}?type=Q`);
    await c.ok('POST', `/iserver/account/${acct}/alert/activate`, { alertId: alert.order_id, alertActive: 0 });
    await c.ok('DELETE', `/iserver/account/${acct}/alert/${alert.order_id}`);
    await c.ok('GET', '/iserver/account/mta');
    await c.ok('POST', '/iserver/auth/ssodh/init', { publish: true, compete: true });
    await c.ok('POST', '/logout');
    const stats = await (await fetch(`${sim.url}/sim/stats`, { dispatcher: agent })).json();
    assert.equal((stats as Json).status429, 0);
  });

  test('new endpoints answer from the simulator state', async () => {
    const c = new TinyCpClient(sim.apiBase);
    await c.ok('POST', '/iserver/auth/ssodh/init', {});
    await c.ok('GET', '/portfolio/accounts');
    const acct = 'DU1234567';
    const positions = await c.ok('GET', `/portfolio/${acct}/positions/0`);
    const aapl = positions.find((p: Json) => p.conid === 265598);
    const one = await c.ok('GET', `/portfolio/${acct}/position/265598`);
    assert.equal(one.length, aapl ? 1 : 0);
    if (aapl) assert.equal(one[0].position, aapl.position);
    const p2 = await c.ok('GET', `/portfolio2/${acct}/positions`);
    assert.ok(p2.length >= positions.length); // portfolio2 is not paged
    const meta = await c.ok('GET', `/portfolio/${acct}/meta`);
    assert.equal(meta.accountId, acct);
    const sum = await c.ok('GET', `/iserver/account/${acct}/summary`);
    assert.equal(typeof sum.netLiquidationValue, 'number');
    assert.ok(sum.cashBalances.some((b: Json) => b.currency === 'Total (in USD)'));
    const fx = await c.ok('GET', '/iserver/exchangerate?source=EUR&target=USD');
    const back = await c.ok('GET', '/iserver/exchangerate?source=USD&target=EUR');
    assert.ok(Math.abs(fx.rate * back.rate - 1) < 1e-3); // the market moves between the calls
    const bad = await c.call('GET', '/iserver/exchangerate?source=USD');
    assert.equal(bad.status, 400);
    const rules = await c.ok('GET', '/iserver/contract/265598/info-and-rules');
    assert.equal(rules.con_id, 265598);
    assert.equal(rules.rules.increment, 0.01);
    const sched = await c.ok('GET', '/trsrv/secdef/schedule?assetClass=STK&symbol=AAPL');
    assert.equal(sched[0].timezone, 'America/New_York');
    assert.equal(sched[0].schedules[0].sessions[0].openingTime, '0930');
    const hm = await c.ok('GET', '/hmds/history?conid=265598&period=1d&bar=1h');
    assert.ok(hm.bars.data.length > 0);
    const empty = await c.call('POST', `/iserver/account/${acct}/alert`, {});
    assert.deepEqual(empty.body, { error: "Bad Request: body can't be empty", statusCode: 400 });
    const noType = await c.call('GET', '/iserver/account/alert/1');
    assert.equal(noType.status, 400);
  });
});

/** The same small tour through raw HTTP against each profile. */
for (const profile of ['strict', '2023', '2026'] as IbProfile[]) {
  describe(`profile ${profile}: the tour`, () => {
    let sim: SimulatorHandle;
    before(async () => {
      sim = await startSimulator({ profile, pacing: false, seed: 11 });
    });
    after(() => sim.close());

    test('quote, history, secdef, positions, order, trades, auth', async () => {
      const c = new TinyCpClient(sim.apiBase);
      const auth = await c.ok('POST', '/iserver/auth/status');
      assert.equal(auth.authenticated, true);
      await c.ok('GET', '/iserver/accounts');
      await c.ok('GET', '/iserver/marketdata/snapshot?conids=265598&fields=31,84,86');
      const q = await c.ok('GET', '/iserver/marketdata/snapshot?conids=265598&fields=31,84,86');
      assert.ok(Number(q[0]['86']) > 0);
      const h = await c.ok('GET', '/iserver/marketdata/history?conid=265598&period=1d&bar=1h');
      assert.equal(h.volumeFactor, profile === '2026' ? 1 : 100);
      if (profile === '2026') assert.ok(h.data.every((b: Json) => Number.isInteger(b.v)));
      const s = await c.ok('POST', '/iserver/secdef/search', { symbol: 'AAPL' });
      const month = String(s[0].sections.find((x: Json) => x.secType === 'OPT').months).split(';')[0];
      const strikes = await c.ok('GET', `/iserver/secdef/strikes?conid=265598&sectype=OPT&month=${month}`);
      assert.ok(strikes.call.length > 0);
      const k = strikes.call[Math.floor(strikes.call.length / 2)];
      const info = await c.ok(
        'GET',
        `/iserver/secdef/info?conid=265598&sectype=OPT&month=${month}&strike=${k}&right=P`,
      );
      assert.equal(info[0].right, 'P');
      await c.ok('GET', '/portfolio/accounts');
      const pos = await c.ok('GET', '/portfolio/DU1234567/positions/0');
      assert.ok(pos.length > 0);
      const placed = await c.placeOrder('DU1234567', {
        conid: 265598,
        orderType: 'MKT',
        side: 'SELL',
        quantity: 1,
        tif: 'DAY',
      });
      const id = placed[0].order_id;
      const st = await c.ok('GET', `/iserver/account/order/status/${id}`);
      if (profile === '2026') {
        assert.equal(st.side, 'SELL');
        assert.equal(st.order_type, 'Market');
        assert.equal(st.filled_quantity, '1');
        assert.equal(st.remaining_quantity, '0');
        assert.ok(Number(st.avg_fill_price) > 0);
        assert.equal(st.cum_fill, undefined);
      } else {
        assert.equal(st.side, 'S');
        assert.equal(st.order_type, 'MARKET');
        assert.equal(st.cum_fill, '1');
        assert.ok(Number(st.average_price) > 0);
      }
      // A filled order cannot be cancelled; a resting one can, with IB's answer.
      const rest = await c.placeOrder('DU1234567', {
        conid: 265598,
        orderType: 'LMT',
        side: 'BUY',
        quantity: 1,
        price: 1,
        tif: 'GTC',
      });
      const cancel = await c.ok('DELETE', `/iserver/account/DU1234567/order/${rest[0].order_id}`);
      assert.equal(cancel.msg, 'Request was submitted');
      const trades = await c.ok('GET', '/iserver/account/trades');
      assert.ok(trades.some((t: Json) => String(t.order_id) === String(id)));
      const out = await c.ok('POST', '/logout');
      assert.deepEqual(out, profile === '2023' ? { confirmed: true } : { status: true });
    });
  });
}
