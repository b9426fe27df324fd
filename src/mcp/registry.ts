/**
 * Which tools a server exposes: tool sets, --tools, --exclude-tools, and --read-only,
 * which wins over everything so that no order-changing tool can slip in: a read-only server
 * exposes read tools only. The one exception is the session's login tool, and only when
 * --allow-login-in-read-only asks for it (a login is not a read).
 */
import type { Config } from '../config/index.js';
import type { ToolDef } from '../tools/index.js';

export function selectTools(
  all: readonly ToolDef[],
  config: Pick<Config, 'toolsets' | 'tools' | 'excludeTools' | 'readOnly'> &
    Partial<Pick<Config, 'allowLoginInReadOnly'>>,
): ToolDef[] {
  const only = new Set(config.tools);
  const excluded = new Set(config.excludeTools);
  return all.filter((t) => {
    if (config.readOnly && t.kind !== 'read') {
      const loginAllowed = config.allowLoginInReadOnly === true && t.toolset === 'session' && t.kind === 'write';
      if (!loginAllowed) return false;
    }
    if (!config.toolsets.includes(t.toolset)) return false;
    if (only.size > 0 && !only.has(t.name)) return false;
    return !excluded.has(t.name);
  });
}
