// Fuzzing the command line. parseArgs(argv): any argv either parses or throws UsageError,
// nothing else. main(argv)/cli(argv): with no daemon and no config file, random argv ends
// quickly with exit code 0..3 and never an unexpected exception. main() calls process.exit
// on some paths, so it runs in one child process that replays all samples with process.exit
// and the output streams stubbed. Runs: FUZZ_RUNS (default 300; the child gets a tenth).

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { parseArgs, UsageError } from '../../src/main.ts';
import { bump, code, range, recordRobustness, tally } from '../robustness/record.ts';

const RUNS = Math.max(1, Number.parseInt(process.env.FUZZ_RUNS ?? '', 10) || 300);
const SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : undefined;
const params = (numRuns = RUNS): fc.Parameters<unknown> => ({ numRuns, ...(SEED !== undefined ? { seed: SEED } : {}) });

const SOCKET = '/nonexistent/piha.sock';
const MAIN_URL = new URL('../../src/main.ts', import.meta.url).href;

// Words and options the CLI knows, near-misses, and values: a random argv mostly built from
// these reaches the deep paths; arbitrary strings cover the rest.
const TOKENS = [
  'daemon', 'status', 'nodes', 'node', 'standby', 'unstandby', 'resource', 'move', 'clear', 'cleanup', 'config', 'check',
  'keygen', 'help', 'version', 'worker0', 'vip', '', '-', '--', '-h', '-v', '-V', '-x', '--json', '--force', '--help',
  '--version', '--config', '--node', '--state-dir', '--socket', '--status-bind', '--log-level', '--config=', '--json=1',
  '--socket=', `--socket=${SOCKET}`, '--config=/nonexistent/piha.yaml', '--bogus', '--=x', '---', '--__proto__',
  '--constructor', '--toString', '/nonexistent/piha.yaml', SOCKET, 'x'.repeat(300), 'ünïcode', '\0', '\n', '0',
];
const token = fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...TOKENS) }, { weight: 1, arbitrary: fc.string({ maxLength: 12 }) });
const argvArb = fc.array(token, { maxLength: 7 });

describe('fuzz: parseArgs', () => {
  it('arbitrary argv parses or throws UsageError, nothing else', (t) => {
    let parsed = 0;
    let usage = 0;
    const lens: number[] = [];
    fc.assert(
      fc.property(fc.oneof(argvArb, fc.array(fc.fullUnicodeString({ maxLength: 20 }), { maxLength: 8 })), (argv) => {
        const copy = [...argv];
        try {
          const p = parseArgs(argv);
          assert.ok(Array.isArray(p.words));
          // Every word is an argv element (or, for an unknown --key=value, that element without
          // its dashes), in order; every flag value is a non-empty string or true.
          let j = 0;
          for (const w of p.words) {
            while (j < argv.length && argv[j] !== w && argv[j] !== `--${w}`) j++;
            assert.ok(j < argv.length, `word ${JSON.stringify(w)} not from argv`);
            j++;
          }
          for (const [k, v] of p.flags) {
            assert.ok(k.length > 0);
            assert.ok(v === true || (typeof v === 'string' && v.length > 0), `flag ${k}=${String(v)}`);
          }
        } catch (e) {
          assert.ok(e instanceof UsageError, `threw ${(e as Error)?.constructor?.name}: ${(e as Error)?.stack ?? e}`);
          assert.equal(e.constructor.name, 'UsageError');
          assert.ok(e.message.length > 0 && !e.message.includes('\n'), `message: ${JSON.stringify(e.message)}`);
        }
        assert.deepEqual(argv, copy, 'argv was modified');
        lens.push(argv.length);
        try {
          parseArgs(argv);
          parsed++;
        } catch {
          usage++;
        }
      }),
      params(),
    );
    recordRobustness({
      area: 'cli',
      input: 'Random argv for `parseArgs`: 0–7 words mostly from the CLI\'s commands and options, near-misses (`--json=1`, `--=x`, `---`, `--__proto__`), `\\0`, newlines, 300-character words; or 0–8 arbitrary Unicode strings',
      observed: `${parsed + usage} argv of ${range(lens, 0, ' words')}: ${parsed} parsed (every word from argv, in order; every flag value a non-empty string or true), ${usage} threw \`UsageError\` with a one-line message; nothing else thrown, argv never modified.`,
      test: t.name,
    });
  });

  it('known cases', (t) => {
    assert.deepEqual(parseArgs(['status', '--json', '--socket', SOCKET]), { words: ['status'], flags: new Map<string, string | true>([['json', true], ['socket', SOCKET]]) });
    assert.deepEqual(parseArgs(['--config=a=b']).flags.get('config'), 'a=b');
    for (const bad of [['--socket'], ['--socket='], ['--json=1'], ['--'], ['--=x'], ['--nope']]) {
      assert.throws(() => parseArgs(bad), UsageError, JSON.stringify(bad));
      let message = '(no error)';
      try {
        parseArgs(bad);
      } catch (e) {
        message = (e as Error).message;
      }
      recordRobustness({ area: 'cli', input: `\`parseArgs(${JSON.stringify(bad)})\``, observed: `\`UsageError\`: ${code(message)}`, test: t.name });
    }
  });
});

