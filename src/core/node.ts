// The cluster core of one node: a deterministic state machine.
//
//   const core = new Core({ config, self, incarnation, seed, now, persisted });
//   const effects = core.step(input, now);   // execute effects in order
//   core.nextWakeup()                         // when to step({kind:'tick'}) next, at the latest
//
// `now` is the node's monotonic clock in ms. Nothing here reads a clock, a socket or the OS.
// Effect ordering contract: a `release` must be complete before any later effect runs (the
// `rel` messages that follow it let other nodes acquire the address).

import type { PihaConfig, NodeConfig, ResourceConfig } from '../config/types.ts';
import type {
  Command,
  CoreStatus,
  Effect,
  FenceRequest,
  FenceResultMsg,
  GrantBody,
  Heartbeat,
  Input,
  LeaseKey,
  LeaseReply,
  LogLevel,
  Message,
  PersistedState,
  ReleaseMsg,
} from './types.ts';
import { deriveTiming, kernelLifetime, type DerivedTiming } from './timing.ts';
import { quorumVotes, reachesQuorum, tieBreaker, type VoteTable } from './quorum.ts';
import { COORD_KEY, Granter, LeaseTracker, resourceKey } from './leases.ts';
import { AttrMap, cleanupKey, moveKey, standbyKey } from './attrs.ts';
import { FailCounts } from './failures.ts';
import { place, type PlacementInput } from './placement.ts';
import { Rng } from './rng.ts';
import { FenceBook, watchdogWaitMs, type FenceAttempt } from './fencing.ts';
import { ConfigReplica, type ReplicaCtx } from './replica.ts';
import { docFromConfig, type ClusterDoc } from '../config/cluster-doc.ts';

/** The effect that removes `cfg`'s address from this node (idempotent: nothing there is fine). */
function releaseOf(cfg: ResourceConfig, reason: string): Effect {
  return { kind: 'release', resource: cfg.name, ip: cfg.ip, cidr: cfg.cidrNetmask, reason };
}

export interface CoreOptions {
  config: PihaConfig;
  self: number; // node id
  incarnation: number; // grows on every restart of this node
  seed: number;
  now: number;
  persisted?: PersistedState;
  /** Extra wait before a silent holder's lease may be taken; default: from the watchdog config. */
  fenceWaitMs?: number;
  /** Digest of the cluster configuration (config/digest.ts), gossiped to spot differences. */
  configDigest?: string;
}

interface Peer {
  lastHeard: number; // -Infinity = never / left
  inc: number;
  holds: Set<string>;
  fails: Record<string, number>;
  cfg?: string;
  /** Silent nodes this peer's granter still owes a VIP promise to (node -> incarnation). */
  unfenced: Map<number, number>;
  /** Online as of the last planning pass (drive): a change replans at once. */
  seenOnline: boolean;
}

type ResState = 'idle' | 'acquiring' | 'held';

interface Res {
  cfg: ResourceConfig;
  state: ResState;
  lastRefresh: number;
  retryAt: number;
  /** Set: re-add the address at the next grant fresh enough for it (the reason logged). */
  readd: string | null;
  /**
   * Renewal round trip: from sending the request a majority granted last to the step that
   * completed that majority (null until one, and again after a release). Lan leaves ~50 ms
   * for a 1 s kernel lifetime; status and metrics show it against that budget.
   */
  renewalMs: number | null;
  /** The lease end that renewalMs was measured for. */
  renewedEnd: number;
}

/**
 * From this cluster size on, a node that only answers sends a lease answer before its round
 * (see roundAt). Measured at 3 nodes (costs +0.3 % of a core per answerer, no gain) and 32 (the
 * holder's majority on time: no idle re-adds instead of ~9 in 30 s, bench/scale.ts); the sizes
 * between were not compared (as with TurboFan, src/daemon/v8-tuning.ts).
 */
export const ANSWER_FIRST_FROM_NODES = 12;

/**
 * From this cluster size on, the coordinator and the VIP holders are kept on different nodes:
 * placement passes the coordinator over on a tie (placement.ts `avoid`), and a node holding a
 * VIP campaigns only after every node that holds none (rank). The death of a holder then needs
 * no election before its VIP moves: the coordinator that re-places the VIP is alive. In the lab
 * at 32 nodes (32 daemons on two cores) an election in the path put the takeover medians at
 * 1.8-2.3 s; with the roles apart five runs gave 1.40-1.66 s, 4 of 5 within 1.5 s (bench/scale.ts).
 * The simulator, with no CPU limit, shows no difference. Small clusters keep the roles
 * together: two requesters cost a 3-node holder 15 received datagrams a second instead of 11
 * (bench/scale-sim.ts APART=1).
 */
export const ROLES_APART_FROM_NODES = 12;

export class Core {
  readonly cfg: PihaConfig;
  readonly self: NodeConfig;
  readonly timing: DerivedTiming;
  private readonly votes: VoteTable;
  private readonly inc: number;
  private readonly rng: Rng;
  private readonly granter: Granter;
  private readonly tracker: LeaseTracker;
  private readonly attrs: AttrMap;
  private readonly fails = new FailCounts();
  private readonly peers = new Map<number, Peer>();
  private readonly res = new Map<string, Res>();
  private readonly byName = new Map<string, NodeConfig>();
  private readonly byId = new Map<number, NodeConfig>();
  private readonly startedAt: number;
  private readonly configDigest: string | undefined;
  private readonly fence: FenceBook;
  private readonly replica: ConfigReplica;
  /** The cluster configuration in force (resources, defaults, properties): replicated. */
  private doc: ClusterDoc;
  private bootOut: Effect[] = [];
  private persistedTerm = 0;

  private round = 0;
  private lastHbAt = -Infinity;
  /**
   * Lease answers owed to peers, to ride in our heartbeat to each (GrantBody) instead of a
   * datagram of their own. A holder renews once per heartbeat round and every peer answers,
   * so this halves the datagrams a holder receives (3-node lan: 20 -> 10 a second; its CPU
   * was ~0.5 % of a core above the others', bench/idle.md).
   */
  private readonly owed = new Map<number, GrantBody>();
  /** A request is expected by then (the last one + 1.25 periods): see nextHbDue(). */
  private reqExpectedBy = -Infinity;
  /**
   * Requesters (VIP holders, the coordinator) with when their next request is overdue (their
   * last + 1.25 periods). A node that requests nothing sends each of them its heartbeat when
   * its request arrives, the answer inside, and leaves them out of its other rounds; every
   * answer then rides in a heartbeat, whatever the requesters' phases. Before, the answers to
   * all requesters but the one our round locked to went alone: a VIP holder that was not the
   * coordinator received 253 messages a second at 32 nodes, 169 since, and 16 at 3, 14 since
   * (APART=1 bench/scale-sim.ts, 2026-11-27). Left out of a round is also a requester whose request
   * arrives just after it: two requesters' rounds tend to come together (a requester answers
   * with an early round), and each time their order flipped one of them got two heartbeats.
   */
  private readonly served = new Map<number, number>();
  private urgent = true;
  /** A node that only answers: its round, due because a request came, goes then (after its answer). */
  private roundAt = Infinity;
  /** A requesting node got a request when its own round was nearly due: send the round now, the answer in it. */
  private answerRound = false;
  private lastStepAt: number;
  private distrustUntil = -Infinity;
  private shuttingDown = false;
  /**
   * Bumped whenever the set of nodes we see online may have grown or shrunk other than by a
   * silence timing out: an offline peer heard, a peer gone (leave, fenced), our distrust
   * begun. Hearing a peer that is online already only moves its timeout later, so it leaves
   * the set as it is and does not bump this.
   */
  private heardSeq = 0;
  /**
   * The online set's summary (onlineView): exact for the same heardSeq from `at` until the
   * online peer heard longest ago (`oldest`) times out or our distrust (isOnline's grace) ends.
   * A step runs for every datagram and asks for quorum several times; recounting every node
   * each time (and comparing every peer's online state in drive) was about a quarter of the
   * core's time in a 32-node simulation (node --cpu-prof, 2026-11-28).
   */
  private online = { seq: -1, at: NaN, oldest: Infinity, limit: 0, graceEnd: Infinity, gen: 0, votes: 0, quorate: false };
  /** onlineView's gen when drive() last compared each peer's online state. */
  private onlineGenSeen = -1;
  /**
   * Placement and fencing decisions scan every node and resource. A step runs for every
   * datagram, so at 32 nodes a coordinator made them ~300 times a second: about a fifth of its
   * samples in a CPU profile (node --cpu-prof, 46 s, 2026-11-27; not kept). They run when something they read changed (replan: a node came
   * or went, holdings or failures changed, a command, a monitor result, a lease state change)
   * and otherwise at most every heartbeat/4 (time-based inputs: failure expiry, fence deadlines).
   */
  private replan = true;
  private lastPlanAt = -Infinity;

  /** Highest coordinator term seen anywhere. */
  private term = 0;
  /** The coordinator we believe in (another node, or ourselves). */
  private coord: { id: number; term: number; lastHeard: number } | null = null;
  private assignment: { term: number; map: Record<string, number> } = { term: 0, map: {} };
  private campaignTerm = 0;
  private campaignAt = Infinity;
  private campaignStartedAt = -Infinity;
  private campaigning = false;
  /** Peers seen asking for the coordinator lease, and when: the first of them in campaign order (rank) goes first. */
  private candidatesSeen = new Map<number, number>();
  private coordRetryAt = 0;
  private iAmCoord = false;
  private assignedSince = new Map<string, { node: number; since: number }>();
  private banned = new Map<string, Map<number, number>>(); // resource -> node -> until
  private cleanupsApplied = new Map<string, number>();
  private wasQuorate = false;
  private shortLeaseWarnAt = -Infinity;
  /** When a grant that came too late for a kernel lifetime last made us ask again at once. */
  private earlyAskAt = -Infinity;
  private lapseWarnAt = -Infinity;
  /** Addresses lost to their kernel lifetime while the lease was held (monitor input `lapsed`). */
  lapses = 0;

  private out: Effect[] = [];

