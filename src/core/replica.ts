// The replicated cluster configuration (resources, resource defaults, properties): every
// change goes through the coordinator, needs a majority, and is applied in one order on every
// node. Pure: times are the core's `now`, I/O goes through ReplicaIO.
//
// Versions are (epoch, term): the epoch counts changes, the term is the coordinator term that
// proposed it; compared lexicographically. Each node keeps two documents, both persisted:
//   accepted — the newest proposal it acknowledged (persisted BEFORE the ack is sent);
//   applied  — the newest document it knows to be committed; this one is in force.
// The protocol is Paxos-like with the coordinator as the single proposer of its term:
//   1. A new coordinator first hears heartbeats from a majority (each carries the sender's
//      accepted and applied versions) and adopts the newest accepted document among them
//      (fetching it with `cpull` if needed). A committed document was accepted by a majority,
//      and any two majorities share a node, so nothing committed is lost. If the adopted one
//      is not known committed, it is proposed again under the new term.
//   2. When no node has any document yet (epoch 0 everywhere), the coordinator proposes its
//      own file's configuration as epoch 1: the file seeds the cluster when it first forms.
//   3. A change: applyChange() on the applied document (validated like the file), proposed
//      as (epoch + 1, term) to everyone (`cdoc`); committed once nodes holding a majority of
//      votes acknowledged it (`cack`); then applied by the coordinator, announced in its
//      heartbeats (`cc`), and applied by every node that accepted that version. Nodes that
//      missed it (down, partitioned) are sent the committed document when their heartbeat
//      shows them behind.
//   4. Nodes ignore proposals from a term older than the newest coordinator term they know,
//      so a deposed coordinator cannot get a proposal accepted after its successor started.
//   5. A node whose own votes are a quorum (the two_node tie-breaker) and that holds no
//      document (first start, or restarted without its state dir) does not prepare alone: it
//      waits until it has heard every other voter, as corosync's wait_for_all does for
//      two_node. Alone, it wins coordinator terms with nobody to remember them, so it could
//      commit a document at a version (epoch, term) that the other node already holds with
//      different content — the two would never converge (simulator seeds 13777, 16778).
//   6. Versions alone do not tell documents apart when a majority restarts without its state
//      (no state dir): it re-seeds and re-uses terms, so it can commit another document at a
//      version a cut-off node already applied (simulator seed 32168). Nothing can keep what only
//      the forgetting majority had acknowledged, but the cluster must converge: a ready
//      coordinator's heartbeats carry its applied document's digest (`cd`), a node that applied
//      the same version with another digest answers with its own, and the coordinator then
//      proposes its document again as a newer version, which that node adopts. Once per version
//      per coordinator term, so nodes that decode one document differently (other nodes: lists,
//      reported as config_differs) cannot make it propose for ever.

import type { NodeConfig } from '../config/types.ts';
import { applyChange, decodeDoc, docDigest, encodeDoc, parseChange, type ClusterDoc } from '../config/cluster-doc.ts';
import { isQuorate, type VoteTable } from './quorum.ts';
import type { CfgAck, CfgDoc, CfgPull, CfgRequest, CfgResult, Heartbeat, LogLevel, Message, PersistedDoc } from './types.ts';

export interface Version {
  epoch: number;
  term: number;
}

export const newer = (a: Version, b: Version): boolean => a.epoch > b.epoch || (a.epoch === b.epoch && a.term > b.term);
export const same = (a: Version, b: Version): boolean => a.epoch === b.epoch && a.term === b.term;
const ZERO: Version = { epoch: 0, term: 0 };

export interface Held {
  ver: Version;
  doc: ClusterDoc;
  json: string;
}

// docDigest hashes the encoded document: computed once per held document (every heartbeat of
// a coordinator carries it).
const digests = new WeakMap<Held, string>();
function digestOf(h: Held): string {
  let d = digests.get(h);
  if (d === undefined) digests.set(h, (d = docDigest(h.doc)));
  return d;
}

interface Reply {
  node: number; // self: a local command id; else a forwarded request
  id: number;
}

