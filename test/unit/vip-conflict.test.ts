// Address conflict detection (src/vip/conflict.ts, garp.ts): the probe commands, parsing of
// what arping -D and ndisc6 really print (test/unit/fixtures/conflict-probes.json, captured in
// a namespace bridge: holder ..:11, rogue ..:12, third host ..:13), this host's MACs, the
// metric and the event; then a real namespace pair where the client plays a rogue host that
// has the VIP too (IPv4 and IPv6): reported with its MAC, re-announced with a burst at most
// once per gap, filtered when the MAC is ours, quiet when nobody else has it.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { after, before, describe, it, test } from 'node:test';
import {
  conflictToolWarnings,
  normalMac,
  otherMacs,
  parseArpingDad,
  parseLinkMacs,
  parseNdisc6,
  parseProbe,
  probeCommand,
} from '../../src/vip/conflict.ts';
import { findExecutable, type GarpOptions } from '../../src/vip/garp.ts';
import { VipManager, type VipEvent } from '../../src/vip/manager.ts';
import { formatMetrics } from '../../src/api/metrics.ts';
import { EventLog, categoryOf, describeEvent } from '../../src/daemon/events.ts';
import { Lab, labUnavailable, sleep } from './vip-netns.ts';

interface Sample {
  name: string;
  argv: string[];
  exit: number;
  stdout: string;
  stderr: string;
}
const FIX = JSON.parse(readFileSync(new URL('./fixtures/conflict-probes.json', import.meta.url), 'utf8')) as { samples: Sample[] };
const sample = (name: string): Sample => {
  const s = FIX.samples.find((x) => x.name === name);
  assert.ok(s, `fixture ${name}`);
  return s;
};
const V4 = '192.0.2.150';
const V6 = '2001:db8::150';
const HOLDER = '02:50:00:00:01:11';
const ROGUE = '02:50:00:00:01:12';
const parsed = (name: string) => {
  const s = sample(name);
  return parseProbe(s.argv.includes(V6) ? V6 : V4, s.exit, s.stdout, s.stderr);
};

test('probeCommand: the exact commands the fixtures were captured with; null without the tool', () => {
  const paths = { arpingPath: 'arping', ndisc6Path: 'ndisc6' };
  for (const name of ['arping-free', 'arping-conflict', 'ndisc6-free', 'ndisc6-conflict']) {
    const s = sample(name);
    const [bin, args] = probeCommand('eth0', s.argv.includes(V6) ? V6 : V4, paths)!;
    assert.deepEqual([bin, ...args], s.argv, name);
  }
  assert.deepEqual(probeCommand('eth0', V4, { arpingPath: '/usr/bin/arping' }, 'ns1'), ['ip', ['netns', 'exec', 'ns1', '/usr/bin/arping', '-D', '-c', '1', '-w', '1', '-I', 'eth0', V4]]);
  assert.equal(probeCommand('eth0', V6, { arpingPath: 'arping', ndisc6Path: null }), null);
  assert.equal(probeCommand('eth0', V4, { arpingPath: null, ndisc6Path: 'ndisc6' }), null);
});

test('parsing real output: nobody else, a rogue, two answers, no device, link down', () => {
  assert.deepEqual(parsed('arping-free'), { ok: true, macs: [] });
  assert.deepEqual(parsed('ndisc6-free'), { ok: true, macs: [] });
  assert.deepEqual(parsed('arping-conflict'), { ok: true, macs: [ROGUE] });
  assert.deepEqual(parsed('ndisc6-conflict'), { ok: true, macs: [ROGUE] });
  // A third host's view while holder and rogue both have it: arping -D stops at the first
  // reply, ndisc6 -m lists both.
  assert.deepEqual(parsed('arping-client-both'), { ok: true, macs: [ROGUE] });
  assert.deepEqual(parsed('ndisc6-client-both'), { ok: true, macs: [ROGUE, HOLDER] });
  const err = (name: string, re: RegExp) => {
    const r = parsed(name);
    assert.equal(r.ok, false, name);
    assert.match((r as { error: string }).error, re, name);
  };
  err('arping-no-device', /^arping exit 2: arping: Device eth9 not available\.$/);
  err('ndisc6-no-device', /^ndisc6 exit 1: eth9: No such device$/);
  err('arping-link-down', /^arping exit 2: Interface "eth0" is down$/);
  err('ndisc6-link-down', /^ndisc6 exit 1: Sending ICMPv6 packet: Network is unreachable; Soliciting/);
});

