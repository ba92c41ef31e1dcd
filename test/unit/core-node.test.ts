// Drives a few Core instances by hand over a tiny deterministic in-memory network: every
// `send` is delivered at once (same clock for all nodes), time advances in 10 ms ticks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ANSWER_FIRST_FROM_NODES, Core, ROLES_APART_FROM_NODES } from '../../src/core/node.ts';
import type { Command, Effect } from '../../src/core/types.ts';
import { config } from './core-helpers.ts';
import { net, settle, TICK, type Net } from './core-net.ts';


const LEASE = 1350;
const HB = 100;

// ------------------------------------------------------------------ election and acquisition

test('startEffects release every configured VIP before anything else (a VIP from a previous run is not ours)', () => {
  const c = new Core({ config: config({ resources: [{}, {}] }), self: 1, incarnation: 1, seed: 1, now: 0 });
  const rel = c.startEffects().filter((e) => e.kind === 'release');
  assert.deepEqual(rel.map((e) => e.kind === 'release' && e.resource), ['vip0', 'vip1']);
});

test('a coordinator is elected only after the quiet period, then exactly one node holds the VIP', () => {
  const n = net();
  const promise = n.core(1).timing.promiseMs;
  const holder = settle(n);
  const elected = n.logs('coordinator_elected');
  assert.equal(elected.length, 1);
  assert.ok(elected[0].t >= promise, `elected at ${elected[0].t}, quiet period ${promise}`);
  assert.deepEqual(n.coordinators(), [1], 'the lowest id campaigns first');
  assert.equal(holder, 1, 'no preference: the lowest id');
  // Stays that way.
  n.run(3000);
  assert.deepEqual(n.holders(), [1]);
  assert.deepEqual(n.coordinators(), [1]);
  assert.equal(n.effects('acquire').length, 1, 'acquired once, then only refreshed');
  assert.ok(n.effects('refresh', 1).length > 0, 'the kernel lifetime is refreshed');
  n.assertSafe();
});

test('the acquire effect carries validLftSec 1 (lan) and a notAfter before the lease end', () => {
  const n = net();
  settle(n);
  const [acq] = n.effects('acquire');
  assert.equal(acq.e.validLftSec, 1);
  // The status taken in the same instant gives the lease end.
  const st = n.core(acq.node).status(acq.t);
  const remaining = st.resources[0].leaseRemainingMs!;
  const leaseEnd = acq.t + remaining;
  assert.ok(remaining > 0 && remaining <= LEASE);
  assert.ok(acq.e.notAfter < leaseEnd);
  assert.ok(acq.e.notAfter >= acq.t, 'the driver may apply it at once');
  assert.equal(acq.e.notAfter + acq.e.validLftSec! * 1000 + n.core(1).timing.kernelSlackMs, leaseEnd);
  assert.equal(acq.e.term, st.coordinator!.term);
});

test('every node agrees on the coordinator and the holder in its status', () => {
  const n = net();
  settle(n);
  n.run(300);
  for (const id of [1, 2, 3]) {
    const st = n.core(id).status(n.now);
    assert.equal(st.quorate, true);
    assert.equal(st.votes, 3);
    assert.equal(st.quorumVotes, 2);
    assert.equal(st.coordinator?.name, 'n1');
    assert.equal(st.resources[0].holder, 'n1');
    assert.equal(st.resources[0].assignedTo, 'n1');
    assert.equal(st.resources[0].state, 'started');
  }
});

test('prefers {n2: 50}: the VIP goes to n2', () => {
  const n = net({ resources: [{ prefers: { n2: 50 } }] });
  assert.equal(settle(n), 2);
  n.run(2000);
  assert.deepEqual(n.holders(), [2]);
  assert.deepEqual(n.effects('acquire').map((a) => a.node), [2]);
  n.assertSafe();
});

test('stickiness keeps the VIP on its holder when a preferred node joins later', () => {
  const n = net({ resources: [{ prefers: { n2: 50 } }], stickiness: 100 }, [1, 3]);
  assert.equal(settle(n), 1);
  n.run(500);
  n.start(2);
  n.run(5000);
  assert.deepEqual(n.holders(), [1]);
  assert.equal(n.core(2).status(n.now).resources[0].holder, 'n1');
  assert.equal(n.effects('acquire', 2).length, 0);
  assert.equal(n.effects('release', 1).length, 0, 'no release after start-up');
  n.assertSafe();
});

test('without stickiness the VIP moves to a preferred node that joins later', () => {
  const n = net({ resources: [{ prefers: { n2: 50 } }], stickiness: 0 }, [1, 3]);
  assert.equal(settle(n), 1);
  n.run(500);
  n.start(2);
  n.until(() => n.holders()[0] === 2, 5000, 'VIP on n2');
  n.assertSafe();
});

test('a coordinator places a VIP on a preferred node in the step that sees it come online', () => {
  // Not at the next periodic plan (every heartbeat/4): the peer coming online is what replans.
  const n = net({ resources: [{ prefers: { n2: 50 } }], stickiness: 0 }, [1, 3]);
  assert.equal(settle(n), 1);
  n.run(500);
  const from = n.now;
  n.start(2);
  n.until(() => n.holders()[0] === 2, 5000, 'VIP on n2');
  const up = n.logs('node_up', 1).filter((x) => x.t > from);
  const placed = n.effects('log', 1).filter((x) => x.t > from && x.e.event === 'placement' && x.e.fields.node === 'n2');
  assert.equal(up.length, 1);
  assert.equal(placed[0]?.t, up[0].t);
  n.assertSafe();
});

// ------------------------------------------------------------------ standby

test('standby on the holder moves the VIP; the old holder emits release before its rel send', () => {
  const n = net();
  assert.equal(settle(n), 1);
  n.run(200);
  const from = n.steps.length;
  const r = n.command(1, { op: 'standby', node: 'n1', on: true });
  assert.equal(r.ok, true);
  assert.match(r.message, /n1 is in standby/);
  n.until(() => n.holders().length === 1 && n.holders()[0] !== 1, 1000, 'VIP moved away from n1');
  assert.equal(n.holders()[0], 2);
  // The step of n1 that released the VIP: release comes before any rel for it.
  const step = n.steps.slice(from).find((s) => s.node === 1 && s.out.some((e) => e.kind === 'release' && e.resource === 'vip0'));
  assert.ok(step, 'n1 released vip0');
  const iRelease = step.out.findIndex((e) => e.kind === 'release' && e.resource === 'vip0');
  const iRel = step.out.findIndex((e) => e.kind === 'send' && e.msg.t === 'rel' && e.msg.keys.includes('r:vip0'));
  assert.ok(iRel >= 0, 'the release is announced in the same step');
  assert.ok(iRelease < iRel, `release at ${iRelease} must precede rel at ${iRel}`);
  // Every rel for the key from n1 comes after the release.
  step.out.forEach((e, i) => {
    if (e.kind === 'send' && e.msg.t === 'rel' && e.msg.keys.includes('r:vip0')) assert.ok(i > iRelease);
  });
  const st = n.core(3).status(n.now);
  assert.equal(st.nodes.find((x) => x.name === 'n1')!.state, 'standby');
  n.assertSafe();
});