export interface ReplicaCtx {
  now: number;
  iAmCoord: boolean;
  /** Our coordinator term (when iAmCoord). */
  coordTerm: number;
  /** Highest coordinator term this node knows or granted. */
  knownTerm: number;
  /** The live coordinator (self or a peer), or null. */
  coordinator: number | null;
  quorate: boolean;
  heartbeatMs: number;
}

export interface ReplicaIO {
  send(to: number, msg: Message): void;
  peers(): number[];
  reply(id: number, ok: boolean, message: string): void;
  persist(): void;
  apply(doc: ClusterDoc, ver: Version): void;
  log(level: LogLevel, event: string, fields: Record<string, unknown>): void;
}

/** How long the CLI waits for a change to commit before it is told (it may still commit). */
export const CHANGE_REPLY_MS = 5000;
const MAX_QUEUE = 16;

export class ConfigReplica {
  applied: Held;
  accepted: Held;
  // coordinator side
  private electedTerm = 0;
  private electedAt = -Infinity;
  ready = false;
  private readonly heard = new Map<number, { acc: Version; app: Version; at: number }>();
  private want: { ver: Version; from: number; askedAt: number } | null = null;
  private proposal: (Held & { acks: Set<number>; replies: Reply[]; sentAt: number; startedAt: number; summary: string }) | null = null;
  private queue: { change: string; replies: Reply[] }[] = [];
  private readonly lastPush = new Map<number, number>();
  // requester side
  private readonly waiting = new Map<number, { cmdId: number; deadline: number }>();
  private nextReq = 1;
  private readonly replyDeadlines = new Map<Reply, number>();
  /** Rule 5: the voters a document-less, alone-quorate coordinator must hear before it prepares. */
  private readonly waitForAll: number[];
  private waitLogged = false;
  /** Rule 6, follower side: the coordinator's last announced committed version and digest. */
  private announced: { ver: Version; digest: string } | null = null;
  /** Rule 6, coordinator side (`${epoch}/${term}`): versions re-asserted in this term, and the versions those re-assertions made. */
  private reasserted = new Set<string>();

  constructor(
    private readonly self: number,
    private readonly nodes: NodeConfig[],
    private readonly votes: VoteTable,
    private readonly io: ReplicaIO,
    seed: ClusterDoc,
    persisted?: { applied: PersistedDoc; accepted: PersistedDoc },
  ) {
    const seedHeld: Held = { ver: ZERO, doc: seed, json: encodeDoc(seed) };
    this.applied = seedHeld;
    this.accepted = seedHeld;
    if (persisted) {
      const load = (p: PersistedDoc): Held | null => {
        if (p.epoch === 0) return null;
        const doc = decodeDoc(p.doc, nodes);
        return doc ? { ver: { epoch: p.epoch, term: p.term }, doc, json: p.doc } : null;
      };
      const app = load(persisted.applied);
      const acc = load(persisted.accepted);
      if (app) this.applied = app;
      if (acc && newer(acc.ver, this.applied.ver)) this.accepted = acc;
      else this.accepted = this.applied;
      if ((persisted.applied.epoch > 0 && !app) || (persisted.accepted.epoch > 0 && !acc)) {
        io.log('error', 'config_state_invalid', { hint: 'the saved cluster configuration does not fit this node\'s nodes: list; using the file until the cluster sends its configuration' });
      }
    }
    const aloneQuorate = isQuorate(votes, [self]);
    this.waitForAll = aloneQuorate ? [...votes.votes].filter(([id, v]) => v > 0 && id !== self).map(([id]) => id) : [];
  }

  /** Voters a document-less tie-breaker has not heard yet (rule 5); empty once it may prepare. */
  unheardVoters(): string[] {
    if (this.accepted.ver.epoch > 0) return [];
    return this.names(this.waitForAll.filter((id) => !this.heard.has(id)));
  }

  private names(ids: number[]): string[] {
    return ids.map((id) => this.nodes.find((n) => n.id === id)?.name ?? String(id));
  }

