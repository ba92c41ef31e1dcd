// The fencing: and hardware: sections: a full valid example, the defaults, and one test per
// family of error (exact path, and the hint that tells the user what to do).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { parseConfig, type ConfigError } from '../../src/config/index.ts';
import { defaultFencing, defaultHardware } from '../../src/config/fencing-defaults.ts';

type Obj = Record<string, any>;

const FULL = `
cluster: { name: pis }
nodes:
  - { name: pi1, id: 1, addr: 192.168.0.51 }
  - { name: pi2, id: 2, addr: 192.168.0.52 }
  - { name: pi3, id: 3, addr: 192.168.0.53 }
fencing:
  stonith_enabled: true
  action: reboot
  off_time: 5s
  retry_interval: 5s
  watchdog:
    enabled: true
    device: /dev/watchdog
    timeout: 5s
  devices:
    - name: relay-pi1
      type: gpio-relay
      hosts: [pi1]
      driver: pi2
      line: 17
      active_low: false
      timeout: 5s
    - name: plug-pi3
      type: http-plug
      hosts: [pi3]
      api: shelly-gen1
      url: http://192.168.0.60
      channel: 0
      username: admin
      password: secret
      timeout: 5s
      run_on: [pi1, pi2]
    - name: script
      type: exec
      hosts: [pi1, pi2]
      command: [/usr/local/sbin/fence-myplug, --verbose]
      timeout: 30s
hardware:
  gpio: chardev
  gpio_sim_dir: /run/piha/gpio-sim
  led: { line: 27, active_low: false }
  button: { line: 22, active_low: true, long_press: 3s }
`;

/** Three members, one relay device: the base that each error case breaks one field of. */
function valid(): Obj {
  return {
    cluster: { name: 'pis' },
    nodes: [
      { name: 'pi1', id: 1, addr: '192.168.0.51' },
      { name: 'pi2', id: 2, addr: '192.168.0.52' },
      { name: 'pi3', id: 3, addr: '192.168.0.53' },
    ],
    fencing: {
      devices: [
        { name: 'relay-pi1', type: 'gpio-relay', hosts: ['pi1'], driver: 'pi2', line: 17, active_low: true },
        { name: 'plug-pi3', type: 'http-plug', hosts: ['pi3'], api: 'shelly-gen2', url: 'http://192.168.0.60' },
        { name: 'script', type: 'exec', hosts: ['pi2'], command: '/usr/local/sbin/fence-x --verbose' },
      ],
    },
    hardware: { led: { line: 27 }, button: { line: 22 } },
  };
}

const edit = (f: (c: Obj) => void): Obj => {
  const c = valid();
  f(c);
  return c;
};

function errorsOf(c: Obj | string): ConfigError[] {
  const r = parseConfig(typeof c === 'string' ? c : stringify(c));
  assert.equal(r.config === null, r.errors.length > 0, 'config is null iff there are errors');
  return r.errors;
}

/** Asserts exactly one error, at `path`, whose message contains every hint. */
function expectError(c: Obj | string, path: string, ...hints: (string | RegExp)[]): ConfigError {
  const errors = errorsOf(c);
  assert.equal(errors.length, 1, `expected one error, got:\n${errors.map((e) => `${e.path}: ${e.message}`).join('\n')}`);
  assert.equal(errors[0].path, path);
  for (const h of hints) {
    if (typeof h === 'string') assert.ok(errors[0].message.includes(h), `${JSON.stringify(errors[0].message)} should contain ${JSON.stringify(h)}`);
    else assert.match(errors[0].message, h);
  }
  return errors[0];
}

const dev = (c: Obj, i: number): Obj => c.fencing.devices[i];

