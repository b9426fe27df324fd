/**
 * IB need not send the current orders when the socket subscribes `sor` (the simulator's
 * "sorSnapshot":false). Orders resting before this server's login, one of them changed by another
 * program afterwards: get_live_orders right after the login lists every one and says where the
 * list came from; once the warm-up seeded the stream, from the stream without IB's 5 s wait.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type SimulatorHandle, startSimulator } from '../../src/simulator/index.js';
import { type Harness, simRequest, startServer } from './harness.js';

const ACCT = 'DU1234567';
const cents = (x: number) => Math.round(x * 100) / 100;

describe('live orders after a fresh login when IB sends only changes on sor', () => {
  let sim: SimulatorHandle;
  const homes: string[] = [];
  const servers: Harness[] = [];
  const server = async () => {
    const home = mkdtempSync(join(tmpdir(), 'ibkr-mcp-e2e-seed-'));
    homes.push(home);
    const h = await startServer({
      sim: false,
      args: ['--backend', 'gateway', '--gateway-url', sim.url, '--order-confirmation', 'none'],
      env: { IBKR_MCP_HOME: home },
    });
    servers.push(h);
    return h;
  };
  before(async () => {
    // Two clients of one gateway: IB's pacing window would be shared (each keeps its own 5 s).
    sim = await startSimulator({ port: 0, seed: 7, pacing: false });
  });
  after(async () => {
    for (const h of servers) await h.close();
    await sim.close();
    for (const home of homes) rmSync(home, { recursive: true, force: true });
  });

  test('every resting order is listed, with its source; from the stream once seeded', async () => {
    // "TWS": another program places two resting orders before this server logs in.
    const tws = await server();
    const q = await tws.callTool('get_quote', { symbol: 'AAPL' });
    const ask = q.structured.quotes[0].ask as number;
    const ids: string[] = [];
    for (const k of [0.9, 0.8]) {
      const args = { accountId: ACCT, symbol: 'AAPL', action: 'BUY', quantity: 1, orderType: 'LMT', tif: 'GTC' };
      let p = await tws.callTool('place_stock_order', { ...args, price: cents(ask * k) });
      const replyId = p.structured.question?.replyId;
      if (replyId) p = await tws.callTool('confirm_order', { replyId });
      assert.equal(p.structured.status, 'submitted', p.text);
      ids.push(p.structured.orderId as string);
    }
    await simRequest(sim, '/sim/faults', { ws: { sorSnapshot: false } });

    const h = await server();
    const login = Date.now();
    // Its socket open and sor subscribed, before the change below.
    for (let i = 0; i < 100; i++) {
      const s = await h.callTool('get_connection_status', {});
      if (s.structured.push?.state === 'open') break;
      await new Promise((r) => setTimeout(r, 50));
    }
    await new Promise((r) => setTimeout(r, 300));
    // The other program changes one order: IB pushes that change, and only it.
    let m = await tws.callTool('modify_order', { orderId: ids[0], price: cents(ask * 0.85) });
    const reply = m.structured.question?.replyId;
    if (reply) m = await tws.callTool('confirm_order', { replyId: reply });
    assert.equal(m.isError, false, m.text);
    await new Promise((r) => setTimeout(r, 300));

    const first = await h.callTool('get_live_orders', {});
    assert.equal(first.isError, false, first.text);
    const listed = first.structured.orders.map((o: { orderId: string }) => o.orderId);
    for (const id of ids) assert.ok(listed.includes(id), `order ${id} missing: ${first.text}`);
    assert.ok(['stream', 'request'].includes(first.structured.source), first.text);
    assert.match(first.text, /\((pushed|asked), \d+\.\d s old\)/);

    // After the warm-up (IB's 5 s interval) seeded the stream: pushed, fast, still complete.
    await new Promise((r) => setTimeout(r, Math.max(0, login + 7000 - Date.now())));
    const t0 = Date.now();
    const later = await h.callTool('get_live_orders', {});
    const ms = Date.now() - t0;
    assert.equal(later.structured.source, 'stream', later.text);
    assert.ok(ms < 1000, `${ms} ms`);
    for (const id of ids) {
      assert.ok(
        later.structured.orders.some((o: { orderId: string }) => o.orderId === id),
        `order ${id} missing: ${later.text}`,
      );
    }
    const st = await h.callTool('get_order_status', { orderId: ids[1] });
    assert.equal(st.structured.found, true, st.text);
    assert.equal(st.structured.source, 'stream', st.text);
    console.log(`seed e2e: first read ${first.structured.source}; seeded read ${ms} ms`);
  });
});
