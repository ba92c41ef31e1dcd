// The cluster: section.

import type { Issues } from './errors.ts';
import { checkAbsolutePath, checkHostPort, checkInterface, checkName } from './formats.ts';
import { DEFAULT_PROFILE, PROFILE_NAMES } from './profiles.ts';
import { Section } from './read.ts';
import { CLUSTER_KEYS, DEFAULTS, MAX_CLOCK_DRIFT, MIN_HEARTBEAT_MS } from './schema.ts';
import { checkTiming, resolveTiming, type TimingInput } from './timing.ts';
import type { ClusterConfig } from './types.ts';

const PATH = 'cluster';

/** Returns a ClusterConfig with defaults standing in for bad values; it is only used when
 *  no error was reported. */
export function readCluster(issues: Issues, raw: unknown): ClusterConfig | undefined {
  if (raw === undefined) return undefined; // missing: already reported by the caller
  const s = Section.open(issues, raw, PATH, 'cluster:', CLUSTER_KEYS);
  if (!s) return undefined;

  const name = s.string('name', { required: true, example: 'name: lbcluster', check: (v) => checkName(v, 'lbcluster') });
  const authkey = s.string('authkey', { example: `authkey: ${DEFAULTS.authkey}`, check: (v) => checkAbsolutePath(v, DEFAULTS.authkey) });
  const iface = s.string('interface', { example: 'interface: eth0', check: checkInterface });
  const port = s.int('port', { example: 'port: 5405', min: 1, max: 65535, what: 'a port number 1-65535' });
  // An unknown profile is reported; lan stands in so the timing checks can still run.
  const profile = s.oneOf('profile', PROFILE_NAMES, { example: 'profile: lan', what: 'profile' }) ?? DEFAULT_PROFILE;

  const input: TimingInput = {
    profile,
    heartbeatIntervalMs: s.duration('heartbeat_interval', {
      example: 'heartbeat_interval: 100ms',
      min: MIN_HEARTBEAT_MS,
      minReason: 'timers and networks on a Pi are not precise below a few milliseconds',
    }),
    nodeTimeoutMs: s.duration('node_timeout', { example: 'node_timeout: 1s' }),
    leaseMs: s.duration('lease_time', { example: 'lease_time: 1350ms' }),
    clockDrift: readClockDrift(s),
  };
  const timing = resolveTiming(input);
  checkTiming(issues, input, timing, PATH);

  const statusBind = s.string('status_bind', { example: `status_bind: ${DEFAULTS.statusBind}`, check: (v) => checkHostPort(v, DEFAULTS.statusBind) });
  const stateDir = s.string('state_dir', { example: `state_dir: ${DEFAULTS.stateDir}`, check: (v) => checkAbsolutePath(v, DEFAULTS.stateDir) });
  const socket = s.string('socket', { example: `socket: ${DEFAULTS.socket}`, check: (v) => checkAbsolutePath(v, DEFAULTS.socket) });

  return {
    name: name ?? '',
    authkey: authkey ?? DEFAULTS.authkey,
    interface: iface ?? DEFAULTS.interface,
    port: port ?? DEFAULTS.port,
    profile,
    timing,
    statusBind: statusBind ?? DEFAULTS.statusBind,
    stateDir: stateDir ?? DEFAULTS.stateDir,
    socket: socket ?? DEFAULTS.socket,
  };
}

/** clock_drift as a fraction: "1%" or 0.01. */
function readClockDrift(s: Section): number | undefined {
  const v = s.raw('clock_drift', { example: 'clock_drift: 1%' });
  if (v === undefined) return undefined;
  const path = s.pathOf('clock_drift');
  const how = 'write it like 1% or 0.01';
  let drift: number;
  if (typeof v === 'number' && Number.isFinite(v)) {
    drift = v;
  } else if (typeof v === 'string' && /^\s*\d+(\.\d+)?\s*%\s*$/.test(v)) {
    drift = Number(v.trim().replace(/\s*%$/, '')) / 100;
  } else {
    s.issues.add(path, `must be a percentage or a fraction, not ${typeof v === 'string' ? JSON.stringify(v) : String(v)} (${how})`);
    return undefined;
  }
  if (drift < 0 || drift > MAX_CLOCK_DRIFT) {
    // 1..10 written as a bare number was most likely meant as a percentage.
    const meant = typeof v === 'number' && v > MAX_CLOCK_DRIFT && v <= 100 * MAX_CLOCK_DRIFT ? ` (did you mean ${v}%?)` : '';
    s.issues.add(path, `must be between 0% and 10%, not ${typeof v === 'number' ? v : v.trim()}${meant}; ${how}`);
    return undefined;
  }
  return drift;
}
