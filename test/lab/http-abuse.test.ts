// Abuse of the HTTP status endpoint (:9405, /status /healthz /metrics) of a real daemon on
// the namespace LAN, from the client namespace: idle connections (a one-shot burst and a
// persistent attacker), a slowloris client, huge URLs and headers, unknown paths and
// methods. Each scenario starts its own cluster and checks at the end that the daemon
// (same pid) and the cluster are unaffected: the VIP holder never changed, no two nodes held
// it, and the cluster rejection counters did not move (HTTP abuse never reaches the cluster
// port). Clients are test/lab/adversary-http.mjs (bounded in sockets, bytes and time) and curl.
// Results are summarised in docs/robustness.md.
//
// Run: node --import tsx --test --test-reporter=spec test/lab/http-abuse.test.ts   (root)

import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { LabCluster, VIP, pidAlive } from './cluster.ts';
import { now, requireLab, sleep, type AddressWatcher, type Interval, type ProbeSample, type Prober } from './lab.ts';
import { range, recordRobustness, tally } from '../robustness/record.ts';

const HTTP = fileURLToPath(new URL('./adversary-http.mjs', import.meta.url));
const PORT = 9405;
const TARGET = 'node1';

interface Ctx {
  c: LabCluster;
  w: AddressWatcher;
  holder: string;
  ip: string;
  /** A row of docs/robustness.md, recorded once the scenario's final checks have passed too. */
  record: (input: string, observed: string) => void;
}

async function curl(c: LabCluster, args: string[], timeoutS = 3) {
  return c.lab.exec('client', ['curl', '-sS', '--max-time', String(timeoutS), ...args], { timeoutMs: (timeoutS + 5) * 1000 });
}

/** HTTP status of a request (0 = no HTTP response: connection refused, reset, timeout). */
async function status(c: LabCluster, url: string, extra: string[] = []): Promise<number> {
  const r = await curl(c, ['-o', '/dev/null', '-w', '%{http_code}', ...extra, url]);
  return Number(r.stdout.trim()) || 0;
}

const metrics = (c: LabCluster, ip: string): Promise<Map<string, number>> => c.metrics(ip, PORT);

const rejectedTotal = (m: Map<string, number>): number =>
  [...m].filter(([k]) => k.startsWith('piha_packets_rejected_total{')).reduce((a, [, v]) => a + v, 0);

/** Longest stretch in [from, to) during which /healthz probes failed, and the failure count. */
function healthOutage(p: Prober, from: number, to: number): { worstMs: number; failed: number; total: number; firstFail: ProbeSample | undefined } {
  const xs = p.between(from, to);
  let worst = 0;
  let failStart: number | null = null;
  for (const s of xs) {
    if (!s.ok) failStart ??= s.t;
    else if (failStart !== null) {
      worst = Math.max(worst, s.t - failStart);
      failStart = null;
    }
  }
  if (failStart !== null) worst = Math.max(worst, to - failStart);
  return { worstMs: worst, failed: xs.filter((s) => !s.ok).length, total: xs.length, firstFail: xs.find((s) => !s.ok) };
}

/**
 * One scenario on its own cluster, attacking node1's status port. Afterwards: node1 is the
 * same process, /healthz answers, the cluster rejection counters did not move, the VIP
 * holder and its interval are unchanged, and no two nodes ever held the VIP.
 */
