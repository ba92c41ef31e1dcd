// The nodes: list and the rules across nodes (unique names/ids/addresses, voting).

import type { Issues } from './errors.ts';
import { checkIPv4, checkName, normaliseMac } from './formats.ts';
import { indexPath } from './path.ts';
import { describe, Section } from './read.ts';
import { DEFAULTS, NODE_KEYS, NODE_ROLES } from './schema.ts';
import type { NodeConfig } from './types.ts';

/** A node as far as it could be read; undefined fields had errors. null: not a mapping. */
export type NodeDraft = Partial<NodeConfig> | null;

export function readNodes(issues: Issues, raw: unknown): NodeDraft[] {
  if (raw === undefined) return [];
  if (!Array.isArray(raw)) {
    issues.add('nodes', `must be a list of nodes (lines starting with -, like - { name: worker0, id: 1, addr: 192.168.0.50 }), not ${describe(raw)}`);
    return [];
  }
  if (raw.length === 0) {
    issues.add('nodes', 'is empty (list at least one node, like - { name: worker0, id: 1, addr: 192.168.0.50 })');
    return [];
  }
  const drafts = raw.map((item, i) => readNode(issues, item, indexPath('nodes', i), i));
  checkUnique(issues, drafts);
  checkVoting(issues, drafts);
  return drafts;
}

function readNode(issues: Issues, raw: unknown, path: string, i: number): NodeDraft {
  const s = Section.open(issues, raw, path, 'this node', NODE_KEYS);
  if (!s) return null;
  const exName = `worker${i}`;
  const node: Partial<NodeConfig> = {
    name: s.string('name', { required: true, example: `name: ${exName}`, check: (v) => checkName(v, exName) }),
    id: s.int('id', { required: true, example: `id: ${i + 1}`, min: 1, max: 65535, what: 'a whole number 1-65535' }),
    addr: s.string('addr', { required: true, example: `addr: 192.168.0.${50 + i}`, check: (v) => checkIPv4(v, `192.168.0.${50 + i}`) }),
    role: s.oneOf('role', NODE_ROLES, { example: 'role: member', what: 'role' }) ?? (s.has('role') ? undefined : 'member'),
    votes: s.int('votes', { example: 'votes: 1', min: 0, what: 'a non-negative whole number' }) ?? (s.has('votes') ? undefined : DEFAULTS.votes),
  };
  const mac = s.string('mac', { example: 'mac: "dc:a6:32:01:02:03"' });
  if (mac !== undefined) {
    const norm = normaliseMac(mac);
    if (norm === null) {
      issues.add(s.pathOf('mac'), `${JSON.stringify(mac)} is not a MAC address (write six two-digit hex numbers with colons, like "dc:a6:32:01:02:03")`);
    } else {
      node.mac = norm;
    }
  }
  if (node.role === 'witness' && node.votes === 0) {
    issues.add(s.pathOf('votes'), 'a witness with votes: 0 is pointless (a witness only votes, it never holds resources; give it votes: 1 or remove the node)');
  }
  return node;
}

/** Names, ids, addresses and MACs each identify one node; report the later duplicate. */
function checkUnique(issues: Issues, drafts: NodeDraft[]): void {
  const fields = [
    ['name', 'node names must be unique'],
    ['id', 'node ids must be unique: they also order the nodes to break ties'],
    ['addr', 'each node needs its own address'],
    ['mac', 'each node has its own network card'],
  ] as const;
  for (const [field, why] of fields) {
    const seen = new Map<unknown, number>();
    drafts.forEach((n, i) => {
      const v = n?.[field];
      if (v === undefined) return;
      const first = seen.get(v);
      if (first === undefined) {
        seen.set(v, i);
      } else {
        const shown = typeof v === 'string' ? JSON.stringify(v) : String(v);
        issues.add(`nodes[${i}].${field}`, `${shown} is already used by nodes[${first}] (${why})`);
      }
    });
  }
}

function checkVoting(issues: Issues, drafts: NodeDraft[]): void {
  // Only meaningful when every node and its votes could be read.
  if (drafts.some((n) => n === null || n.votes === undefined)) return;
  if (drafts.every((n) => n!.votes === 0)) {
    issues.add('nodes', 'no node has a vote, so the cluster could never be quorate (give at least one node votes: 1, the default)');
  }
}
