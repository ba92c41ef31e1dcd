import { test } from 'node:test';
import assert from 'node:assert/strict';
import { COORD_KEY, Granter, LeaseTracker, resourceKey } from '../../src/core/leases.ts';
import type { VoteTable } from '../../src/core/quorum.ts';

const P = 1000; // promise length
const K = resourceKey('vip0');
const L = 1350;

/** A granter whose quiet period is already over at t=0. */
function granter(quietUntil = 0): Granter {
  return new Granter(() => P, quietUntil);
}

function votes(n: number, twoNode = false): VoteTable {
  return { votes: new Map(Array.from({ length: n }, (_, i) => [i + 1, 1])), expected: twoNode ? 2 : n, twoNode };
}

// ------------------------------------------------------------------ Granter

test('resourceKey prefixes r:', () => {
  assert.equal(resourceKey('web'), 'r:web');
  assert.notEqual(resourceKey('coord'), COORD_KEY);
});

test('granter grants a key to the first requester', () => {
  const g = granter();
  assert.deepEqual(g.request(1, 1, 1, [K], undefined, 100), { granted: [K], denied: [] });
  assert.equal(g.holderOf(K, 100), 1);
});

test('granter denies a second requester, naming the holder and the time left', () => {
  const g = granter();
  g.request(1, 1, 1, [K], undefined, 100);
  const r = g.request(2, 1, 1, [K], undefined, 400);
  assert.deepEqual(r.granted, []);
  assert.deepEqual(r.denied, [{ key: K, holder: 1, remainingMs: 100 + P - 400 }]);
});

test('granter grants renewals to the same holder and extends the promise', () => {
  const g = granter();
  g.request(1, 1, 1, [K], undefined, 100);
  assert.deepEqual(g.request(1, 1, 2, [K], undefined, 900).granted, [K]);
  // The promise now runs from the renewal.
  assert.equal(g.holderOf(K, 100 + P + 50), 1);
  assert.deepEqual(g.request(2, 1, 1, [K], undefined, 1500).denied, [{ key: K, holder: 1, remainingMs: 900 + P - 1500 }]);
});

test('keys are independent: one request can be granted some keys and denied others', () => {
  const g = granter();
  const A = resourceKey('a');
  const B = resourceKey('b');
  g.request(1, 1, 1, [A], undefined, 0);
  const r = g.request(2, 1, 1, [A, B], undefined, 10);
  assert.deepEqual(r.granted, [B]);
  assert.deepEqual(r.denied.map((d) => d.key), [A]);
});

test('a promise runs out after promiseMs', () => {
  const g = granter();
  g.request(1, 1, 1, [K], undefined, 100);
  assert.equal(g.holderOf(K, 100 + P - 1), 1);
  assert.equal(g.holderOf(K, 100 + P), 0);
  assert.equal(g.request(2, 1, 1, [K], undefined, 100 + P - 1).granted.length, 0);
  assert.deepEqual(g.request(2, 1, 2, [K], undefined, 100 + P).granted, [K]);
  assert.equal(g.holderOf(K, 100 + P), 2);
});

test('the promise length is read at each grant', () => {
  let p = 100;
  const g = new Granter(() => p, 0);
  g.request(1, 1, 1, [K], undefined, 0);
  assert.equal(g.holderOf(K, 99), 1);
  assert.equal(g.holderOf(K, 100), 0);
  p = 500;
  g.request(1, 1, 2, [K], undefined, 100);
  assert.equal(g.holderOf(K, 599), 1);
});

test('quiet period after start: everything is denied with holder 0 and the time left', () => {
  const g = granter(2000);
  const r = g.request(1, 1, 1, [K, COORD_KEY], 1, 500);
  assert.deepEqual(r.granted, []);
  assert.deepEqual(r.denied, [
    { key: K, holder: 0, remainingMs: 1500 },
    { key: COORD_KEY, holder: 0, remainingMs: 1500 },
  ]);
  assert.equal(g.holderOf(K, 500), 0);
  assert.deepEqual(g.request(1, 1, 2, [K], undefined, 2000).granted, [K]);
});

test('a quiet-period denial does not make the requester a waiter', () => {
  const g = granter(200);
  g.request(2, 1, 1, [K], undefined, 100); // denied: quiet
  g.request(1, 1, 1, [K], undefined, 250);
  assert.deepEqual(g.release(1, 1, 2, [K], 260, 1000), []);
});

