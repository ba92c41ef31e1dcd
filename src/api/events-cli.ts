// `piha events [--follow] [--json]`: the daemon's event history (src/daemon/events.ts).
// Reads the control socket (op `events`), like every other client command, so it works
// whatever status_bind says; --follow polls it every POLL_MS for events after the last one
// seen (and notices a daemon restart: the stream id changes and seq starts again).

import type { ClusterEvent, EventPage } from './event-types.ts';
import type { ControlRequest, ControlResponse } from './status-types.ts';

export const POLL_MS = 500;

export interface EventsCliIo {
  /** One control-socket round trip (main.ts's call(): exits 3 if the daemon is not there). */
  call: (req: ControlRequest) => Promise<ControlResponse>;
  write: (s: string) => void;
  sleep?: (ms: number) => Promise<void>;
  /** --follow stops when this says so (tests; the CLI runs until interrupted). */
  stop?: () => boolean;
}

const LEVEL: Record<string, string> = { debug: 'debug', info: 'info ', warn: 'WARN ', error: 'ERROR' };

/** One line per event: time, level, term (and epoch), category, message. */
export function formatEventLine(e: ClusterEvent): string {
  const term = `term ${e.term}${e.epoch !== undefined ? ` epoch ${e.epoch}` : ''}`;
  return `${e.time}  ${LEVEL[e.level] ?? e.level}  ${term.padEnd(8)}  ${e.category.padEnd(11)}  ${e.message}\n`;
}

function show(events: ClusterEvent[], json: boolean): string {
  return events.map((e) => (json ? JSON.stringify(e) + '\n' : formatEventLine(e))).join('');
}

async function fetchPage(io: EventsCliIo, since: number): Promise<EventPage> {
  const r = await io.call({ op: 'events', since });
  if (!r.ok) throw new Error(r.message ?? 'the daemon refused the events request');
  const p = r.data as EventPage | undefined;
  if (!p || !Array.isArray(p.events)) throw new Error('the daemon did not send an event history (is it older than this piha?)');
  return p;
}

/** Exit code as main() returns it. `--json`: one JSON object per line (JSON Lines). */
export async function eventsCommand(words: string[], flags: Map<string, string | true>, io: EventsCliIo): Promise<number> {
  if (words.length) throw new Error(`unexpected "${words[0]}"; usage: piha events [--follow] [--json]`);
  const json = flags.has('json');
  const sleep = io.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  let page = await fetchPage(io, 0);
  if (!json && !page.events.length && !flags.has('follow')) io.write('no events recorded yet\n');
  if (page.truncated && !json) io.write(`(older events were dropped: the history keeps the last ${page.capacity})\n`);
  io.write(show(page.events, json));
  if (!flags.has('follow')) return 0;
  let stream = page.stream;
  let last = page.latestSeq;
  while (!io.stop?.()) {
    await sleep(POLL_MS);
    page = await fetchPage(io, last);
    if (page.stream !== stream || page.latestSeq < last) {
      if (!json) io.write(`-- the daemon restarted: history begins again --\n`);
      stream = page.stream;
      page = await fetchPage(io, 0);
    } else if (page.truncated && !json) {
      io.write(`(some events were dropped before they could be shown)\n`);
    }
    io.write(show(page.events, json));
    last = page.latestSeq;
  }
  return 0;
}
