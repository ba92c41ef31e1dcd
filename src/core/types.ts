// Inputs, messages and effects of the pure cluster core.
//
// The core is a deterministic state machine (see core/node.ts). The driver (daemon or
// simulator) feeds it Inputs together with a reading of the local *monotonic* clock in
// milliseconds, and executes the Effects it returns, in order. The core never reads a
// clock, never sleeps, never touches a socket. Node ids are the `id` of config `nodes:`.

/** A lease key: `coord` (the coordinator role) or `r:<resource name>`. */
export type LeaseKey = string;

/** An attribute write in the cluster-wide last-writer-wins map (standby, move, cleanup). */
export interface AttrEntry {
  v: string | number | boolean | null;
  c: number; // lamport counter
  n: number; // writer node id (tie-breaker)
  /**
   * The writer's incarnation, the last tie-breaker: a node restarted without its state dir
   * counts from 0 again and can reuse a (c, n) its earlier run wrote with another value.
   * Absent in state saved by builds before it (reads as 0).
   */
  i?: number;
}

export interface Heartbeat {
  t: 'hb';
  from: number;
  inc: number; // incarnation of the sender (grows on every restart)
  /** The coordinator's term if the sender holds the coordinator lease right now. */
  coord?: number;
  /** Only from the coordinator: resource name -> node id assigned to hold it (0 = nobody). */
  assign?: Record<string, number>;
  /** Highest coordinator term the sender knows. */
  term: number;
  /** Resources whose lease the sender holds now. */
  holds: string[];
  /** Effective monitor fail count per resource on the sender. */
  fails: Record<string, number>;
  /** Cluster-wide attributes (gossiped, merged by lamport order). */
  attrs: Record<string, AttrEntry>;
  /** The sender's newest request round when it sent this: keys promised to it in that round
   *  or before that are in neither `holds` nor `req` were let go (fencing needs to know). */
  seq?: number;
  /** Lease requests of this round: keys the sender wants to hold or keep. */
  req?: { round: number; keys: LeaseKey[]; coordTerm?: number };
  /** Digest of the sender's cluster configuration: nodes with another one are reported. */
  cfg?: string;
  /** Cluster configuration: [accepted epoch, accepted term, applied epoch, applied term]. */
  cv?: number[];
  /** Only from a ready coordinator: the committed configuration version [epoch, term]. */
  cc?: number[];
  /** Digest of the sender's applied configuration: from a ready coordinator (with cc), and from
   *  a node whose applied document has cc's version but another digest (replica.ts, rule 6). */
  cd?: string;
  /** Node id -> highest incarnation of it known to be powered off (fencing; merged by max). */
  fenced?: Record<string, number>;
  /** Node id -> incarnation: silent nodes this sender's granter still owes a VIP promise to,
   *  so they must be fenced before their VIPs can move (told to the coordinator). */
  unfenced?: Record<string, number>;
  /** Only in the copy sent to `grant.to`: the sender's answer to that node's lease request,
   *  carried here instead of in a `grant` datagram of its own (node.ts, onHeartbeat). */
  grant?: GrantBody;
}

/** A LeaseReply as carried inside a heartbeat: the granter is the heartbeat's sender. */
export type GrantBody = Omit<LeaseReply, 't' | 'from'>;

export interface LeaseReply {
  t: 'grant';
  from: number;
  to: number;
  toInc: number;
  round: number;
  granted: LeaseKey[];
  denied: { key: LeaseKey; holder: number; remainingMs: number }[];
  term: number; // granter's highest coordinator term
}

export interface ReleaseMsg {
  t: 'rel';
  from: number;
  inc: number;
  round: number; // releases every grant to the sender up to this round
  keys: LeaseKey[];
}

export interface LeaveMsg {
  t: 'leave';
  from: number;
  inc: number;
}

/** Fencing: the initiator (coordinator, or a node running `piha stonith fence`) asks a node
 *  that can drive `target`'s fence device to cut its power. */
export interface FenceRequest {
  t: 'fence';
  from: number;
  to: number;
  target: number;
  /** The target's incarnation the initiator knows: the fence covers it and every earlier one. */
  inc: number;
  /** Identifies the attempt (initiator-local counter). */
  attempt: number;
}

