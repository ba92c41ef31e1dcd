import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Message } from '../../src/core/types.ts';
import type { RejectReason } from '../../src/transport/codec.ts';
import { Endpoint } from '../../src/transport/endpoint.ts';
import { UdpTransport, type TransportLogger } from '../../src/transport/udp.ts';

const KEY = Buffer.alloc(32, 5);
const LO = '127.0.0.1';

/** Ports the kernel just handed out (bind to 0, read, close). */
async function freePorts(n: number): Promise<number[]> {
  const socks = await Promise.all(
    Array.from({ length: n }, () => {
      const s = dgram.createSocket('udp4');
      return new Promise<dgram.Socket>((res) => s.bind(0, LO, () => res(s)));
    }),
  );
  const ports = socks.map((s) => s.address().port);
  await Promise.all(socks.map((s) => new Promise<void>((res) => s.close(() => res()))));
  return ports;
}

async function until(cond: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await sleep(5);
  }
}

const hb = (from: number, inc = 1): Message => ({ t: 'hb', from, inc, term: 0, holds: [], fails: {}, attrs: {} });

interface Node {
  t: UdpTransport;
  got: { msg: Message; from: number }[];
  rejects: { reason: RejectReason; addr: string }[];
  logs: string[];
}

const open: UdpTransport[] = [];
after(async () => {
  await Promise.all(open.map((t) => t.close()));
});

function makeNode(id: number, port: number, peers: { id: number; port: number }[], extra = {}): Node {
  const got: Node['got'] = [];
  const rejects: Node['rejects'] = [];
  const logs: string[] = [];
  const logger: TransportLogger = {
    debug: (_o, m) => logs.push(`debug ${m}`),
    warn: (_o, m) => logs.push(`warn ${m}`),
    error: (_o, m) => logs.push(`error ${m}`),
  };
  const t = new UdpTransport({
    key: KEY,
    clusterName: 'it',
    selfId: id,
    peers: peers.map((p) => ({ id: p.id, addr: LO, port: p.port })),
    bindAddr: LO,
    port,
    onMessage: (msg, from) => got.push({ msg, from }),
    onReject: (reason, addr) => rejects.push({ reason, addr }),
    logger,
    ...extra,
  });
  open.push(t);
  return { t, got, rejects, logs };
}

async function sendRaw(buf: Buffer, port: number, from = LO): Promise<void> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((res, rej) => {
    s.once('error', rej);
    s.bind(0, from, () => res());
  });
  await new Promise<void>((res, rej) => s.send(buf, port, LO, (e) => (e ? rej(e) : res())));
  s.close();
}