test('a planned switchover (standby) is near-instant, far below the lease', () => {
  const n = net();
  settle(n);
  n.run(200);
  const t0 = n.now;
  n.command(3, { op: 'standby', node: 'n1', on: true }); // gossiped to the coordinator
  const t1 = n.until(() => n.holders().length === 1 && n.holders()[0] !== 1, 1000, 'VIP moved');
  assert.ok(t1 - t0 <= 3 * HB, `took ${t1 - t0} ms`);
  n.assertSafe();
});

test('standby off lets a node be chosen again; with stickiness the VIP stays where it is', () => {
  const n = net({ resources: [{ prefers: { n1: 50 } }] });
  settle(n);
  n.command(1, { op: 'standby', node: 'n1', on: true });
  n.until(() => n.holders()[0] === 2, 1000, 'moved to n2');
  n.command(1, { op: 'standby', node: 'n1', on: false });
  n.run(2000);
  assert.deepEqual(n.holders(), [2], 'stickiness 100 > preference 50');
  n.assertSafe();
});

// ------------------------------------------------------------------ monitor failures

test('a monitor failure below the threshold re-adds the address in place', () => {
  const n = net({ resources: [{ migrationThreshold: 2 }] });
  settle(n);
  n.run(200);
  // Right after a fresh grant (same instant as n1's last heartbeat round).
  n.until(() => lastRequestAt(n, 1) === n.now, 200, 'n1 just renewed');
  const out = n.input(1, { kind: 'monitor', resource: 'vip0', ok: false, reason: 'address missing' });
  const acq = out.find((e) => e.kind === 'acquire' && e.resource === 'vip0');
  assert.ok(acq && acq.kind === 'acquire', 'recover in place at once');
  assert.equal(acq.validLftSec, 1);
  n.run(2000);
  assert.deepEqual(n.holders(), [1]);
  assert.equal(n.core(1).status(n.now).resources[0].failCount, 1);
  assert.equal(n.core(2).status(n.now).resources[0].failCounts.n1, 1, 'gossiped to peers');
  n.assertSafe();
});

/** When node `id` last sent a lease request (a heartbeat with req). */
function lastRequestAt(n: Net, id: number): number {
  let t = -Infinity;
  for (const s of n.steps) {
    if (s.node === id && s.out.some((e) => e.kind === 'send' && e.msg.t === 'hb' && e.msg.req)) t = s.t;
  }
  return t;
}

test('a monitor failure when no whole-second lifetime fits re-adds the address at the next fresh grant', () => {
  const n = net({ resources: [{ migrationThreshold: 3 }] });
  settle(n);
  n.run(200);
  // lan: the lease leaves room for a 1 s kernel lifetime only ~50 ms after the request was sent.
  n.until(() => n.now - lastRequestAt(n, 1) >= 60 && n.now - lastRequestAt(n, 1) < HB, 300, 'late in a round');
  const t0 = n.now;
  const from = n.steps.length;
  const out = n.input(1, { kind: 'monitor', resource: 'vip0', ok: false, reason: 'address missing' });
  assert.ok(!out.some((e) => e.kind === 'acquire'), 'no lifetime fits now: not re-added in the monitor step');
  n.run(2 * HB);
  const readd = n.steps.slice(from).filter((s) => s.node === 1).flatMap((s) => s.out.filter((e) => e.kind === 'acquire').map((e) => ({ t: s.t, e })));
  assert.ok(readd.length >= 1, 're-added at the next fresh grant');
  assert.ok(readd[0].t - t0 <= HB, `re-added ${readd[0].t - t0} ms after the failure`);
  assert.ok(readd[0].e.kind === 'acquire' && readd[0].e.validLftSec === 1);
  assert.equal(readd.length, 1, 're-added once');
  assert.deepEqual(n.holders(), [1]);
  n.assertSafe();
});

test('answers that come too late for a kernel lifetime: the requester asks again at once, at most once a period', () => {
  const n = net();
  settle(n);
  n.run(500);
  assert.deepEqual(n.holders(), [1]);
  // Every answer to n1 takes 70 ms (lan leaves ~50 ms for a 1 s lifetime), then n1's address
  // lapses late in a round: it needs a fresh grant to re-add it, and none is fresh enough.
  n.until(() => n.now - lastRequestAt(n, 1) >= 60 && n.now - lastRequestAt(n, 1) < HB, 300, 'late in a round');
  n.delay = (_from, to, msg) => (to === 1 && (msg.t === 'grant' || (msg.t === 'hb' && msg.grant)) ? 70 : 0);
  const t0 = n.now;
  const from = n.steps.length;
  n.input(1, { kind: 'monitor', resource: 'vip0', ok: false, reason: 'address vanished from the interface', lapsed: true });
  n.run(1000);
  const asks = n.steps.slice(from).filter((s) => s.node === 1 && s.out.some((e) => e.kind === 'send' && e.msg.t === 'hb' && e.msg.req)).map((s) => s.t);
  const gaps = asks.slice(1).map((t, i) => t - asks[i]!);
  // Without the early ask every gap is a period (100 ms here); with it, one in two is the
  // round trip (70 ms) plus a tick.
  assert.ok(gaps.filter((g) => g < HB).length >= 3, `asked early after late answers: gaps ${gaps.join(',')}`);
  assert.ok(gaps.every((g) => g >= 70), `never before the answers came: gaps ${gaps.join(',')}`);
  for (let i = 1; i < gaps.length; i++) assert.ok(gaps[i - 1]! >= HB || gaps[i]! >= HB, `at most one early ask a period: gaps ${gaps.join(',')}`);
  assert.ok(n.effects('acquire', 1).every((x) => x.t < t0), 'no grant fresh enough: not re-added');
  // Answers fast again: re-added at the next round.
  n.delay = () => 0;
  n.run(2 * HB);
  assert.ok(n.effects('acquire', 1).some((x) => x.t > t0), 're-added');
  assert.deepEqual(n.holders(), [1]);
  n.assertSafe();
});

test('a holder whose answers come too late to refresh its kernel lifetime asks again at once, and reports the round trip', () => {
  const n = net();
  settle(n);
  n.run(500);
  assert.deepEqual(n.holders(), [1]);
  const budget = n.core(1).renewalBudgetMs();
  assert.equal(budget, LEASE - 300 - 1000);
  assert.ok(n.core(1).status(n.now).resources[0].renewalMs! <= TICK, 'answers at once: a round trip within a tick');
  // Every answer to n1 now takes 70 ms: no round leaves room for a 1 s lifetime.
  n.delay = (_from, to, msg) => (to === 1 && (msg.t === 'grant' || (msg.t === 'hb' && msg.grant)) ? 70 : 0);
  const from = n.steps.length;
  n.run(800);
  const asks = n.steps.slice(from).filter((s) => s.node === 1 && s.out.some((e) => e.kind === 'send' && e.msg.t === 'hb' && e.msg.req)).map((s) => s.t);
  const gaps = asks.slice(1).map((t, i) => t - asks[i]!);
  // A refresh is due every 400 ms; from then on each late majority brings the next request
  // forward (without this, every gap is a period: 100 ms here).
  assert.ok(gaps.some((g) => g < HB), `asked early for the refresh: gaps ${gaps.join(',')}`);
  for (let i = 1; i < gaps.length; i++) assert.ok(gaps[i - 1]! >= HB || gaps[i]! >= HB, `at most one early ask a period: gaps ${gaps.join(',')}`);
  const rt = n.core(1).status(n.now).resources[0].renewalMs!;
  assert.ok(rt >= 70 && rt <= 70 + TICK, `renewal round trip ${rt} ms`);
  assert.ok(rt > budget!, 'over the budget');
  // Fast again: the next refresh goes out, and the round trip says so.
  n.delay = () => 0;
  const t1 = n.now;
  n.run(2 * HB);
  assert.ok(n.effects('refresh', 1).some((x) => x.t > t1), 'refreshed');
  assert.ok(n.core(1).status(n.now).resources[0].renewalMs! <= TICK);
  assert.deepEqual(n.holders(), [1]);
  n.assertSafe();
});

