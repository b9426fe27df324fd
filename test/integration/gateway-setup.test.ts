/**
 * Provisioning against a local HTTP server: download with SHA-256 (pin, mismatch, corrupted
 * archive) and the Adoptium JRE install path. The pure pieces (conf.yaml, Java version parsing,
 * the zip reader, TOTP, the child environment) are in test/unit/gateway-setup.test.ts.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { installJava } from '../../src/gateway/java.js';
import { checkGatewayDir, provisionGateway } from '../../src/gateway/provision.js';
import { makeZip } from '../unit/zip-writer.js';

const GATEWAY_FILES = {
  'bin/run.sh': '#!/bin/bash\necho run\n',
  'dist/ibgroup.web.core.iblink.router.clientportal.gw.jar': 'jar',
  'build/lib/runtime/vertx-core-3.5.0.jar': 'jar',
  'build/lib/runtime/netty-common-4.1.15.Final.jar': 'jar',
  'root/conf.yaml': 'listenPort: 5000\n',
  'root/vertx.jks': 'jks',
};

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

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