describe('UdpTransport on loopback', () => {
  it('two nodes exchange heartbeats after a one-round handshake', async () => {
    const [pa, pb] = await freePorts(2);
    const a = makeNode(1, pa, [{ id: 2, port: pb }]);
    const b = makeNode(2, pb, [{ id: 1, port: pa }]);
    await a.t.start();
    await b.t.start();

    for (let round = 0; round < 5; round++) {
      assert.equal(a.t.send(2, hb(1, round)), true);
      await until(() => a.t.stats().sent + a.t.stats().sendErrors > round);
      await until(() => b.t.stats().received > round);
      assert.equal(b.t.send(1, hb(2, round)), true);
      await until(() => a.t.stats().received > round);
    }
    // a's very first heartbeat carried echo 0: refused by b, which learnt a's nonce
    assert.equal(b.t.stats().rejected.stale_session, 1);
    assert.deepEqual(b.rejects, [{ reason: 'stale_session', addr: LO }]);
    assert.equal(b.got.length, 4);
    assert.deepEqual(b.got.map((g) => (g.msg as { inc: number }).inc), [1, 2, 3, 4]);
    assert.ok(b.got.every((g) => g.from === 1));
    assert.equal(a.got.length, 5);
    assert.ok(a.got.every((g) => g.from === 2 && g.msg.t === 'hb'));
    assert.ok(b.t.lastDeliveredAt(1) !== null);

    const sa = a.t.stats();
    assert.equal(sa.sent, 5);
    assert.equal(sa.delivered, 5);
    assert.equal(sa.received, 5);
    assert.ok(sa.bytesSent > 0 && sa.bytesReceived > 0);
    assert.ok(Object.values(sa.rejected).every((n) => n === 0));

    // garbage from anywhere is counted and never breaks the receive path
    await sendRaw(Buffer.from('hello'), pa);
    await sendRaw(Buffer.alloc(200, 0x41), pa);
    await sendRaw(Buffer.alloc(9000), pa);
    await until(() => a.t.stats().received === 8);
    const r = a.t.stats().rejected;
    assert.equal(r.too_short, 1);
    assert.equal(r.bad_magic, 1);
    // 9000 bytes exceeds MAX_DATAGRAM
    assert.equal(r.too_large, 1);
  });

  it('replayed and spoofed datagrams are refused with the right reason', async () => {
    const [pa, pb] = await freePorts(2);
    const b = makeNode(2, pb, [{ id: 1, port: pa }]);
    await b.t.start();
    // play node 1 from a raw socket with the cluster key
    const a = new Endpoint({ key: KEY, clusterName: 'it', selfId: 1, peers: [{ id: 2 }] });
    const sock = dgram.createSocket('udp4');
    await new Promise<void>((res) => sock.bind(pa, LO, () => res()));
    const got: Buffer[] = [];
    sock.on('message', (m) => got.push(m));
    try {
      const send = (buf: Buffer) => new Promise<void>((res, rej) => sock.send(buf, pb, LO, (e) => (e ? rej(e) : res())));
      await send(a.seal(2, hb(1))); // teaches b our nonce
      await until(() => b.t.stats().rejected.stale_session === 1);
      b.t.send(1, hb(2));
      await until(() => got.length === 1);
      assert.equal(a.open(got[0], 0, LO).ok, true);

      const pkt = a.seal(2, hb(1, 7));
      await send(pkt);
      await until(() => b.got.length === 1);
      await send(pkt);
      await until(() => b.t.stats().rejected.replay === 1);
      assert.equal(b.got.length, 1);

      // an authentic packet from another source address
      let spoofed = true;
      try {
        await sendRaw(a.seal(2, hb(1, 8)), pb, '127.0.0.2');
      } catch {
        spoofed = false; // no 127.0.0.2 on this host
      }
      if (spoofed) {
        await until(() => b.t.stats().rejected.spoofed_source === 1);
        assert.equal(b.rejects.at(-1)?.addr, '127.0.0.2');
      }

      // packet for someone else, unknown sender, wrong key
      const c = new Endpoint({ key: KEY, clusterName: 'it', selfId: 1, peers: [{ id: 3 }] });
      await send(c.seal(3, hb(1)));
      await until(() => b.t.stats().rejected.not_for_me === 1);
      const x = new Endpoint({ key: Buffer.alloc(32, 6), clusterName: 'it', selfId: 1, peers: [{ id: 2 }] });
      await send(x.seal(2, hb(1)));
      await until(() => b.t.stats().rejected.bad_mac === 1);
      assert.equal(b.got.length, 1);
    } finally {
      sock.close();
    }
  });

  it('survives throwing callbacks and refuses to send what it cannot', async () => {
    const [pa, pb] = await freePorts(2);
    const a = makeNode(1, pa, [{ id: 2, port: pb }]);
    const b = makeNode(2, pb, [{ id: 1, port: pa }], {
      onMessage: () => {
        throw new Error('core bug');
      },
      onReject: () => {
        throw new Error('reject bug');
      },
    });
    await a.t.start();
    await b.t.start();
    a.t.send(2, hb(1));
    await until(() => b.t.stats().received === 1);
    b.t.send(1, hb(2));
    await until(() => a.t.stats().delivered === 1);
    a.t.send(2, hb(1));
    await until(() => b.t.stats().delivered === 1);
    assert.ok(b.logs.includes('error transport onMessage callback threw'));
    assert.ok(b.logs.includes('error transport onReject callback threw'));

    assert.equal(a.t.send(9, hb(1)), false);
    assert.equal(a.t.send(2, { t: 'leave', from: 1, inc: -1 }), false);
    assert.equal(a.t.send(2, { t: 'leave', from: 3, inc: 1 }), false);
    assert.equal(a.t.stats().sendErrors, 3);
  });

  it('refuses a second bind of the same address and port, and sends nothing once closed', async () => {
    const [pa, pb] = await freePorts(2);
    const a = makeNode(1, pa, [{ id: 2, port: pb }]);
    await a.t.start();
    const dup = makeNode(1, pa, [{ id: 2, port: pb }]);
    await assert.rejects(dup.t.start(), /cannot bind UDP 127\.0\.0\.1:\d+: .*EADDRINUSE/);
    await assert.rejects(a.t.start(), /already started/);
    await a.t.close();
    await a.t.close(); // idempotent
    assert.equal(a.t.send(2, hb(1)), false);
    const never = makeNode(1, pa, [{ id: 2, port: pb }]);
    await never.t.close(); // closing a transport that never started is fine
  });
});
