// Abusive HTTP clients for test/lab/http-abuse.test.ts (run inside the client namespace).
// Every mode is bounded in connections, bytes and time, closes all its sockets, and ends
// with one JSON line on stdout.
//
//   node adversary-http.mjs hold <ip> <port> <n> <maxMs> [reconnectDelayMs=-1] [maxTotal=2000]
//       Open <n> TCP connections at once and send nothing. Prints
//       `ready {"connected":..,"open":..}` once every attempt has connected or failed
//       (at most 3 s), then keeps them open until maxMs (or SIGTERM). With a reconnect delay
//       >= 0, a connection the server closes is opened again after that delay (at most
//       maxTotal connections in all): a persistent attacker. Final line: counts, errors, how
//       many were open over time, and how long the server let them live.
//   node adversary-http.mjs slow <ip> <port> <intervalMs> <maxMs>
//       Send a request one byte every intervalMs, its headers never ending. Final line: when
//       and how the server ended it, bytes sent, first response line if any.
//   node adversary-http.mjs big <ip> <port> url|header <bytes>
//       One request with a <bytes>-long URL or header, written at once. Final line: the
//       status line (or null) and how the connection ended.
import net from 'node:net';

const now = () => Number(process.hrtime.bigint()) / 1e6;
const [mode, ip, portS, ...rest] = process.argv.slice(2);
if (!/^192\.0\.2\.\d{1,3}$/.test(ip ?? '')) {
  process.stderr.write(`refusing destination ${ip}: only 192.0.2.0/24\n`);
  process.exit(2);
}
const port = Number(portS);
const out = (o) => process.stdout.write(JSON.stringify(o) + '\n');
const round = (x) => Math.round(x);
const stats = (xs) => {
  if (!xs.length) return null;
  const s = [...xs].sort((a, b) => a - b);
  return { min: round(s[0]), median: round(s[Math.floor(s.length / 2)]), max: round(s[s.length - 1]) };
};

let stopping = false;
const stopWaiters = [];
const stop = () => {
  stopping = true;
  for (const w of stopWaiters.splice(0)) w();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
const sleepOrStop = (ms) =>
  new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    stopWaiters.push(() => {
      clearTimeout(t);
      resolve();
    });
  });

