// Cached host facts for `/status`. systeminformation may read sysfs or even spawn a
// helper (temperature on some boards), which is too slow and too easy to abuse per request:
// a background timer refreshes the cache, requests only read it.
import { performance } from 'node:perf_hooks';

import os from 'node:os';
// Two of systeminformation's modules, not its index: the index loads and runs all of its ~25
// modules (and the node built-ins they need) into every daemon. Measured in a bare node
// process: +10.5 MiB RSS (+4.6 MiB private) for the index, +3.7 MiB for these parts.
import { cpuTemperature } from 'systeminformation/lib/cpu.js';
import { mem as memInfo } from 'systeminformation/lib/memory.js';
import type { SystemFacts } from './status-types.ts';

export type SystemSampler = () => Promise<SystemFacts>;

/** Cheap synchronous facts from node:os, used until the first sample arrives. */
export function osFacts(): SystemFacts {
  const [load1, load5, load15] = os.loadavg();
  return {
    hostname: os.hostname(),
    uptimeSec: Math.round(os.uptime()),
    load1,
    load5,
    load15,
    memTotalBytes: os.totalmem(),
    memAvailableBytes: os.freemem(),
    cpuTempC: null,
  };
}

export const sampleSystem: SystemSampler = async () => {
  const base = osFacts(); // hostname and load averages: systeminformation has no cheaper source
  const [mem, temp] = await Promise.all([memInfo(), cpuTemperature().catch(() => null)]);
  const t = temp?.main;
  return {
    ...base, // uptime from node:os: what systeminformation's time().uptime returns too
    memTotalBytes: mem.total,
    // MemAvailable, not MemFree: page cache is reclaimable and counts as available.
    memAvailableBytes: mem.available,
    cpuTempC: typeof t === 'number' && Number.isFinite(t) && t > -273 ? t : null,
  };
};

export interface SystemInfoCache {
  get(): SystemFacts;
  /** Starts (or forces) a background refresh; resolves when it is done, never rejects. */
  refresh(): Promise<void>;
  stop(): void;
}

export function createSystemInfoCache(
  opts: { intervalMs?: number; sampler?: SystemSampler; timeoutMs?: number; lazy?: boolean } = {},
): SystemInfoCache {
  const intervalMs = opts.intervalMs ?? 5000;
  const sampler = opts.sampler ?? sampleSystem;
  const timeoutMs = opts.timeoutMs ?? 10_000;
  let facts = osFacts();
  let inFlight: Promise<void> | null = null;
  let sampledAt = -Infinity;

  const refresh = (): Promise<void> => {
    // One sample at a time; a hung helper must not pile up more of them.
    if (inFlight) return inFlight;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<null>((resolve) => {
      timer = setTimeout(() => resolve(null), timeoutMs);
      timer.unref();
    });
    inFlight = Promise.race([sampler().catch(() => null), timeout])
      .then((f) => {
        if (f) facts = f;
        sampledAt = performance.now();
      })
      .finally(() => {
        clearTimeout(timer);
        inFlight = null;
      });
    return inFlight;
  };

  void refresh();
  // Lazy: sample only when someone reads the facts (a /status request) and they are older
  // than intervalMs. An idle daemon then spawns nothing: systeminformation's samplers run
  // helper processes, measured at ~0.3 % of an x86 core every 5 s, more on a Pi.
  if (opts.lazy) {
    return {
      get: () => {
        if (performance.now() - sampledAt > intervalMs) void refresh();
        return facts;
      },
      refresh,
      stop: () => undefined,
    };
  }
  const timer = setInterval(() => void refresh(), intervalMs);
  timer.unref(); // the cache must never keep the process alive on its own

  return {
    get: () => facts,
    refresh,
    stop: () => clearInterval(timer),
  };
}
