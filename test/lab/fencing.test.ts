// Fencing and node hardware with real daemons: the lab plays relays, watchdogs, the LED and
// the button (test/lab/hardware.ts) through the sim GPIO and watchdog backends. A "hung"
// holder below is SIGSTOPped as a whole process group — daemon AND address guard — so only
// the kernel address lifetime, a fence or the watchdog can take its VIP away.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { requireLab, now, sleep } from './lab.ts';
import { LabCluster, VIP } from './cluster.ts';
import { LabHardware, relayRingYaml, ringRelays, setUpHardware } from './hardware.ts';
import { readSimWatchdog } from '../../src/devices/watchdog-sim.ts';
import { deriveTiming } from '../../src/core/timing.ts';
import { LAN } from '../../src/config/profiles.ts';

const holderOf = (body: unknown) => {
  try {
    return JSON.parse(String(body)).node as string;
  } catch {
    return '';
  }
};

interface Setup {
  watchdog?: boolean;
  watchdogSec?: number;
  /** devices: YAML list under fencing.devices (node names node1..3); omitted = none */
  devices?: (c: LabCluster, hw: LabHardware) => string;
  relays?: [driver: string, target: string][];
}

const NODES = ['node1', 'node2', 'node3'];
const RELAY_RING = (): string => relayRingYaml(NODES);

async function withFencing(
  t: { skip(m?: string): void; diagnostic(m: string): void },
  setup: Setup,
  fn: (c: LabCluster, hw: LabHardware, w: any, p: any) => Promise<void>,
) {
  if (!(await requireLab(t))) return;
  const c = await LabCluster.create({ profile: 'lan' });
  const hw = new LabHardware(c);
  const w = c.lab.watchAddress(VIP);
  let p: any;
  try {
    await setUpHardware(hw, {
      watchdog: setup.watchdog,
      watchdogSec: setup.watchdogSec,
      ...(setup.devices ? { devices: setup.devices(c, hw) } : {}),
      relays: setup.relays,
    });
    await w.ready;
    hw.startAll();
    await c.waitForHolder(w, 20_000);
    p = c.lab.probe({ ip: VIP, port: 9405, path: '/healthz', everyMs: 5, maxDurationMs: 120_000 });
    await p.waitFor((s: any) => s.ok, 5000);
    await fn(c, hw, w, p);
    assert.equal(w.overlapMs(), 0, `two nodes held the VIP at once: ${JSON.stringify(w.overlaps())}`);
  } catch (e) {
    console.log(c.logs(40));
    throw e;
  } finally {
    await hw.stop();
    await p?.stop();
    await w.stop();
    await c.destroy();
  }
}

/** SIGSTOP the node's daemon and its address guard: a hung node that keeps its addresses. */
function hang(c: LabCluster, node: string): void {
  c.daemons.get(node)!.signalGroup('SIGSTOP');
}

async function takeover(p: any, t0: number, old: string, timeoutMs = 15_000): Promise<{ ms: number; by: string }> {
  const s = await p.waitFor((x: any) => x.ok && x.t > t0 && holderOf(x.body) !== old, timeoutMs);
  return { ms: s.t - t0, by: holderOf(s.body) };
}

test('relay fencing: a hung holder is powered off by its relay, then the VIP moves; never two holders', async (t) => {
  await withFencing(
    t,
    { devices: RELAY_RING, relays: ringRelays(NODES) },
    async (c, hw, w, p) => {
      const h = w.holders()[0];
      const t0 = now();
      hang(c, h);
      const r = await takeover(p, t0, h);
      t.diagnostic(`hung ${h}: answered by ${r.by} after ${r.ms.toFixed(0)} ms`);
      const off = hw.events.find((e) => e.node === h && e.what === 'off');
      assert.ok(off, `${h} was powered off by its relay`);
      assert.ok(off.t - t0 < r.ms + 1, 'power was cut before the new holder answered');
      assert.ok(r.ms < 5000, `takeover took ${r.ms} ms`);
      const s = await c.statusJson(r.by);
      assert.ok(s.fencing.history.some((e: any) => e.ok && e.node === h), JSON.stringify(s.fencing.history));
      // The reboot half: power comes back after off_time and the node rejoins.
      await w.waitFor(() => true, 10);
      const t1 = now();
      while (now() - t1 < 10_000 && !hw.isPowered(h)) await sleep(50);
      assert.ok(hw.isPowered(h), `${h} was powered on again`);
      const hist = await c.cli(r.by, ['stonith', 'history']);
      assert.match(hist.stdout, new RegExp(`fenced +${h}`));
    },
  );
});

