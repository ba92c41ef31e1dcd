// The fencing: section: the watchdog (self-fencing) and the fence devices that cut a lost
// node's power (GPIO relay ring, smart plugs, a script), and the rules linking devices to the
// nodes: list and to the hardware: section.
//
// Coverage: with stonith_enabled: true, a member that no device lists in hosts: cannot be
// fenced by power; the cluster falls back to lease safety for it (its VIP moves only once the
// promise it holds ran out, as without fencing) and, if it runs one, its own watchdog. That is
// a legitimate setup (e.g. two Pis on a relay and a third on nothing), so it is not an error;
// devicesFor() in src/fence/index.ts lists the devices covering a node for whoever reports it.

import type { Issues } from './errors.ts';
import { FENCE_DEVICE_DEFAULT_TIMEOUT_MS, defaultFencing } from './fencing-defaults.ts';
import { formatDuration } from './duration.ts';
import { checkAbsolutePath, checkName } from './formats.ts';
import { lineKey, readLineFields, showLine, type LineDraft } from './hardware.ts';
import type { NodeDraft } from './nodes.ts';
import { indexPath, keyPath } from './path.ts';
import { describe, isMapping, Section } from './read.ts';
import {
  FENCE_ACTIONS,
  FENCE_DEVICE_COMMON_KEYS,
  FENCE_DEVICE_TYPE_KEYS,
  FENCE_DEVICE_TYPES,
  FENCING_KEYS,
  HTTP_PLUG_APIS,
  WATCHDOG_KEYS,
  type FenceDeviceType,
} from './schema.ts';
import { closest } from './suggest.ts';
import type { FenceDeviceConfig, FencingConfig, GpioLineConfig, HardwareConfig, HttpPlugDeviceConfig, WatchdogConfig } from './types.ts';

const PATH = 'fencing';

/** bcm2835_wdt counts at most 0xfffff ticks of 1/65536 s, just under 16 s: the driver's
 *  max_timeout is 15 s. The kernel sets watchdog timeouts in whole seconds. */
export const WATCHDOG_MIN_TIMEOUT_MS = 1000;
export const WATCHDOG_MAX_TIMEOUT_MS = 15000;

/** One device as far as it could be read; undefined fields had errors. */
export interface DeviceDraft {
  path: string;
  type?: FenceDeviceType;
  name?: string;
  hosts?: string[];
  /** run_on as written (http-plug, exec); undefined when absent or bad. */
  runOn?: string[];
  runOnWritten: boolean;
  timeoutMs?: number;
  driver?: string;
  relay?: LineDraft;
  api?: HttpPlugDeviceConfig['api'];
  url?: string;
  channel?: number;
  username?: string;
  password?: string;
  command?: string[];
}

export interface FencingDraft {
  /** stonith_enabled as written; undefined: absent (default) or bad. */
  stonithEnabled?: boolean;
  action: FencingConfig['action'];
  offTimeMs: number;
  retryIntervalMs: number;
  watchdog: WatchdogConfig;
  devices: (DeviceDraft | null)[];
}

export function readFencing(issues: Issues, raw: unknown): FencingDraft {
  const d = defaultFencing();
  const draft: FencingDraft = { ...d, stonithEnabled: undefined, devices: [] };
  if (raw === undefined) return draft;
  const s = Section.open(issues, raw, PATH, 'fencing:', FENCING_KEYS);
  if (!s) return draft;
  draft.stonithEnabled = s.bool('stonith_enabled', { example: 'stonith_enabled: true' });
  draft.action = s.oneOf('action', FENCE_ACTIONS, { example: 'action: reboot', what: 'fence action' }) ?? d.action;
  draft.offTimeMs = s.duration('off_time', { example: 'off_time: 5s' }) ?? d.offTimeMs;
  draft.retryIntervalMs = s.duration('retry_interval', { example: 'retry_interval: 5s' }) ?? d.retryIntervalMs;
  draft.watchdog = readWatchdog(issues, s.nested('watchdog'), s.pathOf('watchdog'), d.watchdog);
  draft.devices = readDevices(issues, s.nested('devices'), s.pathOf('devices'));
  return draft;
}

