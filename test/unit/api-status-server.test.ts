import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, test } from 'node:test';
import { startStatusServer, toDaemonStatus, type StatusServer } from '../../src/api/status-server.ts';
import type { DaemonStatusInput, MetricsSnapshot, SystemFacts } from '../../src/api/status-types.ts';
import { createSystemInfoCache } from '../../src/api/system-info.ts';
import type { CoreStatus } from '../../src/core/types.ts';

const core: CoreStatus = {
  node: { id: 1, name: 'worker0' },
  quorate: true,
  votes: 3,
  expectedVotes: 3,
  quorumVotes: 2,
  coordinator: { id: 1, name: 'worker0', term: 4 },
  term: 4,
  nodes: [
    { id: 1, name: 'worker0', role: 'member', state: 'online', lastSeenMs: 0 },
    { id: 2, name: 'worker1', role: 'member', state: 'online', lastSeenMs: 300 },
    { id: 3, name: 'worker2', role: 'witness', state: 'online', lastSeenMs: 250 },
  ],
  resources: [
    {
      name: 'kubernetes_api_port',
      ip: '192.168.0.150',
      cidrNetmask: 32,
      state: 'started',
      holder: 'worker0',
      assignedTo: 'worker0',
      failCount: 0,
      failCounts: {},
      leaseRemainingMs: 2500,
      renewalMs: 3,
    },
  ],
  attrs: {},
  distrustingSelf: false,
  fencing: { modes: ['lease'], stonithEnabled: false, watchdogWaitMs: 0, covered: [], pending: [], blocking: [], history: [] },
  config: { epoch: 3, term: 4, acceptedEpoch: 3, digest: 'abc', source: 'cluster', coordinatorReady: true },
};

const status: DaemonStatusInput = toDaemonStatus(core, {
  cluster: 'lbcluster',
  version: '0.1.0',
  profile: 'lan',
  safety: { mode: 'lease', modes: ['lease'], kernelLifetime: true, covers: ['partitions'], doesNotCover: ['byzantine nodes'] },
});

const metrics: MetricsSnapshot = {
  quorate: true,
  nodesOnline: 3,
  votes: 3,
  expectedVotes: 3,
  vips: [{ resource: 'a"b\\c\nd', ip: '192.168.0.150', held: true }],
  resourceFailCounts: { kubernetes_api_port: 0 },
  failoversTotal: 1,
      vipLapsesTotal: 0,
  packetsReceivedTotal: 10,
  packetsSentTotal: 11,
  packetsRejectedTotal: { auth: 2 },
  heartbeatRttSeconds: { worker1: 0.0004 },
  coordinator: true,
  term: 4,
  loopLagSeconds: 0.001,
};

const facts: SystemFacts = {
  hostname: 'pi-0',
  uptimeSec: 100,
  load1: 0.1,
  load5: 0.2,
  load15: 0.3,
  memTotalBytes: 8e9,
  memAvailableBytes: 4e9,
  cpuTempC: 48.5,
};

let alive = true;
let server: StatusServer;
const system = createSystemInfoCache({ sampler: async () => facts });
const url = (p: string): string => server.address + p;

before(async () => {
  await system.refresh();
  server = await startStatusServer({
    host: '127.0.0.1',
    port: 0,
    getStatus: () => status,
    getMetrics: () => metrics,
    isAlive: () => alive,
    system,
  });
});
after(async () => {
  await server.close();
  system.stop();
});

test('GET /status returns the daemon status with cached system facts', async () => {
  const res = await fetch(url('/status'));
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
  const body = await res.json();
  assert.deepEqual(body, { ...status, configMismatch: [], system: facts });
  assert.deepEqual(Object.keys(body).sort(), [
    'cluster', 'config', 'configMismatch', 'coordinator', 'expectedVotes', 'node', 'nodes', 'profile', 'quorate', 'quorumVotes',
    'resources', 'safety', 'system', 'term', 'version', 'votes',
  ]);
  assert.equal(body.safety.mode, 'lease');
});

test('GET /healthz is 200 with the node name while alive, 503 otherwise', async () => {
  let res = await fetch(url('/healthz'));
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { ok: true, node: 'worker0' });
  alive = false;
  try {
    res = await fetch(url('/healthz'));
    assert.equal(res.status, 503);
    assert.deepEqual(await res.json(), { ok: false, node: 'worker0' });
  } finally {
    alive = true;
  }
  res = await fetch(url('/healthz'), { method: 'HEAD' });
  assert.equal(res.status, 200);
});

