// How long a save of the node's durable state takes (make bench-persist): the core persists
// before it answers (a granter's new VIP promise at every takeover, a term at every election),
// so the save sits on the failover path, synchronously in the event loop.
//
// Two ways of saving the same state, alternated in blocks so that both see the same disk:
//   replace  what piha did before 2026-11-28: temporary file, fsync, rename, fsync of the
//            directory (src/daemon/state-store.ts atomicWrite; two ext4 journal commits)
//   slots    StateStore.save: overwrite the older of two allocated slots, then fdatasync
// each on a quiet file system and beside a writer that does what a database does on the same
// disk (256 KiB files written, fsync'd and renamed in a loop, as etcd/k3s or sqlite would).
//
// Env: PERSIST_DIR (a directory on the file system to measure, default /var/tmp; on a Pi point
// it at the SD card), SAVES (per way and condition, default 400), BLOCK (saves per block, 20).
// Writes bench/persist.json and bench/persist.md (and the fragment in docs/benchmarks.md).

import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PersistedState } from '../src/core/types.ts';
import { atomicWrite, StateStore } from '../src/daemon/state-store.ts';
import { writeFragment } from './fragments.ts';
import { iso, LoadRecord, machine, pct } from './lib.ts';

const BASE = process.env.PERSIST_DIR ?? '/var/tmp';
const SAVES = Number(process.env.SAVES ?? 400);
const BLOCK = Number(process.env.BLOCK ?? 20);

// The shape a 3-node cluster with a committed configuration and a VIP promise saves; the
// configuration documents are the bulk (a few KB), as in a lab daemon's state.
function sampleState(n: number): PersistedState {
  const doc = { epoch: 3, digest: 'f'.repeat(64), text: 'x'.repeat(2400), by: 1 };
  return {
    attrs: { 'node:node2:standby': { v: false, c: 2, n: 2 }, 'cleanup:vip': { v: n, c: n, n: 1 } },
    lamport: n,
    config: { applied: doc, accepted: doc },
    term: 7,
    obligations: [{ key: 'r:vip', to: 2, inc: 1764300000000 + n, round: n }],
  } as unknown as PersistedState;
}

/** /sys/.../stat of the disk holding `dir` (the whole disk for a partition), or null. */
function diskStatFile(dir: string): string | null {
  const dev = statSync(dir).dev;
  const sys = `/sys/dev/block/${Math.floor(dev / 256) & 0xfff}:${(dev & 0xff) | ((dev >> 12) & 0xfff00)}`;
  if (!existsSync(`${sys}/stat`)) return null;
  const real = realpathSync(sys);
  return existsSync(`${real}/partition`) ? `${real}/../stat` : `${real}/stat`;
}

/** Writes and flushes the disk has completed so far (block/stat fields 5 and 15). */
function diskIo(file: string | null): { writes: number; flushes: number } | null {
  if (!file) return null;
  const f = readFileSync(file, 'utf8').trim().split(/\s+/).map(Number);
  return f.length >= 17 ? { writes: f[4]!, flushes: f[14]! } : null;
}

type Way = 'replace' | 'slots';
type Condition = 'quiet' | 'beside a database-like writer';

function runWay(way: Way, dir: string, from: number, count: number): number[] {
  const store = new StateStore(join(dir, 'store'));
  const file = join(dir, 'state.json');
  const out: number[] = [];
  for (let i = 0; i < count; i++) {
    const s = sampleState(from + i);
    const t0 = performance.now();
    if (way === 'replace') atomicWrite(file, JSON.stringify(s));
    else store.save(s);
    out.push(performance.now() - t0);
  }
  return out;
}

/** A child process writing 256 KiB files with fsync and rename, as fast as the disk lets it. */
function startWriter(dir: string): { stop: () => Promise<number> } {
  const code = `
    const fs = require('node:fs');
    const buf = Buffer.alloc(256 * 1024, 7);
    let n = 0;
    process.on('SIGTERM', () => { process.stdout.write(String(n)); process.exit(0); });
    // One file per turn of the event loop, so that SIGTERM's handler gets to run.
    const one = () => { const f = ${JSON.stringify(dir)} + '/w' + (n % 50); const fd = fs.openSync(f + '.t', 'w'); fs.writeSync(fd, buf); fs.fsyncSync(fd); fs.closeSync(fd); fs.renameSync(f + '.t', f); n++; setImmediate(one); };
    one();`;
  const child = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const started = performance.now();
  return {
    stop: () =>
      new Promise((resolve) => {
        child.on('exit', () => resolve(Number(out) / ((performance.now() - started) / 1000)));
        child.kill('SIGTERM');
      }),
  };
}

