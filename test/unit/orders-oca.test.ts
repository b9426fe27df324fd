/**
 * One-cancels-all groups and bracket fills (issue #20), as pure functions: the wire group
 * ([V3] singleOrderSubmissionRequest.isSingleGroup, "all orders in the containing array are to
 * be treated as an OCA group"; docs/ib/orders.md §7.1), the journal's group attempt, and the
 * simulator's group rules: OCA type 1 cancels the others at the first fill, types 2/3 reduce
 * them (TWS API "One Cancels All"; ibapi OcaType); bracket children work on the parent's first
 * fill and close no more than it opened (no IB source found for partial fills: the simulator
 * takes the side that never leaves a filled part unprotected).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { parseLiveOrders, toWireOrders } from '../../src/backends/cpapi/order-wire.js';
import { type OrderRequest, ocaMembers } from '../../src/broker/orders.js';
import { Journal } from '../../src/safety/journal.js';
import { childCap, childReadiness, reduceOcaGroup } from '../../src/simulator/order-bracket.js';
import type { SimOrder } from '../../src/simulator/order-model.js';
import { AAPL_LMT } from '../fixtures/order-request.js';

const group: OrderRequest = {
  ...AAPL_LMT,
  clientOrderId: 'oca-1',
  ocaGroup: 'g1',
  ocaSiblings: [{ ...AAPL_LMT, side: 'SELL', limitPrice: 190, clientOrderId: 'oca-2' }],
};

describe('OCA on the wire', () => {
  test('every order of the request carries isSingleGroup and its own cOID; none a parentId', () => {
    const w = toWireOrders(group);
    assert.deepEqual(
      w.map((o) => [o['cOID'], o['isSingleGroup'], o['parentId'], o['side'], o['price']]),
      [
        ['oca-1', true, undefined, 'BUY', 185.5],
        ['oca-2', true, undefined, 'SELL', 190],
      ],
    );
    // The group's name is ours (journal): IB's Client Portal API takes none.
    assert.ok(w.every((o) => !('ocaGroup' in o)));
  });

  test('a what-if of the group links it by isSingleGroup alone, without cOIDs', () => {
    const w = toWireOrders(group, { withClientId: false });
    assert.equal(w.length, 2);
    assert.ok(w.every((o) => o['isSingleGroup'] === true && o['cOID'] === undefined));
  });

  test('live rows carry the OCA group id (docs/ib/orders.md §7.5)', () => {
    const { orders } = parseLiveOrders({
      snapshot: true,
      orders: [{ orderId: 21, conid: 265598, side: 'BUY', status: 'Submitted', ocaGroupId: '1300000021' }],
    });
    assert.equal(orders[0]!.ocaGroupId, '1300000021');
  });
});

describe('the journal holds a group as one', () => {
  test('every cOID checked first: a used one writes nothing of the group', () => {
    const home = mkdtempSync(join(tmpdir(), 'ibkr-oca-'));
    try {
      const j = new Journal(home);
      const members = ocaMembers(group);
      const entries = j.beginGroup(members, 'PAPER', 'token');
      assert.deepEqual(
        entries.map((e) => [e.clientOrderId, e.group, e.state]),
        [
          ['oca-1', 'oca-1', 'sending'],
          ['oca-2', 'oca-1', 'sending'],
        ],
      );
      assert.equal(entries[0]!.order.ocaSiblings?.[0]?.clientOrderId, 'oca-2');
      const again = [{ ...AAPL_LMT, clientOrderId: 'oca-3' }, members[1]!];
      assert.throws(() => j.beginGroup(again, 'PAPER'), /oca-2 was already used/);
      assert.equal(j.has('oca-3'), false, 'nothing of the refused group was written');
      // A single order is a group of one, unmarked.
      assert.equal(j.begin({ ...AAPL_LMT, clientOrderId: 'single-1' }, 'PAPER').group, undefined);
      j.close();
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });
});

function sim(id: number, o: Partial<SimOrder>): SimOrder {
  return {
    orderId: id,
    acct: 'DU1',
    conid: 1,
    inst: {} as SimOrder['inst'],
    side: 'BUY',
    type: 'LMT',
    qty: 10,
    filled: 0,
    triggered: false,
    tif: 'DAY',
    outsideRth: false,
    status: 'Submitted',
    avgPrice: 0,
    commission: 0,
    createdAt: 0,
    updatedAt: 0,
    session: 's',
    ...o,
  };
}

describe('simulator: OCA types', () => {
  const book = (type: 1 | 2) =>
    new Map([
      [1, sim(1, { ocaGroup: 'g', ocaType: type })],
      [2, sim(2, { ocaGroup: 'g', ocaType: type })],
      [3, sim(3, { ocaGroup: 'g', ocaType: type, status: 'PreSubmitted', type: 'STP' })],
      [4, sim(4, {})],
    ]);
  const cancelled: number[] = [];
  const cancel = (o: SimOrder) => {
    cancelled.push(o.orderId);
    o.status = 'Cancelled';
  };

  test('type 1: a partial fill of one cancels every other working order of the group, nothing else', () => {
    cancelled.length = 0;
    const b = book(1);
    reduceOcaGroup(b, b.get(1)!, 3, cancel);
    assert.deepEqual(cancelled, [2, 3]);
    assert.equal(b.get(4)!.status, 'Submitted');
  });

  test('type 2 (bracket children): the others are reduced by the fill, cancelled at nothing left', () => {
    cancelled.length = 0;
    const b = book(2);
    reduceOcaGroup(b, b.get(1)!, 3, cancel);
    assert.deepEqual([b.get(2)!.qty, b.get(3)!.qty], [7, 7]);
    assert.deepEqual(cancelled, []);
    reduceOcaGroup(b, b.get(1)!, 7, cancel);
    assert.deepEqual(cancelled, [2, 3]);
  });
});

describe('simulator: bracket children and partial fills of the parent', () => {
  const bracket = (parent: Partial<SimOrder>) =>
    new Map([
      [1, sim(1, parent)],
      [2, sim(2, { side: 'SELL', parentOrderId: 1, ocaGroup: 'oca1', status: 'PreSubmitted' })],
      [3, sim(3, { side: 'SELL', type: 'STP', parentOrderId: 1, ocaGroup: 'oca1', status: 'PreSubmitted' })],
    ]);

  test('they wait until the parent has a fill, then work for what it filled', () => {
    const b = bracket({});
    assert.equal(childReadiness(b, b.get(2)!), 'wait');
    b.get(1)!.filled = 4;
    assert.equal(childReadiness(b, b.get(2)!), 'work');
    assert.equal(b.get(2)!.status, 'Submitted', 'a limit child works at once');
    assert.equal(b.get(3)!.status, 'PreSubmitted', 'a stop child waits for its trigger');
    assert.equal(childCap(b, b.get(2)!), 4);
    b.get(2)!.filled = 3;
    assert.equal(childCap(b, b.get(3)!), 1, 'what the children closed is no longer open');
  });

  test('a parent cancelled before any fill cancels them; after a partial fill they shrink to it', () => {
    const none = bracket({ status: 'Cancelled' });
    assert.equal(childReadiness(none, none.get(2)!), 'cancel');
    const part = bracket({ status: 'Cancelled', filled: 4 });
    part.get(2)!.filled = 1;
    assert.equal(childReadiness(part, part.get(2)!), 'work');
    assert.equal(part.get(2)!.qty, 4);
    assert.equal(childReadiness(part, part.get(3)!), 'work');
    assert.equal(part.get(3)!.qty, 3, 'the stop protects what is still open');
  });
});
