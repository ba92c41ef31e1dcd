// Lab harness: a simulated LAN of network namespaces for running real piha daemons.
//
//   <prefix>-br   one namespace holding a linux bridge `br0`, with one veth port per member
//                 (`n1`, `n2`, ... for the nodes, `c` for the client)
//   <prefix>-n1.. one namespace per node: `eth0` = 192.0.2.(10+i)/24, MAC 02:50:00:00:00:(10+i)
//   <prefix>-c    the client namespace:  `eth0` = 192.0.2.2/24,       MAC 02:50:00:00:00:02
//   with { ipv6: true } also 2001:db8::(10+i)/64 on the nodes and 2001:db8::2/64 on the client
//   (no DAD on them, IPv6 switched on explicitly in every namespace)
//
// <prefix> is `piha-<4 hex>p<owner pid>` so parallel labs never clash and a crashed run's
// leftovers can be recognised (owner pid dead) and removed by cleanupStaleLabs().
//
// Rules kept by this harness (and to be kept by tests using it):
//   * only 192.0.2.0/24 (and 2001:db8::/32) is used, and only inside the lab's namespaces;
//   * everything started is tracked and killed by PID (process group) in destroy(), which
//     is idempotent and also runs best-effort on process exit / SIGINT / SIGTERM;
//   * faults are nft rules in ONE table per namespace (`table inet pihalab`), so heal() is
//     "delete that table" (plus bringing downed links back up).
//
// All timestamps are now() = CLOCK_MONOTONIC in ms (process.hrtime.bigint()), which is
// system-wide: the prober child process stamps its samples with the same clock.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, readFileSync, readdirSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/** Monotonic milliseconds (CLOCK_MONOTONIC, shared by all processes on the machine). */
export const now = (): number => Number(process.hrtime.bigint()) / 1e6;

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls f every everyMs until it returns something truthy (returned), or throws after timeoutMs. */
export async function until<T>(what: string, f: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs: number, everyMs = 20): Promise<T> {
  const t0 = now();
  for (;;) {
    const v = await f();
    if (v) return v;
    if (now() - t0 > timeoutMs) throw new Error(`timeout after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

const HERE = fileURLToPath(new URL('.', import.meta.url));
export const PROBER_SCRIPT = fileURLToPath(new URL('./prober.mjs', import.meta.url));
export const UDPPING_SCRIPT = fileURLToPath(new URL('./udpping.mjs', import.meta.url));
export const NAMESRV_SCRIPT = fileURLToPath(new URL('./namesrv.mjs', import.meta.url));

const NFT_TABLE = 'pihalab';
const DEFAULT_PREFIX = 'piha';
const LAB_SUBNET = '192.0.2';

// ---------------------------------------------------------------------------------------
// Commands

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
  /** Signal that ended the command (e.g. after a timeout), else null. */
  signal: NodeJS.Signals | null;
}

export interface RunOptions {
  input?: string;
  timeoutMs?: number;
  env?: Record<string, string>;
  cwd?: string;
}

/** Run a command without a shell; never rejects on a non-zero exit (look at `code`). */
export function run(file: string, args: string[], opts: RunOptions = {}): Promise<ExecResult> {
  return new Promise((resolve) => {
    let child: ChildProcess;
    try {
      child = spawn(file, args, {
        stdio: ['pipe', 'pipe', 'pipe'],
        env: opts.env ? { ...process.env, ...opts.env } : process.env,
        cwd: opts.cwd,
      });
    } catch (e) {
      resolve({ code: 127, stdout: '', stderr: String(e), signal: null });
      return;
    }
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.stdin!.on('error', () => {});
    child.stdin!.end(opts.input ?? '');
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 30_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      resolve({ code: 127, stdout, stderr: stderr + String(e), signal: null });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? 128, stdout, stderr, signal });
    });
  });
}

/** Like run() but rejects with the command line and stderr when the exit code is not 0. */
export async function runOk(file: string, args: string[], opts: RunOptions = {}): Promise<ExecResult> {
  const r = await run(file, args, opts);
  if (r.code !== 0) {
    throw new Error(`command failed (${r.code}${r.signal ? ' ' + r.signal : ''}): ${[file, ...args].join(' ')}\n${r.stderr.trim()}`);
  }
  return r;
}

// ---------------------------------------------------------------------------------------
// Processes

export interface SpawnOptions {
  env?: Record<string, string>;
  cwd?: string;
  /** Append raw stdout+stderr to this file. */
  logFile?: string;
  /** Default 'pipe' (the child sees EOF on stdin when the harness dies). */
  stdin?: 'pipe' | 'ignore';
  /** Label used in messages; default argv[0]. */
  name?: string;
}

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

type LineMatcher = string | RegExp | ((line: string) => boolean);
const matches = (m: LineMatcher, line: string): boolean =>
  typeof m === 'string' ? line.includes(m) : m instanceof RegExp ? m.test(line) : m(line);

const MAX_LINES = 200_000;

/** A process started inside a lab namespace (`ip netns exec NS argv...`, own process group). */
export class LabProcess {
  readonly pid: number;
  readonly name: string;
  /** Lines of stdout / stderr received so far (capped at 200k lines each, oldest dropped). */
  readonly stdoutLines: string[] = [];
  readonly stderrLines: string[] = [];
  /** Resolves when the process has exited (never rejects). */
  readonly exited: Promise<ExitInfo>;
  exitInfo: ExitInfo | null = null;
  private readonly child: ChildProcess;
  private readonly listeners = new Set<(line: string, stream: 'stdout' | 'stderr') => void>();
  /** Resolves once the process has exited, its output is read and its log file is written. */
  readonly closed: Promise<void> = Promise.resolve();

  constructor(
    readonly ns: string,
    readonly argv: string[],
    opts: SpawnOptions = {},
  ) {
    this.name = opts.name ?? argv[0] ?? '?';
    this.child = spawn('ip', ['netns', 'exec', ns, ...argv], {
      stdio: [opts.stdin ?? 'pipe', 'pipe', 'pipe'],
      env: opts.env ? { ...process.env, ...opts.env } : process.env,
      cwd: opts.cwd,
      detached: true, // own process group: kill(-pid) reaches the daemon's children too
    });
    this.exited = new Promise((resolve) => {
      this.child.on('exit', (code, signal) => {
        this.exitInfo = { code, signal };
        resolve(this.exitInfo);
      });
      this.child.on('error', (e) => {
        this.stderrLines.push(`spawn error: ${String(e)}`);
        this.exitInfo ??= { code: 127, signal: null };
        resolve(this.exitInfo);
      });
    });
    if (this.child.pid === undefined) {
      this.pid = -1;
      return;
    }
    this.pid = this.child.pid;
    this.child.stdin?.on('error', () => {});
    // 'close' comes after 'exit' once stdout and stderr are drained: output written just before
    // the exit can still be in the pipe when 'exit' fires (CI saw an empty log file that way).
    const streamsClosed = new Promise<void>((resolve) => {
      this.child.on('close', () => resolve());
      this.child.on('error', () => resolve());
    });
    if (opts.logFile) {
      const log = createWriteStream(opts.logFile, { flags: 'a' });
      log.on('error', () => {});
      this.child.stdout!.on('data', (d: Buffer) => log.write(d));
      this.child.stderr!.on('data', (d: Buffer) => log.write(d));
      const flushed = new Promise<void>((resolve) => {
        log.on('close', () => resolve());
        log.on('error', () => resolve());
      });
      this.closed = streamsClosed.then(() => {
        log.end();
        return flushed;
      });
    } else {
      this.closed = streamsClosed;
    }
    for (const stream of ['stdout', 'stderr'] as const) {
      const rl = createInterface({ input: this.child[stream]!, crlfDelay: Infinity });
      const store = stream === 'stdout' ? this.stdoutLines : this.stderrLines;
      rl.on('line', (line) => {
        store.push(line);
        if (store.length > MAX_LINES) store.splice(0, store.length - MAX_LINES);
        for (const l of this.listeners) l(line, stream);
      });
    }
  }

  /**
   * The exit info once the process has exited and its output has been read: what wait(),
   * stop() and kill() resolve with, so stdoutLines/stderrLines are complete when they return.
   * Bounded at 1 s after the exit, in case a child that outlived the process holds the pipes.
   */
  get finished(): Promise<ExitInfo> {
    return this.exited.then((info) => {
      let timer: NodeJS.Timeout | undefined;
      return Promise.race([this.closed, new Promise<void>((res) => (timer = setTimeout(res, 1000)))]).then(() => {
        clearTimeout(timer);
        return info;
      });
    });
  }

  get running(): boolean {
    return this.exitInfo === null && this.pid > 0;
  }

  /** Subscribe to new output lines; returns an unsubscribe function. */
  onLine(cb: (line: string, stream: 'stdout' | 'stderr') => void): () => void {
    this.listeners.add(cb);
    return () => this.listeners.delete(cb);
  }

  /** Resolve with the first line (already received or future) matching; reject on timeout/exit. */
  waitForLine(m: LineMatcher, timeoutMs = 5000, stream: 'stdout' | 'stderr' | 'any' = 'any'): Promise<string> {
    const pools = stream === 'any' ? [this.stdoutLines, this.stderrLines] : [stream === 'stdout' ? this.stdoutLines : this.stderrLines];
    for (const pool of pools) {
      const hit = pool.find((l) => matches(m, l));
      if (hit !== undefined) return Promise.resolve(hit);
    }
    return new Promise((resolve, reject) => {
      const done = (err: Error | null, line?: string) => {
        clearTimeout(timer);
        off();
        if (err) reject(err);
        else resolve(line!);
      };
      const off = this.onLine((line, s) => {
        if ((stream === 'any' || s === stream) && matches(m, line)) done(null, line);
      });
      const timer = setTimeout(
        () => done(new Error(`${this.name}: no line matching ${String(m)} within ${timeoutMs} ms; stderr: ${this.stderrLines.slice(-5).join(' | ')}`)),
        timeoutMs,
      );
      // after the exit and the last of its output (which may still match)
      void this.finished.then((x) => done(new Error(`${this.name} exited (${x.code ?? x.signal}) before printing a line matching ${String(m)}; stderr: ${this.stderrLines.slice(-5).join(' | ')}`)));
    });
  }

  write(data: string): void {
    this.child.stdin?.write(data);
  }

  /** Send a signal to the process itself (not its group). No-op once exited. */
  signal(sig: NodeJS.Signals): void {
    if (!this.running) return;
    try {
      process.kill(this.pid, sig);
    } catch {
      /* gone */
    }
  }

  /**
   * Send a signal to the whole process group, while the leader runs (afterwards its pid
   * could in theory be reused; lab.destroy() finds stray processes via `ip netns pids`).
   */
  signalGroup(sig: NodeJS.Signals): void {
    if (this.running) this.killGroup(sig);
  }

  private killGroup(sig: NodeJS.Signals): void {
    if (this.pid <= 0) return;
    try {
      process.kill(-this.pid, sig);
    } catch {
      /* gone */
    }
  }

  /** Resolve with the exit info; with a timeout, resolve null if still running then. */
  async wait(timeoutMs?: number): Promise<ExitInfo | null> {
    if (timeoutMs === undefined) return this.finished;
    let timer: NodeJS.Timeout | undefined;
    const r = await Promise.race([this.finished, new Promise<null>((res) => (timer = setTimeout(() => res(null), timeoutMs)))]);
    clearTimeout(timer);
    return r;
  }

  /**
   * Graceful stop: send `sig` (default SIGTERM) to the process (and SIGCONT in case it is
   * frozen); after `timeoutMs` SIGKILL the whole group. Always kills leftover group members.
   */
  async stop(sig: NodeJS.Signals = 'SIGTERM', timeoutMs = 2000): Promise<ExitInfo> {
    if (this.running) {
      this.signal(sig);
      this.signal('SIGCONT');
      if ((await this.wait(timeoutMs)) === null) this.signalGroup('SIGKILL');
      const info = await this.exited;
      // stray children left in the group: right after the leader's exit, while the group
      // id cannot have been reused
      this.killGroup('SIGKILL');
      await this.finished;
      return info;
    }
    return this.finished;
  }

  /** SIGKILL the whole process group and wait for the exit. */
  async kill(): Promise<ExitInfo> {
    this.signalGroup('SIGKILL');
    return this.finished;
  }
}

// ---------------------------------------------------------------------------------------
// Address watcher

export type Interval = [start: number, end: number | null];

export interface AddressEvent {
  t: number;
  node: string;
  kind: 'add' | 'del';
  ifname: string;
  /** True for the state found by the initial `ip -o addr show` snapshot. */
  snapshot?: boolean;
}

export interface OverlapSegment {
  start: number;
  end: number;
  nodes: string[];
}

// `3: eth0    inet 192.0.2.150/32 scope global eth0\       valid_lft ...`
// `Deleted 3: eth0    inet 192.0.2.150/32 ...`
const ADDR_LINE = /^(?:\[[A-Z]+\]\s*)?(Deleted\s+)?(\d+):\s+(\S+)\s+inet6?\s+([0-9A-Fa-f.:]+)(?:\/\d+)?\s/;

/**
 * Records, per node, the intervals during which an IP address was configured on it.
 * Runs `ip -o monitor address` in each watched namespace; timestamps are now() at line
 * arrival in this process (one clock for all namespaces).
 */
export class AddressWatcher {
  /** Resolves once every monitor is subscribed and the initial snapshot is applied. */
  readonly ready: Promise<void>;
  readonly events: AddressEvent[] = [];
  private readonly present = new Map<string, Set<string>>();
  private readonly ivs = new Map<string, Interval[]>();
  private readonly procs: LabProcess[] = [];
  private readonly waiters = new Set<() => void>();
  private stoppedAt: number | null = null;

  constructor(
    private readonly lab: Lab,
    readonly ip: string,
    readonly members: Member[],
  ) {
    for (const m of members) {
      this.present.set(m.name, new Set());
      this.ivs.set(m.name, []);
    }
    this.ready = Promise.all(members.map((m) => this.startOne(m))).then(() => undefined);
    this.ready.catch(() => {});
  }

  private async startOne(m: Member): Promise<void> {
    const proc = this.lab.spawn(m.ns, ['ip', '-o', 'monitor', 'address'], { name: `ip-monitor@${m.name}`, stdin: 'ignore' });
    this.procs.push(proc);
    let queue: Array<[number, string]> | null = [];
    proc.onLine((line, stream) => {
      if (stream !== 'stdout') return;
      const t = now();
      if (queue) queue.push([t, line]);
      else this.onLine(m.name, t, line);
    });
    await waitNetlinkSubscribed(proc, 0x10, 3000);
    const t0 = now();
    const snap = await this.lab.exec(m.ns, ['ip', '-o', 'addr', 'show']);
    for (const line of snap.stdout.split('\n')) {
      const p = parseAddrLine(line);
      if (p && !p.deleted && sameIp(p.ip, this.ip)) this.apply(m.name, 'add', p.ifname, t0, true);
    }
    const q = queue;
    queue = null;
    for (const [t, line] of q) this.onLine(m.name, t, line);
  }

  private onLine(node: string, t: number, line: string): void {
    const p = parseAddrLine(line);
    if (!p || !sameIp(p.ip, this.ip)) return;
    this.apply(node, p.deleted ? 'del' : 'add', p.ifname, t, false);
  }

  private apply(node: string, kind: 'add' | 'del', ifname: string, t: number, snapshot: boolean): void {
    if (this.stoppedAt !== null) return;
    const set = this.present.get(node)!;
    const ivs = this.ivs.get(node)!;
    const before = set.size;
    if (kind === 'add') set.add(ifname);
    else set.delete(ifname);
    if (before === 0 && set.size > 0) ivs.push([t, null]);
    if (before > 0 && set.size === 0) ivs[ivs.length - 1]![1] = t;
    if (before !== set.size) {
      this.events.push({ t, node, kind, ifname, ...(snapshot ? { snapshot } : {}) });
      for (const w of [...this.waiters]) w();
    }
  }

  /** Per node name: the intervals [start, end|null] (null = still held). Copies. */
  intervals(): Record<string, Interval[]> {
    const out: Record<string, Interval[]> = {};
    for (const [n, ivs] of this.ivs) out[n] = ivs.map(([s, e]) => [s, e] as Interval);
    return out;
  }

  /** Nodes holding the address right now (per the monitors). */
  holders(): string[] {
    return [...this.present].filter(([, s]) => s.size > 0).map(([n]) => n);
  }

  /** Time segments during which two or more nodes held the address (open intervals end at now()/stop time). */
  overlaps(from = -Infinity, to = Infinity): OverlapSegment[] {
    const end = this.stoppedAt ?? now();
    const pts: Array<[number, number, string]> = [];
    for (const [n, ivs] of this.ivs) {
      for (const [s, e] of ivs) {
        const a = Math.max(s, from);
        const b = Math.min(e ?? end, to);
        if (b > a) pts.push([a, +1, n], [b, -1, n]);
      }
    }
    pts.sort((x, y) => x[0] - y[0] || x[1] - y[1]);
    const holding = new Map<string, number>();
    const segs: OverlapSegment[] = [];
    let prevT = 0;
    for (const [t, d, n] of pts) {
      const active = [...holding].filter(([, c]) => c > 0).map(([k]) => k);
      if (active.length >= 2 && t > prevT) segs.push({ start: prevT, end: t, nodes: active.sort() });
      holding.set(n, (holding.get(n) ?? 0) + d);
      prevT = t;
    }
    return segs;
  }

  /** Total ms during which two or more nodes held the address at once. */
  overlapMs(from?: number, to?: number): number {
    return this.overlaps(from, to).reduce((a, s) => a + (s.end - s.start), 0);
  }

  /** Total ms (within the window) during which nobody held the address. */
  gapMs(from: number, to = this.stoppedAt ?? now()): number {
    const end = this.stoppedAt ?? now();
    const ivs = [...this.ivs.values()].flat().map(([s, e]) => [Math.max(s, from), Math.min(e ?? end, to)] as [number, number]);
    const cover = ivs.filter(([a, b]) => b > a).sort((x, y) => x[0] - y[0]);
    let covered = 0;
    let curS = -Infinity;
    let curE = -Infinity;
    for (const [a, b] of cover) {
      if (a > curE) {
        if (curE > curS) covered += curE - curS;
        curS = a;
        curE = b;
      } else curE = Math.max(curE, b);
    }
    if (curE > curS) covered += curE - curS;
    return Math.max(0, to - from - covered);
  }

  /** Resolve when pred() holds (checked now and after every change); reject after timeoutMs. */
  waitFor(pred: (w: AddressWatcher) => boolean, timeoutMs = 10_000, what = 'address watcher condition'): Promise<void> {
    if (pred(this)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = () => {
        if (pred(this)) {
          this.waiters.delete(check);
          clearTimeout(timer);
          resolve();
        }
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`timeout after ${timeoutMs} ms waiting for ${what}; holders of ${this.ip}: [${this.holders().join(', ')}]`));
      }, timeoutMs);
      this.waiters.add(check);
    });
  }

  /** Wait until exactly these nodes hold the address. */
  waitForHolders(nodes: string[], timeoutMs = 10_000): Promise<void> {
    const want = [...nodes].sort().join(',');
    return this.waitFor((w) => w.holders().sort().join(',') === want, timeoutMs, `holders == [${want}]`);
  }

  async stop(): Promise<void> {
    if (this.stoppedAt === null) this.stoppedAt = now();
    for (const w of [...this.waiters]) w();
    await Promise.all(this.procs.map((p) => p.stop('SIGTERM', 1000)));
  }
}

function parseAddrLine(line: string): { deleted: boolean; ifname: string; ip: string } | null {
  const m = ADDR_LINE.exec(line);
  if (!m) return null;
  return { deleted: !!m[1], ifname: `${m[2]}:${m[3]}`, ip: m[4]! };
}

const sameIp = (a: string, b: string): boolean => a.toLowerCase() === b.toLowerCase();

/**
 * `ip monitor` gives no sign of having subscribed. Wait until the process owns a
 * NETLINK_ROUTE socket bound to the multicast group mask `groups` (per /proc/PID/fd and
 * /proc/PID/net/netlink, which shows the process's own network namespace).
 */
async function waitNetlinkSubscribed(proc: LabProcess, groups: number, timeoutMs: number): Promise<void> {
  const deadline = now() + timeoutMs;
  while (now() < deadline) {
    if (!proc.running) throw new Error(`${proc.name} exited early: ${proc.stderrLines.join(' | ')}`);
    try {
      const inodes = new Set<string>();
      for (const fd of readdirSync(`/proc/${proc.pid}/fd`)) {
        try {
          const l = readlinkSync(`/proc/${proc.pid}/fd/${fd}`);
          const m = /^socket:\[(\d+)\]$/.exec(l);
          if (m) inodes.add(m[1]!);
        } catch {
          /* fd closed meanwhile */
        }
      }
      const rows = readFileSync(`/proc/${proc.pid}/net/netlink`, 'utf8').split('\n').slice(1);
      for (const row of rows) {
        const c = row.trim().split(/\s+/);
        // sk Eth Pid Groups Rmem Wmem Dump Locks Drops Inode
        if (c.length >= 10 && c[1] === '0' && (parseInt(c[3]!, 16) & groups) === groups && inodes.has(c[9]!)) return;
      }
    } catch {
      /* process still exec'ing */
    }
    await sleep(3);
  }
  throw new Error(`${proc.name} did not subscribe to netlink group 0x${groups.toString(16)} within ${timeoutMs} ms`);
}

// ---------------------------------------------------------------------------------------
// HTTP prober (runs test/lab/prober.mjs in the client namespace)

export interface ProbeSample {
  i: number;
  /** Attempt start, now() clock. */
  t: number;
  /** Duration of the attempt. */
  ms: number;
  ok: boolean;
  status?: number;
  body?: string;
  error?: string;
}

export interface ProbeOptions {
  ip?: string;
  port: number;
  path?: string;
  everyMs?: number;
  timeoutMs?: number;
  /** The prober exits by itself after this long (default 120 s). */
  maxDurationMs?: number;
  maxCount?: number;
  /** One attempt at a time (default false: start one every everyMs, up to maxInFlight pending). */
  sequential?: boolean;
  maxInFlight?: number;
  /** Member to probe from; default 'client'. */
  from?: string;
}

export class Prober {
  /** Samples ordered by start time t. */
  private readonly list: ProbeSample[] = [];
  /** Samples in arrival (= completion) order. */
  private readonly arrived: ProbeSample[] = [];
  private readonly waiters = new Set<() => void>();
  /** Resolves when the prober process has exited. */
  readonly done: Promise<void>;

  constructor(
    readonly proc: LabProcess,
    readonly opts: Required<Pick<ProbeOptions, 'ip' | 'port' | 'path'>>,
  ) {
    proc.onLine((line, stream) => {
      if (stream !== 'stdout') return;
      let o: unknown;
      try {
        o = JSON.parse(line);
      } catch {
        return;
      }
      if (o && typeof o === 'object' && typeof (o as ProbeSample).t === 'number' && typeof (o as ProbeSample).ok === 'boolean') {
        // keep the list ordered by start time (concurrent attempts finish out of order)
        const s = o as ProbeSample;
        let k = this.list.length;
        while (k > 0 && this.list[k - 1]!.t > s.t) k--;
        this.list.splice(k, 0, s);
        this.arrived.push(s);
        for (const w of [...this.waiters]) w();
      }
    });
    this.done = proc.finished.then(() => {
      for (const w of [...this.waiters]) w();
    });
  }

  /** All samples so far, ordered by start time t. */
  samples(): ProbeSample[] {
    return [...this.list];
  }

  /** Samples started in [from, to). */
  between(from: number, to = Infinity): ProbeSample[] {
    return this.list.filter((s) => s.t >= from && s.t < to);
  }

  /**
   * Longest run of consecutive failed attempts (by start time) within [from, to), as the
   * time from the last ok before it to the first ok after it: a service downtime estimate.
   */
  longestOutageMs(from = -Infinity, to = Infinity): number {
    let lastOk: number | null = null;
    let worst = 0;
    let failing = false;
    for (const s of this.list) {
      if (s.t < from || s.t >= to) continue;
      if (s.ok) {
        if (failing && lastOk !== null) worst = Math.max(worst, s.t - lastOk);
        lastOk = s.t;
        failing = false;
      } else failing = true;
    }
    return worst;
  }

  get running(): boolean {
    return this.proc.running;
  }

  /** First successful sample started at or after `t` (and matching `pred`, if given). */
  firstOkAfter(t: number, pred?: (s: ProbeSample) => boolean): ProbeSample | undefined {
    return this.list.find((s) => s.ok && s.t >= t && (!pred || pred(s)));
  }

  /** Last finished sample (any outcome). */
  last(): ProbeSample | undefined {
    return this.arrived[this.arrived.length - 1];
  }

  /**
   * Resolve with the first sample to finish (already received or future) that matches
   * pred; reject on timeout or prober exit. For "earliest start time", use firstOkAfter()
   * once this resolved.
   */
  waitFor(pred: (s: ProbeSample) => boolean, timeoutMs = 10_000): Promise<ProbeSample> {
    let seen = 0;
    const scan = (): ProbeSample | undefined => {
      for (; seen < this.arrived.length; seen++) if (pred(this.arrived[seen]!)) return this.arrived[seen];
      return undefined;
    };
    const hit = scan();
    if (hit) return Promise.resolve(hit);
    return new Promise((resolve, reject) => {
      const finish = (err: Error | null, s?: ProbeSample) => {
        this.waiters.delete(check);
        clearTimeout(timer);
        if (err) reject(err);
        else resolve(s!);
      };
      const check = () => {
        const s = scan();
        if (s) finish(null, s);
        else if (!this.proc.running) finish(new Error(`prober exited without a matching sample; last: ${JSON.stringify(this.last())}`));
      };
      const timer = setTimeout(
        () => finish(new Error(`timeout after ${timeoutMs} ms waiting for a probe sample; last: ${JSON.stringify(this.last())}`)),
        timeoutMs,
      );
      this.waiters.add(check);
    });
  }

  /** Stop the prober (it would stop by itself after maxDurationMs/maxCount). */
  async stop(): Promise<void> {
    await this.proc.stop('SIGTERM', 1000);
    await this.done;
  }
}

// ---------------------------------------------------------------------------------------
// Lab

export interface LabOptions {
  nodes: number;
  /** First three octets; only '192.0.2' (TEST-NET-1) is allowed. */
  subnet?: string;
  vip?: string;
  /** Namespace name prefix base (default 'piha'); the lab prefix is `<base>-<4 hex>p<pid>`. */
  prefix?: string;
  /** UDP port of the echo responders used by ping() (default 7). */
  echoPort?: number;
  /** Remove namespaces left by dead earlier runs first (default true). */
  cleanupStale?: boolean;
  /** Also give every member an address in 2001:db8::/64 (Member.addr6). Default false. */
  ipv6?: boolean;
}

export interface Member {
  /** 'node1'..'nodeN' or 'client'. */
  name: string;
  ns: string;
  addr: string;
  ifname: 'eth0';
  mac: string;
  /** Name of the veth end in the bridge namespace (linkDown/linkUp act on it). */
  brPort: string;
  /** 2001:db8::(10+i) for nodes, 2001:db8::2 for the client; only in a lab made with ipv6: true. */
  addr6?: string;
}

export interface Fault {
  readonly id: number;
  readonly description: string;
  undo(): Promise<void>;
}

export interface PingResult {
  sent: number;
  received: number;
  lossPct: number;
  rttAvgMs: number | null;
  rttMaxMs: number | null;
}

export interface PingOptions {
  count?: number;
  intervalMs?: number;
  timeoutMs?: number;
}

const liveLabs = new Set<Lab>();
let exitHooksInstalled = false;

function installExitHooks(): void {
  if (exitHooksInstalled) return;
  exitHooksInstalled = true;
  process.on('exit', () => {
    for (const lab of liveLabs) lab.destroySync();
  });
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const handler = () => {
      for (const lab of liveLabs) lab.destroySync();
      const others = process.listeners(sig).filter((l) => l !== handler);
      process.removeListener(sig, handler);
      if (others.length === 0) process.kill(process.pid, sig); // default action now
    };
    process.on(sig, handler);
  }
}

const randomId = (): string => `${randomBytes(2).toString('hex')}p${process.pid}`;

const macFor = (lastOctet: number): string => `02:50:00:00:00:${lastOctet.toString(16).padStart(2, '0')}`;

/**
 * The kernel's ARP and neighbour-discovery tables are shared by all network namespaces, and
 * their hard limit (gc_thresh3, 1024 by default) counts every namespace's entries: a lab of N
 * members that all talk to each other needs ~N² of them. At 32 nodes (33 members) that is
 * over 1024, the kernel logs "neighbor table overflow!", and new entries cannot be made: the
 * client could not resolve the VIP or half of the nodes, and every request through the VIP
 * timed out (bench/scale.ts, 32 nodes, 2026-11-27). On real Pis each node has its own table
 * of ~N entries. So a big lab raises the shared limits (never lowers them; they are the
 * machine's, root-only, and stay raised: a larger table costs nothing until used).
 */
export function raiseNeighbourLimits(members: number): void {
  const need = 4 * members * members; // room for the VIPs, IPv6 and a second lab at the same time
  for (const fam of ['ipv4', 'ipv6']) {
    for (const k of ['gc_thresh2', 'gc_thresh3']) {
      const f = `/proc/sys/net/${fam}/neigh/default/${k}`;
      try {
        if (Number(readFileSync(f, 'utf8').trim()) < need) writeFileSync(f, String(need));
      } catch {
        /* no such table (IPv6 off) or not root: the lab still works up to ~30 members */
      }
    }
  }
}

export class Lab {
  readonly prefix: string;
  readonly brNs: string;
  readonly nodes: Member[];
  readonly client: Member;
  readonly vip: string | undefined;
  readonly subnet: string;
  readonly ipv6: boolean;
  /** Milliseconds Lab.create() took. */
  createMs = 0;
  private readonly procs = new Set<LabProcess>();
  private readonly frozen = new Set<number>();
  private readonly downLinks = new Set<string>();
  private readonly faults = new Map<number, Fault>();
  private readonly lossFault = new Map<string, number>();
  private readonly echo = new Map<string, Promise<void>>();
  private readonly echoPort: number;
  private faultSeq = 0;
  private destroying: Promise<void> | null = null;
  private created = new Set<string>();

  private constructor(opts: LabOptions) {
    const subnet = opts.subnet ?? LAB_SUBNET;
    if (subnet !== LAB_SUBNET) throw new Error(`lab subnet must be ${LAB_SUBNET} (TEST-NET-1), got ${subnet}`);
    if (!Number.isInteger(opts.nodes) || opts.nodes < 1 || opts.nodes > 100) throw new Error(`nodes must be 1..100, got ${opts.nodes}`);
    if (opts.vip !== undefined) {
      const m = /^192\.0\.2\.(\d{1,3})$/.exec(opts.vip);
      const last = m ? Number(m[1]) : -1;
      if (!m || last < 1 || last > 254 || last === 2 || (last >= 11 && last <= 10 + opts.nodes)) {
        throw new Error(`vip must be a free address in 192.0.2.0/24, got ${opts.vip}`);
      }
    }
    const base = opts.prefix ?? DEFAULT_PREFIX;
    if (!/^[a-z][a-z0-9]{0,11}$/.test(base)) throw new Error(`bad prefix ${base}`);
    this.subnet = subnet;
    this.ipv6 = opts.ipv6 ?? false;
    this.vip = opts.vip;
    this.echoPort = opts.echoPort ?? 7;
    this.prefix = `${base}-${randomId()}`;
    this.brNs = `${this.prefix}-br`;
    this.nodes = Array.from({ length: opts.nodes }, (_, k) => {
      const i = k + 1;
      const m: Member = { name: `node${i}`, ns: `${this.prefix}-n${i}`, addr: `${subnet}.${10 + i}`, ifname: 'eth0', mac: macFor(10 + i), brPort: `n${i}` };
      return this.ipv6 ? { ...m, addr6: `2001:db8::${(10 + i).toString(16)}` } : m;
    });
    this.client = { name: 'client', ns: `${this.prefix}-c`, addr: `${subnet}.2`, ifname: 'eth0', mac: macFor(2), brPort: 'c', ...(this.ipv6 ? { addr6: '2001:db8::2' } : {}) };
  }

  /** Build the lab. On failure everything created so far is removed again. */
  static async create(opts: LabOptions): Promise<Lab> {
    const t0 = now();
    if (opts.cleanupStale ?? true) await cleanupStaleLabs(opts.prefix ?? DEFAULT_PREFIX);
    const lab = new Lab(opts);
    installExitHooks();
    liveLabs.add(lab);
    try {
      await lab.setup();
    } catch (e) {
      await lab.destroy();
      throw e;
    }
    lab.createMs = now() - t0;
    return lab;
  }

  /** Nodes and client. */
  get members(): Member[] {
    return [...this.nodes, this.client];
  }

  /** All namespaces of this lab (bridge first). */
  get namespaces(): string[] {
    return [this.brNs, ...this.members.map((m) => m.ns)];
  }

  private async setup(): Promise<void> {
    raiseNeighbourLimits(this.members.length);
    await Promise.all(
      this.namespaces.map(async (ns) => {
        await runOk('ip', ['netns', 'add', ns]);
        this.created.add(ns);
      }),
    );
    const br = [
      'link set lo up',
      'link add br0 type bridge forward_delay 0 stp_state 0',
      'link set br0 up',
      ...this.members.flatMap((m) => [
        `link add ${m.brPort} type veth peer name eth0 netns ${m.ns}`,
        `link set ${m.brPort} master br0`,
        `link set ${m.brPort} up`,
      ]),
    ];
    await runOk('ip', ['-n', this.brNs, '-batch', '-'], { input: br.join('\n') + '\n' });
    if (this.ipv6) {
      // Before the addresses: on, and no DAD (a tentative address is unusable for ~1 s).
      const sysctls = ['net.ipv6.conf.all.disable_ipv6=0', 'net.ipv6.conf.default.disable_ipv6=0', 'net.ipv6.conf.eth0.disable_ipv6=0', 'net.ipv6.conf.eth0.accept_dad=0'];
      await Promise.all(this.members.map((m) => this.execOk(m.ns, ['sysctl', '-qw', ...sysctls])));
    }
    await Promise.all(
      this.members.map((m) =>
        runOk('ip', ['-n', m.ns, '-batch', '-'], {
          input: [
            'link set lo up',
            `link set eth0 address ${m.mac}`,
            `addr add ${m.addr}/24 dev eth0`,
            ...(m.addr6 ? [`addr add ${m.addr6}/64 dev eth0 nodad`] : []),
            'link set eth0 up',
            '',
          ].join('\n'),
        }),
      ),
    );
  }

  // ---- lookup -------------------------------------------------------------------------

  /** A member by name ('node2', 'client'), namespace or address. */
  member(x: string): Member {
    const m = this.members.find((m) => m.name === x || m.ns === x || m.addr === x || (m.addr6 !== undefined && m.addr6 === x));
    if (!m) throw new Error(`no lab member ${x} (have ${this.members.map((m) => m.name).join(', ')})`);
    return m;
  }

  node(x: string | number): Member {
    const m = typeof x === 'number' ? this.nodes[x - 1] : this.nodes.find((n) => n.name === x || n.ns === x || n.addr === x);
    if (!m) throw new Error(`no lab node ${x}`);
    return m;
  }

  /** Namespace for a member name or one of this lab's namespaces; refuses anything else. */
  nsOf(x: string): string {
    if (this.namespaces.includes(x)) return x;
    return this.member(x).ns;
  }

  // ---- commands and processes ---------------------------------------------------------

  /** Run argv inside a namespace (`ip netns exec NS argv...`); never rejects on exit code. */
  exec(ns: string, argv: string[], opts: RunOptions = {}): Promise<ExecResult> {
    return run('ip', ['netns', 'exec', this.nsOf(ns), ...argv], opts);
  }

  /** Like exec() but rejects when the exit code is not 0. */
  execOk(ns: string, argv: string[], opts: RunOptions = {}): Promise<ExecResult> {
    return runOk('ip', ['netns', 'exec', this.nsOf(ns), ...argv], opts);
  }

  /** Start a long-running process inside a namespace; tracked and killed by destroy(). */
  spawn(ns: string, argv: string[], opts: SpawnOptions = {}): LabProcess {
    if (this.destroying) throw new Error('lab destroyed');
    const p = new LabProcess(this.nsOf(ns), argv, opts);
    this.procs.add(p);
    void p.exited.then(() => {
      this.procs.delete(p);
      this.frozen.delete(p.pid);
    });
    return p;
  }

  /** Start a Node script (process.execPath) inside a namespace. */
  spawnNode(ns: string, script: string, args: string[] = [], opts: SpawnOptions = {}): LabProcess {
    return this.spawn(ns, [process.execPath, script, ...args], { name: opts.name ?? script.split('/').pop(), ...opts });
  }

  /** Start test/lab/namesrv.mjs (HTTP server answering `name`) and wait until it listens. */
  async startNameServer(ns: string, port: number, name: string, host = '0.0.0.0'): Promise<LabProcess> {
    const p = this.spawnNode(ns, NAMESRV_SCRIPT, [String(port), name, host], { name: `namesrv@${name}` });
    await p.waitForLine(/^listening /, 5000);
    return p;
  }

  /** Pids currently frozen with freeze(). */
  frozenPids(): number[] {
    return [...this.frozen];
  }

  /** Processes started by this lab that are still running. */
  processes(): LabProcess[] {
    return [...this.procs].filter((p) => p.running);
  }

  /** True if pid was started by this lab or lives in one of its network namespaces. */
  ownsPid(pid: number): boolean {
    if (!Number.isInteger(pid) || pid <= 1) return false;
    if ([...this.procs].some((p) => p.pid === pid && p.running)) return true;
    try {
      const m = /^net:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/ns/net`));
      if (!m) return false;
      return this.namespaces.some((ns) => {
        try {
          return String(statSync(`/run/netns/${ns}`).ino) === m[1];
        } catch {
          return false;
        }
      });
    } catch {
      return false;
    }
  }

  private checkPid(pid: number): void {
    if (!this.ownsPid(pid)) throw new Error(`pid ${pid} does not belong to this lab`);
  }

  /**
   * SIGSTOP a lab process (it stays "alive" but does nothing: a hung node). Resolves once
   * the kernel reports it stopped (/proc/PID/stat state T), at most after 2 s.
   */
  async freeze(pid: number): Promise<void> {
    this.checkPid(pid);
    process.kill(pid, 'SIGSTOP');
    this.frozen.add(pid);
    await waitProcState(pid, (s) => s === 'T' || s === 't', 2000);
  }

  /** SIGCONT a frozen process; resolves once it is no longer in the stopped state. */
  async thaw(pid: number): Promise<void> {
    this.checkPid(pid);
    process.kill(pid, 'SIGCONT');
    this.frozen.delete(pid);
    await waitProcState(pid, (s) => s !== 'T' && s !== 't', 2000);
  }

  /** Send a signal (default SIGKILL) to a lab process. */
  kill(pid: number, sig: NodeJS.Signals = 'SIGKILL'): void {
    this.checkPid(pid);
    process.kill(pid, sig);
  }

  // ---- addresses ----------------------------------------------------------------------

  /** `ip addr add <cidr> dev eth0 [extra...]` in a member (e.g. extra = ['valid_lft','1','preferred_lft','1']). */
  async addrAdd(member: string, cidr: string, extra: string[] = []): Promise<void> {
    const m = this.member(member);
    await runOk('ip', ['-n', m.ns, 'addr', 'add', cidr, 'dev', m.ifname, ...extra]);
  }

  async addrDel(member: string, cidr: string): Promise<void> {
    const m = this.member(member);
    await runOk('ip', ['-n', m.ns, 'addr', 'del', cidr, 'dev', m.ifname]);
  }

  /**
   * Gratuitous ARP for `ip` from a member: `arping -c <count> -U|-A -I eth0 <ip>`.
   * mode 'U' = unsolicited ARP request, 'A' = unsolicited ARP reply. Both update existing
   * neighbour entries of the peers (verified by harness.test.ts).
   */
  async gratuitousArp(member: string, ip: string, mode: 'U' | 'A' = 'U', count = 1): Promise<void> {
    const m = this.member(member);
    await this.execOk(m.ns, ['arping', '-q', '-c', String(count), `-${mode}`, '-I', m.ifname, ip], { timeoutMs: 5000 + count * 1000 });
  }

  /** Forget a member's ARP/neighbour cache (`ip neigh flush all`), e.g. to isolate tests from each other. */
  async flushNeighbours(member: string): Promise<void> {
    await runOk('ip', ['-n', this.member(member).ns, 'neigh', 'flush', 'all']);
  }

  // ---- reachability -------------------------------------------------------------------

  private ensureEcho(ns: string): Promise<void> {
    let p = this.echo.get(ns);
    if (!p) {
      const proc = this.spawnNode(ns, UDPPING_SCRIPT, ['serve', String(this.echoPort)], { name: `udp-echo@${ns}` });
      p = proc.waitForLine(/^ready /, 5000).then(() => undefined);
      this.echo.set(ns, p);
      p.catch(() => this.echo.delete(ns));
    }
    return p;
  }

  /**
   * UDP echo "ping" (iputils-ping is not a lab dependency) from a member to a member name
   * or an IP. Echo responders (test/lab/udpping.mjs, bound to 0.0.0.0) are started lazily:
   * in the target member, or in every node when `to` is not a member address (e.g. a VIP).
   */
  async ping(from: string, to: string, opts: PingOptions = {}): Promise<PingResult> {
    const src = this.member(from);
    const dst = this.members.find((m) => m.name === to || m.addr === to);
    const ip = dst ? dst.addr : to;
    if (!/^192\.0\.2\.\d{1,3}$/.test(ip) && !/^2001:db8:/i.test(ip)) throw new Error(`refusing to ping ${ip}: outside the lab ranges`);
    await Promise.all((dst ? [dst] : this.nodes).map((m) => this.ensureEcho(m.ns)));
    const count = opts.count ?? 3;
    const intervalMs = opts.intervalMs ?? 10;
    const timeoutMs = opts.timeoutMs ?? 200;
    const r = await this.execOk(src.ns, [process.execPath, UDPPING_SCRIPT, 'ping', ip, String(this.echoPort), String(count), String(intervalMs), String(timeoutMs)], {
      timeoutMs: 10_000 + count * (intervalMs + 5) + timeoutMs,
    });
    return JSON.parse(r.stdout.trim().split('\n').pop()!) as PingResult;
  }

  /** Start a UDP listener (no echo) in a member; it prints `from <addr> <port> <bytes>` per datagram. */
  async udpListen(member: string, port: number): Promise<LabProcess> {
    const p = this.spawnNode(this.member(member).ns, UDPPING_SCRIPT, ['listen', String(port)], { name: `udp-listen@${member}:${port}` });
    await p.waitForLine(/^ready /, 5000);
    return p;
  }

  /** Fire-and-forget UDP datagrams from a member (pairs with udpListen for one-way checks). */
  async udpSend(from: string, ip: string, port: number, count = 3, intervalMs = 5): Promise<void> {
    await this.execOk(this.member(from).ns, [process.execPath, UDPPING_SCRIPT, 'send', ip, String(port), String(count), String(intervalMs)]);
  }

  /** True if at least one of `count` (default 3) UDP echoes came back. */
  async reachable(from: string, to: string, opts: PingOptions = {}): Promise<boolean> {
    return (await this.ping(from, to, opts)).received > 0;
  }

  // ---- faults -------------------------------------------------------------------------

  private async nft(ns: string, script: string): Promise<void> {
    await this.execOk(ns, ['nft', '-f', '-'], { input: script });
  }

  private static chainDefs(chain: string, hook: 'input' | 'output', prio: number): string[] {
    return [`add table inet ${NFT_TABLE}`, `add chain inet ${NFT_TABLE} ${chain} { type filter hook ${hook} priority ${prio}; policy accept; }`];
  }

  /**
   * Install a fault made of per-member drop rules. blocks = [a, b]: packets sent by a to b
   * are dropped (at a's output by destination address, at b's input by source MAC and
   * source address — the MAC rule also catches traffic a sends from a VIP).
   */
  private async blockPairs(description: string, blocks: Array<[Member, Member]>): Promise<Fault> {
    const id = ++this.faultSeq;
    const perNs = new Map<string, { in: string[]; out: string[] }>();
    const get = (m: Member) => {
      let e = perNs.get(m.ns);
      if (!e) perNs.set(m.ns, (e = { in: [], out: [] }));
      return e;
    };
    for (const [a, b] of blocks) {
      get(a).out.push(`oifname "${a.ifname}" ip daddr ${b.addr} drop`);
      get(b).in.push(`iifname "${b.ifname}" ether saddr ${a.mac} drop`, `iifname "${b.ifname}" ip saddr ${a.addr} drop`);
    }
    const inChain = `f${id}_in`;
    const outChain = `f${id}_out`;
    await Promise.all(
      [...perNs].map(([ns, r]) => {
        const lines: string[] = [];
        if (r.in.length) lines.push(...Lab.chainDefs(inChain, 'input', -10), ...r.in.map((x) => `add rule inet ${NFT_TABLE} ${inChain} ${x}`));
        if (r.out.length) lines.push(...Lab.chainDefs(outChain, 'output', -10), ...r.out.map((x) => `add rule inet ${NFT_TABLE} ${outChain} ${x}`));
        return this.nft(ns, lines.join('\n') + '\n');
      }),
    );
    const fault: Fault = {
      id,
      description,
      undo: async () => {
        this.faults.delete(id);
        await Promise.all(
          [...perNs].map(([ns, r]) => {
            const lines = [`add table inet ${NFT_TABLE}`];
            if (r.in.length) lines.push(...Lab.chainDefs(inChain, 'input', -10), `delete chain inet ${NFT_TABLE} ${inChain}`);
            if (r.out.length) lines.push(...Lab.chainDefs(outChain, 'output', -10), `delete chain inet ${NFT_TABLE} ${outChain}`);
            return this.nft(ns, lines.join('\n') + '\n');
          }),
        );
      },
    };
    this.faults.set(id, fault);
    return fault;
  }

  /**
   * Split the nodes into groups that cannot talk to each other. Every node must be listed
   * exactly once; 'client' may be listed too (else it keeps reaching every node).
   */
  async partition(groups: string[][]): Promise<Fault> {
    const groupOf = new Map<string, number>();
    groups.forEach((g, gi) =>
      g.forEach((name) => {
        const m = this.member(name);
        if (groupOf.has(m.name)) throw new Error(`${m.name} listed twice in partition`);
        groupOf.set(m.name, gi);
      }),
    );
    const missing = this.nodes.filter((n) => !groupOf.has(n.name)).map((n) => n.name);
    if (missing.length) throw new Error(`partition must list every node; missing: ${missing.join(', ')}`);
    const listed = this.members.filter((m) => groupOf.has(m.name));
    const blocks: Array<[Member, Member]> = [];
    for (const a of listed) for (const b of listed) if (a !== b && groupOf.get(a.name) !== groupOf.get(b.name)) blocks.push([a, b]);
    return this.blockPairs(`partition ${JSON.stringify(groups)}`, blocks);
  }

  /** The node cannot talk to any other node (both directions); the client still reaches it. */
  async isolatePeers(node: string): Promise<Fault> {
    const n = this.node(node);
    const blocks: Array<[Member, Member]> = [];
    for (const o of this.nodes) if (o !== n) blocks.push([n, o], [o, n]);
    return this.blockPairs(`isolatePeers ${n.name}`, blocks);
  }

  /** Asymmetric fault: packets from `from` to `to` are dropped; `to` → `from` still works. */
  async oneWay(from: string, to: string): Promise<Fault> {
    const a = this.member(from);
    const b = this.member(to);
    if (a === b) throw new Error('oneWay needs two different members');
    return this.blockPairs(`oneWay ${a.name}->${b.name}`, [[a, b]]);
  }

  /**
   * Random loss on a member's eth0: each packet is dropped with probability percent/100
   * (`numgen random mod 1000 < percent*10`), independently in each selected direction —
   * with dir 'both' a round trip is lost with 1-(1-p)^2. Replaces the member's previous
   * loss setting; percent 0 removes it.
   */
  async loss(member: string, percent: number, dir: 'in' | 'out' | 'both' = 'both'): Promise<Fault> {
    const m = this.member(member);
    if (!(percent >= 0 && percent <= 100)) throw new Error(`loss percent must be 0..100, got ${percent}`);
    const permille = Math.round(percent * 10);
    const lines: string[] = [];
    for (const [d, chain, hook, ifk] of [
      ['in', 'loss_in', 'input', 'iifname'],
      ['out', 'loss_out', 'output', 'oifname'],
    ] as const) {
      lines.push(...Lab.chainDefs(chain, hook, -5));
      if (permille > 0 && (dir === d || dir === 'both')) {
        const cond = permille >= 1000 ? '' : ` numgen random mod 1000 < ${permille}`;
        lines.push(`flush chain inet ${NFT_TABLE} ${chain}`, `add rule inet ${NFT_TABLE} ${chain} ${ifk} "${m.ifname}"${cond} drop`);
      } else {
        lines.push(`delete chain inet ${NFT_TABLE} ${chain}`);
      }
    }
    await this.nft(m.ns, lines.join('\n') + '\n');
    // one loss setting per member: drop the bookkeeping of the previous one
    const prev = this.lossFault.get(m.name);
    if (prev !== undefined) this.faults.delete(prev);
    this.lossFault.delete(m.name);
    const id = ++this.faultSeq;
    const fault: Fault = {
      id,
      description: `loss ${m.name} ${percent}% ${dir}`,
      undo: async () => {
        if (this.lossFault.get(m.name) === id) await this.loss(m.name, 0);
      },
    };
    if (permille > 0) {
      this.faults.set(id, fault);
      this.lossFault.set(m.name, id);
    }
    return fault;
  }

  /** Cable pull: set the member's bridge-side veth down (its eth0 loses carrier). */
  async linkDown(member: string): Promise<void> {
    const m = this.member(member);
    await runOk('ip', ['-n', this.brNs, 'link', 'set', m.brPort, 'down']);
    this.downLinks.add(m.name);
  }

  async linkUp(member: string): Promise<void> {
    const m = this.member(member);
    await runOk('ip', ['-n', this.brNs, 'link', 'set', m.brPort, 'up']);
    this.downLinks.delete(m.name);
  }

  /** Faults currently installed (partitions, oneWay, loss). */
  activeFaults(): Fault[] {
    return [...this.faults.values()];
  }

  /** Remove every fault: delete the nft table in every member and bring downed links up. */
  async heal(): Promise<void> {
    this.faults.clear();
    this.lossFault.clear();
    await Promise.all(this.members.map((m) => this.nft(m.ns, `add table inet ${NFT_TABLE}\ndelete table inet ${NFT_TABLE}\n`)));
    await Promise.all([...this.downLinks].map((n) => this.linkUp(n)));
  }

  /** Dump the fault tables of all members (for debugging). */
  async dumpRules(): Promise<string> {
    const out = await Promise.all(this.members.map(async (m) => `# ${m.name}\n${(await this.exec(m.ns, ['nft', 'list', 'ruleset'])).stdout}`));
    return out.join('\n');
  }

  // ---- observers ----------------------------------------------------------------------

  /** Watch which nodes hold `ip` (default: the lab's vip). `await w.ready` before acting. */
  watchAddress(ip: string | undefined = this.vip, members: string[] = this.nodes.map((n) => n.name)): AddressWatcher {
    if (!ip) throw new Error('watchAddress needs an ip (or a lab vip)');
    return new AddressWatcher(this, ip, members.map((x) => this.member(x)));
  }

  /** HTTP prober in the client namespace (test/lab/prober.mjs). Stops by itself after maxDurationMs (120 s). */
  probe(opts: ProbeOptions): Prober {
    const ip = opts.ip ?? this.vip;
    if (!ip) throw new Error('probe needs an ip (or a lab vip)');
    const cfg = {
      ip,
      port: opts.port,
      path: opts.path ?? '/',
      everyMs: opts.everyMs ?? 5,
      timeoutMs: opts.timeoutMs ?? 100,
      maxDurationMs: opts.maxDurationMs ?? 120_000,
      ...(opts.maxCount !== undefined ? { maxCount: opts.maxCount } : {}),
      ...(opts.sequential !== undefined ? { sequential: opts.sequential } : {}),
      ...(opts.maxInFlight !== undefined ? { maxInFlight: opts.maxInFlight } : {}),
    };
    const proc = this.spawnNode(opts.from ?? 'client', PROBER_SCRIPT, [JSON.stringify(cfg)], { name: `prober->${ip}` });
    return new Prober(proc, { ip, port: cfg.port, path: cfg.path });
  }

  // ---- teardown -----------------------------------------------------------------------

  get destroyed(): boolean {
    return this.destroying !== null;
  }

  /** Kill every process, delete every namespace. Idempotent; safe to call concurrently. */
  destroy(): Promise<void> {
    this.destroying ??= (async () => {
      const procs = [...this.procs].filter((p) => p.running);
      for (const p of procs) {
        p.signalGroup('SIGTERM');
        p.signalGroup('SIGCONT');
      }
      await Promise.race([Promise.all(procs.map((p) => p.exited)), sleep(1000)]);
      for (const p of procs) p.signalGroup('SIGKILL');
      await Promise.race([Promise.all(procs.map((p) => p.exited)), sleep(2000)]);
      // anything else still inside our namespaces (e.g. daemons' detached children)
      for (const ns of this.created) {
        const r = await run('ip', ['netns', 'pids', ns]);
        for (const pid of r.stdout.split(/\s+/).filter(Boolean).map(Number)) {
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            /* gone */
          }
        }
      }
      await Promise.all([...this.created].map((ns) => run('ip', ['netns', 'del', ns])));
      this.created.clear();
      liveLabs.delete(this);
    })();
    return this.destroying;
  }

  /** Synchronous best-effort destroy for process exit / signals. */
  destroySync(): void {
    this.destroying ??= Promise.resolve();
    for (const p of this.procs) p.signalGroup('SIGKILL');
    for (const ns of this.created) {
      const r = spawnSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' });
      for (const pid of (r.stdout ?? '').split(/\s+/).filter(Boolean).map(Number)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
      spawnSync('ip', ['netns', 'del', ns]);
    }
    this.created.clear();
    liveLabs.delete(this);
  }
}

