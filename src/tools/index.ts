/**
 * The tools' registry: the one module the MCP layer imports from src/tools (the layer rule in
 * .dependency-cruiser.cjs). Every tool the server knows, in a fixed order (deterministic
 * tools/list helps client caching), the tool definition types, and the few pieces the MCP
 * resources share with the tools.
 */
import { ACCOUNT_TOOLS } from './account.js';
import { ALERTS_TOOLS } from './alerts.js';
import { CHART_TOOLS } from './chart.js';
import { MARKETDATA_TOOLS } from './marketdata.js';
import { OPTIONS_TOOLS } from './options.js';
import { ORDER_GROUP_TOOLS } from './order-groups.js';
import { ORDERS_TOOLS } from './orders.js';
import { RESEARCH_TOOLS } from './research.js';
import { SESSION_TOOLS } from './session.js';
import { SPREAD_TOOLS } from './spreads.js';
import { STATEMENTS_TOOLS } from './statements.js';
import type { ToolDef } from './tool.js';

export { portfolioOf, positionOut } from './account.js';
export {
  APP_MIME,
  APP_ONLY_TOOLS,
  APP_VIEWS,
  type AppViewName,
  appUri,
  declaresUi,
  UI_EXTENSION,
} from './apps.js';
export { SymbolSchema } from './common.js';
export { liveOut } from './order-reads.js';
export { TICKET_META_KEY } from './orders.js';
export {
  type AnyObject,
  annotationsFor,
  defineTool,
  type ToolAnnotationsOut,
  type ToolContext,
  type ToolDef,
  type ToolKind,
} from './tool.js';

export const ALL_TOOLS: readonly ToolDef[] = [
  ...MARKETDATA_TOOLS,
  ...CHART_TOOLS,
  ...OPTIONS_TOOLS,
  ...ACCOUNT_TOOLS,
  ...ORDERS_TOOLS,
  ...SPREAD_TOOLS,
  ...ORDER_GROUP_TOOLS,
  ...ALERTS_TOOLS,
  ...RESEARCH_TOOLS,
  ...STATEMENTS_TOOLS,
  ...SESSION_TOOLS,
] as unknown as ToolDef[];
