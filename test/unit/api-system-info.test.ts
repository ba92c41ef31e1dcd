import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { SystemFacts } from '../../src/api/status-types.ts';
import { createSystemInfoCache, osFacts, sampleSystem } from '../../src/api/system-info.ts';

const facts = (load1: number): SystemFacts => ({ ...osFacts(), load1, cpuTempC: 40 });
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

test('serves os facts at once, then refreshes in the background', async () => {
  let calls = 0;
  const cache = createSystemInfoCache({ intervalMs: 20, sampler: async () => facts(++calls) });
  try {
    assert.equal(typeof cache.get().hostname, 'string'); // before any sample
    for (let i = 0; i < 100 && calls < 3; i++) await sleep(20); // a busy machine runs timers late
    assert.ok(calls >= 3, `calls=${calls}`);
    assert.equal(cache.get().load1, calls);
  } finally {
    cache.stop();
  }
});

test('a failing sampler keeps the last good facts; one sample at a time', async () => {
  let fail = false;
  let calls = 0;
  const cache = createSystemInfoCache({
    intervalMs: 60_000,
    sampler: async () => {
      calls++;
      if (fail) throw new Error('sensor gone');
      await sleep(20);
      return facts(7);
    },
  });
  try {
    await Promise.all([cache.refresh(), cache.refresh(), cache.refresh()]);
    assert.equal(calls, 1); // the first refresh (from start) was still in flight
    assert.equal(cache.get().load1, 7);
    fail = true;
    await cache.refresh();
    assert.equal(cache.get().load1, 7);
  } finally {
    cache.stop();
  }
});

test('a hung sampler is given up on after the timeout', async () => {
  let calls = 0;
  const cache = createSystemInfoCache({
    intervalMs: 60_000,
    timeoutMs: 30,
    sampler: () => (++calls === 1 ? new Promise<SystemFacts>(() => {}) : Promise.resolve(facts(3))),
  });
  // The cache's timers are unref'd (it never keeps a process alive); hold the loop open here.
  const hold = setTimeout(() => {}, 5000);
  try {
    await cache.refresh(); // resolves via the timeout
    await cache.refresh();
    assert.equal(calls, 2);
    assert.equal(cache.get().load1, 3);
  } finally {
    clearTimeout(hold);
    cache.stop();
  }
});

test('the real sampler returns sane numbers', async () => {
  const f = await sampleSystem();
  assert.ok(f.memTotalBytes > 0 && f.memAvailableBytes > 0 && f.memAvailableBytes <= f.memTotalBytes);
  assert.ok(f.uptimeSec >= 0);
  assert.ok(f.cpuTempC === null || (f.cpuTempC > -50 && f.cpuTempC < 150));
});

test('lazy cache samples only when read and stale, never on a timer', async () => {
  let calls = 0;
  const sampler = async () => {
    calls++;
    return facts(calls);
  };
  // 500 ms: the two reads below that must find fresh facts are a few ms apart even on a busy machine
  const c = createSystemInfoCache({ lazy: true, intervalMs: 500, sampler });
  const hold = setInterval(() => {}, 1000); // the cache's timers never keep the loop alive
  try {
    await new Promise((r) => setTimeout(r, 10));
    assert.equal(calls, 1, 'one sample at start');
    await new Promise((r) => setTimeout(r, 700)); // past the interval: the facts are stale
    assert.equal(calls, 1, 'no timer-driven samples while nobody reads');
    c.get();
    await new Promise((r) => setTimeout(r, 10));
    assert.equal(calls, 2, 'a read of stale facts triggers one sample');
    c.get();
    await new Promise((r) => setTimeout(r, 10));
    assert.equal(calls, 2, 'fresh facts: no new sample');
  } finally {
    clearInterval(hold);
    c.stop();
  }
});
