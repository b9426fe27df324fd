/**
 * Shutting down while the managed gateway is being provisioned or started: at every stage
 * (the first download, the Java probe, the gateway's start-up, and once it runs) closing stdin
 * or SIGTERM makes the server exit with nothing left behind: no Java, no watchdog, the gateway
 * port free. IB is faked: a local download server (that can stall mid-file) and a fake `java`
 * on the PATH (a shell script that records every start and, as the gateway, runs our simulator
 * with the conf we wrote, so the managed gateway's CORS rule is checked for real too).
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { crc32 } from 'node:zlib';
import { Agent, request } from 'undici';
import { CLI } from './harness.js';

/** A zip of stored entries (our reader accepts method 0). */
function storedZip(files: Record<string, string>): Buffer {
  const parts: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const [n, text] of Object.entries(files)) {
    const name = Buffer.from(n);
    const data = Buffer.from(text);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt32LE(crc32(data), 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(name.length, 26);
    const cd = Buffer.alloc(46);
    cd.writeUInt32LE(0x02014b50, 0);
    cd.writeUInt16LE(20, 6);
    cd.writeUInt32LE(crc32(data), 16);
    cd.writeUInt32LE(data.length, 20);
    cd.writeUInt32LE(data.length, 24);
    cd.writeUInt16LE(name.length, 28);
    cd.writeUInt32LE(offset, 42);
    parts.push(local, name, data);
    central.push(cd, name);
    offset += 30 + name.length + data.length;
  }
  const cdBuf = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(Object.keys(files).length, 8);
  end.writeUInt16LE(Object.keys(files).length, 10);
  end.writeUInt32LE(cdBuf.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...parts, cdBuf, end]);
}

const GATEWAY_FILES: Record<string, string> = {
  'bin/run.sh': '#!/bin/sh\n',
  'dist/ibgroup.web.core.iblink.router.clientportal.gw.jar': 'jar',
  'build/lib/runtime/vertx-core-3.5.0.jar': 'jar',
  'root/conf.yaml': 'listenPort: 5000\n',
  'root/vertx.jks': 'jks',
};
const GATEWAY_ZIP = storedZip(GATEWAY_FILES);

function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => res(p));
    });
  });
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen({ port, exclusive: true }, () => s.close(() => resolve(true)));
  });
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return existsSync(`/proc/${pid}`) && !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
};

/** Runs that still need stopping (a failed wait must not leave a server behind). */
const running = new Set<Run>();
after(() => {
  for (const r of running) {
    r.proc.kill('SIGKILL');
    for (const p of r.javaPids()) {
      try {
        process.kill(p, 'SIGKILL');
      } catch {
        // gone
      }
    }
  }
});

async function until(what: string, fn: () => boolean | Promise<boolean>, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await fn())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Download server: `stall` sends the headers and 1 KB of a 10 MB file, then nothing. */
let dl: Server;
let dlBase: string;
let dlHits = 0;
let dlMode: 'stall' | 'ok' = 'ok';

before(async () => {
  dl = createHttpServer((req, res) => {
    if (!req.url?.endsWith('/clientportal.gw.zip')) return void res.writeHead(404).end();
    dlHits++;
    if (dlMode === 'ok') return void res.writeHead(200, { 'content-length': GATEWAY_ZIP.length }).end(GATEWAY_ZIP);
    res.writeHead(200, { 'content-length': 10 * 1024 * 1024 });
    res.write(Buffer.alloc(1024));
  });
  await new Promise<void>((r) => dl.listen(0, '127.0.0.1', () => r()));
  dlBase = `http://127.0.0.1:${(dl.address() as { port: number }).port}/portal`;
});
after(() => {
  dl.closeAllConnections();
  dl.close();
});

interface Run {
  proc: ChildProcess;
  home: string;
  /** The gateway port when it is ours to check (a --gateway-dir run on a free port). */
  port: number | undefined;
  stderr(): string;
  /** Pids the fake java recorded (probe and gateway). */
  javaPids(): number[];
  javaLog(): string;
  exited: Promise<number | null>;
}

/**
 * Starts `ibkr-mcp serve` with a managed gateway; `slow` makes the fake java's probe or start hang.
 * `from: 'download'` provisions through the download server; a downloaded gateway is managed
 * only on the default port (5000, which another program may hold: the download stages never
 * reach the port). `from: 'dir'` uses --gateway-dir on a free port of ours.
 */
