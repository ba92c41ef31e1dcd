// Where each resource should run, decided by the coordinator, in Pacemaker's terms:
// score(node) = location preference + stickiness (only on the node that holds it now)
//             + INFINITY-ish for a `move` target; nodes that are offline, in standby,
// witnesses, or at/over the migration threshold for this resource are not eligible.
// Ties go to the lowest node id, so every coordinator decides the same way.

import type { ResourceConfig, NodeConfig } from '../config/types.ts';

export const MOVE_SCORE = 1_000_000;

export interface PlacementInput {
  nodes: NodeConfig[];
  online: Set<number>; // includes the coordinator itself
  standby: Set<number>;
  failCounts: Map<number, Record<string, number>>; // node id -> resource -> fail count
  holders: Map<string, number>; // resource -> node id holding it now
  moves: Map<string, number>; // resource -> node id it was moved to (pcs resource move)
  banned: Map<string, Set<number>>; // resource -> nodes that recently failed to acquire it
  defaultStickiness: number;
}

export function eligible(r: ResourceConfig, n: NodeConfig, p: PlacementInput, honourBans = true): boolean {
  if (r.targetRole === 'stopped') return false; // pcs resource disable: configured, run nowhere
  if (n.role !== 'member') return false;
  if (!p.online.has(n.id) || p.standby.has(n.id)) return false;
  if (honourBans && p.banned.get(r.name)?.has(n.id)) return false;
  const fails = p.failCounts.get(n.id)?.[r.name] ?? 0;
  return !(r.migrationThreshold > 0 && fails >= r.migrationThreshold);
}

export function score(r: ResourceConfig, n: NodeConfig, p: PlacementInput): number {
  let s = r.prefers[n.name] ?? 0;
  if (p.holders.get(r.name) === n.id) s += r.stickiness ?? p.defaultStickiness;
  if (p.moves.get(r.name) === n.id) s += MOVE_SCORE;
  return s;
}

/** The node each resource should be on (0 = nowhere eligible). */
export function place(resources: ResourceConfig[], p: PlacementInput): Map<string, number> {
  const out = new Map<string, number>();
  const sorted = [...p.nodes].sort((a, b) => a.id - b.id);
  for (const r of resources) {
    // A node that recently failed to acquire is passed over, unless it is the only choice.
    let best = 0;
    for (const honourBans of [true, false]) {
      let bestScore = -Infinity;
      for (const n of sorted) {
        if (!eligible(r, n, p, honourBans)) continue;
        const s = score(r, n, p);
        if (s > bestScore) {
          best = n.id;
          bestScore = s;
        }
      }
      if (best) break;
    }
    out.set(r.name, best);
  }
  return out;
}
