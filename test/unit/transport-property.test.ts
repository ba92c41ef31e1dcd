import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { Message } from '../../src/core/types.ts';
import { decode, deriveKeys, encode, MAX_DATAGRAM, VERSION, type DecodeContext } from '../../src/transport/codec.ts';
import { Endpoint } from '../../src/transport/endpoint.ts';
import { bump, range, recordRobustness, tally } from '../robustness/record.ts';

const KEY = Buffer.alloc(32, 9);
const keys = deriveKeys(KEY, 'prop');
const CTX: DecodeContext = { selfId: 2, isPeer: (id) => id === 1 };

// Generators of valid Messages from node 1 to node 2.
const uint = fc.nat({ max: 2 ** 40 });
const name = fc.string({ minLength: 1, maxLength: 64 }).filter((s) => !['__proto__', 'constructor', 'prototype'].includes(s));
const leaseKey = fc.oneof(fc.constant('coord'), name.map((n) => `r:${n}`));
const nodeOrZero = fc.integer({ min: 0, max: 65535 });
const attr = fc.record({
  v: fc.oneof(fc.string({ maxLength: 64 }), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.boolean(), fc.constant(null)),
  c: uint,
  n: nodeOrZero,
});
const dict = <T>(v: fc.Arbitrary<T>) => fc.dictionary(name, v, { maxKeys: 6 });

const heartbeat: fc.Arbitrary<Message> = fc.record(
  {
    t: fc.constant('hb' as const),
    from: fc.constant(1),
    inc: uint,
    coord: uint,
    assign: dict(nodeOrZero),
    term: uint,
    holds: fc.array(leaseKey, { maxLength: 6 }),
    fails: dict(uint),
    attrs: dict(attr),
    req: fc.record({ round: uint, keys: fc.array(leaseKey, { maxLength: 4 }), coordTerm: uint }, { requiredKeys: ['round', 'keys'] }),
    grant: fc.record({
      to: fc.constant(2),
      toInc: uint,
      round: uint,
      granted: fc.array(leaseKey, { maxLength: 4 }),
      denied: fc.array(fc.record({ key: leaseKey, holder: nodeOrZero, remainingMs: fc.double({ min: 0, max: 1e7, noNaN: true }) }), { maxLength: 4 }),
      term: uint,
    }),
  },
  { requiredKeys: ['t', 'from', 'inc', 'term', 'holds', 'fails', 'attrs'] },
);
const grant: fc.Arbitrary<Message> = fc.record({
  t: fc.constant('grant' as const),
  from: fc.constant(1),
  to: fc.constant(2),
  toInc: uint,
  round: uint,
  granted: fc.array(leaseKey, { maxLength: 4 }),
  denied: fc.array(
    fc.record({ key: leaseKey, holder: nodeOrZero, remainingMs: fc.double({ min: 0, max: 1e7, noNaN: true }) }),
    { maxLength: 4 },
  ),
  term: uint,
});
const release: fc.Arbitrary<Message> = fc.record({
  t: fc.constant('rel' as const),
  from: fc.constant(1),
  inc: uint,
  round: uint,
  keys: fc.array(leaseKey, { maxLength: 4 }),
});
const leave: fc.Arbitrary<Message> = fc.record({ t: fc.constant('leave' as const), from: fc.constant(1), inc: uint });
const message = fc.oneof(heartbeat, grant, release, leave);

const header = fc.record({
  senderNonce: fc.bigUint({ max: (1n << 64n) - 1n }).filter((n) => n !== 0n),
  echo: fc.bigUint({ max: (1n << 64n) - 1n }),
  counter: fc.bigUint({ max: (1n << 64n) - 1n }).filter((n) => n !== 0n),
});

type Mutation =
  | { op: 'flip'; at: number; bit: number }
  | { op: 'set'; at: number; value: number }
  | { op: 'truncate'; at: number }
  | { op: 'append'; bytes: Uint8Array }
  | { op: 'splice'; at: number; bytes: Uint8Array };

