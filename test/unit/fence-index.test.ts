// Which fence devices a node runs (runOn), and which devices cover a node (hosts), from a
// parsed configuration.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from '../../src/config/index.ts';
import type { GpioBackend } from '../../src/devices/gpio.ts';
import { createFenceDevices, devicesFor, ExecDevice, GpioRelayDevice, HttpPlugDevice } from '../../src/fence/index.ts';

const { config, errors } = parseConfig(`
cluster: { name: pis }
nodes:
  - { name: pi1, id: 1, addr: 192.168.0.51 }
  - { name: pi2, id: 2, addr: 192.168.0.52 }
  - { name: pi3, id: 3, addr: 192.168.0.53 }
fencing:
  devices:
    - { name: relay-pi2, type: gpio-relay, hosts: [pi2], driver: pi1, line: 17, active_low: true }
    - { name: relay-pi3, type: gpio-relay, hosts: [pi3], driver: pi2, line: 17, active_low: true }
    - { name: relay-pi1, type: gpio-relay, hosts: [pi1], driver: pi3, line: 17, active_low: true }
    - { name: plug-pi3, type: http-plug, hosts: [pi3], api: tasmota, url: "http://192.168.0.63" }
    - { name: script, type: exec, hosts: [pi1], run_on: [pi2], command: /usr/local/sbin/fence-x }
`);

/** Devices request lines lazily: creating them must not touch the GPIO backend. */
const unusedGpio: GpioBackend = {
  output: async () => {
    throw new Error('not used');
  },
  input: async () => {
    throw new Error('not used');
  },
};

test('createFenceDevices: only the devices this node may run, in file order', () => {
  assert.deepEqual(errors, []);
  const fencing = config!.fencing;
  const pick = (self: string) => {
    let gpioCalls = 0;
    const devs = createFenceDevices(fencing, self, {
      gpio: () => {
        gpioCalls++;
        return unusedGpio;
      },
    });
    return { names: devs.map((d) => d.name), devs, gpioCalls };
  };
  const pi1 = pick('pi1');
  assert.deepEqual(pi1.names, ['relay-pi2', 'plug-pi3']);
  assert.ok(pi1.devs[0] instanceof GpioRelayDevice);
  assert.ok(pi1.devs[1] instanceof HttpPlugDevice);
  assert.equal(pi1.gpioCalls, 1);

  const pi2 = pick('pi2');
  assert.deepEqual(pi2.names, ['relay-pi3', 'plug-pi3', 'script']);
  assert.ok(pi2.devs[2] instanceof ExecDevice);
  assert.equal(pi2.gpioCalls, 1, 'one backend shared');

  const pi3 = pick('pi3');
  assert.deepEqual(pi3.names, ['relay-pi1'], 'a node never runs a device that fences itself');
  assert.equal(pick('nas').gpioCalls, 0, 'no GPIO backend without a relay to drive');
  assert.deepEqual(pick('nas').names, []);
  for (const d of pi2.devs) assert.ok(d.hosts.every((h) => h !== 'pi2'));
});

test('devicesFor: the configured devices covering a node', () => {
  const fencing = config!.fencing;
  assert.deepEqual(devicesFor(fencing, 'pi3').map((d) => d.name), ['relay-pi3', 'plug-pi3']);
  assert.deepEqual(devicesFor(fencing, 'pi1').map((d) => d.name), ['relay-pi1', 'script']);
  assert.deepEqual(devicesFor(fencing, 'nas'), []);
});