test('release by the holder clears its promise at once', () => {
  const g = granter();
  g.request(1, 1, 5, [K], undefined, 100);
  assert.deepEqual(g.release(1, 1, 6, [K], 200, 0), []);
  assert.equal(g.holderOf(K, 200), 0);
  assert.deepEqual(g.request(2, 1, 1, [K], undefined, 201).granted, [K]);
});

test('a release from a node that is not the holder does not clear the promise', () => {
  const g = granter();
  g.request(1, 1, 5, [K], undefined, 100);
  g.release(2, 1, 99, [K], 200, 0);
  assert.equal(g.holderOf(K, 200), 1);
});

test('a stale release with an older round does not clear a newer grant', () => {
  const g = granter();
  g.request(1, 1, 3, [K], undefined, 100);
  g.request(1, 1, 5, [K], undefined, 200); // renewed at round 5
  g.release(1, 1, 4, [K], 250, 0); // delayed release of round 4
  assert.equal(g.holderOf(K, 250), 1);
  g.release(1, 1, 5, [K], 260, 0);
  assert.equal(g.holderOf(K, 260), 0);
});

test('a release from an older incarnation does not clear a grant to the new one', () => {
  const g = granter();
  g.request(1, 2, 1, [K], undefined, 100); // incarnation 2, round 1
  g.release(1, 1, 500, [K], 150, 0); // incarnation 1, round 500, delayed
  assert.equal(g.holderOf(K, 150), 1);
  assert.deepEqual(g.request(1, 2, 2, [K], undefined, 160).granted, [K], 'the old release does not block the new incarnation');
});

test('a request arriving late with a round at or below a released round is ignored', () => {
  const g = granter();
  g.request(1, 1, 5, [K], undefined, 100);
  g.release(1, 1, 6, [K], 200, 0);
  for (const round of [4, 5, 6]) {
    assert.deepEqual(g.request(1, 1, round, [K], undefined, 210), { granted: [], denied: [] }, `round ${round}`);
    assert.equal(g.holderOf(K, 210), 0);
  }
  assert.deepEqual(g.request(1, 1, 7, [K], undefined, 220).granted, [K]);
  assert.deepEqual(g.request(1, 2, 1, [K], undefined, 230).granted, [K], 'a newer incarnation is never stale');
});

test('an older round granted after a newer one keeps the newer round (release of the older one does not clear)', () => {
  const g = granter();
  g.request(1, 1, 5, [K], undefined, 100);
  g.request(1, 1, 4, [K], undefined, 110); // reordered older request
  g.release(1, 1, 4, [K], 120, 0);
  assert.equal(g.holderOf(K, 120), 1);
});

test('release hands the key at once to a waiting requester (planned switchover)', () => {
  const g = granter();
  g.request(1, 1, 1, [K], undefined, 0);
  assert.equal(g.request(2, 7, 3, [K], undefined, 100).denied.length, 1);
  const handed = g.release(1, 1, 2, [K], 150, 200);
  assert.equal(handed.length, 1);
  const { key, to, inc, round } = handed[0];
  assert.deepEqual({ key, to, inc, round }, { key: K, to: 2, inc: 7, round: 3 });
  assert.equal(g.holderOf(K, 150), 2);
  assert.deepEqual(g.request(3, 1, 1, [K], undefined, 160).denied, [{ key: K, holder: 2, remainingMs: 150 + P - 160 }]);
});

test('release does not hand the key to a waiter whose request is no longer fresh', () => {
  const g = granter();
  g.request(1, 1, 1, [K], undefined, 0);
  g.request(2, 1, 3, [K], undefined, 100);
  assert.deepEqual(g.release(1, 1, 2, [K], 301, 200), []);
  assert.equal(g.holderOf(K, 301), 0);
});

test('release hands only to the latest waiter', () => {
  const g = granter();
  g.request(1, 1, 1, [K], undefined, 0);
  g.request(2, 1, 1, [K], undefined, 100);
  g.request(3, 1, 1, [K], undefined, 110);
  assert.deepEqual(g.release(1, 1, 2, [K], 120, 200).map((h) => h.to), [3]);
});

