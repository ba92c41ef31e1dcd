import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Message } from '../../src/core/types.ts';
import { Endpoint, type OpenResult } from '../../src/transport/endpoint.ts';
import { randomNonce, ReplayGuard } from '../../src/transport/replay.ts';

const KEY = Buffer.alloc(32, 3);
const ADDR = { 1: '10.0.0.1', 2: '10.0.0.2' } as const;

function node(id: 1 | 2, nonce?: bigint, confirmHoldMs?: number): Endpoint {
  const other = id === 1 ? 2 : 1;
  return new Endpoint({
    key: KEY,
    clusterName: 'lab',
    selfId: id,
    peers: [{ id: other, addr: ADDR[other] }],
    localNonce: nonce,
    confirmHoldMs,
  });
}

const hb = (from: number, inc = 1): Message => ({ t: 'hb', from, inc, term: 0, holds: [], fails: {}, attrs: {} });
const verdict = (r: OpenResult) => (r.ok ? 'deliver' : r.reason);

/** Send one heartbeat from `a` to `b` at time `now`; returns the packet and the verdict. */
function xfer(a: Endpoint, b: Endpoint, now: number) {
  const pkt = a.seal(b.selfId, hb(a.selfId));
  return { pkt, v: verdict(b.open(pkt, now, ADDR[a.selfId as 1 | 2])) };
}

/** Run the handshake: a->b, b->a, a->b; returns the verdicts. */
function handshake(a: Endpoint, b: Endpoint, now = 0): string[] {
  return [xfer(a, b, now).v, xfer(b, a, now).v, xfer(a, b, now).v];
}

describe('session handshake', () => {
  it('converges in one exchange between fresh nodes', () => {
    const a = node(1);
    const b = node(2);
    assert.equal(a.echoFor(2), 0n);
    // a->b is refused but teaches b a's nonce; b->a echoes it; a now echoes b's.
    assert.deepEqual(handshake(a, b), ['stale_session', 'deliver', 'deliver']);
    assert.equal(a.echoFor(2), b.nonce);
    assert.equal(b.echoFor(1), a.nonce);
    for (let i = 0; i < 10; i++) {
      assert.equal(xfer(a, b, i).v, 'deliver');
      assert.equal(xfer(b, a, i).v, 'deliver');
    }
    assert.equal(b.lastDeliveredAt(1), 9);
  });

  it('session nonces are random and never zero', () => {
    const seen = new Set<bigint>();
    for (let i = 0; i < 100; i++) seen.add(randomNonce());
    assert.equal(seen.size, 100);
    assert.ok(!seen.has(0n));
    assert.throws(() => new ReplayGuard({ localNonce: 0n }), /must not be 0/);
  });
});

describe('anti-replay window', () => {
  it('refuses the same packet twice', () => {
    const a = node(1);
    const b = node(2);
    handshake(a, b);
    const { pkt, v } = xfer(a, b, 1);
    assert.equal(v, 'deliver');
    assert.equal(verdict(b.open(pkt, 2, ADDR[1])), 'replay');
  });

  it('accepts reordering inside the 64-entry window, refuses below its floor', () => {
    const a = node(1);
    const b = node(2);
    handshake(a, b);
    const pkts = Array.from({ length: 100 }, () => a.seal(2, hb(1)));
    // deliver the newest first, then everything older
    assert.equal(verdict(b.open(pkts[99], 0, ADDR[1])), 'deliver');
    for (let i = 98; i >= 0; i--) {
      const want = i >= 99 - 63 ? 'deliver' : 'replay';
      assert.equal(verdict(b.open(pkts[i], 0, ADDR[1])), want, `packet ${i}`);
    }
    // and each of those delivered inside the window only once
    for (let i = 36; i < 100; i++) assert.equal(verdict(b.open(pkts[i], 0, ADDR[1])), 'replay');
  });

  it('a refused packet leaves no trace in the window', () => {
    const a = node(1);
    const b = node(2);
    const first = a.seal(2, hb(1)); // echo 0: stale
    assert.equal(verdict(b.open(first, 0, ADDR[1])), 'stale_session');
    xfer(b, a, 0);
    assert.equal(xfer(a, b, 0).v, 'deliver');
    // `first` was never delivered, but its echo is still wrong: it stays refused
    assert.equal(verdict(b.open(first, 0, ADDR[1])), 'stale_session');
  });

  it('refuses authentic packets from the wrong source address before learning from them', () => {
    const a = node(1);
    const b = node(2);
    const pkt = a.seal(2, hb(1));
    assert.equal(verdict(b.open(pkt, 0, '10.0.0.99')), 'spoofed_source');
    assert.equal(b.echoFor(1), 0n, 'a spoofed packet must not teach a nonce');
    assert.equal(verdict(b.open(pkt, 0, `::ffff:${ADDR[1]}`)), 'stale_session');
    assert.equal(b.echoFor(1), a.nonce);
  });
});