test('the full example of the README parses to the documented shape', () => {
  const { config, errors } = parseConfig(FULL);
  assert.deepEqual(errors, []);
  assert.deepEqual(config!.fencing, {
    stonithEnabled: true,
    action: 'reboot',
    offTimeMs: 5000,
    retryIntervalMs: 5000,
    watchdog: { enabled: true, device: '/dev/watchdog', timeoutMs: 5000 },
    devices: [
      {
        type: 'gpio-relay',
        name: 'relay-pi1',
        hosts: ['pi1'],
        runOn: ['pi2'],
        timeoutMs: 5000,
        driver: 'pi2',
        relay: { line: 17, activeLow: false },
      },
      {
        type: 'http-plug',
        name: 'plug-pi3',
        hosts: ['pi3'],
        runOn: ['pi1', 'pi2'],
        timeoutMs: 5000,
        api: 'shelly-gen1',
        url: 'http://192.168.0.60',
        channel: 0,
        username: 'admin',
        password: 'secret',
      },
      {
        type: 'exec',
        name: 'script',
        hosts: ['pi1', 'pi2'],
        runOn: ['pi3'],
        timeoutMs: 30000,
        command: ['/usr/local/sbin/fence-myplug', '--verbose'],
      },
    ],
  });
  assert.deepEqual(config!.hardware, {
    gpio: { backend: 'chardev', simDir: '/run/piha/gpio-sim' },
    led: { line: 27, activeLow: false },
    button: { line: 22, activeLow: true, longPressMs: 3000 },
  });
});

test('defaults: no sections, empty sections, and devices without optional keys', () => {
  const bare = edit((c) => {
    delete c.fencing;
    delete c.hardware;
  });
  let r = parseConfig(stringify(bare));
  assert.deepEqual(r.errors, []);
  assert.deepEqual(r.config!.fencing, defaultFencing());
  assert.deepEqual(r.config!.hardware, defaultHardware());

  r = parseConfig(`${stringify(bare)}fencing:\nhardware:\n`);
  assert.deepEqual(r.errors, []);
  assert.deepEqual(r.config!.fencing, defaultFencing());
  assert.deepEqual(r.config!.hardware, defaultHardware());

  r = parseConfig(stringify(valid()));
  assert.deepEqual(r.errors, []);
  const f = r.config!.fencing;
  assert.equal(f.stonithEnabled, true, 'stonith is on by default once a device exists');
  assert.equal(f.action, 'reboot');
  assert.deepEqual(f.watchdog, defaultFencing().watchdog);
  assert.deepEqual(
    f.devices.map((d) => [d.name, d.runOn, d.timeoutMs]),
    [
      ['relay-pi1', ['pi2'], 5000],
      ['plug-pi3', ['pi1', 'pi2'], 5000], // every member except the host
      ['script', ['pi1', 'pi3'], 30000],
    ],
  );
  assert.deepEqual(f.devices[1], {
    type: 'http-plug', name: 'plug-pi3', hosts: ['pi3'], runOn: ['pi1', 'pi2'], timeoutMs: 5000,
    api: 'shelly-gen2', url: 'http://192.168.0.60', channel: 0,
  });
  assert.deepEqual(f.devices[2].type === 'exec' && f.devices[2].command, ['/usr/local/sbin/fence-x', '--verbose']);
  assert.deepEqual(r.config!.hardware, {
    gpio: { backend: 'chardev', simDir: '/run/piha/gpio-sim' },
    led: { line: 27, activeLow: false },
    button: { line: 22, activeLow: true, longPressMs: 3000 },
  });
});

test('stonith_enabled, and the default for a witness, a line name, a chip, a password-only plug', () => {
  const r = parseConfig(
    stringify(
      edit((c) => {
        c.nodes.push({ name: 'nas', id: 9, addr: '192.168.0.9', role: 'witness' });
        c.fencing.stonith_enabled = false;
        c.fencing.action = 'off';
        c.fencing.watchdog = { device: 'sim:/run/piha/wd.json', timeout: '15s' };
        dev(c, 0).line = 'GPIO17';
        dev(c, 1).api = 'tasmota';
        dev(c, 1).password = 'pw';
        dev(c, 1).url = 'https://plug.lan/';
        c.hardware.gpio = 'sim';
        c.hardware.gpio_sim_dir = '/tmp/gpio';
        c.hardware.led = { line: 40, chip: 'gpiochip1', active_low: true };
        c.hardware.button = { line: '5', long_press: '1s' };
      }),
    ),
  );
  assert.deepEqual(r.errors, []);
  const f = r.config!.fencing;
  assert.equal(f.stonithEnabled, false);
  assert.equal(f.action, 'off');
  assert.deepEqual(f.watchdog, { enabled: false, device: 'sim:/run/piha/wd.json', timeoutMs: 15000 });
  assert.deepEqual(f.devices[0].type === 'gpio-relay' && f.devices[0].relay, { line: 'GPIO17', activeLow: true });
  // A witness holds nothing, so it is not in a default run_on.
  assert.deepEqual(f.devices[1].runOn, ['pi1', 'pi2']);
  const plug = f.devices[1];
  assert.ok(plug.type === 'http-plug');
  assert.equal(plug.url, 'https://plug.lan', 'trailing slash dropped');
  assert.equal(plug.username, 'admin', 'a password alone means the user admin');
  assert.equal(plug.password, 'pw');
  assert.deepEqual(r.config!.hardware, {
    gpio: { backend: 'sim', simDir: '/tmp/gpio' },
    led: { line: 40, chip: 'gpiochip1', activeLow: true },
    button: { line: 5, activeLow: true, longPressMs: 1000 },
  });
});

