// The "Headline numbers" of the README, from the benches' JSON results (bench/results.json,
// compare.json, scale.json, scale-sim.json, budget.json, idle.json, soak.json): one short
// table, each number with the bench it comes from, against the targets of issue 8. Writes
// bench/headline.md and replaces the block between the headline markers in README.md.
// Run after the benches: node --import tsx bench/headline.ts

import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { pct } from './lib.ts';

const load = (f: string): any => (existsSync(f) ? JSON.parse(readFileSync(f, 'utf8')) : null);
const failover = load('bench/results.json');
const compare = load('bench/compare.json');
const scale = load('bench/scale.json');
// Of the N=32 runs of this build listed in bench/scale.ts (RUNS_32; session 15 changed how the
// durable state is saved, which every granter does at a takeover, so earlier builds' runs are
// listed for comparison only; session 16 only changed how skip warnings are formatted): how many settled.
const RUNS_32_SETTLED = '9 of 9';
// ... and how many of them had a takeover median within the 1.5 s target.
const RUNS_32_UNDER = '3 of 9';
// ... and what decided it (session 11: whether a cut took the coordinator too, so that an election came first).
const RUNS_32_WHY =
  '1484, 1488 and 1396 ms; 1542, 1574, 1812 ms in session 15, 1694, 1701 and 1582 ms (the row) in session 16; 0 moves, 0–2 in-place re-adds; the slow cuts are the ones whose first add was skipped past lan\'s 50 ms kernel-lifetime window and waited for a fresh grant, or whose new holder acquired late: on this VM the 32 daemons use 1.2–1.5 of its 2 cores at idle, and the skipped operations mostly waited for a CPU with nothing queued ahead of them (bench/scale.ts, sessions 15 and 16); session 14\'s build had 2 of 3 runs within 1.5 s, session 13\'s 4 of 5; no cut needs an election since the coordinator is kept off the VIP from 12 nodes';
const scaleSim = load('bench/scale-sim.json');
const budget = load('bench/budget.json');
const budgetInside = load('bench/budget-inside.json');
const idle = load('bench/idle.json');
const rssCache = load('bench/rss-cache.json');
// The default profile's soak (lan, the build as shipped; else the earlier lan run with the GC), then the fast profile's (bench/soak.json).
const soakLan = load('bench/soak-lan-final.json') ?? load('bench/soak-lan-gc.json');
const soakFast = load('bench/soak.json');

const ms = (x: number) => (Number.isFinite(x) ? `${Math.round(x)} ms` : '–');
const s1 = (x: number) => (x >= 1000 ? `${(x / 1000).toFixed(1)} s` : `${Math.round(x)} ms`);
const avg = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
const met = (ok: boolean) => (ok ? 'met' : '**not met**');
const machine = compare?.machine ?? failover?.machine ?? '';
const rows: string[] = [];
const row = (what: string, result: string, target: string, source: string) => rows.push(`| ${what} | ${result} | ${target} | ${source} |`);

