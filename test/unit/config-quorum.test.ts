import { test } from 'node:test';
import assert from 'node:assert/strict';
import { stringify } from 'yaml';
import { parseConfig, type ConfigError } from '../../src/config/index.ts';

type Obj = Record<string, any>;

/** n member nodes with the given votes, plus an optional quorum: section. */
function cfg(votes: number[], quorum?: Obj): Obj {
  const c: Obj = {
    cluster: { name: 'q' },
    nodes: votes.map((v, i) => ({ name: `n${i}`, id: i + 1, addr: `10.0.0.${i + 1}`, votes: v })),
  };
  if (quorum) c.quorum = quorum;
  return c;
}

function errorsOf(c: Obj): ConfigError[] {
  return parseConfig(stringify(c)).errors;
}

function expectOne(c: Obj, path: string, ...hints: string[]): void {
  const errors = errorsOf(c);
  assert.equal(errors.length, 1, errors.map((e) => `${e.path}: ${e.message}`).join('\n'));
  assert.equal(errors[0].path, path);
  for (const h of hints) assert.ok(errors[0].message.includes(h), `${errors[0].message} should contain ${h}`);
}

test('expected_votes defaults to the sum of votes', () => {
  const r = parseConfig(stringify(cfg([1, 1, 2])));
  assert.deepEqual(r.errors, []);
  assert.deepEqual(r.config!.quorum, { expectedVotes: 4, twoNode: false });
});

test('expected_votes so low that two groups could both be quorate is refused', () => {
  // E=2 -> q=2, T=4: {n0,n1} and {n2,n3} could each be quorate.
  expectOne(cfg([1, 1, 1, 1], { expected_votes: 2 }), 'quorum.expected_votes',
    'two disjoint groups could each be quorate', 'set expected_votes to at least 4');
  // E=1 -> q=1 with T=3.
  expectOne(cfg([1, 1, 1], { expected_votes: 1 }), 'quorum.expected_votes', 'set expected_votes to at least 2');
  // E=2 with T=3 is fine: q=2 and 2*2 > 3.
  assert.deepEqual(errorsOf(cfg([1, 1, 1], { expected_votes: 2 })), []);
});

test('expected_votes so high that quorum can never be reached is refused', () => {
  expectOne(cfg([1, 1, 1], { expected_votes: 6 }), 'quorum.expected_votes', 'never be quorate', 'set expected_votes: 3');
  // E=5 -> q=3 <= T=3: possible (all nodes needed), allowed.
  assert.deepEqual(errorsOf(cfg([1, 1, 1], { expected_votes: 5 })), []);
  expectOne(cfg([1, 1, 1], { expected_votes: 0 }), 'quorum.expected_votes', 'at least 1');
});

test('two_node follows corosync: exactly two voters with one vote each and expected_votes 2', () => {
  const ok = parseConfig(stringify(cfg([1, 1], { two_node: true })));
  assert.deepEqual(ok.errors, []);
  assert.deepEqual(ok.config!.quorum, { expectedVotes: 2, twoNode: true });
  // A non-voting third node does not count.
  assert.deepEqual(errorsOf(cfg([1, 1, 0], { two_node: true })), []);
  expectOne(cfg([1, 1, 1], { two_node: true }), 'quorum.two_node',
    'exactly two voting nodes of 1 vote each', "corosync's rule", 'n0 (1 vote), n1 (1 vote), n2 (1 vote)');
  expectOne(cfg([1, 2], { two_node: true }), 'quorum.two_node', 'n1 (2 votes)');
  expectOne(cfg([1, 1], { two_node: true, expected_votes: 3 }), 'quorum.expected_votes', 'must be 2 with two_node: true');
});

test('quorum arithmetic is skipped while votes are unreadable (one mistake, one error)', () => {
  const c = cfg([1, 1, 1], { expected_votes: 1 });
  c.nodes[0].votes = 'one';
  const errors = errorsOf(c);
  assert.deepEqual(errors.map((e) => e.path), ['nodes[0].votes']);
});
