// The simulator's certificate, written with node:crypto (src/simulator/cert.ts): a valid X.509
// v3 certificate for localhost, 127.0.0.1 and ::1, signed by its own key, that TLS accepts.
import assert from 'node:assert/strict';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { test } from 'node:test';
import { Agent, fetch } from 'undici';
import { selfSignedLocalhost } from '../../src/simulator/cert.js';
import { startSimulator } from '../../src/simulator/index.js';
import { openListener } from '../../src/simulator/listener.js';

test('the certificate names localhost and its loopback addresses, for a server, self-signed', () => {
  const { key, cert } = selfSignedLocalhost();
  const x = new X509Certificate(cert);
  assert.equal(x.subject, 'CN=localhost');
  assert.equal(x.checkHost('localhost'), 'localhost');
  assert.equal(x.checkIP('127.0.0.1'), '127.0.0.1');
  assert.equal(x.checkIP('::1'), '::1');
  assert.ok(x.verify(x.publicKey));
  assert.ok(x.checkPrivateKey(createPrivateKey(key)));
  assert.equal(x.ca, false);
  assert.deepEqual(x.keyUsage, ['1.3.6.1.5.5.7.3.1']);
  assert.ok(
    new Date(x.validFrom).getTime() <= Date.now() && new Date(x.validTo).getTime() > Date.now() + 365 * 86_400_000,
  );
});

test('a listener opened first: a request sent before the simulator starts is answered once it has', async () => {
  for (const tls of [true, false]) {
    const listener = await openListener();
    const base = `${tls ? 'https' : 'http'}://127.0.0.1:${listener.port}`;
    const dispatcher = new Agent({ connect: { rejectUnauthorized: false } });
    const early = fetch(`${base}/sim/info`, { dispatcher }).then((r) => r.json() as Promise<{ seed: number }>);
    await new Promise((r) => setTimeout(r, 100));
    const sim = await startSimulator({ listener, tls, seed: 5 });
    try {
      assert.equal(sim.url, base);
      assert.equal((await early).seed, 5);
    } finally {
      await sim.close();
      await dispatcher.close();
    }
  }
});
