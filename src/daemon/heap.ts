// A full garbage collection once a minute, so the daemon's memory stays at what it really
// retains. Between V8's own major collections the old generation only grows: heartbeat
// objects that survive a scavenge are promoted and wait there, and V8 lets the old space grow
// to a multiple of the live heap before it marks and compacts. Measured on a 3-node lan
// cluster (bench/soak.ts): private memory rose by 0.2-0.3 MiB a minute for ~12 minutes and
// then fell by 4 MiB at V8's first major GC — not a leak, but on a 1 GiB Pi the peak is what
// counts, and a steady rise hides a real leak. A forced collection paused the daemon for
// 24-51 ms on the x86 test VM (piha_gc_pause_seconds; not measured on a Pi, where it is
// longer), once a minute: inside the node timeout (1 s) and the lease (1.35 s) on lan.
//
// Once a minute or every GC_EVERY_HEARTBEATS heartbeat periods, whichever is sooner: the
// garbage promoted between two collections grows with the number of datagrams handled, and
// V8's old space keeps the size it grew to. At fast's 25 ms heartbeat a minute is 2400
// periods, 8x lan's 300, and the old space settled 1-3 MiB higher within the first minute
// (docs/benchmarks.md, Idle cost, tenth and eleventh passes); every 300 periods (7.5 s on
// fast) it stays at lan's level. lan (200 ms) and slow (250 ms) keep one a minute.
//
// `gc` is not exposed without --expose-gc on node's command line, which the single
// executable does not have; setting the flag at run time makes V8 install `gc` in contexts
// created afterwards, so one new vm context hands it over.

import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

export const GC_EVERY_MS = 60_000;
export const GC_EVERY_HEARTBEATS = 300;

/** Interval of the periodic full GC for a heartbeat period (see above). */
export function gcIntervalMs(heartbeatMs: number): number {
  return Math.min(GC_EVERY_MS, GC_EVERY_HEARTBEATS * heartbeatMs);
}

/** The full-GC function, or null when this V8 will not give it (then V8 alone decides). */
export function fullGc(): (() => void) | null {
  try {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as unknown;
    return typeof gc === 'function' ? (gc as () => void) : null;
  } catch {
    return null;
  }
}
