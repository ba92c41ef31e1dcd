// Fencing in the core: a silent VIP holder is fenced before its VIP moves (device mode), or
// its VIP moves only after the watchdog must have reset it (watchdog mode). "Hung" below is a
// node that stops answering but keeps its addresses (a wedged kernel): only fencing or the
// watchdog may make it harmless, so these tests fail if the core ever lets a VIP move early.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Effect } from '../../src/core/types.ts';
import { defaultFencing } from '../../src/config/fencing-defaults.ts';
import { deviceFencing } from './core-helpers.ts';
import { net, settle, type Net } from './core-net.ts';

/** The node stops: no steps, no messages, but its addresses stay (unlike powerOff). */
function hang(n: Net, id: number): void {
  n.up.delete(id);
}

function fences(n: Net): Extract<Effect, { kind: 'fence' }>[] {
  return n.effects('fence').map((x) => x.e);
}

test('device mode: a hung holder is fenced, then its VIP moves, sooner than a lease would allow', () => {
  const n = net({ fencing: deviceFencing(3) });
  assert.equal(settle(n), 1);
  n.run(300);
  const t0 = n.now;
  hang(n, 1);
  const t1 = n.until(() => n.holders().length === 1 && n.holders()[0] !== 1, 5000, 'a peer took over');
  const f = fences(n);
  assert.equal(f.length, 1, 'one fence');
  assert.equal(f[0].target, 1);
  assert.equal(f[0].inc, 1);
  assert.equal(n.addr.get('vip0')?.has(1), false, 'the fence cut its power before the VIP moved');
  const promise = n.core(2).timing.promiseMs;
  assert.ok(t1 - t0 < promise, `took ${t1 - t0} ms; a lease alone needs ${promise} ms`);
  const st = n.core(2).status(n.now).fencing;
  assert.deepEqual(st.modes, ['lease', 'device']);
  assert.equal(st.history[0].node, 'n1');
  assert.equal(st.history[0].ok, true);
  assert.deepEqual(st.pending, []);
  n.assertSafe();
});

test('device mode: while fencing fails, the VIP of a hung holder never moves; retried; moves once a fence works', () => {
  const n = net({ fencing: deviceFencing(3, { retryIntervalMs: 1000 }) });
  assert.equal(settle(n), 1);
  let works = false;
  n.fenceDriver = () => (works ? { ok: true, detail: 'relay off, read back off' } : { ok: false, detail: 'HTTP 401 from the plug: wrong password?' });
  n.run(300);
  hang(n, 1);
  n.run(10_000);
  assert.deepEqual(n.holders(), [], 'nobody takes the VIP while the holder may still have it');
  const attempts = fences(n).length;
  assert.ok(attempts >= 5 && attempts <= 12, `retried about every second: ${attempts} attempts in 10 s`);
  const executors = new Set(n.effects('fence').map((x) => x.node));
  assert.deepEqual([...executors].sort(), [2, 3], 'attempts rotate over the nodes that can run a device');
  const coord = n.coordinators()[0];
  const st = n.core(coord).status(n.now).fencing;
  assert.equal(st.pending.length, 1);
  assert.equal(st.pending[0].node, 'n1');
  assert.match(st.pending[0].lastError ?? '', /wrong password/);
  assert.ok(st.history.some((h) => !h.ok));
  assert.deepEqual(n.core(2).status(n.now).fencing.blocking, ['n1'], 'the granter says what it waits for');
  works = true;
  n.until(() => n.holders().length === 1, 3000, 'takeover after a working fence');
  assert.deepEqual(n.core(coord).status(n.now).fencing.pending, []);
  n.assertSafe();
});

test('device mode: a holder that moves its VIP away or shuts down cleanly is not fenced', () => {
  const n = net({ fencing: deviceFencing(3) });
  assert.equal(settle(n), 1);
  n.run(300);
  assert.equal(n.command(2, { op: 'move', resource: 'vip0', node: 'n2' }).ok, true);
  n.until(() => n.holders()[0] === 2, 3000, 'moved to n2');
  n.run(3000);
  n.input(2, { kind: 'shutdown' });
  n.up.delete(2);
  n.run(5000);
  assert.deepEqual(fences(n), []);
  n.assertSafe();
});

test('device mode: a heartbeat gap shorter than node_timeout fences nobody', () => {
  const n = net({ fencing: deviceFencing(3) });
  assert.equal(settle(n), 1);
  n.cut = (from) => from === 1;
  n.run(800);
  n.cut = () => false;
  n.run(3000);
  assert.deepEqual(fences(n), []);
  assert.deepEqual(n.holders(), [1]);
});

