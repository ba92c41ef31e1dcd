// One seeded scenario: a cluster shape and a random fault schedule drawn from the seed, then
// everything healed and a settle period, then the liveness checks. `simulate(seed)` is a pure
// function of the seed (and options), so any failure replays exactly:
//   node --import tsx test/sim/run.ts --seed N --trace

import { Rng } from '../../src/core/rng.ts';
import { DEFAULTS } from '../../src/config/schema.ts';
import { World, type SimNode } from './world.ts';
import { simConfig, type SimClusterShape } from './cluster-config.ts';

export interface SimOptions {
  faultMs?: number;
  settleMs?: number;
  trace?: boolean;
  shape?: Partial<SimClusterShape>;
  /** fault kinds to leave out (e.g. the fast profile does not cover 'freeze' and 'kill') */
  without?: string[];
}

export interface SimResult {
  seed: number;
  ok: boolean;
  violations: string[];
  shape: SimClusterShape;
  faults: string[];
  lines: string[];
  stats: World['stats'];
}

const FAULTS = ['partition', 'peer-only', 'one-way', 'heal', 'loss', 'power', 'kill', 'freeze', 'standby', 'move', 'cleanup', 'monitor', 'hang', 'config', 'config'] as const;

export function drawShape(rng: Rng, over: Partial<SimClusterShape> = {}): SimClusterShape {
  const r = rng.next();
  // Mostly the homelab sizes; now and then one node alone, or a big cluster up to 32.
  const nodes = r < 0.005 ? 1 : r < 0.45 ? 3 : r < 0.75 ? 5 : r < 0.85 ? 4 : r < 0.95 ? 2 : r < 0.99 ? rng.int(6, 9) : rng.int(10, 32);
  return {
    nodes,
    witness: nodes >= 3 && rng.chance(0.25),
    resources: rng.int(1, 3),
    profile: rng.chance(0.85) ? 'lan' : 'slow',
    twoNode: nodes === 2,
    prefers: rng.chance(0.5),
    migrationThreshold: rng.int(0, 3),
    failureTimeoutMs: rng.chance(0.5) ? 0 : 5000,
    stickiness: rng.pick([0, 60, 100]),
    fencing: rng.pick(['lease', 'lease', 'lease', 'watchdog', 'device', 'device', 'both'] as const),
    watchdogMs: rng.int(1, 3) * 1000,
    ...over,
  };
}

/**
 * Colocation constraints for a shape with several VIPs, from their own generator so the rest of
 * a seed's scenario is unchanged by them: each VIP may follow (INFINITY), avoid (-INFINITY) or
 * lean towards/away from (±300) a VIP listed before it, so there is never a cycle.
 */
export function drawColocations(seed: number, resources: number): NonNullable<SimClusterShape['colocations']> {
  const rng = new Rng(seed * 40503 + 7);
  const out: NonNullable<SimClusterShape['colocations']> = [];
  if (resources < 2 || !rng.chance(0.5)) return out;
  for (let from = 1; from < resources; from++) {
    if (!rng.chance(0.7)) continue;
    out.push({ from, with: rng.int(0, from - 1), score: rng.pick([1_000_000, -1_000_000, 300, -300]) });
  }
  return out;
}

