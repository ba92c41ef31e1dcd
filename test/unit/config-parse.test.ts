import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig, type PihaConfig } from '../../src/config/index.ts';
import { defaultFencing, defaultHardware } from '../../src/config/fencing-defaults.ts';
import { defaultHooks } from '../../src/config/hooks.ts';
import { decodeDoc, docFromConfig, docFromRaw, docToRaw, encodeDoc } from '../../src/config/cluster-doc.ts';

const FULL = `cluster:
  name: lbcluster
  authkey: /etc/piha/authkey
  interface: eth0
  port: 5405
  profile: lan
  heartbeat_interval: 100ms
  node_timeout: 1s
  lease_time: 1350ms
  clock_drift: 1%
  status_bind: 0.0.0.0:9405
  state_dir: /var/lib/piha
  socket: /run/piha/piha.sock
nodes:
  - { name: worker0, id: 1, addr: 192.168.0.50 }
  - { name: worker1, id: 2, addr: 192.168.0.51, votes: 1, mac: "DC:A6:32:01:02:03" }
  - { name: nas, id: 4, addr: 192.168.0.60, role: witness }
quorum:
  expected_votes: 3
  two_node: false
defaults:
  resource_stickiness: 100
resources:
  - name: kubernetes_api_port
    type: vip
    ip: 192.168.0.150
    cidr_netmask: 32
    monitor_interval: 5s
    migration_threshold: 2
    failure_timeout: 60s
    garp_refresh: 10s
    prefers: { worker0: 50, worker1: -10 }
    resource_stickiness: 60
    checks:
      - { type: http, url: "https://127.0.0.1:6443/readyz", interval: 2s, timeout: 1s, rise: 2, fall: 3 }
      - { type: tcp, host: 127.0.0.1, port: 6443 }
      - { type: exec, command: "/usr/local/bin/check.sh arg" }
`;

const CHECK_DEFAULTS = { intervalMs: 5000, timeoutMs: 2000, rise: 2, fall: 3 };

test('the full example parses to the normalised config', () => {
  const { config, errors } = parseConfig(FULL);
  assert.deepEqual(errors, []);
  const expected: PihaConfig = {
    cluster: {
      name: 'lbcluster',
      authkey: '/etc/piha/authkey',
      interface: 'eth0',
      port: 5405,
      profile: 'lan',
      timing: {
        heartbeatIntervalMs: 100,
        nodeTimeoutMs: 1000,
        leaseMs: 1350,
        clockDrift: 0.01,
        releaseApplyMs: 100,
        kernelLifetimeSlackMs: 300,
      },
      statusBind: '0.0.0.0:9405',
      stateDir: '/var/lib/piha',
      socket: '/run/piha/piha.sock',
    },
    nodes: [
      { name: 'worker0', id: 1, addr: '192.168.0.50', role: 'member', votes: 1 },
      { name: 'worker1', id: 2, addr: '192.168.0.51', role: 'member', votes: 1, mac: 'dc:a6:32:01:02:03' },
      { name: 'nas', id: 4, addr: '192.168.0.60', role: 'witness', votes: 1 },
    ],
    quorum: { expectedVotes: 3, twoNode: false },
    defaults: { resourceStickiness: 100 },
    fencing: defaultFencing(),
    hardware: defaultHardware(),
    hooks: defaultHooks(),
    resources: [
      {
        name: 'kubernetes_api_port',
        type: 'vip',
        ip: '192.168.0.150',
        cidrNetmask: 32,
        monitorIntervalMs: 5000,
        migrationThreshold: 2,
        failureTimeoutMs: 60000,
        garpRefreshMs: 10000,
        prefers: { worker0: 50, worker1: -10 },
        stickiness: 60,
        checks: [
          { type: 'http', target: 'https://127.0.0.1:6443/readyz', intervalMs: 2000, timeoutMs: 1000, rise: 2, fall: 3 },
          { type: 'tcp', target: '127.0.0.1:6443', ...CHECK_DEFAULTS },
          { type: 'exec', target: '/usr/local/bin/check.sh arg', ...CHECK_DEFAULTS },
        ],
      },
    ],
  };
  assert.deepEqual(config, expected);
});

test('a minimal file gets every default', () => {
  const { config, errors } = parseConfig(`
cluster: { name: c1 }
nodes:
  - { name: a, id: 1, addr: 10.0.0.1 }
resources:
  - { name: web, ip: 10.0.0.100 }
`);
  assert.deepEqual(errors, []);
  assert.deepEqual(config, {
    cluster: {
      name: 'c1',
      authkey: '/etc/piha/authkey',
      interface: 'eth0',
      port: 5405,
      profile: 'lan',
      timing: { heartbeatIntervalMs: 200, nodeTimeoutMs: 1000, leaseMs: 1350, clockDrift: 0.01, releaseApplyMs: 100, kernelLifetimeSlackMs: 300 },
      statusBind: '0.0.0.0:9405',
      stateDir: '/var/lib/piha',
      socket: '/run/piha/piha.sock',
    },
    nodes: [{ name: 'a', id: 1, addr: '10.0.0.1', role: 'member', votes: 1 }],
    quorum: { expectedVotes: 1, twoNode: false },
    defaults: { resourceStickiness: 100 },
    fencing: defaultFencing(),
    hardware: defaultHardware(),
    hooks: defaultHooks(),
    resources: [
      { name: 'web', type: 'vip', ip: '10.0.0.100', cidrNetmask: 32, monitorIntervalMs: 5000, migrationThreshold: 3, failureTimeoutMs: 0, garpRefreshMs: 30000, prefers: {}, checks: [] },
    ],
  });
});

