// GET /events (JSON, ?since=SEQ&limit=N) and GET /events/stream (server-sent events) of the
// status server. A stream replays what the client missed (?since= or the Last-Event-ID header
// an EventSource sends when it reconnects), then sends each new event as it is recorded.
//
// The daemon's budget comes first: at most MAX_STREAMS streams at once (503 past that), a
// comment line every heartbeatMs keeps proxies and NAT from dropping an idle stream and finds
// dead clients, a client that stops reading is cut off when its backlog passes MAX_BACKLOG,
// and closing the server ends every stream at once (a stream never delays a daemon stop).

import type { HttpServer } from './http-server.ts';
import type { ClusterEvent, EventFeed } from './event-types.ts';

export const MAX_STREAMS = 16;
export const STREAM_HEARTBEAT_MS = 10_000;
/** Bytes queued for one slow client before it is dropped. */
const MAX_BACKLOG = 256 * 1024;
const MAX_LIMIT = 1000;

export interface EventRoutesOptions {
  maxStreams?: number;
  heartbeatMs?: number;
}

/** `since` from the query or Last-Event-ID: a whole number >= 0, else 0. */
function parseSeq(v: unknown): number {
  const s = Array.isArray(v) ? v[0] : v;
  if (typeof s !== 'string' || !/^\d{1,15}$/.test(s.trim())) return 0;
  return Number(s.trim());
}

function sseFrame(e: ClusterEvent): string {
  // JSON has no raw newlines, so one data: line per event.
  return `id: ${e.seq}\nevent: ${e.category}\ndata: ${JSON.stringify(e)}\n\n`;
}

export function registerEventRoutes(app: HttpServer, feed: EventFeed, opts: EventRoutesOptions = {}): void {
  const maxStreams = opts.maxStreams ?? MAX_STREAMS;
  const heartbeatMs = opts.heartbeatMs ?? STREAM_HEARTBEAT_MS;
  const streams = new Set<() => void>();

  app.get('/events', (req) => {
    const q = req.query;
    const limit = q.limit === undefined ? MAX_LIMIT : Math.min(MAX_LIMIT, parseSeq(q.limit) || MAX_LIMIT);
    return { headers: { 'cache-control': 'no-store' }, body: feed.page(parseSeq(q.since), limit) };
  });

  app.get('/events/stream', (req) => {
    if (streams.size >= maxStreams) {
      return { status: 503, headers: { 'retry-after': '10' }, body: { ok: false, error: `too many event streams (at most ${maxStreams}); poll GET /events instead` } };
    }
    const headers = {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'x-accel-buffering': 'no',
    };
    if (req.method === 'HEAD') return { headers };

    // From here on the handler answers on the response itself.
    const res = req.res;
    const sock = req.raw.socket;
    // Last-Event-ID (an EventSource reconnecting) or ?since=; neither: only new events.
    const asked = req.headers['last-event-id'] ?? req.query.since;
    let closed = false;
    let unsubscribe = () => {};
    let hb: NodeJS.Timeout | undefined;
    const end = (): void => {
      if (closed) return;
      closed = true;
      streams.delete(end);
      unsubscribe();
      clearInterval(hb);
      if (!res.writableEnded) res.end();
      sock.destroy();
    };
    const write = (s: string): void => {
      if (closed) return;
      if (res.writableLength > MAX_BACKLOG) return end(); // the client stopped reading
      res.write(s);
    };
    streams.add(end);
    res.on('close', end);
    res.on('error', end);
    // The server's 5 s idle timeout is for requests; a stream is idle between events by
    // design. It still ends if nothing can be written for three heartbeats (a vanished client).
    sock.setTimeout(3 * heartbeatMs + 1000);
    res.writeHead(200, headers);
    // Subscribe before the replay so nothing recorded in between is missed; events already
    // replayed are skipped by seq.
    let sent = 0;
    const pending: ClusterEvent[] = [];
    let replaying = true;
    unsubscribe = feed.subscribe((e) => {
      if (replaying) pending.push(e);
      else if (e.seq > sent) {
        sent = e.seq;
        write(sseFrame(e));
      }
    });
    const latest = feed.page(Number.MAX_SAFE_INTEGER, 1).latestSeq;
    const since = asked === undefined ? latest : parseSeq(asked);
    const page = feed.page(since);
    // A seq from an earlier daemon run (above anything recorded here) replays everything.
    sent = since > page.latestSeq ? 0 : since;
    let out = `retry: 2000\n: piha event stream ${page.stream}${page.truncated ? ', older events were dropped' : ''}\n\n`;
    for (const e of [...page.events, ...pending]) {
      if (e.seq <= sent) continue;
      sent = e.seq;
      out += sseFrame(e);
    }
    replaying = false;
    write(out);
    hb = setInterval(() => write(`: hb\n\n`), heartbeatMs);
    hb.unref();
  });

  app.onClose(() => {
    for (const end of [...streams]) end();
  });
}
