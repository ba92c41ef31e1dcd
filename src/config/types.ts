// The validated, normalised configuration. The YAML file (see README "Configuration") is
// parsed and checked by load.ts/validate.ts into this shape; every duration is in
// milliseconds, every default is filled in. The core reads only this, never YAML.

export type NodeRole = 'member' | 'witness';

export interface NodeConfig {
  name: string;
  id: number; // 1..65535, unique; also the tie-breaker order (lowest id wins a tie)
  addr: string; // IPv4 address used for heartbeats
  role: NodeRole; // a witness votes but never holds resources
  votes: number; // default 1
  mac?: string; // optional, lets one image find "which node am I" (image issue)
}

export interface HealthCheckConfig {
  type: 'http' | 'tcp' | 'exec';
  target: string; // URL for http, host:port for tcp, command line for exec
  intervalMs: number;
  timeoutMs: number;
  rise: number;
  fall: number;
}

export interface ResourceConfig {
  name: string;
  type: 'vip';
  ip: string;
  cidrNetmask: number;
  monitorIntervalMs: number;
  migrationThreshold: number; // 0 = never move away because of failures (Pacemaker: INFINITY)
  failureTimeoutMs: number; // 0 = failures never expire
  /**
   * ms between the periodic gratuitous ARP / unsolicited NA announcements while the VIP is held
   * (the conflict probe, when on, rides on each); 0 = none. The takeover bursts are separate.
   */
  garpRefreshMs: number;
  prefers: Record<string, number>; // node name -> location score
  stickiness?: number; // overrides defaults.resource_stickiness
  checks: HealthCheckConfig[];
  /** pcs meta target-role: 'stopped' keeps the resource configured but running nowhere. */
  targetRole?: 'started' | 'stopped';
  /**
   * Colocation constraints (pcs constraint colocation add THIS with OTHER SCORE), in file order:
   * `with:` gives positive scores, `not_with:` negative ones; ±INFINITY (1000000) means must /
   * must not share a node. OTHER is placed first; THIS follows it (core/placement.ts).
   */
  colocation?: ColocationConfig[];
}

export interface ColocationConfig {
  with: string;
  score: number;
}

export interface TimingConfig {
  heartbeatIntervalMs: number;
  nodeTimeoutMs: number;
  // How long a holder may keep a lease after it *sent* the renewal that a majority granted,
  // on its own clock. Granters promise for longer (see core/timing.ts).
  leaseMs: number;
  // Bound on the rate error of any node's monotonic clock, e.g. 0.01 = ±1 %.
  clockDrift: number;
  // Worst delay between the daemon deciding to drop an address and the kernel having done it.
  releaseApplyMs: number;
  // How late the kernel may remove an address after its valid_lft ran out.
  kernelLifetimeSlackMs: number;
}

export interface ClusterConfig {
  name: string;
  authkey: string;
  interface: string;
  port: number;
  profile: string; // name of the timing preset the timings came from ('lan', 'fast', ...)
  timing: TimingConfig;
  statusBind: string; // host:port of the HTTP status endpoint
  stateDir: string;
  socket: string;
}

export interface QuorumConfig {
  expectedVotes: number;
  twoNode: boolean;
}

export interface PihaConfig {
  cluster: ClusterConfig;
  nodes: NodeConfig[];
  quorum: QuorumConfig;
  defaults: { resourceStickiness: number };
  resources: ResourceConfig[];
  fencing: FencingConfig;
  hardware: HardwareConfig;
  /** Node-local notify hooks (config/hooks.ts); not part of the configuration digest. */
  hooks: HooksConfig;
}

/** hooks: one command (argv, absolute program path) per event; see src/daemon/hooks.ts. */
export type HookName = 'on_acquire' | 'on_release' | 'on_quorum_lost' | 'on_quorum_regained' | 'on_fence';
export interface HooksConfig {
  timeoutMs: number;
  commands: Partial<Record<HookName, string[]>>;
}

// ---------------------------------------------------------------- fencing: and hardware:

/** How a node drives GPIO lines: the character device (libgpiod tools), legacy sysfs, or plain files (tests, lab). */
export interface GpioConfig {
  backend: 'chardev' | 'sysfs' | 'sim';
  /** Directory of the sim backend's line files (backend sim only). */
  simDir: string;
}

export interface GpioLineConfig {
  chip?: string; // chip label or gpiochipN; default: the Pi header chip
  line: number | string; // BCM offset (17) or line name (GPIO17)
  activeLow: boolean;
}

interface FenceDeviceBase {
  name: string;
  /** Nodes this device can fence (pcmk_host_list). */
  hosts: string[];
  /** Nodes that may run this device (default: every member except the ones it fences). */
  runOn: string[];
  /** Give up one attempt after this long. */
  timeoutMs: number;
}

export interface GpioRelayDeviceConfig extends FenceDeviceBase {
  type: 'gpio-relay';
  /** The node whose GPIO header drives the relay (runOn is [driver]). */
  driver: string;
  relay: GpioLineConfig; // logical 1 = relay energised = power CUT (normally-closed wiring, hardware/README.md)
}

export interface HttpPlugDeviceConfig extends FenceDeviceBase {
  type: 'http-plug';
  api: 'shelly-gen1' | 'shelly-gen2' | 'tasmota';
  url: string; // http://192.168.0.60
  channel: number; // relay/switch id, 0-based
  username?: string;
  password?: string;
}

export interface ExecDeviceConfig extends FenceDeviceBase {
  type: 'exec';
  /** argv; the runner appends ACTION NODE (off|on|status, node name). */
  command: string[];
}

export type FenceDeviceConfig = GpioRelayDeviceConfig | HttpPlugDeviceConfig | ExecDeviceConfig;

export interface WatchdogConfig {
  enabled: boolean;
  /** /dev/watchdog, or sim:/path/to/state.json for the lab. */
  device: string;
  /** The timeout the driver is set to (read back at open and compared). */
  timeoutMs: number;
}

export interface FencingConfig {
  /** Pacemaker stonith-enabled: fence a lost holder before its VIP moves (default: true when any device exists). */
  stonithEnabled: boolean;
  /** pcmk stonith-action: reboot (off, wait, on) or off (stays off). */
  action: 'reboot' | 'off';
  /** Power-off time within a reboot. */
  offTimeMs: number;
  /** Wait between failed attempts. */
  retryIntervalMs: number;
  watchdog: WatchdogConfig;
  devices: FenceDeviceConfig[];
}

export interface HardwareConfig {
  gpio: GpioConfig;
  led?: GpioLineConfig;
  button?: GpioLineConfig & { longPressMs: number };
}
