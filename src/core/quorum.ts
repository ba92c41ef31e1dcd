// Quorum arithmetic: a set of nodes is quorate when its votes are a strict majority of the
// expected votes. With `two_node`, a tie (exactly half) is broken by the lowest node id, as
// corosync's auto_tie_breaker does — so two disjoint halves can never both be quorate.

export interface VoteTable {
  votes: Map<number, number>; // node id -> votes
  expected: number;
  twoNode: boolean;
}

export function quorumVotes(t: VoteTable): number {
  return Math.floor(t.expected / 2) + 1;
}

export function tieBreaker(t: VoteTable): number {
  let best = Infinity;
  for (const [id, v] of t.votes) if (v > 0 && id < best) best = id;
  return best;
}

export function votesOf(t: VoteTable, ids: Iterable<number>): number {
  let sum = 0;
  for (const id of new Set(ids)) sum += t.votes.get(id) ?? 0;
  return sum;
}

export function isQuorate(t: VoteTable, ids: Iterable<number>): boolean {
  const set = new Set(ids);
  const v = votesOf(t, set);
  if (v >= quorumVotes(t)) return true;
  return t.twoNode && v * 2 === t.expected && set.has(tieBreaker(t));
}
