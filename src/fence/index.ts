// From the fencing: configuration to the fence devices one node runs.
//
// Every node reads the same file, but a device runs only where it can work: a gpio-relay on
// the node whose header drives it, a plug or a script on the nodes in its runOn (by default
// every member except the ones it fences; a node never fences itself). The cluster picks, for a
// node to fence, a device covering it (devicesFor) that a healthy node can run.

import type { FenceDeviceConfig, FencingConfig } from '../config/types.ts';
import type { GpioBackend } from '../devices/gpio.ts';
import { ExecDevice } from './exec.ts';
import { GpioRelayDevice } from './gpio-relay.ts';
import { HttpPlugDevice, type FetchFn } from './http-plug.ts';
import type { FenceDevice } from './types.ts';

export { ExecDevice } from './exec.ts';
export { GpioRelayDevice } from './gpio-relay.ts';
export { HttpPlugDevice } from './http-plug.ts';
export { FenceError, type FenceDevice, type PowerState } from './types.ts';

export interface FenceDeps {
  /** This node's GPIO backend; called at most once, and only when a gpio-relay runs here. */
  gpio: () => GpioBackend;
  /** For http-plug devices; default the global fetch. */
  fetch?: FetchFn;
}

/** The devices this node (`selfName`) may run, in file order. */
export function createFenceDevices(fencing: FencingConfig, selfName: string, deps: FenceDeps): FenceDevice[] {
  let gpio: GpioBackend | undefined;
  const backend = (): GpioBackend => (gpio ??= deps.gpio());
  return fencing.devices
    .filter((d) => d.runOn.includes(selfName))
    .map((d): FenceDevice => {
      switch (d.type) {
        case 'gpio-relay':
          return new GpioRelayDevice(d, backend());
        case 'http-plug':
          return new HttpPlugDevice(d, deps.fetch ? { fetch: deps.fetch } : {});
        case 'exec':
          return new ExecDevice(d);
      }
    });
}

/** The configured devices that can fence `node` (it is in their hosts), in file order. */
export function devicesFor(fencing: FencingConfig, node: string): FenceDeviceConfig[] {
  return fencing.devices.filter((d) => d.hosts.includes(node));
}