  constructor(o: CoreOptions) {
    this.cfg = o.config;
    const me = o.config.nodes.find((n) => n.id === o.self);
    if (!me) throw new Error(`core: node id ${o.self} is not in the configuration`);
    this.self = me;
    for (const n of o.config.nodes) {
      this.byName.set(n.name, n);
      this.byId.set(n.id, n);
      if (n.id !== o.self) this.peers.set(n.id, { lastHeard: -Infinity, inc: 0, holds: new Set(), fails: {}, unfenced: new Map(), seenOnline: false });
    }
    this.fence = new FenceBook(o.config.fencing, o.config.nodes);
    const t = o.config.cluster.timing;
    const wdWait = o.config.fencing.watchdog.enabled ? watchdogWaitMs(o.config.fencing.watchdog.timeoutMs, t.clockDrift, t.releaseApplyMs) : 0;
    this.timing = deriveTiming(t, o.fenceWaitMs ?? wdWait);
    this.votes = {
      votes: new Map(o.config.nodes.map((n) => [n.id, n.votes])),
      expected: o.config.quorum.expectedVotes,
      twoNode: o.config.quorum.twoNode,
    };
    this.inc = o.incarnation;
    this.rng = new Rng(o.seed);
    const promise = () => this.timing.promiseMs + this.timing.fenceWaitMs;
    // Quiet period: promises made before a crash are forgotten, so wait them out.
    this.granter = new Granter((key) => (key === COORD_KEY ? this.timing.promiseMs : promise()), o.now + promise(), { blocksAfterExpiry: (n, i) => this.fence.blocksAfterExpiry(n, i) });
    // Our own earlier incarnation is gone (this is its restart, and startEffects drop its addresses).
    const obligations = Array.isArray(o.persisted?.obligations) ? o.persisted.obligations : [];
    const sane = (x: { key: unknown; to: unknown; inc: unknown; round: unknown }) =>
      typeof x?.key === 'string' && typeof x.to === 'number' && typeof x.inc === 'number' && typeof x.round === 'number';
    this.granter.restore(obligations.filter((x) => sane(x) && this.byId.has(x.to) && x.to !== o.self), o.now);
    this.tracker = new LeaseTracker(this.timing.leaseMs);
    this.attrs = new AttrMap(o.self, o.incarnation);
    if (o.persisted) {
      this.attrs.merge(o.persisted.attrs);
      this.attrs.lamport = Math.max(this.attrs.lamport, o.persisted.lamport);
    }
    this.replica = new ConfigReplica(
      o.self,
      o.config.nodes,
      this.votes,
      {
        send: (to, msg) => this.send(to, msg),
        peers: () => [...this.peers.keys()],
        reply: (id, ok, message) => this.out.push({ kind: 'reply', id, ok, message }),
        persist: () => this.persist(),
        apply: (doc) => this.applyDoc(doc),
        log: (level, event, fields) => this.log(level, event, fields),
      },
      docFromConfig(o.config),
      o.persisted?.config,
    );
    this.doc = this.replica.applied.doc;
    this.term = this.persistedTerm = o.persisted?.term ?? 0;
    this.fence.setStonith(this.doc.properties.stonithEnabled);
    for (const r of this.doc.resources) this.res.set(r.name, { cfg: r, state: 'idle', lastRefresh: -Infinity, retryAt: 0, readd: null, renewalMs: null, renewedEnd: -Infinity });
    for (const r of this.doc.resources) {
      const g = this.attrs.get(cleanupKey(r.name));
      if (typeof g === 'number') this.cleanupsApplied.set(r.name, g);
    }
    this.startedAt = o.now;
    this.configDigest = o.configDigest;
    this.lastStepAt = o.now;
    this.campaignAt = o.now + this.timing.nodeTimeoutMs + this.rank() * this.timing.heartbeatMs;
    this.bootOut = this.out;
    this.out = [];
  }

  /** Effects to run at start, before any step: a VIP left by a previous run is not ours. */
  startEffects(): Effect[] {
    const out: Effect[] = [...this.bootOut, { kind: 'resources', resources: [...this.res.values()].map((r) => r.cfg) }];
    this.bootOut = [];
    for (const r of this.res.values()) out.push(releaseOf(r.cfg, 'start-up: not holding a lease yet'));
    out.push(this.logEffect('info', 'node_started', { incarnation: this.inc, quietMs: this.granter.quietUntil - this.startedAt }));
    return out;
  }

  step(input: Input, now: number): Effect[] {
    this.out = [];
    this.noteStall(now);
    switch (input.kind) {
      case 'tick':
        break;
      case 'message':
        this.onMessage(input.msg, now);
        // Heartbeats replan only when they change what placement reads (onHeartbeat); grants
        // only change our own leases, which takeGrantedLeases marks urgent.
        if (input.msg.t !== 'hb' && input.msg.t !== 'grant') this.replan = true;
        break;
      case 'refresh-skipped':
        this.onRefreshSkipped(input.resource, now);
        break;
      case 'monitor':
        this.onMonitor(input.resource, input.ok, input.reason, now, input.lapsed === true);
        this.replan = true;
        break;
      case 'command':
        this.onCommand(input.id, input.cmd, now);
        this.replan = true;
        break;
      case 'shutdown':
        this.onShutdown(now);
        break;
      case 'fence-result':
        this.onFenceDone(input, now);
        this.replan = true;
        break;
    }
    if (!this.shuttingDown) this.drive(now);
    if (this.owed.size) this.flushOwed();
    this.lastStepAt = now;
    return this.out;
  }

  /** The latest time the driver must call step({kind:'tick'}) again. */
  nextWakeup(): number {
    if (this.shuttingDown) return Infinity;
    // Something changed that peers should hear about now (a new assignment, a campaign won):
    // step again at once rather than at the next heartbeat.
    if (this.urgent) return this.lastStepAt;
    // Only deadlines still ahead count: one already passed was handled by the last step.
    const after = this.lastStepAt;
    let t = this.nextHbDue();
    const consider = (x: number) => {
      if (x > after && x < t) t = x;
    };
    for (const r of this.res.values()) {
      if (r.state === 'held') consider(this.tracker.leaseEnd(resourceKey(r.cfg.name), this.votes) - this.timing.releaseMarginMs);
      else if (r.state === 'acquiring') consider(r.retryAt);
    }
    consider(this.coordRetryAt);
    if (!this.coord && !this.iAmCoord) consider(this.campaignAt);
    if (this.iAmCoord) consider(this.tracker.leaseEnd(COORD_KEY, this.votes));
    consider(this.servedDue());
    return t;
  }

  // ---------------------------------------------------------------- inputs

  private noteStall(now: number): void {
    // A node whose own loop ran late (GC pause, SD-card stall) distrusts itself before it
    // accuses its peers (memberlist's awareness): their silence may be our own lateness.
    const gap = now - this.lastStepAt;
    if (gap > this.timing.nodeTimeoutMs / 2) {
      this.distrustUntil = now + this.timing.nodeTimeoutMs;
      this.heardSeq++;
      this.log('warn', 'local_stall', { stalledMs: gap });
    }
  }

  private onMessage(msg: Message, now: number): void {
    if (!this.byId.has(msg.from) || msg.from === this.self.id) return;
    switch (msg.t) {
      case 'hb':
        return this.onHeartbeat(msg, now);
      case 'grant':
        return this.onGrant(msg, now);
      case 'rel':
        return this.onRelease(msg, now);
      case 'leave':
        return this.onLeave(msg.from, msg.inc, now);
      case 'fence':
        return this.onFenceRequest(msg, now);
      case 'fres':
        return this.onFenceResult(msg, now);
      case 'cdoc':
        return this.replica.onDoc(msg, this.replicaCtx(now));
      case 'cack':
        return this.replica.onAck(msg, this.replicaCtx(now));
      case 'cpull':
        return this.replica.onPull(msg);
      case 'creq':
        return this.replica.onRequest(msg, this.replicaCtx(now));
      case 'cres':
        return this.replica.onResult(msg);
    }
  }

