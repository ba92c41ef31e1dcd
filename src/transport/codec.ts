// One authenticated datagram <-> one core Message.
//
// Wire layout (all integers big-endian), version 3:
//
//   off  len  field
//     0    4  magic "PIHA"
//     4    1  version (3; 2 had no configuration digest `cd` in a coordinator's
//                heartbeats, 1 no lease answers inside heartbeats: nodes of different
//                versions reject each other's datagrams as bad_version, which the log names)
//     5    1  flags (0; reserved, must be 0)
//     6    8  cluster id: first 8 bytes of SHA-256(cluster name, UTF-8)
//    14    2  sender node id (1..65535)
//    16    2  receiver node id (1..65535)
//    18    8  sender session nonce (random per process start, never 0)
//    26    8  echo nonce: the receiver's session nonce as last seen by the sender (0 = unknown)
//    34    8  counter (strictly increasing within the sender's session, starts at 1)
//    42    2  payload length N
//    44    N  payload: JSON of the Message, UTF-8
//  44+N   32  HMAC-SHA256 over bytes [0, 44+N), key = HKDF-SHA256(authkey, cluster name)
//
// A datagram is at most MAX_DATAGRAM bytes. Decoding never throws: cheap structural checks
// first, then the MAC (constant-time compare), and only then is anything parsed, so an
// attacker without the key reaches no JSON parser. Session/replay checks live in replay.ts.

