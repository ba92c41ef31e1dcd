// The node's durable state: a save must leave the old or the new state whatever step a
// crash interrupts, load() must never return a torn state nor be confused by leftover
// temporary files or a torn slot, and the incarnation must grow across restarts and a wiped
// state dir. Crashes are simulated three ways: an exception injected before (or in the middle
// of) each fs call a save makes, real processes killed with SIGKILL in the middle of saving,
// and slots torn or corrupted on disk as a power cut in the middle of an overwrite leaves them.

import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { PersistedState } from '../../src/core/types.ts';
import { atomicWrite, decodeSlot, encodeSlot, LEGACY_FILE, SLOT_FILES, StateStore } from '../../src/daemon/state-store.ts';
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

// The fs calls a save makes (in place: open, fstat, write, fdatasync, close; a new or growing
// slot: open, write, fsync, close, rename, open, fsync, close; then unlink of a legacy file).
const STEPS = ['openSync', 'fstatSync', 'writeSync', 'fsyncSync', 'fdatasyncSync', 'closeSync', 'renameSync', 'unlinkSync'] as const;
type Step = (typeof STEPS)[number];

/** Runs fn with every call of the patched fs functions recorded, and a crash injected at the
 *  k-th (0-based); `torn` makes a crashing writeSync write half its data first. */
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
        if (torn && name === 'writeSync') {
          const [fd, buf, off, len, pos] = args as [number, Buffer, number, number, number];
          real(fd, buf, off, Math.floor(len / 2), pos);
        }
        throw new Crash(`crash before ${name} (#${i})`);
      }
      // After a crash the process is dead: closeSync in a finally is allowed (it changes
      // nothing on disk); anything else would be a bug in this harness.
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

