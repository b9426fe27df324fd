/**
 * Errors a backend reports in domain terms. Each carries a code a tool can act on
 * and a hint that tells the model (and the human) what to do next.
 */

export type BrokerErrorCode =
  | 'INVALID_INPUT'
  | 'NOT_FOUND'
  | 'AMBIGUOUS'
  | 'NOT_AUTHENTICATED'
  | 'COMPETING_SESSION'
  | 'RATE_LIMITED'
  | 'GATEWAY_TIMEOUT'
  | 'GATEWAY_UNREACHABLE'
  | 'GATEWAY_ERROR'
  | 'NO_MARKET_DATA'
  | 'REFUSED'
  | 'CANCELLED'
  /** A part ibkr-mcp installs on first use (chart renderer, headless browser) is missing. */
  | 'MISSING_COMPONENT';

export class BrokerError extends Error {
  readonly code: BrokerErrorCode;
  readonly hint: string | undefined;
  readonly details: Record<string, unknown> | undefined;
  /** True when repeating the same call later may succeed. */
  readonly retryable: boolean;

  constructor(
    code: BrokerErrorCode,
    message: string,
    opts: { hint?: string; details?: Record<string, unknown>; retryable?: boolean; cause?: unknown } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'BrokerError';
    this.code = code;
    this.hint = opts.hint;
    this.details = opts.details;
    this.retryable = opts.retryable ?? (code === 'RATE_LIMITED' || code === 'GATEWAY_TIMEOUT');
  }
}

export function isBrokerError(e: unknown): e is BrokerError {
  return e instanceof BrokerError;
}
