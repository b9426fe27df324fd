/**
 * Market data over the Client Portal API: snapshots polled until the asked fields arrive
 * (IB's first answer for a conid is often empty: the subscription opens with it), and
 * historical bars.
 *
 * A field a conid did not deliver within a full wait is not waited for again in the same
 * brokerage session (an instrument without dividends or greeks must not cost every call the
 * whole wait); a session reset forgets that.
 */
import type { CallOptions, SnapshotOptions } from '../../broker/backend.js';
import { BrokerError } from '../../broker/errors.js';
import type { Contract, HistoryRequest, HistoryResult, MarketField, MarketSnapshot } from '../../broker/types.js';
import { untrusted } from '../../broker/untrusted.js';
import { isUsStock } from './contract-wire.js';
import { AVAILABILITY_CODE, codesForFields, parseAvailability, parseSnapshotRow, rowHasField } from './fields.js';
import { parseHistoryResponse, toIbStartTime, validateHistoryParams } from './history-rules.js';
import type { CpapiHttp } from './http.js';
import { isDerivative } from './options.js';
import { MAX_SNAPSHOT_CONIDS, MAX_SNAPSHOT_FIELDS, SnapshotBatcher } from './snapshot-batcher.js';
import { type CpapiStream, QuoteLinesFull } from './stream.js';
import { chunk, isObject, type Row, sleep, toConid } from './wire.js';

const DEFAULT_MAX_WAIT_MS = 3000;
/** How long to wait for missing fields once every instrument has delivered some data. */
const STRAGGLER_MS = 600;
/** Delays between snapshot polls while fields are missing. */
const POLL_DELAYS_MS = [60, 100, 200, 300, 500];

/** Keys a pre-flight answer may carry without any market data. */
const IDENTITY_KEYS = new Set(['conid', 'conidEx', 'server_id', '6119', '6509', 'topic']);

/** A snapshot row that carries data beyond the pre-flight identity keys. */
function hasData(row: Row | undefined): boolean {
  return row !== undefined && Object.keys(row).some((k) => !IDENTITY_KEYS.has(k) && !k.startsWith('_'));
}

/** Silent conids looked up per snapshot call to find derivatives that need their pre-flight. */
const RECOVER_LOOKUPS = 5;

export interface CpapiMarketDataDeps {
  http: CpapiHttp;
  /** /iserver/accounts once per brokerage session: IB serves no market data before it. */
  ensureAccounts: (signal?: AbortSignal) => Promise<unknown>;
  /** The contract of a conid (cached by the contracts part; may ask IB); undefined when unknown. */
  describe?: (conid: number, signal?: AbortSignal) => Promise<Contract | undefined>;
  /**
   * The contract of a conid already seen, without a request: snapshots of bare conids must not
   * cost contract lookups, so a conid never seen is quoted without the unit or derivative rules.
   */
  known?: (conid: number) => Contract | undefined;
  /** The secdef search IB wants in the session before a derivative is quoted (cached per session). */
  preflight?: (c: Contract, underlyingSecType: string | undefined, signal?: AbortSignal) => Promise<void>;
  /** IB's WebSocket: conids quoted once are streamed, and answered from it while it is up. */
  stream?: CpapiStream;
}

export class CpapiMarketData {
  private readonly http: CpapiHttp;
  private readonly ensureAccounts: (signal?: AbortSignal) => Promise<unknown>;
  /** Merges concurrent snapshot requests (snapshot-batcher.ts). */
  private readonly batcher: SnapshotBatcher;
  /** Fields a conid did not deliver within a full wait; not waited for again this session. */
  private readonly absent = new Map<number, Set<MarketField>>();
  private readonly describe: NonNullable<CpapiMarketDataDeps['describe']>;
  private readonly preflight: NonNullable<CpapiMarketDataDeps['preflight']>;
  private readonly known: NonNullable<CpapiMarketDataDeps['known']>;
  /** Conids whose derivative pre-flight is done (or not needed) in this session. */
  private readonly ready = new Map<number, Promise<Contract | undefined>>();

