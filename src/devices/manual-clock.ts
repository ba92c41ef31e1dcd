// A DeviceClock moved by hand, for tests and simulations: minutes of LED rhythm or button
// holding run in microseconds, and every timer runs with now() equal to its own due time
// (node:test's mock timers report the end of the whole tick instead, which blurs a rhythm).

import type { DeviceClock, TimerHandle } from './clock.ts';

interface Pending {
  id: number;
  at: number;
  fn: () => void;
}

export class ManualClock implements DeviceClock {
  private t: number;
  private seq = 0;
  private timers: Pending[] = [];

  constructor(startMs = 0) {
    this.t = startMs;
  }

  now(): number {
    return this.t;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const id = ++this.seq;
    this.timers.push({ id, at: this.t + Math.max(0, ms), fn });
    return id;
  }

  clearTimeout(handle: TimerHandle): void {
    this.timers = this.timers.filter((p) => p.id !== handle);
  }

  /** Timers not yet run. */
  get pending(): number {
    return this.timers.length;
  }

  /** Moves time forward by ms, running each timer that falls due at its due time, in order. */
  advance(ms: number): void {
    this.runUntil(this.t + ms, false);
  }

  /** Moves time forward by ms running nothing, as while the event loop is busy elsewhere. */
  jump(ms: number): void {
    this.t += ms;
  }

  /**
   * Moves time forward by ms as a blocked event loop would: nothing runs on the way, then every
   * timer that fell due runs late, all at the new now().
   */
  stall(ms: number): void {
    this.runUntil(this.t + ms, true);
  }

  private runUntil(end: number, late: boolean): void {
    for (;;) {
      let next: Pending | undefined;
      for (const p of this.timers) if (p.at <= end && (!next || p.at < next.at || (p.at === next.at && p.id < next.id))) next = p;
      if (!next) break;
      this.timers = this.timers.filter((p) => p !== next);
      this.t = late ? end : Math.max(this.t, next.at);
      next.fn();
    }
    this.t = end;
  }
}
