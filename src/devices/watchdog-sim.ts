// A simulated hardware watchdog for tests and the lab. Its whole state is one small JSON file,
// rewritten on every pet, so ANOTHER process (the lab harness) can decide that a node whose
// pets stopped has "reset", and then kill and restart it as the hardware would.
//
// Timestamps are CLOCK_MONOTONIC ms (src/daemon/clock.ts): system-wide, so the daemon writing
// the file and the harness reading it compare the same clock. Rules follow the kernel's:
// open arms and counts as a pet; close without the magic 'V' (or with nowayout) stays armed.

import fs from 'node:fs';
import { monotonicNow } from '../daemon/clock.ts';
import type { Watchdog } from './watchdog.ts';

export interface SimWatchdogState {
  armed: boolean;
  timeoutSec: number;
  /** CLOCK_MONOTONIC ms of the last pet (or of the open). */
  lastPetMs: number;
  pets: number;
  nowayout: boolean;
}

export interface SimWatchdogOptions {
  /** The state file. */
  path: string;
  timeoutSec: number;
  /** Like CONFIG_WATCHDOG_NOWAYOUT: a magic close does not disarm. */
  nowayout?: boolean;
  now?: () => number;
}

/** A watchdog fires once it is armed and its last pet is more than timeoutSec old. */
export function simWatchdogFired(state: SimWatchdogState | null, nowMs: number): boolean {
  return state !== null && state.armed && nowMs - state.lastPetMs > state.timeoutSec * 1000;
}

/** The state another process wrote; null if the node never opened its watchdog. */
export function readSimWatchdog(file: string): SimWatchdogState | null {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as SimWatchdogState;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

export class SimWatchdog implements Watchdog {
  readonly path: string;
  readonly timeoutSec: number;
  private readonly now: () => number;
  private readonly nowayout: boolean;
  private state: SimWatchdogState | null = null;
  private open_ = false;

  constructor(opts: SimWatchdogOptions) {
    this.path = opts.path;
    this.timeoutSec = opts.timeoutSec;
    this.nowayout = opts.nowayout ?? false;
    this.now = opts.now ?? monotonicNow;
  }

  async open(): Promise<void> {
    if (this.open_) return;
    this.open_ = true;
    this.state = { armed: true, timeoutSec: this.timeoutSec, lastPetMs: this.now(), pets: 0, nowayout: this.nowayout };
    this.save();
  }

  pet(): void {
    if (!this.open_ || !this.state) throw new Error(`sim watchdog ${this.path} is not open`);
    this.state.lastPetMs = this.now();
    this.state.pets++;
    this.save();
  }

  async close(magic: boolean): Promise<void> {
    if (!this.open_ || !this.state) return;
    this.open_ = false;
    if (magic && !this.nowayout) {
      this.state.armed = false;
      this.save();
    }
  }

  /** Would the hardware have reset the node by now? */
  fired(nowMs: number = this.now()): boolean {
    return simWatchdogFired(this.state, nowMs);
  }

  get pets(): number {
    return this.state?.pets ?? 0;
  }

  // Temp file + rename: a reader in another process never sees a half-written file.
  private save(): void {
    const tmp = `${this.path}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(this.state));
    fs.renameSync(tmp, this.path);
  }
}
