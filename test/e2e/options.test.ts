import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { foreground, type Harness, startServer } from './harness.js';

function compactDate(iso: string): string {
  return iso.replace(/-/g, '');
}
const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];

describe('options end to end (MCP client → stdio server → HTTPS → simulator)', () => {
  let h: Harness;
  before(async () => {
    h = await startServer();
  });
  after(async () => {
    await h?.close();
  });

  test('tools are listed as read-only options tools', async () => {
    const { tools } = await h.client.listTools();
    for (const name of ['get_options_chain', 'find_option_contract']) {
      const t = tools.find((x) => x.name === name);
      assert.ok(t, name);
      assert.equal(t.annotations?.readOnlyHint, true);
      assert.ok(t.outputSchema);
    }
  });

  test('the chain works whether or not IB lists a whole month for strike=0 (issue 13 item 1)', async () => {
    const variants: Record<string, unknown> = {};
    for (const v of ['answer', 'empty', 'error'] as const) {
      // A fresh server each time: the backend caches what the gateway answered.
      const s = await startServer();
      try {
        await s.simControl('/sim/faults', { wholeMonthInfo: v });
        const r = await s.callTool('get_options_chain', { symbol: 'MSFT', strikeCount: 4, expirationCount: 2 });
        assert.equal(r.isError, false, `${v}: ${r.text}`);
        const e = r.structured.expirations as Array<{ expiry: string; rows: number[][] }>;
        assert.equal(e.length, 2, v);
        for (const x of e) {
          assert.equal(x.rows.length, 4, v);
          for (const row of x.rows) assert.ok(row[1] !== null, `${v}: a call conid for ${row[0]}`);
        }
        variants[v] = e.map((x) => ({ expiry: x.expiry, strikes: x.rows.map((row) => row[0]) }));
      } finally {
        await s.close();
      }
    }
    assert.deepEqual(variants['empty'], variants['answer']);
    assert.deepEqual(variants['error'], variants['answer']);
  });

  test('SPY chain: 3 expirations × 10 strikes with greeks, centred on the money, under 6 KB', async () => {
    await h.simControl('/sim/reset');
    const r = await h.callTool('get_options_chain', {
      symbol: 'SPY',
      expirationCount: 3,
      strikeCount: 10,
      includeGreeks: true,
    });
    assert.equal(r.isError, false, r.text);
    const s = r.structured;
    const bytes = Buffer.byteLength(JSON.stringify(s));
    assert.ok(bytes < 6144, `chain is ${bytes} bytes`);
    assert.equal(s.underlying.symbol, 'SPY');
    assert.equal(s.underlying.secType, 'STK');
    assert.equal(s.optionType, 'OPT');
    assert.equal(s.multiplier, 100);
    assert.ok(s.underlying.price > 0);
    assert.ok(s.expirationsAvailable.length > 3);
    assert.equal(s.expirations.length, 3);
    assert.deepEqual(
      s.expirations.map((e: { expiry: string }) => e.expiry),
      s.expirationsAvailable.slice(0, 3),
    );
    const col = (name: string) => s.columns.indexOf(name);
    assert.equal(s.columns.length, 23);
    for (const e of s.expirations) {
      assert.equal(e.rows.length, 10);
      const strikes = e.rows.map((row: number[]) => row[0]);
      assert.deepEqual(
        [...strikes].sort((a, b) => a - b),
        strikes,
      );
      assert.ok(
        strikes[0] <= s.underlying.price + 2 && strikes[9] >= s.underlying.price - 2,
        `${strikes} around ${s.underlying.price}`,
      );
      for (const row of e.rows) {
        assert.ok(Number.isInteger(row[col('C.conid')]) && Number.isInteger(row[col('P.conid')]));
        const cd = row[col('C.delta')];
        const pd = row[col('P.delta')];
        assert.ok(cd >= 0 && cd <= 1, `call delta ${cd}`);
        assert.ok(pd >= -1 && pd <= 0, `put delta ${pd}`);
        assert.ok(row[col('C.bid')] <= row[col('C.ask')]);
        assert.ok(row[col('C.iv')] > 0 && row[col('P.gamma')] > 0);
      }
      // Calls get cheaper and puts dearer as the strike rises.
      assert.ok(e.rows[0][col('C.ask')] >= e.rows[9][col('C.ask')]);
      assert.ok(e.rows[0][col('P.ask')] <= e.rows[9][col('P.ask')]);
    }
    assert.match(s.more, /expirationCount/);
    const st = await h.simStats();
    assert.equal(st.status429, 0, JSON.stringify(st));

    // Warm: the listing is cached, only quotes are fetched.
    await h.simControl('/sim/reset');
    const w = await h.callTool('get_options_chain', { symbol: 'SPY', expirationCount: 3, strikeCount: 10 });
    assert.equal(w.isError, false, w.text);
    const warm = await h.simStats();
    assert.ok(
      foreground(warm) <= 3,
      `warm chain made ${foreground(warm)} requests: ${JSON.stringify(warm.byEndpoint)}`,
    );
  });

  test('ATM call for AAPL: nearest expiration, strike at the money', async () => {
    const r = await h.callTool('find_option_contract', { symbol: 'AAPL', right: 'C' });
    assert.equal(r.isError, false, r.text);
    const { contract, underlying, quote, notes } = r.structured;
    assert.equal(contract.symbol, 'AAPL');
    assert.equal(contract.right, 'C');
    assert.equal(contract.secType, 'OPT');
    assert.equal(contract.multiplier, 100);
    assert.equal(contract.tradingClass, 'AAPL');
    assert.ok(Math.abs(contract.strike - underlying.price) <= 5, `${contract.strike} vs ${underlying.price}`);
    assert.ok(quote.delta > 0.3 && quote.delta < 0.7, `ATM delta ${quote.delta}`);
    assert.ok(quote.bid > 0 && quote.ask >= quote.bid);
    assert.ok(notes.some((n: string) => /at the money/.test(n)));
    assert.ok(notes.some((n: string) => /nearest/.test(n)));
  });

  test('a put at a given strike and date, in every accepted date format', async () => {
    const chain = await h.callTool('get_options_chain', {
      symbol: 'AAPL',
      expirationCount: 12,
      strikeCount: 3,
      right: 'P',
    });
    assert.equal(chain.isError, false, chain.text);
    // A monthly expiry (third Friday) so the month form names it too.
    const monthly = chain.structured.expirationsAvailable.find((d: string) => {
      const day = Number(d.slice(8));
      const wd = new Date(`${d}T12:00:00Z`).getUTCDay();
      return wd === 5 && day >= 15 && day <= 21;
    });
    assert.ok(monthly);
    const one = await h.callTool('get_options_chain', {
      symbol: 'AAPL',
      expiration: monthly,
      strikeCount: 1,
      right: 'P',
    });
    const strike = one.structured.expirations[0].rows[0][0];
    const conid = one.structured.expirations[0].rows[0][1];
    const month = `${MONTHS[Number(monthly.slice(5, 7)) - 1]}${monthly.slice(2, 4)}`;
    for (const expiration of [compactDate(monthly), compactDate(monthly).slice(2), monthly, month]) {
      const r = await h.callTool('find_option_contract', { symbol: 'AAPL', right: 'PUT', strike, expiration });
      assert.equal(r.isError, false, `${expiration}: ${r.text}`);
      assert.equal(r.structured.contract.conid, conid, expiration);
      assert.equal(r.structured.contract.expiry, monthly);
      assert.equal(r.structured.contract.right, 'P');
      assert.ok(r.structured.quote.delta < 0);
    }
  });

  test('an unknown strike is refused with the nearest listed strikes', async () => {
    const r = await h.callTool('find_option_contract', { symbol: 'AAPL', right: 'C', strike: 123.37 });
    assert.equal(r.isError, true);
    assert.match(r.text, /NOT_FOUND/);
    assert.match(r.text, /Nearest listed strikes for \d{4}-\d{2}-\d{2}: [\d.]+(, [\d.]+)+/);
  });

  test('an expired date and an unreadable date are refused', async () => {
    const r = await h.callTool('find_option_contract', {
      symbol: 'AAPL',
      right: 'C',
      strike: 200,
      expiration: '20240119',
    });
    assert.equal(r.isError, true);
    assert.match(r.text, /expired/);
    const bad = await h.callTool('find_option_contract', { symbol: 'AAPL', right: 'C', expiration: 'someday' });
    assert.equal(bad.isError, true);
    assert.match(bad.text, /YYYYMMDD/);
  });

  test('a symbol without options', async () => {
    const r = await h.callTool('get_options_chain', { symbol: 'SAP', exchange: 'IBIS' });
    assert.equal(r.isError, true);
    assert.match(r.text, /no listed options/);
  });

  test('index options (SPX) and futures options (ES) state their underlying', async () => {
    const spx = await h.callTool('get_options_chain', { symbol: 'SPX', expirationCount: 1, strikeCount: 4 });
    assert.equal(spx.isError, false, spx.text);
    assert.equal(spx.structured.underlying.secType, 'IND');
    assert.ok(spx.structured.notes.some((n: string) => /index/.test(n)));
    assert.equal(spx.structured.expirations[0].rows.length, 4);
    const es = await h.callTool('find_option_contract', { symbol: 'ES', right: 'P' });
    assert.equal(es.isError, false, es.text);
    assert.equal(es.structured.contract.secType, 'FOP');
    assert.equal(es.structured.contract.multiplier, 50);
    assert.equal(es.structured.underlying.secType, 'FUT');
    assert.ok(es.structured.quote.delta < 0);
  });

  test('conid of the underlying is accepted', async () => {
    const r = await h.callTool('get_options_chain', {
      conid: 265598,
      expirationCount: 1,
      strikeCount: 2,
      includeGreeks: false,
    });
    assert.equal(r.isError, false, r.text);
    assert.equal(r.structured.underlying.symbol, 'AAPL');
    assert.equal(r.structured.columns.length, 1 + 2 * 6);
  });
});
