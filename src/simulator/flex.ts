/**
 * The simulator's Flex Web Service, on its own host and port as IB's is (plain HTTP on this
 * machine). IB's two calls under /AccountManagement/FlexWebService (and the older
 * /Universal/servlet/FlexStatementService.* paths IB also answers), its answer shapes and error
 * codes (docs/ib/flex.md), with:
 *
 * - tokens: the simulator's own (SIM_FLEX_TOKEN) and any added; one can be expired (1012), an
 *   unknown one is invalid (1015);
 * - queries 100001 (activity: every section) and 100002 (trades only); another id is 1014;
 * - generation delay: GetStatement answers 1019 (Warn) until `generationMs` after SendRequest;
 * - IB's pacing per token: more than 1 request a second or 10 a minute is 1018;
 * - at most 365 days per request (fd/td); a request without a User-Agent is refused (403).
 *
 * Control (not IB's): GET /sim/flex → the settings; POST /sim/flex {"generationMs":N,
 * "neverReady":bool, "expireToken":"…"|true, "addToken":"…", "tradesPerDay":N, "pacing":bool,
 * "reset":true} → the settings.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { statementXml, ymd } from './flex-statement.js';
import type { SimState } from './state.js';

/** The simulator's Flex token (24 digits, as IB's are). */
export const SIM_FLEX_TOKEN = '710293846152730948172635';

export interface SimFlexOptions {
  host?: string;
  port?: number;
  /** Time IB takes to generate a statement, default 1500 ms. */
  generationMs?: number;
  /** Executions a trading day of the made-up history, default 8. */
  tradesPerDay?: number;
  /** IB's per-token pacing (1 a second, 10 a minute), default on. */
  pacing?: boolean;
}

export interface SimFlexHandle {
  /** e.g. http://127.0.0.1:40123 */
  url: string;
  /** The base URL of the service's calls: url + /AccountManagement/FlexWebService */
  baseUrl: string;
  token: string;
  close(): Promise<void>;
}

interface Settings {
  generationMs: number;
  neverReady: boolean;
  tradesPerDay: number;
  pacing: boolean;
  tokens: Map<string, { expired: boolean }>;
}

interface Reference {
  token: string;
  queryId: string;
  from: number;
  to: number;
  readyAt: number;
}

const QUERIES: Record<string, { name: string; sections?: string[] }> = {
  '100001': { name: 'Activity (simulated)' },
  '100002': { name: 'Trades (simulated)', sections: ['Trades'] },
};

const MESSAGES: Record<number, string> = {
  1012: 'Token has expired.',
  1014: 'Query is invalid.',
  1015: 'Token is invalid.',
  1017: 'Reference code is invalid.',
  1018: 'Too many requests have been made from this token. Please try again shortly.',
  1019: 'Statement generation in progress. Please try again shortly.',
  1020: 'Invalid request or unable to validate request.',
};

const DAY = 86_400_000;

