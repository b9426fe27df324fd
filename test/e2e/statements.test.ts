/**
 * Flex statements end to end: the built server asks the simulator's Flex Web Service (its own
 * port, reached through --flex-url, token from IB_FLEX_TOKEN) for a busy 365-day activity
 * statement, waits out "generation in progress" with progress notifications, answers a summary
 * under 4 KB, pages the trades from its cache, remembers queries by name and forgets them; the
 * error paths: unknown query (1014), a statement still generating when the wait ends (kept and
 * picked up by the next call), an expired token (1012), a period over 365 days; and the
 * in-process simulator of --backend sim, with no token configured.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { fetch } from 'undici';
import { SIM_FLEX_TOKEN, type SimulatorHandle, startSimulator } from '../../src/simulator/index.js';
import { type Harness, startServer } from './harness.js';

const SECOND_TOKEN = '558201937465019283746501';

async function flexControl(sim: SimulatorHandle, body?: unknown): Promise<{ references: number }> {
  const res = await fetch(`${sim.flex?.url}/sim/flex`, {
    method: body === undefined ? 'GET' : 'POST',
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return (await res.json()) as { references: number };
}

function bytesOf(r: { text: string; structured: unknown }): number {
  return Buffer.byteLength(r.text) + Buffer.byteLength(JSON.stringify(r.structured));
}

describe('Flex statements end to end', () => {
  let sim: SimulatorHandle;
  let h: Harness;
  let errs: Harness;
  let ro: Harness;
  before(async () => {
    sim = await startSimulator({ port: 0, seed: 7, flex: { tradesPerDay: 20, generationMs: 1500 } });
    await flexControl(sim, { addToken: SECOND_TOKEN });
    const common = {
      sim: false as const,
      backendArgs: ['--backend', 'gateway', '--gateway-url', sim.url, '--flex-url', sim.flex?.baseUrl ?? ''],
    };
    [h, errs, ro] = await Promise.all([
      startServer({ ...common, args: ['--toolsets', 'statements'], env: { IB_FLEX_TOKEN: SIM_FLEX_TOKEN } }),
      startServer({ ...common, args: ['--toolsets', 'statements'], env: { IB_FLEX_TOKEN: SECOND_TOKEN } }),
      startServer({
        ...common,
        args: ['--toolsets', 'statements', '--read-only'],
        env: { IB_FLEX_TOKEN: SIM_FLEX_TOKEN },
      }),
    ]);
  });
  after(async () => {
    await Promise.all([h?.close(), errs?.close(), ro?.close()]);
    await sim?.close();
  });

  test('tools: the original names, output schemas, --read-only keeps the reads', async () => {
    const { tools } = await h.client.listTools();
    const by = Object.fromEntries(tools.map((t) => [t.name, t]));
    for (const n of ['get_flex_query', 'list_flex_queries', 'forget_flex_query']) assert.ok(by[n]?.outputSchema, n);
    assert.equal(by['get_flex_query']?.annotations?.readOnlyHint, true);
    assert.deepEqual(
      Object.keys((by['get_flex_query']?.inputSchema as { properties?: object } | undefined)?.properties ?? {}).slice(
        0,
        3,
      ),
      ['queryId', 'queryName', 'parseXml'],
    );
    const listed = (await ro.client.listTools()).tools.map((t) => t.name).filter((n) => n.includes('flex'));
    assert.deepEqual(listed.sort(), ['get_flex_query', 'list_flex_queries']);
  });

  test('a busy 365-day statement: waits with progress, summary under 4 KB, trades paged from the cache', async () => {
    const empty = await h.callTool('list_flex_queries', { confirm: true });
    assert.equal(empty.isError, false, empty.text);
    assert.deepEqual(empty.structured.queries, []);
    assert.equal(empty.structured.tokenConfigured, true);

    const progress: string[] = [];
    const raw = await h.client.callTool(
      { name: 'get_flex_query', arguments: { queryId: '100001', queryName: 'Year' } },
      {
        onprogress: (p: { message?: string }) => progress.push(p.message ?? ''),
      } as never,
    );
    const text = (raw.content as { type: string; text: string }[]).map((c) => c.text).join('\n');
    assert.notEqual(raw.isError, true, text);
    assert.ok(progress.length >= 1, 'progress while IB generates the statement');
    assert.match(progress[0] ?? '', /generating the statement \(Flex 1019\)/);
    const s = raw.structuredContent as Record<string, never> & { accounts: Record<string, never>[] };
    assert.equal(s['mode'], 'PAPER');
    assert.equal(s['section'], 'summary');
    assert.equal(s['cached'], false);
    const acct = s.accounts[0] as unknown as {
      accountId: string;
      fromDate: string;
      toDate: string;
      trades: { count: number };
      dividends: { count: number; gross: { amount: number }[] };
      positions: { count: number };
    };
    assert.equal(acct.accountId, 'DU1234567');
    const days = (Date.parse(acct.toDate) - Date.parse(acct.fromDate)) / 86_400_000 + 1;
    assert.equal(days, 365);
    assert.ok(acct.trades.count > 4000, `busy: ${acct.trades.count} trades`);
    assert.ok(acct.dividends.count > 0 && (acct.dividends.gross[0]?.amount ?? 0) > 0);
    assert.ok(acct.positions.count > 0);
    const size = bytesOf({ text, structured: s });
    process.stderr.write(`flex summary: ${acct.trades.count} trades, answer ${size} B\n`);
    assert.ok(size < 4096, `summary answer ${size} B`);
    assert.match(text, /^\[PAPER\] Flex query 100001 «Year»/);

    const before = (await flexControl(sim)).references;
    const page2 = await h.callTool('get_flex_query', { queryId: 'Year', section: 'trades', page: 2 });
    assert.equal(page2.isError, false, page2.text);
    assert.equal(page2.structured.cached, true);
    assert.equal(page2.structured.rows.length, 50);
    const pageBytes = bytesOf(page2);
    process.stderr.write(`flex trades page: 50 rows, answer ${pageBytes} B\n`);
    assert.ok(pageBytes < 16_384, `a page of trades ${pageBytes} B`);
    assert.equal(page2.structured.total, acct.trades.count);
    assert.equal(page2.structured.pages, Math.ceil(acct.trades.count / 50));
    const row = page2.structured.rows[0];
    assert.match(row.date, /^\d{4}-\d{2}-\d{2}$/);
    assert.ok(['BUY', 'SELL'].includes(row.side));
    assert.equal(typeof row.quantity, 'number');
    const divs = await h.callTool('get_flex_query', { queryId: 'year', section: 'dividends' });
    assert.equal(divs.isError, false, divs.text);
    assert.ok(divs.structured.rows.some((r: { type: string }) => r.type === 'Withholding Tax'));
    assert.match(divs.text, /\n2\d{3}-\d{2}-\d{2} \| «Dividends» \| [\d.]+ \| USD \| \w+ \| «[^»]+Cash Dividend/);
    assert.equal((await flexControl(sim)).references, before, 'paging asks IB nothing new');

    const saved = await h.callTool('list_flex_queries', {});
    assert.deepEqual(
      saved.structured.queries.map((q: { id: string; name: string }) => [q.id, q.name]),
      [['100001', 'Year']],
    );
    assert.ok(saved.structured.queries[0].lastRunAt);
  });

  test('unknown query: IB says 1014; the error says where to find the id', async () => {
    const r = await h.callTool('get_flex_query', { queryId: '999999' });
    assert.equal(r.isError, true);
    assert.match(r.text, /^\[NOT_FOUND\] IB does not know this query id.*1014: «Query is invalid\.»/);
    assert.match(r.text, /What to do: Check the Query ID in Client Portal/);
    const name = await h.callTool('get_flex_query', { queryId: 'No such name' });
    assert.match(name.text, /neither a query id nor a saved query name/);
  });

  test('still generating when the wait ends: an error to retry; the next call picks up the same statement', async () => {
    await flexControl(sim, { neverReady: true });
    const before = (await flexControl(sim)).references;
    const r = await errs.callTool('get_flex_query', { queryId: '100002', maxWaitSeconds: 5 });
    assert.equal(r.isError, true);
    assert.match(r.text, /^\[GATEWAY_TIMEOUT\] IB is still generating the statement after \d+ s \(Flex 1019/);
    assert.match(r.text, /picks up this statement/);
    await flexControl(sim, { neverReady: false });
    const again = await errs.callTool('get_flex_query', { queryId: '100002', section: 'trades' });
    assert.equal(again.isError, false, again.text);
    assert.ok(again.structured.total > 0);
    assert.equal((await flexControl(sim)).references, before + 1, 'one SendRequest for both calls');
  });

  test('a period over 365 days is refused before any request', async () => {
    const before = (await flexControl(sim)).references;
    const r = await errs.callTool('get_flex_query', {
      queryId: '100001',
      fromDate: '2024-01-01',
      toDate: '2024-12-31',
    });
    assert.equal(r.isError, true);
    assert.match(r.text, /366 days; IB's Flex Web Service gives at most 365/);
    assert.equal((await flexControl(sim)).references, before);
  });

  test('expired token: a clear error, the token never shown', async () => {
    await flexControl(sim, { expireToken: SECOND_TOKEN });
    const r = await errs.callTool('get_flex_query', {
      queryId: '100001',
      fromDate: '2025-01-01',
      toDate: '2025-06-30',
    });
    assert.equal(r.isError, true);
    assert.match(r.text, /^\[NOT_AUTHENTICATED\] The Flex token has expired\..*1012: «Token has expired\.»/);
    assert.match(r.text, /set IB_FLEX_TOKEN/);
    assert.ok(!r.text.includes(SECOND_TOKEN) && !errs.stderr().includes(SECOND_TOKEN), 'token not shown or logged');
  });

  test('forget_flex_query by name; an unknown one is an error', async () => {
    const r = await h.callTool('forget_flex_query', { queryId: 'YEAR' });
    assert.equal(r.isError, false, r.text);
    assert.equal(r.structured.query.id, '100001');
    assert.deepEqual((await h.callTool('list_flex_queries', {})).structured.queries, []);
    const again = await h.callTool('forget_flex_query', { queryId: 'Year' });
    assert.equal(again.isError, true);
    assert.match(again.text, /No saved Flex query/);
  });
});

describe('Flex statements with --backend sim', () => {
  let h: Harness;
  before(async () => {
    h = await startServer({ sim: false, args: ['--toolsets', 'statements'] });
  });
  after(async () => {
    await h?.close();
  });

  test("the in-process simulator's service and token, no IB_FLEX_TOKEN needed; data tagged SIMULATED", async () => {
    const r = await h.callTool('get_flex_query', { queryId: '100002', section: 'trades' });
    assert.equal(r.isError, false, r.text);
    assert.equal(r.structured.mode, 'SIMULATED');
    assert.ok(r.structured.total > 100);
    assert.match(r.text, /^\[SIMULATED\] /);
  });
});
