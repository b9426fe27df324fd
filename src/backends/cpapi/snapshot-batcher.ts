/**
 * Merges concurrent snapshot requests into as few gateway requests as IB allows.
 *
 * IB answers one snapshot request for up to 100 conids and 50 fields, and paces requests at
 * about 10 a second. Requests that arrive while an earlier one is still waiting for its pacer
 * slot join it (union of conids and fields, within IB's limits); the joined request is sealed
 * the moment the pacer lets it go. A burst of different quotes therefore costs a handful of
 * requests instead of one each. Every caller gets the whole answer and keeps its own rows.
 */
import { BrokerError } from '../../broker/errors.js';
import { untrusted } from '../../broker/untrusted.js';
import { type CpapiHttp, raceSignal } from './http.js';

export const MAX_SNAPSHOT_CONIDS = 100;
export const MAX_SNAPSHOT_FIELDS = 50;

interface Batch {
  conids: Set<number>;
  codes: Set<string>;
  sealed: boolean;
  result: Promise<unknown[]>;
}

export class SnapshotBatcher {
  private open: Batch | undefined;

  constructor(private readonly http: CpapiHttp) {}

  /** The raw rows of one snapshot answer that includes at least these conids and codes. */
  fetch(conids: readonly number[], codes: readonly string[], signal?: AbortSignal): Promise<unknown[]> {
    const open = this.open;
    if (open && !open.sealed && this.fits(open, conids, codes)) {
      for (const c of conids) open.conids.add(c);
      for (const c of codes) open.codes.add(c);
      return raceSignal(open.result, signal);
    }
    const batch: Batch = {
      conids: new Set(conids),
      codes: new Set(codes),
      sealed: false,
      result: Promise.resolve([]),
    };
    batch.result = this.http
      .get<unknown>('/iserver/marketdata/snapshot', {
        // A merged request serves several calls: it takes its turn in the pacer as a caller of its own.
        owner: batch,
        query: () => {
          batch.sealed = true;
          if (this.open === batch) this.open = undefined;
          return { conids: [...batch.conids].join(','), fields: [...batch.codes].join(',') };
        },
      })
      .then((res) => {
        const data = res.data;
        if (data && typeof data === 'object' && !Array.isArray(data)) {
          const error = (data as Record<string, unknown>)['error'];
          if (typeof error === 'string') {
            throw new BrokerError('NO_MARKET_DATA', `The gateway refused the snapshot: ${untrusted(error)}`, {
              details: { conids: [...batch.conids] },
            });
          }
        }
        return Array.isArray(data) ? data : [];
      })
      .finally(() => {
        batch.sealed = true;
        if (this.open === batch) this.open = undefined;
      });
    // A caller's cancellation ends only its own wait; the shared request keeps its timeout.
    batch.result.catch(() => {});
    this.open = batch;
    return raceSignal(batch.result, signal);
  }

  private fits(batch: Batch, conids: readonly number[], codes: readonly string[]): boolean {
    let n = batch.conids.size;
    for (const c of conids) if (!batch.conids.has(c)) n++;
    if (n > MAX_SNAPSHOT_CONIDS) return false;
    let f = batch.codes.size;
    for (const c of codes) if (!batch.codes.has(c)) f++;
    return f <= MAX_SNAPSHOT_FIELDS;
  }
}