test('device mode: a holder cut off from its peers is fenced by the majority, never the other way round', () => {
  const n = net({ fencing: deviceFencing(3) });
  assert.equal(settle(n), 1);
  n.run(300);
  n.cut = (from, to) => from === 1 || to === 1;
  n.until(() => n.holders().length === 1 && n.holders()[0] !== 1, 5000, 'the majority took over');
  const f = n.effects('fence');
  assert.ok(f.length >= 1);
  assert.ok(f.every((x) => x.e.target === 1 && x.node !== 1), 'only the majority fences, and only the isolated node');
  n.assertSafe();
});

test('stonith fence NODE: the reply waits for the outcome; stonith confirm refuses a running node', () => {
  const n = net({ fencing: deviceFencing(3) });
  settle(n);
  n.run(300);
  const out = n.input(1, { kind: 'command', id: 77, cmd: { op: 'fence', node: 'n3' } });
  assert.equal(out.some((e) => e.kind === 'reply'), false, 'no reply before the device answered');
  n.run(50);
  const reply = n.effects('reply', 1).find((x) => x.e.id === 77);
  assert.ok(reply, 'a reply came');
  assert.equal(reply.e.ok, true, reply.e.message);
  assert.equal(n.up.has(3), false, 'n3 was powered off');
  assert.equal(n.command(1, { op: 'fence', node: 'n1' }).ok, false, 'a node does not fence itself');
  assert.match(n.command(1, { op: 'fence-confirm', node: 'n2' }).message, /online/);
});

test('stonith confirm NODE lets the VIP of a hung holder move when no device can fence it', () => {
  const n = net({ fencing: deviceFencing(3) });
  assert.equal(settle(n), 1);
  n.fenceDriver = () => ({ ok: false, detail: 'plug unreachable' });
  n.run(300);
  hang(n, 1);
  n.run(4000);
  assert.deepEqual(n.holders(), []);
  // The user pulled n1's plug by hand and says so.
  n.powerOff(1);
  const r = n.command(2, { op: 'fence-confirm', node: 'n1' });
  assert.equal(r.ok, true, r.message);
  n.until(() => n.holders().length === 1, 3000, 'takeover after the confirmation');
  assert.ok(n.core(3).status(n.now).fencing.history.some((h) => h.ok && /by hand/.test(h.detail)));
  n.assertSafe();
});

test('watchdog mode: a hung holder\'s VIP moves only after promise + watchdog wait, and not much later', () => {
  const wd = { ...defaultFencing().watchdog, enabled: true, timeoutMs: 5000 };
  const n = net({ fencing: { watchdog: wd } });
  assert.equal(settle(n, 12_000), 1);
  n.run(300);
  const t0 = n.now;
  hang(n, 1);
  const d = n.core(2).timing;
  assert.ok(d.fenceWaitMs >= 5000 * 1.02, `wait ${d.fenceWaitMs} covers the watchdog timeout with drift`);
  // Stand-in for the watchdog: it resets n1 at the latest 5 s (of its clock) after the last pet.
  n.run(d.promiseMs + 5000);
  n.powerOff(1);
  const t1 = n.until(() => n.holders().length === 1, 5000, 'a peer took over');
  assert.ok(t1 - t0 >= d.promiseMs + d.fenceWaitMs - 100, `took ${t1 - t0} ms, must wait ${d.promiseMs + d.fenceWaitMs}`);
  assert.ok(t1 - t0 <= d.promiseMs + d.fenceWaitMs + 500, `took ${t1 - t0} ms`);
  assert.deepEqual(n.core(2).status(n.now).fencing.modes, ['lease', 'watchdog']);
  n.assertSafe();
});

test('watchdog + device: a working device is the fast path, the watchdog the fallback', () => {
  const wd = { ...defaultFencing().watchdog, enabled: true, timeoutMs: 5000 };
  const fast = net({ fencing: deviceFencing(3, { watchdog: wd }) });
  assert.equal(settle(fast, 12_000), 1);
  fast.run(300);
  let t0 = fast.now;
  hang(fast, 1);
  let t1 = fast.until(() => fast.holders().length === 1, 8000, 'takeover');
  assert.ok(t1 - t0 < fast.core(2).timing.promiseMs, `device path took ${t1 - t0} ms`);

  const slow = net({ fencing: deviceFencing(3, { watchdog: wd }) });
  assert.equal(settle(slow, 12_000), 1);
  slow.fenceDriver = () => ({ ok: false, detail: 'relay driver offline' });
  slow.run(300);
  t0 = slow.now;
  hang(slow, 1);
  const d = slow.core(2).timing;
  slow.run(d.promiseMs + 5000);
  slow.powerOff(1); // the watchdog reset it
  t1 = slow.until(() => slow.holders().length === 1, 5000, 'takeover by the watchdog rule');
  assert.ok(t1 - t0 >= d.promiseMs + d.fenceWaitMs - 100, `took ${t1 - t0} ms`);
  slow.assertSafe();
  fast.assertSafe();
});