test('a waiter that was granted in the meantime is not handed the key again', () => {
  const g = granter();
  g.request(1, 1, 1, [K], undefined, 0);
  g.request(2, 1, 1, [K], undefined, 100); // waits
  g.request(2, 1, 2, [K], undefined, 0 + P); // granted when the promise ran out
  g.request(2, 1, 3, [K], undefined, P + 10);
  g.release(2, 1, 3, [K], P + 20, 200);
  assert.equal(g.holderOf(K, P + 20), 0);
});

test('a stale release (older round) does not hand the key to a waiter', () => {
  const g = granter();
  g.request(1, 1, 5, [K], undefined, 0);
  g.request(2, 1, 1, [K], undefined, 50);
  assert.deepEqual(g.release(1, 1, 4, [K], 60, 200), []);
  assert.equal(g.holderOf(K, 60), 1);
});

test('the coordinator key is never handed over on release', () => {
  const g = granter();
  g.request(1, 1, 1, [COORD_KEY], 1, 0);
  g.request(2, 1, 1, [COORD_KEY], 2, 10);
  assert.deepEqual(g.release(1, 1, 2, [COORD_KEY], 20, 200), []);
  assert.equal(g.holderOf(COORD_KEY, 20), 0);
});

test('coordinator key: granted for a first term, recorded with its owner', () => {
  const g = granter();
  assert.deepEqual(g.request(1, 1, 1, [COORD_KEY], 1, 0).granted, [COORD_KEY]);
  assert.equal(g.coordTerm, 1);
  assert.equal(g.coordTermOwner, 1);
});

test('coordinator key: a higher term does not override a live promise', () => {
  const g = granter();
  g.request(1, 1, 1, [COORD_KEY], 1, 0);
  assert.deepEqual(g.request(2, 1, 1, [COORD_KEY], 9, 10).denied, [{ key: COORD_KEY, holder: 1, remainingMs: P - 10 }]);
  assert.equal(g.coordTerm, 1);
});

test('coordinator key: a higher term wins once the promise is free', () => {
  const g = granter();
  g.request(1, 1, 1, [COORD_KEY], 1, 0);
  assert.deepEqual(g.request(2, 1, 1, [COORD_KEY], 2, P).granted, [COORD_KEY]);
  assert.equal(g.coordTerm, 2);
  assert.equal(g.coordTermOwner, 2);
});

test('coordinator key: an equal term is granted only to the same owner', () => {
  const g = granter();
  g.request(1, 1, 1, [COORD_KEY], 3, 0);
  // Another node with the same term, after the promise ran out: denied, nobody holds it.
  assert.deepEqual(g.request(2, 1, 1, [COORD_KEY], 3, P).denied, [{ key: COORD_KEY, holder: 0, remainingMs: 0 }]);
  // The owner may take it again with the same term.
  assert.deepEqual(g.request(1, 1, 2, [COORD_KEY], 3, P + 1).granted, [COORD_KEY]);
});

test('coordinator key: a lower term is denied even when the promise is free', () => {
  const g = granter();
  g.request(1, 1, 1, [COORD_KEY], 5, 0);
  assert.deepEqual(g.request(2, 1, 1, [COORD_KEY], 4, P + 1).denied, [{ key: COORD_KEY, holder: 0, remainingMs: 0 }]);
  assert.deepEqual(g.request(1, 1, 2, [COORD_KEY], 4, P + 2).denied, [{ key: COORD_KEY, holder: 0, remainingMs: 0 }]);
  assert.equal(g.coordTerm, 5);
});

test('coordinator key: a term-less request is denied once a term exists', () => {
  const g = granter();
  g.request(1, 1, 1, [COORD_KEY], 1, 0);
  assert.equal(g.request(2, 1, 1, [COORD_KEY], undefined, P + 1).granted.length, 0);
});

test('coordinator key: a denied term does not change the recorded term', () => {
  const g = granter();
  g.request(1, 1, 1, [COORD_KEY], 2, 0);
  g.request(3, 1, 1, [COORD_KEY], 1, P + 1);
  assert.equal(g.coordTerm, 2);
  assert.equal(g.coordTermOwner, 1);
});

test('resource keys ignore terms', () => {
  const g = granter();
  g.request(1, 1, 1, [COORD_KEY], 5, 0);
  assert.deepEqual(g.request(2, 1, 1, [K], 1, 0).granted, [K]);
});

