// `make fuzz`: the property/fuzz tests with many more runs than `make test` uses.
//   node scripts/fuzz.mjs                 FUZZ_RUNS=20000 (or $FUZZ_RUNS)
//   FUZZ_SEED=123 node scripts/fuzz.mjs   replay a failure (fast-check prints the seed)
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const files = ['test/unit/fuzz-config.test.ts', 'test/unit/fuzz-cli.test.ts'];
const runs = process.env.FUZZ_RUNS || '20000';
console.log(`fuzz: FUZZ_RUNS=${runs}${process.env.FUZZ_SEED ? ` FUZZ_SEED=${process.env.FUZZ_SEED}` : ''}: ${files.join(' ')}`);
const r = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-reporter=spec', '--test-concurrency=1', ...files],
  { cwd: root, stdio: 'inherit', env: { ...process.env, FUZZ_RUNS: runs } },
);
if (r.error) throw r.error;
process.exit(r.status ?? 1);
