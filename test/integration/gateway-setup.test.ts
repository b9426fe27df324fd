/**
 * Provisioning pieces: conf.yaml, Java version parsing, the zip reader, download with SHA-256
 * (pin, mismatch, corrupted archive) against a local HTTP server, the Adoptium JRE install path,
 * the TOTP one-code-per-window rule and the child environment without credentials.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { crc32, deflateRawSync } from 'node:zlib';
import * as OTPAuth from 'otpauth';
import { gatewayConfYaml } from '../../src/gateway/conf.js';
import { readZip } from '../../src/gateway/download.js';
import { installJava, javaIsSupported, parseJavaVersion } from '../../src/gateway/java.js';
import { TotpWindow } from '../../src/gateway/login-headless.js';
import { childEnv } from '../../src/gateway/process.js';
import { checkGatewayDir, provisionGateway } from '../../src/gateway/provision.js';

/** A small zip writer for test archives (deflate, unix modes). */
function makeZip(files: Record<string, string | Buffer>, opts: { prefix?: string } = {}): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const [rawName, content] of Object.entries(files)) {
    const name = Buffer.from((opts.prefix ?? '') + rawName);
    const data = Buffer.isBuffer(content) ? content : Buffer.from(content);
    const comp = deflateRawSync(data);
    const crc = crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(8, 8);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(comp.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(name.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE((3 << 8) | 20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(8, 10);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(comp.length, 20);
    central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(((rawName.endsWith('.sh') ? 0o100755 : 0o100644) << 16) >>> 0, 38);
    central.writeUInt32LE(offset, 42);
    locals.push(local, name, comp);
    centrals.push(central, name);
    offset += 30 + name.length + comp.length;
  }
  const cd = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(Object.keys(files).length, 8);
  end.writeUInt16LE(Object.keys(files).length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, end]);
}

const GATEWAY_FILES = {
  'bin/run.sh': '#!/bin/bash\necho run\n',
  'dist/ibgroup.web.core.iblink.router.clientportal.gw.jar': 'jar',
  'build/lib/runtime/vertx-core-3.5.0.jar': 'jar',
  'build/lib/runtime/netty-common-4.1.15.Final.jar': 'jar',
  'root/conf.yaml': 'listenPort: 5000\n',
  'root/vertx.jks': 'jks',
};

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

test('conf.yaml: the chosen port, TLS, and an allow-list of loopback only', () => {
  const y = gatewayConfYaml({ port: 5123 });
  assert.match(y, /^listenPort: 5123$/m);
  assert.match(y, /^listenSsl: true$/m);
  const ips = y.slice(y.indexOf('ips:'));
  assert.deepEqual(
    ips
      .split('\n')
      .filter((l) => /^\s+- /.test(l))
      .map((l) => l.trim()),
    ['- 127.0.0.1'],
  );
  assert.match(ips, /deny: \[\]/);
  assert.throws(() => gatewayConfYaml({ port: 0 }));
  assert.throws(() => gatewayConfYaml({ port: 70000 }));
});

test('java -version parsing and the 8u192 floor', () => {
  const v17 = parseJavaVersion('openjdk version "17.0.15" 2025-04-15\nOpenJDK Runtime Environment');
  assert.deepEqual(v17, { version: '17.0.15', major: 17, update: 15 });
  const v8 = parseJavaVersion('java version "1.8.0_192"\nJava(TM) SE Runtime Environment');
  assert.deepEqual(v8, { version: '1.8.0_192', major: 8, update: 192 });
  assert.equal(javaIsSupported(v8!), true);
  assert.equal(javaIsSupported(parseJavaVersion('java version "1.8.0_181"')!), false);
  assert.equal(javaIsSupported(parseJavaVersion('java version "1.7.0_80"')!), false);
  assert.equal(parseJavaVersion('openjdk version "21" 2023-09-19')?.major, 21);
  assert.equal(parseJavaVersion('openjdk version "11.0.2" 2019-01-15')?.major, 11);
  assert.equal(parseJavaVersion('bash: java: command not found'), undefined);
});

test('zip reader: reads what it wrote, refuses corruption and unsafe paths', () => {
  const zip = makeZip({ 'a/b.txt': 'hello', 'c.sh': 'x' });
  const entries = readZip(zip);
  assert.deepEqual(
    entries.map((e) => [e.name, e.data?.toString()]),
    [
      ['a/b.txt', 'hello'],
      ['c.sh', 'x'],
    ],
  );
  assert.equal((entries[1]!.mode ?? 0) & 0o111, 0o111);
  const bad = Buffer.from(zip);
  bad[38] = bad[38]! ^ 0xff; // inside the first entry's data (30-byte header + 7-byte name)
  assert.throws(() => readZip(bad), /not a valid zip/);
  assert.throws(() => readZip(Buffer.from('not a zip at all, just text')), /not a valid zip/);
  assert.throws(() => readZip(makeZip({ '../evil': 'x' })), /unsafe path/);
});

test('the child environment never carries credentials', () => {
  const env = childEnv({
    PATH: '/usr/bin',
    HOME: '/h',
    IB_PASSWORD_AUTH: 'p',
    IB_USERNAME: 'u',
    IB_TOTP_SECRET: 's',
    IBKR_MCP_HOME: '/x',
    GITHUB_TOKEN: 't',
  });
  assert.deepEqual(env, { PATH: '/usr/bin', HOME: '/h' });
});

test('TOTP: one code per 30-second window, and the codes are right', () => {
  const secret = 'JBSWY3DPEHPK3PXP';
  const w = new TotpWindow(secret);
  const t0 = Date.parse('2026-01-15T14:00:05Z');
  const c1 = w.next(t0);
  assert.match(c1 ?? '', /^\d{6}$/);
  assert.equal(w.next(t0 + 10_000), undefined, 'no second code in the same window');
  assert.equal(w.next(t0 + 24_000), undefined);
  const c2 = w.next(t0 + 30_000);
  assert.match(c2 ?? '', /^\d{6}$/);
  assert.equal(w.submitted, 2);
  const ref = new OTPAuth.TOTP({ secret: OTPAuth.Secret.fromBase32(secret), period: 30 });
  assert.equal(c1, ref.generate({ timestamp: t0 }));
});

describe('downloads against a local server', () => {
  let server: Server;
  let base: string;
  let home: string;
  const hits: Record<string, number> = {};
  const files = new Map<string, Buffer | string>();

  before(async () => {
    home = mkdtempSync(join(tmpdir(), 'ibkr-mcp-prov-'));
    server = createServer((req, res) => {
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      hits[path] = (hits[path] ?? 0) + 1;
      const body = files.get(path);
      if (body === undefined) {
        res.writeHead(404).end();
        return;
      }
      const buf = Buffer.isBuffer(body) ? body : Buffer.from(body);
      res.writeHead(200, { 'content-length': buf.length }).end(buf);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  after(async () => {
    server.close();
    rmSync(home, { recursive: true, force: true });
  });

  test('download, verify, unpack, pin the hash, reuse the cache; progress is reported', async () => {
    const zip = makeZip(GATEWAY_FILES);
    files.set('/portal/clientportal.gw.zip', zip);
    const seen: number[] = [];
    const r = await provisionGateway({
      home,
      downloadBase: `${base}/portal`,
      progress: (done) => seen.push(done),
    });
    assert.equal(r.source, 'downloaded');
    assert.equal(r.sha256, sha(zip));
    assert.ok(checkGatewayDir(r.layout.dir).ok);
    assert.equal(seen.at(-1), zip.length, 'progress reaches the full size');
    assert.equal(readFileSync(join(home, 'cache', 'gateway', 'pinned.sha256'), 'utf8').trim(), sha(zip));
    const again = await provisionGateway({ home, downloadBase: `${base}/portal` });
    assert.equal(again.source, 'cache');
    assert.equal(hits['/portal/clientportal.gw.zip'], 1, 'no second download');
  });

  test('a different archive than the pinned one is refused; --gateway-sha256 accepts a new one', async () => {
    const other = makeZip({ ...GATEWAY_FILES, 'doc/new.md': 'new version' });
    files.set('/portal/clientportal.gw.zip', other);
    await assert.rejects(
      provisionGateway({ home, downloadBase: `${base}/portal`, refresh: true }),
      /expected .*pinned at the first download.*--gateway-sha256/s,
    );
    const r = await provisionGateway({ home, downloadBase: `${base}/portal`, refresh: true, sha256: sha(other) });
    assert.equal(r.source, 'downloaded');
    assert.equal(readFileSync(join(home, 'cache', 'gateway', 'pinned.sha256'), 'utf8').trim(), sha(other));
  });

  test('a corrupted archive is refused and nothing is installed', async () => {
    const h2 = mkdtempSync(join(tmpdir(), 'ibkr-mcp-prov2-'));
    const zip = makeZip(GATEWAY_FILES);
    const bad = Buffer.from(zip);
    bad[40] = bad[40]! ^ 0x55;
    files.set('/bad/clientportal.gw.zip', bad);
    await assert.rejects(provisionGateway({ home: h2, downloadBase: `${base}/bad` }), /not a valid zip/);
    assert.equal(existsSync(join(h2, 'cache', 'gateway', 'clientportal.gw')), false);
    assert.equal(existsSync(join(h2, 'cache', 'downloads', 'clientportal.gw.zip')), false);
    // A wrong pin refuses even a good archive.
    files.set('/good/clientportal.gw.zip', zip);
    await assert.rejects(
      provisionGateway({ home: h2, downloadBase: `${base}/good`, sha256: 'a'.repeat(64) }),
      /expected a{64}/,
    );
    // Not a gateway at all.
    files.set('/other/clientportal.gw.zip', makeZip({ 'readme.txt': 'hi' }));
    await assert.rejects(
      provisionGateway({ home: h2, downloadBase: `${base}/other` }),
      /not IB's Client Portal gateway/,
    );
    await assert.rejects(provisionGateway({ home: h2, downloadBase: `${base}/missing` }), /HTTP 404/);
    rmSync(h2, { recursive: true, force: true });
  });

  test('a gateway in a subfolder of the archive is found; --gateway-dir is checked', async () => {
    const h3 = mkdtempSync(join(tmpdir(), 'ibkr-mcp-prov3-'));
    files.set('/sub/clientportal.gw.zip', makeZip(GATEWAY_FILES, { prefix: 'clientportal.gw/' }));
    const r = await provisionGateway({ home: h3, downloadBase: `${base}/sub` });
    assert.ok(r.layout.jar.endsWith('.jar'));
    await assert.rejects(provisionGateway({ home: h3, downloadBase: base, gatewayDir: h3 }), /missing: .*dist/);
    const mine = await provisionGateway({ home: h3, downloadBase: base, gatewayDir: r.layout.dir });
    assert.equal(mine.source, 'gateway-dir');
    rmSync(h3, { recursive: true, force: true });
  });

  test('Java install: Adoptium API, SHA-256 verified, unpacked, version checked', async () => {
    const h4 = mkdtempSync(join(tmpdir(), 'ibkr-mcp-java-'));
    const src = join(h4, 'src', 'jdk-17.0.99+1-jre', 'bin');
    mkdirSync(src, { recursive: true });
    writeFileSync(join(src, 'java'), '#!/bin/sh\necho \'openjdk version "17.0.99" 2026-01-01\' >&2\n');
    chmodSync(join(src, 'java'), 0o755);
    const tgz = join(h4, 'jre.tar.gz');
    execFileSync('tar', ['-czf', tgz, '-C', join(h4, 'src'), 'jdk-17.0.99+1-jre']);
    const archive = readFileSync(tgz);
    const name = 'OpenJDK17U-jre_x64_linux_hotspot_17.0.99_1.tar.gz';
    files.set(`/bin/${name}`, archive);
    const api = (checksum: string) =>
      JSON.stringify([
        { release_name: 'jdk-17.0.99+1', binary: { package: { name, link: `${base}/bin/${name}`, checksum } } },
      ]);
    files.set('/v3/assets/latest/17/hotspot', api(sha(archive)));
    const lines: string[] = [];
    const java = await installJava({
      base,
      cacheDir: join(h4, 'cache'),
      platform: 'linux',
      arch: 'x64',
      log: (l) => lines.push(l),
    });
    assert.equal(java.version, '17.0.99');
    assert.ok(java.path.startsWith(join(h4, 'cache', 'java', 'jdk-17.0.99+1')));
    assert.ok(lines.some((l) => /SHA-256 verified/.test(l)));

    files.set('/v3/assets/latest/17/hotspot', api('b'.repeat(64)));
    await assert.rejects(
      installJava({ base, cacheDir: join(h4, 'cache2'), platform: 'linux', arch: 'x64' }),
      /expected b{64}.*nothing was installed/,
    );
    assert.equal(existsSync(join(h4, 'cache2', 'java', 'jdk-17.0.99+1')), false);
    rmSync(h4, { recursive: true, force: true });
  });
});
