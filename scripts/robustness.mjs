// `make robustness`: regenerate docs/robustness.md from the tests. Runs the renderer's own
// test, then the unit tests that try bad input, then (root, network namespaces) the lab tests
// that attack real daemons, all with PIHA_ROBUSTNESS_OUT set so that each test records the rows
// it has verified (test/robustness/record.ts); then renders test/robustness/template.md with
// those rows (test/robustness/render.ts). Nothing is written unless every test passed.
//
//   node scripts/robustness.mjs               everything; fails when the lab cannot run here
//   node scripts/robustness.mjs --unit-only   unit rows only; the document says lab rows are missing
//   node scripts/robustness.mjs --out FILE    write FILE instead of docs/robustness.md
//
// The lab part needs root, iproute2, nftables, arping, curl, tcpdump and a built dist/piha
// (make build binary apt-deps, which `make robustness` runs first).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const RENDER_TEST = 'test/robustness/render.test.ts';
const UNIT = [
  'test/unit/transport-property.test.ts',
  'test/unit/fuzz-config.test.ts',
  'test/unit/config-validate.test.ts',
  'test/unit/fuzz-cli.test.ts',
  'test/unit/state-store.test.ts',
];
const LAB = ['test/lab/adversary.test.ts', 'test/lab/http-abuse.test.ts', 'test/lab/config.test.ts'];

class Failure extends Error {}
function fail(msg) {
  throw new Failure(msg);
}

async function main() {
  // ---- arguments
  const argv = process.argv.slice(2);
  let unitOnly = false;
  let outFile = join(ROOT, 'docs', 'robustness.md');
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--unit-only') unitOnly = true;
    else if (a === '--out' && argv[i + 1]) outFile = argv[++i];
    else if (a.startsWith('--out=')) outFile = a.slice(6);
    else if (a === '-h' || a === '--help') {
      console.log('usage: node scripts/robustness.mjs [--unit-only] [--out FILE]');
      process.exit(0);
    } else fail(`unknown argument ${JSON.stringify(a)} (usage: node scripts/robustness.mjs [--unit-only] [--out FILE])`);
  }
  const shown = outFile.startsWith(ROOT) ? relative(ROOT, outFile) : outFile;
  const command = process.env.MAKELEVEL && argv.length === 0 ? 'make robustness' : ['node scripts/robustness.mjs', ...argv].join(' ');

  const nodeTest = (files, env) =>
    spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=spec', '--test-concurrency=1', ...files], {
      cwd: ROOT,
      stdio: 'inherit',
      env: { ...process.env, ...env },
    });

  // ---- can the lab run here? (checked first: no point in running the unit tests otherwise)
  let labMissing;
  if (unitOnly) {
    labMissing = 'this file was rendered with `--unit-only`; run `make robustness` as root to get them';
    console.log('robustness: --unit-only: the lab tests are not run; the document will say that lab rows are missing');
  } else {
    const probe = spawnSync(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', "const m = await import('./test/lab/lab.ts'); process.stdout.write(JSON.stringify(await m.labUnavailableReason()));"],
      { cwd: ROOT, encoding: 'utf8' },
    );
    if (probe.status !== 0) fail(`could not check whether the lab can run: ${probe.stderr || probe.error}`);
    const reason = JSON.parse(probe.stdout.trim() || 'null');
    if (reason) {
      fail(
        `the lab tests (${LAB.join(', ')}) cannot run here: ${reason}.\n` +
          '  Run `make robustness` as root on a machine with network namespaces, or pass --unit-only\n' +
          '  (node scripts/robustness.mjs --unit-only) to render only the unit rows; the document then says that lab rows are missing.',
      );
    }
    if (!existsSync(join(ROOT, 'dist', 'piha'))) fail('dist/piha is missing: run `make build binary` first (make robustness does)');
}

// ---- run the tests
const dir = mkdtempSync(join(os.tmpdir(), 'piha-robustness-'));
const rowsFile = join(dir, 'rows.jsonl');
writeFileSync(rowsFile, '');
const durations = {};
try {
  console.log(`robustness: ${RENDER_TEST}`);
  let r = nodeTest([RENDER_TEST], { PIHA_ROBUSTNESS_OUT: '' });
  if (r.status !== 0) fail(`${RENDER_TEST} failed`);

  console.log(`robustness: unit tests with PIHA_ROBUSTNESS_OUT=${rowsFile}: ${UNIT.join(' ')}`);
  let t0 = performance.now();
  r = nodeTest(UNIT, { PIHA_ROBUSTNESS_OUT: rowsFile });
  durations['unit tests'] = (performance.now() - t0) / 1000;
  if (r.status !== 0) fail(`unit tests failed (exit ${r.status ?? r.signal}); ${shown} not written`);

  if (!unitOnly) {
    console.log(`robustness: lab tests (root, network namespaces) with PIHA_ROBUSTNESS_OUT=${rowsFile}: ${LAB.join(' ')}`);
    t0 = performance.now();
    r = nodeTest(LAB, { PIHA_ROBUSTNESS_OUT: rowsFile, PIHA_LAB_REQUIRED: '1' });
    durations['lab tests'] = (performance.now() - t0) / 1000;
    if (r.status !== 0) fail(`lab tests failed (exit ${r.status ?? r.signal}); ${shown} not written`);
  }

  // ---- render
  const { tsImport } = await import('tsx/esm/api');
  const render = await tsImport('../test/robustness/render.ts', import.meta.url);
  const rows = render.parseRows(readFileSync(rowsFile, 'utf8'));
  // every area the tests cover must have rows: none means a test was skipped or lost its recorder
  const empty = Object.entries(render.AREA_INFO)
    .filter(([area, info]) => (!info.lab || !unitOnly) && !rows.some((row) => row.area === area))
    .map(([area]) => area);
  if (empty.length) fail(`no rows recorded for ${empty.join(', ')} (was a test skipped?); ${shown} not written`);

  const cpus = os.cpus();
  const model = (cpus[0]?.model ?? 'unknown CPU').replace(/\s+/g, ' ').trim();
  const machine = `${cpus.length}-core ${os.arch()} (${model}), ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB RAM, ${os.type()} ${os.release()}`;
  const now = new Date();
  const meta = {
    date: `${now.toISOString().slice(0, 16).replace('T', ' ')} UTC`,
    node: process.version,
    machine,
    command,
    durations,
    ...(labMissing ? { labMissing } : {}),
  };
  const template = readFileSync(join(ROOT, 'test', 'robustness', 'template.md'), 'utf8');
  writeFileSync(outFile, render.renderRobustness(template, rows, meta));
  const perArea = Object.keys(render.AREA_INFO).map((a) => `${a} ${rows.filter((row) => row.area === a).length}`);
  console.log(`robustness: wrote ${shown}: ${rows.length} rows (${perArea.join(', ')})`);
  console.log(`robustness: ${Object.entries(durations).map(([k, s]) => `${k} ${s.toFixed(1)} s`).join(', ')}`);
  if (labMissing) console.log('robustness: lab rows are missing (--unit-only): the lab sections say so');
} finally {
  rmSync(dir, { recursive: true, force: true });
}
}

try {
  await main();
} catch (e) {
  if (!(e instanceof Failure)) throw e;
  console.error(`robustness: ${e.message}`);
  process.exitCode = 1;
}