async function serve(slow: 'probe' | 'start' | 'none', from: 'download' | 'dir'): Promise<Run> {
  const home = mkdtempSync(join(tmpdir(), 'ibkr-mcp-shutdown-'));
  const bin = join(home, 'fakebin');
  mkdirSync(bin);
  const log = join(home, 'java.log');
  writeFileSync(
    join(bin, 'java'),
    `#!/bin/sh
echo "pid $$ $*" >> "${log}"
if [ "$1" = "-version" ]; then
  ${slow === 'probe' ? 'exec sleep 30' : ''}
  echo 'openjdk version "17.0.7" 2023-04-18' >&2
  exit 0
fi
CP=""
while [ $# -gt 0 ]; do [ "$1" = "-cp" ] && CP="$2"; shift; done
${slow === 'start' ? 'exec sleep 30' : ''}
exec "${process.execPath}" "${CLI}" simulator --gateway-conf "\${CP%%${delimiter}*}/ibkr-mcp-gateway.yaml"
`,
  );
  chmodSync(join(bin, 'java'), 0o755);
  const port = from === 'dir' ? await freePort() : undefined;
  const where: string[] = ['--gateway-download-base', dlBase];
  if (port !== undefined) {
    const dir = join(home, 'gw');
    for (const [name, text] of Object.entries(GATEWAY_FILES)) {
      mkdirSync(join(dir, name, '..'), { recursive: true });
      writeFileSync(join(dir, name), text);
    }
    where.push('--gateway-dir', dir, '--gateway-port', String(port));
  }
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PATH: `${bin}${delimiter}${process.env['PATH'] ?? ''}`,
    IBKR_MCP_HOME: home,
    IBKR_MCP_OPEN_BROWSER: 'false',
  };
  delete env['JAVA_HOME'];
  const proc = spawn(process.execPath, [CLI, 'serve', '--backend', 'gateway', ...where, '--log-level', 'info'], {
    env,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  proc.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  proc.stdout!.resume();
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  const javaLog = () => (existsSync(log) ? readFileSync(log, 'utf8') : '');
  const run: Run = {
    proc,
    home,
    port,
    stderr: () => stderr,
    javaLog,
    javaPids: () => [...javaLog().matchAll(/^pid (\d+)/gm)].map((m) => Number(m[1])),
    exited,
  };
  running.add(run);
  return run;
}

/** Stops the server the given way and checks that it exits with nothing left behind. */
async function stopAndCheck(run: Run, how: 'stdin' | 'SIGTERM'): Promise<void> {
  const t0 = Date.now();
  if (how === 'stdin') run.proc.stdin!.end();
  else run.proc.kill('SIGTERM');
  const code = await Promise.race([
    run.exited,
    new Promise<'hung'>((r) => setTimeout(() => r('hung'), 15_000).unref()),
  ]);
  try {
    assert.notEqual(code, 'hung', `the server did not exit within 15 s after ${how}:\n${run.stderr().slice(-2000)}`);
    assert.match(run.stderr(), /shutting down/);
    // Give a stray child a moment to show itself (the old bug: Java started after "shutting down").
    await new Promise((r) => setTimeout(r, 1000));
    const left = run.javaPids().filter(alive);
    assert.deepEqual(left, [], `fake java processes left: ${left.join(', ')}\n${run.javaLog()}`);
    if (run.port !== undefined) assert.equal(await portIsFree(run.port), true, `port ${run.port} is still held`);
    console.log(`# ${how}: exited in ${Date.now() - t0} ms`);
  } finally {
    if (code === 'hung') run.proc.kill('SIGKILL');
    for (const p of run.javaPids()) {
      try {
        process.kill(p, 'SIGKILL');
      } catch {
        // gone
      }
    }
    running.delete(run);
    rmSync(run.home, { recursive: true, force: true });
  }
}

describe('shutdown during the managed gateway start-up leaves nothing behind', { timeout: 120_000 }, () => {
  for (const how of ['stdin', 'SIGTERM'] as const) {
    test(`during the first download (${how})`, async () => {
      dlMode = 'stall';
      const hits = dlHits;
      const run = await serve('none', 'download');
      await until('the download to start', () => dlHits > hits && /downloading/i.test(run.stderr()));
      await stopAndCheck(run, how);
      assert.equal(run.javaLog(), '', 'java was never started');
    });
  }

  test('during the Java probe (SIGTERM)', async () => {
    dlMode = 'ok';
    const run = await serve('probe', 'download');
    await until('the java probe', () => /-version/.test(run.javaLog()));
    await stopAndCheck(run, 'SIGTERM');
    assert.doesNotMatch(run.javaLog(), /GatewayStart/, 'the gateway was never started');
  });

  test('while the gateway starts (stdin closed)', async () => {
    dlMode = 'ok';
    const run = await serve('start', 'dir');
    await until('the gateway process', () => /GatewayStart/.test(run.javaLog()));
    await stopAndCheck(run, 'stdin');
  });

  test('once the gateway runs (SIGTERM); its conf refuses foreign origins', async () => {
    dlMode = 'ok';
    const run = await serve('none', 'dir');
    await until('the gateway to answer', () => /gateway answering/.test(run.stderr()), 30_000);
    const insecure = new Agent({ connect: { rejectUnauthorized: false } });
    const call = async (origin?: string) => {
      const res = await request(`https://127.0.0.1:${run.port}/v1/api/tickle`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(origin ? { origin } : {}) },
        body: '{}',
        dispatcher: insecure,
      });
      await res.body.dump();
      return res.statusCode;
    };
    assert.equal(await call('https://evil.example'), 403, 'a foreign web page is refused');
    assert.equal(await call('http://localhost:3000'), 403, 'another local web app is refused');
    assert.notEqual(await call(`https://localhost:${run.port}`), 403, 'the gateway login page is served');
    assert.notEqual(await call(), 403, 'our own client (no Origin) is served');
    await insecure.close();
    await stopAndCheck(run, 'SIGTERM');
  });
});