  private onHeartbeat(hb: Heartbeat, now: number): void {
    // An answer to our own request, carried here: as if it had come alone (grants and
    // heartbeats are independent: a grant counts whatever the sender's incarnation).
    if (hb.grant) this.onGrant({ t: 'grant', from: hb.from, ...hb.grant }, now);
    const p = this.peers.get(hb.from)!;
    const wasOnline = this.isOnline(hb.from, now);
    if (hb.inc < p.inc) return; // from an earlier incarnation, delayed: ignore
    if (hb.inc > p.inc && p.inc !== 0) this.log('info', 'node_restarted', { node: this.nameOf(hb.from), incarnation: hb.inc });
    p.inc = hb.inc;
    p.lastHeard = now;
    if (!wasOnline) this.heardSeq++;
    if (!sameHolds(p.holds, hb.holds) || !sameFails(p.fails, hb.fails)) this.replan = true;
    p.holds = new Set(hb.holds);
    p.fails = hb.fails;
    if (hb.cfg !== p.cfg && this.configDigest && hb.cfg && hb.cfg !== this.configDigest) {
      this.log('warn', 'config_differs', { node: this.nameOf(hb.from), theirs: hb.cfg, ours: this.configDigest });
    }
    p.cfg = hb.cfg;
    if (!wasOnline) this.log('info', 'node_up', { node: this.nameOf(hb.from) });
    if (hb.fenced) for (const [id, inc] of Object.entries(hb.fenced)) this.applyFenced(Number(id), inc, now);
    p.unfenced = new Map(Object.entries(hb.unfenced ?? {}).map(([id, inc]) => [Number(id), inc]));
    // A document accepted under a term means a coordinator had that term: campaign above it.
    if (hb.cv?.length === 4) this.noteTerm(Math.max(hb.cv[1], hb.cv[3]), now);
    this.replica.onHeartbeat(hb, this.replicaCtx(now));
    if (hb.seq !== undefined) {
      const wanted = new Set<LeaseKey>([...(hb.req?.keys ?? []), ...hb.holds.map(resourceKey)]);
      this.granter.disown(hb.from, hb.inc, hb.seq, wanted);
    }
    this.noteTerm(hb.term, now);
    if (hb.req?.keys.includes(COORD_KEY) && hb.coord === undefined) this.candidatesSeen.set(hb.from, now);
    if (hb.coord !== undefined && hb.coord >= this.term) {
      this.term = hb.coord;
      if (!this.coord || this.coord.id !== hb.from || this.coord.term !== hb.coord) {
        this.log('info', 'coordinator', { node: this.nameOf(hb.from), term: hb.coord });
      }
      this.coord = { id: hb.from, term: hb.coord, lastHeard: now };
      if (hb.assign && hb.coord >= this.assignment.term) this.assignment = { term: hb.coord, map: hb.assign };
      if (this.iAmCoord && hb.coord > this.campaignTerm) this.stepDown('a newer coordinator exists', now);
    }
    const changed = this.attrs.merge(hb.attrs);
    if (changed.length) this.onAttrsChanged(changed, now);
    if (hb.req) {
      const { granted, denied } = this.granter.request(hb.from, hb.inc, hb.req.round, hb.req.keys, hb.req.coordTerm, now);
      const body: GrantBody = { to: hb.from, toInc: hb.inc, round: hb.req.round, granted, denied, term: Math.max(this.term, this.granter.coordTerm) };
      this.reqExpectedBy = this.nextRequestDue(now);
      // The answer goes out in this very step either way (its freshness is the holder's
      // lease): in our heartbeat round if one is nearly due anyway (3/4 of a period since the
      // last keeps a second requester, at another phase, from doubling our round rate); else,
      // if we request nothing ourselves, in a heartbeat to the requester alone (sendServed);
      // else alone (flushOwed).
      if (this.shuttingDown) {
        this.send(hb.from, { t: 'grant', from: this.self.id, ...body });
      } else {
        this.owed.set(hb.from, body);
        if (now - this.lastHbAt >= 0.75 * this.timing.heartbeatMs) {
          // The round now, the answer in it. Except, in a big cluster, at a node that only
          // answers: the answer now, alone in a heartbeat to the requester (sendServed), and the
          // round a tenth of a period later (roundAt). Every answerer's round locks to the
          // requester's, so all of them otherwise send their N−1 heartbeats in the instant the
          // requester needs a majority's answers (lan: within ~50 ms, for its kernel lifetime);
          // 32 daemons on two cores missed that often. In a small cluster the split costs more
          // than it saves (3 nodes, paired idle runs: +0.3 % of a core per answerer).
          if (this.requesting() || this.cfg.nodes.length < ANSWER_FIRST_FROM_NODES) this.answerRound = true;
          else this.roundAt = Math.min(this.roundAt, now + this.answerFirstMs());
        }
      }
    }
  }

  /** Answers that no heartbeat carried in this step (none was sent) go out alone. */
  private flushOwed(): void {
    for (const body of this.owed.values()) this.send(body.to, { t: 'grant', from: this.self.id, ...body });
    this.owed.clear();
  }

  /**
   * No round in this step: a node that requests nothing sends the requesters it owes an answer
   * their heartbeat now, the answer inside, and serves them so from now on (see `served`); a
   * served requester whose request is overdue gets its heartbeat anyway and goes back into the
   * rounds. A requesting node's heartbeats carry its own request to every peer once a round,
   * so it keeps its rounds whole and answers other requesters alone.
   */
  private sendServed(now: number): void {
    if (this.requesting()) {
      this.served.clear();
      return this.flushOwed();
    }
    const due = [...this.served].filter(([id, by]) => now >= by && !this.owed.has(id)).map(([id]) => id);
    if (!this.owed.size && !due.length) return;
    const hb = this.heartbeatBody(now, undefined);
    for (const [id, grant] of this.owed) {
      this.send(id, { ...hb, grant });
      this.served.set(id, this.nextRequestDue(now));
    }
    for (const id of due) {
      this.send(id, hb);
      this.served.delete(id);
    }
    this.owed.clear();
  }

  /**
   * When the next self-timed heartbeat is due: a period after the last one, or, while a
   * requester's rounds arrive, until its next request is due with a quarter period of slack
   * (at most 1.5 periods after our last heartbeat), so that its request comes first and is
   * answered by the heartbeat. Without the wait our timer and its rounds run at the same
   * period and can settle with our heartbeat just before each request: every answer then
   * went alone (the 32-node lab: the holder received 300 datagrams a second instead of 155).
   * A requester that falls silent delays our heartbeat once, by at most half a period.
   * Two requesters answer each other alone, mostly, as before lease answers rode in
   * heartbeats; the nodes that only answer (all but the holders and the coordinator) lock
   * their rounds to one requester and send the others theirs on arrival (`served`).
   */
  private nextHbDue(): number {
    const H = this.timing.heartbeatMs;
    // A node with requests of its own keeps its period: its renewals ride on its heartbeats.
    if (this.requesting()) return this.lastHbAt + H;
    return Math.min(this.roundAt, Math.max(this.lastHbAt + H, Math.min(this.reqExpectedBy, this.lastHbAt + 1.5 * H)));
  }

  /** How long after its answers a node that only answers sends its round (see roundAt): a tenth of a period. */
  private answerFirstMs(): number {
    return Math.round(this.timing.heartbeatMs / 10);
  }

  /** A requester heard at `now` is expected to ask again by then: a period, with a quarter of slack. */
  private nextRequestDue(now: number): number {
    return now + 1.25 * this.timing.heartbeatMs;
  }

  /** The earliest time a served requester's request is overdue (then it gets its heartbeat anyway). */
  private servedDue(): number {
    let t = Infinity;
    for (const by of this.served.values()) if (by < t) t = by;
    return t;
  }

  /** Do our heartbeats carry lease requests (wantedKeys() is not empty)? Without its array: asked every step. */
  private requesting(): boolean {
    if (this.iAmCoord || this.campaigning) return true;
    for (const r of this.res.values()) if (r.state !== 'idle') return true;
    return false;
  }

  private onGrant(g: LeaseReply, now: number): void {
    if (g.to !== this.self.id || g.toInc !== this.inc) return;
    this.noteTerm(g.term, now);
    for (const key of g.granted) this.tracker.grant(key, g.from, g.round);
    this.noteDenials(g.denied, g.term, now);
  }

  /**
   * Retry when the promise blocking us runs out, rather than at the next heartbeat. Called for
   * peers' answers and for our own vote alike: after a holder dies our own promise to it may
   * outlast the others' by a few ms (it depends on which node heard its last request first);
   * retrying only at the peers' end then failed for want of our own vote, and the next try came
   * a heartbeat later (simulator, 3 nodes, lan, 160 power cuts: median takeover 1395 -> 1301 ms;
   * bench-compare's power cuts fell in two groups ~150 ms apart).
   */
  private noteDenials(denied: LeaseReply['denied'], term: number | null, now: number): void {
    for (const d of denied) {
      const at = d.remainingMs > 0 ? now + d.remainingMs + 1 : 0;
      if (d.key === COORD_KEY) {
        // A term above ours, or ours refused for the term itself (the granter voted in it for
        // someone else: holder 0, nothing to wait for), means ours is taken: campaign above it.
        // A denial because the granter is still bound to another node's promise may carry our
        // own term back (it learned it from our heartbeats, after a peer's grant told it to us):
        // moving up on that put every election at 32 nodes a term higher than needed, and every
        // node persists each new term (an fsync) just when the successor needs their answers.
        const taken = term !== null && (term > this.campaignTerm || (term === this.campaignTerm && d.holder === 0 && d.remainingMs === 0));
        if (taken && this.campaigning) this.campaignTerm = term + 1;
        if (at) this.coordRetryAt = this.coordRetryAt > now ? Math.min(this.coordRetryAt, at) : at;
      } else {
        const r = this.res.get(d.key.slice(2));
        if (r && r.state === 'acquiring' && at) r.retryAt = r.retryAt > now ? Math.min(r.retryAt, at) : at;
      }
    }
  }

  private onRelease(m: ReleaseMsg, now: number): void {
    const handed = this.granter.release(m.from, m.inc, m.round, m.keys, now, 2 * this.timing.heartbeatMs);
    for (const h of handed) {
      this.send(h.to, {
        t: 'grant',
        from: this.self.id,
        to: h.to,
        toInc: h.inc,
        round: h.round,
        granted: [h.key],
        denied: [],
        term: Math.max(this.term, this.granter.coordTerm),
      });
    }
  }

  private onLeave(from: number, inc: number, now: number): void {
    const p = this.peers.get(from)!;
    if (inc < p.inc) return;
    p.lastHeard = -Infinity;
    this.heardSeq++;
    p.holds.clear();
    // It removed its addresses before it said goodbye: nothing promised to it needs a fence.
    this.granter.disown(from, inc, Infinity, new Set());
    this.log('info', 'node_left', { node: this.nameOf(from) });
    if (this.coord?.id === from) {
      this.coord = null;
      // It released the coordinator lease as it left: the lowest id takes over at once.
      this.campaignAt = now + this.rank() * Math.max(5, this.timing.heartbeatMs / 10);
    }
    this.urgent = true;
  }

  /**
   * A refresh came to `ip` too late to apply (a renewal near the end of its budget, then a slow
   * daemon or helper): the address keeps its old lifetime. Counting it as done would leave the
   * next try a whole spacing later (400 ms on lan) and the lifetime fewer tries before it runs
   * out; so try again at the next fresh grant, and ask for one now (at most once a period).
   * (32 daemons on the lab's two cores: most of the holder's lapses followed such skips.)
   */
  private onRefreshSkipped(resource: string, now: number): void {
    const r = this.res.get(resource);
    if (!r || r.state !== 'held') return;
    r.lastRefresh = -Infinity;
    this.askEarly(now);
  }

