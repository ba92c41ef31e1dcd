// The event history ring (src/daemon/events.ts): which log lines are cluster events, what an
// event carries (times, term, epoch, reason, message), the bound, paging by seq, subscribers
// and the node_down events the daemon's watching adds.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { categoryOf, describeEvent, EventLog } from '../../src/daemon/events.ts';

test('an event carries wall and monotonic time, term, epoch, node, resource, ip, reason and a message', () => {
  let mono = 1000.25;
  const log = new EventLog({ context: () => ({ term: 5, epoch: 2 }), monoNow: () => mono, wallNow: () => new Date('2025-01-02T03:04:05.678Z') });
  const e = log.record({ level: 'info', event: 'vip_acquired', fields: { node: 'worker1', resource: 'api', ip: '192.0.2.150', why: 'worker0 stopped answering', term: 9, leaseMs: 1350 } })!;
  assert.deepEqual(e, {
    seq: 1,
    time: '2025-01-02T03:04:05.678Z',
    monoMs: 1000.25,
    type: 'vip_acquired',
    category: 'vip',
    level: 'info',
    term: 9, // the event's own term wins over the current one
    epoch: 2,
    node: 'worker1',
    resource: 'api',
    ip: '192.0.2.150',
    reason: 'worker0 stopped answering',
    message: 'api (192.0.2.150) acquired by worker1: worker0 stopped answering',
    fields: { node: 'worker1', resource: 'api', ip: '192.0.2.150', why: 'worker0 stopped answering', term: 9, leaseMs: 1350 },
  });
  mono = 2000;
  const q = log.record({ level: 'warn', event: 'quorum_lost', fields: { node: 'worker1', votes: 1, quorum: 2 } })!;
  assert.equal(q.term, 5);
  assert.equal(q.category, 'quorum');
  assert.equal(q.message, 'quorum lost: 1 votes, 2 needed');
  assert.equal(q.monoMs, 2000);
});

test('classification: cluster events are kept, chatter dropped, unknown warnings kept as other', () => {
  assert.equal(categoryOf('quorum_gained', 'info'), 'quorum');
  assert.equal(categoryOf('coordinator_elected', 'info'), 'coordinator');
  assert.equal(categoryOf('node_fenced', 'warn'), 'fencing');
  assert.equal(categoryOf('fence_failed', 'error'), 'fencing');
  assert.equal(categoryOf('config_reload', 'info'), 'config');
  assert.equal(categoryOf('placement', 'info'), 'vip');
  assert.equal(categoryOf('node_up', 'info'), 'node');
  assert.equal(categoryOf('attribute', 'info'), undefined);
  assert.equal(categoryOf('campaign_retry', 'info'), undefined);
  assert.equal(categoryOf('something_new_and_bad', 'error'), 'other');
  const log = new EventLog();
  assert.equal(log.record({ level: 'debug', event: 'attribute', fields: {} }), undefined);
  assert.equal(log.latestSeq, 0);
});

test('messages say what happened and why', () => {
  assert.equal(describeEvent('vip_released', { node: 'w0', resource: 'api', ip: '10.0.0.1', reason: 'lost quorum' }), 'api (10.0.0.1) released by w0: lost quorum');
  assert.equal(describeEvent('coordinator_elected', { node: 'w2', term: 4 }), 'w2 elected coordinator (term 4)');
  assert.equal(describeEvent('fence_failed', { node: 'w1', error: 'timeout' }), 'fencing w1 failed: timeout');
  assert.equal(describeEvent('placement', { node: null, resource: 'api' }), 'api placed on no node');
  assert.equal(describeEvent('config_committed', { node: 'w1', epoch: 3, term: 2, change: 'resource api created' }), 'configuration epoch 3 committed: resource api created');
  assert.equal(describeEvent('config_diverged', { node: 'w1', epoch: 2, term: 1, theirs: 'a', ours: 'b' }), "w1 held another configuration as epoch 2: the coordinator's is proposed again as a newer epoch");
  assert.equal(categoryOf('config_diverged', 'warn'), 'config');
  assert.equal(categoryOf('config_applied', 'info'), 'config');
  assert.equal(describeEvent('brand_new', { node: 'w0', x: 1, deep: { a: 1 } }), 'brand new on w0 (x=1)');
});

