// Notify hooks (the hooks: section, config/hooks.ts): programs run on this node when the
// event history (events.ts) records one of
//
//   on_acquire          vip_acquired   this node added a VIP
//   on_release          vip_released   this node removed a VIP
//   on_quorum_lost      quorum_lost    this node's partition lost quorum
//   on_quorum_regained  quorum_gained  ... and has it again
//   on_fence            node_fenced    a node is known to be powered off (fence or `stonith confirm`)
//                       fence_failed   a fence attempt failed
//
// Contract for hook authors:
//   - Environment: PIHA_HOOK (on_acquire, ...), PIHA_EVENT (vip_acquired, ...), PIHA_RESOURCE,
//     PIHA_VIP (the address), PIHA_NODE (the node the event is about: the holder, the fenced
//     node; this node for quorum events), PIHA_SELF (this node), PIHA_TERM (coordinator term),
//     PIHA_REASON (why, in words), PIHA_TIME (ISO 8601), PIHA_SEQ (event number, per daemon run).
//     Empty when not applicable. argv is exactly as configured; no shell. Hooks run as the
//     daemon's user (root under systemd), with its environment plus these variables.
//   - Idempotent: a hook may run again for the same state — on every re-assertion (a VIP
//     re-added after it vanished, a quorum that flaps, a daemon restart that acquires again) —
//     and a burst of events for the same hook and resource runs it once with the newest one.
//     Write hooks that set a state ("make the proxy point here"), not ones that count events.
//     Hooks of different kinds are not ordered against each other: check the real state
//     (`piha status --json`) when order matters.
//   - Time-limited: still running after hooks.timeout (default 10 s), its whole process group
//     gets SIGTERM, and SIGKILL a second later. Fork a background job (setsid) for long work.
//   - Never in the way: hooks are started fire-and-forget, off the heartbeat path; at most one
//     process per hook runs at a time, later events wait (coalesced per resource, bounded).
//   - Failures (exit code != 0, killed, timed out, cannot start) are logged (hook_failed),
//     recorded in the event history, and counted in piha_hook_failures_total{hook}.

import { spawn, type ChildProcess } from 'node:child_process';
import { formatDuration } from '../config/duration.ts';
import type { HookName, HooksConfig } from '../config/types.ts';
import type { ClusterEvent } from '../api/event-types.ts';
import { monotonicNow } from './clock.ts';

/** Which recorded events fire which hook. */
export const HOOK_TRIGGERS: Readonly<Record<string, HookName>> = {
  vip_acquired: 'on_acquire',
  vip_released: 'on_release',
  quorum_lost: 'on_quorum_lost',
  quorum_gained: 'on_quorum_regained',
  node_fenced: 'on_fence',
  fence_failed: 'on_fence',
};

/** Waiting runs per hook (distinct resources); past this the oldest waiting one is dropped. */
export const MAX_PENDING_PER_HOOK = 32;
const OUTPUT_TAIL = 400;
/** After a hook exits, how long its output may still take to arrive through the pipes. */
const EXIT_DRAIN_MS = 200;

export interface HookLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface HookFailure {
  hook: HookName;
  event: string;
  resource?: string;
  reason: string;
}

export interface HookRunnerOptions {
  config: HooksConfig;
  /** This node's name (PIHA_SELF, and PIHA_NODE of quorum events). */
  self: string;
  log?: HookLog;
  /** Told of each failure (the daemon records it in the event history). */
  onFailure?: (f: HookFailure) => void;
  /** Between SIGTERM and SIGKILL of a hook's process group at its timeout. */
  killGraceMs?: number;
}

interface Job {
  event: string;
  key: string;
  env: Record<string, string>;
}

interface HookState {
  argv: string[];
  running: ChildProcess | null;
  pending: Map<string, Job>;
}

const quietLog: HookLog = { info() {}, warn() {}, error() {} };

export class HookRunner {
  /** Failures per configured hook since start (piha_hook_failures_total). */
  readonly failures: Record<string, number> = {};
  /** Completed runs per hook (success or not), for tests and status. */
  readonly runs: Record<string, number> = {};
  private readonly hooks = new Map<HookName, HookState>();
  private readonly log: HookLog;
  private closed = false;
  private idleWaiters: (() => void)[] = [];