if (mode === 'hold') {
  const n = Math.min(Number(rest[0]), 1000);
  const maxMs = Math.min(Number(rest[1]), 60_000);
  const reconnectDelay = Number(rest[2] ?? -1);
  const reconnect = reconnectDelay >= 0;
  const maxTotal = Math.min(Number(rest[3] ?? 2000), 10_000);
  const t0 = now();
  const socks = new Set();
  let opened = 0;
  let connected = 0;
  let closedByServer = 0;
  let dataBytes = 0;
  const errors = {};
  const lifetimes = []; // ms from connect to the server closing it
  let settled = 0;
  let onSettled = () => {};
  const open = (initial) => {
    if (opened >= maxTotal || stopping) return;
    opened++;
    const s = net.connect({ host: ip, port });
    socks.add(s);
    let connAt = null;
    let done = false;
    const settle = () => {
      if (initial && !done) {
        done = true;
        settled++;
        if (settled === n) onSettled();
      }
    };
    s.on('connect', () => {
      connAt = now();
      connected++;
      settle();
    });
    s.on('data', (d) => (dataBytes += d.length));
    s.on('error', (e) => {
      errors[e.code ?? e.message] = (errors[e.code ?? e.message] ?? 0) + 1;
    });
    s.on('close', () => {
      socks.delete(s);
      settle();
      if (stopping) return;
      closedByServer++;
      if (connAt !== null) lifetimes.push(now() - connAt);
      if (reconnect && now() - t0 < maxMs) setTimeout(() => open(false), reconnectDelay);
    });
  };
  const allSettled = new Promise((r) => (onSettled = r));
  for (let i = 0; i < n; i++) open(true);
  await Promise.race([allSettled, sleepOrStop(3000)]);
  // a connection the server closes right after accept shows up a few ms after 'connect'
  await sleepOrStop(100);
  process.stdout.write(`ready ${JSON.stringify({ ms: round(now() - t0), connected, open: socks.size, closed: closedByServer })}\n`);
  const openAt = [];
  while (!stopping && now() - t0 < maxMs) {
    openAt.push(socks.size);
    await sleepOrStop(Math.min(250, maxMs - (now() - t0)));
  }
  stopping = true;
  const stillOpen = socks.size;
  for (const s of socks) s.destroy();
  out({ opened, connected, closedByServer, stillOpenAtEnd: stillOpen, openOverTime: openAt.filter((_, i) => i % 4 === 0), lifetimeMs: stats(lifetimes), dataBytes, errors, ms: round(now() - t0) });
  process.exit(0);
} else if (mode === 'slow') {
  const intervalMs = Math.max(10, Number(rest[0]));
  const maxMs = Math.min(Number(rest[1]), 60_000);
  const req = Buffer.from('GET /healthz HTTP/1.1\r\nHost: 192.0.2.11\r\nX-Slow: ' + 'a'.repeat(10_000));
  const t0 = now();
  const s = net.connect({ host: ip, port });
  let sent = 0;
  let firstLine = null;
  let endedBy = null;
  let endedAt = null;
  let buf = '';
  s.on('data', (d) => {
    buf += d.toString('latin1');
    if (firstLine === null && buf.includes('\r\n')) firstLine = buf.slice(0, buf.indexOf('\r\n'));
  });
  s.on('end', () => (endedBy ??= 'fin'));
  s.on('error', (e) => (endedBy ??= e.code ?? e.message));
  const closed = new Promise((r) =>
    s.on('close', () => {
      endedAt ??= now() - t0;
      r();
    }),
  );
  await new Promise((r) => s.once('connect', r).once('error', r));
  while (!s.destroyed && !stopping && now() - t0 < maxMs && sent < req.length && endedBy === null) {
    s.write(req.subarray(sent, sent + 1));
    sent++;
    await Promise.race([sleepOrStop(intervalMs), closed]);
  }
  const cutByServer = endedBy !== null || s.destroyed;
  s.destroy();
  await closed;
  out({ cutByServer, endedBy: endedBy ?? 'client', closedAfterMs: round(endedAt), bytesSent: sent, firstLine });
  process.exit(0);
} else if (mode === 'big') {
  const what = rest[0];
  const bytes = Math.min(Number(rest[1]), 1_000_000);
  const filler = 'a'.repeat(bytes);
  const req =
    what === 'url'
      ? `GET /healthz?${filler} HTTP/1.1\r\nHost: 192.0.2.11\r\nConnection: close\r\n\r\n`
      : `GET /healthz HTTP/1.1\r\nHost: 192.0.2.11\r\nX-Big: ${filler}\r\nConnection: close\r\n\r\n`;
  const t0 = now();
  const s = net.connect({ host: ip, port });
  let buf = '';
  let endedBy = null;
  s.on('data', (d) => {
    if (buf.length < 4096) buf += d.toString('latin1');
  });
  s.on('end', () => (endedBy ??= 'fin'));
  s.on('error', (e) => (endedBy ??= e.code ?? e.message));
  const closed = new Promise((r) => s.on('close', r));
  s.once('connect', () => s.write(req));
  const timer = setTimeout(() => {
    endedBy ??= 'timeout';
    s.destroy();
  }, 5000);
  await closed;
  clearTimeout(timer);
  const firstLine = buf.includes('\r\n') ? buf.slice(0, buf.indexOf('\r\n')) : buf ? buf.slice(0, 80) : null;
  const status = firstLine && /^HTTP\/1\.[01] (\d{3})/.exec(firstLine);
  out({ what, bytes: req.length, status: status ? Number(status[1]) : null, firstLine, endedBy, ms: round(now() - t0) });
  process.exit(0);
} else {
  process.stderr.write('usage: adversary-http.mjs hold|slow|big <ip> <port> ...\n');
  process.exit(2);
}
