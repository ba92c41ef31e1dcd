// Runs iproute2 commands, in order, one at a time.
//
// Default scheme: one long-lived `ip -j -force -batch -` fed a line per command. A refresh
// then costs a pipe round trip instead of a fork+exec of `ip` (see the measurements in the
// vip-ip test). Batch mode prints no "done" signal, so every command line is followed by a
// marker line `piha-mark-<n>`: an unknown object, which fails harmlessly and makes ip print
// `Command failed -:<line>` for it. ip counts input lines, and we write a command's line (or,
// for runThen, two commands' lines) and then its marker, so `Command failed -:<L>` for a
// command's own line means that command failed (the error text before it is that command's)
// and the one for the marker's line means the job is complete. stderr is merged into stdout
// (`2>&1`, one pipe) so the marker cannot overtake the command's own output: ip flushes
// stdout at the end of each JSON dump and stderr is unbuffered.
//
// `-force` keeps ip going after a failed command, but usage errors (a bad prefix, an unknown
// subcommand) still exit the process. If the batch process dies or hangs with a command in
// flight, that command is re-run once via a per-command spawn (guard re-checked), and the
// next command starts a fresh batch process. Commands must therefore be idempotent
// (replace/change/del/show are). A batch process that dies before completing anything (no
// `sh`, bad ip) is retried with backoff; meanwhile commands are spawned.

import { spawn, type ChildProcess } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { silentLogger, type VipLogger } from './log.ts';

export interface IpResult {
  ok: boolean;
  /** JSON (or text) ip printed on stdout. */
  stdout: string;
  /** Error text. In batch mode stdout and stderr share one pipe and non-JSON lines land here. */
  stderr: string;
  /** The guard refused: nothing was handed to the kernel. */
  skipped?: boolean;
  /** With skipped: what the runner was busy with when this command was queued (the
   *  command in flight, and how many waited before it), or undefined when it was idle. */
  behind?: string;
  via: 'batch' | 'spawn' | 'none';
}

export interface RunOptions {
  /** Evaluated as the very last thing before the command is written/spawned; false = skip. */
  guard?: () => boolean;
}

export interface IpRunnerOptions {
  ipPath?: string;
  /** Tests only: run in this named netns (`ip -n NS`). The daemon runs inside its netns. */
  netns?: string;
  /** Pass `-j` (default true): show commands print JSON. */
  json?: boolean;
  /** 'batch' (default) or 'spawn' (every command forks ip). */
  mode?: 'batch' | 'spawn';
  /** A command (batch or spawn) taking longer than this is killed (default 5000 ms). */
  timeoutMs?: number;
  logger?: VipLogger;
}

export interface IpRunnerStats {
  batchCommands: number;
  spawnCommands: number;
  batchStarts: number;
  batchDeaths: number;
  timeouts: number;
}

interface Job {
  args: string[];
  /** A second command written together with the first (runThen): one round trip for both. */
  then?: { args: string[]; resolve(r: IpResult): void };
  guard?: () => boolean;
  resolve(r: IpResult): void;
  /** What was ahead of this job when it was queued; formatted into IpResult.behind only on a skip. */
  ahead?: { job: Job | undefined; queued: number };
}

interface Batch {
  child: ChildProcess;
  lines: number; // input lines written; ip numbers them the same way
  completed: number;
  dead: boolean;
}

interface InFlight {
  job: Job;
  batch: Batch;
  cmdLine: number;
  /** The line of job.then's command (NaN without one). */
  thenLine: number;
  markLine: number;
  failed: boolean;
  thenFailed: boolean;
  done: (r: IpResult, then?: IpResult) => void;
  out: string[];
  err: string[];
  thenErr: string[];
  /** Error text not yet claimed by a `Command failed -:<line>` (ip prints it after the text). */
  pending: string[];
  size: number;
  timer: NodeJS.Timeout;
}

