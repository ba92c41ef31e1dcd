// Paced UDP sender for the adversary lab tests (test/lab/adversary.test.ts).
//
// Runs inside a lab namespace and sends datagrams taken from a "pool" file prepared by the
// test: a sequence of records `u32 big-endian length, <length> bytes` (length 0 allowed).
// Records are sent in order, cycling through the pool, at `pps` datagrams per second, until
// `maxCount` datagrams were sent or `maxMs` passed, whichever comes first: it is always
// bounded in count and time. Prints one JSON line at the end:
//   {"sent":600,"errors":0,"skipped":0,"ms":3001.2,"pool":600}
//
// Usage: node adversary-send.mjs <pool file> <dst ip> <dst port> <pps> <maxCount> <maxMs> [bind addr]
//   bind addr: source address to bind (port 0 = any); default: the kernel picks.
// Refuses destinations outside 192.0.2.0/24 (the lab's TEST-NET-1 range).
import dgram from 'node:dgram';
import { readFileSync } from 'node:fs';

const now = () => Number(process.hrtime.bigint()) / 1e6;
const [poolFile, ip, portS, ppsS, maxCountS, maxMsS, bind] = process.argv.slice(2);
if (!/^192\.0\.2\.\d{1,3}$/.test(ip ?? '')) {
  process.stderr.write(`refusing destination ${ip}: only 192.0.2.0/24\n`);
  process.exit(2);
}
const port = Number(portS);
const pps = Math.max(1, Number(ppsS));
const maxCount = Math.max(0, Math.min(Number(maxCountS), 1_000_000));
const maxMs = Math.max(0, Math.min(Number(maxMsS), 60_000));

const raw = readFileSync(poolFile);
const pool = [];
for (let off = 0; off + 4 <= raw.length; ) {
  const n = raw.readUInt32BE(off);
  pool.push(raw.subarray(off + 4, off + 4 + n));
  off += 4 + n;
}
if (pool.length === 0) {
  process.stderr.write('empty pool\n');
  process.exit(2);
}

const sock = dgram.createSocket({ type: 'udp4', sendBufferSize: 4 << 20 });
let errors = 0;
sock.on('error', () => errors++);
if (bind) await new Promise((resolve) => sock.bind({ address: bind, port: 0 }, resolve));

let sent = 0;
let skipped = 0;
let inFlight = 0;
const MAX_IN_FLIGHT = 2000; // never queue more than this in libuv
const t0 = now();
let stopping = false;
process.on('SIGTERM', () => (stopping = true));
process.on('SIGINT', () => (stopping = true));

await new Promise((resolve) => {
  const tick = () => {
    const el = now() - t0;
    if (stopping || sent >= maxCount || el >= maxMs) return resolve();
    const due = Math.min(maxCount, Math.floor((el * pps) / 1000) + 1);
    while (sent < due) {
      if (inFlight >= MAX_IN_FLIGHT) {
        skipped += due - sent; // behind schedule: drop the backlog instead of bursting later
        sent = due;
        break;
      }
      const buf = pool[sent % pool.length];
      inFlight++;
      sent++;
      sock.send(buf, port, ip, (err) => {
        inFlight--;
        if (err) errors++;
      });
    }
    setTimeout(tick, 1);
  };
  tick();
});
const ms = now() - t0;
// let the last sends complete (bounded)
const deadline = now() + 1000;
while (inFlight > 0 && now() < deadline) await new Promise((r) => setTimeout(r, 5));
sock.close();
process.stdout.write(JSON.stringify({ sent: sent - skipped, errors, skipped, ms: Math.round(ms * 10) / 10, pool: pool.length }) + '\n');
process.exit(0);
