import { test } from 'node:test';
import assert from 'node:assert/strict';
import { eligible, place, score, MOVE_SCORE } from '../../src/core/placement.ts';
import { node, placementInput, resource } from './core-helpers.ts';

const three = [node(1), node(2), node(3)];

test('stickiness beats a weaker preference: holder with stickiness 60 stays when another node prefers 50', () => {
  const r = resource({ stickiness: 60, prefers: { n2: 50 } });
  const p = placementInput(three, { holders: new Map([['vip0', 1]]) });
  assert.equal(score(r, three[0], p), 60);
  assert.equal(score(r, three[1], p), 50);
  assert.equal(place([r], p).get('vip0'), 1);
});

test('a preference stronger than stickiness moves the resource (100 > 60)', () => {
  const r = resource({ stickiness: 60, prefers: { n2: 100 } });
  const p = placementInput(three, { holders: new Map([['vip0', 1]]) });
  assert.equal(place([r], p).get('vip0'), 2);
});

test('stickiness falls back to defaults.resource_stickiness', () => {
  const r = resource({ prefers: { n2: 50 } });
  const p = placementInput(three, { holders: new Map([['vip0', 1]]), defaultStickiness: 40 });
  assert.equal(score(r, three[0], p), 40);
  assert.equal(place([r], p).get('vip0'), 2);
  assert.equal(place([r], { ...p, defaultStickiness: 60 }).get('vip0'), 1);
});

test('stickiness only counts on the current holder', () => {
  const r = resource({ stickiness: 60 });
  const p = placementInput(three, { holders: new Map([['vip0', 3]]) });
  assert.equal(score(r, three[0], p), 0);
  assert.equal(score(r, three[2], p), 60);
  assert.equal(place([r], p).get('vip0'), 3);
});

test('equal scores go to the lowest node id, whatever the config order', () => {
  const r = resource({ prefers: { n2: 10, n3: 10 } });
  assert.equal(place([r], placementInput(three)).get('vip0'), 2);
  const shuffled = [node(3), node(1), node(2)];
  assert.equal(place([resource()], placementInput(shuffled)).get('vip0'), 1);
  assert.equal(place([r], placementInput(shuffled)).get('vip0'), 2);
});

test('a standby node is never chosen, even when preferred and holding', () => {
  const r = resource({ prefers: { n1: 1000 } });
  const p = placementInput(three, { standby: new Set([1]), holders: new Map([['vip0', 1]]) });
  assert.equal(eligible(r, three[0], p), false);
  assert.equal(place([r], p).get('vip0'), 2);
});

test('an offline node is never chosen, even when preferred', () => {
  const r = resource({ prefers: { n1: 1000 } });
  const p = placementInput(three, { online: new Set([2, 3]) });
  assert.equal(eligible(r, three[0], p), false);
  assert.equal(place([r], p).get('vip0'), 2);
});

test('a witness is never chosen, even when preferred, moved to, or the only node left', () => {
  const nodes = [node(1), node(2), node(3, 'witness')];
  const r = resource({ prefers: { n3: 1000 } });
  const p = placementInput(nodes, { moves: new Map([['vip0', 3]]) });
  assert.equal(eligible(r, nodes[2], p), false);
  assert.equal(place([r], p).get('vip0'), 1);
  assert.equal(place([r], { ...p, online: new Set([3]) }).get('vip0'), 0);
});

test('migration threshold: a node whose fail count reached the threshold is not eligible', () => {
  const r = resource({ migrationThreshold: 2, stickiness: 100 });
  const below = placementInput(three, { holders: new Map([['vip0', 1]]), failCounts: new Map([[1, { vip0: 1 }]]) });
  assert.equal(eligible(r, three[0], below), true);
  assert.equal(place([r], below).get('vip0'), 1);
  const at = placementInput(three, { holders: new Map([['vip0', 1]]), failCounts: new Map([[1, { vip0: 2 }]]) });
  assert.equal(eligible(r, three[0], at), false);
  assert.equal(place([r], at).get('vip0'), 2);
  const over = placementInput(three, { failCounts: new Map([[1, { vip0: 5 }]]) });
  assert.equal(eligible(r, three[0], over), false);
});

