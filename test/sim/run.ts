// Command-line runner for the simulator.
//   node --import tsx test/sim/run.ts --seeds 1000 [--from 1]   many seeds, summary
//   node --import tsx test/sim/run.ts --seed 42 --trace          replay one seed, event by event
// (test/sim/digest.ts fingerprints the behaviour of a range of seeds, for refactors.)
import { simulate } from './scenario.ts';

const args = process.argv.slice(2);
const opt = (name: string, dflt?: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const trace = args.includes('--trace');
const one = opt('seed');
if (one !== undefined) {
  const r = simulate(Number(one), { trace: true });
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
  const r = simulate(s);
  if (!r.ok) {
    failed++;
    console.log(`seed ${s} FAILED: ${r.violations[0]}\n  replay: node --import tsx test/sim/run.ts --seed ${s} --trace`);
    if (failed >= 10) break;
  }
}
console.log(`${count - failed} passed, ${failed} failed (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
process.exitCode = failed ? 1 : 0;
}
