/**
 * IB's market scanner (ibkr-web-api-openapi-v3, tag "Scanner"):
 *
 *   GET  /iserver/scanner/params   {scan_type_list:[{display_name, code, instruments}],
 *                                   instrument_list:[{display_name, type, filters}],
 *                                   filter_list:[{group, display_name, code, type}],
 *                                   location_tree:[{display_name, type, locations:[{…, locations}]}]}
 *   POST /iserver/scanner/run      {instrument, type, location, filter:[{code, value}]}
 *                                   → {contracts:[{server_id, symbol, con_id, company_name, scan_data,
 *                                     listing_exchange, sec_type, column_name (first row)}], …}
 *
 * IB allows the catalogue once per 15 minutes (limiter.ts), so it is read once and kept that
 * long (one read in flight at a time); every scan is checked against it before it is sent, so a
 * code IB does not offer fails here with the valid ones instead of as IB's bare error.
 */
import type { CallOptions } from '../../broker/backend.js';
import { BrokerError } from '../../broker/errors.js';
import type { ScanHit, ScannerCatalogue, ScanRequest } from '../../broker/research.js';
import { type CpapiHttp, raceSignal } from './http.js';
import { isObject, noErrorBody, type Row, str, toConid } from './wire.js';

/** IB's pacing of /iserver/scanner/params: one read per 15 minutes. */
export const SCANNER_PARAMS_TTL_MS = 15 * 60_000;

const rowsOf = (v: unknown): Row[] => (Array.isArray(v) ? v.filter(isObject) : []);
const strings = (v: unknown): string[] => (Array.isArray(v) ? v.flatMap((x) => str(x) ?? []) : []);

/** GET /iserver/scanner/params, with the location tree flattened. */
export function parseScannerParams(data: unknown, fetchedAt: string): ScannerCatalogue {
  const d = isObject(data) ? data : {};
  const scanTypes = rowsOf(d['scan_type_list']).flatMap((r) => {
    const code = str(r['code']);
    return code ? [{ code, name: str(r['display_name']) ?? code, instruments: strings(r['instruments']) }] : [];
  });
  const instruments = rowsOf(d['instrument_list']).flatMap((r) => {
    const type = str(r['type']);
    return type ? [{ type, name: str(r['display_name']) ?? type, filters: strings(r['filters']) }] : [];
  });
  const filters = rowsOf(d['filter_list']).flatMap((r) => {
    const code = str(r['code']);
    const kind = str(r['type']);
    return code ? [{ code, name: str(r['display_name']) ?? code, ...(kind ? { kind } : {}) }] : [];
  });
  const locations: ScannerCatalogue['locations'] = [];
  const walk = (nodes: Row[], instrument: string | undefined) => {
    for (const n of nodes) {
      const code = str(n['type']);
      if (!code) continue;
      const root = instrument ?? code;
      if (instrument !== undefined) locations.push({ code, name: str(n['display_name']) ?? code, instrument: root });
      walk(rowsOf(n['locations']), root);
    }
  };
  walk(rowsOf(d['location_tree']), undefined);
  return { scanTypes, instruments, filters, locations, fetchedAt };
}

/** The valid codes nearest to what was asked: those sharing a word with it first. */
function nearest(asked: string, valid: readonly string[], max = 10): string[] {
  const words = asked
    .toUpperCase()
    .split(/[^A-Z0-9]+/)
    .filter((w) => w.length >= 3);
  const near = valid.filter((v) => words.some((w) => v.toUpperCase().includes(w)));
  return [...new Set([...near, ...valid])].slice(0, max);
}

function notOffered(what: string, asked: string, valid: readonly string[]): BrokerError {
  return new BrokerError('INVALID_INPUT', `IB's scanner offers no ${what} "${asked}".`, {
    hint: valid.length
      ? `Valid: ${nearest(asked, valid).join(', ')}${valid.length > 10 ? ', …' : ''}.`
      : `IB lists no ${what}s.`,
    details: { [what]: asked },
  });
}

