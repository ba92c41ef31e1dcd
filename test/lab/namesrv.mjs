// Tiny HTTP server for lab tests: answers every request with its name (text/plain).
// Usage: node namesrv.mjs <port> <name> [host=0.0.0.0]
// Prints "listening <host>:<port>" once bound; exits when stdin closes or on SIGTERM.
import http from 'node:http';

const [portS, name = 'unnamed', host = '0.0.0.0'] = process.argv.slice(2);
const port = Number(portS ?? 9405);
const server = http.createServer((req, res) => {
  res.writeHead(200, { 'content-type': 'text/plain', connection: 'close' });
  res.end(name);
});
server.listen(port, host, () => process.stdout.write(`listening ${host}:${port}\n`));
const bye = () => process.exit(0);
process.on('SIGTERM', bye);
process.on('SIGINT', bye);
process.stdin.on('end', bye);
process.stdin.on('error', bye);
process.stdin.resume();
