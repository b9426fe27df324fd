/**
 * The stdio transport: one MCP connection over this process's stdin/stdout. The server
 * shuts down cleanly (backend, simulator, child processes) when stdin closes or on SIGINT/SIGTERM.
 */
import { serveStdio } from '@modelcontextprotocol/server/stdio';
import type { App } from '../runtime.js';
import { createMcpServer } from './server.js';

export interface RunningServer {
  /** Resolves once the server has shut down. */
  closed: Promise<void>;
  close(): Promise<void>;
}

export async function startStdio(app: App): Promise<RunningServer> {
  const handle = serveStdio((ctx) => createMcpServer(app, undefined, ctx.era), {
    onerror: (err) => app.log.warn('stdio transport error', { err: err.message }),
  });
  let done!: () => void;
  const closed = new Promise<void>((r) => {
    done = r;
  });
  let closing = false;
  const close = async () => {
    if (closing) return closed;
    closing = true;
    app.log.info('ibkr-mcp shutting down');
    await handle.close().catch(() => {});
    await app.close();
    done();
  };
  process.stdin.once('end', () => void close());
  process.stdin.once('close', () => void close());
  process.once('SIGINT', () => void close());
  process.once('SIGTERM', () => void close());
  return { closed, close };
}
