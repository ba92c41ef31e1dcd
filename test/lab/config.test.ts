// Bad configuration at run time (issue 9): a reload of a broken file keeps the running
// configuration and reports every error; a node started with a different file is reported
// on every node's status.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { requireLab, sleep } from './lab.ts';
import { LabCluster, VIP } from './cluster.ts';
import { code, recordRobustness } from '../robustness/record.ts';

/** Output lines as code spans, the lab's temporary directory written $DIR. */
const lines = (text: string, dir: string): string => text.trim().split('\n').map((l) => code(l.trim().replaceAll(dir, '$DIR'))).join('\n');

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
    const broken = r;
    const pid2 = c.daemons.get('node2')!.pid;
    c.daemons.get('node2')!.signal('SIGHUP'); // the same path through the signal
    await sleep(500);
    assert.ok(c.daemons.get('node2')!.running, 'SIGHUP with a bad file does not stop the daemon');
    let s = await c.statusJson('node1');
    assert.equal(s.quorate, true);
    assert.deepEqual(w.holders(), [h]);
    const afterHup = `node2 still running 500 ms later (pid ${c.daemons.get('node2')!.pid === pid2 ? `${pid2}, unchanged` : 'changed'}); node1 quorate, VIP holder ${h} the only one so far.`;
    writeFileSync(c.configFile(), good.replace('migration_threshold: 3', 'migration_threshold: 2'));
    r = await c.cli('node1', ['config', 'reload']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /changed .* restart piha to apply/);
    s = await c.statusJson('node1');
    assert.match(s.configPending, /restart piha to apply/);
    const text = await c.cli('node1', ['status']);
    assert.match(text.stdout, /NOTE: .*restart piha to apply/);
    recordRobustness({
      area: 'config-runtime',
      input: '`piha config reload` on node1 with a broken `piha.yaml`: `interface` misspelt `interfce`, `cidr_netmask: 40`',
      observed: `refused, exit ${broken.code}; stderr:\n${lines(broken.stderr, c.dir)}`,
      test: t.name,
    });
    recordRobustness({
      area: 'config-runtime',
      input: 'SIGHUP to node2 with the same broken file',
      observed: afterHup,
      test: t.name,
    });
    recordRobustness({
      area: 'config-runtime',
      input: '`piha config reload` with a valid but different file (`migration_threshold: 2`)',
      observed: `exit ${r.code}; stdout:\n${lines(r.stdout, c.dir)}\n\`/status\` configPending: ${lines(s.configPending, c.dir)}; \`piha status\`: ${lines(/NOTE: .*/.exec(text.stdout)![0], c.dir)}`,
      test: t.name,
    });
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
    // a holder needs only 2 of the 3 nodes: node3's heartbeats may not have arrived yet
    const mismatch: string[] = [];
    for (const n of ['node1', 'node2']) {
      const s = await c.waitForStatus(n, 'reporting a mismatch', (x) => x.configMismatch.length > 0);
      assert.deepEqual(s.configMismatch, ['node3'], `${n} reports node3`);
      mismatch.push(`${n}: ${code(JSON.stringify(s.configMismatch))}`);
    }
    const s3 = await c.waitForStatus('node3', 'reporting both peers', (x) => x.configMismatch.length >= 2);
    assert.deepEqual(s3.configMismatch.sort(), ['node1', 'node2']);
    const text = await c.cli('node1', ['status']);
    assert.match(text.stdout, /WARNING: configuration differs on: node3/);
    mismatch.push(`node3: ${code(JSON.stringify(s3.configMismatch))}`);
    recordRobustness({
      area: 'config-runtime',
      input: 'node3 started with a different `piha.yaml` (`migration_threshold: 1`)',
      observed: `\`configMismatch\` in \`/status\`: ${mismatch.join(', ')}; \`piha status\` on node1: ${code(/WARNING: .*/.exec(text.stdout)![0])}`,
      test: t.name,
    });
  } finally {
    await w.stop();
    await c.destroy();
  }
});
