// The cluster configuration commands of the CLI (pcs words; see README "pcs to piha"):
// resource create/update/delete/enable/disable/config, resource defaults, property,
// config show/export/push. Changes go to the local daemon, which forwards them to the
// coordinator; the answer comes once a majority committed them.

import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { ControlRequest, ControlResponse, DaemonStatus } from './status-types.ts';
import { createResource, defaultsSettings, propertySettings, resourceSettings, WordsError } from './pcs-words.ts';
import { docFromConfig, docToRaw, exportIntoFile, docFromRaw } from '../config/cluster-doc.ts';
import { formatErrors, loadConfigFile } from '../config/index.ts';
import { INFINITY_SCORE, scoreText } from '../config/schema.ts';

export type Call = (req: ControlRequest, timeoutMs?: number) => Promise<ControlResponse>;

export interface ConfigShow {
  epoch: number;
  term: number;
  source: 'file' | 'cluster';
  raw: { resources: Record<string, unknown>[]; defaults: Record<string, unknown>; properties: Record<string, unknown> };
  yaml: string;
  fileDiffers: boolean;
  configPath: string | null;
  clusterName: string;
}

const out = (s: string) => process.stdout.write(s.endsWith('\n') ? s : s + '\n');
const err = (s: string) => process.stderr.write(`Error: ${s}\n`);

async function change(call: Call, c: object): Promise<ControlResponse> {
  // The daemon waits up to 5 s for a commit; give the socket a little more.
  return call({ op: 'command', cmd: { op: 'config', change: JSON.stringify(c) } }, 9000);
}

async function show(call: Call): Promise<ConfigShow> {
  const r = await call({ op: 'config-show' });
  if (!r.ok) throw new Error(r.message ?? 'the daemon did not return its configuration');
  return r.data as ConfigShow;
}

async function report(r: ControlResponse): Promise<number> {
  if (r.ok) out(r.message ?? 'done');
  else err(r.message ?? 'refused');
  return r.ok ? 0 : 1;
}

const sleep = (ms: number) => new Promise((res) => setTimeout(res, ms));

/** pcs resource config: attributes, meta attributes, operations. */
export function formatResource(r: Record<string, unknown>): string {
  const meta: string[] = [];
  for (const [k, label] of [
    ['migration_threshold', 'migration-threshold'],
    ['failure_timeout', 'failure-timeout'],
    ['resource_stickiness', 'resource-stickiness'],
    ['target_role', 'target-role'],
  ] as const) {
    if (r[k] !== undefined) meta.push(`${label}=${String(r[k])}`);
  }
  const lines = [
    ` Resource: ${String(r.name)} (type=vip, pcs: ocf:heartbeat:IPaddr2)`,
    `  Attributes: ip=${String(r.ip)} cidr_netmask=${String(r.cidr_netmask)}${r.garp_refresh !== undefined ? ` garp_refresh=${String(r.garp_refresh)}` : ''}`,
    `  Meta Attrs: ${meta.join(' ')}`,
    `  Operations: monitor interval=${String(r.monitor_interval)}`,
  ];
  if (r.prefers) lines.push(`  Location: ${Object.entries(r.prefers as Record<string, number>).map(([n, s]) => `prefers ${n}=${s}`).join(' ')}`);
  if (Array.isArray(r.checks)) lines.push(`  Checks: ${r.checks.map((c) => JSON.stringify(c)).join(', ')}`);
  const coloc = colocationsOf(r).map((c) => `${c.score > 0 ? 'with' : 'not with'} ${c.with} (score:${scoreText(c.score)})`);
  if (coloc.length) lines.push(`  Colocation: ${coloc.join(', ')}`);
  return lines.join('\n');
}

const INFINITY = INFINITY_SCORE;

/** The colocations of a resource as `piha config-show` sends it (with:/not_with:, any form). */
export function colocationsOf(r: Record<string, unknown>): { with: string; score: number }[] {
  const out: { with: string; score: number }[] = [];
  for (const [key, sign] of [['with', 1], ['not_with', -1]] as const) {
    const v = r[key];
    if (typeof v === 'string') out.push({ with: v, score: sign * INFINITY });
    else if (Array.isArray(v)) for (const x of v) out.push({ with: String(x), score: sign * INFINITY });
    else if (v && typeof v === 'object') {
      for (const [name, sc] of Object.entries(v)) out.push({ with: name, score: sign * (typeof sc === 'number' ? sc : INFINITY) });
    }
  }
  return out;
}

