// The protocol alone at 3 to 32 nodes, in the deterministic simulator (test/sim/world.ts): the
// same core as the daemon, profile lan, a network with 0.1–2 ms delay (5 % of packets up to
// 200 ms late, 2 % duplicated), clock drift within the configured bound, timers up to 2 ms
// late — and no CPU limit: every node runs on time. Set against bench/scale.ts (real daemons,
// all N on this one 2-core machine), it says whether a large cluster's trouble there comes
// from the protocol or from the machine.
// Per size and seed: start every daemon within 500 ms, wait for one holder; messages per node
// per second over an idle IDLE_S window; then a power cut of the holder (link down, process
// gone, addresses gone): takeover = cut -> the VIP present on another node; two holders are
// the simulator's safety check (any is a violation).
//   node --import tsx bench/scale-sim.ts           Env: NODES (3,5,9,17,32), SEEDS (20), IDLE_S (10), APART (1: the VIP away from the coordinator; writes bench/scale-sim-apart.json)
// Writes bench/scale-sim.json; bench/scale.ts puts its table into bench/scale.md.

import { writeFileSync } from 'node:fs';
import { World } from '../test/sim/world.ts';
import { simConfig } from '../test/sim/cluster-config.ts';
import { iso, stats } from './lib.ts';

const NODES = (process.env.NODES ?? '3,5,9,17,32').split(',').map(Number);
const SEEDS = Number(process.env.SEEDS ?? 20);
const IDLE_S = Number(process.env.IDLE_S ?? 10);
// APART=1: before the idle window the VIP is moved to the highest id, away from the
// coordinator (the lowest id), so two nodes ask for leases.
const APART = process.env.APART === '1';
// CPU=cores:wakeMs:rxMs:txMs: the shared-CPU model (test/sim/world.ts SimParams.cpu), e.g.
// CPU=2:0.1:0.12:0.1 for 32 daemons on the lab's two cores; writes bench/scale-sim-cpu.json.
const CPU = process.env.CPU ? (([cores, wakeMs, rxMs, txMs]) => ({ cores: cores!, wakeMs: wakeMs!, rxMs: rxMs!, txMs: txMs! }))(process.env.CPU.split(':').map(Number)) : undefined;

export interface SimScaleRow {
  n: number;
  seeds: number;
  settleMs: number[];
  takeoverMs: number[];
  noTakeover: number;
  msgsPerNodePerS: number;
  /** Messages the VIP holder and the coordinator received per second in the idle window (seed average). */
  holderRxPerS?: number;
  coordRxPerS?: number;
  idleMoves: number;
  /** Addresses lost to their kernel lifetime in the idle window (in-place re-adds), all seeds. */
  idleLapses?: number;
  /** Shared-CPU model: cores the daemons kept busy in the idle window (seed average). */
  cpuCores?: number;
  violations: string[];
}

function runOne(n: number, seed: number): { settle: number; takeover: number | null; msgs: number; holderRx: number; coordRx: number; moves: number; lapses: number; cores: number; violations: string[] } {
  const config = simConfig({ nodes: n, witness: false, resources: 1, profile: 'lan', prefers: false, migrationThreshold: 2, fencing: 'lease' });
  const world = new World({ seed, config, persistence: true, kernelLatenessMaxMs: 250, applyMaxMs: 20, timerLateMaxMs: 2, trace: false, fenceFailRate: 0, cpu: CPU });
  for (const node of world.nodes) world.at(world.rng.next() * 500, () => world.startDaemon(node));
  const r = config.resources[0]!.name;
  // Settle: one holder.
  let t = 0;
  while (world.holders(r).length !== 1 && t < 60_000) world.run((t += 10));
  const settle = t;
  if (APART) world.command(world.nodes[0]!, { op: 'move', resource: r, node: world.nodes[n - 1]!.name });
  world.run((t += 3000));
  // Idle window: messages and moves.
  const m0 = world.stats.messages;
  const lapses = () => world.nodes.reduce((a, x) => a + (x.core?.lapses ?? 0), 0);
  const l0 = lapses();
  const c0 = world.cpuBusyMs;
  const f0 = world.stats.acquires;
  const rx0 = new Map(world.sentTo);
  const holderId = world.holders(r)[0]?.id ?? 0;
  const coordId = world.nodes.find((x) => x.core?.isCoordinator())?.id ?? 0;
  world.run((t += IDLE_S * 1000));
  const msgs = (world.stats.messages - m0) / n / IDLE_S;
  const rxOf = (id: number) => ((world.sentTo.get(id) ?? 0) - (rx0.get(id) ?? 0)) / IDLE_S;
  const [holderRx, coordRx] = [rxOf(holderId), rxOf(coordId)]; // now: the power cut below sends more
  const moves = world.stats.acquires - f0;
  const idleLapses = lapses() - l0;
  const cores = (world.cpuBusyMs - c0) / (IDLE_S * 1000);
  // Power cut of the holder.
  const holder = world.holders(r)[0];
  let takeover: number | null = null;
  if (holder) {
    const cut = t;
    world.powerOff(holder);
    while (t < cut + 20_000) {
      world.run((t += 1));
      if (world.holders(r).some((x) => x !== holder)) {
        takeover = t - cut;
        break;
      }
    }
    world.run((t += 3000));
  }
  return { settle, takeover, msgs, holderRx, coordRx, moves, lapses: idleLapses, cores, violations: world.violations.map((v) => `${v.at.toFixed(0)} ms: ${v.what}`) };
}

export function simScale(): SimScaleRow[] {
  const rows: SimScaleRow[] = [];
  for (const n of NODES) {
    const row: SimScaleRow = { n, seeds: SEEDS, settleMs: [], takeoverMs: [], noTakeover: 0, msgsPerNodePerS: 0, holderRxPerS: 0, coordRxPerS: 0, idleMoves: 0, idleLapses: 0, cpuCores: 0, violations: [] };
    for (let s = 1; s <= SEEDS; s++) {
      const o = runOne(n, s * 7919 + n);
      row.settleMs.push(o.settle);
      if (o.takeover === null) row.noTakeover++;
      else row.takeoverMs.push(o.takeover);
      row.msgsPerNodePerS += o.msgs / SEEDS;
      row.holderRxPerS! += o.holderRx / SEEDS;
      row.coordRxPerS! += o.coordRx / SEEDS;
      row.idleMoves += o.moves;
      row.idleLapses! += o.lapses;
      row.cpuCores! += o.cores / SEEDS;
      row.violations.push(...o.violations);
    }
    const st = stats(row.takeoverMs);
    console.log(`N=${n}: takeover median ${st.median.toFixed(0)} ms (max ${st.max.toFixed(0)}), settle median ${stats(row.settleMs).median} ms, ${row.msgsPerNodePerS.toFixed(0)} msgs/s per node (received: holder ${row.holderRxPerS!.toFixed(0)}, coordinator ${row.coordRxPerS!.toFixed(0)}), idle moves ${row.idleMoves}, idle lapses ${row.idleLapses}${CPU ? `, CPU ${row.cpuCores!.toFixed(2)} cores` : ''}, violations ${row.violations.length}`);
    rows.push(row);
  }
  return rows;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const rows = simScale();
  // An APART run is a side measurement: it leaves the table bench/scale.ts reads alone.
  writeFileSync(CPU ? 'bench/scale-sim-cpu.json' : APART ? 'bench/scale-sim-apart.json' : 'bench/scale-sim.json', JSON.stringify({ date: iso(), seeds: SEEDS, idleS: IDLE_S, ...(CPU ? { cpu: CPU } : {}), rows }, null, 2) + '\n');
}