// Args that survive ip's batch line parser unchanged: no whitespace, quotes, `#` (comment)
// or `\` (continuation). Anything else goes through spawn, which needs no quoting.
const BATCH_SAFE = /^[A-Za-z0-9_.:\/@%+=,-]+$/;
const MARK_PREFIX = 'piha-mark-';
const FAILED_RE = /Command failed -:(\d+)$/;
const MARK_RE = new RegExp(`^Object "${MARK_PREFIX}\\d+" is unknown`);
const MAX_CAPTURE = 1 << 20;

export class IpRunner {
  readonly stats: IpRunnerStats = { batchCommands: 0, spawnCommands: 0, batchStarts: 0, batchDeaths: 0, timeouts: 0 };
  private readonly ipPath: string;
  private readonly globalArgs: string[];
  private readonly mode: 'batch' | 'spawn';
  private readonly timeoutMs: number;
  private readonly log: VipLogger;
  private readonly queue: Job[] = [];
  private busy = false;
  private closed = false;
  private batch?: Batch;
  private inFlight?: InFlight;
  private partial = '';
  private markSeq = 0;
  private backoffMs = 0;
  private backoffUntil = 0;
  private idleWaiters: (() => void)[] = [];

  constructor(opts: IpRunnerOptions = {}) {
    this.ipPath = opts.ipPath ?? 'ip';
    this.globalArgs = [...(opts.netns ? ['-n', opts.netns] : []), ...(opts.json === false ? [] : ['-j'])];
    this.mode = opts.mode ?? 'batch';
    this.timeoutMs = opts.timeoutMs ?? 5000;
    this.log = opts.logger ?? silentLogger;
  }

  /** Pid of the live batch process, if any (tests kill it to check recovery). */
  get batchPid(): number | undefined {
    return this.batch && !this.batch.dead ? this.batch.child.pid : undefined;
  }

  run(args: string[], opts: RunOptions = {}): Promise<IpResult> {
    if (this.closed) return Promise.resolve({ ok: false, stdout: '', stderr: 'ip runner closed', via: 'none' });
    return new Promise((resolve) => {
      this.queue.push({ args, guard: opts.guard, resolve, ahead: this.ahead() });
      this.pump();
    });
  }

  /**
   * Two commands in one round trip: both lines are written at once (the guard is checked once,
   * before), so `then` runs whatever `first` found. Only `first` may print JSON (a show); both
   * results come back. Spawn mode runs them one after the other, the guard before each.
   */
  runThen(first: string[], then: string[], opts: RunOptions = {}): Promise<[IpResult, IpResult]> {
    const closed: IpResult = { ok: false, stdout: '', stderr: 'ip runner closed', via: 'none' };
    if (this.closed) return Promise.resolve([closed, closed]);
    return new Promise((resolve) => {
      let r1: IpResult | undefined;
      let r2: IpResult | undefined;
      const settle = () => r1 && r2 && resolve([r1, r2]);
      this.queue.push({
        args: first,
        guard: opts.guard,
        ahead: this.ahead(),
        resolve: (r) => ((r1 = r), settle()),
        then: { args: then, resolve: (r) => ((r2 = r), settle()) },
      });
      this.pump();
    });
  }

  /** What a job queued now waits behind (a reference and a count: this runs for every command). */
  private ahead(): Job['ahead'] {
    return this.busy ? { job: this.inFlight?.job, queued: this.queue.length } : undefined;
  }

  /** IpResult.behind for a skipped job: the command that was in flight, and how many waited before it. */
  private static behind(job: Job): string | undefined {
    const a = job.ahead;
    if (!a) return undefined;
    const what = a.job ? [a.job.args, ...(a.job.then ? [a.job.then.args] : [])].map((x) => x.join(' ')).join(' ; ') : 'a spawned ip';
    return a.queued ? `${what} (+${a.queued} queued)` : what;
  }

