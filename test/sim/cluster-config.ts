// Builds a validated-shape PihaConfig for simulated clusters (no YAML involved), with the
// timing preset under test. Addresses come from 192.0.2.0/24 (documentation range).
import type { PihaConfig, ResourceConfig } from '../../src/config/types.ts';
import { LAN, FAST, SLOW } from '../../src/config/profiles.ts';
import { defaultFencing, defaultHardware } from '../../src/config/fencing-defaults.ts';
import { defaultHooks } from '../../src/config/hooks.ts';

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
  /** Safety mode: lease only, + watchdog (SBD rule), + fence devices, or both. */
  fencing?: 'lease' | 'watchdog' | 'device' | 'both';
  /** Hardware watchdog timeout (short in the simulator to keep runs short; the rule scales). */
  watchdogMs?: number;
  /** Colocation constraints between the VIPs: vip<from> with vip<with> at score (±1000000 = must / must not). */
  colocations?: { from: number; with: number; score: number }[];
}

/** Fencing config: one device per member, runnable by every other node (a plug or script);
 *  node 1's is a relay driven by node 2 only, as in a relay ring. */
function simFencing(s: SimClusterShape, names: string[]): PihaConfig['fencing'] {
  const f = defaultFencing();
  const mode = s.fencing ?? 'lease';
  if (mode === 'watchdog' || mode === 'both') f.watchdog = { ...f.watchdog, enabled: true, timeoutMs: s.watchdogMs ?? 2000 };
  if (mode === 'device' || mode === 'both') {
    f.stonithEnabled = true;
    f.retryIntervalMs = 1000;
    f.offTimeMs = 1000;
    f.devices = names.map((host, i) =>
      i === 0 && names.length > 1
        ? { type: 'gpio-relay' as const, name: `relay-${host}`, hosts: [host], driver: names[1], runOn: [names[1]], timeoutMs: 1000, relay: { line: 17, activeLow: false } }
        : { type: 'exec' as const, name: `plug-${host}`, hosts: [host], runOn: names.filter((n) => n !== host), timeoutMs: 1000, command: ['/bin/true'] },
    );
  }
  return f;
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
    garpRefreshMs: 30_000,
    prefers: s.prefers ? { [`n${(i % s.nodes) + 1}`]: 50 } : {},
    checks: [],
    ...((s.colocations ?? []).some((c) => c.from === i)
      ? { colocation: s.colocations!.filter((c) => c.from === i).map((c) => ({ with: `vip${c.with}`, score: c.score })) }
      : {}),
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
    fencing: simFencing(s, nodes.map((n) => n.name)),
    hardware: defaultHardware(),
    hooks: defaultHooks(),
    resources,
  };
}
