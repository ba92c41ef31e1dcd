// Majority leases, both sides.
//
// Granter: promises each key to at most one node at a time, for `promiseMs` from when it
// received the request. It forgets nothing it promised while running, and after a restart it
// grants nothing until any promise it may have made has run out (the quiet period).
//
// Holder: counts a lease from the time it *sent* the request round a granter answered.
// Its lease ends at the latest time t such that the granters whose grants reach t form a
// quorum — the quorum-th order statistic of (sendTime(round granted by g) + leaseMs).
// See core/timing.ts for why this ends before every promise in that quorum.

import type { LeaseKey } from './types.ts';
import { reachesQuorum, tieBreaker, type VoteTable } from './quorum.ts';

export const COORD_KEY: LeaseKey = 'coord';
export const resourceKey = (name: string): LeaseKey => `r:${name}`;

/** (incarnation, round) pairs order a node's requests across its restarts. */
function after(inc1: number, round1: number, inc2: number, round2: number): boolean {
  return inc1 > inc2 || (inc1 === inc2 && round1 > round2);
}

interface Promised {
  to: number;
  inc: number;
  round: number;
  until: number;
  /** The holder said (a later heartbeat without the key) that it let the key go. */
  disowned: boolean;
}

export interface Denial {
  key: LeaseKey;
  holder: number; // 0 = nobody (quiet period or a stale term)
  remainingMs: number;
}

/**
 * Fencing (stonith-enabled, no watchdog): a VIP promise to a node that went silent does not
 * simply run out, because a hung node may still have the address; it ends only when the node
 * is fenced (powered off), or said it let the key go, or came back as a new incarnation.
 * The coordinator key never waits: it moves no address, and the coordinator runs the fencing.
 */
export interface FenceGate {
  /** A lapsed promise to `node` (incarnation `inc`) still blocks the key. */
  blocksAfterExpiry(node: number, inc: number): boolean;
}

const NO_FENCING: FenceGate = { blocksAfterExpiry: () => false };

export class Granter {
  private promises = new Map<LeaseKey, Promised>();
  /** `${key}|${node}` -> the newest (inc, round) that node released the key at. */
  private released = new Map<string, { inc: number; round: number }>();
  /** The last request we denied per key: granted at once when the key is released. */
  private waiting = new Map<LeaseKey, { from: number; inc: number; round: number; at: number }>();
  coordTerm = 0;
  coordTermOwner = 0;
  /** VIP promises that would need a fence changed holder: they must be persisted. */
  private obligationsDirty = false;

  constructor(
    /** Promise length per key: a VIP key adds the watchdog wait, the coordinator key does not
     *  (it moves no address, and a hung coordinator must not delay fencing). */
    private readonly promiseMs: (key: LeaseKey) => number,
    public quietUntil: number,
    private readonly gate: FenceGate = NO_FENCING,
  ) {}

  /** Whether promise `p` of `key` still keeps everyone else from the key. */
  private binds(key: LeaseKey, p: Promised, now: number): boolean {
    if (now < p.until) return true;
    return key !== COORD_KEY && !p.disowned && this.gate.blocksAfterExpiry(p.to, p.inc);
  }

  holderOf(key: LeaseKey, now: number): number {
    const p = this.promises.get(key);
    return p && this.binds(key, p, now) ? p.to : 0;
  }

  /**
   * VIP promises that still bind and that the holder has not disowned: the nodes this
   * granter would need fenced if they went silent now (node -> highest incarnation).
   */
  owed(now: number): Map<number, number> {
    const out = new Map<number, number>();
    for (const [key, p] of this.promises) {
      if (key === COORD_KEY || p.disowned || !this.binds(key, p, now)) continue;
      out.set(p.to, Math.max(out.get(p.to) ?? 0, p.inc));
    }
    return out;
  }