function readWatchdog(issues: Issues, raw: unknown, path: string, d: WatchdogConfig): WatchdogConfig {
  if (raw === undefined) return { ...d };
  const s = Section.open(issues, raw, path, 'watchdog:', WATCHDOG_KEYS);
  if (!s) return { ...d };
  const enabled = s.bool('enabled', { example: 'enabled: true' }) ?? d.enabled;
  const device = s.string('device', { example: `device: ${d.device}`, check: checkWatchdogDevice }) ?? d.device;
  let timeoutMs = s.duration('timeout', { example: 'timeout: 5s' });
  if (timeoutMs !== undefined) {
    const shown = formatDuration(timeoutMs);
    if (timeoutMs % 1000 !== 0) {
      issues.add(s.pathOf('timeout'), `must be whole seconds, not ${shown} (the kernel sets a watchdog's timeout in seconds, as bcm2835_wdt.heartbeat=N in cmdline.txt; write e.g. ${Math.max(1, Math.round(timeoutMs / 1000))}s)`);
      timeoutMs = undefined;
    } else if (timeoutMs < WATCHDOG_MIN_TIMEOUT_MS || timeoutMs > WATCHDOG_MAX_TIMEOUT_MS) {
      issues.add(
        s.pathOf('timeout'),
        `must be between 1s and 15s, not ${shown} (the Pi's bcm2835 watchdog cannot count longer than about 15 s, its hardware maximum, and the kernel refuses longer timeouts)`,
      );
      timeoutMs = undefined;
    }
  }
  return { enabled, device, timeoutMs: timeoutMs ?? d.timeoutMs };
}

function checkWatchdogDevice(v: string): string | null {
  if (v.startsWith('sim:')) {
    return v.length > 4 && v[4] === '/'
      ? null
      : `${JSON.stringify(v)}: a simulated watchdog is sim: followed by the absolute path of its state file, like sim:/run/piha/wd.json`;
  }
  return checkAbsolutePath(v, '/dev/watchdog');
}

function readDevices(issues: Issues, raw: unknown, path: string): (DeviceDraft | null)[] {
  if (raw === undefined) return [];
  if (!Array.isArray(raw)) {
    issues.add(path, `must be a list of fence devices (lines starting with -, each with name:, type: and hosts:), not ${describe(raw)}`);
    return [];
  }
  const drafts = raw.map((item, i) => readDevice(issues, item, indexPath(path, i)));
  // Device names identify them in logs and status: report the later duplicate.
  const seen = new Map<string, number>();
  drafts.forEach((dev, i) => {
    if (dev?.name === undefined) return;
    const first = seen.get(dev.name);
    if (first === undefined) seen.set(dev.name, i);
    else issues.add(keyPath(dev.path, 'name'), `${JSON.stringify(dev.name)} is already used by ${indexPath(path, first)} (fence device names must be unique)`);
  });
  return drafts;
}

const aDevice = (t: FenceDeviceType): string => `${t === 'exec' ? 'an' : 'a'} ${t} device`;

