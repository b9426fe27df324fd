/**
 * Subscribable account resources: `ibkr://pnl` (today's P&L of every account; updated when IB's
 * WebSocket pushes P&L, about once a second while it changes) and `ibkr://positions` (every
 * position of every account; updated when an order fills). Subscriptions: subscriptions.ts.
 */
import { type McpServer, ProtocolError, ProtocolErrorCode } from '@modelcontextprotocol/server';
import { BrokerError } from '../broker/errors.js';
import { sortPositions, totalsByCurrency } from '../broker/portfolio-math.js';
import { plainDeep } from '../broker/untrusted.js';
import type { App } from '../runtime.js';
import { positionOut } from '../tools/index.js';
import { brokerErrorLine } from './errors.js';
import { type Subscriptions, subscriptionsOf } from './subscriptions.js';

export const PNL_URI = 'ibkr://pnl';
export const POSITIONS_URI = 'ibkr://positions';

const json = (uri: string, body: unknown) => ({
  contents: [{ uri, mimeType: 'application/json', text: JSON.stringify(plainDeep(body)) }],
});

const noStream = (what: string) =>
  new BrokerError('REFUSED', `${what} updates need IB's WebSocket, which is off (--no-websocket).`, {
    hint: 'Read the resource again instead, or start ibkr-mcp without --no-websocket.',
  });

export function registerLiveResources(
  server: McpServer,
  app: App,
  subs: Subscriptions = subscriptionsOf(server),
): void {
  const backend = app.backend;
  server.registerResource(
    'pnl',
    PNL_URI,
    {
      title: "Today's P&L",
      description: "Today's P&L per account (JSON: daily, unrealized, net liquidation); subscribable.",
      mimeType: 'application/json',
    },
    async (uri, mcp) => {
      await subs.holdForConnection(PNL_URI);
      const rows = await backend.pnl({ signal: mcp.mcpReq.signal }).catch(rethrow);
      const pushed = rows.filter((r) => r.source === 'stream').length;
      const source = pushed === rows.length && pushed > 0 ? 'stream' : pushed === 0 ? 'request' : 'mixed';
      const oldest = Math.min(...rows.map((r) => r.receivedAt ?? Date.now()));
      const accounts = rows.map(({ receivedAt: _r, ...r }) => r);
      return json(uri.href, { mode: app.mode(), source, ageMs: Math.max(0, Date.now() - oldest), accounts });
    },
  );
  server.registerResource(
    'all-positions',
    POSITIONS_URI,
    {
      title: 'Positions',
      description:
        'Every position of every account (JSON), largest market value first; subscribable (updated on fills).',
      mimeType: 'application/json',
    },
    async (uri, mcp) => {
      await subs.holdForConnection(POSITIONS_URI);
      const opts = { signal: mcp.mcpReq.signal };
      try {
        const accounts = await backend.listAccounts(opts);
        const out = [];
        for (const a of accounts) {
          const positions = sortPositions(await backend.positions(a.id, opts), 'value', 'desc').map((p) =>
            positionOut(p, false),
          );
          out.push({ account: a.id, currency: a.currency, positions, totals: totalsByCurrency(positions) });
        }
        return json(uri.href, { mode: app.mode(), asOf: new Date().toISOString(), accounts: out });
      } catch (err) {
        return rethrow(err);
      }
    },
  );

  subs.subscribable(
    (uri) => uri === PNL_URI,
    async () => {
      if (!backend.watchPnl || !backend.pushStatus?.().enabled) throw noStream('P&L');
      return backend.watchPnl(() => subs.touch(PNL_URI));
    },
  );
  subs.subscribable(
    (uri) => uri === POSITIONS_URI,
    async () => {
      if (!backend.watchOrders || !backend.pushStatus?.().enabled) throw noStream('Position');
      // A fill changes positions: every growth of an order's filled quantity.
      const filled = new Map<string, number>();
      return backend.watchOrders((o) => {
        if (o.filled === undefined || o.filled <= (filled.get(o.orderId) ?? 0)) return;
        filled.set(o.orderId, o.filled);
        subs.touch(POSITIONS_URI);
      });
    },
  );
}

function rethrow(err: unknown): never {
  if (err instanceof BrokerError) throw new ProtocolError(ProtocolErrorCode.InternalError, brokerErrorLine(err));
  throw err;
}
