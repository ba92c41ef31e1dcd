// A 12-node cluster (ROLES_APART_FROM_NODES): the coordinator and the VIP live on different
// nodes, so the holder's power cut moves the VIP without an election, and the coordinator's
// power cut elects a node that holds nothing and moves no VIP. Real daemons, real addresses.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { requireLab, now, sleep } from './lab.ts';
import { LabCluster, VIP } from './cluster.ts';
import { ROLES_APART_FROM_NODES } from '../../src/core/node.ts';

const N = ROLES_APART_FROM_NODES;

test(`${N} nodes: the coordinator is not the VIP's holder; a holder's power cut needs no election, a coordinator's moves no VIP`, async (t) => {
  if (!(await requireLab(t))) return;
  const c = await LabCluster.create({ nodes: N });
  const w = c.lab.watchAddress(VIP);
  let p: any;
  // Ask a node that is neither of the two: node(N), never cut here.
  const observer = `node${N}`;
  const roles = async () => {
    const s = await c.statusJson(observer);
    return { coord: s.coordinator?.name as string | undefined, term: s.coordinator?.term as number | undefined, holder: s.resources[0].holder as string | null };
  };
  const cut = async (node: string) => {
    await c.lab.linkDown(node);
    c.lab.kill(c.daemons.get(node)!.pid, 'SIGKILL');
  };
  try {
    await w.ready;
    await c.startAll();
    const h = await c.waitForHolder(w, 30000);
    p = c.lab.probe({ ip: VIP, port: 9405, path: '/healthz', everyMs: 10, maxDurationMs: 120_000 });
    await p.waitFor((s: any) => s.ok, 5000);
    let r = await roles();
    for (let i = 0; i < 50 && (r.holder !== h || !r.coord); i++) {
      await sleep(100);
      r = await roles();
    }
    assert.equal(r.holder, h);
    assert.ok(r.coord, 'a coordinator');
    assert.notEqual(r.coord, h, 'the VIP is not on the coordinator');
    const { coord, term } = r;

    // The holder's power cut: the VIP moves, the coordinator and its term stay.
    const t0 = now();
    await cut(h);
    const h2 = await c.waitForHolder(w, 8000, h);
    t.diagnostic(`holder ${h} cut: ${h2} holds the VIP after ${(now() - t0).toFixed(0)} ms`);
    assert.notEqual(h2, coord, 'nor is the new one');
    r = await roles();
    assert.deepEqual([r.coord, r.term], [coord, term], 'no election');

    // The coordinator's power cut: a node that holds nothing is elected; the VIP stays.
    const t1 = now();
    await cut(coord!);
    for (let i = 0; i < 80 && (!r.coord || r.coord === coord); i++) {
      await sleep(100);
      r = await roles();
    }
    t.diagnostic(`coordinator ${coord} cut: ${r.coord} elected (term ${r.term}) within ${(now() - t1).toFixed(0)} ms`);
    assert.ok(r.coord && r.coord !== coord, 'a new coordinator');
    assert.ok(r.term! > term!, 'under a higher term');
    assert.notEqual(r.coord, h2, 'not the VIP holder');
    await sleep(2000);
    assert.deepEqual(w.holders(), [h2], 'the VIP stayed');
    const iv = w.intervals()[h2]!;
    assert.equal(iv.length, 1, `${h2} held the VIP without a break: ${JSON.stringify(iv)}`);
    assert.equal(w.overlapMs(), 0, `two nodes held the VIP at once: ${JSON.stringify(w.overlaps())}`);
  } catch (e) {
    console.log(c.logs(20));
    throw e;
  } finally {
    await p?.stop();
    await w.stop();
    await c.destroy();
  }
});
