// VipManager against the real kernel: lifetimes, notAfter, release, monitor queries.

import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { after, afterEach, before, describe, it } from 'node:test';
import { VipManager, type VipEvent } from '../../src/vip/manager.ts';
import { Lab, labUnavailable, sleep } from './vip-netns.ts';

const skip = labUnavailable() ?? false;
const res = { name: 'web', ip: '192.0.2.150', cidr: 24 };
const res2 = { name: 'db', ip: '192.0.2.151', cidr: 24 };
const now = (): number => performance.now();
const FOREVER = 4294967295;

describe('vip VipManager', { skip }, () => {
  let lab: Lab;
  const managers: VipManager[] = [];
  const manager = (events?: VipEvent[]): VipManager => {
    const m = new VipManager({
      ifname: 'eth0',
      now,
      netns: lab.node,
      garp: { enabled: false }, // GARP has its own test file
      onEvent: events ? (e) => events.push(e) : undefined,
    });
    managers.push(m);
    return m;
  };

  before(() => {
    lab = new Lab();
  });
  afterEach(() => {
    for (const ip of lab.nodeAddrs().keys()) if (ip !== '192.0.2.11') lab.ip(lab.node, 'addr', 'flush', 'dev', 'eth0', 'to', `${ip}/32`);
  });
  after(async () => {
    for (const m of managers) await m.close();
    lab?.destroy();
  });

  it('acquire adds the VIP with the requested kernel lifetime', async () => {
    const events: VipEvent[] = [];
    const m = manager(events);
    assert.equal(await m.acquire(res, 5, now() + 1000), 'added');
    const lft = lab.nodeAddrs().get(res.ip);
    assert.ok(lft !== undefined && lft <= 5 && lft >= 4, `valid_life_time ${lft}`);
    assert.equal(m.counters.adds, 1);
    assert.deepEqual(events.map((e) => [e.type, 'result' in e ? e.result : null]), [['acquire', 'added']]);
    // Again with the address present: replace, not an error; and `forever` when null.
    assert.equal(await m.acquire(res, null, now() + 1000), 'added');
    assert.equal(lab.nodeAddrs().get(res.ip), FOREVER);
  });

  it('refresh every 300 ms keeps a 1 s VIP alive; it vanishes ~1 s after refreshes stop', async () => {
    const m = manager();
    assert.equal(await m.acquire(res, 1, now() + 1000), 'added');
    const until = now() + 2600;
    while (now() < until) {
      await sleep(300);
      assert.equal(await m.refresh(res, 1, now() + 1000), 'refreshed');
      assert.ok(lab.nodeAddrs().has(res.ip), 'VIP lost while being refreshed');
    }
    const last = now();
    while (lab.nodeAddrs().has(res.ip) && now() - last < 3000) await sleep(20);
    const gone = (now() - last) / 1000;
    assert.ok(gone >= 0.9 && gone <= 2.0, `vanished after ${gone.toFixed(2)} s`);
    assert.ok(m.counters.refreshes >= 8);
    // The kernel dropped it because its lifetime ran out: our lateness, not a failure.
    assert.equal(m.lapsed(res.ip), true, 'missing after its lifetime: lapsed');
    // The daemon keeps refreshing after the kernel dropped it: reported missing (the core
    // re-adds it and announces it), put back by the same round trip, and still a lapse.
    assert.equal(await m.refresh(res, 1, now() + 1000), 'missing');
    assert.equal(lab.nodeAddrs().has(res.ip), true, 'the change in the same round trip put it back');
    assert.equal(m.counters.missing, 1);
    assert.equal(m.lapsed(res.ip), true, 'its remembered lifetime is untouched: still our lateness');
  });

  it('lapsed(): only when the lifetime we applied ran out or an add was skipped, not when someone deleted it', async () => {
    const m = manager();
    assert.equal(m.lapsed(res.ip), false, 'never added');
    assert.equal(await m.acquire(res, 5, now() + 1000), 'added');
    lab.ip(lab.node, 'addr', 'del', `${res.ip}/24`, 'dev', 'eth0');
    assert.equal(m.lapsed(res.ip), false, 'deleted by someone else within its 5 s lifetime: a real failure');
    assert.equal(await m.acquire(res, 5, now() - 1), 'skipped');
    assert.equal(m.lapsed(res.ip), true, 'add skipped past notAfter: the daemon was late');
    assert.equal(await m.acquire(res, null, now() + 1000), 'added');
    assert.equal(m.lapsed(res.ip), false, 'no lifetime (forever): never lapses');
    await m.release(res);
    assert.equal(m.lapsed(res.ip), false, 'released: forgotten');
  });

  it('a skip warning says how long the command waited, how late it was, and what it waited behind', async () => {
    const warns: { f: Record<string, unknown>; msg: string }[] = [];
    const m = new VipManager({ ifname: 'eth0', now, netns: lab.node, garp: { enabled: false }, logger: { warn: (f: object, msg: string) => warns.push({ f: f as Record<string, unknown>, msg }), error() {} } });
    managers.push(m);
    // Late from the start (the core's decision came past notAfter): nothing ahead of it.
    assert.equal(await m.acquire(res, 5, now() - 3), 'skipped');
    const a = warns.at(-1)!;
    assert.match(a.msg, /vip add skipped/);
    assert.ok((a.f.pastMs as number) >= 3 && (a.f.budgetLeftMs as number) <= -3 && (a.f.waitedMs as number) >= 0, JSON.stringify(a.f));
    assert.equal(a.f.behind, undefined);
    // In time when asked, but queued behind a slow command for another address: the warning names it.
    const slow = m.acquire(res2, 5, now() + 1000);
    assert.equal(await m.acquire(res, 5, now()), 'skipped');
    await slow;
    const b = warns.at(-1)!;
    assert.match(String(b.f.behind), /^addr replace 192\.0\.2\.151\/24 dev eth0/, JSON.stringify(b.f));
    assert.ok((b.f.budgetLeftMs as number) >= 0 && (b.f.waitedMs as number) >= (b.f.pastMs as number), JSON.stringify(b.f));
    assert.equal(b.f.after, undefined, 'nothing else on this address');
    // Behind the same address's add: the refresh waits for it, and says so.
    const adding = m.acquire(res, 5, now() + 1000);
    assert.equal(await m.refresh(res, 5, now()), 'skipped');
    assert.equal(await adding, 'added');
    const c = warns.at(-1)!;
    assert.match(c.msg, /vip refresh skipped/);
    assert.match(String(c.f.after), /^add ordered \d+ ms before$/, JSON.stringify(c.f));
  });

  it('notAfter in the past: acquire and refresh are skipped, nothing reaches the kernel', async () => {
    const m = manager();
    assert.equal(await m.acquire(res, 5, now() - 1), 'skipped');
    assert.equal(lab.nodeAddrs().has(res.ip), false);
    assert.equal(await m.acquire(res, 5, now() + 1000), 'added');
    assert.equal(await m.refresh(res, 9, now() - 1), 'skipped');
    assert.ok((lab.nodeAddrs().get(res.ip) ?? 99) <= 5, 'lifetime was extended by a stale refresh');
    assert.equal(m.counters.skippedStale, 2);
    assert.equal(m.counters.failures, 0);
  });

  it('refresh reports an address someone removed as missing (a failure, not a lapse), and its change puts it back', async () => {
    const m = manager();
    assert.equal(await m.acquire(res, 5, now() + 1000), 'added');
    lab.ip(lab.node, 'addr', 'del', `${res.ip}/24`, 'dev', 'eth0');
    assert.equal(await m.refresh(res, 5, now() + 1000), 'missing');
    assert.equal(m.lapsed(res.ip), false, 'deleted within its lifetime: the monitor counts it');
    assert.equal(lab.nodeAddrs().has(res.ip), true, 'back at once, under the same lease');
    assert.equal(await m.refresh(res, 5, now() + 1000), 'refreshed');
  });

  it('refresh never puts back an address past its notAfter, nor one released or never added', async () => {
    const m = manager();
    assert.equal(await m.refresh(res, 5, now() + 1000), 'missing', 'never added: checked, not created');
    assert.equal(lab.nodeAddrs().has(res.ip), false);
    assert.equal(await m.acquire(res, 5, now() + 1000), 'added');
    lab.ip(lab.node, 'addr', 'del', `${res.ip}/24`, 'dev', 'eth0');
    assert.equal(await m.refresh(res, 5, now() - 1), 'skipped');
    assert.equal(lab.nodeAddrs().has(res.ip), false, 'past notAfter: nothing written');
    assert.equal(await m.acquire(res, 5, now() + 1000), 'added');
    await m.release(res);
    assert.equal(await m.refresh(res, 5, now() + 1000), 'missing');
    assert.equal(lab.nodeAddrs().has(res.ip), false, 'released: a refresh must never add it back');
  });

  it('release removes the VIP and is idempotent', async () => {
    const events: VipEvent[] = [];
    const m = manager(events);
    await m.acquire(res, 5, now() + 1000);
    await m.release(res); // resolves after the kernel did it
    assert.equal(lab.nodeAddrs().has(res.ip), false);
    await m.release(res);
    assert.equal(m.counters.releases, 2);
    assert.equal(m.counters.failures, 0);
    assert.ok(events.filter((e) => e.type === 'release').every((e) => e.type === 'release' && e.ok));
    // A leftover with another prefix length is removed too.
    lab.ip(lab.node, 'addr', 'add', `${res.ip}/32`, 'dev', 'eth0');
    await m.release(res);
    assert.equal(lab.nodeAddrs().has(res.ip), false);
    assert.equal(m.counters.failures, 0);
  });

  it('listPresent and present report what is on the interface', async () => {
    const m = manager();
    assert.deepEqual(await m.listPresent([res.ip, res2.ip]), []);
    await m.acquire(res, 5, now() + 1000);
    lab.ip(lab.node, 'addr', 'add', `${res2.ip}/32`, 'dev', 'eth0'); // e.g. left by a crashed run
    assert.deepEqual(await m.listPresent([res.ip, res2.ip, '192.0.2.152']), [res.ip, res2.ip]);
    assert.equal(await m.present(res), true);
    assert.equal(await m.present(res2), false, 'wrong prefix length is not our VIP');
    await m.release(res);
    assert.equal(await m.present(res), false);
  });

  it('linkUp follows carrier; a missing interface is down, not an exception', async () => {
    const m = manager();
    assert.equal(await m.linkUp(), true);
    lab.ip(lab.client, 'link', 'set', 'eth0', 'down'); // peer down: node's veth loses carrier
    try {
      assert.equal(await m.linkUp(), false);
    } finally {
      lab.ip(lab.client, 'link', 'set', 'eth0', 'up');
    }
    const ghost = new VipManager({ ifname: 'nosuch0', now, netns: lab.node, garp: { enabled: false } });
    managers.push(ghost);
    assert.equal(await ghost.linkUp(), false);
    assert.equal(await ghost.present(res), false);
    assert.deepEqual(await ghost.listPresent([res.ip]), []);
    assert.equal(await ghost.acquire(res, 5, now() + 1000), 'failed');
    await ghost.release(res); // nothing there: still success
    assert.equal(ghost.counters.failures, 1);
    assert.equal(ghost.counters.releases, 1);
  });

  it('rejects bad input without running anything', async () => {
    const m = manager();
    assert.equal(await m.acquire({ ...res, ip: '192.0.2.300' }, 5, now() + 1000), 'failed');
    assert.equal(await m.acquire(res, 0, now() + 1000), 'failed');
    assert.equal(await m.refresh(res, Number.NaN, now() + 1000), 'failed');
    assert.equal(m.runner.stats.batchStarts, 0);
  });

  it('keeps working after the batch ip process is killed', async () => {
    const m = manager();
    assert.equal(await m.acquire(res, 5, now() + 1000), 'added');
    process.kill(m.runner.batchPid!, 'SIGKILL');
    await sleep(50);
    assert.equal(await m.refresh(res, 7, now() + 1000), 'refreshed');
    assert.ok((lab.nodeAddrs().get(res.ip) ?? 0) > 5);
    assert.equal(m.runner.stats.batchStarts, 2);
  });
});

