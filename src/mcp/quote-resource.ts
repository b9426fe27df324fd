/**
 * The quote resource template `ibkr://quote/{symbol}`: a client (or the user, through the
 * client's resource picker) can attach a current quote to the conversation without a tool call.
 * The same pacing and session as the tools. Subscribable: a subscription holds one of IB's
 * streamed market-data lines for the instrument (src/backends/cpapi/stream.ts) and the client
 * hears of every pushed change (coalesced, subscriptions.ts); unsubscribing or going away frees it.
 */
import { type McpServer, ProtocolError, ProtocolErrorCode, ResourceTemplate } from '@modelcontextprotocol/server';
import { BrokerError } from '../broker/errors.js';
import type { MarketField } from '../broker/types.js';
import { plainDeep } from '../broker/untrusted.js';
import type { App } from '../runtime.js';
import { SymbolSchema } from '../tools/index.js';
import { brokerErrorLine } from './errors.js';
import { quoteRead, type Subscriptions, subscriptionsOf } from './subscriptions.js';

export const QUOTE_URI_TEMPLATE = 'ibkr://quote/{symbol}';

const FIELDS: readonly MarketField[] = [
  'last',
  'bid',
  'ask',
  'volume',
  'change',
  'changePct',
  'high',
  'low',
  'priorClose',
];

const QUOTE_URI = /^ibkr:\/\/quote\/([^/?#]+)$/;

function symbolOf(raw: string): string {
  const parsed = SymbolSchema.safeParse(decodeURIComponent(raw));
  if (!parsed.success) {
    throw new ProtocolError(ProtocolErrorCode.InvalidParams, `Not a ticker: use a URI such as ibkr://quote/AAPL.`);
  }
  return parsed.data.toUpperCase();
}

function protocolError(err: unknown): unknown {
  if (!(err instanceof BrokerError)) return err;
  const code =
    err.code === 'NOT_FOUND' || err.code === 'AMBIGUOUS' || err.code === 'INVALID_INPUT'
      ? ProtocolErrorCode.InvalidParams
      : ProtocolErrorCode.InternalError;
  return new ProtocolError(code, brokerErrorLine(err));
}

export function registerQuoteResource(
  server: McpServer,
  app: App,
  subs: Subscriptions = subscriptionsOf(server),
): void {
  subs.subscribable(
    (uri) => QUOTE_URI.test(uri),
    async (uri) => {
      const symbol = symbolOf(QUOTE_URI.exec(uri)?.[1] ?? '');
      if (!app.backend.watchQuote)
        throw new ProtocolError(ProtocolErrorCode.InvalidParams, 'Quotes are not pushed by this backend.');
      try {
        const contract = await app.backend.resolveContract({ symbol });
        return app.backend.watchQuote(contract.conid, FIELDS, () => subs.touch(uri));
      } catch (err) {
        throw protocolError(err);
      }
    },
  );
  server.registerResource(
    'quote',
    new ResourceTemplate(QUOTE_URI_TEMPLATE, { list: undefined }),
    {
      title: 'Quote',
      description:
        'Current quote of a stock, ETF or other instrument by ticker, e.g. ibkr://quote/AAPL (JSON: last, bid, ask, volume, change, day range, data availability, source and age); subscribable.',
      mimeType: 'application/json',
    },
    async (uri, variables, ctx) => {
      const raw = Array.isArray(variables['symbol']) ? variables['symbol'][0] : variables['symbol'];
      const symbol = symbolOf(String(raw ?? ''));
      const signal = ctx.mcpReq.signal;
      await subs.holdForConnection(uri.href);
      try {
        const contract = await app.backend.resolveContract({ symbol }, { signal });
        const [snap] = await app.backend.snapshot([contract.conid], FIELDS, { signal });
        if (subs.era === 'stateless') quoteRead(app.backend, contract.conid, uri.href);
        const quote: Record<string, unknown> = {
          symbol: contract.symbol,
          conid: contract.conid,
          ...(contract.exchange ? { exchange: contract.exchange } : {}),
          ...(contract.currency ? { currency: contract.currency } : {}),
        };
        for (const f of FIELDS) {
          const v = snap?.values[f];
          if (typeof v === 'number') quote[f] = v;
        }
        quote['availability'] = snap?.availability ?? 'unknown';
        if (snap?.lastIsPriorClose) quote['lastIsPriorClose'] = true;
        if (snap?.halted) quote['halted'] = true;
        if (snap?.source) quote['source'] = snap.source;
        if (snap?.receivedAt) quote['ageMs'] = Math.max(0, Date.now() - snap.receivedAt);
        quote['asOf'] = new Date().toISOString();
        return { contents: [{ uri: uri.href, mimeType: 'application/json', text: JSON.stringify(plainDeep(quote)) }] };
      } catch (err) {
        throw protocolError(err);
      }
    },
  );
}
