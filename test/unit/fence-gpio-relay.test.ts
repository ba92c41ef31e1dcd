// The gpio-relay fence device on the sim GPIO backend: the physical level file of the relay
// line is what a meter on the pin would read.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { GpioRelayDeviceConfig } from '../../src/config/types.ts';
import type { GpioBackend, GpioLine, Level } from '../../src/devices/gpio.ts';
import { readSimLine, SimGpio, writeSimLine } from '../../src/devices/gpio-sim.ts';
import { GpioRelayDevice } from '../../src/fence/gpio-relay.ts';
import { FenceError } from '../../src/fence/types.ts';

const never = new AbortController().signal;

function relayConfig(over: Partial<GpioRelayDeviceConfig['relay']> = {}): GpioRelayDeviceConfig {
  return {
    type: 'gpio-relay',
    name: 'relay-pi1',
    hosts: ['pi1'],
    runOn: ['pi2'],
    timeoutMs: 5000,
    driver: 'pi2',
    relay: { line: 17, activeLow: false, ...over },
  };
}

async function setup(over: Partial<GpioRelayDeviceConfig['relay']> = {}) {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'piha-relay-'));
  const gpio = new SimGpio({ dir, pollMs: 0 });
  const config = relayConfig(over);
  const dev = new GpioRelayDevice(config, gpio);
  const level = () => readSimLine(dir, config.relay);
  const cleanup = async () => {
    await dev.close();
    await fs.rm(dir, { recursive: true, force: true });
  };
  return { dir, gpio, dev, level, config, cleanup };
}

test('off energises the relay (logical 1), on releases it; status reads the line back', async () => {
  const t = await setup();
  try {
    assert.equal(await t.level(), null, 'the line is not requested before the first command');
    assert.equal(await t.dev.status('pi1', never), 'on');
    assert.equal(await t.level(), 0, 'first opened at 0 = powered');
    await t.dev.off('pi1', never);
    assert.equal(await t.level(), 1, 'active-high: the pin is high while the power is cut');
    assert.equal(await t.dev.status('pi1', never), 'off');
    await t.dev.on('pi1', never);
    assert.equal(await t.level(), 0);
    assert.equal(await t.dev.status('pi1', never), 'on');
  } finally {
    await t.cleanup();
  }
});

test('active_low: off drives the pin low, on drives it high', async () => {
  const t = await setup({ activeLow: true });
  try {
    await t.dev.off('pi1', never);
    assert.equal(await t.level(), 0);
    assert.equal(await t.dev.status('pi1', never), 'off');
    await t.dev.on('pi1', never);
    assert.equal(await t.level(), 1);
    assert.equal(await t.dev.status('pi1', never), 'on');
  } finally {
    await t.cleanup();
  }
});

test('a first off opens the line already cut, with no powered glitch before it', async () => {
  const t = await setup({ activeLow: true });
  const levels: (Level | null)[] = [];
  const spy: GpioBackend = {
    output: async (spec, initial) => {
      levels.push(initial);
      return t.gpio.output(spec, initial);
    },
    input: (spec, opts) => t.gpio.input(spec, opts),
  };
  const dev = new GpioRelayDevice(t.config, spy);
  try {
    await dev.off('pi1', never);
    assert.deepEqual(levels, [1]);
    assert.equal(await t.level(), 0);
  } finally {
    await dev.close();
    await t.cleanup();
  }
});

test('the line stays requested between commands and is released by close', async () => {
  const t = await setup();
  try {
    await t.dev.off('pi1', never);
    await assert.rejects(t.gpio.output({ line: 17 }, 0), /busy/);
    await t.dev.close();
    assert.equal(await t.level(), 1, 'released lines keep their level (persist_gpio_outputs)');
    const again = await t.gpio.output({ line: 17 }, 0);
    await again.close();
    await assert.rejects(t.dev.off('pi1', never), (e: unknown) => e instanceof FenceError && /closed/.test(e.message));
  } finally {
    await t.cleanup();
  }
});

test('status reports what the pin reads, not what was last asked', async () => {
  const t = await setup();
  try {
    await t.dev.on('pi1', never);
    await writeSimLine(t.dir, t.config.relay, 1);
    assert.equal(await t.dev.status('pi1', never), 'off');
  } finally {
    await t.cleanup();
  }
});

test('a busy line is a FenceError naming the line; the next command retries the request', async () => {
  const t = await setup();
  const led = await t.gpio.output({ line: 17 }, 0);
  try {
    await assert.rejects(t.dev.off('pi1', never), (e: unknown) => {
      assert.ok(e instanceof FenceError);
      assert.equal(e.device, 'relay-pi1');
      assert.match(e.message, /cannot open relay line .*17/);
      assert.match(e.message, /in use by something else/);
      return true;
    });
    await led.close();
    await t.dev.off('pi1', never);
    assert.equal(await t.level(), 1);
  } finally {
    await t.cleanup();
  }
});

test('a line that does not hold its level fails the command (read-back)', async () => {
  const stuck: GpioLine = { set: async () => {}, get: async () => 0, close: async () => {} };
  const backend: GpioBackend = { output: async () => stuck, input: async () => { throw new Error('no'); } };
  const dev = new GpioRelayDevice(relayConfig(), backend);
  await assert.rejects(dev.off('pi1', never), /reads back as on after switching off/);
  const broken: GpioLine = { set: async () => { throw new Error('EIO'); }, get: async () => 0, close: async () => {} };
  const dev2 = new GpioRelayDevice(relayConfig(), { output: async () => broken, input: backend.input });
  await assert.rejects(dev2.off('pi1', never), (e: unknown) => e instanceof FenceError && /cannot drive relay line .*EIO/.test(e.message));
});

test('a node the relay does not switch, and an aborted signal, are refused', async () => {
  const t = await setup();
  try {
    await assert.rejects(t.dev.off('pi3', never), (e: unknown) => e instanceof FenceError && /only fences pi1/.test(e.message));
    const ac = new AbortController();
    ac.abort();
    await assert.rejects(t.dev.off('pi1', ac.signal), (e: unknown) => e instanceof FenceError && /aborted/.test(e.message));
    assert.equal(await t.level(), null, 'nothing was driven');
  } finally {
    await t.cleanup();
  }
});