test('watchdog only: a hung holder loses its VIP only after the watchdog deadline; never two holders', async (t) => {
  await withFencing(t, { watchdog: true, watchdogSec: 2 }, async (c, hw, w, p) => {
    hw.bootMs = 20_000; // a Pi takes about that long to boot again (and must not win the VIP back here)
    const h = w.holders()[0];
    const other = c.lab.nodes.find((n) => n.name !== h)!.name;
    const s0 = await c.statusJson(other);
    const waitMs = s0.fencing.watchdogWaitMs as number;
    assert.ok(waitMs >= 2000, `peers wait ${waitMs} ms for a 2 s watchdog`);
    assert.deepEqual(s0.safety.modes, ['lease', 'watchdog']);
    const t0 = now();
    hang(c, h);
    const r = await takeover(p, t0, h);
    t.diagnostic(`hung ${h}: answered by ${r.by} after ${r.ms.toFixed(0)} ms (peers wait promise + ${waitMs} ms)`);
    const reset = hw.events.find((e) => e.node === h && e.what === 'watchdog-reset');
    assert.ok(reset, `${h}'s watchdog reset it`);
    // The safety property: the hung holder's watchdog had reset it before anyone else added
    // the VIP.
    // (the prober that saw r.by answer and the address watcher are separate processes)
    await w.waitForHolders([r.by], 3000);
    const added = w.intervals()[r.by]!.at(-1)![0];
    assert.ok(reset.t < added, `${h} reset ${(reset.t - t0).toFixed(0)} ms after the hang, VIP added on ${r.by} at ${(added - t0).toFixed(0)} ms`);
    // And the protocol's bound: the last promise to the holder was made when a peer received
    // its last request, at most one heartbeat before the freeze, and lasts P + the watchdog
    // wait. (The old bound here allowed 150 ms, not a heartbeat: CI saw 3335 ms against 3341
    // once the candidate started retrying at the first tick after its own promise ended.)
    const d = deriveTiming(LAN);
    const earliest = d.promiseMs + waitMs - d.heartbeatMs;
    assert.ok(added - t0 >= earliest, `VIP added on ${r.by} ${(added - t0).toFixed(0)} ms after the hang, before ${earliest} ms`);
    assert.ok(r.ms < d.promiseMs + waitMs + 2500, `takeover took ${r.ms} ms`);
  });
});

test('failing fence device: no takeover from a hung holder, the failure is in status and metrics; stonith confirm releases it', async (t) => {
  await withFencing(
    t,
    {
      devices: (c) => {
        const script = join(c.dir, 'fence-broken.sh');
        writeFileSync(script, '#!/bin/sh\necho "plug 192.0.2.99 unreachable" >&2\nexit 1\n', { mode: 0o755 });
        return `    - { name: broken-plug, type: exec, hosts: [node1, node2, node3], command: [${script}], timeout: 2s }`;
      },
    },
    async (c, hw, w, p) => {
      const h = w.holders()[0];
      const others = c.lab.nodes.map((n) => n.name).filter((n) => n !== h);
      const t0 = now();
      hang(c, h);
      await sleep(6000);
      assert.equal(w.holders().filter((n: string) => n !== h).length, 0, 'nobody took the VIP while the holder may still have it');
      assert.equal(p.firstOkAfter(t0 + 3000, (s: any) => holderOf(s.body) !== h), undefined, 'the client was not answered by another node');
      const st = await Promise.all(others.map((n) => c.statusJson(n)));
      const pending = st.flatMap((s) => s.fencing.pending);
      assert.ok(pending.some((x: any) => x.node === h && /unreachable/.test(x.lastError ?? '')), JSON.stringify(pending));
      const text = await c.cli(others[0], ['status']);
      assert.match(text.stdout, /FENCING|wait for a fence/);
      const list = await c.cli(others[0], ['stonith', 'list']);
      assert.match(list.stdout, /broken-plug \(exec\)/);
      const m = await Promise.all(others.map((n) => c.metrics(c.lab.node(n).addr)));
      const failed = m.reduce((a, x) => a + (x.get(`piha_fence_total{node="${h}",result="failed"}`) ?? 0), 0);
      assert.ok(failed >= 2, `fence failures counted in /metrics: ${failed}`);
      // The user pulls the plug by hand and says so.
      await hw.powerOff(h);
      const tc = now();
      const r = await c.cli(others[0], ['stonith', 'confirm', h]);
      assert.equal(r.code, 0, r.stderr + r.stdout);
      const took = await takeover(p, tc, h);
      t.diagnostic(`after stonith confirm: answered by ${took.by} in ${took.ms.toFixed(0)} ms`);
    },
  );
});

