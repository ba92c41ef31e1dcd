// The daemon's event history as the outside sees it: `GET /events`, `GET /events/stream`
// (server-sent events), `piha events` and the status page. Types only; the ring buffer that
// fills them is src/daemon/events.ts.

export type EventCategory =
  | 'quorum' // quorum_lost, quorum_gained
  | 'vip' // vip_acquired, vip_released, placement, acquire_timeout, vip_conflict, ...
  | 'coordinator' // coordinator_elected, coordinator_lost, ...
  | 'node' // node_up, node_down, node_left, node_restarted, node_started
  | 'fencing' // node_fenced, fence_failed, fence_start, ...
  | 'config' // config_reload, config_differs, ...
  | 'resource' // monitor_failed, health checks
  | 'command' // operator commands (standby, move, cleanup, ...)
  | 'hook' // hook_failed
  | 'daemon' // start, stop, local stalls
  | 'other';

export type EventLevel = 'debug' | 'info' | 'warn' | 'error';

/** One cluster event, as this node saw it. */
export interface ClusterEvent {
  /** 1, 2, 3, ... per daemon run (see EventPage.stream): `?since=` and SSE ids use it. */
  seq: number;
  /** Wall clock, ISO 8601 (a Pi without RTC may be wrong until NTP synced: see monoMs). */
  time: string;
  /** The daemon's monotonic clock, ms: the true order and spacing of events. */
  monoMs: number;
  /** The event name of the log line, e.g. vip_acquired. */
  type: string;
  category: EventCategory;
  level: EventLevel;
  /** Coordinator term when it happened (the event's own term if it carries one). */
  term: number;
  /** Configuration epoch, when the cluster has one. */
  epoch?: number;
  /** The node the event is about (the holder, the fenced node, ...). */
  node?: string;
  resource?: string;
  ip?: string;
  /** Why, in words: why a VIP moved, why a fence failed, ... */
  reason?: string;
  /** One line for people. */
  message: string;
  /** The log line's fields, as logged. */
  fields: Record<string, unknown>;
}

/** The answer of `GET /events?since=N` and of the control socket's `events` op. */
export interface EventPage {
  /** Random per daemon run: a new value means the daemon restarted and seq began again. */
  stream: string;
  /** Oldest seq still in the ring (0 when empty). */
  firstSeq: number;
  /** Newest seq recorded so far (0 when none). */
  latestSeq: number;
  capacity: number;
  /** Events after `since` were dropped from the ring before this read. */
  truncated: boolean;
  events: ClusterEvent[];
}

/** What the status server needs of the event history. */
export interface EventFeed {
  page(since: number, limit?: number): EventPage;
  /** Called for every new event; returns the unsubscribe function. */
  subscribe(fn: (e: ClusterEvent) => void): () => void;
}