async function scenario(t: TestContext, fn: (x: Ctx) => Promise<void>): Promise<void> {
  if (!(await requireLab(t))) return;
  const c = await LabCluster.create({});
  const w = c.lab.watchAddress(VIP);
  try {
    await w.ready;
    await c.startAll();
    const holder = await c.waitForHolder(w, 15_000);
    const ip = c.lab.node(TARGET).addr;
    const pid = c.daemons.get(TARGET)!.pid;
    // settle: the status server is up and every node online
    const t0 = now();
    while ((await status(c, `http://${ip}:${PORT}/healthz`)) !== 200 && now() - t0 < 10_000) await sleep(100);
    const iv0: Record<string, Interval[]> = w.intervals();
    const m0 = await metrics(c, ip);
    const rss = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
    const rss0 = rss();
    let rssMax = rss0;
    const sampler = setInterval(() => (rssMax = Math.max(rssMax, rss())), 200);
    const rows: { input: string; observed: string }[] = [];
    try {
      await fn({ c, w, holder, ip, record: (input, observed) => rows.push({ input, observed }) });
    } finally {
      clearInterval(sampler);
    }
    // Memory stays bounded under abuse (issue 9): the daemon's RSS may not balloon.
    t.diagnostic(`${TARGET} RSS: ${rss0.toFixed(1)} MiB before, peak ${rssMax.toFixed(1)} MiB during the abuse`);
    assert.ok(rssMax - rss0 < 48, `RSS grew by ${(rssMax - rss0).toFixed(1)} MiB under abuse`);
    await sleep(1000);
    assert.ok(pidAlive(pid) && c.daemons.get(TARGET)!.running, `${TARGET} daemon died (${JSON.stringify(c.daemons.get(TARGET)!.exitInfo)})`);
    assert.equal(await status(c, `http://${ip}:${PORT}/healthz`), 200, '/healthz answers after the abuse');
    const m1 = await metrics(c, ip);
    assert.equal(rejectedTotal(m1), rejectedTotal(m0), 'no cluster packet was rejected');
    assert.equal(m1.get('piha_quorate'), 1);
    assert.deepEqual(w.intervals(), iv0, `the VIP moved: before ${JSON.stringify(iv0)} after ${JSON.stringify(w.intervals())}`);
    assert.deepEqual(w.holders(), [holder]);
    assert.equal(w.overlapMs(), 0, `two nodes held the VIP at once: ${JSON.stringify(w.overlaps())}`);
    for (const [n, p] of c.daemons) assert.ok(p.running, `daemon ${n} is not running`);
    const end =
      `${TARGET} RSS ${rss0.toFixed(1)} MiB before, peak ${rssMax.toFixed(1)} MiB during the scenario (+${(rssMax - rss0).toFixed(1)}); ` +
      `1 s later ${TARGET} the same process (pid ${pid}), \`/healthz\` 200, cluster rejection counters unchanged (at ${rejectedTotal(m1)}), quorate, ` +
      `VIP holder ${holder} unchanged, ${w.overlapMs()} ms with two holders.`;
    for (const r of rows) recordRobustness({ area: 'status-port', input: r.input, observed: `${r.observed} ${end}`, test: t.name });
  } catch (e) {
    console.log(c.logs(30));
    throw e;
  } finally {
    await w.stop();
    await c.destroy();
  }
}

interface HoldResult {
  opened: number;
  connected: number;
  closedByServer: number;
  stillOpenAtEnd: number;
  openOverTime: number[];
  lifetimeMs: { min: number; median: number; max: number } | null;
  errors: Record<string, number>;
  ms: number;
}