  constructor(private readonly o: HookRunnerOptions) {
    this.log = o.log ?? quietLog;
    for (const [name, argv] of Object.entries(o.config.commands) as [HookName, string[] | undefined][]) {
      if (!argv?.length) continue;
      this.hooks.set(name, { argv, running: null, pending: new Map() });
      this.failures[name] = 0;
      this.runs[name] = 0;
    }
  }

  get configured(): HookName[] {
    return [...this.hooks.keys()];
  }

  /** A recorded event: queues the hook it triggers, if one is configured. Never blocks. */
  onEvent(ev: ClusterEvent): void {
    const hook = HOOK_TRIGGERS[ev.type];
    if (!hook) return;
    const vipEvent = hook === 'on_acquire' || hook === 'on_release';
    this.fire(hook, ev.type, {
      PIHA_RESOURCE: ev.resource ?? '',
      PIHA_VIP: ev.ip ?? '',
      PIHA_NODE: vipEvent || hook === 'on_fence' ? ev.node ?? '' : this.o.self,
      PIHA_TERM: String(ev.term),
      PIHA_REASON: ev.reason ?? (hook === 'on_quorum_lost' || hook === 'on_quorum_regained' ? ev.message : ''),
      PIHA_TIME: ev.time,
      PIHA_SEQ: String(ev.seq),
    });
  }

  /** Queues a run of `hook` (coalesced per PIHA_RESOURCE with a run not started yet). */
  fire(hook: HookName, event: string, vars: Record<string, string>): void {
    const h = this.hooks.get(hook);
    if (!h || this.closed) return;
    const env = { PIHA_HOOK: hook, PIHA_EVENT: event, PIHA_SELF: this.o.self, PIHA_RESOURCE: '', PIHA_VIP: '', PIHA_NODE: '', PIHA_TERM: '', PIHA_REASON: '', PIHA_TIME: new Date().toISOString(), PIHA_SEQ: '', ...vars };
    const key = env.PIHA_RESOURCE;
    h.pending.delete(key); // re-insert: the newest event, at the back of the queue
    h.pending.set(key, { event, key, env });
    if (h.pending.size > MAX_PENDING_PER_HOOK) {
      const [oldest] = h.pending.values();
      h.pending.delete(oldest.key);
      this.failed(hook, oldest, `dropped: more than ${MAX_PENDING_PER_HOOK} runs were waiting`);
    }
    if (!h.running) this.next(hook, h);
  }

  private next(hook: HookName, h: HookState): void {
    const [job] = h.pending.values();
    if (!job || this.closed) {
      if (!job) this.checkIdle();
      return;
    }
    h.pending.delete(job.key);
    this.start(hook, h, job);
  }

