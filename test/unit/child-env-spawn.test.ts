/**
 * A source scan makes sure no spawn site is missed: every spawn, execFile, fork or browser launch
 * in src passes the scrubbed environment. (The children themselves are checked at spawn time in
 * test/integration/child-env-spawn.test.ts.)
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { test } from 'node:test';

const SRC = resolve(import.meta.dirname, '../../src');

/** Source files under src, recursively. */
function sources(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...sources(p));
    else if (e.name.endsWith('.ts')) out.push(p);
  }
  return out;
}

test('every spawn site in src passes the scrubbed environment', () => {
  const calls: string[] = [];
  const bad: string[] = [];
  const site = /\b(spawn|spawnSync|execFile|execFileSync|exec|execSync|fork)\s*\(|chromium\.launch\s*\(/g;
  for (const file of sources(SRC)) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(site)) {
      const at = m.index ?? 0;
      const lineStart = text.lastIndexOf('\n', at) + 1;
      const line = text.slice(lineStart, text.indexOf('\n', at));
      // Regex .exec( calls, the watchdog's own source text (a string, run with our scrubbed env), comments.
      if (/\.\s*exec\s*\($/.test(text.slice(Math.max(0, at - 1), at + m[0].length))) continue;
      if (/^\s*(\/\/|\*)/.test(line) || /require\('child_process'\)/.test(line)) continue;
      const where = `${file.slice(SRC.length + 1)}:${text.slice(0, at).split('\n').length}`;
      calls.push(where);
      // The call's argument list: up to its matching parenthesis.
      let depth = 0;
      let end = at + m[0].length - 1;
      for (; end < text.length; end++) {
        if (text[end] === '(') depth++;
        else if (text[end] === ')' && --depth === 0) break;
      }
      if (!/\benv:\s*childEnv\(/.test(text.slice(at, end))) bad.push(where);
    }
  }
  assert.ok(calls.length >= 5, `found the spawn sites: ${calls.join(', ')}`);
  assert.deepEqual(bad, [], 'spawn sites without env: childEnv(...)');
});
