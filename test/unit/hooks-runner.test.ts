// The notify hook runner (src/daemon/hooks.ts) with real temp scripts: environment, one run
// at a time per hook with coalescing, time limit killing the whole process group, failures
// logged, recorded and counted (piha_hook_failures_total).

import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { formatMetrics } from '../../src/api/metrics.ts';
import type { MetricsSnapshot } from '../../src/api/status-types.ts';
import type { HooksConfig } from '../../src/config/types.ts';
import { EventLog } from '../../src/daemon/events.ts';
import { attachHooks, HookRunner, type HookFailure } from '../../src/daemon/hooks.ts';

const dir = mkdtempSync(join(tmpdir(), 'piha-hooks-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function script(name: string, body: string): string {
  const p = join(dir, name);
  writeFileSync(p, `#!/bin/bash\n${body}\n`);
  chmodSync(p, 0o755);
  return p;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const lines = (p: string): string[] => (existsSync(p) ? readFileSync(p, 'utf8').trim().split('\n').filter(Boolean) : []);

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function memLog() {
  const out: { level: string; obj: Record<string, unknown>; msg: string }[] = [];
  const at = (level: string) => (obj: object, msg: string) => void out.push({ level, obj: obj as Record<string, unknown>, msg });
  return { out, log: { info: at('info'), warn: at('warn'), error: at('error') } };
}

test('on_acquire gets the event in PIHA_* variables, argv as configured', async () => {
  const outFile = join(dir, 'env.out');
  const hook = script('env.sh', `echo "$1|$PIHA_HOOK|$PIHA_EVENT|$PIHA_RESOURCE|$PIHA_VIP|$PIHA_NODE|$PIHA_SELF|$PIHA_TERM|$PIHA_REASON|$PIHA_SEQ" >> ${outFile}`);
  const events = new EventLog({ context: () => ({ term: 3 }) });
  const runner = attachHooks(events, { timeoutMs: 5000, commands: { on_acquire: [hook, 'arg1'], on_quorum_lost: [hook, 'q'] } }, 'worker1');
  events.record({ level: 'info', event: 'vip_acquired', fields: { node: 'worker1', resource: 'api', ip: '192.0.2.150', why: 'assigned by the coordinator', term: 7 } });
  events.record({ level: 'warn', event: 'quorum_lost', fields: { node: 'worker1', votes: 1, quorum: 2 } });
  events.record({ level: 'warn', event: 'vip_released', fields: { node: 'worker1', resource: 'api', ip: '192.0.2.150', reason: 'x' } }); // no on_release hook
  await runner.idle();
  const got = lines(outFile).sort();
  assert.deepEqual(got, [
    'arg1|on_acquire|vip_acquired|api|192.0.2.150|worker1|worker1|7|assigned by the coordinator|1',
    'q|on_quorum_lost|quorum_lost|||worker1|worker1|3|quorum lost: 1 votes, 2 needed|2',
  ]);
  assert.deepEqual(runner.failures, { on_acquire: 0, on_quorum_lost: 0 });
  assert.deepEqual(runner.runs, { on_acquire: 1, on_quorum_lost: 1 });
  await runner.close();
});

test('on_fence: fenced and failed fences, PIHA_NODE is the target', async () => {
  const outFile = join(dir, 'fence.out');
  const hook = script('fence.sh', `echo "$PIHA_EVENT $PIHA_NODE $PIHA_REASON" >> ${outFile}`);
  const events = new EventLog();
  const runner = attachHooks(events, { timeoutMs: 5000, commands: { on_fence: [hook] } }, 'worker0');
  events.record({ level: 'error', event: 'fence_failed', fields: { node: 'worker2', by: 'worker0', detail: 'plug did not answer' } });
  await runner.idle();
  events.record({ level: 'warn', event: 'node_fenced', fields: { node: 'worker2', incarnation: 4 } });
  await runner.idle();
  assert.deepEqual(lines(outFile), ['fence_failed worker2 plug did not answer', 'node_fenced worker2']);
  await runner.close();
});

test('one run at a time per hook; a burst for one resource is coalesced to the newest', async () => {
  const outFile = join(dir, 'burst.out');
  const hook = script('slow.sh', `echo "start $PIHA_RESOURCE $PIHA_SEQ" >> ${outFile}; sleep 0.2; echo "end $PIHA_RESOURCE $PIHA_SEQ" >> ${outFile}`);
  const events = new EventLog();
  const runner = attachHooks(events, { timeoutMs: 5000, commands: { on_acquire: [hook] } }, 'n1');
  const acquire = (resource: string) => events.record({ level: 'info', event: 'vip_acquired', fields: { node: 'n1', resource, ip: '192.0.2.1' } });
  acquire('a'); // 1: runs at once
  acquire('a'); // 2: waits ...
  acquire('b'); // 3: waits
  acquire('a'); // 4: replaces 2, queued behind b
  const t0 = Date.now();
  await runner.idle();
  assert.deepEqual(lines(outFile), ['start a 1', 'end a 1', 'start b 3', 'end b 3', 'start a 4', 'end a 4']);
  assert.ok(Date.now() - t0 >= 550, 'runs did not overlap');
  assert.equal(runner.runs.on_acquire, 3);
  await runner.close();
});

test('time limit: the whole process group is killed, the failure is logged, recorded and counted', async () => {
  const pidFile = join(dir, 'grandchild.pid');
  // The script starts a grandchild that ignores nothing and outlives it unless the group dies.
  const hook = script('hang.sh', `sleep 30 & echo $! > ${pidFile}; echo "working on it"; wait`);
  const events = new EventLog();
  const m = memLog();
  const runner = attachHooks(events, { timeoutMs: 300, commands: { on_release: [hook] } }, 'n1', m.log);
  const t0 = Date.now();
  events.record({ level: 'warn', event: 'vip_released', fields: { node: 'n1', resource: 'api', ip: '192.0.2.1', reason: 'standby' } });
  await runner.idle();
  const took = Date.now() - t0;
  assert.ok(took >= 300 && took < 3000, `ended after ${took} ms`);
  const gc = Number(readFileSync(pidFile, 'utf8'));
  // A killed grandchild may linger as a zombie until its new parent reaps it: dead all the same.
  for (let i = 0; i < 40 && runningPid(gc); i++) await sleep(25);
  assert.equal(runningPid(gc), false, 'the grandchild was killed with the group');
  assert.equal(runner.failures.on_release, 1);
  const logged = m.out.find((l) => l.obj.event === 'hook_failed');
  assert.ok(logged, 'hook_failed logged');
  assert.match(String(logged.obj.reason), /timed out after 300ms .*killed its process group.*working on it/);
  const rec = events.page(0).events.find((e) => e.type === 'hook_failed');
  assert.ok(rec, 'hook_failed recorded in the history');
  assert.equal(rec.category, 'hook');
  assert.equal(rec.fields.hook, 'on_release');
  assert.equal(rec.resource, 'api');
  assert.match(rec.message, /^hook on_release failed: timed out/);
  await runner.close();
});

test('SIGTERM is enough for a polite hook; a stubborn one gets SIGKILL after the grace', async () => {
  const hook = script('stubborn.sh', `trap '' TERM; sleep 5 & wait; sleep 5`);
  const runner = new HookRunner({ config: { timeoutMs: 200, commands: { on_acquire: [hook] } }, self: 'n1', killGraceMs: 200 });
  const t0 = Date.now();
  runner.fire('on_acquire', 'vip_acquired', {});
  await runner.idle();
  const took = Date.now() - t0;
  assert.ok(took >= 400 && took < 3000, `ended after ${took} ms`);
  assert.equal(runner.failures.on_acquire, 1);
  await runner.close();
});

test('exit codes, missing and non-executable programs are failures; the next run still happens', async () => {
  const failures: HookFailure[] = [];
  const bad = script('bad.sh', 'echo "no route to chat server" >&2; exit 3');
  const notExec = join(dir, 'plain.sh');
  writeFileSync(notExec, '#!/bin/bash\nexit 0\n');
  const cfg: HooksConfig = {
    timeoutMs: 2000,
    commands: { on_acquire: [bad], on_release: [join(dir, 'missing')], on_quorum_lost: [notExec], on_quorum_regained: ['/bin/true'] },
  };
  const runner = new HookRunner({ config: cfg, self: 'n1', onFailure: (f) => failures.push(f) });
  runner.fire('on_acquire', 'vip_acquired', { PIHA_RESOURCE: 'api' });
  runner.fire('on_release', 'vip_released', {});
  runner.fire('on_quorum_lost', 'quorum_lost', {});
  runner.fire('on_quorum_regained', 'quorum_gained', {});
  await runner.idle();
  assert.deepEqual(runner.failures, { on_acquire: 1, on_release: 1, on_quorum_lost: 1, on_quorum_regained: 0 });
  const by = Object.fromEntries(failures.map((f) => [f.hook, f]));
  assert.match(by.on_acquire.reason, /^exited with 3; output: "no route to chat server"/);
  assert.equal(by.on_acquire.resource, 'api');
  assert.match(by.on_release.reason, /no such program/);
  assert.match(by.on_quorum_lost.reason, /not executable/);
  runner.fire('on_acquire', 'vip_acquired', {});
  await runner.idle();
  assert.equal(runner.failures.on_acquire, 2);
  await runner.close();
});

test('output still in the pipes at the exit is kept; a grandchild holding the pipes does not hold the run', async () => {
  const failures: HookFailure[] = [];
  // The last words come from a child 50 ms after the hook itself exited: only a runner that
  // waits for the pipes to close (not just for 'exit') reports them.
  const late = script('late.sh', '( sleep 0.05; echo "disk full, said late" >&2 ) & exit 4');
  const pidFile = join(dir, 'holder.pid');
  const holder = script('holder.sh', `sleep 30 & echo $! > ${pidFile}; echo "left a sleeper"; exit 5`);
  const runner = new HookRunner({ config: { timeoutMs: 10_000, commands: { on_acquire: [late], on_release: [holder] } }, self: 'n1', onFailure: (f) => failures.push(f) });
  try {
    runner.fire('on_acquire', 'vip_acquired', {});
    const t0 = performance.now();
    runner.fire('on_release', 'vip_released', {});
    await runner.idle();
    const ms = performance.now() - t0;
    const by = Object.fromEntries(failures.map((f) => [f.hook, f]));
    assert.match(by.on_acquire!.reason, /^exited with 4; output: "disk full, said late"/);
    assert.match(by.on_release!.reason, /^exited with 5; output: "left a sleeper"/);
    assert.ok(ms < 2000, `a sleeper holding the pipes for 30 s held the run ${ms.toFixed(0)} ms`);
  } finally {
    await runner.close();
    const pid = Number(lines(pidFile)[0]);
    if (pid > 0 && pidAlive(pid)) process.kill(pid, 'SIGKILL');
  }
});

test('firing never blocks: a hook still running does not delay the caller', async () => {
  const hook = script('sleepy.sh', 'sleep 1');
  const runner = new HookRunner({ config: { timeoutMs: 5000, commands: { on_acquire: [hook] } }, self: 'n1' });
  const t0 = performance.now();
  for (let i = 0; i < 100; i++) runner.fire('on_acquire', 'vip_acquired', { PIHA_RESOURCE: `r${i % 40}` });
  // 100 fires against a 1 s hook: waiting for it even once would take over a second
  assert.ok(performance.now() - t0 < 500, 'fire() returns at once');
  // 1 running, at most MAX_PENDING_PER_HOOK waiting; the overflow is reported, not queued.
  assert.ok(runner.failures.on_acquire > 0, 'overflow counted');
  await runner.close(100); // stop: kills what runs, drops the rest
  assert.equal(await Promise.race([runner.idle().then(() => 'idle'), sleep(500).then(() => 'busy')]), 'idle');
});

test('close() lets queued hooks finish within the grace (the on_release of a clean stop)', async () => {
  const outFile = join(dir, 'close.out');
  const hook = script('quick.sh', `sleep 0.1; echo "$PIHA_RESOURCE" >> ${outFile}`);
  const runner = new HookRunner({ config: { timeoutMs: 5000, commands: { on_release: [hook] } }, self: 'n1' });
  runner.fire('on_release', 'vip_released', { PIHA_RESOURCE: 'a' });
  runner.fire('on_release', 'vip_released', { PIHA_RESOURCE: 'b' });
  await runner.close(2000);
  assert.deepEqual(lines(outFile), ['a', 'b']);
  runner.fire('on_release', 'vip_released', { PIHA_RESOURCE: 'c' }); // after close: ignored
  await sleep(200);
  assert.deepEqual(lines(outFile), ['a', 'b']);
});

test('no hooks configured: nothing subscribes, nothing runs', async () => {
  const events = new EventLog();
  const runner = attachHooks(events, undefined, 'n1');
  assert.deepEqual(runner.configured, []);
  events.record({ level: 'info', event: 'vip_acquired', fields: { node: 'n1', resource: 'a' } });
  await runner.idle();
  assert.deepEqual(runner.failures, {});
});

test('piha_hook_failures_total{hook} is a counter with one sample per configured hook', () => {
  const m: MetricsSnapshot = {
    quorate: true, nodesOnline: 3, votes: 3, expectedVotes: 3, vips: [], resourceFailCounts: {}, failoversTotal: 0, vipLapsesTotal: 0,
    packetsReceivedTotal: 0, packetsSentTotal: 0, packetsRejectedTotal: {}, heartbeatRttSeconds: {}, coordinator: false,
    term: 1, loopLagSeconds: 0, residentMemoryBytes: 1, hookFailuresTotal: { on_release: 0, on_acquire: 2 }, configMismatchNodes: 1,
  };
  const text = formatMetrics(m);
  assert.match(text, /# TYPE piha_hook_failures_total counter\npiha_hook_failures_total\{hook="on_acquire"\} 2\npiha_hook_failures_total\{hook="on_release"\} 0\n/);
  assert.match(text, /# TYPE piha_config_mismatch_nodes gauge\npiha_config_mismatch_nodes 1\n/);
});

/** Alive and not a zombie (state Z in /proc/PID/stat). */
function runningPid(pid: number): boolean {
  if (!pidAlive(pid)) return false;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}
