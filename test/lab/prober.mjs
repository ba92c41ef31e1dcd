// Client-side HTTP prober for the lab harness (test/lab/lab.ts, Lab.probe()).
//
// Runs inside the client network namespace. Every `everyMs` it opens a NEW connection
// (agent: false) to http://ip:port/path with a short timeout and prints exactly one JSON
// line per attempt on stdout:
//   {"i":0,"t":12345.678,"ms":1.2,"ok":true,"status":200,"body":"node1"}
//   {"i":1,"t":12350.679,"ms":100.4,"ok":false,"error":"timeout"}
// `t` is the attempt start on CLOCK_MONOTONIC in ms (process.hrtime.bigint(), which is
// system-wide, so it is comparable with now() in the harness and in other processes).
// By default an attempt starts every `everyMs` whether or not earlier ones have finished
// (at most `maxInFlight` at once, default ceil(timeoutMs/everyMs)+1; a tick is skipped when
// that many are pending), so an outage is resolved to ~everyMs, not to timeoutMs. Lines
// are printed when an attempt finishes, so they may be out of `i`/`t` order.
// With `sequential: true` the next attempt starts at max(previous start + everyMs, previous end).
//
// It always stops by itself: after maxCount attempts, after maxDurationMs, when stdin
// closes (the harness died) or on SIGTERM/SIGINT. Finally it prints {"done":true,...}.
//
// Usage: node prober.mjs '<json config>'
//   { ip, port, path?, everyMs?, timeoutMs?, maxDurationMs?, maxCount?, sequential?, maxInFlight? }
import http from 'node:http';

const now = () => Number(process.hrtime.bigint()) / 1e6;

const cfg = JSON.parse(process.argv[2] ?? '{}');
const ip = String(cfg.ip);
const port = Number(cfg.port ?? 80);
const path = String(cfg.path ?? '/');
const everyMs = Math.max(1, Number(cfg.everyMs ?? 5));
const timeoutMs = Math.max(1, Number(cfg.timeoutMs ?? 100));
const maxDurationMs = Number(cfg.maxDurationMs ?? 120_000);
const maxCount = Number(cfg.maxCount ?? Number.MAX_SAFE_INTEGER);
const sequential = Boolean(cfg.sequential ?? false);
const maxInFlight = Math.max(1, Number(cfg.maxInFlight ?? Math.ceil(timeoutMs / everyMs) + 1));

let stopping = false;
const stop = () => {
  stopping = true;
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.stdin.on('end', stop);
process.stdin.on('error', stop);
process.stdin.resume();

function attempt() {
  return new Promise((resolve) => {
    const t = now();
    let settled = false;
    const finish = (r) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ t, ms: Math.round((now() - t) * 1000) / 1000, ...r });
    };
    const req = http.get(
      { host: ip, port, path, agent: false, headers: { connection: 'close' } },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c) => {
          if (body.length < 200) body += c;
        });
        res.on('end', () => {
          const ok = res.statusCode !== undefined && res.statusCode >= 200 && res.statusCode < 300;
          finish({ ok, status: res.statusCode, body: body.slice(0, 200) });
        });
        res.on('error', (e) => finish({ ok: false, status: res.statusCode, error: String(e.code ?? e.message) }));
      },
    );
    const timer = setTimeout(() => {
      finish({ ok: false, error: 'timeout' });
      req.destroy();
    }, timeoutMs);
    req.on('error', (e) => finish({ ok: false, error: String(e.code ?? e.message) }));
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const start = now();
let i = 0;
let okCount = 0;
let skipped = 0;
const report = (idx, r) => {
  if (r.ok) okCount++;
  process.stdout.write(JSON.stringify({ i: idx, ...r }) + '\n');
};
if (sequential) {
  while (!stopping && i < maxCount && now() - start < maxDurationMs) {
    const r = await attempt();
    report(i++, r);
    const wait = r.t + everyMs - now();
    if (wait > 0) await sleep(wait);
  }
} else {
  const inflight = new Set();
  let next = now();
  while (!stopping && i < maxCount && now() - start < maxDurationMs) {
    if (inflight.size < maxInFlight) {
      const idx = i++;
      const p = attempt().then((r) => {
        report(idx, r);
        inflight.delete(p);
      });
      inflight.add(p);
    } else skipped++;
    next += everyMs;
    const wait = next - now();
    if (wait > 0) await sleep(wait);
    else next = now(); // fell behind: do not burst to catch up
  }
  await Promise.all(inflight);
}
process.stdout.write(JSON.stringify({ done: true, count: i, okCount, skipped, t: now() }) + '\n');
process.exit(0);
