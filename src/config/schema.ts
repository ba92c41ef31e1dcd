// The keys the YAML file may use, section by section, and the defaults for optional ones.
// Unknown keys are errors (not ignored) because a misspelt key would otherwise silently
// fall back to a default, e.g. a mistyped node_timeout leaving a 1 s timeout on Wi-Fi.

export const TOP_KEYS = ['cluster', 'nodes', 'quorum', 'defaults', 'resources', 'fencing', 'hardware', 'hooks'] as const;

export const CLUSTER_KEYS = [
  'name', 'authkey', 'interface', 'port', 'profile', 'heartbeat_interval', 'node_timeout',
  'lease_time', 'clock_drift', 'status_bind', 'state_dir', 'socket',
] as const;

export const NODE_KEYS = ['name', 'id', 'addr', 'votes', 'mac', 'role'] as const;
export const NODE_ROLES = ['member', 'witness'] as const;

export const QUORUM_KEYS = ['expected_votes', 'two_node'] as const;

export const DEFAULTS_KEYS = ['resource_stickiness'] as const;

export const RESOURCE_KEYS = [
  'name', 'type', 'ip', 'cidr_netmask', 'monitor_interval', 'migration_threshold',
  'failure_timeout', 'garp_refresh', 'prefers', 'resource_stickiness', 'checks', 'target_role', 'with', 'not_with',
] as const;
/** Pacemaker's INFINITY: a colocation score this large (or its negative) is mandatory. */
export const INFINITY_SCORE = 1_000_000;
/** A score as pcs prints it: INFINITY, -INFINITY or the number. */
export const scoreText = (n: number): string => (Math.abs(n) >= INFINITY_SCORE ? `${n < 0 ? '-' : ''}INFINITY` : String(n));
export const RESOURCE_TYPES = ['vip'] as const;

export const CHECK_TYPES = ['http', 'tcp', 'exec'] as const;
export type CheckType = (typeof CHECK_TYPES)[number];
export const CHECK_COMMON_KEYS = ['type', 'interval', 'timeout', 'rise', 'fall'] as const;
export const CHECK_TYPE_KEYS: Record<CheckType, readonly string[]> = {
  http: ['url'],
  tcp: ['host', 'port'],
  exec: ['command'],
};

export const FENCING_KEYS = ['stonith_enabled', 'action', 'off_time', 'retry_interval', 'watchdog', 'devices'] as const;
export const FENCE_ACTIONS = ['reboot', 'off'] as const;
export const WATCHDOG_KEYS = ['enabled', 'device', 'timeout'] as const;

export const FENCE_DEVICE_TYPES = ['gpio-relay', 'http-plug', 'exec'] as const;
export type FenceDeviceType = (typeof FENCE_DEVICE_TYPES)[number];
export const FENCE_DEVICE_COMMON_KEYS = ['name', 'type', 'hosts', 'timeout'] as const;
/** Keys by device type. run_on is not among a gpio-relay's: it runs on its driver node. */
export const FENCE_DEVICE_TYPE_KEYS: Record<FenceDeviceType, readonly string[]> = {
  'gpio-relay': ['driver', 'line', 'chip', 'active_low'],
  'http-plug': ['api', 'url', 'channel', 'username', 'password', 'run_on'],
  exec: ['command', 'run_on'],
};
export const HTTP_PLUG_APIS = ['shelly-gen1', 'shelly-gen2', 'tasmota'] as const;

export const HARDWARE_KEYS = ['gpio', 'gpio_sim_dir', 'led', 'button'] as const;

/** hooks: (config/hooks.ts): one command per event, and their time limit. */
export const HOOK_NAMES = ['on_acquire', 'on_release', 'on_quorum_lost', 'on_quorum_regained', 'on_fence'] as const;
export const HOOKS_KEYS = [...HOOK_NAMES, 'timeout'] as const;
export const GPIO_BACKENDS = ['chardev', 'sysfs', 'sim'] as const;
export const LED_KEYS = ['line', 'chip', 'active_low'] as const;
export const BUTTON_KEYS = ['line', 'chip', 'active_low', 'long_press'] as const;

export const DEFAULTS = {
  authkey: '/etc/piha/authkey',
  interface: 'eth0',
  port: 5405, // corosync's port, familiar to Pacemaker users
  statusBind: '0.0.0.0:9405',
  stateDir: '/var/lib/piha',
  socket: '/run/piha/piha.sock',
  votes: 1,
  resourceStickiness: 100,
  cidrNetmask: 32, // a VIP is one address; /32 adds no route to the table
  cidrNetmask6: 128, // the same for IPv6 (keepalived's default too); see readIpAndPrefix
  monitorIntervalMs: 5_000,
  migrationThreshold: 3,
  failureTimeoutMs: 0, // failures never expire unless asked
  garpRefreshMs: 30_000, // periodic re-announcement of a held VIP (keepalived's vrrp_garp_master_refresh: 0 = none)
  check: { intervalMs: 5_000, timeoutMs: 2_000, rise: 2, fall: 3 },
} as const;

/** Smallest heartbeat period: Pi timers and networks are not precise below a few ms. */
export const MIN_HEARTBEAT_MS = 5;
/** clock_drift above 10 % means a broken clock, not drift. */
export const MAX_CLOCK_DRIFT = 0.1;
