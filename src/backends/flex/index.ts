/**
 * The statements source (src/broker/statements.ts) over IB's Flex Web Service: the client
 * (client.ts) and the queries remembered by name in the state directory (flex-queries.json,
 * owner-only). Names are the user's own labels; ids are IB's query ids (digits).
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SavedQuery, StatementsSource } from '../../broker/statements.js';
import type { Logger } from '../../log.js';
import { FlexClient, type FlexClientOptions } from './client.js';

export { FLEX_DEFAULT_URL, FlexClient, type FlexTarget } from './client.js';

export interface FlexSourceOptions extends Omit<FlexClientOptions, 'log'> {
  /** The state directory. */
  home: string;
  log: Logger;
  /** A token is there (configuration or simulator). */
  configured: () => boolean;
}

const FILE = 'flex-queries.json';
const MAX_SAVED = 200;

export function createFlexSource(opts: FlexSourceOptions): StatementsSource {
  const client = new FlexClient({ ...opts, log: opts.log });
  const path = join(opts.home, FILE);

  const load = (): SavedQuery[] => {
    try {
      const v: unknown = JSON.parse(readFileSync(path, 'utf8'));
      const list = (v as { queries?: unknown }).queries;
      if (!Array.isArray(list)) return [];
      return list.filter(
        (q): q is SavedQuery =>
          typeof q === 'object' &&
          q !== null &&
          typeof q.id === 'string' &&
          typeof q.name === 'string' &&
          typeof q.savedAt === 'string',
      );
    } catch {
      return [];
    }
  };
  const save = (list: SavedQuery[]) => {
    const tmp = `${path}.${process.pid}.tmp`;
    writeFileSync(tmp, `${JSON.stringify({ queries: list }, null, 1)}\n`, { mode: 0o600 });
    renameSync(tmp, path);
  };
  const same = (q: SavedQuery, key: string) => q.id === key.trim() || q.name.toLowerCase() === key.trim().toLowerCase();

  return {
    configured: opts.configured,
    run: (req) => client.run(req),
    saved: load,
    find: (key) => load().find((q) => same(q, key)),
    remember(id, name, ran) {
      const list = load();
      const now = new Date().toISOString();
      const old = list.find((q) => q.id === id);
      const entry: SavedQuery = {
        id,
        name: name ?? old?.name ?? `Query ${id}`,
        savedAt: old?.savedAt ?? now,
        ...(ran ? { lastRunAt: now } : old?.lastRunAt ? { lastRunAt: old.lastRunAt } : {}),
      };
      // A name names one query: another query with it loses it.
      const rest = list.filter((q) => q.id !== id && q.name.toLowerCase() !== entry.name.toLowerCase());
      save([...rest, entry].slice(-MAX_SAVED));
      return entry;
    },
    forget(key) {
      const list = load();
      const hit = list.find((q) => same(q, key));
      if (hit) save(list.filter((q) => q !== hit));
      return hit;
    },
  };
}
