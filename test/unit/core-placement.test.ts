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

// ---------------------------------------------------------------- several VIPs: spread and colocation

const INF = 1_000_000;
const vips = (...over: Partial<import('../../src/config/types.ts').ResourceConfig>[]) =>
  over.map((o, i) => resource({ name: `vip${i}`, ip: `192.0.2.${150 + i}`, ...o }));

test('several VIPs with equal scores spread across the nodes (fewest resources first, then lowest id)', () => {
  const placed = place(vips({}, {}, {}), placementInput(three));
  assert.deepEqual([...placed.entries()].sort(), [['vip0', 1], ['vip1', 2], ['vip2', 3]]);
  // Four VIPs on three nodes: the fourth goes to the lowest id among the least loaded.
  const four = place(vips({}, {}, {}, {}), placementInput(three));
  assert.equal(four.get('vip3'), 1);
});

test('spreading does not move held VIPs (stickiness), and a returning node gets the next new one', () => {
  // n3 was down: vip0 and vip1 are on n1, vip2 on n2. n3 returns: nothing moves...
  const holders = new Map([['vip0', 1], ['vip1', 1], ['vip2', 2]]);
  const placed = place(vips({}, {}, {}), placementInput(three, { holders }));
  assert.deepEqual([vip(placed, 0), vip(placed, 1), vip(placed, 2)], [1, 1, 2]);
  // ...and a fourth VIP, not held yet, goes to the node with the fewest placed so far: n3.
  assert.equal(place(vips({}, {}, {}, {}), placementInput(three, { holders })).get('vip3'), 3);
  // With stickiness 0 they spread again, as Pacemaker rebalances without stickiness.
  const loose = place(vips({}, {}, {}), placementInput(three, { holders, defaultStickiness: 0 }));
  assert.equal(new Set(loose.values()).size, 3);
});
const vip = (m: Map<string, number>, i: number) => m.get(`vip${i}`);

test('avoid (the coordinator, in large clusters) only breaks ties, after load: scores, stickiness and spreading come first', () => {
  // A tie: n1 would win on id; avoided, the next lowest id wins.
  assert.equal(place([resource()], placementInput(three, { avoid: 1 })).get('vip0'), 2);
  assert.equal(place([resource()], placementInput(three, { avoid: 2 })).get('vip0'), 1);
  // A preference for the avoided node wins, and so does its stickiness.
  assert.equal(place([resource({ prefers: { n1: 10 } })], placementInput(three, { avoid: 1 })).get('vip0'), 1);
  assert.equal(place([resource()], placementInput(three, { avoid: 1, holders: new Map([['vip0', 1]]) })).get('vip0'), 1);
  // Spreading before avoiding: three VIPs on three nodes still go one to each node.
  const spread = place(vips({}, {}, {}), placementInput(three, { avoid: 1 }));
  assert.deepEqual([vip(spread, 0), vip(spread, 1), vip(spread, 2)], [2, 3, 1]);
  // The only eligible node is used even if avoided.
  assert.equal(place([resource()], placementInput(three, { avoid: 1, online: new Set([1]) })).get('vip0'), 1);
});

test('with stickiness 0 the placement does not depend on where VIPs are held (no feedback, no flapping)', () => {
  const rs = vips({}, { colocation: [{ with: 'vip0', score: -300 }] }, { colocation: [{ with: 'vip0', score: INF }] });
  const fresh = place(rs, placementInput(three, { defaultStickiness: 0 }));
  for (const holders of [new Map([['vip0', 1]]), new Map([['vip0', 3], ['vip1', 1]]), new Map([['vip1', 2], ['vip2', 3]])]) {
    assert.deepEqual(place(rs, placementInput(three, { holders, defaultStickiness: 0 })), fresh, JSON.stringify([...holders]));
  }
});

test('with: INFINITY keeps a VIP on the node of the one it names, wherever that goes', () => {
  const rs = vips({ colocation: [{ with: 'vip1', score: INF }] }, { prefers: { n3: 50 } });
  const placed = place(rs, placementInput(three));
  assert.equal(placed.get('vip1'), 3);
  assert.equal(placed.get('vip0'), 3, 'placed after vip1, on its node, although listed first');
  // n3 goes offline: both move together.
  const moved = place(rs, placementInput(three, { online: new Set([1, 2]), holders: new Map([['vip0', 3], ['vip1', 3]]) }));
  assert.equal(moved.get('vip1'), 1);
  assert.equal(moved.get('vip0'), 1);
});

