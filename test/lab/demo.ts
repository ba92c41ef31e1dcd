// Interactive demo: a 3-node piha cluster on a namespace LAN (test/lab/lab.ts + cluster.ts),
// left running for a human to poke at. Usually started by `scripts/demo.sh up` (make demo).
//
//   node --import tsx test/lab/demo.ts
//
// It starts the daemons (its own children), waits until one node holds the VIP, prints
// instructions with the real namespace names, PIDs and sockets of this run, then logs one
// line per VIP holder change and per daemon exit until SIGTERM/SIGINT, when it stops the
// daemons, removes the namespaces and exits 0. SIGUSR1 restarts daemons that have exited.
//
// State for `scripts/demo.sh down` and for users: /run/piha-demo/state.json (or
// /tmp/piha-demo/state.json when /run is not writable), removed on exit.

import { mkdirSync, renameSync, rmSync, writeFileSync, accessSync, constants } from 'node:fs';
import { join, relative } from 'node:path';
import { spawnSync } from 'node:child_process';
import { labUnavailableReason, now, type AddressWatcher, type LabProcess } from './lab.ts';
import { LabCluster, PIHA, REPO, VIP } from './cluster.ts';

const PORT = 9405;
export const READY_MARKER = '=== piha demo ready ===';
export const END_MARKER = '=== end of instructions ===';

// ---- small helpers ----------------------------------------------------------------------

const stamp = (t?: number): string => {
  // t is a now() (monotonic) timestamp; map it onto the wall clock
  const wall = t === undefined ? Date.now() : Date.now() - (now() - t);
  const d = new Date(wall);
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
};

const log = (msg: string, t?: number): void => {
  process.stdout.write(`[${stamp(t)}] ${msg}\n`);
};

function pickStateFile(): string {
  for (const dir of ['/run/piha-demo', '/tmp/piha-demo']) {
    try {
      mkdirSync(dir, { recursive: true, mode: 0o755 });
      accessSync(dir, constants.W_OK);
      return join(dir, 'state.json');
    } catch {
      /* try the next one */
    }
  }
  throw new Error('neither /run/piha-demo nor /tmp/piha-demo is writable');
}

const hasJq = spawnSync('sh', ['-c', 'command -v jq'], { stdio: 'ignore' }).status === 0;

// ---- main ---------------------------------------------------------------------------------

let cluster: LabCluster | null = null;
let watcher: AddressWatcher | null = null;
let stateFile: string | null = null;
let stopping: Promise<void> | null = null;

function removeStateFile(): void {
  if (stateFile) rmSync(stateFile, { force: true });
}

