/**
 * A tool is data: name, schemas, kind, handler and text renderer. Annotations are derived
 * from `kind` so they cannot drift; errors become `isError` results in one place (src/mcp/server.ts).
 */
import type { ContentBlock, ServerContext } from '@modelcontextprotocol/server';
import type * as z from 'zod';
import type { Toolset } from '../config/index.js';
import type { App } from '../runtime.js';

/** read: no side effects. write: changes state but not destructively. destructive: can lose or move money. */
export type ToolKind = 'read' | 'write' | 'destructive';

export interface ToolContext {
  app: App;
  /** Aborted when the client cancels the call. */
  signal: AbortSignal;
  /** Sends a progress notification when the client asked for progress; otherwise a no-op. */
  progress(progress: number, total?: number, message?: string): Promise<void>;
  /** True when the client asked for progress (a progress token): a long wait can then report as it goes. */
  progressRequested?: boolean;
  /** The raw SDK context, for elicitation and the like. */
  mcp: ServerContext;
  /** Capabilities the client declared (elicitation, …), when known. */
  clientCapabilities?: () => Record<string, unknown> | undefined;
  /** Adds a content block (an image, a resource link) after the text rendering of the result. */
  attach(block: ContentBlock): void;
  /**
   * True when the client renders MCP Apps (it declared the `io.modelcontextprotocol/ui` extension)
   * and the server runs without --no-ui: a LIVE order is then held as an order ticket.
   */
  uiClient?: boolean;
  /** Adds fields to the result's `_meta` (for the client's app, e.g. the order ticket's id). */
  setMeta?(meta: Record<string, unknown>): void;
}

// biome-ignore lint/suspicious/noExplicitAny: schemas of any object shape
export type AnyObject = z.ZodObject<any>;

export interface ToolDef<I extends AnyObject = AnyObject, O extends AnyObject = AnyObject> {
  name: string;
  title: string;
  description: string;
  toolset: Toolset;
  kind: ToolKind;
  input: I;
  output: O;
  handle(args: z.infer<I>, ctx: ToolContext): Promise<z.infer<O>>;
  /** A short text rendering of the result for the model; the structured content carries the same facts. */
  render(result: z.infer<O>): string;
}

export function defineTool<I extends AnyObject, O extends AnyObject>(def: ToolDef<I, O>): ToolDef<I, O> {
  return def;
}

export interface ToolAnnotationsOut {
  title: string;
  readOnlyHint: boolean;
  destructiveHint: boolean;
  idempotentHint: boolean;
  openWorldHint: boolean;
}

export function annotationsFor(def: Pick<ToolDef, 'kind' | 'title'>): ToolAnnotationsOut {
  return {
    title: def.title,
    readOnlyHint: def.kind === 'read',
    destructiveHint: def.kind === 'destructive',
    idempotentHint: def.kind === 'read',
    // Every tool reaches a broker (real or simulated) outside this process.
    openWorldHint: true,
  };
}
