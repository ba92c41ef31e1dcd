// Command-line runner for the simulator.
//   node --import tsx test/sim/run.ts --seeds 1000 [--from 1]   many seeds, summary
//   node --import tsx test/sim/run.ts --seed 42 --trace          replay one seed, event by event
//   --nodes N (with either): every scenario at that cluster size (the seeds draw 10-32 nodes
//   only 1 time in 100); a failure replays with the same --nodes.
// (test/sim/digest.ts fingerprints the behaviour of a range of seeds, for refactors.)
import { simulate } from './scenario.ts';

const args = process.argv.slice(2);
const opt = (name: string, dflt?: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const trace = args.includes('--trace');
const nodes = opt('nodes');
if (nodes !== undefined && !(Number.isInteger(Number(nodes)) && Number(nodes) >= 1 && Number(nodes) <= 64)) {
  console.error(`--nodes: expected a cluster size from 1 to 64, got ${JSON.stringify(nodes)}`);
  process.exit(2);
}
const shape = nodes === undefined ? {} : { shape: { nodes: Number(nodes), twoNode: Number(nodes) === 2 } };
const replayFlags = nodes === undefined ? '' : ` --nodes ${nodes}`;
const one = opt('seed');
if (one !== undefined) {
  const r = simulate(Number(one), { trace: true, ...shape });
  if (trace || !r.ok) for (const l of r.lines) console.log(l);
  console.log(`seed ${r.seed}: ${r.ok ? 'ok' : 'FAILED'} shape=${JSON.stringify(r.shape)} stats=${JSON.stringify(r.stats)}`);
  for (const v of r.violations) console.log(`  violation: ${v}`);
  process.exitCode = r.ok ? 0 : 1;
} else {
const from = Number(opt('from', '1'));
const count = Number(opt('seeds', '1000'));
const t0 = Date.now();
let failed = 0;
for (let s = from; s < from + count; s++) {
  const r = simulate(s, shape);
  if (!r.ok) {
    failed++;
    console.log(`seed ${s} FAILED: ${r.violations[0]}\n  replay: node --import tsx test/sim/run.ts --seed ${s}${replayFlags} --trace`);
    if (failed >= 10) break;
  }
}
console.log(`${count - failed} passed, ${failed} failed (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
process.exitCode = failed ? 1 : 0;
}
