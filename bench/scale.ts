// make bench-scale: clusters of 3, 5, 9, 17 and 32 piha nodes (profile lan) on the namespace
// lab — every daemon a real process on this one machine. Per cluster size:
//   idle     after WARM_S s, over MEASURE_S s: per daemon CPU (daemon + helpers) and memory,
//            packets and bytes per second sent and received on each node's eth0 (its
//            /proc/PID/net/dev), piha_packets_sent_total from /metrics of every node, VIP
//            moves (must be 0) and nodes seen offline (must be 0)
//   cut      TRIALS power cuts of the holder (link down + SIGKILL of the daemon): takeover =
//            cut -> first /healthz answer through the VIP from another node; two holders
// Every node sends a heartbeat to every other node every 100 ms, so a node sends and receives
// ~10·(N−1) heartbeats a second (O(N)) and the cluster ~10·N·(N−1) (O(N²)); the lease holder
// and the coordinator also collect a grant from each peer per renewal. On this 2-core machine
// all N daemons share two cores, unlike N Raspberry Pis with four each: the summed CPU column
// says when the machine itself is the bottleneck.
//
// Env: NODES (comma list, default 3,5,9,17,32), TRIALS (5), WARM_S (15), MEASURE_S (30).
// Writes bench/scale.json, bench/scale.md (docs/benchmarks.md).

import { writeFileSync } from 'node:fs';
import { LabCluster, VIP } from '../test/lab/cluster.ts';
import { now, sleep } from '../test/lab/lab.ts';
import { LoadRecord, binName, fmtMs, iso, machine, memOf, netDev, procTree, startPiha, stats, treeCpu, who } from './lib.ts';
import { writeFragment } from './fragments.ts';

const NODES = (process.env.NODES ?? '3,5,9,17,32').split(',').map(Number);
const TRIALS = Number(process.env.TRIALS ?? 5);
const WARM_S = Number(process.env.WARM_S ?? 15);
const MEASURE_S = Number(process.env.MEASURE_S ?? 30);

interface ScaleResult {
  n: number;
  startToHolderMs: number;
  idle: {
    cpuDaemonAvg: number;
    cpuDaemonMax: number;
    cpuHelpersAvg: number;
    cpuTotalCores: number;
    rssAvg: number;
    rssMax: number;
    anonAvg: number;
    txPpsAvg: number;
    rxPpsAvg: number;
    txBpsAvg: number;
    rxBpsAvg: number;
    txPpsHolder: number;
    rxPpsHolder: number;
    bytesPerPacket: number;
    metricsSentPps: number;
    clusterPps: number;
    moves: number;
    nodeDownEvents: number;
  };
  takeoverMs: number[];
  noTakeover: number;
  twoHoldersMs: number;
  loadStart: string;
  loadMid: string;
  loadEnd: string;
}

const avg = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);

