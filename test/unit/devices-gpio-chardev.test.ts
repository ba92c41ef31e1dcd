// The chardev backend without a GPIO chip: a fake command runner records every argv and plays
// the libgpiod tools (v1.6 as Debian bookworm ships, and v2 with and without --interactive).
// A last test drives real processes: shell scripts standing in for the tools.

import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import type { ChildExit, CommandRunner, RunningCommand, RunResult } from '../../src/devices/command-runner.ts';
import { ChardevGpio } from '../../src/devices/gpio-chardev.ts';
import { createGpio, type Level } from '../../src/devices/gpio.ts';
import {
  gpiogetArgs,
  gpiomonArgs,
  gpiosetArgs,
  parseGpiodetect,
  parseGpiofind,
  parseGpiomonLine,
  parseToolVersion,
  type GpiodTools,
} from '../../src/devices/gpiod-tools.ts';

const V1: GpiodTools = { major: 1, version: '1.6.3', interactive: false };
const V2: GpiodTools = { major: 2, version: '2.1.3', interactive: true };

const GPIODETECT_PI4 = 'gpiochip0 [pinctrl-bcm2711] (58 lines)\ngpiochip1 [raspberrypi-exp-gpio] (8 lines)\n';
// A Pi 5 on kernel ≥ 6.6.45: the header (rp1) is gpiochip0, the SoC's own chips come after.
const GPIODETECT_PI5 =
  'gpiochip0 [pinctrl-rp1] (54 lines)\ngpiochip10 [gpio-brcmstb@107d508500] (32 lines)\ngpiochip11 [gpio-brcmstb@107d508520] (4 lines)\n';

class FakeProc implements RunningCommand {
  readonly written: string[] = [];
  readonly signals: string[] = [];
  private readonly listeners: ((chunk: string) => void)[] = [];
  private resolveExit!: (e: ChildExit) => void;
  readonly exited = new Promise<ChildExit>((r) => (this.resolveExit = r));
  alive = true;
  onWrite: (data: string) => void = () => {};

  constructor(
    readonly cmd: string,
    readonly args: readonly string[],
  ) {}

  onStdout(cb: (chunk: string) => void): void {
    this.listeners.push(cb);
  }
  emit(chunk: string): void {
    for (const cb of this.listeners) cb(chunk);
  }
  write(data: string): void {
    this.written.push(data);
    this.onWrite(data);
  }
  kill(signal: NodeJS.Signals = 'SIGTERM'): void {
    this.signals.push(signal);
    this.exit(null, signal);
  }
  exit(code: number | null, signal: NodeJS.Signals | null = null, stderr = ''): void {
    if (!this.alive) return;
    this.alive = false;
    this.resolveExit({ code, signal, stderr });
  }
}

/** Plays the tools: `tools` picks the generation, `chips` is what gpiodetect prints. */
class FakeRunner implements CommandRunner {
  readonly runs: string[] = [];
  readonly procs: FakeProc[] = [];
  gpioget = '0\n';
  /** Called for each started process (after the default behaviour is wired). */
  onStart: (p: FakeProc) => void = () => {};

  constructor(
    private readonly tools: 'v1' | 'v2' | 'v2-no-interactive' | 'none',
    private readonly chips = GPIODETECT_PI4,
  ) {}

  async run(cmd: string, args: readonly string[]): Promise<RunResult> {
    this.runs.push([cmd, ...args].join(' '));
    const ok = (stdout: string): RunResult => ({ code: 0, stdout, stderr: '' });
    if (this.tools === 'none') return { code: null, stdout: '', stderr: 'spawn gpioset ENOENT' };
    if (args[0] === '--version') {
      return ok(this.tools === 'v1' ? 'gpioset (libgpiod) v1.6.3\nCopyright (C) 2017-2018 Bartosz Golaszewski\n' : 'gpioset (libgpiod) v2.1.3\n');
    }
    if (args[0] === '--help') return ok(this.tools === 'v2' ? '  -i, --interactive\tset the lines then wait\n' : '  -l, --active-low\n');
    if (cmd.endsWith('gpiodetect')) return ok(this.chips);
    if (cmd.endsWith('gpiofind')) return args[0] === 'GPIO17' ? ok('gpiochip0 17\n') : { code: 1, stdout: '', stderr: '' };
    if (cmd.endsWith('gpioget')) return ok(this.gpioget);
    throw new Error(`unexpected run ${cmd}`);
  }

