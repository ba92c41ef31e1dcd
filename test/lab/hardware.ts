// The lab plays the hardware that the sim backends stand for, as a real board would:
//   - a relay ring: when the sim GPIO line of a relay (on its driver node) reads "cut", the
//     target node loses power: every process of it is SIGKILLed (daemon and address guard,
//     frozen or not), its VIPs vanish (a rebooted Pi has none) and its link goes down; when
//     the line reads "powered" again, the node boots: link up, daemon started again;
//   - a hardware watchdog: when a node's sim watchdog file says it fired, the node is reset
//     (power off, then boot after bootMs);
//   - the status LED and the button: the LED line file is sampled, the button line written.
// Each node gets its own GPIO directory and watchdog file, set in its own config file
// (node-local settings, left out of the cluster config digest).

import { writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readSimLine, writeSimLine } from '../../src/devices/gpio-sim.ts';
import { readSimWatchdog, simWatchdogFired } from '../../src/devices/watchdog-sim.ts';
import { monotonicNow } from '../../src/daemon/clock.ts';
import { now, sleep } from './lab.ts';
import { VIP, type LabCluster } from './cluster.ts';

export const LED_LINE = 27;
export const BUTTON_LINE = 22;
export const RELAY_LINE = 17;

export interface PowerEvent {
  t: number;
  node: string;
  what: 'off' | 'on' | 'watchdog-reset';
}

export class LabHardware {
  readonly events: PowerEvent[] = [];
  private readonly powered = new Map<string, boolean>();
  private readonly relays: { driver: string; target: string; activeLow: boolean }[] = [];
  private watchdogs = false;
  private timer: NodeJS.Timeout | null = null;
  private busy = false;
  private stopped = false;
  private readonly boots = new Set<NodeJS.Timeout>();
  bootMs = 1000;

  constructor(readonly c: LabCluster) {
    for (const n of c.lab.nodes) this.powered.set(n.name, true);
  }

  gpioDir(node: string): string {
    return join(this.c.dir, `${node}-gpio`);
  }

  watchdogFile(node: string): string {
    return join(this.c.dir, `${node}-wd.json`);
  }

  /** One config file per node: the shared file plus this node's hardware paths. */
  writeNodeConfigs(yamlExtra: (node: string) => string): void {
    const base = readFileSync(this.c.configFile(), 'utf8');
    for (const n of this.c.lab.nodes) writeFileSync(this.configOf(n.name), base + yamlExtra(n.name));
  }

  configOf(node: string): string {
    return join(this.c.dir, `${node}.yaml`);
  }

  start(node: string): void {
    this.c.start(node, this.configOf(node));
  }

  startAll(): void {
    for (const n of this.c.lab.nodes) this.start(n.name);
  }

  /** The relay on `driver`'s header switches `target`'s supply. */
  relay(driver: string, target: string, activeLow = false): void {
    this.relays.push({ driver, target, activeLow });
  }

  enableWatchdogs(): void {
    this.watchdogs = true;
  }

  /** Poll relays and watchdogs every 10 ms (the sim GPIO backend writes within its own 10 ms). */
  run(): void {
    this.timer = setInterval(() => void this.poll(), 10);
  }

  isPowered(node: string): boolean {
    return this.powered.get(node) ?? false;
  }

  private async poll(): Promise<void> {
    if (this.busy || this.stopped) return;
    this.busy = true;
    try {
      for (const r of this.relays) {
        const level = await readSimLine(this.gpioDir(r.driver), { line: RELAY_LINE });
        if (level === null) continue;
        const cut = (level === 1) !== r.activeLow;
        if (cut && this.isPowered(r.target)) await this.powerOff(r.target, 'off');
        else if (!cut && !this.isPowered(r.target)) await this.powerOn(r.target);
      }
      if (this.watchdogs) {
        for (const n of this.c.lab.nodes) {
          if (!this.isPowered(n.name)) continue;
          const st = readSimWatchdog(this.watchdogFile(n.name));
          if (simWatchdogFired(st, monotonicNow())) {
            await this.powerOff(n.name, 'watchdog-reset');
            const t = setTimeout(() => {
              this.boots.delete(t);
              if (!this.stopped) void this.powerOn(n.name);
            }, this.bootMs);
            this.boots.add(t);
          }
        }
      }
    } finally {
      this.busy = false;
    }
  }