test('status LED follows the role, and a short button press puts the node in standby', async (t) => {
  await withFencing(t, {}, async (c, hw, w) => {
    const h = w.holders()[0];
    const other = c.lab.nodes.find((n) => n.name !== h)!.name;
    await sleep(500);
    const lit = await hw.sampleLed(h, 1500);
    assert.ok(lit.onFraction > 0.95 && lit.changes === 0, `holder LED solid: ${JSON.stringify(lit)}`);
    const blink = await hw.sampleLed(other, 2100);
    assert.ok(blink.changes >= 3 && blink.onFraction > 0.2 && blink.onFraction < 0.8, `member LED slow blink: ${JSON.stringify(blink)}`);
    assert.equal((await c.statusJson(h)).led, 'solid');
    assert.equal((await c.statusJson(other)).led, 'slow');
    await hw.press(h, 300);
    await c.waitForHolder(w, 10_000, h);
    const s = await c.statusJson(other);
    assert.equal(s.nodes.find((n: any) => n.name === h).state, 'standby');
    await hw.press(h, 300);
    const t0 = now();
    let state = 'standby';
    while (now() - t0 < 5000 && state === 'standby') {
      state = (await c.statusJson(other)).nodes.find((n: any) => n.name === h).state;
      await sleep(100);
    }
    assert.equal(state, 'online', 'a second short press ends the standby');
  });
});

test('watchdog armed at boot before the network is up: pets go on while the daemon waits for its address, no reset', async (t) => {
  await withFencing(t, { watchdog: true, watchdogSec: 2 }, async (c, hw, w) => {
    const h = w.holders()[0];
    const x = c.lab.nodes.find((n) => n.name !== h)!;
    // x loses power, then boots with its link up but no address yet (DHCP is slow).
    await hw.powerOff(x.name);
    await c.lab.execOk(x.ns, ['ip', 'addr', 'del', `${x.addr}/24`, 'dev', x.ifname]);
    const t0 = now();
    await hw.powerOn(x.name); // link up, daemon started; the harness resets it if pets stop
    await c.daemons.get(x.name)!.waitForLine(/watchdog_armed/, 15_000);
    await sleep(6000); // three watchdog timeouts
    assert.equal(hw.events.filter((e) => e.node === x.name && e.what === 'watchdog-reset' && e.t > t0).length, 0, 'the watchdog did not reset the booting node');
    const wd = readSimWatchdog(hw.watchdogFile(x.name))!;
    assert.ok(wd.armed && wd.pets >= 4, `armed and petted while waiting: ${JSON.stringify(wd)}`);
    // The address arrives: the node joins the cluster.
    await c.lab.exec(x.ns, ['ip', 'addr', 'add', `${x.addr}/24`, 'dev', x.ifname]);
    const t1 = now();
    while (now() - t1 < 20_000) {
      const s = await c.statusJson(h).catch(() => null);
      if (s?.nodes.find((n: any) => n.name === x.name)?.state === 'online') break;
      await sleep(200);
    }
    const s = await c.statusJson(h);
    assert.equal(s.nodes.find((n: any) => n.name === x.name)?.state, 'online', `${x.name} joined once its address was up`);
    assert.deepEqual(w.holders(), [h], 'the VIP stayed where it was');
  });
});
