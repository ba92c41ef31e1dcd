// The replicated cluster configuration with real daemons: a VIP created on node3 starts and
// answers; its stickiness updated from node1; deleted from node2 (stopped first, address gone
// everywhere); every node restarted: the configuration persists; a node that was down while
// things changed catches up when it comes back.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { requireLab, now, sleep } from './lab.ts';
import { LabCluster, VIP } from './cluster.ts';
import { rmSync } from 'node:fs';
import { join } from 'node:path';

const WEB = '192.0.2.160';

async function epochs(c: LabCluster, nodes: string[]): Promise<number[]> {
  return Promise.all(nodes.map(async (n) => (await c.statusJson(n)).config.epoch as number));
}

async function until(what: string, ms: number, pred: () => Promise<boolean>): Promise<void> {
  const t0 = now();
  while (now() - t0 < ms) {
    if (await pred()) return;
    await sleep(100);
  }
  throw new Error(`not within ${ms} ms: ${what}`);
}

test('create on node3, update on node1, delete on node2, restart all, stale node catches up', async (t) => {
  if (!(await requireLab(t))) return;
  const c = await LabCluster.create({ profile: 'lan' });
  const vip = c.lab.watchAddress(VIP);
  const web = c.lab.watchAddress(WEB);
  const all = ['node1', 'node2', 'node3'];
  try {
    await vip.ready;
    await web.ready;
    await c.startAll();
    await c.waitForHolder(vip, 15000);
    await until('epoch 1 (seeded from the file) everywhere', 10000, async () => (await epochs(c, all)).every((e) => e === 1));

    // Create from node3, with the classic tutorial's words.
    const cr = await c.cli('node3', ['resource', 'create', 'web', 'ocf:heartbeat:IPaddr2', `ip=${WEB}`, 'cidr_netmask=32', 'op', 'monitor', 'interval=2s', 'meta', 'migration-threshold=2', 'failure-timeout=60s']);
    assert.equal(cr.code, 0, cr.stderr + cr.stdout);
    assert.match(cr.stdout, /created resource web \(configuration epoch 2\)/);
    await until('web held by one node', 10000, async () => web.holders().length === 1);
    const probe = await c.lab.exec(c.lab.client.ns, ['curl', '-sS', '--max-time', '2', `http://${WEB}:9405/healthz`]);
    assert.equal(probe.code, 0, `the client reaches the new VIP: ${probe.stderr}`);
    assert.equal(JSON.parse(probe.stdout).node, web.holders()[0]);
    const conf = await c.cli('node1', ['resource', 'config', 'web']);
    assert.match(conf.stdout, /Attributes: ip=192\.0\.2\.160 cidr_netmask=32/);
    assert.match(conf.stdout, /migration-threshold=2 failure-timeout=1m/);
    assert.match(conf.stdout, /monitor interval=2s/);

    // A bad change: the file's error, nothing changed.
    const bad = await c.cli('node2', ['resource', 'create', 'bad', 'ip=192.0.2.300']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /resource bad ip: .*192\.0\.2\.300/);

    // Update from node1.
    const up = await c.cli('node1', ['resource', 'update', 'web', 'meta', 'resource-stickiness=60']);
    assert.equal(up.code, 0, up.stderr);
    const def = await c.cli('node2', ['resource', 'defaults', 'resource-stickiness=50']);
    assert.equal(def.code, 0, def.stderr);
    const prop = await c.cli('node3', ['property', 'set', 'no-quorum-policy=ignore']);
    assert.equal(prop.code, 1);
    assert.match(prop.stderr, /two holders/);
    await until('epoch 4 everywhere', 5000, async () => (await epochs(c, all)).every((e) => e === 4));
    assert.match((await c.cli('node3', ['config', 'show'])).stdout, /resource_stickiness: 60/);

    // node3 goes down; changes happen without it.
    await c.daemons.get('node3')!.stop();
    await sleep(500);
    const del = await c.cli('node2', ['resource', 'delete', 'web']);
    assert.equal(del.code, 0, del.stderr + del.stdout);
    assert.match(del.stdout, /Attempting to stop: web\.\.\. Stopped/);
    assert.match(del.stdout, /deleted resource web \(configuration epoch 6\)/);
    await web.waitForHolders([], 2000); // the kernel's change reaches the watcher a moment later
    const cr2 = await c.cli('node1', ['resource', 'create', 'api2', `--ip=192.0.2.161`]);
    assert.equal(cr2.code, 0, cr2.stderr);

    // Restart every node from its state directory; the stale node3 catches up.
    for (const n of ['node1', 'node2']) await c.daemons.get(n)!.stop();
    for (const n of all) c.start(n);
    await c.waitForHolder(vip, 20000);
    await until('epoch 7 everywhere after restarts', 15000, async () => (await epochs(c, all)).every((e) => e === 7));
    const st = await c.statusJson('node3');
    assert.deepEqual(st.resources.map((r: any) => r.name).sort(), ['api2', 'vip']);
    assert.equal(st.config.fileDiffers, true, 'the file is reported as differing from the cluster configuration');
    assert.match((await c.cli('node3', ['status'])).stdout, /Configuration: epoch 7 \(replicated\)/);
    assert.equal(web.overlapMs(), 0);
    assert.equal(vip.overlapMs(), 0);
  } catch (e) {
    console.log(c.logs(30));
    throw e;
  } finally {
    await vip.stop();
    await web.stop();
    await c.destroy();
  }
});

