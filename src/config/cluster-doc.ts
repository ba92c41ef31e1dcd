// The cluster configuration that piha replicates (issue: pcs resource create/update/delete):
// the resources, the resource defaults and the cluster properties. Everything else in
// piha.yaml (cluster:, nodes:, quorum:, fencing devices, hardware:) stays in the file of each
// node: membership and wiring are not changed at run time.
//
// The document travels between nodes and into the state directory as JSON of the SAME shape
// as the YAML file's sections (snake_case), and every decode runs the file's own validators:
// a `piha resource create` with a bad address gets exactly the error the file would.

import { createHash } from 'node:crypto';
import { parseDocument } from 'yaml';
import { Issues, type ConfigError } from './errors.ts';
import { formatDuration } from './duration.ts';
import { readDefaults, readResources, checkAgainstNodes } from './resources.ts';
import { describe, isMapping } from './read.ts';
import { DEFAULTS, INFINITY_SCORE, scoreText } from './schema.ts';
import type { HealthCheckConfig, NodeConfig, PihaConfig, ResourceConfig } from './types.ts';

export interface ClusterProperties {
  /** pcs property stonith-enabled: fence a silent holder before its VIP moves (needs a device). */
  stonithEnabled: boolean;
}

export interface ClusterDoc {
  resources: ResourceConfig[];
  defaults: { resourceStickiness: number };
  properties: ClusterProperties;
}

/** The largest encoded document: it must fit one cluster datagram (8 KiB) with its envelope. */
export const MAX_DOC_BYTES = 6000;

/** Property names as pcs spells them, with what each accepts. */
export const PROPERTIES: Record<string, { what: string; readOnly?: string }> = {
  'stonith-enabled': { what: 'true or false' },
  'no-quorum-policy': { what: 'stop', readOnly: 'piha always stops its VIPs without quorum: "ignore" or "freeze" would allow two holders' },
};

export function docFromConfig(c: PihaConfig): ClusterDoc {
  return {
    resources: c.resources.map((r) => structuredClone(r)),
    defaults: { ...c.defaults },
    properties: { stonithEnabled: c.fencing.stonithEnabled },
  };
}

function checkToRaw(c: HealthCheckConfig): Record<string, unknown> {
  const out: Record<string, unknown> = { type: c.type };
  if (c.type === 'http') out.url = c.target;
  else if (c.type === 'exec') out.command = c.target;
  else {
    const i = c.target.lastIndexOf(':');
    out.host = c.target.slice(0, i);
    out.port = Number(c.target.slice(i + 1));
  }
  out.interval = formatDuration(c.intervalMs);
  out.timeout = formatDuration(c.timeoutMs);
  out.rise = c.rise;
  out.fall = c.fall;
  return out;
}

/** A resource as it is written in piha.yaml. */
export function resourceToRaw(r: ResourceConfig): Record<string, unknown> {
  const out: Record<string, unknown> = {
    name: r.name,
    type: r.type,
    ip: r.ip,
    cidr_netmask: r.cidrNetmask,
    monitor_interval: formatDuration(r.monitorIntervalMs),
    migration_threshold: r.migrationThreshold,
    failure_timeout: formatDuration(r.failureTimeoutMs),
  };
  // Written only when it differs from the default (as target_role and with:): a node of the
  // build before garp_refresh refuses a document with a key it does not know, so a cluster
  // being upgraded one node at a time keeps agreeing until somebody sets it.
  if (r.garpRefreshMs !== DEFAULTS.garpRefreshMs) out.garp_refresh = formatDuration(r.garpRefreshMs);
  if (Object.keys(r.prefers).length) out.prefers = { ...r.prefers };
  if (r.stickiness !== undefined) out.resource_stickiness = r.stickiness;
  if (r.checks.length) out.checks = r.checks.map(checkToRaw);
  if (r.targetRole === 'stopped') out.target_role = 'stopped';
  for (const [key, sign] of [['with', 1], ['not_with', -1]] as const) {
    const cs = (r.colocation ?? []).filter((c) => Math.sign(c.score) === sign);
    if (!cs.length) continue;
    // The short forms when every score is INFINITY (with: api / with: [api, dns]), else the mapping.
    if (cs.every((c) => Math.abs(c.score) >= INFINITY_SCORE)) out[key] = cs.length === 1 ? cs[0]!.with : cs.map((c) => c.with);
    else out[key] = Object.fromEntries(cs.map((c) => [c.with, Math.abs(c.score) >= INFINITY_SCORE ? 'INFINITY' : Math.abs(c.score)]));
  }
  return out;
}