test('stonith_enabled: true with a member no device covers is allowed (lease/watchdog only for it)', () => {
  const r = parseConfig(
    stringify(
      edit((c) => {
        c.fencing = { stonith_enabled: true, devices: [c.fencing.devices[0]] };
      }),
    ),
  );
  assert.deepEqual(r.errors, []);
  assert.equal(r.config!.fencing.stonithEnabled, true);
  const r2 = parseConfig(stringify(edit((c) => (c.fencing = { stonith_enabled: true }))));
  assert.deepEqual(r2.errors, []);
  assert.equal(r2.config!.fencing.stonithEnabled, true);
});

test('unknown keys at every level, with did you mean or the reason', () => {
  const cases: [Obj, string, string][] = [
    [edit((c) => (c.fencng = {})), 'fencng', 'did you mean fencing?'],
    [edit((c) => (c.hardwre = {})), 'hardwre', 'did you mean hardware?'],
    [edit((c) => (c.fencing.stonith_enable = true)), 'fencing.stonith_enable', 'did you mean stonith_enabled?'],
    [edit((c) => (c.fencing.retry_intervall = '1s')), 'fencing.retry_intervall', 'did you mean retry_interval?'],
    [edit((c) => (c.fencing.watchdog = { timout: '5s' })), 'fencing.watchdog.timout', 'did you mean timeout?'],
    [edit((c) => (dev(c, 0).hots = ['pi1'])), 'fencing.devices[0].hots', 'did you mean hosts?'],
    [edit((c) => (dev(c, 0).run_on = ['pi3'])), 'fencing.devices[0].run_on', 'runs on the node that drives it, given by driver:'],
    [edit((c) => (dev(c, 2).url = 'http://x')), 'fencing.devices[2].url', 'url is for http-plug devices; an exec device uses command'],
    [edit((c) => (dev(c, 1).line = 5)), 'fencing.devices[1].line', 'line is for gpio-relay devices'],
    [edit((c) => (c.hardware.leds = {})), 'hardware.leds', 'did you mean led?'],
    [edit((c) => (c.hardware.button.long_pres = '2s')), 'hardware.button.long_pres', 'did you mean long_press?'],
    [edit((c) => (c.hardware.led.activelow = true)), 'hardware.led.activelow', 'did you mean active_low?'],
  ];
  for (const [c, path, hint] of cases) expectError(c, path, hint);
  // A misspelt required active_low is reported once, as the typo.
  expectError(
    edit((c) => {
      delete dev(c, 0).active_low;
      dev(c, 0).activeLow = true;
    }),
    'fencing.devices[0].activeLow',
    'did you mean active_low?',
  );
});

test('sections and lists of the wrong shape', () => {
  expectError(edit((c) => (c.fencing = [])), 'fencing', 'must be a mapping');
  expectError(edit((c) => (c.hardware = 'sim')), 'hardware', 'must be a mapping');
  expectError(edit((c) => (c.fencing.devices = { name: 'x' })), 'fencing.devices', 'must be a list of fence devices');
  expectError(edit((c) => (c.fencing.devices[1] = 'plug')), 'fencing.devices[1]', 'must be a mapping');
  expectError(edit((c) => (c.fencing.watchdog = true)), 'fencing.watchdog', 'must be a mapping');
  expectError(edit((c) => (c.hardware.led = 27)), 'hardware.led', 'must be a mapping');
});