  /** Finish the command in flight, fail queued ones, stop the batch process. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const job of this.queue.splice(0)) job.resolve({ ok: false, stdout: '', stderr: 'ip runner closed', via: 'none' });
    if (this.busy) await new Promise<void>((r) => this.idleWaiters.push(r));
    const b = this.batch;
    if (b && !b.dead) {
      const exited = new Promise<void>((r) => b.child.once('close', () => r()));
      b.child.stdin?.end(); // EOF: ip leaves its loop and exits 0
      const t = setTimeout(() => b.child.kill('SIGKILL'), 1000);
      await exited;
      clearTimeout(t);
    }
  }

  private pump(): void {
    if (this.busy) return;
    const job = this.queue.shift();
    if (!job) {
      for (const w of this.idleWaiters.splice(0)) w();
      return;
    }
    this.busy = true;
    const done = (r: IpResult, then?: IpResult): void => {
      this.busy = false;
      // A paired command skipped or not run with its first (closed runner) says so too.
      job.then?.resolve(then ?? { ...r, ok: false, stdout: '' });
      job.resolve(r);
      this.pump();
    };
    if (this.useBatch(job.args) && (!job.then || this.useBatch(job.then.args))) this.runBatch(job, done);
    else this.runSpawn(job, done);
  }

  private useBatch(args: string[]): boolean {
    if (this.mode !== 'batch' || this.closed) return false;
    if (args.length === 0 || !args.every((a) => BATCH_SAFE.test(a))) return false;
    return !!(this.batch && !this.batch.dead) || performance.now() >= this.backoffUntil;
  }

  private runBatch(job: Job, done: (r: IpResult, then?: IpResult) => void): void {
    const b = this.batch && !this.batch.dead ? this.batch : this.startBatch();
    if (job.guard && !job.guard()) return done({ ok: false, stdout: '', stderr: '', skipped: true, via: 'none', behind: IpRunner.behind(job) });
    const mark = `${MARK_PREFIX}${++this.markSeq}`;
    const lines = [job.args.join(' '), ...(job.then ? [job.then.args.join(' ')] : []), mark];
    const cmdLine = b.lines + 1;
    const thenLine = job.then ? b.lines + 2 : NaN;
    const markLine = b.lines + lines.length;
    b.lines += lines.length;
    const timer = setTimeout(() => this.onTimeout(b), this.timeoutMs);
    this.inFlight = { job, batch: b, cmdLine, thenLine, markLine, failed: false, thenFailed: false, done, out: [], err: [], thenErr: [], pending: [], size: 0, timer };
    // One write for all lines: a pipe write this small is atomic and usually synchronous.
    b.child.stdin!.write(`${lines.join('\n')}\n`);
    this.stats.batchCommands += job.then ? 2 : 1;
  }

  private startBatch(): Batch {
    // `exec` so the pid we hold is ip itself; `2>&1` so output and errors stay in order.
    const argv = [...this.globalArgs, '-force', '-batch', '-'];
    const child = spawn('/bin/sh', ['-c', 'exec "$0" "$@" 2>&1', this.ipPath, ...argv], {
      stdio: ['pipe', 'pipe', 'ignore'],
    });
    const b: Batch = { child, lines: 0, completed: 0, dead: false };
    this.batch = b;
    this.partial = '';
    this.stats.batchStarts++;
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (chunk: string) => this.onData(b, chunk));
    child.stdin!.on('error', () => {}); // EPIPE after death; 'close' handles it
    child.on('error', (e) => this.onDeath(b, String(e)));
    // 'close' (not 'exit'): the output ip printed before dying is processed first.
    child.on('close', (code, sig) => this.onDeath(b, `exit ${code ?? sig}`));
    return b;
  }

  private onData(b: Batch, chunk: string): void {
    if (b !== this.batch || b.dead) return;
    const text = this.partial + chunk;
    const lines = text.split('\n');
    this.partial = lines.pop() ?? '';
    for (const line of lines) this.onLine(b, line);
  }

  private onLine(b: Batch, line: string): void {
    const f = this.inFlight;
    if (!f || f.batch !== b) {
      if (line && !MARK_RE.test(line)) this.log.warn({ line }, 'ip batch: output with no command in flight');
      return;
    }
    const m = FAILED_RE.exec(line);
    if (m) {
      const n = Number(m[1]);
      const rest = line.slice(0, m.index);
      if (rest) f.pending.push(rest); // output that lacked a trailing newline
      // The error text before a failure marker is that command's.
      if (n === f.cmdLine) {
        f.failed = true;
        f.err.push(...f.pending.splice(0));
      } else if (n === f.thenLine) {
        f.thenFailed = true;
        f.thenErr.push(...f.pending.splice(0));
      } else if (n === f.markLine) return this.complete(b, f);
      return;
    }
    if (MARK_RE.test(line)) return;
    // With -j ip prints only JSON on stdout; everything else is an error/warning message.
    if ((f.size += line.length) > MAX_CAPTURE) return;
    (line.startsWith('[') || line.startsWith('{') ? f.out : f.pending).push(line);
  }

  private complete(b: Batch, f: InFlight): void {
    clearTimeout(f.timer);
    this.inFlight = undefined;
    b.completed++;
    this.backoffMs = 0;
    // Unclaimed text (warnings of a command that succeeded) goes with the last command.
    (f.job.then ? f.thenErr : f.err).push(...f.pending);
    const first: IpResult = { ok: !f.failed, stdout: f.out.join('\n'), stderr: f.err.join('\n'), via: 'batch' };
    f.done(first, f.job.then ? { ok: !f.thenFailed, stdout: '', stderr: f.thenErr.join('\n'), via: 'batch' } : undefined);
  }

  private onTimeout(b: Batch): void {
    this.stats.timeouts++;
    this.log.warn({ pid: b.child.pid, timeoutMs: this.timeoutMs }, 'ip batch: command timed out, killing batch process');
    b.child.kill('SIGKILL');
    this.onDeath(b, 'timeout');
  }

  private onDeath(b: Batch, why: string): void {
    if (b.dead) return;
    b.dead = true;
    if (!this.closed) this.stats.batchDeaths++;
    if (b.completed === 0) {
      // Never worked: don't respawn a broken batch process for every command.
      this.backoffMs = Math.min(Math.max(this.backoffMs * 2, 1000), 60_000);
      this.backoffUntil = performance.now() + this.backoffMs;
    }
    if (b.child.exitCode === null && b.child.signalCode === null) b.child.kill('SIGKILL');
    const f = this.inFlight?.batch === b ? this.inFlight : undefined;
    if (!(this.closed && !f)) this.log.warn({ pid: b.child.pid, why, inFlight: f && [f.job.args, ...(f.job.then ? [f.job.then.args] : [])].map((a) => a.join(' ')).join(' ; ') }, 'ip batch process died');
    if (!f) return;
    clearTimeout(f.timer);
    this.inFlight = undefined;
    // Whether the kernel saw the command is unknown: run it again the slow, certain way.
    this.runSpawn(f.job, f.done);
  }

  /** Per-command spawns: the first command, then (guard checked again) the paired one. */
  private runSpawn(job: Job, done: (r: IpResult, then?: IpResult) => void): void {
    this.spawnOne(job.args, job.guard, (r1) => {
      if (r1.skipped) r1.behind = IpRunner.behind(job);
      if (!job.then || r1.skipped) return done(r1, job.then ? { ...r1, stdout: '' } : undefined);
      this.spawnOne(job.then.args, job.guard, (r2) => done(r1, r2));
    });
  }

  private spawnOne(args: string[], guard: (() => boolean) | undefined, done: (r: IpResult) => void): void {
    if (guard && !guard()) return done({ ok: false, stdout: '', stderr: '', skipped: true, via: 'none' });
    this.stats.spawnCommands++;
    const child = spawn(this.ipPath, [...this.globalArgs, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let settled = false;
    const settle = (ok: boolean, extra = ''): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      done({ ok, stdout: out.trim(), stderr: (err + extra).trim(), via: 'spawn' });
    };
    const timer = setTimeout(() => {
      this.stats.timeouts++;
      child.kill('SIGKILL');
      settle(false, `\ntimed out after ${this.timeoutMs} ms`);
    }, this.timeoutMs);
    child.stdout!.setEncoding('utf8').on('data', (c: string) => { if (out.length < MAX_CAPTURE) out += c; });
    child.stderr!.setEncoding('utf8').on('data', (c: string) => { if (err.length < MAX_CAPTURE) err += c; });
    child.on('error', (e) => settle(false, String(e)));
    child.on('close', (code) => settle(code === 0));
  }
}