test('a refresh the driver skipped (past its notAfter) is tried again at the next fresh grant, not a spacing later', () => {
  const n = net();
  settle(n);
  n.run(500);
  const spacing = n.core(1).timing.refreshEveryMs;
  assert.equal(spacing, 400);
  const before = n.effects('refresh', 1).length;
  n.until(() => n.effects('refresh', 1).length > before, 1000, 'a refresh');
  const t0 = n.now;
  const count = n.effects('refresh', 1).length;
  n.input(1, { kind: 'refresh-skipped', resource: 'vip0' });
  n.run(spacing / 2);
  // Grants in this net are instant, so the grant already in hand is fresh enough: at once.
  const again = n.effects('refresh', 1).slice(count);
  assert.equal(again.length, 1, 'refreshed again at the next fresh grant');
  assert.ok(again[0]!.t - t0 <= HB, `after ${again[0]!.t - t0} ms`);
  // An applied refresh keeps the spacing.
  n.run(spacing / 2 - 2 * TICK);
  assert.equal(n.effects('refresh', 1).length, count + 1);
  // A skip for a resource this node does not hold changes nothing.
  n.input(2, { kind: 'refresh-skipped', resource: 'vip0' });
  assert.deepEqual(n.holders(), [1]);
  n.assertSafe();
});

test('a lapsed address (kernel lifetime ran out: the daemon was late) is re-added and not counted as a failure', () => {
  const n = net({ resources: [{ migrationThreshold: 1 }] });
  settle(n);
  n.run(200);
  const from = n.steps.length;
  // Threshold 1: a counted failure would move the VIP at once. Lapses never do.
  for (let i = 0; i < 5; i++) {
    n.input(1, { kind: 'monitor', resource: 'vip0', ok: false, reason: 'address vanished from the interface', lapsed: true });
    n.run(500);
  }
  assert.deepEqual(n.holders(), [1], 'still on n1');
  assert.equal(n.core(1).status(n.now).resources[0].failCount, 0, 'no failure counted');
  assert.equal(n.core(1).lapses, 5);
  const mine = n.steps.slice(from).filter((s) => s.node === 1);
  const readds = mine.flatMap((s) => s.out.filter((e) => e.kind === 'acquire'));
  assert.ok(readds.length >= 5, `re-added after every lapse (${readds.length})`);
  const warns = mine.flatMap((s) => s.out.filter((e) => e.kind === 'log' && e.event === 'vip_lapsed'));
  assert.equal(warns.length, 1, 'warned once in 10 s (rate-limited)');
  // The same input without `lapsed` is a failure and, at threshold 1, moves the VIP.
  n.input(1, { kind: 'monitor', resource: 'vip0', ok: false, reason: 'address missing' });
  n.until(() => n.holders()[0] === 2, 1000, 'a real failure still moves it');
  n.assertSafe();
});

test('monitor failures reaching migration_threshold on the holder move the VIP', () => {
  const n = net({ resources: [{ migrationThreshold: 2 }] });
  settle(n);
  n.run(200);
  n.input(1, { kind: 'monitor', resource: 'vip0', ok: false });
  n.run(1000);
  assert.deepEqual(n.holders(), [1]);
  const t0 = n.now;
  n.input(1, { kind: 'monitor', resource: 'vip0', ok: false });
  const t1 = n.until(() => n.holders()[0] === 2, 1000, 'VIP moved to n2');
  assert.ok(t1 - t0 <= 3 * HB);
  assert.equal(n.core(1).status(n.now).resources[0].failCount, 2);
  n.run(3000);
  assert.deepEqual(n.holders(), [2], 'does not come back while the fail count stands');
  n.assertSafe();
});

test('monitor results for a resource the node does not hold are ignored', () => {
  const n = net({ resources: [{ migrationThreshold: 1 }] });
  settle(n);
  n.input(2, { kind: 'monitor', resource: 'vip0', ok: false });
  n.input(2, { kind: 'monitor', resource: 'nope', ok: false });
  n.run(500);
  assert.equal(n.core(2).status(n.now).resources[0].failCount, 0);
  assert.deepEqual(n.holders(), [1]);
});

test('with failure_timeout, old failures expire and the fail count drops', () => {
  const n = net({ resources: [{ migrationThreshold: 2, failureTimeoutMs: 2000 }] });
  settle(n);
  n.input(1, { kind: 'monitor', resource: 'vip0', ok: false });
  const t0 = n.now;
  assert.equal(n.core(1).status(n.now).resources[0].failCount, 1);
  n.run(1900);
  assert.equal(n.core(1).status(n.now).resources[0].failCount, 1);
  n.until(() => n.now >= t0 + 2000, 200, 'time passes');
  assert.equal(n.core(1).status(n.now).resources[0].failCount, 0);
  n.run(300);
  assert.equal(n.core(2).status(n.now).resources[0].failCounts.n1 ?? 0, 0, 'peers hear the lower count');
  // A new failure now counts 1, not 2: the VIP stays.
  n.input(1, { kind: 'monitor', resource: 'vip0', ok: false });
  assert.equal(n.core(1).status(n.now).resources[0].failCount, 1);
  n.run(1000);
  assert.deepEqual(n.holders(), [1]);
  n.assertSafe();
});

test('cleanup resets fail counts on every node (after gossip)', () => {
  const n = net({ resources: [{ migrationThreshold: 2 }] });
  settle(n);
  n.input(1, { kind: 'monitor', resource: 'vip0', ok: false });
  n.input(1, { kind: 'monitor', resource: 'vip0', ok: false });
  n.until(() => n.holders()[0] === 2, 1000, 'moved to n2');
  n.run(200);
  n.input(2, { kind: 'monitor', resource: 'vip0', ok: false });
  n.run(300);
  assert.deepEqual(n.core(3).status(n.now).resources[0].failCounts, { n1: 2, n2: 1, n3: 0 });
  const r = n.command(3, { op: 'cleanup', resource: 'vip0' });
  assert.equal(r.ok, true);
  assert.ok(r.out.some((e) => e.kind === 'persist'), 'the cleanup generation is persisted');
  n.run(500);
  for (const id of [1, 2, 3]) {
    const res = n.core(id).status(n.now).resources[0];
    assert.equal(res.failCount, 0, `n${id} own count`);
    assert.deepEqual(Object.values(res.failCounts).filter((v) => v !== 0), [], `n${id} view: ${JSON.stringify(res.failCounts)}`);
  }
  // n1 may hold it again: two new failures on n2 move it back.
  n.input(2, { kind: 'monitor', resource: 'vip0', ok: false });
  n.input(2, { kind: 'monitor', resource: 'vip0', ok: false });
  n.until(() => n.holders()[0] === 1, 1000, 'moved back to n1 after cleanup');
  n.assertSafe();
});

// ------------------------------------------------------------------ losing the majority