test('migration threshold counts only failures of that resource', () => {
  const r = resource({ migrationThreshold: 1 });
  const p = placementInput(three, { failCounts: new Map([[1, { other: 9 }]]) });
  assert.equal(eligible(r, three[0], p), true);
});

test('migration threshold 0 never moves a resource because of failures', () => {
  const r = resource({ migrationThreshold: 0 });
  const p = placementInput(three, { holders: new Map([['vip0', 1]]), failCounts: new Map([[1, { vip0: 1000 }]]) });
  assert.equal(eligible(r, three[0], p), true);
  assert.equal(place([r], p).get('vip0'), 1);
});

test('a move constraint wins over stickiness and preference', () => {
  const r = resource({ stickiness: 100_000, prefers: { n1: 100_000 } });
  const p = placementInput(three, { holders: new Map([['vip0', 1]]), moves: new Map([['vip0', 3]]) });
  assert.equal(score(r, three[2], p), MOVE_SCORE);
  assert.equal(place([r], p).get('vip0'), 3);
});

test('a move constraint to an ineligible node is ignored', () => {
  const r = resource({ stickiness: 60 });
  const p = placementInput(three, { holders: new Map([['vip0', 2]]), moves: new Map([['vip0', 3]]), standby: new Set([3]) });
  assert.equal(place([r], p).get('vip0'), 2);
});

test('banned nodes are skipped when another node is eligible', () => {
  const r = resource({ prefers: { n1: 100 } });
  const p = placementInput(three, { banned: new Map([['vip0', new Set([1])]]) });
  assert.equal(eligible(r, three[0], p), false);
  assert.equal(eligible(r, three[0], p, false), true);
  assert.equal(place([r], p).get('vip0'), 2);
});

test('a banned node is chosen when it is the only eligible one', () => {
  const r = resource();
  const p = placementInput(three, { online: new Set([1, 2]), standby: new Set([2]), banned: new Map([['vip0', new Set([1])]]) });
  assert.equal(place([r], p).get('vip0'), 1);
});

test('when every eligible node is banned, the best of them is chosen', () => {
  const r = resource({ prefers: { n3: 5 } });
  const p = placementInput(three, { banned: new Map([['vip0', new Set([1, 2, 3])]]) });
  assert.equal(place([r], p).get('vip0'), 3);
});

test('a ban on one resource does not affect another', () => {
  const a = resource({ name: 'a' });
  const b = resource({ name: 'b' });
  const p = placementInput(three, { banned: new Map([['a', new Set([1])]]) });
  const out = place([a, b], p);
  assert.equal(out.get('a'), 2);
  assert.equal(out.get('b'), 1);
});

test('no eligible node places the resource nowhere (0)', () => {
  const r = resource();
  assert.equal(place([r], placementInput(three, { online: new Set() })).get('vip0'), 0);
  assert.equal(place([r], placementInput(three, { standby: new Set([1, 2, 3]) })).get('vip0'), 0);
  const failed = placementInput(three, { failCounts: new Map([[1, { vip0: 3 }], [2, { vip0: 3 }], [3, { vip0: 3 }]]) });
  assert.equal(place([r], failed).get('vip0'), 0);
});

test('negative preferences still allow a node when it is the only choice', () => {
  const r = resource({ prefers: { n1: -50 } });
  const p = placementInput(three, { online: new Set([1]) });
  assert.equal(place([r], p).get('vip0'), 1);
  assert.equal(place([r], placementInput(three)).get('vip0'), 2);
});

test('every resource gets an entry', () => {
  const rs = [resource({ name: 'a' }), resource({ name: 'b', prefers: { n3: 1 } })];
  const out = place(rs, placementInput(three));
  assert.deepEqual([...out], [['a', 1], ['b', 3]]);
});