test('idle connections (200 at once, then a persistent attacker): daemon and cluster unaffected, idle sockets cut within ~5 s', { timeout: 80_000 }, async (t) => {
  await scenario(t, async ({ c, ip, record }) => {
    const p = c.lab.probe({ ip, port: PORT, path: '/healthz', everyMs: 100, timeoutMs: 1000, sequential: true, maxDurationMs: 40_000 });
    try {
      await p.waitFor((s) => s.ok, 5000);

      // 1. 200 connections opened at once and held (send nothing) for 7 s
      const t0 = now();
      const hold = c.lab.spawnNode('client', HTTP, ['hold', ip, String(PORT), '200', '7000'], { name: 'hold200' });
      const ready = JSON.parse((await hold.waitForLine(/^ready /, 5000)).slice(6)) as { ms: number; connected: number; open: number };
      await hold.wait(15_000);
      const t1 = now();
      const r1 = JSON.parse(hold.stdoutLines.at(-1)!) as HoldResult;
      const o1 = healthOutage(p, t0, t1);
      const back1 = p.firstOkAfter(o1.firstFail?.t ?? t0);
      t.diagnostic(`200 idle: ${r1.connected} connected (${ready.open} still open ${ready.ms} ms in), server closed ${r1.closedByServer}, open per second ${JSON.stringify(r1.openOverTime)}, lifetime ${JSON.stringify(r1.lifetimeMs)} ms`);
      t.diagnostic(
        `200 idle: /healthz from another connection: ${o1.failed}/${o1.total} probes failed (${JSON.stringify(o1.firstFail?.error ?? null)}), longest outage ${o1.worstMs.toFixed(0)} ms, answered again ${back1 ? (back1.t - t0).toFixed(0) : '-'} ms after the attack began`,
      );
      assert.equal(r1.connected, 200, 'the kernel accepts every TCP handshake');
      assert.equal(r1.stillOpenAtEnd, 0, 'the server closed every idle connection within the 7 s');
      assert.ok(r1.lifetimeMs !== null && r1.lifetimeMs.max < 6000, `idle sockets cut within ~5 s (max ${r1.lifetimeMs?.max} ms)`);
      assert.ok(Math.max(...r1.openOverTime.slice(1)) <= 64, `never more than maxConnections (64) held: ${JSON.stringify(r1.openOverTime)}`);
      assert.ok(back1 && back1.t - t0 < 6000, '/healthz answers again within 6 s although the 200 sockets are still "held"');

      // 2. persistent attacker: 80 connections, each one reopened 50 ms after the server closes it
      await sleep(500);
      const t2 = now();
      const pers = c.lab.spawnNode('client', HTTP, ['hold', ip, String(PORT), '80', '8000', '50', '5000'], { name: 'holdPersistent' });
      await pers.wait(15_000);
      const t3 = now();
      const r2 = JSON.parse(pers.stdoutLines.at(-1)!) as HoldResult;
      const o2 = healthOutage(p, t2 + 200, t3);
      t.diagnostic(`persistent (80 sockets, reopen after 50 ms, 8 s): ${r2.opened} connections opened, open per second ${JSON.stringify(r2.openOverTime)}`);
      t.diagnostic(`persistent: /healthz ${o2.total - o2.failed}/${o2.total} probes ok, longest outage ${o2.worstMs.toFixed(0)} ms`);
      const back2 = await p.waitFor((s) => s.ok && s.t >= t3, 5000);
      t.diagnostic(`persistent: /healthz answered again ${(back2.t - t3).toFixed(0)} ms after the attacker stopped`);
      assert.ok(back2.t - t3 < 2000, '/healthz answers within 2 s once the attacker stops');

      // The status endpoint stays usable for others while one client hogs connections: sockets
      // that never sent a request are evicted oldest-first past 32 (status-server.ts).
      await t.test('/healthz answers from another connection within 1 s while 200 idle connections are held', () => {
        assert.ok(o1.worstMs < 1000, `/healthz unavailable for ${o1.worstMs.toFixed(0)} ms (${o1.failed}/${o1.total} probes failed)`);
        assert.ok(o2.worstMs < 1000, `persistent attacker: /healthz unavailable for ${o2.worstMs.toFixed(0)} ms`);
        const lt = r1.lifetimeMs!;
        record(
          '**200 TCP connections opened at once and held idle** (nothing sent) for 7 s',
          `${r1.connected} connected; the server closed ${r1.closedByServer} (at most ${Math.max(...r1.openOverTime.slice(1))} open at a time after the first second), ` +
            `idle sockets lived ${lt.min}/${lt.median}/${lt.max} ms (min/median/max); **\`/healthz\` from another connection: ${o1.total - o1.failed}/${o1.total} probes ok, longest outage ${o1.worstMs.toFixed(0)} ms**.`,
        );
        record(
          '**Persistent attacker**: 80 connections, each reopened 50 ms after the server closes it, for 8 s',
          `${r2.opened} connections opened; **\`/healthz\` ${o2.total - o2.failed}/${o2.total} probes ok, longest outage ${o2.worstMs.toFixed(0)} ms**; answered ${(back2.t - t3).toFixed(0)} ms after the attacker stopped.`,
        );
      });
    } finally {
      await p.stop();
    }
  });
});

