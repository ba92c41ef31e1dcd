// make bench-budget: piha on a Pi-sized budget. Every daemon of a 3-node cluster (default
// profile, lan) runs in its own cgroup limited like a busy Raspberry Pi 3 — 25 % of one core,
// 64 MiB of memory (bench/cgroup.ts picks systemd-run, cgroup v2 or v1, whichever works here) —
// with CPU hogs (shell busy loops) beside it. HOG says where the hogs run:
//   beside (default): one hog per node, outside the daemons' groups, and every daemon and hog
//          pinned to the same core (taskset -c 0). Like a busy Pi: other services keep the CPU
//          busy, piha.service has its own group (its CPUQuota=25 % and MemoryMax=64M);
//   inside: the hog inside the daemon's own group, sharing its quarter core — a stress case no
//          Pi has (nothing else runs in piha.service's cgroup): the daemon gets about half of
//          25 % and waits up to 75 ms of every 100 ms period;
//   0:      no hog.
//   1. TRIALS power cuts of the holder (link down + SIGKILL of the daemon and its helpers);
//      takeover = cut -> first /healthz answer through the VIP from another node; the target
//      is a median <= 1.5 s, as unconstrained.
//   2. A soak of SOAK_MIN minutes, idle, probed through the VIP every 20 ms: VIP moves (false
//      failovers), node-down and local-stall events in the logs, two holders, the longest run
//      of failed probes, throttling and memory peak of each cgroup, RSS of each daemon.
// Env: TRIALS (10), SOAK_MIN (10), CPU (0.25), MEM_MIB (64), HOG (beside | inside | 0), PROFILE (lan),
// OUT (bench/budget: the .json and .md written; the docs fragment is named after it).
// Writes bench/budget.json, bench/budget.md (docs/benchmarks.md).

import { writeFileSync } from 'node:fs';
import { LabCluster, VIP } from '../test/lab/cluster.ts';
import { now, sleep, type LabProcess } from '../test/lab/lab.ts';
import { LoadRecord, binName, coldBinary, fmtMs, iso, machine, memOf, procTree, startPiha, stats, treeCpu, who } from './lib.ts';
import { makeCgroups } from './cgroup.ts';
import { writeFragment, type FragmentName } from './fragments.ts';

const TRIALS = Number(process.env.TRIALS ?? 10);
const SOAK_MIN = Number(process.env.SOAK_MIN ?? 10);
const CPU = Number(process.env.CPU ?? 0.25);
const MEM_MIB = Number(process.env.MEM_MIB ?? 64);
const HOG_MODES: Record<string, 'none' | 'beside' | 'inside'> = { '0': 'none', '': 'beside', '1': 'beside', beside: 'beside', inside: 'inside' };
const HOG_MODE = HOG_MODES[process.env.HOG ?? 'beside'];
if (!HOG_MODE) throw new Error(`HOG=${process.env.HOG}: use beside, inside or 0`);
const HOG = HOG_MODE !== 'none';
const OUT = process.env.OUT ?? 'bench/budget';
// beside: daemons and hogs share core 0, the hogs outside the daemons' groups
const PIN = HOG_MODE === 'beside' ? ['taskset', '-c', '0'] : [];
const PROFILE = (process.env.PROFILE ?? 'lan') as 'lan' | 'fast' | 'slow';

const count = (p: LabProcess | undefined, ev: string) => (p ? p.stdoutLines.filter((l) => l.includes(`"event":"${ev}"`)).length : 0);

