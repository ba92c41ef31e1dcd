// make soak: an idle cluster under packet loss must not fail over by itself.
// Default: profile fast, 5 % loss on every node's input, 5 minutes (issue 4's fast-profile
// target). Env: PROFILE, LOSS (percent), MINUTES. Appends the result to docs/benchmarks.md.
import { writeFileSync, appendFileSync } from 'node:fs';
import { LabCluster, VIP } from '../test/lab/cluster.ts';
import { now, sleep } from '../test/lab/lab.ts';

const profile = (process.env.PROFILE ?? 'fast') as 'fast' | 'lan' | 'slow';
const loss = Number(process.env.LOSS ?? 5);
const minutes = Number(process.env.MINUTES ?? 5);

const c = await LabCluster.create({ profile });
const w = c.lab.watchAddress(VIP);
let result = '';
try {
  await w.ready;
  await c.startAll();
  const h = await c.waitForHolder(w, 20000);
  await sleep(2000);
  for (const n of c.lab.nodes) await c.lab.loss(n.name, loss, 'in');
  const t0 = now();
  await sleep(minutes * 60_000);
  await c.lab.heal();
  const iv = w.intervals();
  const moves = Object.values(iv).flat().filter(([start]) => start > t0).length;
  const stillHolder = w.holders().join(',');
  const outage = Object.values(iv).flat().some(([, end]) => end !== null && end > t0);
  result = `\n## Soak: profile ${profile}, ${loss} % loss on every node, ${minutes} min idle (${new Date().toISOString()})\n\nVIP holder changes during the soak: ${moves} (holder before: ${h}, after: ${stillHolder}); holder lost the VIP: ${outage ? 'yes' : 'no'}; two holders: ${Math.round(w.overlapMs())} ms.\n`;
  console.log(result);
  // Kept in its own file (make bench includes it) and appended to the current table.
  writeFileSync('bench/soak.md', result.trimStart());
  appendFileSync('docs/benchmarks.md', result);
  if (moves || outage || w.overlapMs() > 0) process.exitCode = 1;
} finally {
  await w.stop();
  await c.destroy();
}
