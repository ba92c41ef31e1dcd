// The exec fence device with small bash scripts: arguments and environment, the status exit
// codes, failures with the output tail, and a timeout that kills the whole process group.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ExecDeviceConfig } from '../../src/config/types.ts';
import { ExecDevice, OUTPUT_TAIL_BYTES } from '../../src/fence/exec.ts';
import { FenceError } from '../../src/fence/types.ts';

const never = new AbortController().signal;

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'piha-fence-exec-'));
  try {
    await fn(dir);
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

async function script(dir: string, name: string, body: string): Promise<string> {
  const file = path.join(dir, name);
  await fs.writeFile(file, `#!/bin/bash\n${body}\n`, { mode: 0o755 });
  return file;
}

function device(command: string[], over: Partial<ExecDeviceConfig> = {}): ExecDevice {
  return new ExecDevice({ type: 'exec', name: 'script', hosts: ['pi1', 'pi2'], runOn: ['pi3'], timeoutMs: 5000, command, ...over });
}

function fenceError(...res: RegExp[]) {
  return (e: unknown) => {
    assert.ok(e instanceof FenceError, `expected a FenceError, got ${String(e)}`);
    assert.equal(e.device, 'script');
    for (const re of res) assert.match(e.message, re);
    return true;
  };
}

/** Running (a zombie counts as gone: in a container PID 1 may never reap an orphan). */
const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
};

test('runs command... ACTION NODE with PIHA_FENCE_ACTION and PIHA_FENCE_NODE; exit 0 is success', async () => {
  await withDir(async (dir) => {
    const log = path.join(dir, 'log');
    const cmd = await script(dir, 'fence', `echo "$* | $PIHA_FENCE_ACTION $PIHA_FENCE_NODE" >> ${log}`);
    const dev = device([cmd, '--verbose', 'two words']);
    await dev.off('pi1', never);
    await dev.on('pi2', never);
    assert.equal(await dev.status('pi1', never), 'on');
    assert.equal(await fs.readFile(log, 'utf8'), ['--verbose two words off pi1 | off pi1', '--verbose two words on pi2 | on pi2', '--verbose two words status pi1 | status pi1', ''].join('\n'));
  });
});

test('status: exit 0 is on, exit 2 is off, anything else is an error', async () => {
  await withDir(async (dir) => {
    const state = path.join(dir, 'state');
    const cmd = await script(dir, 'fence', `exit "$(cat ${state})"`);
    const dev = device([cmd]);
    await fs.writeFile(state, '0');
    assert.equal(await dev.status('pi1', never), 'on');
    await fs.writeFile(state, '2');
    assert.equal(await dev.status('pi1', never), 'off');
    await fs.writeFile(state, '1');
    await assert.rejects(dev.status('pi1', never), fenceError(/status pi1` exited with 1 \(status must exit 0 for on or 2 for off\)/));
    // For off and on, 2 is a failure like any non-zero code.
    await fs.writeFile(state, '2');
    await assert.rejects(dev.off('pi1', never), fenceError(/off pi1` exited with 2/));
  });
});

test('a failure quotes the end of stderr and stdout, at most 500 bytes each', async () => {
  await withDir(async (dir) => {
    const cmd = await script(
      dir,
      'fence',
      `echo "logging in"; printf 'x%.0s' {1..2000} >&2; echo " plug unreachable: no route to host" >&2; exit 3`,
    );
    await assert.rejects(device([cmd]).off('pi2', never), (e: unknown) => {
      fenceError(/exited with 3/, /stderr: ".*plug unreachable: no route to host"/, /stdout: "logging in"/)(e);
      const stderr = /stderr: "(.*?)"(;|$)/.exec((e as Error).message)![1];
      assert.ok(Buffer.byteLength(stderr) <= OUTPUT_TAIL_BYTES + 3, `stderr quote is ${Buffer.byteLength(stderr)} bytes`);
      assert.ok(stderr.startsWith('…'));
      return true;
    });
  });
});

test('a signal death and a missing program are errors a user can act on', async () => {
  await withDir(async (dir) => {
    const cmd = await script(dir, 'fence', 'kill -TERM $$');
    await assert.rejects(device([cmd]).off('pi1', never), fenceError(/was killed by SIGTERM/));
    await assert.rejects(device([path.join(dir, 'missing')]).off('pi1', never), fenceError(/cannot run .*missing: no such program/));
    const notExec = path.join(dir, 'plain');
    await fs.writeFile(notExec, 'echo hi\n', { mode: 0o644 });
    await assert.rejects(device([notExec]).off('pi1', never), fenceError(/not executable; chmod \+x/));
    await assert.rejects(device([notExec]).off('pi3', never), fenceError(/cannot fence pi3: this device only fences pi1, pi2/));
  });
});

test('the timeout kills the process group, children included', async () => {
  await withDir(async (dir) => {
    const pids = path.join(dir, 'pids');
    // The script starts a background child and waits on it: both must die at the timeout.
    const cmd = await script(dir, 'fence', `echo "still trying"; sleep 30 & echo "$$ $!" > ${pids}; wait`);
    const t0 = Date.now();
    await assert.rejects(
      device([cmd], { timeoutMs: 300 }).off('pi1', never),
      fenceError(/did not finish within 300ms \(timed out; killed it and its process group/, /stdout: "still trying"/),
    );
    assert.ok(Date.now() - t0 < 2000);
    const [leader, child] = (await fs.readFile(pids, 'utf8')).trim().split(' ').map(Number);
    for (let i = 0; i < 50 && (alive(leader) || alive(child)); i++) await sleep(20);
    assert.equal(alive(leader), false, 'the script is gone');
    assert.equal(alive(child), false, 'its child is gone');
  });
});

test('an abort from the caller kills the command too', async () => {
  await withDir(async (dir) => {
    const pidFile = path.join(dir, 'pid');
    const cmd = await script(dir, 'fence', `echo $$ > ${pidFile}; sleep 30`);
    const ac = new AbortController();
    const p = device([cmd]).off('pi1', ac.signal);
    for (let i = 0; i < 100; i++) {
      if ((await fs.readFile(pidFile, 'utf8').catch(() => '')).trim()) break;
      await sleep(10);
    }
    ac.abort();
    await assert.rejects(p, fenceError(/aborted \(killed it and its process group\)/));
    const pid = Number((await fs.readFile(pidFile, 'utf8')).trim());
    for (let i = 0; i < 50 && alive(pid); i++) await sleep(20);
    assert.equal(alive(pid), false);
    const done = new AbortController();
    done.abort();
    await assert.rejects(device([cmd]).status('pi1', done.signal), fenceError(/before it started/));
  });
});