export function docToRaw(d: ClusterDoc): { resources: unknown[]; defaults: Record<string, unknown>; properties: Record<string, unknown> } {
  return {
    resources: d.resources.map(resourceToRaw),
    defaults: { resource_stickiness: d.defaults.resourceStickiness },
    properties: { 'stonith-enabled': d.properties.stonithEnabled },
  };
}

export function encodeDoc(d: ClusterDoc): string {
  return JSON.stringify(docToRaw(d));
}

/**
 * Validates a document (raw, as decoded from JSON or built from CLI words) against the file's
 * rules and the nodes of this cluster. Paths in errors are the file's (resources[0].ip).
 */
export function docFromRaw(raw: unknown, nodes: NodeConfig[]): { doc: ClusterDoc; errors: [] } | { doc: null; errors: ConfigError[] } {
  const issues = new Issues();
  if (!isMapping(raw)) {
    issues.add('', `a cluster configuration must be a mapping, not ${describe(raw)}`);
    return { doc: null, errors: issues.list };
  }
  for (const k of Object.keys(raw)) if (!['resources', 'defaults', 'properties'].includes(k)) issues.add(k, 'unknown section of the cluster configuration');
  const resources = readResources(issues, raw.resources ?? []);
  const defaults = readDefaults(issues, raw.defaults ?? undefined);
  checkAgainstNodes(issues, resources, nodes);
  const props = raw.properties ?? {};
  let stonithEnabled = false;
  if (!isMapping(props)) issues.add('properties', `must be a mapping like { stonith-enabled: true }, not ${describe(props)}`);
  else {
    for (const [k, v] of Object.entries(props)) {
      if (k === 'stonith-enabled') {
        if (typeof v === 'boolean') stonithEnabled = v;
        else issues.add('properties.stonith-enabled', `must be true or false, not ${describe(v)}`);
      } else issues.add(`properties.${k}`, PROPERTIES[k]?.readOnly ?? `unknown property (known: ${Object.keys(PROPERTIES).join(', ')})`);
    }
  }
  if (issues.count > 0) return { doc: null, errors: issues.list };
  return { doc: { resources: resources as ResourceConfig[], defaults, properties: { stonithEnabled } }, errors: [] };
}

export function decodeDoc(text: string, nodes: NodeConfig[]): ClusterDoc | null {
  if (text.length > MAX_DOC_BYTES * 2) return null;
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return null;
  }
  return docFromRaw(raw, nodes).doc;
}

export function docDigest(d: ClusterDoc): string {
  return createHash('sha256').update(encodeDoc(d)).digest('hex').slice(0, 12);
}

/** `piha config show`: the effective cluster configuration as piha.yaml sections. */
export function docToYaml(d: ClusterDoc, meta: { epoch: number; source: string }): string {
  const raw = docToRaw(d);
  const doc = parseDocument('{}');
  doc.set('defaults', raw.defaults);
  doc.set('resources', raw.resources);
  doc.commentBefore = ` cluster configuration, epoch ${meta.epoch} (${meta.source})\n properties (pcs property): stonith-enabled: ${d.properties.stonithEnabled}; no-quorum-policy: stop`;
  return doc.toString({ lineWidth: 0 });
}

/**
 * `piha config export FILE`: the node's piha.yaml with the cluster configuration written in
 * (resources:, defaults:, fencing.stonith_enabled), every other line and comment kept.
 */
export function exportIntoFile(fileText: string, d: ClusterDoc): string {
  const doc = parseDocument(fileText);
  const raw = docToRaw(d);
  doc.set('resources', doc.createNode(raw.resources));
  doc.setIn(['defaults', 'resource_stickiness'], d.defaults.resourceStickiness);
  if (doc.hasIn(['fencing']) || d.properties.stonithEnabled) doc.setIn(['fencing', 'stonith_enabled'], d.properties.stonithEnabled);
  return doc.toString({ lineWidth: 0 });
}

// ---------------------------------------------------------------- changes (pcs words)

