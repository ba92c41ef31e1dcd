// GPIO through the Linux character device (/dev/gpiochipN), driven by the libgpiod tools
// (Debian package `gpiod`): Node has no GPIO ioctls without a native addon, and the project
// takes none. Syntax differences between tool generations live in gpiod-tools.ts; this file
// owns the processes.
//
// Holding: the chardev API drives a line only while the requesting fd is open, so an output is
// a gpioset process that lives as long as the line does (v1: --mode=signal; v2 holds by
// default). Changing the level:
//   v2 built with --interactive → write `set <line>=<v>` to the same process: never released;
//   otherwise                    → stop gpioset and start a new one with the new value. The line
//     is released for a few ms in between. Raspberry Pi kernels keep a released output at its
//     level (pinctrl_bcm2835/rp1 persist_gpio_outputs=Y, unless `dtparam=strict_gpiod`), so
//     the relay does not chatter; elsewhere it may float to its pull for that moment.
// A holder that dies on its own (killed, OOM) no longer holds: reported through onLost, and the
// next set() starts a new one.
//
// Inputs: one gpioget for the initial level, then a gpiomon for the edges. get() answers from
// the edges seen, because a second process cannot request a line gpiomon holds (EBUSY).

import { setTimeout as sleep } from 'node:timers/promises';
import { processRunner, type ChildExit, type CommandRunner, type RunningCommand } from './command-runner.ts';
import type { Bias, GpioBackend, GpioInputLine, GpioLine, Level, LineSpec, WatchCallback } from './gpio.ts';
import { describeLine, PI_HEADER_CHIP_LABELS } from './gpio-util.ts';
import {
  GPIOSET_PROMPT,
  gpiogetArgs,
  gpiomonArgs,
  gpiosetArgs,
  gpiosetInteractiveSet,
  parseGpiodetect,
  parseGpiofind,
  parseGpioget,
  parseGpiomonLine,
  parseToolVersion,
  type GpioChipInfo,
  type GpiodTools,
  type ToolLine,
} from './gpiod-tools.ts';

export interface ChardevGpioOptions {
  /** Runs the tools (default: child processes; tests pass a fake). */
  runner?: CommandRunner;
  /** Where the tools are (default: found on PATH). */
  toolDir?: string;
  /** Use v2's interactive gpioset when it was built with it (default true). */
  interactive?: boolean;
  /**
   * v1 tools print nothing once a line is requested: a gpioset/gpiomon still alive after this
   * long counts as started (default 200 ms; errors such as EBUSY exit well within it). Only the
   * first request of a line waits: a restart to change the level re-requests a line we held a
   * moment ago, and must be quick enough for a 4 Hz LED; a restart that dies later is reported
   * through onLost.
   */
  settleMs?: number;
  /** Limit for a v2 banner/prompt and for a process to stop (default 3000 ms). */
  timeoutMs?: number;
  /** A holding gpioset or a gpiomon exited on its own: that line is no longer held/watched. */
  onLost?: (line: string, exit: ChildExit) => void;
}

export class ChardevGpio implements GpioBackend {
  private readonly runner: CommandRunner;
  private readonly opts: ChardevGpioOptions;
  private toolsP: Promise<GpiodTools> | null = null;
  private chipsP: Promise<GpioChipInfo[]> | null = null;

  constructor(opts: ChardevGpioOptions = {}) {
    this.opts = opts;
    this.runner = opts.runner ?? processRunner;
  }

  /** @internal the tool path */
  tool(name: string): string {
    return this.opts.toolDir ? `${this.opts.toolDir.replace(/\/$/, '')}/${name}` : name;
  }

  /** Which tool generation is installed (asked once: `gpioset --version`, `gpioset --help`). */
  tools(): Promise<GpiodTools> {
    this.toolsP ??= this.detect().catch((err) => {
      this.toolsP = null; // allow a retry after `apt-get install gpiod`
      throw err;
    });
    return this.toolsP;
  }

