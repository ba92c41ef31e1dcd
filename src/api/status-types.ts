// Shapes the daemon exposes to the outside: the HTTP status endpoint (`/status`,
// `/metrics`) and the local control socket the CLI talks to. Types only: the daemon fills
// them in from the core's `CoreStatus` plus its own counters.

import type { Command, CoreStatus, FencingStatus } from '../core/types.ts';

/** Host facts for `/status`; sampled in the background (see system-info.ts), never per request. */
export interface SystemFacts {
  hostname: string;
  uptimeSec: number;
  load1: number;
  load5: number;
  load15: number;
  memTotalBytes: number;
  memAvailableBytes: number;
  /** null where the board exposes no sensor (most x86 VMs). */
  cpuTempC: number | null;
}

/** What the split-brain protection does and does not promise, stated to the operator. */
export interface SafetyInfo {
  /** The strongest mode in force: lease < watchdog < device. */
  mode: 'lease' | 'watchdog' | 'device';
  modes: ('lease' | 'watchdog' | 'device')[];
  /** True when VIPs are added with a kernel valid_lft, so a stalled daemon loses them anyway. */
  kernelLifetime: boolean;
  covers: string[];
  doesNotCover: string[];
}

export type NodeStatus = CoreStatus['nodes'][number];
export type ResourceStatus = CoreStatus['resources'][number];

export interface DaemonStatus {
  cluster: string;
  version: string;
  node: { id: number; name: string };
  quorate: boolean;
  votes: number;
  expectedVotes: number;
  quorumVotes: number;
  coordinator: CoreStatus['coordinator'];
  term: number;
  profile: string;
  safety: SafetyInfo;
  nodes: NodeStatus[];
  resources: ResourceStatus[];
  system: SystemFacts;
  /** Online nodes whose cluster configuration differs from this node's. */
  configMismatch?: string[];
  /** Set when the configuration file changed on disk and is valid: a restart applies it. */
  configPending?: string;
  fencing?: DaemonFencingStatus;
  /** The replicated cluster configuration: epoch in force; fileDiffers = this node's piha.yaml
   *  has other resources/defaults than the cluster (the cluster's are in force). */
  config?: CoreStatus['config'] & { fileDiffers: boolean };
  /** The status LED's pattern (null: no LED configured). */
  led?: string | null;
  /** Set while this node cannot save its durable state: it sends nothing until it can. */
  stateSave?: StateSaveProblem;
}

/** A node that cannot save what it is about to promise stays silent (src/daemon/daemon.ts). */
export interface StateSaveProblem {
  /** The state directory. */
  dir: string;
  /** The last error, e.g. "EROFS: read-only file system, open '/var/lib/piha/state.a'". */
  error: string;
  /** Seconds since the first failed save of this episode. */
  silentForSec: number;
  /** Messages not sent since then. */
  droppedSends: number;
}

/** The core's view of fencing plus this node's watchdog and devices (`piha stonith ...`). */
export interface DaemonFencingStatus extends FencingStatus {
  action: 'reboot' | 'off';
  watchdog: { enabled: boolean; device: string; configuredSec: number; timeoutSec: number | null; pets: number; withheld: number };
  devicesHere: { name: string; type: string; hosts: string[] }[];
  devices: { name: string; type: string; hosts: string[]; runOn: string[] }[];
}

/**
 * What the daemon hands the status server: `system` may be left out, the server fills it
 * from its cache (a full `DaemonStatus` is accepted too; its `system` is then replaced).
 */
export type DaemonStatusInput = Omit<DaemonStatus, 'system'> & { system?: SystemFacts };

/** Point-in-time values for `/metrics`. Counters are totals since the daemon started. */
export interface MetricsSnapshot {
  quorate: boolean;
  nodesOnline: number;
  votes: number;
  expectedVotes: number;
  /** One entry per configured resource; `held` = this node has the address now. */
  vips: { resource: string; ip: string; held: boolean }[];
  /** Resource name -> this node's effective monitor fail count. */
  resourceFailCounts: Record<string, number>;
  failoversTotal: number;
  /** Held VIPs lost to their kernel lifetime because the daemon renewed too late (re-added, not failures). */
  vipLapsesTotal: number;
  /** Resource name -> this node's last lease renewal round trip (s), for resources it holds or acquires. */
  leaseRenewalSeconds?: Record<string, number>;
  /** The longest renewal round trip that still gives a 1 s kernel lifetime (s); absent without one (fast). */
  leaseRenewalBudgetSeconds?: number;
  packetsReceivedTotal: number;
  packetsSentTotal: number;
  /** Reason (e.g. 'auth', 'replay', 'malformed') -> count. */
  packetsRejectedTotal: Record<string, number>;
  /** Peer node name -> last measured heartbeat round trip, in seconds. */
  heartbeatRttSeconds: Record<string, number>;
  /** This node is the coordinator. */
  coordinator: boolean;
  term: number;
  loopLagSeconds: number;
  /** Pause of the last periodic full garbage collection (src/daemon/heap.ts), 0 before the first. */
  gcPauseSeconds?: number;
  /** Periodic full garbage collections run since the start. */
  gcRunsTotal?: number;
  /** Defaults to process.memoryUsage.rss() at render time when left out. */
  residentMemoryBytes?: number;
  fencing?: {
    /** Nodes this node is trying to fence (as initiator). */
    pending: string[];
    /** Nodes whose VIP promises wait for a fence on this node. */
    blocking: string[];
    /** Target node -> fence outcomes of devices run on this node. */
    outcomes: Record<string, { ok: number; failed: number }>;
    watchdogEnabled: boolean;
    watchdogPets: number;
    watchdogWithheld: number;
  };
  /** Notify hook name -> failed runs (src/daemon/hooks.ts); one entry per configured hook. */
  hookFailuresTotal?: Record<string, number>;
  /** Saves of the durable state that failed, since the daemon started. */
  stateSaveFailuresTotal?: number;
  /** 1 while the node is silent because its state cannot be saved. */
  stateUnsaved?: boolean;
  /** Online nodes whose cluster configuration differs from this node's. */
  configMismatchNodes?: number;
  /** Per VIP: conflict probes another host answered (src/vip/conflict.ts); one entry per configured VIP. */
  vipConflictsTotal?: { resource: string; ip: string; count: number }[];
}

export type ControlRequest =
  | { op: 'ping' }
  | { op: 'version' }
  | { op: 'status' }
  | { op: 'command'; cmd: Command }
  | { op: 'reload' }
  /** The cluster configuration in force (piha config show, resource config, property). */
  | { op: 'config-show' }
  /** Event history after `since` (src/daemon/events.ts): data is an EventPage. */
  | { op: 'events'; since?: number };

export interface ControlResponse {
  ok: boolean;
  message?: string;
  data?: unknown;
}