  constructor(deps: CpapiMarketDataDeps) {
    this.http = deps.http;
    this.ensureAccounts = deps.ensureAccounts;
    this.batcher = new SnapshotBatcher(deps.http);
    this.describe = deps.describe ?? (async () => undefined);
    this.preflight = deps.preflight ?? (async () => {});
    this.known = deps.known ?? (() => undefined);
    this.stream = deps.stream;
  }

  private readonly stream: CpapiStream | undefined;

  /** A new brokerage session: fields given up on may arrive now; derivatives need their search again. */
  onSessionReset(): void {
    this.absent.clear();
    this.ready.clear();
  }

  /** The contract (when known) of a conid about to be quoted, after its derivative pre-flight. */
  private prepare(conid: number, signal?: AbortSignal): Promise<Contract | undefined> {
    // A conid first seen after an earlier snapshot of it gets its rules from then on.
    if (this.ready.has(conid) && !this.known(conid)) this.ready.delete(conid);
    let p = this.ready.get(conid);
    if (!p) {
      p = (async () => {
        const c = this.known(conid);
        if (c && isDerivative(c.secType)) {
          const und = c.secType === 'OPT' && c.underlyingConid ? this.known(c.underlyingConid) : undefined;
          await this.preflight(c, und?.secType, signal);
        }
        return c;
      })();
      this.ready.set(conid, p);
      p.catch(() => this.ready.delete(conid));
    }
    return p;
  }

  /**
   * Looks up a few silent conids (at most RECOVER_LOOKUPS; derivatives of one underlying are
   * usually quoted together) and runs the pre-flight of those that are derivatives. True when a
   * pre-flight ran, so that asking again may now bring data.
   */
  private async searchUnderlyings(silent: number[], signal?: AbortSignal): Promise<boolean> {
    const looked = await Promise.all(
      silent.slice(0, RECOVER_LOOKUPS).map((c) => this.describe(c, signal).catch(() => undefined)),
    );
    let ran = false;
    for (const c of looked) {
      if (!c || !isDerivative(c.secType)) continue;
      this.ready.delete(c.conid);
      await this.prepare(c.conid, signal).catch(() => undefined);
      ran = true;
    }
    return ran;
  }

