// The quorum: section and the vote arithmetic. With E expected votes a partition is
// quorate with q = floor(E/2) + 1 votes. Two disjoint partitions must never both reach q
// out of the T votes that exist (2q > T), and one partition must be able to (q <= T).

import type { Issues } from './errors.ts';
import type { NodeDraft } from './nodes.ts';
import { Section } from './read.ts';
import { QUORUM_KEYS } from './schema.ts';
import type { QuorumConfig } from './types.ts';

export const quorumOf = (expectedVotes: number): number => Math.floor(expectedVotes / 2) + 1;

export interface QuorumDraft {
  expectedVotes?: number; // as written; undefined = default (sum of votes)
  twoNode: boolean;
}

export function readQuorum(issues: Issues, raw: unknown): QuorumDraft {
  if (raw === undefined) return { twoNode: false };
  const s = Section.open(issues, raw, 'quorum', 'quorum:', QUORUM_KEYS);
  if (!s) return { twoNode: false };
  return {
    expectedVotes: s.int('expected_votes', { example: 'expected_votes: 3', min: 1, what: 'a whole number of votes, at least 1' }),
    twoNode: s.bool('two_node', { example: 'two_node: false' }) ?? false,
  };
}

/** Checks the arithmetic; returns the final QuorumConfig. */
export function checkQuorum(issues: Issues, q: QuorumDraft, nodes: NodeDraft[]): QuorumConfig {
  const total = nodes.reduce((sum, n) => sum + (n?.votes ?? 0), 0);
  const result: QuorumConfig = { expectedVotes: q.expectedVotes ?? total, twoNode: q.twoNode };
  // Vote counts are only trustworthy if every node and expected_votes were read cleanly.
  const unreadable = nodes.length === 0 || nodes.some((n) => n === null || n.votes === undefined);
  if (unreadable || total === 0 || issues.some((p) => p === 'quorum.expected_votes' || p === 'quorum.two_node')) {
    return result;
  }
  if (q.twoNode) {
    checkTwoNode(issues, q, nodes as Partial<{ name: string; votes: number }>[]);
    return result;
  }
  if (q.expectedVotes === undefined) return result; // the sum of votes is always safe
  const e = q.expectedVotes;
  const need = quorumOf(e);
  if (need > total) {
    issues.add(
      'quorum.expected_votes',
      `expected_votes ${e} means quorum needs ${need} votes, but the nodes have only ${total} in total, so the cluster could never be quorate (set expected_votes: ${total}, the sum of the nodes' votes, or remove it to get that default)`,
    );
  } else if (2 * need <= total) {
    let minE = e;
    while (2 * quorumOf(minE) <= total) minE++;
    issues.add(
      'quorum.expected_votes',
      `expected_votes ${e} means quorum needs only ${need} of the nodes' ${total} votes, so two disjoint groups could each be quorate and both start the resources (split brain); set expected_votes to at least ${minE}, or remove it to use the sum of votes (${total})`,
    );
  }
  return result;
}

/** corosync's two_node rule: a lone survivor of a two-node cluster may stay quorate, which
 *  is only sound when there are exactly two voters with one vote each. */
function checkTwoNode(issues: Issues, q: QuorumDraft, nodes: Partial<{ name: string; votes: number }>[]): void {
  const voters = nodes.filter((n) => (n.votes ?? 0) > 0);
  const names = voters.map((n) => `${n.name ?? '?'} (${n.votes} vote${n.votes === 1 ? '' : 's'})`).join(', ');
  if (voters.length !== 2 || voters.some((n) => n.votes !== 1)) {
    issues.add(
      'quorum.two_node',
      `two_node: true lets one node stay quorate alone, which is only safe (corosync's rule) with exactly two voting nodes of 1 vote each and expected_votes 2; here the voters are ${names} (remove two_node, or give the other nodes votes: 0)`,
    );
  } else if (q.expectedVotes !== undefined && q.expectedVotes !== 2) {
    issues.add(
      'quorum.expected_votes',
      `must be 2 with two_node: true, not ${q.expectedVotes} (two_node follows corosync's rule: two voters, expected_votes 2; set it to 2 or remove it)`,
    );
  }
}
