// The resources: list and defaults: section, and the rules linking resources to nodes.

import type { Issues } from './errors.ts';
import { readChecks } from './checks.ts';
import { formatDuration } from './duration.ts';
import { canonicalIP, checkIP, checkName, ipFamily } from './formats.ts';
import type { NodeDraft } from './nodes.ts';
import { indexPath, keyPath } from './path.ts';
import { describe, isMapping, Section } from './read.ts';
import { DEFAULTS, DEFAULTS_KEYS, INFINITY_SCORE, RESOURCE_KEYS, RESOURCE_TYPES } from './schema.ts';
import { closest } from './suggest.ts';
import type { ColocationConfig, ResourceConfig } from './types.ts';

export type ResourceDraft = Partial<ResourceConfig> | null;

export function readDefaults(issues: Issues, raw: unknown): { resourceStickiness: number } {
  if (raw === undefined) return { resourceStickiness: DEFAULTS.resourceStickiness };
  const s = Section.open(issues, raw, 'defaults', 'defaults:', DEFAULTS_KEYS);
  const v = s?.int('resource_stickiness', { example: 'resource_stickiness: 100' });
  return { resourceStickiness: v ?? DEFAULTS.resourceStickiness };
}

export function readResources(issues: Issues, raw: unknown): ResourceDraft[] {
  if (raw === undefined) return [];
  if (!Array.isArray(raw)) {
    issues.add('resources', `must be a list of resources (lines starting with -, each with at least name: and ip:), not ${describe(raw)}`);
    return [];
  }
  const drafts = raw.map((item, i) => readResource(issues, item, indexPath('resources', i)));
  checkUnique(issues, drafts);
  checkColocations(issues, drafts);
  return drafts;
}

function readResource(issues: Issues, raw: unknown, path: string): ResourceDraft {
  const s = Section.open(issues, raw, path, 'this resource', RESOURCE_KEYS);
  if (!s) return null;
  const r: Partial<ResourceConfig> = {
    name: s.string('name', { required: true, example: 'name: kubernetes_api', check: (v) => checkName(v, 'kubernetes_api') }),
    type: s.oneOf('type', RESOURCE_TYPES, { example: 'type: vip', what: 'resource type' }) ?? 'vip',
    ...readIpAndPrefix(s),
    monitorIntervalMs: s.duration('monitor_interval', { example: 'monitor_interval: 5s' }) ?? DEFAULTS.monitorIntervalMs,
    migrationThreshold:
      s.int('migration_threshold', { example: 'migration_threshold: 3', min: 0, what: 'a non-negative whole number (0 = never move because of failures)' }) ??
      DEFAULTS.migrationThreshold,
    failureTimeoutMs: s.duration('failure_timeout', { example: 'failure_timeout: 60s', min: 0 }) ?? DEFAULTS.failureTimeoutMs,
    garpRefreshMs: readGarpRefresh(s),
    prefers: readPrefers(s),
    checks: readChecks(issues, s.nested('checks'), s.pathOf('checks')),
  };
  const stickiness = s.int('resource_stickiness', { example: 'resource_stickiness: 100' });
  if (stickiness !== undefined) r.stickiness = stickiness;
  const role = s.oneOf('target_role', ['started', 'stopped'] as const, { example: 'target_role: stopped', what: 'target role' });
  if (role === 'stopped') r.targetRole = 'stopped';
  const colocation = [...readColocation(s, 'with', 1), ...readColocation(s, 'not_with', -1)];
  if (colocation.length) r.colocation = colocation;
  return r;
}

/**
 * `garp_refresh:` the period of the held VIP's re-announcements (garp.ts), as keepalived's
 * vrrp_garp_master_refresh: 0 = none, else at least 1 s, because each announcement starts
 * processes (arping -U and -A, or na6, and the conflict probe when it is on).
 */
function readGarpRefresh(s: Section): number {
  const ms = s.duration('garp_refresh', { example: 'garp_refresh: 30s', min: 0 });
  if (ms === undefined) return DEFAULTS.garpRefreshMs;
  if (ms > 0 && ms < 1000) {
    s.issues.add(
      s.pathOf('garp_refresh'),
      `must be 0 for none, or 1s or more, not ${formatDuration(ms)} (each announcement starts arping or na6 processes, and a conflict probe)`,
    );
  }
  return ms;
}

/**
 * `ip:` (IPv4, or IPv6 stored in canonical form, so the unique-IP check and the comparison
 * with the kernel's addresses see one spelling) and `cidr_netmask:` (0-32 for IPv4, 0-128
 * for IPv6). Defaults: 32 for IPv4, 128 for IPv6 (DEFAULTS), as keepalived does for a
 * virtual_ipaddress without a prefix: the VIP is one address, the node's own address on the
 * LAN provides the on-link route. (IPaddr2 would take the prefix of the matching route.)
 */