  get source(): 'file' | 'cluster' {
    return this.applied.ver.epoch > 0 ? 'cluster' : 'file';
  }

  persisted(): { applied: PersistedDoc; accepted: PersistedDoc } {
    const p = (h: Held): PersistedDoc => ({ epoch: h.ver.epoch, term: h.ver.term, doc: h.json });
    return { applied: p(this.applied), accepted: p(this.accepted) };
  }

  digest(): string {
    return digestOf(this.applied);
  }

  // ------------------------------------------------------------ heartbeats

  hbFields(ctx: ReplicaCtx): Pick<Heartbeat, 'cv' | 'cc' | 'cd'> {
    const a = this.accepted.ver;
    const p = this.applied.ver;
    const cv = [a.epoch, a.term, p.epoch, p.term];
    const cd = digestOf(this.applied);
    if (ctx.iAmCoord && this.ready) return { cv, cc: [p.epoch, p.term], cd };
    // Rule 6: the same version as the coordinator's with other content: say so with our digest.
    const an = this.announced;
    const differs = an !== null && !ctx.iAmCoord && same(an.ver, p) && an.digest !== cd;
    return { cv, ...(differs ? { cd } : {}) };
  }

  onHeartbeat(hb: Heartbeat, ctx: ReplicaCtx): void {
    if (hb.cv && hb.cv.length === 4) {
      const [ae, at, pe, pt] = hb.cv;
      this.heard.set(hb.from, { acc: { epoch: ae, term: at }, app: { epoch: pe, term: pt }, at: ctx.now });
    }
    // The coordinator says which version is committed: apply it if it is the one we accepted.
    if (hb.cc && hb.cc.length === 2 && hb.coord !== undefined && hb.coord >= ctx.knownTerm) {
      const cc = { epoch: hb.cc[0], term: hb.cc[1] };
      if (same(cc, this.accepted.ver) && newer(cc, this.applied.ver)) this.applyHeld(this.accepted, 'committed (coordinator heartbeat)');
      this.announced = hb.cd !== undefined ? { ver: cc, digest: hb.cd } : null;
    }
    const peer = this.heard.get(hb.from);
    // Coordinator: a node that accepted something newer than we know (it was cut off from us
    // when we prepared, or we restarted without our state) — prepare again and adopt it, so
    // the cluster converges on the newest document instead of splitting.
    if (ctx.iAmCoord && this.ready && peer && newer(peer.acc, this.accepted.ver)) {
      this.io.log('warn', 'config_newer_seen', { node: hb.from, theirs: peer.acc, ours: this.accepted.ver });
      const replies = this.proposal?.replies ?? [];
      this.proposal = null;
      for (const r of replies) if (this.replyDeadlines.has(r)) this.answer(r, false, 'a newer cluster configuration turned up: run the command again');
      this.ready = false;
      this.electedAt = -Infinity; // everything heard so far counts
      return;
    }
    // Coordinator, rule 6: a node applied our version with other content.
    if (ctx.iAmCoord && this.ready && peer && hb.cd !== undefined && same(peer.app, this.applied.ver) && hb.cd !== digestOf(this.applied)) {
      this.reassert(hb.from, hb.cd, ctx);
    }
    // Coordinator: a node behind the committed document gets it.
    if (ctx.iAmCoord && this.ready && peer && newer(this.applied.ver, peer.app)) {
      const last = this.lastPush.get(hb.from) ?? -Infinity;
      if (ctx.now - last >= 2 * ctx.heartbeatMs) {
        this.lastPush.set(hb.from, ctx.now);
        this.io.send(hb.from, this.docMsg(this.applied, ctx.coordTerm, true));
      }
    }
  }

