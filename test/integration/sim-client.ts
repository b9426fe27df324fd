/**
 * A raw HTTPS client for the simulator in unit tests: IB's API under /v1/api, the control
 * surface under /sim. Accepts the simulator's self-signed certificate.
 */
import { after } from 'node:test';
import { Agent, fetch } from 'undici';
import type { SimulatorHandle } from '../../src/simulator/index.js';

export const dispatcher = new Agent({ connect: { rejectUnauthorized: false } });
after(() => dispatcher.close());

// biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON bodies
export type Body = any;

export async function call(
  sim: SimulatorHandle,
  method: string,
  path: string,
  body?: unknown,
  signal?: AbortSignal,
): Promise<{ status: number; body: Body }> {
  const base = path.startsWith('/sim/') ? sim.url : sim.apiBase;
  const res = await fetch(base + path, {
    method,
    dispatcher,
    signal,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? (method === 'POST' ? '' : undefined) : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}
