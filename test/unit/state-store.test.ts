// The node's durable state: atomicWrite must leave the old or the new file whatever step a
// crash interrupts, load() must never return a torn state nor be confused by leftover
// temporary files, and the incarnation must grow across restarts and a wiped state dir.
// Crashes are simulated two ways: an exception injected before (or in the middle of) each
// fs call atomicWrite makes, and real processes killed with SIGKILL in the middle of saving.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { PersistedState } from '../../src/core/types.ts';
import { atomicWrite, StateStore } from '../../src/daemon/state-store.ts';
import { bump, code, range, recordRobustness, tally } from '../robustness/record.ts';

const root = fs.mkdtempSync(join(tmpdir(), 'piha-state-'));
after(() => fs.rmSync(root, { recursive: true, force: true }));
let dirs = 0;
const freshDir = () => join(root, `d${++dirs}`);

const state = (lamport: number, big = false): PersistedState =>
  ({
    lamport,
    attrs: {
      [`node:${lamport}:standby`]: { v: lamport % 2 === 0, c: lamport, n: 1 },
      ...(big ? { pad: { v: 'x'.repeat(200_000), c: 1, n: 1 } } : {}),
    },
  }) as unknown as PersistedState;

class Crash extends Error {}

// The fs calls atomicWrite makes, in order; each is a crash point.
const STEPS = ['openSync', 'writeSync', 'fsyncSync', 'closeSync', 'renameSync'] as const;
type Step = (typeof STEPS)[number];

/** Runs fn with a crash injected at the k-th patched fs call (0-based); `torn` makes a
 *  crashing writeSync write half its data first. Returns the names of the calls made. */
function withCrashAt(k: number, torn: boolean, fn: () => void): { calls: string[]; crashed: boolean } {
  const saved = new Map<Step, unknown>();
  const calls: string[] = [];
  let crashed = false;
  const f = fs as unknown as Record<string, (...a: unknown[]) => unknown>;
  for (const name of STEPS) {
    const real = f[name];
    saved.set(name, real);
    f[name] = (...args: unknown[]) => {
      const i = calls.length;
      calls.push(name);
      if (!crashed && i === k) {
        crashed = true;
        if (torn && name === 'writeSync' && typeof args[1] === 'string') {
          real(args[0], (args[1] as string).slice(0, Math.floor((args[1] as string).length / 2)));
        }
        throw new Crash(`crash before ${name} (#${i})`);
      }
      // After a crash the process is dead: closeSync in atomicWrite's finally is allowed
      // (it changes nothing on disk); anything else would be a bug in this harness.
      return real(...args);
    };
  }
  syncBuiltinESMExports();
  try {
    fn();
  } catch (e) {
    if (!(e instanceof Crash)) throw e;
  } finally {
    for (const [name, real] of saved) f[name] = real as (...a: unknown[]) => unknown;
    syncBuiltinESMExports();
  }
  return { calls, crashed };
}

