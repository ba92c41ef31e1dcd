// IPv6 VIPs in the VIP adapter: the iproute2 and na6 command lines, then a real namespace pair
// (2001:db8::/64): add with nodad + kernel lifetime, presence checks, refresh that never
// re-creates, release, and unsolicited neighbour advertisements as a neighbour sees them.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { after, before, describe, it, test } from 'node:test';
import { announceCommand, findExecutable, na6Requirement } from '../../src/vip/garp.ts';
import { addrCommand, VipManager, type VipEvent } from '../../src/vip/manager.ts';
import { Lab, labUnavailable, sleep } from './vip-netns.ts';

const now = (): number => performance.now();

test('addrCommand: IPv6 adds nodad and preferred_lft 0 (deprecated); IPv4 is unchanged', () => {
  const v6 = { name: 'api6', ip: '2001:db8::150', cidr: 128 };
  const v4 = { name: 'api', ip: '192.0.2.150', cidr: 32 };
  assert.deepEqual(addrCommand('replace', v6, 'eth0', '1'), ['addr', 'replace', '2001:db8::150/128', 'dev', 'eth0', 'nodad', 'valid_lft', '1', 'preferred_lft', '0']);
  assert.deepEqual(addrCommand('change', v6, 'eth0', '2'), ['addr', 'change', '2001:db8::150/128', 'dev', 'eth0', 'nodad', 'valid_lft', '2', 'preferred_lft', '0']);
  assert.deepEqual(addrCommand('replace', { ...v6, cidr: 64 }, 'wlan0', 'forever'), ['addr', 'replace', '2001:db8::150/64', 'dev', 'wlan0', 'nodad', 'valid_lft', 'forever', 'preferred_lft', '0']);
  assert.deepEqual(addrCommand('replace', v4, 'eth0', '1'), ['addr', 'replace', '192.0.2.150/32', 'dev', 'eth0', 'valid_lft', '1', 'preferred_lft', '1']);
});

test('announceCommand: na6 unsolicited NA for IPv6, arping for IPv4, both through ip netns exec in tests', () => {
  assert.deepEqual(announceCommand('eth0', '2001:db8::150', 'na'), ['na6', ['-i', 'eth0', '-s', '2001:db8::150', '-d', 'ff02::1', '-t', '2001:db8::150', '-o', '-e']]);
  assert.deepEqual(announceCommand('eth0', '2001:db8::150', 'na', { na6Path: '/usr/sbin/na6' }, 'ns1'), [
    'ip',
    ['netns', 'exec', 'ns1', '/usr/sbin/na6', '-i', 'eth0', '-s', '2001:db8::150', '-d', 'ff02::1', '-t', '2001:db8::150', '-o', '-e'],
  ]);
  assert.deepEqual(announceCommand('eth0', '192.0.2.150', 'request'), ['arping', ['-q', '-U', '-c', '1', '-I', 'eth0', '-s', '192.0.2.150', '192.0.2.150']]);
  assert.deepEqual(announceCommand('eth0', '192.0.2.150', 'reply'), ['arping', ['-q', '-A', '-c', '1', '-I', 'eth0', '-s', '192.0.2.150', '192.0.2.150']]);
});

test('bad IPv6 VIPs are refused before anything runs (zone index, prefix > 128)', async () => {
  const m = new VipManager({ ifname: 'eth0', now, garp: { enabled: false } });
  try {
    assert.equal(await m.acquire({ name: 'x', ip: 'fe80::1%eth0', cidr: 64 }, 5, now() + 1000), 'failed');
    assert.equal(await m.acquire({ name: 'x', ip: '2001:db8::150', cidr: 129 }, 5, now() + 1000), 'failed');
    assert.equal(await m.refresh({ name: 'x', ip: '2001:db8::150', cidr: 129 }, 5, now() + 1000), 'failed');
    assert.equal(await m.acquire({ name: 'x', ip: '192.0.2.150', cidr: 33 }, 5, now() + 1000), 'failed');
    assert.equal(m.runner.stats.batchStarts + m.runner.stats.spawnCommands, 0);
  } finally {
    await m.close();
  }
});

test('start-up needs na6 only when an IPv6 VIP is configured, and says how to get it', () => {
  const v4 = { name: 'api', ip: '192.0.2.150' };
  const v6 = { name: 'api6', ip: '2001:db8::150' };
  assert.equal(na6Requirement([v4], null), null);
  assert.equal(na6Requirement([], null), null);
  assert.equal(na6Requirement([v4, v6], '/usr/sbin/na6'), null);
  assert.equal(
    na6Requirement([v4, v6], null),
    'IPv6 VIP api6 (2001:db8::150) needs na6 to send unsolicited neighbour advertisements, and na6 is not installed: apt-get install ipv6toolkit',
  );
});