interface Outcome {
  argv: string[];
  code: number;
  kind: 'return' | 'exit' | 'usage' | 'throw' | 'hang';
  err: string;
  ms: number;
}

/** Runs each argv through main() (mode 'main') or cli() (mode 'cli') in one child process,
 *  in a scratch cwd, with no config file and no daemon. */
function runInChild(samples: string[][], mode: 'main' | 'cli'): Outcome[] {
  const cwd = mkdtempSync(join(tmpdir(), 'piha-fuzz-cli-'));
  const code = `
    const { readFileSync } = await import('node:fs');
    const m = await import(${JSON.stringify(MAIN_URL)});
    class Exit { constructor(code) { this.code = code; } }
    const realExit = process.exit.bind(process);
    // cli() catches everything, the sentinel too: remember the first exit, drop later output.
    let exited;
    process.exit = (c) => { if (exited === undefined) exited = c ?? 0; throw new Exit(c ?? 0); };
    const realOut = process.stdout.write.bind(process.stdout);
    let err = '';
    process.stdout.write = () => true;
    process.stderr.write = (s) => { if (exited === undefined) err += String(s); return true; };
    const out = [];
    for (const argv of JSON.parse(readFileSync(0, 'utf8'))) {
      err = '';
      exited = undefined;
      process.exitCode = undefined;
      const t0 = performance.now();
      let code, kind;
      let timer;
      const hang = new Promise((r) => { timer = setTimeout(() => r('hang'), 5000); });
      try {
        const r = await Promise.race([${mode === 'main' ? 'm.main(argv)' : 'm.cli(argv).then(() => process.exitCode ?? 0)'}, hang]);
        if (r === 'hang') { code = -1; kind = 'hang'; } else { code = r; kind = 'return'; }
      } catch (e) {
        if (e instanceof Exit) { code = e.code; kind = 'exit'; }
        else if (e instanceof m.UsageError) { code = 2; kind = 'usage'; err += 'Error: ' + e.message + '\\n'; }
        else { code = 1; kind = 'throw'; err += String(e && e.stack || e); }
      }
      clearTimeout(timer);
      if (exited !== undefined) { code = exited; kind = 'exit'; }
      process.exitCode = undefined;
      out.push({ argv, code, kind, err, ms: performance.now() - t0 });
    }
    realOut(JSON.stringify(out), () => realExit(0));
  `;
  try {
    const r = spawnSync(process.execPath, ['--import', import.meta.resolve('tsx'), '--input-type=module', '-e', code], {
      cwd,
      input: JSON.stringify(samples),
      env: { ...process.env, PIHA_CONFIG: '/nonexistent', NODE_OPTIONS: '' },
      encoding: 'utf8',
      timeout: 60_000 + samples.length * 6_000,
      maxBuffer: 256 * 1024 * 1024,
    });
    assert.equal(r.status, 0, `child failed: ${r.error ?? ''} ${r.stderr}`);
    return JSON.parse(r.stdout) as Outcome[];
  } finally {
    rmSync(cwd, { recursive: true, force: true });
  }
}

/** keygen without a file writes /etc/piha/authkey: keep the fuzzer from doing that. */
function harmless(argv: string[]): boolean {
  try {
    const p = parseArgs(argv);
    if (p.words[0] !== 'keygen') return true;
    const file = p.words[1];
    return file !== undefined && (!file.startsWith('/') || file.startsWith('/nonexistent/'));
  } catch {
    return true;
  }
}

