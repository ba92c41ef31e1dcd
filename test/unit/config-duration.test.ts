import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { formatDuration, parseDuration } from '../../src/config/index.ts';
import { editDistance, closest, didYouMean } from '../../src/config/suggest.ts';

test('parseDuration reads ms, s, m, h, decimals and compounds', () => {
  assert.equal(parseDuration('100ms'), 100);
  assert.equal(parseDuration('5s'), 5000);
  assert.equal(parseDuration('1m'), 60000);
  assert.equal(parseDuration('1.5s'), 1500);
  assert.equal(parseDuration('1.35s'), 1350);
  assert.equal(parseDuration('1m30s'), 90000);
  assert.equal(parseDuration('1h'), 3600000);
  assert.equal(parseDuration('0'), 0);
  assert.equal(parseDuration('0s'), 0);
  assert.equal(parseDuration(' 2s '), 2000);
});

test('parseDuration refuses bad input with a message that says how to fix it', () => {
  assert.throws(() => parseDuration('100'), /"100" has no unit \(add a unit: 100ms or 100s\)/);
  assert.throws(() => parseDuration('fast'), /"fast" is not a duration \(write a number and a unit/);
  assert.throws(() => parseDuration('-1s'), /negative/);
  assert.throws(() => parseDuration('1h5'), /5 at the end has no unit/);
  assert.throws(() => parseDuration('1s1m'), /largest first/);
  assert.throws(() => parseDuration('1.5ms'), /finer than a millisecond/);
  assert.throws(() => parseDuration('30d'), /not a duration/);
  assert.throws(() => parseDuration('9999h'), /too long/);
  assert.throws(() => parseDuration(''), /not a duration/);
});

test('formatDuration gives short text', () => {
  assert.equal(formatDuration(0), '0s');
  assert.equal(formatDuration(100), '100ms');
  assert.equal(formatDuration(1000), '1s');
  assert.equal(formatDuration(1350), '1.35s');
  assert.equal(formatDuration(90000), '1m30s');
  assert.equal(formatDuration(3600000), '1h');
  assert.equal(formatDuration(3661001), '1h1m1.001s');
});

test('formatDuration output parses back to the same value', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 2_147_483_647 }), (ms) => parseDuration(formatDuration(ms)) === ms),
  );
});

test('edit distance and suggestions', () => {
  assert.equal(editDistance('kitten', 'sitting'), 3);
  assert.equal(editDistance('intreval', 'interval'), 1); // transposition counts once
  assert.equal(closest('heartbeat_intervl', ['name', 'heartbeat_interval', 'node_timeout']), 'heartbeat_interval');
  assert.equal(closest('heartbeatInterval', ['heartbeat_interval']), 'heartbeat_interval');
  assert.equal(closest('completely_different', ['name', 'port']), undefined);
  assert.equal(didYouMean('prot', ['port', 'profile']), ' (did you mean port?)');
  assert.equal(didYouMean('zzz', ['port']), '');
});
