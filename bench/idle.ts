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
// Env: VARIANTS (comma list, default all), EXTRA_VARIANTS (JSON), WARM_S (10), MEASURE_S (30), MONITOR (5s),
// PROFILE (lan), PREFERS (a node the VIP prefers, e.g. node3: holder and coordinator apart), RECORD, PAIRED=1 (the variants at the same time, on separate lab clusters),
// REPEAT (rounds of PAIRED, default 1).

import { readFileSync, writeFileSync } from 'node:fs';
import { LabCluster, PIHA_BIN, VIP } from '../test/lab/cluster.ts';
import { now, sleep } from '../test/lab/lab.ts';
import { BUNDLE_BIN, LoadRecord, coldBinary, iso, machine, memOf, helpersRssMiB, netDev, startPiha, treeCpu, type PihaLaunch } from './lib.ts';
import { writeFragment } from './fragments.ts';

interface Variant extends PihaLaunch {
  name: string;
  what: string;
  /** More keys under cluster: for this variant's lab cluster (e.g. "  heartbeat_interval: 200ms"). */
  extraCluster?: string;
}

// The daemon sets its own V8 flags and UV_THREADPOOL_SIZE at start (src/cli-entry.ts); NOFLAGS
// restores node's defaults.
const NOFLAGS = { PIHA_V8_FLAGS: '', UV_THREADPOOL_SIZE: '4' };
const VARIANTS: Variant[] = [
  // BEFORE=path/to/an/older/bundle: the same measurement for a build without these changes.
  ...(process.env.BEFORE ? [{ name: 'before', what: `${process.env.BEFORE} (the build before these changes)`, bin: process.env.BEFORE.endsWith('.js') || process.env.BEFORE.endsWith('/piha') ? [process.execPath, process.env.BEFORE] : [process.env.BEFORE] }] : []),
  ...(process.env.AFTER ? [{ name: 'after', what: `${process.env.AFTER} (this build, as shipped)`, bin: [process.env.AFTER] }] : []),
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
// The VIP as the shipped overlays/boot/firmware/piha.yaml configures it: monitored every 5 s
// (the lab's default of 1 s is for quick tests, and costs a holder one more \`ip addr show\` a
// second). MONITOR=1s measures the lab's setting.
const MONITOR = process.env.MONITOR ?? '5s';
// PREFERS=node3: the VIP prefers that node, so its holder is not the coordinator (node1):
// two nodes ask for leases, as in a cluster whose VIP moved, or with a preferred node.
const PREFERS = process.env.PREFERS;
const RESOURCES = `  - name: vip
    type: vip
    ip: ${VIP}
    cidr_netmask: 32
    monitor_interval: ${MONITOR}${PREFERS ? `
    prefers: { ${PREFERS}: 50 }` : ''}`;
const PAIRED = process.env.PAIRED === '1';
const REPEAT = Number(process.env.REPEAT ?? 1);
const wanted = process.env.VARIANTS ? process.env.VARIANTS.split(',') : VARIANTS.map((v) => v.name);

export interface IdleResult {
  name: string;
  what: string;
  holder: string;
  /** % of one core, per node: daemon process, its helpers. */
  cpu: Record<string, { daemon: number; helpers: number }>;
  mem: Record<string, { rssMiB: number; pssMiB: number; anonMiB: number; fileMiB: number; helpersMiB: number; threads: number }>;
  /** Wake-ups per second of the daemon's main (event-loop) thread: voluntary context switches. */
  wakeups?: Record<string, number>;
  /** Frames per second on the node's eth0, received / sent (heartbeats, grants, ARP). */
  packets?: Record<string, { rx: number; tx: number }>;
  loadStart: string;
  loadEnd: string;
}

const voluntarySwitches = (pid: number): number => {
  try {
    return Number(/^voluntary_ctxt_switches:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);
  } catch {
    return NaN;
  }
};

const threads = (pid: number): number => {
  try {
    return Number(/Threads:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);
  } catch {
    return NaN;
  }
};

export async function measureIdle(v: Variant, profile = PROFILE, warmS = WARM_S, measureS = MEASURE_S): Promise<IdleResult> {
  const load = new LoadRecord();
  // EXTRA_CLUSTER (every variant) or a variant's extraCluster: more keys under cluster:, for trying a timing.
  const c = await LabCluster.create({ profile, extraCluster: v.extraCluster ?? process.env.EXTRA_CLUSTER, resources: RESOURCES });
  const w = c.lab.watchAddress(VIP);
  try {
    await w.ready;
    coldBinary(v.bin);
    for (const n of c.lab.nodes) startPiha(c, n.name, v);
    const holder = await c.waitForHolder(w, 30000);
    await sleep(warmS * 1000);
    const pids = [...c.daemons.entries()].map(([n, d]) => [n, d.pid] as const);
    const a = pids.map(([, p]) => treeCpu(p));
    const sw0 = pids.map(([, p]) => voluntarySwitches(p));
    const nd0 = pids.map(([, p]) => netDev(p));
    const t0 = now();
    await sleep(measureS * 1000);
    const secs = (now() - t0) / 1000;
    const b = pids.map(([, p]) => treeCpu(p));
    const sw1 = pids.map(([, p]) => voluntarySwitches(p));
    const nd1 = pids.map(([, p]) => netDev(p));
    const out: IdleResult = { name: v.name, what: v.what, holder, cpu: {}, mem: {}, wakeups: {}, packets: {}, loadStart: load.start, loadEnd: load.finish().end };
    pids.forEach(([n, p], i) => {
      out.cpu[n] = { daemon: ((b[i]!.daemon - a[i]!.daemon) / secs) * 100, helpers: ((b[i]!.helpers - a[i]!.helpers) / secs) * 100 };
      const m = memOf(p)!;
      out.mem[n] = { ...m, helpersMiB: helpersRssMiB(p), threads: threads(p) };
      out.wakeups![n] = (sw1[i]! - sw0[i]!) / secs;
      const [d0, d1] = [nd0[i], nd1[i]];
      if (d0 && d1) out.packets![n] = { rx: (d1.rxPackets - d0.rxPackets) / secs, tx: (d1.txPackets - d0.txPackets) / secs };
    });
    if (w.holders().join() !== holder) throw new Error(`${v.name}: the VIP moved during the idle measurement (${holder} -> ${w.holders().join()})`);
    return out;
  } finally {
    await w.stop();
    await c.destroy();
  }
}

// What the profiling found (node --cpu-prof on dist/piha, strace -c, perf, /proc/PID/smaps, V8
// heap statistics from a preloaded script) and what was changed; the table above measures it.
const NOTES = `### Where the idle cost goes, and what was changed

**CPU.** This VM charges about 105 µs of CPU per wake-up of an otherwise idle node process
(\`setInterval(() => {}, 25)\`: 0.42 % of a core at 40 wake-ups/s, from /proc/PID/schedstat),
and a bare node process exchanging 20 + 20 JSON+HMAC datagrams a second with a peer costs
1.15 %. A piha non-holder of a 3-node lan cluster wakes ~28 times a second (≈15 datagrams, ≈13
timer ticks, of which ≈9 did nothing: the heartbeat timer fires up to 1 ms *before* the
heartbeat is due — libuv rounds to whole ms against a cached loop time — so the core declines
and a second wake-up follows 1–2 ms later). Encoding and decoding a heartbeat cost 12 and 8 µs
(hot); the core's step is ~10 % of the JS time. Before the changes, a third of the JS time was
the address guard: the daemon wrote \`pet 3600.000 -\` to the guard's pipe on *every* step, even
holding nothing (its "unchanged" test compared Infinity − Infinity), waking the bash guard as
often (0.45 % of a core in "helpers" on every non-holder).

Changed (only the files this work may touch):
- src/vip/guard.ts: pets that change nothing are not written; with a VIP held the guard is
  re-told only when its deadline would move by more than min(250 ms, ⅕ of the time left)
  (every ~300 ms instead of every 100 ms on lan; the guard keeps the *earlier* deadline, the
  safe side). Non-holders' helpers: 0.45 % → 0.00 %.
- src/cli-entry.ts: V8 flags set at start, before the program loads (the single executable has
  no command line and NODE_OPTIONS refuses V8 flags): \`--semi-space-growth-factor=1\` (the young
  generation stays at its initial 1 MiB semi-space instead of growing to 8–16 MiB),
  \`--no-parallel-scavenge\` (no worker-thread wake-ups for a few KiB of survivors), \`--no-opt\` (no
  TurboFan: nothing is hot enough to repay it; its compiles and code cost more CPU and memory
  than they save); UV_THREADPOOL_SIZE=1 (3 idle threads fewer). \`--single-threaded-gc\`,
  \`--max-lazy\` and \`--no-flush-bytecode\` set this way crashed V8 (fatal "Check failed:
  concurrent_marking_handle_", a CompileLazy abort) and are not used; \`--lite-mode\`,
  \`--jitless\`, \`--v8-pool-size\`, \`--max-semi-space-size\` only work on node's command line.
- scripts/build.mjs: the bundle is made pure ASCII (4 non-ASCII characters in comments made V8
  keep the whole ~3 MB source as a two-byte string: 5.8 MiB of large-object space → 2.9 MiB).
- src/transport/codec.ts: strict UTF-8 check with buffer.isUtf8 instead of a fatal TextDecoder,
  which pulled ~1.4 MiB of ICU converter data into every daemon.
- src/vip/manager.ts: check(), link state and VIP presence from one \`ip addr show\` (the monitor
  asks for both in two commands; the daemon has to switch to it, see below).

**Memory.** Of the daemon's RSS, 44–56 MiB are resident pages of the executable itself (node's
code and read-only data; the kernel maps 64 KiB runs of page cache around each page touched, and
the single executable also maps its 2.9 MiB script blob): clean, shared, reclaimable under
pressure — a bare \`node -e 'setInterval(()=>{},1000)'\` already has 32 MiB of them and 40 MiB of
RSS. What the daemon alone costs is the private part: ~20 MiB after the changes (V8 heap ≈ 14 MiB:
old space 8–10, the script source 2.9, code 1, young 1–2), ~30 MiB before. fastify (with ajv,
find-my-way, avvio, light-my-request…) is the largest library: +2.4 MiB of heap and +4 MiB of
touched executable pages in a bare node process; systeminformation +1.1 MiB.`;

// The second pass (issue 8), as rendered from its own run (bench/idle.json of commit a56a3b2):
// kept as text, since its numbers came from rows ('before'/'after') that later runs reuse.
const SECOND_PASS = `### Second pass (issue 8)

(Its numbers are from its own run, 2026-11-26, whose table is bench/idle.md at commit a56a3b2.)

(The first pass's table — 16 start-up variants: V8 flags, thread pools, malloc arenas — is
bench/idle.md as of commit d4e5e20; the text above is from it.)

Changed in the daemon (src/daemon/daemon.ts):
- The core's timer never fires before its deadline: node counts a timer from the event loop's
  cached time (whole ms, taken when the loop iteration began), so a timeout of exactly
  \`deadline − now\` fired up to ~1 ms early; the core then had nothing to do and a second wake-up
  followed 1–2 ms later. The delay is now rounded up plus 1 ms: one wake-up, at most ~2 ms after the
  deadline (the second wake-up used to come ~1 ms after it). The core and its timing are unchanged.
- Node-down watching (every 500 ms) and the reconcile pass (every 2 s) run from the step the
  heartbeat timer makes anyway, instead of from two intervals of their own.
- The monitor reads link state and the VIP from one \`ip addr show\` (VipManager.check()), not two.

Of the paired rounds in the table, the one with the median non-holder CPU of each variant: event-loop wake-ups per second, holder / others (voluntary context switches of the main
thread): before 53 / 40, after 33 / 23. CPU (daemon + helpers), holder / others: before
2.68 / 1.79 %, after 2.18 / 1.31 %. Memory: before RSS 65.3 MiB, private 20.4 MiB, 8 threads; after RSS 65.0 MiB, private 20.9 MiB, 8 threads.

Measured and left out:
- \`NODE_OPTIONS=--v8-pool-size=1\` + \`MALLOC_ARENA_MAX=2\` in piha.service (row after-unit-env #1: RSS 65.2 MiB, private 21.1 MiB, 5 threads,
  CPU 2.07 / 1.17 %): three threads fewer, but memory the same and CPU within the spread of the
  rounds: no measured gain, so piha.service is unchanged.
- fastify → node:http: \`node --import tsx bench/http-cost.ts\` (a bundled test program with the
  daemon's V8 flags, listening, idle) measures fastify with the daemon's six GET routes at
  +6.1 MiB RSS over node:http (+4.8 MiB private, +2.6 MiB V8 heap). That is real, but alone it
  would not bring the daemon under 60 MB (57.2 MiB) here, and the status server's six routes (an
  SSE stream, the status page) and its tested abuse limits (slowloris, header and body caps,
  idle sockets: docs/robustness.md) would all have to be re-done: not done in this pass; it is
  the largest single memory step left.
- Renewing the kernel lifetime every 400 ms instead of 200 ms (src/core/timing.ts): safe —
  every refresh computes its own lifetime from the lease's end, whatever the cadence — but it
  would only save part of the holder's helper CPU (the ip batch round trips, ~0.1–0.2 % here) and
  leaves fewer renewal rounds before a 1 s lifetime runs out under packet loss; not changed.

Where the rest goes (node --cpu-prof of a non-holder, steady state, 200 µs sampling): sendto()
in dgram 24 % of the JS-visible time (in the lab it includes the veth/bridge path into the
receiving namespace, charged to the sender), HMAC-SHA256 14 %, JSON encode/decode ~11 %, the
core's step ~8 %. A non-holder of a 3-node lan cluster sends 20 and receives 20 heartbeats a
second (2 peers × 10/s) — the protocol's fixed rate — and this VM charges ~0.1 ms per wake-up.

**Not reached:** ≤ 1 % CPU (see the table: holder / others) and ≤ 60 MB RSS. RSS counts the
executable's shared, clean, reclaimable pages (file-backed column): 46–56 MiB for the same
binary depending on how the page cache holds the file (a freshly copied file is mapped in
larger folios), which is why before and after are copies made the same way; what one daemon
alone costs is the private column (~20 MiB). Left: node:http instead of fastify (−6 MiB), fewer
datagrams (a protocol change: heartbeat batching or a longer interval, which lengthens failure
detection), and measuring on a real Pi (this is an x86-64 VM with expensive wake-ups).
(That run's "after" became the third pass's "before".)`;

export function idleRow(r: IdleResult): string {
  const nodes = Object.keys(r.cpu);
  const others = nodes.filter((n) => n !== r.holder);
  const avg = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
  const f1 = (x: number) => x.toFixed(1);
  const f2 = (x: number) => x.toFixed(2);
  const h = r.holder;
  return `| ${r.name} | ${f2(r.cpu[h]!.daemon)} / ${f2(avg(others.map((n) => r.cpu[n]!.daemon)))} | ${f2(r.cpu[h]!.helpers)} / ${f2(avg(others.map((n) => r.cpu[n]!.helpers)))} | ${f1(r.mem[h]!.rssMiB)} / ${f1(avg(others.map((n) => r.mem[n]!.rssMiB)))} | ${f1(avg(nodes.map((n) => r.mem[n]!.pssMiB)))} | ${f1(avg(nodes.map((n) => r.mem[n]!.anonMiB)))} | ${f1(avg(nodes.map((n) => r.mem[n]!.fileMiB)))} | ${r.wakeups ? `${Math.round(r.wakeups[h]!)} / ${Math.round(avg(others.map((n) => r.wakeups![n]!)))}` : '–'} | ${r.mem[h]!.threads} | ${r.loadStart.split(' ')[0]}→${r.loadEnd.split(' ')[0]} |`;
}

export const IDLE_HEADER = `| variant | daemon CPU % holder / others | helpers CPU % holder / others | RSS MiB holder / others | PSS MiB | private anon MiB | file-backed MiB | loop wake-ups/s holder / others | threads | load 1 min |
|---|---|---|---|---|---|---|---|---|---|`;

if (import.meta.url === `file://${process.argv[1]}` && process.env.RENDER !== '1') {
  const results: IdleResult[] = [];
  const chosen = VARIANTS.filter((x) => wanted.includes(x.name));
  if (PAIRED) {
    // PAIRED=1: the chosen variants measured at the same time, each on its own lab cluster,
    // REPEAT rounds: on a machine other work shares, they then see the same load.
    for (let round = 1; round <= REPEAT; round++) {
      const rs = await Promise.all(chosen.map((v) => measureIdle(v)));
      for (const r of rs) {
        if (REPEAT > 1) r.name = `${r.name} #${round}`;
        results.push(r);
        console.log(idleRow(r));
      }
    }
  } else
    for (const v of chosen) {
      const r = await measureIdle(v);
      results.push(r);
      console.log(IDLE_HEADER.split('\n')[0]);
      console.log(idleRow(r));
    }
  console.log(`\n${IDLE_HEADER}\n${results.map(idleRow).join('\n')}`);
  for (const r of results) console.log(r.name, '—', r.what);
  // Per node: which one held the VIP, CPU and packets (the table averages the non-holders).
  for (const r of results) {
    const nodes = Object.keys(r.cpu).sort();
    const f = (n: string) => {
      const p = r.packets?.[n];
      return `${n}${n === r.holder ? ' (holder)' : ''} ${r.cpu[n]!.daemon.toFixed(2)} + ${r.cpu[n]!.helpers.toFixed(2)} %${p ? `, rx/tx ${p.rx.toFixed(1)}/${p.tx.toFixed(1)} pkt/s` : ''}`;
    };
    console.log(`${r.name}: ${nodes.map(f).join('; ')}`);
  }
  if (process.env.RECORD === '1') {
    const saved: IdleRecord = { date: iso(), machine: machine(), warmS: WARM_S, measureS: MEASURE_S, profile: PROFILE, variants: wanted, paired: PAIRED ? REPEAT : 0, results };
    writeFileSync('bench/idle.json', JSON.stringify(saved, null, 2) + '\n');
    writeFragment('idle', renderIdle(saved));
  }
} else if (import.meta.url === `file://${process.argv[1]}` && process.env.RENDER === '1') {
  // RENDER=1: bench/idle.md (and docs/benchmarks.md) again from bench/idle.json, no run.
  writeFragment('idle', renderIdle(JSON.parse(readFileSync('bench/idle.json', 'utf8')) as IdleRecord));
}

interface IdleRecord {
  date: string;
  machine: string;
  warmS: number;
  measureS: number;
  profile: string;
  variants: string[];
  /** PAIRED rounds (0: one variant after the other). */
  paired: number;
  results: IdleResult[];
}

// The third pass (issue 8, session 4), as rendered from its own run (bench/idle.json of commit
// d44ac24): kept as text, since its rows ('before'/'after') are reused by later runs.
// A function (not a const): the run at the top of this module renders before a const below it exists.
function thirdPass(): string {
  return `### Third pass (issue 8)

Changed since the second pass (before = commit a56a3b2, after = this build; paired rounds):
- **fastify → node:http** with a small router (src/api/http-server.ts; README, design notes).
- **lan heartbeat 100 → 200 ms** (src/config/profiles.ts). The heartbeat rate is what the idle
  cost is made of (the datagrams, not the JavaScript), and on lan it does not bound takeover:
  the lease does (bench-compare, piha-lan: see its table). Node timeout stays 1 s (5 periods).
- **A full GC once a minute** (src/daemon/heap.ts): memory stays at what the daemon retains
  instead of growing for ~12 minutes until V8's first major collection (soak section).
- **systeminformation's memory and cpu modules instead of its index** (src/api/system-info.ts):
  the index loads and runs all ~25 of its modules (+10.5 MiB RSS in a bare node process, against
  +3.7 MiB for the two used); the bundle went from 1.6 to 1.0 MiB.

Idle CPU (daemon + helpers, % of a core), holder / others, median round: before
2.33 / 1.42, after 1.45 / 0.75; every round, non-holders before 1.41, 1.42, 1.72, after
0.76, 0.75, 0.74; holder before 2.33, 2.33, 2.85, after 1.50, 1.45, 1.47. RSS holder / others: before
67.2 / 64.9 MiB, after 53.6 / 51.4 MiB; private before 21.3, after 13.6 MiB.
What is left of the RSS is mostly the executable's own clean pages (file-backed column), which a
bare \`node -e 'setInterval(()=>{},1000)'\` already has 32 MiB of.

Left above 1 %: the holder. A CPU profile of an idle 3-node cluster (node --cpu-prof on
dist/piha, 200 µs sampling, 40 s) puts the holder's JavaScript time at ~1.5× a non-holder's, in
small pieces: writes to its helpers' pipes (ip batch commands for the lifetime refresh every
200 ms, each an \`ip addr show\` and an \`ip addr change\`; guard pets) ~6 %, spawning arping for the
10 s re-announcement and conflict probe ~5 %, the coordinator's placement and lease bookkeeping
~4 %. Refreshing every 400 ms or announcing less often would trim it; neither is done.`;
}

// The fourth pass (issue 8, session 5), as rendered from its own run (bench/idle.json of commit
// 2fc4985): kept as text, since later runs reuse the row names 'before'/'after'.
function fourthPass(): string {
  return `### Fourth pass (issue 8)

Changed since the third pass (before = commit d44ac24, after = this build; paired rounds, the
VIP monitored every 5 s as the shipped piha.yaml does — the lab's 1 s adds one \`ip addr show\`
a second to the holder):
- **Lease answers ride in heartbeats** (src/core/node.ts; README, design notes; wire version
  2). A holder used to receive an answer datagram from every peer per round on top of their
  heartbeats: 20 datagrams a second instead of 10 in a 3-node cluster, and each peer sent 15
  instead of 10.
- **Lifetime refresh every 400 ms instead of every 200 ms** on lan (src/core/timing.ts), and
  **in one \`ip\` round trip instead of two** (src/vip/ip.ts runThen: the presence check and the
  change written together); three tries still fit before a 1 s lifetime runs out.
- **The daemon's timer is re-armed when the core's deadline moves later** (src/daemon/daemon.ts):
  a stale earlier timer woke the loop for nothing once a round.
- **Placement and fencing scans only on change, or every heartbeat/4** (src/core/node.ts):
  small at 3 nodes, about a fifth of a coordinator's CPU-profile samples at 32.

Idle CPU (daemon + helpers, % of a core), holder / others, median round: before
1.38 / 0.73, after 1.03 / 0.64; every round, non-holders before 0.72, 0.73, 0.73, after
0.65, 0.64, 0.64; holder before 1.37, 1.43, 1.38, after 1.17, 1.03, 1.17. RSS holder / others: before
54.7 / 52.4 MiB, after 53.6 / 52.3 MiB.

What the holder still does that the others do not, by per-process counters (3-node lab, 20 s,
/proc/PID/schedstat): the ip batch process ~0.08 % of a core (2.5 refreshes a second, each a
presence check and a change; measured before they shared a round trip), the address guard ~0.05 % (a pet every ~300 ms), arping ~0.05–0.1 %
(three processes every 10 s: the re-announcement in both ARP forms and the conflict probe), and
in the daemon itself ~0.4 %: the refresh and pet round trips, spawning arping (a CPU profile
counts 2–3 ms of the daemon's time per spawn), and the coordinator's and lease holder's bookkeeping. Not done: announcing
less often than every 10 s (keepalived by default does not re-announce at all; piha's conflict
probe rides on the announcement), and a presence check without \`ip addr show\` (an \`ip monitor\`
process would report deletions as they happen).`;
}

// The fifth pass (issue 8, session 6): rows 'before' (commit 2fc4985, the build that ended the
// fourth pass) and 'after' (this build), PAIRED, the VIP monitored every 5 s as shipped.
function notesFifth(results: IdleResult[]): string {
  const get = (n: string) => {
    const rs = results.filter((r) => r.name === n || r.name.startsWith(`${n} #`));
    const key = (r: IdleResult) => Object.entries(r.cpu).filter(([k]) => k !== r.holder).reduce((a, [, c]) => a + c.daemon + c.helpers, 0);
    return [...rs].sort((a, b) => key(a) - key(b))[Math.floor((rs.length - 1) / 2)];
  };
  const before = get('before');
  const after = get('after');
  if (!before || !after) return '';
  const avg = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
  const others = (r: IdleResult) => Object.keys(r.cpu).filter((n) => n !== r.holder);
  const cpuH = (r: IdleResult) => r.cpu[r.holder]!.daemon + r.cpu[r.holder]!.helpers;
  const helpH = (r: IdleResult) => r.cpu[r.holder]!.helpers;
  const cpuO = (r: IdleResult) => avg(others(r).map((n) => r.cpu[n]!.daemon + r.cpu[n]!.helpers));
  const rssH = (r: IdleResult) => r.mem[r.holder]!.rssMiB;
  const rssO = (r: IdleResult) => avg(others(r).map((n) => r.mem[n]!.rssMiB));
  const all = (f: (r: IdleResult) => number, n: string) => results.filter((r) => r.name.replace(/ #\d+$/, '') === n).map((r) => f(r).toFixed(2)).join(', ');
  return `### Fifth pass (issue 8)

Changed since the fourth pass (before = commit 2fc4985, after = this build; paired rounds, the
VIP monitored every 5 s as shipped):
- **Periodic announcements every 30 s instead of 10 s**, per resource (\`garp_refresh\`, README).
  Each one forks \`arping -U\`, \`arping -A\` and the conflict probe from the daemon: a fork of a
  ~50 MB process, then copy-on-write faults in the daemon for every page it writes afterwards
  (\`perf record\` of an idle holder, 40 s, before the change: its kernel time was 2.7x a
  non-holder's, and page faults, clone and exec were a third of the difference).
- **Guard pets that only move the deadline are \`pet <seconds>\`** (src/vip/guard.ts): bash
  reads a pipe one byte per read(2), 25 reads for a full line.
- **A heartbeat going to several peers is checked and serialised once** (src/transport/endpoint.ts):
  nothing to see at 3 nodes (one copy saved per round); at 32 a holder saved 30 JSON parses and
  validations a round.

Idle CPU (daemon + helpers, % of a core), holder / others, median round: before
${cpuH(before).toFixed(2)} / ${cpuO(before).toFixed(2)}, after ${cpuH(after).toFixed(2)} / ${cpuO(after).toFixed(2)}; every round, non-holders before ${all(cpuO, 'before')}, after
${all(cpuO, 'after')}; holder before ${all(cpuH, 'before')}, after ${all(cpuH, 'after')} (of which helpers before ${all(helpH, 'before')}, after ${all(helpH, 'after')}). RSS holder / others: before
${rssH(before).toFixed(1)} / ${rssO(before).toFixed(1)} MiB, after ${rssH(after).toFixed(1)} / ${rssO(after).toFixed(1)} MiB: the difference is in the file-backed column (how the page cache happens to hold
each copy of the executable, see above); private memory is the same.

Left: the holder's lease rounds themselves. Per round (every 200 ms) it sends and receives as
many datagrams as the others (its peers' answers ride in their heartbeats), and on top: the
lease and coordinator bookkeeping, a lifetime refresh through the ip batch process every 400 ms
(its ~50 ms window after a fresh grant is what keeps that cadence), a guard pet every ~400 ms.
In a CPU profile of the holder (\`perf record\`, 40 s, before these changes) the largest of
them were the send path of its lease heartbeats and the coordinator's placement; none of the
ones left is large alone.`;
}

function renderIdle(d: IdleRecord): string {
  const results = d.results;
  const uniq = [...new Set(results.map((r) => r.name.replace(/ #\d+$/, '')))];
  return `## Idle cost per daemon (${d.date})

\`node --import tsx bench/idle.ts\` (VARIANTS=${d.variants.join(',')}${d.paired ? `, PAIRED=1 REPEAT=${d.paired}: the variants at the same time, each on its own cluster, so that they share whatever load the machine has` : ''}). ${d.machine}. A 3-node
profile-${d.profile} cluster on the namespace lab, nobody probing; after ${d.warmS} s, CPU over
${d.measureS} s as % of one core. "helpers" = the address guard (bash), the ip batch process and
arping. RSS = PSS + pages shared with other processes; "file-backed" = resident pages of the
executable itself (clean, reclaimable: the kernel maps whole 64 KiB runs of page cache around
each page touched), "private anon" = heap, stacks, malloc. Loop wake-ups = voluntary context
switches of the daemon's main thread per second.

${IDLE_HEADER}
${results.map(idleRow).join('\n')}

${uniq.map((n) => `- ${n}: ${results.find((r) => r.name.replace(/ #\d+$/, '') === n)!.what}`).join('\n')}

${NOTES}

${SECOND_PASS}

${thirdPass()}

${fourthPass()}

${notesFifth(results)}

${sixthPass()}

${seventhPass()}

${eighthPass()}

${ninthPass()}

${tenthPass()}

${eleventhPass()}
`;
}

// Session 12: what the daemon allocates and promotes per round (sampling heap profiles).
function ninthPass(): string {
  return `### Ninth pass (issue 8): garbage per round

Session 12, 2026-11-28, same VM class as session 10's. A fast-profile soak grew ~2 MiB of
private memory in its first minutes (Soak, below), and the periodic full GC (once a minute)
found 2–3 MiB of dead objects each time. To see where they came from, V8's sampling heap
profiler ran inside the daemons (\`HeapProfiler.startSampling\` through \`node:inspector\`, a
3-node lab cluster of the bundle under node, the shipped V8 flags): once counting every
allocation (60 s, lan), once keeping only objects that outlived a young-generation GC
(promoted, 90 s, fast).
- **What a daemon allocated** (lan, 60 s): the holder 32.3 MiB, the others 19.8 and 20.1 MiB.
  A third was the message validator (src/transport/validate.ts): in V8's interpreter (the
  daemon runs without TurboFan, src/cli-entry.ts) every \`for…of\` step allocates an iterator
  result, and every field checked built its path string ("msg.grant.denied[0].key") in case it
  failed. On the holder another 4.5 MiB came from the lease tracker (src/core/leases.ts): per
  round a new Set of keys, map entries, boxed send times, and a sort of \`[granter, end]\`
  pairs for every lease-end computation.
- **What a fast-profile holder promoted** (90 s): 4.8 MiB, of which 3.5 MiB were the lease
  tracker's per-round maps and memo objects (they live a round or more, so they outlive a
  young-generation GC), and 0.2 MiB the daemon's map of request send times.
- **Changed:** the validator builds a path only for a value that fails and loops by index
  (same verdict and text as before for 300 000 mutated messages; a heartbeat check 28 → 12 µs
  in the interpreter); the lease tracker keeps its rounds in arrays updated in place and one
  state object per key, and sorts lease ends by insertion into reused arrays (the same order as
  the stable sort it replaces); the daemon's round send times are typed arrays; and the daemon
  runs a step's effects at once, waiting only for an address release, instead of awaiting each
  (a promise and a microtask per datagram sent). The core's behaviour is unchanged: the
  simulator's traces of seeds 1–400, 5000–6499 and 20000–22999 and of a 17- and a 32-node
  power cut are identical before and after, byte for byte.
- **After:** allocated in 60 s, holder 19.9 MiB, the others 12.5 and 12.6 (−37 to −38 %);
  promoted by the fast holder in 90 s, 1.5 MiB (was 4.8). The non-holders still promote
  ~2.5 MiB in 90 s at fast, a third of it the \`{ ...heartbeat, grant }\` copy that carries a
  lease answer: it outlives two young-generation GCs although nothing visible keeps it (a
  V8 flag against allocation-site pretenuring did not change it); not found.
- **CPU** (\`BEFORE=<session 11's build> AFTER=<this build> VARIANTS=before,after PAIRED=1 REPEAT=2
  MEASURE_S=60 node --import tsx bench/idle.ts\`, a fast soak running beside both): daemon CPU,
  holder / others, before 1.47 / 1.02 and 1.58 / 1.09 %, after 1.35 / 0.97 and 1.47 / 1.05 %:
  lower in both rounds, by ~0.1 % on the holder and ~0.05 % on the others, still above 1 % on
  this VM. Private memory unchanged (13.0–13.3 MiB).
- **The fast soak** (30 min, this build, below): 0 false failovers, 0 ms of two holders, but
  private memory still rose 1.5–2.6 MiB in the first 2–4 minutes and 0.1–0.2 MiB in the other
  26–28 (2.55 MiB in all with session 6's build). Less garbage did not lower the level the heap
  settles at; that plateau, not a leak, is what the soak's 1 MiB target counts.
- **Also this session** (Scale, session 12): the core recounts the online set's votes only when
  it may have changed; a quarter of the core's time in a simulated 32-node cluster, a few per
  cent of a daemon's.`;
}

// Session 13: what the fast soak's plateau is made of (no code changed).
function tenthPass(): string {
  return `### Tenth pass (issue 8): what the fast profile's soak growth is

Session 13, 2026-11-28. No code was changed. The fast soak's private memory rises 1.5–2.6 MiB in
its first minutes and then stays (ninth pass). Two questions, each with 5-minute fast soaks
(\`PROFILE=fast SOAK_MINUTES=5 SAMPLE_S=30 TAG=… bench/soak.ts\`, 3 nodes, 5 % loss):
- **Is it compiled code?** Sparkplug compiles a function's baseline code once it has run
  often enough, and at fast's 25 ms heartbeat that happens during the soak. \`PIHA_V8_FLAGS\`
  with the shipped flags and: nothing more, private memory 14.7–15.0 → 16.0–16.3 MiB (max growth
  1.56); \`--no-sparkplug\`, 14.2–14.8 → 15.6–17.3 (2.53); \`--always-sparkplug\` (all baseline
  code at start), 17.5–17.7 → 18.2–18.7 (1.05). Without baseline code the growth is the same; with
  all of it at once the daemon starts 3 MiB larger. Not the cause, and no flag to ship.
- **Where does it go?** The daemons ran as \`node --require <sampler> dist/piha\` (the same flags):
  \`process.memoryUsage()\` and V8's heap space sizes every 30 s. From the first second to the fifth
  minute private memory rose 1.6, 1.7 and 3.6 MiB; V8's old space (its committed size) rose by 1.25, 1.0 and 3.25 MiB, all of
  it in the first 60 s, and then stayed; the used heap swung by 1–2 MiB between the once-a-minute
  full collections (src/daemon/heap.ts); external memory and ArrayBuffers stayed within
  0.4 MiB; the code space did not move (0.75 MiB).
- **Would compacting give it back?** The same sampler, 3-minute fast soaks, with and without
  \`--compact-on-every-full-gc\` (a flag V8 reads at each collection, so it works at run time),
  and every major GC's duration from a \`gc\` performance observer: with compaction the old
  space gives back ~1 MiB at each forced collection and grows back to the same peak within the
  minute (private memory just before a collection 17.6–17.7 MiB, against a plateau of
  17.3–17.8 without), and the forced collection's pause doubles (10–14 ms → 20–28 ms). The
  soak's end-minus-start figure then depends on where its samples fall in that minute (16.1 →
  16.3 MiB in this run), not on a lower peak. Not shipped.
- **And the executable's mapped part of RSS?** (Not the soak's growth, which is all in private
  memory; the RSS target's.) /proc/PID/smaps and pagemap of one of these daemons (the single
  executable, 52.1 MiB RSS, 15.6 MiB private): of the file, .text 17.2 MiB resident of 26.5,
  .rodata without ICU 9.9 of 13.0 (node's startup snapshot and built-ins), the dynamic symbol
  tables 2.6, the SEA blob 1.1, and the embedded ICU data (\`icudt78_dat\`) only 1.1 of its
  31.6 MiB. Avoiding ICU would gain little; the rest is node itself, touched at
  start, which no change in piha's code lowers.
So the plateau is the old space grown to hold what the scavenges promote between two full
collections: at 8× lan's datagram rate, 8× the promoted garbage. Collecting more often would
lower it and cost a pause more often, inside fast's 150 ms node timeout; a larger young
generation would promote less and commit more. Neither was done in that pass (the eleventh did the first): the lan profile's soak
meets the 1 MiB target, and the fast one stays above it.`;
}

// Session 14: the periodic full GC every 300 heartbeats (src/daemon/heap.ts gcIntervalMs).
function eleventhPass(): string {
  return `### Eleventh pass (issue 8): a full collection every 300 heartbeats

Session 14, 2026-11-28. The tenth pass found the fast soak's growth to be V8's old space, grown
in the first minute to hold what the scavenges promote between two once-a-minute full
collections: at fast's 25 ms heartbeat a minute is 2400 periods, lan's 300. So the periodic
collection now runs once a minute or every 300 heartbeat periods, whichever is sooner
(src/daemon/heap.ts \`gcIntervalMs\`): 7.5 s on fast; lan (200 ms) and slow (250 ms) keep one a
minute. \`piha_gc_runs_total\` counts them, and a lab test checks that a fast daemon has run two
within ~10 s of its start (one at start, one 7.5 s later), which fails with one a minute.
- **Five-minute fast soaks, one build** (\`PROFILE=fast SOAK_MINUTES=5 SAMPLE_S=30\`,
  \`PIHA_GC_EVERY_MS\` set by hand, run one after the other): every 60 s (as shipped before),
  private memory 14.7–15.0 → 15.9–16.3 MiB, max growth 1.58 MiB; every 15 s, 14.8–15.1 →
  15.1–15.5, 0.41 MiB; every 7.5 s, 14.7–15.1 → 15.1–15.4, 0.38 MiB. The old space settles
  ~1 MiB lower and stops growing.
- **Thirty minutes** (bench/soak.json, the Soak section below, this build, beside \`make unit\`
  and simulator runs, load average up to 2.9): 0 false failovers, 0 ms of two holders, no
  writes, private memory 14.8–15.1 → 15.3–15.6 MiB: max growth 0.56 MiB (was 2.79). The fast
  soak now meets the 1 MiB target.
- **The price:** a forced collection's pause on fast, from \`piha_gc_pause_seconds\` in the lab
  test, 12.5–25 ms, now every 7.5 s instead of every 60 s: ~0.2–0.3 % of a core more (computed from the pause, not measured), on a
  profile whose daemons already use several per cent for their 40 datagrams a second per peer,
  and a pause well inside its 150 ms node timeout. lan's cost and memory are unchanged.`;
}

// Session 10: the answers a holder gets when it is not the coordinator (src/core/node.ts `served`).
function eighthPass(): string {
  return `### Eighth pass (issue 8): a VIP holder that is not the coordinator

Session 10, 2026-11-27. The 32-node lab had once shown a holder receiving 272 datagrams a
second instead of ~160 (Scale, session 8). The cause, verified in the simulator: when the VIP
holder and the coordinator are different nodes there are two requesters, and a node that only
answers locked its heartbeat round to one of them; the answers to the other went alone. That
is a usual set-up, not a corner: a VIP with \`prefers\` for a node other than the lowest id, a
manual move, or two VIPs spread over two nodes.
- **Measured in the simulator** (\`APART=1 SEEDS=5 node --import tsx bench/scale-sim.ts\`: the
  VIP moved to the highest id, away from the coordinator; messages received a second in a
  10 s idle window, lan), N = 3 / 5 / 9 / 17 / 32: holder 16 / 35 / 65 / 125 / 253, coordinator
  15 / 28 / 58 / 121 / 219. With the VIP on the coordinator: 11 / 21 / 42 / 85 / 164.
- **Changed** (src/core/node.ts, \`served\`; README "Lease answers ride in heartbeats"): a node
  that requests nothing sends each requester its heartbeat when that one's request arrives, the
  answer inside, and leaves it out of its other rounds; a requester that stops asking gets its
  heartbeat 1.25 periods after its last request and rejoins the rounds. Requesters still answer
  each other alone (5 a second each way).
- **After**, same command: holder 14 / 25 / 46 / 88 / 169, coordinator 13 / 23 / 45 / 88 / 167;
  messages sent per node 14 → 12 at N=3, 160 → 156 at N=32. With the VIP on the coordinator
  nothing changed (10 / 20 / 39 / 79 / 153 messages sent per node, as before; takeover medians
  1246–1322 ms, 0 violations).
- **In the lab** (\`BEFORE=<previous build> AFTER=<this build> VARIANTS=before,after PAIRED=1
  REPEAT=2 MEASURE_S=60 PREFERS=node3 node --import tsx bench/idle.ts\`; eth0 frames a second):
  the node that only answers sent 15.0 → 10.1; the holder received 19.4 and 16.0 → 15.0 and
  13.2; the coordinator 13.6 and 16.4 → 12.3 and 13.9. CPU did not move measurably: holder
  1.75 and 1.22 % → 1.68 and 1.22 %, coordinator 1.67 and 1.07 → 1.72 and 1.07.
- **The shipped set-up** (the VIP on the coordinator), the same paired command without
  PREFERS: nothing changed, as the simulator said. Every node sent and received 10.0–10.4
  frames a second with either build; holder 1.30 and 1.28 % (+0.17 and 0.13 helpers) before,
  1.35 and 1.25 % (+0.13 and 0.15) after; the others 0.87–0.95 % before, 0.88–0.98 % after.
- **This session's VM is slower** than the earlier sessions' (the simulator's 3000 seeds took 70 s
  with either build, 40 s before; the holder above costs ~1.3 % where the sessions before
  measured 0.9–1.1 % for the same work), and noisier: two paired rounds of one build differed
  by 0.5 % of a core. Its CPU figures compare only within one paired run; the table at the top
  of this section is the earlier VM's.`;
}

// Session 9: TurboFan with a long warm-up, user/system split, perf, HMAC (nothing changed).
function seventhPass(): string {
  return `### Seventh pass (issue 8): TurboFan again, where the CPU time is, HMAC

No code was changed for CPU in this pass (session 9, 2026-11-27).
- **TurboFan re-checked with a long warm-up.** The first pass measured \`--no-opt\` over 60 s
  after 10 s; TurboFan might only pay after its compiles are done. \`EXTRA_VARIANTS\` sea-opt
  (the shipped flags without \`--no-opt\`), \`PAIRED=1 REPEAT=2 WARM_S=120 MEASURE_S=60\`. Holder
  daemon / helpers, others, RSS holder, private: as shipped 1.02 / 0.13, 0.69, 50.4 MiB, 13.0 MiB
  and 0.92 / 0.10, 0.62, 50.2, 13.0; with TurboFan 1.10 / 0.17, 0.72, 56.8, 15.1 and
  1.07 / 0.10, 0.66, 56.6, 14.6. TurboFan costs more CPU and ~2 MiB more private memory even
  after two minutes: \`--no-opt\` stays.
- **User and system time, per thread** (/proc/PID/task/*/stat, 60 s, 3-node lab): holder main
  thread 0.73 % user + 0.18 % system, non-holders 0.52–0.55 % user + 0.05–0.10 % system; the V8
  worker threads 0.02 % each. Four fifths of the cost is JavaScript and V8 in user space, not
  the kernel's UDP path.
- **Where the user time goes** (\`perf record -g\` of the holder, 60 s, node with
  \`--perf-basic-prof --interpreted-frames-native-stack\`): still flat. The timer path (the
  core's step and the heartbeat send) ~36 % of the holder's samples (the send ~17 %, of which
  encode ~8.5 % and \`createHmac\` ~5 %), the receive path ~19 %; page faults of the young
  generation ~5 %; the rest spread over interpreter builtins (property loads, calls, allocation).
- **HMAC.** \`createHmac('sha256', key)\` costs 8.6 µs a datagram without TurboFan (hot); an HMAC
  built from two pre-keyed \`createHash\` states copied per datagram costs 3.8 µs. At ~20
  datagrams a second that would save ~0.03 % of a core: less than the spread between two runs,
  for hand-written code on the authentication path. Not done.

What is left of the target is therefore the protocol's datagram rate on this VM (each
datagram costs a wake-up and ~0.3–0.5 ms of interpreted JavaScript here) plus the holder's two
backstops (sixth pass). A real Pi was not available to measure.`;
}

// Session 7: where the holder's excess goes, by taking parts away in scratch builds (not shipped).
function sixthPass(): string {
  return `### Sixth pass (issue 8): the holder's excess, part by part

No code was changed. Scratch builds took one part away at a time: \`EXTRA_VARIANTS\`, two
paired runs of 60 s, bundle under node, the VIP monitored every 5 s. The non-holders measured
0.65–0.72 % in every variant. Holder, daemon / helpers, % of a core:

| variant (not shipped) | run A | run B |
|---|---|---|
| as shipped | 0.93 / 0.12, 0.95 / 0.12 | 0.98 / 0.12, 0.98 / 0.12 |
| no kernel lifetime, so no refreshes (\`lease_time: 1250ms\`) | 0.77 / 0.10, 0.83 / 0.10 | 0.92 / 0.12, 0.92 / 0.12 |
| refresh without its \`addr show\` presence check | 0.95 / 0.07, 0.90 / 0.07 | – |
| guard told only when its list changes | 0.98 / 0.07, 0.92 / 0.07 | – |
| refresh written without waiting for the answer | – | 0.90 / 0.08, 0.97 / 0.08 |
| both of the last two | – | 0.88 / 0.03, 0.95 / 0.03 |

How to read it:
- Two runs of the same variant differ by up to ~0.07 %. That is as large as most single parts.
- The kernel-lifetime refreshes (2.5 a second) cost the daemon 0.06–0.16 % and the ip process
  ~0.05 % (its \`addr show\`). They also cost 3 loop wake-ups a second (15 → 12).
- The guard's pets cost bash ~0.05 %.
- Together these two are most of the holder's ~0.3 % over a non-holder. They are the two backstops
  behind "never two holders when the daemon is killed or frozen", and neither is dropped.
- A refresh that does not wait for its answer saves at most ~0.1 %, and it would lose
  something. IPv4 \`ip addr change\` re-creates a deleted address silently (so does IPv6), so a
  deletion from outside would go unseen. An \`ip monitor\` process would see deletions, but it
  would also wake on every one of our own refreshes.

\`perf record\` with V8's \`--perf-prof\` (jitdump; the plain perf map named the wrong functions
after code moved) shows a flat profile: nothing stands out on the holder. The largest pieces,
counting everything they call, are the core's step (~18 % of its samples, placement ~4 % of
them), the send path (~16 %) and the refresh path (~10 %). Checked in a namespace: IPv4 and IPv6
\`ip addr change\` both re-create a deleted address. In-process, the
simulated core costs 32 µs a step on the holder and 15 µs on the others, hot and without TurboFan.
In the daemon, with caches cold after every wake-up, the same work costs several times that.

Left alone: a non-holder wakes ~5 times a second for nothing, ~50 ms after each lease request.
The daemon clears its timer for the "request expected by" deadline (1.25 heartbeats) when the
request arrives, and the fourth pass stopped that timer's callback from running. But clearing a
timer in node does not disarm libuv's timer, so the loop still wakes at the old deadline. Moving
that deadline changes when a non-holder heartbeats on its own, and was not done.`;
}
