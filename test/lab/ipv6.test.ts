// IPv6 VIPs with real daemons (issue 10, item 4). The lab's namespaces get 2001:db8::/64
// addresses (Lab ipv6); the VIP is 2001:db8::150 (default prefix /128). Checked: exactly one
// holder (ip monitor on every node: never two holders, 0 ms), the address as the kernel holds
// it (nodad, deprecated, a lifetime of about 1 s), /healthz and /metrics through the IPv6 VIP
// from the client, status/metrics/events/hooks naming it, unsolicited neighbour
// advertisements seen by the client (tcpdump) at takeover, and after a power cut of the holder
// the client's neighbour cache holds the new holder's MAC without the client having sent a
// multicast neighbour solicitation (it never had to re-resolve). Then the same next to an IPv4
// VIP, and a holder hung as a whole (daemon + guard frozen): the kernel lifetime alone drops
// the IPv6 address before a peer takes it.

import assert from 'node:assert/strict';
import { chmodSync, existsSync, readFileSync, writeFileSync, appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { requireLab, now, sleep, until, type Lab, type LabProcess } from './lab.ts';
import { LabCluster, VIP } from './cluster.ts';
import { findExecutable } from '../../src/vip/garp.ts';

const VIP6 = '2001:db8::150';

const holderOf = (body: unknown): string => {
  try {
    return JSON.parse(String(body)).node as string;
  } catch {
    return '';
  }
};

interface NdPacket {
  /** When the packet crossed the client's interface (tcpdump's stamp), on the now() clock. */
  t: number;
  kind: 'na' | 'ns';
  srcMac: string;
  dstMac: string;
  src: string;
  dst: string;
  target: string;
  flags: string;
}

// tcpdump -l -n -e -vv, first line of each packet:
//   12:00:00.000000 02:50:00:00:00:11 > 33:33:00:00:00:01, ethertype IPv6 (0x86dd), length 86: (hlim 255, next-header ICMPv6 (58) payload length: 32) 2001:db8::150 > ff02::1: [icmp6 sum ok] ICMP6, neighbor advertisement, length 32, tgt is 2001:db8::150, Flags [override]
//   ... 2001:db8::2 > ff02::1:ff00:150: [icmp6 sum ok] ICMP6, neighbor solicitation, length 32, who has 2001:db8::150
const ND_LINE =
  /^(\d\d):(\d\d):(\d\d\.\d+) (\S+) > (\S+), ethertype IPv6.*\) (\S+) > (\S+): \[icmp6 sum ok\] ICMP6, neighbor (advertisement|solicitation), length \d+, (?:tgt is|who has) ([0-9a-f:]+)(?:, Flags \[([^\]]*)\])?/;

/** Neighbour discovery (NS and NA) as the client sees it, stamped with now() on arrival. */
async function captureNd(lab: Lab): Promise<{ packets: NdPacket[]; proc: LabProcess }> {
  const proc = lab.spawn(lab.client.ns, ['tcpdump', '-l', '-n', '-e', '-vv', '-i', 'eth0', 'icmp6 and (ip6[40] == 135 or ip6[40] == 136)'], { name: 'tcpdump-nd@client' });
  const packets: NdPacket[] = [];
  proc.onLine((line, stream) => {
    if (stream !== 'stdout') return;
    const m = ND_LINE.exec(line);
    if (m) {
      const t = monoOfTimeOfDay(Number(m[1]), Number(m[2]), Number(m[3]));
      packets.push({ t, srcMac: m[4]!, dstMac: m[5]!, src: m[6]!, dst: m[7]!, kind: m[8] === 'advertisement' ? 'na' : 'ns', target: m[9]!, flags: m[10] ?? '' });
    }
  });
  await proc.waitForLine(/listening on/, 5000, 'stderr');
  return { packets, proc };
}

