// CPU and memory limits for lab processes, like a busy Raspberry Pi 3 running piha:
// `cpu.max` 25 % of a core and `memory.max` 64 MiB per daemon. What works depends on the
// machine, so this picks, in order:
//   1. systemd-run --scope -p CPUQuota=25% -p MemoryMax=64M, when systemd is PID 1;
//   2. cgroup v2 directly (a child of this process's cgroup; needs cpu and memory delegated);
//   3. cgroup v1 directly: cpu (cfs quota) and memory (limit_in_bytes) hierarchies, groups
//      created under this process's own group in each, so nothing outside it is touched.
// A process enters its group before it execs (wrap()), so everything it starts (the address
// guard, the ip batch process) is inside too. remove() deletes the groups (after the lab has
// killed their processes).

import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

export interface Limits {
  /** Fraction of one core, e.g. 0.25. */
  cpu: number;
  memoryBytes: number;
}

export interface CgroupSet {
  readonly kind: 'systemd-run' | 'v2' | 'v1';
  readonly description: string;
  /** argv prefix that runs a command inside group `name` (created on first use). */
  wrap(name: string): string[];
  /** Counters of group `name`: throttling, memory peak, OOM events (what the kind offers). */
  stats(name: string): Record<string, number>;
  remove(): void;
}

const read = (f: string) => readFileSync(f, 'utf8').trim();

function ownPath(controller: string): string | null {
  // /proc/self/cgroup lines: "4:memory:/a/b" (v1) or "0::/a/b" (v2)
  for (const line of read('/proc/self/cgroup').split('\n')) {
    const [, ctrls, path] = line.split(':');
    if (controller === '' ? ctrls === '' : ctrls!.split(',').includes(controller)) return path!;
  }
  return null;
}

function systemdIsInit(): boolean {
  try {
    return read('/proc/1/comm') === 'systemd';
  } catch {
    return false;
  }
}

