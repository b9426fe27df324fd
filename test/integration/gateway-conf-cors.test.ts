/**
 * The managed gateway's conf.yaml refuses cross-origin requests: IB's gateway trusts every
 * request from 127.0.0.1, and the user's browser has accepted its certificate, so a wildcard
 * CORS origin would let any web page drive the account. The simulator, given the same conf,
 * stands in for the gateway and applies the same rule (vert.x's CORS handler: a request whose
 * Origin is not allowed is refused with 403).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Agent, request } from 'undici';
import { gatewayConfYaml, readGatewayConf } from '../../src/gateway/conf.js';
import { startSimulator } from '../../src/simulator/index.js';

const insecure = new Agent({ connect: { rejectUnauthorized: false } });

test('a stand-in gateway with our conf refuses browser requests from any other origin', async () => {
  const port = 0;
  const sim0 = await startSimulator({ port, seed: 1 });
  const free = sim0.port;
  await sim0.close();
  const conf = readGatewayConf(gatewayConfYaml({ port: free }));
  const sim = await startSimulator({ port: conf.port, seed: 1, allowedOrigins: conf.allowedOrigins });
  try {
    const call = async (origin?: string) => {
      const res = await request(`${sim.url}/v1/api/iserver/auth/status`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(origin ? { origin } : {}) },
        body: '{}',
        dispatcher: insecure,
      });
      await res.body.dump();
      return res.statusCode;
    };
    for (const evil of [
      'https://evil.example',
      'http://localhost:3000',
      `https://localhost:${free + 1}`,
      `http://localhost:${free}`,
      'null',
    ]) {
      assert.equal(await call(evil), 403, `Origin ${evil} must be refused`);
    }
    assert.equal(await call(`https://localhost:${free}`), 200, 'the gateway own login page');
    assert.equal(await call(), 200, 'our API client sends no Origin');
  } finally {
    await sim.close();
  }
});
