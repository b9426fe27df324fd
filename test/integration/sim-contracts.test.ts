import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type SimulatorHandle, startSimulator } from '../../src/simulator/index.js';
import { call } from './sim-client.js';

describe('simulator contracts', () => {
  let sim: SimulatorHandle;
  before(async () => {
    sim = await startSimulator({ pacing: false });
  });
  after(() => sim.close());

  test('secdef search GET: §4.1 shape with OPT months', async () => {
    const r = await call(sim, 'GET', '/iserver/secdef/search?symbol=AAPL');
    assert.equal(r.status, 200);
    assert.equal(r.body.length, 1);
    const row = r.body[0];
    assert.equal(row.conid, '265598');
    assert.equal(row.symbol, 'AAPL');
    assert.equal(row.companyName, 'APPLE INC');
    assert.equal(row.companyHeader, 'APPLE INC - NASDAQ');
    assert.equal(row.description, 'NASDAQ');
    assert.equal(row.sections[0].secType, 'STK');
    const opt = row.sections.find((s: { secType: string }) => s.secType === 'OPT');
    const months = opt.months.split(';');
    assert.ok(months.length >= 12, `months ${opt.months}`);
    for (const m of months) assert.match(m, /^[A-Z]{3}\d{2}$/);
    assert.match(opt.exchange, /^SMART;/);
    for (const d of row.opt.split(';')) assert.match(d, /^\d{8}$/);
  });

  test('secdef search POST, lower case and BRK.B', async () => {
    const r = await call(sim, 'POST', '/iserver/secdef/search', { symbol: 'msft' });
    assert.equal(r.body[0].conid, '272093');
    const b = await call(sim, 'POST', '/iserver/secdef/search', { symbol: 'BRK.B' });
    assert.equal(b.body[0].symbol, 'BRK B');
  });

  test('name search and multi-listings', async () => {
    const byName = await call(sim, 'GET', '/iserver/secdef/search?symbol=apple&name=true');
    assert.ok(byName.body.some((x: { symbol: string }) => x.symbol === 'AAPL'));
    // IB's name is a boolean: a company name in it is no symbol (strict profile: 400)…
    const strict = await call(sim, 'GET', '/iserver/secdef/search?name=microsoft');
    assert.equal(strict.status, 400);
    // …the lenient profiles keep the simulator's extension (name text as the query).
    await call(sim, 'POST', '/sim/faults', { profile: '2023' });
    const sub = await call(sim, 'GET', '/iserver/secdef/search?name=microsoft');
    await call(sim, 'POST', '/sim/faults', { profile: 'strict' });
    assert.equal(sub.body[0].symbol, 'MSFT');
    const shop = await call(sim, 'GET', '/iserver/secdef/search?symbol=SHOP');
    assert.deepEqual(
      shop.body.map((x: { description: string }) => x.description),
      ['NYSE', 'TSE'],
    );
    const ibm = await call(sim, 'GET', '/iserver/secdef/search?symbol=IBM');
    assert.ok(ibm.body.length >= 3);
    assert.equal(ibm.body[0].conid, '8314');
    assert.ok(ibm.body.some((x: { conid: string }) => x.conid === '41645598'));
    const sap = await call(sim, 'GET', '/iserver/secdef/search?symbol=SAP');
    assert.ok(sap.body.some((x: { description: string }) => x.description === 'IBIS'));
  });

  test('secType filter, index, future, FX, unknown symbol', async () => {
    const spx = await call(sim, 'GET', '/iserver/secdef/search?symbol=SPX&secType=IND');
    assert.equal(spx.body[0].conid, '416904');
    const es = await call(sim, 'GET', '/iserver/secdef/search?symbol=ES');
    assert.equal(es.body.length, 1);
    // As IB documents it: the futures' index row (11004968) with IND, FUT and FOP sections.
    assert.equal(es.body[0].conid, '11004968');
    assert.deepEqual(
      es.body[0].sections.map((s: { secType: string }) => s.secType),
      ['IND', 'FUT', 'FOP'],
    );
    assert.equal(es.body[0].sections[1].conid, undefined);
    assert.equal(es.body[0].description, 'CME');
    const fx = await call(sim, 'GET', '/iserver/secdef/search?symbol=EUR');
    assert.ok(fx.body.some((x: { conid: string }) => x.conid === '12087792'));
    const none = await call(sim, 'GET', '/iserver/secdef/search?symbol=ZZZZQ');
    assert.deepEqual(none, { status: 200, body: [] });
  });

  test('trsrv/stocks', async () => {
    const r = await call(sim, 'GET', '/trsrv/stocks?symbols=IBM,AAPL,NOPE');
    assert.equal(r.body.AAPL[0].name, 'APPLE INC');
    assert.equal(r.body.AAPL[0].assetClass, 'STK');
    assert.deepEqual(r.body.AAPL[0].contracts, [{ conid: 265598, exchange: 'NASDAQ', isUS: true }]);
    assert.ok(
      r.body.IBM[0].contracts.some((c: { exchange: string; isUS: boolean }) => c.exchange === 'LSE' && !c.isUS),
    );
    assert.deepEqual(r.body.NOPE, []);
  });

  test('contract info and unknown conid', async () => {
    const r = await call(sim, 'GET', '/iserver/contract/8314/info');
    assert.equal(r.status, 200);
    assert.equal(r.body.con_id, 8314);
    assert.equal(r.body.symbol, 'IBM');
    assert.equal(r.body.instrument_type, 'STK');
    assert.equal(r.body.company_name, 'INTL BUSINESS MACHINES CORP');
    assert.equal(r.body.exchange, 'SMART');
    assert.equal(r.body.currency, 'USD');
    assert.equal(r.body.underlying_con_id, 0);
    assert.equal(typeof r.body.valid_exchanges, 'string');
    const fx = await call(sim, 'GET', '/iserver/contract/12087792/info');
    assert.equal(fx.body.instrument_type, 'CASH');
    assert.equal(fx.body.exchange, 'IDEALPRO');
    const es = sim.state.universe.bySymbolExact('ES')[0];
    const fut = await call(sim, 'GET', `/iserver/contract/${es?.conid}/info`);
    assert.equal(fut.body.multiplier, '50');
    assert.equal(fut.body.exchange, 'CME');
    const bad = await call(sim, 'GET', '/iserver/contract/123/info');
    assert.equal(bad.status, 400);
    assert.equal(bad.body.statusCode, 400);
  });

  test('universe covers the S&P 100 and the major ETFs', () => {
    const u = sim.state.universe;
    for (const [sym, conid] of [
      ['AAPL', 265598],
      ['MSFT', 272093],
      ['AMZN', 3691937],
      ['GOOGL', 208813719],
      ['META', 107113386],
      ['NVDA', 4815747],
      ['TSLA', 76792991],
      ['JPM', 1520593],
      ['SPY', 756733],
      ['QQQ', 320227571],
      ['IWM', 9579970],
      ['DIA', 73128548],
    ] as const) {
      assert.equal(u.bySymbolExact(sym)[0]?.conid, conid, sym);
    }
    const stocks = u.all().filter((i) => i.secType === 'STK' && i.isUS && i.stockType === 'COMMON');
    assert.ok(stocks.length >= 100, `${stocks.length} US stocks`);
    assert.ok(u.all().filter((i) => i.optionable).length >= 100);
  });
});
