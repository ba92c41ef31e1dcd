// The button through the sim GPIO backend (real files, wired as the README says: pull-up,
// pressed = pin low) with node:test's mock timers standing in for time. Each step: write the
// pin file, poll once, move the mock clock.

import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, it, type TestContext } from 'node:test';
import { Button, type PressKind } from '../../src/devices/button.ts';
import { realClock } from '../../src/devices/clock.ts';
import { readSimLine, SimGpio, writeSimLine } from '../../src/devices/gpio-sim.ts';
import { ManualClock } from '../../src/devices/manual-clock.ts';
import type { GpioInputLine, Level, WatchCallback } from '../../src/devices/gpio.ts';

const PIN = { line: 'GPIO27' };
let dir: string;

beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'piha-button-'));
});
afterEach(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

/** A button on the sim backend, timers and Date mocked. */
async function setup(t: TestContext, opts: { onPress?: (k: PressKind) => void } = {}) {
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 0 });
  const gpio = new SimGpio({ dir, pollMs: 0, now: () => Date.now() });
  const presses: [PressKind, number][] = [];
  const errors: unknown[] = [];
  // realClock looks its globals up at call time, so only `now` needs replacing (it reads
  // CLOCK_MONOTONIC, which mock timers do not touch).
  const clock = { ...realClock, now: () => Date.now() };
  const button = await Button.open(gpio, PIN, {
    clock,
    onPress: opts.onPress ?? ((k) => presses.push([k, Date.now()])),
    onError: (e) => errors.push(e),
  });
  /** Sets the pin (physical: 0 = pressed) and lets the backend see it. */
  const pin = async (level: Level) => {
    await writeSimLine(dir, PIN, level);
    await gpio.pollNow();
  };
  const tick = (ms: number) => t.mock.timers.tick(ms);
  return { gpio, button, presses, errors, pin, tick };
}

describe('button', () => {
  it('opens with the pull-up: an untouched button reads not pressed', async (t) => {
    const { button } = await setup(t);
    assert.equal(await readSimLine(dir, PIN), 1);
    assert.equal(button.pressed, false);
    await button.close();
  });

  it('short press: reported on release, after the debounce', async (t) => {
    const { button, presses, pin, tick } = await setup(t);
    await pin(0);
    tick(49);
    assert.equal(button.pressed, false, 'not before 50 ms stable');
    tick(1);
    assert.equal(button.pressed, true);
    tick(400);
    await pin(1);
    tick(50);
    assert.deepEqual(presses, [['short', 500]]);
    await button.close();
  });

  it('long press: reported at the 3 s mark while still held, nothing more on release', async (t) => {
    const { button, presses, pin, tick } = await setup(t);
    await pin(0);
    tick(2999);
    assert.deepEqual(presses, []);
    tick(1);
    assert.deepEqual(presses, [['long', 3000]], 'measured from the press edge, not the debounce');
    tick(2000);
    await pin(1);
    tick(100);
    assert.deepEqual(presses, [['long', 3000]]);
    await button.close();
  });

  it('the boundary: held 2.99 s is short', async (t) => {
    const { button, presses, pin, tick } = await setup(t);
    await pin(0);
    tick(2990);
    await pin(1);
    tick(50);
    assert.deepEqual(presses, [['short', 3040]]);
    await button.close();
  });

  it('contact bounce on press and release makes one press, timed from the first edge', async (t) => {
    const { button, presses, pin, tick } = await setup(t);
    for (const level of [0, 1, 0, 1, 0] as Level[]) {
      await pin(level);
      tick(3); // bounces 3 ms apart
    }
    tick(50);
    assert.equal(button.pressed, true);
    tick(1000);
    for (const level of [1, 0, 1] as Level[]) {
      await pin(level);
      tick(2);
    }
    tick(50);
    assert.deepEqual(presses, [['short', 1121]]);
    await button.close();
  });

  it('a blip shorter than the debounce is noise, not a press', async (t) => {
    const { button, presses, pin, tick } = await setup(t);
    await pin(0);
    tick(20);
    await pin(1);
    tick(200);
    assert.equal(button.pressed, false);
    assert.deepEqual(presses, []);
    await button.close();
  });

  it('a throwing handler is reported and the button keeps working', async (t) => {
    let calls = 0;
    const { button, errors, pin, tick } = await setup(t, {
      onPress: () => {
        calls++;
        throw new Error('handler bug');
      },
    });
    for (let i = 0; i < 2; i++) {
      await pin(0);
      tick(100);
      await pin(1);
      tick(100);
    }
    assert.equal(calls, 2);
    assert.equal(errors.length, 2);
    await button.close();
  });

  it('close: no callbacks after, timers cleared, line released', async (t) => {
    const { gpio, button, presses, pin, tick } = await setup(t);
    await pin(0);
    tick(100);
    await button.close();
    tick(5000);
    await pin(1);
    tick(100);
    assert.deepEqual(presses, []);
    const again = await gpio.input(PIN, {}); // not busy any more
    await again.close();
  });
});

describe('button timing when the long-press timer runs late', () => {
  function handFed() {
    let cb: WatchCallback = () => {};
    const line: GpioInputLine = {
      set: async () => {},
      get: async () => 0,
      close: async () => {},
      watch: (f) => ((cb = f), () => {}),
    };
    const clock = new ManualClock();
    const presses: [PressKind, number][] = [];
    new Button(line, 0, { clock, onPress: (k) => presses.push([k, clock.now()]) });
    return { edge: (v: Level) => cb(v, clock.now()), clock, presses };
  }

  it('a release edge after the 3 s mark is long, even when the timer only runs after it', () => {
    const { edge, clock, presses } = handFed();
    edge(1);
    clock.advance(50); // settled: pressed at 0, long timer due at 3000
    clock.jump(2955); // busy loop: t = 3005, the timer has not run yet
    edge(0); // released at 3005
    clock.advance(60); // the late timer sees a pending release and leaves it to the debounce
    assert.deepEqual(presses, [['long', 3055]]);
  });

  it('a release bounce around the 3 s mark that comes back is still a long press', () => {
    const { edge, clock, presses } = handFed();
    edge(1);
    clock.advance(2990);
    edge(0); // blip at 2990 ...
    clock.advance(20);
    edge(1); // ... back at 3010: the 3000 check was skipped meanwhile
    assert.deepEqual(presses, []);
    clock.advance(50);
    assert.deepEqual(presses, [['long', 3060]]);
  });
});
