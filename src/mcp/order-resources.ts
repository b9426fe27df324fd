/**
 * Orders as subscribable resources: `ibkr://orders` (the session's live orders) and
 * `ibkr://orders/{orderId}` (one order). A client that subscribes (resources/subscribe) is sent
 * `notifications/resources/updated` when the broker pushes a new order or a status or fill change
 * (IB's WebSocket), coalesced to at most one notification per resource every 250 ms (subscriptions.ts).
 */
import { type McpServer, ResourceNotFoundError, ResourceTemplate } from '@modelcontextprotocol/server';
import { BrokerError } from '../broker/errors.js';
import { plainDeep } from '../broker/untrusted.js';
import type { App } from '../runtime.js';
import { liveOut } from '../tools/index.js';
import { brokerErrorLine } from './errors.js';
import { subscriptionsOf } from './subscriptions.js';

export const ORDERS_URI = 'ibkr://orders';
export const ORDER_TEMPLATE = 'ibkr://orders/{orderId}';

const json = (uri: string, body: unknown) => ({
  contents: [{ uri, mimeType: 'application/json', text: JSON.stringify(plainDeep(body)) }],
});

export function registerOrderResources(server: McpServer, app: App): void {
  const orders = app.backend;
  server.registerResource(
    'orders',
    ORDERS_URI,
    {
      title: 'Live orders',
      description: "Working and today's orders (JSON); subscribe to hear of fills and status changes.",
      mimeType: 'application/json',
    },
    async (uri, mcp) => {
      let source: string | undefined;
      const list = await orders.liveOrders({ signal: mcp.mcpReq.signal, report: (s) => (source = s) }).catch(rethrow);
      return json(uri.href, { mode: app.mode(), source, orders: list.map(liveOut) });
    },
  );
  server.registerResource(
    'order',
    new ResourceTemplate(ORDER_TEMPLATE, { list: undefined }),
    { title: 'Order', description: 'One order by IB order id (JSON); subscribable.', mimeType: 'application/json' },
    async (uri, variables, mcp) => {
      const raw = Array.isArray(variables['orderId']) ? variables['orderId'][0] : variables['orderId'];
      const id = decodeURIComponent(String(raw ?? ''));
      if (!/^\d{1,20}$/.test(id))
        throw new ResourceNotFoundError(uri.href, 'Not an order id: use ibkr://orders/<digits>.');
      const o = await orders.orderStatus(id, { signal: mcp.mcpReq.signal }).catch((err: unknown) => {
        if (err instanceof BrokerError && err.code === 'NOT_FOUND')
          throw new ResourceNotFoundError(uri.href, err.message);
        return rethrow(err);
      });
      return json(uri.href, { mode: app.mode(), source: o.source, order: liveOut(o) });
    },
  );

  const subs = subscriptionsOf(server);
  subs.subscribable((uri) => uri === ORDERS_URI || /^ibkr:\/\/orders\/\d{1,20}$/.test(uri));
  const off = orders.watchOrders?.((o) => {
    subs.touch(ORDERS_URI);
    subs.touch(`ibkr://orders/${o.orderId}`);
  });
  subs.onClose(() => off?.());
}

function rethrow(err: unknown): never {
  if (err instanceof BrokerError) throw new Error(brokerErrorLine(err));
  throw err;
}
