import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseFuturesList } from '../../src/backends/cpapi/contract-wire.js';
import { CpapiContracts } from '../../src/backends/cpapi/contracts.js';
import { parseSnapshotRow } from '../../src/backends/cpapi/fields.js';
import type { CpapiHttp } from '../../src/backends/cpapi/http.js';
import { CpapiMarketData } from '../../src/backends/cpapi/marketdata.js';
import { CpapiOptions } from '../../src/backends/cpapi/options.js';
import type { Contract } from '../../src/broker/types.js';
import { silentLogger } from '../../src/log.js';
import {
  AAPL_SNAPSHOT_LOTS,
  ES_FUT_SEARCH,
  ES_TRSRV_FUTURES,
  ES_TRSRV_FUTURES_STRINGS,
} from '../fixtures/ib/contracts.js';

interface Sent {
  method: string;
  path: string;
  query?: unknown;
  body?: unknown;
}

/** A fake gateway: answers by path, records every request. */
function fakeHttp(answers: Record<string, (q: Record<string, unknown>, body: unknown) => unknown>): {
  http: CpapiHttp;
  sent: Sent[];
} {
  const sent: Sent[] = [];
  const answer = (method: string, path: string, o: { query?: unknown; body?: unknown } = {}) => {
    const query = typeof o.query === 'function' ? (o.query as () => Record<string, unknown>)() : (o.query ?? {});
    sent.push({ method, path, query, body: o.body });
    const f = answers[path];
    return Promise.resolve({ status: 200, data: f ? f(query as Record<string, unknown>, o.body) : [] });
  };
  const http = {
    get: (path: string, o?: { query?: unknown }) => answer('GET', path, o),
    post: (path: string, o?: { body?: unknown }) => answer('POST', path, o),
  } as unknown as CpapiHttp;
  return { http, sent };
}

const searchFutAware = (_q: unknown, body: unknown) =>
  (body as { secType?: string }).secType === 'FUT'
    ? ES_FUT_SEARCH.body
    : [{ conid: '6661', symbol: 'ES', sections: [{ secType: 'STK' }] }];
const futuresIn2099 = () => ({
  ES: [{ symbol: 'ES', conid: 99001, underlyingConid: 11004968, expirationDate: 20990320, ltd: 20990319 }],
});

describe('futures as IB documents them', () => {
  test(`/trsrv/futures: ${ES_TRSRV_FUTURES.source}`, () => {
    const list = parseFuturesList('ES', ES_TRSRV_FUTURES.body, '2024-06-01');
    assert.deepEqual(
      list.map((c) => [c.conid, c.expiry, c.underlyingConid]),
      [
        [495512557, '2024-12-20', 11004968],
        [495512563, '2025-12-19', 11004968],
      ],
    );
    // ltd decides: the day after the last trading day the contract is gone.
    assert.deepEqual(
      parseFuturesList('ES', ES_TRSRV_FUTURES.body, '2024-12-20').map((c) => c.conid),
      [495512563],
    );
  });

  test(`/trsrv/futures strings: ${ES_TRSRV_FUTURES_STRINGS.source}`, () => {
    const list = parseFuturesList('ES', ES_TRSRV_FUTURES_STRINGS.body, '2024-06-01');
    assert.deepEqual(
      list.map((c) => [c.conid, c.expiry]),
      [[495512563, '2025-12-19']],
    );
    assert.deepEqual(parseFuturesList('ES', { error: 'x' }, '2024-06-01'), []);
  });

  test(`search_contracts ES FUT follows the index row to the futures: ${ES_FUT_SEARCH.source}`, async () => {
    const { http, sent } = fakeHttp({ '/iserver/secdef/search': searchFutAware, '/trsrv/futures': futuresIn2099 });
    const contracts = new CpapiContracts({ http, log: silentLogger });
    const found = await contracts.searchContracts('ES', { secType: 'FUT' });
    assert.deepEqual((sent[0]?.body as { secType?: string } | undefined)?.secType, 'FUT');
    assert.deepEqual(
      found.map((c) => [c.conid, c.secType, c.expiry]),
      [[99001, 'FUT', '2099-03-20']],
    );
  });

  test('the ES option chain is read from the index row, by the index conid', async () => {
    const { http, sent } = fakeHttp({ '/iserver/secdef/search': searchFutAware });
    const options = new CpapiOptions(http, silentLogger);
    const es: Contract = {
      conid: 99001,
      symbol: 'ES',
      secType: 'FUT',
      underlyingConid: 11004968,
      expiry: '2099-03-20',
    };
    const info = await options.optionExpirations(es);
    assert.equal((sent[0]?.body as { secType?: string } | undefined)?.secType, 'FUT');
    assert.equal(info.secType, 'FOP');
    assert.deepEqual(info.expirations, ['2099-01-15', '2099-02-19', '2099-03-19']);
    assert.equal(info.exchange, 'CME');
  });
});