test('slowloris: headers at 1 byte / 200 ms are cut off (408) within 10 s; 10 such clients do not block /healthz', { timeout: 60_000 }, async (t) => {
  await scenario(t, async ({ c, ip, record }) => {
    const p = c.lab.probe({ ip, port: PORT, path: '/healthz', everyMs: 100, timeoutMs: 1000, sequential: true, maxDurationMs: 30_000 });
    try {
      await p.waitFor((s) => s.ok, 5000);
      const t0 = now();
      const runs = await Promise.all(
        Array.from({ length: 10 }, () => c.lab.execOk('client', [process.execPath, HTTP, 'slow', ip, String(PORT), '200', '15000'], { timeoutMs: 25_000 })),
      );
      const t1 = now();
      const res = runs.map((r) => JSON.parse(r.stdout.trim().split('\n').pop()!) as { cutByServer: boolean; endedBy: string; closedAfterMs: number; bytesSent: number; firstLine: string | null });
      const o = healthOutage(p, t0, t1);
      const cut = res.map((r) => r.closedAfterMs);
      t.diagnostic(`slow clients cut after ${Math.min(...cut)}..${Math.max(...cut)} ms, having sent ${Math.min(...res.map((r) => r.bytesSent))}..${Math.max(...res.map((r) => r.bytesSent))} bytes; answers: ${JSON.stringify([...new Set(res.map((r) => r.firstLine))])}, ended by ${JSON.stringify([...new Set(res.map((r) => r.endedBy))])}`);
      t.diagnostic(`/healthz meanwhile: ${o.total - o.failed}/${o.total} ok, longest outage ${o.worstMs.toFixed(0)} ms`);
      for (const r of res) {
        assert.ok(r.cutByServer, `the server did not cut a slow client: ${JSON.stringify(r)}`);
        assert.ok(r.closedAfterMs < 10_000, `slow client cut only after ${r.closedAfterMs} ms`);
        assert.ok(r.firstLine === null || /^HTTP\/1\.1 4\d\d/.test(r.firstLine), `unexpected answer ${r.firstLine}`);
      }
      assert.equal(o.failed, 0, '/healthz kept answering during the slowloris');
      record(
        `**Slowloris**: ${res.length} clients sending a request 1 byte / 200 ms with never-ending headers`,
        `each cut by the server after ${range(cut, 0, ' ms')} (${range(res.map((r) => r.bytesSent))} bytes sent), answered ${[...new Set(res.map((r) => (r.firstLine === null ? 'nothing' : `\`${r.firstLine}\``)))].join(' / ')}; ` +
          `\`/healthz\` answered ${o.total - o.failed}/${o.total} probes meanwhile, longest outage ${o.worstMs.toFixed(0)} ms.`,
      );
    } finally {
      await p.stop();
    }
  });
});

test('100 KB URL and 100 KB header: 4xx or closed connection, never a crash', { timeout: 60_000 }, async (t) => {
  await scenario(t, async ({ c, ip, record }) => {
    const pid = c.daemons.get(TARGET)!.pid;
    const out: string[] = [];
    const tries: { what: string; size: number; answers: string[]; ms: number[] }[] = [];
    for (const [what, size] of [
      ['url', 100_000],
      ['header', 100_000],
      ['url', 20_000],
      ['header', 20_000],
      ['header', 1_000_000],
    ] as const) {
      const tried = { what, size, answers: [] as string[], ms: [] as number[] };
      tries.push(tried);
      for (let i = 0; i < 3; i++) {
        const r = await c.lab.execOk('client', [process.execPath, HTTP, 'big', ip, String(PORT), what, String(size)], { timeoutMs: 15_000 });
        const x = JSON.parse(r.stdout.trim().split('\n').pop()!) as { status: number | null; firstLine: string | null; endedBy: string; ms: number };
        if (i === 0) out.push(`${what} ${size / 1000} KB -> ${x.status ?? 'no response'} (${x.endedBy}, ${x.ms} ms)`);
        assert.ok(x.status === null ? x.endedBy !== 'timeout' : x.status === 414 || x.status === 431 || x.status === 400, `${what} ${size}: ${JSON.stringify(x)}`);
        assert.ok(pidAlive(pid), `daemon died after a ${size}-byte ${what}`);
        tried.answers.push(x.status === null ? `no response (${x.endedBy})` : String(x.status));
        tried.ms.push(x.ms);
      }
    }
    // curl's view of the same
    const big = 'a'.repeat(100_000);
    const cu = await status(c, `http://${ip}:${PORT}/healthz?${big}`);
    const ch = await status(c, `http://${ip}:${PORT}/healthz`, ['-H', `X-Big: ${big}`]);
    out.push(`curl: 100 KB URL -> ${cu || 'no response'}, 100 KB header -> ${ch || 'no response'}`);
    t.diagnostic(out.join('; '));
    assert.ok([0, 400, 414, 431].includes(cu) && [0, 400, 414, 431].includes(ch), `curl got ${cu} / ${ch}`);
    const counts = (xs: string[]) => tally(xs.reduce((m, x) => m.set(x, (m.get(x) ?? 0) + 1), new Map<string, number>()));
    for (const x of tries) {
      record(
        `**${x.size >= 1_000_000 ? `${x.size / 1_000_000} MB` : `${x.size / 1000} KB`} ${x.what === 'url' ? 'URL' : 'header'}** in a GET, ${x.answers.length} times`,
        `${counts(x.answers)} (answered or closed after ${range(x.ms, 0, ' ms')}); daemon alive (pid ${pid}) after each.`,
      );
    }
    record('The 100 KB URL and the 100 KB header sent with curl', `curl saw ${cu || 'no response'} for the URL, ${ch || 'no response'} for the header.`);
  });
});

