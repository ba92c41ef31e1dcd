import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GC_EVERY_MS, fullGc, gcIntervalMs } from '../../src/daemon/heap.ts';
import { FAST, LAN, SLOW } from '../../src/config/profiles.ts';

test('periodic full GC: once a minute on lan and slow, every 300 heartbeats (7.5 s) on fast', () => {
  assert.equal(gcIntervalMs(LAN.heartbeatIntervalMs), GC_EVERY_MS);
  assert.equal(gcIntervalMs(SLOW.heartbeatIntervalMs), GC_EVERY_MS);
  assert.equal(gcIntervalMs(FAST.heartbeatIntervalMs), 7500);
  assert.equal(gcIntervalMs(50), 15_000);
});

test('fullGc hands over a working gc function without --expose-gc on the command line', () => {
  const gc = fullGc();
  assert.equal(typeof gc, 'function');
  gc!();
});
