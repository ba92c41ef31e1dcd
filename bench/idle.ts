// Idle cost of a daemon, per start-up variant (binary, node/V8 flags, environment): a 3-node
// lan cluster on the namespace lab, nobody probing, WARM_S seconds to settle, then CPU and
// memory over MEASURE_S seconds. CPU is split into the daemon itself and its helpers (the
// address guard, the ip batch process, arping; live ones read directly, exited ones through
// the daemon's reaped-children counters). Memory: RSS, PSS, private anonymous and
// file-backed resident pages (the executable's own code and data; clean, shared,
// reclaimable). Writes bench/idle.md (and refreshes docs/benchmarks.md) when RECORD=1.
//
//   node --import tsx bench/idle.ts                       # every variant
//   VARIANTS=sea,sea-noflags MEASURE_S=60 node --import tsx bench/idle.ts
//
// Env: VARIANTS (comma list, default all), EXTRA_VARIANTS (JSON), WARM_S (10), MEASURE_S (30),
// PROFILE (lan), RECORD.

import { readFileSync, writeFileSync } from 'node:fs';
import { LabCluster, PIHA_BIN, VIP } from '../test/lab/cluster.ts';
import { now, sleep } from '../test/lab/lab.ts';
import { BUNDLE_BIN, LoadRecord, iso, machine, memOf, helpersRssMiB, startPiha, treeCpu, type PihaLaunch } from './lib.ts';
import { writeFragment } from './fragments.ts';

interface Variant extends PihaLaunch {
  name: string;
  what: string;
}

// The daemon sets its own V8 flags and UV_THREADPOOL_SIZE at start (src/cli-entry.ts); NOFLAGS
// restores node's defaults.
const NOFLAGS = { PIHA_V8_FLAGS: '', UV_THREADPOOL_SIZE: '4' };
const VARIANTS: Variant[] = [
  // BEFORE=path/to/an/older/bundle: the same measurement for a build without these changes.
  ...(process.env.BEFORE ? [{ name: 'before', what: `node ${process.env.BEFORE} (build before the idle-cost changes)`, bin: [process.execPath, process.env.BEFORE] }] : []),
  { name: 'sea', what: 'single executable as shipped (V8 flags and UV_THREADPOOL_SIZE=1 set by src/cli-entry.ts)', bin: PIHA_BIN },
  { name: 'sea-noflags', what: 'single executable, PIHA_V8_FLAGS="" UV_THREADPOOL_SIZE=4 (node defaults)', bin: PIHA_BIN, env: NOFLAGS },
  { name: 'bundle', what: 'node dist/piha as shipped', bin: BUNDLE_BIN },
  { name: 'bundle-noflags', what: 'node dist/piha, no flags', bin: BUNDLE_BIN, env: NOFLAGS },
  { name: 'semi1', what: 'node --max-semi-space-size=1 dist/piha', bin: [process.execPath, '--max-semi-space-size=1', BUNDLE_BIN[1]!], env: NOFLAGS },
  { name: 'old32', what: 'node --max-old-space-size=32 dist/piha', bin: [process.execPath, '--max-old-space-size=32', BUNDLE_BIN[1]!], env: NOFLAGS },
  { name: 'single-gc', what: 'node --single-threaded-gc dist/piha', bin: [process.execPath, '--single-threaded-gc', BUNDLE_BIN[1]!], env: NOFLAGS },
  { name: 'v8pool1', what: 'node --v8-pool-size=1 dist/piha', bin: [process.execPath, '--v8-pool-size=1', BUNDLE_BIN[1]!], env: NOFLAGS },
  { name: 'uvpool1', what: 'UV_THREADPOOL_SIZE=1 node dist/piha', bin: BUNDLE_BIN, env: { ...NOFLAGS, UV_THREADPOOL_SIZE: '1' } },
  { name: 'lite', what: 'node --lite-mode dist/piha', bin: [process.execPath, '--lite-mode', BUNDLE_BIN[1]!], env: NOFLAGS },
  { name: 'jitless', what: 'node --jitless dist/piha', bin: [process.execPath, '--jitless', BUNDLE_BIN[1]!], env: NOFLAGS },
  { name: 'no-opt', what: 'node --no-opt dist/piha (no TurboFan)', bin: [process.execPath, '--no-opt', BUNDLE_BIN[1]!], env: NOFLAGS },
  {
    name: 'sea-unit-env',
    what: 'single executable + NODE_OPTIONS=--v8-pool-size=1 MALLOC_ARENA_MAX=2 (proposed for piha.service)',
    bin: PIHA_BIN,
    env: { NODE_OPTIONS: '--v8-pool-size=1', MALLOC_ARENA_MAX: '2' },
  },
  { name: 'arena2', what: 'node dist/piha, MALLOC_ARENA_MAX=2', bin: BUNDLE_BIN, env: { MALLOC_ARENA_MAX: '2' } },
  {
    name: 'combo',
    what: 'node --max-semi-space-size=1 --single-threaded-gc --v8-pool-size=1 --max-old-space-size=32, UV_THREADPOOL_SIZE=1',
    bin: [process.execPath, '--max-semi-space-size=1', '--single-threaded-gc', '--v8-pool-size=1', '--max-old-space-size=32', BUNDLE_BIN[1]!],
    env: { ...NOFLAGS, UV_THREADPOOL_SIZE: '1' },
  },
];

// EXTRA_VARIANTS='[{"name":..,"what":..,"bin":[..],"env":{..}}]' adds variants (e.g. other builds).
if (process.env.EXTRA_VARIANTS) VARIANTS.push(...(JSON.parse(process.env.EXTRA_VARIANTS) as Variant[]));