if (compare) {
  const get = (impl: string, sc: string) => compare.results.find((r: any) => r.impl === impl && r.scenario === sc);
  const med = (impl: string, sc: string) => pct(get(impl, sc)?.takeoverMs ?? [], 50);
  const lan = med('piha-lan', 'cut');
  row(
    'power cut of the holder, takeover median (p99)',
    `piha ${ms(lan)} (${ms(pct(get('piha-lan', 'cut')?.takeoverMs ?? [], 99))}); keepalived advert 1 s ${ms(med('keepalived-1s', 'cut'))}, advert 0.1 s ${ms(med('keepalived-0.1s', 'cut'))}`,
    `≤ 1.5 s: ${met(lan <= 1500)}`,
    'bench-compare',
  );
  const fast = med('piha-fast', 'cut');
  row('the same, profile fast', `piha ${ms(fast)}`, `≤ 0.3 s: ${met(fast <= 300)}`, 'bench-compare');
  const two = (impl: string) => compare.results.filter((r: any) => r.impl.startsWith(impl)).reduce((m: number, r: any) => Math.max(m, r.twoHoldersMs), 0);
  const worst = (impl: string) => {
    const r = compare.results.filter((x: any) => x.impl === impl).sort((a: any, b: any) => b.twoHoldersMs - a.twoHoldersMs)[0];
    const text: Record<string, string> = { cut: 'power cuts', stop: 'clean stops', kill: 'daemon crashes', freeze: 'freezes', partition: 'partitions', loss: 'loss' };
    return r && r.twoHoldersMs > 0 ? `${s1(r.twoHoldersMs)} summed over ${r.trials} ${text[r.scenario] ?? r.scenario}` : '0 ms';
  };
  const scen = new Set(compare.results.map((r: any) => r.scenario)).size;
  row(
    'two holders, worst scenario of bench-compare (the soak: its own row)',
    `piha ${ms(two('piha'))} in all ${scen} scenarios, both profiles; keepalived 1 s ${worst('keepalived-1s')}, 0.1 s ${worst('keepalived-0.1s')}`,
    `0 ms: ${met(two('piha') === 0)}`,
    'bench-compare',
  );
  const stop = med('piha-lan', 'stop');
  row('clean stop (SIGTERM), takeover median', `piha ${ms(stop)}; keepalived 1 s ${ms(med('keepalived-1s', 'stop'))}`, '–', 'bench-compare');
}
if (idle) {
  // The build as shipped ('after' in a before/after run, else 'sea'); with PAIRED rounds
  // ("after #2"), the round with the median non-holder CPU.
  const pick = (name: string) => {
    const rs = idle.results.filter((x: any) => x.name === name || x.name.startsWith(`${name} #`));
    const key = (x: any) => Object.entries(x.cpu as Record<string, any>).filter(([k]) => k !== x.holder).reduce((a, [, c]) => a + c.daemon + c.helpers, 0);
    return rs.sort((a: any, b: any) => key(a) - key(b))[Math.floor((rs.length - 1) / 2)];
  };
  const r = pick('after') ?? pick('sea') ?? idle.results[0];
  if (r) {
    const nodes = Object.keys(r.cpu);
    const others = nodes.filter((n) => n !== r.holder);
    const cpu = (n: string) => r.cpu[n].daemon + r.cpu[n].helpers;
    const cpuO = avg(others.map(cpu));
    const cpuH = cpu(r.holder);
    const rss = avg(nodes.map((n) => r.mem[n].rssMiB));
    const anon = avg(nodes.map((n) => r.mem[n].anonMiB));
    row('idle CPU per daemon (3 nodes, lan, x86-64 VM core)', `${cpuO.toFixed(2)} % (holder ${cpuH.toFixed(2)} %)`, `≤ 1 %: ${met(Math.max(cpuO, cpuH) <= 1)}`, 'bench/idle.ts');
    // The shared part depends on the executable's page cache (bench/rss-cache.ts).
    const cache = (state: string) => rssCache?.rows?.find((x: any) => x.state === state)?.nodes.map((n: any) => n.rssMiB as number) as number[] | undefined;
    const cold = cache('cold');
    const built = cache('built');
    const cacheText =
      cold && built
        ? `; the shared part depends on the executable's page cache: ${Math.min(...cold).toFixed(0)}–${Math.max(...cold).toFixed(0)} MiB started cold (as from the SD card), ${Math.min(...built).toFixed(0)}–${Math.max(...built).toFixed(0)} MiB right after \`make binary\` (bench/rss-cache.md)`
        : '';
    const worst = built ? Math.max(...built) : rss;
    row(
      'idle memory per daemon',
      `RSS ${rss.toFixed(0)} MiB = ${anon.toFixed(0)} MiB private + ${(rss - anon).toFixed(0)} MiB of the executable's shared, clean pages${cacheText}`,
      `RSS ≤ 60 MB (57.2 MiB): ${met(rss * 2 ** 20 <= 60e6)}${built && worst * 2 ** 20 > 60e6 ? ' for a daemon started cold (as on a Pi) or after a read; **not met** right after a build' : ''}`,
      'bench/idle.ts, bench/rss-cache.ts',
    );
  }
}
if (scale) {
  const rs = (scale.results as any[]).filter((r) => (r.profile ?? 'lan') === 'lan');
  const r32 = rs.find((r) => r.n === 32);
  const sim32 = scaleSim?.rows?.find((r: any) => r.n === 32);
  if (r32) {
    const med = pct(r32.takeoverMs, 50);
    const settled = r32.settled !== false;
    const simText = sim32 ? `; the protocol alone (simulator, no CPU limit): takeover median ${ms(pct(sim32.takeoverMs, 50))}, ${sim32.violations.length} safety violations in ${sim32.seeds} seeds` : '';
    row(
      '32-node cluster (all 32 daemons on this one 2-core VM)',
      settled
        ? `settled, ${r32.idle.moves} idle moves${r32.idle.readds !== undefined ? ` and ${r32.idle.readds} in-place re-add${r32.idle.readds === 1 ? '' : 's'}` : ''} in ${scale.params?.measureS ?? 30} s, takeover median ${ms(med)} (max ${ms(Math.max(...r32.takeoverMs))}, ${r32.takeoverMs.length} cuts${r32.phases ? `, ${r32.phases.filter((p: any) => p.electedMs !== null).length} of them with an election first` : ''}), ${Math.round(r32.idle.txPpsAvg)} packets/s per node, the 32 daemons ${r32.idle.cpuTotalCores.toFixed(2)} cores${simText}`
        : `did not settle on this machine: the 32 daemons used ${r32.idle.cpuTotalCores.toFixed(2)} cores, all the VM had (see docs/benchmarks.md)${simText}`,
      // RUNS_32 (bench/scale.ts) lists every N=32 run of the last builds: the table keeps the last one.
      `stable, ≤ 1.5 s: ${met(settled && r32.idle.moves === 0 && (r32.idle.readds ?? 0) === 0 && med <= 1500)} in this run; ${RUNS_32_SETTLED} runs of this build settled, ${RUNS_32_UNDER} with a median ≤ 1.5 s (${RUNS_32_WHY}; docs/benchmarks.md, Scale)`,
      'bench-scale',
    );
  }
}
// budget.json: HOG=beside (the bench's default); budget-inside.json: the stress case, hog in the
// daemon's own quarter core (older results have hog: true, which was that case).
for (const b of [budget, budgetInside]) {
  if (!b) continue;
  const inside = b.hog === 'inside' || b.hog === true;
  row(
    inside
      ? `stress: 25 % of a core, 64 MiB, a busy loop *inside* each daemon's quarter core (profile ${b.profile})`
      : `Pi-sized budget: 25 % of a core and 64 MiB per daemon, busy loops on the same core (profile ${b.profile})`,
    `takeover median ${ms(b.cut.takeover.median)} (p99 ${ms(b.cut.takeover.p99)}); ${b.soak.moves} false failovers, ${Math.round(b.soak.twoHoldersMs)} ms two holders, ${b.soak.failedProbes} of ${b.soak.probes} probes failed in a ${Math.round(b.soak.minutes)}-min soak`,
    inside ? 'beyond the target (no Pi runs a busy loop inside piha.service); run before lapsed addresses stopped counting as failures' : `≤ 1.5 s, 0 false failovers: ${met(b.cut.takeover.median <= 1500 && b.soak.moves === 0)}`,
    inside ? 'bench-budget, HOG=inside' : 'bench-budget',
  );
}
for (const soak of [soakLan, soakFast]) {
  if (!soak) continue;
  row(
    `soak: profile ${soak.profile}, ${soak.loss} % loss, ${soak.minutes} min idle`,
    `${soak.moves} false failovers, ${Math.round(soak.twoHoldersMs)} ms two holders; RSS growth ≤ ${soak.maxRssGrowthMiB.toFixed(2)} MiB (private ${soak.maxAnonGrowthMiB.toFixed(2)}); ${soak.anyWrites ? 'writes to disk' : 'no writes to disk'}; load average ${soak.load.start.split(' ')[0]} → ${soak.load.end.split(' ')[0]}`,
    `0 false failovers, 0 ms two holders, ≤ 1 MiB: ${met(soak.moves === 0 && !soak.outage && soak.twoHoldersMs === 0 && soak.maxRssGrowthMiB <= 1)}`,
    'make soak',
  );
}