function writeState(): void {
  if (!cluster || !stateFile) return;
  const c = cluster;
  const state = {
    pid: process.pid,
    prefix: c.lab.prefix,
    vip: VIP,
    namespaces: Object.fromEntries([['bridge', c.lab.brNs], ...c.lab.members.map((m) => [m.name, m.ns])]),
    addresses: Object.fromEntries(c.lab.members.map((m) => [m.name, m.addr])),
    sockets: Object.fromEntries(c.lab.nodes.map((n) => [n.name, c.socket(n.name)])),
    daemonPids: Object.fromEntries(c.lab.nodes.map((n) => [n.name, c.daemons.get(n.name)?.running ? c.daemons.get(n.name)!.pid : null])),
    daemonLogs: Object.fromEntries(c.lab.nodes.map((n) => [n.name, join(c.dir, `${n.name}.log`)])),
    configFile: c.configFile(),
    dir: c.dir,
    startedAt: new Date().toISOString(),
  };
  const tmp = `${stateFile}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(state, null, 2) + '\n');
  renameSync(tmp, stateFile);
}

/** Stop the daemons, remove the namespaces and the state file, exit. Idempotent. */
function shutdown(reason: string, code = 0): Promise<void> {
  stopping ??= (async () => {
    log(`${reason}: stopping the demo (daemons, namespaces)`);
    // hard deadline: if the graceful path hangs, fall back to the synchronous one
    const hard = setTimeout(() => {
      log('graceful stop took too long: killing everything');
      cluster?.lab.destroySync();
      removeStateFile();
      process.exit(code || 1);
    }, 15_000);
    hard.unref();
    try {
      await watcher?.stop();
    } catch {
      /* ignore */
    }
    try {
      await cluster?.destroy();
    } catch (e) {
      log(`destroy failed: ${String(e)}; forcing`);
      cluster?.lab.destroySync();
    }
    removeStateFile();
    log(`demo stopped: namespaces of ${cluster?.lab.prefix ?? '(none)'} removed`);
    process.exit(code);
  })();
  return stopping;
}

function trackDaemon(node: string, p: LabProcess): void {
  void p.exited.then((x) => {
    if (stopping) return;
    log(`${node}: daemon pid ${p.pid} exited (${x.signal ? `signal ${x.signal}` : `code ${x.code}`})`);
    writeState();
  });
}

function watchHolders(w: AddressWatcher): void {
  let seen = 0;
  let last = '';
  let emptySince: number | null = null;
  const flush = (): boolean => {
    // replay the events one by one so a quick del+add pair still gives two lines
    const held = new Map<string, boolean>(w.members.map((m) => [m.name, false]));
    for (let i = 0; i < seen; i++) held.set(w.events[i]!.node, w.events[i]!.kind === 'add');
    for (; seen < w.events.length; seen++) {
      const e = w.events[seen]!;
      // several interfaces per node are not expected; per-node add/del is enough here
      held.set(e.node, e.kind === 'add');
      const holders = [...held].filter(([, h]) => h).map(([n]) => n);
      const cur = holders.join(',');
      if (cur === last) continue;
      let extra = '';
      if (holders.length === 0) emptySince = e.t;
      else if (emptySince !== null) {
        extra = ` (no holder for ${(e.t - emptySince).toFixed(0)} ms)`;
        emptySince = null;
      }
      if (holders.length > 1) extra += '  <-- more than one node holds the VIP';
      log(`VIP ${VIP} holder: ${last || '(none)'} -> ${cur || '(none)'}${extra}`, e.t);
      last = cur;
    }
    return false; // never "done": we just want to be called on every change
  };
  const arm = (): void => {
    w.waitFor(flush, 2 ** 31 - 1, 'demo holder log').catch(() => {
      if (!stopping) arm();
    });
  };
  arm();
}

function instructions(c: LabCluster): string {
  const lab = c.lab;
  const rel = process.cwd() === REPO ? relative(REPO, PIHA) : PIHA;
  const cnsx = `ip netns exec ${lab.client.ns}`;
  const pretty = hasJq ? ' | jq .' : '; echo';
  const holder = watcher?.holders()[0] ?? '?';
  const L: string[] = [];
  const pids = lab.nodes.map((n) => `${n.name}=${c.daemons.get(n.name)?.pid}`).join('  ');
  L.push(READY_MARKER);
  L.push(`piha demo: 3 nodes, VIP ${VIP} (currently on ${holder}), lab prefix ${lab.prefix}`);
  L.push(`repo: ${REPO}   (dist/piha paths below are relative to it)`);
  L.push('');
  L.push('Namespaces:');
  for (const m of lab.members) L.push(`  ${m.name.padEnd(7)} ${m.ns.padEnd(24)} ${m.addr}`);
  L.push(`  bridge  ${lab.brNs}`);
  L.push('');
  L.push(`Daemon PIDs: ${pids}   (demo pid ${process.pid})`);
  L.push(`Config: ${c.configFile()}   daemon logs: ${join(c.dir, 'nodeN.log')}`);
  L.push('');
  L.push('Through the VIP, from the client namespace (healthz says which node answered):');
  L.push(`  ${cnsx} curl -s http://${VIP}:${PORT}/healthz; echo`);
  L.push(`  ${cnsx} curl -s http://${VIP}:${PORT}/status${pretty}`);
  L.push(`  ${cnsx} curl -s http://${VIP}:${PORT}/metrics | grep -v '^#' | head -20`);
  L.push(`  watch -n0.5 "${cnsx} curl -s --max-time 0.3 http://${VIP}:${PORT}/healthz"`);
  L.push('');
  L.push('Each node directly:');
  for (const n of lab.nodes) L.push(`  ${cnsx} curl -s http://${n.addr}:${PORT}/status${pretty}     # ${n.name}`);
  L.push(`  (also /metrics and /healthz on each)`);
  L.push('');
  L.push('Cluster status via the CLI (per node):');
  for (const n of lab.nodes) L.push(`  ip netns exec ${n.ns} node ${rel} status --socket ${c.socket(n.name)}`);
  L.push('');
  L.push('Faults (then watch this log for the "VIP ... holder:" lines):');
  for (const n of lab.nodes) {
    const pid = c.daemons.get(n.name)?.pid;
    L.push(`  ${n.name}: crash  kill -9 ${pid}    freeze  kill -STOP ${pid}  /  thaw  kill -CONT ${pid}`);
  }
  for (const n of lab.nodes) L.push(`  ${n.name}: cut link  ip -n ${lab.brNs} link set ${n.brPort} down   /  restore  ip -n ${lab.brNs} link set ${n.brPort} up`);
  L.push('  standby (move the VIP away from a node), then back:');
  for (const n of lab.nodes) {
    L.push(`    ip netns exec ${n.ns} node ${rel} node standby ${n.name} --socket ${c.socket(n.name)}`);
  }
  L.push(`    ip netns exec ${lab.nodes[0]!.ns} node ${rel} node unstandby NODE --socket ${c.socket(lab.nodes[0]!.name)}`);
  L.push(`  restart crashed daemons:  kill -USR1 ${process.pid}   (new PIDs are logged and in the state file)`);
  L.push('');
  L.push(`State file: ${stateFile}`);
  L.push('Stop everything:  make demo-down   (or: scripts/demo.sh down)');
  L.push(END_MARKER);
  return L.join('\n');
}