/** The outcome of a fence, from the node that ran it, to every node. */
export interface FenceResultMsg {
  t: 'fres';
  from: number;
  target: number;
  inc: number;
  attempt: number;
  initiator: number;
  ok: boolean;
  /** Device used and what happened, for status and history. */
  detail: string;
}

/** Cluster configuration document: a proposal (commit false) or a committed one (catch-up). */
export interface CfgDoc {
  t: 'cdoc';
  from: number;
  /** Coordinator term of the sender's coordinator (stale coordinators are ignored). */
  cterm: number;
  epoch: number;
  dterm: number;
  /** The document, JSON in the file's shape (config/cluster-doc.ts); validated on arrival. */
  doc: string;
  commit: boolean;
}

export interface CfgAck {
  t: 'cack';
  from: number;
  epoch: number;
  dterm: number;
}

/** A new coordinator asks for the newest accepted document a node reported. */
export interface CfgPull {
  t: 'cpull';
  from: number;
  to: number;
  cterm: number;
}

/** A configuration change, forwarded to the coordinator (`change` is config/cluster-doc ConfigChange JSON). */
export interface CfgRequest {
  t: 'creq';
  from: number;
  to: number;
  id: number;
  change: string;
}

export interface CfgResult {
  t: 'cres';
  from: number;
  to: number;
  id: number;
  ok: boolean;
  message: string;
}

export type Message = Heartbeat | LeaseReply | ReleaseMsg | LeaveMsg | FenceRequest | FenceResultMsg | CfgDoc | CfgAck | CfgPull | CfgRequest | CfgResult;

export type Command =
  | { op: 'standby'; node: string; on: boolean }
  | { op: 'move'; resource: string; node: string }
  | { op: 'clear'; resource: string }
  | { op: 'cleanup'; resource: string }
  /** `piha stonith fence NODE`: power-fence it now (the reply waits for the outcome). */
  | { op: 'fence'; node: string }
  /** `piha stonith confirm NODE` (pcs stonith confirm): the user swears NODE is off. */
  | { op: 'fence-confirm'; node: string }
  /** A cluster configuration change (config/cluster-doc.ts ConfigChange as JSON); replied once committed. */
  | { op: 'config'; change: string };

export type Input =
  | { kind: 'tick' }
  | { kind: 'message'; msg: Message }
  /** Result of the driver's monitor of a resource this node holds (address present, link up, checks). */
  | {
      kind: 'monitor';
      resource: string;
      ok: boolean;
      reason?: string;
      /** The address is gone because its kernel lifetime ran out before the daemon could extend
       *  it (or an add was skipped past notAfter): the daemon was late, the resource is fine.
       *  Re-added at the next fresh grant, not counted toward the migration threshold. */
      lapsed?: boolean;
    }
  | { kind: 'command'; id: number; cmd: Command }
  /**
   * The driver reached `ip` after a refresh's notAfter and did not apply it: the lifetime was
   * not extended, so the core refreshes again at the next fresh grant instead of a spacing later.
   */
  | { kind: 'refresh-skipped'; resource: string }
  /** Clean stop: release everything, tell the peers, then the driver may exit. */
  | { kind: 'shutdown' }
  /** The driver ran a `fence` effect: `ok` = the device read the power back as off. */
  | { kind: 'fence-result'; target: number; inc: number; attempt: number; initiator: number; ok: boolean; detail: string };

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

import type { ResourceConfig } from '../config/types.ts';