function readDevice(issues: Issues, raw: unknown, path: string): DeviceDraft | null {
  const rawType = isMapping(raw) ? raw.type : undefined;
  const type =
    typeof rawType === 'string' && (FENCE_DEVICE_TYPES as readonly string[]).includes(rawType) ? (rawType as FenceDeviceType) : undefined;
  // Without a valid type every type's keys are accepted, so only the type is reported.
  const known = [
    ...FENCE_DEVICE_COMMON_KEYS,
    ...(type ? FENCE_DEVICE_TYPE_KEYS[type] : [...new Set(FENCE_DEVICE_TYPES.flatMap((t) => FENCE_DEVICE_TYPE_KEYS[t]))]),
  ];
  const s = Section.open(issues, raw, path, type ? `this ${type} device` : 'this device', known, {
    explainUnknown: (key) => {
      if (!type) return undefined;
      if (type === 'gpio-relay' && key === 'run_on') {
        return 'a gpio-relay always runs on the node that drives it, given by driver:';
      }
      const owners = FENCE_DEVICE_TYPES.filter((t) => FENCE_DEVICE_TYPE_KEYS[t].includes(key));
      return owners.length > 0
        ? `${key} is for ${owners.join(' and ')} devices; ${aDevice(type)} uses ${FENCE_DEVICE_TYPE_KEYS[type].join(', ')}`
        : undefined;
    },
  });
  if (!s) return null;
  s.oneOf('type', FENCE_DEVICE_TYPES, { required: true, example: 'type: gpio-relay', what: 'fence device type' });
  const dev: DeviceDraft = {
    path,
    type,
    name: s.string('name', { required: true, example: 'name: relay-pi1', check: (v) => checkName(v, 'relay-pi1') }),
    hosts: readNames(s, 'hosts', true),
    runOnWritten: s.has('run_on'),
  };
  const timeoutMs = s.duration('timeout', { example: 'timeout: 5s' });
  dev.timeoutMs = timeoutMs ?? (s.has('timeout') || !type ? undefined : FENCE_DEVICE_DEFAULT_TIMEOUT_MS[type]);

  if (type === 'gpio-relay') {
    dev.driver = s.string('driver', { required: true, example: 'driver: pi2' });
    dev.relay = readLineFields(s, {
      example: 17,
      activeLowWhy:
        'it says which input level energises the relay, and a wrong guess cuts the peer the first time piha drives the line; the common opto-isolated relay boards switch on a low input (active_low: true), see hardware/README.md',
    });
  } else if (type === 'http-plug') {
    dev.api = s.oneOf('api', HTTP_PLUG_APIS, { required: true, example: 'api: shelly-gen1', what: 'plug API' });
    const url = s.string('url', { required: true, example: 'url: http://192.168.0.60', check: checkPlugUrl });
    if (url !== undefined) dev.url = url.trim().replace(/\/+$/, '');
    dev.channel = s.int('channel', { example: 'channel: 0', min: 0, what: 'a relay number, 0 for the first' }) ?? (s.has('channel') ? undefined : 0);
    readCredentials(s, dev);
  } else if (type === 'exec') {
    dev.command = readCommand(s);
  }
  if (s.has('run_on') && type !== 'gpio-relay') {
    dev.runOn = readNames(s, 'run_on', false);
  }
  return dev;
}

/** hosts: / run_on: a non-empty list of distinct node names. */
function readNames(s: Section, key: string, required: boolean): string[] | undefined {
  const example = key === 'hosts' ? 'hosts: [pi1]' : 'run_on: [pi2, pi3]';
  const v = s.raw(key, { required, example });
  if (v === undefined) return undefined;
  const path = s.pathOf(key);
  const what = key === 'hosts' ? 'the nodes this device can fence' : 'the nodes that may run this device';
  if (!Array.isArray(v)) {
    const one = typeof v === 'string' && /^[^\s,[\]]+$/.test(v) ? ` (write ${key}: [${v}])` : ` (like ${example})`;
    s.issues.add(path, `must be a list of node names, ${what}, not ${describe(v)}${one}`);
    return undefined;
  }
  if (v.length === 0) {
    s.issues.add(path, `is empty (list ${what}, like ${example})`);
    return undefined;
  }
  let ok = true;
  const seen = new Set<string>();
  v.forEach((n, i) => {
    const p = indexPath(path, i);
    if (typeof n !== 'string' || n.trim() === '') {
      s.issues.add(p, `must be a node name, not ${describe(n)}`);
      ok = false;
    } else if (seen.has(n)) {
      s.issues.add(p, `${n} is listed twice`);
      ok = false;
    } else {
      seen.add(n);
    }
  });
  return ok ? (v as string[]) : undefined;
}

function checkPlugUrl(v: string): string | null {
  const example = 'like http://192.168.0.60';
  let u: URL;
  try {
    u = new URL(v.trim());
  } catch {
    return `${JSON.stringify(v)} is not a URL (write the plug's address with http://, ${example})`;
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    return `${JSON.stringify(v)} must start with http:// or https:// (${example}); smart plugs answer plain HTTP on the LAN`;
  }
  if (u.username || u.password) {
    return `${JSON.stringify(v)} has a user name or password in it; write the address alone and the credentials as username: and password:`;
  }
  if (u.search || u.hash) {
    return `${JSON.stringify(v)} has a ${u.search ? '?query' : '#fragment'}; write only the plug's address, ${example} (piha adds the API path)`;
  }
  return null;
}

