/**
 * Bulk quotes against IB's pacing: 1,000 conids (SPY options from the simulator's chain) in one
 * get_quote call. IB allows 100 conids a snapshot request and 10 requests a second, so at best
 * 1,000 conids a second; the figure is conids quoted per second as a share of that, with the
 * number of 429 answers. Cold: nothing known yet (contract details and market-data streams are
 * opened on the way); warm: the same call again.
 */
import type { Client } from '@modelcontextprotocol/client';
import type { SimulatorHandle } from '../src/simulator/index.js';
import { optionMarkets } from '../src/simulator/options.js';
import { call, fmt, sim, stats } from './lib.js';

export interface BenchRow {
  metric: string;
  value: string;
  target: string;
  ok: boolean;
}

export const IB_MAX_CONIDS_PER_SECOND = 100 * 10;

export function optionConids(s: SimulatorHandle, symbol: string, count: number): number[] {
  const u = s.state.universe.bySymbolExact(symbol).find((i) => i.secType === 'STK');
  if (!u) throw new Error(`${symbol} is not in the simulator's universe`);
  const out: number[] = [];
  for (const row of optionMarkets(s.state).chain(u).byExpiry.values()) {
    for (const cell of row.values()) {
      if (cell.C) out.push(cell.C.conid);
      if (cell.P) out.push(cell.P.conid);
      if (out.length >= count) return out;
    }
  }
  return out;
}

export async function bulkRows(c: Client, s: SimulatorHandle): Promise<BenchRow[]> {
  const conids = optionConids(s, 'SPY', 1000);
  const rows: BenchRow[] = [];
  for (const label of ['cold', 'warm']) {
    await new Promise((r) => setTimeout(r, 1100));
    await sim(s, '/sim/reset', {});
    const r = await call(c, 'get_quote', { conids });
    const st = await stats(s);
    const priced = (r.text.match(/^\S.*: \d/gm) ?? []).length;
    const rate = conids.length / (r.ms / 1000);
    const share = rate / IB_MAX_CONIDS_PER_SECOND;
    const snaps = st.byEndpoint['GET /iserver/marketdata/snapshot'] ?? 0;
    rows.push({
      metric: `get_quote 1,000 conids, ${label}: share of IB's pacing (100 conids a snapshot, 10 requests/s)`,
      value: `${fmt(share * 100, 1)}% (${fmt(rate)} conids/s; ${fmt(r.ms)} ms, ${st.total} requests of which ${snaps} snapshots, ${st.status429} × 429, ${priced} quotes with a price${r.isError ? ', error' : ''})`,
      target: '≥ 80%, 0 × 429',
      ok: share >= 0.8 && st.status429 === 0 && !r.isError,
    });
  }
  return rows;
}