test('watchdog pets stop once a held VIP is past its lease (the SBD rule, holder side)', () => {
  const wd = { ...defaultFencing().watchdog, enabled: true, timeoutMs: 5000 };
  const n = net({ fencing: { watchdog: wd } });
  assert.equal(settle(n, 12_000), 1);
  const c = n.core(1);
  assert.equal(c.mayPetWatchdog(n.now), true, 'holding with a valid lease');
  const [d] = c.releaseDeadlines();
  assert.equal(c.mayPetWatchdog(d.deadline - 1), true);
  // The daemon stalls past the deadline (no step released the VIP): no more pets.
  assert.equal(c.mayPetWatchdog(d.deadline), false);
  assert.equal(n.core(2).mayPetWatchdog(n.now + 60_000), true, 'a node holding nothing always may');
});

test('device mode: a node whose fence is running gets no VIP, even when it boots again and answers (no fence loop)', () => {
  const n = net({ fencing: deviceFencing(3), resources: [{ prefers: { n3: 50 } }] });
  assert.equal(settle(n), 3);
  n.run(300);
  n.fenceDriver = () => null; // the relay takes its time: the fence stays running
  hang(n, 3);
  n.until(() => fences(n).some((f) => f.target === 3), 3000, 'a fence of n3 is running');
  // n3 boots again before the fence's outcome is known (the fence will cut this one too).
  n.start(3, 2);
  n.run(2000);
  const coord = n.coordinators()[0]!;
  assert.notEqual(coord, 3);
  assert.ok(n.core(coord).status(n.now).fencing.pending.some((p) => p.node === 'n3'), 'still fencing n3');
  assert.ok(!n.holders().includes(3), `n3 must not get the VIP while its power is being cut (holders ${n.holders()})`);
  n.assertSafe();
});

test('device mode: a fence attempt with no outcome is not retried once its target is back and owes nothing', () => {
  const n = net({ fencing: deviceFencing(3), resources: [{ prefers: { n3: 50 } }] });
  assert.equal(settle(n), 3);
  n.run(300);
  n.fenceDriver = () => null; // the outcome of the first attempt is lost (its executor hung)
  hang(n, 3);
  n.until(() => fences(n).some((f) => f.target === 3), 3000, 'a fence of n3 is running');
  const coord = n.coordinators()[0]!;
  n.start(3, 2); // n3 boots again (its watchdog reset it) and answers
  // The attempt times out; before the fix a second one started at once and, with a device that
  // works again, cut the power of the booted, healthy n3.
  n.fenceDriver = () => ({ ok: true, detail: 'relay off, read back off' });
  assert.equal(n.core(coord).status(n.now).fencing.pending.length, 1, 'the fence is pending at the coordinator');
  const timedOut = () => n.effects('log', coord).some((x) => x.e.event === 'fence_failed' && x.e.fields.node === 'n3' && /no outcome/.test(String(x.e.fields.error)));
  n.until(timedOut, 15_000, 'the attempt timed out without an outcome');
  n.run(3000); // a retry would have started at once
  assert.equal(fences(n).filter((f) => f.target === 3).length, 1, 'no second attempt');
  assert.deepEqual(n.core(coord).status(n.now).fencing.pending, []);
  const notNeeded = n.effects('log', coord).find((x) => x.e.event === 'fence_not_needed' && x.e.fields.node === 'n3');
  assert.ok(notNeeded, 'the coordinator says the fence is no longer needed');
  assert.ok(n.up.has(3), 'n3 still runs');
  assert.equal(n.holders().length, 1, 'the VIP is held by one node');
  n.assertSafe();
});

test('device mode: a node booting with saved promises to a peer\'s earlier incarnation does not fence that peer before it could hear it', () => {
  const n = net({ nodes: 5, fencing: deviceFencing(5), resources: [{ prefers: { n1: 50 } }] });
  assert.equal(settle(n), 1);
  n.run(300);
  // n2 goes down with its state dir (it keeps the promises it made to n1); n1's daemon then
  // restarts (incarnation 2), which releases its addresses: nothing owed to n1 needs a fence.
  n.powerOff(2);
  n.up.delete(1);
  n.run(100);
  n.start(1, 2);
  n.run(3000);
  assert.equal(n.holders().length, 1);
  const before = fences(n).length;
  // n2 boots from its disk; n1's heartbeats reach it 500 ms after the others' (a slow path).
  n.cut = (from, to) => from === 1 && to === 2;
  n.start(2, 2, true);
  n.run(500);
  n.cut = () => false;
  n.run(3000);
  assert.deepEqual(fences(n).slice(before).filter((f) => f.target === 1), [], 'n1, running, is not fenced');
  assert.ok(n.up.has(1), 'n1 still runs');
  n.assertSafe();
});