/** One change to the cluster configuration, as the CLI sends it (raw values, file key names). */
export type ConfigChange =
  | { op: 'create'; resource: Record<string, unknown> }
  | { op: 'update'; name: string; set: Record<string, unknown>; unset?: string[] }
  | { op: 'delete'; name: string }
  | { op: 'defaults'; set: Record<string, unknown> }
  | { op: 'property'; set: Record<string, unknown> }
  | { op: 'replace'; doc: Record<string, unknown> }
  /** pcs constraint colocation add RESOURCE with WITH [SCORE] / remove RESOURCE WITH. */
  | { op: 'colocation'; action: 'add' | 'remove'; resource: string; with: string; score?: number };

const isRecord = (v: unknown): v is Record<string, unknown> => isMapping(v);

/** Parse a change from the wire or the control socket; a string is the reason it is refused. */
export function parseChange(text: string): ConfigChange | string {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return 'the change is not valid JSON';
  }
  if (!isRecord(v)) return 'the change must be an object';
  const name = typeof v.name === 'string' && v.name.length > 0 && v.name.length <= 64 ? v.name : undefined;
  switch (v.op) {
    case 'create':
      return isRecord(v.resource) ? { op: 'create', resource: v.resource } : 'create: missing resource';
    case 'update': {
      if (!name || !isRecord(v.set)) return 'update: needs name and set';
      const unset = Array.isArray(v.unset) && v.unset.every((k) => typeof k === 'string') ? (v.unset as string[]) : undefined;
      return { op: 'update', name, set: v.set, ...(unset ? { unset } : {}) };
    }
    case 'delete':
      return name ? { op: 'delete', name } : 'delete: needs name';
    case 'defaults':
    case 'property':
      return isRecord(v.set) ? { op: v.op, set: v.set } : `${v.op}: needs set`;
    case 'replace':
      return isRecord(v.doc) ? { op: 'replace', doc: v.doc } : 'replace: needs doc';
    case 'colocation': {
      const ok = (x: unknown): x is string => typeof x === 'string' && x.length > 0 && x.length <= 64;
      if ((v.action !== 'add' && v.action !== 'remove') || !ok(v.resource) || !ok(v.with)) return 'colocation: needs action (add or remove), resource and with';
      if (v.action === 'remove') return { op: 'colocation', action: 'remove', resource: v.resource, with: v.with };
      const score = v.score;
      if (typeof score !== 'number' || !Number.isSafeInteger(score) || score === 0 || Math.abs(score) > INFINITY_SCORE) {
        return `colocation: the score must be a whole number from -${INFINITY_SCORE} to ${INFINITY_SCORE}, not 0`;
      }
      return { op: 'colocation', action: 'add', resource: v.resource, with: v.with, score };
    }
    default:
      return `unknown change ${JSON.stringify(v.op)}`;
  }
}

/** Errors with the file's paths (resources[2].ip) told in the words of the command (resource web: ip). */
function formatChangeErrors(errors: ConfigError[], raw: { resources: unknown[] }): string {
  return errors
    .map((e) => {
      const m = /^resources\[(\d+)\]\.?(.*)$/.exec(e.path);
      if (m) {
        const r = raw.resources[Number(m[1])] as Record<string, unknown> | undefined;
        const name = r && typeof r.name === 'string' ? r.name : `#${m[1]}`;
        return `resource ${name}${m[2] ? ` ${m[2]}` : ''}: ${e.message}`;
      }
      return `${e.path || 'configuration'}: ${e.message}`;
    })
    .join('\n');
}

/**
 * Apply `change` to `doc` (the coordinator does this, in commit order), validated exactly
 * like the file. Returns the new document and a one-line summary, or every error.
 */