test('the ring keeps the newest `capacity` events; since/limit/truncated page through it', () => {
  const log = new EventLog({ capacity: 5 });
  for (let i = 1; i <= 8; i++) log.record({ level: 'info', event: 'node_up', fields: { node: `n${i}` } });
  const all = log.page(0);
  assert.deepEqual(all.events.map((e) => e.seq), [4, 5, 6, 7, 8]);
  assert.equal(all.firstSeq, 4);
  assert.equal(all.latestSeq, 8);
  assert.equal(all.capacity, 5);
  assert.equal(all.truncated, true, 'seq 1..3 were dropped');
  assert.equal(all.stream, log.stream);
  const after6 = log.page(6);
  assert.deepEqual(after6.events.map((e) => e.seq), [7, 8]);
  assert.equal(after6.truncated, false);
  assert.deepEqual(log.page(8).events, []);
  assert.deepEqual(log.page(3).events.map((e) => e.seq), [4, 5, 6, 7, 8]);
  assert.equal(log.page(3).truncated, false, 'nothing after 3 is missing');
  assert.equal(log.page(2).truncated, true, 'seq 3 is missing');
  // limit keeps the newest
  const lim = log.page(0, 2);
  assert.deepEqual(lim.events.map((e) => e.seq), [7, 8]);
  assert.equal(lim.truncated, true);
  // a seq from an earlier daemon run (larger than any here): everything
  assert.deepEqual(log.page(1000).events.map((e) => e.seq), [4, 5, 6, 7, 8]);
});

test('subscribers hear every event; one that throws does not stop the others', () => {
  const log = new EventLog();
  const heard: number[] = [];
  log.subscribe(() => {
    throw new Error('buggy');
  });
  const off = log.subscribe((e) => heard.push(e.seq));
  log.record({ level: 'info', event: 'node_up', fields: { node: 'a' } });
  off();
  log.record({ level: 'info', event: 'node_up', fields: { node: 'b' } });
  assert.deepEqual(heard, [1]);
});

test('observeNodes adds node_down once for a node that went silent after node_up', () => {
  const log = new EventLog();
  log.observeNodes([{ name: 'a', online: false }]); // never seen up: nothing
  assert.equal(log.latestSeq, 0);
  log.record({ level: 'info', event: 'node_up', fields: { node: 'a' } });
  log.observeNodes([{ name: 'a', online: true }]);
  log.observeNodes([{ name: 'a', online: false }]);
  log.observeNodes([{ name: 'a', online: false }]);
  const types = log.page(0).events.map((e) => `${e.type} ${e.node} ${e.level}`);
  assert.deepEqual(types, ['node_up a info', 'node_down a warn']);
  assert.equal(log.page(0).events[1].message, 'a is down (no heartbeat)');
  // a clean leave already says it: no node_down after node_left
  log.record({ level: 'info', event: 'node_up', fields: { node: 'b' } });
  log.record({ level: 'info', event: 'node_left', fields: { node: 'b' } });
  log.observeNodes([{ name: 'b', online: false }]);
  assert.equal(log.page(0).events.filter((e) => e.type === 'node_down').length, 1);
});

test('fields are copied JSON-safe and bounded', () => {
  const log = new EventLog();
  const cyclic: Record<string, unknown> = { node: 'a', n: 1 };
  cyclic.self = cyclic;
  const e = log.record({ level: 'error', event: 'weird', fields: cyclic })!;
  assert.deepEqual(e.fields, { node: 'a', n: 1 });
  const big = log.record({ level: 'error', event: 'weird', fields: { node: 'a', blob: 'x'.repeat(10_000) } })!;
  assert.equal((big.fields.blob as string).length, 500);
  JSON.stringify(log.page(0));
});
