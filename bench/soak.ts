// make soak: an idle cluster under packet loss must not fail over by itself, must not grow,
// and must not write to disk.
// Default: profile fast, 5 % loss on every node's input, 5 minutes (`make soak SOAK_MINUTES=30`).
// Measured over the soak (after a warm-up):
//   - VIP holder changes (false failovers), whether the holder lost it, two holders;
//   - RSS and private memory of each daemon, at the start and at the end (growth);
//   - writes: bytes each daemon (and its helpers) sent to storage (/proc/PID/io write_bytes),
//     files changed in its state directory (mtime), and log lines it printed (on a Pi they go
//     to journald, which writes them to disk).
// Env: PROFILE, LOSS (percent), MINUTES (or SOAK_MINUTES), WARM_S (20).
// Writes bench/soak.md (docs/benchmarks.md); exit code 1 when a target is missed.
import { readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LabCluster, VIP } from '../test/lab/cluster.ts';
import { now, sleep } from '../test/lab/lab.ts';
import { LoadRecord, binName, ioOf, iso, machine, memOf, procTree } from './lib.ts';
import { writeFragment } from './fragments.ts';

const profile = (process.env.PROFILE ?? 'fast') as 'fast' | 'lan' | 'slow';
const loss = Number(process.env.LOSS ?? 5);
const minutes = Number(process.env.SOAK_MINUTES ?? process.env.MINUTES ?? 5);
const WARM_S = Number(process.env.WARM_S ?? 20);

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
  await sleep(minutes * 60_000);
  const t1 = now();
  const after = Object.fromEntries(
    names.map((n) => [n, { mem: memOf(pid(n))!, io: writes(pid(n)), m: mtimes(stateDir(n)), lines: c.daemons.get(n)!.stdoutLines.length + c.daemons.get(n)!.stderrLines.length }]),
  );
  await c.lab.heal();
  const iv = w.intervals();
  const moves = Object.values(iv).flat().filter(([start]) => start > t0 && start <= t1).length;
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

Max private-memory growth ${f2(maxAnonGrowth)} MiB. Writes: /proc/PID/io write_bytes of the daemon and its live helpers,
and the mtimes of the files in its state directory; log lines are what journald would store.
`;
  console.log(result);
  writeFileSync('bench/soak.json', JSON.stringify({ date: iso(), machine: machine(), profile, loss, minutes, warmS: WARM_S, load: { start: load.start, end: load.end }, moves, outage, twoHoldersMs: two, maxRssGrowthMiB: maxGrowth, maxAnonGrowthMiB: maxAnonGrowth, anyWrites, nodes: rows }, null, 2) + '\n');
  writeFragment('soak', result);
  if (moves || outage || two > 0 || maxGrowth > 1 || anyWrites) process.exitCode = 1;
} finally {
  await w.stop();
  await c.destroy();
}
