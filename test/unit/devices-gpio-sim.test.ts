// The sim GPIO backend end to end: real files in a temp directory, as the lab will use them.

import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { createGpio } from '../../src/devices/gpio.ts';
import { readSimLine, SimGpio, simLinePath, writeSimLine } from '../../src/devices/gpio-sim.ts';
import type { Level } from '../../src/devices/gpio.ts';

let dir: string;
beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'piha-gpio-sim-'));
});
afterEach(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

describe('sim GPIO outputs', () => {
  it('writes the physical level to <dir>/<chip>/<offset>, inverted when activeLow', async () => {
    const gpio = new SimGpio({ dir, pollMs: 0 });
    const relay = await gpio.output({ chip: 'pinctrl-bcm2711', line: 'GPIO17', activeLow: true }, 0);
    assert.equal(await fs.readFile(path.join(dir, 'pinctrl-bcm2711', '17'), 'utf8'), '1\n'); // off = pin high
    await relay.set(1);
    assert.equal(await readSimLine(dir, { chip: 'pinctrl-bcm2711', line: 17 }), 0);
    assert.equal(await relay.get(), 1);

    const led = await gpio.output({ line: 27 }, 1);
    assert.equal(await fs.readFile(path.join(dir, 'gpiochip0', '27'), 'utf8'), '1\n');
    await led.close();
    await relay.close();
  });

  it('applies quick successive sets in call order', async () => {
    const gpio = new SimGpio({ dir, pollMs: 0 });
    const line = await gpio.output({ line: 5 }, 0);
    const levels: Level[] = [1, 0, 1, 1, 0, 1];
    await Promise.all(levels.map((v) => line.set(v)));
    assert.equal(await readSimLine(dir, { line: 5 }), 1);
    await line.close();
    await assert.rejects(line.set(0), /closed/);
  });

  it('refuses a second request for a busy line until it is closed', async () => {
    const gpio = new SimGpio({ dir, pollMs: 0 });
    const a = await gpio.output({ line: 17 }, 0);
    await assert.rejects(gpio.output({ line: 'GPIO17' }, 1), /busy/);
    await assert.rejects(gpio.input({ line: 17 }, {}), /busy/);
    await a.close();
    const b = await gpio.output({ line: 17 }, 1);
    await b.close();
  });

  it('never lets a spec name a path outside the directory', () => {
    assert.throws(() => simLinePath(dir, { chip: '..', line: 1 }), /invalid/);
    assert.throws(() => simLinePath(dir, { line: '../../etc/passwd' }), /invalid/);
    assert.equal(simLinePath(dir, { line: 'relay' }), path.join(dir, 'gpiochip0', 'relay'));
  });
});

describe('sim GPIO inputs', () => {
  it('starts at the bias level and reports flips of the file (pollNow, injected clock)', async () => {
    let now = 1000;
    const gpio = new SimGpio({ dir, pollMs: 0, now: () => now });
    const button = await gpio.input({ line: 27, activeLow: true }, { bias: 'pull-up' });
    assert.equal(await readSimLine(dir, { line: 27 }), 1, 'pull-up: an open button reads 1');
    assert.equal(await button.get(), 0, 'logical: not pressed');

    const seen: [Level, number][] = [];
    const stop = button.watch((v, t) => seen.push([v, t]));
    await gpio.pollNow();
    assert.deepEqual(seen, [], 'no change, no callback');

    await writeSimLine(dir, { line: 27 }, 0); // pressed: pin pulled to GND
    now = 1010;
    await gpio.pollNow();
    assert.deepEqual(seen, [[1, 1010]]);
    assert.equal(await button.get(), 1);

    await fs.writeFile(path.join(dir, 'gpiochip0', '27'), ''); // a writer mid `echo 1 >`
    await gpio.pollNow();
    assert.deepEqual(seen, [[1, 1010]], 'an unreadable file is no change');

    stop();
    await writeSimLine(dir, { line: 27 }, 1);
    await gpio.pollNow();
    assert.deepEqual(seen, [[1, 1010]], 'unsubscribed');
    await button.close();
    await assert.rejects(button.get(), /closed/);
  });

  it('keeps a level the lab wrote before the input was opened', async () => {
    await writeSimLine(dir, { line: 4 }, 1);
    const gpio = new SimGpio({ dir, pollMs: 0 });
    const line = await gpio.input({ line: 4 }, { bias: 'pull-down' });
    assert.equal(await line.get(), 1);
    await assert.rejects(line.set(0), /input/);
    await line.close();
  });

  it('polls on its own timer (createGpio, real time)', async () => {
    const gpio = createGpio('sim', { dir, pollMs: 5 });
    const line = await gpio.input({ line: 22 }, {});
    const changed = new Promise<Level>((resolve) => line.watch((v) => resolve(v)));
    await writeSimLine(dir, { line: 22 }, 1);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise((_, rej) => (timer = setTimeout(() => rej(new Error('no edge in 1 s')), 1000)));
    const v = await Promise.race([changed, timeout]).finally(() => clearTimeout(timer));
    assert.equal(v, 1);
    await line.close();
  });
});