test('fencing scalars: action, durations, stonith_enabled', () => {
  expectError(edit((c) => (c.fencing.action = 'reboo')), 'fencing.action', 'did you mean reboot?', 'reboot, off');
  expectError(edit((c) => (c.fencing.off_time = 5)), 'fencing.off_time', 'has no unit');
  expectError(edit((c) => (c.fencing.retry_interval = '0')), 'fencing.retry_interval', 'must be more than 0');
  expectError(edit((c) => (c.fencing.stonith_enabled = 'yes')), 'fencing.stonith_enabled', 'must be true or false');
});

test('watchdog: whole seconds between 1s and 15s (bcm2835 maximum), device path', () => {
  const wd = (w: Obj) => edit((c) => (c.fencing.watchdog = { enabled: true, ...w }));
  expectError(wd({ timeout: '20s' }), 'fencing.watchdog.timeout', 'between 1s and 15s', 'bcm2835', 'hardware maximum');
  expectError(wd({ timeout: '16s' }), 'fencing.watchdog.timeout', 'between 1s and 15s');
  expectError(wd({ timeout: '500ms' }), 'fencing.watchdog.timeout', 'whole seconds');
  expectError(wd({ timeout: '2.5s' }), 'fencing.watchdog.timeout', 'whole seconds', 'heartbeat');
  expectError(wd({ device: 'watchdog' }), 'fencing.watchdog.device', 'not an absolute path', '/dev/watchdog');
  expectError(wd({ device: 'sim:wd.json' }), 'fencing.watchdog.device', 'sim:/run/piha/wd.json');
  expectError(wd({ enabled: 1 }), 'fencing.watchdog.enabled', 'must be true or false');
  assert.deepEqual(errorsOf(wd({ timeout: '1s' })), []);
});

test('device names: required, valid, unique', () => {
  expectError(edit((c) => delete dev(c, 1).name), 'fencing.devices[1].name', 'required key is missing', 'name: relay-pi1');
  expectError(edit((c) => (dev(c, 1).name = 'my plug')), 'fencing.devices[1].name', 'not a valid name');
  expectError(edit((c) => (dev(c, 2).name = 'relay-pi1')), 'fencing.devices[2].name', 'already used by fencing.devices[0]', 'unique');
});

test('device type: required, known', () => {
  expectError(edit((c) => delete dev(c, 0).type), 'fencing.devices[0].type', 'required key is missing', 'type: gpio-relay');
  expectError(edit((c) => (dev(c, 1).type = 'http_plug')), 'fencing.devices[1].type', 'did you mean http-plug?', 'gpio-relay, http-plug, exec');
});

test('hosts: required, a non-empty list of distinct known node names', () => {
  expectError(edit((c) => delete dev(c, 1).hosts), 'fencing.devices[1].hosts', 'required key is missing', 'hosts: [pi1]');
  expectError(edit((c) => (dev(c, 1).hosts = [])), 'fencing.devices[1].hosts', 'is empty');
  expectError(edit((c) => (dev(c, 1).hosts = 'pi3')), 'fencing.devices[1].hosts', 'must be a list of node names', 'hosts: [pi3]');
  expectError(edit((c) => (dev(c, 1).hosts = ['pi4'])), 'fencing.devices[1].hosts[0]', 'no node named "pi4"', 'did you mean pi1?');
  expectError(edit((c) => (dev(c, 1).hosts = ['pi3', 'worker'])), 'fencing.devices[1].hosts[1]', 'no node named "worker"', 'nodes are: pi1, pi2, pi3');
  expectError(edit((c) => (dev(c, 1).hosts = ['pi3', 'pi3'])), 'fencing.devices[1].hosts[1]', 'listed twice');
  expectError(edit((c) => (dev(c, 1).hosts = [3])), 'fencing.devices[1].hosts[0]', 'must be a node name');
});

test('gpio-relay: driver known and not among the hosts; runs on its driver', () => {
  expectError(edit((c) => delete dev(c, 0).driver), 'fencing.devices[0].driver', 'required key is missing', 'driver: pi2');
  expectError(edit((c) => (dev(c, 0).driver = 'pi5')), 'fencing.devices[0].driver', 'no node named "pi5"');
  expectError(edit((c) => (dev(c, 0).driver = 'pi1')), 'fencing.devices[0].driver', 'also in hosts', 'cannot fence itself', 'driven by another node');
});

