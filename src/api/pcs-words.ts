// pcs-style words for the cluster configuration commands:
//   piha resource create NAME [vip|ocf:heartbeat:IPaddr2] ip=… cidr_netmask=… [garp_refresh=30s] [op monitor interval=5s]
//                             [meta migration-threshold=2 failure-timeout=60s resource-stickiness=60]
//   piha resource update NAME key=value…     piha resource defaults [key=value…]
//   piha property set key=value…
// Keys may be written as pcs does (migration-threshold) or as piha.yaml does (migration_threshold);
// `--key=value` is the same as `key=value`. Values stay text here (durations keep their unit);
// numbers become numbers; the daemon's coordinator validates everything with the file's rules.

import { closest } from '../config/suggest.ts';

/** pcs / file spelling -> piha.yaml key of a resource. */
const RESOURCE_KEYS: Record<string, string> = {
  ip: 'ip',
  cidr_netmask: 'cidr_netmask',
  'cidr-netmask': 'cidr_netmask',
  monitor_interval: 'monitor_interval',
  'monitor-interval': 'monitor_interval',
  migration_threshold: 'migration_threshold',
  'migration-threshold': 'migration_threshold',
  failure_timeout: 'failure_timeout',
  'failure-timeout': 'failure_timeout',
  garp_refresh: 'garp_refresh',
  'garp-refresh': 'garp_refresh',
  resource_stickiness: 'resource_stickiness',
  'resource-stickiness': 'resource_stickiness',
  stickiness: 'resource_stickiness',
  target_role: 'target_role',
  'target-role': 'target_role',
};
const INT_KEYS = new Set(['cidr_netmask', 'migration_threshold', 'resource_stickiness']);
/** Resource types a pcs user may write for a VIP. */
export const VIP_TYPES = new Set(['vip', 'ipaddr2', 'ocf:heartbeat:ipaddr2', 'heartbeat:ipaddr2']);

export class WordsError extends Error {}

function splitPair(w: string): [string, string] | null {
  const t = w.startsWith('--') ? w.slice(2) : w;
  const i = t.indexOf('=');
  if (i <= 0) return null;
  return [t.slice(0, i), t.slice(i + 1)];
}

function value(key: string, v: string): unknown {
  if (INT_KEYS.has(key)) {
    if (/^-?\d+$/.test(v)) return Number(v);
    if (key === 'resource_stickiness' && /^-?INFINITY$/i.test(v)) return v.startsWith('-') ? -1_000_000 : 1_000_000;
    if (key === 'migration_threshold' && /^INFINITY$/i.test(v)) return 0; // pcs: INFINITY = never move for failures
    return v; // the validator explains what it wants
  }
  if (key === 'target_role') return v.toLowerCase();
  return v;
}

/**
 * Resource settings from words after NAME (and the optional type): key=value pairs, `op monitor
 * interval=…`, `meta …`. Returns the keys as piha.yaml spells them.
 */
export function resourceSettings(words: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  let inOp = false;
  for (let i = 0; i < words.length; i++) {
    const w = words[i];
    if (w === 'meta') {
      inOp = false;
      continue;
    }
    if (w === 'op') {
      const what = words[++i];
      if (what !== 'monitor') throw new WordsError(`op ${what ?? ''}: piha has one operation, monitor (op monitor interval=5s)`);
      inOp = true;
      continue;
    }
    const pair = splitPair(w);
    if (!pair) throw new WordsError(`"${w}" is not key=value (e.g. ip=192.168.0.150 cidr_netmask=32)`);
    let [k, v] = pair;
    if (inOp) {
      if (k === 'interval') k = 'monitor_interval';
      else if (k === 'timeout') throw new WordsError('op monitor timeout: piha\'s monitor checks the address and the link; give health checks their timeouts in piha.yaml (checks:)');
    }
    const key = RESOURCE_KEYS[k];
    if (!key) {
      const guess = closest(k, [...Object.keys(RESOURCE_KEYS), 'interval']);
      throw new WordsError(`unknown resource setting "${k}"${guess ? ` (did you mean ${guess}?)` : ''}; settings: ip, cidr_netmask, garp_refresh, op monitor interval, meta migration-threshold, failure-timeout, resource-stickiness, target-role`);
    }
    if (key in out) throw new WordsError(`${k} is given twice`);
    out[key] = value(key, v);
  }
  return out;
}

/** `resource create NAME [TYPE] settings…` -> the resource as piha.yaml writes it. */
export function createResource(name: string | undefined, rest: string[]): Record<string, unknown> {
  if (!name || name.includes('=')) throw new WordsError('usage: piha resource create NAME [vip] ip=ADDRESS [cidr_netmask=32] [op monitor interval=5s] [meta migration-threshold=N failure-timeout=60s]');
  let words = rest;
  if (words.length && !words[0].includes('=') && words[0] !== 'op' && words[0] !== 'meta') {
    if (!VIP_TYPES.has(words[0].toLowerCase())) {
      throw new WordsError(`resource type "${words[0]}": piha manages virtual IPs only (vip, or pcs's ocf:heartbeat:IPaddr2)`);
    }
    words = words.slice(1);
  }
  const settings = resourceSettings(words);
  if (!('ip' in settings)) throw new WordsError(`resource ${name} needs ip=ADDRESS (e.g. ip=192.168.0.150)`);
  return { name, type: 'vip', ...settings };
}

/** `resource defaults key=value…`: only resource-stickiness is a default in piha. */
export function defaultsSettings(words: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const w of words) {
    const pair = splitPair(w);
    if (!pair) throw new WordsError(`"${w}" is not key=value (e.g. resource-stickiness=60)`);
    const [k, v] = pair;
    if (k === 'resource-stickiness' || k === 'resource_stickiness' || k === 'stickiness') out.resource_stickiness = value('resource_stickiness', v);
    else if (RESOURCE_KEYS[k]) throw new WordsError(`${k} is set per resource in piha: piha resource update NAME ${k}=${v}`);
    else throw new WordsError(`unknown resource default "${k}" (piha has resource-stickiness)`);
  }
  return out;
}

/** `property set key=value…`. */
export function propertySettings(words: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const w of words) {
    const pair = splitPair(w);
    if (!pair) throw new WordsError(`"${w}" is not key=value (e.g. stonith-enabled=false)`);
    const [k, v] = pair;
    const key = k.replace(/_/g, '-');
    if (key === 'stonith-enabled') {
      if (!/^(true|false)$/i.test(v)) throw new WordsError(`stonith-enabled must be true or false, not "${v}"`);
      out[key] = /^true$/i.test(v);
    } else out[key] = v; // refused with its reason by the coordinator (no-quorum-policy, unknown keys)
  }
  return out;
}