function readCredentials(s: Section, dev: DeviceDraft): void {
  const username = s.string('username', { example: 'username: admin' });
  const password = s.string('password', { example: 'password: "secret"' });
  if (username !== undefined && password === undefined && !s.has('password')) {
    s.issues.add(s.pathOf('username'), 'a user name without a password: add password: (or remove username: if the plug has no login)');
    return;
  }
  if (dev.api === 'shelly-gen2' && username !== undefined && username !== 'admin') {
    s.issues.add(s.pathOf('username'), `Shelly Gen2 devices have one user, admin, not ${JSON.stringify(username)} (write username: admin or leave it out)`);
    return;
  }
  if (password !== undefined) {
    // Shelly Gen2 and Tasmota have the fixed user admin; Shelly Gen1's default user is admin too.
    dev.username = username ?? 'admin';
    dev.password = password;
  }
}

/** command: a list of words, or one string split on whitespace (no shell, no quoting). */
function readCommand(s: Section): string[] | undefined {
  const example = 'command: [/usr/local/sbin/fence-myplug, --verbose]';
  const v = s.raw('command', { required: true, example });
  if (v === undefined) return undefined;
  const path = s.pathOf('command');
  let argv: string[];
  if (typeof v === 'string') {
    argv = v.trim().split(/\s+/).filter((w) => w !== '');
  } else if (Array.isArray(v) && v.every((w) => typeof w === 'string' || typeof w === 'number')) {
    argv = v.map(String);
  } else {
    s.issues.add(path, `must be a command line, as a list of words or one line of text, like ${example}, not ${describe(v)}`);
    return undefined;
  }
  if (argv.length === 0 || argv[0] === '') {
    s.issues.add(path, `is empty (write the program and its arguments, like ${example}; piha appends the action and the node name)`);
    return undefined;
  }
  return argv;
}

/**
 * The rules between devices, nodes and the hardware: section, and the final FencingConfig
 * (only used when no error at all was reported).
 */
export function checkFencing(issues: Issues, draft: FencingDraft, hardware: HardwareConfig, nodes: NodeDraft[]): FencingConfig {
  const names = nodes.flatMap((n) => (n?.name !== undefined ? [n.name] : []));
  // A name that could not be read might be the one a device means: don't guess then.
  const allNamed = nodes.length > 0 && nodes.every((n) => n?.name !== undefined);
  const rolesKnown = allNamed && nodes.every((n) => n!.role !== undefined);
  const members = rolesKnown ? nodes.filter((n) => n!.role === 'member').map((n) => n!.name!) : undefined;

  const unknown = (name: string, path: string): boolean => {
    if (!allNamed || names.includes(name)) return false;
    const guess = closest(name, names);
    issues.add(path, `no node named ${JSON.stringify(name)} in nodes:${guess ? ` (did you mean ${guess}?)` : ` (nodes are: ${names.join(', ')})`}`);
    return true;
  };

  const devices: FenceDeviceConfig[] = [];
  /** Relay lines in use, per driver node: key -> the device path. */
  const relayLines = new Map<string, { path: string; name: string; driver: string; line: GpioLineConfig }>();

  for (const dev of draft.devices) {
    if (!dev) continue;
    const hosts = dev.hosts;
    hosts?.forEach((h, i) => unknown(h, indexPath(keyPath(dev.path, 'hosts'), i)));
    let runOn: string[] | undefined;

    if (dev.type === 'gpio-relay') {
      const driver = dev.driver;
      if (driver !== undefined && !unknown(driver, keyPath(dev.path, 'driver'))) {
        if (hosts?.includes(driver)) {
          issues.add(
            keyPath(dev.path, 'driver'),
            `${driver} is also in hosts: a node cannot fence itself (it would be cutting its own power, and a hung node would not do it); the relay that cuts ${driver} must be driven by another node`,
          );
        } else {
          runOn = [driver];
        }
      }
      const relay = dev.relay;
      if (driver !== undefined && relay?.line !== undefined) {
        const key = `${driver}\0${lineKey(relay as GpioLineConfig)}`;
        const first = relayLines.get(key);
        if (first) {
          issues.add(
            keyPath(dev.path, 'line'),
            `${showLine(relay as GpioLineConfig)} on ${driver} already drives the relay of ${first.path} (${first.name}); each relay needs its own GPIO line`,
          );
        } else {
          relayLines.set(key, { path: dev.path, name: dev.name ?? '?', driver, line: relay as GpioLineConfig });
        }
      }
    } else if (dev.type !== undefined) {
      const runOnPath = keyPath(dev.path, 'run_on');
      if (dev.runOn !== undefined) {
        let ok = true;
        dev.runOn.forEach((n, i) => {
          if (unknown(n, indexPath(runOnPath, i))) ok = false;
        });
        if (ok) runOn = dev.runOn;
      } else if (!dev.runOnWritten && hosts !== undefined && members !== undefined) {
        // Default: the members it does not fence; a device that fences every member (one
        // fence agent for the whole cluster) runs everywhere, never against its own node.
        runOn = members.filter((m) => !hosts.includes(m));
        if (runOn.length === 0) runOn = members;
      }
      // A node never fences itself (a hung or cut-off node is exactly the one that cannot run
      // the device): every host needs another node to run it.
      if (runOn !== undefined && hosts !== undefined) {
        const alone = hosts.filter((h) => !runOn!.some((r) => r !== h));
        if (alone.length) {
          issues.add(
            dev.runOnWritten ? runOnPath : keyPath(dev.path, 'hosts'),
            `no node other than ${alone.join(', ')} can run this device, and a node cannot fence itself (a hung node is exactly the one that cannot run it); add another node to run_on:`,
          );
          runOn = undefined;
        }
      }
    }

    const built = runOn !== undefined && hosts !== undefined ? build(dev, hosts, runOn) : null;
    if (built) devices.push(built);
  }

  checkHardwareLines(issues, hardware, [...relayLines.values()]);

  const d = defaultFencing();
  return {
    stonithEnabled: draft.stonithEnabled ?? draft.devices.length > 0,
    action: draft.action ?? d.action,
    offTimeMs: draft.offTimeMs,
    retryIntervalMs: draft.retryIntervalMs,
    watchdog: draft.watchdog,
    devices,
  };
}