test('parsing: answers about another address, unreadable answers and a killed probe are never a conflict', () => {
  const s = sample('arping-conflict');
  // the reply is about 192.0.2.150: probing .151 with that output is not "answered"
  assert.equal(parseArpingDad('192.0.2.151', s.exit, s.stdout, s.stderr).ok, false);
  assert.equal(parseArpingDad(V4, 1, '', '').ok, false);
  assert.equal(parseArpingDad(V4, null, '', '').ok, false);
  assert.equal(parseNdisc6(0, 'Soliciting 2001:db8::150 (2001:db8::150) on eth0...\n', '').ok, false);
  assert.equal(parseNdisc6(2, '', 'something else\n').ok, false, 'exit 2 without "No response." is a failure');
  assert.equal(parseNdisc6(null, '', '').ok, false);
  // upper case and one-digit bytes are one spelling
  assert.deepEqual(parseNdisc6(0, 'Target link-layer address: 2:50:0:0:1:AB\n from 2001:db8::150\n', ''), { ok: true, macs: ['02:50:00:00:01:ab'] });
  assert.deepEqual(parseArpingDad(V4, 1, 'Broadcast reply from 192.0.2.150 [02:50:00:00:01:AB]  1.1ms\nUnicast reply from 192.0.2.150 [02:50:00:00:01:ab]  1.2ms\n', ''), { ok: true, macs: ['02:50:00:00:01:ab'] });
});

test('own MACs: from ip -j link show (every interface, no all-zero address); answers from them are dropped', () => {
  const own = parseLinkMacs(sample('ip-link-show').stdout);
  assert.deepEqual(own, [HOLDER]);
  assert.deepEqual(parseLinkMacs('[{"ifname":"sit0","address":"0.0.0.0"},{"ifname":"wlan0","address":"DC:A6:32:01:02:03"}]'), ['dc:a6:32:01:02:03']);
  assert.deepEqual(otherMacs([HOLDER.toUpperCase(), ROGUE], own), [ROGUE]);
  assert.deepEqual(otherMacs([HOLDER], own), []);
  assert.equal(normalMac('2:A:0:0:1:b'), '02:0a:00:00:01:0b');
});

test('a missing tool is one warning per family, only for families configured', () => {
  assert.deepEqual(conflictToolWarnings([V4], { arpingPath: '/usr/bin/arping', ndisc6Path: null }), []);
  assert.deepEqual(
    conflictToolWarnings([V4, V6], { arpingPath: '/usr/bin/arping', ndisc6Path: null }).map((w) => [w.family, w.message]),
    [['ipv6', 'address conflict detection for IPv6 VIPs is off: ndisc6 is not installed (apt-get install ndisc6)']],
  );
  assert.deepEqual(conflictToolWarnings([V4, V6], { arpingPath: null, ndisc6Path: null }).map((w) => w.family), ['ipv4', 'ipv6']);
  assert.deepEqual(conflictToolWarnings([], {}), []);
});

