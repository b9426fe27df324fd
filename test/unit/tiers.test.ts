/**
 * The unit tier stays pure: no file in test/unit starts the simulator or the app, opens sockets
 * or spawns processes (those belong in test/integration). A test moved here by mistake fails this.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';

const IMPURE = [
  /from 'node:child_process'/,
  /from 'node:(net|http|https|tls|dgram|worker_threads)'/,
  /from 'undici'/,
  /\bstartSimulator\(/,
  /\bcreateApp\(/,
  /\bstartHttp\(/,
];

test('test/unit holds only pure tests', () => {
  const dir = import.meta.dirname;
  const bad: string[] = [];
  for (const f of readdirSync(dir).filter((x) => x.endsWith('.ts') && x !== 'tiers.test.ts')) {
    const text = readFileSync(join(dir, f), 'utf8');
    for (const re of IMPURE) if (re.test(text)) bad.push(`${f}: ${re.source}`);
  }
  assert.deepEqual(bad, []);
});
