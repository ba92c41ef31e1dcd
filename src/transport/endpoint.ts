// The socket-free half of the transport: seals outgoing Messages (session nonce, echo,
// counter, MAC) and opens incoming datagrams (codec checks, source address, replay/session).
// UdpTransport is a thin dgram wrapper around it; tests and a simulator can drive it
// directly with byte buffers.

import type { Message } from '../core/types.ts';
import { checkedPayload, decode, deriveKeys, encode, type CodecKeys, type RejectReason } from './codec.ts';
import { ReplayGuard } from './replay.ts';

export interface EndpointPeer {
  id: number;
  /** Expected source address of its datagrams; omitted = not checked. */
  addr?: string;
}

export interface EndpointOptions {
  key: Buffer;
  clusterName: string;
  selfId: number;
  peers: EndpointPeer[];
  confirmHoldMs?: number;
  /** Fixed session nonce, for tests; normally random per process start. */
  localNonce?: bigint;
}

export type OpenResult =
  | { ok: true; msg: Message; from: number }
  | { ok: false; reason: RejectReason };

const U64_MAX = (1n << 64n) - 1n;

/** `::ffff:10.0.0.1` and `10.0.0.1` are the same sender. */
export function normalizeAddr(addr: string): string {
  return addr.toLowerCase().startsWith('::ffff:') && addr.includes('.') ? addr.slice(7) : addr;
}

export class Endpoint {
  readonly selfId: number;
  private readonly keys: CodecKeys;
  private readonly peerAddr = new Map<number, string | undefined>();
  private readonly guard: ReplayGuard;
  private counter = 0n;
  // The last payload sealed, by its JSON: the core sends the same heartbeat to every peer in a
  // row, so it is checked (a JSON.parse and the full validation) once instead of once per copy:
  // N - 2 checks fewer a round for a holder of an N-node cluster.
  // Keyed by the JSON text, not the object, so a message changed in place is checked again.
  private lastJson = '';
  private lastPayload: Buffer | null = null;

  constructor(opts: EndpointOptions) {
    const validId = (id: number) => Number.isInteger(id) && id >= 1 && id <= 65535;
    if (!validId(opts.selfId)) throw new Error(`invalid self id ${opts.selfId}`);
    for (const p of opts.peers) {
      if (!validId(p.id)) throw new Error(`invalid peer id ${p.id}`);
      if (p.id === opts.selfId) throw new Error(`peer id ${p.id} is this node's own id`);
      if (this.peerAddr.has(p.id)) throw new Error(`duplicate peer id ${p.id}`);
      this.peerAddr.set(p.id, p.addr === undefined ? undefined : normalizeAddr(p.addr));
    }
    this.selfId = opts.selfId;
    this.keys = deriveKeys(opts.key, opts.clusterName);
    this.guard = new ReplayGuard({ localNonce: opts.localNonce, confirmHoldMs: opts.confirmHoldMs });
  }

  /** This process's session nonce (useful in logs to correlate restarts). */
  get nonce(): bigint {
    return this.guard.localNonce;
  }

  isPeer(id: number): boolean {
    return this.peerAddr.has(id);
  }

  /** The peer's session nonce we currently echo (0n = not heard yet). */
  echoFor(id: number): bigint {
    return this.guard.echoFor(id);
  }

  lastDeliveredAt(id: number): number | null {
    return this.guard.lastDeliveredAt(id);
  }

  /** Encode `msg` for peer `to`. Throws on an unknown peer, invalid message or oversize. */
  seal(to: number, msg: Message): Buffer {
    if (!this.peerAddr.has(to)) throw new Error(`unknown peer id ${to}`);
    if (this.counter >= U64_MAX) throw new Error('message counter exhausted; restart the daemon');
    const json = JSON.stringify(msg);
    if (json !== this.lastJson || !this.lastPayload) {
      const payload = checkedPayload(msg, json); // throws before the cache is touched
      this.lastJson = json;
      this.lastPayload = payload;
    }
    this.counter += 1n;
    return encode(
      this.keys,
      { sender: this.selfId, receiver: to, senderNonce: this.nonce, echo: this.guard.echoFor(to), counter: this.counter },
      msg,
      this.lastPayload,
    );
  }

  /**
   * Decide on one received datagram. `fromAddr` is its source address (checked against the
   * claimed sender's configured address when both are known); `now` a monotonic clock in ms.
   * Never throws.
   */
  open(buf: Buffer, now: number, fromAddr?: string): OpenResult {
    try {
      const d = decode(this.keys, buf, { selfId: this.selfId, isPeer: (id) => this.peerAddr.has(id) });
      if (!d.ok) return d;
      // Checked after the MAC so that 'spoofed_source' means "authentic packet, wrong
      // address": a misconfigured addr or a capture replayed from another host. Before
      // the replay guard, so such a packet cannot teach us a nonce.
      const want = this.peerAddr.get(d.header.sender);
      if (fromAddr !== undefined && want !== undefined && normalizeAddr(fromAddr) !== want) {
        return { ok: false, reason: 'spoofed_source' };
      }
      const verdict = this.guard.check(d.header, now);
      if (verdict !== 'deliver') return { ok: false, reason: verdict };
      return { ok: true, msg: d.msg, from: d.header.sender };
    } catch {
      return { ok: false, reason: 'malformed' };
    }
  }
}
