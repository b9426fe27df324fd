/**
 * A test host for MCP Apps: a page in headless Chromium that runs the host side of the protocol
 * with ext-apps' own AppBridge (bundled here for the browser), loads a view's `ui://` resource from
 * the running server over MCP into a sandboxed iframe (scripts only, opaque origin), and forwards
 * the app's tool calls to the server through the MCP client. As a real host does, it hands the app
 * the tool's input and result, and it lets the app call app-only tools; the model never sees those.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';
import type { BrowserContext, Frame, Page } from 'playwright-core';
import type { Harness } from './harness.js';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/** Why the browser tests cannot run here, or undefined. */
export function browserMissing(): string | undefined {
  if (!existsSync(CHROMIUM)) return `chromium not found at ${CHROMIUM} (CI installs it with apt; set CHROMIUM_PATH)`;
  return undefined;
}

/** The declared client capability of a host that renders Apps. */
export const UI_CAPABILITIES = {
  extensions: { 'io.modelcontextprotocol/ui': { mimeTypes: ['text/html;profile=mcp-app'] } },
};

let bridgeScript: Promise<string> | undefined;
function hostBundle(): Promise<string> {
  bridgeScript ??= build({
    stdin: {
      contents: "export { AppBridge, PostMessageTransport } from '@modelcontextprotocol/ext-apps/app-bridge';",
      resolveDir: resolve(import.meta.dirname),
      loader: 'ts',
    },
    bundle: true,
    format: 'iife',
    globalName: 'ExtApps',
    platform: 'browser',
    write: false,
    logLevel: 'silent',
  }).then((r) => r.outputFiles[0]!.text);
  return bridgeScript;
}

export interface ToolCallRecord {
  name: string;
  args: Record<string, unknown>;
  // biome-ignore lint/suspicious/noExplicitAny: raw MCP results
  result: any;
}

export interface Mounted {
  frame: Frame;
  /** ms from setting the iframe's document to the host seeing ui/notifications/initialized. */
  initializedMs: number;
}

export class TestHost {
  /** Every tool call the apps made through this host, with its result. */
  readonly appCalls: ToolCallRecord[] = [];
  private constructor(
    private readonly browser: BrowserContext,
    readonly page: Page,
    private readonly dir: string,
    private readonly h: Harness,
  ) {}

  static async start(h: Harness, theme: 'light' | 'dark' = 'light'): Promise<TestHost> {
    const { chromium } = await import('playwright-core');
    const dir = mkdtempSync(join(tmpdir(), 'ibkr-apps-host-'));
    // A new user-data-dir each run (playwright passes it as --user-data-dir).
    const browser = await chromium.launchPersistentContext(dir, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
      viewport: { width: 760, height: 900 },
      colorScheme: theme,
    });
    const page = browser.pages()[0] ?? (await browser.newPage());
    const host = new TestHost(browser, page, dir, h);
    await page.exposeFunction(
      '__hostCallTool',
      async (params: { name: string; arguments?: Record<string, unknown> }) => {
        const result = await h.client.callTool({ name: params.name, arguments: params.arguments ?? {} });
        host.appCalls.push({ name: params.name, args: params.arguments ?? {}, result });
        return result;
      },
    );
    await page.setContent(
      `<!doctype html><html><body style="margin:0"><iframe id="view" sandbox="allow-scripts" style="border:0;width:100%;height:880px"></iframe><script>${await hostBundle()}</script></body></html>`,
    );
    return host;
  }

  /**
   * Shows a view as a host does after a tool call: reads its `ui://` resource over MCP, renders it,
   * and once the app is initialized, sends it the tool's input and result.
   */
  async mount(
    uri: string,
    tool: { args: Record<string, unknown>; result: unknown },
    theme: 'light' | 'dark' = 'light',
  ): Promise<Mounted> {
    const read = await this.h.client.readResource({ uri });
    const content = read.contents[0] as { text?: string; mimeType?: string };
    if (content.mimeType !== 'text/html;profile=mcp-app' || !content.text) throw new Error(`${uri} is not an app`);
    const initializedMs = await this.page.evaluate(
      async ({ html, args, result, theme }) => {
        // Runs in the page (no DOM types here).
        // biome-ignore lint/suspicious/noExplicitAny: the page's globals
        const w = globalThis as any;
        const frame = w.document.getElementById('view');
        w.__bridge?.close?.().catch(() => {});
        const { AppBridge, PostMessageTransport } = w.ExtApps;
        const bridge = new AppBridge(
          null,
          { name: 'ibkr-mcp-test-host', version: '1.0.0' },
          { serverTools: {} },
          { hostContext: { theme, displayMode: 'inline', platform: 'web' } },
        );
        bridge.oncalltool = (params: unknown) => w.__hostCallTool(params);
        bridge.onsizechange = ({ height }: { height?: number }) => {
          if (height) frame.style.height = `${Math.min(height, 2000)}px`;
        };
        w.__bridge = bridge;
        const started = performance.now();
        const ready = new Promise<number>((ok) => {
          bridge.oninitialized = () => {
            void bridge.sendToolInput({ arguments: args }).then(() => bridge.sendToolResult(result));
            ok(performance.now() - started);
          };
        });
        // A fresh browsing context each time (a reload): the same iframe, a new document.
        await bridge.connect(new PostMessageTransport(frame.contentWindow, frame.contentWindow));
        frame.srcdoc = html;
        return ready;
      },
      { html: content.text, args: tool.args, result: tool.result, theme },
    );
    const frame = this.page.frames().find((f) => f !== this.page.mainFrame());
    if (!frame) throw new Error('the view frame is missing');
    return { frame, initializedMs };
  }

  /** Switches the host's theme (ui/notifications/host-context-changed). */
  async setTheme(theme: 'light' | 'dark'): Promise<void> {
    await this.page.emulateMedia({ colorScheme: theme });
    await this.page.evaluate((t) => {
      // biome-ignore lint/suspicious/noExplicitAny: the page's globals
      (globalThis as any).__bridge.setHostContext({ theme: t, displayMode: 'inline', platform: 'web' });
    }, theme);
  }

  async screenshot(path: string): Promise<void> {
    await this.page.locator('#view').screenshot({ path });
  }

  async close(): Promise<void> {
    await this.browser.close().catch(() => {});
    rmSync(this.dir, { recursive: true, force: true });
  }
}
