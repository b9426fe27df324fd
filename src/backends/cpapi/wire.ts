/**
 * Small readers for IB's loosely typed JSON (numbers as strings, "null" as text, dates as
 * YYYYMMDD), and an abortable sleep. Shared by every module of the Client Portal backend.
 */
import { BrokerError } from '../../broker/errors.js';

export type Row = Record<string, unknown>;

export function isObject(v: unknown): v is Row {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * IB's error body ({"error": …}, which IB also sends with status 200) as a GATEWAY_ERROR, so an
 * error is never read as an empty answer; any other answer is returned as a row ({} if none).
 */
export function noErrorBody(data: unknown, what: string): Row {
  const r = isObject(data) ? data : {};
  const error = str(r['error']);
  if (error) throw new BrokerError('GATEWAY_ERROR', `IB did not ${what}.`, { details: { error } });
  return r;
}

/** A trimmed non-empty string (numbers stringified); IB's empty strings and "null" text are absent. */
export function str(v: unknown): string | undefined {
  if (typeof v === 'string') {
    const t = v.trim();
    return t === '' || t === 'null' ? undefined : t;
  }
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  return undefined;
}

/** A conid: a positive integer, from a number or a numeric string. */
export function toConid(v: unknown): number | undefined {
  const n = typeof v === 'number' ? v : typeof v === 'string' ? Number(v.trim()) : Number.NaN;
  return Number.isInteger(n) && n > 0 ? n : undefined;
}

/** `items` in consecutive slices of at most `size`. */
export function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** `20250117` → `2025-01-17`; undefined when malformed. */
export function ymd(v: unknown): string | undefined {
  const s = str(v);
  const m = s ? /^(\d{4})(\d{2})(\d{2})$/.exec(s) : null;
  return m ? `${m[1]}-${m[2]}-${m[3]}` : undefined;
}

/** Waits `ms`, or rejects with CANCELLED as soon as the signal aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(new BrokerError('CANCELLED', 'The request was cancelled.', { cause: signal.reason }));
      return;
    }
    const onAbort = () => {
      clearTimeout(t);
      reject(new BrokerError('CANCELLED', 'The request was cancelled.', { cause: signal?.reason }));
    };
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