if (import.meta.url === `file://${process.argv[1]}`) {
  const load = new LoadRecord();
  const cg = makeCgroups(`piha-budget-${process.pid}`, { cpu: CPU, memoryBytes: MEM_MIB * 2 ** 20 });
  const c = await LabCluster.create({ profile: PROFILE });
  const w = c.lab.watchAddress(VIP);
  const hogs: LabProcess[] = [];
  const events = { nodeDown: 0, localStall: 0, guardRemoved: 0 };
  let result: Record<string, unknown> = {};
  try {
    await w.ready;
    coldBinary();
    const start = (n: string) => startPiha(c, n, { wrap: [...PIN, ...cg.wrap(n)] });
    for (const m of c.lab.nodes) {
      const hogWrap = HOG_MODE === 'inside' ? cg.wrap(m.name) : PIN;
      if (HOG) hogs.push(c.lab.spawn(m.ns, [...hogWrap, 'sh', '-c', 'while :; do :; done'], { name: `hog@${m.name}`, stdin: 'ignore' }));
      start(m.name);
    }
    await c.waitForHolder(w, 60000);
    await sleep(5000);
    const p = c.lab.probe({ ip: VIP, port: 9405, path: '/healthz', everyMs: 5, timeoutMs: 100, maxDurationMs: 3_600_000 });
    const takeoverMs: number[] = [];
    let noTakeover = 0;
    const C0 = now();
    // retired daemons' log lines are counted when they are replaced
    const tally = (d: LabProcess | undefined) => {
      events.nodeDown += count(d, 'node_down');
      events.localStall += count(d, 'local_stall');
      events.guardRemoved += count(d, 'guard_removed');
    };
    try {
      await p.waitFor((s) => s.ok, 20000);
      for (let i = 0; i < TRIALS; i++) {
        const h = await c.waitForHolder(w, 60000);
        await sleep(3000);
        const d = c.daemons.get(h)!;
        const all = procTree(d.pid);
        const t = now();
        await c.lab.linkDown(h);
        for (const pid of all) {
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            /* gone */
          }
        }
        await c.lab.exec(h, ['ip', 'addr', 'del', `${VIP}/32`, 'dev', 'eth0']);
        try {
          const s = await p.waitFor((x) => x.ok && x.t > t && who(x.body) !== h && who(x.body) !== '', 20000);
          const first = p.firstOkAfter(t, (x) => who(x.body) !== h && who(x.body) !== '') ?? s;
          takeoverMs.push(first.t - t);
          console.log(`budget cut #${i + 1}: ${h} -> ${who(first.body)} in ${(first.t - t).toFixed(0)} ms`);
        } catch {
          noTakeover++;
          console.log(`budget cut #${i + 1}: ${h} -> nobody answered within 20 s`);
        }
        await d.wait(5000);
        tally(d);
        await c.lab.linkUp(h);
        start(h);
        await sleep(3000);
      }
    } finally {
      await p.stop();
    }
    const cutTwoHolders = w.overlapMs(C0, now());
    const cutLoad = new LoadRecord().start;
    console.log('takeover', stats(takeoverMs), 'two holders', cutTwoHolders);

    // soak
    await c.waitForHolder(w, 60000);
    await sleep(10_000); // the restarted node past its start-up quiet period
    const names = c.lab.nodes.map((m) => m.name);
    const before = Object.fromEntries(names.map((n) => [n, { cpu: treeCpu(c.daemons.get(n)!.pid), mem: memOf(c.daemons.get(n)!.pid)!, cg: cg.stats(n), ev: { down: count(c.daemons.get(n), 'node_down'), stall: count(c.daemons.get(n), 'local_stall'), guard: count(c.daemons.get(n), 'guard_removed') } }]));
    const holderBefore = w.holders().join(',');
    const sp = c.lab.probe({ ip: VIP, port: 9405, path: '/healthz', everyMs: 20, timeoutMs: 200, maxDurationMs: (SOAK_MIN * 60 + 60) * 1000 });
    await sp.waitFor((s) => s.ok, 20000);
    const S0 = now();
    await sleep(SOAK_MIN * 60_000);
    const S1 = now();
    await sp.stop();
    const secs = (S1 - S0) / 1000;
    const after = Object.fromEntries(names.map((n) => [n, { cpu: treeCpu(c.daemons.get(n)!.pid), mem: memOf(c.daemons.get(n)!.pid)!, cg: cg.stats(n), ev: { down: count(c.daemons.get(n), 'node_down'), stall: count(c.daemons.get(n), 'local_stall'), guard: count(c.daemons.get(n), 'guard_removed') } }]));
    // Holder intervals that began during the soak: on another node than the one before it is a
    // move (a false failover); on the same node, the address came back where it was (a lapse
    // re-added, or a monitor failure recovered in place) — an outage, not a failover.
    const starts = Object.entries(w.intervals())
      .flatMap(([node, ivs]) => ivs.map(([s]) => ({ node, s })))
      .sort((a, b) => a.s - b.s);
    let moves = 0;
    let readds = 0;
    let last = '';
    for (const x of starts) {
      if (x.s > S0 && x.s <= S1) {
        if (last && x.node === last) readds++;
        else moves++;
      }
      last = x.node;
    }
    const perNode = names.map((n) => {
      const a = before[n]!;
      const b = after[n]!;
      return {
        node: n,
        cpuPct: ((b.cpu.daemon + b.cpu.helpers - a.cpu.daemon - a.cpu.helpers) / secs) * 100,
        rssMiB: b.mem.rssMiB,
        anonMiB: b.mem.anonMiB,
        rssGrowthMiB: b.mem.rssMiB - a.mem.rssMiB,
        throttledPerSec: (b.cg.nrThrottled! - a.cg.nrThrottled!) / secs,
        throttledMsPerSec: (b.cg.throttledMs! - a.cg.throttledMs!) / secs,
        memPeakMiB: (b.cg.memPeakBytes ?? NaN) / 2 ** 20,
        oomKills: b.cg.oomKills ?? NaN,
        nodeDown: b.ev.down - a.ev.down,
        localStall: b.ev.stall - a.ev.stall,
        guardRemoved: b.ev.guard - a.ev.guard,
      };
    });
    const okSamples = sp.between(S0, S1);
    const failed = okSamples.filter((s) => !s.ok).length;
    load.finish();
    result = {
      date: iso(),
      machine: machine(),
      binary: binName(),
      cgroups: cg.description,
      hog: HOG_MODE,
      profile: PROFILE,
      load: { start: load.start, afterCuts: cutLoad, end: load.end },
      cut: { trials: TRIALS, takeover: stats(takeoverMs), takeoverMs, noTakeover, twoHoldersMs: cutTwoHolders, events },
      soak: {
        minutes: secs / 60,
        holderBefore,
        holderAfter: w.holders().join(','),
        moves,
        readds,
        twoHoldersMs: w.overlapMs(S0, S1),
        probes: okSamples.length,
        failedProbes: failed,
        longestOutageMs: sp.longestOutageMs(S0, S1),
        perNode,
      },
    };
    writeFileSync(`${OUT}.json`, JSON.stringify(result, null, 2) + '\n');
    const s = stats(takeoverMs);
    const f1 = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : '–');
    const f2 = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : '–');
    const rows = perNode.map(
      (r) =>
        `| ${r.node} | ${f2(r.cpuPct)} | ${f1(r.throttledPerSec)} / ${f1(r.throttledMsPerSec)} | ${f1(r.rssMiB)} / ${f1(r.anonMiB)} | ${f2(r.rssGrowthMiB)} | ${f1(r.memPeakMiB)} | ${r.oomKills} | ${r.nodeDown} / ${r.localStall} / ${r.guardRemoved} |`,
    );
    const title = HOG_MODE === 'inside' ? 'a CPU hog inside its quarter core (stress case)' : HOG_MODE === 'beside' ? 'CPU hogs on the same core' : 'no hog';
    const md = `## Pi-sized budget: 25 % of a core and 64 MiB per daemon, ${title}, profile ${PROFILE} (${iso()})

\`make bench-budget\` (bench/budget.ts${SOAK_MIN !== 10 ? `, SOAK_MIN=${SOAK_MIN}` : ''}). ${machine()}; ${load.text}. Binary: ${binName()}, profile ${PROFILE}.
Limits: ${cg.description}. ${HOG_MODE === 'beside' ? 'Beside each daemon a shell busy loop, outside the daemons\' groups (as other services on a Pi are outside piha.service\'s), and all three daemons and three hogs pinned to one core (`taskset -c 0`): that core is always busy.' : HOG_MODE === 'inside' ? 'Stress case (HOG=inside): in each node\'s group, beside the daemon (and its guard and ip helpers), a shell busy loop competes for the same quarter core: the daemon gets about half of it.' : 'No CPU hog.'}

Power cuts of the holder under these limits (link down + SIGKILL, client probing /healthz through the VIP every 5 ms):
${TRIALS} trials, takeover median **${fmtMs(s.median)} ms**, p99 ${fmtMs(s.p99)} ms, range ${fmtMs(s.min)}–${fmtMs(s.max)} ms${noTakeover ? `, ${noTakeover} without takeover` : ''}; two holders ${Math.round(cutTwoHolders)} ms
(target: median ≤ 1500 ms${s.median <= 1500 ? ', met' : ', **missed**'}).

Soak, ${f1(secs / 60)} min idle under the same limits, probed every 20 ms: VIP moves to another node **${moves}** (holder ${holderBefore} → ${w.holders().join(',')}), address lost and re-added on the same node ${readds}, two holders ${Math.round(w.overlapMs(S0, S1))} ms,
${failed} of ${okSamples.length} probes failed, longest outage ${Math.round(sp.longestOutageMs(S0, S1))} ms.

| node | daemon + helpers CPU % | throttled periods/s / ms/s | RSS / private anon MiB (end) | RSS growth MiB | cgroup memory peak MiB | OOM kills | node-down / local-stall / guard-removed events |
|---|---|---|---|---|---|---|---|
${rows.join('\n')}
`;
    writeFragment(OUT.replace(/^bench\//, '') as FragmentName, md);
    console.log(md);
    if (moves || noTakeover || s.median > 1500) process.exitCode = 1;
  } finally {
    for (const h of hogs) await h.kill();
    await w.stop();
    await c.destroy();
    cg.remove();
  }
}
