import assert from 'node:assert/strict';
import { test } from 'node:test';
import { addSecret, createLogger, redact } from '../../src/log.js';

function capture(level: 'debug' | 'info' = 'debug') {
  const lines: string[] = [];
  const log = createLogger({ level, write: (l) => lines.push(l) });
  return { log, lines };
}

test('registered secrets are redacted in messages, fields and nested values', () => {
  addSecret('canary-pass-9f3a');
  const { log, lines } = capture();
  log.info('login with canary-pass-9f3a failed', {
    detail: { nested: ['x canary-pass-9f3a y'] },
    err: new Error('bad canary-pass-9f3a'),
  });
  const out = lines.join('');
  assert.ok(!out.includes('canary-pass-9f3a'), out);
  assert.match(out, /\[redacted\]/);
  assert.equal(redact('a canary-pass-9f3a b'), 'a [redacted] b');
});

test('values under secret-looking keys are redacted whatever they are', () => {
  const { log, lines } = capture();
  log.debug('request', {
    password: 'p',
    token: 'abc',
    cookie: 'c=1',
    totpSecret: 'JBSW',
    session: 'deadbeef',
    path: '/x',
  });
  const rec = JSON.parse(lines[0]!);
  for (const k of ['password', 'token', 'cookie', 'totpSecret', 'session']) assert.equal(rec[k], '[redacted]', k);
  assert.equal(rec.path, '/x');
});

test('one JSON object a line, below the level nothing', () => {
  const { log, lines } = capture('info');
  log.debug('hidden');
  log.warn('shown', { n: 1 });
  assert.equal(lines.length, 1);
  assert.ok(lines[0]!.endsWith('\n'));
  const rec = JSON.parse(lines[0]!);
  assert.equal(rec.level, 'warn');
  assert.equal(rec.msg, 'shown');
  assert.equal(rec.n, 1);
});
