/**
 * The WebSocket's part of the contract corpus: every frame shape IB has been seen to send, each
 * with its source, through the stream's message handler, and each varied mechanically (every field
 * removed, every field null, numbers as text). No frame may throw; what a frame says must land
 * where reads look for it, and a refusal must never count as data.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseSnapshotRow } from '../../src/backends/cpapi/fields.js';
import { parseLiveOrders, unlistedRows } from '../../src/backends/cpapi/order-wire.js';
import { CpapiStream } from '../../src/backends/cpapi/stream.js';
import { isObject } from '../../src/backends/cpapi/wire.js';
import { getLiveOrders } from '../../src/tools/order-reads.js';

interface Frame {
  source: string;
  text: string;
}

const DOCS = "IB's Client Portal Web API docs, Streaming WebSocket Data (interactivebrokers.github.io/cpwebapi)";

const FRAMES: Record<string, Frame> = {
  smd: {
    source: DOCS,
    text: '{"31":"382.89","83":0.04,"6119":"q6","server_id":"q6","conid":265598,"_updated":1593524408296,"topic":"smd+265598"}',
  },
  sorExercise: {
    source: 'IBKR Campus, option exercise through the Web API: the order as sor pushed it (side EXER)',
    text: '{"topic":"sor","args":[{"acct":"DU1234567","conidex":"708764406","conid":708764406,"account":"DU1234567","orderId":827785484,"cashCcy":"USD","sizeAndFills":"0/5","orderDesc":"EXERCISE 5, Day","description1":"AAPL","description2":"JUN 28 \'24 192.5 Call","ticker":"AAPL","secType":"OPT","remainingQuantity":5.0,"filledQuantity":0.0,"totalSize":5.0,"companyName":"APPLE INC","status":"Inactive","order_ccp_status":"Pending Submit","supportsTaxOpt":"1","lastExecutionTime":"240624150344","bgColor":"#000000","fgColor":"#AFAFAF","isEventTrading":"0","lastExecutionTime_r":1719241424000,"side":"EXER"}]}',
  },
  sorMarket: {
    source: 'captured from a paper gateway, IbkrConduit OrderUpdateMapperTests (price as an empty string)',
    text: '{"topic":"sor","args":[{"acct":"DUO873728","conid":320227571,"orderId":196655192,"orderDesc":"Buy 1 QQQ Market, Day","ticker":"QQQ","secType":"STK","remainingQuantity":1.0,"filledQuantity":0.0,"totalSize":1.0,"companyName":"INVESCO QQQ TRUST SERIES 1","status":"Inactive","orderType":"Market","order_ref":"submit-143824-5264","price":"","side":"BUY"}]}',
  },
  sorIdsOnly: {
    source: 'captured from a paper gateway, IbkrConduit OrderUpdateMapperTests (ids alone)',
    text: '{"topic":"sor","args":[{"acct":"DUO873728","conidex":"756733","conid":756733,"orderId":656804954,"isEventTrading":"0"}]}',
  },
  sorRefused: {
    source: 'bezant (Rust) connector notes: a gateway refused sor on 17 of 20 reconnects, Aug-Sep 2026',
    text: '{"error":"unable to subscribe","code":500,"topic":"sor"}',
  },
  spl: {
    source: "../shared/ib/cpapi-protocol.md §9 (IB's docs)",
    text: '{"topic":"spl","args":{"DU1234.Core":{"rowType":1,"dpl":-57520.0,"upl":972100.0}}}',
  },
  sts: { source: DOCS, text: '{"topic":"sts","args":{"authenticated":true}}' },
  system: { source: DOCS, text: '{"topic":"system","success":"username"}' },
  waiting: { source: DOCS, text: '{"message":"waiting for session"}' },
  hb: { source: 'ibind (IbkrWsClient): system heartbeat', text: '{"topic":"system","hb":1593524408296}' },
};

function fresh(): { st: CpapiStream; feed: (text: string) => void } {
  const st = new CpapiStream({
    apiUrl: 'https://127.0.0.1:1/v1/api',
    cookies: () => undefined,
    sessionToken: async () => undefined,
  });
  const feed = (text: string) => (st as unknown as { onMessage(t: string): void }).onMessage(text);
  return { st, feed };
}

/** The frame with one change per variant: each field (also inside args rows) removed, null, a number as text. */
function variants(text: string): string[] {
  const out: string[] = ['', 'not json', 'null', '[]', '{}', text.slice(0, Math.floor(text.length / 2))];
  const msg = JSON.parse(text) as Record<string, unknown>;
  const targets: Array<Record<string, unknown>> = [msg];
  const args = msg['args'];
  if (Array.isArray(args)) for (const r of args) if (isObject(r)) targets.push(r);
  if (isObject(args)) targets.push(args);
  for (const t of targets) {
    for (const k of Object.keys(t)) {
      const v = t[k];
      delete t[k];
      out.push(JSON.stringify(msg));
      t[k] = null;
      out.push(JSON.stringify(msg));
      if (typeof v === 'number') {
        t[k] = String(v);
        out.push(JSON.stringify(msg));
      }
      t[k] = v;
    }
  }
  out.push(JSON.stringify({ ...msg, args: null }), JSON.stringify({ ...msg, args: 'x' }));
  return out;
}

