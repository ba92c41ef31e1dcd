// The watchdog: the real backend against a plain file standing in for /dev/watchdog (what it
// writes is what the kernel driver would receive) and a fake sysfs directory; the sim backend's
// fire / no-fire rules as the lab will apply them.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { monotonicNow } from '../../src/daemon/clock.ts';
import { DevWatchdog, petIntervalMs, watchdogSysfsDir } from '../../src/devices/watchdog.ts';
import { readSimWatchdog, SimWatchdog, simWatchdogFired } from '../../src/devices/watchdog-sim.ts';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'piha-wdt-'));
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

function fakeDevice(sysfs: Record<string, string>): { device: string; sysfsDir: string } {
  const device = path.join(dir, 'watchdog');
  fs.writeFileSync(device, '');
  const sysfsDir = path.join(dir, 'sys');
  fs.mkdirSync(sysfsDir);
  for (const [k, v] of Object.entries(sysfs)) fs.writeFileSync(path.join(sysfsDir, k), v);
  return { device, sysfsDir };
}

describe('/dev/watchdog backend', () => {
  it('reads the timeout back from sysfs, pets with one NUL byte each, magic-closes with V', async () => {
    const wd = new DevWatchdog(fakeDevice({ timeout: '15\n', nowayout: '0\n', identity: 'Broadcom BCM2835 Watchdog timer\n' }));
    assert.equal(wd.timeoutSec, null);
    await wd.open();
    assert.equal(wd.timeoutSec, 15);
    assert.equal(wd.nowayout, false);
    assert.equal(wd.identity, 'Broadcom BCM2835 Watchdog timer');
    wd.pet();
    wd.pet();
    wd.pet();
    await wd.close(true);
    assert.deepEqual([...fs.readFileSync(wd.device)], [0, 0, 0, 'V'.charCodeAt(0)]);
    assert.equal(wd.isOpen, false);
    await wd.close(true); // idempotent
  });

  it('a close without magic writes no V (the watchdog stays armed and resets the node)', async () => {
    const wd = new DevWatchdog(fakeDevice({ timeout: '10' }));
    await wd.open();
    wd.pet();
    await wd.close(false);
    assert.deepEqual([...fs.readFileSync(wd.device)], [0]);
  });

  it('timeout null when sysfs lacks it; pet before open throws', async () => {
    const { device } = fakeDevice({});
    const wd = new DevWatchdog({ device, sysfsDir: path.join(dir, 'nowhere') });
    assert.throws(() => wd.pet(), /not open/);
    await wd.open();
    assert.equal(wd.timeoutSec, null);
    assert.equal(wd.nowayout, null);
    await wd.close(true);
  });

  it('a missing device fails with the config.txt hint and creates no file', async () => {
    const device = path.join(dir, 'no-watchdog');
    await assert.rejects(new DevWatchdog({ device, sysfsDir: dir }).open(), /dtparam=watchdog=on/);
    assert.equal(fs.existsSync(device), false);
  });

  it('maps device nodes to sysfs, and pets at a quarter of the timeout', () => {
    assert.equal(watchdogSysfsDir('/dev/watchdog'), '/sys/class/watchdog/watchdog0');
    assert.equal(watchdogSysfsDir('/dev/watchdog1'), '/sys/class/watchdog/watchdog1');
    assert.equal(petIntervalMs(15), 3750);
    assert.equal(petIntervalMs(60), 5000);
    assert.equal(petIntervalMs(null), 1000);
  });
});

describe('sim watchdog', () => {
  it('does not fire while petted, fires once pets stop for longer than the timeout', async () => {
    let now = 10_000;
    const wd = new SimWatchdog({ path: path.join(dir, 'wd.json'), timeoutSec: 5, now: () => now });
    assert.equal(wd.fired(), false, 'not open: not armed');
    await wd.open();
    for (let i = 0; i < 10; i++) {
      now += 4000;
      assert.equal(wd.fired(), false);
      wd.pet();
    }
    assert.equal(wd.pets, 10);
    now += 5000;
    assert.equal(wd.fired(), false, 'exactly the timeout: not yet');
    now += 1;
    assert.equal(wd.fired(), true);
  });

  it('magic close disarms; a plain close (a crash) stays armed', async () => {
    let now = 0;
    const clean = new SimWatchdog({ path: path.join(dir, 'a.json'), timeoutSec: 1, now: () => now });
    const crash = new SimWatchdog({ path: path.join(dir, 'b.json'), timeoutSec: 1, now: () => now });
    await clean.open();
    await crash.open();
    await clean.close(true);
    await crash.close(false);
    now = 60_000;
    assert.equal(clean.fired(), false);
    assert.equal(crash.fired(), true);
    assert.throws(() => clean.pet(), /not open/);
  });

  it('with nowayout even a magic close leaves it armed', async () => {
    let now = 0;
    const wd = new SimWatchdog({ path: path.join(dir, 'n.json'), timeoutSec: 1, nowayout: true, now: () => now });
    await wd.open();
    await wd.close(true);
    now = 1001;
    assert.equal(wd.fired(), true);
  });

  it('another process decides from the file, on the shared monotonic clock', async () => {
    const file = path.join(dir, 'node2.json');
    assert.equal(readSimWatchdog(file), null);
    const wd = new SimWatchdog({ path: file, timeoutSec: 2 });
    await wd.open();
    wd.pet();
    const state = readSimWatchdog(file);
    assert.equal(state?.armed, true);
    assert.equal(state?.pets, 1);
    assert.equal(simWatchdogFired(state, monotonicNow()), false);
    assert.equal(simWatchdogFired(state, monotonicNow() + 2001), true);
    await wd.close(true);
    assert.equal(simWatchdogFired(readSimWatchdog(file), monotonicNow() + 1e9), false);
  });
});
