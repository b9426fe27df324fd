/**
 * `npm run bench:apps`: the order ticket's first paint in the MCP Apps test host (headless
 * Chromium, ext-apps' AppBridge; test/e2e/apps-host.ts), against the built server and a simulator
 * with a LIVE login. First paint: from the host setting the view's document to the frame after the
 * ticket (contract, side, quantity, price, IB's what-if) was drawn, as the view marks it
 * (`ticket-painted`). Each of RUNS mounts is a fresh document (a reload). Writes bench/apps-results.md.
 */
import { writeFileSync } from 'node:fs';
import { browserMissing, TestHost, UI_CAPABILITIES } from '../test/e2e/apps-host.js';
import { startServer } from '../test/e2e/harness.js';
import { median } from './lib.js';

const RUNS = Number(process.env.RUNS ?? 20);
const TARGET_MS = 300;

const missing = browserMissing();
if (missing) {
  console.error(`bench:apps needs Chromium: ${missing}`);
  process.exit(1);
}
const h = await startServer({
  sim: { live: true },
  args: ['--allow-live-trading', '--max-order-notional', '1000000', '--max-orders-per-day', '1000'],
  capabilities: UI_CAPABILITIES,
});
const host = await TestHost.start(h);
const paint: number[] = [];
const fcp: number[] = [];
try {
  const q = await h.callTool('get_quote', { symbol: 'AAPL' });
  const price = q.structured.quotes[0].last as number;
  const args = { accountId: 'U1234567', symbol: 'AAPL', action: 'BUY', orderType: 'LMT', price, quantity: 1 };
  for (let i = 0; i < RUNS; i++) {
    const r = await h.callTool('place_stock_order', args);
    const { frame } = await host.mount('ui://ibkr-mcp/order-ticket.html', { args, result: r.raw });
    await frame.locator('#place:not([disabled])').waitFor({ timeout: 15_000 });
    const m = (await frame.evaluate(
      `[performance.getEntriesByName('ticket-painted')[0]?.startTime ?? -1, performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? -1]`,
    )) as [number, number];
    paint.push(m[0]);
    fcp.push(m[1]);
  }
} finally {
  await host.close();
  await h.close();
}
const sorted = [...paint].sort((a, b) => a - b);
const p95 = sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * 0.95) - 1)]!;
const med = median(paint);
const lines = [
  '# MCP Apps: order ticket first paint',
  '',
  `Measured by \`npm run bench:apps\` (${RUNS} mounts, headless Chromium test host, ${new Date().toISOString().slice(0, 10)}).`,
  '',
  '| Metric | Value | Target |',
  '| --- | --- | --- |',
  `| Ticket first paint, median | ${med.toFixed(0)} ms | < ${TARGET_MS} ms ${med < TARGET_MS ? '✓' : '✗'} |`,
  `| Ticket first paint, p95 | ${p95.toFixed(0)} ms | |`,
  `| Document first contentful paint, median | ${median(fcp).toFixed(0)} ms | |`,
  '',
];
writeFileSync(new URL('./apps-results.md', import.meta.url), lines.join('\n'));
console.log(lines.join('\n'));