  /** Power cut: everything of the node dies at once, its VIPs with it, and its link drops. */
  async powerOff(node: string, what: 'off' | 'watchdog-reset' = 'off'): Promise<void> {
    if (!this.isPowered(node)) return;
    this.powered.set(node, false);
    this.events.push({ t: now(), node, what });
    const p = this.c.daemons.get(node);
    p?.signalGroup('SIGKILL');
    const m = this.c.lab.node(node);
    await this.c.lab.exec(m.ns, ['ip', 'addr', 'del', `${VIP}/32`, 'dev', m.ifname]); // fails if absent: fine
    await this.c.lab.linkDown(node);
    // A reset watchdog starts disarmed on the next boot.
    if (what === 'watchdog-reset') writeFileSync(this.watchdogFile(node), JSON.stringify({ armed: false, timeoutSec: 0, lastPetMs: 0, pets: 0, nowayout: false }));
    await p?.wait(2000);
  }

  async powerOn(node: string): Promise<void> {
    if (this.isPowered(node)) return;
    this.powered.set(node, true);
    this.events.push({ t: now(), node, what: 'on' });
    await this.c.lab.linkUp(node);
    this.start(node);
  }

  /** Press the button (pulled up, active low: pressed = 0 V) for `ms`. */
  async press(node: string, ms: number): Promise<void> {
    await writeSimLine(this.gpioDir(node), { line: BUTTON_LINE }, 0);
    await sleep(ms);
    await writeSimLine(this.gpioDir(node), { line: BUTTON_LINE }, 1);
  }

  /** Sample the LED line for `ms`: fraction of time lit and number of changes. */
  async sampleLed(node: string, ms: number): Promise<{ onFraction: number; changes: number }> {
    const t0 = now();
    let on = 0;
    let n = 0;
    let changes = 0;
    let last: number | null = null;
    while (now() - t0 < ms) {
      const v = await readSimLine(this.gpioDir(node), { line: LED_LINE });
      if (v !== null) {
        n++;
        if (v === 1) on++;
        if (last !== null && v !== last) changes++;
        last = v;
      }
      await sleep(10);
    }
    return { onFraction: n ? on / n : 0, changes };
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.boots) clearTimeout(t);
    if (this.timer) clearInterval(this.timer);
    while (this.busy) await sleep(5);
  }
}

export interface FencingLabOptions {
  watchdog?: boolean;
  watchdogSec?: number;
  /** YAML list items under fencing.devices (indented 4 spaces); omitted = none. */
  devices?: string;
  offTime?: string;
}

/** The relay ring of hardware/README.md on the lab's node1..3: nodeN's relay is driven by nodeN+1. */
export function relayRingYaml(nodes: string[]): string {
  return nodes
    .map((target, i) => {
      const driver = nodes[(i + 1) % nodes.length];
      return `    - { name: relay-${target}, type: gpio-relay, hosts: [${target}], driver: ${driver}, line: ${RELAY_LINE}, active_low: false, timeout: 2s }`;
    })
    .join('\n');
}

/** The fencing: and hardware: sections of one lab node's config file. */
export function fencingYaml(hw: LabHardware, node: string, o: FencingLabOptions): string {
  return `fencing:
  action: reboot
  off_time: ${o.offTime ?? '1s'}
  retry_interval: 1s
  watchdog:
    enabled: ${o.watchdog ? 'true' : 'false'}
    device: sim:${hw.watchdogFile(node)}
    timeout: ${o.watchdogSec ?? 2}s
${o.devices ? `  devices:\n${o.devices}\n` : ''}hardware:
  gpio: sim
  gpio_sim_dir: ${hw.gpioDir(node)}
  led: { line: ${LED_LINE} }
  button: { line: ${BUTTON_LINE}, active_low: true }
`;
}

/** Per-node configs, released buttons, relays of the ring (when devices use it), watchdogs. */
export async function setUpHardware(hw: LabHardware, o: FencingLabOptions & { relays?: [driver: string, target: string][] }): Promise<void> {
  hw.writeNodeConfigs((node) => fencingYaml(hw, node, o));
  for (const n of hw.c.lab.nodes) await writeSimLine(hw.gpioDir(n.name), { line: BUTTON_LINE }, 1);
  for (const [driver, target] of o.relays ?? []) hw.relay(driver, target);
  if (o.watchdog) hw.enableWatchdogs();
  hw.run();
}

/** The relay pairs of relayRingYaml: [driver, target]. */
export function ringRelays(nodes: string[]): [string, string][] {
  return nodes.map((target, i) => [nodes[(i + 1) % nodes.length], target]);
}