/** tcpdump prints local wall-clock time of day; its line reaches us later (pipe, buffering). */
function monoOfTimeOfDay(h: number, m: number, sec: number): number {
  const wall = Date.now();
  const d = new Date(wall);
  d.setHours(h, m, 0, 0);
  let at = d.getTime() + sec * 1000;
  if (at - wall > 12 * 3600_000) at -= 86_400_000; // around midnight
  if (wall - at > 12 * 3600_000) at += 86_400_000;
  return now() - (wall - at);
}

async function waitOnline(c: LabCluster, node: string, n: number, timeoutMs = 10_000): Promise<void> {
  const t0 = now();
  for (;;) {
    const s = await c.statusJson(node).catch(() => null);
    if (s && s.quorate && s.nodes.filter((x: any) => x.state === 'online').length === n) return;
    if (now() - t0 > timeoutMs) throw new Error(`${n} nodes not online within ${timeoutMs} ms: ${JSON.stringify(s?.nodes)}`);
    await sleep(100);
  }
}

async function needNa6(t: { skip(m?: string): void }): Promise<boolean> {
  if (!(await requireLab(t))) return false;
  if (findExecutable('na6') && findExecutable('tcpdump')) return true;
  const msg = 'IPv6 lab tests need na6 and tcpdump (apt-get install ipv6toolkit tcpdump)';
  if (process.env.PIHA_LAB_REQUIRED === '1' || process.env.CI) throw new Error(msg);
  t.skip(msg);
  return false;
}

const v6res = (name = 'api6') => `  - name: ${name}
    ip: ${VIP6}
    monitor_interval: 1s`;
const v4res = `  - name: vip
    ip: ${VIP}
    monitor_interval: 1s`;

async function curl(lab: Lab, url: string): Promise<string> {
  const r = await lab.exec(lab.client.ns, ['curl', '-g', '-sS', '--max-time', '3', url], { timeoutMs: 8000 });
  if (r.code !== 0) throw new Error(`curl ${url} failed: ${r.stderr}`);
  return r.stdout;
}

async function clientNeighMac(lab: Lab, ip: string): Promise<string | undefined> {
  const r = await lab.execOk(lab.client.ns, ['ip', '-j', '-6', 'neigh', 'show', ip, 'dev', 'eth0']);
  return (JSON.parse(r.stdout || '[]') as { lladdr?: string }[])[0]?.lladdr;
}

