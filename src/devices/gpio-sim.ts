// Simulated GPIO: a directory of plain files, `<dir>/<chip>/<offset>`, each holding the PHYSICAL
// level of one pin, "0\n" or "1\n" (what a meter on the pin would read; activeLow applies on
// top, as on a Pi). Outputs write their file; inputs poll theirs. Tests and the lab play the
// hardware by writing the files (writeSimLine: a button press, a relay coil read back).
//
// Inputs poll (every 10 ms by default; poller.ts says why not fs.watch). Reading a few tiny
// files every 10 ms costs nothing and is far below the button's 50 ms debounce.

import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { monotonicNow } from '../daemon/clock.ts';
import type { Bias, GpioBackend, GpioInputLine, GpioLine, Level, LineSpec, WatchCallback } from './gpio.ts';
import { applyActiveLow, describeLine, lineOffset, parseLevel } from './gpio-util.ts';
import { InputPoller } from './poller.ts';

export interface SimGpioOptions {
  /** The directory of line files. */
  dir: string;
  /** Input polling period (default 10 ms). 0: no timer; the caller drives pollNow() (tests). */
  pollMs?: number;
  /** Clock for the tMs of watch callbacks (default CLOCK_MONOTONIC ms, as the kernel stamps edges). */
  now?: () => number;
}

export const SIM_DEFAULT_CHIP = 'gpiochip0';

/** The file that holds a line. Names that are not GPIOn/offsets are used as file names. */
export function simLinePath(dir: string, spec: Pick<LineSpec, 'chip' | 'line'>): string {
  const chip = spec.chip ?? SIM_DEFAULT_CHIP;
  const offset = lineOffset(spec.line);
  const name = offset !== null ? String(offset) : String(spec.line);
  for (const part of [chip, name]) {
    // A spec comes from the config file: never let it name a path outside the sim directory.
    if (part === '' || part === '.' || part === '..' || /[/\\\0]/.test(part)) {
      throw new Error(`sim GPIO: invalid chip or line name '${part}'`);
    }
  }
  return path.join(dir, chip, name);
}

/** Writes a PHYSICAL level atomically (temp file + rename), so a poller never reads a half-written file. */
export async function writeSimLevel(file: string, physical: Level): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  await fs.writeFile(tmp, `${physical}\n`);
  await fs.rename(tmp, file);
}

/** The PHYSICAL level in a line file, or null when missing or unparsable (e.g. mid `echo 1 >`). */
export async function readSimLevel(file: string): Promise<Level | null> {
  try {
    return parseLevel(await fs.readFile(file, 'utf8'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

/** For tests and the lab: set a pin as the hardware would (physical level). */
export const writeSimLine = (dir: string, spec: Pick<LineSpec, 'chip' | 'line'>, physical: Level): Promise<void> =>
  writeSimLevel(simLinePath(dir, spec), physical);

/** For tests and the lab: what a meter on the pin reads (physical level), null if never written. */
export const readSimLine = (dir: string, spec: Pick<LineSpec, 'chip' | 'line'>): Promise<Level | null> =>
  readSimLevel(simLinePath(dir, spec));

export class SimGpio implements GpioBackend {
  readonly dir: string;
  readonly now: () => number;
  private readonly poller: InputPoller;
  // Like the chardev API, a line has one owner at a time: a second request is refused (EBUSY),
  // which catches an LED and a relay configured on the same pin before it reaches hardware.
  private readonly claimed = new Set<string>();

  constructor(opts: SimGpioOptions) {
    this.dir = opts.dir;
    this.poller = new InputPoller(opts.pollMs ?? 10);
    this.now = opts.now ?? monotonicNow;
  }

  async output(spec: LineSpec, initial: Level): Promise<GpioLine> {
    const file = this.claim(spec);
    try {
      await writeSimLevel(file, applyActiveLow(initial, spec.activeLow));
    } catch (err) {
      this.release(file);
      throw err;
    }
    return new SimOutput(file, spec.activeLow ?? false, initial, () => this.release(file));
  }

  async input(spec: LineSpec, opts: { bias?: Bias } = {}): Promise<GpioInputLine> {
    const file = this.claim(spec);
    try {
      // A pin nobody drives reads its bias: with a pull-up an open button reads 1.
      // 'wx' leaves a level the lab already wrote alone.
      await fs.mkdir(path.dirname(file), { recursive: true });
      await fs.writeFile(file, `${opts.bias === 'pull-up' ? 1 : 0}\n`, { flag: 'wx' }).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'EEXIST') throw err;
      });
      const physical = (await readSimLevel(file)) ?? 0;
      const line = new SimInput(file, spec.activeLow ?? false, applyActiveLow(physical, spec.activeLow), this);
      this.poller.add(line);
      return line;
    } catch (err) {
      this.release(file);
      throw err;
    }
  }

  /** Reads every open input once and reports changes (what the timer does every pollMs). */
  pollNow(): Promise<void> {
    return this.poller.pollNow();
  }

  /** @internal called by SimInput.close */
  removeInput(line: SimInput, file: string): void {
    this.poller.remove(line);
    this.release(file);
  }

  private claim(spec: LineSpec): string {
    const file = simLinePath(this.dir, spec);
    if (this.claimed.has(file)) throw new Error(`sim GPIO: line ${describeLine(spec)} is busy (already requested)`);
    this.claimed.add(file);
    return file;
  }

  private release(file: string): void {
    this.claimed.delete(file);
  }
}

class SimOutput implements GpioLine {
  private queue: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(
    private readonly file: string,
    private readonly activeLow: boolean,
    private value: Level,
    private readonly onClose: () => void,
  ) {}

  set(v: Level): Promise<void> {
    if (this.closed) return Promise.reject(new Error(`sim GPIO: set on closed line ${this.file}`));
    this.value = v;
    // Writes are chained so two quick set() calls land in call order.
    const write = this.queue.then(() => writeSimLevel(this.file, applyActiveLow(v, this.activeLow)));
    this.queue = write.catch(() => {});
    return write;
  }

  async get(): Promise<Level> {
    const physical = await readSimLevel(this.file);
    return physical === null ? this.value : applyActiveLow(physical, this.activeLow);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.queue;
    // The file keeps its last level, as a Pi pin keeps its level after release
    // (pinctrl persist_gpio_outputs, the Raspberry Pi kernel default).
    this.onClose();
  }
}

class SimInput implements GpioInputLine {
  private readonly callbacks = new Set<WatchCallback>();
  private closed = false;

  constructor(
    private readonly file: string,
    private readonly activeLow: boolean,
    private last: Level,
    private readonly backend: SimGpio,
  ) {}

  async set(): Promise<void> {
    throw new Error(`sim GPIO: ${this.file} is an input`);
  }

  async get(): Promise<Level> {
    if (this.closed) throw new Error(`sim GPIO: get on closed line ${this.file}`);
    const physical = await readSimLevel(this.file);
    return physical === null ? this.last : applyActiveLow(physical, this.activeLow);
  }

  watch(cb: WatchCallback): () => void {
    this.callbacks.add(cb);
    return () => {
      this.callbacks.delete(cb);
    };
  }

  /** @internal one poll: report a change of the logical level. */
  async poll(): Promise<void> {
    if (this.closed) return;
    const physical = await readSimLevel(this.file);
    if (physical === null || this.closed) return;
    const v = applyActiveLow(physical, this.activeLow);
    if (v === this.last) return;
    this.last = v;
    const t = this.backend.now();
    for (const cb of [...this.callbacks]) cb(v, t);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.callbacks.clear();
    this.backend.removeInput(this, this.file);
  }
}