test('gpio-relay line: required, BCM number or name, on the header unless a chip is named; active_low required', () => {
  expectError(edit((c) => delete dev(c, 0).line), 'fencing.devices[0].line', 'required key is missing', 'line: 17');
  expectError(edit((c) => (dev(c, 0).line = -1)), 'fencing.devices[0].line', 'GPIO (BCM) number');
  expectError(edit((c) => (dev(c, 0).line = 1.5)), 'fencing.devices[0].line', 'GPIO (BCM) number');
  expectError(edit((c) => (dev(c, 0).line = 'GPIO 17')), 'fencing.devices[0].line', 'line name like GPIO17');
  expectError(edit((c) => (dev(c, 0).line = 40)), 'fencing.devices[0].line', 'not on the 40-pin header', 'physical pin 11 is GPIO17', 'chip:');
  expectError(edit((c) => (dev(c, 0).line = 'GPIO28')), 'fencing.devices[0].line', 'not on the 40-pin header');
  assert.deepEqual(errorsOf(edit((c) => Object.assign(dev(c, 0), { line: 40, chip: 'gpiochip2' }))), []);
  expectError(edit((c) => (dev(c, 0).chip = 'gpio chip')), 'fencing.devices[0].chip', 'not a GPIO chip');
  expectError(edit((c) => delete dev(c, 0).active_low), 'fencing.devices[0].active_low', 'required key is missing', 'active_low: true', 'low input');
  expectError(edit((c) => (dev(c, 0).active_low = 'no')), 'fencing.devices[0].active_low', 'must be true or false');
});

test('two relays of one driver node cannot share a line (17 and GPIO17 are one line); other drivers may', () => {
  const twoRelays = (second: Obj) =>
    edit((c) => {
      c.fencing.devices = [
        dev(c, 0),
        { name: 'relay-pi3', type: 'gpio-relay', hosts: ['pi3'], driver: 'pi2', line: 17, active_low: true, ...second },
      ];
    });
  expectError(twoRelays({}), 'fencing.devices[1].line', 'GPIO17 on pi2 already drives the relay of fencing.devices[0] (relay-pi1)');
  expectError(twoRelays({ line: 'GPIO17' }), 'fencing.devices[1].line', 'already drives the relay');
  assert.deepEqual(errorsOf(twoRelays({ line: 23 })), []);
  assert.deepEqual(errorsOf(twoRelays({ driver: 'pi1' })), []);
  assert.deepEqual(errorsOf(twoRelays({ line: 17, chip: 'gpiochip1' })), []);
});

test('the LED and the button cannot sit on a relay line or on each other', () => {
  expectError(edit((c) => (c.hardware.led.line = 17)), 'hardware.led.line', 'relay line of fencing.devices[0] (relay-pi1) on pi2', 'LED would switch the relay');
  expectError(edit((c) => (c.hardware.button.line = 'GPIO17')), 'hardware.button.line', 'relay line of fencing.devices[0]');
  expectError(edit((c) => (c.hardware.button.line = 27)), 'hardware.button.line', "also the LED's line");
});

test('http-plug: api, url (http/https only), channel, credentials', () => {
  expectError(edit((c) => delete dev(c, 1).api), 'fencing.devices[1].api', 'required key is missing', 'api: shelly-gen1');
  expectError(edit((c) => (dev(c, 1).api = 'shelly')), 'fencing.devices[1].api', 'shelly-gen1, shelly-gen2, tasmota');
  expectError(edit((c) => (dev(c, 1).api = 'tasmot')), 'fencing.devices[1].api', 'did you mean tasmota?');
  expectError(edit((c) => delete dev(c, 1).url), 'fencing.devices[1].url', 'required key is missing');
  expectError(edit((c) => (dev(c, 1).url = 'ftp://192.168.0.60')), 'fencing.devices[1].url', 'must start with http:// or https://');
  expectError(edit((c) => (dev(c, 1).url = '192.168.0.60')), 'fencing.devices[1].url', 'not a URL', 'http://');
  expectError(edit((c) => (dev(c, 1).url = 'http://admin:pw@192.168.0.60')), 'fencing.devices[1].url', 'username: and password:');
  expectError(edit((c) => (dev(c, 1).url = 'http://192.168.0.60/relay/0?turn=off')), 'fencing.devices[1].url', 'piha adds the API path');
  expectError(edit((c) => (dev(c, 1).channel = -1)), 'fencing.devices[1].channel', 'relay number');
  expectError(edit((c) => (dev(c, 1).username = 'admin')), 'fencing.devices[1].username', 'without a password');
  expectError(
    edit((c) => Object.assign(dev(c, 1), { username: 'root', password: 'pw' })),
    'fencing.devices[1].username',
    'Shelly Gen2 devices have one user, admin',
  );
  expectError(edit((c) => (dev(c, 1).password = 1234)), 'fencing.devices[1].password', 'must be text', 'quotes');
  expectError(edit((c) => (dev(c, 1).timeout = '5')), 'fencing.devices[1].timeout', 'has no unit');
});

