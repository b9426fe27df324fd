/**
 * The quote resource template `ibkr://quote/{symbol}`: a client (or the user, through the
 * client's resource picker) can attach a current quote to the conversation without a tool call.
 * Read-only; the same pacing and session as the tools.
 */
import { type McpServer, ProtocolError, ProtocolErrorCode, ResourceTemplate } from '@modelcontextprotocol/server';
import { BrokerError } from '../broker/errors.js';
import type { MarketField } from '../broker/types.js';
import { plainDeep } from '../broker/untrusted.js';
import type { App } from '../runtime.js';
import { SymbolSchema } from '../tools/index.js';
import { brokerErrorLine } from './errors.js';

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

export function registerQuoteResource(server: McpServer, app: App): void {
  server.registerResource(
    'quote',
    new ResourceTemplate(QUOTE_URI_TEMPLATE, { list: undefined }),
    {
      title: 'Quote',
      description:
        'Current quote of a stock, ETF or other instrument by ticker, e.g. ibkr://quote/AAPL (JSON: last, bid, ask, volume, change, day range, data availability).',
      mimeType: 'application/json',
    },
    async (uri, variables, ctx) => {
      const raw = Array.isArray(variables['symbol']) ? variables['symbol'][0] : variables['symbol'];
      const parsed = SymbolSchema.safeParse(decodeURIComponent(String(raw ?? '')));
      if (!parsed.success) {
        throw new ProtocolError(ProtocolErrorCode.InvalidParams, `Not a ticker: use a URI such as ibkr://quote/AAPL.`);
      }
      const signal = ctx.mcpReq.signal;
      try {
        const contract = await app.backend.resolveContract({ symbol: parsed.data.toUpperCase() }, { signal });
        const [snap] = await app.backend.snapshot([contract.conid], FIELDS, { signal });
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
        quote['asOf'] = new Date().toISOString();
        return { contents: [{ uri: uri.href, mimeType: 'application/json', text: JSON.stringify(plainDeep(quote)) }] };
      } catch (err) {
        if (err instanceof BrokerError) {
          const code =
            err.code === 'NOT_FOUND' || err.code === 'AMBIGUOUS' || err.code === 'INVALID_INPUT'
              ? ProtocolErrorCode.InvalidParams
              : ProtocolErrorCode.InternalError;
          throw new ProtocolError(code, brokerErrorLine(err));
        }
        throw err;
      }
    },
  );
}
