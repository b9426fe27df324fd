/**
 * The managed gateway's conf.yaml refuses cross-origin requests: IB's gateway trusts every
 * request from 127.0.0.1, and the user's browser has accepted its certificate, so a wildcard
 * CORS origin would let any web page drive the account. The simulator, given the same conf,
 * stands in for the gateway and applies the same rule (vert.x's CORS handler: a request whose
 * Origin is not allowed is refused with 403).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gatewayConfYaml, readGatewayConf } from '../../src/gateway/conf.js';

test('conf.yaml: CORS allows only the gateway own origin, no wildcard, no credentials', () => {
  const y = gatewayConfYaml({ port: 5123 });
  const cors = y.slice(y.indexOf('cors:'), y.indexOf('\n', y.indexOf('allowCredentials')));
  assert.doesNotMatch(cors, /\*/, 'no wildcard origin');
  const conf = readGatewayConf(y);
  assert.equal(conf.port, 5123);
  assert.deepEqual(conf.allowedOrigins, ['https://localhost:5123']);
  assert.equal(conf.allowCredentials, false);
  assert.deepEqual(readGatewayConf(gatewayConfYaml({ port: 5123, ssl: false })).allowedOrigins, [
    'http://localhost:5123',
  ]);
});
