/**
 * Replay of a capture (`ibkr-mcp simulator --replay DIR`): recorded requests get the recorded
 * (redacted) answers; anything not recorded gets the simulator's own answer.
 *
 * A capture is a directory of JSON Lines files (docs/capture.md), one exchange a line:
 * {"method","path","query"?,"status","body"}. A request matches a recorded one on method and path,
 * and on the query when one was recorded (in any parameter order). Several recordings of the same
 * request are answered in their order; the last one repeats.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Recorded {
  status: number;
  body: unknown;
}

export interface Replay {
  /** The recorded answer for this request, or undefined. */
  answer(method: string, path: string, query: URLSearchParams): Recorded | undefined;
  /** Number of recorded exchanges. */
  readonly size: number;
}

function queryKey(entries: Iterable<[string, string]>): string {
  return [...entries]
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`)
    .sort()
    .join('&');
}

interface Queue {
  answers: Recorded[];
  next: number;
}

/** Reads every *.jsonl file of a capture directory. */
export function loadReplay(dir: string): Replay {
  const queues = new Map<string, Queue>();
  let size = 0;
  for (const file of readdirSync(dir).sort()) {
    if (!file.endsWith('.jsonl')) continue;
    const lines = readFileSync(join(dir, file), 'utf8').split('\n');
    const rows: Array<{ seq: number; key: string; answer: Recorded }> = [];
    for (const [i, line] of lines.entries()) {
      if (line.trim() === '') continue;
      let e: { seq?: unknown; method?: unknown; path?: unknown; query?: unknown; status?: unknown; body?: unknown };
      try {
        e = JSON.parse(line) as typeof e;
      } catch {
        throw new Error(`${file} line ${i + 1} is not JSON.`);
      }
      if (typeof e.method !== 'string' || typeof e.path !== 'string' || typeof e.status !== 'number') {
        throw new Error(`${file} line ${i + 1} has no method, path and status.`);
      }
      const q =
        e.query && typeof e.query === 'object'
          ? queryKey(Object.entries(e.query as Record<string, unknown>).map(([k, v]) => [k, String(v)]))
          : '';
      rows.push({
        seq: typeof e.seq === 'number' ? e.seq : i,
        key: `${e.method.toUpperCase()} ${e.path}${q ? `?${q}` : ''}`,
        answer: { status: e.status, body: e.body },
      });
    }
    rows.sort((a, b) => a.seq - b.seq);
    for (const r of rows) {
      let queue = queues.get(r.key);
      if (!queue) {
        queue = { answers: [], next: 0 };
        queues.set(r.key, queue);
      }
      queue.answers.push(r.answer);
      size++;
    }
  }
  const take = (key: string): Recorded | undefined => {
    const queue = queues.get(key);
    if (!queue) return undefined;
    const answer = queue.answers[Math.min(queue.next, queue.answers.length - 1)];
    queue.next++;
    return answer;
  };
  return {
    size,
    answer(method, path, query) {
      const q = queryKey(query.entries());
      const base = `${method.toUpperCase()} ${path}`;
      // With the query when it was recorded; a recording without a query answers any query.
      return (q ? take(`${base}?${q}`) : undefined) ?? take(base);
    },
  };
}