describe('fuzz: main', () => {
  it('random argv ends with 0..3, never hangs or throws anything but UsageError', (t) => {
    const n = Math.max(20, Math.floor(RUNS / 10));
    const samples = fc
      .sample(argvArb.map((a) => ['--socket', SOCKET, ...a]).filter(harmless), { numRuns: n, ...(SEED !== undefined ? { seed: SEED } : {}) });
    const outcomes = runInChild(samples, 'main');
    assert.equal(outcomes.length, samples.length);
    for (const o of outcomes) {
      const what = `${JSON.stringify(o.argv)} -> ${o.kind} ${o.code}: ${o.err}`;
      assert.notEqual(o.kind, 'hang', what);
      assert.notEqual(o.kind, 'throw', what);
      assert.ok([0, 1, 2, 3].includes(o.code), what);
      assert.ok(o.ms < 5000, what);
    }
    const kinds: Record<string, number> = {};
    const codes: Record<string, number> = {};
    for (const o of outcomes) {
      bump(kinds, o.kind);
      bump(codes, `exit ${o.code}`);
    }
    recordRobustness({
      area: 'cli',
      input: 'Random argv through `main()` (the same generator, after `--socket /nonexistent/piha.sock`; `keygen` only to harmless paths)',
      observed: `${outcomes.length} runs: ${tally(codes)}; ended by ${tally(kinds)}; none hung or threw anything but \`UsageError\`; slowest ${Math.max(...outcomes.map((o) => o.ms)).toFixed(0)} ms.`,
      test: t.name,
    });
  });

  it('a fixed table through cli(): exit codes and a one-line "Error: ..." on stderr', (t) => {
    // [argv, exit code, stderr: one "Error: " line (true) / empty (false) / anything (null)]
    const table: [string[], number, boolean | null][] = [
      [['--version'], 0, false],
      [['version'], 0, false],
      [['help'], 0, false],
      [['--help'], 0, false],
      [[], 2, false],
      [['frobnicate'], 2, true],
      [['--bogus'], 2, true],
      [['--config'], 2, true],
      [['--socket='], 2, true],
      [['--json=yes', 'status'], 2, true],
      [['status', 'bogus', '--socket', SOCKET], 3, true], // the daemon is asked before the view is checked
      [['status', '--socket', SOCKET], 3, true],
      [['status', 'nodes', '--socket', SOCKET], 3, true],
      [['node'], 2, true],
      [['node', 'standby', 'a', 'b'], 2, true],
      [['node', 'standby', 'worker0', '--socket', SOCKET], 3, true],
      [['node', 'unstandby', '--socket', SOCKET], 3, true],
      [['resource'], 2, true],
      [['resource', 'move', 'vip'], 2, true],
      [['resource', 'move', 'vip', 'n', 'x'], 2, true],
      [['resource', 'move', 'vip', 'worker0', '--socket', SOCKET], 3, true],
      [['resource', 'clear', 'vip', '--socket', SOCKET], 3, true],
      [['resource', 'cleanup', 'vip', '--socket', SOCKET], 3, true],
      [['config'], 2, true],
      [['config', 'check', 'a', 'b'], 2, true],
      [['config', 'check'], 1, false], // errors go to stdout, like a linter
      [['config', 'check', '/nonexistent/piha.yaml'], 1, false],
      [['daemon', 'extra'], 2, true],
      [['daemon'], 2, null], // the config errors, then a summary line
      [['cleanup'], 2, null],
      [['keygen', 'a', 'b'], 2, true],
      [['keygen', '/nonexistent/dir/authkey'], 1, true],
    ];
    const outcomes = runInChild(table.map(([argv]) => argv), 'cli');
    table.forEach(([argv, code, oneLine], i) => {
      const o = outcomes[i];
      const what = `${JSON.stringify(argv)} -> ${o.kind} ${o.code}: ${JSON.stringify(o.err)}`;
      assert.equal(o.code, code, what);
      assert.ok(o.kind === 'return' || o.kind === 'exit', what);
      if (oneLine === true) assert.match(o.err, /^Error: [^\n]+\n$/, what);
      if (oneLine === false) assert.equal(o.err, '', what);
      if (oneLine === null) assert.ok(o.err.length > 0 && !o.err.includes('    at '), what);
    });
    table.forEach(([argv, expected], i) => {
      if (expected === 0) return; // help and version: not bad input
      const o = outcomes[i];
      const lines = o.err.trim().split('\n').filter((l) => l.trim() !== '');
      const err = lines.length === 0 ? 'stderr empty' : `stderr: ${code(lines[0]!.length > 160 ? `${lines[0]!.slice(0, 160)}…` : lines[0]!)}${lines.length > 1 ? ` (+${lines.length - 1} more lines, last ${code(lines.at(-1)!)})` : ''}`;
      recordRobustness({ area: 'cli', input: code(['piha', ...argv].join(' ')), observed: `exit ${o.code}; ${err}`, test: t.name });
    });
  });
});
