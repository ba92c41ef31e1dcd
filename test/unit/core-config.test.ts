// The replicated cluster configuration (core/replica.ts) over the in-memory network: changes
// from any node go through the coordinator, need a majority, persist, survive restarts, and
// reach nodes that were down.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { net, settle, type Net } from './core-net.ts';

const change = (c: object): { op: 'config'; change: string } => ({ op: 'config', change: JSON.stringify(c) });
const epochs = (n: Net): number[] => [...n.up].sort().map((id) => n.core(id).status(n.now).config.epoch);
const resources = (n: Net, id: number): string[] => n.core(id).status(n.now).resources.map((r) => r.name).sort();

function formed(): Net {
  const n = net();
  settle(n);
  n.until(() => epochs(n).every((e) => e === 1), 3000, 'the file seeds epoch 1 everywhere');
  return n;
}

test('the cluster configuration is seeded from the file as epoch 1 when the cluster forms', () => {
  const n = formed();
  for (const id of [1, 2, 3]) {
    const c = n.core(id).status(n.now).config;
    assert.equal(c.source, 'cluster');
    assert.equal(c.digest, n.core(1).status(n.now).config.digest);
  }
});

test('a resource created on any node is committed, applied everywhere and started', () => {
  const n = formed();
  const r = n.commandAsync(3, change({ op: 'create', resource: { name: 'web', ip: '192.0.2.160', cidr_netmask: 32 } }));
  assert.equal(r.ok, true, r.message);
  assert.match(r.message, /created resource web \(configuration epoch 2\)/);
  n.run(200);
  assert.deepEqual(epochs(n), [2, 2, 2]);
  for (const id of [1, 2, 3]) assert.deepEqual(resources(n, id), ['vip0', 'web']);
  n.until(() => n.holders('web').length === 1, 5000, 'web started somewhere');
  n.assertSafe();
});

test('a bad change gets the file\'s error and changes nothing', () => {
  const n = formed();
  const bad = n.commandAsync(2, change({ op: 'create', resource: { name: 'web', ip: '192.0.2.300' } }));
  assert.equal(bad.ok, false);
  assert.match(bad.message, /resource web ip: .*192\.0\.2\.300/);
  const unknown = n.commandAsync(2, change({ op: 'create', resource: { name: 'web', ip: '192.0.2.160', colour: 'blue' } }));
  assert.equal(unknown.ok, false);
  assert.match(unknown.message, /colour/);
  const dup = n.commandAsync(1, change({ op: 'create', resource: { name: 'vip0', ip: '192.0.2.170' } }));
  assert.match(dup.message, /already exists/);
  const clash = n.commandAsync(1, change({ op: 'create', resource: { name: 'x', ip: '192.0.2.11' } }));
  assert.match(clash.message, /address of node n1/);
  assert.deepEqual(epochs(n), [1, 1, 1]);
});

test('update and delete: stickiness changes in place; a deleted VIP is released everywhere', () => {
  const n = formed();
  const h = n.holders()[0];
  const u = n.commandAsync(1, change({ op: 'update', name: 'vip0', set: { resource_stickiness: 60 } }));
  assert.equal(u.ok, true, u.message);
  n.run(100);
  assert.deepEqual(n.holders(), [h], 'an in-place update does not move the VIP');
  const d = n.commandAsync(2, change({ op: 'delete', name: 'vip0' }));
  assert.equal(d.ok, true, d.message);
  n.run(300);
  assert.deepEqual(n.holders(), []);
  for (const id of [1, 2, 3]) assert.deepEqual(resources(n, id), []);
  assert.equal(n.addr.get('vip0')?.size ?? 0, 0, 'the address is gone');
  n.assertSafe();
});

test('without quorum a change is refused and nothing is half-applied', () => {
  const n = formed();
  n.cut = (from, to) => from === 3 || to === 3;
  n.run(2000);
  const r = n.commandAsync(3, change({ op: 'defaults', set: { resource_stickiness: 5 } }));
  assert.equal(r.ok, false);
  assert.match(r.message, /quorum/);
  n.cut = () => false;
  n.run(1500);
  assert.deepEqual(epochs(n), [1, 1, 1]);
});

