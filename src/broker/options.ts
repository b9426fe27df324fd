/**
 * Options part of the backend contract: domain types and the methods tools call.
 * Dates are ISO `YYYY-MM-DD`; months are `YYYY-MM`. Nothing here knows IB's wire format
 * (month codes, secdef endpoints, string conids stay inside a backend).
 */
import type { CallOptions } from './backend.js';
import type { Contract, OptionRight } from './types.js';

/** Stock and index options are OPT; options on futures are FOP. */
export type OptionSecType = 'OPT' | 'FOP';

/** What an underlying has listed: the option kind, expirations and months. */
export interface OptionChainInfo {
  /** The underlying as used (stock, index or future). */
  underlying: Contract;
  secType: OptionSecType;
  /** Exchange the chain was read from (SMART, CME, …). */
  exchange: string;
  /** Listed expirations not yet expired, ascending (ISO dates). */
  expirations: string[];
  /** Months with listed options, ascending (`YYYY-MM`). */
  months: string[];
}

export interface OptionStrikes {
  call: number[];
  put: number[];
  /** True when the lists are exact for one expiration; false when they cover a whole month. */
  exact: boolean;
}

export interface OptionContractQuery {
  /** Only these strikes (others are not fetched when the backend can avoid it). */
  strikes?: readonly number[];
  right?: OptionRight;
}

export interface OptionsBackend {
  /** Listed expirations and months of an underlying. Cached for the session (the listing changes daily at most). */
  optionExpirations(underlying: Contract, opts?: CallOptions): Promise<OptionChainInfo>;
  /**
   * Strikes of one expiration (ISO date: exact when the backend can tell) or of a month
   * (`YYYY-MM`: every strike any of its expirations has). Sorted ascending. Cached.
   */
  optionStrikes(underlying: Contract, expirationOrMonth: string, opts?: CallOptions): Promise<OptionStrikes>;
  /**
   * The contracts of one expiration (ISO date), sorted by strike then right (C before P),
   * each with conid, expiry, strike, right, multiplier, trading class, exchange and currency.
   * Empty when nothing matches. Cached.
   */
  optionContracts(
    underlying: Contract,
    expiration: string,
    query?: OptionContractQuery,
    opts?: CallOptions,
  ): Promise<Contract[]>;
}