test('findExecutable: PATH first, then the extra dirs; null when missing', () => {
  const dir = mkdtempSync(join(tmpdir(), 'piha-findexe-'));
  const sbin = mkdtempSync(join(tmpdir(), 'piha-findexe-sbin-'));
  try {
    writeFileSync(join(sbin, 'na6'), '#!/bin/sh\n');
    chmodSync(join(sbin, 'na6'), 0o755);
    writeFileSync(join(dir, 'notexec'), '');
    assert.equal(findExecutable('na6', [sbin], dir), join(sbin, 'na6'));
    assert.equal(findExecutable('na6', [], dir), null);
    assert.equal(findExecutable('notexec', [], dir), null, 'not executable');
    assert.equal(findExecutable(join(sbin, 'na6'), []), join(sbin, 'na6'));
    assert.equal(findExecutable('/nonexistent/na6', []), null);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    rmSync(sbin, { recursive: true, force: true });
  }
});

const na6Missing = (): string | null => (findExecutable('na6') ? null : 'needs na6 (apt-get install ipv6toolkit)');
const skip = labUnavailable() ?? na6Missing() ?? false;
const VIP6 = '2001:db8::150';
const res = { name: 'api6', ip: VIP6, cidr: 128 };

// tcpdump -e -n -vv prints an unsolicited NA as
//   <src mac> > 33:33:00:00:00:01, ethertype IPv6 (0x86dd), ...: 2001:db8::150 > ff02::1: [icmp6 sum ok] ICMP6, neighbor advertisement, length 32, tgt is 2001:db8::150, Flags [override]
const isNa = (l: string, mac: string, ip = VIP6): boolean =>
  l.includes(` ${mac} > 33:33:00:00:00:01`) && l.includes(`${ip} > ff02::1:`) && l.includes(`neighbor advertisement`) && l.includes(`tgt is ${ip}, Flags [override]`);