test('a holder cut off from its peers releases within leaseMs, reports no quorum, and nobody acquires before that', () => {
  const n = net();
  assert.equal(settle(n), 1);
  n.run(500);
  const tCut = n.now;
  n.cut = (from, to) => from === 1 || to === 1;
  n.until(() => !n.core(1).holding('vip0'), LEASE + 2 * TICK, 'n1 released');
  const released = n.effects('release', 1).filter((r) => r.t >= tCut);
  assert.equal(released.length, 1);
  assert.ok(released[0].t - tCut <= LEASE, `released ${released[0].t - tCut} ms after the cut`);
  n.until(() => n.holders().length === 1, 5000, 'another node took over');
  const taken = n.effects('acquire').filter((a) => a.t >= tCut);
  assert.equal(taken.length, 1);
  assert.notEqual(taken[0].node, 1);
  assert.ok(taken[0].t > released[0].t, `acquired at ${taken[0].t}, released at ${released[0].t}`);
  n.run(2000);
  const st = n.core(1).status(n.now);
  assert.equal(st.quorate, false);
  assert.equal(st.votes, 1);
  assert.equal(n.core(1).isCoordinator(), false);
  assert.equal(n.core(1).holding('vip0'), false);
  assert.equal(n.core(2).status(n.now).quorate, true);
  assert.equal(n.effects('acquire', 1).filter((a) => a.t > tCut).length, 0, 'the minority never re-acquires');
  n.assertSafe();
});

test('after the partition heals, there is still one holder and one coordinator', () => {
  const n = net();
  settle(n);
  n.cut = (from, to) => from === 1 || to === 1;
  n.run(5000);
  n.cut = () => false;
  n.run(3000);
  assert.equal(n.holders().length, 1);
  assert.equal(n.coordinators().length, 1);
  n.assertSafe();
});

// ------------------------------------------------------------------ shutdown

test('shutdown: release for held VIPs, then rel and leave sends', () => {
  const n = net();
  assert.equal(settle(n), 1);
  n.run(300);
  const out = n.core(1).step({ kind: 'shutdown' }, n.now);
  const kinds = out.map((e) => (e.kind === 'send' ? `send:${e.msg.t}` : e.kind));
  const iRelease = kinds.indexOf('release');
  assert.ok(iRelease >= 0, 'releases the VIP');
  const firstSend = kinds.findIndex((k) => k.startsWith('send:'));
  assert.ok(iRelease < firstSend, `release must come before any send: ${kinds.join(' ')}`);
  for (const peer of [2, 3]) {
    const sends = out.filter((e) => e.kind === 'send' && e.to === peer).map((e) => (e.kind === 'send' ? e.msg : null)!);
    assert.deepEqual(sends.map((m) => m.t), ['rel', 'leave'], `to n${peer}`);
    const rel = sends[0];
    assert.ok(rel.t === 'rel' && rel.keys.includes('r:vip0') && rel.keys.includes('coord'));
  }
  assert.equal(n.core(1).holding('vip0'), false);
  assert.equal(n.core(1).isCoordinator(), false);
  assert.equal(n.core(1).nextWakeup(), Infinity);
});

test('after a shutdown, peers acquire within a few heartbeats (much less than the lease)', () => {
  const n = net();
  assert.equal(settle(n), 1);
  n.run(300);
  const t0 = n.now;
  n.input(1, { kind: 'shutdown' });
  n.up.delete(1); // the driver exits
  const t1 = n.until(() => n.holders().length === 1, LEASE, 'a peer took over');
  assert.ok(t1 - t0 <= 3 * HB, `took ${t1 - t0} ms`);
  assert.ok(t1 - t0 < LEASE / 2);
  assert.equal(n.coordinators().length, 1);
  n.assertSafe();
});

// ------------------------------------------------------------------ commands

test('commands without quorum are refused with a clear message and change nothing', () => {
  const n = net({}, [1]);
  n.run(1500);
  assert.equal(n.core(1).status(n.now).quorate, false);
  for (const cmd of [
    { op: 'standby', node: 'n2', on: true },
    { op: 'move', resource: 'vip0', node: 'n2' },
    { op: 'clear', resource: 'vip0' },
    { op: 'cleanup', resource: 'vip0' },
  ] as Command[]) {
    const r = n.command(1, cmd);
    assert.equal(r.ok, false, cmd.op);
    assert.match(r.message, /quorum/);
    assert.ok(!r.out.some((e) => e.kind === 'persist'), 'nothing persisted');
  }
  assert.deepEqual(n.core(1).status(n.now).attrs, {});
  assert.deepEqual(n.holders(), [], 'a lone node of three never holds the VIP');
});

test('an unknown node name is refused and the message lists the valid names', () => {
  const n = net();
  settle(n);
  for (const cmd of [
    { op: 'standby', node: 'n9', on: true },
    { op: 'move', resource: 'vip0', node: 'n9' },
  ] as Command[]) {
    const r = n.command(2, cmd);
    assert.equal(r.ok, false);
    assert.match(r.message, /n9/);
    assert.match(r.message, /n1, n2, n3/);
    assert.ok(!r.out.some((e) => e.kind === 'persist'));
  }
  assert.deepEqual(n.core(2).status(n.now).attrs, {});
});

test('an unknown resource name is refused and the message lists the valid names', () => {
  const n = net({ resources: [{}, {}] });
  n.until(() => n.core(1).status(n.now).quorate, 2000, 'quorum');
  for (const cmd of [
    { op: 'move', resource: 'web', node: 'n2' },
    { op: 'clear', resource: 'web' },
    { op: 'cleanup', resource: 'web' },
  ] as Command[]) {
    const r = n.command(1, cmd);
    assert.equal(r.ok, false, cmd.op);
    assert.match(r.message, /"web"/);
    assert.match(r.message, /vip0, vip1/);
  }
  assert.deepEqual(n.core(1).status(n.now).attrs, {});
});

test('move puts the VIP on the target despite stickiness; clear removes the constraint', () => {
  const n = net();
  assert.equal(settle(n), 1);
  const r = n.command(2, { op: 'move', resource: 'vip0', node: 'n3' });
  assert.equal(r.ok, true);
  n.until(() => n.holders()[0] === 3, 1000, 'moved to n3');
  assert.equal(n.command(2, { op: 'clear', resource: 'vip0' }).ok, true);
  n.run(2000);
  assert.deepEqual(n.holders(), [3], 'stays by stickiness');
  n.assertSafe();
});

// ------------------------------------------------------------------ two_node

test('two_node: the tie-breaker alone keeps quorum and the VIP, the other alone does not', () => {
  const n = net({ nodes: 2, twoNode: true });
  assert.equal(settle(n), 1);
  const tCut = n.now;
  n.cut = () => true;
  n.run(4000);
  assert.equal(n.core(1).status(n.now).quorate, true);
  assert.equal(n.core(2).status(n.now).quorate, false);
  assert.deepEqual(n.holders(), [1]);
  assert.deepEqual(n.coordinators(), [1]);
  assert.equal(n.effects('acquire', 2).length, 0);
  assert.equal(n.effects('release', 1).filter((r) => r.t >= tCut).length, 0, 'n1 never dropped it');
  n.assertSafe();
});

