// make soak: an idle cluster under packet loss must not fail over by itself, must not grow,
// and must not write to disk.
// Default: profile fast, 5 % loss on every node's input, 5 minutes (`make soak SOAK_MINUTES=30`).
// Measured over the soak (after a warm-up):
//   - VIP holder changes (false failovers), whether the holder lost it, two holders;
//   - RSS and private memory of each daemon, at the start and at the end (growth);
//   - writes: bytes each daemon (and its helpers) sent to storage (/proc/PID/io write_bytes),
//     files changed in its state directory (mtime), and log lines it printed (on a Pi they go
//     to journald, which writes them to disk).
//   - every SAMPLE_S: memory of each daemon and the load average (leak or settling?), and
//     the time of each VIP move with the load average around it.
// Env: PROFILE, LOSS (percent), MINUTES (or SOAK_MINUTES), WARM_S (20), SAMPLE_S (60), TAG.
// Writes bench/soak.md (docs/benchmarks.md); exit code 1 when a target is missed.
import { readdirSync, statSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { LabCluster, VIP } from '../test/lab/cluster.ts';
import { now, sleep } from '../test/lab/lab.ts';
import { LoadRecord, binName, coldBinary, ioOf, iso, machine, memOf, procTree } from './lib.ts';
import { writeFragment } from './fragments.ts';

const profile = (process.env.PROFILE ?? 'fast') as 'fast' | 'lan' | 'slow';
const loss = Number(process.env.LOSS ?? 5);
const minutes = Number(process.env.SOAK_MINUTES ?? process.env.MINUTES ?? 5);
const WARM_S = Number(process.env.WARM_S ?? 20);
const SAMPLE_S = Number(process.env.SAMPLE_S ?? 60);

const load = new LoadRecord();
const c = await LabCluster.create({ profile });
const w = c.lab.watchAddress(VIP);
const mtimes = (dir: string) => {
  const out = new Map<string, number>();
  try {
    for (const f of readdirSync(dir)) out.set(f, statSync(join(dir, f)).mtimeMs);
  } catch {
    /* no state dir yet */
  }
  return out;
};
const writes = (root: number) => procTree(root).reduce((a, p) => a + (ioOf(p)?.writeBytes ?? 0), 0);
try {
  await w.ready;
  coldBinary();
  await c.startAll();
  const h = await c.waitForHolder(w, 20000);
  await sleep(2000);
  for (const n of c.lab.nodes) await c.lab.loss(n.name, loss, 'in');
  await sleep(WARM_S * 1000);
  const names = c.lab.nodes.map((n) => n.name);
  const pid = (n: string) => c.daemons.get(n)!.pid;
  const stateDir = (n: string) => join(c.dir, `${n}-state`);
  const before = Object.fromEntries(
    names.map((n) => [n, { mem: memOf(pid(n))!, io: writes(pid(n)), m: mtimes(stateDir(n)), lines: c.daemons.get(n)!.stdoutLines.length + c.daemons.get(n)!.stderrLines.length }]),
  );
  const t0 = now();
  // Every SAMPLE_S: each daemon's RSS and private memory and the load average, to tell a leak
  // (growth to the end) from a heap settling (growth that stops), and to place any VIP move
  // against how busy the machine was at that moment.
  const samples: { t: number; load1: number; anon: Record<string, number>; rss: Record<string, number> }[] = [];
  while (now() - t0 < minutes * 60_000) {
    await sleep(Math.min(SAMPLE_S * 1000, Math.max(0, minutes * 60_000 - (now() - t0))));
    const m = Object.fromEntries(names.map((n) => [n, memOf(pid(n))]));
    samples.push({ t: (now() - t0) / 1000, load1: loadavg()[0]!, anon: Object.fromEntries(names.map((n) => [n, m[n]?.anonMiB ?? NaN])), rss: Object.fromEntries(names.map((n) => [n, m[n]?.rssMiB ?? NaN])) });
  }
  const t1 = now();
  const after = Object.fromEntries(
    names.map((n) => [n, { mem: memOf(pid(n))!, io: writes(pid(n)), m: mtimes(stateDir(n)), lines: c.daemons.get(n)!.stdoutLines.length + c.daemons.get(n)!.stderrLines.length }]),
  );
  await c.lab.heal();
  const iv = w.intervals();
  const moveTimes = Object.entries(iv)
    .flatMap(([node, xs]) => xs.filter(([start]) => start > t0 && start <= t1).map(([start]) => ({ node, s: (start - t0) / 1000 })))
    .sort((a, b) => a.s - b.s);
  const moves = moveTimes.length;
  const loadNear = (sec: number) => samples.find((x) => x.t >= sec)?.load1 ?? NaN;
  const stillHolder = w.holders().join(',');
  const outage = Object.values(iv).flat().some(([, end]) => end !== null && end > t0 && end <= t1);
  const two = w.overlapMs(t0, t1);
  load.finish();
  const rows = names.map((n) => {
    const a = before[n]!;
    const b = after[n]!;
    const changed = [...b.m].filter(([f, t]) => a.m.get(f) !== t).map(([f]) => f);
    return {
      n,
      rss0: a.mem.rssMiB,
      rss1: b.mem.rssMiB,
      anon0: a.mem.anonMiB,
      anon1: b.mem.anonMiB,
      writeBytes: b.io - a.io,
      changed,
      lines: b.lines - a.lines,
    };
  });
  const maxGrowth = Math.max(...rows.map((r) => r.rss1 - r.rss0));
  const maxAnonGrowth = Math.max(...rows.map((r) => r.anon1 - r.anon0));
  const anyWrites = rows.some((r) => r.writeBytes > 0 || r.changed.length > 0);
  const f2 = (x: number) => x.toFixed(2);
  const verdict = [
    moves === 0 && !outage && two === 0 ? 'no false failover: met' : '**false failover: target missed**',
    maxGrowth <= 1 ? `RSS growth ≤ 1 MiB: met (max ${f2(maxGrowth)} MiB)` : `**RSS growth ${f2(maxGrowth)} MiB > 1 MiB: missed**`,
    !anyWrites ? 'no writes to disk: met' : '**writes to disk at idle: missed**',
  ].join('; ');
  const result = `## Soak: profile ${profile}, ${loss} % loss on every node, ${minutes} min idle (${iso()})

\`make soak SOAK_MINUTES=${minutes}\` (bench/soak.ts). ${machine()}; ${load.text}. Binary: ${binName()}.
After ${WARM_S} s of warm-up under loss, over ${minutes} min: VIP holder changes **${moves}** (holder before: ${h}, after: ${stillHolder}); holder lost the VIP: ${outage ? 'yes' : 'no'}; two holders: ${Math.round(two)} ms. ${verdict}.

| node | RSS MiB start → end | private anon MiB start → end | bytes written to storage (daemon + helpers) | state files changed | log lines |
|---|---|---|---|---|---|
${rows.map((r) => `| ${r.n} | ${r.rss0.toFixed(1)} → ${r.rss1.toFixed(1)} | ${r.anon0.toFixed(1)} → ${r.anon1.toFixed(1)} | ${r.writeBytes} | ${r.changed.length ? r.changed.join(', ') : 'none'} | ${r.lines} |`).join('\n')}

Max private-memory growth ${f2(maxAnonGrowth)} MiB. Private memory every ${SAMPLE_S} s (MiB, ${names.join(' / ')}) and the 1-minute load average:
${samples.map((x) => `${Math.round(x.t / 60)} min ${names.map((n) => x.anon[n]!.toFixed(1)).join(' / ')} (load ${x.load1.toFixed(1)})`).join('; ')}.
${moves ? `VIP moves (s after the start → new holder, load average at the next sample): ${moveTimes.map((m) => `${m.s.toFixed(0)} s → ${m.node} (${loadNear(m.s).toFixed(1)})`).join(', ')}.\n` : ''}Writes: /proc/PID/io write_bytes of the daemon and its live helpers,
and the mtimes of the files in its state directory; log lines are what journald would store.
`;
  console.log(result);
  // TAG=x: a second soak beside the main one (e.g. another profile): bench/soak-x.json and
  // bench/soak-x.md, not the docs fragment.
  const TAG = process.env.TAG;
  writeFileSync(TAG ? `bench/soak-${TAG}.json` : 'bench/soak.json', JSON.stringify({ date: iso(), machine: machine(), profile, loss, minutes, warmS: WARM_S, load: { start: load.start, end: load.end }, moves, moveTimes, samples, outage, twoHoldersMs: two, maxRssGrowthMiB: maxGrowth, maxAnonGrowthMiB: maxAnonGrowth, anyWrites, nodes: rows }, null, 2) + '\n');
  if (TAG) writeFileSync(`bench/soak-${TAG}.md`, result);
  else writeFragment('soak', result);
  if (moves || outage || two > 0 || maxGrowth > 1 || anyWrites) process.exitCode = 1;
} finally {
  await w.stop();
  await c.destroy();
}
