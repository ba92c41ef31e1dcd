// IpRunner against the real kernel, inside a throwaway network namespace.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { IpRunner } from '../../src/vip/ip.ts';
import { bench } from './vip-bench.ts';
import { Lab, labUnavailable, sleep } from './vip-netns.ts';

const skip = labUnavailable() ?? false;
const VIP = '192.0.2.150';

describe('vip IpRunner', { skip }, () => {
  let lab: Lab;
  const runners: IpRunner[] = [];
  const runner = (o: ConstructorParameters<typeof IpRunner>[0] = {}): IpRunner => {
    const r = new IpRunner({ netns: lab.node, ...o });
    runners.push(r);
    return r;
  };
  const clearVip = (): void => {
    try {
      lab.ip(lab.node, 'addr', 'del', `${VIP}/24`, 'dev', 'eth0');
    } catch {
      /* not there */
    }
  };

  before(() => {
    lab = new Lab();
  });
  after(async () => {
    for (const r of runners) await r.close();
    lab?.destroy();
  });

  it('runs show commands in batch and returns their JSON', async () => {
    const r = runner();
    const res = await r.run(['addr', 'show', 'dev', 'eth0']);
    assert.equal(res.ok, true, res.stderr);
    assert.equal(res.via, 'batch');
    const links = JSON.parse(res.stdout) as { ifname: string; addr_info: { local: string }[] }[];
    assert.equal(links[0].ifname, 'eth0');
    assert.ok(links[0].addr_info.some((a) => a.local === '192.0.2.11'));
    assert.equal(res.stderr, '');
  });

  for (const mode of ['batch', 'spawn'] as const) {
    it(`runThen (${mode}): two commands, each with its own result and error, in order with single ones`, async () => {
      const r = runner({ mode });
      clearVip();
      const add = ['addr', 'replace', `${VIP}/24`, 'dev', 'eth0', 'valid_lft', '30', 'preferred_lft', '30'];
      const show = ['addr', 'show', 'dev', 'eth0'];
      const change = ['addr', 'change', `${VIP}/24`, 'dev', 'eth0', 'valid_lft', '20', 'preferred_lft', '20'];
      const [a, [s1, c1], [s2, c2], b] = await Promise.all([
        r.run(add),
        r.runThen(show, change),
        r.runThen(['addr', 'show', 'dev', 'nosuch0'], ['addr', 'del', '192.0.2.199/24', 'dev', 'eth0']),
        r.run(['addr', 'del', `${VIP}/24`, 'dev', 'eth0']),
      ]);
      assert.equal(a.ok, true, a.stderr);
      assert.equal(s1.ok, true, s1.stderr);
      assert.equal(s1.via, mode);
      const links = JSON.parse(s1.stdout) as { addr_info: { local: string; valid_life_time: number }[] }[];
      assert.ok(links[0].addr_info.some((x) => x.local === VIP), 'the show saw the address added before it');
      assert.equal(c1.ok, true, c1.stderr);
      assert.equal(c1.stdout, '');
      assert.equal(s2.ok, false);
      assert.match(s2.stderr, /does not exist/);
      assert.equal(c2.ok, false, 'the second command failed on its own');
      assert.match(c2.stderr, /Cannot assign|not found|Address/i);
      assert.doesNotMatch(s2.stderr, /Cannot assign|Address not found/i, 'each error with its own command');
      assert.equal(b.ok, true, b.stderr);
    });

    it(`runThen (${mode}): a refused guard skips both`, async () => {
      const r = runner({ mode });
      clearVip();
      const [x, y] = await r.runThen(['addr', 'show', 'dev', 'eth0'], ['addr', 'replace', `${VIP}/24`, 'dev', 'eth0'], { guard: () => false });
      assert.equal(x.skipped, true);
      assert.equal(y.ok, false);
      assert.equal(lab.nodeAddrs().has(VIP), false, "nothing was written");
    });
  }

  it('reports each failure on its own command and keeps order under concurrency', async () => {
    const r = runner();
    clearVip();
    const cmds: [string[], boolean][] = [
      [['addr', 'replace', `${VIP}/24`, 'dev', 'eth0', 'valid_lft', '30', 'preferred_lft', '30'], true],
      [['addr', 'show', 'dev', 'nosuch0'], false],
      [['addr', 'change', `${VIP}/24`, 'dev', 'eth0', 'valid_lft', '20', 'preferred_lft', '20'], true],
      [['addr', 'del', `${VIP}/24`, 'dev', 'eth0'], true],
      [['addr', 'del', `${VIP}/24`, 'dev', 'eth0'], false], // already gone
      [['link', 'show', 'dev', 'eth0'], true],
    ];
    const results = await Promise.all(cmds.map(([a]) => r.run(a)));
    results.forEach((res, i) => assert.equal(res.ok, cmds[i][1], `${cmds[i][0].join(' ')}: ${res.stderr}`));
    assert.match(results[1].stderr, /does not exist/);
    assert.match(results[4].stderr, /Address not found|Cannot assign requested address/);
    assert.equal(results[0].stderr, '');
    assert.ok(results.every((x) => x.via === 'batch'));
    assert.equal(r.stats.batchStarts, 1);
  });

  it('evaluates the guard when the command is about to be written, not when queued', async () => {
    const r = runner();
    clearVip();
    let fresh = true;
    const first = r.run(['addr', 'show', 'dev', 'eth0']);
    const second = r.run(['addr', 'add', `${VIP}/24`, 'dev', 'eth0'], { guard: () => fresh });
    fresh = false; // e.g. the daemon stalled while the command waited in the queue
    await first;
    const res = await second;
    assert.equal(res.skipped, true);
    assert.equal(res.ok, false);
    assert.equal(res.behind, 'addr show dev eth0', 'says what it waited behind');
    assert.equal(lab.nodeAddrs().has(VIP), false);
    const idle = await r.run(['addr', 'add', `${VIP}/24`, 'dev', 'eth0'], { guard: () => false });
    assert.equal(idle.skipped, true);
    assert.equal(idle.behind, undefined, 'an idle runner: nothing ahead');
  });

  it('survives a command that makes ip exit (usage error) and restarts the batch', async () => {
    const r = runner();
    assert.equal((await r.run(['link', 'show', 'dev', 'eth0'])).ok, true);
    const bad = await r.run(['addr', 'add', '192.0.2.300/24', 'dev', 'eth0']);
    assert.equal(bad.ok, false);
    assert.equal(bad.via, 'spawn'); // re-run the certain way after the batch died
    assert.match(bad.stderr, /192\.0\.2\.300/);
    const ok = await r.run(['link', 'show', 'dev', 'eth0']);
    assert.equal(ok.ok, true);
    assert.equal(ok.via, 'batch');
    assert.equal(r.stats.batchDeaths, 1);
    assert.equal(r.stats.batchStarts, 2);
  });

  it('recovers when the batch ip process is killed while idle', async () => {
    const r = runner();
    await r.run(['link', 'show', 'dev', 'eth0']);
    const pid = r.batchPid!;
    assert.ok(pid > 0);
    process.kill(pid, 'SIGKILL');
    await sleep(100);
    assert.equal(r.batchPid, undefined);
    const res = await r.run(['link', 'show', 'dev', 'eth0']);
    assert.equal(res.ok, true);
    assert.equal(res.via, 'batch');
    assert.notEqual(r.batchPid, pid);
  });

  it('recovers from a hung batch process: timeout, kill, re-run via spawn', async () => {
    const r = runner({ timeoutMs: 400 });
    clearVip();
    await r.run(['link', 'show', 'dev', 'eth0']);
    const pid = r.batchPid!;
    process.kill(pid, 'SIGSTOP');
    const t0 = Date.now();
    const res = await r.run(['addr', 'replace', `${VIP}/24`, 'dev', 'eth0', 'valid_lft', '9', 'preferred_lft', '9']);
    assert.equal(res.ok, true, res.stderr);
    assert.equal(res.via, 'spawn');
    assert.ok(Date.now() - t0 >= 350);
    assert.equal(r.stats.timeouts, 1);
    assert.ok((lab.nodeAddrs().get(VIP) ?? 0) > 0);
    const next = await r.run(['link', 'show', 'dev', 'eth0']);
    assert.equal(next.via, 'batch');
    assert.notEqual(r.batchPid, pid);
    clearVip();
  });

  it('sends args the batch parser would mangle through spawn', async () => {
    const r = runner();
    const res = await r.run(['link', 'show', 'dev', 'no#such']);
    assert.equal(res.via, 'spawn');
    assert.equal(res.ok, false);
    const ok = await r.run(['link', 'show', 'dev', 'eth0']);
    assert.equal(ok.via, 'batch');
  });

  it('works in spawn mode', async () => {
    const r = runner({ mode: 'spawn' });
    const res = await r.run(['link', 'show', 'dev', 'eth0']);
    assert.equal(res.ok, true);
    assert.equal(res.via, 'spawn');
    assert.equal((JSON.parse(res.stdout) as { ifname: string }[])[0].ifname, 'eth0');
    assert.equal((await r.run(['link', 'show', 'dev', 'nosuch0'])).ok, false);
    assert.equal(r.batchPid, undefined);
  });

  it('close() ends the batch process and refuses later commands', async () => {
    const r = new IpRunner({ netns: lab.node });
    await r.run(['link', 'show', 'dev', 'eth0']);
    const pid = r.batchPid!;
    const queued = r.run(['link', 'show', 'dev', 'eth0']);
    await r.close();
    assert.equal((await queued).ok, true); // the one in flight finishes
    assert.throws(() => process.kill(pid, 0)); // gone
    const late = await r.run(['link', 'show', 'dev', 'eth0']);
    assert.equal(late.ok, false);
    assert.equal(r.stats.batchDeaths, 0); // a clean exit is not a death
  });

  it('batch is much cheaper per command than spawn (median over 200)', async (t) => {
    const rows = await bench(lab, 200);
    for (const row of rows) t.diagnostic(`${row.what}: median ${row.medianMs.toFixed(3)} ms, p90 ${row.p90Ms.toFixed(3)} ms`);
    const med = (w: string): number => rows.find((x) => x.what === w)!.medianMs;
    assert.ok(med('batch addr change') < med('spawn addr change'));
    assert.ok(med('batch addr show') < med('spawn addr show'));
    clearVip();
  });
});
