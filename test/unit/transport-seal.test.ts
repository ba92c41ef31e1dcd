// Endpoint.seal checks each distinct payload once and reuses it for the next copies (the core
// sends the same heartbeat to every peer): the reuse must never let an unchecked or stale
// payload out.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Message } from '../../src/core/types.ts';
import { decode, deriveKeys, HEADER_LEN, TAG_LEN } from '../../src/transport/codec.ts';
import { Endpoint } from '../../src/transport/endpoint.ts';

const KEY = Buffer.alloc(32, 9);
const ep = (id: number, peers: number[]) =>
  new Endpoint({ key: KEY, clusterName: 'lab', selfId: id, peers: peers.map((p) => ({ id: p })), localNonce: BigInt(id) });
const hb = (from: number): Message => ({ t: 'hb', from, inc: 5, term: 2, holds: ['vip'], fails: {}, attrs: {} });
// What the receiver's codec makes of a datagram (MAC, header, validation; the session
// handshake is the replay guard's business and tested in transport-replay).
const keys = deriveKeys(KEY, 'lab');
const open = (id: number, pkt: Buffer) => decode(keys, pkt, { selfId: id, isPeer: (p) => p !== id && p >= 1 && p <= 3 });
const payloadOf = (pkt: Buffer) => pkt.subarray(HEADER_LEN, pkt.length - TAG_LEN).toString('utf8');

describe('Endpoint.seal payload reuse', () => {
  it('the same message to several peers: each copy opens at its receiver, same payload', () => {
    const a = ep(1, [2, 3]);
    const msg = hb(1);
    const p2 = a.seal(2, msg);
    const p3 = a.seal(3, msg);
    assert.equal(payloadOf(p2), payloadOf(p3));
    assert.notDeepEqual(p2.subarray(0, HEADER_LEN), p3.subarray(0, HEADER_LEN)); // receiver, counter
    for (const [id, pkt] of [[2, p2], [3, p3]] as const) {
      const r = open(id, pkt);
      assert.ok(r.ok, `peer ${id}: ${r.ok ? '' : r.reason}`);
      assert.deepEqual(r.msg, msg);
    }
  });

  it('a message changed in place after a copy went out is checked again', () => {
    const a = ep(1, [2, 3]);
    const msg = hb(1);
    a.seal(2, msg);
    (msg as unknown as { term: unknown }).term = 'x';
    assert.throws(() => a.seal(3, msg), /refusing to send an invalid message/);
    // A valid change is sealed with the new content, not the cached payload.
    (msg as unknown as { term: number }).term = 7;
    const r = open(3, a.seal(3, msg));
    assert.ok(r.ok && r.msg.t === 'hb' && r.msg.term === 7);
  });

  it('a refused message leaves the cache as it was, and the checks per copy still run', () => {
    const a = ep(1, [2, 3]);
    const good = hb(1);
    a.seal(2, good);
    assert.throws(() => a.seal(2, { ...good, inc: -1 } as Message), /refusing to send an invalid message/);
    assert.ok(open(3, a.seal(3, good)).ok);
    // From and grant receivers are per copy: the cached payload does not skip them.
    assert.throws(() => a.seal(2, hb(4)), /differs from sender id/);
    const withGrant: Message = { ...hb(1), grant: { to: 2, toInc: 1, round: 3, granted: ['coord'], denied: [], term: 2 } } as Message;
    a.seal(2, withGrant);
    assert.throws(() => a.seal(3, withGrant), /hb\.grant\.to 2 differs from receiver 3/);
  });
});
