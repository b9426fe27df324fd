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
 *
 * And the market scanner, a small catalogue in the shape of IB's (V3 example: scan_type_list,
 * instrument_list, filter_list, location_tree) and results from the simulated prices:
 *
 *   GET  /iserver/scanner/params    the catalogue (IB paces it to once per 15 minutes: pacing.ts)
 *   POST /iserver/scanner/run       {instrument, type, location, filter:[{code, value}]}
 *                                   → {contracts:[{server_id, column_name?, symbol, conidex, con_id,
 *                                     company_name, scan_data, contract_description_1,
 *                                     listing_exchange, sec_type}], scan_data_column_name}
 */
import { HttpError, ibError, json, type Router } from '../server.js';
import type { SimState } from '../state.js';
import type { Instrument } from '../universe.js';
import { formatVolume } from './marketdata.js';

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

// ---------------------------------------------------------------- scanner

interface ScanType {
  code: string;
  name: string;
  column: string;
  /** Larger first. */
  score: (q: { changePct: number; volume: number; last: number }) => number;
  data: (q: { changePct: number; volume: number; last: number }) => string;
}

const pctText = (x: number) => `${x >= 0 ? '+' : ''}${x.toFixed(2)}%`;

type Q = Parameters<ScanType['score']>[0];
const scanType = (code: string, name: string, column: string, score: (q: Q) => number, data: (q: Q) => string) =>
  ({ code, name, column, score, data }) satisfies ScanType;

const SCAN_TYPES: ScanType[] = [
  scanType(
    'TOP_PERC_GAIN',
    'Top % Gainers',
    'Chg%',
    (q) => q.changePct,
    (q) => pctText(q.changePct),
  ),
  scanType(
    'TOP_PERC_LOSE',
    'Top % Losers',
    'Chg%',
    (q) => -q.changePct,
    (q) => pctText(q.changePct),
  ),
  scanType(
    'MOST_ACTIVE',
    'Most Active',
    'Volume',
    (q) => q.volume,
    (q) => formatVolume(q.volume),
  ),
  scanType(
    'HOT_BY_PRICE',
    'Hot Contracts by Price',
    'Last',
    (q) => q.last,
    (q) => q.last.toFixed(2),
  ),
];

const FILTERS: {
  code: string;
  name: string;
  test: (q: { changePct: number; volume: number; last: number }, v: number) => boolean;
}[] = [
  { code: 'priceAbove', name: 'Price Above', test: (q, v) => q.last > v },
  { code: 'priceBelow', name: 'Price Below', test: (q, v) => q.last < v },
  { code: 'volumeAbove', name: 'Volume Above', test: (q, v) => q.volume > v },
  { code: 'changePercAbove', name: 'Change (%) Above', test: (q, v) => q.changePct > v },
  { code: 'changePercBelow', name: 'Change (%) Below', test: (q, v) => q.changePct < v },
];

const LOCATIONS: { code: string; name: string; pick: (i: Instrument) => boolean }[] = [
  { code: 'STK.US.MAJOR', name: 'Listed/NASDAQ', pick: (i) => i.secType === 'STK' && i.isUS },
  { code: 'STK.US.MINOR', name: 'OTCMarkets', pick: () => false },
  { code: 'STK.US', name: 'US Stocks (all)', pick: (i) => i.secType === 'STK' && i.isUS },
];

const SCAN_INSTRUMENTS = ['STK'];

function scannerParams(): Record<string, unknown> {
  return {
    scan_type_list: SCAN_TYPES.map((t) => ({ display_name: t.name, code: t.code, instruments: SCAN_INSTRUMENTS })),
    instrument_list: [{ display_name: 'US Stocks', type: 'STK', filters: FILTERS.map((f) => f.code) }],
    filter_list: FILTERS.map((f) => ({ group: f.code, display_name: f.name, code: f.code, type: 'non-range' })),
    location_tree: [
      {
        display_name: 'US Stocks',
        type: 'STK',
        locations: LOCATIONS.map((l) => ({ display_name: l.name, type: l.code, locations: [] })),
      },
    ],
  };
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

  router.get('/iserver/scanner/params', () => json(scannerParams()));

  router.post('/iserver/scanner/run', (ctx) => {
    const b = (ctx.body ?? {}) as Record<string, unknown>;
    const instrument = String(b['instrument'] ?? '');
    const type = SCAN_TYPES.find((t) => t.code === b['type']);
    const location = LOCATIONS.find((l) => l.code === b['location']);
    if (!SCAN_INSTRUMENTS.includes(instrument)) return ibError(400, `Bad Request: invalid instrument ${instrument}`);
    if (!type) return ibError(400, `Bad Request: invalid scan type ${String(b['type'] ?? '')}`);
    if (!location) return ibError(400, `Bad Request: invalid location ${String(b['location'] ?? '')}`);
    const filters: { test: (typeof FILTERS)[number]['test']; value: number }[] = [];
    for (const f of Array.isArray(b['filter']) ? (b['filter'] as Record<string, unknown>[]) : []) {
      const def = FILTERS.find((x) => x.code === f?.['code']);
      const value = Number(f?.['value']);
      if (!def || !Number.isFinite(value))
        return ibError(400, `Bad Request: invalid filter ${String(f?.['code'] ?? '')}`);
      filters.push({ test: def.test, value });
    }
    const now = state.clock.now();
    const rows = state.universe
      .all()
      .filter(location.pick)
      .map((inst) => ({ inst, q: state.prices.quote(inst, now) }))
      .filter(({ q }) => filters.every((f) => f.test(q, f.value)))
      .sort((x, y) => type.score(y.q) - type.score(x.q))
      .slice(0, 50);
    const contracts = rows.map(({ inst, q }, i) => ({
      server_id: String(i),
      ...(i === 0 ? { column_name: type.column } : {}),
      symbol: inst.symbol,
      conidex: String(inst.conid),
      con_id: inst.conid,
      available_chart_periods: '#R|1',
      company_name: inst.name.toUpperCase(),
      scan_data: type.data(q),
      contract_description_1: inst.symbol,
      listing_exchange: inst.listingExchange === 'NASDAQ' ? 'NASDAQ.NMS' : inst.listingExchange,
      sec_type: inst.secType,
    }));
    return json({ contracts, scan_data_column_name: type.column });
  });
}
