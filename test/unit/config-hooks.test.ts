import { test } from 'node:test';
import assert from 'node:assert/strict';
import { configDigest, parseConfig } from '../../src/config/index.ts';
import { defaultHooks, HOOK_DEFAULT_TIMEOUT_MS } from '../../src/config/hooks.ts';

const BASE = `cluster:
  name: lbcluster
  authkey: /etc/piha/authkey
nodes:
  - { name: worker0, id: 1, addr: 192.168.0.50 }
  - { name: worker1, id: 2, addr: 192.168.0.51 }
  - { name: worker2, id: 3, addr: 192.168.0.52 }
resources:
  - { name: vip, type: vip, ip: 192.168.0.150 }
`;

const parse = (hooks: string) => parseConfig(BASE + hooks);
const errorsOf = (hooks: string) => parse(hooks).errors.map((e) => `${e.path}: ${e.message}`);

test('no hooks: section means no hooks and the default timeout', () => {
  const { config, errors } = parseConfig(BASE);
  assert.deepEqual(errors, []);
  assert.deepEqual(config!.hooks, defaultHooks());
  assert.equal(config!.hooks.timeoutMs, HOOK_DEFAULT_TIMEOUT_MS);
  // written with nothing under it
  assert.deepEqual(parse('hooks:\n').config!.hooks, defaultHooks());
});

test('every hook, as a list of words or one line, and a timeout', () => {
  const { config, errors } = parse(`hooks:
  on_acquire: [/usr/local/bin/notify, acquired, 42]
  on_release: /usr/local/bin/notify   released
  on_quorum_lost: /usr/local/bin/page-me
  on_quorum_regained: [/usr/local/bin/page-me]
  on_fence: "/usr/local/bin/page-me --fence"
  timeout: 2500ms
`);
  assert.deepEqual(errors, []);
  assert.deepEqual(config!.hooks, {
    timeoutMs: 2500,
    commands: {
      on_acquire: ['/usr/local/bin/notify', 'acquired', '42'],
      on_release: ['/usr/local/bin/notify', 'released'],
      on_quorum_lost: ['/usr/local/bin/page-me'],
      on_quorum_regained: ['/usr/local/bin/page-me'],
      on_fence: ['/usr/local/bin/page-me', '--fence'],
    },
  });
});

test('a shell pipeline in a list is passed as words (sh -c is the way to use a shell)', () => {
  const { config, errors } = parse(`hooks:\n  on_acquire: [/bin/sh, -c, "echo $PIHA_VIP | logger"]\n`);
  assert.deepEqual(errors, []);
  assert.deepEqual(config!.hooks.commands.on_acquire, ['/bin/sh', '-c', 'echo $PIHA_VIP | logger']);
});

test('errors: relative program, shell syntax, empty, wrong type, unknown key, bad timeout — all at once', () => {
  const errs = errorsOf(`hooks:
  on_acquire: notify-send acquired
  on_release: /usr/bin/logger released > /tmp/x
  on_quorum_lost: []
  on_quorum_regained: { cmd: /bin/true }
  on_fenced: /bin/true
  timeout: 5
`);
  assert.equal(errs.length, 6, errs.join('\n'));
  assert.match(errs[0], /^hooks\.on_acquire: "notify-send" is not an absolute path/);
  assert.match(errs[1], /^hooks\.on_release: .*shell syntax.*\[\/bin\/sh, -c/);
  assert.match(errs[2], /^hooks\.on_quorum_lost: is empty/);
  assert.match(errs[3], /^hooks\.on_quorum_regained: must be a command, as a list of words or one line of text/);
  assert.ok(errs.some((e) => /^hooks\.on_fenced: unknown key "on_fenced" \(did you mean on_fence\?\)/.test(e)), errs.join('\n'));
  assert.ok(errs.some((e) => /^hooks\.timeout: 5 has no unit/.test(e)), errs.join('\n'));
});

test('timeout bounds', () => {
  assert.match(errorsOf('hooks:\n  timeout: 50ms\n')[0], /^hooks\.timeout: must be at least 100ms/);
  assert.match(errorsOf('hooks:\n  timeout: 11m\n')[0], /^hooks\.timeout: must be at most 10m/);
  assert.equal(parse('hooks:\n  timeout: 10m\n').config!.hooks.timeoutMs, 600_000);
});

test('hooks: must be a mapping; a value must be written', () => {
  assert.match(errorsOf('hooks: [/bin/true]\n')[0], /^hooks: must be a mapping/);
  assert.match(errorsOf('hooks:\n  on_acquire:\n')[0], /^hooks\.on_acquire: has no value/);
});

test('hooks are node-local: they do not change the configuration digest', () => {
  const a = parseConfig(BASE).config!;
  const b = parse('hooks:\n  on_acquire: /usr/local/bin/notify\n  timeout: 3s\n').config!;
  assert.notDeepEqual(a.hooks, b.hooks);
  assert.equal(configDigest(a), configDigest(b));
});
