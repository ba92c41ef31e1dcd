// Fencing state of one node's core: which nodes a fence device covers and who can run it,
// which incarnations are known to be powered off, the fences this node started (as
// coordinator or by `piha stonith fence`) and runs (as the node wired to a device), and a
// short history. Pure: times are the core's monotonic `now`.
//
// The protocol (README "Fencing"):
//   1. Every granter keeps the VIP promises it made. A promise to a node that went silent
//      without letting go binds until that node is fenced (stonith-enabled, no watchdog), or
//      for the promise plus the watchdog wait (watchdog mode; a device only speeds it up).
//   2. Nodes tell the coordinator, in heartbeats, which silent nodes they still owe (`unfenced`).
//   3. The coordinator (with quorum) asks a node that can run a device covering the silent
//      node to fence it (`fence`); that node cuts the power, reads it back as off, and tells
//      everyone (`fres`). Failures are retried after retry_interval, on the next runner.
//   4. "Incarnations up to N of node X are off" spreads in every heartbeat (`fenced`, merged
//      by max), and each granter then drops its promises to those incarnations: the VIP moves.

import type { FencingConfig, NodeConfig } from '../config/types.ts';
import type { FenceEvent } from './types.ts';

export interface FenceAttempt {
  target: number;
  inc: number;
  /** Attempts made so far (including the running one). */
  attempts: number;
  attemptId: number;
  executor: number;
  /** Running since (0 = not running; waiting for nextAt). */
  runningSince: number;
  deadline: number;
  nextAt: number;
  since: number;
  lastError: string | null;
  /** Commands (`piha stonith fence`) waiting for the outcome; a manual attempt is not retried. */
  replyTo: number[];
  manual: boolean;
}

interface HistoryEntry {
  at: number;
  target: number;
  inc: number;
  ok: boolean;
  by: number;
  initiator: number;
  detail: string;
}

const HISTORY_MAX = 50;

export class FenceBook {
  stonithEnabled: boolean;
  readonly watchdog: boolean;
  /** target id -> ids of the nodes that may run a device covering it, in config order. */
  readonly executors = new Map<number, number[]>();
  /** target id -> longest device timeout covering it. */
  private readonly timeoutOf = new Map<number, number>();
  readonly retryIntervalMs: number;
  /** node id -> highest incarnation known to be powered off. */
  readonly fencedInc = new Map<number, number>();
  /** Fences this node started, per target. */
  readonly attempts = new Map<number, FenceAttempt>();
  /** Fences this node is running for someone, per target. */
  readonly running = new Map<number, { inc: number; attempt: number; initiator: number; since: number }>();
  private readonly history: HistoryEntry[] = [];
  private readonly seen = new Set<string>();
  private nextAttemptId = 1;

  constructor(cfg: FencingConfig, nodes: readonly NodeConfig[]) {
    const idOf = new Map(nodes.map((n) => [n.name, n.id]));
    for (const d of cfg.devices) {
      for (const host of d.hosts) {
        const t = idOf.get(host);
        if (t === undefined) continue;
        const list = this.executors.get(t) ?? [];
        for (const r of d.runOn) {
          const id = idOf.get(r);
          if (id !== undefined && id !== t && !list.includes(id)) list.push(id);
        }
        this.executors.set(t, list);
        this.timeoutOf.set(t, Math.max(this.timeoutOf.get(t) ?? 0, d.timeoutMs));
      }
    }
    this.stonithEnabled = cfg.stonithEnabled && this.executors.size > 0;
    this.watchdog = cfg.watchdog.enabled;
    this.retryIntervalMs = cfg.retryIntervalMs;
  }

  /** pcs property stonith-enabled, from the replicated cluster configuration. */
  setStonith(enabled: boolean): void {
    this.stonithEnabled = enabled && this.executors.size > 0;
  }

  covers(node: number): boolean {
    return this.stonithEnabled && (this.executors.get(node)?.length ?? 0) > 0;
  }

  /** A lapsed VIP promise to (node, inc) keeps binding: fencing is required and not done. */
  blocksAfterExpiry(node: number, inc: number): boolean {
    return this.covers(node) && !this.watchdog && !this.isFenced(node, inc);
  }

  isFenced(node: number, inc: number): boolean {
    return (this.fencedInc.get(node) ?? -1) >= inc;
  }

  /** Record "up to `inc` is off"; false if nothing new. */
  markFenced(node: number, inc: number): boolean {
    if (this.isFenced(node, inc)) return false;
    this.fencedInc.set(node, inc);
    return true;
  }

  /** How long one attempt may take before the initiator counts it as failed. */
  attemptTimeoutMs(target: number, nodeTimeoutMs: number): number {
    return 2 * (this.timeoutOf.get(target) ?? 5000) + 2 * nodeTimeoutMs;
  }

  newAttemptId(): number {
    return this.nextAttemptId++;
  }

  /** Choose who runs attempt number `n` for `target` among `online` nodes: ourselves first if we can. */
  pickExecutor(target: number, self: number, n: number, online: (id: number) => boolean): number | null {
    const list = (this.executors.get(target) ?? []).filter((id) => id !== target && online(id));
    if (list.length === 0) return null;
    const ordered = list.includes(self) ? [self, ...list.filter((id) => id !== self)] : list;
    return ordered[(n - 1) % ordered.length];
  }

  /** Remember an outcome once (results are broadcast and may arrive twice). False if seen. */
  record(e: HistoryEntry & { attempt: number }): boolean {
    const key = `${e.initiator}:${e.attempt}:${e.target}:${e.by}:${e.ok}`;
    if (this.seen.has(key)) return false;
    this.seen.add(key);
    if (this.seen.size > 4 * HISTORY_MAX) this.seen.delete(this.seen.values().next().value as string);
    this.history.push({ at: e.at, target: e.target, inc: e.inc, ok: e.ok, by: e.by, initiator: e.initiator, detail: e.detail });
    if (this.history.length > HISTORY_MAX) this.history.shift();
    return true;
  }

  events(now: number, nameOf: (id: number) => string): FenceEvent[] {
    return [...this.history].reverse().map((h) => ({
      agoMs: Math.max(0, Math.round(now - h.at)),
      node: nameOf(h.target),
      inc: h.inc,
      ok: h.ok,
      by: nameOf(h.by),
      initiator: nameOf(h.initiator),
      detail: h.detail,
    }));
  }

  gossip(): Record<string, number> | undefined {
    if (this.fencedInc.size === 0) return undefined;
    return Object.fromEntries([...this.fencedInc].map(([k, v]) => [String(k), v]));
  }
}

/**
 * The wait a granter adds to a silent holder's promise in watchdog mode: the holder stops
 * petting when its lease ends, and its watchdog resets it at most `timeoutMs` of the
 * watchdog's clock later. Counted on the granter's clock with the same drift margins as
 * the promise itself (core/timing.ts), plus `applyMs` for the reset to take the link down.
 */
export function watchdogWaitMs(timeoutMs: number, drift: number, applyMs: number): number {
  return Math.ceil((timeoutMs * (1 + drift)) / (1 - drift)) + applyMs;
}
