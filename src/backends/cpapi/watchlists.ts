/**
 * IB's watchlist endpoints (ibkr-web-api-openapi-v3, tag "Watchlists"):
 *
 *   GET    /iserver/watchlists        {data:{user_lists:[{id, name, read_only, modified (ms), …}]}, …}
 *   GET    /iserver/watchlist?id=     {id, name, readOnly, instruments:[{C, conid, ticker, name, ST, …}]}
 *   POST   /iserver/watchlist         {id, name, rows} → {id, name, readOnly, instruments: []}
 *   DELETE /iserver/watchlist?id=     {data:{deleted: id}, …}
 *
 * The id of a new list "must be a number, digits 0-9 only" and unique, so a list is never
 * changed in place: an edit creates the new list, then deletes the old one. Rows are {"C": conid}
 * (IB's documentation; the V3 spec leaves the row object open).
 */
import type { CallOptions } from '../../broker/backend.js';
import { BrokerError, isBrokerError } from '../../broker/errors.js';
import type { Watchlist, WatchlistEntry, WatchlistInfo } from '../../broker/research.js';
import type { CpapiHttp } from './http.js';
import { isObject, noErrorBody, type Row, str, toConid } from './wire.js';

const flag = (v: unknown) => v === true || v === 1 || v === '1' || v === 'true';

function infoOf(r: Row, readOnlyKey: string): WatchlistInfo | undefined {
  const id = str(r['id']);
  if (!id) return undefined;
  const ms = typeof r['modified'] === 'number' ? r['modified'] : Number(str(r['modified']) ?? Number.NaN);
  return {
    id,
    name: str(r['name']) ?? '',
    readOnly: flag(r[readOnlyKey]),
    ...(Number.isFinite(ms) && ms > 0 ? { modified: new Date(ms).toISOString() } : {}),
  };
}

/** GET /iserver/watchlists. */
export function parseWatchlists(data: unknown): WatchlistInfo[] {
  const r = noErrorBody(data, 'list the watchlists');
  const d = isObject(r['data']) ? r['data'] : {};
  const rows = Array.isArray(d['user_lists']) ? d['user_lists'] : [];
  return rows.flatMap((r) => {
    const w = isObject(r) ? infoOf(r, 'read_only') : undefined;
    return w ? [w] : [];
  });
}

/** GET /iserver/watchlist?id=. */
export function parseWatchlist(data: unknown): Watchlist {
  const r = isObject(data) ? data : {};
  const info = infoOf(r, 'readOnly');
  if (!info) throw new BrokerError('GATEWAY_ERROR', 'IB answered the watchlist request without a watchlist id.');
  const rows = Array.isArray(r['instruments']) ? r['instruments'].filter(isObject) : [];
  const instruments = rows.flatMap((x): WatchlistEntry[] => {
    const conid = toConid(x['conid']) ?? toConid(x['C']);
    if (conid === undefined) return [];
    const e: WatchlistEntry = { conid, symbol: str(x['ticker']) ?? str(x['fullName']) ?? String(conid) };
    const st = str(x['assetClass']) ?? str(x['ST']);
    if (st) e.secType = st;
    const name = str(x['name']);
    if (name) e.name = name;
    return [e];
  });
  return { ...info, instruments };
}

/** POST /iserver/watchlist: {id, name, readOnly, instruments: []}; the ids sent stand in for missing ones. */
export function parseWatchlistCreated(data: unknown, id: string, name: string): WatchlistInfo {
  const r = noErrorBody(data, 'create the watchlist');
  return { id: str(r['id']) ?? id, name: str(r['name']) ?? name, readOnly: false };
}

/** DELETE /iserver/watchlist?id=: {data: {deleted: id}, …}, or IB's error body. */
export function parseWatchlistDeleted(data: unknown): { deleted?: string } {
  const r = noErrorBody(data, 'delete the watchlist');
  const deleted = isObject(r['data']) ? str(r['data']['deleted']) : undefined;
  return deleted ? { deleted } : {};
}

/**
 * A digits-only id not among `taken`: the first free one from 1000 (small enough for any integer
 * type IB may keep it in; IB's own example ids are four digits).
 */
export function freshWatchlistId(taken: ReadonlySet<string>): string {
  let n = 1000;
  while (taken.has(String(n))) n++;
  return String(n);
}

function unknownList(id: string): BrokerError {
  return new BrokerError('NOT_FOUND', `No watchlist ${id}.`, {
    hint: 'List the watchlists with get_watchlists and pass one of their ids.',
    details: { id },
  });
}

export class CpapiWatchlists {
  constructor(private readonly http: CpapiHttp) {}

  async watchlists(opts: CallOptions = {}): Promise<WatchlistInfo[]> {
    const res = await this.http.get<unknown>('/iserver/watchlists', { signal: opts.signal });
    return parseWatchlists(res.data);
  }

  /** The list entry, or NOT_FOUND: IB's own answer to an unknown id is not documented. */
  private async info(id: string, opts: CallOptions): Promise<WatchlistInfo> {
    const hit = (await this.watchlists(opts)).find((w) => w.id === id);
    if (!hit) throw unknownList(id);
    return hit;
  }

  async watchlist(id: string, opts: CallOptions = {}): Promise<Watchlist> {
    await this.info(id, opts);
    const res = await this.http.get<unknown>('/iserver/watchlist', { query: { id }, signal: opts.signal });
    return parseWatchlist(res.data);
  }

  async createWatchlist(name: string, conids: number[], opts: CallOptions = {}): Promise<WatchlistInfo> {
    const taken = new Set((await this.watchlists(opts)).map((w) => w.id));
    const id = freshWatchlistId(taken);
    const body = { id, name, rows: [...new Set(conids)].map((C) => ({ C })) };
    const res = await this.http.post<unknown>('/iserver/watchlist', { body, signal: opts.signal });
    return parseWatchlistCreated(res.data, id, name);
  }

  async deleteWatchlist(id: string, opts: CallOptions = {}): Promise<void> {
    const info = await this.info(id, opts);
    if (info.readOnly) {
      throw new BrokerError('REFUSED', `Watchlist ${id} is read-only (made by IB).`, {
        hint: 'Only your own watchlists can be deleted.',
      });
    }
    try {
      const res = await this.http.request<unknown>('DELETE', '/iserver/watchlist', {
        query: { id },
        signal: opts.signal,
      });
      parseWatchlistDeleted(res.data);
    } catch (err) {
      if (isBrokerError(err) && err.code === 'INVALID_INPUT' && /not found/i.test(String(err.details?.['error']))) {
        throw unknownList(id);
      }
      throw err;
    }
  }
}
