// Timing presets. A cluster picks one with `cluster.profile`; explicit timing keys then
// override single values. Every number has its reason next to it, because these values
// trade failover speed against false failovers and each depends on the others.

import type { TimingConfig } from './types.ts';

/** Wired LAN, idle-ish Raspberry Pis: the default. */
export const LAN: TimingConfig = {
  // 5 heartbeats per second per peer. Takeover after a power cut is bounded by the lease
  // (below), not by this period: the last promise to a dead holder was made up to one period
  // before it died, so a longer period does not slow takeover (bench: median ~1.34 s at
  // 100 ms). 100 ms cost an idle daemon 1.2-2 % of a core on the x86 test VM, nearly all of it the kernel
  // and libuv handling each datagram (docs/benchmarks.md, "Idle cost"); 200 ms halves that.
  heartbeatIntervalMs: 200,
  // 5 heartbeats: five lost or late packets in a row make a false "dead" (computed: at 5 %
  // random loss, 0.05^5 = 3e-7 per period). A peer falsely seen dead for a moment moves no VIP:
  // the holder's lease is renewed from a majority every period, and only ~7 failed rounds in a
  // row (1350 ms / 200 ms) drop it.
  nodeTimeoutMs: 1000,
  // The smallest lease that still lets the kernel address lifetime back it up:
  // valid_lft = 1 s (the kernel's lifetimes are whole seconds) + 300 ms kernel timer
  // slack + ~50 ms round trip for the renewal.
  leaseMs: 1350,
  // ±1 %: far above the drift of a Pi's crystal, which is tens of ppm.
  clockDrift: 0.01,
  // Daemon decides to drop an address -> netlink call done: one scheduling delay on an
  // idle Pi, with margin.
  releaseApplyMs: 100,
  // devinet.c check_lifetime rounds its timer up by up to 250 ms; measured lateness was
  // 0.06-0.2 s, so 300 ms covers both with margin.
  kernelLifetimeSlackMs: 300,
};

/** Fast failover on a quiet wired network. */
export const FAST: TimingConfig = {
  // 40 packets per second per peer: still small, but needs a network without bursts.
  heartbeatIntervalMs: 25,
  // 6 heartbeats: failover in ~150 ms, at the price of less tolerance for jitter.
  nodeTimeoutMs: 150,
  // Too short for whole-second kernel lifetimes (1 s + slack > 200 ms), so the kernel
  // address-lifetime backstop is off in this profile; the lease alone protects.
  leaseMs: 200,
  // Same bound as lan: clocks do not get worse because the profile is faster.
  clockDrift: 0.01,
  // Must stay well below the lease; an idle Pi applies a netlink change in a few ms.
  releaseApplyMs: 50,
  // Kernel behaviour does not change with the profile (see LAN).
  kernelLifetimeSlackMs: 300,
};

/** Wi-Fi or heavily loaded Pis: fewer false failovers, slower real ones. */
export const SLOW: TimingConfig = {
  // Wi-Fi power save and busy CPUs delay packets by hundreds of ms; sending more often
  // would not make detection more reliable, only noisier.
  heartbeatIntervalMs: 250,
  // 12 heartbeats: rides out Wi-Fi retransmission bursts and roaming hiccups.
  nodeTimeoutMs: 3000,
  // valid_lft = 2 s + 300 ms kernel slack + up to ~700 ms round trip on a slow link.
  leaseMs: 3000,
  // Same physical clocks as lan.
  clockDrift: 0.01,
  // A loaded Pi can take longer to schedule the daemon and run the netlink call.
  releaseApplyMs: 200,
  // Kernel behaviour does not change with the profile (see LAN).
  kernelLifetimeSlackMs: 300,
};

export const PROFILES: Readonly<Record<string, TimingConfig>> = { lan: LAN, fast: FAST, slow: SLOW };

export const DEFAULT_PROFILE = 'lan';

export const PROFILE_NAMES: readonly string[] = Object.keys(PROFILES);
