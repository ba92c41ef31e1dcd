// The event history: a bounded in-memory ring of cluster events (quorum changes, VIP moves
// and why, coordinator changes, fencing, configuration, node up/down), fed from the core's
// `log` effects. Served by GET /events, GET /events/stream, `piha events` and the status
// page; subscribers (the notify hooks, open SSE streams) hear each event as it is recorded.
//
// Only events that say something about the cluster are kept: the table below names them and
// their category. An event not in the table is kept when it is a warning or an error (a new
// kind of trouble should not be invisible), dropped otherwise (debug chatter).

import { randomBytes } from 'node:crypto';
import type { ClusterEvent, EventCategory, EventFeed, EventLevel, EventPage } from '../api/event-types.ts';
import { monotonicNow } from './clock.ts';

export const DEFAULT_EVENT_CAPACITY = 500;

const CATEGORY: Record<string, EventCategory> = {
  quorum_lost: 'quorum',
  quorum_gained: 'quorum',
  vip_acquired: 'vip',
  vip_released: 'vip',
  placement: 'vip',
  acquire_timeout: 'vip',
  acquire_skipped: 'vip',
  grant_too_late: 'vip',
  guard_removed: 'vip',
  reconcile_removed: 'vip',
  vip_conflict: 'vip',
  vip_conflict_cleared: 'vip',
  conflict_detection_off: 'vip',
  coordinator: 'coordinator',
  coordinator_elected: 'coordinator',
  coordinator_lost: 'coordinator',
  coordinator_step_down: 'coordinator',
  node_up: 'node',
  node_down: 'node',
  node_left: 'node',
  node_restarted: 'node',
  node_started: 'node',
  node_fenced: 'fencing',
  fence_needed: 'fencing',
  fence_start: 'fencing',
  fence_done: 'fencing',
  fence_failed: 'fencing',
  fence_not_needed: 'fencing',
  fenced_while_running: 'fencing',
  config_reload: 'config',
  config_reload_error: 'config',
  config_differs: 'config',
  config_changed: 'config',
  config_proposed: 'config',
  config_committed: 'config',
  config_applied: 'config',
  config_newer_seen: 'config',
  config_diverged: 'config',
  config_wait_for_all: 'config',
  config_coordinator_ready: 'config',
  config_doc_invalid: 'config',
  config_state_invalid: 'config',
  monitor_failed: 'resource',
  vip_lapsed: 'resource',
  check: 'resource',
  command: 'command',
  hook_failed: 'hook',
  local_stall: 'daemon',
  shutdown: 'daemon',
  daemon_started: 'daemon',
  stopping: 'daemon',
};

/** The category of an event name; undefined = not a cluster event (see the file comment). */
export function categoryOf(type: string, level: EventLevel): EventCategory | undefined {
  const c = CATEGORY[type];
  if (c) return c;
  return level === 'warn' || level === 'error' ? 'other' : undefined;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : typeof v === 'number' ? String(v) : undefined);