  private async detect(): Promise<GpiodTools> {
    const out = await this.runner.run(this.tool('gpioset'), ['--version']);
    const v = out.code === 0 ? parseToolVersion(out.stdout) : null;
    if (!v || (v.major !== 1 && v.major !== 2)) {
      const said = JSON.stringify((out.stdout || out.stderr).split('\n')[0]);
      throw new Error(`unrecognised libgpiod tools (gpioset --version: ${said}); install the Debian package gpiod`);
    }
    let interactive = false;
    if (v.major === 2 && this.opts.interactive !== false) {
      const help = await this.runner.run(this.tool('gpioset'), ['--help']);
      interactive = help.stdout.includes('--interactive');
    }
    return { major: v.major, version: v.version, interactive };
  }

  /** `gpiodetect`, asked once: chips do not come and go on a Pi. */
  chips(): Promise<GpioChipInfo[]> {
    this.chipsP ??= this.runner.run(this.tool('gpiodetect'), []).then((out) => {
      if (out.code !== 0) throw new Error(`gpiodetect failed: ${out.stderr.trim() || `exit ${out.code}`}`);
      return parseGpiodetect(out.stdout);
    });
    this.chipsP.catch(() => (this.chipsP = null));
    return this.chipsP;
  }

  /**
   * A LineSpec → what the tools are told. Chips are looked up by label because chip numbers are
   * not stable: the Pi 5 header moved from gpiochip4 to gpiochip0 in kernel 6.6.45.
   */
  async resolve(spec: LineSpec): Promise<ToolLine> {
    const tools = await this.tools();
    const activeLow = spec.activeLow ?? false;
    const numeric = typeof spec.line === 'number' || /^\d+$/.test(spec.line);
    const chip = spec.chip === undefined ? null : await this.chipName(spec.chip);
    if (numeric) {
      return { chip: chip ?? (await this.headerChip()), id: String(spec.line), activeLow };
    }
    const name = String(spec.line);
    if (tools.major >= 2) return { chip, id: name, activeLow }; // v2 resolves names itself
    const found = await this.runner.run(this.tool('gpiofind'), [name]);
    const where = found.code === 0 ? parseGpiofind(found.stdout) : null;
    if (!where) throw new Error(`GPIO line named '${name}' not found (gpiofind)`);
    if (chip !== null && where.chip !== chip) {
      throw new Error(`GPIO line '${name}' is on ${where.chip}, not on ${spec.chip} (${chip})`);
    }
    return { chip: where.chip, id: String(where.offset), activeLow };
  }

  private async chipName(chip: string): Promise<string> {
    // Names, numbers and paths are passed through; anything else is a label.
    if (/^(gpiochip)?\d+$/.test(chip) || chip.startsWith('/dev/')) return chip;
    const found = (await this.chips()).find((c) => c.label === chip);
    if (!found) throw new Error(`no GPIO chip labelled '${chip}' (gpiodetect lists: ${await this.chipList()})`);
    return found.name;
  }

  private async headerChip(): Promise<string> {
    const chips = await this.chips();
    for (const label of PI_HEADER_CHIP_LABELS) {
      const found = chips.find((c) => c.label === label);
      if (found) return found.name;
    }
    throw new Error(`no Raspberry Pi header GPIO chip found (gpiodetect lists: ${await this.chipList()}); set 'chip' explicitly`);
  }

  private async chipList(): Promise<string> {
    const chips = await this.chips().catch(() => []);
    return chips.map((c) => `${c.name} [${c.label}]`).join(', ') || 'none';
  }

  async output(spec: LineSpec, initial: Level): Promise<GpioLine> {
    const [tools, line] = await Promise.all([this.tools(), this.resolve(spec)]);
    const out = new HeldOutput(this, tools, line, describeLine(spec), initial);
    await out.start(initial);
    return out;
  }