const lines = [
  `Measured on a ${machine.split(',').slice(0, 2).join(',')} VM (not a Pi): real daemons in a network-namespace lab, a client probing the VIP every 5 ms. Dates, commands, load and every table: [docs/benchmarks.md](docs/benchmarks.md).`,
  '',
  '| measure | result | target (issue 8) | from |',
  '|---|---|---|---|',
  ...rows,
  '',
  'Where a target is not met, docs/benchmarks.md says why: the VIP holder\'s idle cost (0.93–1.13 % in three rounds on an earlier VM, 1.35–1.47 % on the slower one since, and 1.47–1.63 % there on a slower day in session 15 with this build and the one before alike: its lifetime refreshes every 400 ms, guard pets and lease and coordinator bookkeeping on top of the heartbeats, which cost it no more than the others since lease answers ride in them; the refreshes and the guard are the two backstops behind "never two holders" when the daemon is killed or frozen). The fast profile\'s soak meets its target since its periodic full collection runs every 300 heartbeats (7.5 s) instead of once a minute (docs/benchmarks.md, Idle cost, eleventh pass: 2.79 → 0.56 MiB over 30 min); under heavy load the fast profile is less forgiving: an earlier fast soak under load 21 had 13 false failovers, and one before the guard ran at SCHED_FIFO saw 143 ms of two holders; a 10-min fast soak beside 6 CPU-hog loops since then: 0 holder changes, 0 ms of two holders, bench/soak-fast-hog.md.',
  '',
  '![takeover distributions](bench/takeover.svg)',
];
const md = lines.join('\n') + '\n';
writeFileSync('bench/headline.md', md);
// README.md: replace what sits between the markers, nothing else.
const START = '<!-- headline: bench/headline.ts writes this block -->';
const END = '<!-- /headline -->';
const readme = readFileSync('README.md', 'utf8');
const a = readme.indexOf(START);
const z = readme.indexOf(END);
if (a >= 0 && z > a) writeFileSync('README.md', readme.slice(0, a + START.length) + '\n' + md + readme.slice(z));
console.log(md);