  private onMonitor(resource: string, ok: boolean, reason: string | undefined, now: number, lapsed: boolean): void {
    const r = this.res.get(resource);
    if (!r || ok || r.state !== 'held') return;
    if (lapsed) {
      // The safety backstop did its job (the kernel dropped an address whose lifetime this
      // daemon was too late to extend): nothing is wrong with the resource or this node's
      // network, so it is not a failure; counting it would move the VIP off a slow node, then
      // off the next one, and ban them all (failure_timeout 0). Re-add at the next grant that
      // leaves room for a kernel lifetime; say so, rate-limited, with what would help.
      this.lapses++;
      if (now - this.lapseWarnAt > 10_000) {
        this.lapseWarnAt = now;
        this.log('warn', 'vip_lapsed', {
          resource,
          reason: reason ?? 'kernel lifetime ran out',
          lapses: this.lapses,
          lastRefreshAgoMs: Math.round(now - r.lastRefresh),
          renewalMs: r.renewalMs === null ? null : Math.round(r.renewalMs),
          budgetMs: this.renewalBudgetMs(),
          hint: 'this node was too slow to renew the address lifetime in time (CPU starved?); the VIP is re-added at the next renewal. If it repeats, use profile slow or a longer lease_time',
        });
      }
      const end = this.tracker.leaseEnd(resourceKey(resource), this.votes);
      this.readd(r, end, now, 'recover after the address lifetime ran out');
      this.urgent = true;
      return;
    }
    this.fails.record(resource, now);
    const count = this.fails.count(resource, now, r.cfg.failureTimeoutMs);
    this.log('warn', 'monitor_failed', { resource, reason: reason ?? 'unknown', failCount: count, migrationThreshold: r.cfg.migrationThreshold });
    // Recover in place (re-add the address); once the fail count reaches the migration
    // threshold the coordinator places the resource elsewhere.
    // The kernel lifetime needs a fresh grant; the next renewal re-adds it if this cannot.
    const end = this.tracker.leaseEnd(resourceKey(resource), this.votes);
    this.readd(r, end, now, 'recover after monitor failure');
    this.urgent = true;
  }

  private onCommand(id: number, cmd: Command, now: number): void {
    const reply = (ok: boolean, message: string): void => {
      this.out.push({ kind: 'reply', id, ok, message });
    };
    if (cmd.op === 'config') {
      this.replica.command(id, cmd.change, this.replicaCtx(now));
      this.urgent = true;
      return;
    }
    if (!this.quorate(now)) return reply(false, 'this node is not in a partition with quorum: cluster-wide changes need quorum');
    const node = 'node' in cmd ? this.byName.get(cmd.node) : undefined;
    if ('node' in cmd && !node) return reply(false, `unknown node "${cmd.node}" (nodes: ${[...this.byName.keys()].join(', ')})`);
    if ('resource' in cmd && !this.res.has(cmd.resource)) {
      return reply(false, `unknown resource "${cmd.resource}" (resources: ${[...this.res.keys()].join(', ') || 'none'})`);
    }
    switch (cmd.op) {
      case 'standby':
        this.attrs.set(standbyKey(cmd.node), cmd.on);
        reply(true, cmd.on ? `${cmd.node} is in standby: its resources move away` : `${cmd.node} is no longer in standby`);
        break;
      case 'move':
        if (node!.role !== 'member') return reply(false, `${cmd.node} is a witness and never holds resources`);
        this.attrs.set(moveKey(cmd.resource), node!.id);
        reply(true, `${cmd.resource} moves to ${cmd.node} (a location constraint; remove it with: piha resource clear ${cmd.resource})`);
        break;
      case 'clear':
        this.attrs.set(moveKey(cmd.resource), null);
        reply(true, `removed the move constraint of ${cmd.resource}`);
        break;
      case 'fence':
        return this.manualFence(id, node!.id, now);
      case 'fence-confirm':
        return this.confirmFenced(id, node!.id, now);
      case 'cleanup': {
        const g = this.attrs.get(cleanupKey(cmd.resource));
        this.attrs.set(cleanupKey(cmd.resource), (typeof g === 'number' ? g : 0) + 1);
        this.applyCleanups([cleanupKey(cmd.resource)]);
        reply(true, `cleaned up ${cmd.resource}: fail counts reset on every node`);
        break;
      }
    }
    this.persist();
    this.log('info', 'command', { ...cmd });
    this.urgent = true;
  }

  private onShutdown(now: number): void {
    this.shuttingDown = true;
    const keys: LeaseKey[] = [];
    for (const r of this.res.values()) {
      if (r.state !== 'idle') {
        if (r.state === 'held') this.out.push(releaseOf(r.cfg, 'shutdown'));
        r.state = 'idle';
        keys.push(resourceKey(r.cfg.name));
      }
    }
    if (this.iAmCoord) keys.push(COORD_KEY);
    this.iAmCoord = false;
    const round = ++this.round;
    for (const key of keys) this.tracker.drop(key, round);
    for (const id of this.peers.keys()) {
      if (keys.length) this.send(id, { t: 'rel', from: this.self.id, inc: this.inc, round, keys });
      this.send(id, { t: 'leave', from: this.self.id, inc: this.inc });
    }
    this.log('info', 'shutdown', { released: keys });
    void now;
  }

  // ---------------------------------------------------------------- cluster configuration (core/replica.ts)

  private replicaCtx(now: number): ReplicaCtx {
    const coordLive = this.iAmCoord || (this.coord !== null && this.isOnline(this.coord.id, now));
    return {
      now,
      iAmCoord: this.iAmCoord,
      coordTerm: this.campaignTerm,
      knownTerm: Math.max(this.term, this.granter.coordTerm),
      coordinator: coordLive && this.coord ? this.coord.id : null,
      quorate: this.quorate(now),
      heartbeatMs: this.timing.heartbeatMs,
    };
  }

  /** A committed cluster configuration takes effect: resources added, changed, removed. */
  private applyDoc(doc: ClusterDoc): void {
    const now = this.lastStepAt;
    const next = new Map(doc.resources.map((r) => [r.name, r]));
    for (const [name, r] of this.res) {
      const cfg = next.get(name);
      if (cfg && cfg.ip === r.cfg.ip && cfg.cidrNetmask === r.cfg.cidrNetmask) {
        r.cfg = cfg; // same address: new scores, thresholds, checks apply in place
        continue;
      }
      // Deleted, or its address changed: the old address goes first.
      if (r.state !== 'idle') this.releaseResource(r, now, cfg ? `its address changed to ${cfg.ip}/${cfg.cidrNetmask}` : 'deleted from the cluster configuration');
      this.res.delete(name);
    }
    for (const cfg of doc.resources) {
      if (this.res.has(cfg.name)) continue;
      this.res.set(cfg.name, { cfg, state: 'idle', lastRefresh: -Infinity, retryAt: 0, readd: null, renewalMs: null, renewedEnd: -Infinity });
      // As at start (startEffects): an address of it on this node is not ours. A node restarted
      // without its state learns here of VIPs its previous incarnation may still have up (killed,
      // the kernel lifetime not yet run out); granters hand this node's earlier promises on to it
      // when it asks, and its later `rel` frees them for others, so the address must go first.
      this.out.push(releaseOf(cfg, 'new in the cluster configuration: not holding a lease yet'));
    }
    this.doc = doc;
    this.fence.setStonith(doc.properties.stonithEnabled);
    this.out.push({ kind: 'resources', resources: doc.resources });
    this.urgent = true;
  }

  // ---------------------------------------------------------------- fencing (core/fencing.ts)

  /** Incarnations up to `inc` of `node` are powered off: drop what was promised to them. */
  private applyFenced(node: number, inc: number, now: number): void {
    if (!this.fence.markFenced(node, inc)) return;
    if (node === this.self.id) {
      // Only a mistaken `stonith confirm` can say this of a running node; we keep our leases
      // (the other granters will not, so our VIPs may move: say so loudly).
      if (inc >= this.inc) this.log('error', 'fenced_while_running', { incarnation: inc, hint: 'piha stonith confirm was run for this node while it was up' });
      return;
    }
    const { cleared, handed } = this.granter.fenced(node, inc, now, 2 * this.timing.heartbeatMs);
    for (const h of handed) {
      this.send(h.to, { t: 'grant', from: this.self.id, to: h.to, toInc: h.inc, round: h.round, granted: [h.key], denied: [], term: Math.max(this.term, this.granter.coordTerm) });
    }
    const p = this.peers.get(node);
    if (p && p.inc <= inc) {
      p.lastHeard = -Infinity;
      this.heardSeq++;
      p.holds.clear();
      p.unfenced.clear();
      if (this.coord?.id === node) {
        this.coord = null;
        this.campaignAt = now + this.rank() * Math.max(5, this.timing.heartbeatMs / 10);
      }
    }
    const a = this.fence.attempts.get(node);
    if (a && a.inc <= inc) {
      this.fence.attempts.delete(node);
      for (const id of a.replyTo) this.out.push({ kind: 'reply', id, ok: true, message: `${this.nameOf(node)} is fenced (powered off)` });
    }
    this.log('warn', 'node_fenced', { node: this.nameOf(node), incarnation: inc, clearedPromises: cleared });
    this.urgent = true;
  }

  /** Silent nodes this node's granter still owes a VIP promise to, that a device could fence. */
  private ownUnfenced(now: number): Map<number, number> {
    const out = new Map<number, number>();
    for (const [id, inc] of this.granter.owed(now)) {
      if (id !== this.self.id && !this.isOnline(id, now) && this.fence.covers(id) && !this.fence.isFenced(id, inc)) out.set(id, inc);
    }
    return out;
  }

  private fenceGossip(now: number): Pick<Heartbeat, 'fenced' | 'unfenced'> {
    const fenced = this.fence.gossip();
    const own = this.ownUnfenced(now);
    const unfenced = own.size ? Object.fromEntries([...own].map(([k, v]) => [String(k), v])) : undefined;
    return { ...(fenced ? { fenced } : {}), ...(unfenced ? { unfenced } : {}) };
  }

  /** A fence is wanted or running, or a promise waits for one: VIPs cannot move yet. */
  private fenceHoldsUp(now: number): boolean {
    return this.fence.attempts.size > 0 || this.granter.blockedByFence(now).length > 0;
  }

