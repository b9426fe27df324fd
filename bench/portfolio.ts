/**
 * Portfolio figures for `npm run bench`: the size of get_positions and get_portfolio_summary
 * for the simulated 100+ position account against the bytes of IB's raw JSON for the same
 * data (positions pages; plus summary and ledger for the summary), and their timing.
 */
import type { Client } from '@modelcontextprotocol/client';
import type { SimulatorHandle } from '../src/simulator/index.js';
import { call, fmt, sim, stats } from './lib.js';

export interface BenchRow {
  metric: string;
  value: string;
  target: string;
  ok: boolean;
}

const ACCOUNT = 'DU1234567';

async function rawBytes(s: SimulatorHandle, path: string): Promise<number> {
  for (let attempt = 0; ; attempt++) {
    const body = (await sim(s, `/v1/api${path}`)) as { statusCode?: number } | null;
    // The gateway's pacing applies to these direct reads too: wait out a 429.
    if (body && !Array.isArray(body) && body.statusCode === 429 && attempt < 5) {
      await new Promise((r) => setTimeout(r, 1100));
      continue;
    }
    if (body && !Array.isArray(body) && typeof body.statusCode === 'number')
      throw new Error(`${path}: ${JSON.stringify(body)}`);
    return Buffer.byteLength(JSON.stringify(body));
  }
}

export async function portfolioRows(c: Client, s: SimulatorHandle): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  await sim(s, '/sim/reset', {});
  const positions = await call(c, 'get_positions', { accountId: ACCOUNT, limit: 1000 });
  if (positions.isError) throw new Error(`get_positions failed: ${positions.text}`);
  const posStats = await stats(s);
  await sim(s, '/sim/reset', {});
  const summary = await call(c, 'get_portfolio_summary', { accountId: ACCOUNT });
  if (summary.isError) throw new Error(`get_portfolio_summary failed: ${summary.text}`);
  const sumStats = await stats(s);

  // The same data as IB sends it (the server's session already called /portfolio/accounts).
  let pages = 0;
  for (let p = 0; ; p++) {
    const b = await rawBytes(s, `/portfolio/${ACCOUNT}/positions/${p}`);
    if (b <= 2) break;
    pages += b;
  }
  const ibSummary =
    pages + (await rawBytes(s, `/portfolio/${ACCOUNT}/summary`)) + (await rawBytes(s, `/portfolio/${ACCOUNT}/ledger`));
  const count = positions.text.match(/: (\d+) positions/)?.[1] ?? '?';
  const pr = positions.bytes / pages;
  const sr = summary.bytes / ibSummary;
  rows.push({
    metric: `get_positions, ${count} positions (2 pages), size vs IB raw JSON`,
    value: `${positions.bytes} B vs ${pages} B = ${fmt(pr * 100, 1)}% (~${positions.tokens} tokens); ${fmt(positions.ms)} ms, ${posStats.total} requests`,
    target: '≤ 33.3%',
    ok: pr <= 1 / 3,
  });
  rows.push({
    metric: 'get_portfolio_summary (by secType), size vs IB raw JSON (positions + summary + ledger)',
    value: `${summary.bytes} B vs ${ibSummary} B = ${fmt(sr * 100, 1)}% (~${summary.tokens} tokens); ${fmt(summary.ms)} ms, ${sumStats.total} requests`,
    target: '≤ 33.3%',
    ok: sr <= 1 / 3,
  });
  return rows;
}