const WARM_S = Number(process.env.WARM_S ?? 10);
const MEASURE_S = Number(process.env.MEASURE_S ?? 30);
const PROFILE = (process.env.PROFILE ?? 'lan') as 'lan' | 'fast' | 'slow';
const wanted = process.env.VARIANTS ? process.env.VARIANTS.split(',') : VARIANTS.map((v) => v.name);

export interface IdleResult {
  name: string;
  what: string;
  holder: string;
  /** % of one core, per node: daemon process, its helpers. */
  cpu: Record<string, { daemon: number; helpers: number }>;
  mem: Record<string, { rssMiB: number; pssMiB: number; anonMiB: number; fileMiB: number; helpersMiB: number; threads: number }>;
  loadStart: string;
  loadEnd: string;
}

const threads = (pid: number): number => {
  try {
    return Number(/Threads:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);
  } catch {
    return NaN;
  }
};

export async function measureIdle(v: Variant, profile = PROFILE, warmS = WARM_S, measureS = MEASURE_S): Promise<IdleResult> {
  const load = new LoadRecord();
  const c = await LabCluster.create({ profile });
  const w = c.lab.watchAddress(VIP);
  try {
    await w.ready;
    for (const n of c.lab.nodes) startPiha(c, n.name, v);
    const holder = await c.waitForHolder(w, 30000);
    await sleep(warmS * 1000);
    const pids = [...c.daemons.entries()].map(([n, d]) => [n, d.pid] as const);
    const a = pids.map(([, p]) => treeCpu(p));
    const t0 = now();
    await sleep(measureS * 1000);
    const secs = (now() - t0) / 1000;
    const b = pids.map(([, p]) => treeCpu(p));
    const out: IdleResult = { name: v.name, what: v.what, holder, cpu: {}, mem: {}, loadStart: load.start, loadEnd: load.finish().end };
    pids.forEach(([n, p], i) => {
      out.cpu[n] = { daemon: ((b[i]!.daemon - a[i]!.daemon) / secs) * 100, helpers: ((b[i]!.helpers - a[i]!.helpers) / secs) * 100 };
      const m = memOf(p)!;
      out.mem[n] = { ...m, helpersMiB: helpersRssMiB(p), threads: threads(p) };
    });
    if (w.holders().join() !== holder) throw new Error(`${v.name}: the VIP moved during the idle measurement (${holder} -> ${w.holders().join()})`);
    return out;
  } finally {
    await w.stop();
    await c.destroy();
  }
}

export function idleRow(r: IdleResult): string {
  const nodes = Object.keys(r.cpu);
  const others = nodes.filter((n) => n !== r.holder);
  const avg = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
  const f1 = (x: number) => x.toFixed(1);
  const f2 = (x: number) => x.toFixed(2);
  const h = r.holder;
  return `| ${r.name} | ${f2(r.cpu[h]!.daemon)} / ${f2(avg(others.map((n) => r.cpu[n]!.daemon)))} | ${f2(r.cpu[h]!.helpers)} / ${f2(avg(others.map((n) => r.cpu[n]!.helpers)))} | ${f1(r.mem[h]!.rssMiB)} / ${f1(avg(others.map((n) => r.mem[n]!.rssMiB)))} | ${f1(avg(nodes.map((n) => r.mem[n]!.pssMiB)))} | ${f1(avg(nodes.map((n) => r.mem[n]!.anonMiB)))} | ${f1(avg(nodes.map((n) => r.mem[n]!.fileMiB)))} | ${r.mem[h]!.threads} | ${r.loadStart.split(' ')[0]}→${r.loadEnd.split(' ')[0]} |`;
}

export const IDLE_HEADER = `| variant | daemon CPU % holder / others | helpers CPU % holder / others | RSS MiB holder / others | PSS MiB | private anon MiB | file-backed MiB | threads | load 1 min |
|---|---|---|---|---|---|---|---|---|`;

if (import.meta.url === `file://${process.argv[1]}`) {
  const results: IdleResult[] = [];
  for (const v of VARIANTS.filter((x) => wanted.includes(x.name))) {
    const r = await measureIdle(v);
    results.push(r);
    console.log(IDLE_HEADER.split('\n')[0]);
    console.log(idleRow(r));
  }
  console.log(`\n${IDLE_HEADER}\n${results.map(idleRow).join('\n')}`);
  for (const r of results) console.log(r.name, '—', r.what);
  if (process.env.RECORD === '1') {
    writeFileSync('bench/idle.json', JSON.stringify({ date: iso(), machine: machine(), warmS: WARM_S, measureS: MEASURE_S, profile: PROFILE, results }, null, 2) + '\n');
    writeFragment(
      'idle',
      `## Idle cost per daemon (${iso()})

\`node --import tsx bench/idle.ts\` (VARIANTS=${wanted.join(',')}). ${machine()}. A 3-node
profile-${PROFILE} cluster on the namespace lab, nobody probing; after ${WARM_S} s, CPU over
${MEASURE_S} s as % of one core. "helpers" = the address guard (bash), the ip batch process and
arping. RSS = PSS + pages shared with other processes; "file-backed" = resident pages of the
executable itself (clean, reclaimable: the kernel maps whole 64 KiB runs of page cache around
each page touched), "private anon" = heap, stacks, malloc.

${IDLE_HEADER}
${results.map(idleRow).join('\n')}

${results.map((r) => `- ${r.name}: ${r.what}`).join('\n')}
`,
    );
  }
}
