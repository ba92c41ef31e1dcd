import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Message } from '../../src/core/types.ts';
import {
  decode,
  deriveKeys,
  encode,
  encodeRaw,
  HEADER_LEN,
  MAX_DATAGRAM,
  MAX_PAYLOAD,
  MIN_DATAGRAM,
  type DecodeContext,
  type Header,
} from '../../src/transport/codec.ts';
import { checkMessage } from '../../src/transport/validate.ts';

const KEY = Buffer.alloc(32, 7);
const keys = deriveKeys(KEY, 'lab');
const HDR: Header = { sender: 1, receiver: 2, senderNonce: 0x1122334455667788n, echo: 0xaabbn, counter: 5n };
const AT_2: DecodeContext = { selfId: 2, isPeer: (id) => id === 1 || id === 3 };

const SAMPLES: Record<string, Message> = {
  hbFull: {
    t: 'hb',
    from: 1,
    inc: 3,
    coord: 2,
    assign: { web: 1, db: 0 },
    term: 2,
    holds: ['r:web'],
    fails: { web: 0, db: 2 },
    attrs: {
      'standby:n2': { v: true, c: 4, n: 2, i: 1764250000123 },
      'move:web': { v: 'n1', c: 5, n: 1 },
      'cleanup:web': { v: 3, c: 6, n: 1 },
      gone: { v: null, c: 1, n: 1 },
    },
    req: { round: 7, keys: ['coord', 'r:web'], coordTerm: 2 },
    cv: [3, 2, 3, 2],
    cc: [3, 2],
    cd: '034d110162d5',
  },
  hbMinimal: { t: 'hb', from: 1, inc: 0, term: 0, holds: [], fails: {}, attrs: {} },
  hbWithGrant: {
    t: 'hb',
    from: 1,
    inc: 0,
    term: 2,
    holds: [],
    fails: {},
    attrs: {},
    grant: { to: 2, toInc: 5, round: 7, granted: ['r:web'], denied: [{ key: 'coord', holder: 3, remainingMs: 12.5 }], term: 2 },
  },
  grant: {
    t: 'grant',
    from: 1,
    to: 2,
    toInc: 5,
    round: 7,
    granted: ['coord'],
    denied: [{ key: 'r:web', holder: 3, remainingMs: 1234.5 }],
    term: 2,
  },
  rel: { t: 'rel', from: 1, inc: 3, round: 7, keys: ['r:web'] },
  leave: { t: 'leave', from: 1, inc: 3 },
};

const good = () => encode(keys, HDR, SAMPLES.hbFull);
const raw = (payload: string | Buffer, h: Partial<Header> = {}, over = {}) =>
  encodeRaw(keys, { ...HDR, ...h }, typeof payload === 'string' ? Buffer.from(payload) : payload, over);
const reason = (buf: Buffer, ctx = AT_2) => {
  const r = decode(keys, buf, ctx);
  return r.ok ? 'ok' : r.reason;
};

describe('codec round trip', () => {
  for (const [name, msg] of Object.entries(SAMPLES)) {
    it(`round-trips ${name}`, () => {
      const buf = encode(keys, HDR, msg);
      assert.ok(buf.length <= MAX_DATAGRAM);
      const r = decode(keys, buf, AT_2);
      assert.ok(r.ok, r.ok ? '' : r.reason);
      assert.deepEqual(r.msg, msg);
      assert.deepEqual(r.header, HDR);
    });
  }

  it('lays out the header as documented', () => {
    const buf = encode(keys, HDR, SAMPLES.leave);
    assert.equal(buf.subarray(0, 4).toString(), 'PIHA');
    assert.equal(buf[4], 3);
    assert.equal(buf[5], 0);
    assert.equal(buf.readUInt16BE(14), 1);
    assert.equal(buf.readUInt16BE(16), 2);
    assert.equal(buf.readBigUInt64BE(18), HDR.senderNonce);
    assert.equal(buf.readBigUInt64BE(26), HDR.echo);
    assert.equal(buf.readBigUInt64BE(34), HDR.counter);
    const n = buf.readUInt16BE(42);
    assert.equal(buf.length, HEADER_LEN + n + 32);
    assert.deepEqual(JSON.parse(buf.subarray(44, 44 + n).toString()), SAMPLES.leave);
  });

  it('drops undefined optional fields (validates what goes on the wire)', () => {
    const nan = { ...SAMPLES.leave, inc: NaN } as Message; // would arrive as null
    assert.throws(() => encode(keys, HDR, nan), /msg\.inc/);
    const hb = { ...SAMPLES.hbMinimal, coord: undefined, req: undefined } as Message;
    const r = decode(keys, encode(keys, HDR, hb), AT_2);
    assert.ok(r.ok);
    assert.deepEqual(r.msg, SAMPLES.hbMinimal);
  });
});