// The tie-breaker of a two_node cluster is a quorum alone. Restarted with its state dir wiped
// while it cannot reach the other node, it must not decide the configuration by itself: it
// would commit a version the other node holds with other content (simulator seeds 13777,
// 16778). It runs on its file, says whom it waits for, and adopts the cluster's configuration
// once it hears the other node.
test('two_node: the tie-breaker restarted without its state dir and cut off waits for the other node, then adopts its configuration', async (t) => {
  if (!(await requireLab(t))) return;
  const c = await LabCluster.create({ nodes: 2, profile: 'lan', quorum: '  two_node: true' });
  const vip = c.lab.watchAddress(VIP);
  const both = ['node1', 'node2'];
  try {
    await vip.ready;
    await c.startAll();
    await c.waitForHolder(vip, 15000);
    await until('epoch 1 on both', 10000, async () => (await epochs(c, both)).every((e) => e === 1));
    const cr = await c.cli('node2', ['resource', 'create', 'web', `ip=${WEB}`, 'cidr_netmask=32']);
    assert.equal(cr.code, 0, cr.stderr + cr.stdout);
    await until('epoch 2 on both', 5000, async () => (await epochs(c, both)).every((e) => e === 2));
    const digest = (await c.statusJson('node2')).config.digest as string;

    const cut = await c.lab.isolatePeers('node1');
    await c.daemons.get('node1')!.stop();
    rmSync(join(c.dir, 'node1-state'), { recursive: true, force: true });
    await c.start('node1').waitForLine(/"event":"daemon_started"/, 15000);
    await until('node1 is quorate alone', 10000, async () => (await c.statusJson('node1')).quorate === true);
    await sleep(2000);
    const s1 = await c.statusJson('node1');
    assert.equal(s1.config.epoch, 0, 'node1 runs on its file and proposed nothing');
    assert.deepEqual(s1.config.waitingFor, ['node2']);
    assert.match((await c.cli('node1', ['status'])).stdout, /configuration changes wait until node2 has been heard/);
    const refused = await c.cli('node1', ['resource', 'defaults', 'resource-stickiness=9']);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr + refused.stdout, /has not heard node2 yet.*nothing was changed/);

    await cut.undo();
    await until('node1 has the cluster\'s configuration', 10000, async () => {
      const s = await c.statusJson('node1');
      return s.config.epoch === 2 && s.config.digest === digest;
    });
    assert.equal((await c.statusJson('node1')).config.waitingFor, undefined);
    const ok = await c.cli('node1', ['resource', 'defaults', 'resource-stickiness=9']);
    assert.equal(ok.code, 0, ok.stderr + ok.stdout);
    await until('epoch 3 on both, same digest', 5000, async () => {
      const s = await Promise.all(both.map((n) => c.statusJson(n)));
      return s.every((x) => x.config.epoch === 3) && s[0].config.digest === s[1].config.digest;
    });
    assert.equal(vip.overlapMs(), 0, `two nodes held the VIP at once: ${JSON.stringify(vip.overlaps())}`);
  } catch (e) {
    console.log(c.logs(40));
    throw e;
  } finally {
    await vip.stop();
    await c.destroy();
  }
});