async function main(): Promise<void> {
  const load = new LoadRecord();
  const root = mkdtempSync(join(BASE, 'piha-persist-'));
  const results: { condition: Condition; way: Way; ms: number[]; writerFilesPerS?: number; perSave?: { writes: number; flushes: number } }[] = [];
  const disk = diskStatFile(root);
  try {
    for (const condition of ['quiet', 'beside a database-like writer'] as Condition[]) {
      const dir = mkdtempSync(join(root, 'c-'));
      const writer = condition === 'quiet' ? null : startWriter(mkdtempSync(join(root, 'w-')));
      if (writer) await new Promise((r) => setTimeout(r, 1000));
      const ms: Record<Way, number[]> = { replace: [], slots: [] };
      const io: Record<Way, { writes: number; flushes: number }> = { replace: { writes: 0, flushes: 0 }, slots: { writes: 0, flushes: 0 } };
      // Warm-up: the slots exist and both ways' files are allocated before timing.
      runWay('replace', dir, 0, 3);
      runWay('slots', dir, 0, 3);
      for (let done = 0; done < SAVES; done += BLOCK) {
        for (const way of (done / BLOCK) % 2 ? (['slots', 'replace'] as Way[]) : (['replace', 'slots'] as Way[])) {
          const before = diskIo(disk);
          ms[way].push(...runWay(way, dir, 10 + done, Math.min(BLOCK, SAVES - done)));
          const after = diskIo(disk);
          if (before && after) {
            io[way].writes += after.writes - before.writes;
            io[way].flushes += after.flushes - before.flushes;
          }
        }
      }
      const writerFilesPerS = writer ? await writer.stop() : undefined;
      for (const way of ['replace', 'slots'] as Way[]) {
        const perSave = disk ? { writes: io[way].writes / ms[way].length, flushes: io[way].flushes / ms[way].length } : undefined;
        results.push({ condition, way, ms: ms[way], writerFilesPerS, perSave });
      }
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
  load.finish();
  const summary = results.map((r) => ({
    condition: r.condition,
    way: r.way,
    saves: r.ms.length,
    medianMs: pct(r.ms, 50),
    p90Ms: pct(r.ms, 90),
    p99Ms: pct(r.ms, 99),
    maxMs: Math.max(...r.ms),
    writerFilesPerS: r.writerFilesPerS,
    diskWritesPerSave: r.perSave?.writes,
    diskFlushesPerSave: r.perSave?.flushes,
  }));
  const date = iso();
  writeFileSync(
    new URL('./persist.json', import.meta.url),
    JSON.stringify({ date, machine: machine(), dir: BASE, saves: SAVES, block: BLOCK, load: { start: load.start, end: load.end }, results: summary }, null, 2) + '\n',
  );
  const f = (x: number) => x.toFixed(2);
  const perSave = (x: number | undefined) => (x === undefined ? '–' : x.toFixed(1));
  const rows = summary.map(
    (s) =>
      `| ${s.condition}${s.writerFilesPerS ? ` (${s.writerFilesPerS.toFixed(0)} files/s)` : ''} | ${s.way} | ${s.saves} | ${f(s.medianMs)} | ${f(s.p90Ms)} | ${f(s.p99Ms)} | ${f(s.maxMs)} | ${s.writerFilesPerS ? '–' : `${perSave(s.diskWritesPerSave)} / ${perSave(s.diskFlushesPerSave)}`} |`,
  );
  const ratio = (c: Condition, k: 'medianMs' | 'p99Ms') => {
    const a = summary.find((s) => s.condition === c && s.way === 'replace')![k];
    const b = summary.find((s) => s.condition === c && s.way === 'slots')![k];
    return (a / b).toFixed(1);
  };
  const md = `## Saving the durable state

${date}, ${machine()}; \`make bench-persist\` (\`node --import tsx bench/persist.ts\`), ${SAVES} saves per way and
condition, in alternating blocks of ${BLOCK}, in ${BASE} (ext4 on this VM's virtio disk); ${load.text}.

A node saves its durable state (src/daemon/state-store.ts) before it answers: a granter's new
VIP promise at every takeover, a coordinator term at every election. The save runs
synchronously in the event loop, so it is on the failover path. "replace" is how piha saved
before (temporary file, fsync, rename, fsync of the directory: two ext4 journal commits, and a
journal commit waits for every other process's metadata on that file system); "slots" is how
it saves now (overwrite the older of two allocated slot files, then one fdatasync). The
writer is a second process writing, fsyncing and renaming 256 KiB files in a loop, as a
database on the same disk would. Disk writes and flushes per save are the disk's own counters
(/sys/block/…/stat) over the quiet run, so they include whatever else the machine wrote then
(and the journal's periodic commits of the files' times). Small random writes are what an SD
card is slowest at. This VM's disk takes hardly any cache flushes (the kernel sends none to a
disk without a volatile write cache), so the flush column says little here.

| condition | way | saves | median ms | p90 ms | p99 ms | max ms | disk writes / flushes per save |
|---|---|---|---|---|---|---|---|
${rows.join('\n')}

Replace took ${ratio('quiet', 'medianMs')}× as long as slots at the median and ${ratio('quiet', 'p99Ms')}× at the 99th percentile on the quiet
disk; ${ratio('beside a database-like writer', 'medianMs')}× and ${ratio('beside a database-like writer', 'p99Ms')}× beside the writer. This is a VM disk whose cache
flushes are cheap; an SD card was not measured here (\`PERSIST_DIR=/var/lib/piha make bench-persist\` on a Pi
measures its card).
`;
  writeFragment('persist', md);
  process.stdout.write(md);
}

await main();