test('metric piha_vip_conflicts_total{resource,ip} and the vip_conflict event', () => {
  const text = formatMetrics({
    quorate: true, nodesOnline: 3, votes: 3, expectedVotes: 3, vips: [], resourceFailCounts: {}, failoversTotal: 0, vipLapsesTotal: 0,
    packetsReceivedTotal: 0, packetsSentTotal: 0, packetsRejectedTotal: {}, heartbeatRttSeconds: {}, coordinator: false,
    term: 1, loopLagSeconds: 0, residentMemoryBytes: 1,
    vipConflictsTotal: [{ resource: 'api', ip: V4, count: 2 }, { resource: 'api6', ip: V6, count: 0 }],
  });
  assert.match(text, /# TYPE piha_vip_conflicts_total counter\n/);
  assert.match(text, /\npiha_vip_conflicts_total\{resource="api",ip="192\.0\.2\.150"\} 2\n/);
  assert.match(text, /\npiha_vip_conflicts_total\{resource="api6",ip="2001:db8::150"\} 0\n/);

  assert.equal(categoryOf('vip_conflict', 'warn'), 'vip');
  assert.equal(categoryOf('vip_conflict_cleared', 'info'), 'vip');
  const log = new EventLog({ context: () => ({ term: 4 }) });
  const ev = log.record({ level: 'warn', event: 'vip_conflict', fields: { node: 'node1', resource: 'api', ip: V4, mac: ROGUE, macs: [ROGUE], reannounced: true, count: 1 } });
  assert.ok(ev);
  assert.equal(ev.resource, 'api');
  assert.equal(ev.ip, V4);
  assert.deepEqual(ev.fields.macs, [ROGUE]);
  assert.equal(ev.message, `api (${V4}) is answered by another host on the LAN too (${ROGUE}; not a cluster member): node1 re-announced it`);
  assert.match(describeEvent('vip_conflict_cleared', { node: 'node1', resource: 'api', ip: V4 }), /no other host answers for it any more/);
});

// ---------------------------------------------------------------- namespace pair

const skip = labUnavailable() ?? (findExecutable('ndisc6') ? false : 'needs ndisc6 (apt-get install ndisc6)');
const now = (): number => performance.now();
type Conflict = Extract<VipEvent, { type: 'conflict' }>;
/** Seconds of the day of a tcpdump line ("HH:MM:SS.ffffff ..."). */
const timeOfDay = (l: string): number => {
  const m = /^(\d\d):(\d\d):(\d\d\.\d+) /.exec(l);
  assert.ok(m, l);
  return Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3]);
};

