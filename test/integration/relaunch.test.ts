// The young-generation flag however the binary is started (src/relaunch.ts): the process
// replaces itself once, with Node's options, the script's arguments and the environment intact.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { test } from 'node:test';
import { hasSemiSpaceFlag, relaunchArgv, relaunchWithSemiSpace, SEMI_SPACE_FLAG } from '../../src/relaunch.js';

function fakeProcess(over: { execArgv?: string[]; env?: NodeJS.ProcessEnv; execve?: boolean }) {
  const calls: { file: string; args: string[]; env: NodeJS.ProcessEnv }[] = [];
  const env = over.env ?? { IB_GATEWAY_URL: 'https://localhost:5000', IB_PASSWORD_AUTH: 'kept-for-the-server' };
  const proc = {
    execPath: '/usr/bin/node',
    execArgv: over.execArgv ?? ['--enable-source-maps'],
    argv: ['/usr/bin/node', '/app/dist/cli.js', 'serve', '--transport', 'http'],
    env,
    ...(over.execve === false
      ? {}
      : {
          execve(file: string, args: string[], e: NodeJS.ProcessEnv) {
            calls.push({ file, args, env: e });
          },
        }),
  };
  return { proc: proc as unknown as NodeJS.Process, calls, env };
}

test('the flag is found on the command line or in NODE_OPTIONS', () => {
  assert.ok(hasSemiSpaceFlag([SEMI_SPACE_FLAG], undefined));
  assert.ok(hasSemiSpaceFlag(['--max-semi-space-size=4'], undefined));
  assert.ok(hasSemiSpaceFlag([], '--inspect --max-semi-space-size=2'));
  assert.ok(!hasSemiSpaceFlag(['--enable-source-maps'], '--max-old-space-size=512'));
});

test('without the flag: one execve of the same script, Node options and arguments kept, same env', () => {
  const { proc, calls, env } = fakeProcess({});
  relaunchWithSemiSpace('/app/dist/cli.js', proc);
  assert.equal(calls.length, 1);
  assert.equal(calls[0]!.file, '/usr/bin/node');
  assert.deepEqual(calls[0]!.args, [
    '/usr/bin/node',
    SEMI_SPACE_FLAG,
    '--enable-source-maps',
    '/app/dist/cli.js',
    'serve',
    '--transport',
    'http',
  ]);
  // The new image is the server itself: it keeps its environment (secrets included).
  assert.equal(calls[0]!.env, env);
  assert.deepEqual(relaunchArgv('/n', [], '/s.js', ['a']), ['/n', SEMI_SPACE_FLAG, '/s.js', 'a']);
});

test('with the flag (the relaunched process, or the shebang): no second relaunch', () => {
  const { proc, calls } = fakeProcess({ execArgv: [SEMI_SPACE_FLAG] });
  relaunchWithSemiSpace('/app/dist/cli.js', proc);
  const viaEnv = fakeProcess({ execArgv: [], env: { NODE_OPTIONS: SEMI_SPACE_FLAG } });
  relaunchWithSemiSpace('/app/dist/cli.js', viaEnv.proc);
  assert.equal(calls.length + viaEnv.calls.length, 0);
});

test('Node without execve: the server runs in this process, no child is spawned', () => {
  const { proc } = fakeProcess({ execve: false });
  assert.doesNotThrow(() => relaunchWithSemiSpace('/app/dist/cli.js', proc));
});

test('`node src/cli.ts --version` answers and exits 0 however Node can relaunch', () => {
  const cli = resolve(import.meta.dirname, '../../src/cli.ts');
  const r = spawnSync(process.execPath, ['--import', 'tsx', cli, '--version'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^\d+\.\d+\.\d+/);
});