  async snapshot(
    conids: number[],
    fields: readonly MarketField[],
    opts: SnapshotOptions = {},
  ): Promise<MarketSnapshot[]> {
    const ids = [...new Set(conids)];
    for (const c of ids) {
      if (!Number.isInteger(c) || c <= 0) {
        throw new BrokerError('INVALID_INPUT', `Invalid conid ${c}.`, { hint: 'Conids are positive integers.' });
      }
    }
    if (ids.length === 0) return [];
    const wanted = [...new Set(fields)];
    const [, contracts] = await Promise.all([
      this.ensureAccounts(opts.signal),
      Promise.all(ids.map((c) => this.prepare(c, opts.signal))),
    ]);
    const usStocks = new Set(contracts.filter((c) => c !== undefined && isUsStock(c)).map((c) => c?.conid));
    const codes = codesForFields(wanted);
    if (!codes.includes(AVAILABILITY_CODE)) codes.push(AVAILABILITY_CODE);
    const codeChunks = chunk(codes, MAX_SNAPSHOT_FIELDS);
    const waitMs = Math.max(0, opts.maxWaitMs ?? DEFAULT_MAX_WAIT_MS);
    const deadline = Date.now() + waitMs;
    const rows = new Map<number, Row>();
    // Conids the WebSocket streams with every code: no request. The others are asked for, then streamed.
    const received = new Map<number, number>();
    for (const c of ids) {
      const q = this.stream?.quote(c, codes);
      if (q && this.owed(c, q.row, wanted).length === 0) {
        rows.set(c, { ...q.row });
        received.set(c, q.receivedAt);
      }
    }
    const asked = ids.filter((c) => !received.has(c));
    // A conid never seen that still answers nothing after its pre-flight may be a derivative IB will
    // not quote before the secdef search of its underlying: look a few up, search their underlyings
    // (once per call, as soon as a batch sees such conids), and keep asking.
    const unknown = new Set(ids.filter((_, i) => !contracts[i]));
    let recovery: Promise<boolean> | undefined;
    const recover = (silent: number[]) => {
      recovery ??= this.searchUnderlyings(silent, opts.signal).catch(() => false);
      return recovery;
    };
    const silentOf = (list: readonly number[]) => list.filter((c) => unknown.has(c) && !hasData(rows.get(c)));
    const early = { silentOf, recover, waitMs };
    await Promise.all(
      chunk(asked, MAX_SNAPSHOT_CONIDS).map((batch) =>
        this.pollBatch(batch, wanted, codeChunks, deadline, rows, opts, early),
      ),
    );
    const silent = silentOf(asked);
    if (silent.length > 0 && recovery === undefined && (await recover(silent))) {
      const again = Date.now() + waitMs;
      await Promise.all(
        chunk(silent, MAX_SNAPSHOT_CONIDS).map((batch) => this.pollBatch(batch, wanted, codeChunks, again, rows, opts)),
      );
    }
    const answeredAt = Date.now();
    for (const c of asked) if (hasData(rows.get(c))) this.stream?.subscribeQuote(c, codes);
    return conids
      .filter((c, i) => conids.indexOf(c) === i)
      .map((conid) => {
        const row = rows.get(conid) ?? { conid };
        const snap = parseSnapshotRow(row, wanted, { usStock: usStocks.has(conid) });
        snap.conid = conid;
        const missing = wanted.filter((f) => snap.values[f] === undefined);
        if (missing.length > 0) snap.missing = missing;
        const fromStream = received.get(conid);
        snap.source = fromStream === undefined ? 'request' : 'stream';
        snap.receivedAt = fromStream ?? answeredAt;
        return snap;
      });
  }

  /**
   * Holds a streamed line for a conid (a subscription): `onUpdate` on every pushed change, until
   * the release, which ends the stream and frees IB's line.
   */
  watch(conid: number, fields: readonly MarketField[], onUpdate: () => void): () => void {
    const st = this.stream;
    if (!st) {
      throw new BrokerError('REFUSED', "Quote updates need IB's WebSocket, which is off (--no-websocket).", {
        hint: 'Read the quote again instead, or start ibkr-mcp without --no-websocket.',
      });
    }
    const codes = codesForFields([...new Set(fields)]);
    if (!codes.includes(AVAILABILITY_CODE)) codes.push(AVAILABILITY_CODE);
    let release: () => void;
    try {
      release = st.holdQuote(conid, codes);
    } catch (err) {
      if (!(err instanceof QuoteLinesFull)) throw err;
      throw new BrokerError('RATE_LIMITED', err.message, {
        hint: 'Unsubscribe from a quote you no longer need, then subscribe again.',
        retryable: false,
      });
    }
    const off = st.onQuote((c) => {
      if (c === conid) onUpdate();
    });
    return () => {
      off();
      release();
    };
  }

  /** Fields this conid still owes (ignoring ones it did not deliver in an earlier full wait). */
  private owed(conid: number, row: Row | undefined, fields: readonly MarketField[]): MarketField[] {
    if (!row) return [...fields];
    if (parseAvailability(row[AVAILABILITY_CODE]) === 'not-subscribed') return [];
    const skip = this.absent.get(conid);
    return fields.filter((f) => !rowHasField(row, f) && !skip?.has(f));
  }