test('run_on: known nodes, and for every host another node to run it (a node never fences itself)', () => {
  expectError(edit((c) => (dev(c, 1).run_on = ['pi3'])), 'fencing.devices[1].run_on', 'no node other than pi3', 'cannot fence itself');
  expectError(edit((c) => (dev(c, 2).run_on = ['pi9'])), 'fencing.devices[2].run_on[0]', 'no node named "pi9"');
  expectError(edit((c) => (dev(c, 2).run_on = [])), 'fencing.devices[2].run_on', 'is empty');
  // One device for every member (a cluster-wide fence agent) runs on every node, never against itself.
  const all = parseConfig(stringify(edit((c) => (dev(c, 2).hosts = ['pi1', 'pi2', 'pi3']))));
  assert.deepEqual(all.errors, []);
  assert.deepEqual(all.config!.fencing.devices[2].runOn, ['pi1', 'pi2', 'pi3']);
  // A witness may run a device for every member when named explicitly.
  assert.deepEqual(
    errorsOf(
      edit((c) => {
        c.nodes.push({ name: 'nas', id: 9, addr: '192.168.0.9', role: 'witness' });
        Object.assign(dev(c, 2), { hosts: ['pi1', 'pi2', 'pi3'], run_on: ['nas'] });
      }),
    ),
    [],
  );
});

test('exec: command as a list or a line, never empty', () => {
  expectError(edit((c) => delete dev(c, 2).command), 'fencing.devices[2].command', 'required key is missing');
  expectError(edit((c) => (dev(c, 2).command = [])), 'fencing.devices[2].command', 'is empty', 'appends the action and the node name');
  expectError(edit((c) => (dev(c, 2).command = '   ')), 'fencing.devices[2].command', 'is empty');
  expectError(edit((c) => (dev(c, 2).command = { run: 'x' })), 'fencing.devices[2].command', 'list of words or one line of text');
});

test('hardware: backend, sim dir, LED and button lines, long press', () => {
  expectError(edit((c) => (c.hardware.gpio = 'sysf')), 'hardware.gpio', 'did you mean sysfs?', 'chardev, sysfs, sim');
  expectError(edit((c) => (c.hardware.gpio_sim_dir = 'gpio')), 'hardware.gpio_sim_dir', 'not an absolute path');
  expectError(edit((c) => delete c.hardware.led.line), 'hardware.led.line', 'required key is missing', 'line: 27');
  expectError(edit((c) => (c.hardware.button.line = 99)), 'hardware.button.line', 'not on the 40-pin header');
  expectError(edit((c) => (c.hardware.button.long_press = '50ms')), 'hardware.button.long_press', 'at least 100ms', 'debounced');
});

test('every error of a file is reported at once, each with its line', () => {
  const text = `cluster: { name: pis }
nodes:
  - { name: pi1, id: 1, addr: 192.168.0.51 }
  - { name: pi2, id: 2, addr: 192.168.0.52 }
fencing:
  watchdog: { timeout: 30s }
  devices:
    - name: relay-pi1
      type: gpio-relay
      hosts: [pi1, pi7]
      driver: pi1
      line: 17
      active_low: true
    - name: plug
      type: http-plug
      hosts: [pi2]
      api: shelly-gen1
      url: ftp://x
hardware:
  led: { line: 17 }
`;
  const errors = errorsOf(text);
  assert.deepEqual(
    errors.map((e) => [e.line, e.path]),
    [
      [6, 'fencing.watchdog.timeout'],
      [10, 'fencing.devices[0].hosts[1]'],
      [11, 'fencing.devices[0].driver'],
      [18, 'fencing.devices[1].url'],
      [20, 'hardware.led.line'],
    ],
  );
});