  /** Coordinator duty, and housekeeping of fences this node started or runs. */
  private runFencing(now: number): void {
    for (const [target, r] of this.fence.running) {
      // The driver always answers; this only forgets a fence a restarted driver lost.
      if (now - r.since > 2 * this.fence.attemptTimeoutMs(target, this.timing.nodeTimeoutMs)) this.fence.running.delete(target);
    }
    // The coordinator leads fencing. While there is none (the lost node may have been it), the
    // node that will most likely win the election does: the lowest id online, with quorum.
    const coordLive = this.iAmCoord || (this.coord !== null && this.isOnline(this.coord.id, now));
    const lowest = this.cfg.nodes.find((n) => this.isOnline(n.id, now))?.id === this.self.id;
    // Not in our first node timeout: a node not heard yet is not silent, only not heard yet. A
    // node booting with saved promises to a peer's earlier incarnation otherwise led at its
    // first heartbeats and fenced that peer, running again, before its heartbeat arrived
    // (simulator seed 281: the coordinator, powered off).
    const settled = now - this.startedAt >= this.timing.nodeTimeoutMs;
    const lead = settled && this.quorate(now) && (this.iAmCoord || (!coordLive && lowest));
    const needs = new Map<number, number>();
    if (lead) {
      const add = (id: number, inc: number) => {
        if (id === this.self.id || this.isOnline(id, now) || !this.fence.covers(id) || this.fence.isFenced(id, inc)) return;
        needs.set(id, Math.max(needs.get(id) ?? 0, inc));
      };
      for (const [id, inc] of this.ownUnfenced(now)) add(id, inc);
      for (const [pid, p] of this.peers) if (this.isOnline(pid, now)) for (const [id, inc] of p.unfenced) add(id, inc);
    }
    for (const [target, a] of this.fence.attempts) {
      if (a.runningSince && now > a.deadline) {
        a.runningSince = 0;
        a.lastError = `no outcome from ${this.nameOf(a.executor)} within ${Math.round((a.deadline - a.since) / 1000)} s`;
        a.nextAt = now;
        this.log('error', 'fence_failed', { node: this.nameOf(target), attempt: a.attempts, error: a.lastError });
        if (a.manual) {
          this.endManual(a, false);
          continue;
        }
        // Falls through: a retry only if the fence is still needed. The target may be back by
        // now (a new incarnation, online), and a retry would cut the power of a healthy node
        // (simulator seed 101307: a hung executor lost the first outcome, and the third
        // attempt powered off the coordinator and VIP holder 7 s after it had booted again).
      }
      if (!a.manual && !a.runningSince && !needs.has(target)) {
        this.fence.attempts.delete(target);
        this.log('info', 'fence_not_needed', { node: this.nameOf(target), reason: lead ? 'it is back or owes nothing' : 'no longer coordinator with quorum' });
      }
    }
    for (const [target, inc] of needs) {
      let a = this.fence.attempts.get(target);
      if (!a) {
        a = { target, inc, attempts: 0, attemptId: 0, executor: 0, runningSince: 0, deadline: 0, nextAt: now, since: now, lastError: null, replyTo: [], manual: false };
        this.fence.attempts.set(target, a);
        this.log('warn', 'fence_needed', { node: this.nameOf(target), incarnation: inc });
      }
      a.inc = Math.max(a.inc, inc);
    }
    for (const a of this.fence.attempts.values()) if (!a.runningSince && now >= a.nextAt) this.startFence(a, now);
  }

  private startFence(a: FenceAttempt, now: number): void {
    const executor = this.fence.pickExecutor(a.target, this.self.id, a.attempts + 1, (id) => this.isOnline(id, now));
    if (executor === null) {
      a.lastError = `no node that can run a fence device for ${this.nameOf(a.target)} is online`;
      a.nextAt = now + this.fence.retryIntervalMs;
      this.log('error', 'fence_failed', { node: this.nameOf(a.target), error: a.lastError });
      if (a.manual) this.endManual(a, false);
      return;
    }
    a.attempts++;
    a.attemptId = this.fence.newAttemptId();
    a.executor = executor;
    a.runningSince = now;
    a.deadline = now + this.fence.attemptTimeoutMs(a.target, this.timing.nodeTimeoutMs);
    this.log('warn', 'fence_start', { node: this.nameOf(a.target), incarnation: a.inc, attempt: a.attempts, by: this.nameOf(executor) });
    const req: FenceRequest = { t: 'fence', from: this.self.id, to: executor, target: a.target, inc: a.inc, attempt: a.attemptId };
    if (executor === this.self.id) this.onFenceRequest(req, now);
    else this.send(executor, req);
  }

  private endManual(a: FenceAttempt, ok: boolean): void {
    this.fence.attempts.delete(a.target);
    const msg = ok ? `${this.nameOf(a.target)} is fenced` : `fencing ${this.nameOf(a.target)} failed: ${a.lastError ?? 'unknown error'}`;
    for (const id of a.replyTo) this.out.push({ kind: 'reply', id, ok, message: msg });
  }

  /** Someone asks this node to run a fence device. */
  private onFenceRequest(m: FenceRequest, now: number): void {
    if (m.to !== this.self.id) return;
    const result = (ok: boolean, detail: string) =>
      this.onFenceDone({ kind: 'fence-result', target: m.target, inc: m.inc, attempt: m.attempt, initiator: m.from, ok, detail }, now);
    if (m.target === this.self.id) return result(false, 'a node does not fence itself');
    if (this.fence.isFenced(m.target, m.inc)) return result(true, 'already fenced');
    if (!(this.fence.executors.get(m.target) ?? []).includes(this.self.id)) {
      return result(false, `${this.self.name} has no fence device for ${this.nameOf(m.target)}`);
    }
    if (this.fence.running.has(m.target)) return; // already running; its outcome answers this too
    this.fence.running.set(m.target, { inc: m.inc, attempt: m.attempt, initiator: m.from, since: now });
    this.out.push({ kind: 'fence', target: m.target, targetName: this.nameOf(m.target), inc: m.inc, attempt: m.attempt, initiator: m.from });
  }

  /** The driver finished a fence (or a request was answered at once): tell everyone. */
  private onFenceDone(r: Extract<Input, { kind: 'fence-result' }>, now: number): void {
    const run = this.fence.running.get(r.target);
    if (run && run.attempt === r.attempt && run.initiator === r.initiator) this.fence.running.delete(r.target);
    const msg: FenceResultMsg = { t: 'fres', from: this.self.id, target: r.target, inc: r.inc, attempt: r.attempt, initiator: r.initiator, ok: r.ok, detail: r.detail.slice(0, 500) };
    for (const id of this.peers.keys()) this.send(id, msg);
    this.onFenceResult(msg, now);
  }

  private onFenceResult(m: FenceResultMsg, now: number): void {
    const fresh = this.fence.record({ at: now, target: m.target, inc: m.inc, ok: m.ok, by: m.from, initiator: m.initiator, detail: m.detail, attempt: m.attempt });
    if (!fresh) return;
    this.log(m.ok ? 'warn' : 'error', m.ok ? 'fence_done' : 'fence_failed', { node: this.nameOf(m.target), by: this.nameOf(m.from), detail: m.detail });
    if (m.ok) {
      this.applyFenced(m.target, m.inc, now);
      return;
    }
    const a = this.fence.attempts.get(m.target);
    if (m.initiator === this.self.id && a && a.attemptId === m.attempt) {
      a.runningSince = 0;
      a.lastError = m.detail;
      a.nextAt = now + this.fence.retryIntervalMs;
      if (a.manual) this.endManual(a, false);
    }
  }

  /** `piha stonith fence NODE`: the reply waits for the outcome. */
  private manualFence(id: number, target: number, now: number): void {
    if (target === this.self.id) {
      this.out.push({ kind: 'reply', id, ok: false, message: `${this.self.name} cannot fence itself: run this on another node` });
      return;
    }
    if (!(this.fence.executors.get(target)?.length)) {
      this.out.push({ kind: 'reply', id, ok: false, message: `no fence device covers ${this.nameOf(target)} (fencing: devices: hosts:)` });
      return;
    }
    const inc = Math.max(this.peers.get(target)?.inc ?? 0, this.granter.owed(now).get(target) ?? 0);
    let a = this.fence.attempts.get(target);
    if (!a) {
      a = { target, inc, attempts: 0, attemptId: 0, executor: 0, runningSince: 0, deadline: 0, nextAt: now, since: now, lastError: null, replyTo: [], manual: true };
      this.fence.attempts.set(target, a);
    }
    a.inc = Math.max(a.inc, inc);
    a.replyTo.push(id);
    this.log('warn', 'command', { op: 'fence', node: this.nameOf(target) });
    if (!a.runningSince) this.startFence(a, now);
  }

  /** `piha stonith confirm NODE`: the user switched it off by hand (pcs stonith confirm). */
  private confirmFenced(id: number, target: number, now: number): void {
    const reply = (ok: boolean, message: string): void => {
      this.out.push({ kind: 'reply', id, ok, message });
    };
    if (target === this.self.id) return reply(false, `${this.self.name} is running: it cannot be confirmed off`);
    if (this.isOnline(target, now)) return reply(false, `${this.nameOf(target)} is online: confirm only a node that you have switched off yourself`);
    const inc = Math.max(this.peers.get(target)?.inc ?? 0, this.granter.owed(now).get(target) ?? 0);
    const attempt = this.fence.newAttemptId();
    this.log('warn', 'command', { op: 'fence-confirm', node: this.nameOf(target) });
    this.onFenceDone({ kind: 'fence-result', target, inc, attempt, initiator: this.self.id, ok: true, detail: `confirmed off by hand on ${this.self.name}` }, now);
    reply(true, `${this.nameOf(target)} is recorded as off; its VIPs may move now`);
  }

  // ---------------------------------------------------------------- the loop

  private drive(now: number): void {
    const quorate = this.quorate(now);
    if (quorate !== this.wasQuorate) {
      this.log(quorate ? 'info' : 'warn', quorate ? 'quorum_gained' : 'quorum_lost', { votes: this.visibleVotes(now), quorum: quorumVotes(this.votes) });
      this.wasQuorate = quorate;
    }
    this.expireCoordinator(now);
    this.expireLeases(now);
    // A peer came or went only if the online set was recounted since the last step.
    if (this.online.gen !== this.onlineGenSeen) {
      this.onlineGenSeen = this.online.gen;
      for (const [id, p] of this.peers) {
        const on = this.isOnline(id, now);
        if (on !== p.seenOnline) {
          p.seenOnline = on;
          this.replan = true;
        }
      }
    }
    const plan = this.replan || this.urgent || now - this.lastPlanAt >= this.timing.heartbeatMs / 4;
    if (plan) {
      this.replan = false;
      this.lastPlanAt = now;
      if (this.iAmCoord) this.coordinate(now);
    }
    this.followAssignment(now);
    if (plan) this.runFencing(now);
    this.maybeCampaign(now);
    this.replica.tick(this.replicaCtx(now));
    if (this.granter.takeObligationsDirty() || Math.max(this.term, this.granter.coordTerm) > this.persistedTerm) this.persist();
    const retryDue =
      (this.campaigning && this.coordRetryAt > 0 && now >= this.coordRetryAt) ||
      [...this.res.values()].some((r) => r.state === 'acquiring' && r.retryAt > 0 && now >= r.retryAt);
    if (this.urgent || this.answerRound || retryDue || now >= this.nextHbDue()) this.heartbeat(now);
    else if (this.owed.size || now >= this.servedDue()) this.sendServed(now);
    this.takeGrantedLeases(now);
  }

