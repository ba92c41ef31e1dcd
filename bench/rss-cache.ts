// How much of a daemon's RSS depends on the page cache of its executable (make bench-rss-cache).
//
// RSS counts the executable's file pages a process has mapped. Those are shared, clean and
// reclaimable, but they count, and how many get mapped depends on how the binary sits in the
// page cache when the daemon starts: the kernel maps already-cached neighbours of a faulting
// page too (fault-around), whole large folios where it has them. So the same build showed
// 59.5 MiB in a scale run started right after `make binary` and ~50 MiB in earlier runs.
// This bench starts the 3-node lan cluster three times, each after putting the binary in one
// state, and reads /proc/PID/status and smaps_rollup of every daemon after WARM_S seconds:
//   cold     page cache dropped (dd iflag=nocache): as after a boot from the SD card
//   read     the file read once with cat before start (cached by reads)
//   built    the executables made again by scripts/sea.mjs just before start (copy of the
//            official node binary, strip, postject), as right after `make binary`
// Env: WARM_S (15). Writes bench/rss-cache.json and bench/rss-cache.md (docs/benchmarks.md).

import { readFileSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { LabCluster, PIHA_BIN, VIP } from '../test/lab/cluster.ts';
import { sleep } from '../test/lab/lab.ts';
import { binName, coldBinary, iso, machine, startPiha } from './lib.ts';
import { writeFragment } from './fragments.ts';

const WARM_S = Number(process.env.WARM_S ?? 15);
type State = 'cold' | 'read' | 'built';

interface Row {
  state: State;
  nodes: { rssMiB: number; anonMiB: number; fileMiB: number; pssMiB: number }[];
}

const kib = (text: string, key: string): number => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? NaN) / 1024;

async function measure(state: State, bin: string): Promise<Row> {
  if (state === 'cold') coldBinary([bin]);
  if (state === 'read') {
    coldBinary([bin]);
    execFileSync('cat', [bin], { stdio: ['ignore', 'ignore', 'inherit'] }); // read through the page cache once, output discarded
  }
  const c = await LabCluster.create({ profile: 'lan' });
  const w = c.lab.watchAddress(VIP);
  try {
    await w.ready;
    for (const m of c.lab.nodes) startPiha(c, m.name, { bin: [bin] });
    await c.waitForHolder(w, 30000);
    await sleep(WARM_S * 1000);
    const nodes = [...c.daemons.values()].map((p) => {
      const st = readFileSync(`/proc/${p.pid}/status`, 'utf8');
      const sm = readFileSync(`/proc/${p.pid}/smaps_rollup`, 'utf8');
      return { rssMiB: kib(st, 'VmRSS'), anonMiB: kib(st, 'RssAnon'), fileMiB: kib(st, 'RssFile'), pssMiB: kib(sm, 'Pss') };
    });
    return { state, nodes };
  } finally {
    await w.stop();
    await c.destroy();
  }
}

const WHAT: Record<State, string> = {
  cold: 'page cache dropped first (as after a boot from the SD card)',
  read: 'binary read once (`cat`) before the start',
  built: 'binary made again by `node scripts/sea.mjs` (the step `make binary` runs) just before the start',
};

function render(d: { date: string; machine: string; binary: string; warmS: number; rows: Row[] }): string {
  const f1 = (x: number) => x.toFixed(1);
  const range = (xs: number[]) => `${f1(Math.min(...xs))}–${f1(Math.max(...xs))}`;
  const rows = d.rows.map((r) => `| ${WHAT[r.state]} | ${range(r.nodes.map((n) => n.rssMiB))} | ${range(r.nodes.map((n) => n.anonMiB))} | ${range(r.nodes.map((n) => n.fileMiB))} | ${range(r.nodes.map((n) => n.pssMiB))} |`);
  return `## RSS and the executable's page cache

${d.date}, ${d.machine}, \`${d.binary}\`, 3-node lan cluster, ${d.warmS} s after a holder was elected; \`node --import tsx bench/rss-cache.ts\`.
Ranges over the three daemons.

| the executable before the start | RSS MiB | private anon MiB | file-backed MiB | PSS MiB |
|---|---|---|---|---|
${rows.join('\n')}

Only the file-backed part moves: the executable's pages that the daemon has mapped. They are
shared by every process of the binary, clean, and dropped first under memory pressure. How
many get mapped depends on the page cache: at a page fault the kernel also maps the cached
pages around it (fault-around), so the more of the file is cached, and in larger folios, the
more gets mapped. Why the build's way of writing the file maps the most was not looked into.
A Pi starts piha from the SD card at boot, which is the first row. Benches that report RSS (scale, idle, budget, soak) drop the
binary's page cache before they start daemons since 2026-11-27 (bench/lib.ts \`coldBinary\`);
a scale run started right after \`make binary\` before that showed 59.5 MiB at N=3, where the
earlier runs showed ~50 MiB.`;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  if (PIHA_BIN.length !== 1) throw new Error('bench/rss-cache.ts measures the single executable: run make binary first');
  const bin = PIHA_BIN[0]!;
  const rows: Row[] = [];
  for (const state of ['cold', 'read', 'built'] as State[]) {
    // built: the single executables made again (same sources), exactly as `make binary` does.
    if (state === 'built') execFileSync(process.execPath, ['scripts/sea.mjs'], { stdio: 'ignore' });
    const r = await measure(state, bin);
    console.log(state, JSON.stringify(r.nodes));
    rows.push(r);
  }
  const data = { date: iso(), machine: machine(), binary: binName(), warmS: WARM_S, rows };
  writeFileSync('bench/rss-cache.json', JSON.stringify(data, null, 1) + '\n');
  writeFragment('rss-cache', render(data));
  console.log(render(data));
}
