// What /status and the status page say the node's safety covers: derived
// from the configuration and from whether the profile has kernel address lifetimes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from '../../src/config/index.ts';
import { deriveTiming } from '../../src/core/timing.ts';
import { safetyInfo } from '../../src/daemon/safety.ts';

const NODES = `
nodes:
  - { name: pi1, id: 1, addr: 192.0.2.51 }
  - { name: pi2, id: 2, addr: 192.0.2.52 }
  - { name: pi3, id: 3, addr: 192.0.2.53 }
`;

function safety(yaml: string) {
  const { config, errors } = parseConfig(yaml + NODES);
  assert.deepEqual(errors, []);
  return safetyInfo(config!, deriveTiming(config!.cluster.timing).kernelLifetime);
}

test('lan, lease mode: the kernel lifetime is the second backstop, with its known lateness; a hung kernel is not covered', () => {
  const s = safety('cluster: { name: c }\n');
  assert.equal(s.mode, 'lease');
  assert.deepEqual(s.modes, ['lease']);
  assert.equal(s.kernelLifetime, true);
  const kernel = s.covers.filter((c) => c.includes('its lifetime runs out'));
  assert.equal(kernel.length, 1);
  // The removal can be ~1 s late (bench/kernel-lifetime.sh): the line must not promise more.
  assert.match(kernel[0]!, /^guard and daemon frozen together: .*up to ~1 s later if another address of its family changes/);
  assert.deepEqual(s.doesNotCover, ['a hung kernel (needs the watchdog or a fence device)']);
});

test('fast: no kernel lifetime, so a guard frozen with its daemon is said not to be covered', () => {
  const s = safety('cluster: { name: c, profile: fast }\n');
  assert.equal(s.kernelLifetime, false);
  assert.ok(!s.covers.some((c) => c.includes('lifetime')));
  assert.equal(s.doesNotCover.length, 2);
  assert.match(s.doesNotCover[1]!, /^guard and daemon frozen together .*profile fast has a lease too short/);
});

test('watchdog and a relay for one node: both modes listed, a hung kernel covered everywhere', () => {
  const s = safety(`cluster: { name: c }
fencing:
  stonith_enabled: true
  watchdog: { enabled: true, timeout: 5s }
  devices:
    - { name: relay-pi1, type: gpio-relay, hosts: [pi1], driver: pi2, line: 17, active_low: true }
`);
  assert.equal(s.mode, 'device');
  assert.deepEqual(s.modes, ['lease', 'watchdog', 'device']);
  assert.ok(s.covers.some((c) => c.startsWith('a hung kernel or a stalled daemon: the hardware watchdog resets the holder within 5 s')));
  assert.ok(s.covers.some((c) => c.endsWith('(stonith): pi1')));
  assert.ok(!s.covers.some((c) => c.startsWith('a failing fence device')), 'with the watchdog a failing device does not block');
  assert.deepEqual(s.doesNotCover, []);
});

test('a relay without the watchdog: the nodes it does not cover are named', () => {
  const s = safety(`cluster: { name: c }
fencing:
  stonith_enabled: true
  devices:
    - { name: relay-pi1, type: gpio-relay, hosts: [pi1], driver: pi2, line: 17, active_low: true }
`);
  assert.deepEqual(s.modes, ['lease', 'device']);
  assert.ok(s.covers.includes('a failing fence device blocks the takeover (retried, shown in status) rather than risking two holders'));
  assert.deepEqual(s.doesNotCover, ['a hung kernel on pi2, pi3 (needs the watchdog or a fence device)']);
});
