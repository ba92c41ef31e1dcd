// Defaults of the fencing: and hardware: sections, for a file that has neither: lease safety
// only (no watchdog, no devices), GPIO through the character device, no LED, no button.

import type { FencingConfig, HardwareConfig } from './types.ts';

export const WATCHDOG_DEFAULT_TIMEOUT_MS = 5000;

/** One attempt of a device gives up after this long (fencing.devices[].timeout). A relay
 *  and a plug on the LAN answer within a second; a script may do more (log in, retry). */
export const FENCE_DEVICE_DEFAULT_TIMEOUT_MS = { 'gpio-relay': 5000, 'http-plug': 5000, exec: 30000 } as const;

/** hardware.button.long_press: the Button class's default (src/devices/button.ts). */
export const BUTTON_DEFAULT_LONG_PRESS_MS = 3000;
/** active_low defaults as hardware/README.md wires them: LED anode on the pin (active-high),
 *  button to GND with the pull-up (active-low). A relay has no default (fencing.ts says why). */
export const LED_DEFAULT_ACTIVE_LOW = false;
export const BUTTON_DEFAULT_ACTIVE_LOW = true;

export function defaultFencing(): FencingConfig {
  return {
    stonithEnabled: false,
    action: 'reboot',
    offTimeMs: 5000,
    retryIntervalMs: 5000,
    watchdog: { enabled: false, device: '/dev/watchdog', timeoutMs: WATCHDOG_DEFAULT_TIMEOUT_MS },
    devices: [],
  };
}

export function defaultHardware(): HardwareConfig {
  return { gpio: { backend: 'chardev', simDir: '/run/piha/gpio-sim' } };
}