describe('conflict detection in a namespace pair (the client plays a rogue host)', { skip }, () => {
  let lab: Lab;
  let nodeMac: string;
  let clientMac: string;
  const managers: VipManager[] = [];
  const tools = { arpingPath: findExecutable('arping'), ndisc6Path: findExecutable('ndisc6') };
  const manager = (events: VipEvent[], garp: GarpOptions = {}, ownMacs?: () => Promise<string[]>): VipManager => {
    const m = new VipManager({
      ifname: 'eth0',
      now,
      netns: lab.node,
      garp: { secondBurstDelayMs: 0, refreshIntervalMs: 1200, conflict: tools, ...garp },
      onEvent: (e) => events.push(e),
      ownMacs,
    });
    managers.push(m);
    return m;
  };
  const conflicts = (events: VipEvent[], ip: string): Conflict[] => events.filter((e): e is Conflict => e.type === 'conflict' && e.ip === ip);
  const waitFor = async (what: string, f: () => boolean, ms: number): Promise<void> => {
    const t0 = now();
    while (!f()) {
      if (now() - t0 > ms) throw new Error(`timeout waiting for ${what}`);
      await sleep(20);
    }
  };

  before(() => {
    lab = new Lab();
    lab.enableIPv6();
    nodeMac = lab.nodeMac();
    clientMac = (JSON.parse(lab.ip(lab.client, '-j', 'link', 'show', 'dev', 'eth0'))[0] as { address: string }).address;
  });
  after(async () => {
    for (const m of managers) await m.close();
    lab?.destroy();
  });

  for (const ip of [V4, V6]) {
    const res = { name: ip.includes(':') ? 'api6' : 'api', ip, cidr: ip.includes(':') ? 128 : 32 };
    const rogueAdd = () => lab.ip(lab.client, 'addr', 'add', `${ip}/${res.cidr}`, 'dev', 'eth0', ...(ip.includes(':') ? ['nodad'] : []));
    const rogueDel = () => lab.ip(lab.client, 'addr', 'del', `${ip}/${res.cidr}`, 'dev', 'eth0');

    it(`${ip}: nobody else has it: probes run, no conflict`, async () => {
      const events: VipEvent[] = [];
      const m = manager(events);
      try {
        assert.equal(await m.acquire(res, 30, now() + 1000), 'added');
        await waitFor('three probe results', () => conflicts(events, ip).length >= 3, 12_000);
        for (const c of conflicts(events, ip)) assert.deepEqual(c, { type: 'conflict', resource: res.name, ip, ok: true, others: [], reannounced: false });
        assert.equal(m.counters.conflicts, 0);
        assert.ok(m.counters.conflictProbes >= 3);
      } finally {
        await m.release(res);
      }
    });

    it(`${ip}: a rogue host with the VIP is reported with its MAC and answered with a burst, at most one per gap`, async () => {
      const events: VipEvent[] = [];
      const cap = await lab.capture(ip.includes(':') ? 'icmp6 and ip6[40] == 136' : 'arp');
      const m = manager(events, { burstCount: 3, burstIntervalMs: 100, conflictBurstGapMs: 60_000 });
      rogueAdd();
      try {
        assert.equal(await m.acquire(res, 30, now() + 1000), 'added');
        await waitFor('two conflicts', () => conflicts(events, ip).filter((c) => c.ok && c.others.length).length >= 2, 12_000);
        const [first, second] = conflicts(events, ip).filter((c) => c.ok && c.others.length);
        assert.deepEqual(first, { type: 'conflict', resource: res.name, ip, ok: true, others: [clientMac], reannounced: true });
        assert.deepEqual(second, { type: 'conflict', resource: res.name, ip, ok: true, others: [clientMac], reannounced: false }, 'the second burst within the gap is withheld');
        assert.equal(m.counters.conflictBursts, 1);
        await sleep(800);
        // The node's announcements, by tcpdump's time stamps: the takeover burst (3, 100 ms
        // apart), one per refresh (1.2 s apart), and the conflict burst: 3 within half a
        // second, at least a second after the takeover burst.
        const times = cap
          .lines()
          .filter((l) => l.includes(` ${nodeMac} > `) && (ip.includes(':') ? /neighbor advertisement, .*tgt is 2001:db8::150, Flags \[override\]/.test(l) : /Request who-has 192\.0\.2\.150 \(ff:ff:ff:ff:ff:ff\) tell 192\.0\.2\.150,/.test(l)))
          .map(timeOfDay);
        assert.ok(times.length >= 3, cap.lines().join('\n'));
        const later = times.filter((t) => t > times[0]! + 1);
        assert.ok(later.some((t) => later.filter((u) => u >= t && u < t + 0.5).length >= 3), `no conflict burst among ${times.map((t) => (t - times[0]!).toFixed(3)).join(' ')}`);
        // The rogue leaves: a later probe reports nobody else.
        rogueDel();
        const n = conflicts(events, ip).length;
        await waitFor('a clean probe after the rogue left', () => conflicts(events, ip).slice(n).some((c) => c.ok && c.others.length === 0), 8000);
      } finally {
        await cap.stop();
        try {
          rogueDel();
        } catch {
          /* already gone */
        }
        await m.release(res);
      }
    });

    it(`${ip}: an answer carrying one of this host's MACs is not a conflict`, async () => {
      const events: VipEvent[] = [];
      // Pretend the client's MAC is ours (a second interface of this host on the same LAN).
      const m = manager(events, { conflictBurstGapMs: 0 }, async () => [nodeMac, clientMac.toUpperCase()]);
      rogueAdd();
      try {
        assert.equal(await m.acquire(res, 30, now() + 1000), 'added');
        await waitFor('two probe results', () => conflicts(events, ip).length >= 2, 12_000);
        for (const c of conflicts(events, ip)) assert.deepEqual(c, { type: 'conflict', resource: res.name, ip, ok: true, others: [], reannounced: false });
        assert.equal(m.counters.conflictBursts, 0);
      } finally {
        rogueDel();
        await m.release(res);
      }
    });
  }

  it('without a tool for the family nothing is probed; a release kills a probe in flight and nothing is reported after', async () => {
    const events: VipEvent[] = [];
    const m = manager(events, { conflict: { arpingPath: tools.arpingPath, ndisc6Path: null }, refreshIntervalMs: 300 });
    const r6 = { name: 'api6', ip: V6, cidr: 128 };
    const r4 = { name: 'api', ip: V4, cidr: 32 };
    try {
      assert.equal(await m.acquire(r6, 30, now() + 1000), 'added');
      await sleep(1000);
      assert.equal(m.counters.conflictProbes, 0);
      await m.release(r6);
      assert.equal(await m.acquire(r4, 30, now() + 1000), 'added');
      await waitFor('a probe in flight', () => m.counters.conflictProbes >= 1, 3000);
      await m.release(r4); // arping -D waits 1 s for an answer: still running now
      const n = events.filter((e) => e.type === 'conflict').length;
      await sleep(1500);
      assert.equal(events.filter((e) => e.type === 'conflict').length, n, 'no probe result after the release');
      assert.equal(conflicts(events, V6).length, 0);
    } finally {
      await m.release(r4);
    }
  });
});
