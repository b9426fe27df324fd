/** The capture redactor (src/backends/cpapi/capture.ts) on crafted IB answers. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CaptureRedactor, captureFileName } from '../../src/backends/cpapi/capture.js';
import { addSecret } from '../../src/log.js';

test('ids, names, secrets and addresses are replaced consistently', () => {
  const r = new CaptureRedactor(2);
  addSecret('s3cr3t-cookie-value');
  const a = r.redact({
    method: 'GET',
    path: '/iserver/accounts',
    status: 200,
    body: {
      accounts: ['U1112223', 'XYZ99'],
      aliases: { U1112223: 'My Alias Ltd', XYZ99: 'XYZ99' },
      selectedAccount: 'U1112223',
      sessionId: 'abc.def',
      serverInfo: { serverName: 'JifN19', serverVersion: 'x' },
      note: 'mail jane@example.com from 10.1.2.3 with s3cr3t-cookie-value',
    },
  });
  const body = a.body as Record<string, unknown>;
  assert.deepEqual(body['accounts'], ['ACCT1', 'ACCT2']);
  assert.deepEqual(body['aliases'], { ACCT1: 'NAME1', ACCT2: 'ACCT2' });
  assert.equal(body['sessionId'], 'REDACTED');
  assert.equal(body['serverInfo'], undefined);
  assert.equal(body['note'], 'mail user@example.invalid from 192.0.2.1 with [redacted]');
  const pnl = r.redact({
    method: 'GET',
    path: '/iserver/account/pnl/partitioned',
    status: 200,
    body: { upnl: { 'XYZ99.Core': { rowType: 1, nl: 100.5, dpl: -2 } } },
  });
  assert.deepEqual(pnl.body, { upnl: { 'ACCT2.Core': { rowType: 1, nl: 201, dpl: -4 } } });
  const w = r.redact({
    method: 'POST',
    path: '/iserver/account/U1112223/orders/whatif',
    status: 200,
    requestBody: { orders: [{ acctId: 'U1112223', quantity: 10 }] },
    body: { amount: { amount: '1,977.60 USD (10 Shares)', commission: '1.05 USD' }, equity: { current: '1,000.00' } },
  });
  assert.equal(w.path, '/iserver/account/ACCT1/orders/whatif');
  assert.equal(w.pattern, '/iserver/account/{accountId}/orders/whatif');
  assert.deepEqual(w.requestBody, { orders: [{ acctId: 'ACCT1', quantity: 10 }] });
  assert.deepEqual(w.body, {
    amount: { amount: '1,977.60 USD (10 Shares)', commission: '2.10 USD' },
    equity: { current: '2,000.00' },
  });
  const q = r.redact({ method: 'GET', path: '/iserver/marketdata/snapshot', status: 200, body: [{ 31: '185.50' }] });
  assert.deepEqual(q.body, [{ 31: '185.50' }]);
  assert.equal(captureFileName('GET', w.pattern), 'GET_iserver_account_{accountId}_orders_whatif.jsonl');
});