test('GET /metrics is Prometheus text that parses line by line', async () => {
  const res = await fetch(url('/metrics'));
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  const text = await res.text();
  const label = '[a-zA-Z_][a-zA-Z0-9_]*="(?:\\\\[\\\\"n]|[^"\\\\\\n])*"';
  const sample = new RegExp(`^[a-zA-Z_:][a-zA-Z0-9_:]*(?:\\{${label}(?:,${label})*\\})? (?:NaN|[+-]Inf|[+-]?\\d+(?:\\.\\d+)?(?:[eE][+-]?\\d+)?)$`);
  for (const line of text.trimEnd().split('\n')) {
    if (line.startsWith('# ')) assert.match(line, /^# (HELP|TYPE) [a-zA-Z_:][a-zA-Z0-9_:]* .+$/);
    else assert.match(line, sample);
  }
  assert.ok(text.includes('piha_vip_held{resource="a\\"b\\\\c\\nd",ip="192.168.0.150"} 1\n'));
});

test('unknown paths are 404 JSON', async () => {
  for (const p of ['/nope', '/status/extra', '/../etc/passwd', '/index.html']) {
    const res = await fetch(url(p));
    assert.equal(res.status, 404, p);
    assert.deepEqual(await res.json(), { ok: false, error: 'not found' });
  }
  const res = await fetch(url('/nope'), { method: 'POST', body: 'x' });
  assert.equal(res.status, 404);
});

test('other methods are 405 with an Allow header, bodies unread', async () => {
  for (const method of ['POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']) {
    const res = await fetch(url('/status'), { method, body: method === 'OPTIONS' ? undefined : '{"op":"x"}', headers: { 'content-type': 'application/json' } });
    assert.equal(res.status, 405, method);
    assert.equal(res.headers.get('allow'), 'GET, HEAD');
    assert.equal((await res.json()).error, 'method not allowed');
  }
  const big = await fetch(url('/metrics'), { method: 'POST', body: 'x'.repeat(100_000) });
  assert.equal(big.status, 405);
});

test('a client dripping its headers does not block others and is cut off', async () => {
  const port = Number(new URL(server.address).port);
  const slow = net.createConnection({ host: '127.0.0.1', port });
  let closed = false;
  let reply = '';
  slow.on('data', (d) => (reply += d.toString()));
  slow.on('error', () => {});
  const closedAt = new Promise<number>((resolve) => slow.on('close', () => ((closed = true), resolve(Date.now()))));
  const start = Date.now();
  const req = 'GET /status HTTP/1.1\r\nHost: x\r\nX-Slow: ' + 'a'.repeat(200);
  let i = 0;
  const drip = setInterval(() => {
    if (closed || i >= req.length) return clearInterval(drip);
    slow.write(req[i++]);
  }, 50);
  try {
    // Others are served right away meanwhile.
    await new Promise((r) => setTimeout(r, 300));
    for (let k = 0; k < 5; k++) {
      const t0 = Date.now();
      const res = await fetch(url('/healthz'));
      assert.equal(res.status, 200);
      assert.ok(Date.now() - t0 < 1500, 'healthz answered promptly'); // the stuck request is held for seconds
    }
    // headersTimeout (3 s) + the 1 s check interval, with slack.
    let guard: NodeJS.Timeout | undefined;
    const t = await Promise.race([closedAt, new Promise<number>((r) => (guard = setTimeout(() => r(-1), 8000)))]);
    clearTimeout(guard);
    assert.notEqual(t, -1, 'slow client disconnected');
    assert.ok(t - start < 7000);
    assert.ok(reply === '' || reply.startsWith('HTTP/1.1 408'), reply);
  } finally {
    clearInterval(drip);
    slow.destroy();
  }
});

test('a sampler that never answers does not block /status', async () => {
  const stuck = createSystemInfoCache({ sampler: () => new Promise<SystemFacts>(() => {}) });
  const s = await startStatusServer({
    host: '127.0.0.1',
    port: 0,
    getStatus: () => status,
    getMetrics: () => metrics,
    isAlive: () => true,
    system: stuck,
  });
  try {
    const t0 = Date.now();
    const res = await fetch(s.address + '/status');
    const body = await res.json();
    assert.ok(Date.now() - t0 < 2000); // a blocked /status would wait for the 10 s sampler timeout
    assert.equal(typeof body.system.hostname, 'string');
    assert.ok(body.system.memTotalBytes > 0);
  } finally {
    await s.close();
    stuck.stop();
  }
});

test('the default cache reads real system facts', async () => {
  const s = await startStatusServer({ host: '127.0.0.1', port: 0, getStatus: () => status, getMetrics: () => metrics, isAlive: () => true });
  try {
    const body = await (await fetch(s.address + '/status')).json();
    for (const k of ['uptimeSec', 'load1', 'load5', 'load15', 'memTotalBytes', 'memAvailableBytes']) {
      assert.equal(typeof body.system[k], 'number', k);
    }
    assert.ok(body.system.cpuTempC === null || typeof body.system.cpuTempC === 'number');
  } finally {
    await s.close();
  }
});

test('an exception in getStatus is a 500, not a crash', async () => {
  const s = await startStatusServer({
    host: '127.0.0.1',
    port: 0,
    nodeName: 'n1',
    getStatus: () => {
      throw new Error('boom');
    },
    getMetrics: () => metrics,
    isAlive: () => true,
  });
  try {
    const res = await fetch(s.address + '/status');
    assert.equal(res.status, 500);
    assert.deepEqual(await res.json(), { ok: false, error: 'internal error' });
    assert.deepEqual(await (await fetch(s.address + '/healthz')).json(), { ok: true, node: 'n1' });
  } finally {
    await s.close();
  }
});

test('/healthz is 503 when the node name cannot be read or isAlive throws', async () => {
  const s = await startStatusServer({
    host: '127.0.0.1',
    port: 0,
    getStatus: () => {
      throw new Error('boom');
    },
    getMetrics: () => metrics,
    isAlive: () => {
      throw new Error('also boom');
    },
  });
  try {
    const res = await fetch(s.address + '/healthz');
    assert.equal(res.status, 503);
    assert.deepEqual(await res.json(), { ok: false, node: null });
  } finally {
    await s.close();
  }
});
