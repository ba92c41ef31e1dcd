// Bad configuration at run time (issue 9): a reload of a broken file keeps the running
// configuration and reports every error; a node started with a different file is reported
// on every node's status.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { requireLab, sleep } from './lab.ts';
import { LabCluster, VIP } from './cluster.ts';

test('config reload: a broken file is refused with every error, the cluster runs on; a valid change waits for a restart', async (t) => {
  if (!(await requireLab(t))) return;
  const c = await LabCluster.create({});
  const w = c.lab.watchAddress(VIP);
  try {
    await w.ready;
    await c.startAll();
    const h = await c.waitForHolder(w, 15000);
    const good = readFileSync(c.configFile(), 'utf8');
    writeFileSync(c.configFile(), good.replace('interface: eth0', 'interfce: eth0').replace('cidr_netmask: 32', 'cidr_netmask: 40'));
    let r = await c.cli('node1', ['config', 'reload']);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stderr, /cluster\.interfce.*did you mean interface/);
    assert.match(r.stderr, /cidr_netmask/);
    assert.match(r.stderr, /kept the running configuration/);
    c.daemons.get('node2')!.signal('SIGHUP'); // the same path through the signal
    await sleep(500);
    assert.ok(c.daemons.get('node2')!.running, 'SIGHUP with a bad file does not stop the daemon');
    let s = await c.statusJson('node1');
    assert.equal(s.quorate, true);
    assert.deepEqual(w.holders(), [h]);
    writeFileSync(c.configFile(), good.replace('migration_threshold: 3', 'migration_threshold: 2'));
    r = await c.cli('node1', ['config', 'reload']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /changed .* restart piha to apply/);
    s = await c.statusJson('node1');
    assert.match(s.configPending, /restart piha to apply/);
    const text = await c.cli('node1', ['status']);
    assert.match(text.stdout, /NOTE: .*restart piha to apply/);
  } finally {
    await w.stop();
    await c.destroy();
  }
});

test('a node started with a different configuration is reported on every node', async (t) => {
  if (!(await requireLab(t))) return;
  const c = await LabCluster.create({});
  const w = c.lab.watchAddress(VIP);
  try {
    await w.ready;
    const other = join(c.dir, 'piha-node3.yaml');
    writeFileSync(other, readFileSync(c.configFile(), 'utf8').replace('migration_threshold: 3', 'migration_threshold: 1'));
    c.start('node1');
    c.start('node2');
    c.start('node3', other);
    await c.waitForHolder(w, 15000);
    await sleep(500);
    for (const n of ['node1', 'node2']) {
      const s = await c.statusJson(n);
      assert.deepEqual(s.configMismatch, ['node3'], `${n} reports node3`);
    }
    const s3 = await c.statusJson('node3');
    assert.deepEqual(s3.configMismatch.sort(), ['node1', 'node2']);
    const text = await c.cli('node1', ['status']);
    assert.match(text.stdout, /WARNING: configuration differs on: node3/);
  } finally {
    await w.stop();
    await c.destroy();
  }
});
