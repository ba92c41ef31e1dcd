// The single executables built by scripts/sea.mjs (make binary): dist/piha-linux-x64 runs here,
// dist/piha-linux-arm64 (the Raspberry Pi one) runs under qemu-user with Debian's arm64 cross
// libraries as its root (apt: qemu-user-static libc6-arm64-cross libstdc++6-arm64-cross).
// Skipped, saying why, when the binaries have not been built, so unit runs need no build.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';

const REPO = resolve(import.meta.dirname, '..', '..');
const VERSION = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')).version as string;
const X64 = join(REPO, 'dist', 'piha-linux-x64');
const ARM64 = join(REPO, 'dist', 'piha-linux-arm64');
const ARM64_ROOT = '/usr/aarch64-linux-gnu'; // ld-linux-aarch64.so.1, libc, libstdc++ for qemu

function which(cmd: string): string | undefined {
  for (const d of (process.env.PATH ?? '').split(delimiter)) if (d && existsSync(join(d, cmd))) return join(d, cmd);
  return undefined;
}
const QEMU = which('qemu-aarch64-static') ?? which('qemu-aarch64');

const noX64 = !existsSync(X64) && `${X64} is not built (node scripts/build.mjs && node scripts/sea.mjs, or make binary)`;
const noArm64 =
  (!existsSync(ARM64) && `${ARM64} is not built (node scripts/sea.mjs, or make binary)`) ||
  (!QEMU && 'qemu-user is not installed (apt-get install qemu-user-static)') ||
  (!existsSync(join(ARM64_ROOT, 'lib', 'ld-linux-aarch64.so.1')) &&
    `no arm64 libraries in ${ARM64_ROOT} (apt-get install libc6-arm64-cross libstdc++6-arm64-cross)`);

const dir = mkdtempSync(join(tmpdir(), 'piha-sea-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));
const good = join(dir, 'good.yaml');
writeFileSync(good, 'cluster: { name: c }\nnodes:\n  - { name: a, id: 1, addr: 10.0.0.1 }\n  - { name: b, id: 2, addr: 10.0.0.2 }\n');
const bad = join(dir, 'bad.yaml');
writeFileSync(bad, 'cluster:\n  name: c\n  prot: 1\nnodes:\n  - { name: a, id: 0, addr: 10.0.0.1 }\n');

type Run = (args: string[]) => { code: number | null; stdout: string; stderr: string };
const native: Run = (args) => {
  const r = spawnSync(X64, args, { encoding: 'utf8', timeout: 30_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
};
const qemu: Run = (args) => {
  const r = spawnSync(QEMU!, [ARM64, ...args], { encoding: 'utf8', timeout: 120_000, env: { ...process.env, QEMU_LD_PREFIX: ARM64_ROOT } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
};

function checks(run: Run): void {
  const v = run(['--version']);
  assert.equal(v.code, 0, v.stderr);
  assert.equal(v.stdout, `piha ${VERSION}\n`);
  assert.equal(v.stderr, '', 'no SEA warning or other noise on stderr');

  const ok = run(['config', 'check', good]);
  assert.equal(ok.code, 0, ok.stdout + ok.stderr);
  assert.match(ok.stdout, /: OK — cluster c, 2 nodes, 0 resources, profile lan/);

  const ko = run(['config', 'check', bad]);
  assert.equal(ko.code, 1, ko.stdout + ko.stderr);
  assert.equal(
    ko.stdout,
    [`${bad}:3: cluster.prot: unknown key "prot" (did you mean port?)`, `${bad}:5: nodes[0].id: must be a whole number 1-65535, not 0`, `${bad}: 2 errors`, ''].join('\n'),
  );
}

test('linux-x64 single executable: --version, help, config check', { skip: noX64 }, () => {
  checks(native);
  const h = native(['help']);
  assert.equal(h.code, 0, h.stderr);
  assert.match(h.stdout, /^piha .* — virtual IP failover/);
  assert.match(h.stdout, /piha config check \[FILE\]/);
  const u = native(['frobnicate']);
  assert.equal(u.code, 2);
  assert.match(u.stderr, /unknown command "frobnicate"/);
});

test('linux-arm64 single executable under qemu-user: --version, config check', { skip: noArm64 }, () => {
  checks(qemu);
});
