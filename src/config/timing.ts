// Turns the profile name plus explicit timing keys into TimingConfig, and checks that the
// timings fit together. Errors point at the key the user wrote, so a value that only came
// from the preset is named as such ("1s from profile lan").

import { formatDuration } from './duration.ts';
import type { Issues } from './errors.ts';
import { PROFILES, DEFAULT_PROFILE } from './profiles.ts';
import type { TimingConfig } from './types.ts';

export interface TimingInput {
  profile: string;
  heartbeatIntervalMs?: number;
  nodeTimeoutMs?: number;
  leaseMs?: number;
  clockDrift?: number;
}

/** Explicit values override the preset. An unknown profile was already reported; lan is
 *  used then so the other checks can still run. */
export function resolveTiming(input: TimingInput): TimingConfig {
  const preset = PROFILES[input.profile] ?? PROFILES[DEFAULT_PROFILE];
  return {
    ...preset,
    heartbeatIntervalMs: input.heartbeatIntervalMs ?? preset.heartbeatIntervalMs,
    nodeTimeoutMs: input.nodeTimeoutMs ?? preset.nodeTimeoutMs,
    leaseMs: input.leaseMs ?? preset.leaseMs,
    clockDrift: input.clockDrift ?? preset.clockDrift,
  };
}

/** The relations between timings. Skipped for keys that already had an error. */
export function checkTiming(issues: Issues, input: TimingInput, timing: TimingConfig, clusterPath: string): void {
  const p = (k: string) => `${clusterPath}.${k}`;
  const bad = (k: string) => issues.some((e) => e === p(k));
  if (bad('heartbeat_interval') || bad('profile')) return;
  const hb = timing.heartbeatIntervalMs;
  const twice = formatDuration(2 * hb);
  const hbText = `heartbeat_interval ${formatDuration(hb)}${input.heartbeatIntervalMs === undefined ? ` from profile ${input.profile}` : ''}`;

  const rule = (key: string, explicit: number | undefined, value: number, why: string): void => {
    if (bad(key) || value >= 2 * hb) return;
    const valueText = `${key} ${formatDuration(value)}${explicit === undefined ? ` from profile ${input.profile}` : ''}`;
    // Point at the line the user wrote: the dependent key if set, else the heartbeat.
    const at = explicit !== undefined || input.heartbeatIntervalMs === undefined ? key : 'heartbeat_interval';
    issues.add(
      p(at),
      `${valueText} is less than twice ${hbText} (${why}); set ${key}: ${twice} or more, or a shorter heartbeat_interval`,
    );
  };
  rule('node_timeout', input.nodeTimeoutMs, timing.nodeTimeoutMs,
    'one late heartbeat would make a healthy node look dead');
  rule('lease_time', input.leaseMs, timing.leaseMs,
    'leases are renewed once per heartbeat, so one lost renewal would drop the resources');
  // The holder starts dropping the address releaseApplyMs before its lease ends (core/timing.ts);
  // a lease no longer than that could never be used. Presets satisfy it, so only an
  // explicit lease_time can break it.
  if (!bad('lease_time') && input.leaseMs !== undefined && timing.leaseMs <= timing.releaseApplyMs) {
    issues.add(
      p('lease_time'),
      `lease_time ${formatDuration(timing.leaseMs)} is not longer than the ${formatDuration(timing.releaseApplyMs)} profile ${input.profile} reserves for removing the address, so a lease could never be used; set lease_time: ${formatDuration(2 * timing.releaseApplyMs)} or more`,
    );
  }
}