  private expireCoordinator(now: number): void {
    if (this.iAmCoord) {
      const end = this.tracker.leaseEnd(COORD_KEY, this.votes);
      if (now >= end) this.stepDown('coordinator lease ran out', now);
      return;
    }
    if (this.coord && !this.isOnline(this.coord.id, now)) {
      this.log('warn', 'coordinator_lost', { node: this.nameOf(this.coord.id), term: this.coord.term });
      this.coord = null;
      this.campaignAt = now + this.rank() * this.timing.heartbeatMs + this.rng.int(0, this.timing.heartbeatMs / 2);
    }
    if (!this.coord && this.campaignAt === Infinity) this.campaignAt = now + this.rank() * this.timing.heartbeatMs;
  }

  /** A higher term exists: a coordinator that learns of it steps down, as in Raft. */
  private noteTerm(t: number, now: number): void {
    if (t <= this.term) return;
    this.term = t;
    if (this.iAmCoord && t > this.campaignTerm) this.stepDown(`term ${t} is newer than ours`, now);
    // A campaign under a term that is no longer new would win a coordinator nobody follows
    // (followers take a coordinator's heartbeats only at their own term or above) and that never
    // steps down (this method acts only on a term newer than the one it has): campaign above it.
    // Only above: a grant to us carries our own campaign's term back (the granter's coordTerm);
    // moving on from that would put every election a term higher than needed, and a two_node
    // tie-breaker restarted without its state could then reuse a term for a different
    // configuration (simulator seed 19646).
    else if (this.campaigning && t > this.campaignTerm) this.campaignTerm = t + 1;
  }

  private stepDown(reason: string, now: number): void {
    this.iAmCoord = false;
    if (this.coord?.id === this.self.id) this.coord = null;
    this.dropCoordKey(now);
    this.log('warn', 'coordinator_step_down', { reason, term: this.campaignTerm });
    this.campaignAt = now + this.timing.heartbeatMs + this.rng.int(0, this.timing.heartbeatMs);
  }

  /** Give back the coordinator lease (or a campaign's partial grants) so others can win. */
  private dropCoordKey(now: number): void {
    const round = ++this.round;
    this.tracker.drop(COORD_KEY, round);
    this.granter.release(this.self.id, this.inc, round, [COORD_KEY], now, 0);
    for (const id of this.peers.keys()) this.send(id, { t: 'rel', from: this.self.id, inc: this.inc, round, keys: [COORD_KEY] });
    this.campaignStartedAt = -Infinity;
    this.campaigning = false;
    this.coordRetryAt = 0;
  }

  private expireLeases(now: number): void {
    for (const r of this.res.values()) {
      if (r.state !== 'held') continue;
      const end = this.tracker.leaseEnd(resourceKey(r.cfg.name), this.votes);
      if (now >= end - this.timing.releaseMarginMs) {
        this.releaseResource(r, now, this.quorate(now) ? 'lease not renewed by a majority' : 'lost quorum');
      }
    }
  }

  private maybeCampaign(now: number): void {
    if (this.iAmCoord || this.coord) {
      if (this.campaigning) this.dropCoordKey(now);
      return;
    }
    const H = this.timing.heartbeatMs;
    // Only the first candidate we hear in campaign order (rank) campaigns; the others wait,
    // which avoids split votes.
    const before = [...this.candidatesSeen].some(([id, at]) => this.campaignsBefore(id) && now - at <= 2 * H && this.isOnline(id, now));
    const quorate = this.quorate(now);
    if (this.campaigning) {
      if (!quorate || before) {
        this.dropCoordKey(now);
        this.campaignAt = now + H;
      } else if (now - this.campaignStartedAt > this.timing.promiseMs + 3 * H) {
        // A split vote (candidates each holding part of the grants and renewing them) is
        // broken by giving up after a promise's length and retrying after a random backoff.
        this.log('info', 'campaign_retry', { term: this.campaignTerm });
        this.dropCoordKey(now);
        this.campaignAt = now + this.rng.int(H, 4 * H);
      }
      return;
    }
    if (now < this.campaignAt || !quorate || before) return;
    this.campaigning = true;
    this.campaignStartedAt = now;
    if (this.campaignTerm <= this.term) this.campaignTerm = this.term + 1;
    this.urgent = true;
  }

  private wantedKeys(): LeaseKey[] {
    const keys: LeaseKey[] = [];
    if (this.iAmCoord || this.campaigning) keys.push(COORD_KEY);
    for (const r of this.res.values()) if (r.state !== 'idle') keys.push(resourceKey(r.cfg.name));
    return keys;
  }

  private heartbeat(now: number): void {
    // Served requesters get theirs when their request comes, unless something changed that
    // every peer should hear now, or our own heartbeats carry requests (those go to everyone).
    const requesting = this.requesting();
    const skipServed = !this.urgent && !requesting;
    this.urgent = false;
    this.answerRound = false;
    this.roundAt = Infinity;
    this.lastHbAt = now;
    const keys = this.wantedKeys();
    let req: Heartbeat['req'];
    if (keys.length) {
      const round = ++this.round;
      const coordTerm = keys.includes(COORD_KEY) ? this.campaignTerm : undefined;
      req = { round, keys, ...(coordTerm !== undefined ? { coordTerm } : {}) };
      this.tracker.sent(round, keys, now);
      // Our own vote: the local granter answers at once, under the same rules as for peers.
      const own = this.granter.request(this.self.id, this.inc, round, keys, coordTerm, now);
      for (const k of own.granted) this.tracker.grant(k, this.self.id, round);
      // Our own vote's denials schedule a retry as a peer's do (never a campaign term bump: that
      // stays with peers' answers, as before; our own granter's term is often our own campaign's).
      this.noteDenials(own.denied, null, now);
    }
    // Whatever retry was due is served by this round.
    for (const r of this.res.values()) if (r.retryAt <= now) r.retryAt = 0;
    if (this.coordRetryAt <= now) this.coordRetryAt = 0;
    const hb = this.heartbeatBody(now, req);
    // The copies carrying answers first: every answerer wakes at the same moment (their
    // heartbeats lock to the requester's rounds), and in a big cluster on shared CPUs the
    // requester's lease is as fresh as its slowest majority answer.
    for (const [id, grant] of this.owed) {
      this.send(id, { ...hb, grant });
      if (requesting) this.served.delete(id);
      else this.served.set(id, this.nextRequestDue(now));
    }
    for (const id of this.peers.keys()) {
      if (this.owed.has(id)) continue;
      const by = this.served.get(id);
      if (by !== undefined) {
        if (skipServed && now < by) continue;
        // Overdue, or our rounds carry requests now: it rejoins the rounds. (An urgent round
        // reaches it once more and leaves it served.)
        if (now >= by || requesting) this.served.delete(id);
      }
      this.send(id, hb);
    }
    this.owed.clear();
  }

  /** What every heartbeat says about us, now; `req` = this round's lease request, if any. */
  private heartbeatBody(now: number, req: Heartbeat['req']): Heartbeat {
    return {
      t: 'hb',
      from: this.self.id,
      inc: this.inc,
      term: this.term,
      holds: [...this.res.values()].filter((r) => r.state === 'held').map((r) => r.cfg.name),
      fails: this.failMap(now),
      attrs: this.attrs.entries,
      ...(this.iAmCoord ? { coord: this.campaignTerm, assign: this.assignment.map } : {}),
      ...(req ? { req } : {}),
      ...(this.configDigest ? { cfg: this.configDigest } : {}),
      seq: this.round,
      ...this.fenceGossip(now),
      ...this.replica.hbFields(this.replicaCtx(now)),
    };
  }

  /** Turn grants into holdings: become coordinator, add addresses, refresh lifetimes. */
  private takeGrantedLeases(now: number): void {
    if (this.campaigning && !this.iAmCoord && !this.coord) {
      const end = this.tracker.leaseEnd(COORD_KEY, this.votes);
      if (now < end) {
        this.iAmCoord = true;
        this.campaigning = false;
        this.campaignStartedAt = -Infinity;
        this.term = Math.max(this.term, this.campaignTerm);
        this.coord = { id: this.self.id, term: this.campaignTerm, lastHeard: now };
        this.campaignAt = Infinity;
        this.log('info', 'coordinator_elected', { term: this.campaignTerm });
        this.assignedSince.clear();
        this.coordinate(now);
        this.urgent = true;
      }
    }
    for (const r of this.res.values()) {
      if (r.state === 'idle') continue;
      const end = this.tracker.leaseEnd(resourceKey(r.cfg.name), this.votes);
      if (end > r.renewedEnd && Number.isFinite(end)) {
        // A newer majority: its request left at end - leaseMs (the lease counts from the send).
        r.renewedEnd = end;
        r.renewalMs = now - (end - this.timing.leaseMs);
      }
      if (now >= end - this.timing.releaseMarginMs) continue;
      if (r.state === 'acquiring') {
        if (this.emitAcquire(r, end, now, 'assigned by the coordinator')) {
          r.state = 'held';
          this.urgent = true;
        }
      } else if (r.readd !== null) {
        if (this.emitAcquire(r, end, now, r.readd)) r.readd = null;
      } else if (this.timing.kernelLifetime && now - r.lastRefresh >= this.timing.refreshEveryMs) {
        const k = kernelLifetime(this.timing, end, now);
        if (k) {
          this.out.push({ kind: 'refresh', resource: r.cfg.name, ip: r.cfg.ip, cidr: r.cfg.cidrNetmask, validLftSec: k.validLftSec, notAfter: k.notAfter });
          r.lastRefresh = now;
        } else {
          // A refresh is due but the grants came too late for a whole second: ask again now,
          // as an acquire does, rather than leave the lifetime fewer tries before it runs out.
          this.askAgainIfLate(r, end, now);
        }
      }
    }
  }

