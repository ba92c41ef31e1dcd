// Shared helpers of the benches: statistics, machine facts, per-process CPU/memory/IO from
// /proc, and starting piha daemons in a LabCluster with a chosen binary, flags, environment
// and cgroup.

import { readFileSync, readdirSync, existsSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import { LabCluster, PIHA, PIHA_BIN } from '../test/lab/cluster.ts';
import type { LabProcess } from '../test/lab/lab.ts';
import { Rng } from '../src/core/rng.ts';

export const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim());

/** Node name from a /healthz answer (piha: JSON {node}) or a name server's plain text. */
export function who(body: unknown): string {
  const s = String(body ?? '');
  try {
    const o = JSON.parse(s);
    if (o && typeof o === 'object' && typeof o.node === 'string') return o.node;
  } catch {
    /* plain text */
  }
  return /^node\d+$/.test(s.trim()) ? s.trim() : '';
}

/** Nearest-rank percentile. */
export function pct(xs: number[], p: number): number {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

export interface Stats {
  n: number;
  median: number;
  p99: number;
  min: number;
  max: number;
}

export function stats(xs: number[]): Stats {
  return { n: xs.length, median: pct(xs, 50), p99: pct(xs, 99), min: Math.min(...xs), max: Math.max(...xs) };
}

export const fmtMs = (x: number): string => (Number.isFinite(x) ? String(Math.round(x)) : '–');

export const loadavg = (): string => os.loadavg().map((x) => x.toFixed(2)).join(' ');

export function machine(): string {
  return `${os.cpus().length} × ${os.cpus()[0]?.model ?? '?'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Linux ${os.release()}, Node ${process.version}`;
}

/** Load average at the start and end of a bench, for the record (other work may share the machine). */
export class LoadRecord {
  readonly start = loadavg();
  readonly startedAt = new Date();
  end = '';
  finish(): this {
    this.end = loadavg();
    return this;
  }
  get text(): string {
    return `load average (1/5/15 min) at start ${this.start}, at end ${this.end || loadavg()}`;
  }
}

// ------------------------------------------------------------------ /proc

function statFields(pid: number): string[] | null {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return s.slice(s.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null;
  }
}

/** All processes whose parent chain reaches `root` (root included), from /proc. */
export function procTree(root: number): number[] {
  const kids = new Map<number, number[]>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    const f = statFields(Number(d));
    if (!f) continue;
    const ppid = Number(f[1]);
    let a = kids.get(ppid);
    if (!a) kids.set(ppid, (a = []));
    a.push(Number(d));
  }
  const out: number[] = [];
  const walk = (p: number) => {
    out.push(p);
    for (const k of kids.get(p) ?? []) walk(k);
  };
  if (statFields(root)) walk(root);
  return out;
}

/** CPU seconds of one process: own utime+stime, and its reaped children's (cutime+cstime). */
export function cpuOf(pid: number): { own: number; reaped: number } | null {
  const f = statFields(pid);
  if (!f) return null;
  return { own: (Number(f[11]) + Number(f[12])) / CLK_TCK, reaped: (Number(f[13]) + Number(f[14])) / CLK_TCK };
}

/**
 * CPU seconds of a daemon and everything it runs: the daemon itself, its live descendants
 * (address guard, ip batch process, arping) and the children it already reaped.
 */
export function treeCpu(root: number): { daemon: number; helpers: number } {
  const self = cpuOf(root);
  if (!self) return { daemon: NaN, helpers: NaN };
  let helpers = self.reaped;
  for (const p of procTree(root)) {
    if (p === root) continue;
    const c = cpuOf(p);
    if (c) helpers += c.own; // its own reaped children are counted when it is reaped by us
  }
  return { daemon: self.own, helpers };
}

export interface MemInfo {
  rssMiB: number;
  pssMiB: number;
  /** Private anonymous memory (heap, stacks): what the process alone costs. */
  anonMiB: number;
  /** File-backed resident pages (the executable's code and data, shared and reclaimable). */
  fileMiB: number;
}

export function memOf(pid: number): MemInfo | null {
  try {
    const r = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
    const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(r)?.[1] ?? NaN) / 1024;
    return { rssMiB: kb('Rss'), pssMiB: kb('Pss'), anonMiB: kb('Anonymous'), fileMiB: kb('Rss') - kb('Anonymous') };
  } catch {
    return null;
  }
}

