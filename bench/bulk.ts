/**
 * Bulk quotes against IB's pacing: 1,000 conids (SPY options from the simulator's chain) in one
 * get_quote call. IB allows 100 conids a snapshot request and 10 requests a second, so at best
 * 1,000 conids a second; the figure is conids quoted per second as a share of that, with the
 * number of 429 answers. Cold: nothing known yet (market-data streams are opened on the way, so
 * IB's pre-flight makes it 20 requests); warm: the same conids again.
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

/** One get_quote call for the conids, on a fresh pacing window and counters. */
async function bulkCall(c: Client, s: SimulatorHandle, conids: number[]) {
  await new Promise((r) => setTimeout(r, 1100));
  await sim(s, '/sim/reset', {});
  const r = await call(c, 'get_quote', { conids });
  const st = await stats(s);
  return {
    ms: r.ms,
    isError: r.isError,
    requests: st.total,
    snapshots: st.byEndpoint['GET /iserver/marketdata/snapshot'] ?? 0,
    status429: st.status429,
    priced: (r.text.match(/^\S.*: \d/gm) ?? []).length,
  };
}

/**
 * Cold: 1,000 option conids never quoted before, three times (SPY, QQQ, IWM chains), so that one
 * slow scheduling moment on a small machine does not make the figure; warm: the SPY set again,
 * three times. Each figure is the median run, with all three times shown.
 */
export async function bulkRows(c: Client, s: SimulatorHandle): Promise<BenchRow[]> {
  const sets = ['SPY', 'QQQ', 'IWM'].map((u) => optionConids(s, u, 1000));
  const rows: BenchRow[] = [];
  for (const label of ['cold', 'warm'] as const) {
    const runs = [];
    for (const conids of label === 'cold' ? sets : [sets[0]!, sets[0]!, sets[0]!])
      runs.push(await bulkCall(c, s, conids));
    const r = [...runs].sort((a, b) => a.ms - b.ms)[1]!;
    const rate = 1000 / (r.ms / 1000);
    const share = rate / IB_MAX_CONIDS_PER_SECOND;
    const all429 = runs.reduce((a, x) => a + x.status429, 0);
    const ok = share >= 0.8 && all429 === 0 && runs.every((x) => !x.isError && x.priced === 1000);
    rows.push({
      metric: `get_quote 1,000 conids, ${label}: share of IB's pacing (100 conids a snapshot, 10 requests/s), median of 3`,
      value: `${fmt(share * 100, 1)}% (${fmt(rate)} conids/s; ${fmt(r.ms)} ms [runs ${runs.map((x) => fmt(x.ms)).join(', ')}], ${r.requests} requests of which ${r.snapshots} snapshots, ${all429} × 429 in all runs, ${r.priced} quotes with a price)`,
      target: '≥ 80%, 0 × 429',
      ok,
    });
  }
  return rows;
}
