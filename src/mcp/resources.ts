/**
 * MCP resources for clients that read rather than call: the accounts the session can see
 * (ibkr://accounts) and each account's positions (ibkr://accounts/{id}/positions), as JSON
 * in the same compact shapes the account tools return.
 */
import {
  type McpServer,
  ResourceNotFoundError,
  ResourceTemplate,
  type ServerContext,
} from '@modelcontextprotocol/server';
import { BrokerError } from '../broker/errors.js';
import { sortPositions, totalsByCurrency } from '../broker/portfolio-math.js';
import { idents, plainDeep } from '../broker/untrusted.js';
import type { App } from '../runtime.js';
import { portfolioOf, positionOut } from '../tools/index.js';
import { brokerErrorLine } from './errors.js';

export const ACCOUNTS_URI = 'ibkr://accounts';
export const POSITIONS_TEMPLATE = 'ibkr://accounts/{id}/positions';

const JSON_TYPE = 'application/json';

function jsonContents(uri: string, body: unknown) {
  // Outside text (titles, names) arrives cleaned of controls, separators and bidi characters.
  return { contents: [{ uri, mimeType: JSON_TYPE, text: JSON.stringify(plainDeep(body)) }] };
}

export function registerResources(server: McpServer, app: App): void {
  const ctxOf = () => ({ app });
  const opts = (mcp: ServerContext) => ({ signal: mcp.mcpReq.signal });

  server.registerResource(
    'accounts',
    ACCOUNTS_URI,
    {
      title: 'Accounts',
      description: 'Every account this session can see: id, title, base currency, paper or live, type.',
      mimeType: JSON_TYPE,
    },
    async (uri, mcp) => {
      const accounts = await portfolioOf(ctxOf()).listAccounts(opts(mcp));
      return jsonContents(uri.href, { mode: app.mode(), accounts });
    },
  );

  server.registerResource(
    'positions',
    new ResourceTemplate(POSITIONS_TEMPLATE, {
      list: async (mcp) => {
        const accounts = await portfolioOf(ctxOf()).listAccounts(opts(mcp));
        return {
          resources: accounts.map((a) => ({
            uri: `ibkr://accounts/${a.id}/positions`,
            name: `positions-${a.id}`,
            title: `Positions of ${a.id}`,
            mimeType: JSON_TYPE,
          })),
        };
      },
      complete: {
        id: async () => (await portfolioOf(ctxOf()).listAccounts()).map((a) => a.id),
      },
    }),
    {
      title: 'Positions of an account',
      description:
        'Every position of one account (all pages), largest market value first: quantity, average cost, price, ' +
        'market value, P&L and currency; totals by currency.',
      mimeType: JSON_TYPE,
    },
    async (uri, variables, mcp) => {
      const raw = variables['id'];
      const id = (Array.isArray(raw) ? raw[0] : raw) ?? '';
      const pf = portfolioOf(ctxOf());
      const accounts = await pf.listAccounts(opts(mcp));
      const acct = accounts.find((a) => a.id.toUpperCase() === decodeURIComponent(id).toUpperCase());
      if (!acct) {
        throw new ResourceNotFoundError(
          uri.href,
          `Unknown account "${id}". Valid accounts: ${idents(accounts.map((a) => a.id)) || 'none'}.`,
        );
      }
      try {
        const positions = sortPositions(await pf.positions(acct.id, opts(mcp)), 'value', 'desc').map((p) =>
          positionOut(p, false),
        );
        return jsonContents(uri.href, {
          account: acct.id,
          currency: acct.currency,
          count: positions.length,
          positions,
          totals: totalsByCurrency(positions),
        });
      } catch (err) {
        if (err instanceof BrokerError) throw new Error(brokerErrorLine(err));
        throw err;
      }
    },
  );
}
