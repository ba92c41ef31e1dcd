// GET /events and GET /events/stream (src/api/status-events.ts) on a real status server:
// paging, server-sent events with replay (since / Last-Event-ID) and live events, the bound
// on concurrent streams, heartbeats, and streams never holding up a close.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startStatusServer, toDaemonStatus, type StatusServer } from '../../src/api/status-server.ts';
import { registerEventRoutes } from '../../src/api/status-events.ts';
import { createHttpServer } from '../../src/api/http-server.ts';
import type { ClusterEvent, EventPage } from '../../src/api/event-types.ts';
import { createSystemInfoCache } from '../../src/api/system-info.ts';
import type { MetricsSnapshot } from '../../src/api/status-types.ts';
import { EventLog } from '../../src/daemon/events.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const status = toDaemonStatus(
  {
    node: { id: 1, name: 'worker0' }, quorate: true, votes: 3, expectedVotes: 3, quorumVotes: 2, coordinator: null, term: 1,
    nodes: [], resources: [], attrs: {}, distrustingSelf: false,
    fencing: { modes: ['lease'], stonithEnabled: false, watchdogWaitMs: 0, covered: [], pending: [], blocking: [], history: [] },
  } as never,
  { cluster: 'c', version: '0', profile: 'lan', safety: { mode: 'lease', modes: ['lease'], kernelLifetime: true, covers: [], doesNotCover: [] } },
);
const metrics = { quorate: true, nodesOnline: 1, votes: 1, expectedVotes: 1, vips: [], resourceFailCounts: {}, failoversTotal: 0, vipLapsesTotal: 0, packetsReceivedTotal: 0, packetsSentTotal: 0, packetsRejectedTotal: {}, heartbeatRttSeconds: {}, coordinator: false, term: 1, loopLagSeconds: 0 } as MetricsSnapshot;

const events = new EventLog({ context: () => ({ term: 2 }) });
const system = createSystemInfoCache({ sampler: async () => ({ hostname: 'h', uptimeSec: 1, load1: 0, load5: 0, load15: 0, memTotalBytes: 1, memAvailableBytes: 1, cpuTempC: null }) });
let server: StatusServer;

before(async () => {
  server = await startStatusServer({ host: '127.0.0.1', port: 0, getStatus: () => status, getMetrics: () => metrics, isAlive: () => true, system, events });
});
after(async () => {
  await server.close();
  system.stop();
});

const up = (node: string) => events.record({ level: 'info', event: 'node_up', fields: { node } })!;

/** An SSE client on fetch: collects frames (id/event/data) and comment lines. */
function sse(url: string, headers: Record<string, string> = {}) {
  const ac = new AbortController();
  const frames: { id?: string; event?: string; data?: string }[] = [];
  const comments: string[] = [];
  let status = 0;
  let contentType = '';
  let ended = false;
  const done = (async () => {
    try {
      const res = await fetch(url, { headers, signal: ac.signal });
      status = res.status;
      contentType = res.headers.get('content-type') ?? '';
      if (!res.body || status !== 200) return;
      const dec = new TextDecoder();
      let buf = '';
      for await (const chunk of res.body) {
        buf += dec.decode(chunk, { stream: true });
        let i: number;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const f: { id?: string; event?: string; data?: string } = {};
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) comments.push(line.slice(1).trim());
            else if (line.startsWith('id: ')) f.id = line.slice(4);
            else if (line.startsWith('event: ')) f.event = line.slice(7);
            else if (line.startsWith('data: ')) f.data = line.slice(6);
          }
          if (f.data !== undefined) frames.push(f);
        }
      }
    } catch {
      // aborted or cut by the server
    } finally {
      ended = true;
    }
  })();
  const until = async (pred: () => boolean, ms = 3000) => {
    const t0 = Date.now();
    while (!pred()) {
      if (Date.now() - t0 > ms) throw new Error(`timed out; frames ${JSON.stringify(frames)} comments ${JSON.stringify(comments)} status ${status}`);
      await sleep(10);
    }
  };
  return {
    frames,
    comments,
    events: () => frames.map((f) => JSON.parse(f.data!) as ClusterEvent),
    get status() {
      return status;
    },
    get contentType() {
      return contentType;
    },
    get ended() {
      return ended;
    },
    until,
    close: async () => {
      ac.abort();
      await done;
    },
    done,
  };
}

test('GET /events: the history, ?since= and ?limit=', async () => {
  up('a');
  up('b');
  up('c');
  const page = (await (await fetch(`${server.address}/events`)).json()) as EventPage;
  assert.deepEqual(page.events.map((e) => e.node), ['a', 'b', 'c']);
  assert.equal(page.latestSeq, 3);
  assert.equal(page.events[0].term, 2);
  const since = (await (await fetch(`${server.address}/events?since=2`)).json()) as EventPage;
  assert.deepEqual(since.events.map((e) => e.seq), [3]);
  const lim = (await (await fetch(`${server.address}/events?limit=1`)).json()) as EventPage;
  assert.deepEqual(lim.events.map((e) => e.seq), [3]);
  const junk = await fetch(`${server.address}/events?since=-1&limit=abc`);
  assert.equal(junk.status, 200);
  assert.equal(((await junk.json()) as EventPage).events.length, 3);
  const post = await fetch(`${server.address}/events`, { method: 'POST', body: 'x' });
  assert.equal(post.status, 405);
});

