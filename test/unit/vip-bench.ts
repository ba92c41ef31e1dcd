// Latency of `ip` per command: long-lived batch process vs one spawn per command.
// Run as root: node --import tsx test/unit/vip-bench.ts [count]
// (The vip-ip test runs the same measurement with a smaller assertion.)

import { performance } from 'node:perf_hooks';
import { IpRunner } from '../../src/vip/ip.ts';
import { Lab, median } from './vip-netns.ts';

export interface BenchRow {
  what: string;
  medianMs: number;
  p90Ms: number;
}

export async function bench(lab: Lab, count: number): Promise<BenchRow[]> {
  lab.ip(lab.node, 'addr', 'replace', '192.0.2.150/24', 'dev', 'eth0', 'valid_lft', '30', 'preferred_lft', '30');
  const change = ['addr', 'change', '192.0.2.150/24', 'dev', 'eth0', 'valid_lft', '30', 'preferred_lft', '30'];
  const show = ['addr', 'show', 'dev', 'eth0'];
  const rows: BenchRow[] = [];
  for (const mode of ['batch', 'spawn'] as const) {
    const r = new IpRunner({ netns: lab.node, mode });
    await r.run(show); // warm-up (starts the batch process)
    for (const [name, args] of [['addr change', change], ['addr show', show]] as const) {
      const t: number[] = [];
      for (let i = 0; i < count; i++) {
        const t0 = performance.now();
        const res = await r.run([...args]);
        t.push(performance.now() - t0);
        if (!res.ok) throw new Error(`${mode} ${name}: ${res.stderr}`);
      }
      const s = [...t].sort((a, b) => a - b);
      rows.push({ what: `${mode} ${name}`, medianMs: median(t), p90Ms: s[Math.floor(s.length * 0.9)] });
    }
    await r.close();
  }
  return rows;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const lab = new Lab();
  try {
    const rows = await bench(lab, Number(process.argv[2] ?? 200));
    for (const r of rows) console.log(`${r.what.padEnd(18)} median ${r.medianMs.toFixed(3)} ms  p90 ${r.p90Ms.toFixed(3)} ms`);
  } finally {
    lab.destroy();
  }
}