export function simulate(seed: number, o: SimOptions = {}): SimResult {
  const rng = new Rng(seed * 2654435761);
  const drawn = drawShape(rng, o.shape);
  const shape: SimClusterShape = { ...drawn, colocations: o.shape?.colocations ?? drawColocations(seed, drawn.resources) };
  const config = simConfig(shape);
  const world = new World({
    seed,
    config,
    persistence: rng.chance(0.5),
    kernelLatenessMaxMs: 250,
    applyMaxMs: 20,
    timerLateMaxMs: 2,
    trace: !!o.trace,
    fenceFailRate: rng.pick([0, 0, 0.3, 1]),
  });
  const faultMs = o.faultMs ?? 20_000;
  const settleMs = o.settleMs ?? (shape.profile === 'slow' ? 14_000 : 7_000);
  // A hung kernel keeps its addresses: only a fence or the watchdog covers it, not leases.
  // Device-only fencing keeps its promises in the state directory: a node restarted without it
  // (a new SD card) forgets them, so hung kernels are only drawn where that cannot happen.
  const kinds = FAULTS.filter(
    (k) => !o.without?.includes(k) && !(k === 'hang' && (shape.fencing === 'lease' || (shape.fencing === 'device' && !world.p.persistence))),
  );
  const faults: string[] = [];
  const nodes = world.nodes;
  const pickNode = () => rng.pick(nodes);
  const res = config.resources.map((r) => r.name);

  for (const n of nodes) world.at(rng.next() * 500, () => world.startDaemon(n));

  // Draw the whole fault schedule up front from the seed.
  let t = 1500;
  while (t < faultMs) {
    t += rng.int(150, 2500);
    if (t >= faultMs) break;
    const kind = rng.pick(kinds);
    const at = t;
    const n = pickNode();
    const dur = rng.int(200, 6000);
    faults.push(`${at} ${kind} ${n.name} ${dur}`);
    world.at(at, () => {
      world.trace(`FAULT ${kind} ${n.name} ${dur}ms`);
      switch (kind) {
        case 'partition': {
          const side = new Set(nodes.filter(() => rng.chance(0.5)).map((x) => x.id));
          for (const a of nodes) for (const b of nodes) if (side.has(a.id) !== side.has(b.id)) world.net.blocked.add(`${a.id}>${b.id}`);
          break;
        }
        case 'peer-only': {
          // Cut the node holding a VIP (if any) from its peers; the LAN still reaches it.
          const h = world.holders(rng.pick(res))[0] ?? n;
          for (const b of nodes) if (b !== h) world.net.blocked.add(`${h.id}>${b.id}`).add(`${b.id}>${h.id}`);
          break;
        }
        case 'one-way':
          world.net.blocked.add(`${n.id}>${pickNode().id}`);
          break;
        case 'heal':
          world.net.blocked.clear();
          world.net.loss = 0;
          break;
        case 'loss':
          world.net.loss = rng.pick([0.05, 0.2, 0.4]);
          world.at(at + dur, () => (world.net.loss = 0));
          break;
        case 'power': {
          const victim = rng.chance(0.6) ? (world.holders(rng.pick(res))[0] ?? n) : n;
          world.powerOff(victim);
          world.at(at + dur, () => world.powerOn(victim));
          break;
        }
        case 'kill': {
          const victim = rng.chance(0.6) ? (world.holders(rng.pick(res))[0] ?? n) : n;
          world.killDaemon(victim);
          world.at(at + rng.int(100, 3000), () => world.startDaemon(victim));
          break;
        }
        case 'hang': {
          const victim = rng.chance(0.7) ? (world.holders(rng.pick(res))[0] ?? n) : n;
          world.hang(victim);
          world.at(at + dur, () => world.unhang(victim));
          break;
        }
        case 'freeze': {
          const victim = rng.chance(0.6) ? (world.holders(rng.pick(res))[0] ?? n) : n;
          world.freeze(victim);
          world.at(at + dur, () => world.thaw(victim));
          break;
        }
        case 'standby':
          world.command(pickNode(), { op: 'standby', node: n.name, on: true });
          world.at(at + dur, () => world.command(pickNode(), { op: 'standby', node: n.name, on: false }));
          break;
        case 'move':
          world.command(pickNode(), { op: 'move', resource: rng.pick(res), node: n.name });
          world.at(at + dur, () => world.command(pickNode(), { op: 'clear', resource: rng.pick(res) }));
          break;
        case 'cleanup':
          world.command(pickNode(), { op: 'cleanup', resource: rng.pick(res) });
          break;
        case 'config': {
          // A configuration change from any node: create, update or delete a resource, or a default.
          const k = rng.int(0, 3);
          const extra = `cfg${rng.int(0, 2)}`;
          const change =
            k === 0
              ? { op: 'create', resource: { name: extra, ip: `192.0.2.${200 + Number(extra.slice(3))}`, cidr_netmask: 32 } }
              : k === 1
                ? { op: 'delete', name: rng.chance(0.7) ? extra : rng.pick(res) }
                : k === 2
                  ? { op: 'update', name: rng.pick(res), set: { resource_stickiness: rng.pick([0, 50, 200]) } }
                  : { op: 'defaults', set: { resource_stickiness: rng.pick([0, 60, 100]) } };
          world.command(n, { op: 'config', change: JSON.stringify(change) });
          break;
        }
        case 'monitor': {
          const r = rng.pick(res);
          const h = world.holders(r)[0];
          if (h) world.monitorFailure(h, r);
          break;
        }
      }
    });
  }

  // Heal everything, then let the cluster settle.
  world.at(faultMs, () => {
    world.trace('HEAL ALL');
    world.net.blocked.clear();
    world.net.loss = 0;
    for (const n of nodes) {
      if (!n.power) world.powerOn(n);
      else if (n.hung) world.unhang(n);
      else if (n.daemon === 'frozen') world.thaw(n);
      else if (n.daemon === 'dead') world.startDaemon(n);
    }
  });
  world.run(faultMs + settleMs);
  let live = checkLiveness(world);
  if (live.length) {
    // A placement change that began just before the end (a ban or a failure timeout ran
    // out) is legitimate: give it one takeover bound more, then it must hold.
    world.run(faultMs + settleMs + 4000);
    live = checkLiveness(world);
  }
  const violations = world.violations.map((v) => `t=${v.at.toFixed(1)} ${v.what}`);
  violations.push(...live);
  return { seed, ok: violations.length === 0, violations, shape, faults, lines: world.lines, stats: world.stats };
}