describe('StateStore.save under crashes', () => {
  it('the injection reaches atomicWrite and the in-place save (sanity)', () => {
    const dir = freshDir();
    fs.mkdirSync(dir);
    const a = withCrashAt(99, false, () => atomicWrite(join(dir, 'f'), 'x'));
    assert.equal(a.crashed, false);
    assert.ok(a.calls.includes('renameSync') && a.calls.includes('writeSync'), a.calls.join());
    assert.equal(fs.readFileSync(join(dir, 'f'), 'utf8'), 'x');
    const store = new StateStore(dir);
    store.save(state(1));
    store.save(state(2));
    const b = withCrashAt(99, false, () => store.save(state(3)));
    assert.deepEqual(b.calls, ['openSync', 'fstatSync', 'writeSync', 'fdatasyncSync', 'closeSync']);
  });

  it('a save over an existing slot is one write and one fdatasync: no fsync, no rename, no directory sync', () => {
    const dir = freshDir();
    const store = new StateStore(dir);
    const first = withCrashAt(99, false, () => store.save(state(1)));
    assert.ok(first.calls.includes('renameSync'), `a new slot is created with a rename: ${first.calls.join()}`);
    store.save(state(2));
    for (let n = 3; n < 7; n++) {
      const { calls } = withCrashAt(99, false, () => store.save(state(n)));
      assert.deepEqual(calls, ['openSync', 'fstatSync', 'writeSync', 'fdatasyncSync', 'closeSync'], `save ${n}`);
      assert.deepEqual(new StateStore(dir).load(), state(n));
    }
    // A state that outgrows its slot replaces the slot whole.
    const grow = withCrashAt(99, false, () => store.save(state(7, true)));
    assert.ok(grow.calls.includes('renameSync'), grow.calls.join());
    assert.deepEqual(new StateStore(dir).load(), state(7, true));
    store.save(state(8));
    store.save(state(9));
    assert.deepEqual(new StateStore(dir).load(), state(9));
  });

  for (const big of [false, true]) {
    for (const torn of [false, true]) {
      it(`a crash at every step leaves the old or the new state (${big ? 'big' : 'small'} state${torn ? ', torn writes' : ''})`, (t) => {
        const at: Record<string, number> = {};
        const loaded: Record<string, number> = {};
        const paths: Record<string, number> = {};
        for (const prior of [0, 1, 2, 3]) {
          for (let k = 0; ; k++) {
            const dir = freshDir();
            const store = new StateStore(dir);
            for (let n = 1; n <= prior; n++) store.save(state(n, big));
            const oldState = prior ? state(prior, big) : undefined;
            const newState = state(10, big);
            const { calls, crashed } = withCrashAt(k, torn, () => store.save(newState));
            const got = new StateStore(dir).load();
            const where = `crash at call #${k} (${calls.at(-1)}), ${prior} saves before`;
            const before = calls.slice(0, crashed ? -1 : undefined);
            const wrote = before.includes('writeSync');
            if (!crashed) assert.deepEqual(got, newState, where);
            else if (!wrote) assert.deepEqual(got, oldState, `${where}: nothing was written yet`);
            else assert.ok(isDeepEqual(got, oldState) || isDeepEqual(got, newState), `${where}: neither the old nor the new state`);
            // Leftovers do not confuse load(), and the next save works.
            store.save(state(11, big));
            assert.deepEqual(new StateStore(dir).load(), state(11, big), where);
            if (!crashed) {
              bump(paths, calls.includes('renameSync') ? 'a new slot (temporary file and rename)' : 'an overwrite in place');
              break; // k went past the last call
            }
            bump(at, calls[k]!);
            bump(loaded, isDeepEqual(got, newState) ? 'the new state' : oldState ? 'the old state' : 'nothing (there was no old state)');
          }
        }
        recordRobustness({
          area: 'state',
          input: `A crash (exception) injected at each fs call of a save of a ${big ? '200 KB' : 'small'} state${torn ? ', the crashing write first writing half its data' : ''}; after 0 to 3 earlier saves (saves: ${tally(paths)})`,
          observed: `${Object.values(at).reduce((a, b) => a + b, 0)} crash points (${tally(at)}): \`load()\` then returned ${tally(loaded)}; never a torn state; after each, the leftovers did not stop the next save and load.`,
          test: t.name,
        });
      });
    }
  }

  it('a slot torn or corrupted on disk (a power cut in the middle of an overwrite) gives the previous state', (t) => {
    const cases: [string, (b: Buffer) => Buffer][] = [
      ['cut after the header', (b) => b.subarray(0, b.indexOf(0x0a) + 1)],
      ['cut in the middle of the JSON', (b) => b.subarray(0, b.indexOf(0x0a) + 20)],
      ['empty', () => Buffer.alloc(0)],
      ['one JSON byte changed', (b) => (((b[b.indexOf(0x0a) + 5] as number) ^= 1), b)],
      ['its save number raised', (b) => Buffer.concat([Buffer.from(b.toString('latin1').replace(/^piha-state 1 (\d+)/, 'piha-state 1 9$1'), 'latin1')])],
      ['zeros (a block never written)', (b) => Buffer.alloc(b.length)],
      ['the first block new, the rest old', (b) => b],
    ];
    for (const [what, tear] of cases) {
      const dir = freshDir();
      const store = new StateStore(dir);
      store.save(state(1, true));
      store.save(state(2, true)); // state.b
      store.save(state(3, true)); // state.a, the newest
      const file = join(dir, SLOT_FILES[0]);
      if (what === 'the first block new, the rest old') {
        // The block holding the header is new, the later blocks of the slot still hold save 1.
        const newest = fs.readFileSync(file);
        const fourth = encodeSlot(state(4, true), 4);
        fs.writeFileSync(file, Buffer.concat([fourth.subarray(0, 4096), newest.subarray(4096)]));
      } else fs.writeFileSync(file, tear(fs.readFileSync(file)));
      const again = new StateStore(dir);
      assert.deepEqual(again.load(), state(2, true), what);
      assert.equal(again.loadProblem, null, `${what}: the other slot was good`);
      again.save(state(5, true)); // overwrites the torn slot, not the good one
      assert.deepEqual(new StateStore(dir).load(), state(5, true), what);
      again.save(state(6, true));
      assert.deepEqual(new StateStore(dir).load(), state(6, true), what);
    }
    recordRobustness({
      area: 'state',
      input: `The newest state slot torn or corrupted on disk after three saves: ${cases.map(([w]) => w).join(', ')}`,
      observed: `\`load()\` returned the previous save each time (${cases.length} of ${cases.length}), with no problem reported; the next save overwrote the torn slot and the one after it the other.`,
      test: t.name,
    });
  });

  it('load() ignores leftover temporary files, and reports torn or foreign slots and state.json', (t) => {
    const dir = freshDir();
    const store = new StateStore(dir);
    fs.writeFileSync(join(dir, 'state.a.tmp-1'), encodeSlot(state(9), 9).subarray(0, 50));
    fs.writeFileSync(join(dir, 'state.b.tmp-99999'), encodeSlot(state(9), 9));
    assert.equal(store.load(), undefined);
    assert.equal(store.loadProblem, null, 'a blank directory is not a problem');
    store.save(state(4));
    assert.deepEqual(store.load(), state(4));
    recordRobustness({
      area: 'state',
      input: 'Leftover temporary files in the state directory: a torn `state.a.tmp-1`, a complete `state.b.tmp-99999`, no slot',
      observed: '`load()` returned nothing and reported no problem (the temporary files were ignored); the next save and load worked.',
      test: t.name,
    });
    const bads = ['', '{', 'null', '[]', '42', '{"lamport":"1","attrs":{}}', '{"lamport":1}', '{"lamport":1,"attrs":null}', '\0\0\0', 'piha-state 1 3 2 00\n{}'];
    for (const bad of bads) {
      const d = freshDir();
      fs.mkdirSync(d);
      fs.writeFileSync(join(d, SLOT_FILES[0]), bad);
      fs.writeFileSync(join(d, LEGACY_FILE), bad);
      const s = new StateStore(d);
      assert.equal(s.load(), undefined, JSON.stringify(bad));
      assert.match(s.loadProblem ?? '', /state\.a and state\.json .* not readable as a saved state/, JSON.stringify(bad));
    }
    // A slot holding JSON of the wrong shape, with a right checksum, is refused too.
    for (const json of [null, [], 42, { lamport: '1', attrs: {} }]) assert.equal(decodeSlot(encodeSlot(json as unknown as PersistedState, 1)), null);
    recordRobustness({
      area: 'state',
      input: `A torn or foreign slot and \`state.json\`: ${bads.map((b) => (b === '' ? 'empty' : code(b))).join(', ')}; slots with a right checksum over JSON of the wrong shape`,
      observed: `\`load()\` returned nothing for each of the ${bads.length} (the node starts from a blank state instead of a wrong one) and said which files it could not read (the daemon logs it as \`state_unreadable\`); no exception; the wrong shapes were refused.`,
      test: t.name,
    });
  });

  it('a state.json from an older piha is read, and removed once a slot holds a newer state', (t) => {
    const dir = freshDir();
    fs.mkdirSync(dir);
    fs.writeFileSync(join(dir, LEGACY_FILE), JSON.stringify(state(7)));
    const store = new StateStore(dir);
    assert.deepEqual(store.load(), state(7));
    assert.ok(fs.existsSync(join(dir, LEGACY_FILE)), 'kept until a slot is written');
    store.save(state(8));
    assert.equal(fs.existsSync(join(dir, LEGACY_FILE)), false);
    assert.deepEqual(new StateStore(dir).load(), state(8));
    // A slot wins over a state.json that came back (its unlink not yet on disk at a power cut).
    fs.writeFileSync(join(dir, LEGACY_FILE), JSON.stringify(state(99)));
    assert.deepEqual(new StateStore(dir).load(), state(8));
    recordRobustness({
      area: 'state',
      input: 'A state directory written by an older piha (`state.json` only), then a `state.json` reappearing next to the slots',
      observed: '`load()` returned the old file\'s state; the first save wrote a slot and removed `state.json`; a reappearing `state.json` was ignored in favour of the slot.',
      test: t.name,
    });
  });

  it('a store that saves before it loads continues after the newest slot on disk', () => {
    const dir = freshDir();
    const a = new StateStore(dir);
    for (let n = 1; n <= 5; n++) a.save(state(n));
    new StateStore(dir).save(state(6)); // a new process, no load() first
    assert.deepEqual(new StateStore(dir).load(), state(6));
    const slots = SLOT_FILES.map((f) => decodeSlot(fs.readFileSync(join(dir, f)))!.seq).sort();
    assert.deepEqual(slots, [5, 6]);
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

function isDeepEqual(a: unknown, b: unknown): boolean {
  try {
    assert.deepEqual(a, b);
    return true;
  } catch {
    return false;
  }
}

describe('StateStore.nextIncarnation', () => {
  const pause = (ms: number) => {
    const end = performance.now() + ms;
    while (performance.now() < end) {
      /* a restart takes at least this long */
    }
  };

  it('a state directory that cannot be written stops the start with a message that says so', (t) => {
    const dir = freshDir();
    const store = new StateStore(dir);
    store.nextIncarnation();
    const lock = spawnSync('chattr', ['+i', join(dir, 'incarnation'), dir]);
    if (lock.status !== 0) return t.skip(`chattr +i not available here: ${lock.stderr}`);
    try {
      assert.throws(() => new StateStore(dir).nextIncarnation(), /^Error: cannot write the state directory .* \(EPERM: operation not permitted, open .*\): a read-only or full SD card\? piha needs it to start$/);
    } finally {
      spawnSync('chattr', ['-i', join(dir, 'incarnation'), dir]);
    }
  });

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