test('unknown paths -> 404, POST/PUT/DELETE/PATCH/OPTIONS -> 405 (known route) or 404, bodies refused unread', { timeout: 60_000 }, async (t) => {
  await scenario(t, async ({ c, ip, record }) => {
    const base = `http://${ip}:${PORT}`;
    const seen: string[] = [];
    const got: { label: string; status: number }[] = [];
    const expect = async (label: string, url: string, want: number[], extra: string[] = []) => {
      const s = await status(c, url, extra);
      seen.push(`${label} ${s}`);
      got.push({ label, status: s });
      assert.ok(want.includes(s), `${label}: got ${s}, want ${want.join('/')}`);
    };
    for (const path of ['/nope', '/status/', '/healthz/x', '/metrics.json', '/admin', '/favicon.ico']) await expect(`GET ${path}`, base + path, [404]);
    await expect('GET /', base + '/', [200]); // the status page (src/api/status-page.ts)
    await expect('GET /../../etc/passwd', `${base}/../../etc/passwd`, [400, 404], ['--path-as-is']);
    await expect('GET /%00', `${base}/%00`, [400, 404]);
    await expect('GET /%zz', `${base}/%zz`, [400, 404]);
    for (const m of ['POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']) {
      for (const path of ['/status', '/healthz', '/metrics']) await expect(`${m} ${path}`, base + path, [405], ['-X', m]);
      await expect(`${m} /nope`, `${base}/nope`, [404], ['-X', m]);
    }
    await expect('HEAD /healthz', `${base}/healthz`, [200], ['-I']);
    // a 2 MB body (bodyLimit is 1 KB): refused before it is read, or the connection closed
    const file = join(c.dir, 'body.bin');
    writeFileSync(file, Buffer.alloc(2 << 20, 0x61));
    await expect('POST /status 2 MB', `${base}/status`, [0, 405, 413], ['-X', 'POST', '-H', 'Expect:', '--data-binary', `@${file}`]);
    await expect('POST /nope 2 MB', `${base}/nope`, [0, 404, 413], ['-X', 'POST', '-H', 'Expect:', '--data-binary', `@${file}`]);
    const allow = await curl(c, ['-o', '/dev/null', '-D', '-', '-X', 'DELETE', `${base}/status`]);
    assert.match(allow.stdout, /^allow: GET, HEAD\r?$/im);
    t.diagnostic(seen.join(', '));
    // "404: `GET /`, `GET /nope`; 400: `GET /%zz`" (0 = no HTTP response)
    const byStatus = (pick: (label: string) => boolean, full = true) => {
      const m = new Map<number, string[]>();
      for (const g of got.filter((x) => pick(x.label))) m.set(g.status, [...(m.get(g.status) ?? []), g.label]);
      return [...m].map(([st, ls]) => `${st === 0 ? 'no HTTP response' : st}${full ? `: ${ls.map((l) => `\`${l}\``).join(', ')}` : ` ×${ls.length}`}`).join('; ');
    };
    const isMethod = (l: string) => /^(POST|PUT|DELETE|PATCH|OPTIONS) /.test(l) && !l.endsWith(' MB');
    const allowLine = /^allow: .*$/im.exec(allow.stdout)![0].trim();
    record(
      `**Unknown paths**: ${got.filter((g) => /^GET \/[^.%]/.test(g.label) || g.label === 'GET /').map((g) => `\`${g.label.slice(4)}\``).join(', ')}`,
      `${byStatus((l) => /^GET \/[^.%]/.test(l) || l === 'GET /')}.`,
    );
    record('Path traversal and bad escapes: `/../../etc/passwd` (sent as is), `/%00`, `/%zz`', `${byStatus((l) => /^GET \/[.%]/.test(l))}.`);
    record(
      '**POST/PUT/DELETE/PATCH/OPTIONS** on `/status`, `/healthz`, `/metrics`',
      `${byStatus((l) => isMethod(l) && !l.endsWith('/nope'), false)}; \`DELETE /status\` answered with \`${allowLine}\`.`,
    );
    record('The same methods on an unknown path (`/nope`)', `${byStatus((l) => isMethod(l) && l.endsWith('/nope'), false)}.`);
    record('`HEAD /healthz`', `${byStatus((l) => l === 'HEAD /healthz')}.`);
    record('POST with a **2 MB body** (`bodyLimit` 1 KB; no `Expect: 100-continue`, the body follows at once) to `/status` and `/nope`', `${byStatus((l) => l.endsWith(' 2 MB'))}.`);
  });
});
