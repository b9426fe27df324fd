/**
 * Options figures for `npm run bench`: a 3 expirations × 10 strikes chain with greeks for SPY,
 * cold (nothing cached) and warm (listing cached, quotes refreshed), with gateway request
 * counts, wall time and the size of the structured result.
 */
import type { Client } from '@modelcontextprotocol/client';
import type { SimulatorHandle } from '../src/simulator/index.js';
import { fmt, sim, stats } from './lib.js';

export interface BenchRow {
  metric: string;
  value: string;
  target: string;
  ok: boolean;
}

const CHAIN_ARGS = { symbol: 'SPY', expirationCount: 3, strikeCount: 10, includeGreeks: true };

async function chainOnce(s: SimulatorHandle, client: Client) {
  await sim(s, '/sim/reset', {});
  const t0 = performance.now();
  const res = await client.callTool({ name: 'get_options_chain', arguments: CHAIN_ARGS }, { timeout: 600_000 });
  const ms = performance.now() - t0;
  if (res.isError) throw new Error(`bench get_options_chain failed: ${JSON.stringify(res.content)}`);
  const st = await stats(s);
  const structuredBytes = Buffer.byteLength(JSON.stringify(res.structuredContent));
  const textBytes = Buffer.byteLength(
    ((res.content ?? []) as Array<{ text?: string }>).map((c) => c.text ?? '').join('\n'),
  );
  return { ms, requests: st.total, status429: st.status429, byEndpoint: st.byEndpoint, structuredBytes, textBytes };
}

export async function benchOptions(s: SimulatorHandle, client: Client): Promise<BenchRow[]> {
  // Let the pacer's window empty after earlier measurements.
  await new Promise((r) => setTimeout(r, 1100));
  const cold = await chainOnce(s, client);
  // Warm: the median of three repeats (the first one may still wait for the pacer's window after the cold call).
  const repeats = [await chainOnce(s, client), await chainOnce(s, client), await chainOnce(s, client)];
  const warm = [...repeats].sort((a, b) => a.ms - b.ms)[1] as (typeof repeats)[number];
  const endpoints = Object.entries(cold.byEndpoint)
    .map(([k, v]) => `${k.replace(/^GET |^POST /, '')} ${v}`)
    .join(', ');
  return [
    {
      metric: 'get_options_chain SPY 3×10 with greeks, cold',
      value: `${fmt(cold.ms)} ms, ${cold.requests} requests (${endpoints}), ${cold.status429} × 429`,
      target: '< 1500 ms',
      ok: cold.ms < 1500 && cold.status429 === 0,
    },
    {
      metric: 'get_options_chain SPY 3×10 with greeks, warm',
      value: `${fmt(warm.ms)} ms median of 3 (${repeats.map((r) => fmt(r.ms)).join(', ')}), ${warm.requests} requests`,
      target: '< 300 ms',
      ok: warm.ms < 300,
    },
    {
      metric: 'get_options_chain SPY 3×10 with greeks, result size',
      value: `${cold.structuredBytes} B structured, ${cold.textBytes} B text`,
      target: '< 6 KB structured',
      ok: cold.structuredBytes < 6144,
    },
  ];
}
