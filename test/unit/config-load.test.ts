import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_CONFIG_PATH, formatErrors, loadConfigFile } from '../../src/config/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'piha-config-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

test('DEFAULT_CONFIG_PATH', () => {
  assert.equal(DEFAULT_CONFIG_PATH, '/etc/piha/piha.yaml');
});

test('loadConfigFile reads and validates a file', () => {
  const path = join(dir, 'ok.yaml');
  writeFileSync(path, 'cluster: { name: c }\nnodes: [{ name: a, id: 1, addr: 10.0.0.1 }]\n');
  const r = loadConfigFile(path);
  assert.deepEqual(r.errors, []);
  assert.equal(r.config!.nodes[0].name, 'a');
});

test('a missing file is one clear error', () => {
  const path = join(dir, 'missing.yaml');
  const r = loadConfigFile(path);
  assert.equal(r.config, null);
  assert.equal(r.errors.length, 1);
  assert.equal(formatErrors(r.errors, path), `${path}: cannot read: ENOENT: no such file or directory (create it, see README)`);
});

test('a directory is one clear error', () => {
  const r = loadConfigFile(dir);
  assert.equal(r.errors.length, 1);
  assert.match(r.errors[0].message, /cannot read: EISDIR.*not a directory/);
});

test('formatErrors: one line per error, source:line: path: message', () => {
  const path = join(dir, 'bad.yaml');
  writeFileSync(path, 'cluster:\n  name: c\n  prot: 1\nnodes:\n  - { name: a, id: 0, addr: 10.0.0.1 }\n');
  const r = loadConfigFile(path);
  assert.equal(
    formatErrors(r.errors, path),
    [
      `${path}:3: cluster.prot: unknown key "prot" (did you mean port?)`,
      `${path}:5: nodes[0].id: must be a whole number 1-65535, not 0`,
    ].join('\n'),
  );
  assert.equal(formatErrors([{ path: 'x', message: 'm' }], 's.yaml'), 's.yaml: x: m');
  assert.equal(formatErrors([], 's.yaml'), '');
});

test('multiple YAML documents, duplicate keys and alias bombs are errors, not crashes', () => {
  const multi = join(dir, 'multi.yaml');
  writeFileSync(multi, 'cluster: { name: c }\n---\nnodes: []\n');
  assert.match(loadConfigFile(multi).errors[0].message, /YAML syntax error at line 2/);
  const dup = join(dir, 'dup.yaml');
  writeFileSync(dup, 'cluster: { name: c }\ncluster: { name: d }\n');
  const d = loadConfigFile(dup).errors;
  assert.equal(d.length, 1);
  assert.match(d[0].message, /unique/);
  assert.equal(d[0].line, 2);
  const bomb = join(dir, 'bomb.yaml');
  const lines = ['a0: &a0 [x, x, x, x, x, x, x, x, x, x]'];
  for (let i = 1; i < 10; i++) lines.push(`a${i}: &a${i} [${Array(10).fill(`*a${i - 1}`).join(', ')}]`);
  writeFileSync(bomb, lines.join('\n') + '\n');
  const b = loadConfigFile(bomb);
  assert.equal(b.config, null);
  assert.ok(b.errors.length >= 1);
  const complex = join(dir, 'complex.yaml');
  writeFileSync(complex, '? [a, b]\n: 1\n');
  assert.match(loadConfigFile(complex).errors[0].message, /key must be a plain word/);
});