  /** Re-add a held address now if the lease leaves room for it, else at the next fresh grant. */
  private readd(r: Res, leaseEnd: number, now: number, why: string): void {
    r.readd = this.emitAcquire(r, leaseEnd, now, why) ? null : why;
  }

  /**
   * The answers to our newest request came too late for a kernel lifetime (`leaseEnd` is that
   * request's): ask again at once rather than at the next heartbeat — at most one extra round
   * a period, so slow round trips cannot multiply our rate.
   */
  private askAgainIfLate(r: Res, leaseEnd: number, now: number): void {
    if (leaseEnd >= this.tracker.newestEnd(resourceKey(r.cfg.name))) this.askEarly(now);
  }

  /** A request round now instead of at the next heartbeat, at most once a period. */
  private askEarly(now: number): void {
    if (now - this.earlyAskAt < this.timing.heartbeatMs) return;
    this.earlyAskAt = now;
    this.urgent = true;
  }

  /**
   * The longest renewal round trip that still gives a 1 s kernel lifetime (lan: 1350 - 300 -
   * 1000 = 50 ms); null when the profile has no kernel lifetime.
   */
  renewalBudgetMs(): number | null {
    return this.timing.kernelLifetime ? this.timing.leaseMs - this.timing.kernelSlackMs - 1000 : null;
  }

  private emitAcquire(r: Res, leaseEnd: number, now: number, why: string): boolean {
    if (now >= leaseEnd - this.timing.releaseMarginMs) return false;
    let validLftSec: number | null = null;
    let notAfter = leaseEnd - this.timing.releaseMarginMs;
    if (this.timing.kernelLifetime) {
      const k = kernelLifetime(this.timing, leaseEnd, now);
      if (!k) {
        // Wait for a fresher grant that leaves room for the kernel lifetime: the majority's
        // answers must come within ~50 ms of our request (lan). When the ones to our newest
        // request just came too late, ask again at once rather than at the next heartbeat — at
        // most one extra round a period, so slow round trips cannot multiply our rate. (32
        // daemons on the lab's two cores: after a takeover's election, majorities came
        // 60-150 ms after the request for several rounds in a row, bench/scale.ts.)
        this.askAgainIfLate(r, leaseEnd, now);
        // If round trips are always this slow the VIP never starts: say so (rate-limited)
        // instead of silence.
        if (now - this.shortLeaseWarnAt > 10_000) {
          this.shortLeaseWarnAt = now;
          this.log('warn', 'grant_too_late', {
            resource: r.cfg.name,
            leaseLeftMs: Math.round(leaseEnd - now),
            neededMs: 1000 + this.timing.kernelSlackMs,
            renewalMs: r.renewalMs === null ? null : Math.round(r.renewalMs),
            budgetMs: this.renewalBudgetMs(),
            hint: 'renewal round trips are too slow for this profile; use profile slow or a longer lease_time',
          });
        }
        return false;
      }
      validLftSec = k.validLftSec;
      notAfter = k.notAfter;
    }
    this.out.push({ kind: 'acquire', resource: r.cfg.name, ip: r.cfg.ip, cidr: r.cfg.cidrNetmask, validLftSec, notAfter, term: this.assignment.term });
    r.lastRefresh = now;
    this.log('info', 'vip_acquired', { resource: r.cfg.name, ip: r.cfg.ip, why, term: this.assignment.term, leaseMs: Math.round(leaseEnd - now) });
    return true;
  }

  private releaseResource(r: Res, now: number, reason: string): void {
    const wasHeld = r.state === 'held';
    r.state = 'idle';
    r.renewalMs = null;
    r.readd = null;
    r.retryAt = 0;
    const key = resourceKey(r.cfg.name);
    const round = ++this.round;
    this.tracker.drop(key, round);
    // Order matters: the address is gone before the peers learn they may take it.
    if (wasHeld) this.out.push(releaseOf(r.cfg, reason));
    for (const id of this.peers.keys()) this.send(id, { t: 'rel', from: this.self.id, inc: this.inc, round, keys: [key] });
    this.granter.release(this.self.id, this.inc, round, [key], now, 0);
    if (wasHeld) this.log('warn', 'vip_released', { resource: r.cfg.name, ip: r.cfg.ip, reason });
    this.urgent = true;
  }

  private followAssignment(now: number): void {
    const coordLive = this.iAmCoord || (this.coord !== null && this.isOnline(this.coord.id, now));
    for (const r of this.res.values()) {
      const assigned = this.assignment.map[r.cfg.name];
      const mine = coordLive && assigned === this.self.id && this.self.role === 'member';
      if (r.state === 'idle' && mine && this.quorate(now)) {
        r.state = 'acquiring';
        r.retryAt = 0;
        this.urgent = true;
      } else if (r.state === 'acquiring' && !mine) {
        this.releaseResource(r, now, 'no longer assigned here');
      } else if (r.state === 'held' && coordLive && assigned !== undefined && assigned !== this.self.id) {
        this.releaseResource(r, now, assigned ? `moved to ${this.nameOf(assigned)} by the coordinator` : 'stopped by the coordinator');
      }
    }
  }

  /** Coordinator duty: decide placement and publish it (in every heartbeat). */
  private coordinate(now: number): void {
    const online = new Set<number>([this.self.id]);
    // A node whose power is being cut is no place for a VIP, even if it answers: a fence
    // decided for an old incarnation also kills one that booted meanwhile, and a VIP given to
    // that one would be owed promises, need a fence of its own and kill the next boot again
    // (the simulator found this loop: seed 1375 after lease answers moved into heartbeats).
    for (const id of this.peers.keys()) if (this.isOnline(id, now) && !this.fence.attempts.get(id)?.runningSince) online.add(id);
    const standby = new Set<number>();
    for (const n of this.cfg.nodes) if (this.attrs.get(standbyKey(n.name)) === true) standby.add(n.id);
    const failCounts = new Map<number, Record<string, number>>([[this.self.id, this.failMap(now)]]);
    const holders = new Map<string, number>();
    for (const [id, p] of this.peers) {
      if (!online.has(id)) continue;
      failCounts.set(id, p.fails);
      for (const h of p.holds) holders.set(h, id);
    }
    for (const r of this.res.values()) if (r.state === 'held') holders.set(r.cfg.name, this.self.id);
    const moves = new Map<string, number>();
    for (const r of this.res.values()) {
      const m = this.attrs.get(moveKey(r.cfg.name));
      if (typeof m === 'number') moves.set(r.cfg.name, m);
    }
    const banned = new Map<string, Set<number>>();
    for (const [name, m] of this.banned) {
      const s = new Set<number>();
      for (const [id, until] of m) if (now < until) s.add(id);
      banned.set(name, s);
    }
    const input: PlacementInput = {
      nodes: this.cfg.nodes,
      online,
      standby,
      failCounts,
      holders,
      moves,
      banned,
      defaultStickiness: this.doc.defaults.resourceStickiness,
      avoid: this.rolesApart() ? this.self.id : 0,
    };
    const placed = place(this.doc.resources, input);
    const map: Record<string, number> = {};
    for (const [name, id] of placed) {
      map[name] = id;
      // A node assigned a resource that does not take it in time is passed over for a while
      // (e.g. it cannot reach a majority although we hear it).
      const since = this.assignedSince.get(name);
      // The acquire timeout counts from when the assignee last held it (or was assigned).
      if (!since || since.node !== id || holders.get(name) === id) this.assignedSince.set(name, { node: id, since: now });
      else if (id && holders.get(name) !== id && now - since.since > this.acquireTimeout() && !this.fenceHoldsUp(now)) {
        const m = this.banned.get(name) ?? new Map<number, number>();
        m.set(id, now + 3 * this.acquireTimeout());
        this.banned.set(name, m);
        this.log('warn', 'acquire_timeout', { resource: name, node: this.nameOf(id) });
        this.assignedSince.delete(name);
      }
    }
    const prev = this.assignment.map;
    const changed = Object.keys(map).some((k) => prev[k] !== map[k]) || this.assignment.term !== this.campaignTerm;
    if (changed) {
      for (const [k, v] of Object.entries(map)) {
        if (prev[k] !== v) this.log('info', 'placement', { resource: k, node: v ? this.nameOf(v) : null, term: this.campaignTerm });
      }
      this.assignment = { term: this.campaignTerm, map };
      this.urgent = true;
    }
  }

  private acquireTimeout(): number {
    return this.timing.promiseMs + this.timing.fenceWaitMs + this.timing.nodeTimeoutMs + 4 * this.timing.heartbeatMs;
  }

  // ---------------------------------------------------------------- helpers

  private onAttrsChanged(keys: string[], now: number): void {
    this.applyCleanups(keys);
    this.persist();
    for (const k of keys) this.log('info', 'attribute', { key: k, value: this.attrs.get(k) });
    this.urgent = true;
    void now;
  }

  private applyCleanups(keys: string[]): void {
    for (const k of keys) {
      if (!k.startsWith('cleanup:')) continue;
      const name = k.slice('cleanup:'.length);
      const g = this.attrs.get(k);
      if (typeof g === 'number' && g > (this.cleanupsApplied.get(name) ?? 0)) {
        this.cleanupsApplied.set(name, g);
        this.fails.reset(name);
        this.banned.get(name)?.clear();
      }
    }
  }

  private persist(): void {
    // Called while the replica is being built (it may persist at once): it then has no state yet.
    const config = this.replica ? this.replica.persisted() : undefined;
    this.persistedTerm = Math.max(this.term, this.granter?.coordTerm ?? 0);
    this.out.push({ kind: 'persist', state: { attrs: { ...this.attrs.entries }, lamport: this.attrs.lamport, ...(config ? { config } : {}), term: this.persistedTerm, obligations: this.granter?.obligations() ?? [] } });
  }