test('GET /events/stream: replay after ?since=, then live events as they are recorded', async () => {
  const s = sse(`${server.address}/events/stream?since=1`);
  await s.until(() => s.frames.length >= 2);
  assert.equal(s.status, 200);
  assert.match(s.contentType, /^text\/event-stream/);
  assert.deepEqual(s.frames.map((f) => [f.id, f.event]), [['2', 'node'], ['3', 'node']]);
  const e = events.record({ level: 'warn', event: 'quorum_lost', fields: { node: 'worker0', votes: 1, quorum: 2 } })!;
  await s.until(() => s.frames.length >= 3);
  assert.deepEqual(s.frames[2], { id: String(e.seq), event: 'quorum', data: JSON.stringify(e) });
  assert.ok(s.comments.some((c) => c.startsWith('piha event stream')));
  await s.close();
});

test('without since only new events; Last-Event-ID (an EventSource reconnecting) replays the rest', async () => {
  const fresh = sse(`${server.address}/events/stream`);
  await fresh.until(() => fresh.comments.length >= 1);
  const latest = events.latestSeq;
  up('d');
  await fresh.until(() => fresh.frames.length >= 1);
  assert.deepEqual(fresh.events().map((e) => e.seq), [latest + 1]);
  await fresh.close();

  const again = sse(`${server.address}/events/stream?since=0`, { 'last-event-id': String(latest - 1) });
  await again.until(() => again.frames.length >= 2);
  assert.deepEqual(again.events().map((e) => e.seq), [latest, latest + 1]);
  await again.close();

  // an id from an earlier daemon run (above anything here) replays everything
  const old = sse(`${server.address}/events/stream`, { 'last-event-id': '99999' });
  await old.until(() => old.frames.length >= latest + 1);
  assert.equal(old.events()[0].seq, 1);
  await old.close();
});

test('HEAD /events/stream answers with the headers and ends', async () => {
  const r = await fetch(`${server.address}/events/stream`, { method: 'HEAD', signal: AbortSignal.timeout(2000) });
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type') ?? '', /^text\/event-stream/);
});

test('bounded streams (503 past the limit), heartbeats, and close() ends open streams at once', async () => {
  const log = new EventLog();
  const app = createHttpServer({ maxConnections: 64 });
  registerEventRoutes(app, log, { maxStreams: 2, heartbeatMs: 100 });
  const base = await app.listen('127.0.0.1', 0);
  const a = sse(`${base}/events/stream`);
  const b = sse(`${base}/events/stream`);
  await a.until(() => a.comments.length >= 1);
  await b.until(() => b.comments.length >= 1);
  const third = await fetch(`${base}/events/stream`);
  assert.equal(third.status, 503);
  assert.equal(third.headers.get('retry-after'), '10');
  assert.match(((await third.json()) as { error: string }).error, /too many event streams/);
  // heartbeats: a comment line every 100 ms
  await a.until(() => a.comments.filter((c) => c === 'hb').length >= 3, 2000);
  // a closed stream frees its slot
  await b.close();
  await sleep(50);
  const c = sse(`${base}/events/stream`);
  await c.until(() => c.status === 200 && c.comments.length >= 1);
  const t0 = Date.now();
  await app.close();
  await Promise.all([a.done, c.done]);
  assert.ok(Date.now() - t0 < 1000, `close took ${Date.now() - t0} ms`);
  assert.ok(a.ended && c.ended);
});

test('the status server closes promptly with streams open (a stream never delays a daemon stop)', async () => {
  const log = new EventLog();
  const srv = await startStatusServer({ host: '127.0.0.1', port: 0, getStatus: () => status, getMetrics: () => metrics, isAlive: () => true, system, events: log });
  const streams = [sse(`${srv.address}/events/stream`), sse(`${srv.address}/events/stream`)];
  for (const s of streams) await s.until(() => s.comments.length >= 1);
  const t0 = Date.now();
  await srv.close();
  await Promise.all(streams.map((s) => s.done));
  assert.ok(Date.now() - t0 < 1000, `close took ${Date.now() - t0} ms`);
});

test('a stream outlives the server\'s 5 s request and idle timeouts', { timeout: 20_000 }, async () => {
  const s = sse(`${server.address}/events/stream`);
  await s.until(() => s.comments.length >= 1);
  await sleep(6500);
  assert.equal(s.ended, false, 'still open');
  const e = up('late');
  await s.until(() => s.frames.length >= 1);
  assert.equal(s.events()[0].seq, e.seq);
  await s.close();
});