// A majority restarted without its state dirs while the third node is cut off: the two re-seed
// the file and commit another change under the version the third node already holds (the same
// epoch and term, other content; simulator seed 32168). When the link is back, the coordinator
// sees the other digest (config_diverged), proposes its configuration again as a newer epoch,
// and all three converge on it.
test('a majority restarted without its state dirs while node1 is cut off: after the heal all three converge on one configuration', async (t) => {
  if (!(await requireLab(t))) return;
  const c = await LabCluster.create({ profile: 'lan' });
  const vip = c.lab.watchAddress(VIP);
  const all = ['node1', 'node2', 'node3'];
  const version = async (n: string) => {
    const s = (await c.statusJson(n)).config;
    return { v: `${s.epoch}/${s.term}`, digest: s.digest as string, epoch: s.epoch as number };
  };
  try {
    await vip.ready;
    await c.startAll();
    await c.waitForHolder(vip, 15000);
    await until('epoch 1 everywhere', 10000, async () => (await epochs(c, all)).every((e) => e === 1));
    const a = await c.cli('node1', ['resource', 'defaults', 'resource-stickiness=7']);
    assert.equal(a.code, 0, a.stderr + a.stdout);
    await until('epoch 2 everywhere', 5000, async () => (await epochs(c, all)).every((e) => e === 2));
    const held = await version('node1');

    const cut = await c.lab.isolatePeers('node1');
    for (const n of ['node2', 'node3']) await c.daemons.get(n)!.stop();
    for (const n of ['node2', 'node3']) rmSync(join(c.dir, `${n}-state`), { recursive: true, force: true });
    await Promise.all(['node2', 'node3'].map((n) => c.start(n).waitForLine(/"event":"daemon_started"/, 15000)));
    await until('node2 and node3 re-seeded epoch 1', 15000, async () => (await epochs(c, ['node2', 'node3'])).every((e) => e === 1));
    const b = await c.cli('node2', ['resource', 'defaults', 'resource-stickiness=9']);
    assert.equal(b.code, 0, b.stderr + b.stdout);
    await until('epoch 2 on node2 and node3', 5000, async () => (await epochs(c, ['node2', 'node3'])).every((e) => e === 2));
    const other = await version('node2');
    // The precondition of this test: the same version with other content.
    assert.equal(other.v, held.v, 'node2 and node3 re-used node1\'s version');
    assert.notEqual(other.digest, held.digest);

    await cut.undo();
    await until('one configuration everywhere, newer than both', 10000, async () => {
      const s = await Promise.all(all.map(version));
      return s.every((x) => x.epoch === 3 && x.digest === s[0]!.digest);
    });
    // Whichever node coordinates after the heal (node1 may win a newer term) re-asserted its own.
    const lines = await Promise.all(all.map((n) => c.daemons.get(n)!.waitForLine(/"event":"config_diverged"/, 10).catch(() => null)));
    assert.ok(lines.some((l) => l !== null), 'the coordinator logged config_diverged');
    assert.ok([held.digest, other.digest].includes((await version('node1')).digest), 'one of the two configurations, not a third');
    assert.equal(vip.overlapMs(), 0, `two nodes held the VIP at once: ${JSON.stringify(vip.overlaps())}`);
  } catch (e) {
    console.log(c.logs(40));
    throw e;
  } finally {
    await vip.stop();
    await c.destroy();
  }
});
