// Address conflicts with real daemons (issue 10): another host on the LAN answering for a VIP
// the cluster holds. A 3-node cluster holds an IPv4 and an IPv6 VIP; the client namespace then
// plays a rogue host: it adds the same addresses and announces itself (arping -U, na6), so a
// cluster node's neighbour cache (the "observer", a node that does not hold the VIP) points to
// the rogue. Within one announcement period (10 s here) the holder's probe (arping -D /
// ndisc6) hears the rogue: `vip_conflict` with the rogue's MAC in `piha events`, the counter
// piha_vip_conflicts_total, a re-announcement burst on the wire, the observer's cache back on
// the holder; the holder keeps the VIP (never two cluster holders); when the rogue leaves,
// `vip_conflict_cleared`. And a cluster with no rogue: probes go out every 10 s, and over
// ~25 s nothing is reported (no false positives from our own replies).
//
// The period is the resource's garp_refresh (default 30 s): the timings below assume one
// probe per PERIOD_MS, so both VIPs set garp_refresh: 10s explicitly.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { requireLab, now, sleep, until, type Lab, type LabProcess } from './lab.ts';
import { LabCluster, VIP } from './cluster.ts';
import { findExecutable } from '../../src/vip/garp.ts';

const VIP6 = '2001:db8::150';
/** The announcement (and probe) period the resources below set with garp_refresh. */
const PERIOD_MS = 10_000;
const RESOURCES = `  - name: vip
    ip: ${VIP}
    monitor_interval: 1s
    garp_refresh: ${PERIOD_MS / 1000}s
  - name: api6
    ip: ${VIP6}
    monitor_interval: 1s
    garp_refresh: ${PERIOD_MS / 1000}s`;

async function needTools(t: { skip(m?: string): void }): Promise<boolean> {
  if (!(await requireLab(t))) return false;
  if (['na6', 'ndisc6', 'tcpdump', 'arping'].every((x) => findExecutable(x))) return true;
  const msg = 'the conflict lab needs arping, na6, ndisc6 and tcpdump (apt-get install iputils-arping ipv6toolkit ndisc6 tcpdump)';
  if (process.env.PIHA_LAB_REQUIRED === '1' || process.env.CI) throw new Error(msg);
  t.skip(msg);
  return false;
}

interface Packet {
  /** tcpdump's time stamp, seconds of the day. */
  s: number;
  /** now() when the line arrived here. */
  at: number;
  srcMac: string;
  line: string;
}

/** ARP and neighbour discovery as the client sees it (tcpdump -e -n -vv). */
async function capture(lab: Lab): Promise<{ packets: Packet[]; proc: LabProcess }> {
  const proc = lab.spawn(lab.client.ns, ['tcpdump', '-l', '-n', '-e', '-vv', '-i', 'eth0', 'arp or (icmp6 and (ip6[40] == 135 or ip6[40] == 136))'], { name: 'tcpdump@client' });
  const packets: Packet[] = [];
  proc.onLine((line, stream) => {
    const m = /^(\d\d):(\d\d):(\d\d\.\d+) (\S+) > /.exec(line);
    if (stream === 'stdout' && m) packets.push({ s: Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3]), at: now(), srcMac: m[4]!, line });
  });
  await proc.waitForLine(/listening on/, 5000, 'stderr');
  return { packets, proc };
}

// What the holders send, as tcpdump -vv prints it:
//   ARP probe (arping -D):  Request who-has 192.0.2.150 tell 0.0.0.0, length 28
//   gratuitous ARP (-U):    Request who-has 192.0.2.150 (ff:ff:ff:ff:ff:ff) tell 192.0.2.150, length 28
//   NS probe (ndisc6):      fe80::... > ff02::1:ff00:150: ... neighbor solicitation, length 32, who has 2001:db8::150
//   unsolicited NA (na6):   2001:db8::150 > ff02::1: ... neighbor advertisement, length 32, tgt is 2001:db8::150, Flags [override]
const isArpProbe = (l: string): boolean => new RegExp(`Request who-has ${VIP.replace(/\./g, '\\.')} (\\(\\S+\\) )?tell 0\\.0\\.0\\.0,`).test(l);
const isGarp = (l: string): boolean => new RegExp(`Request who-has ${VIP.replace(/\./g, '\\.')} \\(ff:ff:ff:ff:ff:ff\\) tell ${VIP.replace(/\./g, '\\.')},`).test(l);
const isNsProbe = (l: string): boolean => l.includes('neighbor solicitation') && l.includes(`who has ${VIP6}`) && / fe80::\S+ > ff02::1:ff00:150:/.test(l);
const isUnsolicitedNa = (l: string): boolean => l.includes('neighbor advertisement') && l.includes(`tgt is ${VIP6}, Flags [override]`) && l.includes(` ${VIP6} > ff02::1:`);

