// Gratuitous ARP as seen from another machine (the client namespace): both forms go out,
// a stale neighbour entry is corrected, and nothing is sent after release. First, without a
// namespace: the periodic schedule (a resource's garp_refresh) under fake timers.

import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { after, before, describe, it, test } from 'node:test';
import { findExecutable, GarpAnnouncer, type GarpResult } from '../../src/vip/garp.ts';
import { VipManager, type VipEvent } from '../../src/vip/manager.ts';
import type { GarpOptions } from '../../src/vip/garp.ts';
import { Lab, labUnavailable, sleep } from './vip-netns.ts';

const skip = labUnavailable() ?? false;
const res = { name: 'web', ip: '192.0.2.150', cidr: 24 };
const now = (): number => performance.now();
const FAKE_MAC = '02:00:00:00:00:99';

// tcpdump -e -n prints, after a timestamp:
//   <src mac> > ff:ff:ff:ff:ff:ff, ethertype ARP ..: Request who-has 192.0.2.150 (ff:ff:ff:ff:ff:ff) tell 192.0.2.150, ..
//   <src mac> > ff:ff:ff:ff:ff:ff, ethertype ARP ..: Reply 192.0.2.150 is-at <src mac>, ..
const isRequest = (l: string, mac: string): boolean =>
  l.includes(` ${mac} > `) && new RegExp(`Request who-has ${res.ip} (\\(\\S+\\) )?tell ${res.ip},`).test(l);
const isReply = (l: string, mac: string): boolean => l.includes(` ${mac} > `) && l.includes(`Reply ${res.ip} is-at ${mac},`);

test('the periodic announcement follows the interval given to start(), else the option, else 30 s (fake timers)', (t) => {
  // The processes are real (`true` stands in for arping) and counted while still in flight:
  // nothing here yields to the event loop, so none is reaped and inFlight counts every spawn.
  const stand = findExecutable('true');
  assert.ok(stand, 'true is on PATH');
  t.mock.timers.enable({ apis: ['setInterval', 'setTimeout'] });
  // A 0 ms interval (garp_refresh: 0 not honoured) would spin the fake clock and fork without
  // end: refuse it at once. Restored in finally, before the fake timers are.
  const fakeInterval = globalThis.setInterval;
  globalThis.setInterval = ((fn: () => void, ms?: number) => {
    if (!(ms !== undefined && ms > 0)) throw new Error(`setInterval(${ms}): a periodic announcement needs a period`);
    return fakeInterval(fn, ms);
  }) as typeof setInterval;
  const made: GarpAnnouncer[] = [];
  const announcer = (refreshIntervalMs?: number): GarpAnnouncer => {
    const g = new GarpAnnouncer({
      ifname: 'eth0',
      options: { arpingPath: stand, burstCount: 1, secondBurstDelayMs: 0, processTimeoutMs: 3_600_000, ...(refreshIntervalMs === undefined ? {} : { refreshIntervalMs }) },
    });
    made.push(g);
    return g;
  };
  try {
    const custom = announcer(); // the resource says 5 s
    custom.start(res.ip, 5000);
    const byDefault = announcer(); // nothing said: 30 s
    byDefault.start(res.ip);
    const byOption = announcer(7000); // the announcer's option, no per-address value
    byOption.start(res.ip);
    const none = announcer(7000); // garp_refresh: 0 = none, whatever the option
    none.start(res.ip, 0);
    const counts = () => made.map((g) => g.inFlight);
    assert.deepEqual(counts(), [2, 2, 2, 2], 'takeover burst: one request and one reply each');
    t.mock.timers.tick(4999);
    assert.deepEqual(counts(), [2, 2, 2, 2]);
    t.mock.timers.tick(1); // 5 s
    assert.deepEqual(counts(), [4, 2, 2, 2]);
    t.mock.timers.tick(2000); // 7 s
    assert.deepEqual(counts(), [4, 2, 4, 2]);
    t.mock.timers.tick(22_999); // 29.999 s
    assert.deepEqual(counts(), [12, 2, 10, 2]);
    t.mock.timers.tick(1); // 30 s
    assert.deepEqual(counts(), [14, 4, 10, 2]);
    // A new start() (a re-acquire) takes its own interval; stop() ends it.
    custom.start(res.ip, 2000);
    t.mock.timers.tick(2000);
    assert.equal(custom.inFlight, 4, 'killed the old ones, burst, then one periodic at 2 s');
    custom.stop(res.ip);
    t.mock.timers.tick(10_000);
    assert.equal(custom.inFlight, 0);
  } finally {
    globalThis.setInterval = fakeInterval;
    for (const g of made) g.close();
  }
});