async function runSize(n: number): Promise<ScaleResult> {
  const load = new LoadRecord();
  const c = await LabCluster.create({ nodes: n, profile: 'lan' });
  const w = c.lab.watchAddress(VIP);
  try {
    await w.ready;
    const t0 = now();
    for (const m of c.lab.nodes) startPiha(c, m.name);
    const holder = await c.waitForHolder(w, 120_000);
    const startToHolderMs = now() - t0;
    await sleep(WARM_S * 1000);
    const names = [...c.daemons.keys()];
    const pids = names.map((k) => c.daemons.get(k)!.pid);
    const metricsSent = async () => {
      const xs = await Promise.all(c.lab.nodes.map((m) => c.metrics(m.addr).then((mm) => mm.get('piha_packets_sent_total') ?? NaN, () => NaN)));
      return xs;
    };
    const downBefore = names.map((k) => c.daemons.get(k)!.stdoutLines.filter((l) => l.includes('"event":"node_down"')).length);
    const m0 = await metricsSent();
    const cpu0 = pids.map(treeCpu);
    const net0 = pids.map((p) => netDev(p)!);
    const T0 = now();
    await sleep(MEASURE_S * 1000);
    const T1 = now();
    const secs = (T1 - T0) / 1000;
    const cpu1 = pids.map(treeCpu);
    const net1 = pids.map((p) => netDev(p)!);
    const m1 = await metricsSent();
    const loadMid = load.finish().end;
    const mem = pids.map((p) => memOf(p)!);
    const daemonPct = pids.map((_, i) => ((cpu1[i]!.daemon - cpu0[i]!.daemon) / secs) * 100);
    const helperPct = pids.map((_, i) => ((cpu1[i]!.helpers - cpu0[i]!.helpers) / secs) * 100);
    const tx = pids.map((_, i) => (net1[i]!.txPackets - net0[i]!.txPackets) / secs);
    const rx = pids.map((_, i) => (net1[i]!.rxPackets - net0[i]!.rxPackets) / secs);
    const txb = pids.map((_, i) => (net1[i]!.txBytes - net0[i]!.txBytes) / secs);
    const rxb = pids.map((_, i) => (net1[i]!.rxBytes - net0[i]!.rxBytes) / secs);
    const hi = names.indexOf(holder);
    const moves = Object.values(w.intervals()).flat().filter(([s]) => s > T0 && s <= T1).length;
    const downAfter = names.map((k) => c.daemons.get(k)!.stdoutLines.filter((l) => l.includes('"event":"node_down"')).length);
    const idle: ScaleResult['idle'] = {
      cpuDaemonAvg: avg(daemonPct),
      cpuDaemonMax: Math.max(...daemonPct),
      cpuHelpersAvg: avg(helperPct),
      cpuTotalCores: (daemonPct.reduce((a, b) => a + b, 0) + helperPct.reduce((a, b) => a + b, 0)) / 100,
      rssAvg: avg(mem.map((x) => x.rssMiB)),
      rssMax: Math.max(...mem.map((x) => x.rssMiB)),
      anonAvg: avg(mem.map((x) => x.anonMiB)),
      txPpsAvg: avg(tx),
      rxPpsAvg: avg(rx),
      txBpsAvg: avg(txb),
      rxBpsAvg: avg(rxb),
      txPpsHolder: tx[hi]!,
      rxPpsHolder: rx[hi]!,
      bytesPerPacket: avg(txb) / Math.max(1e-9, avg(tx)),
      metricsSentPps: avg(m1.map((x, i) => (x - m0[i]!) / secs).filter(Number.isFinite)),
      clusterPps: tx.reduce((a, b) => a + b, 0),
      moves,
      nodeDownEvents: downAfter.reduce((a, b, i) => a + b - downBefore[i]!, 0),
    };
    console.log(`N=${n}`, JSON.stringify(idle));
    // power cuts
    const takeoverMs: number[] = [];
    let noTakeover = 0;
    const p = c.lab.probe({ ip: VIP, port: 9405, path: '/healthz', everyMs: 5, timeoutMs: 100, maxDurationMs: 3_600_000 });
    const C0 = now();
    try {
      await p.waitFor((s) => s.ok, 20000);
      for (let i = 0; i < TRIALS; i++) {
        const h = await c.waitForHolder(w, 60000);
        await sleep(3000);
        const t = now();
        const d = c.daemons.get(h)!;
        const all = procTree(d.pid);
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
          console.log(`N=${n} cut #${i + 1}: ${h} -> ${who(first.body)} in ${(first.t - t).toFixed(0)} ms`);
        } catch {
          noTakeover++;
          console.log(`N=${n} cut #${i + 1}: ${h} -> nobody answered in 20 s`);
        }
        await d.wait(5000);
        await c.lab.linkUp(h);
        startPiha(c, h);
        await sleep(3000);
      }
    } finally {
      await p.stop();
    }
    const twoHoldersMs = w.overlapMs(C0, now());
    load.finish();
    return { n, startToHolderMs, idle, takeoverMs, noTakeover, twoHoldersMs, loadStart: load.start, loadMid, loadEnd: load.end };
  } finally {
    await w.stop();
    await c.destroy();
  }
}