/** Process state letter from /proc/PID/stat (R, S, D, T, Z, ...), or null if gone. */
export function procState(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] ?? null;
  } catch {
    return null;
  }
}

async function waitProcState(pid: number, ok: (s: string) => boolean, timeoutMs: number): Promise<void> {
  const deadline = now() + timeoutMs;
  for (;;) {
    const s = procState(pid);
    if (s === null || s === 'Z' || ok(s)) return;
    if (now() > deadline) throw new Error(`pid ${pid} still in state ${s} after ${timeoutMs} ms`);
    await sleep(1);
  }
}

// ---------------------------------------------------------------------------------------
// Stale labs, availability

const escapeRe = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Lab namespaces currently present whose names match `<prefix>-<4 hex>p<pid>-(br|c|chk|nN)`. */
export async function listLabNamespaces(prefix = DEFAULT_PREFIX): Promise<Array<{ ns: string; ownerPid: number }>> {
  const re = new RegExp(`^${escapeRe(prefix)}-[0-9a-f]{4}p(\\d+)-(?:br|c|chk|n\\d+)$`);
  const r = await run('ip', ['netns', 'list']);
  const out: Array<{ ns: string; ownerPid: number }> = [];
  for (const line of r.stdout.split('\n')) {
    const ns = line.trim().split(/\s+/)[0] ?? '';
    const m = re.exec(ns);
    if (m) out.push({ ns, ownerPid: Number(m[1]) });
  }
  return out;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Remove namespaces left behind by crashed runs: only names matching our pattern
 * (`<prefix>-<4 hex>p<pid>-...`) whose owner pid is no longer alive (with
 * { includeLive: true }: all of them except this process's live labs — do not use that
 * while other lab runs may be going on). Processes still inside
 * them are SIGKILLed by pid first. Returns the deleted namespace names.
 */
export async function cleanupStaleLabs(prefix = DEFAULT_PREFIX, opts: { includeLive?: boolean } = {}): Promise<string[]> {
  const mine = new Set([...liveLabs].flatMap((l) => l.namespaces));
  const victims = (await listLabNamespaces(prefix)).filter(
    ({ ns, ownerPid }) => !mine.has(ns) && (opts.includeLive ? true : ownerPid !== process.pid && !pidAlive(ownerPid)),
  );
  for (const { ns } of victims) {
    const r = await run('ip', ['netns', 'pids', ns]);
    for (const pid of r.stdout.split(/\s+/).filter(Boolean).map(Number)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  }
  await Promise.all(victims.map(({ ns }) => run('ip', ['netns', 'del', ns])));
  return victims.map((v) => v.ns);
}

let availability: Promise<string | null> | null = null;

/** null if lab tests can run here, else the reason why not. Cached. */
export function labUnavailableReason(): Promise<string | null> {
  availability ??= (async () => {
    if (process.platform !== 'linux') return `needs Linux (platform is ${process.platform})`;
    if (process.getuid?.() !== 0) return 'needs root (ip netns, nft)';
    for (const [bin, arg] of [
      ['ip', '-V'],
      ['nft', '--version'],
      ['arping', '-V'],
    ] as const) {
      const r = await run(bin, [arg]);
      if (r.code === 127) return `${bin} not installed (apt-get install -y iproute2 nftables iputils-arping)`;
    }
    const ns = `${DEFAULT_PREFIX}-${randomId()}-chk`;
    const add = await run('ip', ['netns', 'add', ns]);
    if (add.code !== 0) return `ip netns add failed: ${add.stderr.trim()}`;
    try {
      const r = await run('ip', ['netns', 'exec', ns, 'nft', 'list', 'tables']);
      if (r.code !== 0) return `nft unusable in a namespace: ${r.stderr.trim()}`;
      const v = await run('ip', ['-n', ns, 'link', 'add', 'chk0', 'type', 'veth', 'peer', 'name', 'chk1']);
      if (v.code !== 0) return `veth unusable: ${v.stderr.trim()}`;
      return null;
    } finally {
      await run('ip', ['netns', 'del', ns]);
    }
  })();
  return availability;
}

/**
 * For lab tests: `if (!(await requireLab(t))) return;`. Skips the test with a clear message
 * when the lab cannot run here. With PIHA_LAB_REQUIRED=1 or CI set, it throws instead, so
 * CI never silently skips the lab suite.
 */
export async function requireLab(t: { skip(message?: string): void }): Promise<boolean> {
  const reason = await labUnavailableReason();
  if (reason === null) return true;
  const msg = `lab tests skipped: ${reason}`;
  if (process.env.PIHA_LAB_REQUIRED === '1' || process.env.CI) throw new Error(msg);
  t.skip(msg);
  return false;
}

export { HERE as LAB_DIR };