describe('restarts', () => {
  it('packets captured before the receiver restarted are not delivered', () => {
    const a = node(1);
    let b = node(2);
    handshake(a, b, 0);
    const captured = Array.from({ length: 5 }, (_, i) => xfer(a, b, i)).map((x) => {
      assert.equal(x.v, 'deliver');
      return x.pkt;
    });
    b = node(2); // restart: new nonce, all windows forgotten
    for (const pkt of captured) assert.equal(verdict(b.open(pkt, 10, ADDR[1])), 'stale_session');
    // the live sender reconverges in one exchange: b learnt a's (live) nonce from those
    assert.equal(xfer(b, a, 11).v, 'deliver');
    assert.equal(xfer(a, b, 12).v, 'deliver');
    for (const pkt of captured) assert.equal(verdict(b.open(pkt, 13, ADDR[1])), 'stale_session');
  });

  it('packets of the sender previous session stay refused after it restarted', () => {
    let a = node(1);
    const b = node(2);
    handshake(a, b, 0);
    const old = [xfer(a, b, 1).pkt, xfer(a, b, 2).pkt];
    const olderUndelivered = a.seal(2, hb(1)); // captured and withheld by an attacker
    a = node(1); // restart
    // b->a with the old echo: refused, but a learns b's nonce and answers in one go
    assert.equal(xfer(b, a, 3).v, 'stale_session');
    assert.equal(xfer(a, b, 4).v, 'deliver');
    assert.equal(xfer(b, a, 5).v, 'deliver');
    for (const pkt of old) assert.equal(verdict(b.open(pkt, 6, ADDR[1])), 'replay');
    // documented residual: a withheld, never-delivered packet of a dead session echoing our
    // live nonce is delivered once, then refused
    assert.equal(verdict(b.open(olderUndelivered, 7, ADDR[1])), 'deliver');
    assert.equal(verdict(b.open(olderUndelivered, 8, ADDR[1])), 'replay');
  });

  it('a nonce confirmed by a delivered packet is held against stale packets for confirmHoldMs', () => {
    let a = node(1);
    const b = node(2, undefined, 2000);
    const a0 = a.seal(2, hb(1)); // a's first session, echo 0
    handshake(a, b, 0);
    a = node(1);
    handshake(a, b, 100); // a restarted; b confirms a's new nonce at t=100
    const live = b.echoFor(1);
    assert.equal(live, a.nonce);
    // replaying the old-session packet must not make b echo a dead nonce...
    assert.equal(verdict(b.open(a0, 1500, ADDR[1])), 'stale_session');
    assert.equal(b.echoFor(1), live);
    assert.equal(xfer(b, a, 1600).v, 'deliver');
    assert.equal(xfer(a, b, 1700).v, 'deliver'); // re-confirms at 1700
    assert.equal(verdict(b.open(a0, 3600, ADDR[1])), 'stale_session');
    assert.equal(b.echoFor(1), live);
    // ...but once the peer has been silent past the hold, a refused packet is learnt from
    assert.equal(verdict(b.open(a0, 3700, ADDR[1])), 'stale_session');
    assert.notEqual(b.echoFor(1), live);
    // and the live peer recovers with one exchange in the other direction
    assert.equal(xfer(a, b, 3800).v, 'deliver');
    assert.equal(b.echoFor(1), live);
    assert.equal(xfer(b, a, 3900).v, 'deliver');
  });

  it('a quick sender restart within the hold converges through the other direction', () => {
    let a = node(1);
    const b = node(2);
    handshake(a, b, 0);
    a = node(1);
    // a's first packet (echo 0) is refused and, within the hold, not learnt from
    assert.equal(xfer(a, b, 10).v, 'stale_session');
    // b's packet echoes the dead nonce: a refuses it but learns b's nonce
    assert.equal(xfer(b, a, 20).v, 'stale_session');
    // a's next packet echoes b's nonce: delivered, and b confirms a's new nonce
    assert.equal(xfer(a, b, 30).v, 'deliver');
    assert.equal(xfer(b, a, 40).v, 'deliver');
  });
});

describe('Endpoint configuration', () => {
  it('rejects bad peer lists and unknown destinations', () => {
    const base = { key: KEY, clusterName: 'lab', selfId: 1 };
    assert.throws(() => new Endpoint({ ...base, peers: [{ id: 1 }] }), /own id/);
    assert.throws(() => new Endpoint({ ...base, peers: [{ id: 2 }, { id: 2 }] }), /duplicate/);
    assert.throws(() => new Endpoint({ ...base, peers: [{ id: 0 }] }), /invalid peer/);
    assert.throws(() => new Endpoint({ ...base, selfId: 70000, peers: [] }), /invalid self/);
    assert.throws(() => node(1).seal(5, hb(1)), /unknown peer/);
  });

  it('counters strictly increase per session', () => {
    const a = node(1);
    const c1 = a.seal(2, hb(1)).readBigUInt64BE(34);
    const c2 = a.seal(2, hb(1)).readBigUInt64BE(34);
    assert.equal(c1, 1n);
    assert.equal(c2, 2n);
  });
});