describe('atomicWrite / StateStore.save under crashes', () => {
  it('the injection reaches atomicWrite (sanity)', () => {
    const dir = freshDir();
    fs.mkdirSync(dir);
    const { calls, crashed } = withCrashAt(99, false, () => atomicWrite(join(dir, 'f'), 'x'));
    assert.equal(crashed, false);
    assert.ok(calls.includes('renameSync') && calls.includes('writeSync'), calls.join());
    assert.equal(fs.readFileSync(join(dir, 'f'), 'utf8'), 'x');
  });

  for (const big of [false, true]) {
    for (const torn of [false, true]) {
      it(`a crash at every step leaves the old or the new state (${big ? 'big' : 'small'} state${torn ? ', torn writes' : ''})`, (t) => {
        const at: Record<string, number> = {};
        const loaded: Record<string, number> = {};
        for (const hadOld of [true, false]) {
          for (let k = 0; ; k++) {
            const dir = freshDir();
            const store = new StateStore(dir);
            const oldState = state(1, big);
            const newState = state(2, big);
            if (hadOld) store.save(oldState);
            const { calls, crashed } = withCrashAt(k, torn, () => store.save(newState));
            const renamed = calls.slice(0, crashed ? -1 : undefined).includes('renameSync');
            const got = new StateStore(dir).load();
            const where = `crash at call #${k} (${calls.at(-1)}), old state ${hadOld ? 'present' : 'absent'}`;
            if (renamed) assert.deepEqual(got, newState, where);
            else assert.deepEqual(got, hadOld ? oldState : undefined, where);
            // Leftover temporary files do not confuse load(), and the next save works.
            store.save(state(3, big));
            assert.deepEqual(new StateStore(dir).load(), state(3, big), where);
            if (!crashed) break; // k went past the last call
            bump(at, calls[k]!);
            bump(loaded, renamed ? 'the new state' : hadOld ? 'the old state' : 'nothing (there was no old state)');
          }
        }
        recordRobustness({
          area: 'state',
          input: `A crash (exception) injected at each fs call of a save of a ${big ? '200 KB' : 'small'} state${torn ? ', the crashing write first writing half its data' : ''}; with and without an older state on disk`,
          observed: `${Object.values(at).reduce((a, b) => a + b, 0)} crash points (${tally(at)}): \`load()\` then returned ${tally(loaded)}; never a torn state; after each, the leftovers did not stop the next save and load.`,
          test: t.name,
        });
      });
    }
  }

  it('load() ignores leftover *.tmp-* files of any content, and a torn state.json', (t) => {
    const dir = freshDir();
    const store = new StateStore(dir);
    fs.writeFileSync(join(dir, 'state.json.tmp-1'), '{"lamport": 9, "attrs": {');
    fs.writeFileSync(join(dir, 'state.json.tmp-99999'), JSON.stringify(state(9)));
    assert.equal(store.load(), undefined);
    store.save(state(4));
    assert.deepEqual(store.load(), state(4));
    recordRobustness({
      area: 'state',
      input: 'Leftover temporary files in the state directory: a torn `state.json.tmp-1`, a complete `state.json.tmp-99999`, no `state.json`',
      observed: '`load()` returned nothing (the temporary files were ignored); the next save and load worked.',
      test: t.name,
    });
    const bads = ['', '{', 'null', '[]', '42', '{"lamport":"1","attrs":{}}', '{"lamport":1}', '{"lamport":1,"attrs":null}', '\0\0\0'];
    for (const bad of bads) {
      fs.writeFileSync(join(dir, 'state.json'), bad);
      assert.equal(store.load(), undefined, JSON.stringify(bad));
    }
    recordRobustness({
      area: 'state',
      input: `A torn or foreign \`state.json\`: ${bads.map((b) => (b === '' ? 'empty' : code(b))).join(', ')}`,
      observed: `\`load()\` returned nothing for each of the ${bads.length} (the node starts from a blank state instead of a wrong one); no exception.`,
      test: t.name,
    });
  });

  it('processes killed with SIGKILL in the middle of saving leave a valid state', async (t) => {
    const outcome: Record<string, number> = {};
    const saves: number[] = [];
    const delays: number[] = [];
    const runs = Math.max(4, Math.min(32, Math.floor((Number.parseInt(process.env.FUZZ_RUNS ?? '', 10) || 300) / 40)));
    const url = new URL('../../src/daemon/state-store.ts', import.meta.url).href;
    const one = (i: number) =>
      new Promise<void>((resolve, reject) => {
        const dir = freshDir();
        // Saves lamport 1, 2, 3, ... as fast as it can, each with a large padding so a
        // write takes long enough to be interrupted; reports each completed save.
        const code = `
          const { StateStore } = await import(${JSON.stringify(url)});
          const s = new StateStore(${JSON.stringify(dir)});
          const pad = 'p'.repeat(50_000);
          process.stdout.write('ready\\n');
          for (let n = 1; ; n++) { s.save({ lamport: n, attrs: { pad: { v: pad + n, c: n, n: 1 } } }); process.stdout.write(n + '\\n'); }
        `;
        const child = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), '--input-type=module', '-e', code], {
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let out = '';
        let err = '';
        let killed = false;
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          if (!killed && out.includes('ready\n')) {
            killed = true;
            delays.push(5 + ((i * 37) % 60));
            setTimeout(() => child.kill('SIGKILL'), 5 + ((i * 37) % 60));
          }
        });
        child.stderr.on('data', (d: Buffer) => (err += d.toString()));
        child.on('exit', (_code, signal) => {
          try {
            assert.equal(signal, 'SIGKILL', `child ended by itself: ${err}`);
            const done = out.split('\n').filter((l) => /^\d+$/.test(l)).map(Number);
            const last = done.at(-1) ?? 0;
            const got = new StateStore(dir).load() as unknown as { lamport: number; attrs: { pad: { v: string } } } | undefined;
            if (got === undefined) {
              assert.equal(last, 0, `state lost after ${last} completed saves`);
            } else {
              // The last reported save, or the one in progress when the kill came.
              assert.ok(got.lamport === last || got.lamport === last + 1, `lamport ${got.lamport} after ${last} saves`);
              assert.equal(got.attrs.pad.v, 'p'.repeat(50_000) + got.lamport, 'content matches its lamport');
            }
            saves.push(last);
            bump(outcome, got === undefined ? 'nothing (killed before the first save)' : got.lamport === last ? 'the last completed save' : 'the save in progress');
            resolve();
          } catch (e) {
            reject(e);
          }
        });
      });
    await Promise.all(Array.from({ length: runs }, (_, i) => one(i)));
    recordRobustness({
      area: 'state',
      input: `${runs} processes saving 50 KB states as fast as they can, killed with SIGKILL ${range(delays, 0, ' ms')} after they started saving`,
      observed: `they had completed ${range(saves)} saves each; \`load()\` returned ${tally(outcome)}, each with content matching its lamport.`,
      test: t.name,
    });
  });
});

