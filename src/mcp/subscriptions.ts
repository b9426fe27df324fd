/**
 * Resource subscriptions of one MCP server instance, shared by every subscribable resource
 * (orders, quotes, P&L, positions).
 *
 * 2025-11-25 era: `resources/subscribe` / `resources/unsubscribe`. A resource may hold something
 * while subscribed (a quote holds one of IB's market-data lines); unsubscribing, or the client
 * going away (the server closes), releases it. Updates are sent only for subscribed URIs.
 *
 * 2026-07-28 era: the client names the URIs in `subscriptions/listen`, which the SDK's entry
 * answers and filters itself (the instance never sees the list). Over stdio (one instance for the
 * connection) updates are therefore sent for every URI that changed and the SDK passes on those a
 * listen asked for; what a resource holds is taken when the client reads it and kept until the
 * connection ends. Over HTTP each request has its own instance ('stateless'): nothing is held,
 * and feedChanges() publishes order, position, P&L and read quotes' changes onto the handler's
 * listen bus.
 *
 * Either way updates are coalesced: the first change of a URI is announced at once, later ones
 * at most once every COALESCE_MS (the last change is never lost).
 */
import type { McpServer } from '@modelcontextprotocol/server';
import type { Backend } from '../broker/backend.js';
import { BrokerError } from '../broker/errors.js';
import { brokerErrorLine } from './errors.js';

export const COALESCE_MS = 250;

/** legacy: 2025-11-25; modern: 2026-07-28 on one connection (stdio); stateless: 2026-07-28 per HTTP request. */
export type Era = 'legacy' | 'modern' | 'stateless';

/** What a subscription to a URI holds; resolves to its release (or nothing to release). */
type Hold = (uri: string) => Promise<(() => void) | undefined>;

export interface Subscriptions {
  readonly era: Era;
  /** Something changed in `uri`: subscribers hear of it within COALESCE_MS. */
  touch(uri: string): void;
  /** URIs that `match` accepts are subscribable; `hold` runs on subscribe (legacy) or first read (modern). */
  subscribable(match: (uri: string) => boolean, hold?: Hold): void;
  /** Takes the hold of a URI for the connection's life (modern era: on read). No-op when held. */
  holdForConnection(uri: string): Promise<void>;
  /** Runs when the server closes (the client went away). */
  onClose(fn: () => void): void;
  /** URIs subscribed now (tests, status). */
  subscribed(): string[];
}

const registry = new WeakMap<McpServer, Subscriptions>();

/** The subscriptions of a server instance, set up on first use. */
export function subscriptionsOf(server: McpServer, era: Era = 'legacy'): Subscriptions {
  const known = registry.get(server);
  if (known) return known;
  const kinds: Array<{ match: (uri: string) => boolean; hold: Hold | undefined }> = [];
  const held = new Map<string, (() => void) | undefined>();
  const closers: Array<() => void> = [];
  let closed = false;
  const throttle = throttled((uri) => {
    // Unsubscribed while the update waited for its window: not sent.
    if (closed || (era === 'legacy' && !held.has(uri))) return;
    void server.server.sendResourceUpdated({ uri }).catch(() => {});
  });

  const kindOf = (uri: string) => kinds.find((k) => k.match(uri));
  const take = async (uri: string) => {
    if (held.has(uri)) return;
    const kind = kindOf(uri);
    if (!kind) throw new Error(`Not a subscribable resource: ${uri}.`);
    held.set(uri, undefined);
    try {
      const release = await kind.hold?.(uri);
      if (closed || !held.has(uri)) release?.();
      else held.set(uri, release);
    } catch (err) {
      held.delete(uri);
      if (err instanceof BrokerError) throw new Error(brokerErrorLine(err));
      throw err;
    }
  };
  const release = (uri: string) => {
    const r = held.get(uri);
    held.delete(uri);
    r?.();
  };

  const subs: Subscriptions = {
    era,
    touch(uri) {
      if (closed || era === 'stateless' || (era === 'legacy' && !held.has(uri))) return;
      throttle.touch(uri);
    },
    subscribable(match, hold) {
      kinds.push({ match, hold });
    },
    async holdForConnection(uri) {
      if (era === 'modern') await take(uri).catch(() => {});
    },
    onClose(fn) {
      closers.push(fn);
    },
    subscribed: () => [...held.keys()],
  };
  registry.set(server, subs);

  if (era === 'legacy') {
    server.server.setRequestHandler('resources/subscribe', async (req) => {
      await take(req.params.uri);
      return {};
    });
    server.server.setRequestHandler('resources/unsubscribe', async (req) => {
      release(req.params.uri);
      return {};
    });
  }
  const prev = server.server.onclose;
  server.server.onclose = () => {
    closed = true;
    throttle.stop();
    for (const uri of [...held.keys()]) release(uri);
    for (const fn of closers) fn();
    prev?.();
  };
  return subs;
}

/** Quote URIs read per conid, by backend: what feedChanges announces for a pushed quote change. */
const readQuotes = new WeakMap<Backend, Map<number, Set<string>>>();

/** A quote resource was read over stateless HTTP: its pushed changes go to listens naming `uri`. */
export function quoteRead(backend: Backend, conid: number, uri: string): void {
  const byConid = readQuotes.get(backend) ?? new Map<number, Set<string>>();
  readQuotes.set(backend, byConid);
  const uris = byConid.get(conid) ?? new Set<string>();
  byConid.set(conid, uris);
  uris.add(uri);
}

/**
 * Publishes what changes without a subscriber holding anything (orders, positions on fills, P&L,
 * and quotes read over stateless HTTP while the stream carries them: a read streams its conid
 * among the most recently asked, holding no line) to `publish`, coalesced per URI: the
 * 2026-07-28 HTTP entry's listen bus. Returns its stop.
 */
export function feedChanges(backend: Backend, publish: (uri: string) => void): () => void {
  const throttle = throttled(publish);
  const touch = (uri: string) => throttle.touch(uri);
  const filled = new Map<string, number>();
  const offs: Array<(() => void) | undefined> = [
    backend.watchOrders?.((o) => {
      touch('ibkr://orders');
      touch(`ibkr://orders/${o.orderId}`);
      if (o.filled !== undefined && o.filled > (filled.get(o.orderId) ?? 0)) {
        filled.set(o.orderId, o.filled);
        touch('ibkr://positions');
      }
    }),
    backend.pushStatus?.().enabled ? backend.watchPnl?.(() => touch('ibkr://pnl')) : undefined,
    backend.watchQuotes?.((conid) => {
      for (const uri of readQuotes.get(backend)?.get(conid) ?? []) touch(uri);
    }),
  ];
  return () => {
    throttle.stop();
    for (const off of offs) off?.();
  };
}

/** Per key: the first touch calls `send` at once, later ones at most once every COALESCE_MS. */
function throttled(send: (key: string) => void): { touch(key: string): void; stop(): void } {
  const lastSent = new Map<string, number>();
  const pending = new Map<string, NodeJS.Timeout>();
  const fire = (key: string) => {
    pending.delete(key);
    lastSent.set(key, Date.now());
    send(key);
  };
  return {
    touch(key) {
      if (pending.has(key)) return;
      const wait = (lastSent.get(key) ?? 0) + COALESCE_MS - Date.now();
      if (wait <= 0) {
        fire(key);
        return;
      }
      const t = setTimeout(() => fire(key), wait);
      t.unref?.();
      pending.set(key, t);
    },
    stop() {
      for (const t of pending.values()) clearTimeout(t);
      pending.clear();
    },
  };
}
