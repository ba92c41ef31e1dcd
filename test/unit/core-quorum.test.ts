import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isQuorate, quorumVotes, tieBreaker, votesOf, type VoteTable } from '../../src/core/quorum.ts';

/** Votes per node id (ids 1..n), expected = sum unless given. */
function table(votes: number[], expected?: number, twoNode = false): VoteTable {
  return {
    votes: new Map(votes.map((v, i) => [i + 1, v])),
    expected: expected ?? votes.reduce((a, b) => a + b, 0),
    twoNode,
  };
}

test('3 nodes: quorum is 2 votes; any 2 of 3 are quorate, 1 is not', () => {
  const t = table([1, 1, 1]);
  assert.equal(quorumVotes(t), 2);
  assert.equal(isQuorate(t, [1, 2]), true);
  assert.equal(isQuorate(t, [2, 3]), true);
  assert.equal(isQuorate(t, [1, 3]), true);
  assert.equal(isQuorate(t, [1]), false);
  assert.equal(isQuorate(t, [3]), false);
  assert.equal(isQuorate(t, []), false);
});

test('4 nodes: quorum is 3 votes; a 2-2 split has no quorate half', () => {
  const t = table([1, 1, 1, 1]);
  assert.equal(quorumVotes(t), 3);
  assert.equal(isQuorate(t, [1, 2, 3]), true);
  assert.equal(isQuorate(t, [1, 2]), false);
  assert.equal(isQuorate(t, [3, 4]), false);
});

test('5 nodes: quorum is 3 votes', () => {
  const t = table([1, 1, 1, 1, 1]);
  assert.equal(quorumVotes(t), 3);
  assert.equal(isQuorate(t, [3, 4, 5]), true);
  assert.equal(isQuorate(t, [1, 2]), false);
});

test('duplicate ids are counted once', () => {
  const t = table([1, 1, 1]);
  assert.equal(votesOf(t, [1, 1, 1]), 1);
  assert.equal(isQuorate(t, [1, 1]), false);
});

test("a witness's vote counts toward quorum like any other vote", () => {
  // Two members (1, 2) and a witness (3): the vote table does not care about roles.
  const t = table([1, 1, 1]);
  assert.equal(isQuorate(t, [1, 3]), true);
  assert.equal(isQuorate(t, [2, 3]), true);
});

test('expected_votes larger than the node count raises the quorum', () => {
  // 3 nodes but 5 expected votes: quorum 3, so all three are needed.
  const t = table([1, 1, 1], 5);
  assert.equal(quorumVotes(t), 3);
  assert.equal(isQuorate(t, [1, 2]), false);
  assert.equal(isQuorate(t, [1, 2, 3]), true);
});

test('nodes with more than one vote count all of them', () => {
  const t = table([2, 1, 1]); // expected 4, quorum 3
  assert.equal(quorumVotes(t), 3);
  assert.equal(isQuorate(t, [1, 2]), true);
  assert.equal(isQuorate(t, [2, 3]), false);
});

test('two_node: the tie-breaker (lowest id with a vote) alone is quorate, the other alone is not', () => {
  const t = table([1, 1], 2, true);
  assert.equal(quorumVotes(t), 2);
  assert.equal(tieBreaker(t), 1);
  assert.equal(isQuorate(t, [1]), true);
  assert.equal(isQuorate(t, [2]), false);
  assert.equal(isQuorate(t, [1, 2]), true);
  assert.equal(isQuorate(t, []), false);
});

test('two_node: the tie-breaker skips a lower id with no vote', () => {
  const t: VoteTable = { votes: new Map([[1, 0], [5, 1], [7, 1]]), expected: 2, twoNode: true };
  assert.equal(tieBreaker(t), 5);
  assert.equal(isQuorate(t, [5]), true);
  assert.equal(isQuorate(t, [7]), false);
  assert.equal(isQuorate(t, [1, 7]), false, 'the vote-less node does not make 7 the tie-breaker');
});

test('without two_node a tie is not quorate even for the lowest id', () => {
  const t = table([1, 1], 2, false);
  assert.equal(isQuorate(t, [1]), false);
  assert.equal(isQuorate(t, [2]), false);
});

test('nodes with 0 votes add nothing', () => {
  const t = table([1, 1, 1, 0, 0]); // expected 3, quorum 2
  assert.equal(quorumVotes(t), 2);
  assert.equal(votesOf(t, [1, 4, 5]), 1);
  assert.equal(isQuorate(t, [1, 4, 5]), false);
  assert.equal(isQuorate(t, [1, 2, 4]), true);
});

test('unknown ids have no vote', () => {
  const t = table([1, 1, 1]);
  assert.equal(votesOf(t, [1, 99]), 1);
  assert.equal(isQuorate(t, [1, 99]), false);
});