test('IPv6 VIP: one holder, /healthz over [2001:db8::150], NA on takeover, power cut moves it (0 ms two holders), neighbour cache follows', { timeout: 120_000 }, async (t) => {
  if (!(await needNa6(t))) return;
  const c = await LabCluster.create({ ipv6: true, resources: v6res() });
  const hookOut = join(c.dir, 'hooks.txt');
  const hook = join(c.dir, 'hook.sh');
  writeFileSync(hook, `#!/bin/sh\necho "$PIHA_EVENT $PIHA_VIP $PIHA_NODE" >> ${hookOut}\n`);
  chmodSync(hook, 0o755);
  appendFileSync(c.configFile(), `hooks:\n  on_acquire: ${hook}\n`);
  const w = c.lab.watchAddress(VIP6);
  const nd = await captureNd(c.lab);
  let p: ReturnType<Lab['probe']> | undefined;
  try {
    await w.ready;
    await c.startAll();
    const h = await c.waitForHolder(w, 15000);
    const hMac = c.lab.node(h).mac;
    const tAcq = w.intervals()[h]![0]![0];

    // Unsolicited NA at takeover: from the holder's MAC to all nodes, Override set, target the VIP.
    const na = await until('an unsolicited NA from the holder', () => nd.packets.find((x) => x.kind === 'na' && x.srcMac === hMac && x.target === VIP6), 3000);
    t.diagnostic(`first NA ${(na.t - tAcq).toFixed(0)} ms after the address appeared on ${h}`);
    assert.equal(na.dst, 'ff02::1');
    assert.equal(na.dstMac, '33:33:00:00:00:01');
    assert.equal(na.src, VIP6);
    assert.match(na.flags, /override/);
    assert.doesNotMatch(na.flags, /solicited/);

    // The address as the kernel holds it: nodad, deprecated, the lan profile's 1 s lifetime.
    const a = await c.lab.execOk(c.lab.node(h).ns, ['ip', '-6', 'addr', 'show', 'dev', 'eth0']);
    const line = a.stdout.split('\n').findIndex((l) => l.includes(`inet6 ${VIP6}/128 `));
    assert.ok(line >= 0, a.stdout);
    assert.match(a.stdout.split('\n')[line]!, /nodad/);
    assert.match(a.stdout.split('\n')[line]!, /deprecated/);
    assert.match(a.stdout.split('\n')[line + 1]!, /valid_lft [01]sec preferred_lft 0sec/);

    // The daemon answers through the IPv6 VIP (status server on :: by default).
    assert.equal(JSON.parse(await curl(c.lab, `http://[${VIP6}]:9405/healthz`)).node, h);
    const metrics = await curl(c.lab, `http://[${VIP6}]:9405/metrics`);
    assert.match(metrics, new RegExp(`piha_vip_held\\{resource="api6",ip="${VIP6}"\\} 1`));
    const s = await c.statusJson('node1');
    assert.equal(s.resources[0].ip, VIP6);
    assert.equal(s.resources[0].cidrNetmask, 128);
    assert.equal(s.resources[0].holder, h);
    const text = await c.cli('node2', ['status']);
    assert.match(text.stdout, new RegExp(`api6\\s+\\(vip 2001:db8::150/128\\):\\s+Started ${h}`));
    // ...and over IPv4 too (the :: socket is dual-stack).
    assert.equal(JSON.parse(await curl(c.lab, `http://${c.lab.node(h).addr}:9405/healthz`)).node, h);

    p = c.lab.probe({ ip: VIP6, port: 9405, path: '/healthz', everyMs: 5, maxDurationMs: 90_000 });
    await p.waitFor((x) => x.ok, 5000);
    assert.equal(await clientNeighMac(c.lab, VIP6), hMac);

    // Power cut of the holder.
    const t0 = now();
    await c.lab.linkDown(h);
    c.lab.kill(c.daemons.get(h)!.pid, 'SIGKILL');
    const s2 = await p.waitFor((x) => x.ok && x.t > t0 && holderOf(x.body) !== h, 8000);
    const by = holderOf(s2.body);
    const ms = s2.t - t0;
    // the prober and the address watcher are separate processes: the watcher's line can lag
    await w.waitForHolders([by], 3000);
    const removed = w.intervals()[h]!.at(-1)![1];
    const added = w.intervals()[by]!.at(-1)![0];
    t.diagnostic(`power cut of ${h}: answered by ${by} after ${ms.toFixed(0)} ms; address gone from ${h} at +${removed === null ? '?' : (removed - t0).toFixed(0)} ms (guard), on ${by} at +${(added - t0).toFixed(0)} ms`);
    assert.ok(ms < 3000, `takeover took ${ms} ms`);
    const byMac = c.lab.node(by).mac;
    const na2 = await until(`an NA from the new holder ${by}`, () => nd.packets.find((x) => x.kind === 'na' && x.t > t0 && x.srcMac === byMac && x.target === VIP6), 3000);
    t.diagnostic(`NA from ${by} ${(na2.t - added).toFixed(0)} ms after it added the address; the client's first answer from ${by} ${(s2.t - na2.t).toFixed(0)} ms after that NA`);
    await sleep(300); // tcpdump's lines lag behind the packets
    assert.equal(await clientNeighMac(c.lab, VIP6), byMac, 'the client\'s neighbour entry points at the new holder');
    // The client's own solicitations only: holders also probe for conflicts (conflict.ts).
    const solicits = nd.packets.filter((x) => x.kind === 'ns' && x.srcMac === c.lab.client.mac && x.t > t0 && x.t <= s2.t && x.target === VIP6 && x.dst.startsWith('ff02:'));
    assert.deepEqual(solicits, [], 'the client never re-resolved the VIP by multicast solicitation before the new holder answered');

    // Events and hooks name the IPv6 VIP.
    const ev = await c.cli(by, ['events', '--json']);
    const acquired = ev.stdout.trim().split('\n').map((l) => JSON.parse(l)).filter((e) => e.type === 'vip_acquired' && e.node === by);
    assert.ok(acquired.some((e) => e.ip === VIP6), ev.stdout.slice(-2000));
    const runs = await until('the on_acquire hook on the new holder', () => existsSync(hookOut) && readFileSync(hookOut, 'utf8').includes(`vip_acquired ${VIP6} ${by}`), 8000);
    assert.ok(runs);
    assert.equal(w.overlapMs(), 0, `two nodes held the VIP at once: ${JSON.stringify(w.overlaps())}`);
  } catch (e) {
    console.log(c.logs(30));
    throw e;
  } finally {
    await p?.stop();
    await w.stop();
    await c.destroy();
  }
});

