// Self-test of the lab harness (test/lab/lab.ts) with plain tools — no piha daemon needed.
// Run: node --import tsx --test test/lab/harness.test.ts   (root; ip netns, nft, arping)
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Lab, cleanupStaleLabs, listLabNamespaces, now, procState, requireLab, run, sleep } from './lab.ts';

const VIP = '192.0.2.150';
const PORT = 9405;

const pidGone = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return false;
  } catch {
    return true;
  }
};

test('lab harness self-test', { timeout: 90_000 }, async (t) => {
  if (!(await requireLab(t))) return;

  const lab = await Lab.create({ nodes: 3, subnet: '192.0.2', vip: VIP });
  t.diagnostic(`Lab.create (3 nodes + client + bridge): ${lab.createMs.toFixed(0)} ms, prefix ${lab.prefix}`);
  const spawnedPids: number[] = [];
  try {
    await t.test('topology', async () => {
      assert.deepEqual(
        lab.nodes.map((n) => [n.name, n.addr, n.ifname, n.ns]),
        [1, 2, 3].map((i) => [`node${i}`, `192.0.2.${10 + i}`, 'eth0', `${lab.prefix}-n${i}`]),
      );
      assert.equal(lab.client.addr, '192.0.2.2');
      assert.equal(lab.client.ns, `${lab.prefix}-c`);
      const names = (await run('ip', ['netns', 'list'])).stdout;
      for (const ns of lab.namespaces) assert.match(names, new RegExp(`^${ns}( |$)`, 'm'));
      for (const m of lab.members) {
        const a = await lab.execOk(m.name, ['ip', '-o', 'addr', 'show', 'dev', 'eth0']);
        assert.match(a.stdout, new RegExp(`inet ${m.addr.replace(/\./g, '\\.')}/24 `));
        const l = await lab.execOk(m.name, ['ip', '-o', 'link', 'show']);
        assert.match(l.stdout, /lo: <LOOPBACK,UP,LOWER_UP>/);
        assert.match(l.stdout, new RegExp(`eth0@\\S+: <BROADCAST,MULTICAST,UP,LOWER_UP>.*link/ether ${m.mac}`));
      }
      const br = await run('ip', ['-n', lab.brNs, '-o', 'link', 'show', 'master', 'br0']);
      assert.equal(br.stdout.trim().split('\n').length, 4);
      const x = await lab.exec('node1', ['sh', '-c', 'echo out; echo err >&2; exit 3']);
      assert.deepEqual(x, { code: 3, stdout: 'out\n', stderr: 'err\n', signal: null });
      assert.throws(() => lab.nsOf('pihavip-other'), /no lab member/);
    });

    await t.test('connectivity', async () => {
      assert.equal((await lab.ping('node1', 'node2')).received, 3);
      assert.equal((await lab.ping('client', 'node1')).received, 3);
      assert.equal((await lab.ping('node3', 'client')).received, 3);
    });

    await t.test('partition [[node1],[node2,node3]] and heal', async () => {
      const f = await lab.partition([['node1'], ['node2', 'node3']]);
      const [n1n2, n2n1, n2n3, cn1, cn2] = await Promise.all([
        lab.reachable('node1', 'node2'),
        lab.reachable('node2', 'node1'),
        lab.reachable('node2', 'node3'),
        lab.reachable('client', 'node1'),
        lab.reachable('client', 'node2'),
      ]);
      assert.deepEqual({ n1n2, n2n1, n2n3, cn1, cn2 }, { n1n2: false, n2n1: false, n2n3: true, cn1: true, cn2: true });
      assert.equal(lab.activeFaults().length, 1);
      // traffic to/from another node's VIP is cut too (input rules also match the peer's MAC)
      await lab.addrAdd('node2', `${VIP}/32`);
      assert.equal(await lab.reachable('node1', VIP), false);
      assert.equal(await lab.reachable('node3', VIP), true);
      assert.equal(await lab.reachable('client', VIP), true);
      await lab.addrDel('node2', `${VIP}/32`);
      await lab.heal();
      assert.equal(lab.activeFaults().length, 0);
      assert.equal(await lab.reachable('node1', 'node2'), true);
      assert.equal(await lab.reachable('node2', 'node1'), true);
      // heal() leaves no table behind
      assert.doesNotMatch((await lab.execOk('node1', ['nft', 'list', 'tables'])).stdout, /pihalab/);
      // partition with the client listed: the client follows its group
      const g = await lab.partition([['node1', 'client'], ['node2', 'node3']]);
      assert.equal(await lab.reachable('client', 'node1'), true);
      assert.equal(await lab.reachable('client', 'node2'), false);
      // a single fault can be undone on its own
      await g.undo();
      assert.equal(await lab.reachable('client', 'node2'), true);
      await assert.rejects(lab.partition([['node1'], ['node2']]), /missing: node3/);
      void f;
    });

    await t.test('isolatePeers and oneWay', async () => {
      await lab.isolatePeers('node1');
      const [a, b, c, d] = await Promise.all([
        lab.reachable('node1', 'node2'),
        lab.reachable('node3', 'node1'),
        lab.reachable('client', 'node1'),
        lab.reachable('node2', 'node3'),
      ]);
      assert.deepEqual([a, b, c, d], [false, false, true, true]);
      await lab.heal();

      // oneWay(node1 -> node2): node2 hears nothing from node1, node1 still hears node2
      const l1 = await lab.udpListen('node1', 9000);
      const l2 = await lab.udpListen('node2', 9000);
      spawnedPids.push(l1.pid, l2.pid);
      await lab.oneWay('node1', 'node2');
      await lab.udpSend('node1', '192.0.2.12', 9000, 5);
      await lab.udpSend('node2', '192.0.2.11', 9000, 5);
      await l1.waitForLine('from 192.0.2.12 ', 2000);
      await sleep(100);
      assert.equal(l2.stdoutLines.filter((x) => x.startsWith('from 192.0.2.11 ')).length, 0);
      assert.equal(await lab.reachable('node3', 'node2'), true);
      await lab.heal();
      await lab.udpSend('node1', '192.0.2.12', 9000, 3);
      await l2.waitForLine('from 192.0.2.11 ', 2000);
      await Promise.all([l1.stop(), l2.stop()]);
    });

    await t.test('loss', async () => {
      await lab.loss('node1', 100);
      assert.equal((await lab.ping('client', 'node1', { count: 10 })).received, 0);
      await lab.loss('node1', 0);
      assert.equal((await lab.ping('client', 'node1', { count: 10 })).received, 10);
      await lab.loss('node1', 30, 'in');
      const r = await lab.ping('client', 'node1', { count: 100, intervalMs: 10, timeoutMs: 200 });
      t.diagnostic(`30% inbound loss on node1: client->node1 lost ${r.lossPct}% of 100`);
      assert.ok(r.lossPct >= 10 && r.lossPct <= 55, `loss ${r.lossPct}% outside 10..55`);
      await lab.loss('node1', 0);
      assert.equal(lab.activeFaults().length, 0);
      assert.equal((await lab.ping('client', 'node1', { count: 10 })).received, 10);
    });

    await t.test('linkDown / linkUp', async () => {
      await lab.linkDown('node2');
      assert.equal(await lab.reachable('client', 'node2'), false);
      assert.match((await lab.execOk('node2', ['ip', '-o', 'link', 'show', 'eth0'])).stdout, /NO-CARRIER/);
      assert.equal(await lab.reachable('client', 'node1'), true);
      await lab.linkUp('node2');
      assert.equal(await lab.reachable('client', 'node2', { count: 5, intervalMs: 50 }), true);
      // heal() also brings downed links back
      await lab.linkDown('node3');
      await lab.heal();
      assert.equal(await lab.reachable('node1', 'node3', { count: 5, intervalMs: 50 }), true);
    });

    await t.test('spawn, freeze, thaw, kill', async () => {
      const p = lab.spawn('node1', ['sh', '-c', 'echo started; exec sleep 30'], { name: 'sleeper' });
      spawnedPids.push(p.pid);
      await p.waitForLine('started');
      assert.ok(lab.ownsPid(p.pid));
      assert.equal(lab.ownsPid(process.pid), false);
      await assert.rejects(lab.freeze(process.pid), /does not belong/);
      await lab.freeze(p.pid);
      assert.equal(procState(p.pid), 'T');
      assert.deepEqual(lab.frozenPids(), [p.pid]);
      await lab.thaw(p.pid);
      // Running or sleeping again. Frozen right after 'started', sh may still be inside exec of
      // sleep, which reads as 'D' for a moment after SIGCONT (seen once in make test).
      for (let i = 0; i < 50 && procState(p.pid) === 'D'; i++) await sleep(10);
      assert.match(procState(p.pid)!, /^[RS]$/);
      lab.kill(p.pid, 'SIGKILL');
      assert.deepEqual(await p.wait(2000), { code: null, signal: 'SIGKILL' });
      // env, cwd and logFile
      const logFile = join(tmpdir(), `${lab.prefix}-spawn.log`);
      const e1 = lab.spawn('node3', ['sh', '-c', 'echo "$LABVAR $(pwd)"; echo oops >&2'], { env: { LABVAR: 'hello' }, cwd: '/tmp', logFile });
      spawnedPids.push(e1.pid);
      assert.deepEqual(await e1.wait(5000), { code: 0, signal: null });
      await e1.closed; // output read and log file written: 'exit' alone can come first
      assert.deepEqual(e1.stdoutLines, ['hello /tmp']);
      assert.deepEqual(e1.stderrLines, ['oops']);
      assert.deepEqual(readFileSync(logFile, 'utf8').split('\n').filter(Boolean).sort(), ['hello /tmp', 'oops']);
      rmSync(logFile, { force: true });
      // stop() of a frozen process still ends it
      const q = lab.spawn('node2', ['sleep', '30']);
      spawnedPids.push(q.pid);
      await lab.freeze(q.pid);
      const e = await q.stop('SIGTERM', 1000);
      assert.equal(e.signal, 'SIGTERM');
    });

    await t.test('address watcher', async () => {
      const w = lab.watchAddress(VIP);
      await w.ready;
      assert.deepEqual(w.holders(), []);
      await lab.addrAdd('node1', `${VIP}/32`);
      await w.waitForHolders(['node1'], 2000);
      // move: del then add
      await lab.addrDel('node1', `${VIP}/32`);
      await lab.addrAdd('node2', `${VIP}/32`);
      await w.waitForHolders(['node2'], 2000);
      let iv = w.intervals();
      assert.equal(iv.node1!.length, 1);
      assert.notEqual(iv.node1![0]![1], null);
      assert.equal(iv.node2!.length, 1);
      assert.equal(iv.node2![0]![1], null);
      assert.ok(iv.node2![0]![0] >= iv.node1![0]![1]!);
      assert.deepEqual(iv.node3, []);
      assert.equal(w.overlapMs(), 0);

      // a second watcher started now sees node2 through the initial snapshot
      const w2 = lab.watchAddress(VIP);
      await w2.ready;
      assert.deepEqual(w2.holders(), ['node2']);
      await w2.stop();

      // both at once for ~100 ms
      await lab.addrAdd('node1', `${VIP}/32`);
      await w.waitForHolders(['node1', 'node2'], 2000);
      await sleep(100);
      await lab.addrDel('node1', `${VIP}/32`);
      await w.waitForHolders(['node2'], 2000);
      const ov = w.overlapMs();
      t.diagnostic(`overlap while both held the VIP for ~100 ms: ${ov.toFixed(1)} ms`);
      assert.ok(ov > 50 && ov < 1000, `overlapMs ${ov}`);
      assert.deepEqual(
        w.overlaps().map((s) => s.nodes),
        [['node1', 'node2']],
      );
      await lab.addrDel('node2', `${VIP}/32`);
      await w.waitForHolders([], 2000);

      // valid_lft 1: the kernel removes the address after ~1 s
      await lab.addrAdd('node3', `${VIP}/32`, ['valid_lft', '1', 'preferred_lft', '1']);
      await w.waitForHolders(['node3'], 2000);
      await w.waitForHolders([], 4000);
      iv = w.intervals();
      const [s, e] = iv.node3!.at(-1)!;
      const life = e! - s;
      t.diagnostic(`valid_lft 1 address lived ${life.toFixed(0)} ms`);
      assert.ok(life >= 900 && life <= 2000, `lifetime ${life} ms`);
      await w.stop();
    });

    await t.test('prober and VIP move (gratuitous ARP)', async () => {
      const s1 = await lab.startNameServer('node1', PORT, 'node1');
      const s2 = await lab.startNameServer('node2', PORT, 'node2');
      spawnedPids.push(s1.pid, s2.pid);
      const w = lab.watchAddress(VIP);
      await w.ready;
      await lab.addrAdd('node1', `${VIP}/32`);
      // the partition test made the client resolve the VIP to node2: announce (as a daemon would)
      await lab.gratuitousArp('node1', VIP, 'U');
      const p = lab.probe({ ip: VIP, port: PORT, path: '/', everyMs: 5 });
      spawnedPids.push(p.proc.pid);
      const first = await p.waitFor((s) => s.ok && s.body === 'node1', 5000);
      assert.ok(Math.abs(first.t - now()) < 5000, 'prober clock is the harness clock');

      // move the VIP without announcing it: the client's ARP cache still points at node1
      await lab.addrDel('node1', `${VIP}/32`);
      await lab.addrAdd('node2', `${VIP}/32`);
      const tMoved = now();
      await sleep(700);
      const afterMove = p.samples().filter((s) => s.t > tMoved);
      // each attempt now times out (100 ms): expect ~6 finished attempts in 700 ms
      assert.ok(afterMove.length >= 3, `only ${afterMove.length} probe samples in the 700 ms after the move`);
      const okAfterMove = afterMove.filter((s) => s.ok);
      assert.equal(okAfterMove.length, 0, `without gratuitous ARP the client keeps using node1's MAC: ${JSON.stringify(okAfterMove)}`);
      const neigh = await lab.execOk('client', ['ip', 'neigh', 'show', VIP]);
      assert.match(neigh.stdout, new RegExp(`lladdr ${lab.node('node1').mac}`));

      // arping -U (unsolicited ARP request) fixes it
      const tU = now();
      await lab.gratuitousArp('node2', VIP, 'U');
      await p.waitFor((s) => s.ok && s.t >= tU, 3000);
      await sleep(150); // attempts started earlier may still be pending (100 ms timeout)
      const okU = p.firstOkAfter(tU)!;
      assert.equal(okU.body, 'node2');
      t.diagnostic(`after arping -U: first ok attempt (node2) started ${(okU.t - tU).toFixed(1)} ms after the arping command started`);

      // and back with arping -A (unsolicited ARP reply)
      await lab.addrDel('node2', `${VIP}/32`);
      await lab.addrAdd('node1', `${VIP}/32`);
      const tA = now();
      await lab.gratuitousArp('node1', VIP, 'A');
      await p.waitFor((s) => s.ok && s.t >= tA, 3000);
      await sleep(150);
      const okA = p.firstOkAfter(tA)!;
      assert.equal(okA.body, 'node1');
      t.diagnostic(`after arping -A: first ok attempt (node1) started ${(okA.t - tA).toFixed(1)} ms after the arping command started`);
      assert.equal(p.firstOkAfter(tU, (s) => s.body === 'node1')?.i, okA.i);
      assert.ok(p.between(tA).every((s) => !s.ok || s.body === 'node1'));
      const outage = p.longestOutageMs(tA - 50);
      assert.ok(outage < 1000, `outage ${outage}`);

      await p.stop();
      const n = p.samples().length;
      t.diagnostic(`prober made ${n} attempts, ${p.samples().filter((s) => s.ok).length} ok`);
      assert.ok(n > 100, `only ${n} probe samples`);
      assert.equal(w.overlapMs(), 0);
      await w.stop();

      // the prober is bounded: maxCount / maxDurationMs end it by itself
      const q = lab.probe({ ip: VIP, port: PORT, everyMs: 1, maxCount: 5, sequential: true });
      await q.done;
      assert.equal(q.samples().length, 5);
      assert.ok(q.samples().every((s) => s.ok && s.body === 'node1'));
      const r = lab.probe({ ip: VIP, port: PORT, everyMs: 10, maxDurationMs: 200 });
      await r.done;
      assert.ok(r.samples().length >= 5 && r.samples().length <= 25, `count ${r.samples().length}`);
      await lab.addrDel('node1', `${VIP}/32`);
    });

    await t.test('cleanupStaleLabs removes only dead owners', async () => {
      const dead = await run('sh', ['-c', 'echo $$']);
      const deadPid = Number(dead.stdout.trim());
      assert.ok(pidGone(deadPid));
      const stale = `piha-beefp${deadPid}-n1`;
      const live = `piha-beefp${process.ppid}-n1`;
      await run('ip', ['netns', 'add', stale]);
      await run('ip', ['netns', 'add', live]);
      try {
        const removed = await cleanupStaleLabs('piha');
        assert.ok(removed.includes(stale));
        assert.ok(!removed.includes(live));
        assert.ok(!removed.some((ns) => ns.startsWith(lab.prefix)));
        const names = (await listLabNamespaces('piha')).map((x) => x.ns);
        assert.ok(!names.includes(stale));
        assert.ok(names.includes(live));
      } finally {
        await run('ip', ['netns', 'del', stale]);
        await run('ip', ['netns', 'del', live]);
      }
    });
  } finally {
    const t0 = now();
    const all = [...lab.processes().map((p) => p.pid), ...spawnedPids];
    await lab.destroy();
    t.diagnostic(`Lab.destroy: ${(now() - t0).toFixed(0)} ms`);
    await lab.destroy(); // idempotent
    const left = (await run('ip', ['netns', 'list'])).stdout.split('\n').filter((l) => l.startsWith(lab.prefix));
    assert.deepEqual(left, [], 'no namespaces of this lab remain');
    for (const pid of all) assert.ok(pidGone(pid), `pid ${pid} still alive`);
  }
});