  /**
   * Rule 6: propose the applied document again as a newer version, which the node that holds
   * the same version with other content adopts like any newer commit. A proposal or a queued
   * change in progress makes a newer version anyway.
   */
  private reassert(node: number, theirs: string, ctx: ReplicaCtx): void {
    const key = `${this.applied.ver.epoch}/${this.applied.ver.term}`;
    if (this.reasserted.has(key)) return;
    this.reasserted.add(key);
    const ours = digestOf(this.applied);
    const [name] = this.names([node]);
    this.io.log('warn', 'config_diverged', {
      node: name,
      epoch: this.applied.ver.epoch,
      term: this.applied.ver.term,
      theirs,
      ours,
      hint: `${name} applied another configuration under the same version (nodes restarted without their state dir while it was cut off); this coordinator's configuration is proposed again as a newer version, and ${name}'s is replaced`,
    });
    if (this.proposal || this.queue.length) return;
    const epoch = Math.max(this.applied.ver.epoch, this.accepted.ver.epoch) + 1;
    // Not again for the version made here: a node that still differs then decodes the same
    // document differently (its own nodes: list), which proposing cannot fix.
    this.reasserted.add(`${epoch}/${ctx.coordTerm}`);
    this.startProposal({ ver: { epoch, term: ctx.coordTerm }, doc: this.applied.doc, json: this.applied.json }, [], `re-asserted over ${name}'s configuration of the same version`, ctx);
  }

  private docMsg(h: Held, cterm: number, commit: boolean): CfgDoc {
    return { t: 'cdoc', from: this.self, cterm, epoch: h.ver.epoch, dterm: h.ver.term, doc: h.json, commit };
  }

  // ------------------------------------------------------------ messages

  onDoc(m: CfgDoc, ctx: ReplicaCtx): void {
    if (m.cterm < ctx.knownTerm && !(this.want && m.from === this.want.from)) return; // a deposed coordinator
    const ver = { epoch: m.epoch, term: m.dterm };
    const doc = decodeDoc(m.doc, this.nodes);
    if (!doc) {
      this.io.log('error', 'config_doc_invalid', { from: m.from, epoch: m.epoch, hint: 'a node sent a cluster configuration this node cannot use: are the nodes: lists the same everywhere?' });
      return;
    }
    const held: Held = { ver, doc, json: m.doc };
    if (this.want && same(ver, this.want.ver)) {
      // The newest accepted document, which this (new) coordinator asked for.
      this.want = null;
      if (newer(ver, this.accepted.ver)) {
        this.accepted = held;
        this.io.persist();
      }
      return;
    }
    if (newer(ver, this.accepted.ver)) {
      this.accepted = held;
      this.io.persist();
    }
    if (m.commit && newer(ver, this.applied.ver)) this.applyHeld(held, 'committed (sent by the coordinator)');
    if (!m.commit && same(this.accepted.ver, ver)) {
      const ack: CfgAck = { t: 'cack', from: this.self, epoch: ver.epoch, dterm: ver.term };
      this.io.send(m.from, ack);
    }
  }

  onAck(m: CfgAck, ctx: ReplicaCtx): void {
    const p = this.proposal;
    if (!p || !ctx.iAmCoord || !same(p.ver, { epoch: m.epoch, term: m.dterm })) return;
    p.acks.add(m.from);
    this.maybeCommit(ctx);
  }

  onPull(m: CfgPull): void {
    if (m.to !== this.self) return;
    this.io.send(m.from, this.docMsg(this.accepted, m.cterm, false));
  }

  onRequest(m: CfgRequest, ctx: ReplicaCtx): void {
    if (m.to !== this.self) return;
    const reply = { node: m.from, id: m.id };
    if (!ctx.iAmCoord) return this.answer(reply, false, 'that node is not the coordinator (any more): run the command again');
    this.enqueue(m.change, reply, ctx);
  }

  onResult(m: CfgResult): void {
    if (m.to !== this.self) return;
    const w = this.waiting.get(m.id);
    if (!w) return;
    this.waiting.delete(m.id);
    this.io.reply(w.cmdId, m.ok, m.message);
  }

  // ------------------------------------------------------------ commands

