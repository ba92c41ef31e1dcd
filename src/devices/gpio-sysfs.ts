// Legacy sysfs GPIO (/sys/class/gpio: export, direction, value). Deprecated upstream and missing
// from kernels built without CONFIG_GPIO_SYSFS; here for images that still have it. Prefer chardev.
//
// Numbering: sysfs takes GLOBAL numbers, chip base + offset. For years the Pi's header chip had
// base 0, so BCM 17 was gpio17 and scripts hard-coded it. From kernel 6.6 on, gpiolib gives
// chips dynamic bases starting at 512 and the Pi's pinctrl driver no longer claims base 0:
// gpiochip0 has base 512 and BCM 17 is gpio529. So the base is read from
// `<root>/gpiochipB/base`, which is right on both old and new kernels.
// The sysfs chip directories are named after their BASE (gpiochip512), not after the chardev
// /dev/gpiochipN index, so chips are found by `label` (or by `device/gpiochipN`).
//
// Not available through sysfs: bias (set pulls in config.txt: `gpio=27=ip,pu`), and edge
// notification usable from Node (it needs poll(POLLPRI) on the value file), so inputs are polled.

import fs from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { monotonicNow } from '../daemon/clock.ts';
import type { Bias, GpioBackend, GpioInputLine, GpioLine, Level, LineSpec, WatchCallback } from './gpio.ts';
import { applyActiveLow, describeLine, lineOffset, parseLevel, PI_HEADER_CHIP_LABELS } from './gpio-util.ts';
import { InputPoller } from './poller.ts';

export interface SysfsGpioOptions {
  /** Default /sys/class/gpio; tests pass a directory laid out the same way. */
  root?: string;
  /** Input polling period (default 10 ms); 0: no timer, the caller drives pollNow(). */
  pollMs?: number;
  /** Clock for the tMs of watch callbacks (default CLOCK_MONOTONIC ms). */
  now?: () => number;
  /** How long to wait for `gpioN/` to appear after an export (default 1000 ms). */
  exportTimeoutMs?: number;
  /** Things that are not errors but need a human (e.g. a bias sysfs cannot set). */
  warn?: (msg: string) => void;
}

export interface SysfsChip {
  dir: string;
  base: number;
  ngpio: number;
  label: string;
}

export class SysfsGpio implements GpioBackend {
  readonly root: string;
  readonly now: () => number;
  private readonly opts: SysfsGpioOptions;
  private readonly poller: InputPoller;

  constructor(opts: SysfsGpioOptions = {}) {
    this.opts = opts;
    this.root = opts.root ?? '/sys/class/gpio';
    this.now = opts.now ?? monotonicNow;
    this.poller = new InputPoller(opts.pollMs ?? 10);
  }

  async chips(): Promise<SysfsChip[]> {
    const entries = await fs.readdir(this.root).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') {
        throw new Error(`${this.root} does not exist: this kernel has no sysfs GPIO; use the chardev backend`);
      }
      throw err;
    });
    const chips: SysfsChip[] = [];
    for (const dir of entries.filter((e) => /^gpiochip\d+$/.test(e)).sort()) {
      const read = (f: string) => fs.readFile(path.join(this.root, dir, f), 'utf8').then((s) => s.trim());
      const [base, ngpio, label] = await Promise.all([read('base'), read('ngpio'), read('label')]);
      chips.push({ dir, base: Number(base), ngpio: Number(ngpio), label });
    }
    return chips;
  }

  /** The global sysfs number of a line: chip base + offset. */
  async globalNumber(spec: LineSpec): Promise<number> {
    const offset = lineOffset(spec.line);
    if (offset === null) throw new Error(`sysfs GPIO cannot look up line names: use an offset or GPIOn (got '${spec.line}')`);
    const chip = await this.findChip(spec.chip);
    if (!Number.isInteger(chip.base) || offset >= chip.ngpio) {
      throw new Error(`line ${offset} is not on ${chip.dir} [${chip.label}] (base ${chip.base}, ${chip.ngpio} lines)`);
    }
    return chip.base + offset;
  }

  private async findChip(want: string | undefined): Promise<SysfsChip> {
    const chips = await this.chips();
    const list = () => chips.map((c) => `${c.dir} [${c.label}] base ${c.base}`).join(', ') || 'none';
    if (want === undefined) {
      for (const label of PI_HEADER_CHIP_LABELS) {
        const c = chips.find((x) => x.label === label);
        if (c) return c;
      }
      throw new Error(`no Raspberry Pi header GPIO chip in ${this.root} (${list()}); set 'chip'`);
    }
    const byLabel = chips.find((c) => c.label === want);
    if (byLabel) return byLabel;
    const m = /^(?:\/dev\/)?(gpiochip\d+)$/.exec(want);
    if (m) {
      // The chardev name: the sysfs chip's device directory holds a `gpiochipN` entry for it.
      for (const c of chips) {
        if (await exists(path.join(this.root, c.dir, 'device', m[1]))) return c;
      }
    }
    throw new Error(`no GPIO chip '${want}' in ${this.root} (${list()})`);
  }

  async output(spec: LineSpec, initial: Level): Promise<GpioLine> {
    const line = await this.open(spec);
    try {
      // "high"/"low" make it an output already driving that PHYSICAL level, in one step:
      // "out" then a value would drive low for a moment, which is a relay click.
      await line.write('direction', applyActiveLow(initial, spec.activeLow) ? 'high' : 'low');
    } catch (err) {
      await line.unexport();
      throw err;
    }
    return new SysfsOutput(line, spec.activeLow ?? false);
  }

  async input(spec: LineSpec, opts: { bias?: Bias } = {}): Promise<GpioInputLine> {
    if (opts.bias && opts.bias !== 'disable') {
      this.opts.warn?.(
        `sysfs GPIO cannot set a ${opts.bias} on ${describeLine(spec)}: ` +
          `set it in config.txt (gpio=N=ip,${opts.bias === 'pull-up' ? 'pu' : 'pd'})`,
      );
    }
    const line = await this.open(spec);
    try {
      await line.write('direction', 'in');
      const physical = await line.readValue();
      const input = new SysfsInput(line, spec.activeLow ?? false, applyActiveLow(physical, spec.activeLow), this);
      this.poller.add(input);
      return input;
    } catch (err) {
      await line.unexport();
      throw err;
    }
  }

  pollNow(): Promise<void> {
    return this.poller.pollNow();
  }

  /** @internal */
  removeInput(input: SysfsInput): void {
    this.poller.remove(input);
  }

  private async open(spec: LineSpec): Promise<SysfsLine> {
    const n = await this.globalNumber(spec);
    const line = new SysfsLine(this.root, n, describeLine(spec));
    await line.export(this.opts.exportTimeoutMs ?? 1000);
    // activeLow is applied here, in code, like the other backends; a stale `active_low`
    // attribute left by another tool would invert everything a second time.
    if (await exists(line.file('active_low'))) await line.write('active_low', '0');
    return line;
  }
}

