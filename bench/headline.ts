// Writes bench/headline.md, the short "Headline numbers" block for the README, from the
// benches' JSON results (bench/results.json, compare.json, scale.json, budget.json,
// idle.json, soak.json). Run after the benches: node --import tsx bench/headline.ts

import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { pct } from './lib.ts';

const load = (f: string): any => (existsSync(f) ? JSON.parse(readFileSync(f, 'utf8')) : null);
const failover = load('bench/results.json');
const compare = load('bench/compare.json');
const scale = load('bench/scale.json');
const budget = load('bench/budget.json');
const idle = load('bench/idle.json');
const soak = load('bench/soak.json');

const ms = (x: number) => (Number.isFinite(x) ? `${Math.round(x)} ms` : '–');
const s1 = (x: number) => (x >= 1000 ? `${(x / 1000).toFixed(1)} s` : `${Math.round(x)} ms`);
const lines: string[] = ['### Headline numbers', ''];
const machine = compare?.machine ?? failover?.machine ?? '';
lines.push(`Measured on a ${machine.split(',').slice(0, 2).join(',')} VM, real daemons in a network-namespace lab, a client probing the VIP every 5 ms (docs/benchmarks.md; \`make bench bench-compare bench-scale bench-budget soak\`).`, '');

if (compare) {
  const get = (impl: string, sc: string) => compare.results.find((r: any) => r.impl === impl && r.scenario === sc);
  const cell = (impl: string, sc: string) => {
    const r = get(impl, sc);
    if (!r) return '–';
    const t = sc === 'loss' ? '' : `${ms(pct(r.takeoverMs, 50))}`;
    const two = r.twoHoldersMs > 0 ? `**${s1(r.twoHoldersMs)} two holders**` : '0 two holders';
    const ff = r.extraMoves > 0 ? `, ${r.extraMoves} false failovers` : '';
    return [t, two + ff].filter(Boolean).join(', ');
  };
  const names: Record<string, string> = {
    cut: 'power cut of the holder',
    stop: 'clean stop',
    kill: 'daemon killed (SIGKILL)',
    freeze: 'daemon frozen 5 s',
    partition: 'holder cut off from its peers 10 s',
    loss: '20 % loss between nodes, 60 s',
  };
  lines.push('| takeover median, two holders (all trials) | piha (lan) | keepalived (advert 1 s) | piha (fast) | keepalived (advert 0.1 s) |', '|---|---|---|---|---|');
  for (const sc of Object.keys(names)) {
    if (!compare.results.some((r: any) => r.scenario === sc)) continue;
    lines.push(`| ${names[sc]} | ${cell('piha-lan', sc)} | ${cell('keepalived-1s', sc)} | ${cell('piha-fast', sc)} | ${cell('keepalived-0.1s', sc)} |`);
  }
  lines.push('', '![takeover distributions](bench/takeover.svg)', '');
}
const facts: string[] = [];
if (scale) {
  const rs = scale.results as any[];
  const last = rs[rs.length - 1];
  facts.push(
    `Scale (all daemons on one 2-core VM): takeover median ${rs.map((r) => `${ms(pct(r.takeoverMs, 50))} at N=${r.n}`).join(', ')}; per node ${Math.round(rs[0].idle.txPpsAvg)} → ${Math.round(last.idle.txPpsAvg)} packets/s sent (O(N)), the cluster ${Math.round(rs[0].idle.clusterPps)} → ${Math.round(last.idle.clusterPps)} (O(N²)); CPU per daemon ${rs[0].idle.cpuDaemonAvg.toFixed(1)} % → ${last.idle.cpuDaemonAvg.toFixed(1)} % of a core.`,
  );
}
if (budget) {
  facts.push(
    `Pi-sized budget (25 % of a core and 64 MiB per daemon, a busy loop beside it): takeover median ${ms(budget.cut.takeover.median)} (p99 ${ms(budget.cut.takeover.p99)}), ${budget.soak.moves} false failovers in a ${Math.round(budget.soak.minutes)}-minute soak.`,
  );
}
if (soak) {
  facts.push(
    `Soak (profile ${soak.profile}, ${soak.loss} % loss, ${soak.minutes} min): ${soak.moves} false failovers, RSS growth ≤ ${soak.maxRssGrowthMiB.toFixed(2)} MiB, ${soak.anyWrites ? 'some writes to disk' : 'no writes to disk'}.`,
  );
}
if (idle) {
  const sea = idle.results.find((r: any) => r.name === 'sea');
  const before = idle.results.find((r: any) => r.name === 'before');
  if (sea) {
    const nodes = Object.keys(sea.cpu);
    const others = nodes.filter((n) => n !== sea.holder);
    const avg = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const cpuOther = avg(others.map((n) => sea.cpu[n].daemon + sea.cpu[n].helpers));
    const cpuHolder = sea.cpu[sea.holder].daemon + sea.cpu[sea.holder].helpers;
    const pss = avg(nodes.map((n) => sea.mem[n].pssMiB));
    const rss = avg(nodes.map((n) => sea.mem[n].rssMiB));
    const anon = avg(nodes.map((n) => sea.mem[n].anonMiB));
    let b = '';
    if (before) {
      const bn = Object.keys(before.cpu);
      b = ` (before the idle-cost work: ${avg(bn.filter((n) => n !== before.holder).map((n) => before.cpu[n].daemon + before.cpu[n].helpers)).toFixed(1)} % / ${(before.cpu[before.holder].daemon + before.cpu[before.holder].helpers).toFixed(1)} %, RSS ${avg(bn.map((n) => before.mem[n].rssMiB)).toFixed(0)} MiB, private ${avg(bn.map((n) => before.mem[n].anonMiB)).toFixed(0)} MiB)`;
    }
    facts.push(
      `Idle cost per daemon (3 nodes, lan, x86-64 core): CPU ${cpuOther.toFixed(1)} % (holder ${cpuHolder.toFixed(1)} %), RSS ${rss.toFixed(0)} MiB of which ${anon.toFixed(0)} MiB private and the rest the executable's own clean pages (PSS ${pss.toFixed(0)} MiB)${b}. Targets 1 % and 60 MB: not met yet; see docs/benchmarks.md for why and what is next.`,
    );
  }
}
lines.push(...facts.map((f) => `- ${f}`), '');
writeFileSync('bench/headline.md', lines.join('\n'));
console.log(lines.join('\n'));
