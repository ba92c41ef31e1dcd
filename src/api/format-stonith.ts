// `piha stonith list` and `piha stonith history`: fencing as a Pacemaker user reads it
// (pcs stonith status / stonith_admin --history), from the daemon's status.

import type { DaemonStatus } from './status-types.ts';

const ago = (ms: number): string => (ms < 1000 ? `${ms} ms` : ms < 120_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 60_000)} min`);

export function formatStonithList(s: DaemonStatus): string {
  const f = s.fencing;
  if (!f) return 'this daemon reports no fencing information (an older version?)\n';
  const lines: string[] = [];
  lines.push(`Safety modes: ${f.modes.join(' + ')}   stonith-enabled: ${f.stonithEnabled}   stonith-action: ${f.action}`);
  const w = f.watchdog;
  if (w.enabled) {
    lines.push(
      `Watchdog (${s.node.name}): ${w.device}, timeout ${w.timeoutSec ?? '?'} s (configured ${w.configuredSec} s), ${w.pets} pets, ${w.withheld} withheld; peers wait ${(f.watchdogWaitMs / 1000).toFixed(1)} s extra for a silent holder`,
    );
  } else lines.push('Watchdog: not enabled (fencing.watchdog.enabled)');
  if (f.devices.length === 0) lines.push('Devices: none configured (fencing.devices)');
  else {
    lines.push('Devices:');
    for (const d of f.devices) {
      const here = f.devicesHere.some((x) => x.name === d.name) ? ' (runs on this node)' : '';
      lines.push(`  * ${d.name} (${d.type}): fences ${d.hosts.join(', ')}; run by ${d.runOn.join(', ')}${here}`);
    }
  }
  const members = s.nodes.filter((n) => n.role === 'member').map((n) => n.name);
  const uncovered = members.filter((n) => !f.covered.includes(n));
  if (f.stonithEnabled && uncovered.length) lines.push(`Not covered by any device: ${uncovered.join(', ')}`);
  for (const p of f.pending) {
    lines.push(`FENCING ${p.node}: ${p.attempts} attempt(s) over ${ago(p.sinceMs)}${p.lastError ? `, last error: ${p.lastError}` : ''}`);
  }
  if (f.blocking.length) lines.push(`WAITING: VIPs of ${f.blocking.join(', ')} cannot move until fenced (or: piha stonith confirm NODE once you switched it off)`);
  return lines.join('\n') + '\n';
}

export function formatStonithHistory(s: DaemonStatus): string {
  const h = s.fencing?.history ?? [];
  if (h.length === 0) return `no fencing seen by ${s.node.name} since its daemon started\n`;
  return (
    h
      .map((e) => `${ago(e.agoMs).padStart(8)} ago  ${e.ok ? 'fenced ' : 'FAILED '} ${e.node} (incarnation ${e.inc}) by ${e.by}, asked by ${e.initiator}: ${e.detail}`)
      .join('\n') + '\n'
  );
}