test('property: any value in fencing: or hardware: gives a config or errors, never a crash', () => {
  const WEIRD = ['', '~', '0', '-1', '1.5', '99999', 'true', 'yes', '[]', '{}', '[pi1, pi1]', '[pi9]', '{ a: 1 }', '"x y"', '__proto__',
    'constructor', '0ms', '15s', '16s', '1.5s', 'GPIO17', 'GPIO99', 'sim:', 'sim:/x', 'http://', 'ftp://x', 'pi1', 'pi2', '[pi1, pi2, pi3]',
    'gpio-relay', 'http-plug', 'exec', 'tasmota', 'shelly-gen2', 'x'.repeat(200)];
  const start = FULL.indexOf('fencing:');
  const spots = [...FULL.matchAll(/(:[ \t]*)([^\n{]*)/g)].filter((m) => m.index! > start && m[2].trim() !== '');
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.nat(), fc.constantFrom(...WEIRD)), { minLength: 1, maxLength: 4 }), (edits) => {
      let text = FULL;
      // Apply from the end so earlier offsets stay valid.
      const chosen = new Map<number, string>();
      for (const [at, v] of edits) chosen.set(at % spots.length, v);
      for (const i of [...chosen.keys()].sort((a, b) => b - a)) {
        const m = spots[i];
        const s = m.index! + m[1].length;
        text = text.slice(0, s) + chosen.get(i)! + text.slice(s + m[2].length);
      }
      const r = parseConfig(text);
      assert.equal(r.config === null, r.errors.length > 0);
      for (const e of r.errors) assert.ok(e.message.length > 0 && !e.message.includes('undefined'), e.message);
    }),
    { numRuns: 300 },
  );
});

test('the fencing:/hardware: YAML in hardware/README.md is valid and matches the ring it draws', () => {
  const readme = readFileSync(new URL('../../hardware/README.md', import.meta.url), 'utf8');
  const blocks = [...readme.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]);
  assert.equal(blocks.length, 3, 'ring, plugs, exec');
  const ring = parseConfig(`cluster: { name: pis }\n${blocks[0]}`);
  assert.deepEqual(ring.errors, []);
  const f = ring.config!.fencing;
  // Each relay cuts pi<n> and is driven by the previous Pi, on GPIO17, active-low (JD-VCC boards).
  assert.deepEqual(
    f.devices.map((d) => d.type === 'gpio-relay' && [d.hosts, d.driver, d.relay.line, d.relay.activeLow]),
    [
      [['pi1'], 'pi3', 17, true],
      [['pi2'], 'pi1', 17, true],
      [['pi3'], 'pi2', 17, true],
    ],
  );
  assert.equal(f.stonithEnabled, true);
  assert.deepEqual(f.watchdog, { enabled: true, device: '/dev/watchdog', timeoutMs: 5000 });
  assert.match(readme, /bcm2835_wdt\.heartbeat=5/);
  assert.deepEqual(ring.config!.hardware.led, { line: 27, activeLow: false });
  assert.deepEqual(ring.config!.hardware.button, { line: 22, activeLow: true, longPressMs: 3000 });

  const nodes = blocks[0].slice(0, blocks[0].indexOf('fencing:'));
  const plugs = parseConfig(`cluster: { name: pis }\n${nodes}${blocks[1]}${blocks[2]}`);
  assert.deepEqual(plugs.errors, []);
  assert.deepEqual(
    plugs.config!.fencing.devices.map((d) => [d.name, d.type, d.runOn]),
    [
      ['plug-pi1', 'http-plug', ['pi2', 'pi3']],
      ['plug-pi2', 'http-plug', ['pi1', 'pi3']],
      ['plug-pi3', 'http-plug', ['pi1']],
      ['pdu', 'exec', ['pi3']],
    ],
  );
});