// The kernel's neighbour tables are shared by all namespaces: a 32-node lab needs over 1024
// ARP entries, the default hard limit. Without raiseNeighbourLimits (lab.ts) the kernel
// refused new entries ("neighbor table overflow!") and the client could not reach the VIP or
// half of the nodes: a 32-node bench whose every request through the VIP timed out.
test('lab harness: in a 32-node lab every member resolves every other', { timeout: 120_000 }, async (t) => {
  if (!(await requireLab(t))) return;
  const lab = await Lab.create({ nodes: 32, subnet: '192.0.2', vip: VIP });
  try {
    const n = lab.members.length;
    for (const fam of ['ipv4', 'ipv6']) {
      assert.ok(Number(readFileSync(`/proc/sys/net/${fam}/neigh/default/gc_thresh3`, 'utf8')) >= 4 * n * n, `${fam} gc_thresh3`);
    }
    // One UDP datagram from every member to every other (bash's /dev/udp: no process per
    // datagram), which makes each kernel resolve each address; then every table must hold an
    // entry for every other member, none failed.
    const addrs = lab.members.map((m) => m.addr);
    await Promise.all(
      lab.members.map((m) =>
        lab.execOk(m.name, ['bash', '-c', `for a in ${addrs.filter((a) => a !== m.addr).join(' ')}; do echo x > /dev/udp/$a/9; done; true`]),
      ),
    );
    await sleep(1500);
    const missing: string[] = [];
    for (const m of lab.members) {
      const table = (await lab.execOk(m.name, ['ip', '-4', 'neigh', 'show', 'dev', 'eth0'])).stdout;
      for (const a of addrs) {
        if (a === m.addr) continue;
        const line = table.split('\n').find((l) => l.startsWith(`${a} `));
        if (!line || /FAILED|INCOMPLETE/.test(line)) missing.push(`${m.name} -> ${a}: ${line ?? 'no entry'}`);
      }
    }
    assert.deepEqual(missing.slice(0, 10), [], `${missing.length} of ${n * (n - 1)} unresolved`);
  } finally {
    await lab.destroy();
  }
});