import { isUtf8 } from 'node:buffer';
import { createHash, createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';
import type { Message } from '../core/types.ts';
import { checkMessage } from './validate.ts';

export const MAGIC = Buffer.from('PIHA', 'ascii');
export const VERSION = 3;
export const HEADER_LEN = 44;
export const TAG_LEN = 32;
export const MIN_DATAGRAM = HEADER_LEN + TAG_LEN;
export const MAX_DATAGRAM = 8192;
export const MAX_PAYLOAD = MAX_DATAGRAM - MIN_DATAGRAM;
const U64_MAX = (1n << 64n) - 1n;

const OFF = {
  version: 4,
  flags: 5,
  cluster: 6,
  sender: 14,
  receiver: 16,
  senderNonce: 18,
  echo: 26,
  counter: 34,
  payloadLen: 42,
} as const;

export const REJECT_REASONS = [
  'too_short',
  'too_large',
  'bad_magic',
  'bad_version',
  'wrong_cluster',
  'bad_mac',
  'not_for_me',
  'unknown_sender',
  'malformed',
  'replay',
  'stale_session',
  'spoofed_source',
] as const;
export type RejectReason = (typeof REJECT_REASONS)[number];

export interface Header {
  sender: number;
  receiver: number;
  senderNonce: bigint;
  echo: bigint;
  counter: bigint;
}

export interface CodecKeys {
  readonly clusterId: Buffer; // 8 bytes
  readonly macKey: Buffer; // 32 bytes
}

/**
 * The MAC key is derived rather than the authkey used directly so that one authkey reused
 * for two clusters (a copied /etc/piha) still yields unrelated keys: a packet of cluster A
 * can never verify in cluster B even if the cluster-id check were bypassed.
 */
export function deriveKeys(authkey: Buffer, clusterName: string): CodecKeys {
  if (authkey.length < 16) throw new Error(`authkey too short (${authkey.length} bytes, need at least 16)`);
  if (clusterName.length === 0) throw new Error('cluster name is empty');
  const name = Buffer.from(clusterName, 'utf8');
  const clusterId = createHash('sha256').update(name).digest().subarray(0, 8);
  const info = Buffer.concat([Buffer.from('piha v1 hmac\0', 'ascii'), name]);
  const macKey = Buffer.from(hkdfSync('sha256', authkey, Buffer.alloc(0), info, 32));
  return { clusterId: Buffer.from(clusterId), macKey };
}

function mac(keys: CodecKeys, data: Buffer): Buffer {
  return createHmac('sha256', keys.macKey).update(data).digest();
}

function checkHeader(h: Header): void {
  const id = (v: number) => Number.isInteger(v) && v >= 1 && v <= 65535;
  const u64 = (v: bigint) => v >= 0n && v <= U64_MAX;
  if (!id(h.sender) || !id(h.receiver)) throw new Error(`node ids out of range (${h.sender} -> ${h.receiver})`);
  if (!u64(h.senderNonce) || h.senderNonce === 0n) throw new Error('sender nonce must be a non-zero u64');
  if (!u64(h.echo)) throw new Error('echo nonce must be a u64');
  if (!u64(h.counter) || h.counter === 0n) throw new Error('counter must be a non-zero u64');
}

/**
 * Build a datagram around an arbitrary payload, without validating it. Used by encode();
 * exported so tests can craft packets that carry a valid MAC but a bad body or header.
 */
export function encodeRaw(
  keys: CodecKeys,
  h: Header,
  payload: Buffer,
  over: { version?: number; flags?: number } = {},
): Buffer {
  if (payload.length > MAX_PAYLOAD) throw new Error(`payload of ${payload.length} bytes exceeds ${MAX_PAYLOAD}`);
  const buf = Buffer.alloc(HEADER_LEN + payload.length + TAG_LEN);
  MAGIC.copy(buf, 0);
  buf.writeUInt8(over.version ?? VERSION, OFF.version);
  buf.writeUInt8(over.flags ?? 0, OFF.flags);
  keys.clusterId.copy(buf, OFF.cluster);
  buf.writeUInt16BE(h.sender, OFF.sender);
  buf.writeUInt16BE(h.receiver, OFF.receiver);
  buf.writeBigUInt64BE(h.senderNonce, OFF.senderNonce);
  buf.writeBigUInt64BE(h.echo, OFF.echo);
  buf.writeBigUInt64BE(h.counter, OFF.counter);
  buf.writeUInt16BE(payload.length, OFF.payloadLen);
  payload.copy(buf, HEADER_LEN);
  mac(keys, buf.subarray(0, HEADER_LEN + payload.length)).copy(buf, HEADER_LEN + payload.length);
  return buf;
}

/**
 * The payload that encode() seals for `msg`: its JSON, checked as a peer will check it.
 * Throws on an invalid message or an oversized result: those are bugs on this side, and
 * failing loudly here beats a silent 'malformed' at every peer. `json` must be
 * JSON.stringify(msg) (passed in when the caller already has it).
 */
export function checkedPayload(msg: Message, json: string = JSON.stringify(msg)): Buffer {
  // Validate what the peer will parse, not the object: JSON drops `undefined` optional
  // fields (which the core may well set), and a NaN would arrive as null.
  const err = checkMessage(JSON.parse(json));
  if (err) throw new Error(`refusing to send an invalid message: ${err}`);
  const payload = Buffer.from(json, 'utf8');
  if (payload.length > MAX_PAYLOAD) {
    throw new Error(`${msg.t} message of ${payload.length} bytes exceeds the ${MAX_PAYLOAD}-byte payload limit`);
  }
  return payload;
}

/**
 * Encode a Message. Throws on an invalid message or header or an oversized result (see
 * checkedPayload). `payload` = checkedPayload(msg), when the caller made it already: the
 * same heartbeat goes to every peer, and only the header and the MAC differ per copy.
 */
export function encode(keys: CodecKeys, h: Header, msg: Message, payload?: Buffer): Buffer {
  checkHeader(h);
  if (msg.from !== h.sender) throw new Error(`msg.from ${msg.from} differs from sender id ${h.sender}`);
  if (msg.t === 'grant' && msg.to !== h.receiver) throw new Error(`grant.to ${msg.to} differs from receiver ${h.receiver}`);
  if (msg.t === 'hb' && msg.grant && msg.grant.to !== h.receiver) throw new Error(`hb.grant.to ${msg.grant.to} differs from receiver ${h.receiver}`);
  return encodeRaw(keys, h, payload ?? checkedPayload(msg));
}

export interface DecodeContext {
  selfId: number;
  /** True for configured peer ids (never for selfId). */
  isPeer(id: number): boolean;
}

export type DecodeResult =
  | { ok: true; header: Header; msg: Message }
  | { ok: false; reason: RejectReason };


/** Decode and authenticate one datagram. Never throws. */
export function decode(keys: CodecKeys, buf: Buffer, ctx: DecodeContext): DecodeResult {
  try {
    return decodeUnsafe(keys, buf, ctx);
  } catch {
    // Nothing below is expected to throw; this is the belt to the braces.
    return { ok: false, reason: 'malformed' };
  }
}

function reject(reason: RejectReason): DecodeResult {
  return { ok: false, reason };
}

function decodeUnsafe(keys: CodecKeys, buf: Buffer, ctx: DecodeContext): DecodeResult {
  // Unauthenticated structural checks: cheap, and they make the reject counters useful
  // for diagnosing misconfiguration (other software on the port, other cluster, old version).
  if (!Buffer.isBuffer(buf)) return reject('malformed');
  if (buf.length > MAX_DATAGRAM) return reject('too_large');
  if (buf.length < MIN_DATAGRAM) return reject('too_short');
  if (!buf.subarray(0, 4).equals(MAGIC)) return reject('bad_magic');
  if (buf[OFF.version] !== VERSION) return reject('bad_version');
  if (!buf.subarray(OFF.cluster, OFF.cluster + 8).equals(keys.clusterId)) return reject('wrong_cluster');
  const n = buf.readUInt16BE(OFF.payloadLen);
  const end = HEADER_LEN + n;
  if (end + TAG_LEN > buf.length) return reject('too_short');
  if (end + TAG_LEN < buf.length) return reject('malformed'); // trailing bytes

  const want = mac(keys, buf.subarray(0, end));
  if (!timingSafeEqual(want, buf.subarray(end, end + TAG_LEN))) return reject('bad_mac');

  // Authenticated from here on: the packet was made by a holder of the cluster key.
  if (buf[OFF.flags] !== 0) return reject('malformed');
  const header: Header = {
    sender: buf.readUInt16BE(OFF.sender),
    receiver: buf.readUInt16BE(OFF.receiver),
    senderNonce: buf.readBigUInt64BE(OFF.senderNonce),
    echo: buf.readBigUInt64BE(OFF.echo),
    counter: buf.readBigUInt64BE(OFF.counter),
  };
  if (header.receiver !== ctx.selfId) return reject('not_for_me');
  if (header.sender === ctx.selfId || !ctx.isPeer(header.sender)) return reject('unknown_sender');
  if (header.senderNonce === 0n || header.counter === 0n) return reject('malformed');

  let value: unknown;
  try {
    // Strict UTF-8 (as TextDecoder's fatal mode) with simdutf's validator: a fatal
    // TextDecoder goes through ICU's converters, which alone keeps ~1.4 MiB of ICU data
    // resident in every daemon (bench/idle.ts).
    const body = buf.subarray(HEADER_LEN, end);
    if (!isUtf8(body)) return reject('malformed');
    value = JSON.parse(body.toString('utf8'));
  } catch {
    return reject('malformed');
  }
  if (checkMessage(value) !== null) return reject('malformed');
  const msg = value as Message;
  // The header is what replay protection and the source-address check act on; a body that
  // claims another identity would let one node speak for another.
  if (msg.from !== header.sender) return reject('malformed');
  if (msg.t === 'grant' && msg.to !== header.receiver) return reject('malformed');
  if (msg.t === 'hb' && msg.grant && msg.grant.to !== header.receiver) return reject('malformed');
  return { ok: true, header, msg };
}
