// Human output of `piha status` / `piha status nodes`. Modelled on `pcs status` so that
// people (and runbooks) used to Pacemaker read it without a manual. Every function returns
// text ending in a newline, ready for process.stdout.write.

import type { DaemonStatus, NodeStatus, ResourceStatus } from './status-types.ts';

const plural = (n: number, one: string, many: string): string => `${n} ${n === 1 ? one : many}`;
const bracket = (names: string[]): string => `[ ${names.join(' ')}${names.length ? ' ' : ''}]`;

function namesIn(s: DaemonStatus, state: NodeStatus['state']): string[] {
  return s.nodes.filter((n) => n.state === state).map((n) => n.name);
}

function resourceState(r: ResourceStatus): string {
  switch (r.state) {
    case 'started':
      return r.holder ? `Started ${r.holder}` : 'Started';
    case 'starting': {
      const to = r.holder ?? r.assignedTo;
      return to ? `Starting ${to}` : 'Starting';
    }
    default:
      return 'Stopped';
  }
}

/** failCounts may be keyed by node name or by id; this node's own count is folded in. */
function failuresByNode(s: DaemonStatus, r: ResourceStatus): Map<string, number> {
  const byId = new Map(s.nodes.map((n) => [String(n.id), n.name]));
  const out = new Map<string, number>();
  for (const [k, v] of Object.entries(r.failCounts)) {
    const name = byId.get(k) ?? k;
    if (v > 0) out.set(name, Math.max(v, out.get(name) ?? 0));
  }
  if (r.failCount > 0) out.set(s.node.name, Math.max(r.failCount, out.get(s.node.name) ?? 0));
  return out;
}

function failureSections(s: DaemonStatus): string[] {
  const perNode = new Map<string, { resource: string; count: number }[]>();
  for (const r of s.resources) {
    for (const [node, count] of failuresByNode(s, r)) {
      if (!perNode.has(node)) perNode.set(node, []);
      perNode.get(node)!.push({ resource: r.name, count });
    }
  }
  if (perNode.size === 0) return [];
  // Configured node order, then any name only the fail counts know about.
  const order = [...s.nodes.map((n) => n.name), ...perNode.keys()].filter((n, i, a) => perNode.has(n) && a.indexOf(n) === i);
  const out = ['', 'Migration Summary:'];
  for (const node of order) {
    out.push(`  * Node: ${node}:`);
    for (const f of perNode.get(node)!) out.push(`    * ${f.resource}: fail-count=${f.count}`);
  }
  out.push('', 'Failed Resource Actions:');
  for (const node of order) {
    for (const f of perNode.get(node)!) out.push(`  * ${f.resource}_monitor on ${node}: ${plural(f.count, 'failure', 'failures')}`);
  }
  return out;
}

export function formatStatus(s: DaemonStatus): string {
  const dc = s.coordinator ? `${s.coordinator.name} (${s.coordinator.id})` : 'NONE';
  const out = [
    `Cluster name: ${s.cluster}`,
    'Cluster Summary:',
    `  * Stack: piha ${s.version} (profile ${s.profile}, safety ${(s.safety.modes ?? [s.safety.mode]).join(' + ')})`,
    `  * Current DC: ${dc} - partition ${s.quorate ? 'with' : 'WITHOUT'} quorum`,
    `  * ${plural(s.nodes.length, 'node', 'nodes')} configured, ${plural(s.votes, 'vote', 'votes')} ` +
      `(quorum ${s.quorumVotes} of ${s.expectedVotes} expected)`,
    `  * ${plural(s.resources.length, 'resource instance', 'resource instances')} configured`,
    ...(s.configMismatch?.length ? [`  * WARNING: configuration differs on: ${s.configMismatch.join(' ')} (compare /etc/piha/piha.yaml)`] : []),
    ...(s.configPending ? [`  * NOTE: ${s.configPending}`] : []),
    ...(s.stateSave
      ? [
          `  * ERROR: cannot save the node state in ${s.stateSave.dir} for ${s.stateSave.silentForSec} s (${s.stateSave.error}): this node sends nothing until it can (read-only or full SD card?)`,
        ]
      : []),
    ...(s.config ? [`  * Configuration: epoch ${s.config.epoch} (${s.config.source === 'cluster' ? 'replicated' : 'from the file, not replicated yet'})`] : []),
    ...(s.config?.waitingFor?.length
      ? [`  * NOTE: no saved cluster configuration here; configuration changes wait until ${s.config.waitingFor.join(', ')} ${s.config.waitingFor.length === 1 ? 'has' : 'have'} been heard (two_node tie-breaker)`]
      : []),
    ...(s.config?.fileDiffers
      ? ['  * NOTE: this node\'s piha.yaml has other resources/defaults than the cluster configuration, which is in force (piha config push applies the file; piha config export FILE writes the cluster\'s into it)']
      : []),
    ...(s.fencing?.pending ?? []).map(
      (p) => `  * FENCING: ${p.node}, ${plural(p.attempts, 'attempt', 'attempts')}${p.lastError ? `, last error: ${p.lastError}` : ''} (piha stonith list)`,
    ),
    ...(s.fencing?.blocking.length ? [`  * WARNING: VIPs of ${s.fencing.blocking.join(' ')} wait for a fence before they can move`] : []),
    '',
    'Node List:',
    `  * Online: ${bracket(namesIn(s, 'online'))}`,
  ];
  const standby = namesIn(s, 'standby');
  if (standby.length) out.push(`  * Standby: ${bracket(standby)}`);
  const offline = namesIn(s, 'offline');
  if (offline.length) out.push(`  * OFFLINE: ${bracket(offline)}`);

  out.push('', 'Full List of Resources:');
  if (s.resources.length === 0) out.push('  * No resources');
  for (const r of s.resources) out.push(`  * ${r.name}\t(vip ${r.ip}/${r.cidrNetmask}):\t ${resourceState(r)}`);
  out.push(...failureSections(s));
  return out.join('\n') + '\n';
}

function age(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms ago`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s ago`;
  const sec = Math.round(ms / 1000);
  return `${Math.floor(sec / 60)} min ${sec % 60} s ago`;
}

function table(rows: string[][]): string[] {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join('  ').trimEnd());
}

/** `pcs status nodes`-like lists followed by a per-node table. */
export function formatNodes(s: DaemonStatus): string {
  const line = (label: string, names: string[]): string => ` ${label}:${names.map((n) => ' ' + n).join('')}`;
  const out = [
    'piha Nodes:',
    line('Online', namesIn(s, 'online')),
    line('Standby', namesIn(s, 'standby')),
    line('Offline', namesIn(s, 'offline')),
    '',
  ];
  const rows = [['Node', 'Id', 'Role', 'State', 'Last seen']];
  for (const n of s.nodes) {
    const dc = s.coordinator?.id === n.id ? ' (DC)' : '';
    const seen = n.id === s.node.id ? 'this node' : n.lastSeenMs === null ? 'never' : age(n.lastSeenMs);
    rows.push([n.name + dc, String(n.id), n.role, n.state, seen]);
  }
  out.push(...table(rows));
  return out.join('\n') + '\n';
}

export function formatJson(v: unknown): string {
  return JSON.stringify(v, null, 2) + '\n';
}