  start(cmd: string, args: readonly string[]): RunningCommand {
    const p = new FakeProc(cmd, args);
    this.procs.push(p);
    // Queued so onStdout listeners are attached first, as with a real pipe.
    queueMicrotask(() => {
      if (cmd.endsWith('gpioset') && args.includes('--interactive')) {
        p.emit('gpioset> ');
        p.onWrite = (d) => p.emit(/^set \S+=[01]\n$/.test(d) ? 'gpioset> ' : 'invalid command\ngpioset> ');
      } else if (cmd.endsWith('gpioset') && args.includes('--banner')) {
        p.emit(`Setting line '${args.at(-1)!.split('=')[0]}'...\n`);
      } else if (cmd.endsWith('gpiomon') && args.includes('--banner')) {
        p.emit(`Monitoring line '${args.at(-1)}'...\n`);
      }
      this.onStart(p);
    });
    return p;
  }

  get live(): FakeProc[] {
    return this.procs.filter((p) => p.alive);
  }
}

const argv = (p: FakeProc): string => [p.cmd, ...p.args].join(' ');

describe('libgpiod tool output parsing', () => {
  it('reads the version of either generation', () => {
    assert.deepEqual(parseToolVersion('gpioset (libgpiod) v1.6.3\nCopyright'), { major: 1, version: '1.6.3' });
    assert.deepEqual(parseToolVersion('gpioset (libgpiod) v2.1'), { major: 2, version: '2.1' });
    assert.deepEqual(parseToolVersion('gpioset v2.3 (libgpiod v2.3)'), { major: 2, version: '2.3' });
    assert.equal(parseToolVersion('command not found'), null);
  });

  it('reads gpiodetect and gpiofind', () => {
    assert.deepEqual(parseGpiodetect(GPIODETECT_PI5)[0], { name: 'gpiochip0', label: 'pinctrl-rp1', lines: 54 });
    assert.equal(parseGpiodetect(GPIODETECT_PI5).length, 3);
    assert.deepEqual(parseGpiofind('gpiochip0 17\n'), { chip: 'gpiochip0', offset: 17 });
    assert.equal(parseGpiofind(''), null);
  });

  it('reads gpiomon events in each generation\'s format', () => {
    // v1 --format='%e %s %n': %e 1 rising / 0 falling, nanoseconds not zero-padded.
    assert.deepEqual(parseGpiomonLine(V1, '1 1234 5000000'), { value: 1, tMs: 1234005 });
    assert.deepEqual(parseGpiomonLine(V1, '0 2 0'), { value: 0, tMs: 2000 });
    // v2 --format='%E %S'.
    assert.deepEqual(parseGpiomonLine(V2, 'rising 1234.005000000'), { value: 1, tMs: 1234005 });
    assert.deepEqual(parseGpiomonLine(V2, 'falling 3.000000000'), { value: 0, tMs: 3000 });
    assert.equal(parseGpiomonLine(V2, "Monitoring line '17'..."), null);
    assert.equal(parseGpiomonLine(V1, 'event:  RISING EDGE offset: 17'), null);
  });

  it('builds argv with each generation\'s syntax', () => {
    const line = { chip: 'gpiochip0', id: '17', activeLow: true };
    assert.deepEqual(gpiosetArgs(V1, line, 1, 'hold'), ['--mode=signal', '--active-low', 'gpiochip0', '17=1']);
    assert.deepEqual(gpiosetArgs(V2, line, 0, 'interactive'), ['--consumer=piha', '--interactive', '--active-low', '--chip', 'gpiochip0', '17=0']);
    assert.deepEqual(gpiosetArgs(V2, { chip: null, id: 'GPIO17', activeLow: false }, 1, 'hold'), ['--consumer=piha', '--banner', 'GPIO17=1']);
    assert.deepEqual(gpiogetArgs(V1, line, 'disable'), ['--active-low', '--bias=disable', 'gpiochip0', '17']);
    assert.deepEqual(gpiogetArgs(V2, line, 'disable'), ['--numeric', '--consumer=piha', '--active-low', '--bias=disabled', '--chip', 'gpiochip0', '17']);
    assert.deepEqual(gpiomonArgs(V1, line, 'pull-up'), ['--line-buffered', '--format=%e %s %n', '--active-low', '--bias=pull-up', 'gpiochip0', '17']);
    assert.deepEqual(gpiomonArgs(V2, line, 'pull-up'), ['--consumer=piha', '--banner', '--format=%E %S', '--active-low', '--bias=pull-up', '--chip', 'gpiochip0', '17']);
    assert.throws(() => gpiosetArgs(V1, { chip: null, id: 'GPIO17', activeLow: false }, 1, 'hold'), /need a chip and an offset/);
  });
});