describe('quote sizes', () => {
  test(`US stock sizes in shares: ${AAPL_SNAPSHOT_LOTS.source}`, () => {
    const snap = parseSnapshotRow(AAPL_SNAPSHOT_LOTS.body, ['bidSize', 'askSize', 'lastSize'], { usStock: true });
    assert.deepEqual(snap.values, AAPL_SNAPSHOT_LOTS.expect);
  });

  test('other instruments as sent; a missing size is missing', () => {
    const snap = parseSnapshotRow({ conid: 1, '88': '7', '85': '' }, ['bidSize', 'askSize']);
    assert.deepEqual(snap.values, { bidSize: 7 });
  });
});

describe('derivative snapshots: secdef search first, once per session', () => {
  const option: Contract = {
    conid: 700001,
    symbol: 'AAPL',
    secType: 'OPT',
    underlyingConid: 265598,
    strike: 200,
    right: 'C',
  };
  const aapl: Contract = { conid: 265598, symbol: 'AAPL', secType: 'STK', currency: 'USD' };

  function setup() {
    const { http, sent } = fakeHttp({
      '/iserver/marketdata/snapshot': (q) =>
        String(q['conids'])
          .split(',')
          .map((c) => ({ conid: Number(c), '31': '1.5', '88': '2', '6509': 'R' })),
    });
    const options = new CpapiOptions(http, silentLogger);
    const byConid = new Map([option, aapl].map((c) => [c.conid, c]));
    const md = new CpapiMarketData({
      http,
      ensureAccounts: async () => undefined,
      describe: async (conid) => byConid.get(conid),
      known: (conid) => byConid.get(conid),
      preflight: (c, und) => options.preflight(c, und),
    });
    return { md, sent, options };
  }

  test('an option conid is searched before its first snapshot, and not again', async () => {
    const { md, sent } = setup();
    await md.snapshot([700001], ['last'], { maxWaitMs: 0 });
    const paths = sent.map((s) => `${s.method} ${s.path}`);
    assert.deepEqual(paths.slice(0, 2), ['POST /iserver/secdef/search', 'GET /iserver/marketdata/snapshot']);
    assert.deepEqual(sent[0]?.body, { symbol: 'AAPL', secType: 'STK' });
    await md.snapshot([700001], ['last'], { maxWaitMs: 0 });
    assert.equal(sent.filter((s) => s.path === '/iserver/secdef/search').length, 1);
  });

  test('a session reset asks for the search again; a stock needs none', async () => {
    const { md, sent, options } = setup();
    await md.snapshot([265598], ['bidSize'], { maxWaitMs: 0 });
    assert.equal(sent.filter((s) => s.path === '/iserver/secdef/search').length, 0);
    await md.snapshot([700001], ['last'], { maxWaitMs: 0 });
    md.onSessionReset();
    options.onSessionReset();
    await md.snapshot([700001], ['last'], { maxWaitMs: 0 });
    assert.equal(sent.filter((s) => s.path === '/iserver/secdef/search').length, 2);
  });

  test('US stock bid size from the gateway in lots comes out in shares', async () => {
    const { md } = setup();
    const [snap] = await md.snapshot([265598], ['bidSize'], { maxWaitMs: 0 });
    assert.equal(snap?.values.bidSize, 200);
  });
});