  private start(hook: HookName, h: HookState, job: Job): void {
    const [cmd, ...args] = h.argv;
    const t0 = monotonicNow();
    const timeoutMs = this.o.config.timeoutMs;
    let out = '';
    let timedOut = false;
    let done = false;
    let child: ChildProcess;
    try {
      child = spawn(cmd, args, {
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true, // its own process group: the timeout kills the script and its children
        env: { ...process.env, ...job.env },
      });
    } catch (err) {
      this.finish(hook, h, job, `cannot run ${cmd}: ${(err as Error).message}`, t0);
      return;
    }
    h.running = child;
    const keep = (d: Buffer) => {
      out = (out + d.toString('utf8')).slice(-OUTPUT_TAIL * 2);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    const killGroup = (sig: NodeJS.Signals) => {
      if (child.pid === undefined) return;
      try {
        process.kill(-child.pid, sig);
      } catch {
        // already gone
      }
    };
    let killTimer: NodeJS.Timeout | undefined;
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup('SIGTERM');
      killTimer = setTimeout(() => killGroup('SIGKILL'), this.o.killGraceMs ?? 1000);
      killTimer.unref();
    }, timeoutMs);
    timer.unref();
    const end = (problem: string | null) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      // A grandchild that kept our pipes open must not keep them (or this run) alive.
      child.stdout?.destroy();
      child.stderr?.destroy();
      if (timedOut) {
        // Make sure the whole group is gone before the next run of this hook starts.
        killGroup('SIGKILL');
        if (killTimer) clearTimeout(killTimer);
      }
      this.finish(hook, h, job, problem, t0, out);
    };
    child.on('error', (err: NodeJS.ErrnoException) => {
      const fix = err.code === 'ENOENT' ? 'no such program (check hooks: in piha.yaml)' : err.code === 'EACCES' ? 'not executable (chmod +x it)' : err.message;
      end(`cannot run ${cmd}: ${fix}`);
    });
    child.on('exit', (code, sig) => {
      const problem = timedOut ? `timed out after ${formatDuration(timeoutMs)} (killed its process group)` : code === 0 ? null : code !== null ? `exited with ${code}` : `killed by ${sig ?? 'a signal'}`;
      // 'exit' can come before the last of the hook's output has been read from the pipes:
      // end at 'close' (pipes drained) so a failure reason carries it, but no later than
      // EXIT_DRAIN_MS, since a grandchild the hook left running may hold the pipes for good.
      const drain = setTimeout(() => end(problem), EXIT_DRAIN_MS);
      drain.unref();
      child.once('close', () => {
        clearTimeout(drain);
        end(problem);
      });
    });
  }

  private finish(hook: HookName, h: HookState, job: Job, problem: string | null, t0: number, out = ''): void {
    h.running = null;
    this.runs[hook] = (this.runs[hook] ?? 0) + 1;
    const ms = Math.round(monotonicNow() - t0);
    const output = out.trim().slice(-OUTPUT_TAIL);
    if (problem === null) {
      this.log.info({ event: 'hook_ran', hook, trigger: job.event, resource: job.env.PIHA_RESOURCE || undefined, ms }, `hook ${hook} ran`);
    } else {
      this.failed(hook, job, problem + (output ? `; output: ${JSON.stringify(output)}` : ''), ms);
    }
    this.next(hook, h);
  }

  private failed(hook: HookName, job: Job, reason: string, ms?: number): void {
    this.failures[hook] = (this.failures[hook] ?? 0) + 1;
    this.log.warn({ event: 'hook_failed', hook, trigger: job.event, resource: job.env.PIHA_RESOURCE || undefined, reason, ms }, `hook ${hook} failed: ${reason}`);
    try {
      this.o.onFailure?.({ hook, event: job.event, ...(job.env.PIHA_RESOURCE ? { resource: job.env.PIHA_RESOURCE } : {}), reason });
    } catch {
      // reporting must not break the runner
    }
  }

  private busy(): boolean {
    for (const h of this.hooks.values()) if (h.running || h.pending.size) return true;
    return false;
  }

  private checkIdle(): void {
    if (this.busy()) return;
    for (const w of this.idleWaiters.splice(0)) w();
  }

  /** Resolves when nothing runs or waits (tests; the daemon's stop). */
  idle(): Promise<void> {
    if (!this.busy()) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  /**
   * Stop: hooks already queued (the on_release of a clean stop) may finish within `graceMs`;
   * then what still runs is killed with its process group and the rest is dropped.
   */
  async close(graceMs = Math.min(this.o.config.timeoutMs, 3000)): Promise<void> {
    let t: NodeJS.Timeout | undefined;
    await Promise.race([this.idle(), new Promise<void>((r) => (t = setTimeout(r, graceMs)))]);
    clearTimeout(t);
    this.closed = true;
    for (const h of this.hooks.values()) {
      h.pending.clear();
      const pid = h.running?.pid;
      if (pid !== undefined) {
        try {
          process.kill(-pid, 'SIGKILL');
        } catch {
          // gone
        }
      }
    }
    for (const w of this.idleWaiters.splice(0)) w();
  }
}

/**
 * The daemon's wiring: a runner for `config` that hears every event `events` records, and
 * records its own failures there (hook_failed) for the history, the page and `piha events`.
 */
export function attachHooks(
  events: { subscribe(fn: (e: ClusterEvent) => void): () => void; record(e: { level: 'warn'; event: string; fields: Record<string, unknown> }): unknown },
  config: HooksConfig | undefined,
  self: string,
  log?: HookLog,
): HookRunner {
  const runner = new HookRunner({
    config: config ?? { timeoutMs: 10_000, commands: {} },
    self,
    log,
    onFailure: (f) => events.record({ level: 'warn', event: 'hook_failed', fields: { node: self, hook: f.hook, trigger: f.event, resource: f.resource, reason: f.reason } }),
  });
  if (runner.configured.length) events.subscribe((e) => runner.onEvent(e));
  return runner;
}