/** After healing: one coordinator everyone agrees on; each VIP held by its assigned node. */
function checkLiveness(world: World): string[] {
  const out: string[] = [];
  const t = world.t;
  const running = world.nodes.filter((n) => n.core && n.daemon === 'running');
  const statuses = running.map((n) => ({ n, s: n.core!.status(world.local(n)) }));
  const coords = new Set(statuses.map(({ s }) => s.coordinator?.id ?? 0));
  if (coords.size !== 1 || coords.has(0)) {
    out.push(`after settling: no agreed coordinator (${statuses.map(({ n, s }) => `${n.name}:${s.coordinator?.name ?? '-'}`).join(' ')})`);
    return out;
  }
  const attrs = new Set(statuses.map(({ s }) => JSON.stringify(Object.entries(s.attrs).sort())));
  if (attrs.size !== 1) out.push('after settling: cluster attributes did not converge');
  const configs = new Set(statuses.map(({ s }) => `${s.config.epoch}/${s.config.term}/${s.config.digest}`));
  if (configs.size !== 1) out.push(`after settling: cluster configurations differ (${statuses.map(({ n, s }) => `${n.name}:${s.config.epoch}/${s.config.term}`).join(' ')})`);
  const maxCommitted = Math.max(0, ...world.committedByEpoch.keys());
  const agreed = statuses[0]?.s.config.epoch ?? 0;
  if (world.p.persistence && agreed < maxCommitted) out.push(`after settling: epoch ${maxCommitted} was committed but the cluster is at ${agreed} (a committed change was lost)`);
  const coordNode = statuses.find(({ n }) => n.id === [...coords][0]);
  if (!coordNode) {
    const id = [...coords][0];
    const n = world.nodes.find((x) => x.id === id);
    out.push(`after settling: every running node follows coordinator ${n?.name ?? id}, which is not running (${n ? `power ${n.power ? 'on' : 'off'}, daemon ${n.daemon}` : 'unknown'})`);
    return out;
  }
  const coordStatus = coordNode.s;
  // The constraints in force (run-time config changes may have deleted a VIP and its constraints).
  const doc = coordNode.n.core!.clusterConfig().doc;
  const assigned = new Map(coordStatus.resources.map((r) => [r.name, r.assignedTo]));
  // May `name` run on `node` given where the VIPs it must follow or avoid are assigned?
  const colocationAllows = (name: string, node: string) =>
    (doc.resources.find((x) => x.name === name)?.colocation ?? []).every((c) =>
      c.score >= 1_000_000 ? assigned.get(c.with) === node : c.score <= -1_000_000 ? assigned.get(c.with) !== node : true,
    );
  for (const r of doc.resources) {
    for (const c of r.colocation ?? []) {
      const a = assigned.get(r.name) ?? null;
      const b = assigned.get(c.with) ?? null;
      if (c.score >= 1_000_000) {
        if (a !== null && a !== b) out.push(`after settling: ${r.name} must run with ${c.with} but is assigned to ${a}, ${c.with} to ${b ?? 'nowhere'}`);
      } else if (c.score <= -1_000_000) {
        if (a !== null && a === b) out.push(`after settling: ${r.name} must never share a node with ${c.with} but both are assigned to ${a}`);
      }
    }
  }
  for (const r of coordStatus.resources) {
    const holders = world.holders(r.name);
    const names = holders.map((h: SimNode) => h.name).join(',');
    if (r.assignedTo === null) {
      const eligible = coordStatus.nodes.some((node) => {
        const cfg = world.p.config.nodes.find((c) => c.name === node.name)!;
        const fc = r.failCounts[node.name] ?? 0;
        // Resources created at run time (config faults) have the file's default threshold.
        const thr = world.p.config.resources.find((x) => x.name === r.name)?.migrationThreshold ?? DEFAULTS.migrationThreshold;
        return cfg.role === 'member' && node.state === 'online' && !(thr > 0 && fc >= thr) && colocationAllows(r.name, node.name);
      });
      if (eligible) out.push(`after settling: ${r.name} is assigned nowhere although a node is eligible`);
      if (holders.length) out.push(`after settling: ${r.name} is held by ${names} but assigned nowhere`);
      continue;
    }
    if (holders.length !== 1 || holders[0].name !== r.assignedTo) {
      out.push(`after settling (t=${t.toFixed(0)}): ${r.name} assigned to ${r.assignedTo} but held by [${names}]`);
    }
  }
  return out;
}
