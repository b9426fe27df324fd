/**
 * `ibkr-mcp demo`: starts this server on the simulator as a child process, connects a real
 * MCP client over stdio, calls a short tour of tools and prints what each returned.
 */
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';

interface Step {
  tool: string;
  args: Record<string, unknown>;
  why: string;
}

export const DEMO_STEPS: Step[] = [
  { tool: 'get_quote', args: { symbol: 'AAPL' }, why: 'one quote, as the original product did' },
  { tool: 'get_quote', args: { symbols: ['MSFT', 'NVDA', 'SPY', 'QQQ', 'JPM'] }, why: 'five quotes in one call' },
  { tool: 'get_market_data', args: { symbol: 'MSFT', fields: 'fundamentals' }, why: 'named fields, never IB codes' },
  { tool: 'get_historical_data', args: { symbol: 'SPY', period: '1w', bar: '1d' }, why: 'daily bars as compact rows' },
  { tool: 'search_contracts', args: { query: 'SHOP' }, why: 'a symbol listed in two countries' },
  {
    tool: 'get_options_chain',
    args: { symbol: 'SPY', expirationCount: 1, strikeCount: 6 },
    why: 'an option chain with greeks',
  },
  { tool: 'get_portfolio_summary', args: { accountId: 'DU1234567' }, why: 'the account at a glance' },
  { tool: 'get_positions', args: { accountId: 'DU1234567', limit: 5 }, why: 'the five largest positions' },
  {
    tool: 'preview_order',
    args: { accountId: 'DU1234567', symbol: 'AAPL', action: 'BUY', orderType: 'LMT', quantity: 10, price: 250 },
    why: "IB's what-if, nothing placed",
  },
  {
    tool: 'place_stock_order',
    args: { accountId: 'DU1234567', symbol: 'AAPL', action: 'BUY', orderType: 'LMT', quantity: 10, price: 250 },
    why: 'held for confirmation: this client cannot show a dialog, so the server returns a single-use token',
  },
];

const CLEAR = process.stdout.isTTY ? { b: '\x1b[1m', d: '\x1b[2m', r: '\x1b[0m' } : { b: '', d: '', r: '' };

export async function runDemo(argv: string[]): Promise<number> {
  const cli = fileURLToPath(new URL('./cli.js', import.meta.url));
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [cli, 'serve', '--backend', 'sim', '--log-level', 'warn', ...argv],
    stderr: 'inherit',
  });
  const client = new Client({ name: 'ibkr-mcp-demo', version: '1.0.0' });
  const t0 = Date.now();
  await client.connect(transport);
  const { tools } = await client.listTools();
  const instructions = client.getInstructions?.() ?? '';
  const out = process.stdout;
  out.write(`${CLEAR.b}ibkr-mcp demo${CLEAR.r}: server started on the built-in simulator in ${Date.now() - t0} ms\n`);
  if (instructions) out.write(`${CLEAR.d}${instructions}${CLEAR.r}\n`);
  out.write(`${tools.length} tools: ${tools.map((t) => t.name).join(', ')}\n`);
  let failures = 0;
  for (const step of DEMO_STEPS) {
    if (!tools.some((t) => t.name === step.tool)) continue;
    const started = Date.now();
    const res = await client.callTool({ name: step.tool, arguments: step.args });
    const ms = Date.now() - started;
    const text = (res.content as Array<{ type: string; text?: string }>)
      .filter((c) => c.type === 'text')
      .map((c) => c.text)
      .join('\n');
    if (res.isError) failures++;
    out.write(
      `\n${CLEAR.b}> ${step.tool} ${JSON.stringify(step.args)}${CLEAR.r}  ${CLEAR.d}(${step.why}; ${ms} ms)${CLEAR.r}\n${text}\n`,
    );
  }
  await client.close();
  out.write(
    `\nDone. Add ibkr-mcp to your MCP client (see README) to use these tools from your assistant; with no IB settings it runs on this simulator.\n`,
  );
  return failures ? 1 : 0;
}
