/** Every tool the server knows, in a fixed order (deterministic tools/list helps client caching). */
import type { ToolDef } from '../mcp/tool.js';
import { MARKETDATA_TOOLS } from './marketdata.js';

export const ALL_TOOLS: readonly ToolDef[] = [...MARKETDATA_TOOLS] as unknown as ToolDef[];