/** One line for people, from the event name and its fields. */
export function describeEvent(type: string, f: Record<string, unknown>): string {
  const node = str(f.node) ?? '?';
  const res = str(f.resource);
  const vip = res ? `${res}${str(f.ip) ? ` (${f.ip})` : ''}` : str(f.ip) ?? 'VIP';
  const why = str(f.why) ?? str(f.reason) ?? str(f.detail) ?? str(f.error);
  const because = why ? `: ${why}` : '';
  switch (type) {
    case 'vip_acquired':
      return `${vip} acquired by ${node}${because}`;
    case 'vip_released':
      return `${vip} released by ${node}${because}`;
    case 'vip_conflict': {
      const macs = Array.isArray(f.macs) && f.macs.length ? f.macs.map(String).join(', ') : str(f.mac) ?? '?';
      return `${vip} is answered by another host on the LAN too (${macs}; not a cluster member): ${node} ${f.reannounced === false ? 'keeps it (re-announced moments ago)' : 're-announced it'}`;
    }
    case 'vip_conflict_cleared':
      return `${vip}: no other host answers for it any more (seen by ${node})`;
    case 'placement':
      return `${vip} placed on ${str(f.node) ?? 'no node'}`;
    case 'quorum_lost':
      return `quorum lost: ${str(f.votes) ?? '?'} votes, ${str(f.quorum) ?? '?'} needed`;
    case 'quorum_gained':
      return `quorum gained: ${str(f.votes) ?? '?'} votes (quorum ${str(f.quorum) ?? '?'})`;
    case 'coordinator_elected':
      return `${node} elected coordinator (term ${str(f.term) ?? '?'})`;
    case 'coordinator':
      return `${node} is the coordinator (term ${str(f.term) ?? '?'})`;
    case 'coordinator_lost':
      return `coordinator ${node} lost (term ${str(f.term) ?? '?'})`;
    case 'coordinator_step_down':
      return `${node} stepped down as coordinator${because}`;
    case 'node_up':
      return `${node} is up`;
    case 'node_down':
      return `${node} is down (no heartbeat)`;
    case 'node_left':
      return `${node} left (clean stop)`;
    case 'node_restarted':
      return `${node} restarted (incarnation ${str(f.incarnation) ?? '?'})`;
    case 'node_started':
      return `${node} started (incarnation ${str(f.incarnation) ?? '?'})`;
    case 'node_fenced':
      return `${node} fenced (powered off)`;
    case 'fence_needed':
      return `${node} must be fenced before its VIPs can move`;
    case 'fence_start':
      return `fencing ${node} (attempt ${str(f.attempt) ?? '?'}, by ${str(f.by) ?? '?'})`;
    case 'fence_done':
      return `${node} fenced by ${str(f.by) ?? '?'}${because}`;
    case 'fence_failed':
      return `fencing ${node} failed${because}`;
    case 'fence_not_needed':
      return `fencing ${node} no longer needed${because}`;
    case 'config_differs':
      return `${node} runs a different configuration`;
    case 'config_reload':
      return f.changed ? `configuration file changed: restart to apply` : 'configuration reloaded: unchanged';
    case 'config_proposed':
      return `configuration epoch ${str(f.epoch) ?? '?'} proposed${str(f.change) ? `: ${f.change}` : ''}`;
    case 'config_committed':
      return `configuration epoch ${str(f.epoch) ?? '?'} committed${str(f.change) ? `: ${f.change}` : ''}`;
    case 'config_diverged':
      return `${node} held another configuration as epoch ${str(f.epoch) ?? '?'}: the coordinator's is proposed again as a newer epoch`;
    case 'config_applied':
      return `configuration epoch ${str(f.epoch) ?? '?'} applied on ${node}${str(f.why) ? ` (${f.why})` : ''}`;
    case 'monitor_failed':
      return `${vip} monitor failed on ${node}${because} (fail count ${str(f.failCount) ?? '?'})`;
    case 'vip_lapsed':
      return `${vip} lapsed on ${node}: its address lifetime ran out before the daemon renewed it (late, not a failure; re-added)`;
    case 'hook_failed':
      return `hook ${str(f.hook) ?? '?'} failed${because}`;
    case 'command':
      return `command ${str(f.op) ?? '?'}${res ? ` ${res}` : ''}${str(f.node) ? ` ${f.node}` : ''}`;
    default: {
      const rest = Object.entries(f)
        .filter(([k, v]) => k !== 'node' && v !== undefined && typeof v !== 'object')
        .map(([k, v]) => `${k}=${String(v)}`);
      return `${type.replace(/_/g, ' ')} on ${node}${rest.length ? ` (${rest.join(', ')})` : ''}`;
    }
  }
}

/** JSON-safe, bounded copy of a log line's fields. */
function copyFields(f: Record<string, unknown>): Record<string, unknown> {
  try {
    const s = JSON.stringify(f);
    if (s.length <= 4096) return JSON.parse(s) as Record<string, unknown>;
  } catch {
    // a cycle or a BigInt: fall through to the flat copy
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(f)) if (v === null || ['string', 'number', 'boolean'].includes(typeof v)) out[k] = typeof v === 'string' ? v.slice(0, 500) : v;
  return out;
}

export interface EventLogOptions {
  capacity?: number;
  /** The current term and, when the cluster has one, the configuration epoch. */
  context?: () => { term: number; epoch?: number };
  monoNow?: () => number;
  wallNow?: () => Date;
}