  /**
   * Fencing needs promises to outlive a restart of the granter: a VIP promised to a node that
   * then hangs must still be fenced when every granter that promised it has rebooted (the
   * start-up quiet period covers only a promise's length). These are the promises to persist:
   * VIP keys, not disowned, whose holder would need a fence. They change only when a VIP
   * changes holder, so the state directory is written on failovers, not on renewals.
   */
  obligations(): { key: LeaseKey; to: number; inc: number; round: number }[] {
    const out: { key: LeaseKey; to: number; inc: number; round: number }[] = [];
    for (const [key, p] of this.promises) {
      if (key !== COORD_KEY && !p.disowned && this.gate.blocksAfterExpiry(p.to, p.inc)) out.push({ key, to: p.to, inc: p.inc, round: p.round });
    }
    return out;
  }

  /** After a restart: the persisted obligations bind (until disowned or fenced). */
  restore(list: { key: LeaseKey; to: number; inc: number; round: number }[], now: number): void {
    for (const o of list) if (!this.promises.has(o.key)) this.promises.set(o.key, { to: o.to, inc: o.inc, round: o.round, until: now, disowned: false });
  }

  /** Whether obligations() changed since the last call. */
  takeObligationsDirty(): boolean {
    const d = this.obligationsDirty;
    this.obligationsDirty = false;
    return d;
  }

  /** Promises that ran out but wait for a fence (for status). */
  blockedByFence(now: number): number[] {
    const out = new Set<number>();
    for (const [key, p] of this.promises) if (now >= p.until && this.binds(key, p, now)) out.add(p.to);
    return [...out];
  }

  /**
   * A heartbeat from `from` (incarnation `inc`, sent when its newest request round was `seq`)
   * holds or requests only `wanted`. Every other key promised to it in round `seq` or earlier
   * (or in an earlier incarnation) was let go: a node removes an address before it sends the
   * heartbeat that stops asking for it, and a restarted node removes them all at start.
   */
  disown(from: number, inc: number, seq: number, wanted: ReadonlySet<LeaseKey>): void {
    for (const [key, p] of this.promises) {
      if (p.to !== from || p.disowned || wanted.has(key)) continue;
      if (after(inc, seq, p.inc, p.round) || (inc === p.inc && seq === p.round)) {
        p.disowned = true;
        if (key !== COORD_KEY) this.obligationsDirty = true;
      }
    }
  }

  /** Decide one key of a request. */
  private decide(
    key: LeaseKey,
    from: number,
    inc: number,
    round: number,
    coordTerm: number | undefined,
    now: number,
  ): Denial | null | 'stale' {
    const rel = this.released.get(`${key}|${from}`);
    if (rel && !after(inc, round, rel.inc, rel.round)) return 'stale';
    if (now < this.quietUntil) return { key, holder: 0, remainingMs: this.quietUntil - now };
    const p = this.promises.get(key);
    if (p && p.to !== from && this.binds(key, p, now)) return { key, holder: p.to, remainingMs: Math.max(0, p.until - now) };
    if (key === COORD_KEY) {
      const t = coordTerm ?? 0;
      const ok = t > this.coordTerm || (t === this.coordTerm && this.coordTermOwner === from);
      if (!ok) return { key, holder: 0, remainingMs: 0 };
      this.coordTerm = t;
      this.coordTermOwner = from;
    }
    const keep = p && p.to === from && after(p.inc, p.round, inc, round) ? p : null;
    if (key !== COORD_KEY && (!p || p.to !== from || p.inc !== inc || p.disowned) && this.gate.blocksAfterExpiry(from, inc)) this.obligationsDirty = true;
    this.promises.set(key, {
      to: from,
      inc: keep ? keep.inc : inc,
      round: keep ? keep.round : round,
      until: now + this.promiseMs(key),
      disowned: false,
    });
    return null;
  }

  request(
    from: number,
    inc: number,
    round: number,
    keys: LeaseKey[],
    coordTerm: number | undefined,
    now: number,
  ): { granted: LeaseKey[]; denied: Denial[] } {
    const granted: LeaseKey[] = [];
    const denied: Denial[] = [];
    for (const key of keys) {
      const d = this.decide(key, from, inc, round, coordTerm, now);
      if (d === null) {
        granted.push(key);
        const w = this.waiting.get(key);
        if (w && w.from === from) this.waiting.delete(key);
      } else if (d !== 'stale') {
        denied.push(d);
        if (d.holder !== 0) this.waiting.set(key, { from, inc, round, at: now });
      }
    }
    return { granted, denied };
  }