/** A pcs score: INFINITY, -INFINITY, +INFINITY or a whole number (not 0). */
export function parseScoreWord(w: string): number {
  const m = /^([+-]?)(INFINITY|inf)$/i.exec(w);
  if (m) return m[1] === '-' ? -INFINITY : INFINITY;
  if (/^[+-]?\d+$/.test(w)) {
    const n = Number(w);
    if (n !== 0 && Math.abs(n) <= INFINITY) return n;
  }
  throw new WordsError(`bad score "${w}": use INFINITY (must run together), -INFINITY (must never share a node) or a whole number from -${INFINITY} to ${INFINITY} other than 0`);
}

/**
 * piha constraint [config] | constraint colocation add A with B [SCORE] | constraint colocation
 * remove A B (pcs words). Returns null for an unknown subcommand.
 */
export async function constraintCommand(call: Call, sub: string | undefined, rest: string[]): Promise<number | null> {
  try {
    if (sub === undefined || sub === 'config' || sub === 'list' || sub === 'show') {
      if (rest.length) throw new WordsError('usage: piha constraint [config]');
      const s = await show(call);
      const lines = ['Location Constraints:'];
      for (const r of s.raw.resources) {
        const prefers = Object.entries((r.prefers ?? {}) as Record<string, number>);
        if (!prefers.length) continue;
        lines.push(`  Resource: ${String(r.name)}`);
        for (const [n, sc] of prefers) lines.push(`    ${sc >= 0 ? 'Enabled on' : 'Disabled on'}: ${n} (score:${sc})`);
      }
      lines.push('Colocation Constraints:');
      for (const r of s.raw.resources) for (const c of colocationsOf(r)) lines.push(`  ${String(r.name)} with ${c.with} (score:${scoreText(c.score)})`);
      out(lines.join('\n'));
      return 0;
    }
    if (sub !== 'colocation') return null;
    const [action, ...words] = rest;
    if (action === 'add') {
      if (words.length < 3 || words.length > 4 || words[1] !== 'with') throw new WordsError('usage: piha constraint colocation add RESOURCE with OTHER [SCORE] (SCORE: INFINITY, the default, or -INFINITY to keep them apart)');
      const score = words[3] === undefined ? INFINITY : parseScoreWord(words[3]);
      return report(await change(call, { op: 'colocation', action: 'add', resource: words[0], with: words[2], score }));
    }
    if (action === 'remove' || action === 'delete') {
      if (words.length !== 2) throw new WordsError('usage: piha constraint colocation remove RESOURCE OTHER');
      return report(await change(call, { op: 'colocation', action: 'remove', resource: words[0], with: words[1] }));
    }
    throw new WordsError('usage: piha constraint colocation add RESOURCE with OTHER [SCORE] | remove RESOURCE OTHER');
  } catch (e) {
    if (e instanceof WordsError) {
      err(e.message);
      return 2;
    }
    throw e;
  }
}