describe('StateStore.nextIncarnation', () => {
  const pause = (ms: number) => {
    const end = performance.now() + ms;
    while (performance.now() < end) {
      /* a restart takes at least this long */
    }
  };

  it('strictly increases across calls and new StateStore objects', () => {
    const dir = freshDir();
    let prev = 0;
    for (let i = 0; i < 200; i++) {
      const n = (i % 3 === 0 ? new StateStore(dir) : new StateStore(dir)).nextIncarnation();
      assert.ok(Number.isSafeInteger(n) && n > prev, `${n} after ${prev}`);
      prev = n;
    }
  });

  it('is never below the wall clock, and survives a garbage incarnation file', (t) => {
    const junks = ['', 'abc', '-5', '1e400', '99999999999999999999999', '3.7', '\0'];
    const ahead: number[] = [];
    for (const junk of junks) {
      const dir = freshDir();
      const store = new StateStore(dir);
      fs.writeFileSync(join(dir, 'incarnation'), junk);
      const before = Math.floor(Date.now() / 1000);
      const nowMs = Date.now();
      const n = store.nextIncarnation();
      assert.ok(Number.isSafeInteger(n) && n >= before, `${junk}: ${n}`);
      assert.ok(store.nextIncarnation() > n);
      ahead.push(n - nowMs);
    }
    recordRobustness({
      area: 'state',
      input: `A garbage \`incarnation\` file: ${junks.map((j) => (j === '' ? 'empty' : code(j))).join(', ')}`,
      observed: `\`nextIncarnation()\` returned a safe integer not below the wall clock each time (\`Date.now()\` read just before + ${range(ahead, 0, ' ms')}), and a larger one on the next call.`,
      test: t.name,
    });
  });

  it('strictly increases across a wiped state dir, even after a burst of quick restarts', (t) => {
    let count = 0;
    let first = 0;
    // A crash loop (systemd restarting the daemon every few ms) must not push the counter
    // ahead of the wall-clock floor so far that a wiped state dir then reuses old numbers:
    // peers would ignore the node's messages as coming from an earlier incarnation.
    const dir = freshDir();
    let prev = 0;
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 20; i++) {
        pause(2);
        const n = new StateStore(dir).nextIncarnation();
        assert.ok(n > prev, `round ${round}: ${n} after ${prev}`);
        prev = n;
        first ||= n;
        count++;
      }
      fs.rmSync(dir, { recursive: true, force: true });
      pause(2);
      const n = new StateStore(dir).nextIncarnation();
      assert.ok(n > prev, `after wiping the state dir: ${n}, before: ${prev}`);
      prev = n;
      count++;
    }
    recordRobustness({
      area: 'state',
      input: 'A crash loop (20 restarts 2 ms apart), then the state directory wiped; three times',
      observed: `${count} incarnations, strictly increasing (${first} → ${prev}) across all three wipes.`,
      test: t.name,
    });
  });
});