test('two_node: a VIP on the non-tie-breaker is released on a split and taken by the tie-breaker afterwards', () => {
  const n = net({ nodes: 2, twoNode: true, resources: [{ prefers: { n2: 50 } }] });
  assert.equal(settle(n), 2);
  const tCut = n.now;
  n.cut = () => true;
  n.until(() => n.holders()[0] === 1, 4000, 'n1 took over');
  const rel = n.effects('release', 2).filter((r) => r.t >= tCut);
  const acq = n.effects('acquire', 1).filter((a) => a.t >= tCut);
  assert.equal(rel.length, 1);
  assert.ok(rel[0].t - tCut <= LEASE);
  assert.ok(acq[0].t > rel[0].t);
  n.assertSafe();
});

test('two_node: the non-tie-breaker started alone never gets quorum nor the VIP', () => {
  const n = net({ nodes: 2, twoNode: true }, [2]);
  n.run(4000);
  assert.equal(n.core(2).status(n.now).quorate, false);
  assert.deepEqual(n.holders(), []);
  assert.deepEqual(n.coordinators(), []);
});

test('two_node: the tie-breaker started alone gets quorum and the VIP', () => {
  const n = net({ nodes: 2, twoNode: true }, [1]);
  assert.equal(settle(n), 1);
  assert.equal(n.core(1).status(n.now).quorate, true);
});

// ------------------------------------------------------------------ witness

test('a witness never holds a resource, even when preferred', () => {
  const n = net({ roles: ['member', 'member', 'witness'], resources: [{ prefers: { n3: 1000 } }] });
  settle(n);
  assert.notEqual(n.holders()[0], 3);
  // Take both members out of the running: the VIP goes nowhere rather than to the witness.
  n.command(3, { op: 'standby', node: 'n1', on: true });
  n.command(3, { op: 'standby', node: 'n2', on: true });
  n.run(3000);
  assert.deepEqual(n.holders(), []);
  assert.equal(n.core(3).status(n.now).resources[0].state, 'stopped');
  assert.equal(n.effects('acquire', 3).length, 0);
  const move = n.command(1, { op: 'move', resource: 'vip0', node: 'n3' });
  assert.equal(move.ok, false);
  assert.match(move.message, /witness/);
  n.assertSafe();
});

test("a witness's vote keeps a member quorate", () => {
  const n = net({ roles: ['member', 'member', 'witness'] });
  assert.equal(settle(n), 1);
  n.cut = (from, to) => from === 1 || to === 1;
  n.until(() => n.holders()[0] === 2, 5000, 'n2 took over with the witness vote');
  assert.equal(n.core(2).status(n.now).quorate, true);
  assert.equal(n.effects('acquire', 3).length, 0);
  n.assertSafe();
});

// ------------------------------------------------------------------ more rules

test('expected_votes above the node count: two of three nodes are not enough', () => {
  const n = net({ expectedVotes: 5 }, [1, 2]);
  n.run(4000);
  const st = n.core(1).status(n.now);
  assert.equal(st.quorate, false);
  assert.equal(st.quorumVotes, 3);
  assert.deepEqual(n.holders(), []);
  n.start(3);
  settle(n, 4000);
});

test('shutdown of a holder that is not the coordinator: the VIP moves within a few heartbeats', () => {
  const n = net({ resources: [{ prefers: { n2: 50 } }] });
  assert.equal(settle(n), 2);
  assert.deepEqual(n.coordinators(), [1]);
  n.run(300);
  const t0 = n.now;
  n.input(2, { kind: 'shutdown' });
  n.up.delete(2);
  const t1 = n.until(() => n.holders().length === 1, LEASE, 'a peer took over');
  assert.ok(t1 - t0 <= 3 * HB, `took ${t1 - t0} ms`);
  n.assertSafe();
});

test('without fencing, a dead holder is taken over only after its promise ran out', () => {
  const n = net();
  assert.equal(settle(n), 1);
  n.run(300);
  const t0 = n.now;
  n.powerOff(1);
  const t1 = n.until(() => n.holders().length === 1, 5000, 'a peer took over');
  const d = n.core(2).timing;
  assert.ok(t1 - t0 >= d.promiseMs - HB, `took ${t1 - t0} ms`);
  assert.ok(t1 - t0 <= d.promiseMs + 3 * HB, `took ${t1 - t0} ms`);
  n.assertSafe();
});

test("a candidate whose own promise to the dead holder outlasts its peer's retries when its own runs out, not a heartbeat later", () => {
  const n = net();
  assert.equal(settle(n), 1);
  n.run(300);
  assert.deepEqual(n.coordinators(), [1]);
  // n1's next renewal reaches n3 at once and n2 30 ms late (n2 heard it last), then n1 dies:
  // n2's own promise to n1 ends 30 ms after n3's.
  n.cut = (from, to) => from === 1 && to === 2;
  const mark = n.steps.length;
  const renewal = () =>
    n.steps
      .slice(mark)
      .flatMap((s) => (s.node === 1 ? s.out : []))
      .find((e): e is Extract<Effect, { kind: 'send' }> => e.kind === 'send' && e.to === 2 && e.msg.t === 'hb' && !!e.msg.req);
  n.until(() => renewal() !== undefined, 1000, 'n1 sends a renewal');
  const late = structuredClone(renewal()!.msg);
  n.powerOff(1);
  n.cut = () => false;
  n.run(30);
  n.input(2, { kind: 'message', msg: late });
  const ownEnd = n.now + n.core(2).timing.promiseMs;
  const elected = n.until(() => n.coordinators().length === 1, 5000, 'a new coordinator');
  assert.deepEqual(n.coordinators(), [2]);
  // Not before its own promise ends (it needs its own vote: 2 of 3), and at the first tick after:
  // retrying only at n3's end found its own vote still promised, and the next try came a
  // heartbeat later (+HB).
  assert.ok(elected >= ownEnd, `elected at ${elected}, own promise ends ${ownEnd}`);
  assert.ok(elected <= ownEnd + 2 * TICK, `elected ${elected - ownEnd} ms after its own promise ended`);
  const held = n.until(() => n.holders().length === 1, 1000, 'a new holder');
  assert.deepEqual(n.holders(), [2]);
  assert.ok(held <= ownEnd + 3 * TICK, `holds ${held - ownEnd} ms after its own promise ended`);
  n.assertSafe();
});

test('a campaign that learns of a newer term before it wins takes office above that term (else nobody follows it and it never steps down)', () => {
  const n = net();
  assert.equal(settle(n), 1);
  n.run(300);
  n.powerOff(1);
  const mark = n.steps.length;
  const sent = (from: number, pred: (m: Extract<Effect, { kind: 'send' }>['msg']) => boolean) =>
    n.steps.slice(mark).flatMap((s) => (s.node === from ? s.out : [])).filter((e): e is Extract<Effect, { kind: 'send' }> => e.kind === 'send' && pred(e.msg));
  n.until(() => sent(2, (m) => m.t === 'hb' && !!m.req?.keys.includes('coord')).length > 0, 5000, 'n2 campaigns');
  assert.deepEqual(n.coordinators(), [], 'denied until the promises to n1 run out');
  // It hears of term 7 (a coordinator it never saw) after the last denial, just before its retry
  // is granted: no denial carries the new term back to it. (A denial does: its campaign then
  // moves above that term, which the peers' answers already handled.)
  const retryAt = (n.core(2) as unknown as { coordRetryAt: number }).coordRetryAt;
  assert.ok(retryAt > n.now, 'a retry is scheduled for when the promise runs out');
  while (n.now + TICK < retryAt) n.tick();
  const hb = structuredClone(sent(3, (m) => m.t === 'hb').at(-1)!.msg);
  assert.equal(hb.t, 'hb');
  if (hb.t === 'hb') hb.term = 7;
  n.input(2, { kind: 'message', msg: hb });
  n.until(() => n.coordinators().length === 1, 5000, 'a coordinator');
  assert.deepEqual(n.coordinators(), [2]);
  const c = n.core(2).status(n.now).coordinator!;
  assert.ok(c.term > 7, `n2 took office at term ${c.term}, knowing term 7`);
  n.run(500);
  assert.equal(n.core(3).status(n.now).coordinator?.id, 2, 'n3 follows it');
  n.assertSafe();
});