async function main(): Promise<void> {
  const reason = await labUnavailableReason();
  if (reason) {
    console.error(`piha demo cannot run here: ${reason}`);
    process.exit(1);
  }
  stateFile = pickStateFile();

  cluster = await LabCluster.create({ nodes: 3 });
  // lab.ts installs SIGINT/SIGTERM/SIGHUP hooks that SIGKILL everything synchronously and
  // re-raise the signal (exit status != 0). The demo wants a graceful stop (daemons get
  // SIGTERM and release the VIP) and exit 0, so it replaces them; its 'exit' hook stays
  // as the last safety net.
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.removeAllListeners(sig);
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGHUP', () => log('SIGHUP ignored (stop with SIGTERM / make demo-down)'));
  process.on('SIGUSR1', () => {
    if (stopping || !cluster) return;
    for (const n of cluster.lab.nodes) {
      if (cluster.daemons.get(n.name)?.running) continue;
      const p = cluster.start(n.name);
      trackDaemon(n.name, p);
      log(`${n.name}: daemon restarted, pid ${p.pid} (crash: kill -9 ${p.pid}, freeze: kill -STOP ${p.pid})`);
    }
    writeState();
  });
  process.on('exit', removeStateFile);
  process.on('uncaughtException', (e) => {
    log(`uncaught: ${e?.stack ?? String(e)}`);
    void shutdown('error', 1);
  });
  process.on('unhandledRejection', (e) => {
    log(`unhandled rejection: ${String(e)}`);
    void shutdown('error', 1);
  });

  const c = cluster;
  log(`lab ${c.lab.prefix} created in ${c.lab.createMs.toFixed(0)} ms; starting 3 daemons`);
  watcher = c.lab.watchAddress(VIP);
  await watcher.ready;
  await c.startAll();
  for (const n of c.lab.nodes) trackDaemon(n.name, c.daemons.get(n.name)!);
  writeState();
  watchHolders(watcher);
  try {
    await c.waitForHolder(watcher, 20_000);
  } catch (e) {
    log(`no VIP holder: ${String(e)}`);
    await shutdown('start-up failed', 1);
    return;
  }
  process.stdout.write(instructions(c) + '\n');
  log('running; VIP holder changes and daemon exits are logged below');
}

main().catch((e) => {
  log(`demo failed: ${e?.stack ?? String(e)}`);
  if (cluster) void shutdown('error', 1);
  else {
    removeStateFile();
    process.exit(1);
  }
});
