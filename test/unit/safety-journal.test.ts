import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { BrokerError } from '../../src/broker/errors.js';
import type { OrderRequest } from '../../src/broker/orders.js';
import { isFinalEntry, Journal } from '../../src/safety/journal.js';
import { assertNotHalted, halt, haltState, resume } from '../../src/safety/killswitch.js';

const dirs: string[] = [];
const home = () => {
  const d = mkdtempSync(join(tmpdir(), 'ibkr-journal-'));
  dirs.push(d);
  return d;
};
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const order = (cOID: string): OrderRequest => ({
  accountId: 'DU1',
  conid: 1,
  secType: 'STK',
  symbol: 'AAPL',
  side: 'BUY',
  orderType: 'LMT',
  quantity: 1,
  limitPrice: 10,
  tif: 'DAY',
  outsideRth: false,
  clientOrderId: cOID,
});

describe('order journal', () => {
  test('an attempt is on disk before begin() returns; answers are appended; state is the fold', () => {
    const h = home();
    const j = new Journal(h);
    j.begin(order('c1'), 'PAPER');
    const text = readFileSync(join(h, 'journal.jsonl'), 'utf8');
    assert.match(text, /"cOID":"c1".*"ev":"attempt".*"state":"sending"/);
    assert.equal((statSync(join(h, 'journal.jsonl')).mode & 0o777).toString(8), '600');
    j.update('c1', { state: 'placed', orderId: '100', ibStatus: 'Submitted' });
    assert.equal(readFileSync(join(h, 'journal.jsonl'), 'utf8').trim().split('\n').length, 2);
    const e = j.get('c1')!;
    assert.equal(e.state, 'placed');
    assert.equal(e.orderId, '100');
    assert.equal(j.byOrderId('100')?.clientOrderId, 'c1');
    assert.equal(isFinalEntry(e), false);
    j.update('c1', { orderState: 'filled', ibStatus: 'Filled' });
    assert.equal(isFinalEntry(j.get('c1')!), true);
    j.close();
  });

  test('a client order id is never begun twice, also across instances (restarts, other processes)', () => {
    const h = home();
    const a = new Journal(h);
    a.begin(order('dup'), 'PAPER');
    assert.throws(
      () => a.begin(order('dup'), 'PAPER'),
      (e: unknown) => e instanceof BrokerError && e.code === 'REFUSED',
    );
    const b = new Journal(h);
    assert.throws(() => b.begin(order('dup'), 'PAPER'), /already used/);
    // b sees lines a appends later
    a.begin(order('later'), 'PAPER');
    assert.ok(b.has('later'));
    a.close();
    b.close();
  });

  test('two processes racing one client order id: exactly one passes the check (issue 11 item 10)', () => {
    const h = home();
    const b = new Journal(h, { lockTimeoutMs: 100 });
    let bError: unknown;
    // B tries the same id in the window between A's check and A's append.
    const a = new Journal(h, {
      beforeAppend: () => {
        try {
          b.begin(order('race'), 'PAPER');
        } catch (err) {
          bError = err;
        }
      },
    });
    a.begin(order('race'), 'PAPER');
    assert.ok(bError instanceof BrokerError && bError.code === 'REFUSED', String(bError));
    assert.match(String((bError as Error).message), /locked by another process .*nothing was sent/);
    const attempts = readFileSync(join(h, 'journal.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .filter((l) => l.includes('"ev":"attempt"'));
    assert.equal(attempts.length, 1);
    a.close();
    b.close();
  });

  test('a lock left by a dead process is taken over', () => {
    const h = home();
    writeFileSync(join(h, 'journal.jsonl.lock'), '999999999');
    const j = new Journal(h, { lockTimeoutMs: 100 });
    j.begin(order('after-crash'), 'PAPER');
    assert.ok(j.has('after-crash'));
    j.close();
  });

  test('modifying and cancelling an order this server did not place is journaled (issue 11 item 7)', () => {
    const h = home();
    const j = new Journal(h);
    const tws = { ...order(''), clientOrderId: '' };
    const e = j.adopt(tws, '777', 'PAPER', { orderState: 'working', ibStatus: 'Submitted' });
    assert.equal(e.clientOrderId, 'ib-777');
    assert.equal(e.foreign, true);
    assert.equal(j.byOrderId('777')?.clientOrderId, 'ib-777');
    j.modify('ib-777', { limitPrice: 11 }, { ...tws, clientOrderId: 'ib-777', limitPrice: 11 });
    j.cancel('ib-777');
    const again = new Journal(h);
    assert.equal(again.get('ib-777')?.modifications?.length, 1);
    assert.equal(again.get('ib-777')?.cancels?.length, 1);
    assert.equal(again.attemptsSince(0), 0, 'a foreign order is not an order sent');
    // Adopting again returns the same entry; an order with its own id keeps it.
    assert.equal(j.adopt(tws, '777', 'PAPER').clientOrderId, 'ib-777');
    assert.equal(j.adopt({ ...tws, clientOrderId: 'tws-9' }, '778', 'PAPER').clientOrderId, 'tws-9');
    j.close();
    again.close();
  });

  test('orders per day are counted per account and mode (issue 14)', () => {
    const h = home();
    const j = new Journal(h);
    for (let i = 0; i < 3; i++) j.begin(order(`sim-${i}`), 'SIMULATED');
    j.begin({ ...order('paper-1'), accountId: 'DU1' }, 'PAPER');
    j.begin({ ...order('other-1'), accountId: 'DU2' }, 'PAPER');
    assert.equal(j.attemptsSince(0, { accountId: 'DU1', mode: 'PAPER' }), 1);
    assert.equal(j.attemptsSince(0, { accountId: 'DU1', mode: 'SIMULATED' }), 3);
    assert.equal(j.attemptsSince(0, { accountId: 'DU2', mode: 'LIVE' }), 0);
    assert.equal(j.attemptsSince(0), 5);
    j.close();
  });

  test('non-final entries, counts, and a torn last line are tolerated', () => {
    const h = home();
    const j = new Journal(h);
    j.begin(order('a'), 'PAPER');
    j.begin(order('b'), 'PAPER');
    j.update('b', { state: 'rejected', message: 'no' });
    j.begin(order('c'), 'PAPER');
    j.update('c', { state: 'unknown' });
    j.close();
    appendFileSync(join(h, 'journal.jsonl'), '{"t":1,"cOID":"x","ev":"upd');
    const k = new Journal(h);
    assert.deepEqual(
      k.nonFinal().map((e) => e.clientOrderId),
      ['a', 'c'],
    );
    assert.equal(k.attemptsSince(0), 3);
    assert.equal(k.attemptsSince(Date.now() + 1000), 0);
    k.close();
  });

  test('modifications are recorded against the order', () => {
    const h = home();
    const j = new Journal(h);
    j.begin(order('m'), 'SIMULATED');
    j.modify('m', { limitPrice: 11 }, { ...order('m'), limitPrice: 11 });
    assert.equal(j.get('m')!.order.limitPrice, 11);
    assert.equal(j.get('m')!.modifications?.length, 1);
    j.close();
  });
});

describe('kill switch', () => {
  test('HALT file blocks, survives new readers, resume lifts it', () => {
    const h = home();
    assert.equal(haltState(h).halted, false);
    assertNotHalted(h, 'placing');
    halt(h, 'testing');
    assert.deepEqual(haltState(h).reason, 'testing');
    assert.throws(
      () => assertNotHalted(h, 'placing'),
      (e: unknown) =>
        e instanceof BrokerError && e.code === 'REFUSED' && /halted.*testing.*placing orders/.test(e.message),
    );
    assert.equal(resume(h), true);
    assert.equal(resume(h), false);
    assertNotHalted(h, 'placing');
  });
  test('any file named HALT halts', () => {
    const h = home();
    appendFileSync(join(h, 'HALT'), 'garbage');
    assert.equal(haltState(h).halted, true);
  });
});