describe('chardev outputs', () => {
  it('v1 (bookworm): holds with --mode=signal, restarts gpioset to change the level', async () => {
    const runner = new FakeRunner('v1');
    const gpio = new ChardevGpio({ runner, settleMs: 1 });
    const relay = await gpio.output({ chip: 'pinctrl-bcm2711', line: 17, activeLow: true }, 0);
    assert.deepEqual(runner.runs, ['gpioset --version', 'gpiodetect']);
    assert.deepEqual(runner.procs.map(argv), ['gpioset --mode=signal --active-low gpiochip0 17=0']);

    await relay.set(0); // unchanged: nothing happens
    assert.equal(runner.procs.length, 1);
    await relay.set(1);
    assert.deepEqual(runner.procs[0].signals, ['SIGTERM']);
    assert.deepEqual(runner.live.map(argv), ['gpioset --mode=signal --active-low gpiochip0 17=1']);
    assert.equal(await relay.get(), 1);

    await relay.close();
    assert.equal(runner.live.length, 0);
    await assert.rejects(relay.set(0), /closed/);
  });

  it('v1: only the first request waits out settleMs; a level change is quick enough for a 4 Hz LED', async () => {
    const runner = new FakeRunner('v1');
    const gpio = new ChardevGpio({ runner, settleMs: 150 });
    let t0 = performance.now();
    const led = await gpio.output({ line: 27 }, 0);
    assert.ok(performance.now() - t0 >= 140, 'first request confirmed by staying alive');
    t0 = performance.now();
    await led.set(1);
    assert.ok(performance.now() - t0 < 100, `restart took ${performance.now() - t0} ms`);
    await led.close();
  });

  it('v1: finds a named line with gpiofind, and the header chip by label when none is given', async () => {
    const runner = new FakeRunner('v1');
    const gpio = new ChardevGpio({ runner, settleMs: 1 });
    const a = await gpio.output({ line: 'GPIO17' }, 1);
    const b = await gpio.output({ line: 27 }, 0);
    assert.ok(runner.runs.includes('gpiofind GPIO17'));
    assert.deepEqual(runner.procs.map(argv), ['gpioset --mode=signal gpiochip0 17=1', 'gpioset --mode=signal gpiochip0 27=0']);
    await assert.rejects(gpio.output({ line: 'NOPE' }, 0), /not found/);
    await Promise.all([a.close(), b.close()]);
  });

  it('reports a gpioset that dies at start (line busy) as an error', async () => {
    const runner = new FakeRunner('v1');
    runner.onStart = (p) => p.exit(1, null, 'gpioset: error setting the GPIO line values: Device or resource busy\n');
    const gpio = new ChardevGpio({ runner, settleMs: 50 });
    await assert.rejects(gpio.output({ line: 17 }, 1), /Device or resource busy/);
  });

  it('reports a holder that dies later through onLost, and restarts it on the next set', async () => {
    const runner = new FakeRunner('v1');
    const lost: string[] = [];
    const gpio = new ChardevGpio({ runner, settleMs: 1, onLost: (line, e) => lost.push(`${line} ${e.code}`) });
    const relay = await gpio.output({ line: 17 }, 0);
    runner.procs[0].exit(137);
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(lost, ['(header chip):17 137']);
    await relay.set(0); // same value, but nobody holds it: a new holder
    assert.deepEqual(runner.live.map(argv), ['gpioset --mode=signal gpiochip0 17=0']);
    await relay.close();
    assert.equal(lost.length, 1, 'our own stop is not a loss');
  });

  it('v2 interactive: one gpioset for the lifetime, `set` commands on stdin', async () => {
    const runner = new FakeRunner('v2', GPIODETECT_PI5);
    const gpio = createGpio('chardev', { runner });
    const led = await gpio.output({ line: 'GPIO27' }, 0);
    const relay = await gpio.output({ chip: 'pinctrl-rp1', line: 17 }, 1);
    assert.deepEqual(runner.procs.map(argv), [
      'gpioset --consumer=piha --interactive GPIO27=0',
      'gpioset --consumer=piha --interactive --chip gpiochip0 17=1',
    ]);
    await led.set(1);
    await led.set(0);
    await relay.set(0);
    assert.deepEqual(runner.procs[0].written, ['set GPIO27=1\n', 'set GPIO27=0\n']);
    assert.deepEqual(runner.procs[1].written, ['set 17=0\n']);
    assert.equal(runner.procs.length, 2, 'never released, never restarted');
    await led.close();
    await relay.close();
  });

  it('v2 interactive: text before the next prompt is an error', async () => {
    const runner = new FakeRunner('v2');
    runner.onStart = (p) => (p.onWrite = () => p.emit('unable to set line values: Operation not permitted\ngpioset> '));
    const led = await new ChardevGpio({ runner }).output({ line: 27 }, 0);
    await assert.rejects(led.set(1), /Operation not permitted/);
    assert.equal(await led.get(), 0, 'the level it did not take is not reported');
    await led.close();
  });

  it('v2 without --interactive: --banner confirms the hold, a change restarts it', async () => {
    const runner = new FakeRunner('v2-no-interactive');
    const gpio = new ChardevGpio({ runner });
    const led = await gpio.output({ line: 27 }, 0);
    await led.set(1);
    assert.deepEqual(runner.procs.map(argv), [
      'gpioset --consumer=piha --banner --chip gpiochip0 27=0',
      'gpioset --consumer=piha --banner --chip gpiochip0 27=1',
    ]);
    await led.close();
  });

  it('says what to install when the tools are missing, and names the chips it saw', async () => {
    await assert.rejects(new ChardevGpio({ runner: new FakeRunner('none') }).output({ line: 17 }, 0), /Debian package gpiod/);
    await assert.rejects(
      new ChardevGpio({ runner: new FakeRunner('v1'), settleMs: 1 }).output({ chip: 'pinctrl-rp1', line: 17 }, 0),
      /no GPIO chip labelled 'pinctrl-rp1'.*gpiochip0 \[pinctrl-bcm2711\]/,
    );
    await assert.rejects(
      new ChardevGpio({ runner: new FakeRunner('v1', 'gpiochip0 [some-expander] (8 lines)\n'), settleMs: 1 }).output({ line: 17 }, 0),
      /no Raspberry Pi header GPIO chip/,
    );
  });
});