  async input(spec: LineSpec, opts: { bias?: Bias } = {}): Promise<GpioInputLine> {
    const [tools, line] = await Promise.all([this.tools(), this.resolve(spec)]);
    const got = await this.runner.run(this.tool('gpioget'), gpiogetArgs(tools, line, opts.bias));
    const initial = got.code === 0 ? parseGpioget(got.stdout) : null;
    if (initial === null) {
      const why = got.stderr.trim() || got.stdout.trim() || `exit ${got.code}`;
      throw new Error(`gpioget ${describeLine(spec)} failed: ${why}`);
    }
    const input = new MonitoredInput(this, tools, line, describeLine(spec), initial, opts.bias);
    await input.start();
    return input;
  }

  // Shared process helpers, used by the line classes below.

  /** @internal */
  get runnerForLines(): CommandRunner {
    return this.runner;
  }

  /** @internal */
  get timeoutMs(): number {
    return this.opts.timeoutMs ?? 3000;
  }

  /** @internal */
  get settleMs(): number {
    return this.opts.settleMs ?? 200;
  }

  /** @internal */
  lost(desc: string, exit: ChildExit): void {
    this.opts.onLost?.(desc, exit);
  }

  /**
   * @internal Resolves once a started tool shows it holds its line: `marker` on stdout (v2
   * banner or prompt) or, without one (v1), still alive after `settleMs`. Rejects if it exits.
   */
  async confirmStarted(
    proc: RunningCommand,
    stdout: () => string,
    marker: string | null,
    what: string,
    settleMs = this.settleMs,
  ): Promise<void> {
    let settled = false;
    const died = proc.exited.then((e) => {
      if (!settled) throw new Error(`${what} failed: ${e.stderr.trim() || `exit ${e.code ?? e.signal}`}`);
    });
    const ready =
      marker === null ? sleep(settleMs) : waitForOutput(stdout, marker, this.timeoutMs, what, () => settled);
    try {
      await Promise.race([ready, died]);
    } catch (err) {
      proc.kill('SIGKILL'); // a tool that never confirmed must not keep the line
      throw err;
    } finally {
      settled = true;
    }
  }

  /** @internal SIGTERM, then SIGKILL if it lingers; resolves when it has gone. */
  async stop(proc: RunningCommand): Promise<void> {
    proc.kill('SIGTERM');
    // ref: false — this guard timer alone must not hold a finished process open.
    const gone = await Promise.race([proc.exited.then(() => true), sleep(this.timeoutMs, false, { ref: false })]);
    if (!gone) {
      proc.kill('SIGKILL');
      await proc.exited;
    }
  }
}

/** Polls the collected stdout for a marker (cheap: a few short strings, 5 ms apart). */
export async function waitForOutput(
  stdout: () => string,
  marker: string,
  timeoutMs: number,
  what: string,
  cancelled: () => boolean = () => false,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!stdout().includes(marker) && !cancelled()) {
    if (Date.now() > deadline) throw new Error(`${what}: no '${marker.trim()}' within ${timeoutMs} ms`);
    await sleep(5);
  }
}

/** An output held by a gpioset process for the line's lifetime. */
class HeldOutput implements GpioLine {
  private proc: RunningCommand | null = null;
  private stdout = '';
  private queue: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(
    private readonly backend: ChardevGpio,
    private readonly tools: GpiodTools,
    private readonly line: ToolLine,
    private readonly desc: string,
    private value: Level,
  ) {}

  private get interactive(): boolean {
    return this.tools.major >= 2 && this.tools.interactive;
  }

  /** @internal start a holder driving `v` (`restart`: see ChardevGpioOptions.settleMs). */
  async start(v: Level, restart = false): Promise<void> {
    const args = gpiosetArgs(this.tools, this.line, v, this.interactive ? 'interactive' : 'hold');
    const proc = this.backend.runnerForLines.start(this.backend.tool('gpioset'), args);
    this.stdout = '';
    proc.onStdout((chunk) => {
      this.stdout = (this.stdout + chunk).slice(-4096);
    });
    const marker = this.tools.major === 1 ? null : this.interactive ? GPIOSET_PROMPT : 'Setting line';
    const settleMs = restart ? 0 : this.backend.settleMs;
    await this.backend.confirmStarted(proc, () => this.stdout, marker, `gpioset ${this.desc}`, settleMs);
    this.proc = proc;
    this.value = v;
    void proc.exited.then((exit) => {
      if (this.proc !== proc) return; // stopped by us
      this.proc = null;
      this.backend.lost(this.desc, exit);
    });
  }