// Regression: iproute2's batch mode keeps filter state between commands; a `link show`
// followed by `addr show` printed no addresses, so a held VIP looked missing.
it('present() stays right when linkUp(), present(), refresh() and listPresent() interleave', async (t) => {
  if (process.getuid?.() !== 0) return t.skip('needs root');
  const ns = `pihavip-rg${process.pid}`;
  const { execFileSync } = await import('node:child_process');
  execFileSync('ip', ['netns', 'add', ns]);
  try {
    execFileSync('ip', ['-n', ns, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'peer0']);
    execFileSync('ip', ['-n', ns, 'link', 'set', 'eth0', 'up']);
    execFileSync('ip', ['-n', ns, 'link', 'set', 'peer0', 'up']);
    const { VipManager } = await import('../../src/vip/manager.ts');
    const now = () => Number(process.hrtime.bigint()) / 1e6;
    const v = new VipManager({ ifname: 'eth0', now, netns: ns, garp: { enabled: false } });
    const r = { name: 'vip', ip: '192.0.2.150', cidr: 32 };
    assert.equal(await v.acquire(r, 5, now() + 1000), 'added');
    for (let i = 0; i < 20; i++) {
      const [up, present, refreshed, list] = await Promise.all([v.linkUp(), v.present(r), v.refresh(r, 5, now() + 1000), v.listPresent([r.ip])]);
      assert.equal(up, true);
      assert.equal(present, true);
      assert.equal(refreshed, 'refreshed');
      assert.deepEqual(list, [r.ip]);
    }
    await v.close();
  } finally {
    execFileSync('ip', ['netns', 'del', ns]);
  }
});