export type Effect =
  | { kind: 'send'; to: number; msg: Message }
  /**
   * Add the VIP and announce it. `validLftSec` is the kernel-side lifetime (null = forever,
   * only in profiles too fast for whole-second lifetimes). The driver must skip the effect
   * if its monotonic clock is already past `notAfter`: a stalled driver must not hand the
   * kernel a lifetime computed before the stall.
   */
  | { kind: 'acquire'; resource: string; ip: string; cidr: number; validLftSec: number | null; notAfter: number; term: number }
  /** Extend the kernel lifetime of a VIP this node holds; same `notAfter` rule. */
  | { kind: 'refresh'; resource: string; ip: string; cidr: number; validLftSec: number; notAfter: number }
  /** Remove the VIP. The driver completes it before executing any later effect. */
  | { kind: 'release'; resource: string; ip: string; cidr: number; reason: string }
  /** The configured resources changed (at start, and when a cluster configuration is applied):
   *  the driver (re)starts monitors and health checks for exactly these. */
  | { kind: 'resources'; resources: ResourceConfig[] }
  | { kind: 'log'; level: LogLevel; event: string; fields: Record<string, unknown> }
  | { kind: 'reply'; id: number; ok: boolean; message: string }
  /**
   * Cut the power of `target` with a fence device this node can drive, read it back as off,
   * then step({kind:'fence-result'}); with action reboot, switch it on again afterwards.
   * The driver runs one fence per target at a time and ignores repeats while it runs.
   */
  | { kind: 'fence'; target: number; targetName: string; inc: number; attempt: number; initiator: number }
  /** Persist the node's durable state (attributes) atomically. */
  | { kind: 'persist'; state: PersistedState };

export interface PersistedState {
  attrs: Record<string, AttrEntry>;
  lamport: number;
  /** The replicated cluster configuration: the newest committed (applied) and accepted documents. */
  config?: { applied: PersistedDoc; accepted: PersistedDoc };
  /** Highest coordinator term known: terms never go back across restarts (as Raft's currentTerm),
   *  so a node that restarts still refuses a deposed coordinator's configuration proposals. */
  term?: number;
  /** VIP promises that need a fence before they may lapse (fencing mode `device`): see Granter.obligations. */
  obligations?: { key: string; to: number; inc: number; round: number }[];
}

export interface PersistedDoc {
  epoch: number;
  term: number;
  doc: string;
}

export type NodeState = 'online' | 'offline' | 'standby';
export type ResourceState = 'started' | 'stopped' | 'starting';

export interface CoreStatus {
  node: { id: number; name: string };
  quorate: boolean;
  votes: number;
  expectedVotes: number;
  quorumVotes: number;
  coordinator: { id: number; name: string; term: number } | null;
  term: number;
  nodes: {
    id: number;
    name: string;
    role: 'member' | 'witness';
    state: NodeState;
    lastSeenMs: number | null; // age of the last heartbeat; null = never seen
  }[];
  resources: {
    name: string;
    ip: string;
    cidrNetmask: number;
    state: ResourceState;
    holder: string | null;
    assignedTo: string | null;
    failCount: number; // on this node
    failCounts: Record<string, number>; // every node's as last heard
    leaseRemainingMs: number | null; // on this node, when it holds it
    /** This node's last lease renewal round trip for it (request sent -> majority granted), while it holds or acquires it. */
    renewalMs: number | null;
  }[];
  attrs: Record<string, AttrEntry>;
  distrustingSelf: boolean;
  /** Online nodes whose configuration digest differs from this node's. */
  configMismatch?: string[];
  fencing: FencingStatus;
  /** The replicated cluster configuration in force on this node. */
  config: {
    epoch: number;
    term: number;
    acceptedEpoch: number;
    digest: string;
    source: 'file' | 'cluster';
    coordinatorReady: boolean;
    /** two_node tie-breaker without a saved configuration: the voters it must hear before it may change it. */
    waitingFor?: string[];
  };
}

/** How a lost VIP holder is made harmless, and what fencing is doing (piha stonith ...). */
export interface FencingStatus {
  /** lease: leases + kernel lifetime + guard; watchdog: + SBD rule; device: + fence devices. */
  modes: ('lease' | 'watchdog' | 'device')[];
  stonithEnabled: boolean;
  /** Extra wait before a silent holder's VIP may move (watchdog timeout with margins), ms. */
  watchdogWaitMs: number;
  /** Members some fence device covers. */
  covered: string[];
  /** Fences wanted or running, as this node knows them. */
  pending: { node: string; inc: number; attempts: number; lastError: string | null; sinceMs: number }[];
  /** Nodes whose VIP promises wait for a fence on this node's granter. */
  blocking: string[];
  history: FenceEvent[];
}

export interface FenceEvent {
  agoMs: number;
  node: string;
  inc: number;
  ok: boolean;
  by: string; // node that ran the device (or confirmed by hand)
  initiator: string;
  detail: string;
}
