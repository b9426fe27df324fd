/**
 * Screenshots of each MCP Apps view, light and dark, into docs/apps/, taken by the test host
 * (test/e2e/apps-host.ts: headless Chromium, ext-apps' AppBridge) around the built server and a
 * simulator with a LIVE login. Run after `npm run build`: node --import tsx scripts/app-screenshots.ts
 */
import { browserMissing, TestHost, UI_CAPABILITIES } from '../test/e2e/apps-host.js';
import { startServer } from '../test/e2e/harness.js';

const missing = browserMissing();
if (missing) {
  console.error(`No screenshots: ${missing}`);
  process.exit(1);
}
const h = await startServer({
  sim: { live: true },
  args: ['--allow-live-trading', '--max-order-notional', '1000000'],
  capabilities: UI_CAPABILITIES,
});
try {
  const q = await h.callTool('get_quote', { symbol: 'AAPL' });
  const price = q.structured.quotes[0].last as number;
  const orderArgs = { accountId: 'U1234567', symbol: 'AAPL', action: 'BUY', orderType: 'LMT', price, quantity: 10 };
  const views: Array<[string, string, Record<string, unknown>]> = [
    ['order-ticket', 'place_stock_order', orderArgs],
    ['portfolio', 'get_positions', { accountId: 'U1234567' }],
    ['option-chain', 'get_options_chain', { symbol: 'AAPL', expirationCount: 3, strikeCount: 10 }],
    ['chart', 'get_historical_data', { symbol: 'AAPL', period: '3m', bar: '1d' }],
  ];
  for (const theme of ['light', 'dark'] as const) {
    const host = await TestHost.start(h, theme);
    try {
      for (const [view, tool, args] of views) {
        const r = await h.callTool(tool, args);
        const { frame } = await host.mount(`ui://ibkr-mcp/${view}.html`, { args, result: r.raw }, theme);
        const ready = view === 'order-ticket' ? '#place:not([disabled])' : view === 'chart' ? '#chart-svg' : 'table';
        await frame.locator(ready).first().waitFor({ timeout: 15_000 });
        await new Promise((ok) => setTimeout(ok, 300));
        const file = `docs/apps/${view}-${theme}.png`;
        await host.screenshot(file);
        console.log(file);
      }
    } finally {
      await host.close();
    }
  }
} finally {
  await h.close();
}