test('IPv6 and IPv4 VIPs side by side: both answer, NA only for the IPv6 one, power cut and clean stop move the IPv6 VIP, never two holders', { timeout: 120_000 }, async (t) => {
  if (!(await needNa6(t))) return;
  const c = await LabCluster.create({ ipv6: true, resources: `${v4res}\n${v6res()}` });
  const w4 = c.lab.watchAddress(VIP);
  const w6 = c.lab.watchAddress(VIP6);
  const nd = await captureNd(c.lab);
  let p: ReturnType<Lab['probe']> | undefined;
  try {
    await Promise.all([w4.ready, w6.ready]);
    await c.startAll();
    const h4 = await c.waitForHolder(w4, 15000);
    const h6 = await c.waitForHolder(w6, 15000);
    t.diagnostic(`placed: vip (${VIP}) on ${h4}, api6 (${VIP6}) on ${h6}`);
    assert.equal(JSON.parse(await curl(c.lab, `http://${VIP}:9405/healthz`)).node, h4);
    assert.equal(JSON.parse(await curl(c.lab, `http://[${VIP6}]:9405/healthz`)).node, h6);
    const s = await c.statusJson(h4);
    assert.deepEqual(
      s.resources.map((r: any) => `${r.name} ${r.ip}/${r.cidrNetmask} ${r.holder}`).sort(),
      [`api6 ${VIP6}/128 ${h6}`, `vip ${VIP}/32 ${h4}`],
    );
    await until('an NA for the IPv6 VIP', () => nd.packets.some((x) => x.kind === 'na' && x.target === VIP6), 3000);
    const unsolicited = nd.packets.filter((x) => x.kind === 'na' && !/solicited/.test(x.flags));
    assert.deepEqual([...new Set(unsolicited.map((x) => `${x.src} -> ${x.target}`))], [`${VIP6} -> ${VIP6}`], 'unsolicited NAs only for the IPv6 VIP, from it');

    p = c.lab.probe({ ip: VIP6, port: 9405, path: '/healthz', everyMs: 5, maxDurationMs: 90_000 });
    await p.waitFor((x) => x.ok, 5000);

    // Power cut of the IPv6 VIP's holder.
    let t0 = now();
    await c.lab.linkDown(h6);
    c.lab.kill(c.daemons.get(h6)!.pid, 'SIGKILL');
    let s2 = await p.waitFor((x) => x.ok && x.t > t0 && holderOf(x.body) !== h6, 8000);
    const by = holderOf(s2.body);
    t.diagnostic(`power cut of ${h6}: ${VIP6} answered by ${by} after ${(s2.t - t0).toFixed(0)} ms`);
    assert.ok(s2.t - t0 < 3000, `takeover took ${s2.t - t0} ms`);
    const h4after = await c.waitForHolder(w4, 8000);
    if (h4 !== h6) assert.equal(h4after, h4, 'the IPv4 VIP on another node did not move');
    assert.equal(JSON.parse(await curl(c.lab, `http://${VIP}:9405/healthz`)).node, h4after);

    // Bring the cut node back (link up, daemon restarted) so that a clean stop leaves a quorum.
    await c.lab.linkUp(h6);
    c.start(h6);
    await waitOnline(c, by, 3);
    await sleep(2000); // a restarted node stays quiet for a lease before it may hold anything

    // Clean stop of the new IPv6 holder: release + NA from the next one, near-instant.
    t0 = now();
    c.daemons.get(by)!.signal('SIGTERM');
    s2 = await p.waitFor((x) => x.ok && x.t > t0 && holderOf(x.body) !== by, 5000);
    const next = holderOf(s2.body);
    t.diagnostic(`clean stop of ${by}: ${VIP6} answered by ${next} after ${(s2.t - t0).toFixed(0)} ms`);
    assert.ok(s2.t - t0 < 1000, `switchover took ${s2.t - t0} ms`);
    assert.equal((await c.daemons.get(by)!.wait(5000))?.code, 0);
    await w6.waitForHolders([next], 3000);
    await until('an NA from the next holder', () => nd.packets.some((x) => x.kind === 'na' && x.t > t0 && x.srcMac === c.lab.node(next).mac && x.target === VIP6), 3000);
    assert.equal(await clientNeighMac(c.lab, VIP6), c.lab.node(next).mac);
    assert.equal(w6.overlapMs(), 0, `two nodes held ${VIP6} at once: ${JSON.stringify(w6.overlaps())}`);
    assert.equal(w4.overlapMs(), 0, `two nodes held ${VIP} at once: ${JSON.stringify(w4.overlaps())}`);
  } catch (e) {
    console.log(c.logs(30));
    throw e;
  } finally {
    await p?.stop();
    await Promise.all([w4.stop(), w6.stop()]);
    await c.destroy();
  }
});