// Regression: a refresh is `addr show` + `addr change`; a release issued while the refresh
// was in flight ran between the two, and `ip addr change` re-created the deleted address.
it('a release issued during a refresh is not undone by it', async (t) => {
  if (process.getuid?.() !== 0) return t.skip('needs root');
  const ns = `pihavip-rr${process.pid}`;
  const { execFileSync } = await import('node:child_process');
  execFileSync('ip', ['netns', 'add', ns]);
  try {
    execFileSync('ip', ['-n', ns, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'peer0']);
    execFileSync('ip', ['-n', ns, 'link', 'set', 'eth0', 'up']);
    const now = () => Number(process.hrtime.bigint()) / 1e6;
    const v = new VipManager({ ifname: 'eth0', now, netns: ns, garp: { enabled: false } });
    const r = { name: 'vip', ip: '192.0.2.150', cidr: 32 };
    for (let i = 0; i < 20; i++) {
      assert.equal(await v.acquire(r, 5, now() + 1000), 'added');
      const refresh = v.refresh(r, 5, now() + 1000); // not awaited, as the daemon does
      await v.release(r);
      await refresh;
      assert.deepEqual(await v.listPresent([r.ip]), [], `round ${i}: the address came back after release`);
    }
    await v.close();
  } finally {
    execFileSync('ip', ['netns', 'del', ns]);
  }
});