function readIpAndPrefix(s: Section): Pick<ResourceConfig, 'ip' | 'cidrNetmask'> {
  const raw = s.string('ip', { required: true, example: 'ip: 192.168.0.150', check: (v) => checkIP(v, '192.168.0.150') });
  const ip = raw === undefined ? undefined : canonicalIP(raw);
  const v6 = ip !== undefined && ipFamily(ip) === 6;
  const max = v6 ? 128 : 32;
  const what = v6 ? 'a prefix length 0-128 for an IPv6 address' : 'a prefix length 0-32';
  const cidr = s.int('cidr_netmask', { example: `cidr_netmask: ${v6 ? 128 : 32}`, min: 0, max, what });
  return { ip: ip as string, cidrNetmask: cidr ?? (v6 ? DEFAULTS.cidrNetmask6 : DEFAULTS.cidrNetmask) };
}

/**
 * `with:` / `not_with:` (pcs constraint colocation add THIS with OTHER [SCORE]). Three forms:
 *   with: api                 must run on api's node          (score INFINITY)
 *   not_with: [api, dns]      must never share a node with them (score -INFINITY)
 *   not_with: { api: 500 }    rather not (score -500); INFINITY may be written as a score
 * Names are checked against the other resources in checkColocations.
 */
function readColocation(s: Section, key: 'with' | 'not_with', sign: 1 | -1): ColocationConfig[] {
  const raw = s.nested(key);
  if (raw === undefined) return [];
  const path = s.pathOf(key);
  const verb = key === 'with' ? 'with: api' : 'not_with: api';
  const out: ColocationConfig[] = [];
  const addName = (v: unknown, at: string, score: number) => {
    if (typeof v !== 'string' || v.length === 0) s.issues.add(at, `must be a resource name, like ${verb}, not ${describe(v)}`);
    else out.push({ with: v, score: sign * score });
  };
  if (typeof raw === 'string') addName(raw, path, INFINITY_SCORE);
  else if (Array.isArray(raw)) raw.forEach((v, i) => addName(v, indexPath(path, i), INFINITY_SCORE));
  else if (isMapping(raw)) {
    for (const [name, v] of Object.entries(raw)) {
      const score = parseScore(v);
      if (score === null) {
        s.issues.add(
          keyPath(path, name),
          `the score must be a whole number from 1 to ${INFINITY_SCORE} or INFINITY (${key === 'with' ? 'how much to prefer' : 'how much to avoid'} ${name}'s node), not ${describe(v)}`,
        );
      } else addName(name, keyPath(path, name), score);
    }
  } else {
    s.issues.add(path, `must be a resource name, a list of names or a mapping of name: score, like ${verb} or ${key}: { api: 500 }, not ${describe(raw)}`);
  }
  return out;
}

function parseScore(v: unknown): number | null {
  if (typeof v === 'string' && /^\+?(INFINITY|inf)$/i.test(v.trim())) return INFINITY_SCORE;
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 1 && v <= INFINITY_SCORE) return v;
  return null;
}

/** Colocations name other resources, never themselves, never both with and not_with the same
 *  one, and form no cycle (piha places the resource a constraint points at first). */
function checkColocations(issues: Issues, drafts: ResourceDraft[]): void {
  const names = drafts.map((r) => r?.name).filter((n): n is string => typeof n === 'string');
  const byName = new Map<string, number>();
  drafts.forEach((r, i) => r?.name !== undefined && !byName.has(r.name) && byName.set(r.name, i));
  const edges = new Map<string, string[]>();
  drafts.forEach((r, i) => {
    if (!r?.colocation || r.name === undefined) return;
    const path = indexPath('resources', i);
    const seen = new Map<string, number>();
    const good: string[] = [];
    for (const c of r.colocation) {
      const key = c.score > 0 ? 'with' : 'not_with';
      const at = keyPath(path, key);
      if (c.with === r.name) {
        issues.add(at, `${r.name} cannot be colocated with itself`);
      } else if (!byName.has(c.with)) {
        const guess = closest(c.with, names);
        issues.add(at, `no resource named ${JSON.stringify(c.with)}${guess ? ` (did you mean ${guess}?)` : names.length > 1 ? ` (resources are: ${names.join(', ')})` : ''}`);
      } else if (seen.has(c.with)) {
        issues.add(at, `${c.with} is named twice in with:/not_with: of ${r.name}; keep one (a resource is either kept with another or kept apart)`);
      } else {
        seen.set(c.with, c.score);
        good.push(c.with);
      }
    }
    edges.set(r.name, good);
  });
  // A cycle (a with b, b not_with a) has no order to place in: report it once, at its first member.
  const state = new Map<string, 'open' | 'done'>();
  const reported = new Set<string>();
  const visit = (n: string, stack: string[]): void => {
    if (state.get(n) === 'done') return;
    if (state.get(n) === 'open') {
      const cycle = stack.slice(stack.indexOf(n));
      const first = cycle[0]!;
      if (!reported.has(first)) {
        cycle.forEach((x) => reported.add(x));
        issues.add(
          keyPath(indexPath('resources', byName.get(first)!), 'with'),
          `colocation cycle ${[...cycle, n].join(' -> ')}: piha places the resource a constraint names first, so one direction is enough; remove the constraint from one of them`,
        );
      }
      return;
    }
    state.set(n, 'open');
    for (const m of edges.get(n) ?? []) visit(m, [...stack, n]);
    state.set(n, 'done');
  };
  for (const n of edges.keys()) visit(n, []);
}

