// One GPIO interface for the daemon, three backends behind it:
//   sim     — plain files, one per line; tests and the lab flip them to act as hardware
//   chardev — /dev/gpiochipN through the libgpiod command-line tools (the supported kernel API)
//   sysfs   — legacy /sys/class/gpio, for old images only (deprecated upstream)
// Values are LOGICAL everywhere: with activeLow, set(1) drives the pin low. The relay and
// button wiring in hardware/README.md is active-low, so callers think in "on"/"pressed".

import { ChardevGpio, type ChardevGpioOptions } from './gpio-chardev.ts';
import { SimGpio, type SimGpioOptions } from './gpio-sim.ts';
import { SysfsGpio, type SysfsGpioOptions } from './gpio-sysfs.ts';

// Helpers live in gpio-util.ts so the backends need only type imports from this file (no cycle).
export { applyActiveLow, describeLine, lineOffset, parseLevel, PI_HEADER_CHIP_LABELS } from './gpio-util.ts';

export type Level = 0 | 1;

export interface LineSpec {
  /** Chip label (`pinctrl-bcm2711`, `pinctrl-rp1`) or name (`gpiochipN`); default: the Pi header chip. */
  chip?: string;
  /** Offset on the chip (17) or line name (`GPIO17`). On a Pi the offset is the BCM number. */
  line: number | string;
  activeLow?: boolean;
}

export type Bias = 'pull-up' | 'pull-down' | 'disable';

export interface GpioLine {
  set(v: Level): Promise<void>;
  get(): Promise<Level>;
  close(): Promise<void>;
}

/** `tMs`: CLOCK_MONOTONIC milliseconds of the edge (kernel timestamp where the backend has one). */
export type WatchCallback = (v: Level, tMs: number) => void;

export interface GpioInputLine extends GpioLine {
  /** Called on each change of the logical value; returns an unsubscribe function. */
  watch(cb: WatchCallback): () => void;
}

export interface GpioBackend {
  output(line: LineSpec, initial: Level): Promise<GpioLine>;
  input(line: LineSpec, opts: { bias?: Bias }): Promise<GpioInputLine>;
}

export type GpioKind = 'sim' | 'chardev' | 'sysfs';

export type CreateGpioOptions<K extends GpioKind> = K extends 'sim'
  ? SimGpioOptions
  : K extends 'chardev'
    ? ChardevGpioOptions
    : SysfsGpioOptions;

export function createGpio<K extends GpioKind>(kind: K, opts: CreateGpioOptions<K>): GpioBackend {
  switch (kind) {
    case 'sim':
      return new SimGpio(opts as SimGpioOptions);
    case 'chardev':
      return new ChardevGpio(opts as ChardevGpioOptions);
    case 'sysfs':
      return new SysfsGpio(opts as SysfsGpioOptions);
    default:
      throw new Error(`unknown GPIO backend '${String(kind)}' (expected sim, chardev or sysfs)`);
  }
}
