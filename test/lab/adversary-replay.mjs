// Replays UDP payloads captured by tcpdump (test/lab/adversary.test.ts, replay scenario).
//
// Parses a classic pcap file (24-byte global header, 16-byte record headers; linktype 1 =
// Ethernet, or 113 = Linux cooked capture), keeps the IPv4/UDP datagrams from <src ip> to
// <dst ip>:<dst port> (unfragmented only), and sends their payloads, in capture order, to
// <dst ip>:<dst port> from a socket bound to <bind addr>:0 — run it in the namespace that
// owns <bind addr> so the replay has the genuine sender's source address (another source
// port than the original is fine: the daemon checks addresses, not ports).
// Prints one JSON line: {"records":123,"matched":40,"sent":40,"errors":0,"bytes":[min,max]}
//
// Usage: node adversary-replay.mjs <pcap> <src ip> <dst ip> <dst port> <bind addr> [gapMs=2] [max=5000]
import dgram from 'node:dgram';
import { readFileSync } from 'node:fs';

const [file, srcIp, dstIp, portS, bind, gapS, maxS] = process.argv.slice(2);
if (!/^192\.0\.2\.\d{1,3}$/.test(dstIp ?? '')) {
  process.stderr.write(`refusing destination ${dstIp}: only 192.0.2.0/24\n`);
  process.exit(2);
}
const port = Number(portS);
const gapMs = Number(gapS ?? 2);
const max = Math.min(Number(maxS ?? 5000), 20_000);

function parsePcap(buf) {
  if (buf.length < 24) throw new Error('pcap: file shorter than its global header');
  const magic = buf.readUInt32LE(0);
  let le;
  if (magic === 0xa1b2c3d4 || magic === 0xa1b23c4d) le = true;
  else if (magic === 0xd4c3b2a1 || magic === 0x4d3cb2a1) le = false;
  else throw new Error(`pcap: bad magic 0x${magic.toString(16)} (pcapng is not supported)`);
  const u32 = (o) => (le ? buf.readUInt32LE(o) : buf.readUInt32BE(o));
  const linktype = u32(20) & 0x0fffffff;
  const frames = [];
  for (let off = 24; off + 16 <= buf.length; ) {
    const incl = u32(off + 8);
    const start = off + 16;
    if (start + incl > buf.length) break; // truncated last record (capture cut short)
    frames.push(buf.subarray(start, start + incl));
    off = start + incl;
  }
  return { linktype, frames };
}

const ipStr = (b, o) => `${b[o]}.${b[o + 1]}.${b[o + 2]}.${b[o + 3]}`;

/** IPv4/UDP datagram of one captured frame, or null. */
function udpOf(frame, linktype) {
  let off;
  let etype;
  if (linktype === 1) {
    if (frame.length < 14) return null;
    etype = frame.readUInt16BE(12);
    off = 14;
    if (etype === 0x8100 && frame.length >= 18) {
      etype = frame.readUInt16BE(16);
      off = 18;
    }
  } else if (linktype === 113) {
    if (frame.length < 16) return null;
    etype = frame.readUInt16BE(14);
    off = 16;
  } else return null;
  if (etype !== 0x0800 || frame.length < off + 20) return null;
  const vihl = frame[off];
  if (vihl >> 4 !== 4) return null;
  const ihl = (vihl & 0x0f) * 4;
  if (frame[off + 9] !== 17) return null; // UDP
  const frag = frame.readUInt16BE(off + 6);
  if ((frag & 0x3fff) !== 0) return null; // a fragment (MF set or offset != 0)
  const u = off + ihl;
  if (frame.length < u + 8) return null;
  const ulen = frame.readUInt16BE(u + 4);
  if (ulen < 8 || u + ulen > frame.length) return null; // snapped
  return {
    src: ipStr(frame, off + 12),
    dst: ipStr(frame, off + 16),
    sport: frame.readUInt16BE(u),
    dport: frame.readUInt16BE(u + 2),
    payload: frame.subarray(u + 8, u + ulen),
  };
}

const { linktype, frames } = parsePcap(readFileSync(file));
const payloads = [];
for (const f of frames) {
  const d = udpOf(f, linktype);
  if (d && d.src === srcIp && d.dst === dstIp && d.dport === port) payloads.push(Buffer.from(d.payload));
}
const toSend = payloads.slice(0, max);

const sock = dgram.createSocket('udp4');
let errors = 0;
sock.on('error', () => errors++);
await new Promise((resolve) => sock.bind({ address: bind, port: 0 }, resolve));
let sent = 0;
for (const p of toSend) {
  await new Promise((r) =>
    sock.send(p, port, dstIp, (err) => {
      if (err) errors++;
      else sent++;
      r();
    }),
  );
  if (gapMs > 0) await new Promise((r) => setTimeout(r, gapMs));
}
sock.close();
const sizes = toSend.map((p) => p.length);
process.stdout.write(
  JSON.stringify({ records: frames.length, linktype, matched: payloads.length, sent, errors, bytes: sizes.length ? [Math.min(...sizes), Math.max(...sizes)] : [] }) + '\n',
);
process.exit(0);
