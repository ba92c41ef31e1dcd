// LED patterns on a hand-moved clock: each write is stamped with the clock's time, so the
// rhythm is checked to the millisecond without waiting for it.

import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import type { GpioLine, Level } from '../../src/devices/gpio.ts';
import { readSimLine, SimGpio } from '../../src/devices/gpio-sim.ts';
import { LED_PATTERNS, ledPatternFor, StatusLed } from '../../src/devices/led.ts';
import { ManualClock } from '../../src/devices/manual-clock.ts';

/** A line that records [time, level] for each set(); optionally slow or failing. */
class RecordingLine implements GpioLine {
  readonly writes: [number, Level][] = [];
  closed = false;
  hold: Promise<void> | null = null;
  fail = false;
  constructor(private readonly clock: ManualClock) {}
  async set(v: Level): Promise<void> {
    if (this.fail) throw new Error('EIO');
    this.writes.push([this.clock.now(), v]);
    if (this.hold) await this.hold;
  }
  async get(): Promise<Level> {
    return this.writes.at(-1)?.[1] ?? 0;
  }
  async close(): Promise<void> {
    this.closed = true;
  }
}

const flush = () => new Promise((r) => setImmediate(r));

function setup() {
  const clock = new ManualClock(1000);
  const line = new RecordingLine(clock);
  const errors: unknown[] = [];
  const led = new StatusLed(line, { clock, onError: (e) => errors.push(e) });
  return { clock, line, led, errors };
}

/** Advances in small steps with microtask flushes, as the real event loop interleaves them. */
async function run(clock: ManualClock, ms: number, stepMs = 5): Promise<void> {
  for (let t = 0; t < ms; t += stepMs) {
    clock.advance(Math.min(stepMs, ms - t));
    await flush();
  }
}

describe('status LED patterns', () => {
  it('slow: 1 Hz, 500 ms on / 500 ms off', async () => {
    const { clock, line, led } = setup();
    led.set('slow');
    await run(clock, 2000);
    assert.deepEqual(line.writes, [
      [1000, 1], [1500, 0], [2000, 1], [2500, 0], [3000, 1],
    ]);
  });

  it('fast: 4 Hz, 125 ms on / 125 ms off', async () => {
    const { clock, line, led } = setup();
    led.set('fast');
    await run(clock, 500);
    assert.deepEqual(line.writes.map(([t]) => t - 1000), [0, 125, 250, 375, 500]);
    assert.deepEqual(line.writes.map(([, v]) => v), [1, 0, 1, 0, 1]);
  });

  it('double: two 100 ms flashes, then dark until the next second', async () => {
    const { clock, line, led } = setup();
    led.set('double');
    await run(clock, 2000);
    assert.deepEqual(line.writes.map(([t, v]) => `${t - 1000}:${v}`), [
      '0:1', '100:0', '250:1', '350:0', '1000:1', '1100:0', '1250:1', '1350:0', '2000:1',
    ]);
    const period = LED_PATTERNS.double.reduce((sum, [, ms]) => sum + ms, 0);
    assert.equal(period, 1000);
  });

  it('solid and off: one write, no timer', async () => {
    const { clock, line, led } = setup();
    led.set('solid');
    await flush();
    assert.equal(clock.pending, 0);
    await run(clock, 3000, 500);
    led.set('off');
    await flush();
    assert.deepEqual(line.writes, [[1000, 1], [4000, 0]]);
    assert.equal(clock.pending, 0);
  });

  it('a new pattern restarts the rhythm; the same pattern again does not', async () => {
    const { clock, line, led } = setup();
    led.set('slow');
    await run(clock, 300);
    led.set('slow');
    await run(clock, 300); // t=1600: the first 0 came at 1500, undisturbed
    led.set('fast'); // t=1600: level already 0 → 1
    await run(clock, 130);
    assert.deepEqual(line.writes, [[1000, 1], [1500, 0], [1600, 1], [1725, 0]]);
    assert.equal(led.pattern, 'fast');
  });

  it('keeps to its grid after a stalled event loop (no drift)', async () => {
    const { clock, line, led } = setup();
    led.set('slow');
    await flush();
    clock.stall(700); // the 1500 step runs late, at 1700
    await flush();
    await run(clock, 1300);
    assert.deepEqual(line.writes, [[1000, 1], [1700, 0], [2000, 1], [2500, 0], [3000, 1]]);
  });

  it('a slow line gets the latest level, not a backlog', async () => {
    const { clock, line, led } = setup();
    let release!: () => void;
    line.hold = new Promise((r) => (release = r));
    led.set('fast');
    await run(clock, 400); // 1 written (held); 0, 1, 0 wanted meanwhile
    line.hold = null;
    release();
    await led.idle();
    assert.deepEqual(line.writes, [[1000, 1], [1400, 0]]);
  });

  it('reports write errors without throwing, and retries on the next change', async () => {
    const { clock, line, led, errors } = setup();
    line.fail = true;
    led.set('slow');
    await flush();
    assert.equal(errors.length, 1);
    line.fail = false;
    await run(clock, 600);
    assert.deepEqual(line.writes, [[1500, 0]]);
  });

  it('close: stops the rhythm, leaves the LED off, releases the line', async () => {
    const { clock, line, led } = setup();
    led.set('solid');
    await led.close();
    assert.deepEqual(line.writes.at(-1), [1000, 0]);
    assert.equal(line.closed, true);
    led.set('fast');
    await run(clock, 1000);
    assert.equal(line.writes.length, 2);
    assert.equal(clock.pending, 0);
  });

  it('maps node state to a pattern: fault, then VIP, then quorum', () => {
    const s = { running: true, fault: false, holdsVip: false, quorate: true };
    assert.equal(ledPatternFor(s), 'slow');
    assert.equal(ledPatternFor({ ...s, quorate: false }), 'fast');
    assert.equal(ledPatternFor({ ...s, holdsVip: true }), 'solid');
    assert.equal(ledPatternFor({ ...s, holdsVip: true, fault: true }), 'double');
    assert.equal(ledPatternFor({ ...s, running: false, fault: true }), 'off');
  });

  it('drives a sim GPIO file', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'piha-led-'));
    try {
      const gpio = new SimGpio({ dir, pollMs: 0 });
      const clock = new ManualClock();
      const led = new StatusLed(await gpio.output({ line: 'GPIO27' }, 0), { clock });
      led.set('slow');
      await led.idle();
      assert.equal(await readSimLine(dir, { line: 27 }), 1);
      clock.advance(500);
      await led.idle();
      assert.equal(await readSimLine(dir, { line: 27 }), 0);
      led.set('solid');
      await led.close();
      assert.equal(await readSimLine(dir, { line: 27 }), 0, 'closed LED is off');
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});