async function events(c: LabCluster, node: string): Promise<any[]> {
  const r = await c.cli(node, ['events', '--json']);
  if (r.code !== 0) throw new Error(`piha events on ${node} failed: ${r.stderr}`);
  return r.stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
}

async function neighMac(lab: Lab, member: string, ip: string): Promise<string | undefined> {
  const r = await lab.execOk(lab.member(member).ns, ['ip', '-j', ip.includes(':') ? '-6' : '-4', 'neigh', 'show', ip, 'dev', 'eth0']);
  return (JSON.parse(r.stdout || '[]') as { lladdr?: string }[])[0]?.lladdr;
}

async function curl(lab: Lab, member: string, url: string): Promise<string> {
  const r = await lab.exec(lab.member(member).ns, ['curl', '-g', '-sS', '--max-time', '3', url], { timeoutMs: 8000 });
  if (r.code !== 0) throw new Error(`curl ${url} from ${member} failed: ${r.stderr}`);
  return r.stdout;
}

/** At least `n` of `ps` within `windowS` seconds of each other (tcpdump stamps). */
const burstIn = (ps: Packet[], n: number, windowS: number): Packet | undefined => ps.find((p) => ps.filter((q) => q.s >= p.s && q.s < p.s + windowS).length >= n);

test('no rogue: holders probe every announcement period and report no conflict over ~25 s', { timeout: 120_000 }, async (t) => {
  if (!(await needTools(t))) return;
  const c = await LabCluster.create({ ipv6: true, resources: RESOURCES });
  const w4 = c.lab.watchAddress(VIP);
  const w6 = c.lab.watchAddress(VIP6);
  const cap = await capture(c.lab);
  try {
    await Promise.all([w4.ready, w6.ready]);
    await c.startAll();
    const h4 = await c.waitForHolder(w4, 20_000);
    const h6 = await c.waitForHolder(w6, 20_000);
    const t0 = now();
    t.diagnostic(`placed: ${VIP} on ${h4}, ${VIP6} on ${h6}; watching for 25 s`);
    await sleep(25_000);
    const probes4 = cap.packets.filter((p) => p.at > t0 && p.srcMac === c.lab.node(h4).mac && isArpProbe(p.line));
    const probes6 = cap.packets.filter((p) => p.at > t0 && p.srcMac === c.lab.node(h6).mac && isNsProbe(p.line));
    t.diagnostic(`probes seen by the client in 25 s: ${probes4.length} ARP (arping -D), ${probes6.length} NS (ndisc6)`);
    assert.ok(probes4.length >= 2, `the IPv4 holder probed (${probes4.length} ARP probes)`);
    assert.ok(probes6.length >= 2, `the IPv6 holder probed (${probes6.length} neighbour solicitations)`);
    // Nobody but the cluster is on the LAN, and only the holder has each VIP: no answer.
    for (const n of c.lab.nodes) {
      const ev = await events(c, n.name);
      assert.deepEqual(ev.filter((e) => /conflict/.test(e.type)), [], `no conflict events on ${n.name}`);
    }
    const m4 = await c.metrics(c.lab.node(h4).addr);
    const m6 = await c.metrics(c.lab.node(h6).addr);
    assert.equal(m4.get(`piha_vip_conflicts_total{resource="vip",ip="${VIP}"}`), 0);
    assert.equal(m6.get(`piha_vip_conflicts_total{resource="api6",ip="${VIP6}"}`), 0);
    assert.deepEqual(w4.holders(), [h4]);
    assert.deepEqual(w6.holders(), [h6]);
    assert.equal(w4.overlapMs() + w6.overlapMs(), 0);
  } catch (e) {
    console.log(c.logs(30));
    throw e;
  } finally {
    await cap.proc.stop();
    await Promise.all([w4.stop(), w6.stop()]);
    await c.destroy();
  }
});