/** The device's config object, or null while any of its fields is unread. */
function build(dev: DeviceDraft, hosts: string[], runOn: string[]): FenceDeviceConfig | null {
  const { name, timeoutMs } = dev;
  if (name === undefined || timeoutMs === undefined) return null;
  const base = { name, hosts: [...hosts], runOn: [...runOn], timeoutMs };
  switch (dev.type) {
    case 'gpio-relay': {
      const r = dev.relay;
      if (dev.driver === undefined || r?.line === undefined || r.activeLow === undefined) return null;
      const relay: GpioLineConfig = { line: r.line, activeLow: r.activeLow };
      if (r.chip !== undefined) relay.chip = r.chip;
      return { type: 'gpio-relay', ...base, driver: dev.driver, relay };
    }
    case 'http-plug': {
      if (dev.api === undefined || dev.url === undefined || dev.channel === undefined) return null;
      const plug: HttpPlugDeviceConfig = { type: 'http-plug', ...base, api: dev.api, url: dev.url, channel: dev.channel };
      if (dev.username !== undefined) plug.username = dev.username;
      if (dev.password !== undefined) plug.password = dev.password;
      return plug;
    }
    case 'exec':
      return dev.command === undefined ? null : { type: 'exec', ...base, command: dev.command };
    default:
      return null;
  }
}

/** hardware: is the same on every node, so the LED and the button are on that line of every
 *  node, including each relay's driver. */
function checkHardwareLines(
  issues: Issues,
  hardware: HardwareConfig,
  relays: { path: string; name: string; driver: string; line: GpioLineConfig }[],
): void {
  const parts = [
    ['led', 'LED', hardware.led, 'the LED would switch the relay'],
    ['button', 'button', hardware.button, 'the button input would fight the relay output'],
  ] as const;
  for (const [key, label, line, why] of parts) {
    if (!line) continue;
    const clash = relays.find((r) => lineKey(r.line) === lineKey(line));
    if (clash) {
      issues.add(
        `hardware.${key}.line`,
        `${showLine(line)} is the relay line of ${clash.path} (${clash.name}) on ${clash.driver}; ${why}, so give the ${label} another line (hardware/README.md uses GPIO17 for the relay, GPIO27 for the LED, GPIO22 for the button)`,
      );
    }
  }
}
