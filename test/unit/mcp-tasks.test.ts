/**
 * The task store behind `authenticate` as a task (src/mcp/tasks.ts): status follows the run,
 * results carry the related-task key, cancel stops the wait and is final, unknown ids are errors.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RELATED_TASK_META_KEY } from '@modelcontextprotocol/server';
import { type CallResult, TASK_POLL_MS, TaskStore } from '../../src/mcp/tasks.js';

function deferred() {
  let resolve!: (r: CallResult) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<CallResult>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

test('a task works, reports progress as its status message, completes with the tool result', async () => {
  const store = new TaskStore();
  const d = deferred();
  let say!: (m: string) => void;
  const t = store.create(5_000, (_signal, progress) => {
    say = progress;
    return d.promise;
  });
  assert.equal(t.status, 'working');
  assert.equal(t.ttl, 60_000, 'at least a minute');
  assert.equal(t.pollInterval, TASK_POLL_MS);
  assert.match(t.taskId, /^[0-9a-f-]{36}$/);
  say('Open https://localhost:5000 and approve the IBKR notification.');
  assert.equal(store.get(t.taskId).statusMessage, 'Open https://localhost:5000 and approve the IBKR notification.');
  const result = store.result(t.taskId);
  d.resolve({ content: [{ type: 'text', text: 'Logged in.\nmore' }], structuredContent: { outcome: 'authenticated' } });
  const r = await result;
  assert.deepEqual(r['structuredContent'], { outcome: 'authenticated' });
  assert.deepEqual((r['_meta'] as Record<string, unknown>)[RELATED_TASK_META_KEY], { taskId: t.taskId });
  assert.equal(store.get(t.taskId).status, 'completed');
  assert.equal(store.get(t.taskId).statusMessage, 'Logged in.');
  assert.deepEqual(
    store.list().map((x) => x.status),
    ['completed'],
  );
  store.close();
});

test('an error result or a throw fails the task; the result is still readable', async () => {
  const store = new TaskStore();
  const a = store.create(undefined, async () => ({
    content: [{ type: 'text', text: 'IB login failed' }],
    isError: true,
  }));
  assert.equal(a.ttl, 600_000, 'ten minutes by default');
  assert.equal((await store.result(a.taskId)).isError, true);
  assert.equal(store.get(a.taskId).status, 'failed');
  const b = store.create(10 * 3_600_000, async () => {
    throw new Error('boom');
  });
  assert.equal(b.ttl, 3_600_000, 'an hour at most');
  assert.match(String((await store.result(b.taskId)).content[0]?.text), /The task failed: boom/);
  assert.equal(store.get(b.taskId).status, 'failed');
  store.close();
});

test('cancel aborts the run, is final, and leaves no result', async () => {
  const store = new TaskStore();
  let signal!: AbortSignal;
  const d = deferred();
  const t = store.create(60_000, (s) => {
    signal = s;
    return d.promise;
  });
  const pending = store.result(t.taskId);
  const c = store.cancel(t.taskId);
  assert.equal(c.status, 'cancelled');
  assert.match(String(c.statusMessage), /stopped waiting/);
  assert.equal(signal.aborted, true);
  await assert.rejects(pending, /was cancelled/);
  d.resolve({ content: [{ type: 'text', text: 'late' }] });
  await new Promise((r) => setImmediate(r));
  assert.equal(store.get(t.taskId).status, 'cancelled', 'a late result does not revive it');
  assert.throws(() => store.cancel(t.taskId), /already ended \(cancelled\)/);
  assert.throws(() => store.get('nope'), /No task nope in this session/);
  store.close();
});