test('fenced(node, inc) clears every promise to that node up to that incarnation, and only those', () => {
  const g = granter();
  const A = resourceKey('a');
  g.request(1, 1, 1, [K, COORD_KEY], 1, 0);
  g.request(2, 1, 1, [A], undefined, 0);
  assert.deepEqual(g.fenced(1, 0, 10, 0).cleared, [], 'an older incarnation clears nothing');
  assert.deepEqual(g.fenced(1, 1, 10, 0).cleared.sort(), [COORD_KEY, K].sort());
  assert.equal(g.holderOf(K, 10), 0);
  assert.equal(g.holderOf(COORD_KEY, 10), 0);
  assert.equal(g.holderOf(A, 10), 2);
  assert.deepEqual(g.request(3, 1, 1, [K], undefined, 10).granted, [K]);
  assert.deepEqual(g.fenced(1, 1, 10, 0).cleared, []);
});

test('fenced() hands the key at once to a request that was waiting for it', () => {
  const g = granter();
  g.request(1, 1, 1, [K], undefined, 0);
  assert.equal(g.request(2, 1, 7, [K], undefined, 50).denied.length, 1);
  const { handed } = g.fenced(1, 1, 60, 200);
  assert.deepEqual(handed, [{ key: K, to: 2, inc: 1, round: 7 }]);
  assert.equal(g.holderOf(K, 61), 2);
});

function fencingGranter(fenced: Map<number, number>) {
  return new Granter(() => P, 0, { blocksAfterExpiry: (n, inc) => (fenced.get(n) ?? -1) < inc });
}

test('with fencing required, a lapsed VIP promise binds until the holder is fenced', () => {
  const fenced = new Map<number, number>();
  const g = fencingGranter(fenced);
  g.request(1, 3, 1, [K, COORD_KEY], 1, 0);
  const late = P + 5000;
  const d = g.request(2, 1, 1, [K, COORD_KEY], 2, late);
  assert.deepEqual(d.granted, [COORD_KEY], 'the coordinator key never waits for a fence');
  assert.deepEqual(d.denied, [{ key: K, holder: 1, remainingMs: 0 }]);
  assert.deepEqual([...g.owed(late)], [[1, 3]]);
  assert.deepEqual(g.blockedByFence(late), [1]);
  fenced.set(1, 2); // an older incarnation is not enough
  assert.equal(g.holderOf(K, late), 1);
  fenced.set(1, 3);
  assert.equal(g.holderOf(K, late), 0);
  assert.deepEqual(g.request(2, 1, 2, [K], undefined, late).granted, [K]);
});

test('a holder that stops asking for a key disowns it: no fence needed for that promise', () => {
  const g = fencingGranter(new Map());
  g.request(1, 1, 4, [K], undefined, 0);
  g.disown(1, 1, 3, new Set()); // a heartbeat from before round 4: says nothing about it
  assert.equal(g.holderOf(K, P + 1), 1);
  g.disown(1, 1, 5, new Set([K])); // still wants it
  assert.equal(g.holderOf(K, P + 1), 1);
  g.disown(1, 1, 5, new Set());
  assert.equal(g.holderOf(K, P - 1), 1, 'the promise itself still runs to its end');
  assert.equal(g.holderOf(K, P + 1), 0);
  assert.equal(g.owed(P - 1).size, 0);
});

test('a new incarnation disowns every promise to the old one (it removed its addresses at start)', () => {
  const g = fencingGranter(new Map());
  g.request(1, 1, 9, [K], undefined, 0);
  g.disown(1, 2, 0, new Set([K]));
  assert.equal(g.holderOf(K, P + 1), 1, 'it asks for the key again: not disowned');
  g.disown(1, 2, 0, new Set());
  assert.equal(g.holderOf(K, P + 1), 0);
});

// ------------------------------------------------------------------ LeaseTracker

test('lease end is the quorum-th latest of sendTime+leaseMs over the granters (3 nodes)', () => {
  const t = new LeaseTracker(L);
  t.sent(3, [K], 1000);
  t.sent(4, [K], 1100);
  t.sent(5, [K], 1200);
  assert.equal(t.grant(K, 1, 5), true); // self, newest round
  assert.equal(t.leaseEnd(K, votes(3)), -Infinity, 'one grant of three is no quorum');
  assert.equal(t.grant(K, 2, 3), true);
  assert.equal(t.leaseEnd(K, votes(3)), 1000 + L);
  t.grant(K, 3, 4);
  assert.equal(t.leaseEnd(K, votes(3)), 1100 + L, 'the 2nd latest end of three grants');
});