test('a denial that only carries our own campaign term back (the peer is still bound to the dead coordinator) does not move the campaign to a higher term', () => {
  // 5 nodes: the coordinator n1's renewals reach n3 and n4 150 ms late, so their promises to it
  // run out 150 ms after n5's. n2 campaigns, n5 grants (its answer carries term T+1 back, so n2's
  // heartbeats carry T+1 from then on), and n2's next heartbeat reaches n3 and n4 while they are
  // still bound: they deny, with the term they just learned from n2. That is not a competing vote.
  const n = net({ nodes: 5 });
  assert.equal(settle(n), 1);
  n.run(500);
  const t0 = n.core(1).status(n.now).coordinator!.term;
  n.delay = (from, to) => (from === 1 && (to === 3 || to === 4) ? 150 : 0);
  n.run(500);
  n.powerOff(1);
  n.until(() => n.coordinators().length === 1, 5000, 'a new coordinator');
  assert.deepEqual(n.coordinators(), [2]);
  // Persisting each new term costs every node an fsync, at the moment the VIP's successor needs
  // their answers fastest; a term higher than needed costs a second one.
  assert.equal(n.core(2).status(n.now).coordinator!.term, t0 + 1, 'the next term, not one above it');
  n.assertSafe();
});

test('fenceWaitMs lengthens the start-up quiet period', () => {
  const cfg = config();
  const quiet = (fenceWaitMs?: number) => {
    const c = new Core({ config: cfg, self: 1, incarnation: 1, seed: 1, now: 0, fenceWaitMs });
    const log = c.startEffects().find((e) => e.kind === 'log' && e.event === 'node_started');
    assert.ok(log && log.kind === 'log');
    return log.fields.quietMs;
  };
  assert.equal(quiet(), 1379);
  assert.equal(quiet(5000), 6379);
});

test('a node whose loop stalled distrusts itself and says so', () => {
  const c = new Core({ config: config(), self: 1, incarnation: 1, seed: 1, now: 0 });
  c.step({ kind: 'tick' }, 0);
  c.step({ kind: 'tick' }, 400);
  assert.equal(c.status(400).distrustingSelf, false, 'a gap of 400 ms is no stall (node timeout 1000)');
  const out = c.step({ kind: 'tick' }, 1000);
  assert.ok(out.some((e) => e.kind === 'log' && e.event === 'local_stall'));
  assert.equal(c.status(1000).distrustingSelf, true);
  assert.equal(c.status(2000).distrustingSelf, false, 'for one node timeout');
});

test('a node stepped only at nextWakeup() releases a cut-off VIP exactly releaseApplyMs before the lease end', () => {
  const n = net();
  n.runByWakeup(2000);
  assert.deepEqual(n.holders(), [1]);
  n.cut = (from, to) => from === 1 || to === 1;
  const leaseEnd = n.now + n.core(1).status(n.now).resources[0].leaseRemainingMs!;
  n.runByWakeup(3000);
  const rel = n.effects('release', 1).filter((r) => r.t > 0);
  assert.equal(rel.length, 1);
  assert.equal(rel[0].t, leaseEnd - n.core(1).timing.releaseMarginMs);
  assert.deepEqual(n.holders(), [2]);
  n.assertSafe();
});

test('persisted attributes survive a restart (a node in standby stays in standby)', () => {
  const n = net();
  settle(n);
  const r = n.command(2, { op: 'standby', node: 'n1', on: true });
  const saved = r.out.find((e) => e.kind === 'persist');
  assert.ok(saved && saved.kind === 'persist');
  const c = new Core({ config: n.cfg, self: 2, incarnation: 2, seed: 1, now: 0, persisted: saved.state });
  assert.equal(c.status(0).attrs['standby:n1']?.v, true);
  assert.equal(c.status(0).nodes[0].state, 'offline');
});

test('a restarted node grants nothing in its quiet period: a lease that relied on its forgotten promise stays exclusive', () => {
  // n1 and n3 never hear each other, so n1's lease rests on its own grant and n2's.
  const n1n3 = (from: number, to: number) => (from === 1 && to === 3) || (from === 3 && to === 1);
  const n = net();
  n.cut = n1n3;
  assert.equal(settle(n), 1);
  n.run(300);
  // n2 crashes and restarts at once (forgetting its promises), and n1 is now cut off from n2 too.
  n.cut = (from, to) => n1n3(from, to) || from === 1 || to === 1;
  n.start(2, 2);
  n.run(4000);
  n.assertSafe();
  const rel = n.effects('release', 1).filter((r) => r.t > 0);
  assert.equal(rel.length, 1, 'n1 released when its lease ran out');
  assert.equal(n.holders().length, 1, 'and n2 or n3 took over');
  assert.ok(n.effects('acquire').filter((a) => a.node !== 1).every((a) => a.t > rel[0].t));
});

// ------------------------------------------------------------------ lease answers in heartbeats

/** Messages node `from` sent to node `to` in steps [since, now). */
function sentTo(n: Net, since: number, from: number, to: number) {
  return n.steps
    .slice(since)
    .filter((s) => s.node === from)
    .flatMap((s) => s.out)
    .flatMap((e) => (e.kind === 'send' && e.to === to ? [e.msg] : []));
}

test('a lease answer rides in the heartbeat to the requester: one datagram per peer per round, and the lease stays renewed', () => {
  const n = net();
  const holder = settle(n);
  n.runByWakeup(1000);
  const since = n.steps.length;
  n.runByWakeup(3000);
  for (const peer of [2, 3].filter((p) => p !== holder)) {
    const msgs = sentTo(n, since, peer, holder);
    const inHb = msgs.filter((m) => m.t === 'hb' && m.grant).length;
    const alone = msgs.filter((m) => m.t === 'grant').length;
    const hbs = msgs.filter((m) => m.t === 'hb').length;
    const reqs = sentTo(n, since, holder, peer).filter((m) => m.t === 'hb' && m.req).length;
    assert.ok(reqs >= 25, `holder asked ${reqs} times in 3 s`);
    assert.ok(inHb + alone >= reqs - 1, `n${peer} answered ${inHb + alone} of ${reqs} requests`);
    assert.ok(inHb >= reqs - 2, `n${peer}: ${inHb} answers in heartbeats, ${alone} alone, of ${reqs}`);
    assert.ok(hbs <= reqs + 1, `n${peer} sent ${hbs} heartbeats for ${reqs} rounds: no extra ones`);
    // Third parties get the plain heartbeat.
    const other = [1, 2, 3].find((x) => x !== holder && x !== peer)!;
    assert.ok(!sentTo(n, since, peer, other).some((m) => m.t === 'hb' && m.grant));
  }
  assert.deepEqual(n.holders(), [holder]);
  assert.equal(n.effects('release').filter((x) => x.t > 0 && x.e.reason !== 'start-up: not holding a lease yet').length, 0, 'never released');
  n.assertSafe();
});

