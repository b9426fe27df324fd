/**
 * Every child process gets the scrubbed environment, checked at spawn time: fake programs
 * (java, tar, xdg-open) on the PATH record the environment they were started with, so even a
 * child that lives a millisecond is seen. (A source scan in test/unit makes sure no spawn site is missed.)
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { findJava, installJava, probeJava } from '../../src/gateway/java.js';
import { openInBrowser } from '../../src/gateway/login-browser.js';

const CANARY_ENV: Record<string, string> = {
  IB_PASSWORD_AUTH: 'CanaryPass-5e1f0a-spawn',
  IB_TOTP_SECRET: 'CANARYTOTPSPAWNSECRET234567ABCD',
  IB_USERNAME: 'canaryspawnuser',
  IBKR_MCP_TOKEN: 'canary-token-0f9e8d7c6b5a49382716abcdefabcdef',
  MY_API_KEY: 'canary-api-key-77aa',
};
const CANARIES = Object.values(CANARY_ENV);

/** A shell script that appends its environment to `log`, then runs `rest`. */
function recorder(dir: string, name: string, log: string, rest: string): string {
  const p = join(dir, name);
  writeFileSync(p, `#!/bin/sh\nenv >> "${log}"\necho "--- ${name} $*" >> "${log}"\n${rest}\n`);
  chmodSync(p, 0o755);
  return p;
}

function leaked(log: string): string[] {
  if (!existsSync(log)) return [];
  const text = readFileSync(log, 'utf8');
  return CANARIES.filter((c) => text.includes(c));
}

describe('children started with secrets in our environment', () => {
  let dir: string;
  let log: string;
  const saved: Record<string, string | undefined> = {};

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'ibkr-mcp-spawnenv-'));
    log = join(dir, 'env.log');
    for (const [k, v] of Object.entries(CANARY_ENV)) {
      saved[k] = process.env[k];
      process.env[k] = v;
    }
  });
  after(() => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    rmSync(dir, { recursive: true, force: true });
  });

  test('the java probe (`java -version`, also run by doctor) gets no secret', async () => {
    rmSync(log, { force: true });
    const bin = join(dir, 'jbin');
    mkdirSync(bin, { recursive: true });
    const java = recorder(bin, 'java', log, 'echo \'openjdk version "17.0.7" 2023-04-18\' >&2');
    assert.equal((await probeJava(java))?.major, 17);
    const found = await findJava({ env: { PATH: bin } });
    assert.equal(found.java?.path, java);
    assert.match(readFileSync(log, 'utf8'), /--- java -version/, 'the fake java ran');
    assert.deepEqual(leaked(log), [], 'java -version saw a secret');
  });

  test('opening the login page in the browser (xdg-open) passes no secret', async () => {
    rmSync(log, { force: true });
    const bin = join(dir, 'obin');
    mkdirSync(bin, { recursive: true });
    recorder(bin, 'xdg-open', log, 'exit 0');
    const path = process.env['PATH'];
    process.env['PATH'] = `${bin}${delimiter}${path ?? ''}`;
    try {
      // A display as a desktop session has one (CI has none); undefined means the opener ran.
      const env = { ...process.env, DISPLAY: ':99' };
      assert.equal(await openInBrowser('https://localhost:5000', 'linux', { env }), undefined);
      const end = Date.now() + 5000;
      while (!/--- xdg-open/.test(existsSync(log) ? readFileSync(log, 'utf8') : '') && Date.now() < end) {
        await new Promise((r) => setTimeout(r, 20));
      }
    } finally {
      process.env['PATH'] = path;
    }
    assert.match(readFileSync(log, 'utf8'), /--- xdg-open https:\/\/localhost:5000/);
    assert.deepEqual(leaked(log), [], 'xdg-open saw a secret');
  });

  test('installing a JRE (tar, then the new java probed) passes no secret', async () => {
    rmSync(log, { force: true });
    const realTar = spawnSync('sh', ['-c', 'command -v tar'], { encoding: 'utf8' }).stdout.trim();
    assert.ok(realTar, 'tar is installed');
    const bin = join(dir, 'tbin');
    mkdirSync(bin, { recursive: true });
    recorder(bin, 'tar', log, `exec "${realTar}" "$@"`);
    // The archive: a JRE whose java records its environment too.
    const src = join(dir, 'src', 'jdk-17.0.98+1-jre', 'bin');
    mkdirSync(src, { recursive: true });
    recorder(src, 'java', log, 'echo \'openjdk version "17.0.98" 2026-01-01\' >&2');
    const tgz = join(dir, 'jre.tar.gz');
    execFileSync(realTar, ['-czf', tgz, '-C', join(dir, 'src'), 'jdk-17.0.98+1-jre']);
    const archive = readFileSync(tgz);
    const name = 'OpenJDK17U-jre_x64_linux_hotspot_17.0.98_1.tar.gz';
    const server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      if (url.pathname === `/bin/${name}`) return void res.writeHead(200).end(archive);
      if (url.pathname === '/v3/assets/latest/17/hotspot') {
        const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
        const checksum = createHash('sha256').update(archive).digest('hex');
        return void res
          .writeHead(200, { 'content-type': 'application/json' })
          .end(
            JSON.stringify([
              { release_name: 'jdk-17.0.98+1', binary: { package: { name, link: `${base}/bin/${name}`, checksum } } },
            ]),
          );
      }
      res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const path = process.env['PATH'];
    process.env['PATH'] = `${bin}${delimiter}${path ?? ''}`;
    try {
      const java = await installJava({
        base: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
        cacheDir: join(dir, 'cache'),
        platform: 'linux',
        arch: 'x64',
      });
      assert.equal(java.version, '17.0.98');
    } finally {
      process.env['PATH'] = path;
      server.close();
    }
    const text = readFileSync(log, 'utf8');
    assert.match(text, /--- tar -xzf/, 'our fake tar ran');
    assert.match(text, /--- java -version/, 'the installed java was probed');
    assert.deepEqual(leaked(log), [], 'tar or the installed java saw a secret');
  });
});
