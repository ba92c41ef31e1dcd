// Notify hooks with real daemons: every node runs the same hooks: section; after a power cut
// of the holder, on_acquire runs on the new holder with the event in its environment; a
// standby of that node runs its on_release (with the reason) and the next holder's
// on_acquire. The event history (`piha events --json`, GET /events) tells the same story and
// piha_hook_failures_total stays 0.

import assert from 'node:assert/strict';
import { appendFileSync, chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { requireLab, now, sleep, until } from './lab.ts';
import { LabCluster, VIP } from './cluster.ts';

type HookRun = Record<string, string>;

const VARS = ['PIHA_HOOK', 'PIHA_EVENT', 'PIHA_RESOURCE', 'PIHA_VIP', 'PIHA_NODE', 'PIHA_SELF', 'PIHA_TERM', 'PIHA_REASON', 'PIHA_SEQ', 'PIHA_TIME'];

test('on_acquire runs on the new holder after a failover, with the event in its environment', { timeout: 120_000 }, async (t) => {
  if (!(await requireLab(t))) return;
  const c = await LabCluster.create();
  const w = c.lab.watchAddress(VIP);
  const out = join(c.dir, 'hooks.jsonl');
  // One JSON line per run: the hook's argv[1] and every PIHA_* variable.
  const hook = join(c.dir, 'hook.sh');
  writeFileSync(
    hook,
    `#!/bin/bash\nprintf '{"arg":"%s"${VARS.map((v) => `,"${v}":"%s"`).join('')}}\\n' "$1" ${VARS.map((v) => `"$${v}"`).join(' ')} >> ${out}\n`,
  );
  chmodSync(hook, 0o755);
  appendFileSync(c.configFile(), `hooks:\n  on_acquire: [${hook}, acquire]\n  on_release: ${hook} release\n  on_quorum_lost: [${hook}, quorum]\n  timeout: 5s\n`);
  const runs = (): HookRun[] => (existsSync(out) ? readFileSync(out, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l)) : []);
  const waitRun = async (what: string, pred: (r: HookRun) => boolean, ms = 8000): Promise<HookRun> => {
    const t0 = now();
    for (;;) {
      const r = runs().find(pred);
      if (r) return r;
      if (now() - t0 > ms) throw new Error(`no hook run for ${what} within ${ms} ms; runs: ${JSON.stringify(runs(), null, 1)}`);
      await sleep(50);
    }
  };
  try {
    await w.ready;
    await c.startAll();
    const h1 = await c.waitForHolder(w, 15000);
    const first = await waitRun(`on_acquire on ${h1}`, (r) => r.PIHA_HOOK === 'on_acquire' && r.PIHA_SELF === h1);
    assert.equal(first.arg, 'acquire');

    // Power cut of the holder.
    const tCut = now();
    await c.lab.linkDown(h1);
    c.lab.kill(c.daemons.get(h1)!.pid, 'SIGKILL');
    const h2 = await c.waitForHolder(w, 8000, h1);
    const run = await waitRun(`on_acquire on ${h2}`, (r) => r.PIHA_HOOK === 'on_acquire' && r.PIHA_SELF === h2);
    t.diagnostic(`VIP ${h1} -> ${h2}; on_acquire ran on ${h2} ${(now() - tCut).toFixed(0)} ms after the cut: ${JSON.stringify(run)}`);
    assert.equal(run.arg, 'acquire');
    assert.equal(run.PIHA_EVENT, 'vip_acquired');
    assert.equal(run.PIHA_RESOURCE, 'vip');
    assert.equal(run.PIHA_VIP, VIP);
    assert.equal(run.PIHA_NODE, h2);
    assert.match(run.PIHA_TERM, /^[1-9]\d*$/);
    assert.notEqual(run.PIHA_REASON, '', 'the reason the VIP moved');
    assert.match(run.PIHA_TIME, /^\d{4}-\d\d-\d\dT/);
    // Nothing ran on a node that did not acquire, and the quorum (2 of 3) held.
    assert.deepEqual(runs().filter((r) => r.PIHA_HOOK === 'on_acquire').map((r) => r.PIHA_SELF).sort(), [h1, h2].sort());
    assert.equal(runs().filter((r) => r.PIHA_HOOK === 'on_quorum_lost').length, 0);

    // The history says the same: the vip_acquired event the hook ran for, and h1 going down.
    // node_down is recorded when the daemon next looks at its peers (every 500 ms), which can
    // be after the takeover: the last heartbeat from h1 may be up to one period older than the cut.
    const readEvents = async () => {
      const ev = await c.cli(h2, ['events', '--json']);
      assert.equal(ev.code, 0, ev.stderr);
      return ev.stdout.trim().split('\n').map((l) => JSON.parse(l));
    };
    let events: any[] = [];
    const down = await until(`node_down ${h1} in ${h2}'s events`, async () => (events = await readEvents()).some((e) => e.type === 'node_down' && e.node === h1), 2000, 100).catch(() => false);
    const acquired = events.find((e) => String(e.seq) === run.PIHA_SEQ);
    assert.ok(acquired, `event ${run.PIHA_SEQ} in ${JSON.stringify(events)}`);
    assert.equal(acquired.type, 'vip_acquired');
    assert.equal(acquired.node, h2);
    assert.equal(acquired.reason, run.PIHA_REASON);
    assert.equal(String(acquired.term), run.PIHA_TERM);
    assert.ok(down, `node_down ${h1} recorded: ${events.map((e) => `${e.type} ${e.node}`).join(', ')}`);

    // Planned move: standby of h2 runs its on_release (reason) and the last node's on_acquire.
    const h3 = c.lab.nodes.map((n) => n.name).find((n) => n !== h1 && n !== h2)!;
    const sb = await c.cli(h2, ['node', 'standby', h2]);
    assert.equal(sb.code, 0, sb.stderr);
    await c.waitForHolder(w, 8000, h2);
    const rel = await waitRun(`on_release on ${h2}`, (r) => r.PIHA_HOOK === 'on_release' && r.PIHA_SELF === h2);
    assert.equal(rel.arg, 'release');
    assert.equal(rel.PIHA_EVENT, 'vip_released');
    assert.equal(rel.PIHA_VIP, VIP);
    assert.notEqual(rel.PIHA_REASON, '');
    await waitRun(`on_acquire on ${h3}`, (r) => r.PIHA_HOOK === 'on_acquire' && r.PIHA_SELF === h3);

    // GET /events over the network, and no hook failed.
    const addr = c.lab.node(h2).addr;
    const http = await c.lab.exec(c.lab.client.ns, ['curl', '-sS', '--max-time', '3', `http://${addr}:9405/events?since=0`]);
    assert.equal(http.code, 0, http.stderr);
    const page = JSON.parse(http.stdout);
    assert.ok(page.events.some((e: { type: string }) => e.type === 'vip_released'));
    const m = await c.metrics(addr);
    assert.equal(m.get('piha_hook_failures_total{hook="on_acquire"}'), 0);
    assert.equal(m.get('piha_hook_failures_total{hook="on_release"}'), 0);
    assert.equal(w.overlapMs(), 0);
  } catch (e) {
    console.log(c.logs(30));
    throw e;
  } finally {
    await w.stop();
    await c.destroy();
  }
});