describe("IB's WebSocket frames through the stream", () => {
  test('every frame and every variant of it is taken without throwing', () => {
    for (const [name, f] of Object.entries(FRAMES)) {
      const { st, feed } = fresh();
      st.subscribeQuote(265598, ['31', '83']);
      for (const v of [f.text, ...variants(f.text)]) {
        assert.doesNotThrow(() => feed(v), `${name} (${f.source}): ${v.slice(0, 120)}`);
      }
      // Whatever merged must still parse as rows do.
      assert.doesNotThrow(() => parseLiveOrders({ orders: [...st.orderRows.values()], snapshot: true }), name);
    }
  });

  test('smd: the fields land in the conid row and read as a snapshot row does', () => {
    const { st, feed } = fresh();
    st.subscribeQuote(265598, ['31', '83']);
    feed(FRAMES.smd!.text);
    const q = st.quotes.get(265598)!;
    assert.equal(q.row['31'], '382.89');
    assert.ok(q.receivedAt > 0 && q.live);
    const parsed = parseSnapshotRow(q.row, ['last', 'changePct'], { usStock: true });
    assert.equal(parsed.values.last, 382.89);
  });

  test('sor: a market order with an empty price, an order by its ids alone', () => {
    const { st, feed } = fresh();
    feed(FRAMES.sorMarket!.text);
    feed(FRAMES.sorIdsOnly!.text);
    const rows = [...st.orderRows.values()];
    assert.equal(rows.length, 2);
    const [market] = parseLiveOrders({ orders: rows, snapshot: true }).orders;
    assert.equal(market?.orderId, '196655192');
    assert.equal(market?.side, 'BUY');
    assert.equal(market?.clientOrderId, 'submit-143824-5264');
    assert.equal(market?.limitPrice, undefined, 'an empty price is no price');
    assert.equal(market?.quantity, 1);
    // The ids-alone row is held (its terms may follow) but cannot be listed by itself.
    assert.ok(st.orderRows.has('656804954'));
  });

  test('an option exercise (side EXER) is no buy or sell order: shown beside the orders, not dropped', () => {
    const { st, feed } = fresh();
    feed(FRAMES.sorExercise!.text);
    feed(FRAMES.sorMarket!.text);
    feed(FRAMES.sorIdsOnly!.text);
    const rows = [...st.orderRows.values()];
    assert.deepEqual(
      parseLiveOrders({ orders: rows, snapshot: true }).orders.map((o) => o.orderId),
      ['196655192'],
    );
    // The exercise is named; the ids-alone row is not (its terms are still to come), nor the BUY.
    const other = unlistedRows(rows);
    assert.equal(other.length, 1);
    assert.equal(other[0]!.orderId, '827785484');
    assert.equal(other[0]!.accountId, 'DU1234567');
    assert.equal(other[0]!.status, 'Inactive');
    assert.match(other[0]!.what, /^EXERCISE 5, Day AAPL JUN 28 '24 192\.5 Call$/);
    const text = getLiveOrders.render({
      mode: 'PAPER',
      orders: [],
      other: [{ ...other[0]!, what: '⟦EXERCISE 5, Day AAPL⟧' }],
    } as never);
    assert.match(text, /No live orders/);
    assert.match(text, /Also at IB, not buy\/sell orders: 827785484 ⟦EXERCISE 5, Day AAPL⟧ \(Inactive\) DU1234567/);
  });

  test('a refusal is no order push: nothing merged, the refusal shown', () => {
    const { st, feed } = fresh();
    let events = 0;
    st.onOrder(() => events++);
    feed(FRAMES.sorRefused!.text);
    assert.equal(st.orderRows.size, 0);
    assert.equal(events, 0);
    assert.equal(st.status().refused?.orders, 'unable to subscribe');
    assert.equal(st.status().refusals, 1);
    feed('{"error":"unable to subscribe","code":500,"topic":"spl"}');
    assert.equal(st.status().refused?.pnl, 'unable to subscribe');
    st.stop();
  });

  test('spl, sts, system, heartbeat and "waiting for session"', () => {
    const { st, feed } = fresh();
    feed(FRAMES.spl!.text);
    assert.equal(st.status().pnl, true);
    feed(FRAMES.sts!.text);
    assert.equal(st.status().authenticated, true);
    feed('{"topic":"sts","args":{"authenticated":false}}');
    assert.equal(st.status().authenticated, false);
    for (const k of ['system', 'waiting', 'hb'] as const) feed(FRAMES[k]!.text);
    assert.equal(st.orderRows.size, 0);
  });
});
