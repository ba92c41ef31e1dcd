// test/sim/digest.ts fingerprints the simulator's behaviour for refactors that must not change
// it: it has to be the same for the same runs and different for different ones.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { traceDigest } from '../sim/digest.ts';

test('the trace digest is the same for the same seeds and differs for others', () => {
  const a = traceDigest(1, 4, false);
  const b = traceDigest(1, 4, false);
  const c = traceDigest(2, 4, false);
  assert.ok(a.lines > 0);
  assert.equal(a.digest, b.digest);
  assert.equal(a.lines, b.lines);
  assert.notEqual(a.digest, c.digest);
});
