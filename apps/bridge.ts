/**
 * The app side of the MCP Apps protocol (io.modelcontextprotocol/ui, 2026-01-26), the few messages
 * our views use: ui/initialize and its notification, tool input and results pushed by the host,
 * host context changes (theme), size changes, teardown, ping, and tools/call through the host.
 * JSON-RPC 2.0 over postMessage with the parent window only. Written small on purpose: the
 * ext-apps `App` class bundles to ~600 KB with its schema library; test/e2e/apps.test.ts proves this
 * one against ext-apps' own host side (AppBridge).
 */

export interface ToolResult {
  content?: Array<{ type: string; text?: string }>;
  structuredContent?: Record<string, unknown>;
  isError?: boolean;
  _meta?: Record<string, unknown>;
}

export interface HostContext {
  theme?: 'light' | 'dark';
  [k: string]: unknown;
}

type Json = Record<string, unknown>;

export class Bridge {
  private next = 1;
  private readonly waiting = new Map<number, { ok: (v: Json) => void; fail: (e: Error) => void }>();
  onToolResult: (r: ToolResult) => void = () => {};
  onToolInput: (args: Json) => void = () => {};
  onContext: (c: HostContext) => void = () => {};

  constructor(private readonly name: string) {
    window.addEventListener('message', (ev) => {
      if (ev.source !== window.parent) return;
      const m = ev.data as Json | null;
      if (m?.['jsonrpc'] === '2.0') this.receive(m);
    });
    // The content's own size (the document's would never shrink below the frame).
    new ResizeObserver(() => {
      const r = document.body.getBoundingClientRect();
      this.notify('ui/notifications/size-changed', { width: Math.ceil(r.width), height: Math.ceil(r.height) });
    }).observe(document.body);
  }

  /** The handshake: the host's context (theme) comes back. */
  async connect(): Promise<HostContext> {
    const r = await this.request('ui/initialize', {
      appInfo: { name: this.name, version: '1' },
      appCapabilities: {},
      protocolVersion: '2026-01-26',
    });
    this.notify('ui/notifications/initialized', {});
    const ctx = (r['hostContext'] ?? {}) as HostContext;
    this.onContext(ctx);
    return ctx;
  }

  /** Calls a tool of our server through the host. */
  async callTool(name: string, args: Json): Promise<ToolResult> {
    return (await this.request('tools/call', { name, arguments: args })) as ToolResult;
  }

  private post(m: Json): void {
    window.parent.postMessage({ jsonrpc: '2.0', ...m }, '*');
  }

  private notify(method: string, params: Json): void {
    this.post({ method, params });
  }

  private request(method: string, params: Json): Promise<Json> {
    const id = this.next++;
    return new Promise((ok, fail) => {
      this.waiting.set(id, { ok, fail });
      this.post({ id, method, params });
    });
  }

  private receive(m: Json): void {
    const id = m['id'];
    const method = m['method'];
    if (typeof method !== 'string') {
      const w = typeof id === 'number' ? this.waiting.get(id) : undefined;
      if (!w) return;
      this.waiting.delete(id as number);
      const err = m['error'] as { message?: string } | undefined;
      if (err) w.fail(new Error(err.message ?? 'host error'));
      else w.ok((m['result'] ?? {}) as Json);
      return;
    }
    const params = (m['params'] ?? {}) as Json;
    if (id !== undefined) {
      // Requests from the host: ping and teardown need only an empty answer.
      if (method === 'ping' || method === 'ui/resource-teardown') this.post({ id, result: {} });
      else this.post({ id, error: { code: -32601, message: `${method} not supported` } });
      return;
    }
    if (method === 'ui/notifications/tool-result') this.onToolResult(params as ToolResult);
    else if (method === 'ui/notifications/tool-input') this.onToolInput((params['arguments'] ?? {}) as Json);
    else if (method === 'ui/notifications/host-context-changed') this.onContext(params as HostContext);
  }
}

/** Applies the host's theme (light unless it says dark or the system prefers dark). */
export function applyTheme(ctx: HostContext): void {
  const dark = ctx.theme ? ctx.theme === 'dark' : matchMedia('(prefers-color-scheme: dark)').matches;
  document.documentElement.dataset['theme'] = dark ? 'dark' : 'light';
}

/** Creates an element with text and attributes (never innerHTML: broker text stays text). */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string> = {},
  ...children: Array<Node | string | null | undefined>
): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  for (const c of children) if (c !== null && c !== undefined) e.append(c);
  return e;
}

export function fmt(n: number | undefined | null, digits = 2): string {
  if (n === undefined || n === null || !Number.isFinite(n)) return '–';
  return n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** The first text block of a result (errors are text). */
export function textOf(r: ToolResult): string {
  return r.content?.find((c) => c.type === 'text')?.text ?? '';
}

/** Starts a view: connect, theme, and a root to render into. */
export function start(name: string): { bridge: Bridge; root: HTMLElement } {
  const bridge = new Bridge(name);
  const root = document.getElementById('app') ?? document.body;
  bridge.onContext = (c) => {
    if (c.theme) applyTheme(c);
  };
  applyTheme({});
  void bridge.connect().then(applyTheme, () => {});
  return { bridge, root };
}