test('two requesters: the second locks its rounds to the first (it answers in its heartbeat, which carries its own request)', () => {
  // n3 starts half a period later, so its own heartbeats began at another phase.
  const n = net({ resources: [{ prefers: { n1: 50 } }, { prefers: { n3: 50 } }] }, [1, 2]);
  n.runByWakeup(HB / 2);
  n.start(3);
  n.until(() => n.holders('vip0').length === 1 && n.holders('vip1').length === 1, 6000, 'both VIPs held');
  assert.deepEqual([n.holders('vip0'), n.holders('vip1')], [[1], [3]]);
  n.runByWakeup(1000);
  const since = n.steps.length;
  n.runByWakeup(3000);
  for (const [req, ans] of [[1, 2], [1, 3], [3, 2]] as const) {
    const asked = sentTo(n, since, req, ans).filter((m) => m.t === 'hb' && m.req).length;
    const answered = sentTo(n, since, ans, req).filter((m) => m.t === 'grant' || (m.t === 'hb' && m.grant)).length;
    assert.ok(asked >= 25 && answered >= asked - 1, `n${ans} answered ${answered} of n${req}'s ${asked} requests`);
  }
  for (const [from, to] of [[2, 1], [2, 3], [3, 1]] as const) {
    const hbs = sentTo(n, since, from, to).filter((m) => m.t === 'hb').length;
    assert.ok(hbs <= 31, `n${from} sent ${hbs} heartbeats to n${to} in 3 s (30 rounds)`);
  }
  assert.ok(sentTo(n, since, 3, 1).filter((m) => m.t === 'hb' && m.req && m.grant).length >= 25, 'n3 answers n1 and asks in one heartbeat');
  n.assertSafe();
});

test('a request soon after our own heartbeat is answered in a heartbeat to the requester alone; one 3/4 of a period after it, in an early round', () => {
  const n = net();
  const holder = settle(n);
  n.runByWakeup(1000);
  const peer = holder === 2 ? 3 : 2;
  const lastHb = (id: number) => n.steps.filter((s) => s.node === id && s.out.some((e) => e.kind === 'send' && e.msg.t === 'hb')).at(-1)!.t;
  const hb = sentTo(n, 0, holder, peer).filter((m) => m.t === 'hb' && m.req).at(-1)!;
  assert.ok(hb.t === 'hb' && hb.req);
  const other = [1, 2, 3].find((x) => x !== holder && x !== peer)!;
  let toOther: string[] = [];
  const ask = (at: number, round: number) => {
    n.now = at;
    const out = n.input(peer, { kind: 'message', msg: { ...hb, req: { ...hb.req!, round } } });
    toOther = out.flatMap((e) => (e.kind === 'send' && e.to === other ? [e.msg.t] : []));
    return out.flatMap((e) => (e.kind === 'send' && e.to === holder ? [e.msg] : []));
  };
  const round0 = lastHb(peer);
  const soon = ask(round0 + 0.1 * HB, hb.req!.round + 1);
  assert.deepEqual(soon.map((m) => m.t), ['hb'], 'one datagram to the requester: a heartbeat');
  assert.ok(soon[0]!.t === 'hb' && soon[0]!.grant?.round === hb.req!.round + 1, 'carrying the answer');
  assert.deepEqual(toOther, [], 'no early round: the other peer gets nothing');
  // Its round waits for the requester's next request (due a period after this one), so that
  // it rides in it: the two timers do not stay in a race.
  assert.equal(n.core(peer).nextWakeup(), round0 + 0.1 * HB + 1.25 * HB);
  ask(round0 + 0.5 * HB, hb.req!.round + 2);
  assert.equal(n.core(peer).nextWakeup(), round0 + 1.5 * HB, 'never more than 1.5 periods after its own');
  const later = ask(round0 + 0.75 * HB, hb.req!.round + 3);
  assert.deepEqual(later.map((m) => m.t), ['hb']);
  assert.ok(later[0]!.t === 'hb' && later[0]!.grant?.round === hb.req!.round + 3, 'the heartbeat carries the answer');
  assert.deepEqual(toOther, ['hb'], 'an early round: the other peer gets its heartbeat too');
});

test(`from ${ANSWER_FIRST_FROM_NODES} nodes a node that only answers sends the answer first, alone, and its round a tenth of a period later`, () => {
  const n = net({ nodes: ANSWER_FIRST_FROM_NODES });
  const holder = settle(n, 8000);
  n.runByWakeup(1000);
  const peer = [...n.up].find((id) => id !== holder && !n.core(id).isCoordinator())!;
  const hb = sentTo(n, 0, holder, peer).filter((m) => m.t === 'hb' && m.req).at(-1)!;
  assert.ok(hb.t === 'hb' && hb.req);
  const toPeerOf = (out: Effect[]) => {
    const m = new Map<number, string[]>();
    for (const e of out) if (e.kind === 'send') m.set(e.to, [...(m.get(e.to) ?? []), e.msg.t === 'hb' && e.msg.grant ? 'hb+grant' : e.msg.t]);
    return m;
  };
  // Its last round was a period ago: the request makes a round due now.
  const last = n.steps.filter((s) => s.node === peer && s.out.filter((e) => e.kind === 'send' && e.msg.t === 'hb').length > 1).at(-1)!.t;
  n.now = last + 0.8 * HB;
  const out = toPeerOf(n.input(peer, { kind: 'message', msg: { ...hb, req: { ...hb.req!, round: hb.req!.round + 1 } } }));
  assert.deepEqual([...out], [[holder, ['hb+grant']]], 'the answer, alone, in a heartbeat to the requester');
  assert.equal(n.core(peer).nextWakeup(), last + 0.8 * HB + HB / 10, 'the round a tenth of a period later');
  n.now = last + 0.8 * HB + HB / 10;
  const round = toPeerOf(n.input(peer, { kind: 'tick' }));
  assert.ok(!round.has(holder), 'the requester, just answered, is left out');
  // The coordinator is a requester too (from ROLES_APART_FROM_NODES it does not hold the VIP):
  // it gets its heartbeat with its own answer.
  const coord = n.coordinators()[0]!;
  assert.notEqual(coord, holder);
  assert.ok(!round.has(coord));
  assert.equal(round.size, ANSWER_FIRST_FROM_NODES - 3, 'every other peer gets its heartbeat');
  // Below the threshold (3 nodes) the round goes at once, the answer in it: see the test above.
});

test(`from ${ROLES_APART_FROM_NODES} nodes the VIP goes to a node other than the coordinator, and the holder's power cut moves it with no election`, () => {
  const n = net({ nodes: ROLES_APART_FROM_NODES });
  const holder = settle(n, 8000);
  assert.deepEqual([holder, n.coordinators()], [2, [1]], 'the coordinator is the lowest id; the VIP the next');
  n.run(2000);
  const elections = n.logs('coordinator_elected').length;
  const term = n.core(1).status(n.now).coordinator!.term;
  const cut = n.now;
  n.powerOff(holder);
  n.until(() => n.holders().length === 1, 4000, 'a new holder');
  assert.deepEqual([n.holders(), n.coordinators()], [[3], [1]], 'the next node that is not the coordinator');
  assert.equal(n.logs('coordinator_elected').length, elections, 'no election');
  assert.equal(n.core(1).status(n.now).coordinator!.term, term);
  assert.ok(n.now - cut <= n.core(1).timing.promiseMs + 100, `taken over ${n.now - cut} ms after the cut`);
  n.assertSafe();
  // Below the threshold the roles stay together (as in the 3-node tests above).
  const small = net({ nodes: ROLES_APART_FROM_NODES - 1 });
  assert.equal(settle(small, 8000), 1);
  assert.deepEqual(small.coordinators(), [1]);
});

