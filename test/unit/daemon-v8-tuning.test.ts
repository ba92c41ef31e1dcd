import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TURBOFAN_FROM_NODES, tuneV8ForCluster } from '../../src/daemon/v8-tuning.ts';

test('TurboFan is switched on from TURBOFAN_FROM_NODES nodes, and never over flags set by hand', () => {
  const calls: string[] = [];
  const set = (f: string) => calls.push(f);
  assert.equal(tuneV8ForCluster(3, {}, set), false);
  assert.equal(tuneV8ForCluster(TURBOFAN_FROM_NODES - 1, {}, set), false);
  assert.deepEqual(calls, []);
  assert.equal(tuneV8ForCluster(TURBOFAN_FROM_NODES, {}, set), true);
  assert.equal(tuneV8ForCluster(32, {}, set), true);
  assert.deepEqual(calls, ['--opt', '--opt']);
  assert.equal(tuneV8ForCluster(32, { PIHA_V8_FLAGS: '' }, set), false);
  assert.equal(tuneV8ForCluster(32, { PIHA_V8_FLAGS: '--no-opt' }, set), false);
  assert.equal(calls.length, 2);
});
