// Builds a validated-shape PihaConfig for simulated clusters (no YAML involved), with the
// timing preset under test. Addresses come from 192.0.2.0/24 (documentation range).
import type { PihaConfig, ResourceConfig } from '../../src/config/types.ts';
import { LAN, FAST, SLOW } from '../../src/config/profiles.ts';
import { defaultFencing, defaultHardware } from '../../src/config/fencing-defaults.ts';

// The simulator runs the timing presets that ship (src/config/profiles.ts), not copies.
export const PRESETS = { lan: LAN, fast: FAST, slow: SLOW } as const;

export interface SimClusterShape {
  nodes: number;
  witness: boolean; // make the last node a witness
  resources: number;
  profile: keyof typeof PRESETS;
  twoNode?: boolean;
  prefers?: boolean;
  migrationThreshold?: number;
  failureTimeoutMs?: number;
  stickiness?: number;
}

export function simConfig(s: SimClusterShape): PihaConfig {
  const nodes = Array.from({ length: s.nodes }, (_, i) => ({
    name: `n${i + 1}`,
    id: i + 1,
    addr: `192.0.2.${11 + i}`,
    role: (s.witness && i === s.nodes - 1 && s.nodes > 2 ? 'witness' : 'member') as 'member' | 'witness',
    votes: 1,
  }));
  const resources: ResourceConfig[] = Array.from({ length: s.resources }, (_, i) => ({
    name: `vip${i}`,
    type: 'vip',
    ip: `192.0.2.${150 + i}`,
    cidrNetmask: 32,
    monitorIntervalMs: 1000,
    migrationThreshold: s.migrationThreshold ?? 2,
    failureTimeoutMs: s.failureTimeoutMs ?? 10_000,
    prefers: s.prefers ? { [`n${(i % s.nodes) + 1}`]: 50 } : {},
    checks: [],
  }));
  return {
    cluster: {
      name: 'simcluster',
      authkey: '/dev/null',
      interface: 'eth0',
      port: 5405,
      profile: s.profile,
      timing: { ...PRESETS[s.profile] },
      statusBind: '127.0.0.1:9405',
      stateDir: '/tmp/none',
      socket: '/tmp/none.sock',
    },
    nodes,
    quorum: { expectedVotes: s.twoNode ? 2 : s.nodes, twoNode: !!s.twoNode },
    defaults: { resourceStickiness: s.stickiness ?? 100 },
    fencing: defaultFencing(),
    hardware: defaultHardware(),
    resources,
  };
}
