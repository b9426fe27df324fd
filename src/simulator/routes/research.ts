/**
 * Watchlists in the shapes of IB's V3 spec ("Watchlists" tag), kept per simulator state:
 *
 *   GET    /iserver/watchlists[?SC=USER_WATCHLIST]   {data:{scanners_only,show_scanners,bulk_delete,
 *                                                    user_lists:[{is_open,read_only,name,modified,id,type}]},
 *                                                    action:"content", MID}
 *   GET    /iserver/watchlist?id=                   {id,hash,name,readOnly,instruments:[{ST,C,conid,name,
 *                                                    fullName,assetClass,ticker,chineseName}]}
 *   POST   /iserver/watchlist {id,name,rows:[{C}]}  {id,hash,name,readOnly:false,instruments:[]}
 *   DELETE /iserver/watchlist?id=                   {data:{deleted:id},action:"context",MID}
 *
 * The id must be digits and unique (V3); rows are {"C": conid} (or {"H": header}, kept out of
 * the instruments), as IB's documentation writes them. One IB-made, read-only list is there
 * from the start (left out by SC=USER_WATCHLIST).
 */
import { HttpError, ibError, json, type Router } from '../server.js';
import type { SimState } from '../state.js';

interface SimWatchlist {
  id: string;
  name: string;
  readOnly: boolean;
  modified: number;
  conids: number[];
}

const IB_LIST_CONIDS = [265598, 272093, 8314];

function lists(state: SimState): Map<string, SimWatchlist> {
  let m = state.ext.get('watchlists') as Map<string, SimWatchlist> | undefined;
  if (!m) {
    m = new Map();
    const conids = IB_LIST_CONIDS.filter((c) => state.universe.get(c));
    m.set('100', { id: '100', name: 'IB Top Picks', readOnly: true, modified: state.clock.now(), conids });
    state.ext.set('watchlists', m);
  }
  return m;
}

function notFound(id: string): HttpError {
  return new HttpError(400, { error: `Bad Request: watchlist ${id} not found`, statusCode: 400 });
}

export function register(router: Router, state: SimState): void {
  let mid = 0;
  state.hooks.reset.push(() => state.ext.delete('watchlists'));

  router.get('/iserver/watchlists', (ctx) => {
    const userOnly = ctx.query.get('SC') === 'USER_WATCHLIST';
    const user_lists = [...lists(state).values()]
      .filter((w) => !(userOnly && w.readOnly))
      .map((w) => ({
        is_open: false,
        read_only: w.readOnly,
        name: w.name,
        modified: w.modified,
        id: w.id,
        type: 'watchlist',
      }));
    return json({
      data: { scanners_only: false, show_scanners: false, bulk_delete: false, user_lists },
      action: 'content',
      MID: String(++mid),
    });
  });

  router.get('/iserver/watchlist', (ctx) => {
    const id = ctx.query.get('id') ?? '';
    if (!id) return ibError(400, 'Bad Request: id is required');
    const w = lists(state).get(id);
    if (!w) throw notFound(id);
    const instruments = w.conids.flatMap((conid) => {
      const inst = state.universe.get(conid);
      if (!inst) return [];
      return [
        {
          ST: inst.secType,
          C: String(conid),
          conid,
          name: inst.name.toUpperCase(),
          fullName: inst.localSymbol || inst.symbol,
          assetClass: inst.secType,
          ticker: inst.symbol,
          chineseName: '',
        },
      ];
    });
    return json({ id: w.id, hash: String(w.modified), name: w.name, readOnly: w.readOnly, instruments });
  });

  router.post('/iserver/watchlist', (ctx) => {
    const b = (ctx.body ?? {}) as Record<string, unknown>;
    const id = typeof b['id'] === 'string' ? b['id'] : '';
    const name = typeof b['name'] === 'string' ? b['name'].trim() : '';
    if (!/^\d+$/.test(id)) return ibError(400, 'Bad Request: id must be a number, digits 0-9 only');
    if (!name) return ibError(400, 'Bad Request: name is required');
    if (!Array.isArray(b['rows'])) return ibError(400, 'Bad Request: rows is required');
    const store = lists(state);
    if (store.has(id)) return ibError(400, `Bad Request: watchlist id ${id} already exists`);
    const conids: number[] = [];
    for (const row of b['rows'] as unknown[]) {
      const r = (row ?? {}) as Record<string, unknown>;
      if (r['H'] !== undefined) continue;
      const conid = Number(r['C']);
      if (!Number.isInteger(conid) || !state.universe.get(conid)) {
        return ibError(400, `Bad Request: invalid conid ${String(r['C'])}`);
      }
      if (!conids.includes(conid)) conids.push(conid);
    }
    const w: SimWatchlist = { id, name, readOnly: false, modified: state.clock.now(), conids };
    store.set(id, w);
    return json({ id, hash: String(w.modified), name, readOnly: false, instruments: [] });
  });

  router.delete('/iserver/watchlist', (ctx) => {
    const id = ctx.query.get('id') ?? '';
    if (!id) return ibError(400, 'Bad Request: id is required');
    const store = lists(state);
    const w = store.get(id);
    if (!w) throw notFound(id);
    if (w.readOnly) return ibError(400, `Bad Request: watchlist ${id} is read-only`);
    store.delete(id);
    return json({ data: { deleted: id }, action: 'context', MID: String(++mid) });
  });
}