test('the configuration survives a restart of every node, and a node that was down catches up', () => {
  const n = formed();
  n.powerOff(3);
  assert.equal(n.commandAsync(1, change({ op: 'create', resource: { name: 'web', ip: '192.0.2.160' } })).ok, true);
  assert.equal(n.commandAsync(2, change({ op: 'property', set: { 'stonith-enabled': false } })).ok, true);
  // n3 comes back with its old disk: it catches up.
  n.start(3, 2, true);
  n.until(() => n.core(3).status(n.now).config.epoch === 3, 3000, 'n3 caught up');
  assert.deepEqual(resources(n, 3), ['vip0', 'web']);
  // Everyone restarts from disk.
  for (const id of [1, 2, 3]) n.powerOff(id);
  n.now += 5000;
  for (const id of [1, 2, 3]) n.start(id, 3, true);
  for (const id of [1, 2, 3]) assert.equal(n.core(id).status(n.now).config.epoch, 3, 'restored from disk at once');
  settle(n, 8000);
  n.run(500);
  assert.deepEqual(epochs(n), [3, 3, 3], 'no change lost, none made up');
  for (const id of [1, 2, 3]) assert.deepEqual(resources(n, id), ['vip0', 'web']);
});

test('a change committed just before the coordinator dies is kept by the next one', () => {
  const n = formed();
  const coord = n.coordinators()[0];
  const other = [1, 2, 3].find((id) => id !== coord)!;
  assert.equal(n.commandAsync(other, change({ op: 'defaults', set: { resource_stickiness: 7 } })).ok, true);
  n.powerOff(coord);
  n.until(() => n.coordinators().length === 1, 6000, 'a new coordinator');
  const r = n.commandAsync(other, change({ op: 'create', resource: { name: 'web', ip: '192.0.2.160' } }));
  assert.equal(r.ok, true, r.message);
  assert.match(r.message, /epoch 3/);
  const st = n.core(other).status(n.now);
  assert.equal(st.config.epoch, 3);
});

test('a node restarted without its state releases a VIP it learns of from the cluster, before it asks for it: its old incarnation may still have it up', () => {
  const n = formed();
  assert.equal(n.commandAsync(3, change({ op: 'create', resource: { name: 'web', ip: '192.0.2.160', cidr_netmask: 32 } })).ok, true);
  n.until(() => n.holders('web').length === 1, 5000, 'web started somewhere');
  // web on y, a node that is not the coordinator (its restart then leaves the coordinator in place).
  const coord = n.coordinators()[0];
  const y = [1, 2, 3].find((id) => id !== coord)!;
  const z = [1, 2, 3].find((id) => id !== coord && id !== y)!;
  assert.equal(n.command(coord, { op: 'move', resource: 'web', node: `n${y}` }).ok, true);
  n.until(() => n.holders('web')[0] === y, 5000, 'web on y');
  assert.equal(n.command(coord, { op: 'clear', resource: 'web' }).ok, true);
  // y's requests stop reaching z: z's promise to y runs out, y keeps web with the coordinator's vote.
  n.cut = (from, to) => from === y && to === z;
  n.run(n.core(y).timing.promiseMs + 200);
  assert.deepEqual(n.holders('web'), [y]);
  // y's daemon is killed: its address stays until the kernel lifetime runs out, at most a lease
  // after its last renewal. It is back 100 ms later without its state dir, so it knows only the
  // file's vip0 until the cluster sends it the configuration; then it asks for web (still placed
  // on it) and the coordinator hands it the promise it made to y's old incarnation.
  n.up.delete(y);
  const killedAt = n.now;
  n.run(100);
  n.start(y, 2);
  const restartAt = n.now;
  n.until(() => n.core(y).status(n.now).config.epoch === 2, 1000, 'y has the configuration');
  const released = n.effects('release', y).find((x) => x.t >= restartAt && x.e.resource === 'web');
  assert.ok(released, 'y releases web when it learns of it');
  // web moves to z while y is still acquiring it: y gives the promise back (`rel`), and z, whose
  // own promise to y ran out, can take web at once. y's old address must be gone by then.
  n.run(50);
  assert.equal(n.command(coord, { op: 'move', resource: 'web', node: `n${z}` }).ok, true);
  const leaseMs = n.core(y).timing.leaseMs;
  n.until(() => n.holders('web')[0] === z || n.now >= killedAt + leaseMs, 5000, 'web on z, or the old lease over');
  n.addr.get('web')?.delete(y); // the kernel lifetime ran out (at the latest)
  n.cut = () => false;
  n.until(() => n.holders('web')[0] === z, 5000, 'web on z');
  n.assertSafe();
});