describe('encode refuses bad input', () => {
  it('rejects invalid messages, header mismatches and oversize', () => {
    assert.throws(() => encode(keys, HDR, { ...SAMPLES.leave, inc: -1 } as Message), /invalid message/);
    assert.throws(() => encode(keys, { ...HDR, sender: 3 }, SAMPLES.leave), /differs from sender/);
    assert.throws(() => encode(keys, { ...HDR, receiver: 3 }, SAMPLES.grant), /grant.to/);
    assert.throws(() => encode(keys, { ...HDR, receiver: 3 }, SAMPLES.hbWithGrant), /hb.grant.to/);
    assert.throws(() => encode(keys, { ...HDR, counter: 0n }, SAMPLES.leave), /counter/);
    assert.throws(() => encode(keys, { ...HDR, senderNonce: 0n }, SAMPLES.leave), /nonce/);
    assert.throws(() => encode(keys, { ...HDR, receiver: 0 }, SAMPLES.leave), /node ids/);
    const attrs: Record<string, { v: string; c: number; n: number }> = {};
    for (let i = 0; i < 200; i++) attrs[`move:resource-${i}`] = { v: 'x'.repeat(40), c: i, n: 1 };
    assert.throws(() => encode(keys, HDR, { ...SAMPLES.hbMinimal, attrs } as Message), /payload limit/);
  });

  it('refuses keys shorter than 16 bytes and empty cluster names', () => {
    assert.throws(() => deriveKeys(Buffer.alloc(8), 'lab'), /too short/);
    assert.throws(() => deriveKeys(KEY, ''), /empty/);
  });
});

describe('decode reject reasons', () => {
  it('too_short and too_large', () => {
    assert.equal(reason(Buffer.alloc(0)), 'too_short');
    assert.equal(reason(Buffer.alloc(MIN_DATAGRAM - 1)), 'too_short');
    assert.equal(reason(Buffer.alloc(MAX_DATAGRAM + 1)), 'too_large');
    // the length field claims more payload than the datagram holds
    const buf = Buffer.from(good());
    buf.writeUInt16BE(buf.readUInt16BE(42) + 1, 42);
    assert.equal(reason(buf), 'too_short');
  });

  it('truncation at every length never throws and never decodes', () => {
    const buf = good();
    for (let n = 0; n < buf.length; n++) {
      const r = reason(buf.subarray(0, n));
      assert.notEqual(r, 'ok', `length ${n}`);
      if (n < MIN_DATAGRAM) assert.equal(r, 'too_short');
    }
  });

  it('trailing bytes are malformed', () => {
    assert.equal(reason(Buffer.concat([good(), Buffer.alloc(1)])), 'malformed');
  });

  it('bad_magic, bad_version, wrong_cluster', () => {
    const b = Buffer.from(good());
    b[0] = 'X'.charCodeAt(0);
    assert.equal(reason(b), 'bad_magic');
    assert.equal(reason(raw(JSON.stringify(SAMPLES.leave), {}, { version: 1 })), 'bad_version');
    assert.equal(reason(raw(JSON.stringify(SAMPLES.leave), {}, { version: 2 })), 'bad_version');
    assert.equal(reason(raw(JSON.stringify(SAMPLES.leave), {}, { version: 4 })), 'bad_version');
    const other = deriveKeys(KEY, 'other-cluster');
    assert.equal(reason(encode(other, HDR, SAMPLES.leave)), 'wrong_cluster');
  });

  it('a wrong key is bad_mac', () => {
    const other = deriveKeys(Buffer.alloc(32, 8), 'lab');
    assert.equal(reason(encode(other, HDR, SAMPLES.leave)), 'bad_mac');
  });

  it('flipping any single bit never decodes; past the cluster id it is bad_mac', () => {
    const buf = good();
    for (let i = 0; i < buf.length; i++) {
      for (let bit = 0; bit < 8; bit++) {
        const m = Buffer.from(buf);
        m[i] ^= 1 << bit;
        const r = reason(m);
        assert.notEqual(r, 'ok', `byte ${i} bit ${bit}`);
        const inLength = i === 42 || i === 43;
        if (i >= 14 && !inLength) assert.equal(r, 'bad_mac', `byte ${i} bit ${bit}`);
        if (inLength) assert.ok(r === 'too_short' || r === 'malformed', `byte ${i} bit ${bit}: ${r}`);
      }
    }
  });

  it('not_for_me and unknown_sender (checked after the MAC)', () => {
    assert.equal(reason(encode(keys, { ...HDR, receiver: 3 }, SAMPLES.leave)), 'not_for_me');
    assert.equal(reason(encode(keys, { ...HDR, sender: 9 }, { ...SAMPLES.leave, from: 9 })), 'unknown_sender');
    // a packet claiming to come from ourselves
    assert.equal(reason(encode(keys, { ...HDR, sender: 2, receiver: 2 }, { ...SAMPLES.leave, from: 2 })), 'unknown_sender');
  });
});