test('with: INFINITY runs nowhere when the named VIP runs nowhere, or where the follower may not run', () => {
  const stopped = vips({ colocation: [{ with: 'vip1', score: INF }] }, { targetRole: 'stopped' });
  assert.equal(place(stopped, placementInput(three)).get('vip0'), 0);
  // vip0 has failed too often on n1 (threshold 3), where vip1 runs: vip0 stays stopped (Pacemaker: same).
  const rs = vips({ colocation: [{ with: 'vip1', score: INF }] }, { prefers: { n1: 50 } });
  const p = placementInput(three, { failCounts: new Map([[1, { vip0: 3 }]]) });
  assert.equal(place(rs, p).get('vip1'), 1);
  assert.equal(place(rs, p).get('vip0'), 0);
});

test('not_with: -INFINITY keeps two VIPs apart, and stops the follower when only one node is left', () => {
  const rs = vips({}, { colocation: [{ with: 'vip0', score: -INF }], prefers: { n1: 500 } });
  const placed = place(rs, placementInput(three));
  assert.equal(placed.get('vip0'), 1);
  assert.notEqual(placed.get('vip1'), 1, 'a preference does not beat -INFINITY');
  const alone = place(rs, placementInput(three, { online: new Set([2]) }));
  assert.equal(alone.get('vip0'), 2);
  assert.equal(alone.get('vip1'), 0);
});

test('finite colocation scores are preferences: -500 avoids the node unless nothing else is eligible; +200 beats stickiness 100', () => {
  const apart = vips({}, { colocation: [{ with: 'vip0', score: -500 }] });
  assert.notEqual(place(apart, placementInput(three)).get('vip1'), place(apart, placementInput(three)).get('vip0'));
  assert.equal(place(apart, placementInput(three, { online: new Set([2]) })).get('vip1'), 2, 'shares the last node');
  const together = vips({}, { colocation: [{ with: 'vip0', score: 200 }] });
  const p = placementInput(three, { holders: new Map([['vip0', 1], ['vip1', 2]]) });
  assert.equal(place(together, p).get('vip1'), 1, '200 on vip0\'s node beats stickiness 100 where it is');
});

test('placement order: the named VIP first, config order otherwise, and a cycle does not hang', async () => {
  const { placementOrder } = await import('../../src/core/placement.ts');
  const rs = vips({ colocation: [{ with: 'vip2', score: INF }] }, {}, { colocation: [{ with: 'vip1', score: -INF }] });
  assert.deepEqual(placementOrder(rs).map((r) => r.name), ['vip1', 'vip2', 'vip0']);
  const cyc = vips({ colocation: [{ with: 'vip1', score: INF }] }, { colocation: [{ with: 'vip0', score: INF }] });
  assert.deepEqual(placementOrder(cyc).map((r) => r.name).sort(), ['vip0', 'vip1']);
  assert.equal(place(cyc, placementInput(three)).size, 2);
});

test('a failover moves only what it must: the primary avoids the node of a held VIP that must avoid it', () => {
  // api (with ingress following) was on n1, dns (not_with api) is held on n2; n1 is lost.
  const rs = vips({}, { colocation: [{ with: 'vip0', score: INF }] }, { colocation: [{ with: 'vip0', score: -INF }] });
  const holders = new Map([['vip2', 2]]);
  const placed = place(rs, placementInput(three, { online: new Set([2, 3]), holders }));
  assert.deepEqual([vip(placed, 0), vip(placed, 1), vip(placed, 2)], [3, 3, 2], 'dns stays on n2');
  // With stickiness 0 dns has no claim to stay: the plain lowest-id choice, dns moves.
  const loose = place(rs, placementInput(three, { online: new Set([2, 3]), holders, defaultStickiness: 0 }));
  assert.deepEqual([vip(loose, 0), vip(loose, 2)], [2, 3]);
});