const mutation: fc.Arbitrary<Mutation[]> = fc.array(
  fc.oneof(
    fc.record({ op: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
    fc.record({ op: fc.constant('set' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
    fc.record({ op: fc.constant('truncate' as const), at: fc.nat() }),
    fc.record({ op: fc.constant('append' as const), bytes: fc.uint8Array({ minLength: 1, maxLength: 40 }) }),
    fc.record({ op: fc.constant('splice' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
  ),
  { minLength: 1, maxLength: 4 },
);

function mutate(buf: Buffer, muts: Mutation[]): Buffer {
  let b = Buffer.from(buf);
  for (const m of muts) {
    const at = b.length === 0 ? 0 : ('at' in m ? m.at % b.length : 0);
    switch (m.op) {
      case 'flip':
        if (b.length) b[at] ^= 1 << m.bit;
        break;
      case 'set':
        if (b.length) b[at] = m.value;
        break;
      case 'truncate':
        b = b.subarray(0, at);
        break;
      case 'append':
        b = Buffer.concat([b, m.bytes]);
        break;
      case 'splice':
        b = Buffer.concat([b.subarray(0, at), m.bytes, b.subarray(at + m.bytes.length)]);
        break;
    }
  }
  return b;
}

describe('codec properties', () => {
  it('every valid message round-trips', () => {
    fc.assert(
      fc.property(message, header, (msg, h) => {
        const buf = encode(keys, { sender: 1, receiver: 2, ...h }, msg);
        assert.ok(buf.length <= MAX_DATAGRAM);
        const r = decode(keys, buf, CTX);
        assert.ok(r.ok, r.ok ? '' : r.reason);
        // JSON normalises -0 to 0; compare the wire form
        assert.deepEqual(JSON.parse(JSON.stringify(r.msg)), JSON.parse(JSON.stringify(msg)));
        assert.deepEqual(r.header, { sender: 1, receiver: 2, ...h });
      }),
      { numRuns: 300 },
    );
  });

  it('a mutated packet never decodes and decode never throws', (t) => {
    const reasons: Record<string, number> = {};
    const ops: Record<string, number> = {};
    const sizes: number[] = [];
    let skipped = 0;
    fc.assert(
      fc.property(message, header, mutation, (msg, h, muts) => {
        const buf = encode(keys, { sender: 1, receiver: 2, ...h }, msg);
        const bad = mutate(buf, muts);
        if (bad.equals(buf)) skipped++;
        fc.pre(!bad.equals(buf));
        const r = decode(keys, bad, CTX);
        assert.equal(r.ok, false);
        bump(reasons, r.ok ? 'ok' : r.reason);
        for (const m of muts) bump(ops, m.op);
        sizes.push(bad.length);
      }),
      { numRuns: 2000 },
    );
    recordRobustness({
      area: 'decoder',
      input: 'A sealed, valid packet (heartbeat, grant, release or leave; random header) damaged by 1–4 mutations: bit flip, byte set, truncation, appended bytes, spliced bytes',
      observed: `${sizes.length} damaged packets of ${range(sizes, 0, ' bytes')} (mutations: ${tally(ops)}; ${skipped} that came out unchanged skipped): none decoded, \`decode()\` never threw; rejected as ${tally(reasons)}.`,
      test: t.name,
    });
  });

  it('random bytes never decode', (t) => {
    const reasons: Record<string, number> = {};
    let n = 0;
    let magic = 0;
    const sizes: number[] = [];
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.boolean(), (bytes, withMagic) => {
        const b = Buffer.from(bytes);
        if (withMagic && b.length >= 5) {
          b.write('PIHA', 0, 'ascii');
          b[4] = VERSION;
          magic++;
        }
        const r = decode(keys, b, CTX);
        assert.equal(r.ok, false);
        bump(reasons, r.ok ? 'ok' : r.reason);
        sizes.push(b.length);
        n++;
      }),
      { numRuns: 2000 },
    );
    recordRobustness({
      area: 'decoder',
      input: 'Random byte strings (fast-check `uint8Array({ maxLength: 300 })`), about half of those of 5 bytes or more starting with the magic `PIHA` and the current wire version',
      observed: `${n} tried, ${range(sizes, 0, ' bytes')} (${magic} with the magic and version): none decoded, \`decode()\` never threw; rejected as ${tally(reasons)}.`,
      test: t.name,
    });
  });

  it('an endpoint delivers the genuine packet once and no mutation of it', (t) => {
    const first: Record<string, number> = {};
    const again: Record<string, number> = {};
    let n = 0;
    fc.assert(
      fc.property(message, mutation, (msg, muts) => {
        const a = new Endpoint({ key: KEY, clusterName: 'prop', selfId: 1, peers: [{ id: 2 }] });
        const b = new Endpoint({ key: KEY, clusterName: 'prop', selfId: 2, peers: [{ id: 1 }] });
        b.open(a.seal(2, msg), 0); // handshake
        a.open(b.seal(1, { t: 'leave', from: 2, inc: 0 }), 0);
        const pkt = a.seal(2, msg);
        const bad = mutate(pkt, muts);
        fc.pre(!bad.equals(pkt));
        const r1 = b.open(bad, 1);
        assert.equal(r1.ok, false);
        assert.equal(b.open(pkt, 1).ok, true);
        const r2 = b.open(pkt, 1);
        assert.equal(r2.ok, false);
        const r3 = b.open(bad, 1);
        assert.equal(r3.ok, false);
        bump(first, r1.ok ? 'ok' : r1.reason);
        bump(again, r2.ok ? 'ok' : r2.reason);
        bump(again, r3.ok ? 'ok' : r3.reason);
        n++;
      }),
      { numRuns: 300 },
    );
    recordRobustness({
      area: 'decoder',
      input: 'At an endpoint after the handshake: a damaged copy of a genuine packet, then the genuine packet, then both again (a replay)',
      observed: `${n} cases: every damaged copy rejected (first time: ${tally(first)}), the genuine packet delivered exactly once; the repeats rejected as ${tally(again)}.`,
      test: t.name,
    });
  });
});