  /**
   * The holder released keys (after it removed the address). Returns requests that were
   * waiting for those keys and are now granted, so the driver can answer them at once:
   * this is what makes a planned switchover near-instant.
   */
  release(
    from: number,
    inc: number,
    round: number,
    keys: LeaseKey[],
    now: number,
    freshMs: number,
  ): { key: LeaseKey; to: number; inc: number; round: number }[] {
    const handed: { key: LeaseKey; to: number; inc: number; round: number }[] = [];
    for (const key of keys) {
      const id = `${key}|${from}`;
      const prev = this.released.get(id);
      if (!prev || after(inc, round, prev.inc, prev.round)) this.released.set(id, { inc, round });
      const p = this.promises.get(key);
      if (p && p.to === from && !after(p.inc, p.round, inc, round)) {
        this.promises.delete(key);
        if (key !== COORD_KEY) this.obligationsDirty = true;
        const w = this.waiting.get(key);
        if (w && now - w.at <= freshMs && key !== COORD_KEY) {
          this.waiting.delete(key);
          if (this.decide(key, w.from, w.inc, w.round, undefined, now) === null) handed.push({ key, ...w, to: w.from });
        }
      }
    }
    return handed;
  }

  /**
   * `node` is powered off in every incarnation up to `inc`: nothing promised to those is held
   * any more. Returns the requests that waited for those keys, granted now.
   */
  fenced(node: number, inc: number, now: number, freshMs: number): { cleared: LeaseKey[]; handed: { key: LeaseKey; to: number; inc: number; round: number }[] } {
    const cleared: LeaseKey[] = [];
    const handed: { key: LeaseKey; to: number; inc: number; round: number }[] = [];
    for (const [key, p] of this.promises) {
      if (p.to !== node || p.inc > inc) continue;
      this.promises.delete(key);
      cleared.push(key);
      if (key !== COORD_KEY) this.obligationsDirty = true;
      const w = this.waiting.get(key);
      if (w && now - w.at <= freshMs && key !== COORD_KEY && w.from !== node) {
        this.waiting.delete(key);
        if (this.decide(key, w.from, w.inc, w.round, undefined, now) === null) handed.push({ key, to: w.from, inc: w.inc, round: w.round });
      }
    }
    return { cleared, handed };
  }
}

/** What the holder side keeps per key. */
interface KeyState {
  grants: Map<number, number>; // granter -> newest round it granted
  floor: number; // grants at or below this round don't count (we released the key)
  asked: number; // send time of our newest request for the key
  // leaseEnd(), memoised until something it reads changes: a step asks for the same end
  // several times (expiry, wake-up, refresh, status), and at 32 nodes each answer sorts 31 grants.
  fresh: boolean;
  votes: VoteTable | null;
  end: number;
}

export class LeaseTracker {
  // Our request rounds of the last lease, oldest first: number, send time, keys asked. Arrays
  // updated in place, and a state object per key, rather than maps rewritten every round: in
  // V8's interpreter (src/cli-entry.ts) those maps' iterators, entries, boxed times and
  // rebuilt tables were, after the validator's, the largest part of what a holder allocated,
  // and, living a round or more, the largest part of what it promoted to the old generation
  // (sampling heap profiles, 3-node clusters, 2026-11-28).
  private readonly roundNos: number[] = [];
  private readonly roundTimes: number[] = [];
  private readonly roundKeys: (readonly LeaseKey[])[] = [];
  private readonly keys = new Map<LeaseKey, KeyState>();
  // computeLeaseEnd's scratch: granters and their ends, latest end first, the first `ends` of
  // them in use (the arrays keep their size: emptying them would give up their storage).
  private readonly byEnd: number[] = [];
  private readonly endOf: number[] = [];
  private ends = 0;

  constructor(private readonly leaseMs: number) {}

