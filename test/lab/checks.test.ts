// Health checks gate ownership: the VIP follows a healthy service (kube-vip #1786's lesson).
// Each node runs a local "API server" on 127.0.0.1:6443; stopping it on the holder makes the
// holder's http check fail, the monitor counts a failure, and with migration_threshold 1 the
// coordinator moves the VIP to a node whose service is healthy.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { requireLab, now, sleep } from './lab.ts';
import { LabCluster, VIP } from './cluster.ts';

test('a failing http health check on the holder moves the VIP to a healthy node', async (t) => {
  if (!(await requireLab(t))) return;
  const c = await LabCluster.create({
    resources: `  - name: vip
    type: vip
    ip: ${VIP}
    monitor_interval: 500ms
    migration_threshold: 1
    failure_timeout: 60s
    checks:
      - { type: http, url: "http://127.0.0.1:6443/", interval: 300ms, timeout: 200ms, rise: 1, fall: 2 }`,
  });
  const w = c.lab.watchAddress(VIP);
  try {
    await w.ready;
    const api = new Map<string, Awaited<ReturnType<typeof c.lab.startNameServer>>>();
    for (const n of c.lab.nodes) api.set(n.name, await c.lab.startNameServer(n.ns, 6443, n.name, '127.0.0.1'));
    await c.startAll();
    const h = await c.waitForHolder(w, 15000);
    await sleep(1500); // healthy for a while: no move
    assert.deepEqual(w.holders(), [h]);
    const t0 = now();
    await api.get(h)!.stop();
    const h2 = await c.waitForHolder(w, 8000, h);
    t.diagnostic(`VIP moved ${h} -> ${h2} ${(now() - t0).toFixed(0)} ms after the service stopped`);
    const s = await c.statusJson(h2);
    const r = s.resources[0];
    assert.equal(r.holder, h2);
    assert.ok((r.failCounts[h] ?? 0) >= 1, `fail count of ${h} recorded: ${JSON.stringify(r.failCounts)}`);
    assert.equal(w.overlapMs(), 0);
  } catch (e) {
    console.log(c.logs(30));
    throw e;
  } finally {
    await w.stop();
    await c.destroy();
  }
});
