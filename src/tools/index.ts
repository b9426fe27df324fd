/** Every tool the server knows, in a fixed order (deterministic tools/list helps client caching). */
import type { ToolDef } from '../mcp/tool.js';
import { ACCOUNT_TOOLS } from './account.js';
import { CHART_TOOLS } from './chart.js';
import { MARKETDATA_TOOLS } from './marketdata.js';
import { OPTIONS_TOOLS } from './options.js';
import { ORDERS_TOOLS } from './orders.js';
import { SESSION_TOOLS } from './session.js';

export const ALL_TOOLS: readonly ToolDef[] = [
  ...MARKETDATA_TOOLS,
  ...CHART_TOOLS,
  ...OPTIONS_TOOLS,
  ...ACCOUNT_TOOLS,
  ...ORDERS_TOOLS,
  ...SESSION_TOOLS,
] as unknown as ToolDef[];
