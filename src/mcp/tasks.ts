/**
 * Tasks for the long waits (MCP 2025-11-25 `tasks`, what today's clients speak): a client that
 * declares task support may call `authenticate` as a task. It gets a task at once, polls
 * `tasks/get` (the status message follows the login: URL, second factor), reads the tool's result
 * with `tasks/result` and stops waiting with `tasks/cancel`. Clients without tasks, and the
 * 2026-07-28 era (where tasks are an extension this server does not offer yet), get the plain
 * answer as before. Tasks live in one MCP session (server instance): their ids are random and no
 * other session sees them.
 *
 * SDK v2 keeps the 2025-11-25 task vocabulary (schemas, `tasks/*` methods) but no runtime, and
 * its tools/call handler accepts only a tool result; a task-augmented call is therefore answered
 * in front of that handler (see `interceptToolCalls`).
 */
import { randomUUID } from 'node:crypto';
import {
  type McpServer,
  PROTOCOL_VERSION_META_KEY,
  ProtocolError,
  ProtocolErrorCode,
  RELATED_TASK_META_KEY,
  type ServerCapabilities,
} from '@modelcontextprotocol/server';
import * as z from 'zod';

/**
 * The tools a client may run as a task (the ones that wait for a human), with the arguments a task
 * defaults to: authenticate waits for the whole login, second factor included (its maximum).
 */
export const TASK_TOOLS: ReadonlyMap<string, Record<string, unknown>> = new Map([
  ['authenticate', { waitSeconds: 600 }],
]);

/** What tasks/get tells a client: poll every 2 s. */
export const TASK_POLL_MS = 2000;
/** How long a task and its result are kept: as asked, between 1 minute and 1 hour, 10 minutes by default. */
const TTL_DEFAULT_MS = 10 * 60_000;
const TTL_MIN_MS = 60_000;
const TTL_MAX_MS = 60 * 60_000;
/** At most this many tasks a session (the oldest finished one makes room). */
const MAX_TASKS = 50;

type Status = 'working' | 'input_required' | 'completed' | 'failed' | 'cancelled';

export interface TaskState {
  taskId: string;
  status: Status;
  ttl: number;
  createdAt: string;
  lastUpdatedAt: string;
  pollInterval: number;
  statusMessage?: string;
}

export type CallResult = { content: Array<{ type: string; text?: string }>; isError?: boolean } & Record<
  string,
  unknown
>;

/** Runs the tool of a task: `signal` aborts on tasks/cancel, `progress` updates the status message. */
export type TaskRun = (signal: AbortSignal, progress: (message: string) => void) => Promise<CallResult>;

interface Entry {
  task: TaskState;
  controller: AbortController;
  result?: CallResult;
  settled: Promise<void>;
  expiry?: NodeJS.Timeout;
}

const terminal = (s: Status) => s === 'completed' || s === 'failed' || s === 'cancelled';

/** The tasks of one MCP session. */
export class TaskStore {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly now: () => Date = () => new Date()) {}

  create(ttlAsked: unknown, run: TaskRun): TaskState {
    this.makeRoom();
    const ttl =
      typeof ttlAsked === 'number' && Number.isFinite(ttlAsked)
        ? Math.min(TTL_MAX_MS, Math.max(TTL_MIN_MS, Math.round(ttlAsked)))
        : TTL_DEFAULT_MS;
    const at = this.now().toISOString();
    const task: TaskState = {
      taskId: randomUUID(),
      status: 'working',
      ttl,
      createdAt: at,
      lastUpdatedAt: at,
      pollInterval: TASK_POLL_MS,
    };
    const controller = new AbortController();
    const entry = { task, controller } as Entry;
    const update = (patch: Partial<TaskState>) => {
      if (terminal(task.status)) return;
      Object.assign(task, patch, { lastUpdatedAt: this.now().toISOString() });
      if (terminal(task.status)) this.expireLater(entry);
    };
    entry.settled = run(controller.signal, (message) => update({ statusMessage: message.slice(0, 500) })).then(
      (result) => {
        if (terminal(task.status)) return;
        entry.result = result;
        update({ status: result.isError ? 'failed' : 'completed', statusMessage: firstLine(result) });
      },
      (err: unknown) => {
        if (terminal(task.status)) return;
        const text = `The task failed: ${err instanceof Error ? err.message : String(err)}`;
        entry.result = { content: [{ type: 'text', text }], isError: true };
        update({ status: 'failed', statusMessage: text });
      },
    );
    this.entries.set(task.taskId, entry);
    return { ...task };
  }

  get(taskId: string): TaskState {
    return { ...this.entry(taskId).task };
  }

  /** The tool's result once the task has ended (waits until then). */
  async result(taskId: string): Promise<CallResult> {
    const entry = this.entry(taskId);
    if (!terminal(entry.task.status)) await Promise.race([entry.settled, aborted(entry.controller.signal)]);
    if (entry.task.status === 'cancelled' || !entry.result) {
      throw new ProtocolError(ProtocolErrorCode.InvalidParams, `Task ${taskId} was cancelled: it has no result.`);
    }
    const meta = { ...((entry.result['_meta'] as object | undefined) ?? {}), [RELATED_TASK_META_KEY]: { taskId } };
    return { ...entry.result, _meta: meta };
  }

  cancel(taskId: string): TaskState {
    const entry = this.entry(taskId);
    if (terminal(entry.task.status)) {
      throw new ProtocolError(
        ProtocolErrorCode.InvalidParams,
        `Task ${taskId} has already ended (${entry.task.status}); it cannot be cancelled.`,
      );
    }
    Object.assign(entry.task, {
      status: 'cancelled',
      statusMessage:
        'Cancelled: ibkr-mcp stopped waiting. A login already started goes on at IB; get_connection_status shows it.',
      lastUpdatedAt: this.now().toISOString(),
    });
    entry.controller.abort(new Error('task cancelled'));
    this.expireLater(entry);
    return { ...entry.task };
  }

  list(): TaskState[] {
    return [...this.entries.values()].map((e) => ({ ...e.task }));
  }

  /** Stops every task (the session ended). */
  close(): void {
    for (const e of this.entries.values()) {
      e.controller.abort(new Error('session closed'));
      if (e.expiry) clearTimeout(e.expiry);
    }
    this.entries.clear();
  }

  private entry(taskId: string): Entry {
    const e = this.entries.get(taskId);
    if (!e) throw new ProtocolError(ProtocolErrorCode.InvalidParams, `No task ${taskId} in this session.`);
    return e;
  }

  private expireLater(entry: Entry): void {
    entry.expiry = setTimeout(() => this.entries.delete(entry.task.taskId), entry.task.ttl);
    entry.expiry.unref();
  }

  private makeRoom(): void {
    if (this.entries.size < MAX_TASKS) return;
    const done = [...this.entries.values()].find((e) => terminal(e.task.status));
    if (!done) throw new ProtocolError(ProtocolErrorCode.InvalidRequest, `At most ${MAX_TASKS} tasks run at once.`);
    this.entries.delete(done.task.taskId);
  }
}