/** Location scores: node name -> integer (negative = avoid). Names are checked later
 *  against the nodes, in checkAgainstNodes. */
function readPrefers(s: Section): Record<string, number> {
  const raw = s.nested('prefers');
  const out: Record<string, number> = {};
  if (raw === undefined) return out;
  const path = s.pathOf('prefers');
  if (!isMapping(raw)) {
    s.issues.add(path, `must be a mapping of node name: score, like prefers: { worker0: 50 }, not ${describe(raw)}`);
    return out;
  }
  for (const [name, score] of Object.entries(raw)) {
    if (typeof score === 'number' && Number.isSafeInteger(score)) {
      out[name] = score;
    } else {
      s.issues.add(keyPath(path, name), `the score must be a whole number (negative to avoid the node), not ${describe(score)}`);
    }
  }
  return out;
}

function checkUnique(issues: Issues, drafts: ResourceDraft[]): void {
  const fields = [
    ['name', 'resource names must be unique'],
    ['ip', 'two resources cannot share one virtual IP'],
  ] as const;
  for (const [field, why] of fields) {
    const seen = new Map<string, number>();
    drafts.forEach((r, i) => {
      const v = r?.[field];
      if (v === undefined) return;
      const first = seen.get(v);
      if (first === undefined) seen.set(v, i);
      else issues.add(`resources[${i}].${field}`, `${JSON.stringify(v)} is already used by resources[${first}] (${why})`);
    });
  }
}

/** Rules between resources and nodes: VIPs are not node addresses, prefers names real
 *  member nodes, and somebody can hold the resources. */
export function checkAgainstNodes(issues: Issues, resources: ResourceDraft[], nodes: NodeDraft[]): void {
  const byAddr = new Map<string, number>();
  const byName = new Map<string, NonNullable<NodeDraft>>();
  nodes.forEach((n, i) => {
    if (n?.addr !== undefined && !byAddr.has(n.addr)) byAddr.set(n.addr, i);
    if (n?.name !== undefined && !byName.has(n.name)) byName.set(n.name, n);
  });
  const names = [...byName.keys()];
  // A name that could not be read might be the one prefers means: don't guess then.
  const allNamed = nodes.length > 0 && nodes.every((n) => n?.name !== undefined);
  resources.forEach((r, i) => {
    if (!r) return;
    const path = indexPath('resources', i);
    const nodeIndex = r.ip === undefined ? undefined : byAddr.get(r.ip);
    if (nodeIndex !== undefined) {
      issues.add(
        `${path}.ip`,
        `${r.ip} is the address of node ${nodes[nodeIndex]?.name ?? '?'} (nodes[${nodeIndex}].addr); a virtual IP must be a free address that no machine uses, or failover would take that node's own address away`,
      );
    }
    for (const name of Object.keys(r.prefers ?? {})) {
      const p = keyPath(`${path}.prefers`, name);
      const node = byName.get(name);
      if (!node) {
        if (!allNamed) continue;
        const guess = closest(name, names);
        issues.add(p, `no node named ${JSON.stringify(name)} in nodes:${guess ? ` (did you mean ${guess}?)` : ` (nodes are: ${names.join(', ')})`}`);
      } else if (node.role === 'witness') {
        issues.add(p, `${name} is a witness (role: witness), and a witness never holds resources; remove it from prefers`);
      }
    }
  });
  const readable = nodes.length > 0 && nodes.every((n) => n !== null && n.role !== undefined);
  if (resources.length > 0 && readable && nodes.every((n) => n!.role === 'witness')) {
    issues.add('nodes', 'every node is a witness, so no node can hold the resources (make at least one node role: member, the default)');
  }
}