export class EventLog implements EventFeed {
  readonly capacity: number;
  readonly stream = randomBytes(6).toString('hex');
  private readonly ring: ClusterEvent[] = [];
  private seq = 0;
  private readonly subscribers = new Set<(e: ClusterEvent) => void>();
  /** Up or down per node, as the recorded events tell it (for observeNodes). */
  private readonly nodeUp = new Map<string, boolean>();

  constructor(private readonly o: EventLogOptions = {}) {
    this.capacity = Math.max(1, o.capacity ?? DEFAULT_EVENT_CAPACITY);
  }

  /** A core `log` effect (or any log line of the same shape): kept when it is a cluster event. */
  record(e: { level: EventLevel; event: string; fields: Record<string, unknown> }): ClusterEvent | undefined {
    const category = categoryOf(e.event, e.level);
    if (!category) return undefined;
    const f = e.fields ?? {};
    let ctx: { term: number; epoch?: number } = { term: 0 };
    try {
      ctx = this.o.context?.() ?? ctx;
    } catch {
      // not started yet: term 0
    }
    const term = typeof f.term === 'number' ? f.term : ctx.term;
    const epoch = typeof f.epoch === 'number' ? f.epoch : ctx.epoch;
    const reason = str(f.why) ?? str(f.reason) ?? str(f.detail) ?? str(f.error);
    const ev: ClusterEvent = {
      seq: ++this.seq,
      time: (this.o.wallNow?.() ?? new Date()).toISOString(),
      monoMs: Math.round((this.o.monoNow ?? monotonicNow)() * 1000) / 1000,
      type: e.event,
      category,
      level: e.level,
      term,
      ...(epoch !== undefined ? { epoch } : {}),
      ...(str(f.node) ? { node: str(f.node) } : {}),
      ...(str(f.resource) ? { resource: str(f.resource) } : {}),
      ...(str(f.ip) ? { ip: str(f.ip) } : {}),
      ...(reason ? { reason } : {}),
      message: describeEvent(e.event, f),
      fields: copyFields(f),
    };
    this.ring.push(ev);
    if (this.ring.length > this.capacity) this.ring.shift();
    this.trackNode(ev);
    for (const fn of this.subscribers) {
      try {
        fn(ev);
      } catch {
        // a subscriber's bug must not break the daemon's effect loop
      }
    }
    return ev;
  }

  private trackNode(ev: ClusterEvent): void {
    if (!ev.node) return;
    if (ev.type === 'node_up' || ev.type === 'node_restarted') this.nodeUp.set(ev.node, true);
    else if (ev.type === 'node_down' || ev.type === 'node_left' || ev.type === 'node_fenced') this.nodeUp.set(ev.node, false);
  }

  /**
   * The core logs node_up but not a node that falls silent: the daemon reports what it sees
   * every so often, and a node that went offline since its last node_up is recorded as
   * node_down (once; nothing if node_left or node_fenced already said so).
   */
  observeNodes(nodes: readonly { name: string; online: boolean }[]): void {
    for (const n of nodes) {
      if (!n.online && this.nodeUp.get(n.name) === true) this.record({ level: 'warn', event: 'node_down', fields: { node: n.name } });
    }
  }

  page(since = 0, limit = this.capacity): EventPage {
    // A `since` from a previous daemon run (larger than anything here) means: everything.
    const from = since > this.seq ? 0 : Math.max(0, since);
    const first = this.ring.length ? this.ring[0].seq : 0;
    const after = this.ring.filter((e) => e.seq > from);
    const events = limit > 0 && after.length > limit ? after.slice(after.length - limit) : after;
    return {
      stream: this.stream,
      firstSeq: first,
      latestSeq: this.seq,
      capacity: this.capacity,
      truncated: (first > 0 && from < first - 1) || events.length < after.length,
      events,
    };
  }

  get latestSeq(): number {
    return this.seq;
  }

  subscribe(fn: (e: ClusterEvent) => void): () => void {
    this.subscribers.add(fn);
    return () => this.subscribers.delete(fn);
  }
}
