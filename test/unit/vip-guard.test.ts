// The address guard removes VIPs when the daemon stops petting it: at the deadline (frozen
// daemon) or at once on EOF (killed daemon); a clean stop removes nothing.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { AddressGuard } from '../../src/vip/guard.ts';

const ns = `pihaguard-${process.pid}`;
const now = () => Number(process.hrtime.bigint()) / 1e6;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const has = (ip: string) => execFileSync('ip', ['-n', ns, '-o', 'addr', 'show', 'dev', 'eth0']).toString().includes(`${ip}/`);
const add = (ip: string) => execFileSync('ip', ['-n', ns, 'addr', 'add', `${ip}/32`, 'dev', 'eth0']);
async function until(pred: () => boolean, ms: number): Promise<number> {
  const t0 = now();
  while (now() - t0 < ms) {
    if (pred()) return now() - t0;
    await sleep(5);
  }
  return Infinity;
}

describe('address guard', { skip: process.getuid?.() !== 0 ? 'needs root' : false }, () => {
  before(() => {
    execFileSync('ip', ['netns', 'add', ns]);
    execFileSync('ip', ['-n', ns, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'peer0']);
    execFileSync('ip', ['-n', ns, 'link', 'set', 'eth0', 'up']);
  });
  after(() => execFileSync('ip', ['netns', 'del', ns]));

  it('removes the addresses at the deadline when pets stop (frozen daemon), not before', async () => {
    const removed: string[] = [];
    const g = new AddressGuard({ ifname: 'eth0', netns: ns, onRemoved: (a) => removed.push(a) });
    g.start();
    add('192.0.2.150');
    add('192.0.2.151');
    await sleep(100);
    const t0 = now();
    g.pet(['192.0.2.150/32', '192.0.2.151/32'], t0 + 400, t0);
    await sleep(250);
    // Only a look that ended before the deadline must see the address (a busy machine can wake
    // this test late); the lower bound on `at` below covers "not before" in any case.
    const present = has('192.0.2.150');
    if (now() - t0 < 400) assert.ok(present, 'still present before the deadline');
    const gone = await until(() => !has('192.0.2.150') && !has('192.0.2.151'), 2000);
    const at = now() - t0; // when the removal was seen: at or after the removal itself
    assert.ok(gone < 2000, 'removed after the deadline');
    assert.ok(at >= 390 && at < 700, `removed at ${at.toFixed(0)} ms, deadline 400 ms`);
    await until(() => removed.length === 2, 2000); // reported on the guard's stdout
    assert.deepEqual(removed.sort(), ['192.0.2.150/32', '192.0.2.151/32']);
    g.stop();
  });

  it('runs at real-time priority (SCHED_FIFO), so a busy machine cannot make it late, and says so', async () => {
    let prio = '';
    const g = new AddressGuard({ ifname: 'eth0', netns: ns, onPriority: (p) => (prio = p) });
    g.start();
    await until(() => prio !== '', 2000);
    assert.equal(prio, 'fifo');
    const policy = execFileSync('chrt', ['-p', String(g.pid)]).toString();
    assert.match(policy, /SCHED_FIFO/);
    assert.match(policy, /priority: 20/);
    g.stop();
  });

  it('later pets push the deadline; an empty list protects nothing', async () => {
    const g = new AddressGuard({ ifname: 'eth0', netns: ns });
    g.start();
    add('192.0.2.152');
    await sleep(100);
    // 600 ms deadlines, a pet every 100 ms: 7 pets span 700 ms, so without the pushes the
    // first deadline would have passed, and a late wake-up of up to 500 ms still passes.
    for (let i = 0; i < 7; i++) {
      g.pet(['192.0.2.152/32'], now() + 600, now());
      await sleep(100);
    }
    assert.ok(has('192.0.2.152'), 'kept alive by pets');
    g.pet([], Infinity, now()); // released by the daemon itself: the guard must not touch it
    await sleep(900); // past the last pet's deadline
    assert.ok(has('192.0.2.152'));
    execFileSync('ip', ['-n', ns, 'addr', 'del', '192.0.2.152/32', 'dev', 'eth0']);
    g.stop();
  });

  it('a pet that only moves the deadline (same addresses, short line) keeps the list it protects', async () => {
    const removed: string[] = [];
    const g = new AddressGuard({ ifname: 'eth0', netns: ns, onRemoved: (a) => removed.push(a) });
    g.start();
    add('192.0.2.153');
    try {
      await sleep(100);
      const t0 = now();
      // Margins of 400-500 ms around each step: a busy machine can wake this test late, and a
      // look that did not end before the moved deadline proves nothing.
      g.pet(['192.0.2.153/32'], t0 + 500, t0); // full line
      await sleep(100);
      assert.ok(now() - t0 < 500, 'test woke too late to move the first deadline');
      g.pet(['192.0.2.153/32'], t0 + 1500, now()); // same list: "pet <seconds>" only
      await sleep(900); // past the first deadline
      const present = has('192.0.2.153');
      if (now() - t0 < 1500) assert.ok(present, 'the second pet moved the deadline');
      const gone = await until(() => !has('192.0.2.153'), 2000);
      assert.ok(gone < 2000, 'still removed at the moved deadline: the short pet kept the address list');
      await until(() => removed.length > 0, 2000); // reported on the guard's stdout
      assert.deepEqual(removed, ['192.0.2.153/32']);
    } finally {
      g.stop(); // a guard left running would keep this test file alive
      if (has('192.0.2.153')) execFileSync('ip', ['-n', ns, 'addr', 'del', '192.0.2.153/32', 'dev', 'eth0']);
    }
  });

  it('removes at once when the daemon dies (EOF), and nothing on a clean stop', async () => {
    const g = new AddressGuard({ ifname: 'eth0', netns: ns });
    g.start();
    add('192.0.2.153');
    await sleep(100);
    g.pet(['192.0.2.153/32'], now() + 60_000, now());
    await sleep(50);
    g.stop(); // clean: "stop" then EOF
    await sleep(300);
    assert.ok(has('192.0.2.153'), 'clean stop removes nothing');
    const g2 = new AddressGuard({ ifname: 'eth0', netns: ns });
    g2.start();
    await sleep(100);
    g2.pet(['192.0.2.153/32'], now() + 60_000, now());
    await sleep(50);
    (g2 as any).child.stdin.end(); // the daemon's end of the pipe closes, as when it is killed
    const gone = await until(() => !has('192.0.2.153'), 2000);
    assert.ok(gone < 500, `removed ${gone.toFixed(0)} ms after EOF`);
  });
});
