// Entry point of the bundled binary (dist/piha) and of the single executable.
//
// V8 and libuv settings for a small always-on daemon are applied here, before the rest of
// the program is even loaded (main.ts is imported dynamically below, so none of its modules
// has run yet). Node's own command line cannot carry them: the single executable has none,
// and NODE_OPTIONS refuses most V8 flags. Only flags that V8 reads afresh at every use work
// this way, and only those are safe to change once V8 runs (--single-threaded-gc set here
// crashed V8 at its next incremental marking, "Check failed: concurrent_marking_handle_").
// bench/idle.ts measures each choice (docs/benchmarks.md, "Idle cost"):
//   --semi-space-growth-factor=1  the young generation stays at its initial 1 MiB semi-space
//                                 instead of growing to 8-16 MiB under the steady trickle of
//                                 short-lived heartbeat objects (read whenever V8 considers
//                                 growing it);
//   --no-parallel-scavenge        a young-generation GC with a few KiB of survivors runs on
//                                 the main thread instead of waking every V8 worker thread
//                                 (read at every scavenge);
//   --no-opt                      no TurboFan: at a few dozen packets a second nothing is hot
//                                 enough to repay optimising it, and its compiles, code and
//                                 deoptimisations cost more CPU and memory than they save
//                                 (Ignition + Sparkplug only).
// UV_THREADPOOL_SIZE=1: libuv starts its pool lazily, at the first fs/dns/crypto job, and
// the daemon never needs two of those at once (3 idle threads fewer).
// PIHA_V8_FLAGS replaces the V8 flags ('' = none), for measurements.
import { setFlagsFromString } from 'node:v8';

export const DAEMON_V8_FLAGS = '--semi-space-growth-factor=1 --no-parallel-scavenge --no-opt';

const flags = process.env.PIHA_V8_FLAGS ?? DAEMON_V8_FLAGS;
if (flags.trim()) setFlagsFromString(flags);
process.env.UV_THREADPOOL_SIZE ??= '1';

void import('./main.ts').then(({ cli }) => cli(process.argv.slice(2)));