describe('chardev inputs', () => {
  it('v1: gpioget for the start level, then gpiomon edges as levels', async () => {
    const runner = new FakeRunner('v1');
    runner.gpioget = '0\n';
    const gpio = new ChardevGpio({ runner, settleMs: 1 });
    const button = await gpio.input({ line: 27, activeLow: true }, { bias: 'pull-up' });
    assert.ok(runner.runs.includes('gpioget --active-low --bias=pull-up gpiochip0 27'));
    assert.deepEqual(runner.procs.map(argv), ['gpiomon --line-buffered --format=%e %s %n --active-low --bias=pull-up gpiochip0 27']);

    const seen: [Level, number][] = [];
    button.watch((v, t) => seen.push([v, t]));
    const mon = runner.procs[0];
    mon.emit('1 10 500000\n1 10 900000\n0 11 ');
    mon.emit('0\n');
    assert.deepEqual(seen, [
      [1, 10000.5],
      [0, 11000],
    ], 'split chunks are joined; a repeated edge is not a change');
    assert.equal(await button.get(), 0);
    await button.close();
    assert.deepEqual(mon.signals, ['SIGTERM']);
  });

  it('v2: --numeric gpioget, --banner gpiomon, %E %S events', async () => {
    const runner = new FakeRunner('v2');
    runner.gpioget = '1\n';
    const gpio = new ChardevGpio({ runner });
    const line = await gpio.input({ line: 'GPIO22' }, { bias: 'disable' });
    assert.ok(runner.runs.includes('gpioget --numeric --consumer=piha --bias=disabled GPIO22'));
    assert.equal(await line.get(), 1);
    const seen: Level[] = [];
    line.watch((v) => seen.push(v));
    runner.procs[0].emit('falling 5.000000001\nrising 5.100000000\n');
    assert.deepEqual(seen, [0, 1]);
    await line.close();
  });

  it('fails clearly when gpioget cannot read the line', async () => {
    const runner = new FakeRunner('v1');
    runner.gpioget = 'gpioget: error reading GPIO values: Device or resource busy\n';
    await assert.rejects(new ChardevGpio({ runner, settleMs: 1 }).input({ line: 27 }, {}), /gpioget .* failed/);
  });
});

