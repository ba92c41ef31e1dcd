// The sysfs backend against a fake /sys/class/gpio laid out in a temp directory. A tiny fake
// kernel creates gpioN/ when a number is written to `export`, as the real one does.

import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { createGpio, type Level } from '../../src/devices/gpio.ts';
import { SysfsGpio } from '../../src/devices/gpio-sysfs.ts';

let root: string;
let kernel: ReturnType<typeof setInterval>;
let unexported: string[];
let stepping: Promise<void> | null = null;

/** Lays out a chip directory as the kernel names it: after its base, not its /dev index. */
async function addChip(base: number, label: string, ngpio: number, devName: string): Promise<void> {
  const dir = path.join(root, `gpiochip${base}`);
  await fs.mkdir(path.join(dir, 'device', devName), { recursive: true });
  await fs.writeFile(path.join(dir, 'base'), `${base}\n`);
  await fs.writeFile(path.join(dir, 'label'), `${label}\n`);
  await fs.writeFile(path.join(dir, 'ngpio'), `${ngpio}\n`);
}

async function exportLine(n: number, value: Level = 0): Promise<void> {
  const dir = path.join(root, `gpio${n}`);
  await fs.mkdir(dir, { recursive: true });
  await fs.writeFile(path.join(dir, 'direction'), 'in\n');
  await fs.writeFile(path.join(dir, 'value'), `${value}\n`);
  await fs.writeFile(path.join(dir, 'active_low'), '1\n'); // stale, left by another tool
}

const read = (f: string) => fs.readFile(path.join(root, f), 'utf8');

beforeEach(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'piha-sysfs-'));
  await fs.writeFile(path.join(root, 'export'), '');
  await fs.writeFile(path.join(root, 'unexport'), '');
  unexported = [];
  const step = async (): Promise<void> => {
    const exp = (await read('export').catch(() => '')).trim();
    if (exp) {
      await fs.writeFile(path.join(root, 'export'), '');
      await exportLine(Number(exp));
    }
    const unexp = (await read('unexport').catch(() => '')).trim();
    if (unexp) {
      await fs.writeFile(path.join(root, 'unexport'), '');
      unexported.push(unexp);
      await fs.rm(path.join(root, `gpio${unexp}`), { recursive: true, force: true });
    }
  };
  kernel = setInterval(() => {
    if (stepping) return;
    stepping = step().finally(() => (stepping = null));
  }, 2);
});

afterEach(async () => {
  clearInterval(kernel);
  await stepping; // let the fake kernel finish before its tree goes
  await fs.rm(root, { recursive: true, force: true });
});

describe('sysfs GPIO numbering', () => {
  it('kernel 6.6+: the header chip has base 512, so BCM 17 is gpio529', async () => {
    await addChip(512, 'pinctrl-bcm2711', 58, 'gpiochip0');
    await addChip(570, 'raspberrypi-exp-gpio', 8, 'gpiochip1');
    const gpio = new SysfsGpio({ root });
    assert.equal(await gpio.globalNumber({ line: 17 }), 529);
    assert.equal(await gpio.globalNumber({ line: 'GPIO17' }), 529);
    assert.equal(await gpio.globalNumber({ chip: 'gpiochip0', line: 17 }), 529, 'chardev name via device/gpiochipN');
    assert.equal(await gpio.globalNumber({ chip: 'raspberrypi-exp-gpio', line: 2 }), 572);
    await assert.rejects(gpio.globalNumber({ line: 60 }), /not on gpiochip512/);
    await assert.rejects(gpio.globalNumber({ line: 'LED' }), /cannot look up line names/);
    await assert.rejects(gpio.globalNumber({ chip: 'pinctrl-rp1', line: 1 }), /no GPIO chip 'pinctrl-rp1'/);
  });

  it('older kernels: base 0, so BCM 17 is gpio17', async () => {
    await addChip(0, 'pinctrl-bcm2835', 54, 'gpiochip0');
    assert.equal(await new SysfsGpio({ root }).globalNumber({ line: 17 }), 17);
  });

  it('says so when the kernel has no sysfs GPIO', async () => {
    await assert.rejects(new SysfsGpio({ root: path.join(root, 'missing') }).globalNumber({ line: 1 }), /use the chardev backend/);
  });
});

describe('sysfs GPIO lines', () => {
  beforeEach(() => addChip(512, 'pinctrl-bcm2711', 58, 'gpiochip0'));

  it('output: exports, sets direction and level in one write, writes values, unexports', async () => {
    const gpio = createGpio('sysfs', { root });
    const relay = await gpio.output({ line: 17, activeLow: true }, 0);
    assert.equal(await read('gpio529/direction'), 'high', 'activeLow off = pin high, glitch-free');
    assert.equal(await read('gpio529/active_low'), '0', 'stale attribute cleared: inversion is ours');
    await relay.set(1);
    assert.equal(await read('gpio529/value'), '0');
    assert.equal(await relay.get(), 1);
    await relay.close();
    // the fake kernel polls the unexport file every 2 ms; give it up to 1 s on a busy machine
    for (let i = 0; i < 100 && unexported.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(unexported, ['529']);
    await assert.rejects(relay.set(0), /closed/);
  });

  it('leaves a line that was already exported exported', async () => {
    await exportLine(539, 1);
    const gpio = new SysfsGpio({ root });
    const led = await gpio.output({ line: 27 }, 1);
    assert.equal(await read('gpio539/direction'), 'high');
    await led.close();
    await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(unexported, []);
  });

  it('input: direction in, polled value changes, a warning for the bias sysfs cannot set', async () => {
    const warnings: string[] = [];
    let now = 0;
    const gpio = new SysfsGpio({ root, pollMs: 0, now: () => now, warn: (m) => warnings.push(m) });
    const button = await gpio.input({ line: 27, activeLow: true }, { bias: 'pull-up' });
    assert.match(warnings[0], /config\.txt \(gpio=N=ip,pu\)/);
    assert.equal(await read('gpio539/direction'), 'in');
    assert.equal(await button.get(), 1, 'value 0 read active-low');
    const seen: [Level, number][] = [];
    button.watch((v, t) => seen.push([v, t]));
    await fs.writeFile(path.join(root, 'gpio539/value'), '1\n');
    now = 42;
    await gpio.pollNow();
    await gpio.pollNow();
    assert.deepEqual(seen, [[0, 42]]);
    await assert.rejects(button.set(1), /input/);
    await button.close();
  });

  it('fails when the line never appears after export', async () => {
    clearInterval(kernel);
    await assert.rejects(new SysfsGpio({ root, exportTimeoutMs: 30 }).output({ line: 4 }, 0), /did not appear/);
  });
});
