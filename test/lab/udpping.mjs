// UDP echo "ping" for the lab harness (test/lab/lab.ts, Lab.ping()).
//
// iputils-ping is not among the Debian packages the Makefile installs, so reachability
// is measured with UDP datagrams instead of ICMP. The nft fault rules of the lab drop
// all IP traffic, so UDP sees exactly the same faults as ICMP would.
//
//   node udpping.mjs serve <port>
//       Echo every datagram back to its sender. Prints "ready <port>" once bound.
//       Exits when stdin closes (the harness died) or on SIGTERM.
//   node udpping.mjs listen <port>
//       Like serve, but does not echo: prints "from <addr> <port> <bytes>" per datagram.
//   node udpping.mjs send <ip> <port> <count> <intervalMs>
//       Send <count> datagrams (no replies expected); prints {"sent":N}.
//   node udpping.mjs ping <ip> <port> <count> <intervalMs> <timeoutMs>
//       Send <count> datagrams, one every <intervalMs>; a datagram counts as received if
//       its echo arrives within <timeoutMs> of being sent. Prints one JSON line:
//       {"sent":100,"received":71,"lossPct":29,"rttAvgMs":0.2,"rttMaxMs":1.1}
import dgram from 'node:dgram';
import net from 'node:net';

const now = () => Number(process.hrtime.bigint()) / 1e6;
const [mode, ...args] = process.argv.slice(2);

if (mode === 'serve' || mode === 'listen') {
  const echo = mode === 'serve';
  const port = Number(args[0] ?? 7);
  const socks = [];
  for (const type of ['udp4', 'udp6']) {
    const s = dgram.createSocket({ type, ipv6Only: type === 'udp6' });
    s.on('message', (msg, rinfo) => {
      if (echo) s.send(msg, rinfo.port, rinfo.address);
      else process.stdout.write(`from ${rinfo.address} ${rinfo.port} ${msg.length}\n`);
    });
    s.on('error', () => {});
    socks.push(new Promise((resolve) => s.bind(port, type === 'udp4' ? '0.0.0.0' : '::', () => resolve(s))));
  }
  await Promise.all(socks);
  process.stdout.write(`ready ${port}\n`);
  const bye = () => process.exit(0);
  process.on('SIGTERM', bye);
  process.on('SIGINT', bye);
  process.stdin.on('end', bye);
  process.stdin.on('error', bye);
  process.stdin.resume();
} else if (mode === 'send') {
  const [ip, portS, countS, intervalS] = args;
  const count = Number(countS ?? 3);
  const sock = dgram.createSocket(net.isIPv6(ip) ? 'udp6' : 'udp4');
  sock.on('error', () => {});
  for (let i = 0; i < count; i++) {
    await new Promise((r) => sock.send(Buffer.from(`lab ${i}`), Number(portS), ip, r));
    if (i < count - 1) await new Promise((r) => setTimeout(r, Number(intervalS ?? 5)));
  }
  sock.close();
  process.stdout.write(JSON.stringify({ sent: count }) + '\n');
  process.exit(0);
} else if (mode === 'ping') {
  const [ip, portS, countS, intervalS, timeoutS] = args;
  const port = Number(portS);
  const count = Number(countS ?? 3);
  const intervalMs = Number(intervalS ?? 10);
  const timeoutMs = Number(timeoutS ?? 200);
  const sock = dgram.createSocket(net.isIPv6(ip) ? 'udp6' : 'udp4');
  const nonce = Math.floor(Math.random() * 0xffffffff);
  const sentAt = new Map();
  const rtts = [];
  sock.on('message', (msg) => {
    if (msg.length < 8 || msg.readUInt32BE(4) !== nonce) return;
    const seq = msg.readUInt32BE(0);
    const t0 = sentAt.get(seq);
    if (t0 === undefined) return;
    sentAt.delete(seq);
    const rtt = now() - t0;
    if (rtt <= timeoutMs) rtts.push(rtt);
  });
  sock.on('error', () => {});
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  for (let seq = 0; seq < count; seq++) {
    const buf = Buffer.alloc(16);
    buf.writeUInt32BE(seq, 0);
    buf.writeUInt32BE(nonce, 4);
    sentAt.set(seq, now());
    sock.send(buf, port, ip);
    if (seq < count - 1) await sleep(intervalMs);
  }
  // wait until every echo is back or the last one has timed out
  const lastDeadline = now() + timeoutMs;
  while (rtts.length < count && now() < lastDeadline) await sleep(2);
  sock.close();
  const received = rtts.length;
  const out = {
    sent: count,
    received,
    lossPct: count ? Math.round(((count - received) / count) * 1000) / 10 : 0,
    rttAvgMs: received ? Math.round((rtts.reduce((a, b) => a + b, 0) / received) * 1000) / 1000 : null,
    rttMaxMs: received ? Math.round(Math.max(...rtts) * 1000) / 1000 : null,
  };
  process.stdout.write(JSON.stringify(out) + '\n');
  process.exit(0);
} else {
  process.stderr.write('usage: udpping.mjs serve|listen <port> | send <ip> <port> <count> <intervalMs> | ping <ip> <port> <count> <intervalMs> <timeoutMs>\n');
  process.exit(2);
}
