// The status LED: what a node is doing, readable from across the room without a screen.
//   solid  — holds a VIP
//   slow   — member with quorum, holds nothing (1 Hz)
//   fast   — no quorum: will not take a VIP (4 Hz)
//   double — fault or fencing in progress: two short blinks each second
//   off    — daemon stopped
// Distinct rhythms rather than colours, so a single cheap LED on one GPIO is enough.

import { realClock, type DeviceClock, type TimerHandle } from './clock.ts';
import type { GpioLine, Level } from './gpio.ts';

export type LedPattern = 'solid' | 'slow' | 'fast' | 'double' | 'off';

/** One step: drive `level` for `ms`. A single step with ms Infinity is a steady state. */
export type LedStep = readonly [level: Level, ms: number];

export const LED_PATTERNS: Readonly<Record<LedPattern, readonly LedStep[]>> = {
  solid: [[1, Infinity]],
  off: [[0, Infinity]],
  slow: [
    [1, 500],
    [0, 500],
  ],
  fast: [
    [1, 125],
    [0, 125],
  ],
  // 100 ms flashes are easy to tell from the 4 Hz blink even in the corner of an eye.
  double: [
    [1, 100],
    [0, 150],
    [1, 100],
    [0, 650],
  ],
};

/** The pattern for a node's state; fault wins, then VIP, then quorum. */
export function ledPatternFor(s: { running: boolean; fault: boolean; holdsVip: boolean; quorate: boolean }): LedPattern {
  if (!s.running) return 'off';
  if (s.fault) return 'double';
  if (s.holdsVip) return 'solid';
  return s.quorate ? 'slow' : 'fast';
}

export interface StatusLedOptions {
  clock?: DeviceClock;
  /** A failed write (the LED is cosmetic: reported, never thrown into the daemon's loop). */
  onError?: (err: unknown) => void;
}

export class StatusLed {
  private readonly clock: DeviceClock;
  private readonly onError: (err: unknown) => void;
  private current: LedPattern | null = null;
  private step = 0;
  /** When the current step is due to end, on the clock: steps are scheduled from here, not
   *  from "now", so timer lateness does not accumulate into a drifting rhythm. */
  private due = 0;
  private timer: TimerHandle | null = null;
  private desired: Level = 0;
  private written: Level | null = null;
  private writing: Promise<void> | null = null;
  private closed = false;

  constructor(
    private readonly line: GpioLine,
    opts: StatusLedOptions = {},
  ) {
    this.clock = opts.clock ?? realClock;
    this.onError = opts.onError ?? (() => {});
  }

  get pattern(): LedPattern | null {
    return this.current;
  }

  /** Switches pattern (restarting its rhythm); the same pattern again changes nothing. */
  set(pattern: LedPattern): void {
    if (this.closed || pattern === this.current) return;
    this.current = pattern;
    this.cancel();
    this.step = 0;
    this.due = this.clock.now();
    this.enter();
  }

  /** Stops blinking, turns the LED off and releases the line. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.cancel();
    this.drive(0);
    this.closed = true;
    await this.idle();
    await this.line.close();
  }

  /** Resolves when the writes asked for so far are done (tests; close). */
  async idle(): Promise<void> {
    while (this.writing) await this.writing;
  }

  private enter(): void {
    const steps = LED_PATTERNS[this.current ?? 'off'];
    const [level, ms] = steps[this.step % steps.length];
    this.drive(level);
    if (!Number.isFinite(ms)) return;
    this.due += ms;
    this.timer = this.clock.setTimeout(
      () => {
        this.timer = null;
        this.step = (this.step + 1) % steps.length;
        this.enter();
      },
      Math.max(0, this.due - this.clock.now()),
    );
  }

  private cancel(): void {
    if (this.timer !== null) this.clock.clearTimeout(this.timer);
    this.timer = null;
  }

  /**
   * Records the level and starts one writer if none runs. A slow backend (a v1 gpioset restart
   * per change) then skips stale levels instead of queueing them: the LED shows the latest.
   */
  private drive(level: Level): void {
    this.desired = level;
    if (!this.writing && !this.closed) this.writing = this.flush();
  }

  private async flush(): Promise<void> {
    try {
      while (this.written !== this.desired) {
        const level = this.desired;
        await this.line.set(level);
        this.written = level;
      }
    } catch (err) {
      this.written = null; // unknown: the next change retries
      this.onError(err);
    } finally {
      this.writing = null;
    }
  }
}