/** Summed memory of a daemon's helpers (guard, ip batch), RSS only. */
export function helpersRssMiB(root: number): number {
  let s = 0;
  for (const p of procTree(root)) if (p !== root) s += memOf(p)?.rssMiB ?? 0;
  return s;
}

export interface IoInfo {
  /** Bytes this process caused to be sent to the storage layer. */
  writeBytes: number;
  /** write()-family syscalls (pipes and sockets too). */
  syscw: number;
  wchar: number;
}

export function ioOf(pid: number): IoInfo | null {
  try {
    const r = readFileSync(`/proc/${pid}/io`, 'utf8');
    const n = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(r)?.[1] ?? NaN);
    return { writeBytes: n('write_bytes'), syscw: n('syscw'), wchar: n('wchar') };
  } catch {
    return null;
  }
}

/** eth0 counters in the network namespace of `pid` (its /proc/PID/net/dev). */
export function netDev(pid: number, ifname = 'eth0'): { rxBytes: number; rxPackets: number; txBytes: number; txPackets: number } | null {
  try {
    const line = readFileSync(`/proc/${pid}/net/dev`, 'utf8')
      .split('\n')
      .find((l) => l.trim().startsWith(`${ifname}:`));
    if (!line) return null;
    const f = line.split(':')[1]!.trim().split(/\s+/).map(Number);
    return { rxBytes: f[0]!, rxPackets: f[1]!, txBytes: f[8]!, txPackets: f[9]! };
  } catch {
    return null;
  }
}

// ------------------------------------------------------------------ daemons

export interface PihaLaunch {
  /** argv before `daemon ...`; default PIHA_BIN (the single executable, else node + bundle). */
  bin?: string[];
  env?: Record<string, string>;
  /** Wrap the command: e.g. ['sh', '-c', '... exec "$@"', 'sh'] to enter a cgroup first. */
  wrap?: string[];
}

export const BUNDLE_BIN = [process.execPath, PIHA];

/** Start piha on `node` of cluster `c` like LabCluster.start, with a chosen binary/env/wrapper. */
export function startPiha(c: LabCluster, node: string, l: PihaLaunch = {}): LabProcess {
  const m = c.lab.node(node);
  const bin = l.bin ?? PIHA_BIN;
  const argv = [...(l.wrap ?? []), ...bin, 'daemon', '--config', c.configFile(), '--node', node, '--state-dir', join(c.dir, `${node}-state`), '--socket', c.socket(node)];
  const p = c.lab.spawn(m.ns, argv, { logFile: join(c.dir, `${node}.log`), name: `piha@${node}`, env: l.env });
  c.daemons.set(node, p);
  return p;
}

/** Which binary PIHA_BIN is, for the record. */
export const binName = (bin: string[] = PIHA_BIN): string => (bin.length === 1 ? bin[0]!.split('/').slice(-2).join('/') : `node ${bin.slice(1).map((x) => x.split('/').slice(-2).join('/')).join(' ')}`);

export function haveKeepalived(): string | null {
  for (const p of ['/usr/sbin/keepalived', '/sbin/keepalived', '/usr/local/sbin/keepalived']) if (existsSync(p)) return p;
  return null;
}

export const iso = (d = new Date()): string => d.toISOString().replace(/\.\d+Z$/, 'Z');

/**
 * A reproducible stream of numbers in [0, 1) per label: the core's seeded PRNG (mulberry32,
 * src/core/rng.ts), seeded with a hash of the label.
 */
export function seededRandom(label: string): () => number {
  let seed = 0;
  for (const ch of label) seed = (Math.imul(seed, 31) + ch.charCodeAt(0)) | 0;
  const rng = new Rng(seed);
  return () => rng.next();
}

/**
 * Drops the page cache of the executable (and of a bundle run by node), so daemons started
 * next read it as after a boot from the SD card. The file-backed part of a daemon's RSS
 * depends on that state (bench/rss-cache.md): on this VM 36 MiB when the binary comes cold
 * from disk, 40 MiB after it was read once (`cat`), 46 MiB right after it was written by a
 * build. Benches that report RSS call this first, so a rebuild before a run does not move
 * their numbers. `dd iflag=nocache count=0` is posix_fadvise(DONTNEED) on the whole file;
 * pages still mapped by running processes stay.
 */
export function coldBinary(bin: string[] = PIHA_BIN): void {
  for (const f of bin) {
    if (!existsSync(f)) continue;
    spawnSync('sync', [f]);
    spawnSync('dd', [`if=${f}`, 'iflag=nocache', 'count=0', 'status=none']);
  }
}