export async function startFlexService(state: SimState, opts: SimFlexOptions = {}): Promise<SimFlexHandle> {
  const start = (): Settings => ({
    generationMs: opts.generationMs ?? 1500,
    neverReady: false,
    tradesPerDay: opts.tradesPerDay ?? 8,
    pacing: opts.pacing ?? true,
    tokens: new Map([[SIM_FLEX_TOKEN, { expired: false }]]),
  });
  let settings = start();
  const refs = new Map<string, Reference>();
  const sent = new Map<string, number[]>();
  let refSeq = 1_000_000_000 + (state.seed % 1_000_000) * 1000;
  const sockets = new Set<Socket>();
  let baseUrl = '';

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const u = new URL(req.url ?? '/', 'http://localhost');
    const path = u.pathname;
    if (path === '/sim/flex') return control(req, res);
    if (req.method !== 'GET' && req.method !== 'POST') return text(res, 405, 'Method Not Allowed');
    const call =
      /^\/AccountManagement\/FlexWebService\/(SendRequest|GetStatement)$/.exec(path)?.[1] ??
      /^\/Universal\/servlet\/FlexStatementService\.(SendRequest|GetStatement)$/.exec(path)?.[1];
    if (!call) return text(res, 404, 'Not Found');
    if (!req.headers['user-agent']) return text(res, 403, 'Forbidden');
    const q = u.searchParams;
    const token = q.get('t') ?? '';
    const version = q.get('v');
    const tok = settings.tokens.get(token);
    if (!token || !tok) return envelope(res, 'Fail', 1015);
    if (tok.expired) return envelope(res, 'Fail', 1012);
    if (version !== null && version !== '2' && version !== '3') return envelope(res, 'Fail', 1020);
    if (settings.pacing && throttled(token)) return envelope(res, 'Warn', 1018);
    if (call === 'SendRequest') {
      const queryId = q.get('q') ?? '';
      if (!QUERIES[queryId]) return envelope(res, 'Fail', 1014);
      const fd = q.get('fd');
      const td = q.get('td');
      let from: number;
      let to: number;
      if (fd || td) {
        const a = parseYmd(fd);
        const b = parseYmd(td);
        if (a === undefined || b === undefined || a > b || (b - a) / DAY + 1 > 365) return envelope(res, 'Fail', 1020);
        from = a;
        to = b;
      } else {
        // The query's own period: the last 365 days up to yesterday.
        to = Math.floor(state.clock.now() / DAY) * DAY - DAY;
        from = to - 364 * DAY;
      }
      const code = String(++refSeq);
      refs.set(code, { token, queryId, from, to, readyAt: Date.now() + settings.generationMs });
      return reply(
        res,
        `<FlexStatementResponse timestamp='${stamp()}'>\n<Status>Success</Status>\n<ReferenceCode>${code}</ReferenceCode>\n<Url>${baseUrl}/GetStatement</Url>\n</FlexStatementResponse>\n`,
      );
    }
    const ref = refs.get(q.get('q') ?? '');
    if (!ref || ref.token !== token) return envelope(res, 'Fail', 1017);
    if (settings.neverReady || Date.now() < ref.readyAt) return envelope(res, 'Warn', 1019);
    const query = QUERIES[ref.queryId] as { name: string; sections?: string[] };
    const account = state.accounts[0];
    return reply(
      res,
      statementXml(state, {
        accountId: account?.id ?? 'DU1234567',
        currency: account?.currency ?? 'USD',
        queryName: query.name,
        from: ref.from,
        to: ref.to,
        tradesPerDay: settings.tradesPerDay,
        ...(query.sections ? { sections: query.sections } : {}),
        generatedAt: Date.now(),
      }),
    );
  };

  const throttled = (token: string): boolean => {
    const now = Date.now();
    const list = (sent.get(token) ?? []).filter((t) => now - t < 60_000);
    const last = list[list.length - 1];
    const over = (last !== undefined && now - last < 1000) || list.length >= 10;
    list.push(now);
    sent.set(token, list);
    return over;
  };

  const control = async (req: IncomingMessage, res: ServerResponse) => {
    if (req.method === 'POST') {
      let body = '';
      for await (const c of req) body += c;
      const b = (body ? JSON.parse(body) : {}) as Record<string, unknown>;
      if (b['reset']) {
        settings = start();
        refs.clear();
        sent.clear();
      }
      if (typeof b['generationMs'] === 'number') settings.generationMs = b['generationMs'];
      if (typeof b['neverReady'] === 'boolean') settings.neverReady = b['neverReady'];
      if (typeof b['tradesPerDay'] === 'number') settings.tradesPerDay = b['tradesPerDay'];
      if (typeof b['pacing'] === 'boolean') settings.pacing = b['pacing'];
      if (typeof b['addToken'] === 'string') settings.tokens.set(b['addToken'], { expired: false });
      const ex = b['expireToken'];
      if (ex === true) for (const t of settings.tokens.values()) t.expired = true;
      else if (typeof ex === 'string') settings.tokens.set(ex, { expired: true });
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        generationMs: settings.generationMs,
        neverReady: settings.neverReady,
        tradesPerDay: settings.tradesPerDay,
        pacing: settings.pacing,
        tokens: [...settings.tokens].map(([t, v]) => ({ token: `${t.slice(0, 4)}…`, expired: v.expired })),
        references: refs.size,
      }),
    );
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch(() => text(res, 500, 'Internal Server Error'));
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  const host = opts.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  baseUrl = `${url}/AccountManagement/FlexWebService`;
  return {
    url,
    baseUrl,
    token: SIM_FLEX_TOKEN,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      }),
  };
}

function parseYmd(s: string | null): number | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})$/.exec(s ?? '');
  if (!m) return undefined;
  const t = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  return ymd(t) === s ? t : undefined;
}

/** IB's envelope timestamp: "01 December, 2026 10:37 AM EST" (New York time). */
function stamp(): string {
  const d = new Date();
  const p = Object.fromEntries(
    new Intl.DateTimeFormat('en-US', {
      timeZone: 'America/New_York',
      day: '2-digit',
      month: 'long',
      year: 'numeric',
      hour: '2-digit',
      minute: '2-digit',
      hour12: true,
      timeZoneName: 'short',
    })
      .formatToParts(d)
      .map((x) => [x.type, x.value]),
  );
  return `${p['day']} ${p['month']}, ${p['year']} ${p['hour']}:${p['minute']} ${p['dayPeriod']} ${p['timeZoneName']}`;
}

function envelope(res: ServerResponse, status: 'Fail' | 'Warn', code: number): void {
  reply(
    res,
    `<FlexStatementResponse timestamp='${stamp()}'>\n<Status>${status}</Status>\n<ErrorCode>${code}</ErrorCode>\n<ErrorMessage>${MESSAGES[code] ?? ''}</ErrorMessage>\n</FlexStatementResponse>\n`,
  );
}

function reply(res: ServerResponse, body: string): void {
  res.writeHead(200, { 'content-type': 'text/xml;charset=UTF-8' });
  res.end(body);
}

function text(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'content-type': 'text/plain' });
  res.end(body);
}
