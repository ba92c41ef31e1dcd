// Defaults of the fencing: and hardware: sections, for a file that has neither: lease safety
// only (no watchdog, no devices), GPIO through the character device, no LED, no button.

import type { FencingConfig, HardwareConfig } from './types.ts';

export const WATCHDOG_DEFAULT_TIMEOUT_MS = 5000;

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