test('setRefresh re-times the periodic announcement of a held address at once, without a burst (fake timers)', (t) => {
  const stand = findExecutable('true');
  assert.ok(stand, 'true is on PATH');
  t.mock.timers.enable({ apis: ['setInterval', 'setTimeout'] });
  const g = new GarpAnnouncer({ ifname: 'eth0', options: { arpingPath: stand, burstCount: 1, secondBurstDelayMs: 0, processTimeoutMs: 3_600_000 } });
  try {
    g.setRefresh(res.ip, 1000); // not announced: nothing starts
    assert.equal(g.isActive(res.ip), false);
    g.start(res.ip); // default 30 s
    assert.equal(g.refreshOf(res.ip), 30_000);
    t.mock.timers.tick(10_000);
    assert.equal(g.inFlight, 2, 'only the takeover burst so far');
    g.setRefresh(res.ip, 5000); // garp_refresh edited to 5s while held
    assert.equal(g.inFlight, 2, 'no burst for an edit');
    t.mock.timers.tick(4999);
    assert.equal(g.inFlight, 2);
    t.mock.timers.tick(1);
    assert.equal(g.inFlight, 4, 'the new period counts from the edit');
    t.mock.timers.tick(20_000); // the old 30 s timer is gone: 4 more at 5 s steps, none extra at 30 s
    assert.equal(g.inFlight, 12);
    g.setRefresh(res.ip, 0); // garp_refresh: 0
    assert.equal(g.refreshOf(res.ip), 0);
    t.mock.timers.tick(60_000);
    assert.equal(g.inFlight, 12, 'none after 0');
  } finally {
    g.close();
  }
});