describe('decode: authenticated but malformed', () => {
  const leave = (extra: Record<string, unknown>) => JSON.stringify({ ...SAMPLES.leave, ...extra });
  const cases: Record<string, string | Buffer> = {
    'not JSON': 'hello',
    'empty payload': '',
    'invalid UTF-8': Buffer.from([0x7b, 0xff, 0xfe, 0x7d]),
    'JSON null': 'null',
    'JSON array': '[1,2]',
    'unknown type': JSON.stringify({ t: 'bogus', from: 1 }),
    'string where a number belongs': leave({ inc: '3' }),
    'fractional integer': leave({ inc: 1.5 }),
    'negative integer': leave({ inc: -1 }),
    'overflowing number': '{"t":"leave","from":1,"inc":1e400}',
    'unsafe integer': leave({ inc: 2 ** 53 }),
    'extra field': leave({ extra: 1 }),
    'missing field': JSON.stringify({ t: 'leave', from: 1 }),
    'from differs from header sender': leave({ from: 3 }),
    'from out of range': JSON.stringify({ t: 'leave', from: 70000, inc: 1 }),
    'extra field in a nested attr': JSON.stringify({
      ...SAMPLES.hbMinimal,
      attrs: { a: { v: 1, c: 1, n: 1, x: 0 } },
    }),
    'attr value of a wrong type': JSON.stringify({ ...SAMPLES.hbMinimal, attrs: { a: { v: [1], c: 1, n: 1 } } }),
    'attr incarnation negative': JSON.stringify({ ...SAMPLES.hbMinimal, attrs: { a: { v: 1, c: 1, n: 1, i: -1 } } }),
    'attr incarnation fractional': JSON.stringify({ ...SAMPLES.hbMinimal, attrs: { a: { v: 1, c: 1, n: 1, i: 1.5 } } }),
    'too many holds': JSON.stringify({ ...SAMPLES.hbMinimal, holds: Array.from({ length: 257 }, (_, i) => `r:${i}`) }),
    'name too long': JSON.stringify({ ...SAMPLES.hbMinimal, fails: { ['x'.repeat(65)]: 1 } }),
    'empty name': JSON.stringify({ ...SAMPLES.hbMinimal, fails: { '': 1 } }),
    '__proto__ key': '{"t":"hb","from":1,"inc":0,"term":0,"holds":[],"fails":{"__proto__":1},"attrs":{}}',
    'array as record': JSON.stringify({ ...SAMPLES.hbMinimal, fails: [] }),
    'configuration digest not a string': JSON.stringify({ ...SAMPLES.hbMinimal, cd: 5 }),
    'empty configuration digest': JSON.stringify({ ...SAMPLES.hbMinimal, cd: '' }),
    'configuration version of 3 items': JSON.stringify({ ...SAMPLES.hbMinimal, cc: [1, 2, 3] }),
    'extra field in req': JSON.stringify({ ...SAMPLES.hbMinimal, req: { round: 1, keys: [], x: 1 } }),
    'grant to another node': JSON.stringify({ ...SAMPLES.grant, to: 3 }),
    'heartbeat carrying a grant to another node': JSON.stringify({ ...SAMPLES.hbWithGrant, grant: { ...(SAMPLES.hbWithGrant as { grant: object }).grant, to: 3 } }),
    'heartbeat carrying a grant with a from': JSON.stringify({ ...SAMPLES.hbWithGrant, grant: { ...(SAMPLES.hbWithGrant as { grant: object }).grant, from: 1 } }),
    'heartbeat carrying a grant without denied': JSON.stringify({ ...SAMPLES.hbMinimal, grant: { to: 2, toInc: 0, round: 1, granted: [], term: 0 } }),
    'denied entry with negative remainingMs': JSON.stringify({
      ...SAMPLES.grant,
      denied: [{ key: 'coord', holder: 1, remainingMs: -5 }],
    }),
  };
  for (const [name, payload] of Object.entries(cases)) {
    it(name, () => assert.equal(reason(raw(payload)), 'malformed'));
  }

  it('non-zero flags, zero nonce and zero counter', () => {
    const p = JSON.stringify(SAMPLES.leave);
    assert.equal(reason(raw(p, {}, { flags: 1 })), 'malformed');
    assert.equal(reason(raw(p, { senderNonce: 0n })), 'malformed');
    assert.equal(reason(raw(p, { counter: 0n })), 'malformed');
  });

  it('the raw helper itself produces decodable packets', () => {
    assert.equal(reason(raw(JSON.stringify(SAMPLES.leave))), 'ok');
  });
});

describe('validator', () => {
  it('accepts every sample and reports a path for errors', () => {
    for (const msg of Object.values(SAMPLES)) assert.equal(checkMessage(msg), null);
    assert.match(checkMessage({ ...SAMPLES.rel, keys: ['ok', 5] }) ?? '', /msg\.keys\[1\]/);
  });

  it('allows the largest payload and no more', () => {
    assert.equal(MAX_PAYLOAD, MAX_DATAGRAM - 76);
    const base = JSON.stringify(SAMPLES.leave);
    const pad = ' '.repeat(MAX_PAYLOAD - base.length); // JSON allows whitespace
    assert.equal(reason(raw(base + pad)), 'ok');
    assert.throws(() => raw(base + pad + ' '), /exceeds/);
  });
});
