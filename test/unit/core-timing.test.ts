import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deriveTiming, kernelLifetime, takeoverBoundMs } from '../../src/core/timing.ts';
import type { TimingConfig } from '../../src/config/types.ts';
import { FAST, LAN } from './core-helpers.ts';
import { LAN as LAN_PROFILE, SLOW as SLOW_PROFILE } from '../../src/config/profiles.ts';

test('promise = ceil(L(1+ρ)/(1-ρ)) + 1 (lan: 1379 ms)', () => {
  const d = deriveTiming(LAN);
  assert.equal(d.promiseMs, Math.ceil((1350 * 1.01) / 0.99) + 1);
  assert.equal(d.promiseMs, 1379);
});

test('the promise outlasts the lease in real time: P/(1+ρ) ≥ L/(1-ρ) for many timings', () => {
  for (const leaseMs of [1, 7, 200, 999, 1350, 3000, 12_345, 60_000]) {
    for (const clockDrift of [0, 0.0001, 0.001, 0.01, 0.05, 0.1, 0.3]) {
      const d = deriveTiming({ ...LAN, leaseMs, clockDrift });
      const exact = (leaseMs / (1 - clockDrift)) * (1 + clockDrift);
      assert.ok(d.promiseMs >= exact, `L=${leaseMs} ρ=${clockDrift}: ${d.promiseMs} < ${exact}`);
      assert.ok(d.promiseMs / (1 + clockDrift) >= leaseMs / (1 - clockDrift));
      assert.ok(Number.isInteger(d.promiseMs));
      assert.equal(d.promiseMs, Math.ceil((leaseMs * (1 + clockDrift)) / (1 - clockDrift)) + 1);
    }
  }
});

test('with no drift the promise is the lease plus 1 ms', () => {
  assert.equal(deriveTiming({ ...LAN, clockDrift: 0 }).promiseMs, 1351);
});

test('deriveTiming copies the configured timings and the fence wait', () => {
  const d = deriveTiming(LAN, 5000);
  assert.equal(d.heartbeatMs, 100);
  assert.equal(d.nodeTimeoutMs, 1000);
  assert.equal(d.leaseMs, 1350);
  assert.equal(d.releaseMarginMs, 100);
  assert.equal(d.kernelSlackMs, 300);
  assert.equal(d.fenceWaitMs, 5000);
  assert.equal(deriveTiming(LAN).fenceWaitMs, 0);
});

test('refreshes leave the last 3 heartbeats and 600 ms of a fresh lifetime for tries, never closer than 200 ms or a heartbeat', () => {
  assert.equal(deriveTiming(LAN_PROFILE).refreshEveryMs, 400); // 1 s lifetime, 200 ms rounds: tries at 400, 600, 800
  assert.equal(deriveTiming(SLOW_PROFILE).refreshEveryMs, 1250); // 2 s lifetime, 250 ms rounds
  assert.equal(deriveTiming(FAST).refreshEveryMs, 200); // no kernel lifetime: unused
  assert.equal(deriveTiming({ ...LAN, heartbeatIntervalMs: 250 }).refreshEveryMs, 250);
  assert.equal(deriveTiming({ ...LAN, heartbeatIntervalMs: 100 }).refreshEveryMs, 400);
  assert.equal(deriveTiming({ ...LAN, heartbeatIntervalMs: 500 }).refreshEveryMs, 500);
  assert.equal(deriveTiming({ ...LAN, leaseMs: 5300 }).refreshEveryMs, 4400);
  // Every profile keeps at least 3 tries before a lifetime taken from a fresh grant runs out.
  for (const t of [LAN_PROFILE, SLOW_PROFILE, LAN]) {
    const d = deriveTiming(t);
    const v = Math.floor((t.leaseMs - t.kernelLifetimeSlackMs) / 1000) * 1000;
    assert.ok(Math.floor((v - d.refreshEveryMs - 50) / t.heartbeatIntervalMs) + 1 >= 3, JSON.stringify(t));
  }
});

test('lan profile (100/1000/1350/0.01/100/300) uses a kernel lifetime', () => {
  assert.equal(deriveTiming(LAN).kernelLifetime, true);
});

test('fast profile (25/150/200) is too short for a whole-second kernel lifetime', () => {
  assert.equal(deriveTiming(FAST).kernelLifetime, false);
});

test('kernel lifetime needs leaseMs - slack ≥ 1000 exactly', () => {
  assert.equal(deriveTiming({ ...LAN, leaseMs: 1300, kernelLifetimeSlackMs: 300 }).kernelLifetime, true);
  assert.equal(deriveTiming({ ...LAN, leaseMs: 1299, kernelLifetimeSlackMs: 300 }).kernelLifetime, false);
});

test('kernelLifetime: V = floor((leaseEnd - now - slack)/1000)', () => {
  const d = deriveTiming(LAN);
  assert.deepEqual(kernelLifetime(d, 10_000, 8_000), { validLftSec: 1, notAfter: 8_700 });
  assert.deepEqual(kernelLifetime(d, 10_000, 5_000), { validLftSec: 4, notAfter: 5_700 });
  assert.equal(kernelLifetime(d, 10_000, 8_700)!.validLftSec, 1);
});

test('kernelLifetime: notAfter + V·1000 + slack == leaseEnd, and notAfter is not before now', () => {
  const d = deriveTiming(LAN);
  for (const leaseEnd of [1_300, 5_000, 10_001, 123_456.5]) {
    for (let now = 0; now < leaseEnd; now += 37) {
      const k = kernelLifetime(d, leaseEnd, now);
      if (!k) continue;
      assert.equal(k.validLftSec, Math.floor((leaseEnd - now - d.kernelSlackMs) / 1000));
      assert.equal(k.notAfter + k.validLftSec * 1000 + d.kernelSlackMs, leaseEnd);
      assert.ok(k.notAfter >= now, 'a lifetime computed now can be applied now');
      assert.ok(k.validLftSec >= 1);
      // Applied as late as allowed, the kernel still drops the address by the lease end.
      assert.ok(k.notAfter + k.validLftSec * 1000 + d.kernelSlackMs <= leaseEnd);
    }
  }
});

test('kernelLifetime is null when less than one second plus the slack is left', () => {
  const d = deriveTiming(LAN);
  assert.equal(kernelLifetime(d, 10_000, 8_701), null);
  assert.equal(kernelLifetime(d, 10_000, 9_999), null);
  assert.equal(kernelLifetime(d, 10_000, 10_000), null);
  assert.equal(kernelLifetime(d, 10_000, 12_000), null);
  assert.notEqual(kernelLifetime(d, 10_000, 8_700), null);
});

test('takeover bound covers the promise plus the fence wait and the failure detection', () => {
  const t: TimingConfig = LAN;
  const d = deriveTiming(t);
  const b = takeoverBoundMs(d, 5);
  assert.ok(b >= d.promiseMs + d.heartbeatMs);
  assert.ok(b >= d.nodeTimeoutMs + 2 * d.heartbeatMs);
  const w = deriveTiming(t, 10_000);
  assert.ok(takeoverBoundMs(w, 5) >= w.promiseMs + 10_000);
});
