// What the node's safety mechanisms cover and what they do not, for /status (`safety`) and the
// status page: derived from the configuration (fencing modes, devices and the hosts they cover)
// and whether the profile's lease leaves room for kernel address lifetimes.

import type { PihaConfig } from '../config/types.ts';
import type { SafetyInfo } from '../api/status-types.ts';

export function safetyInfo(config: PihaConfig, kernelLifetime: boolean): SafetyInfo {
  const f = config.fencing;
  const devices = f.stonithEnabled && f.devices.length > 0;
  const modes: SafetyInfo['modes'] = ['lease', ...(f.watchdog.enabled ? (['watchdog'] as const) : []), ...(devices ? (['device'] as const) : [])];
  const covers = [
    'power cut or crash of the holder',
    'network partition, including peer-only',
    'loss of quorum',
    'clean stop (near-instant switchover)',
    'killed or frozen daemon: the address guard process removes its VIPs by the lease deadline',
  ];
  const doesNotCover: string[] = [];
  const covered = new Set(devices ? f.devices.flatMap((d) => d.hosts) : []);
  const uncovered = config.nodes.filter((n) => n.role === 'member' && !covered.has(n.name)).map((n) => n.name);
  if (f.watchdog.enabled) {
    covers.push(`a hung kernel or a stalled daemon: the hardware watchdog resets the holder within ${f.watchdog.timeoutMs / 1000} s, and peers wait that long before taking its VIP`);
  }
  if (devices) {
    covers.push(`a holder that goes silent is powered off by a fence device before its VIP moves (stonith): ${[...covered].join(', ')}`);
    if (!f.watchdog.enabled) covers.push('a failing fence device blocks the takeover (retried, shown in status) rather than risking two holders');
  }
  if (!f.watchdog.enabled && (!devices || uncovered.length > 0)) {
    doesNotCover.push(`a hung kernel${devices ? ` on ${uncovered.join(', ')}` : ''} (needs the watchdog or a fence device)`);
  }
  if (kernelLifetime) {
    covers.push(
      'guard and daemon frozen together: the kernel drops the address when its lifetime runs out (up to ~1 s later if another address of its family changes on this node in that last second; README, Residual risks)',
    );
  } else {
    doesNotCover.push(
      `guard and daemon frozen together (e.g. the whole service cgroup): profile ${config.cluster.profile} has a lease too short for whole-second kernel address lifetimes, so there is no second backstop`,
    );
  }
  return { mode: modes[modes.length - 1], modes, kernelLifetime, covers, doesNotCover };
}
