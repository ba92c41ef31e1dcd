// Shared builders for the core unit tests (test/unit/core-*.test.ts).
import type { FencingConfig, NodeConfig, PihaConfig, ResourceConfig, TimingConfig } from '../../src/config/types.ts';
import type { PlacementInput } from '../../src/core/placement.ts';
import { defaultFencing, defaultHardware } from '../../src/config/fencing-defaults.ts';
import { defaultHooks } from '../../src/config/hooks.ts';

export const LAN: TimingConfig = {
  heartbeatIntervalMs: 100,
  nodeTimeoutMs: 1000,
  leaseMs: 1350,
  clockDrift: 0.01,
  releaseApplyMs: 100,
  kernelLifetimeSlackMs: 300,
};

export const FAST: TimingConfig = {
  heartbeatIntervalMs: 25,
  nodeTimeoutMs: 150,
  leaseMs: 200,
  clockDrift: 0.01,
  releaseApplyMs: 50,
  kernelLifetimeSlackMs: 300,
};

export function node(id: number, role: NodeConfig['role'] = 'member', votes = 1): NodeConfig {
  return { name: `n${id}`, id, addr: `192.0.2.${10 + id}`, role, votes };
}

export function resource(over: Partial<ResourceConfig> = {}): ResourceConfig {
  return {
    name: 'vip0',
    type: 'vip',
    ip: '192.0.2.150',
    cidrNetmask: 32,
    monitorIntervalMs: 1000,
    migrationThreshold: 3,
    failureTimeoutMs: 0,
    garpRefreshMs: 30_000,
    prefers: {},
    checks: [],
    ...over,
  };
}

export interface ConfigShape {
  /** Node roles in id order (ids 1..n). */
  roles?: NodeConfig['role'][];
  nodes?: number;
  resources?: Partial<ResourceConfig>[];
  twoNode?: boolean;
  expectedVotes?: number;
  stickiness?: number;
  timing?: TimingConfig;
  fencing?: Partial<FencingConfig>;
}

/** Fencing with one exec device per node, run by every other node (stonith-enabled). */
export function deviceFencing(nodes: number, over: Partial<FencingConfig> = {}): Partial<FencingConfig> {
  const names = Array.from({ length: nodes }, (_, i) => `n${i + 1}`);
  return {
    stonithEnabled: true,
    devices: names.map((host) => ({
      type: 'exec' as const,
      name: `fence-${host}`,
      hosts: [host],
      runOn: names.filter((n) => n !== host),
      timeoutMs: 2000,
      command: ['/bin/true'],
    })),
    ...over,
  };
}

export function config(s: ConfigShape = {}): PihaConfig {
  const roles = s.roles ?? Array.from({ length: s.nodes ?? 3 }, () => 'member' as const);
  const nodes = roles.map((r, i) => node(i + 1, r));
  const resources = (s.resources ?? [{}]).map((r, i) => resource({ name: `vip${i}`, ip: `192.0.2.${150 + i}`, ...r }));
  return {
    cluster: {
      name: 'unit',
      authkey: '/dev/null',
      interface: 'eth0',
      port: 5405,
      profile: 'lan',
      timing: { ...(s.timing ?? LAN) },
      statusBind: '127.0.0.1:9405',
      stateDir: '/tmp/none',
      socket: '/tmp/none.sock',
    },
    nodes,
    quorum: { expectedVotes: s.expectedVotes ?? (s.twoNode ? 2 : nodes.length), twoNode: !!s.twoNode },
    defaults: { resourceStickiness: s.stickiness ?? 100 },
    fencing: { ...defaultFencing(), ...s.fencing },
    hardware: defaultHardware(),
    hooks: defaultHooks(),
    resources,
  };
}

/** A placement input where every node is online and nothing else is set. */
export function placementInput(nodes: NodeConfig[], over: Partial<PlacementInput> = {}): PlacementInput {
  return {
    nodes,
    online: new Set(nodes.map((n) => n.id)),
    standby: new Set(),
    failCounts: new Map(),
    holders: new Map(),
    moves: new Map(),
    banned: new Map(),
    defaultStickiness: 100,
    ...over,
  };
}