/** Checks a scan against IB's catalogue: instrument, type (for that instrument), location (under it), filters. */
export function checkScan(req: ScanRequest, cat: ScannerCatalogue): void {
  if (!cat.instruments.some((i) => i.type === req.instrument)) {
    throw notOffered(
      'instrument',
      req.instrument,
      cat.instruments.map((i) => i.type),
    );
  }
  const forInstrument = cat.scanTypes.filter(
    (t) => t.instruments.length === 0 || t.instruments.includes(req.instrument),
  );
  if (!forInstrument.some((t) => t.code === req.type)) {
    throw notOffered(
      `scan type for ${req.instrument}`,
      req.type,
      forInstrument.map((t) => t.code),
    );
  }
  const locs = cat.locations.filter((l) => l.instrument === req.instrument);
  if (!locs.some((l) => l.code === req.location)) {
    throw notOffered(
      `location for ${req.instrument}`,
      req.location,
      locs.map((l) => l.code),
    );
  }
  for (const f of req.filters) {
    if (!cat.filters.some((x) => x.code === f.code))
      throw notOffered(
        'filter',
        f.code,
        cat.filters.map((x) => x.code),
      );
  }
}

/** POST /iserver/scanner/run. */
export function parseScanResult(data: unknown): { column?: string; hits: ScanHit[] } {
  const d = noErrorBody(data, 'run the scan');
  const rows = rowsOf(Array.isArray(data) ? data : d['contracts']);
  const hits = rows.flatMap((r, i): ScanHit[] => {
    const conid = toConid(r['con_id']) ?? toConid(str(r['conidex'])?.split('@')[0]);
    const symbol = str(r['symbol']);
    if (conid === undefined || !symbol) return [];
    const h: ScanHit = { rank: i + 1, conid, symbol };
    const name = str(r['company_name']);
    if (name) h.name = name;
    const exchange = str(r['listing_exchange']);
    if (exchange) h.exchange = exchange;
    const secType = str(r['sec_type']);
    if (secType) h.secType = secType;
    const value = str(r['scan_data']);
    if (value) h.value = value;
    return [h];
  });
  const column = str(d['scan_data_column_name']) ?? str(rows[0]?.['column_name']);
  return { ...(column ? { column } : {}), hits };
}

export class CpapiScanner {
  private cached: { at: number; cat: ScannerCatalogue } | undefined;
  private loading: Promise<ScannerCatalogue> | undefined;

  constructor(
    private readonly http: CpapiHttp,
    private readonly now: () => number = Date.now,
  ) {}

  async catalogue(opts: CallOptions = {}): Promise<ScannerCatalogue> {
    if (this.cached && this.now() - this.cached.at < SCANNER_PARAMS_TTL_MS) return this.cached.cat;
    if (!this.loading) {
      this.loading = (async () => {
        // Not tied to one caller's signal: a cancelled call must not waste the 15-minute read.
        const res = await this.http.get<unknown>('/iserver/scanner/params', {});
        const at = this.now();
        const cat = parseScannerParams(res.data, new Date(at).toISOString());
        if (cat.scanTypes.length === 0) throw new BrokerError('GATEWAY_ERROR', 'IB sent an empty scanner catalogue.');
        this.cached = { at, cat };
        return cat;
      })().finally(() => {
        this.loading = undefined;
      });
    }
    return raceSignal(this.loading, opts.signal);
  }

  async scan(req: ScanRequest, opts: CallOptions = {}): Promise<{ column?: string; hits: ScanHit[] }> {
    checkScan(req, await this.catalogue(opts));
    const body = { instrument: req.instrument, type: req.type, location: req.location, filter: req.filters };
    // A scan changes nothing at IB: repeating it after a lost answer is safe.
    const res = await this.http.post<unknown>('/iserver/scanner/run', { body, signal: opts.signal, idempotent: true });
    return parseScanResult(res.data);
  }
}
