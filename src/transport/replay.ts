// Anti-replay that survives restarts of either side, without persistent counters.
//
// A counter window alone is not enough: after the receiver restarts it has forgotten every
// window, and after the sender restarts its counter starts again at 1. So each process picks
// a random 64-bit session nonce at start, and every packet carries
//   - the sender's nonce, and
//   - `echo`: the receiver's nonce as the sender last saw it (0 if it has not heard from us).
// A packet is delivered only if its echo equals our *current* nonce, which proves it was
// made after the sender heard from this very process; packets captured before our restart
// echo an older nonce and are refused ('stale_session'). Within our session, a 64-entry
// sliding window per (sender, sender nonce) refuses duplicates and old counters ('replay').
//
// Handshake cost: after either side restarts, the first packets in each direction carry an
// unknown/old echo and are refused, but (MAC being valid) they teach the receiver the
// sender's new nonce, which its next packet echoes. So one heartbeat round is lost after any
// restart; with fresh nodes A and B: A->B refused (B learns a), B->A delivered (A learns b),
// A->B delivered.
//
// Learning from refused packets is what an attacker could abuse: replaying a packet from the
// sender's previous session would make us echo a dead nonce, and the live sender would refuse
// our packets. Hence a nonce confirmed by a *delivered* packet is not replaced by one learned
// from a refused packet for `confirmHoldMs`; a live peer re-confirms with every heartbeat, so
// only a peer silent for that long (typically one that has restarted) can be re-learned.
//
// Residual risk, accepted: a sender session that never got a packet delivered to us while
// we heard it can have its captured packets (echoing our nonce) delivered once each later.
// Doing better needs ordered or persisted session ids; the core also orders by incarnation.

import { randomBytes } from 'node:crypto';
import type { Header } from './codec.ts';

export const DEFAULT_CONFIRM_HOLD_MS = 2000;
export const WINDOW_SIZE = 64;
/** Windows kept per peer; each entry needs a peer restart during our lifetime to exist. */
export const MAX_SESSIONS_PER_PEER = 64;

const WINDOW_MASK = (1n << BigInt(WINDOW_SIZE)) - 1n;

/** A random non-zero u64 (0 means "unknown" in the echo field). */
export function randomNonce(): bigint {
  for (;;) {
    const n = randomBytes(8).readBigUInt64BE(0);
    if (n !== 0n) return n;
  }
}

/** Sliding window over counters: `top` is the highest accepted, bit i marks top - i seen. */
class Window {
  private top = 0n;
  private bits = 1n; // counter 0 counts as seen: senders start at 1

  /** Would `counter` be accepted? Pure, so a refused packet leaves no trace. */
  fresh(counter: bigint): boolean {
    if (counter > this.top) return true;
    const diff = this.top - counter;
    return diff < BigInt(WINDOW_SIZE) && (this.bits & (1n << diff)) === 0n;
  }

  mark(counter: bigint): void {
    if (counter > this.top) {
      const shift = counter - this.top;
      this.bits = shift >= BigInt(WINDOW_SIZE) ? 1n : ((this.bits << shift) | 1n) & WINDOW_MASK;
      this.top = counter;
    } else {
      this.bits |= 1n << (this.top - counter);
    }
  }
}

interface PeerState {
  /** The peer's nonce we put in `echo` of our packets to it (0n = unknown). */
  echo: bigint;
  /** When a delivered packet last confirmed `echo`; null if it was learned from a refused one. */
  confirmedAt: number | null;
  lastDeliveredAt: number | null;
  windows: Map<bigint, Window>;
}

export type ReplayVerdict = 'deliver' | 'replay' | 'stale_session';

export class ReplayGuard {
  readonly localNonce: bigint;
  private readonly confirmHoldMs: number;
  private readonly peers = new Map<number, PeerState>();

  constructor(opts: { localNonce?: bigint; confirmHoldMs?: number } = {}) {
    this.localNonce = opts.localNonce ?? randomNonce();
    if (this.localNonce === 0n) throw new Error('session nonce must not be 0');
    this.confirmHoldMs = opts.confirmHoldMs ?? DEFAULT_CONFIRM_HOLD_MS;
  }

  private state(peer: number): PeerState {
    let s = this.peers.get(peer);
    if (!s) {
      s = { echo: 0n, confirmedAt: null, lastDeliveredAt: null, windows: new Map() };
      this.peers.set(peer, s);
    }
    return s;
  }

  /** The nonce to echo in our next packet to `peer` (0n until we have heard from it). */
  echoFor(peer: number): bigint {
    return this.peers.get(peer)?.echo ?? 0n;
  }

  /** Monotonic time of the last packet from `peer` that was delivered, or null. */
  lastDeliveredAt(peer: number): number | null {
    return this.peers.get(peer)?.lastDeliveredAt ?? null;
  }

  /**
   * Decide on an authenticated packet (call only after the MAC and body checked out) and
   * update the state. `now` is a monotonic clock in milliseconds.
   */
  check(h: Header, now: number): ReplayVerdict {
    const s = this.state(h.sender);
    if (h.echo !== this.localNonce) {
      const held = s.confirmedAt !== null && now - s.confirmedAt < this.confirmHoldMs;
      if (h.senderNonce !== s.echo && !held) {
        s.echo = h.senderNonce;
        s.confirmedAt = null;
      }
      return 'stale_session';
    }
    const known = s.windows.get(h.senderNonce);
    const w = known ?? new Window();
    if (!w.fresh(h.counter)) return 'replay';
    if (!known) {
      s.windows.set(h.senderNonce, w);
      if (s.windows.size > MAX_SESSIONS_PER_PEER) {
        const oldest = s.windows.keys().next().value as bigint;
        s.windows.delete(oldest);
      }
    }
    w.mark(h.counter);
    s.echo = h.senderNonce;
    s.confirmedAt = now;
    s.lastDeliveredAt = now;
    return 'deliver';
  }
}
