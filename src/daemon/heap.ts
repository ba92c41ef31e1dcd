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
// `gc` is not exposed without --expose-gc on node's command line, which the single
// executable does not have; setting the flag at run time makes V8 install `gc` in contexts
// created afterwards, so one new vm context hands it over.

import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

export const GC_EVERY_MS = 60_000;

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
