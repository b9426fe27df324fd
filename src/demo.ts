/**
 * `ibkr-mcp demo`: starts this server on the simulator as a child process, speaks MCP to it over
 * stdio (initialize, tools/list, tools/call: a few lines of JSON-RPC, so that the SDK's client
 * package is no dependency of the installed server), calls a short tour of tools and prints what
 * each returned.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { packageRoot, VERSION } from './config/index.js';
import { childEnv } from './gateway/child-env.js';

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

interface ToolResult {
  content: Array<{ type: string; text?: string }>;
  isError?: boolean;
}

/** A minimal MCP client over a child's stdio: newline-delimited JSON-RPC, requests answered in any order. */
function stdioClient(command: string, args: string[]) {
  // The demo runs on the simulator: the server gets no IB settings or secrets of this shell.
  const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'inherit'], env: childEnv() });
  const waiting = new Map<number, { resolve: (r: unknown) => void; reject: (e: Error) => void }>();
  let next = 1;
  const failAll = (err: Error) => {
    for (const w of waiting.values()) w.reject(err);
    waiting.clear();
  };
  child.on('exit', (code) => failAll(new Error(`the server exited (${code})`)));
  child.on('error', failAll);
  createInterface({ input: child.stdout }).on('line', (line) => {
    let msg: { id?: number; result?: unknown; error?: { message?: string }; method?: string };
    try {
      msg = JSON.parse(line);
    } catch {
      return;
    }
    if (msg.method !== undefined) {
      // A request from the server (none is expected: this client declares no capability).
      if (msg.id !== undefined) send({ jsonrpc: '2.0', id: msg.id, error: { code: -32601, message: 'not supported' } });
      return;
    }
    const w = msg.id === undefined ? undefined : waiting.get(msg.id);
    if (!w) return;
    waiting.delete(msg.id!);
    if (msg.error) w.reject(new Error(msg.error.message ?? 'error'));
    else w.resolve(msg.result);
  });
  function send(msg: unknown) {
    child.stdin.write(`${JSON.stringify(msg)}\n`);
  }
  function request<T>(method: string, params: unknown = {}): Promise<T> {
    const id = next++;
    return new Promise<T>((resolve, reject) => {
      waiting.set(id, { resolve: resolve as (r: unknown) => void, reject });
      send({ jsonrpc: '2.0', id, method, params });
    });
  }
  return {
    request,
    notify: (method: string) => send({ jsonrpc: '2.0', method }),
    close: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.stdin.end();
      }),
  };
}

export async function runDemo(argv: string[]): Promise<number> {
  const cli = join(packageRoot(), 'dist', 'cli.js');
  const client = stdioClient(process.execPath, [cli, 'serve', '--backend', 'sim', '--log-level', 'warn', ...argv]);
  const t0 = Date.now();
  const init = await client.request<{ instructions?: string }>('initialize', {
    protocolVersion: '2025-11-25',
    capabilities: {},
    clientInfo: { name: 'ibkr-mcp-demo', version: VERSION },
  });
  client.notify('notifications/initialized');
  const { tools } = await client.request<{ tools: Array<{ name: string }> }>('tools/list');
  const instructions = init.instructions ?? '';
  const out = process.stdout;
  out.write(`${CLEAR.b}ibkr-mcp demo${CLEAR.r}: server started on the built-in simulator in ${Date.now() - t0} ms\n`);
  if (instructions) out.write(`${CLEAR.d}${instructions}${CLEAR.r}\n`);
  out.write(`${tools.length} tools: ${tools.map((t) => t.name).join(', ')}\n`);
  let failures = 0;
  for (const step of DEMO_STEPS) {
    if (!tools.some((t) => t.name === step.tool)) continue;
    const started = Date.now();
    const res = await client.request<ToolResult>('tools/call', { name: step.tool, arguments: step.args });
    const ms = Date.now() - started;
    const text = res.content
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
