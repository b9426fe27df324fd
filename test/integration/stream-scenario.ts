/**
 * The WebSocket's hard session, shared by its integration test and `npm run bench:stream`: a
 * backend streams a quote and live orders from the simulator with shortened timers while the
 * market-data stream ends (1.5 s) and the socket is dropped and then goes silent, `rounds` times;
 * a market order is placed in each phase. Measures the worst gap between current quotes (from the
 * stream or, while it is down, from REST) and the order updates the stream reported.
 */
import { createCpapiBackend } from '../../src/backends/cpapi/index.js';
import { Pacer } from '../../src/backends/cpapi/limiter.js';
import type { OrderEvent } from '../../src/backends/cpapi/stream.js';
import type { OrderRequest } from '../../src/broker/orders.js';
import { startSimulator } from '../../src/simulator/index.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const AAPL = { conid: 265598, secType: 'STK', symbol: 'AAPL' } as const;

/** A paper-account order for 1 AAPL, at market unless `over` says otherwise. */
export function aaplOrder(clientOrderId: string, over: Partial<OrderRequest> = {}): OrderRequest {
  const terms = { side: 'BUY', orderType: 'MKT', quantity: 1, tif: 'DAY', outsideRth: false } as const;
  return { accountId: 'DU1234567', ...AAPL, ...terms, clientOrderId, ...over };
}

export interface FaultSessionResult {
  worstGapMs: number;
  reconnects: number;
  /** Placed orders whose Filled update never came. */
  missed: number;
  /** Filled updates beyond one per order. */
  duplicates: number;
  /** The orders as the backend lists them at the end, by id. */
  finalStates: Record<string, string>;
}

export async function faultSession(rounds = 1): Promise<FaultSessionResult> {
  const s = await startSimulator({
    seed: 5,
    pacing: false,
    tls: false,
    ws: { hbMs: 100, tickMs: 20, smdLifetimeMs: 1500 },
  });
  const b = createCpapiBackend({
    baseUrl: s.url,
    pacer: new Pacer({ endpoints: {}, maxPerWindow: 1000 }),
    timeoutMs: 8000,
    stream: { staleMs: 400, smdRenewMs: 1000, echoMs: 200, ticMs: 1000, backoffMs: [50, 100, 200] },
  });
  const faults = (body: unknown) =>
    fetch(`${s.url}/sim/faults`, {
      method: 'POST',
      body: JSON.stringify(body),
      headers: { 'content-type': 'application/json' },
    });
  try {
    await b.session.loggedIn();
    b.session.ready();
    const events: OrderEvent[] = [];
    b.stream!.onOrder((e) => events.push(e));
    let lastGood = Date.now();
    let worst = 0;
    let stop = false;
    const sampler = (async () => {
      while (!stop) {
        const [q] = await b.snapshot([265598], ['last', 'bid', 'ask'], { maxWaitMs: 1500 });
        const now = Date.now();
        if (q && typeof q.values.last === 'number' && now - (q.receivedAt ?? 0) < 2000) {
          worst = Math.max(worst, now - lastGood);
          lastGood = now;
        }
        await sleep(50);
      }
    })();
    const ids: string[] = [];
    const place = async (n: number) => {
      const o = aaplOrder(`ws-scenario-${n}-${Date.now()}`);
      let out = await b.placeOrder(o);
      if (out.kind === 'questions') out = await b.reply(out.question.replyId, true);
      if (out.kind !== 'placed') throw new Error(`order not placed: ${JSON.stringify(out)}`);
      ids.push(out.orders[0]!.orderId);
    };
    for (let round = 0; round < rounds; round++) {
      await place(round * 10 + 1);
      await sleep(1700); // past one smd lifetime: the client must have renewed it
      await faults({ ws: { drop: true } });
      await place(round * 10 + 2); // placed while the socket is down
      await sleep(800);
      await faults({ ws: { silent: true } }); // open, but nothing comes
      await place(round * 10 + 3);
      await sleep(1500);
    }
    stop = true;
    await sampler;
    let missed = 0;
    let duplicates = 0;
    for (const id of ids) {
      const fills = events.filter(
        (e) => e.orderId === id && e.row['status'] === 'Filled' && e.changed.includes('status'),
      );
      if (fills.length === 0) missed++;
      if (fills.length > 1) duplicates += fills.length - 1;
    }
    const live = await b.liveOrders();
    const finalStates = Object.fromEntries(
      ids.map((id) => [id, live.find((o) => o.orderId === id)?.state ?? 'absent']),
    );
    return { worstGapMs: worst, reconnects: b.stream!.status().reconnects, missed, duplicates, finalStates };
  } finally {
    await b.close();
    await s.close();
  }
}