  command(cmdId: number, change: string, ctx: ReplicaCtx): void {
    if (!ctx.quorate) return this.io.reply(cmdId, false, 'this node is not in a partition with quorum: configuration changes need quorum (nothing was changed)');
    if (ctx.iAmCoord) return this.enqueue(change, { node: this.self, id: cmdId }, ctx);
    if (ctx.coordinator === null) return this.io.reply(cmdId, false, 'there is no coordinator yet: try again in a few seconds (nothing was changed)');
    const id = this.nextReq++;
    this.waiting.set(id, { cmdId, deadline: ctx.now + CHANGE_REPLY_MS + 1000 });
    const req: CfgRequest = { t: 'creq', from: this.self, to: ctx.coordinator, id, change };
    this.io.send(ctx.coordinator, req);
  }

  private enqueue(change: string, reply: Reply, ctx: ReplicaCtx): void {
    const unheard = this.unheardVoters();
    if (unheard.length) return this.answer(reply, false, `this node has no saved cluster configuration and has not heard ${unheard.join(', ')} yet (two_node: the tie-breaker does not change the configuration alone); nothing was changed, try again once ${unheard.join(', ')} is online`);
    if (this.queue.length >= MAX_QUEUE) return this.answer(reply, false, 'too many configuration changes at once: try again');
    this.replyDeadlines.set(reply, ctx.now + CHANGE_REPLY_MS);
    this.queue.push({ change, replies: [reply] });
  }

  private answer(r: Reply, ok: boolean, message: string): void {
    this.replyDeadlines.delete(r);
    if (r.node === this.self) this.io.reply(r.id, ok, message);
    else {
      const res: CfgResult = { t: 'cres', from: this.self, to: r.node, id: r.id, ok, message };
      this.io.send(r.node, res);
    }
  }

  // ------------------------------------------------------------ the loop

  tick(ctx: ReplicaCtx): void {
    for (const [id, w] of this.waiting) {
      if (ctx.now >= w.deadline) {
        this.waiting.delete(id);
        this.io.reply(w.cmdId, false, 'no answer from the coordinator in time: the change may still be applied (check: piha config show)');
      }
    }
    if (!ctx.iAmCoord) {
      if (this.electedTerm) this.resign('this node is no longer the coordinator: run the command again');
      return;
    }
    if (this.electedTerm !== ctx.coordTerm) {
      if (this.electedTerm) this.resign('the coordinator changed: run the command again');
      this.electedTerm = ctx.coordTerm;
      this.electedAt = ctx.now;
      this.ready = false;
      this.reasserted.clear();
    }
    if (!this.ready) this.prepare(ctx);
    if (!this.ready) return;
    const p = this.proposal;
    if (p) {
      if (ctx.now - p.sentAt >= ctx.heartbeatMs) {
        p.sentAt = ctx.now;
        for (const id of this.io.peers()) if (!p.acks.has(id)) this.io.send(id, this.docMsg(p, ctx.coordTerm, false));
      }
    } else if (this.queue.length) this.propose(this.queue.shift()!, ctx);
    for (const [r, deadline] of this.replyDeadlines) {
      if (ctx.now >= deadline) this.answer(r, false, 'not confirmed by a majority in time: it is applied once a majority acknowledges it (check: piha config show)');
    }
  }