describe('vip GARP', { skip }, () => {
  let lab: Lab;
  let mac: string;
  const managers: VipManager[] = [];
  const manager = (garp: GarpOptions, events?: VipEvent[]): VipManager => {
    const m = new VipManager({ ifname: 'eth0', now, netns: lab.node, garp, onEvent: events && ((e) => events.push(e)) });
    managers.push(m);
    return m;
  };
  const clientNeighMac = (): string | undefined => {
    const n = JSON.parse(lab.ip(lab.client, '-j', 'neigh', 'show', res.ip, 'dev', 'eth0')) as { lladdr?: string }[];
    return n[0]?.lladdr;
  };

  before(() => {
    lab = new Lab();
    mac = lab.nodeMac();
  });
  after(async () => {
    for (const m of managers) await m.close();
    lab?.destroy();
  });

  it('takeover burst sends both forms (3 requests + 3 replies, ~200 ms apart)', async () => {
    const cap = await lab.captureArp();
    const events: VipEvent[] = [];
    const m = manager({ burstCount: 3, burstIntervalMs: 200, secondBurstDelayMs: 0, refreshIntervalMs: 0 }, events);
    try {
      const t0 = now();
      assert.equal(await m.acquire(res, 30, now() + 1000), 'added');
      // an acquire that waited for arping would take ~1 s (each arping lingers that long)
      assert.ok(now() - t0 < 500, 'acquire must not wait for arping');
      // last packet at 400 ms; garpSent counts each arping at its exit (~1 s later), and
      // tcpdump prints a moment after the wire: wait for both, then count exactly
      while (now() - t0 < 5000 && m.counters.garpSent + m.counters.garpFailed < 6) await sleep(50);
      while (now() - t0 < 5000 && cap.lines().filter((l) => isRequest(l, mac) || isReply(l, mac)).length < 6) await sleep(50);
      await sleep(200); // a seventh packet, if one were sent, would show by now
      const lines = cap.lines();
      assert.equal(lines.filter((l) => isRequest(l, mac)).length, 3, lines.join('\n'));
      assert.equal(lines.filter((l) => isReply(l, mac)).length, 3, lines.join('\n'));
      assert.equal(m.counters.garpSent, 6);
      assert.equal(m.counters.garpFailed, 0);
      assert.equal(events.filter((e) => e.type === 'garp' && e.ok).length, 6);
    } finally {
      await cap.stop();
      await m.release(res);
    }
  });

  it('each form alone corrects a stale MAC in a neighbour cache', async () => {
    for (const form of ['request', 'reply'] as const) {
      lab.ip(lab.client, 'neigh', 'replace', res.ip, 'lladdr', FAKE_MAC, 'dev', 'eth0', 'nud', 'stale');
      assert.equal(clientNeighMac(), FAKE_MAC);
      const m = manager({ forms: [form], burstCount: 1, secondBurstDelayMs: 0, refreshIntervalMs: 0 });
      try {
        await m.acquire(res, 30, now() + 1000);
        const until = now() + 2000;
        while (clientNeighMac() !== mac && now() < until) await sleep(20);
        assert.equal(clientNeighMac(), mac, `${form} form did not update the client`);
      } finally {
        await m.release(res);
      }
    }
  });

  it('second burst and periodic refresh while held; release stops everything at once', async () => {
    const cap = await lab.captureArp();
    const m = manager({ burstCount: 1, secondBurstDelayMs: 500, refreshIntervalMs: 900 });
    try {
      const t0 = now();
      await m.acquire(res, 30, now() + 1000);
      // t=0 burst, 0.5 s second burst, 0.9 s and 1.8 s periodic: 4 by 1.8 s. Wait up to 2.6 s
      // for tcpdump's lines (without the second burst, the 4th would come at 2.7 s).
      let reqs = 0;
      while ((reqs = cap.lines().filter((l) => isRequest(l, mac)).length) < 4 && now() - t0 < 2600) await sleep(50);
      assert.ok(reqs >= 4, `expected >= 4 requests, saw ${reqs}`);
      assert.ok(m.announcing(res.ip));
      await m.release(res);
      assert.equal(m.announcing(res.ip), false);
      await sleep(150); // let tcpdump print what was already on the wire
      const n = cap.lines().filter((l) => l.includes(res.ip)).length;
      await sleep(1200);
      assert.equal(cap.lines().filter((l) => l.includes(res.ip)).length, n, 'GARP after release');
    } finally {
      await cap.stop();
    }
  });

  it("the resource's garp refresh (VipResource.garpRefreshMs) sets the period, not the manager's option", async () => {
    const cap = await lab.captureArp();
    const m = manager({ burstCount: 1, secondBurstDelayMs: 0, refreshIntervalMs: 0 });
    try {
      await m.acquire({ ...res, garpRefreshMs: 400 }, 30, now() + 1000);
      await sleep(1500); // t=0 burst, then 0.4, 0.8, 1.2 s
      const reqs = cap.lines().filter((l) => isRequest(l, mac)).length;
      assert.ok(reqs >= 3, `expected >= 3 requests (the option alone would send 1), saw ${reqs}`);
    } finally {
      await m.release(res);
      await cap.stop();
    }
  });

  it('a release racing an in-flight acquire leaves no announcement running', async () => {
    const m = manager({ burstCount: 1 });
    const acq = m.acquire(res, 30, now() + 1000);
    const rel = m.release(res);
    assert.equal(await acq, 'added');
    await rel;
    assert.equal(m.announcing(res.ip), false);
    assert.equal(lab.nodeAddrs().has(res.ip), false);
  });

  it('arping failures are reported and counted, never thrown', async () => {
    const results: GarpResult[] = [];
    // 192.0.2.199 is not on the interface: arping cannot bind it as source.
    const g = new GarpAnnouncer({
      ifname: 'eth0',
      netns: lab.node,
      options: { burstCount: 1, secondBurstDelayMs: 0, refreshIntervalMs: 0 },
      onResult: (r) => results.push(r),
    });
    try {
      g.start('192.0.2.199');
      const until = now() + 3000;
      while (results.length < 2 && now() < until) await sleep(20);
      assert.equal(results.length, 2);
      assert.ok(results.every((r) => !r.ok && /bind|assign/i.test(r.error ?? '')), JSON.stringify(results));
      assert.deepEqual(g.stats, { sent: 0, failed: 2 });
    } finally {
      g.close();
    }
  });
});