test('lease end in a 5-node cluster needs 3 granters', () => {
  const t = new LeaseTracker(L);
  for (let r = 1; r <= 5; r++) t.sent(r, [K], r * 100);
  t.grant(K, 1, 5);
  t.grant(K, 2, 4);
  assert.equal(t.leaseEnd(K, votes(5)), -Infinity);
  t.grant(K, 3, 1);
  assert.equal(t.leaseEnd(K, votes(5)), 100 + L);
  t.grant(K, 4, 2);
  assert.equal(t.leaseEnd(K, votes(5)), 200 + L);
});

test('lease end counts votes, not granters (two_node: the tie-breaker alone is enough)', () => {
  const t = new LeaseTracker(L);
  t.sent(1, [K], 1000);
  t.sent(2, [K], 1100);
  t.grant(K, 2, 2);
  assert.equal(t.leaseEnd(K, votes(2, true)), -Infinity, 'node 2 alone is not quorate');
  t.grant(K, 1, 1);
  assert.equal(t.leaseEnd(K, votes(2, true)), 1000 + L, 'node 1 (tie-breaker) alone is quorate');
});

test("a granter's newer grant replaces its older one, an older one never lowers it", () => {
  const t = new LeaseTracker(L);
  t.sent(1, [K], 0);
  t.sent(2, [K], 100);
  t.grant(K, 1, 2);
  t.grant(K, 2, 2);
  t.grant(K, 2, 1); // late reply to round 1
  assert.equal(t.leaseEnd(K, votes(3)), 100 + L);
});

test('grants for a round that did not request the key do not count', () => {
  const t = new LeaseTracker(L);
  t.sent(1, [COORD_KEY], 0);
  t.sent(2, [K], 100);
  assert.equal(t.grant(K, 1, 1), false);
  assert.equal(t.grant(K, 2, 1), false);
  assert.equal(t.leaseEnd(K, votes(3)), -Infinity);
  assert.equal(t.grant(K, 1, 9), false, 'a round never sent');
  assert.equal(t.leaseEnd(K, votes(3)), -Infinity);
});

test('drop() forgets grants up to a round, and later grants at or below it do not count', () => {
  const t = new LeaseTracker(L);
  t.sent(1, [K], 0);
  t.sent(2, [K], 100);
  t.grant(K, 1, 1);
  t.grant(K, 2, 1);
  assert.equal(t.leaseEnd(K, votes(3)), L);
  t.drop(K, 2);
  assert.equal(t.leaseEnd(K, votes(3)), -Infinity);
  assert.equal(t.grant(K, 3, 2), false, 'late grant of the round we released at');
  assert.equal(t.grant(K, 3, 1), false);
  assert.equal(t.leaseEnd(K, votes(3)), -Infinity);
  t.sent(3, [K], 200);
  assert.equal(t.grant(K, 1, 3), true);
  assert.equal(t.grant(K, 2, 3), true);
  assert.equal(t.leaseEnd(K, votes(3)), 200 + L);
});

test('drop() of one key keeps the grants of another', () => {
  const t = new LeaseTracker(L);
  t.sent(1, [K, COORD_KEY], 0);
  for (const g of [1, 2]) {
    t.grant(K, g, 1);
    t.grant(COORD_KEY, g, 1);
  }
  t.drop(K, 1);
  assert.equal(t.leaseEnd(K, votes(3)), -Infinity);
  assert.equal(t.leaseEnd(COORD_KEY, votes(3)), L);
});

test('drop() never lowers the floor', () => {
  const t = new LeaseTracker(L);
  for (let r = 1; r <= 3; r++) t.sent(r, [K], r);
  t.drop(K, 3);
  t.drop(K, 1);
  assert.equal(t.grant(K, 1, 2), false);
});

test('rounds sent longer than a lease ago are forgotten and their grants do not count', () => {
  const t = new LeaseTracker(L);
  t.sent(1, [K], 0);
  t.sent(2, [K], L + 1); // prunes round 1
  assert.equal(t.grant(K, 1, 1), false);
  assert.equal(t.grant(K, 2, 1), false);
  assert.equal(t.leaseEnd(K, votes(3)), -Infinity);
});