test('a rogue host with both VIPs: vip_conflict with its MAC, counted, re-announced (neighbour caches back), the holder keeps the VIPs', { timeout: 240_000 }, async (t) => {
  if (!(await needTools(t))) return;
  const c = await LabCluster.create({ ipv6: true, resources: RESOURCES });
  const lab = c.lab;
  const w4 = lab.watchAddress(VIP);
  const w6 = lab.watchAddress(VIP6);
  const cap = await capture(lab);
  const rogue = lab.client;
  const added: string[] = [];
  try {
    await Promise.all([w4.ready, w6.ready]);
    await c.startAll();
    const h4 = await c.waitForHolder(w4, 20_000);
    const h6 = await c.waitForHolder(w6, 20_000);
    const fam = [
      { ip: VIP, cidr: `${VIP}/32`, resource: 'vip', holder: h4, url: `http://${VIP}:9405/healthz`, isProbe: isArpProbe, isAnnounce: isGarp, w: w4 },
      { ip: VIP6, cidr: `${VIP6}/128`, resource: 'api6', holder: h6, url: `http://[${VIP6}]:9405/healthz`, isProbe: isNsProbe, isAnnounce: isUnsolicitedNa, w: w6 },
    ].map((f) => ({ ...f, observer: lab.nodes.find((n) => n.name !== f.holder)!.name, hMac: lab.node(f.holder).mac, tRogue: 0, from: 0 }));
    t.diagnostic(`placed: ${VIP} on ${h4}, ${VIP6} on ${h6}; the rogue is the client (${rogue.mac})`);

    for (const f of fam) {
      // The observer (a node without this VIP) talks to the VIP: its neighbour entry = the holder.
      assert.equal(JSON.parse(await curl(lab, f.observer, f.url)).node, f.holder);
      assert.equal(await neighMac(lab, f.observer, f.ip), f.hMac);
      // Just after one of the holder's probes has finished listening (arping -D waits 1 s,
      // ndisc6 0.5 s; ndisc6 also takes the rogue's unsolicited NA heard in that window as an
      // answer): so the rogue's announcement is not undone by a periodic one before we look,
      // and it is the NEXT probe, one PERIOD_MS (~10 s) away, that must find the rogue.
      const n0 = cap.packets.length;
      await until(`a probe for ${f.ip} from ${f.holder}`, () => cap.packets.slice(n0).some((p) => p.srcMac === f.hMac && f.isProbe(p.line)), 15_000);
      await sleep(1200);
      f.from = cap.packets.length;
      f.tRogue = now();
      await lab.execOk(rogue.ns, ['ip', 'addr', 'add', f.cidr, 'dev', 'eth0', ...(f.ip === VIP6 ? ['nodad'] : [])]);
      added.push(f.cidr);
      if (f.ip === VIP) await lab.gratuitousArp('client', VIP, 'U');
      else await lab.execOk(rogue.ns, ['na6', '-i', 'eth0', '-s', VIP6, '-d', 'ff02::1', '-t', VIP6, '-o', '-e'], { timeoutMs: 5000 });
      const took = await until(`${f.observer}'s neighbour entry for ${f.ip} on the rogue`, async () => (await neighMac(lab, f.observer, f.ip)) === rogue.mac, 3000, 50);
      assert.ok(took);
      t.diagnostic(`${f.ip}: the rogue has the address and announced itself (${(now() - f.tRogue).toFixed(0)} ms); ${f.observer}'s neighbour entry points to the rogue`);
    }

    for (const f of fam) {
      // Within one announcement period (PERIOD_MS, 10 s) plus generous slack for a loaded machine.
      const ev = await until(
        `vip_conflict for ${f.ip} on ${f.holder}`,
        async () => (await events(c, f.holder)).find((e) => e.type === 'vip_conflict' && e.ip === f.ip),
        PERIOD_MS + 12_000 - (now() - f.tRogue),
        500,
      );
      const seenAfter = ev.monoMs - f.tRogue;
      t.diagnostic(`${f.ip}: vip_conflict on ${f.holder} ${seenAfter.toFixed(0)} ms after the rogue appeared: ${ev.message}`);
      assert.equal(ev.level, 'warn');
      assert.equal(ev.category, 'vip');
      assert.equal(ev.node, f.holder);
      assert.equal(ev.resource, f.resource);
      assert.equal(ev.fields.mac, rogue.mac);
      assert.deepEqual(ev.fields.macs, [rogue.mac]);
      assert.equal(ev.fields.reannounced, true);
      assert.ok(seenAfter < PERIOD_MS + 6000, `detected ${seenAfter.toFixed(0)} ms after the rogue appeared (one period is ${PERIOD_MS / 1000} s)`);
      // The same event over HTTP (/events), from the client.
      const page = JSON.parse(await curl(lab, 'client', `http://${lab.node(f.holder).addr}:9405/events`));
      assert.ok(page.events.some((e: any) => e.type === 'vip_conflict' && e.ip === f.ip && e.fields.mac === rogue.mac));
      // The re-announcement burst on the wire (a takeover-sized burst: 3 within ~0.4 s; the
      // periodic announcement is one per PERIOD_MS) and the observer's entry back on the holder.
      const burst = await until(
        `a re-announcement burst for ${f.ip} from ${f.holder}`,
        () => burstIn(cap.packets.slice(f.from).filter((p) => p.srcMac === f.hMac && f.isAnnounce(p.line)), 3, 1.5),
        5000,
      );
      assert.ok(burst);
      await until(`${f.observer}'s neighbour entry for ${f.ip} back on ${f.holder}`, async () => (await neighMac(lab, f.observer, f.ip)) === f.hMac, 5000, 50);
      const m = await c.metrics(lab.node(f.holder).addr);
      const n = m.get(`piha_vip_conflicts_total{resource="${f.resource}",ip="${f.ip}"}`) ?? 0;
      assert.ok(n >= 1, `piha_vip_conflicts_total for ${f.ip} on ${f.holder} is ${n}`);
      // The holder still holds it, and it still answers there.
      assert.deepEqual(f.w.holders(), [f.holder]);
      assert.equal(JSON.parse(await curl(lab, f.observer, f.url)).node, f.holder);
    }
    const s = await c.statusJson('node1');
    assert.deepEqual(
      s.resources.map((r: any) => `${r.name} ${r.holder}`).sort(),
      [`api6 ${h6}`, `vip ${h4}`],
    );

    // The rogue leaves: the next probe finds nobody else.
    const tGone = now();
    for (const cidr of added.splice(0)) await lab.execOk(rogue.ns, ['ip', 'addr', 'del', cidr, 'dev', 'eth0']);
    for (const f of fam) {
      const ev = await until(
        `vip_conflict_cleared for ${f.ip} on ${f.holder}`,
        async () => (await events(c, f.holder)).find((e) => e.type === 'vip_conflict_cleared' && e.ip === f.ip),
        PERIOD_MS + 12_000 - (now() - tGone),
        500,
      );
      t.diagnostic(`${f.ip}: ${ev.message}`);
    }
    assert.deepEqual(w4.holders(), [h4]);
    assert.deepEqual(w6.holders(), [h6]);
    assert.equal(w4.overlapMs(), 0, `two cluster nodes held ${VIP}: ${JSON.stringify(w4.overlaps())}`);
    assert.equal(w6.overlapMs(), 0, `two cluster nodes held ${VIP6}: ${JSON.stringify(w6.overlaps())}`);
  } catch (e) {
    console.log(c.logs(30));
    throw e;
  } finally {
    for (const cidr of added) await lab.exec(rogue.ns, ['ip', 'addr', 'del', cidr, 'dev', 'eth0']);
    await cap.proc.stop();
    await Promise.all([w4.stop(), w6.stop()]);
    await c.destroy();
  }
});
