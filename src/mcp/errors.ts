/**
 * How a failure reaches the client, in one place at the MCP edge: a tool error result (isError)
 * for tools, the same one-line text for resource reads. A BrokerError says what went wrong and
 * what to do; anything else is a bug and says so.
 */
import { BrokerError } from '../broker/errors.js';
import { ident, safeText, untrusted } from '../broker/untrusted.js';
import type { App } from '../runtime.js';

/** `[CODE] message hint` on one line, for a resource read that failed. */
export function brokerErrorLine(err: BrokerError): string {
  return `[${err.code}] ${err.message}${err.hint ? ` ${err.hint}` : ''}`;
}

/** Turns any failure into a tool error result that says what went wrong and what to do. */
export function errorResult(app: App, toolName: string, err: unknown) {
  let text: string;
  if (err instanceof BrokerError) {
    text = `${err.message}${err.hint ? `\nWhat to do: ${err.hint}` : ''}`;
    const candidates = err.details?.['candidates'];
    if (Array.isArray(candidates) && candidates.length) {
      text += `\nCandidates: ${JSON.stringify(candidates.slice(0, 10).map(candidateOut))}`;
    }
    app.log.info('tool error', { tool: toolName, code: err.code, msg: err.message });
    text = `[${err.code}] ${text}`;
  } else {
    const msg = err instanceof Error ? err.message : String(err);
    app.log.error('tool failed unexpectedly', { tool: toolName, err: msg });
    text = `[INTERNAL] ${toolName} failed: ${msg}. This is a bug in ibkr-mcp; the call can be retried.`;
  }
  return { content: [{ type: 'text' as const, text: safeText(text) }], isError: true };
}

/** A candidate contract of an AMBIGUOUS error as shown: its name marked, its identifiers checked. */
function candidateOut(c: unknown): unknown {
  if (c === null || typeof c !== 'object') return ident(c);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(c)) {
    out[k] = typeof v !== 'string' ? v : k === 'name' ? untrusted(v) : ident(v);
  }
  return out;
}
