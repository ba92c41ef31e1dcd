// The timers the device layer schedules with (LED blink steps, button debounce and long-press).
// Injected rather than called directly so tests can drive minutes of blinking with node:test's
// mock timers, or a hand-made fake clock, in microseconds. The default is the daemon's clock:
// CLOCK_MONOTONIC in ms, which an NTP step on an RTC-less Pi cannot move.

import { monotonicNow } from '../daemon/clock.ts';

export type TimerHandle = unknown;

export interface DeviceClock {
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

// The globals are looked up at call time (not captured at import) so node:test's
// `t.mock.timers` also takes over a clock built from this one.
export const realClock: DeviceClock = {
  now: monotonicNow,
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};