describe('vip IPv6 in a namespace', { skip }, () => {
  let lab: Lab;
  let mac: string;
  const managers: VipManager[] = [];
  const manager = (events?: VipEvent[], garp = { burstCount: 3, burstIntervalMs: 100, secondBurstDelayMs: 0, refreshIntervalMs: 0 }): VipManager => {
    const m = new VipManager({ ifname: 'eth0', now, netns: lab.node, garp: { ...garp, na6Path: findExecutable('na6')! }, onEvent: events && ((e) => events.push(e)) });
    managers.push(m);
    return m;
  };
  const v6addrs = () =>
    (JSON.parse(lab.ip(lab.node, '-j', '-6', 'addr', 'show', 'dev', 'eth0')) as { addr_info?: Record<string, unknown>[] }[]).flatMap((l) => l.addr_info ?? []);
  const vipLine = () => lab.ip(lab.node, '-6', 'addr', 'show', 'dev', 'eth0').split('\n').find((l) => l.includes(`${VIP6}/`));

  before(() => {
    lab = new Lab();
    lab.enableIPv6();
    mac = lab.nodeMac();
  });
  after(async () => {
    for (const m of managers) await m.close();
    lab?.destroy();
  });

  it('acquire: nodad (no tentative phase), deprecated, valid_lft as asked; present/check/listPresent see it', async () => {
    const m = manager(undefined, { burstCount: 1, burstIntervalMs: 100, secondBurstDelayMs: 0, refreshIntervalMs: 0 });
    assert.equal(await m.acquire(res, 30, now() + 1000), 'added');
    const a = v6addrs().find((x) => x.local === VIP6);
    assert.ok(a, `VIP missing: ${JSON.stringify(v6addrs())}`);
    assert.equal(a.prefixlen, 128);
    assert.ok((a.valid_life_time as number) <= 30 && (a.valid_life_time as number) >= 28, JSON.stringify(a));
    assert.equal(a.preferred_life_time, 0);
    assert.equal(a.tentative, undefined, 'not tentative: usable at once');
    assert.match(vipLine() ?? '', /nodad/);
    assert.match(vipLine() ?? '', /deprecated/);
    assert.equal(await m.present(res), true);
    assert.equal(await m.check(res), 'ok');
    assert.equal(await m.present({ ...res, cidr: 64 }), false, 'prefix length counts');
    assert.deepEqual(await m.listPresent(['2001:DB8:0::150', '192.0.2.150', '2001:db8::151']), ['2001:DB8:0::150'], 'any spelling; IPv4 not there');
    await m.release(res);
  });

  it('the address answers at once: a connection from the client right after acquire', async () => {
    const m = manager(undefined, { burstCount: 1, burstIntervalMs: 100, secondBurstDelayMs: 0, refreshIntervalMs: 0 });
    const srv = lab.exec(lab.node, process.execPath, ['-e', `require('net').createServer((s)=>s.end('hi')).listen(9999,'${VIP6}',()=>console.log('up'))`]);
    try {
      assert.equal(await m.acquire(res, 30, now() + 1000), 'added');
      // A tentative (DAD) address could not be bound: the server only starts after nodad.
      await new Promise<void>((resolve, reject) => {
        srv.stdout!.setEncoding('utf8').on('data', (d: string) => d.includes('up') && resolve());
        srv.on('exit', (c) => reject(new Error(`server exited ${c}`)));
      });
      const out = execFileSync('ip', ['netns', 'exec', lab.client, process.execPath, '-e', `require('net').connect(9999,'${VIP6}').on('data',(d)=>{process.stdout.write(d)})`], { encoding: 'utf8', timeout: 5000 });
      assert.equal(out, 'hi');
    } finally {
      srv.kill('SIGKILL');
      await m.release(res);
    }
  });

  it('refresh extends the lifetime; after release it reports missing and does not re-create', async () => {
    const m = manager();
    assert.equal(await m.acquire(res, 5, now() + 1000), 'added');
    assert.equal(await m.refresh(res, 40, now() + 1000), 'refreshed');
    const a = v6addrs().find((x) => x.local === VIP6)!;
    assert.ok((a.valid_life_time as number) > 30, JSON.stringify(a));
    assert.equal(a.preferred_life_time, 0, 'still deprecated after change');
    assert.match(vipLine() ?? '', /nodad/, 'change keeps nodad');
    await m.release(res);
    assert.equal(v6addrs().some((x) => x.local === VIP6), false);
    assert.equal(await m.refresh(res, 40, now() + 1000), 'missing');
    assert.equal(v6addrs().some((x) => x.local === VIP6), false, 'refresh must never add the address back');
    await m.release(res); // idempotent
  });

  it('the kernel lifetime backstop holds for IPv6: valid_lft 1 removes the address about 1 s later', async () => {
    const m = manager();
    assert.equal(await m.acquire(res, 1, now() + 1000), 'added');
    const t0 = now();
    while (v6addrs().some((x) => x.local === VIP6) && now() - t0 < 3000) await sleep(20);
    const ms = now() - t0;
    assert.ok(ms < 1500, `the kernel removed it after ${ms.toFixed(0)} ms`);
    assert.ok(ms > 500, `removed too early (${ms.toFixed(0)} ms)?`);
    await m.release(res);
  });

  it('takeover: unsolicited NAs (override, TLLA = our MAC, to ff02::1) correct a neighbour\'s stale entry; none after release', async () => {
    const cap = await lab.capture('icmp6 and ip6[40] == 136');
    const events: VipEvent[] = [];
    const m = manager(events);
    try {
      lab.ip(lab.client, 'neigh', 'replace', VIP6, 'lladdr', '02:00:00:00:00:99', 'dev', 'eth0', 'nud', 'stale');
      const t0 = now();
      assert.equal(await m.acquire(res, 30, now() + 1000), 'added');
      // the burst ends ~400 ms in; the counter grows as each na6 exits and tcpdump prints a
      // moment after the wire: wait for both (a busy machine is slow at either), then count
      while (now() - t0 < 5000 && (m.counters.garpSent + m.counters.garpFailed < 3 || cap.lines().filter((l) => isNa(l, mac)).length < 3)) await sleep(50);
      await sleep(200); // a fourth NA, if one were sent, would show by now
      const lines = cap.lines();
      const nas = lines.filter((l) => isNa(l, mac));
      assert.equal(nas.length, 3, lines.join('\n'));
      assert.ok(lines.some((l) => l.includes(`link-address option (2), length 8 (1): ${mac}`)), 'target link-layer address option with our MAC');
      assert.equal(m.counters.garpSent, 3);
      assert.equal(m.counters.garpFailed, 0);
      assert.deepEqual(new Set(events.filter((e) => e.type === 'garp').map((e) => (e as { form: string }).form)), new Set(['na']));
      const n = JSON.parse(lab.ip(lab.client, '-j', '-6', 'neigh', 'show', VIP6, 'dev', 'eth0')) as { lladdr?: string }[];
      assert.equal(n[0]?.lladdr, mac, 'the neighbour now points at our MAC');
      await m.release(res);
      const before = cap.lines().length;
      await sleep(500);
      assert.equal(cap.lines().slice(before).filter((l) => isNa(l, mac)).length, 0, 'nothing announced after release');
    } finally {
      await cap.stop();
    }
  });

  it('a failing na6 is reported as a failed announcement, the address stays', async () => {
    const events: VipEvent[] = [];
    const m = new VipManager({
      ifname: 'eth0',
      now,
      netns: lab.node,
      garp: { burstCount: 1, secondBurstDelayMs: 0, refreshIntervalMs: 0, na6Path: '/nonexistent/na6' },
      onEvent: (e) => events.push(e),
    });
    managers.push(m);
    assert.equal(await m.acquire(res, 30, now() + 1000), 'added');
    await sleep(300);
    const g = events.filter((e) => e.type === 'garp');
    assert.equal(g.length, 1);
    assert.equal((g[0] as { ok: boolean }).ok, false);
    assert.equal(await m.present(res), true);
    await m.release(res);
  });
});