test(`from ${ROLES_APART_FROM_NODES} nodes, when the coordinator dies a node that holds no VIP is elected and the VIP stays where it is`, () => {
  const n = net({ nodes: ROLES_APART_FROM_NODES });
  assert.equal(settle(n, 8000), 2);
  n.run(2000);
  const acquires = n.effects('acquire').length;
  n.powerOff(1);
  n.until(() => n.coordinators().length === 1, 6000, 'a new coordinator');
  // n2, the lowest id left, holds the VIP: it campaigns after every node that holds none.
  assert.deepEqual(n.coordinators(), [3]);
  n.run(3000);
  assert.deepEqual([n.holders(), n.coordinators()], [[2], [3]]);
  assert.equal(n.effects('acquire').length, acquires, 'the VIP did not move');
  assert.equal(n.effects('release').filter((r) => r.t > 0).length, 0, 'nor was it released');
  n.assertSafe();
});

test('holder and coordinator on different nodes: a node that only answers puts every answer in a heartbeat, one per request', () => {
  // n3 is preferred for the VIP; n1, the lowest id, is the coordinator: two requesters.
  const n = net({ resources: [{ prefers: { n3: 50 } }] });
  n.until(() => n.holders().length === 1 && n.coordinators().length === 1, 6000, 'a holder and a coordinator');
  assert.deepEqual([n.holders(), n.coordinators()], [[3], [1]]);
  n.runByWakeup(1000);
  const since = n.steps.length;
  n.runByWakeup(3000);
  for (const req of [1, 3]) {
    const msgs = sentTo(n, since, 2, req);
    const asked = sentTo(n, since, req, 2).filter((m) => m.t === 'hb' && m.req).length;
    const inHb = msgs.filter((m) => m.t === 'hb' && m.grant).length;
    const hbs = msgs.filter((m) => m.t === 'hb').length;
    assert.ok(asked >= 25, `n${req} asked ${asked} times in 3 s`);
    assert.equal(msgs.filter((m) => m.t === 'grant').length, 0, `n2 answered n${req} alone`);
    assert.ok(inHb >= asked - 1, `n2 answered ${inHb} of n${req}'s ${asked} requests in heartbeats`);
    assert.ok(hbs <= asked + 1, `n2 sent n${req} ${hbs} heartbeats for ${asked} requests: no extra ones`);
  }
  n.assertSafe();
});

test('a requester that stops asking still hears a node that only answers within 1.25 periods, and rejoins its rounds', () => {
  const n = net({ resources: [{ prefers: { n3: 50 } }] });
  n.until(() => n.holders().length === 1 && n.coordinators().length === 1, 6000, 'a holder and a coordinator');
  n.runByWakeup(1000);
  // n3 gives the VIP away (standby): from then on only n1 asks.
  assert.ok(n.command(1, { op: 'standby', node: 'n3', on: true }).ok);
  const since = n.steps.length;
  const t0 = n.now;
  n.runByWakeup(3000);
  assert.deepEqual(n.holders(), [1]);
  const times = n.steps
    .slice(since)
    .filter((s) => s.node === 2 && s.out.some((e) => e.kind === 'send' && e.to === 3 && e.msg.t === 'hb'))
    .map((s) => s.t);
  const gaps = [times[0]! - t0, ...times.slice(1).map((t, i) => t - times[i]!)];
  assert.ok(Math.max(...gaps) <= 1.5 * HB + TICK, `gaps ${gaps.join(' ')}`);
  // In the last second n3 gets n2's heartbeats with n2's rounds (those answer n1), not apart.
  const last = n.steps.filter((s) => s.t >= n.now - 1000 && s.node === 2);
  const apart = last.filter((s) => s.out.some((e) => e.kind === 'send' && e.to === 3 && e.msg.t === 'hb') && !s.out.some((e) => e.kind === 'send' && e.to === 1 && e.msg.t === 'hb'));
  assert.equal(apart.length, 0, `${apart.length} heartbeats to n3 apart from the round`);
  n.assertSafe();
});

test('when the requester falls silent, the answerer heartbeats again within 1.25 periods (its heartbeats answered the requests)', () => {
  const n = net();
  const holder = settle(n);
  n.runByWakeup(1000);
  const peer = holder === 2 ? 3 : 2;
  n.powerOff(holder);
  const since = n.steps.length;
  const t0 = n.now;
  n.runByWakeup(1000);
  const other = [1, 2, 3].find((x) => x !== holder && x !== peer)!;
  const times = n.steps
    .slice(since)
    .filter((s) => s.node === peer && s.out.some((e) => e.kind === 'send' && e.to === other && e.msg.t === 'hb'))
    .map((s) => s.t);
  assert.ok(times.length >= 7, `${times.length} heartbeats in 1 s`);
  const gaps = [times[0]! - t0, ...times.slice(1).map((t, i) => t - times[i]!)];
  assert.ok(Math.max(...gaps) <= 1.25 * HB + TICK, `gaps ${gaps.join(' ')}`);
});

test('quorum follows the silence of the peer heard longest ago, however often the others are heard', () => {
  // 5 nodes, quorum 3. The core counts the online set again only when it may have changed; a
  // peer heard while online does not change it, so this checks that its count still expires with
  // the first peer to fall silent, and with the end of the node's own distrust (local_stall).
  const c = new Core({ config: config({ nodes: 5 }), self: 1, incarnation: 1, seed: 1, now: 0 });
  const hb = (from: number, at: number) => c.step({ kind: 'message', msg: { t: 'hb', from, inc: 1, term: 0, holds: [], fails: {}, attrs: {} } }, at);
  c.step({ kind: 'tick' }, 0);
  hb(2, 100);
  hb(3, 300);
  assert.equal(c.status(300).votes, 3);
  assert.equal(c.status(300).quorate, true);
  // n3 is heard every 100 ms from now on; n2 never again. n2 times out at 100 + 1000.
  for (let t = 400; t <= 1100; t += 100) hb(3, t);
  assert.equal(c.status(1100).votes, 3, 'n2 is still within its timeout at exactly 1000 ms of silence');
  assert.equal(c.status(1100).quorate, true);
  hb(3, 1150);
  assert.equal(c.status(1150).votes, 2, 'n2 timed out although n3 was heard');
  assert.equal(c.status(1150).quorate, false);
  hb(2, 1160);
  assert.equal(c.status(1160).quorate, true, 'n2 back');
  // A stall: the node distrusts itself for one node timeout and gives its peers twice the timeout.
  const stalled = c.step({ kind: 'tick' }, 2000);
  assert.ok(stalled.some((e) => e.kind === 'log' && e.event === 'local_stall'));
  assert.equal(c.status(2000).votes, 3, 'n2 (silent 840 ms) and n3 (850 ms) are online');
  assert.equal(c.status(2900).votes, 3, 'with the grace, 1740 ms of silence is not a timeout');
  assert.equal(c.status(3000).votes, 1, 'the distrust ends at 3000: n2 and n3 are long silent');
  assert.equal(c.status(3000).quorate, false);
});
