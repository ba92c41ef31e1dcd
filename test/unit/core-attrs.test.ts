// Cluster attributes (core/attrs.ts): last writer wins by (counter, writer, incarnation), and
// every order of merging gives the same map.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AttrMap, standbyKey } from '../../src/core/attrs.ts';

test('a later write wins whichever order the maps are merged in', () => {
  const a = new AttrMap(1, 10);
  const b = new AttrMap(2, 20);
  a.set(standbyKey('n2'), true);
  b.merge(a.entries);
  b.set(standbyKey('n2'), false);
  const x = new AttrMap(3, 30);
  x.merge(b.entries);
  x.merge(a.entries);
  assert.equal(x.get(standbyKey('n2')), false);
  const y = new AttrMap(3, 30);
  y.merge(a.entries);
  y.merge(b.entries);
  assert.equal(y.get(standbyKey('n2')), false);
});

test('a node restarted without its state reuses (counter, writer): its new incarnation wins on every node', () => {
  // n1's first run writes standby:n2 = true at counter 1; n2 has it.
  const old = new AttrMap(1, 100);
  old.set(standbyKey('n2'), true);
  const n2 = new AttrMap(2, 200);
  n2.merge(old.entries);
  // n1 restarts with no state dir (counter 0 again), cut off from n2, and writes false.
  const fresh = new AttrMap(1, 101);
  fresh.set(standbyKey('n2'), false);
  assert.equal(fresh.entries[standbyKey('n2')].c, old.entries[standbyKey('n2')].c, 'the same counter');
  // They exchange maps: both must end with the new write (before: each kept its own, for good).
  n2.merge(fresh.entries);
  fresh.merge(old.entries);
  assert.equal(n2.get(standbyKey('n2')), false);
  assert.equal(fresh.get(standbyKey('n2')), false);
  assert.deepEqual(n2.entries, fresh.entries);
});

test('entries saved without an incarnation (older builds) read as incarnation 0', () => {
  const m = new AttrMap(2, 5);
  m.merge({ k: { v: 'old', c: 3, n: 1 } });
  m.merge({ k: { v: 'new', c: 3, n: 1, i: 7 } });
  assert.equal(m.get('k'), 'new');
  m.merge({ k: { v: 'older', c: 3, n: 1 } });
  assert.equal(m.get('k'), 'new');
});
