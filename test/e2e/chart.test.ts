/**
 * get_price_chart end to end (image content through the real MCP transport), progress
 * notifications, and cancellation: a cancelled call stops waiting on its IB request.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { pngSize } from '../../src/chart/png.js';
import { type Harness, startServer } from './harness.js';

let h: Harness;

before(async () => {
  h = await startServer({ args: ['--toolsets', 'all'] });
});
after(async () => {
  await h?.close();
});

test('get_price_chart returns a PNG of the asked size plus a text summary', async () => {
  const r = await h.callTool('get_price_chart', { symbol: 'AAPL', period: '6m', width: 640, height: 360 });
  assert.equal(r.isError, false, r.text);
  const blocks = r.raw.content as Array<{ type: string; mimeType?: string; data?: string }>;
  assert.equal(blocks[0]!.type, 'text');
  const img = blocks.find((b) => b.type === 'image')!;
  assert.equal(img.mimeType, 'image/png');
  const png = Buffer.from(img.data!, 'base64');
  assert.deepEqual(pngSize(png), { width: 640, height: 360 });
  assert.ok(png.length > 5000, `non-trivial image (${png.length} bytes)`);
  assert.equal(r.structured.image.bytes, png.length);
  assert.equal(r.structured.bar, '1d');
  assert.ok(r.structured.bars > 100);
  assert.match(r.text, /^\[(PAPER|SIMULATED)\] AAPL .*6m of 1d bars/);
  assert.match(r.text, /open [\d.]+ close [\d.]+ \([+-]?[\d.]+, [+-]?[\d.]+%\), high [\d.]+ at \S+, low [\d.]+ at \S+/);
  assert.ok(
    !JSON.stringify(r.structured).includes(img.data!.slice(0, 100)),
    'structured content does not repeat the image',
  );
});

test('get_price_chart sends progress when asked', async () => {
  const seen: number[] = [];
  const raw = await h.client.callTool({ name: 'get_price_chart', arguments: { symbol: 'MSFT', period: '1m' } }, {
    onprogress: (p: { progress: number }) => seen.push(p.progress),
  } as never);
  assert.notEqual(raw.isError, true);
  assert.ok(seen.length >= 3, `progress notifications: ${seen.join(',')}`);
  assert.deepEqual(
    [...seen].sort((a, b) => a - b),
    seen,
    'progress increases',
  );
});

test('cancelling calls aborts their IB requests: the history slots they held are free at once', async () => {
  // IB allows few concurrent history requests (the pacer holds 4 slots). Four calls hang at the
  // gateway; if cancellation did not abort their requests, a fifth call would wait for their
  // 60 s timeout. It must instead run at once.
  const slow = await startServer({ args: ['--request-timeout-ms', '60000', '--toolsets', 'all'] });
  try {
    const HISTORY = 'GET /iserver/marketdata/history';
    await slow.simControl('/sim/faults', { hang: { endpoint: HISTORY, count: 4 } });
    const controllers = ['AAPL', 'MSFT', 'SPY', 'QQQ'].map((symbol) => {
      const ac = new AbortController();
      const p = slow.client.callTool({ name: 'get_historical_data', arguments: { symbol, period: '1m' } }, {
        signal: ac.signal,
        timeout: 120_000,
      } as never);
      p.catch(() => {});
      return ac;
    });
    const until = Date.now() + 15_000;
    while ((await slow.simStats()).byEndpoint[HISTORY] !== 4) {
      assert.ok(Date.now() < until, 'four history requests reached the gateway');
      await new Promise((r) => setTimeout(r, 50));
    }
    for (const ac of controllers) ac.abort();
    const started = Date.now();
    const next = await slow.callTool('get_historical_data', { symbol: 'AAPL', period: '1m' });
    const ms = Date.now() - started;
    assert.equal(next.isError, false, next.text);
    assert.ok(ms < 10_000, `the fifth history call ran at once (${ms} ms), not after the hung ones timed out`);
    assert.equal((await slow.simStats()).byEndpoint[HISTORY], 5);
  } finally {
    await slow.close();
  }
});
