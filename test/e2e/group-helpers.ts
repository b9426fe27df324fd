/** Helpers of the order-group e2e tests (oca.test.ts, bracket-groups.test.ts, groups-property.test.ts). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Harness } from './harness.js';

export interface JournalLine {
  cOID: string;
  ev: string;
  group?: string;
  state?: string;
  orderId?: string;
  message?: string;
}

export async function lastPrice(h: Harness, symbol: string): Promise<number> {
  const q = await h.callTool('get_quote', { symbol });
  return q.structured.quotes[0].last as number;
}

export function journalLines(h: Harness): JournalLine[] {
  return readFileSync(join(h.home, 'journal.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as JournalLine);
}

export const cents = (x: number) => Math.round(x * 100) / 100;

/** An order as the simulator's /sim/orders shows it. */
export interface SimOrder {
  orderId: number;
  cOID?: string;
  parentOrderId?: number;
  ocaGroup?: string;
  symbol: string;
  conid: number;
  side: string;
  type: string;
  qty: number;
  limit?: number;
  stop?: number;
  status: string;
  filled: number;
}

export interface SimView {
  orders: SimOrder[];
  executions: Array<{ orderId: number; side: string; qty: number; conid: number; cOID?: string }>;
  cOIDSubmissions: Record<string, number>;
}
