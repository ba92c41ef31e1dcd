// Where each resource should run, decided by the coordinator, in Pacemaker's terms:
// score(node) = location preference + stickiness (only on the node that holds it now)
//             + INFINITY-ish for a `move` target; nodes that are offline, in standby,
// witnesses, or at/over the migration threshold for this resource are not eligible.
// Colocation constraints (with / not_with) add scores or, at ±INFINITY, forbid nodes.
// Ties go to the least loaded node (VIPs spread), then (in large clusters) to a node other than
// the coordinator, then the lowest node id: the same input always gives the same placement.

import type { ResourceConfig, NodeConfig } from '../config/types.ts';
import { INFINITY_SCORE } from '../config/schema.ts';

export const MOVE_SCORE = INFINITY_SCORE;

export interface PlacementInput {
  nodes: NodeConfig[];
  online: Set<number>; // includes the coordinator itself
  standby: Set<number>;
  failCounts: Map<number, Record<string, number>>; // node id -> resource -> fail count
  holders: Map<string, number>; // resource -> node id holding it now
  moves: Map<string, number>; // resource -> node id it was moved to (pcs resource move)
  banned: Map<string, Set<number>>; // resource -> nodes that recently failed to acquire it
  defaultStickiness: number;
  /**
   * A node passed over on a tie after load (0: none): the coordinator, from
   * ROLES_APART_FROM_NODES nodes (core/node.ts), so the death of a VIP's holder does not
   * also need an election before the VIP can move.
   */
  avoid?: number;
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

/**
 * The order resources are placed in: a resource after the ones its colocations name (as
 * Pacemaker places the "with" target first), otherwise in configuration order. The file's
 * validation rejects cycles; should one reach here anyway, its members keep file order.
 */
export function placementOrder(resources: ResourceConfig[]): ResourceConfig[] {
  const byName = new Map(resources.map((r) => [r.name, r]));
  const out: ResourceConfig[] = [];
  const state = new Map<string, 'open' | 'done'>();
  const visit = (r: ResourceConfig) => {
    if (state.has(r.name)) return; // done, or open (a cycle): leave it where it is
    state.set(r.name, 'open');
    for (const c of r.colocation ?? []) {
      const dep = byName.get(c.with);
      if (dep) visit(dep);
    }
    state.set(r.name, 'done');
    out.push(r);
  };
  resources.forEach(visit);
  return out;
}

function lexLess(a: number[], b: number[]): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i]! < b[i]!;
  return false;
}

/** Mandatory colocations (score ±INFINITY) against where the named resources were placed. */
function colocationAllows(r: ResourceConfig, n: NodeConfig, placed: Map<string, number>): boolean {
  for (const c of r.colocation ?? []) {
    const there = placed.get(c.with) ?? 0;
    if (c.score >= INFINITY_SCORE && there !== n.id) return false; // with: only where it runs (nowhere if it is stopped)
    if (c.score <= -INFINITY_SCORE && there === n.id) return false; // not_with: never where it runs
  }
  return true;
}

/** Finite colocation scores: added on the node where the named resource was placed. */
function colocationScore(r: ResourceConfig, n: NodeConfig, placed: Map<string, number>): number {
  let s = 0;
  for (const c of r.colocation ?? []) {
    if (Math.abs(c.score) < INFINITY_SCORE && placed.get(c.with) === n.id) s += c.score;
  }
  return s;
}

/**
 * The node each resource should be on (0 = nowhere eligible).
 *
 * Equal scores are broken by load, so VIPs spread across the nodes by default (as Pacemaker's
 * default placement does): a node's load is the resources already placed on it in this pass.
 * Only this pass: counting where resources are held now would feed the outcome back into its
 * input, and with stickiness 0 the coordinator would flap a VIP between two nodes (the
 * simulator found it); the current holder counts through stickiness alone. Before load come
 * the moves a choice would force on VIPs that must follow or avoid this one (forcedMoves).
 * Then, if `avoid` names one, a node other than that one (see PlacementInput). Then by lowest
 * node id, so the same input always gives the same placement.
 */
export function place(resources: ResourceConfig[], p: PlacementInput): Map<string, number> {
  const out = new Map<string, number>();
  const sorted = [...p.nodes].sort((a, b) => a.id - b.id);
  const order = placementOrder(resources);
  const load = new Map<number, number>();
  // Who follows or avoids each resource with a mandatory constraint (for forcedMoves).
  const dependents = new Map<string, { r: ResourceConfig; score: number }[]>();
  for (const d of resources) {
    for (const c of d.colocation ?? []) {
      if (Math.abs(c.score) < INFINITY_SCORE) continue;
      const list = dependents.get(c.with) ?? [];
      list.push({ r: d, score: c.score });
      dependents.set(c.with, list);
    }
  }
  // Held VIPs with stickiness that placing r on n would force off their node: a VIP that must
  // avoid r and is held on n, or one that must follow r and is held elsewhere. Fewer is better
  // among equal scores, so a failover moves only what it must. Stickiness 0 does not count
  // (as above: no feedback from where things are held when nothing wants to stay).
  const forcedMoves = (r: ResourceConfig, n: NodeConfig) => {
    let k = 0;
    for (const { r: d, score } of dependents.get(r.name) ?? []) {
      const at = p.holders.get(d.name);
      if (!at || (d.stickiness ?? p.defaultStickiness) <= 0) continue;
      if (score < 0 ? at === n.id : at !== n.id) k++;
    }
    return k;
  };
  for (const r of order) {
    // A node that recently failed to acquire is passed over, unless it is the only choice.
    let best = 0;
    for (const honourBans of [true, false]) {
      let bestKey: number[] | null = null;
      for (const n of sorted) {
        if (!eligible(r, n, p, honourBans) || !colocationAllows(r, n, out)) continue;
        // Highest score, then fewest forced moves, then least load, then not the node to avoid;
        // sorted: lowest id on a tie.
        const key = [-(score(r, n, p) + colocationScore(r, n, out)), forcedMoves(r, n), load.get(n.id) ?? 0, p.avoid === n.id ? 1 : 0];
        if (!bestKey || lexLess(key, bestKey)) {
          best = n.id;
          bestKey = key;
        }
      }
      if (best) break;
    }
    out.set(r.name, best);
    if (best) load.set(best, (load.get(best) ?? 0) + 1);
  }
  return out;
}
