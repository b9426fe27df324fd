/**
 * The Flex client against a stand-in for IB's service (a local HTTP server answering recorded
 * shapes) and the simulator's Flex service against a raw client: what goes on the wire (User-Agent,
 * t/q/v, fd/td), where the token may go (not to a host IB's answer names unless it is IB's or the
 * configured one), a refused reference code renewed once, pacing, unreadable and failed answers,
 * cancellation; and the queries remembered in the state directory.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { request } from 'undici';
import { FlexClient } from '../../src/backends/flex/client.js';
import { createFlexSource } from '../../src/backends/flex/index.js';
import { isBrokerError } from '../../src/broker/errors.js';
import { silentLogger } from '../../src/log.js';
import { type SimulatorHandle, startSimulator } from '../../src/simulator/index.js';

const STATEMENT =
  '<FlexQueryResponse queryName="Q" type="AF"><FlexStatements count="1"><FlexStatement accountId="U1" fromDate="20250101" toDate="20251231" whenGenerated="20260101;120000"><Trades><Trade symbol="A" quantity="1" tradeDate="20250102" buySell="BUY"/></Trades></FlexStatement></FlexStatements></FlexQueryResponse>';
const env = (status: string, code?: number, extra = '') =>
  `<FlexStatementResponse timestamp='01 June, 2026 09:00 AM EDT'><Status>${status}</Status>${code ? `<ErrorCode>${code}</ErrorCode><ErrorMessage>m</ErrorMessage>` : ''}${extra}</FlexStatementResponse>`;

interface Seen {
  path: string;
  query: URLSearchParams;
  ua: string | undefined;
  at: number;
}

async function serve(
  answer: (req: IncomingMessage, seen: Seen) => [number, string],
): Promise<{ url: string; seen: Seen[]; server: Server }> {
  const seen: Seen[] = [];
  const server = createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://x');
    const s = { path: u.pathname, query: u.searchParams, ua: req.headers['user-agent'], at: Date.now() };
    seen.push(s);
    const [status, body] = answer(req, s);
    res.writeHead(status, { 'content-type': 'text/xml;charset=UTF-8' });
    res.end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen, server };
}

const client = (baseUrl: string, extra: Partial<ConstructorParameters<typeof FlexClient>[0]> = {}) =>
  new FlexClient({
    target: async () => ({ baseUrl, token: 'TOKEN123', simulated: false }),
    userAgent: 'ibkr-mcp/test',
    log: silentLogger,
    minIntervalMs: 20,
    pollDelaysMs: [20],
    ...extra,
  });

describe('Flex client on the wire', () => {
  const servers: Server[] = [];
  after(() => {
    for (const s of servers) s.close();
  });

  test('SendRequest then GetStatement: User-Agent, t/q/v=3, fd/td; a foreign Url is not followed', async () => {
    const other = await serve(() => [200, STATEMENT]);
    const ib = await serve((_req, s) =>
      s.path.endsWith('/SendRequest')
        ? [
            200,
            env('Success', undefined, `<ReferenceCode>42</ReferenceCode><Url>${other.url}/steal/GetStatement</Url>`),
          ]
        : [200, STATEMENT],
    );
    servers.push(other.server, ib.server);
    const r = await client(`${ib.url}/AccountManagement/FlexWebService`).run({
      queryId: '7',
      fromDate: '2025-01-01',
      toDate: '2025-12-31',
    });
    assert.equal(r.statement.accounts[0]?.trades.length, 1);
    assert.equal(other.seen.length, 0, 'the token went nowhere else');
    const [send, get] = ib.seen;
    assert.equal(send?.path, '/AccountManagement/FlexWebService/SendRequest');
    assert.deepEqual(Object.fromEntries(send?.query ?? []), {
      t: 'TOKEN123',
      q: '7',
      v: '3',
      fd: '20250101',
      td: '20251231',
    });
    assert.equal(send?.ua, 'ibkr-mcp/test');
    assert.equal(get?.path, '/AccountManagement/FlexWebService/GetStatement');
    assert.deepEqual(Object.fromEntries(get?.query ?? []), { t: 'TOKEN123', q: '42', v: '3' });
  });

  test('a refused reference code (1017) is renewed once; 1019 waited out; requests paced', async () => {
    let sends = 0;
    let gets = 0;
    const ib = await serve((_req, s) => {
      if (s.path.endsWith('/SendRequest'))
        return [200, env('Success', undefined, `<ReferenceCode>${++sends}</ReferenceCode>`)];
      gets++;
      if (s.query.get('q') === '1') return [200, env('Fail', 1017)];
      return [200, gets < 4 ? env('Warn', 1019) : STATEMENT];
    });
    servers.push(ib.server);
    const waits: string[] = [];
    const r = await client(ib.url, { minIntervalMs: 150 }).run({ queryId: '7', onWait: (_w, m) => waits.push(m) });
    assert.equal(r.statement.accounts.length, 1);
    assert.equal(sends, 2);
    assert.equal(waits.length, 2);
    assert.match(waits[0] ?? '', /Flex 1019/);
    const gaps = ib.seen.slice(1).map((s, i) => s.at - (ib.seen[i] as Seen).at);
    assert.ok(
      gaps.every((g) => g >= 140),
      `at least the interval between requests: ${gaps.join(',')}`,
    );
  });

  test('two calls for the same statement share one request; a failure other than "not yet" starts over', async () => {
    let sends = 0;
    let expired = false;
    const ib = await serve((_req, s) => {
      if (s.path.endsWith('/SendRequest'))
        return [200, env('Success', undefined, `<ReferenceCode>${++sends}</ReferenceCode>`)];
      if (expired) return [200, env('Fail', 1012)];
      return [200, STATEMENT];
    });
    servers.push(ib.server);
    const c = client(ib.url);
    const [a, b] = await Promise.all([c.run({ queryId: '5' }), c.run({ queryId: '5' })]);
    assert.equal(sends, 1);
    assert.equal(a, b);
    expired = true;
    await assert.rejects(c.run({ queryId: '6' }), (e) => isBrokerError(e) && e.code === 'NOT_AUTHENTICATED');
    expired = false;
    await c.run({ queryId: '6' });
    assert.equal(sends, 3, 'after the token error, a new SendRequest (the old reference is not reused)');
  });

  test('at most perMinute requests in a minute', async () => {
    const ib = await serve(() => [200, env('Fail', 1014)]);
    servers.push(ib.server);
    let t = 0;
    const sleeps: number[] = [];
    // The clock is the test's: a third request inside the minute waits for the first to age out.
    const wait = async (ms: number) => {
      sleeps.push(ms);
      t += ms;
    };
    const c = client(ib.url, { perMinute: 2, minIntervalMs: 0, now: () => t, wait });
    for (let i = 0; i < 3; i++) await assert.rejects(c.run({ queryId: '1' }), /1014/);
    assert.deepEqual(sleeps, [60_000]);
  });

  test('unreadable, failed and refused answers; cancellation; no token over plain http to another host', async () => {
    const html = await serve(() => [200, '<html><body>Maintenance</body></html>']);
    const down = await serve(() => [503, 'Service Unavailable']);
    const slow = await serve((_req, s) =>
      s.path.endsWith('/SendRequest')
        ? [200, env('Success', undefined, '<ReferenceCode>9</ReferenceCode>')]
        : [200, env('Warn', 1019)],
    );
    servers.push(html.server, down.server, slow.server);
    await assert.rejects(
      client(html.url).run({ queryId: '1' }),
      (e) => isBrokerError(e) && /unreadable/.test(e.message),
    );
    await assert.rejects(client(down.url).run({ queryId: '1' }), (e) => isBrokerError(e) && /HTTP 503/.test(e.message));
    await assert.rejects(
      client(html.url, { maxAnswerBytes: 10 }).run({ queryId: '1' }),
      (e) => isBrokerError(e) && /an answer over/.test(e.message),
    );
    const ac = new AbortController();
    const p = client(slow.url, { pollDelaysMs: [10_000] }).run({
      queryId: '1',
      signal: ac.signal,
      onWait: () => ac.abort(),
    });
    await assert.rejects(p, (e) => isBrokerError(e) && e.code === 'CANCELLED');
    await assert.rejects(
      client('http://example.com/FlexWebService').run({ queryId: '1' }),
      (e) => isBrokerError(e) && e.code === 'REFUSED',
    );
    for (const s of [...html.seen, ...down.seen]) assert.ok(!s.path.includes('TOKEN123'));
  });
});

describe('queries remembered in the state directory', () => {
  let home: string;
  before(() => {
    home = mkdtempSync(join(tmpdir(), 'flex-store-'));
  });
  after(() => rmSync(home, { recursive: true, force: true }));

  test('remember, rename, names unique, forget by id or name; owner-only file; a broken file is empty', () => {
    const src = createFlexSource({
      home,
      log: silentLogger,
      userAgent: 'x',
      configured: () => false,
      target: async () => undefined,
    });
    assert.equal(src.remember('1', 'Trades', true).name, 'Trades');
    assert.equal(src.remember('2', undefined, false).name, 'Query 2');
    assert.equal(src.remember('2', 'trades', false).name, 'trades', 'a name names one query');
    assert.deepEqual(
      src.saved().map((q) => q.id),
      ['2'],
    );
    assert.equal(src.find('TRADES')?.id, '2');
    assert.equal(statSync(join(home, 'flex-queries.json')).mode & 0o777, 0o600);
    assert.equal(src.forget('2')?.name, 'trades');
    assert.equal(src.forget('2'), undefined);
    writeFileSync(join(home, 'flex-queries.json'), '{"queries":[{"id":1},"x",null]');
    assert.deepEqual(src.saved(), []);
    writeFileSync(join(home, 'flex-queries.json'), '{"queries":[{"id":"3","name":"N","savedAt":"t"},{"id":4}]}');
    assert.deepEqual(
      src.saved().map((q) => q.id),
      ['3'],
    );
    assert.match(readFileSync(join(home, 'flex-queries.json'), 'utf8'), /"N"/);
  });
});

describe("the simulator's Flex service, as IB documents it", () => {
  let sim: SimulatorHandle;
  before(async () => {
    sim = await startSimulator({ port: 0, flex: { generationMs: 0 } });
  });
  after(async () => {
    await sim?.close();
  });
  const get = async (path: string, headers: Record<string, string> = { 'user-agent': 'raw-client/1' }) => {
    const res = await request(`${sim.flex?.url}${path}`, { headers });
    return { status: res.statusCode, body: await res.body.text() };
  };
  const pause = () => new Promise((r) => setTimeout(r, 1050));

  test('the documented flow, its envelopes, its refusals', async () => {
    const t = sim.flex?.token ?? '';
    assert.equal(
      (await get(`/AccountManagement/FlexWebService/SendRequest?t=${t}&q=100001&v=3`, {})).status,
      403,
      'no User-Agent',
    );
    const send = await get(`/AccountManagement/FlexWebService/SendRequest?t=${t}&q=100001&v=3`);
    assert.equal(send.status, 200);
    assert.match(
      send.body,
      /^<FlexStatementResponse timestamp='\d{2} \w+, \d{4} \d{2}:\d{2} [AP]M E[SD]T'>\n<Status>Success<\/Status>\n<ReferenceCode>(\d+)<\/ReferenceCode>\n<Url>http:\/\/127\.0\.0\.1:\d+\/AccountManagement\/FlexWebService\/GetStatement<\/Url>/,
    );
    const ref = /<ReferenceCode>(\d+)</.exec(send.body)?.[1];
    await pause();
    const stmt = await get(`/Universal/servlet/FlexStatementService.GetStatement?t=${t}&q=${ref}&v=3`);
    assert.match(
      stmt.body,
      /^<FlexQueryResponse queryName="[^"]+" type="AF">\n<FlexStatements count="1">\n<FlexStatement accountId="DU\d+" fromDate="\d{8}" toDate="\d{8}"/,
    );
    await pause();
    assert.match(
      (await get(`/AccountManagement/FlexWebService/GetStatement?t=${t}&q=1&v=3`)).body,
      /<Status>Fail<\/Status>\n<ErrorCode>1017</,
    );
    await pause();
    assert.match(
      (await get(`/AccountManagement/FlexWebService/SendRequest?t=${t}&q=100001&v=3&fd=20240101&td=20241231`)).body,
      /<ErrorCode>1020</,
    );
    assert.match(
      (await get('/AccountManagement/FlexWebService/SendRequest?t=000&q=100001&v=3')).body,
      /<ErrorCode>1015</,
    );
    // Two requests within a second: IB's 1018.
    assert.match(
      (await get(`/AccountManagement/FlexWebService/SendRequest?t=${t}&q=100001&v=3`)).body,
      /<Status>Warn<\/Status>\n<ErrorCode>1018</,
    );
  });
});