export function applyChange(doc: ClusterDoc, change: ConfigChange, nodes: NodeConfig[]): { doc: ClusterDoc; summary: string } | { error: string } {
  const raw = docToRaw(doc);
  const find = (name: string) => raw.resources.findIndex((r) => (r as Record<string, unknown>).name === name);
  const names = () => raw.resources.map((r) => (r as Record<string, unknown>).name).join(', ') || 'none';
  let summary: string;
  switch (change.op) {
    case 'create': {
      const name = change.resource.name;
      if (typeof name === 'string' && find(name) >= 0) return { error: `resource ${name} already exists (change it with: piha resource update ${name} key=value...)` };
      raw.resources.push(change.resource);
      summary = `created resource ${String(name)}`;
      break;
    }
    case 'update': {
      const i = find(change.name);
      if (i < 0) return { error: `no resource named ${change.name} (resources: ${names()})` };
      if ('name' in change.set && change.set.name !== change.name) return { error: 'a resource cannot be renamed: delete it and create it under the new name' };
      const old = raw.resources[i] as Record<string, unknown>;
      const r = { ...old, ...change.set };
      // A new address of the other family (IPv4 <-> IPv6) and no prefix given: that family's
      // default (32 or 128), not the old one (an IPv6 VIP with the old /32 adds a /32 route).
      const v6 = (x: unknown): boolean => typeof x === 'string' && x.includes(':');
      if ('ip' in change.set && !('cidr_netmask' in change.set) && v6(change.set.ip) !== v6(old.ip)) delete r.cidr_netmask;
      for (const k of change.unset ?? []) delete r[k];
      raw.resources[i] = r;
      summary = `updated resource ${change.name}: ${Object.entries(change.set).map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : String(v)}`).join(' ')}${change.unset?.length ? ` (unset ${change.unset.join(', ')})` : ''}`;
      break;
    }
    case 'delete': {
      const i = find(change.name);
      if (i < 0) return { error: `no resource named ${change.name} (resources: ${names()})` };
      raw.resources.splice(i, 1);
      // As pcs does, the colocation constraints that name it go with it.
      const dropped: string[] = [];
      for (const r of raw.resources as Record<string, unknown>[]) {
        for (const key of ['with', 'not_with']) {
          const v = r[key];
          if (v === undefined) continue;
          let rest: unknown = v;
          if (v === change.name) rest = undefined;
          else if (Array.isArray(v)) rest = v.filter((x) => x !== change.name);
          else if (isMapping(v) && change.name in v) rest = Object.fromEntries(Object.entries(v).filter(([k]) => k !== change.name));
          if (rest === v) continue;
          dropped.push(`${String(r.name)} ${key} ${change.name}`);
          if (rest === undefined || (Array.isArray(rest) && !rest.length) || (isMapping(rest) && !Object.keys(rest).length)) delete r[key];
          else r[key] = rest;
        }
      }
      summary = `deleted resource ${change.name}${dropped.length ? ` and its colocation constraints (${dropped.join('; ')})` : ''}`;
      break;
    }
    case 'defaults':
      Object.assign(raw.defaults, change.set);
      summary = `resource defaults: ${JSON.stringify(change.set)}`;
      break;
    case 'property':
      Object.assign(raw.properties, change.set);
      summary = `properties: ${JSON.stringify(change.set)}`;
      break;
    case 'colocation': {
      const i = find(change.resource);
      if (i < 0) return { error: `no resource named ${change.resource} (resources: ${names()})` };
      const r = structuredClone(doc.resources.find((x) => x.name === change.resource)!);
      const list = r.colocation ?? [];
      const at = list.findIndex((c) => c.with === change.with);
      if (change.action === 'add') {
        const c = { with: change.with, score: change.score! };
        if (at >= 0) list[at] = c;
        else list.push(c);
        summary = `${at >= 0 ? 'changed' : 'added'} colocation constraint: ${change.resource} with ${change.with} (score:${scoreText(c.score)})`;
      } else {
        if (at < 0) {
          const other = doc.resources.find((x) => x.name === change.with)?.colocation?.some((c) => c.with === change.resource);
          return {
            error: `no colocation constraint of ${change.resource} with ${change.with}${other ? ` (there is one of ${change.with} with ${change.resource}: piha constraint colocation remove ${change.with} ${change.resource})` : ''}`,
          };
        }
        list.splice(at, 1);
        summary = `removed colocation constraint: ${change.resource} with ${change.with}`;
      }
      if (list.length) r.colocation = list;
      else delete r.colocation;
      raw.resources[i] = resourceToRaw(r);
      break;
    }
    case 'replace':
      Object.assign(raw, { resources: [], defaults: {}, properties: raw.properties }, change.doc);
      summary = 'replaced the cluster configuration from a file';
      break;
  }
  const out = docFromRaw(raw, nodes);
  if (!out.doc) return { error: formatChangeErrors(out.errors, raw) };
  if (encodeDoc(out.doc).length > MAX_DOC_BYTES) {
    return { error: `the cluster configuration would be ${encodeDoc(out.doc).length} bytes, more than ${MAX_DOC_BYTES}: it must fit one cluster datagram` };
  }
  return { doc: out.doc, summary };
}