test('IPv6 VIP, holder hung as a whole (daemon and address guard frozen): the kernel lifetime drops the address before a peer takes it', { timeout: 120_000 }, async (t) => {
  if (!(await needNa6(t))) return;
  const c = await LabCluster.create({ ipv6: true, resources: v6res() });
  const w = c.lab.watchAddress(VIP6);
  try {
    await w.ready;
    await c.startAll();
    const h = await c.waitForHolder(w, 15000);
    await sleep(1500); // a few refreshes
    const t0 = now();
    c.daemons.get(h)!.signalGroup('SIGSTOP'); // daemon, guard and ip batch: nothing of piha runs on h
    const by = await c.waitForHolder(w, 10000, h);
    const gone = w.intervals()[h]!.at(-1)![1]!;
    const added = w.intervals()[by]!.at(-1)![0];
    t.diagnostic(`frozen ${h}: the kernel removed ${VIP6} at +${(gone - t0).toFixed(0)} ms, ${by} added it at +${(added - t0).toFixed(0)} ms`);
    assert.ok(gone - t0 < 1000 + 300 + 100, `the kernel kept the address ${(gone - t0).toFixed(0)} ms`);
    assert.ok(added >= gone, 'taken only after the kernel dropped it');
    c.daemons.get(h)!.signalGroup('SIGCONT');
    await sleep(2500); // the resumed node must not take the address back
    assert.deepEqual(w.holders(), [by]);
    assert.equal(w.overlapMs(), 0, `two nodes held the VIP at once: ${JSON.stringify(w.overlaps())}`);
  } catch (e) {
    console.log(c.logs(30));
    throw e;
  } finally {
    await w.stop();
    await c.destroy();
  }
});