  private failMap(now: number): Record<string, number> {
    const m: Record<string, number> = {};
    for (const r of this.res.values()) {
      const c = this.fails.count(r.cfg.name, now, r.cfg.failureTimeoutMs);
      if (c) m[r.cfg.name] = c;
    }
    return m;
  }

  isOnline(id: number, now: number): boolean {
    if (id === this.self.id) return true;
    const p = this.peers.get(id);
    if (!p) return false;
    const grace = now < this.distrustUntil ? this.timing.nodeTimeoutMs : 0;
    return now - p.lastHeard <= this.timing.nodeTimeoutMs + grace;
  }

  private visibleVotes(now: number): number {
    return this.onlineView(now).votes;
  }

  /** The nodes we see online (configured ids are distinct) make a quorum. Asked on every step. */
  quorate(now: number): boolean {
    return this.onlineView(now).quorate;
  }

  /**
   * Votes and quorum of the nodes we see online, recounted only when the set may have changed:
   * heardSeq moved, or time reached the first online peer's silence timeout or the end of our
   * distrust (isOnline's grace). Between those the set is the same, so the memo is exact.
   */
  private onlineView(now: number): { votes: number; quorate: boolean; gen: number } {
    const m = this.online;
    // `now - oldest <= limit` is isOnline's own test for the peer heard longest ago; every other
    // online peer was heard since, so it holds for them too.
    if (m.seq === this.heardSeq && now >= m.at && now - m.oldest <= m.limit && now < m.graceEnd) return m;
    const distrusting = now < this.distrustUntil;
    let votes = 0;
    let oldest = Infinity;
    for (const n of this.cfg.nodes) {
      if (!this.isOnline(n.id, now)) continue;
      votes += this.votes.votes.get(n.id) ?? 0;
      const p = this.peers.get(n.id);
      if (p) oldest = Math.min(oldest, p.lastHeard);
    }
    const tb = tieBreaker(this.votes);
    m.quorate = reachesQuorum(this.votes, votes, tb !== Infinity && this.isOnline(tb, now));
    m.votes = votes;
    m.seq = this.heardSeq;
    m.at = now;
    m.oldest = oldest;
    m.limit = this.timing.nodeTimeoutMs + (distrusting ? this.timing.nodeTimeoutMs : 0);
    m.graceEnd = distrusting ? this.distrustUntil : Infinity;
    m.gen++;
    return m;
  }

  /** Whether this cluster keeps the coordinator off VIP holders (ROLES_APART_FROM_NODES). */
  private rolesApart(): boolean {
    return this.cfg.nodes.length >= ROLES_APART_FROM_NODES;
  }

  /**
   * Whether node `id` campaigns before us. By id; when the roles are kept apart, every node
   * that holds no VIP (as last heard) before every holder.
   */
  private campaignsBefore(id: number, mine = this.holdsAnyVip()): boolean {
    if (!this.rolesApart()) return id < this.self.id;
    const theirs = (this.peers.get(id)?.holds.size ?? 0) > 0;
    return theirs === mine ? id < this.self.id : !theirs;
  }

  private holdsAnyVip(): boolean {
    for (const r of this.res.values()) if (r.state === 'held') return true;
    return false;
  }

  /** Our place in the campaign order (the number of nodes that campaign before us): spaces out campaigns. */
  private rank(): number {
    const mine = this.holdsAnyVip();
    let rank = 0;
    for (const n of this.cfg.nodes) if (n.id !== this.self.id && this.campaignsBefore(n.id, mine)) rank++;
    return rank;
  }

  private nameOf(id: number): string {
    return this.byId.get(id)?.name ?? `#${id}`;
  }

  private send(to: number, msg: Message): void {
    this.out.push({ kind: 'send', to, msg });
  }

  private logEffect(level: LogLevel, event: string, fields: Record<string, unknown>): Effect {
    return { kind: 'log', level, event, fields: { node: this.self.name, ...fields } };
  }

  private log(level: LogLevel, event: string, fields: Record<string, unknown>): void {
    this.out.push(this.logEffect(level, event, fields));
  }

  // ---------------------------------------------------------------- observation

  holding(resource: string): boolean {
    return this.res.get(resource)?.state === 'held';
  }

  /**
   * The moment (local monotonic ms) by which each held VIP must be gone if this core stops
   * running: the same moment the core itself would release it. The daemon hands this to an
   * out-of-process guard (src/vip/guard.ts) that removes the addresses of a frozen or killed
   * daemon, independently of the kernel's whole-second lifetimes.
   */
  releaseDeadlines(): { resource: string; ip: string; cidr: number; deadline: number }[] {
    const out: { resource: string; ip: string; cidr: number; deadline: number }[] = [];
    for (const r of this.res.values()) {
      if (r.state !== 'held') continue;
      out.push({ resource: r.cfg.name, ip: r.cfg.ip, cidr: r.cfg.cidrNetmask, deadline: this.tracker.leaseEnd(resourceKey(r.cfg.name), this.votes) - this.timing.releaseMarginMs });
    }
    return out;
  }

  /**
   * The SBD rule, holder side: pet the hardware watchdog only while every VIP this node holds
   * is within its lease (before the moment the core itself would drop it). A daemon that
   * stalls, or a release that hangs, stops the pets, and the watchdog resets the node before
   * the peers' wait (promise + watchdog wait) runs out.
   */
  mayPetWatchdog(now: number): boolean {
    return this.releaseDeadlines().every((d) => now < d.deadline);
  }

  /** The cluster configuration in force (piha config show). */
  clusterConfig(): { doc: ClusterDoc; epoch: number; term: number; source: 'file' | 'cluster' } {
    return { doc: this.doc, epoch: this.replica.applied.ver.epoch, term: this.replica.applied.ver.term, source: this.replica.source };
  }

  isCoordinator(): boolean {
    return this.iAmCoord;
  }

  status(now: number): CoreStatus {
    const quorate = this.quorate(now);
    const holderOf = (name: string): number | null => {
      if (this.res.get(name)?.state === 'held') return this.self.id;
      for (const [id, p] of this.peers) if (this.isOnline(id, now) && p.holds.has(name)) return id;
      return null;
    };
    const coordLive = this.iAmCoord || (this.coord !== null && this.isOnline(this.coord.id, now));
    const waitingFor = this.replica.unheardVoters();
    return {
      node: { id: this.self.id, name: this.self.name },
      quorate,
      votes: this.visibleVotes(now),
      expectedVotes: this.votes.expected,
      quorumVotes: quorumVotes(this.votes),
      coordinator: coordLive && this.coord ? { id: this.coord.id, name: this.nameOf(this.coord.id), term: this.coord.term } : null,
      term: this.term,
      nodes: this.cfg.nodes.map((n) => {
        const online = this.isOnline(n.id, now);
        const standby = this.attrs.get(standbyKey(n.name)) === true;
        const p = this.peers.get(n.id);
        return {
          id: n.id,
          name: n.name,
          role: n.role,
          state: !online ? 'offline' : standby ? 'standby' : 'online',
          lastSeenMs: n.id === this.self.id ? 0 : p && p.lastHeard > -Infinity ? Math.round(now - p.lastHeard) : null,
        };
      }),
      resources: [...this.res.values()].map((r) => {
        const h = holderOf(r.cfg.name);
        const assigned = coordLive ? this.assignment.map[r.cfg.name] : undefined;
        const end = this.tracker.leaseEnd(resourceKey(r.cfg.name), this.votes);
        const failCounts: Record<string, number> = { [this.self.name]: this.fails.count(r.cfg.name, now, r.cfg.failureTimeoutMs) };
        for (const [id, p] of this.peers) if (p.fails[r.cfg.name]) failCounts[this.nameOf(id)] = p.fails[r.cfg.name];
        return {
          name: r.cfg.name,
          ip: r.cfg.ip,
          cidrNetmask: r.cfg.cidrNetmask,
          state: h !== null ? 'started' : assigned ? 'starting' : 'stopped',
          holder: h !== null ? this.nameOf(h) : null,
          assignedTo: assigned ? this.nameOf(assigned) : null,
          failCount: failCounts[this.self.name] ?? 0,
          failCounts,
          leaseRemainingMs: r.state === 'held' ? Math.max(0, Math.round(end - now)) : null,
          renewalMs: r.state !== 'idle' && r.renewalMs !== null ? Math.round(r.renewalMs) : null,
        };
      }),
      attrs: { ...this.attrs.entries },
      distrustingSelf: now < this.distrustUntil,
      configMismatch: [...this.peers]
        .filter(([id, p]) => this.isOnline(id, now) && this.configDigest && p.cfg && p.cfg !== this.configDigest)
        .map(([id]) => this.nameOf(id)),
      config: {
        epoch: this.replica.applied.ver.epoch,
        term: this.replica.applied.ver.term,
        acceptedEpoch: this.replica.accepted.ver.epoch,
        digest: this.replica.digest(),
        source: this.replica.source,
        coordinatorReady: this.iAmCoord && this.replica.ready,
        ...(waitingFor.length ? { waitingFor } : {}),
      },
      fencing: {
        modes: ['lease', ...(this.fence.watchdog ? (['watchdog'] as const) : []), ...(this.fence.stonithEnabled ? (['device'] as const) : [])],
        stonithEnabled: this.fence.stonithEnabled,
        watchdogWaitMs: this.timing.fenceWaitMs,
        covered: this.cfg.nodes.filter((n) => this.fence.covers(n.id)).map((n) => n.name),
        pending: [...this.fence.attempts.values()].map((a) => ({
          node: this.nameOf(a.target),
          inc: a.inc,
          attempts: a.attempts,
          lastError: a.lastError,
          sinceMs: Math.round(now - a.since),
        })),
        blocking: this.granter.blockedByFence(now).map((id) => this.nameOf(id)),
        history: this.fence.events(now, (id) => this.nameOf(id)),
      },
    };
  }
}

/** Does a heartbeat's `holds` list name exactly the resources we have for that peer? */
function sameHolds(had: Set<string>, now: string[]): boolean {
  if (had.size !== now.length) return false;
  for (const h of now) if (!had.has(h)) return false;
  return true;
}

function sameFails(a: Record<string, number>, b: Record<string, number>): boolean {
  if (a === b) return true;
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  for (const k of ka) if (a[k] !== b[k]) return false;
  return true;
}