  set(v: Level): Promise<void> {
    if (this.closed) return Promise.reject(new Error(`GPIO ${this.desc}: set on closed line`));
    // Serialised: a restart must finish before the next value is applied.
    const op = this.queue.then(() => this.apply(v));
    this.queue = op.catch(() => {});
    return op;
  }

  private async apply(v: Level): Promise<void> {
    if (this.proc && v === this.value) return;
    if (this.proc && this.interactive) {
      this.stdout = '';
      this.proc.write(gpiosetInteractiveSet(this.line, v));
      await waitForOutput(() => this.stdout, GPIOSET_PROMPT, this.backend.timeoutMs, `gpioset ${this.desc}`);
      // Anything printed before the next prompt is an error message ("invalid line value").
      const reply = this.stdout.slice(0, this.stdout.indexOf(GPIOSET_PROMPT)).trim();
      if (reply) throw new Error(`gpioset ${this.desc}: ${reply}`);
      this.value = v;
      return;
    }
    await this.release();
    await this.start(v, true);
  }

  /** Cached: the line is ours, and no other process may read it while we hold it. */
  async get(): Promise<Level> {
    return this.value;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.queue;
    await this.release();
  }

  private async release(): Promise<void> {
    const proc = this.proc;
    if (!proc) return;
    this.proc = null; // before the kill, so the exit is not reported as lost
    await this.backend.stop(proc);
  }
}

/** An input: initial level from gpioget, then edges from a gpiomon process. */
class MonitoredInput implements GpioInputLine {
  private proc: RunningCommand | null = null;
  private stdout = '';
  private partial = '';
  private readonly callbacks = new Set<WatchCallback>();
  private closed = false;

  constructor(
    private readonly backend: ChardevGpio,
    private readonly tools: GpiodTools,
    private readonly line: ToolLine,
    private readonly desc: string,
    private value: Level,
    private readonly bias: Bias | undefined,
  ) {}

  /** @internal */
  async start(): Promise<void> {
    const proc = this.backend.runnerForLines.start(this.backend.tool('gpiomon'), gpiomonArgs(this.tools, this.line, this.bias));
    proc.onStdout((chunk) => this.onChunk(chunk));
    const marker = this.tools.major === 1 ? null : 'Monitoring line';
    await this.backend.confirmStarted(proc, () => this.stdout, marker, `gpiomon ${this.desc}`);
    this.proc = proc;
    void proc.exited.then((exit) => {
      if (this.proc !== proc) return;
      this.proc = null;
      this.backend.lost(this.desc, exit);
    });
  }

  private onChunk(chunk: string): void {
    this.stdout = (this.stdout + chunk).slice(-256); // only for the banner check
    const lines = (this.partial + chunk).split('\n');
    this.partial = lines.pop() ?? '';
    for (const text of lines) {
      const ev = parseGpiomonLine(this.tools, text);
      // Two edges the same way mean one was missed (bounce faster than the IRQ): report levels,
      // not edges, so a watcher never sees 1 → 1.
      if (!ev || ev.value === this.value || this.closed) continue;
      this.value = ev.value;
      for (const cb of [...this.callbacks]) cb(ev.value, ev.tMs);
    }
  }

  async set(): Promise<void> {
    throw new Error(`GPIO ${this.desc} is an input`);
  }

  async get(): Promise<Level> {
    if (this.closed) throw new Error(`GPIO ${this.desc}: get on closed line`);
    return this.value;
  }

  watch(cb: WatchCallback): () => void {
    this.callbacks.add(cb);
    return () => {
      this.callbacks.delete(cb);
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.callbacks.clear();
    const proc = this.proc;
    this.proc = null;
    if (proc) await this.backend.stop(proc);
  }
}