test('two_node: the tie-breaker restarted without its state does not decide the configuration alone; it adopts the other node\'s once it hears it', () => {
  const n = net({ nodes: 2, twoNode: true });
  settle(n);
  n.until(() => epochs(n).every((e) => e === 1), 3000, 'the file seeds epoch 1 on both');
  assert.equal(n.commandAsync(2, change({ op: 'create', resource: { name: 'web', ip: '192.0.2.160', cidr_netmask: 32 } })).ok, true);
  n.until(() => epochs(n).every((e) => e === 2), 3000, 'epoch 2 on both');
  const digest = n.core(2).status(n.now).config.digest;
  // n1 (the tie-breaker, a quorum alone) is cut off, killed, and back without its state dir.
  n.cut = (from, to) => from !== to && (from === 1 || to === 1);
  n.up.delete(1);
  n.run(100);
  n.start(1, 2);
  n.until(() => n.coordinators().includes(1), 6000, 'n1 coordinator alone');
  n.run(2000);
  // Before the fix it seeded the file as epoch 1 under a reused term and committed this change
  // as epoch 2 as well: the same version as n2's with other content, never reconciled.
  assert.equal(n.core(1).status(n.now).config.epoch, 0, 'n1 keeps its file, proposes nothing');
  const r = n.commandAsync(1, change({ op: 'defaults', set: { resource_stickiness: 9 } }));
  assert.equal(r.ok, false);
  assert.match(r.message, /no saved cluster configuration and has not heard n2 yet.*nothing was changed/);
  const logged = n.effects('log', 1).find((x) => x.e.event === 'config_wait_for_all');
  assert.ok(logged, 'the wait is logged');
  assert.deepEqual(logged.e.fields.unheard, ['n2']);
  assert.deepEqual(n.core(1).status(n.now).config.waitingFor, ['n2'], 'and shown in status');
  n.cut = () => false;
  n.until(() => epochs(n).every((e) => e === 2) && n.core(1).status(n.now).config.digest === digest, 5000, 'n1 adopts n2\'s configuration');
  assert.deepEqual(resources(n, 1), ['vip0', 'web']);
  assert.equal(n.core(1).status(n.now).config.waitingFor, undefined);
  const ok = n.commandAsync(1, change({ op: 'defaults', set: { resource_stickiness: 9 } }));
  assert.equal(ok.ok, true, ok.message);
  n.assertSafe();
});

test('a majority restarted without its state re-uses a version the cut-off node holds with other content: the coordinator re-asserts its document and every node converges', () => {
  const n = formed();
  assert.equal(n.commandAsync(1, change({ op: 'defaults', set: { resource_stickiness: 7 } })).ok, true);
  n.until(() => epochs(n).every((e) => e === 2), 3000, 'epoch 2 everywhere');
  const ver = (id: number) => { const c = n.core(id).status(n.now).config; return `${c.epoch}/${c.term}`; };
  const old = ver(1);
  const oldDigest = n.core(1).status(n.now).config.digest;
  // n1 is cut off; n2 and n3 are killed and come back without their state dirs (no
  // persistence, as the simulator runs half its seeds). The two are a majority: they re-seed
  // the file as epoch 1 and commit another change as epoch 2, under a term they re-use.
  n.cut = (from, to) => from !== to && (from === 1 || to === 1);
  for (const id of [2, 3]) n.up.delete(id);
  n.run(100);
  for (const id of [2, 3]) n.start(id, 2);
  n.until(() => n.core(2).status(n.now).config.epoch === 1 && n.core(3).status(n.now).config.epoch === 1, 8000, 'n2 and n3 re-seeded');
  assert.equal(n.commandAsync(2, change({ op: 'defaults', set: { resource_stickiness: 9 } })).ok, true);
  n.until(() => ver(2) === old && ver(3) === old, 3000, 'n2 and n3 at the same version as n1');
  const newDigest = n.core(2).status(n.now).config.digest;
  assert.notEqual(newDigest, oldDigest, 'same version, other content');
  // Healed: before the fix the versions compared equal and nobody moved (simulator seed 32168).
  n.cut = () => false;
  n.until(() => new Set([1, 2, 3].map((id) => `${ver(id)}/${n.core(id).status(n.now).config.digest}`)).size === 1, 6000, 'one configuration everywhere');
  const coord = n.coordinators()[0]!;
  assert.equal(n.core(1).status(n.now).config.epoch, 3, 'at a version newer than both');
  assert.equal(n.core(1).status(n.now).config.digest, n.core(coord).status(n.now).config.digest);
  const logged = n.effects('log', coord).find((x) => x.e.event === 'config_diverged');
  assert.ok(logged, 'the coordinator says why it re-asserted its document');
  // Once converged the coordinator proposes nothing more.
  const epoch = n.core(coord).status(n.now).config.epoch;
  n.run(3000);
  assert.deepEqual(epochs(n), [epoch, epoch, epoch]);
  n.assertSafe();
});