  /** Phase 1 of a new coordinator: hear a majority, adopt the newest accepted document. */
  private prepare(ctx: ReplicaCtx): void {
    const fresh = [...this.heard].filter(([, h]) => h.at >= this.electedAt);
    if (!isQuorate(this.votes, [this.self, ...fresh.map(([id]) => id)])) return;
    const unheardInTerm = this.accepted.ver.epoch === 0 ? this.waitForAll.filter((id) => !fresh.some(([f]) => f === id)) : [];
    if (unheardInTerm.length) {
      // Rule 5: hear every other voter in this term first (their heartbeats carry their versions).
      if (!this.waitLogged) {
        this.waitLogged = true;
        this.io.log('warn', 'config_wait_for_all', { unheard: this.names(unheardInTerm), hint: 'this node has no saved cluster configuration and is a quorum alone (two_node): it changes the configuration only after it has heard the other node' });
      }
      return;
    }
    let best = this.accepted.ver;
    let from = this.self;
    for (const [id, h] of fresh) {
      if (newer(h.acc, best)) {
        best = h.acc;
        from = id;
      }
    }
    if (from !== this.self) {
      if (!this.want || !same(this.want.ver, best) || ctx.now - this.want.askedAt >= 4 * ctx.heartbeatMs) {
        this.want = { ver: best, from, askedAt: ctx.now };
        const pull: CfgPull = { t: 'cpull', from: this.self, to: from, cterm: ctx.coordTerm };
        this.io.send(from, pull);
      }
      return;
    }
    this.want = null;
    this.ready = true;
    this.io.log('info', 'config_coordinator_ready', { epoch: this.applied.ver.epoch, accepted: this.accepted.ver.epoch });
    if (newer(this.accepted.ver, this.applied.ver)) {
      // Possibly committed by an earlier coordinator: propose it again under our term.
      this.startProposal({ ver: { epoch: this.accepted.ver.epoch, term: ctx.coordTerm }, doc: this.accepted.doc, json: this.accepted.json }, [], 'adopted from the previous coordinator', ctx);
    } else if (this.applied.ver.epoch === 0) {
      this.startProposal({ ver: { epoch: 1, term: ctx.coordTerm }, doc: this.applied.doc, json: this.applied.json }, [], 'seeded from the configuration file', ctx);
    }
  }

  private propose(item: { change: string; replies: Reply[] }, ctx: ReplicaCtx): void {
    const change = parseChange(item.change);
    if (typeof change === 'string') {
      for (const r of item.replies) this.answer(r, false, change);
      return;
    }
    const out = applyChange(this.applied.doc, change, this.nodes);
    if ('error' in out) {
      for (const r of item.replies) this.answer(r, false, out.error);
      return;
    }
    const epoch = Math.max(this.applied.ver.epoch, this.accepted.ver.epoch) + 1;
    this.startProposal({ ver: { epoch, term: ctx.coordTerm }, doc: out.doc, json: encodeDoc(out.doc) }, item.replies, out.summary, ctx);
  }

  private startProposal(h: Held, replies: Reply[], summary: string, ctx: ReplicaCtx): void {
    this.accepted = h;
    this.io.persist(); // before anyone can count our acceptance
    this.proposal = { ...h, acks: new Set([this.self]), replies, sentAt: ctx.now, startedAt: ctx.now, summary };
    this.io.log('info', 'config_proposed', { epoch: h.ver.epoch, term: h.ver.term, change: summary });
    for (const id of this.io.peers()) this.io.send(id, this.docMsg(h, ctx.coordTerm, false));
    this.maybeCommit(ctx);
  }

  private maybeCommit(ctx: ReplicaCtx): void {
    const p = this.proposal;
    if (!p || !isQuorate(this.votes, [...p.acks])) return;
    this.proposal = null;
    this.io.log('info', 'config_committed', { epoch: p.ver.epoch, term: p.ver.term, digest: docDigest(p.doc), change: p.summary, acks: p.acks.size });
    this.applyHeld(p, 'committed');
    for (const r of p.replies) this.answer(r, true, `${p.summary} (configuration epoch ${p.ver.epoch})`);
    // Tell the nodes that acknowledged at once; the others learn from the heartbeats.
    for (const id of this.io.peers()) this.io.send(id, this.docMsg(p, ctx.coordTerm, true));
  }

  private applyHeld(h: Held, why: string): void {
    this.applied = h;
    if (newer(h.ver, this.accepted.ver)) this.accepted = h;
    this.io.persist();
    this.io.log('info', 'config_applied', { epoch: h.ver.epoch, term: h.ver.term, digest: docDigest(h.doc), why });
    this.io.apply(h.doc, h.ver);
  }

  /** No longer (or newly) coordinator: pending answers are failures, the queue is dropped. */
  private resign(why: string): void {
    const replies = [...(this.proposal?.replies ?? []), ...this.queue.flatMap((q) => q.replies)];
    this.proposal = null;
    this.queue = [];
    this.electedTerm = 0;
    this.ready = false;
    this.want = null;
    for (const r of replies) if (this.replyDeadlines.has(r)) this.answer(r, false, why);
  }
}
