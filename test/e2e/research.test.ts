/**
 * Research tools end to end against the simulator: exchange rates (consistent with the
 * simulator's FX quotes), watchlists (create, read with quotes, edit = re-create, delete), and
 * their error paths.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type Harness, startServer } from './harness.js';

describe('research end to end', () => {
  let h: Harness;
  before(async () => {
    h = await startServer({ args: ['--toolsets', 'marketdata,research'] });
    await h.simControl('/sim/clock', { freeze: true });
  });
  after(async () => {
    await h?.close();
  });

  test('get_fx_rate: rate, inverse, conversion, data source and age', async () => {
    const r = await h.callTool('get_fx_rate', { from: 'eur', to: 'USD', amount: 1000 });
    assert.equal(r.isError, false, r.text);
    const s = r.structured;
    assert.equal(s.from, 'EUR');
    assert.equal(s.mode, 'PAPER');
    assert.ok(s.rate > 0.5 && s.rate < 2, String(s.rate));
    assert.ok(Math.abs(s.converted - 1000 * s.rate) < 1e-6);
    assert.ok(Date.parse(s.asOf) > 0);
    assert.match(r.text, /^\[PAPER\] 1 EUR = [\d.]+ USD; 1000 EUR = [\d.]+ USD/);

    const inv = await h.callTool('get_fx_rate', { from: 'USD', to: 'EUR' });
    assert.ok(Math.abs(inv.structured.rate * s.rate - 1) < 1e-6, 'USD.EUR is the inverse of EUR.USD');

    // The same market as the simulator's EUR.USD quote: the rate lies within its bid and ask.
    const q = await h.callTool('get_quote', { conid: 12087792 }); // the simulator's EUR.USD
    assert.equal(q.isError, false, q.text);
    const { bid, ask } = q.structured.quotes?.[0] ?? q.structured;
    assert.ok(bid <= s.rate && s.rate <= ask, `${bid} <= ${s.rate} <= ${ask}`);

    const same = await h.callTool('get_fx_rate', { from: 'JPY', to: 'JPY' });
    assert.equal(same.structured.rate, 1);
  });

  test('get_fx_rate: a pair IB does not know, a code that is not one', async () => {
    const r = await h.callTool('get_fx_rate', { from: 'USD', to: 'XYZ' });
    assert.equal(r.isError, true);
    assert.match(r.text, /no exchange rate for USD\.XYZ/);
    const bad = await h.callTool('get_fx_rate', { from: 'US', to: 'EUR' });
    assert.equal(bad.isError, true);
    assert.match(bad.text, /currency/);
  });

  test('watchlists: create, read with quotes, edit (re-created), delete', async () => {
    const start = await h.callTool('get_watchlists', {});
    assert.equal(start.isError, false, start.text);
    const ib = start.structured.watchlists.find((w: { readOnly: boolean }) => w.readOnly);
    assert.ok(ib, 'an IB-made list');

    const made = await h.callTool('create_watchlist', { name: 'Tech', symbols: ['AAPL', 'MSFT', 'aapl'] });
    assert.equal(made.isError, false, made.text);
    assert.equal(made.structured.instruments, 2);
    const id = made.structured.id;
    assert.match(id, /^\d+$/);

    const read = await h.callTool('get_watchlists', { id });
    assert.equal(read.isError, false, read.text);
    const w = read.structured.watchlist;
    assert.equal(w.name, 'Tech');
    assert.equal(read.structured.mode, 'PAPER');
    assert.deepEqual(
      w.rows.map((r: { symbol: string }) => r.symbol),
      ['AAPL', 'MSFT'],
    );
    for (const r of w.rows) assert.ok(r.last > 0 && r.bid <= r.ask, JSON.stringify(r));
    assert.match(read.text, /«Tech»/);

    const edited = await h.callTool('edit_watchlist', { id, add: ['NVDA'], remove: ['MSFT'], name: 'Tech 2' });
    assert.equal(edited.isError, false, edited.text);
    assert.equal(edited.structured.replaced, id);
    assert.notEqual(edited.structured.id, id);
    const after = await h.callTool('get_watchlists', { id: edited.structured.id });
    assert.deepEqual(
      after.structured.watchlist.rows.map((r: { symbol: string }) => r.symbol),
      ['AAPL', 'NVDA'],
    );
    const old = await h.callTool('get_watchlists', { id });
    assert.equal(old.isError, true);
    assert.match(old.text, new RegExp(`No watchlist ${id}`));

    const del = await h.callTool('delete_watchlist', { id: edited.structured.id });
    assert.equal(del.isError, false, del.text);
    const end = await h.callTool('get_watchlists', {});
    assert.deepEqual(end.structured.watchlists, start.structured.watchlists);
  });

  test('watchlists: unknown symbol changes nothing, read-only and unknown lists refused', async () => {
    const before = await h.callTool('get_watchlists', {});
    const bad = await h.callTool('create_watchlist', { name: 'Bad', symbols: ['AAPL', 'ZZZZQX'] });
    assert.equal(bad.isError, true);
    assert.match(bad.text, /ZZZZQX/);
    assert.deepEqual((await h.callTool('get_watchlists', {})).structured.watchlists, before.structured.watchlists);

    const ib = before.structured.watchlists.find((w: { readOnly: boolean }) => w.readOnly);
    const ro = await h.callTool('delete_watchlist', { id: ib.id });
    assert.equal(ro.isError, true);
    assert.match(ro.text, /read-only/);
    const roEdit = await h.callTool('edit_watchlist', { id: ib.id, add: ['AAPL'] });
    assert.equal(roEdit.isError, true);
    assert.match(roEdit.text, /read-only/);

    const none = await h.callTool('delete_watchlist', { id: '999' });
    assert.equal(none.isError, true);
    assert.match(none.text, /No watchlist 999/);
  });

  test('scan_market: the catalogue, a scan, one catalogue read (IB allows one per 15 min)', async () => {
    const cat = await h.callTool('scan_market', {});
    assert.equal(cat.isError, false, cat.text);
    const c = cat.structured.catalogue;
    assert.ok(c.scanTypes.some((t: { code: string }) => t.code === 'TOP_PERC_GAIN'));
    assert.ok(c.locations.includes('STK.US.MAJOR'));
    assert.ok(c.filters.includes('priceAbove'));
    assert.equal(cat.structured.mode, 'PAPER');

    const r = await h.callTool('scan_market', { type: 'TOP_PERC_GAIN', filters: { priceAbove: 5 }, limit: 5 });
    assert.equal(r.isError, false, r.text);
    const s = r.structured;
    assert.equal(s.location, 'STK.US.MAJOR');
    assert.equal(s.results.length, 5);
    assert.ok(s.total >= 5);
    assert.equal(s.catalogueAsOf, cat.structured.catalogueAsOf, 'the catalogue is cached');
    const pct = s.results.map((x: { value: string }) => Number.parseFloat(x.value));
    for (let i = 1; i < pct.length; i++) assert.ok(pct[i - 1] >= pct[i], `sorted: ${pct}`);
    assert.deepEqual(
      s.results.map((x: { rank: number }) => x.rank),
      [1, 2, 3, 4, 5],
    );
    // Company names are outside text.
    assert.match(r.text, /^\[PAPER\] TOP_PERC_GAIN in STK\.US\.MAJOR \(«Chg%»\): 5 of \d+/);
    assert.match(r.text, /\n1\. [A-Z.]+ «[^»]+»/);

    // The top gainer's change agrees with its quote (same simulated market).
    const q = await h.callTool('get_quote', { conid: s.results[0].conid });
    const quoted = q.structured.quotes?.[0]?.changePct ?? q.structured.changePct;
    assert.ok(Math.abs(quoted - pct[0]) < 0.02, `${quoted} vs ${pct[0]}`);
  });

  test('scan_market: codes IB does not offer are refused with the valid ones', async () => {
    const type = await h.callTool('scan_market', { type: 'TOP_GAINERS' });
    assert.equal(type.isError, true);
    assert.match(type.text, /offers no scan type for STK "TOP_GAINERS"/);
    assert.match(type.text, /TOP_PERC_GAIN/);
    const filter = await h.callTool('scan_market', { type: 'MOST_ACTIVE', filters: { marketCapAbove1e6: 100 } });
    assert.equal(filter.isError, true);
    assert.match(filter.text, /no filter "marketCapAbove1e6"/);
    const loc = await h.callTool('scan_market', { type: 'MOST_ACTIVE', location: 'STK.EU.IBIS' });
    assert.equal(loc.isError, true);
    assert.match(loc.text, /no location for STK "STK\.EU\.IBIS".*STK\.US\.MAJOR/s);
    const inst = await h.callTool('scan_market', { type: 'MOST_ACTIVE', instrument: 'FUT.US' });
    assert.equal(inst.isError, true);
    assert.match(inst.text, /no instrument "FUT\.US"/);
  });
});