test('empty optional sections mean none; failure_timeout 0 and "0s" are allowed; clock_drift as a fraction', () => {
  const { config, errors } = parseConfig(`
cluster: { name: c1, clock_drift: 0.02 }
nodes: [{ name: a, id: 1, addr: 10.0.0.1 }]
quorum:
defaults:
resources:
  - name: web
    ip: 10.0.0.100
    prefers:
    checks:
`);
  assert.deepEqual(errors, []);
  assert.equal(config!.cluster.timing.clockDrift, 0.02);
  assert.deepEqual(config!.resources[0].checks, []);
  assert.deepEqual(config!.resources[0].prefers, {});
  for (const ft of ['0', '"0"', '0s']) {
    const r = parseConfig(`
cluster: { name: c1 }
nodes: [{ name: a, id: 1, addr: 10.0.0.1 }]
resources: [{ name: web, ip: 10.0.0.100, failure_timeout: ${ft} }]
`);
    assert.deepEqual(r.errors, [], ft);
    assert.equal(r.config!.resources[0].failureTimeoutMs, 0);
  }
});

test('garp_refresh: 30 s when absent, a duration, 0 = none; kept through the cluster document', () => {
  const parse = (line: string) =>
    parseConfig(`
cluster: { name: c1 }
nodes: [{ name: a, id: 1, addr: 10.0.0.1 }]
resources:
  - { name: web, ip: 10.0.0.100${line ? `, ${line}` : ''} }
  - { name: dns, ip: 10.0.0.101 }
`);
  const ms = (line: string): number => {
    const r = parse(line);
    assert.deepEqual(r.errors, [], line);
    return r.config!.resources[0].garpRefreshMs;
  };
  assert.equal(ms(''), 30000);
  assert.equal(ms('garp_refresh: 10s'), 10000);
  assert.equal(ms('garp_refresh: 1s'), 1000);
  assert.equal(ms('garp_refresh: 2m'), 120000);
  for (const zero of ['0', '"0"', '0s']) assert.equal(ms(`garp_refresh: ${zero}`), 0, zero);

  // The document replicated between nodes spells it as the file does and reads back the same.
  const config = parse('garp_refresh: 10s').config!;
  const doc = docFromConfig(config);
  const raw = docToRaw(doc);
  assert.equal((raw.resources[0] as Record<string, unknown>).garp_refresh, '10s');
  // The default is left out, so a node of the build before garp_refresh (which refuses keys it
  // does not know) still accepts the documents of a cluster that never set it.
  assert.ok(!('garp_refresh' in (raw.resources[1] as Record<string, unknown>)), 'default written out');
  assert.deepEqual(decodeDoc(encodeDoc(doc), config.nodes), doc);
  assert.deepEqual(decodeDoc(encodeDoc({ ...doc, resources: [{ ...doc.resources[0], garpRefreshMs: 0 }] }), config.nodes)!.resources[0].garpRefreshMs, 0);
  // A document without the key (the default, or written before garp_refresh existed) reads as 30 s.
  for (const r of raw.resources as Record<string, unknown>[]) delete r.garp_refresh;
  const old = docFromRaw(raw, config.nodes);
  assert.deepEqual(old.errors, []);
  assert.deepEqual(old.doc!.resources.map((r) => r.garpRefreshMs), [30000, 30000]);
});

test('errors carry the line they are on', () => {
  const { config, errors } = parseConfig(`cluster:
  name: c1
  port: 99999
nodes:
  - name: a
    id: 1
    addr: 10.0.0.300
`);
  assert.equal(config, null);
  assert.deepEqual(
    errors.map((e) => [e.path, e.line]),
    [
      ['cluster.port', 3],
      ['nodes[0].addr', 7],
    ],
  );
});

test('every error at once: five different mistakes give five errors', () => {
  const { config, errors } = parseConfig(`cluster:
  name: c1
  heartbeat_intervl: 100ms
  node_timeout: 100
nodes:
  - { name: a, id: 1, addr: 192.168.0.5x }
  - { name: b, id: 70000, addr: 192.168.0.6 }
resources:
  - { name: web, ip: 192.168.0.100, cidr_netmask: 33 }
`);
  assert.equal(config, null);
  assert.deepEqual(
    errors.map((e) => e.path),
    ['cluster.heartbeat_intervl', 'cluster.node_timeout', 'nodes[0].addr', 'nodes[1].id', 'resources[0].cidr_netmask'],
  );
});