function firstLine(r: CallResult): string | undefined {
  const text = r.content.find((c) => c.type === 'text')?.text;
  return text?.split('\n')[0]?.slice(0, 500);
}

function aborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) =>
    signal.aborted ? resolve() : signal.addEventListener('abort', () => resolve(), { once: true }),
  );
}

/** The task capability (2025-11-25): tool calls as tasks, list and cancel. */
export const TASKS_CAPABILITY = { list: {}, cancel: {}, requests: { tools: { call: {} } } };

type RawHandler = (request: { params?: Record<string, unknown> }, ctx: unknown) => Promise<unknown>;

/**
 * Answers a task-augmented tools/call of a task tool with a task, in front of the SDK's tools/call
 * handler (which validates results as tool results and would refuse a task). Everything else goes
 * to that handler unchanged. Call after the first tool is registered.
 */
function interceptToolCalls(
  server: McpServer,
  onTask: (name: string, args: unknown, ttl: unknown, ctx: unknown) => TaskState,
) {
  const handlers = (server.server as unknown as { _requestHandlers?: Map<string, RawHandler> })._requestHandlers;
  const inner = handlers?.get('tools/call');
  if (!handlers || !inner) throw new Error('tasks: the SDK has no tools/call handler to put tasks in front of');
  handlers.set('tools/call', async (request, ctx) => {
    const p = request.params ?? {};
    const task = p['task'] as { ttl?: unknown } | undefined;
    const meta = p['_meta'] as Record<string, unknown> | undefined;
    const modern = meta?.[PROTOCOL_VERSION_META_KEY] !== undefined;
    if (task && typeof task === 'object' && !modern && TASK_TOOLS.has(String(p['name']))) {
      return { task: onTask(String(p['name']), p['arguments'] ?? {}, task.ttl, ctx) };
    }
    return inner(request, ctx);
  });
}

/**
 * Offers tasks on this server: the capability, `execution.taskSupport` on the task tools (set by
 * the caller on their registrations), the tasks/* methods and the tools/call front. `run` runs one
 * tool call as the plain handler would, but with the task's signal and status messages.
 */
export type ToolRunner = (
  name: string,
  args: unknown,
  task: { signal: AbortSignal; progress: (message: string) => void; ctx: unknown },
) => Promise<CallResult>;

export function enableTasks(server: McpServer, run: ToolRunner): TaskStore {
  const store = new TaskStore();
  server.server.registerCapabilities({ tasks: TASKS_CAPABILITY } as ServerCapabilities);
  interceptToolCalls(server, (name, args, ttl, ctx) =>
    store.create(ttl, (signal, progress) => run(name, args, { signal, progress, ctx })),
  );
  // The SDK's method types leave out the 2025-11-25 task methods; their wire schemas are its own.
  const byId = { params: z.object({ taskId: z.string() }).loose() };
  server.server.setRequestHandler('tasks/get', byId, (p) => ({ ...store.get(p.taskId) }));
  server.server.setRequestHandler('tasks/result', byId, (p) => store.result(p.taskId));
  server.server.setRequestHandler('tasks/cancel', byId, (p) => ({ ...store.cancel(p.taskId) }));
  server.server.setRequestHandler('tasks/list', { params: z.object({}).loose() }, () => ({ tasks: store.list() }));
  const previous = server.server.onclose;
  server.server.onclose = () => {
    store.close();
    previous?.();
  };
  return store;
}
