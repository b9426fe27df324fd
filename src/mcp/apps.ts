/**
 * MCP Apps (`io.modelcontextprotocol/ui`): the views as `ui://` resources (prebuilt HTML from
 * dist/apps, made by scripts/build-apps.mjs), and the tool list as each client should see it. Only
 * a client that declared the extension (and a server without --no-ui) sees `_meta.ui` on the tools
 * that have a view and the app-only `order_ticket` (visibility ["app"]); every other client gets the
 * tool list exactly as without Apps.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { McpServer, ServerContext } from '@modelcontextprotocol/server';
import { packageRoot } from '../config/index.js';
import type { App } from '../runtime.js';
import { APP_MIME, APP_ONLY_TOOLS, APP_VIEWS, type AppViewName, appUri } from '../tools/index.js';

/** The views' content security policy: no outside domain at all (all code and styles are inline). */
const UI_RESOURCE_META = { ui: { csp: { connectDomains: [], resourceDomains: [] }, prefersBorder: true } };

const APP_ONLY = new Set(APP_ONLY_TOOLS.map((t) => t.name));
const VIEW_OF = new Map<string, string>(APP_VIEWS.flatMap((v) => v.tools.map((t) => [t, appUri(v.name)] as const)));

const html = new Map<string, string>();

/** A view's HTML as `npm run build` wrote it (read once). */
export function appHtml(name: AppViewName): string {
  let text = html.get(name);
  if (text === undefined) {
    try {
      text = readFileSync(join(packageRoot(), 'dist', 'apps', `${name}.html`), 'utf8');
    } catch {
      throw new Error(`The ${name} view is not built: run \`npm run build\`.`);
    }
    html.set(name, text);
  }
  return text;
}

type Handler = (req: unknown, ctx: ServerContext) => Promise<Record<string, unknown>>;
type Listed = { name?: string; uri?: string; _meta?: Record<string, unknown> };

/** Replaces a list handler with one that passes its answer through `edit`. */
function wrapList(
  server: McpServer,
  method: 'tools/list' | 'resources/list',
  key: 'tools' | 'resources',
  edit: (items: Listed[], ctx: ServerContext) => Listed[],
): void {
  const inner = server.server as unknown as {
    _getRequestHandler(m: string): Handler | undefined;
  };
  const original = inner._getRequestHandler(method);
  if (!original) return;
  server.server.removeRequestHandler(method);
  server.server.setRequestHandler(method, async (req, ctx) => {
    const r = await original(req, ctx as ServerContext);
    return { ...r, [key]: edit((r[key] as Listed[] | undefined) ?? [], ctx as ServerContext) } as never;
  });
}

/**
 * Registers the views and adapts the lists. `isUi` says whether the client of a request renders
 * Apps (declared the extension; the server runs without --no-ui).
 */
export function registerApps(server: McpServer, app: App, isUi: (ctx: ServerContext) => boolean): void {
  if (!app.config.ui) return;
  for (const v of APP_VIEWS) {
    const uri = appUri(v.name);
    server.registerResource(
      `app-${v.name}`,
      uri,
      { title: v.title, description: `${v.title} view (MCP Apps).`, mimeType: APP_MIME, _meta: UI_RESOURCE_META },
      async () => ({ contents: [{ uri, mimeType: APP_MIME, text: appHtml(v.name), _meta: UI_RESOURCE_META }] }),
    );
  }
  wrapList(server, 'tools/list', 'tools', (tools, ctx) => {
    if (!isUi(ctx)) return tools.filter((t) => !APP_ONLY.has(t.name ?? ''));
    return tools.map((t) => {
      const name = t.name ?? '';
      if (APP_ONLY.has(name)) return { ...t, _meta: { ...t._meta, ui: { visibility: ['app'] } } };
      const uri = VIEW_OF.get(name);
      return uri ? { ...t, _meta: { ...t._meta, ui: { resourceUri: uri }, 'ui/resourceUri': uri } } : t;
    });
  });
  wrapList(server, 'resources/list', 'resources', (items, ctx) =>
    isUi(ctx) ? items : items.filter((r) => !r.uri?.startsWith('ui://')),
  );
}