describe('chardev with real processes (shell scripts as the v1 tools)', () => {
  it('spawns, holds, restarts and stops gpioset; reads gpiomon output through a pipe', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'piha-gpiod-'));
    const log = path.join(dir, 'log');
    const script = (body: string) => `#!/bin/sh\n${body}\n`;
    await fs.writeFile(path.join(dir, 'gpioset'), script(`[ "$1" = --version ] && { echo 'gpioset (libgpiod) v1.6.3'; exit 0; }\necho "gpioset $*" >> ${log}\nexec sleep 30`));
    await fs.writeFile(path.join(dir, 'gpiodetect'), script(`echo 'gpiochip0 [pinctrl-bcm2835] (54 lines)'`));
    await fs.writeFile(path.join(dir, 'gpioget'), script('echo 1'));
    await fs.writeFile(path.join(dir, 'gpiomon'), script(`printf '0 7 250000000\\n'\nexec sleep 30`));
    for (const t of ['gpioset', 'gpiodetect', 'gpioget', 'gpiomon']) await fs.chmod(path.join(dir, t), 0o755);
    try {
      const gpio = new ChardevGpio({ toolDir: dir, settleMs: 100 });
      assert.equal((await gpio.tools()).major, 1);
      const out = await gpio.output({ line: 17 }, 1);
      await out.set(0);
      // A restart does not wait out settleMs: give the new script a moment to log its argv.
      const expected = 'gpioset --mode=signal gpiochip0 17=1\ngpioset --mode=signal gpiochip0 17=0\n';
      for (let i = 0; i < 200 && (await fs.readFile(log, 'utf8')) !== expected; i++) await new Promise((r) => setTimeout(r, 5));
      await out.close();
      assert.equal(await fs.readFile(log, 'utf8'), expected);

      const input = await gpio.input({ line: 27 }, {});
      const value = await new Promise<Level>((resolve) => {
        input.watch((v) => resolve(v));
        void input.get().then((v) => v === 0 && resolve(0)); // the event may have come already
      });
      assert.equal(value, 0);
      await input.close();
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});
