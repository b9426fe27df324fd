/**
 * Progressive disclosure: the tool sets not enabled at start (--toolsets) stay out of tools/list
 * until the model asks for one with `enable_toolset`. The SDK then sends
 * `notifications/tools/list_changed`; clients that honour it fetch the list again (docs/clients.md).
 * Everything --read-only, --tools and --exclude-tools filter out stays out: a tool set brings
 * only the tools `selectTools` would have listed had it been enabled at start.
 */
import type { McpServer } from '@modelcontextprotocol/server';
import * as z from 'zod';
import { TOOLSETS, type Toolset } from '../config/index.js';
import type { App } from '../runtime.js';
import { ALL_TOOLS, type ToolDef } from '../tools/index.js';
import { selectTools } from './registry.js';
import { advertised } from './schema.js';

export const ENABLE_TOOLSET = 'enable_toolset';

/** What each tool set is for, in the words the model reads when choosing one. */
export const TOOLSET_PURPOSE: Record<Toolset, string> = {
  marketdata: 'quotes, market data, history, contract search',
  chart: 'candlestick chart images',
  options: 'option chains and contracts',
  account: 'balances, positions, portfolio, P&L',
  orders: 'place, preview, confirm, modify, cancel and list orders',
  order_groups: 'option spreads and OCA groups',
  alerts: 'price, volume, time and margin alerts',
  research: 'FX, watchlists, scanner, news',
  statements: 'Flex statements: trades, dividends, performance',
  session: 'IB login and connection status',
};

export function enableToolsetDescription(off: readonly Toolset[]): string {
  return `Switch on a tool set for this conversation; its tools then join the tool list. Off now: ${off
    .map((t) => `${t} (${TOOLSET_PURPOSE[t]})`)
    .join('; ')}.`;
}

/** The tools each switched-off tool set would bring, after the server's other filters. */
export function dormantTools(app: App): Map<Toolset, ToolDef[]> {
  const all = selectTools(ALL_TOOLS, { ...app.config, toolsets: [...TOOLSETS] });
  const out = new Map<Toolset, ToolDef[]>();
  for (const t of all) {
    if (app.config.toolsets.includes(t.toolset)) continue;
    out.set(t.toolset, [...(out.get(t.toolset) ?? []), t]);
  }
  return out;
}

/**
 * Registers `enable_toolset` when some tool set is off and has tools to offer. `register` adds
 * one tool to the server (src/mcp/server.ts); a tool registered after the connection started
 * makes the SDK announce the changed list.
 */
export function registerEnableToolset(server: McpServer, app: App, register: (def: ToolDef) => void): void {
  const dormant = dormantTools(app);
  if (dormant.size === 0) return;
  const off = [...dormant.keys()] as [Toolset, ...Toolset[]];
  const enabled = new Set<Toolset>();
  const input = z.object({ toolset: z.enum(off) });
  const output = z.object({ toolset: z.string(), tools: z.array(z.string()), alreadyOn: z.boolean() });
  server.registerTool(
    ENABLE_TOOLSET,
    {
      title: 'Enable tool set',
      description: enableToolsetDescription(off),
      inputSchema: advertised(input, 'input'),
      outputSchema: advertised(output, 'output'),
      annotations: {
        title: 'Enable tool set',
        readOnlyHint: false,
        destructiveHint: false,
        idempotentHint: true,
        openWorldHint: false,
      },
    },
    async (args: unknown) => {
      const { toolset } = args as z.infer<typeof input>;
      const tools = (dormant.get(toolset) ?? []).map((t) => t.name);
      const alreadyOn = enabled.has(toolset);
      if (!alreadyOn) {
        enabled.add(toolset);
        for (const def of dormant.get(toolset) ?? []) register(def);
        app.log.info('tool set enabled', { toolset, tools });
      }
      const result = { toolset, tools, alreadyOn };
      return {
        content: [
          {
            type: 'text' as const,
            text: `${alreadyOn ? 'Already on' : 'Enabled'}: ${toolset} (${tools.join(', ')}). If they are not in your tool list yet, the client did not reload it: restart the server with --toolsets ${toolset} added.`,
          },
        ],
        structuredContent: result,
      };
    },
  );
}
