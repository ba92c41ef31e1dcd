// V8's optimising compiler, chosen by cluster size once the configuration is known.
//
// src/cli-entry.ts starts every daemon with --no-opt: in a small cluster nothing runs often
// enough to repay TurboFan, whose compiles and code cost more than they save (3 nodes, paired
// idle runs: with it the holder used +0.1 % of a core and every daemon +6-8 MiB RSS, which
// breaks the 60 MB budget). But a node handles ~10·(N−1) heartbeats a second, and in big
// clusters the same few functions (decode, MAC, validate, the core's step) run hundreds of
// times a second: at 32 nodes on the lab, the daemons used 0.77-0.89 cores of user time
// with TurboFan against 1.16 without (/proc user time over 20 s, one scratch run each; not
// a bench: bench/scale.md has the daemons' total with it on). From TURBOFAN_FROM_NODES on it is
// switched on at start; V8 reads the flag at every tiering decision, so this works at run
// time (checked: a hot loop ran 8x faster right after the switch). The threshold sits
// between the sizes measured (3: off is better; 32: on is better); 9 and 17 were not
// compared.

import { setFlagsFromString } from 'node:v8';

export const TURBOFAN_FROM_NODES = 12;

/** Switches TurboFan on for a cluster of `nodes` nodes; false when it stays off. */
export function tuneV8ForCluster(nodes: number, env: NodeJS.ProcessEnv = process.env, set: (flags: string) => void = setFlagsFromString): boolean {
  // PIHA_V8_FLAGS set by hand (measurements) means exactly those flags.
  if (env.PIHA_V8_FLAGS !== undefined) return false;
  if (nodes < TURBOFAN_FROM_NODES) return false;
  set('--opt');
  return true;
}