export function makeCgroups(tag: string, l: Limits): CgroupSet {
  const quotaUs = Math.round(l.cpu * 100_000);
  if (systemdIsInit()) {
    return {
      kind: 'systemd-run',
      description: `systemd-run --scope -p CPUQuota=${Math.round(l.cpu * 100)}% -p MemoryMax=${l.memoryBytes}`,
      wrap: (name) => ['systemd-run', '--quiet', '--scope', `--unit=${tag}-${name}`, '-p', `CPUQuota=${Math.round(l.cpu * 100)}%`, '-p', `MemoryMax=${l.memoryBytes}`, '--'],
      stats: () => ({}),
      remove: () => undefined,
    };
  }
  const v2root = existsSync('/sys/fs/cgroup/cgroup.controllers') ? '/sys/fs/cgroup' : null;
  if (v2root) {
    const ctrls = read(join(v2root, 'cgroup.controllers')).split(/\s+/);
    const own = ownPath('');
    if (ctrls.includes('cpu') && ctrls.includes('memory') && own !== null) {
      // A child of our own group cannot hold processes next to enabled controllers, so the
      // bench's groups live in a sibling-free subtree: <own>/<tag>/<name>.
      const base = join(v2root, own, tag);
      mkdirSync(base, { recursive: true });
      writeFileSync(join(base, 'cgroup.subtree_control'), '+cpu +memory');
      const made = new Set<string>();
      const dir = (name: string) => {
        const d = join(base, name);
        if (!made.has(name)) {
          mkdirSync(d, { recursive: true });
          writeFileSync(join(d, 'cpu.max'), `${quotaUs} 100000`);
          writeFileSync(join(d, 'memory.max'), String(l.memoryBytes));
          writeFileSync(join(d, 'memory.swap.max'), '0');
          made.add(name);
        }
        return d;
      };
      return {
        kind: 'v2',
        description: `cgroup v2 ${base}/<node>: cpu.max "${quotaUs} 100000", memory.max ${l.memoryBytes}`,
        wrap: (name) => ['sh', '-c', `echo $$ > ${join(dir(name), 'cgroup.procs')} && exec "$@"`, 'cgexec'],
        stats: (name) => {
          const d = join(base, name);
          const kv = (f: string) => Object.fromEntries(read(join(d, f)).split('\n').map((x) => x.split(' ')).map(([k, v]) => [k, Number(v)]));
          const cpu = kv('cpu.stat');
          const ev = kv('memory.events');
          return { nrThrottled: cpu.nr_throttled ?? NaN, throttledMs: (cpu.throttled_usec ?? NaN) / 1000, usageMs: (cpu.usage_usec ?? NaN) / 1000, memPeakBytes: Number(existsSync(join(d, 'memory.peak')) ? read(join(d, 'memory.peak')) : NaN), memMaxEvents: ev.max ?? NaN, oomKills: ev.oom_kill ?? NaN };
        },
        remove: () => {
          for (const n of made) rmdirSafe(join(base, n));
          rmdirSafe(base);
        },
      };
    }
  }
  // cgroup v1
  const cpuRoot = ['/sys/fs/cgroup/cpu', '/sys/fs/cgroup/cpu,cpuacct'].find((d) => existsSync(join(d, 'cpu.cfs_quota_us')));
  const memRoot = existsSync('/sys/fs/cgroup/memory/memory.limit_in_bytes') ? '/sys/fs/cgroup/memory' : undefined;
  if (!cpuRoot || !memRoot) throw new Error('no usable cgroup: neither systemd as PID 1, nor cgroup v2 with cpu+memory, nor cgroup v1 cpu and memory hierarchies');
  const cpuBase = join(cpuRoot, ownPath('cpu') ?? '/', tag);
  const memBase = join(memRoot, ownPath('memory') ?? '/', tag);
  mkdirSync(cpuBase, { recursive: true });
  mkdirSync(memBase, { recursive: true });
  const made = new Set<string>();
  const dirs = (name: string) => {
    const c = join(cpuBase, name);
    const m = join(memBase, name);
    if (!made.has(name)) {
      mkdirSync(c, { recursive: true });
      mkdirSync(m, { recursive: true });
      writeFileSync(join(c, 'cpu.cfs_period_us'), '100000');
      writeFileSync(join(c, 'cpu.cfs_quota_us'), String(quotaUs));
      writeFileSync(join(m, 'memory.limit_in_bytes'), String(l.memoryBytes));
      made.add(name);
    }
    return { c, m };
  };
  return {
    kind: 'v1',
    description: `cgroup v1 (this machine has no cgroup v2 controllers and no systemd): ${cpuBase}/<node> cpu.cfs_quota_us ${quotaUs} per 100000 µs, ${memBase}/<node> memory.limit_in_bytes ${l.memoryBytes}`,
    wrap: (name) => {
      const { c, m } = dirs(name);
      // The lab starts processes with `ip netns exec`, which mounts a fresh /sys for the
      // namespace: the v1 hierarchies are not visible there. The pid is written from this
      // process's mount namespace (nsenter), then the command runs where it was started.
      const write = `echo "$1" > ${join(c, 'cgroup.procs')} && echo "$1" > ${join(m, 'cgroup.procs')}`;
      return ['sh', '-c', `nsenter --mount=/proc/${process.pid}/ns/mnt -- sh -c '${write}' cgwrite $$ && exec "$@"`, 'cgexec'];
    },
    stats: (name) => {
      const c = join(cpuBase, name);
      const m = join(memBase, name);
      const kv = Object.fromEntries(read(join(c, 'cpu.stat')).split('\n').map((x) => x.split(' ')).map(([k, v]) => [k, Number(v)]));
      const oom = Object.fromEntries(read(join(m, 'memory.oom_control')).split('\n').map((x) => x.split(' ')).map(([k, v]) => [k, Number(v)]));
      return {
        nrThrottled: kv.nr_throttled ?? NaN,
        throttledMs: (kv.throttled_time ?? NaN) / 1e6,
        memPeakBytes: Number(read(join(m, 'memory.max_usage_in_bytes'))),
        memFailcnt: Number(read(join(m, 'memory.failcnt'))),
        oomKills: oom.oom_kill ?? NaN,
      };
    },
    remove: () => {
      for (const n of made) {
        rmdirSafe(join(cpuBase, n));
        rmdirSafe(join(memBase, n));
      }
      rmdirSafe(cpuBase);
      rmdirSafe(memBase);
    },
  };
}

function rmdirSafe(d: string): void {
  for (let i = 0; i < 20; i++) {
    try {
      if (!existsSync(d)) return;
      // a group can only go once it has no processes (the lab killed them; give the kernel a moment)
      if (readdirSync(d).includes('cgroup.procs') && read(join(d, 'cgroup.procs')) !== '') {
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
        continue;
      }
      rmdirSync(d);
      return;
    } catch {
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
    }
  }
}