  private state(key: LeaseKey): KeyState {
    let st = this.keys.get(key);
    if (!st) this.keys.set(key, (st = { grants: new Map(), floor: 0, asked: -Infinity, fresh: false, votes: null, end: -Infinity }));
    return st;
  }

  /** Send time of `round`, if it is one of ours from the last lease. */
  private sendTime(round: number): number | undefined {
    for (let i = this.roundNos.length - 1; i >= 0; i--) if (this.roundNos[i] === round) return this.roundTimes[i];
    return undefined;
  }

  /** We sent request `round` for `keys` (which the caller does not change afterwards). */
  sent(round: number, keys: readonly LeaseKey[], now: number): void {
    for (const st of this.keys.values()) st.fresh = false;
    this.roundNos.push(round);
    this.roundTimes.push(now);
    this.roundKeys.push(keys);
    for (let i = 0; i < keys.length; i++) this.state(keys[i]!).asked = now;
    // Rounds older than a lease can no longer extend anything.
    let n = 0;
    for (let i = 0; i < this.roundNos.length; i++) {
      if (now - this.roundTimes[i]! > this.leaseMs) continue;
      this.roundNos[n] = this.roundNos[i]!;
      this.roundTimes[n] = this.roundTimes[i]!;
      this.roundKeys[n] = this.roundKeys[i]!;
      n++;
    }
    this.roundNos.length = this.roundTimes.length = this.roundKeys.length = n;
  }

  grant(key: LeaseKey, granter: number, round: number): boolean {
    let asked = false;
    for (let i = this.roundNos.length - 1; i >= 0; i--) {
      if (this.roundNos[i] === round) {
        asked = this.roundKeys[i]!.includes(key);
        break;
      }
    }
    if (!asked) return false;
    const st = this.state(key);
    if (round <= st.floor) return false;
    if ((st.grants.get(granter) ?? 0) < round) {
      st.grants.set(granter, round);
      st.fresh = false;
    }
    return true;
  }

  /** Local time the lease on `key` ends (-Infinity if no quorum ever granted it). */
  leaseEnd(key: LeaseKey, votes: VoteTable): number {
    const st = this.state(key);
    if (st.fresh && st.votes === votes) return st.end;
    st.end = this.computeLeaseEnd(st, votes);
    st.votes = votes;
    st.fresh = true;
    return st.end;
  }

  /** The latest end that a majority of granters (by votes) have each promised at least. */
  private computeLeaseEnd(st: KeyState, votes: VoteTable): number {
    this.ends = 0;
    st.grants.forEach(this.addEnd, this);
    // Latest ends first: the first prefix of granters that is quorate fixes the end. Granters
    // are distinct (map keys), so a running sum is the prefix's votes.
    const tb = tieBreaker(votes);
    let sum = 0;
    let hasTb = false;
    for (let i = 0; i < this.ends; i++) {
      const g = this.byEnd[i]!;
      sum += votes.votes.get(g) ?? 0;
      if (g === tb) hasTb = true;
      if (reachesQuorum(votes, sum, hasTb)) return this.endOf[i]!;
    }
    return -Infinity;
  }

  /** computeLeaseEnd's step per grant: insert it among the latest ends first, after equal ones (grant order). */
  private addEnd(round: number, granter: number): void {
    const t = this.sendTime(round);
    if (t === undefined) return;
    const end = t + this.leaseMs;
    let i = this.ends++;
    while (i > 0 && this.endOf[i - 1]! < end) {
      this.byEnd[i] = this.byEnd[i - 1]!;
      this.endOf[i] = this.endOf[i - 1]!;
      i--;
    }
    this.byEnd[i] = granter;
    this.endOf[i] = end;
  }

  /** Where a lease from our newest request for `key` ends (its send time + L); -Infinity if never asked. */
  newestEnd(key: LeaseKey): number {
    return (this.keys.get(key)?.asked ?? -Infinity) + this.leaseMs;
  }

  /** Forget every grant of `key` up to `round` (we released it). */
  drop(key: LeaseKey, round: number): void {
    const st = this.state(key);
    st.fresh = false;
    st.grants.clear();
    st.floor = Math.max(st.floor, round);
  }
}
