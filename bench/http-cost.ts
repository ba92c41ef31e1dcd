// What the status server's HTTP layer costs in memory: a test program bundled with esbuild like
// dist/piha (all code in one script), run with the daemon's V8 flags (src/cli-entry.ts), in
// three variants — nothing, node:http with one handler, and the status server's router
// (src/api/http-server.ts, which replaced fastify) with the daemon's six GET routes — each
// listening, idle, no request served. Prints RSS, private anonymous memory, file-backed pages
// and the V8 heap after a GC, RUNS times each. (fastify 5.12.8 in this place measured
// 52.6 MiB RSS / 15.3 MiB private against node:http's 46.5 / 10.6, README "Design notes".)
//   node --import tsx bench/http-cost.ts            Env: RUNS (3)
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const RUNS = Number(process.env.RUNS ?? 3);
const PROBE = `
const fs = require('fs');
const kb = (k) => Number(new RegExp('^' + k + ':\\\\s+(\\\\d+)', 'm').exec(fs.readFileSync('/proc/self/smaps_rollup', 'utf8'))[1]) / 1024;
(async () => {
  if (process.env.W === 'router') {
    const app = require('../src/api/http-server.ts').createHttpServer({ maxConnections: 256, maxRequestsPerSocket: 100, maxIdleSockets: 32 });
    for (const p of ['/', '/status', '/healthz', '/metrics', '/events', '/events/stream']) app.get(p, () => ({ body: { ok: 1 } }));
    await app.listen('127.0.0.1', 0);
  } else if (process.env.W === 'http') {
    const s = require('http').createServer((q, r) => r.end('x'));
    await new Promise((r) => s.listen(0, '127.0.0.1', r));
  }
  setTimeout(() => {
    gc();
    console.log(JSON.stringify({ rss: kb('Rss'), anon: kb('Anonymous'), heap: process.memoryUsage().heapUsed / 2 ** 20 }));
    process.exit(0);
  }, 2000);
})();
`;
const dir = mkdtempSync(join(tmpdir(), 'piha-http-cost-'));
try {
  const src = join(import.meta.dirname, '.http-cost-probe.cjs');
  writeFileSync(src, PROBE);
  try {
    await build({ entryPoints: [src], bundle: true, platform: 'node', format: 'cjs', outfile: join(dir, 'probe.cjs'), logLevel: 'error' });
  } finally {
    rmSync(src, { force: true });
  }
  const flags = ['--expose-gc', '--no-opt', '--semi-space-growth-factor=1', '--no-parallel-scavenge'];
  const out: Record<string, { rss: number; anon: number; heap: number }[]> = { none: [], http: [], router: [] };
  for (let i = 0; i < RUNS; i++)
    for (const w of Object.keys(out)) out[w]!.push(JSON.parse(execFileSync(process.execPath, [...flags, join(dir, 'probe.cjs')], { env: { ...process.env, W: w } }).toString()));
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  console.log(`| variant | RSS MiB | private anon MiB | file-backed MiB | V8 heap used MiB |\n|---|---|---|---|---|`);
  for (const [w, rs] of Object.entries(out)) {
    const rss = mean(rs.map((r) => r.rss));
    const anon = mean(rs.map((r) => r.anon));
    console.log(`| ${w} | ${rss.toFixed(1)} | ${anon.toFixed(1)} | ${(rss - anon).toFixed(1)} | ${mean(rs.map((r) => r.heap)).toFixed(1)} |`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
