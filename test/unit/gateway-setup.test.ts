/**
 * Provisioning pieces without I/O: conf.yaml, Java version parsing, the zip reader, the TOTP
 * one-code-per-window rule and the child environment without credentials. Downloads and the
 * JRE install against a local HTTP server are in test/integration/gateway-setup.test.ts.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as OTPAuth from 'otpauth';
import { gatewayConfYaml } from '../../src/gateway/conf.js';
import { readZip } from '../../src/gateway/download.js';
import { javaIsSupported, parseJavaVersion } from '../../src/gateway/java.js';
import { TotpWindow } from '../../src/gateway/login-headless.js';
import { childEnv } from '../../src/gateway/process.js';
import { makeZip } from './zip-writer.js';

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
