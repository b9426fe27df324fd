/**
 * The simulator's self-signed certificate (src/simulator/cert.ts, DER written by hand): a TLS
 * client that trusts it verifies localhost, 127.0.0.1 and ::1 against it.
 */
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { connect } from 'node:tls';
import { selfSignedCertificate } from '../../src/simulator/cert.js';

test('the certificate parses and names localhost, 127.0.0.1 and ::1 for server use', () => {
  const now = new Date('2049-12-31T23:00:00Z');
  const { cert } = selfSignedCertificate('localhost', 825, now);
  const x = new X509Certificate(cert);
  assert.equal(x.subject, 'CN=localhost');
  assert.equal(x.issuer, 'CN=localhost');
  assert.equal(x.ca, false);
  assert.ok(x.verify(x.publicKey), 'self-signed');
  assert.equal(x.checkHost('localhost'), 'localhost');
  assert.equal(x.checkIP('127.0.0.1'), '127.0.0.1');
  assert.equal(x.checkIP('::1'), '::1');
  assert.deepEqual(x.keyUsage, ['1.3.6.1.5.5.7.3.1']);
  assert.ok(new Date(x.validFrom) < now && new Date(x.validTo).getUTCFullYear() === 2052, x.validTo);
});

test('a client that trusts the certificate completes a verified TLS handshake', async () => {
  const { key, cert } = selfSignedCertificate();
  const server = createServer({ key, cert }, (_req, res) => res.end('ok'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  try {
    for (const servername of ['localhost', undefined]) {
      const authorized = await new Promise<boolean>((resolve, reject) => {
        const s = connect({ host: '127.0.0.1', port, ca: cert, ...(servername ? { servername } : {}) }, () => {
          resolve(s.authorized);
          s.end();
        });
        s.on('error', reject);
      });
      assert.equal(authorized, true, servername ?? '127.0.0.1');
    }
  } finally {
    server.close();
  }
});
