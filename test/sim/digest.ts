// A fingerprint of the simulator's behaviour: SHA-256 over every trace line and the stats of
// seeds [from, from + count), and (unless `big` is false) over a 17- and a 32-node cluster's
// power cut of the holder. For changes that must not change behaviour (a memo, a data
// structure, fewer allocations): run it before and after; equal digests mean every node did
// the same thing at the same simulated time in every one of those runs. (Session 12 checked
// its core and lease-tracker changes this way: docs/benchmarks.md, Scale and idle cost.)
//   node --import tsx test/sim/digest.ts [--from 1] [--seeds 400] [--no-big]
import { createHash } from 'node:crypto';
import { simulate } from './scenario.ts';
import { World } from './world.ts';
import { simConfig } from './cluster-config.ts';

export function traceDigest(from: number, count: number, big = true): { digest: string; lines: number } {
  const h = createHash('sha256');
  let lines = 0;
  for (let s = from; s < from + count; s++) {
    const { lines: trace, ...rest } = simulate(s, { trace: true });
    for (const l of trace) h.update(l + '\n');
    h.update(JSON.stringify(rest));
    lines += trace.length;
  }
  for (const size of big ? [17, 32] : []) {
    const config = simConfig({ nodes: size, witness: false, resources: 1, profile: 'lan', prefers: false, migrationThreshold: 2, fencing: 'lease' });
    const world = new World({ seed: 5, config, persistence: true, kernelLatenessMaxMs: 250, applyMaxMs: 20, timerLateMaxMs: 2, trace: true, fenceFailRate: 0 });
    for (const node of world.nodes) world.at(world.rng.next() * 500, () => world.startDaemon(node));
    world.run(15_000);
    const holder = world.holders(config.resources[0]!.name)[0];
    if (holder) world.powerOff(holder);
    world.run(25_000);
    for (const l of world.lines) h.update(l + '\n');
    h.update(JSON.stringify(world.stats));
    lines += world.lines.length;
  }
  return { digest: h.digest('hex').slice(0, 16), lines };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = process.argv.slice(2);
  const opt = (name: string, dflt: string) => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 ? args[i + 1]! : dflt;
  };
  const from = Number(opt('from', '1'));
  const count = Number(opt('seeds', '400'));
  const big = !args.includes('--no-big');
  const r = traceDigest(from, count, big);
  console.log(`seeds ${from}..${from + count - 1}${big ? ' + 17/32-node cuts' : ''}: ${r.lines} trace lines, digest ${r.digest}`);
}
