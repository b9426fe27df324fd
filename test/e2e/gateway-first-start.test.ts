/**
 * The real-account path from nothing, against local fakes: IB_BACKEND=gateway alone, no Java on
 * the PATH, no gateway in the cache, port 5000 busy. The server downloads IB's gateway (a fake
 * archive), installs a Temurin JRE (a fake Adoptium API and archive whose `java` runs our
 * simulator as the gateway), takes a spare port and says which, and authenticate answers within
 * 3 s in every login mode, honest about a browser it could not open and about a failed login.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer, type Server as NetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Agent, fetch } from 'undici';
import { makeZip } from '../unit/zip-writer.js';
import { CLI, type Harness, startServer } from './harness.js';

const work = mkdtempSync(join(tmpdir(), 'ibkr-mcp-first-start-'));
const GATEWAY_ZIP = makeZip({
  'bin/run.sh': '#!/bin/sh\n',
  'dist/ibgroup.web.core.iblink.router.clientportal.gw.jar': 'jar',
  'build/lib/runtime/vertx-core-3.5.0.jar': 'jar',
  'root/conf.yaml': 'listenPort: 5000\n',
  'root/vertx.jks': 'jks',
});

/** A Temurin-like JRE whose java answers -version and, as the gateway, runs our simulator. */
function fakeJre(): Buffer {
  const src = join(work, 'jre-src', 'jdk-17.0.99+1-jre', 'bin');
  mkdirSync(src, { recursive: true });
  writeFileSync(
    join(src, 'java'),
    `#!/bin/sh
if [ "$1" = "-version" ]; then echo 'openjdk version "17.0.99" 2026-01-01' >&2; exit 0; fi
CP=""
while [ $# -gt 0 ]; do [ "$1" = "-cp" ] && CP="$2"; shift; done
exec "${process.execPath}" "${CLI}" simulator --gateway-conf "\${CP%%${delimiter}*}/ibkr-mcp-gateway.yaml"
`,
  );
  chmodSync(join(src, 'java'), 0o755);
  const tgz = join(work, 'jre.tar.gz');
  execFileSync('tar', ['-czf', tgz, '-C', join(work, 'jre-src'), 'jdk-17.0.99+1-jre']);
  return readFileSync(tgz);
}

let dl: Server;
let base: string;
let hold5000: NetServer | undefined;
const JRE_NAME = 'OpenJDK17U-jre_x64_linux_hotspot_17.0.99_1.tar.gz';

