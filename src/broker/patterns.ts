/**
 * The shapes of identifiers the server accepts from a client, in one place: tool input schemas
 * (src/tools/common.ts), prompt arguments (src/mcp/prompts.ts) and the order checks use these.
 * They are the patterns the advertised JSON schemas show (test/__toolsnaps__), so a change here
 * is a schema change.
 */

/** Ticker-like text: letters, digits and the few separators real symbols use (BRK B, EUR.USD, BF/B). */
export const TICKER_RE = /^[A-Za-z0-9][A-Za-z0-9 .\-/&]*$/;
/** Tickers separated by commas: AAPL,MSFT. */
export const TICKER_LIST_RE = /^[A-Za-z0-9][A-Za-z0-9 .\-/&,]*$/;
export const TICKER_MAX = 32;

/** An IB account id as the read tools accept it: U1234567, DU1234567, F1234567. */
export const ACCOUNT_ID_RE = /^[A-Za-z0-9._-]{1,32}$/;

/** A listing exchange: NASDAQ, IBIS, TSE. */
export const EXCHANGE_RE = /^[A-Za-z0-9.]{1,16}$/;
/** An ISO currency code: USD, EUR. */
export const CURRENCY_RE = /^[A-Za-z]{3}$/;

/** A client's own id for an order (idempotency key). */
export const CLIENT_ORDER_ID_RE = /^[A-Za-z0-9._:-]{4,40}$/;