async function exists(p: string): Promise<boolean> {
  return fs.access(p).then(
    () => true,
    () => false,
  );
}

/** One exported line's directory. */
class SysfsLine {
  private exportedByUs = false;

  constructor(
    private readonly root: string,
    readonly number: number,
    readonly desc: string,
  ) {}

  file(name: string): string {
    return path.join(this.root, `gpio${this.number}`, name);
  }

  async export(timeoutMs: number): Promise<void> {
    const dir = path.join(this.root, `gpio${this.number}`);
    // Already exported (by an earlier run, or config): use it, and leave it exported at close.
    if (await exists(dir)) return;
    try {
      await fs.writeFile(path.join(this.root, 'export'), String(this.number));
    } catch (err) {
      // EBUSY: a kernel driver or a chardev user holds the line.
      throw new Error(`cannot export gpio${this.number} (${this.desc}): ${(err as Error).message}`);
    }
    this.exportedByUs = true;
    // The kernel creates the directory at once, but udev may still be fixing permissions.
    const deadline = Date.now() + timeoutMs;
    while (!(await exists(this.file('value')))) {
      if (Date.now() > deadline) throw new Error(`gpio${this.number} did not appear after export (${this.desc})`);
      await sleep(10);
    }
  }

  async unexport(): Promise<void> {
    if (!this.exportedByUs) return;
    this.exportedByUs = false;
    await fs.writeFile(path.join(this.root, 'unexport'), String(this.number)).catch(() => {});
  }

  write(name: string, value: string): Promise<void> {
    return fs.writeFile(this.file(name), value);
  }

  async readValue(): Promise<Level> {
    const v = parseLevel(await fs.readFile(this.file('value'), 'utf8'));
    if (v === null) throw new Error(`gpio${this.number}/value is not 0 or 1`);
    return v;
  }
}

class SysfsOutput implements GpioLine {
  private queue: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(
    private readonly line: SysfsLine,
    private readonly activeLow: boolean,
  ) {}

  set(v: Level): Promise<void> {
    if (this.closed) return Promise.reject(new Error(`GPIO ${this.line.desc}: set on closed line`));
    const op = this.queue.then(() => this.line.write('value', String(applyActiveLow(v, this.activeLow))));
    this.queue = op.catch(() => {});
    return op;
  }

  async get(): Promise<Level> {
    return applyActiveLow(await this.line.readValue(), this.activeLow);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.queue;
    // Unexporting leaves the pin at its level on Pi kernels (persist_gpio_outputs).
    await this.line.unexport();
  }
}

class SysfsInput implements GpioInputLine {
  private readonly callbacks = new Set<WatchCallback>();
  private closed = false;

  constructor(
    private readonly line: SysfsLine,
    private readonly activeLow: boolean,
    private last: Level,
    private readonly backend: SysfsGpio,
  ) {}

  async set(): Promise<void> {
    throw new Error(`GPIO ${this.line.desc} is an input`);
  }

  async get(): Promise<Level> {
    return applyActiveLow(await this.line.readValue(), this.activeLow);
  }

  watch(cb: WatchCallback): () => void {
    this.callbacks.add(cb);
    return () => {
      this.callbacks.delete(cb);
    };
  }

  /** @internal */
  async poll(): Promise<void> {
    if (this.closed) return;
    const v = applyActiveLow(await this.line.readValue(), this.activeLow);
    if (v === this.last || this.closed) return;
    this.last = v;
    const t = this.backend.now();
    for (const cb of [...this.callbacks]) cb(v, t);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.callbacks.clear();
    this.backend.removeInput(this);
    await this.line.unexport();
  }
}
