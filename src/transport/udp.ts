// Cluster messages over unicast UDP (node:dgram). All protocol decisions are in Endpoint;
// this file owns the socket, the peer address book, counters and logging.
//
// The socket binds the node's own address (not 0.0.0.0) with SO_REUSEADDR off, so daemons
// in different network namespaces, or on one host with different addresses, each own their
// socket, and a second daemon with the same address fails loudly at start instead of
// silently sharing (and stealing half of) the traffic.

import dgram from 'node:dgram';
import { performance } from 'node:perf_hooks';
import type { Message } from '../core/types.ts';
import { REJECT_REASONS, type RejectReason } from './codec.ts';
import { Endpoint, normalizeAddr } from './endpoint.ts';

export interface UdpPeer {
  id: number;
  addr: string;
  /** Defaults to the transport's own port (every node listens on cluster.port). */
  port?: number;
}

/** The subset of a pino logger this file uses. */
export interface TransportLogger {
  debug?(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface UdpTransportOptions {
  key: Buffer;
  clusterName: string;
  selfId: number;
  peers: UdpPeer[];
  bindAddr: string;
  port: number;
  onMessage(msg: Message, fromId: number): void;
  onReject?(reason: RejectReason, fromAddr: string): void;
  logger?: TransportLogger;
  confirmHoldMs?: number;
  /** Monotonic clock in ms; defaults to performance.now(). */
  now?: () => number;
}

export interface TransportStats {
  sent: number;
  received: number;
  delivered: number;
  rejected: Record<RejectReason, number>;
  bytesSent: number;
  bytesReceived: number;
  /** Messages that could not be sent (invalid/oversized message, socket error). */
  sendErrors: number;
}

const NOOP_LOGGER: TransportLogger = { warn() {}, error() {} };

export class UdpTransport {
  private readonly opts: UdpTransportOptions;
  private readonly endpoint: Endpoint;
  private readonly peers = new Map<number, { addr: string; port: number; failing: boolean }>();
  private readonly log: TransportLogger;
  private readonly now: () => number;
  private socket: dgram.Socket | null = null;
  private closing: Promise<void> | null = null;
  private readonly counters: TransportStats = {
    sent: 0,
    received: 0,
    delivered: 0,
    rejected: Object.fromEntries(REJECT_REASONS.map((r) => [r, 0])) as Record<RejectReason, number>,
    bytesSent: 0,
    bytesReceived: 0,
    sendErrors: 0,
  };

  constructor(opts: UdpTransportOptions) {
    this.opts = opts;
    this.log = opts.logger ?? NOOP_LOGGER;
    this.now = opts.now ?? (() => performance.now());
    for (const p of opts.peers) this.peers.set(p.id, { addr: normalizeAddr(p.addr), port: p.port ?? opts.port, failing: false });
    this.endpoint = new Endpoint({
      key: opts.key,
      clusterName: opts.clusterName,
      selfId: opts.selfId,
      peers: opts.peers.map((p) => ({ id: p.id, addr: p.addr })),
      confirmHoldMs: opts.confirmHoldMs,
    });
  }

  /** This process's session nonce, for logs. */
  get sessionNonce(): bigint {
    return this.endpoint.nonce;
  }

  /** Monotonic time of the last message delivered from `peerId`, or null. */
  lastDeliveredAt(peerId: number): number | null {
    return this.endpoint.lastDeliveredAt(peerId);
  }

  async start(): Promise<void> {
    if (this.socket || this.closing) throw new Error('UdpTransport already started or closed');
    const { bindAddr, port } = this.opts;
    const sock = dgram.createSocket({ type: 'udp4', reuseAddr: false });
    sock.on('message', (buf, rinfo) => this.receive(buf, rinfo.address));
    await new Promise<void>((resolve, reject) => {
      const onBindError = (err: Error) => {
        try {
          sock.close();
        } catch {
          // already closed
        }
        reject(new Error(`cannot bind UDP ${bindAddr}:${port}: ${err.message}`, { cause: err }));
      };
      sock.once('error', onBindError);
      sock.bind({ address: bindAddr, port, exclusive: true }, () => {
        sock.off('error', onBindError);
        resolve();
      });
    });
    // Without a listener an 'error' event would crash the process.
    sock.on('error', (err) => this.log.error({ err, bindAddr, port }, 'transport socket error'));
    this.socket = sock;
  }

  /**
   * Send `msg` to peer `toId`. Never throws: returns false (and counts a send error) when
   * the message cannot be sent; network errors reported later are counted and logged too.
   */
  send(toId: number, msg: Message): boolean {
    const peer = this.peers.get(toId);
    const sock = this.socket;
    if (!peer || !sock || this.closing) {
      this.counters.sendErrors += 1;
      this.log.error({ to: toId, started: !!sock }, peer ? 'transport not running' : 'send to unknown peer');
      return false;
    }
    let buf: Buffer;
    try {
      buf = this.endpoint.seal(toId, msg);
    } catch (err) {
      this.counters.sendErrors += 1;
      this.log.error({ err, to: toId, t: msg?.t }, 'cannot encode message');
      return false;
    }
    try {
      sock.send(buf, peer.port, peer.addr, (err) => this.sent(toId, peer, buf.length, err));
    } catch (err) {
      this.sent(toId, peer, buf.length, err as Error);
      return false;
    }
    return true;
  }

  private sent(toId: number, peer: { failing: boolean }, bytes: number, err: Error | null): void {
    if (err) {
      this.counters.sendErrors += 1;
      // Warn once per outage (e.g. link down) rather than on every heartbeat.
      if (!peer.failing) this.log.warn({ err, to: toId }, 'send failed');
      peer.failing = true;
      return;
    }
    peer.failing = false;
    this.counters.sent += 1;
    this.counters.bytesSent += bytes;
  }

  /** Receive path: never throws, whatever arrives and whatever the callbacks do. */
  private receive(buf: Buffer, fromAddr: string): void {
    try {
      this.counters.received += 1;
      this.counters.bytesReceived += buf.length;
      const r = this.endpoint.open(buf, this.now(), fromAddr);
      if (r.ok) {
        this.counters.delivered += 1;
        this.callback(() => this.opts.onMessage(r.msg, r.from), 'onMessage');
        return;
      }
      this.counters.rejected[r.reason] += 1;
      this.log.debug?.({ reason: r.reason, fromAddr, bytes: buf.length }, 'datagram rejected');
      if (this.opts.onReject) {
        const onReject = this.opts.onReject;
        this.callback(() => onReject(r.reason, fromAddr), 'onReject');
      }
    } catch (err) {
      this.log.error({ err, fromAddr }, 'transport receive failed');
    }
  }

  private callback(fn: () => void, name: string): void {
    try {
      fn();
    } catch (err) {
      this.log.error({ err }, `transport ${name} callback threw`);
    }
  }

  stats(): TransportStats {
    return { ...this.counters, rejected: { ...this.counters.rejected } };
  }

  /** Close the socket; idempotent. Messages sent afterwards are refused. */
  close(): Promise<void> {
    if (this.closing) return this.closing;
    const sock = this.socket;
    this.closing = new Promise<void>((resolve) => {
      if (!sock) return resolve();
      try {
        sock.close(() => resolve());
      } catch {
        resolve();
      }
    });
    return this.closing;
  }
}