  private async pollBatch(
    batch: number[],
    fields: readonly MarketField[],
    codeChunks: string[][],
    deadline: number,
    rows: Map<number, Row>,
    opts: SnapshotOptions,
    early?: {
      silentOf: (list: readonly number[]) => number[];
      recover: (silent: number[]) => Promise<boolean>;
      waitMs: number;
    },
  ): Promise<void> {
    let pending = batch;
    let round = 0;
    let dataAt: number | undefined;
    let recovered = false;
    for (;;) {
      await Promise.all(
        codeChunks.map(async (codes) => {
          const data = await this.batcher.fetch(pending, codes, opts.signal);
          const mine = new Set(pending);
          for (const item of data) {
            if (!isObject(item)) continue;
            const conid = toConid(item['conid']);
            if (!conid || !mine.has(conid)) continue;
            const prev = rows.get(conid);
            rows.set(conid, prev ? { ...prev, ...item } : { ...item });
          }
        }),
      );
      const still = pending.filter((c) => this.owed(c, rows.get(c), fields).length > 0);
      if (still.length === 0) return;
      // After the pre-flight and one more answer, unknown conids still without data start the
      // recovery; once it ran, they get a full wait of their own (their pre-flight starts again).
      const silent = early && !recovered && round >= 1 ? early.silentOf(still) : [];
      if (early && silent.length > 0) {
        recovered = true;
        if (await early.recover(silent)) deadline = Math.max(deadline, Date.now() + early.waitMs);
      }
      // Once every conid has delivered data, stragglers get a short grace period only: a field an
      // instrument simply lacks (no dividend, no greeks) must not cost the whole wait.
      if (still.every((c) => hasData(rows.get(c)))) {
        dataAt ??= Date.now();
        deadline = Math.min(deadline, dataAt + STRAGGLER_MS);
      }
      const delay = POLL_DELAYS_MS[Math.min(round, POLL_DELAYS_MS.length - 1)] as number;
      // IB's pre-flight answer never carries data: when it alone took the whole wait (a busy
      // machine), one more request is made rather than answering a quote with no value at all.
      const secondLook = round === 0 && opts.maxWaitMs !== 0 && still.some((c) => !hasData(rows.get(c)));
      if (Date.now() + delay > deadline && !secondLook) {
        // Give up on these fields for this session's later calls (they are requested, not awaited).
        for (const c of still) {
          const row = rows.get(c);
          if (!row || Object.keys(row).every((k) => k === 'conid' || k === 'conidEx')) continue;
          const owed = this.owed(c, row, fields);
          let set = this.absent.get(c);
          if (!set) {
            set = new Set();
            this.absent.set(c, set);
          }
          for (const f of owed) set.add(f);
        }
        return;
      }
      await sleep(delay, opts.signal);
      pending = still;
      round++;
    }
  }

  async history(req: HistoryRequest, opts: CallOptions = {}): Promise<HistoryResult> {
    const { period, bar } = validateHistoryParams(req.period, req.bar);
    if (!Number.isInteger(req.conid) || req.conid <= 0) {
      throw new BrokerError('INVALID_INPUT', `Invalid conid ${req.conid}.`, { hint: 'Conids are positive integers.' });
    }
    const query: Record<string, string | number | boolean | undefined> = { conid: req.conid, period, bar };
    if (req.outsideRth !== undefined) query['outsideRth'] = req.outsideRth;
    if (req.endTime !== undefined && String(req.endTime).trim() !== '') query['startTime'] = toIbStartTime(req.endTime);
    const res = await this.http.get<unknown>('/iserver/marketdata/history', { query, signal: opts.signal });
    if (isObject(res.data) && typeof res.data['error'] === 'string') {
      throw new BrokerError('NO_MARKET_DATA', `No history for conid ${req.conid}: ${untrusted(res.data['error'])}`, {
        hint: 'Check the conid and the period; some instruments have no data for some bar sizes.',
        details: { conid: req.conid, period, bar },
      });
    }
    const c = await this.describe(req.conid, opts.signal).catch(() => undefined);
    return parseHistoryResponse(req.conid, res.data, c ? { secType: c.secType, usStock: isUsStock(c) } : undefined);
  }
}