function growth(results: ScaleResult[], f: (r: ScaleResult) => number): string {
  // exponent k of f ~ N^k between the smallest and the largest cluster
  const a = results[0]!;
  const b = results[results.length - 1]!;
  if (a === b) return '–';
  const k = Math.log(f(b) / f(a)) / Math.log(b.n / a.n);
  return Number.isFinite(k) ? `N^${k.toFixed(2)}` : '–';
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const load = new LoadRecord();
  const results: ScaleResult[] = [];
  for (const n of NODES) results.push(await runSize(n));
  load.finish();
  writeFileSync('bench/scale.json', JSON.stringify({ date: iso(), machine: machine(), binary: binName(), load: { start: load.start, end: load.end }, results }, null, 2) + '\n');
  const f0 = (x: number) => x.toFixed(0);
  const f1 = (x: number) => x.toFixed(1);
  const f2 = (x: number) => x.toFixed(2);
  const rows = results.map((r) => {
    const s = stats(r.takeoverMs);
    const i = r.idle;
    return `| ${r.n} | ${fmtMs(s.median)} | ${fmtMs(s.max)}${r.noTakeover ? ` (${r.noTakeover} none)` : ''} | ${Math.round(r.twoHoldersMs)} | ${i.moves} / ${i.nodeDownEvents} | ${f0(i.txPpsAvg)} / ${f0(i.rxPpsAvg)} | ${f0(i.txPpsHolder)} / ${f0(i.rxPpsHolder)} | ${f1(i.txBpsAvg / 1024)} / ${f1(i.rxBpsAvg / 1024)} | ${f0(i.bytesPerPacket)} | ${f0(i.clusterPps)} | ${f2(i.cpuDaemonAvg)} (max ${f2(i.cpuDaemonMax)}) | ${f2(i.cpuHelpersAvg)} | ${f2(i.cpuTotalCores)} | ${f1(i.rssAvg)} (max ${f1(i.rssMax)}) / ${f1(i.anonAvg)} | ${r.loadStart.split(' ')[0]}→${r.loadMid.split(' ')[0]}→${r.loadEnd.split(' ')[0]} |`;
  });
  const md = `## Scale: 3 to 32 nodes (${iso()})

\`make bench-scale\` (bench/scale.ts). ${machine()}; ${load.text}. Binary: ${binName()}, profile lan.
All N daemons run on this one 2-core machine. Idle figures over ${MEASURE_S} s after ${WARM_S} s of
warm-up; packets and bytes from each node's eth0 counters (Ethernet frames: heartbeats, grants,
ARP; the UDP payload is ~230–330 bytes); "moves / node down" must be 0 in an idle cluster; then
${TRIALS} power cuts of the holder per size (link down + SIGKILL, client probing /healthz through
the VIP every 5 ms). Load = 1-minute load average at start → after the idle window → end.

| N | takeover median ms | max ms | two holders ms | idle moves / node-down events | packets/s per node tx / rx | holder tx / rx | KiB/s per node tx / rx | bytes per packet | cluster packets/s | daemon CPU % avg (max) | helpers CPU % | all daemons, cores | RSS MiB avg (max) / private anon | load 1 min |
|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|
${rows.join('\n')}

Growth from N=${results[0]?.n} to N=${results[results.length - 1]?.n} (fitted exponent k of N^k): packets/s per node ${growth(results, (r) => r.idle.txPpsAvg)}, cluster
packets/s ${growth(results, (r) => r.idle.clusterPps)}, bytes per packet ${growth(results, (r) => r.idle.bytesPerPacket)}, CPU per daemon ${growth(results, (r) => r.idle.cpuDaemonAvg)}, RSS per daemon
${growth(results, (r) => r.idle.rssAvg)}, takeover median ${growth(results, (r) => stats(r.takeoverMs).median)}.
`;
  writeFragment('scale', md);
  console.log(md);
}
