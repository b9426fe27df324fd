/**
 * `authenticate` as a task (MCP 2025-11-25 tasks, src/mcp/tasks.ts), over stdio against a gateway
 * (the simulator) that waits for a login: a client that declares tasks gets a task at once, polls
 * it while the human logs in, reads the result, and can cancel a second one; the official Tasks
 * requester (@modelcontextprotocol/ext-tasks) drives it too; a client without tasks gets today's
 * plain answer.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  createTaskSessionFromClient,
  resultFromTaskOutcome,
  toolDeclaration,
} from '@modelcontextprotocol/ext-tasks/client';
import * as z from 'zod';
import { type Harness, startServer } from './harness.js';

const Task = z.object({ taskId: z.string(), status: z.string(), statusMessage: z.string().optional() }).loose();
const Created = z.object({ task: Task }).loose();
const Any = z.object({}).loose();
const TASKS = { tasks: { list: {}, cancel: {} } };

let h: Harness;
before(async () => {
  h = await startServer({
    sim: { authenticated: false },
    env: { IBKR_MCP_OPEN_BROWSER: 'false' },
    capabilities: TASKS,
  });
});
after(async () => {
  await h?.close();
});

type Req = { method: string; params: Record<string, unknown> };
const request = <S extends z.ZodType>(method: string, params: Record<string, unknown>, schema: S) =>
  h.client.request({ method, params } as Req as never, schema) as Promise<z.infer<S>>;
const logout = () => h.simControl('/sim/session', { authenticated: false });
const login = () => h.simControl('/sim/session', { authenticated: true });

test('the server offers tasks for authenticate only', async () => {
  assert.deepEqual(h.client.getServerCapabilities()?.['tasks' as never], {
    list: {},
    cancel: {},
    requests: { tools: { call: {} } },
  });
  const tools = (await h.client.listTools()).tools;
  assert.deepEqual(tools.find((t) => t.name === 'authenticate')?.execution, { taskSupport: 'optional' });
  assert.ok(
    tools.filter((t) => t.name !== 'authenticate').every((t) => t.execution === undefined),
    'no other tool',
  );
});

test('a task: created at once, polled while the human logs in, then the result', async () => {
  await logout();
  const t0 = Date.now();
  const { task } = await request(
    'tools/call',
    { name: 'authenticate', arguments: {}, task: { ttl: 120_000 } },
    Created,
  );
  assert.ok(Date.now() - t0 < 1000, `created in ${Date.now() - t0} ms`);
  assert.equal(task.status, 'working');
  let seen = await request('tasks/get', { taskId: task.taskId }, Task);
  for (let i = 0; i < 20 && !seen.statusMessage; i++) {
    await new Promise((r) => setTimeout(r, 100));
    seen = await request('tasks/get', { taskId: task.taskId }, Task);
  }
  assert.equal(seen.status, 'working');
  assert.match(String(seen.statusMessage), /Waiting for the IB login: .*https:\/\/127\.0\.0\.1/);
  await login();
  for (let i = 0; i < 50 && seen.status === 'working'; i++) {
    await new Promise((r) => setTimeout(r, 200));
    seen = await request('tasks/get', { taskId: task.taskId }, Task);
  }
  assert.equal(seen.status, 'completed');
  const result = await request('tasks/result', { taskId: task.taskId }, Any);
  assert.equal((result['structuredContent'] as { outcome: string }).outcome, 'authenticated');
  assert.deepEqual((result['_meta'] as Record<string, unknown>)['io.modelcontextprotocol/related-task'], {
    taskId: task.taskId,
  });
  const { tasks } = await request('tasks/list', {}, z.object({ tasks: z.array(Task) }).loose());
  assert.ok(tasks.some((t) => t.taskId === task.taskId && t.status === 'completed'));
});

test('a task can be cancelled: it stops waiting, and says the login goes on', async () => {
  await logout();
  const { task } = await request('tools/call', { name: 'authenticate', arguments: {}, task: {} }, Created);
  const cancelled = await request('tasks/cancel', { taskId: task.taskId }, Task);
  assert.equal(cancelled.status, 'cancelled');
  assert.match(String(cancelled.statusMessage), /stopped waiting.*get_connection_status/);
  assert.equal((await request('tasks/get', { taskId: task.taskId }, Task)).status, 'cancelled');
  await assert.rejects(request('tasks/result', { taskId: task.taskId }, Any), /was cancelled/);
  await assert.rejects(request('tasks/get', { taskId: 'not-a-task' }, Any), /No task not-a-task/);
});

test('the official Tasks requester (ext-tasks) runs and cancels authenticate as a task', async () => {
  await logout();
  const session = createTaskSessionFromClient(h.client, { endpointId: 'ibkr-test' });
  try {
    const tool = (await h.client.listTools()).tools.find((t) => t.name === 'authenticate')!;
    const opts = { declaration: toolDeclaration(tool as never), task: { preference: 'require' as const } };
    const running = await session.callTool('authenticate', {}, opts);
    setTimeout(() => void login(), 500);
    const done = await running.settle();
    assert.equal(done.outcome.status, 'completed');
    const r = resultFromTaskOutcome(done.outcome) as { structuredContent?: { outcome?: string } };
    assert.equal(r.structuredContent?.outcome, 'authenticated');

    await logout();
    const second = await session.callTool('authenticate', {}, opts);
    await second.cancel();
    assert.equal((await second.settle()).outcome.status, 'cancelled');
  } finally {
    await session.close();
  }
});

test('a client without tasks gets the plain answer within ~2 s', async () => {
  const plain = await startServer({
    sim: { authenticated: false },
    env: { IBKR_MCP_OPEN_BROWSER: 'false' },
  });
  try {
    const t0 = Date.now();
    const r = await plain.callTool('authenticate', {});
    assert.ok(Date.now() - t0 < 3000, `${Date.now() - t0} ms`);
    assert.equal(r.isError, false, r.text);
    assert.equal(r.structured.outcome, 'in_progress');
    assert.equal('task' in r.raw, false);
  } finally {
    await plain.close();
  }
});
