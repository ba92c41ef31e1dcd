// Small pure helpers shared by the GPIO backends (kept apart from gpio.ts so that the backends
// import only types from it and the factory there can import the backends without a cycle).

import type { Level, LineSpec } from './gpio.ts';

/** Logical ↔ physical: one XOR, the same in both directions. */
export const applyActiveLow = (v: Level, activeLow: boolean | undefined): Level =>
  (activeLow ? (v ^ 1) : v) as Level;

/** Parses "0"/"1" (with trailing whitespace) as the kernel and the tools print them; null otherwise. */
export function parseLevel(text: string): Level | null {
  const t = text.trim();
  return t === '0' ? 0 : t === '1' ? 1 : null;
}

/**
 * The offset a LineSpec names when it can be known without asking the kernel: a number, a
 * decimal string, or the Pi convention `GPIOn` (the header lines are named so on every model).
 */
export function lineOffset(line: number | string): number | null {
  if (typeof line === 'number') return Number.isInteger(line) && line >= 0 ? line : null;
  if (/^\d+$/.test(line)) return Number(line);
  const m = /^GPIO(\d+)$/i.exec(line);
  return m ? Number(m[1]) : null;
}

/** The labels of the chip carrying the 40-pin header, newest model first (Pi 5, Pi 4, Pi 0–3). */
export const PI_HEADER_CHIP_LABELS = ['pinctrl-rp1', 'pinctrl-bcm2711', 'pinctrl-bcm2835'] as const;

export function describeLine(spec: LineSpec): string {
  return `${spec.chip ?? '(header chip)'}:${spec.line}${spec.activeLow ? ' (active-low)' : ''}`;
}
