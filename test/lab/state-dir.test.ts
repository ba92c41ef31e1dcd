// A node whose state directory cannot be written (a read-only or full SD card, here: its
// files made immutable with chattr, which stops root too) must not send promises it could not
// save. It falls silent, says why in `piha status`, /status and /metrics and blinks its LED's
// fault pattern (the sim GPIO of test/lab/hardware.ts), its VIP moves to a
// node that can save, never two holders; once the directory is writable again it saves within
// a second or two and rejoins, and the VIP stays where it went.

import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { LabCluster, VIP } from './cluster.ts';
import { LabHardware, setUpHardware } from './hardware.ts';
import { requireLab, sleep, until } from './lab.ts';

async function chattr(c: LabCluster, flag: '+i' | '-i', dir: string): Promise<void> {
  const files = readdirSync(dir).map((f) => join(dir, f));
  // The files first when locking (the directory, once immutable, still lets them be listed).
  const r = await c.lab.exec(c.lab.client.ns, ['chattr', flag, ...(flag === '+i' ? [...files, dir] : [dir, ...files])]);
  assert.equal(r.code, 0, `chattr ${flag}: ${r.stderr}`);
}

test('state directory not writable: the node falls silent, its VIP moves, it rejoins once it can save', async (t) => {
  if (!(await requireLab(t))) return;
  const c = await LabCluster.create({ profile: 'lan' });
  const w = c.lab.watchAddress(VIP);
  const hw = new LabHardware(c);
  let locked: string | null = null;
  try {
    await setUpHardware(hw, {});
    await w.ready;
    hw.startAll();
    const h = await c.waitForHolder(w, 15000);
    const others = c.lab.nodes.map((n) => n.name).filter((n) => n !== h);
    // Let every node save once (the first acquisition): its slots exist before they are locked.
    await sleep(1500);
    locked = join(c.dir, `${h}-state`);
    await chattr(c, '+i', locked);

    // An attribute change makes every node save its state: the holder cannot.
    const r = await c.cli(others[0]!, ['node', 'standby', others[1]!]);
    assert.equal(r.code, 0, r.stderr);
    const silent = await until(
      'the holder reports that it cannot save',
      async () => {
        const s = await c.statusJson(h);
        return s.stateSave ? s : false;
      },
      5000,
      100,
    );
    assert.match(silent.stateSave.error, /EPERM|operation not permitted/i);
    assert.equal(silent.stateSave.dir, locked);
    await until('its LED blinks the fault pattern', async () => (await c.statusJson(h)).led === 'double', 2000, 100);
    const text = (await c.cli(h, ['status'])).stdout;
    assert.match(text, /ERROR: cannot save the node state in .* this node sends nothing until it can/);
    const m = await c.metrics(c.lab.node(h).addr);
    assert.equal(m.get('piha_state_unsaved'), 1);
    assert.ok((m.get('piha_state_save_failures_total') ?? 0) >= 1);

    // The others stop hearing it; the VIP goes to the one node left that is not in standby.
    const h2 = await c.waitForHolder(w, 10000, h);
    assert.equal(h2, others[0]);
    await until('the others see the silent node offline', async () => (await c.statusJson(h2)).nodes.find((n: { name: string }) => n.name === h)?.state === 'offline', 5000, 100);
    assert.ok((await c.statusJson(h)).stateSave.droppedSends > 0);
    assert.match(c.daemons.get(h)!.stdoutLines.join('\n'), /"event":"state_save_failed"/);

    // Writable again: saved on the next try, heard again; the VIP stays (stickiness).
    await chattr(c, '-i', locked);
    locked = null;
    await until('the node saved and speaks again', async () => (await c.statusJson(h)).stateSave === undefined, 5000, 100);
    await until('the others hear it again', async () => (await c.statusJson(h2)).nodes.find((n: { name: string }) => n.name === h)?.state !== 'offline', 5000, 100);
    assert.match(c.daemons.get(h)!.stdoutLines.join('\n'), /"event":"state_saved"/);
    assert.equal((await c.metrics(c.lab.node(h).addr)).get('piha_state_unsaved'), 0);
    await until('its LED is back to a member\'s', async () => (await c.statusJson(h)).led === 'slow', 2000, 100);
    await sleep(1000);
    assert.deepEqual(w.holders(), [h2]);
    assert.equal(w.overlapMs(), 0, `two nodes held the VIP at once: ${JSON.stringify(w.overlaps())}`);
  } catch (e) {
    console.log(c.logs(30));
    throw e;
  } finally {
    if (locked) await chattr(c, '-i', locked).catch(() => undefined);
    await hw.stop();
    await w.stop();
    await c.destroy();
  }
});