export async function resourceCommand(call: Call, sub: string | undefined, rest: string[], status: () => Promise<DaemonStatus>): Promise<number | null> {
  try {
    switch (sub) {
      case 'create':
        return report(await change(call, { op: 'create', resource: createResource(rest[0], rest.slice(1)) }));
      case 'update': {
        if (!rest[0] || rest.length < 2) throw new WordsError('usage: piha resource update NAME key=value... (e.g. meta resource-stickiness=60)');
        return report(await change(call, { op: 'update', name: rest[0], set: resourceSettings(rest.slice(1)) }));
      }
      case 'enable':
      case 'disable': {
        if (rest.length !== 1) throw new WordsError(`usage: piha resource ${sub} NAME`);
        return report(await change(call, { op: 'update', name: rest[0], set: { target_role: sub === 'enable' ? 'started' : 'stopped' } }));
      }
      case 'delete':
      case 'remove': {
        if (rest.length !== 1) throw new WordsError('usage: piha resource delete NAME');
        const name = rest[0];
        // As pcs does: stop it first, wait until no node has it, then delete it.
        const stop = await change(call, { op: 'update', name, set: { target_role: 'stopped' } });
        if (!stop.ok) return report(stop);
        process.stdout.write(`Attempting to stop: ${name}... `);
        const t0 = Date.now();
        for (;;) {
          const r = (await status()).resources.find((x) => x.name === name);
          if (!r || (r.holder === null && r.state === 'stopped')) break;
          if (Date.now() - t0 > 20_000) {
            out('');
            err(`${name} did not stop within 20 s (held by ${r.holder ?? '?'}); it stays configured with target-role=stopped`);
            return 1;
          }
          await sleep(200);
        }
        out('Stopped');
        return report(await change(call, { op: 'delete', name }));
      }
      case 'config': {
        if (rest.length > 1) throw new WordsError('usage: piha resource config [NAME]');
        const s = await show(call);
        const list = rest[0] ? s.raw.resources.filter((r) => r.name === rest[0]) : s.raw.resources;
        if (rest[0] && !list.length) {
          err(`no resource named ${rest[0]} (resources: ${s.raw.resources.map((r) => String(r.name)).join(', ') || 'none'})`);
          return 1;
        }
        out(list.length ? list.map(formatResource).join('\n') : 'No resources configured');
        return 0;
      }
      case 'defaults': {
        const words = rest[0] === 'update' ? rest.slice(1) : rest;
        if (words.length === 0) {
          const s = await show(call);
          out(`Meta Attrs: resource-defaults\n  resource-stickiness=${String(s.raw.defaults.resource_stickiness)}`);
          return 0;
        }
        return report(await change(call, { op: 'defaults', set: defaultsSettings(words) }));
      }
      default:
        return null;
    }
  } catch (e) {
    if (e instanceof WordsError) {
      err(e.message);
      return 2;
    }
    throw e;
  }
}

export async function propertyCommand(call: Call, sub: string | undefined, rest: string[]): Promise<number> {
  try {
    if (sub === undefined || sub === 'config' || sub === 'list') {
      const s = await show(call);
      out(
        [
          'Cluster Properties:',
          ` cluster-name: ${s.clusterName}`,
          ` stonith-enabled: ${String(s.raw.properties['stonith-enabled'])}`,
          ' no-quorum-policy: stop',
          ` configuration-epoch: ${s.epoch}`,
        ].join('\n'),
      );
      return 0;
    }
    if (sub !== 'set' || rest.length === 0) throw new WordsError('usage: piha property [set key=value...] (e.g. piha property set stonith-enabled=false)');
    return report(await change(call, { op: 'property', set: propertySettings(rest) }));
  } catch (e) {
    if (e instanceof WordsError) {
      err(e.message);
      return 2;
    }
    throw e;
  }
}

/** config show | export FILE | push [FILE]. Returns null for other subcommands. */
export async function configCommand(call: Call, sub: string | undefined, rest: string[], defaultFile: string): Promise<number | null> {
  switch (sub) {
    case 'show': {
      if (rest.length) throw new WordsError('usage: piha config show');
      out((await show(call)).yaml);
      return 0;
    }
    case 'export': {
      if (rest.length !== 1) throw new WordsError('usage: piha config export FILE');
      const s = await show(call);
      const file = rest[0];
      const base = existsSync(file) ? readFileSync(file, 'utf8') : s.configPath && existsSync(s.configPath) ? readFileSync(s.configPath, 'utf8') : null;
      const doc = docFromRaw(s.raw, []).doc;
      if (!base || !doc) {
        err(base ? 'the cluster configuration could not be read back' : `neither ${file} nor the daemon's file exist: use piha config show`);
        return 1;
      }
      const text = exportIntoFile(base, doc);
      const tmp = join(dirname(file), `.${basename(file)}.piha-tmp`);
      writeFileSync(tmp, text);
      renameSync(tmp, file);
      out(`wrote the cluster configuration (epoch ${s.epoch}) into ${file}`);
      return 0;
    }
    case 'push': {
      if (rest.length > 1) throw new WordsError('usage: piha config push [FILE]');
      const file = rest[0] ?? defaultFile;
      const { config, errors } = loadConfigFile(file);
      if (!config) {
        out(formatErrors(errors, file));
        err(`${file}: ${errors.length} error(s); nothing was pushed`);
        return 1;
      }
      return report(await change(call, { op: 'replace', doc: docToRaw(docFromConfig(config)) }));
    }
    default:
      return null;
  }
}
