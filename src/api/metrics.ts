// Prometheus text exposition format 0.0.4, written by hand: the set of metrics is small
// and fixed, and a client library would be one more dependency on a Pi image.

import type { MetricsSnapshot } from './status-types.ts';

export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

export type MetricType = 'gauge' | 'counter';

export interface Sample {
  labels?: Record<string, string>;
  value: number;
}

export interface MetricFamily {
  name: string;
  help: string;
  type: MetricType;
  samples: Sample[];
}

const NAME_RE = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_RE = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

// Label values: backslash, double quote and newline must be escaped; backslash first so
// the escapes added for the others are not doubled.
export function escapeLabelValue(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** HELP text: only backslash and newline are escaped (quotes are literal there). */
export function escapeHelp(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

export function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

function formatLabels(labels: Record<string, string> | undefined): string {
  if (!labels) return '';
  const parts = Object.entries(labels).map(([k, v]) => {
    if (!LABEL_RE.test(k) || k.startsWith('__')) throw new Error(`invalid label name ${k}`);
    return `${k}="${escapeLabelValue(v)}"`;
  });
  return parts.length ? `{${parts.join(',')}}` : '';
}

export function renderFamilies(families: MetricFamily[]): string {
  const out: string[] = [];
  for (const f of families) {
    if (!NAME_RE.test(f.name)) throw new Error(`invalid metric name ${f.name}`);
    out.push(`# HELP ${f.name} ${escapeHelp(f.help)}`, `# TYPE ${f.name} ${f.type}`);
    for (const s of f.samples) out.push(`${f.name}${formatLabels(s.labels)} ${formatValue(s.value)}`);
  }
  return out.join('\n') + '\n';
}

const b = (x: boolean): number => (x ? 1 : 0);

function byKey(rec: Record<string, number>, label: string): Sample[] {
  return Object.keys(rec)
    .sort()
    .map((k) => ({ labels: { [label]: k }, value: rec[k] }));
}

export function metricFamilies(m: MetricsSnapshot): MetricFamily[] {
  const g = (name: string, help: string, samples: Sample[]): MetricFamily => ({ name, help, type: 'gauge', samples });
  const c = (name: string, help: string, samples: Sample[]): MetricFamily => ({ name, help, type: 'counter', samples });
  return [
    g('piha_quorate', 'Whether this node is in a partition with quorum (1) or not (0).', [{ value: b(m.quorate) }]),
    g('piha_nodes_online', 'Number of cluster nodes this node sees online, itself included.', [{ value: m.nodesOnline }]),
    g('piha_votes', 'Votes present in this node\'s partition.', [{ value: m.votes }]),
    g('piha_expected_votes', 'Votes expected when every node is up.', [{ value: m.expectedVotes }]),
    g(
      'piha_vip_held',
      'Whether this node holds the virtual IP of the resource (1) or not (0).',
      m.vips.map((v) => ({ labels: { resource: v.resource, ip: v.ip }, value: b(v.held) })),
    ),
    ...(m.vipConflictsTotal
      ? [
          c(
            'piha_vip_conflicts_total',
            'Periodic conflict probes of a held VIP that another host (not this one) answered, by resource.',
            m.vipConflictsTotal.map((v) => ({ labels: { resource: v.resource, ip: v.ip }, value: v.count })),
          ),
        ]
      : []),
    g('piha_resource_fail_count', 'Effective monitor fail count of the resource on this node.', byKey(m.resourceFailCounts, 'resource')),
    c('piha_failovers_total', 'Virtual IPs this node acquired since the daemon started.', [{ value: m.failoversTotal }]),
    c(
      'piha_vip_lapses_total',
      'Held VIPs whose kernel address lifetime ran out before this daemon renewed it (a late, CPU-starved daemon; re-added, not counted as failures).',
      [{ value: m.vipLapsesTotal }],
    ),
    ...(m.leaseRenewalSeconds
      ? [g('piha_lease_renewal_seconds', 'Last lease renewal round trip of a VIP this node holds or acquires: request sent to majority granted.', byKey(m.leaseRenewalSeconds, 'resource'))]
      : []),
    ...(m.leaseRenewalBudgetSeconds !== undefined
      ? [g('piha_lease_renewal_budget_seconds', 'Longest renewal round trip that still lets the kernel address lifetime back the lease (1 s); slower ones delay it and, repeated, let it lapse.', [{ value: m.leaseRenewalBudgetSeconds }])]
      : []),
    c('piha_packets_received_total', 'Cluster packets received and accepted.', [{ value: m.packetsReceivedTotal }]),
    c('piha_packets_sent_total', 'Cluster packets sent.', [{ value: m.packetsSentTotal }]),
    c('piha_packets_rejected_total', 'Cluster packets dropped, by reason.', byKey(m.packetsRejectedTotal, 'reason')),
    g('piha_heartbeat_rtt_seconds', 'Last measured heartbeat round trip to the peer.', byKey(m.heartbeatRttSeconds, 'peer')),
    g('piha_coordinator', 'Whether this node is the coordinator (1) or not (0).', [{ value: b(m.coordinator) }]),
    g('piha_term', 'Highest coordinator term this node knows.', [{ value: m.term }]),
    g('piha_loop_lag_seconds', 'Event loop lag of the daemon, last measured.', [{ value: m.loopLagSeconds }]),
    ...(m.gcPauseSeconds !== undefined
      ? [g('piha_gc_pause_seconds', 'Pause of the daemon\'s last periodic full garbage collection (once a minute, or every 300 heartbeats if sooner).', [{ value: m.gcPauseSeconds }])]
      : []),
    ...(m.gcRunsTotal !== undefined ? [c('piha_gc_runs_total', 'Periodic full garbage collections since the daemon started.', [{ value: m.gcRunsTotal }])] : []),
    ...(m.fencing ? fencingFamilies(m.fencing, g, c) : []),
    ...(m.configMismatchNodes !== undefined
      ? [g('piha_config_mismatch_nodes', 'Online nodes whose cluster configuration differs from this node\'s.', [{ value: m.configMismatchNodes }])]
      : []),
    ...(m.hookFailuresTotal ? [c('piha_hook_failures_total', 'Notify hook runs that failed (exit code, timeout, could not start), by hook.', byKey(m.hookFailuresTotal, 'hook'))] : []),
    ...(m.stateSaveFailuresTotal !== undefined
      ? [c('piha_state_save_failures_total', 'Saves of the node\'s durable state (state directory) that failed.', [{ value: m.stateSaveFailuresTotal }])]
      : []),
    ...(m.stateUnsaved !== undefined
      ? [g('piha_state_unsaved', 'Whether this node cannot save its durable state and so sends nothing (1) or not (0).', [{ value: b(m.stateUnsaved) }])]
      : []),
    // The one unprefixed name: process_* is the name every Prometheus client library and
    // dashboard uses for this, so it is kept as is.
    g('process_resident_memory_bytes', 'Resident memory size in bytes.', [
      { value: m.residentMemoryBytes ?? process.memoryUsage.rss() },
    ]),
  ];
}

function fencingFamilies(
  f: NonNullable<MetricsSnapshot['fencing']>,
  g: (name: string, help: string, samples: Sample[]) => MetricFamily,
  c: (name: string, help: string, samples: Sample[]) => MetricFamily,
): MetricFamily[] {
  const outcomes: Sample[] = [];
  for (const [node, o] of Object.entries(f.outcomes)) {
    outcomes.push({ labels: { node, result: 'ok' }, value: o.ok }, { labels: { node, result: 'failed' }, value: o.failed });
  }
  return [
    g('piha_fence_pending', 'Nodes this node is trying to fence (1 per node).', f.pending.map((node) => ({ labels: { node }, value: 1 }))),
    g('piha_fence_blocking', 'Nodes whose VIPs cannot move until they are fenced (1 per node).', f.blocking.map((node) => ({ labels: { node }, value: 1 }))),
    c('piha_fence_total', 'Fence operations run by this node\'s devices, by target node and result.', outcomes),
    g('piha_watchdog_enabled', 'Whether this node pets a hardware watchdog (1) or not (0).', [{ value: f.watchdogEnabled ? 1 : 0 }]),
    c('piha_watchdog_pets_total', 'Watchdog keep-alives written.', [{ value: f.watchdogPets }]),
    c('piha_watchdog_withheld_total', 'Watchdog keep-alives withheld (a VIP past its lease, or a stalled loop).', [{ value: f.watchdogWithheld }]),
  ];
}

export function formatMetrics(m: MetricsSnapshot): string {
  return renderFamilies(metricFamilies(m));
}
