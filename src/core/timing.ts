// Timing rules derived from the configured timings. Every safety margin lives here, so the
// argument in README "Design notes" can be checked against one file.
//
// Notation: L = leaseMs (holder side, local clock), ρ = clockDrift (every monotonic clock runs
// at a rate within [1-ρ, 1+ρ] of real time), S = kernelLifetimeSlackMs, A = releaseApplyMs.
//
// 1. A holder counts its lease from the moment it *sent* the request that was granted:
//    it holds until sendTime + L on its own clock, i.e. at most L/(1-ρ) real time after the send.
// 2. A granter promises not to grant the key to anyone else for P = L·(1+ρ)/(1-ρ) (+1 ms
//    rounding) on its clock, counted from when it *received* the request (after the send):
//    at least P/(1+ρ) = L/(1-ρ) real time. So the holder's lease ends, in real time, no later
//    than the promise of every granter in its majority.
// 3. The holder drops the address at sendTime + L - A (its clock); dropping takes ≤ A.
// 4. The kernel backstop: when refreshing the address lifetime at local time t with valid_lft
//    V whole seconds, the kernel removes the address by t + V·1000 + S (S covers the ≤250 ms
//    rounding of devinet.c's check_lifetime timer and the command's own latency). The core
//    picks V = floor((leaseEnd - t - S)/1000) and forbids applying it after
//    notAfter = leaseEnd - S - V·1000, so a killed or frozen daemon's address is gone before
//    its lease ends — hence before any promise ends, hence before anyone else may acquire.
//    Unless another address of the same family changes in that network namespace during the
//    lifetime's last second: the kernel's lifetime timer then runs no sooner than 1 s later
//    (ADDRCONF_TIMER_FUZZ_MAX; measured 1.92–1.95 s for V = 1, README "Residual risks"). The guard,
//    ExecStopPost and the watchdog are the backstops in front of this one.
// 5. Startup: a (re)started node grants nothing for P + W (W = watchdog wait, 0 in lease
//    mode): it may have granted promises before it crashed that it no longer remembers.

import type { TimingConfig } from '../config/types.ts';

export interface DerivedTiming {
  heartbeatMs: number;
  nodeTimeoutMs: number;
  leaseMs: number;
  promiseMs: number;
  releaseMarginMs: number;
  kernelSlackMs: number;
  /** true when the lease is long enough for a whole-second kernel lifetime (V ≥ 1). */
  kernelLifetime: boolean;
  /**
   * Minimum spacing of kernel lifetime refreshes: as late as still leaves the last
   * max(3 heartbeats, 600 ms) of a fresh lifetime to land one (see refreshSpacingMs).
   */
  refreshEveryMs: number;
  /** Extra wait before a lost holder's promise ends (watchdog mode adds the watchdog timeout). */
  fenceWaitMs: number;
}

export function deriveTiming(t: TimingConfig, fenceWaitMs = 0): DerivedTiming {
  const rho = t.clockDrift;
  const promiseMs = Math.ceil((t.leaseMs * (1 + rho)) / (1 - rho)) + 1;
  return {
    heartbeatMs: t.heartbeatIntervalMs,
    nodeTimeoutMs: t.nodeTimeoutMs,
    leaseMs: t.leaseMs,
    promiseMs,
    releaseMarginMs: t.releaseApplyMs,
    kernelSlackMs: t.kernelLifetimeSlackMs,
    kernelLifetime: t.leaseMs - t.kernelLifetimeSlackMs >= 1000,
    refreshEveryMs: refreshSpacingMs(t),
    fenceWaitMs,
  };
}

/**
 * How long a holder waits after a lifetime refresh before the next one. A refresh needs a
 * fresh grant (kernelLifetime() is null otherwise), and grants come once per heartbeat round,
 * so after this spacing the core tries at every round until one fits. The spacing is chosen
 * so that the tries left before the lifetime V (whole seconds, from a fresh grant) runs out
 * span at least 3 heartbeat rounds and 600 ms: a lost round or a late daemon still renews
 * before the kernel drops the address (which would be a lapse: a short outage, never a
 * safety issue). Refreshing more often buys nothing and costs two `ip` round trips each
 * (presence check, change): lan 1 s lifetime, 200 ms rounds -> every 400 ms, tries at 400,
 * 600 and 800 ms (was every 200 ms); slow 2 s, 250 ms -> every 1250 ms.
 */
export function refreshSpacingMs(t: TimingConfig): number {
  const v = Math.floor((t.leaseMs - t.kernelLifetimeSlackMs) / 1000);
  const lastTries = Math.max(3 * t.heartbeatIntervalMs, 600);
  return Math.max(t.heartbeatIntervalMs, 200, v * 1000 - lastTries);
}

/**
 * The kernel lifetime to give an address when the lease ends at `leaseEnd` and it is now
 * `now`, with the deadline after which that lifetime must not be applied. null when the
 * remaining lease cannot cover one whole second plus the slack.
 */
export function kernelLifetime(
  d: DerivedTiming,
  leaseEnd: number,
  now: number,
): { validLftSec: number; notAfter: number } | null {
  const v = Math.floor((leaseEnd - now - d.kernelSlackMs) / 1000);
  if (v < 1) return null;
  return { validLftSec: v, notAfter: leaseEnd - d.kernelSlackMs - v * 1000 };
}

/**
 * Bound on takeover after the holder dies while a majority stays healthy (README states it):
 * the last promise made to the dead holder runs out at most P + W after its death; a waiting
 * candidate retries at the promise's end (the denial says how long is left) or at the next
 * heartbeat, whichever is first, and needs one round trip.
 */
export function takeoverBoundMs(d: DerivedTiming, oneWayMs: number): number {
  return Math.max(d.promiseMs + d.fenceWaitMs, d.nodeTimeoutMs + d.heartbeatMs) + d.heartbeatMs + 4 * oneWayMs;
}