before(async () => {
  const jre = fakeJre();
  const sum = createHash('sha256').update(jre).digest('hex');
  dl = createHttpServer((req, res) => {
    const url = req.url ?? '';
    if (url.endsWith('/clientportal.gw.zip')) return void res.writeHead(200).end(GATEWAY_ZIP);
    if (url.startsWith('/v3/assets/latest/17/hotspot')) {
      // A second and a half, so that get_connection_status can be seen saying so.
      setTimeout(() => {
        res.writeHead(200, { 'content-type': 'application/json' }).end(
          JSON.stringify([
            {
              release_name: 'jdk-17.0.99+1',
              binary: { package: { name: JRE_NAME, link: `${base}/bin/${JRE_NAME}`, checksum: sum } },
            },
          ]),
        );
      }, 1500);
      return;
    }
    if (url === `/bin/${JRE_NAME}`) return void res.writeHead(200).end(jre);
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => dl.listen(0, '127.0.0.1', () => r()));
  base = `http://127.0.0.1:${(dl.address() as { port: number }).port}`;
  // Port 5000 busy (if nobody else holds it already).
  await new Promise<void>((r) => {
    const s = createServer();
    s.once('error', () => r());
    s.listen(5000, () => {
      hold5000 = s;
      r();
    });
  });
});
after(() => {
  dl.closeAllConnections();
  dl.close();
  hold5000?.close();
  rmSync(work, { recursive: true, force: true });
});

/** PATH with tar and gzip only: no java, no xdg-open. */
function barePath(): string {
  const bin = join(work, 'bin');
  mkdirSync(bin, { recursive: true });
  for (const t of ['tar', 'gzip']) {
    try {
      symlinkSync(execFileSync('sh', ['-c', `command -v ${t}`], { encoding: 'utf8' }).trim(), join(bin, t));
    } catch {
      // already there
    }
  }
  return bin;
}

const insecure = new Agent({ connect: { rejectUnauthorized: false } });

async function timed(h: Harness, args: Record<string, unknown> = {}) {
  const t0 = Date.now();
  const r = await h.callTool('authenticate', args);
  return { r, ms: Date.now() - t0 };
}

describe('IB_BACKEND=gateway alone: Java, the gateway and a free port by themselves', { timeout: 120_000 }, () => {
  let h: Harness;
  before(async () => {
    h = await startServer({
      sim: false,
      backendArgs: [],
      args: ['--log-level', 'info'],
      env: {
        IB_BACKEND: 'gateway',
        PATH: barePath(),
        IBKR_MCP_GATEWAY_DOWNLOAD_BASE: `${base}/portal`,
        IBKR_MCP_JAVA_DOWNLOAD_BASE: base,
        DISPLAY: '',
        JAVA_HOME: '',
      },
    });
  });
  after(() => h?.close());

  test('first start: Java installed with progress, gateway on a spare port, login URL given', async () => {
    const t0 = Date.now();
    const notes = new Set<string>();
    let st: Record<string, unknown> = {};
    while (Date.now() - t0 < 60_000) {
      st = (await h.callTool('get_connection_status', { refresh: false })).structured;
      if (st['state'] !== 'gateway_starting') break;
      if (st['note']) notes.add(String(st['note']));
      await new Promise((r) => setTimeout(r, 100));
    }
    const readyMs = Date.now() - t0;
    assert.ok(
      [...notes].some((n) => /Temurin/.test(n)),
      `get_connection_status showed the Java install: ${[...notes].join(' | ')}`,
    );
    assert.match(h.stderr(), /installing a Temurin JRE/);
    assert.match(h.stderr(), /Java 17\.0\.99 installed/);
    assert.doesNotMatch(h.stderr(), /setup --install-java`/, 'no separate step asked for');
    const port = Number(new URL(String(st['gatewayUrl'])).port);
    if (hold5000) {
      assert.notEqual(port, 5000);
      assert.match(
        h.stderr(),
        new RegExp(`port 5000 is in use by another program; ibkr-mcp's gateway uses port ${port}`),
      );
    }
    assert.equal(st['managedGateway'], true);
    console.log(`# first start (download, Java install, gateway up) in ${readyMs} ms on port ${port}`);

    // Nobody logged in at the (fake) gateway: the browser login starts; no opener exists here.
    await fetch(`https://127.0.0.1:${port}/sim/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ authenticated: false }),
      dispatcher: insecure,
    });
    const { r, ms } = await timed(h);
    assert.ok(ms < 3000, `authenticate answered in ${ms} ms`);
    assert.equal(r.isError, false, r.text);
    assert.equal(r.structured.outcome, 'in_progress');
    assert.equal(r.structured.loginUrl, `https://localhost:${port}`);
    assert.match(r.structured.loginStep, /Could not open a browser \(xdg-open is not installed\)/);
    assert.match(r.text, new RegExp(`https://localhost:${port}`));
    console.log(`# authenticate (managed, browser, no opener) answered in ${ms} ms`);
    assert.doesNotMatch(h.stderr(), /opened":true/);

    // The human logs in: the login in the background sees it.
    await fetch(`https://127.0.0.1:${port}/sim/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ authenticated: true }),
      dispatcher: insecure,
    });
    const t1 = Date.now();
    let state = '';
    while (Date.now() - t1 < 8000 && state !== 'authenticated') {
      state = (await h.callTool('get_connection_status', {})).structured.state;
      if (state !== 'authenticated') await new Promise((res) => setTimeout(res, 200));
    }
    assert.equal(state, 'authenticated');
  });
});

describe('authenticate answers within 3 s in every mode, and says when the login failed', { timeout: 60_000 }, () => {
  test('your own gateway, browser login: in progress at once; a timed-out login is an error', async () => {
    const h = await startServer({
      sim: { authenticated: false },
      args: ['--ib-auth-timeout', '5'],
      env: { IBKR_MCP_OPEN_BROWSER: 'false' },
    });
    try {
      const { r, ms } = await timed(h);
      assert.ok(ms < 3000, `${ms} ms`);
      assert.equal(r.structured.outcome, 'in_progress');
      assert.match(r.text, /opening a browser is turned off/);
      console.log(`# authenticate (own gateway, browser) answered in ${ms} ms`);
      const failed = await h.callTool('authenticate', { waitSeconds: 10 });
      assert.equal(failed.isError, true, failed.text);
      assert.match(failed.text, /IB login failed: No login at .* within 5 s/);
      assert.doesNotMatch(h.stderr(), /MaxListenersExceededWarning/);
    } finally {
      await h.close();
    }
  });

  test('headless (a browser that takes long to start): in progress at once, no secret in the answer', async () => {
    const slow = join(work, 'slow-chromium');
    writeFileSync(slow, '#!/bin/sh\nexec sleep 20\n');
    chmodSync(slow, 0o755);
    const h = await startServer({
      sim: { authenticated: false },
      env: {
        IB_HEADLESS_MODE: 'true',
        IB_USERNAME: 'someone',
        IB_PASSWORD_AUTH: 'pw-never-shown-1',
        IB_TOTP_SECRET: 'JBSWY3DPEHPK3PXP',
        IBKR_MCP_CHROMIUM_PATH: slow,
      },
    });
    try {
      const { r, ms } = await timed(h);
      assert.ok(ms < 3000, `${ms} ms`);
      assert.equal(r.isError, false, r.text);
      assert.equal(r.structured.outcome, 'in_progress');
      assert.equal(r.structured.loginMethod, 'headless');
      assert.doesNotMatch(JSON.stringify(r.raw), /pw-never-shown-1|JBSWY3DP/);
      console.log(`# authenticate (headless) answered in ${ms} ms`);
    } finally {
      await h.close();
    }
  });
});
