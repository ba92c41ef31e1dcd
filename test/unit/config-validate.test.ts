// One test per family of configuration error: each asserts the exact path and that the
// message carries the hint that tells the user how to fix it.
import { beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { stringify } from 'yaml';
import { parseConfig, type ConfigError } from '../../src/config/index.ts';
import { code, describeChange, recordRobustness } from '../robustness/record.ts';

// Rows of docs/robustness.md: each broken configuration and the error(s) it got.
let currentTest = '';
beforeEach((t) => {
  currentTest = t.name;
});
const inputOf = (c: Obj | string): string =>
  typeof c === 'string'
    ? c === '' ? 'an empty file' : `the file ${code(c)}`
    : describeChange(valid(), c).map((d) => (d.endsWith(' deleted') ? `${code(d.slice(0, -' deleted'.length))} deleted` : code(d))).join(', ');
const recordErrors = (c: Obj | string, errors: ConfigError[]): void =>
  recordRobustness({ area: 'config-errors', input: inputOf(c), observed: errors.map((e) => `${e.path ? `${code(e.path)}: ` : ''}${e.message}`).join('\n'), test: currentTest });

type Obj = Record<string, any>;

/** A valid configuration as a plain object, to be broken one field at a time. */
function valid(): Obj {
  return {
    cluster: { name: 'lbcluster' },
    nodes: [
      { name: 'worker0', id: 1, addr: '192.168.0.50' },
      { name: 'worker1', id: 2, addr: '192.168.0.51' },
      { name: 'nas', id: 4, addr: '192.168.0.60', role: 'witness' },
    ],
    resources: [{ name: 'api', ip: '192.168.0.150', prefers: { worker0: 50 } }],
  };
}

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
  recordErrors(c, errors);
  return errors[0];
}

const edit = (f: (c: Obj) => void): Obj => {
  const c = valid();
  f(c);
  return c;
};

test('the base configuration is valid', () => {
  assert.deepEqual(errorsOf(valid()), []);
});

test('YAML syntax error reports line and column', () => {
  const e = expectError('cluster:\n  name: [a, b\nnodes: []\n', '', 'YAML syntax error at line', 'column');
  assert.equal(typeof e.line, 'number');
  const tab = expectError('cluster:\n\tname: x\n', '', 'YAML syntax error at line 2');
  assert.equal(tab.line, 2);
});

test('the top level must be a mapping and the file must not be empty', () => {
  expectError('- a\n- b\n', '', 'top level must be a mapping', 'not a list');
  expectError('just text\n', '', 'top level must be a mapping');
  expectError('', '', 'the file is empty');
  expectError('# only a comment\n', '', 'the file is empty');
});

test('missing required sections and keys', () => {
  expectError(edit((c) => delete c.cluster), 'cluster', 'required key is missing', 'cluster:');
  expectError(edit((c) => delete c.cluster.name), 'cluster.name', 'required key is missing', 'name: lbcluster');
  expectError(edit((c) => delete c.nodes), 'nodes', 'required key is missing');
  expectError(edit((c) => delete c.nodes[1].name), 'nodes[1].name', 'required key is missing', 'name: worker1');
  expectError(edit((c) => delete c.nodes[1].id), 'nodes[1].id', 'required key is missing', 'id: 2');
  expectError(edit((c) => delete c.nodes[1].addr), 'nodes[1].addr', 'required key is missing', 'addr:');
  expectError(edit((c) => delete c.resources[0].name), 'resources[0].name', 'required key is missing');
  expectError(edit((c) => delete c.resources[0].ip), 'resources[0].ip', 'required key is missing', 'ip: 192.168.0.150');
  expectError(edit((c) => (c.cluster.name = null)), 'cluster.name', 'has no value');
});

test('unknown keys at every level, with did you mean', () => {
  const cases: [Obj, string, string][] = [
    [edit((c) => (c.clustr = {})), 'clustr', 'did you mean cluster?'],
    [edit((c) => (c.cluster.heartbeat_intervl = '100ms')), 'cluster.heartbeat_intervl', 'did you mean heartbeat_interval?'],
    [edit((c) => (c.cluster.nodeTimeout = '1s')), 'cluster.nodeTimeout', 'did you mean node_timeout?'],
    [edit((c) => (c.nodes[0].adr = '1.2.3.4')), 'nodes[0].adr', 'did you mean addr?'],
    [edit((c) => (c.quorum = { expected_vote: 3 })), 'quorum.expected_vote', 'did you mean expected_votes?'],
    [edit((c) => (c.defaults = { resource_stickyness: 1 })), 'defaults.resource_stickyness', 'did you mean resource_stickiness?'],
    [edit((c) => (c.resources[0].monitor_intreval = '5s')), 'resources[0].monitor_intreval', 'did you mean monitor_interval?'],
    [edit((c) => (c.resources[0].checks = [{ type: 'tcp', host: 'h', port: 1, fal: 2 }])), 'resources[0].checks[0].fal', 'did you mean fall?'],
  ];
  for (const [c, path, hint] of cases) expectError(c, path, 'unknown key', hint);
  // Nothing close: list what is accepted instead.
  expectError(edit((c) => (c.cluster.zzzzzzzz = 1)), 'cluster.zzzzzzzz', 'cluster: accepts: name, authkey');
  // A misspelt required key is one error, not also "missing".
  expectError(edit((c) => { c.cluster.nme = c.cluster.name; delete c.cluster.name; }), 'cluster.nme', 'did you mean name?');
  // A key of another check type says which type it belongs to.
  expectError(edit((c) => (c.resources[0].checks = [{ type: 'tcp', host: 'h', port: 1, url: 'http://x' }])),
    'resources[0].checks[0].url', 'url is for http checks; a tcp check uses host and port');
});

test('wrong types', () => {
  expectError(edit((c) => (c.cluster.port = '5405')), 'cluster.port', 'not the text "5405"', 'remove the quotes');
  expectError(edit((c) => (c.nodes[0].id = 'one')), 'nodes[0].id', 'must be a whole number 1-65535, not the text "one"');
  expectError(edit((c) => (c.cluster.name = 123)), 'cluster.name', 'must be text', 'quotes');
  expectError(edit((c) => (c.quorum = { two_node: 'yes' })), 'quorum.two_node', 'must be true or false');
  expectError(edit((c) => (c.cluster = ['x'])), 'cluster', 'must be a mapping', 'not a list');
  expectError(edit((c) => (c.nodes = { worker0: {} })), 'nodes', 'must be a list of nodes', 'not a mapping');
  expectError(edit((c) => (c.nodes[1] = 'worker1')), 'nodes[1]', 'must be a mapping');
  expectError(edit((c) => (c.resources[0].checks = { type: 'tcp' })), 'resources[0].checks', 'must be a list of checks');
  expectError(edit((c) => (c.resources[0].prefers = ['worker0'])), 'resources[0].prefers', 'must be a mapping of node name: score');
  expectError(edit((c) => (c.resources[0].prefers = { worker0: 'high' })), 'resources[0].prefers.worker0', 'score must be a whole number');
  expectError(edit((c) => (c.resources[0].migration_threshold = 1.5)), 'resources[0].migration_threshold', 'not 1.5');
});

test('bad durations', () => {
  expectError(edit((c) => (c.cluster.heartbeat_interval = 100)), 'cluster.heartbeat_interval', '100 has no unit', 'add a unit');
  expectError(edit((c) => (c.cluster.heartbeat_interval = '100')), 'cluster.heartbeat_interval', '"100" has no unit', '100ms');
  expectError(edit((c) => (c.cluster.node_timeout = 'fast')), 'cluster.node_timeout', '"fast" is not a duration', 'like 100ms');
  expectError(edit((c) => (c.cluster.lease_time = '-1s')), 'cluster.lease_time', 'negative');
  expectError(edit((c) => (c.resources[0].failure_timeout = '1h5')), 'resources[0].failure_timeout', '5 at the end has no unit');
  expectError(edit((c) => (c.resources[0].monitor_interval = '0s')), 'resources[0].monitor_interval', 'must be more than 0');
  expectError(edit((c) => (c.resources[0].monitor_interval = ['5s'])), 'resources[0].monitor_interval', 'must be a duration like 100ms');
});

test('garp_refresh: 0 for none or at least 1 s, a duration', () => {
  expectError(edit((c) => (c.resources[0].garp_refresh = '500ms')), 'resources[0].garp_refresh', 'must be 0 for none, or 1s or more, not 500ms', 'arping');
  expectError(edit((c) => (c.resources[0].garp_refresh = '999ms')), 'resources[0].garp_refresh', '0 for none, or 1s or more');
  expectError(edit((c) => (c.resources[0].garp_refresh = 'banana')), 'resources[0].garp_refresh', '"banana" is not a duration');
  expectError(edit((c) => (c.resources[0].garp_refresh = 30)), 'resources[0].garp_refresh', '30 has no unit');
  expectError(edit((c) => (c.resources[0].garp_refresh = '-1s')), 'resources[0].garp_refresh', 'negative');
  expectError(edit((c) => (c.resources[0].garp_refresh = null)), 'resources[0].garp_refresh', 'has no value', 'garp_refresh: 30s');
  expectError(edit((c) => (c.resources[0].garp_refrsh = '30s')), 'resources[0].garp_refrsh', 'did you mean garp_refresh?');
  for (const ok of ['0', '0s', '1s', '30s']) assert.deepEqual(errorsOf(edit((c) => (c.resources[0].garp_refresh = ok))), [], ok);
});

test('ports, netmasks, clock drift and other ranges', () => {
  expectError(edit((c) => (c.cluster.port = 0)), 'cluster.port', 'port number 1-65535, not 0');
  expectError(edit((c) => (c.cluster.port = 70000)), 'cluster.port', 'port number 1-65535, not 70000');
  expectError(edit((c) => (c.resources[0].cidr_netmask = 33)), 'resources[0].cidr_netmask', 'prefix length 0-32, not 33');
  expectError(edit((c) => (c.resources[0].cidr_netmask = -1)), 'resources[0].cidr_netmask', 'prefix length 0-32');
  expectError(edit((c) => (c.cluster.clock_drift = '20%')), 'cluster.clock_drift', 'between 0% and 10%', '1% or 0.01');
  expectError(edit((c) => (c.cluster.clock_drift = 5)), 'cluster.clock_drift', 'did you mean 5%?');
  expectError(edit((c) => (c.cluster.clock_drift = -0.01)), 'cluster.clock_drift', 'between 0% and 10%');
  expectError(edit((c) => (c.cluster.clock_drift = 'lots')), 'cluster.clock_drift', 'percentage or a fraction');
  expectError(edit((c) => (c.resources[0].migration_threshold = -1)), 'resources[0].migration_threshold', 'non-negative');
  expectError(edit((c) => (c.cluster.status_bind = '0.0.0.0')), 'cluster.status_bind', 'not host:port');
  expectError(edit((c) => (c.cluster.state_dir = 'var/lib/piha')), 'cluster.state_dir', 'not an absolute path');
  expectError(edit((c) => (c.cluster.interface = 'a-very-long-interface-name')), 'cluster.interface', 'not a network interface name');
});

test('invalid names, IPv4 addresses and MACs', () => {
  expectError(edit((c) => (c.nodes[2].addr = '192.168.0.5x')), 'nodes[2].addr',
    '"192.168.0.5x" is not an IPv4 address (write four numbers 0-255, like 192.168.0.52)');
  expectError(edit((c) => (c.nodes[0].addr = '192.168.0.256')), 'nodes[0].addr', 'is not an IPv4 address');
  expectError(edit((c) => (c.nodes[0].addr = '192.168.000.1')), 'nodes[0].addr', 'is not an IPv4 address');
  expectError(edit((c) => (c.nodes[0].addr = '127.0.0.1')), 'nodes[0].addr', 'not a usable host address');
  expectError(edit((c) => (c.resources[0].ip = '192.168.0.150/24')), 'resources[0].ip', 'cidr_netmask: 24');
  expectError(edit((c) => (c.resources[0].ip = 'vip.example')), 'resources[0].ip', 'is not an IPv4 or IPv6 address');
  expectError(edit((c) => (c.nodes[0].name = 'worker 0')), 'nodes[0].name', 'is not a valid name', 'letters, digits');
  expectError(edit((c) => (c.nodes[0].name = '-w')), 'nodes[0].name', 'starting with a letter or digit');
  expectError(edit((c) => (c.resources[0].name = 'a'.repeat(64))), 'resources[0].name', 'is not a valid name');
  expectError(edit((c) => (c.cluster.name = 'my/cluster')), 'cluster.name', 'is not a valid name');
  expectError(edit((c) => (c.nodes[0].mac = 'dc:a6:32:01:02')), 'nodes[0].mac', 'is not a MAC address', 'dc:a6:32:01:02:03');
  assert.deepEqual(errorsOf(edit((c) => (c.nodes[0].name = 'a.b_c-1'))).map((e) => e.path), ['resources[0].prefers.worker0']);
});

test('duplicates among nodes and resources', () => {
  expectError(edit((c) => (c.nodes[1].name = 'worker0')), 'nodes[1].name', '"worker0" is already used by nodes[0]');
  expectError(edit((c) => (c.nodes[2].id = 1)), 'nodes[2].id', '1 is already used by nodes[0]');
  expectError(edit((c) => (c.nodes[2].addr = '192.168.0.51')), 'nodes[2].addr', 'already used by nodes[1]');
  expectError(edit((c) => { c.nodes[0].mac = 'dc:a6:32:01:02:03'; c.nodes[1].mac = 'DC:A6:32:01:02:03'; }), 'nodes[1].mac', 'already used by nodes[0]');
  expectError(edit((c) => c.resources.push({ name: 'api', ip: '192.168.0.151' })), 'resources[1].name', '"api" is already used by resources[0]');
  expectError(edit((c) => c.resources.push({ name: 'api2', ip: '192.168.0.150' })), 'resources[1].ip', 'already used by resources[0]', 'share one virtual IP');
});

test('a VIP must not be a node address', () => {
  expectError(edit((c) => (c.resources[0].ip = '192.168.0.51')), 'resources[0].ip',
    'is the address of node worker1 (nodes[1].addr)', 'free address');
});

test('node ids and votes', () => {
  expectError(edit((c) => (c.nodes[0].id = 0)), 'nodes[0].id', '1-65535, not 0');
  expectError(edit((c) => (c.nodes[0].id = 65536)), 'nodes[0].id', '1-65535, not 65536');
  expectError(edit((c) => (c.nodes[0].votes = -1)), 'nodes[0].votes', 'non-negative whole number');
  expectError(edit((c) => (c.nodes[0].votes = 0.5)), 'nodes[0].votes', 'non-negative whole number');
  expectError(edit((c) => (c.nodes[0].votes = '1')), 'nodes[0].votes', 'remove the quotes');
  expectError(edit((c) => (c.nodes[0].role = 'witnes')), 'nodes[0].role', 'did you mean witness?');
});

test('at least one node and at least one vote', () => {
  expectError(edit((c) => (c.nodes = [])), 'nodes', 'is empty', 'list at least one node');
  expectError('cluster: { name: c }\nnodes:\n', 'nodes', 'is empty');
  expectError(edit((c) => { delete c.resources; c.nodes.forEach((n: Obj) => { n.votes = 0; n.role = 'member'; }); }),
    'nodes', 'no node has a vote', 'never be quorate');
  expectError(edit((c) => { delete c.resources[0].prefers; c.nodes.forEach((n: Obj) => (n.role = 'witness')); }), 'nodes', 'every node is a witness');
});

test('witnesses cannot hold resources; prefers must name real nodes', () => {
  expectError(edit((c) => (c.resources[0].prefers = { nas: 10 })), 'resources[0].prefers.nas', 'nas is a witness', 'remove it from prefers');
  expectError(edit((c) => (c.resources[0].prefers = { workr1: 10 })), 'resources[0].prefers.workr1', 'no node named "workr1"', 'did you mean worker1?');
  expectError(edit((c) => (c.resources[0].prefers = { 'pi-9': 10 })), 'resources[0].prefers["pi-9"]', 'nodes are: worker0, worker1, nas');
  expectError(edit((c) => (c.nodes[2].votes = 0)), 'nodes[2].votes', 'witness with votes: 0 is pointless');
});

test('timing: limits and relations, profiles', () => {
  expectError(edit((c) => (c.cluster.heartbeat_interval = '1ms')), 'cluster.heartbeat_interval', 'must be at least 5ms, not 1ms');
  expectError(edit((c) => (c.cluster.node_timeout = '150ms')), 'cluster.node_timeout',
    'node_timeout 150ms is less than twice heartbeat_interval 200ms from profile lan', 'set node_timeout: 400ms or more');
  expectError(edit((c) => Object.assign(c.cluster, { heartbeat_interval: '200ms', lease_time: '300ms', node_timeout: '2s' })),
    'cluster.lease_time', 'lease_time 300ms is less than twice heartbeat_interval 200ms', 'set lease_time: 400ms or more');
  // The heartbeat was raised past what the preset's node_timeout allows: point at the heartbeat line.
  const e = errorsOf(edit((c) => (c.cluster.heartbeat_interval = '700ms')));
  assert.deepEqual(e.map((x) => x.path), ['cluster.heartbeat_interval', 'cluster.heartbeat_interval']);
  assert.match(e[0].message, /node_timeout 1s from profile lan is less than twice heartbeat_interval 700ms/);
  assert.match(e[1].message, /lease_time 1\.35s from profile lan/);
  recordErrors(edit((c) => (c.cluster.heartbeat_interval = '700ms')), e);
  expectError(edit((c) => Object.assign(c.cluster, { heartbeat_interval: '25ms', lease_time: '100ms' })),
    'cluster.lease_time', 'not longer than the 100ms profile lan reserves', 'set lease_time: 200ms or more');
  expectError(edit((c) => (c.cluster.profile = 'lna')), 'cluster.profile', 'unknown profile "lna"', 'did you mean lan?');
  expectError(edit((c) => (c.cluster.profile = 'turbo')), 'cluster.profile', 'choose one of: lan, fast, slow');
});

test('profiles fill the timings; explicit keys override them', () => {
  const timing = (cluster: Obj) => {
    const r = parseConfig(stringify({ ...valid(), cluster: { name: 'c', ...cluster } }));
    assert.deepEqual(r.errors, []);
    return r.config!.cluster.timing;
  };
  assert.deepEqual(timing({ profile: 'fast' }), { heartbeatIntervalMs: 25, nodeTimeoutMs: 150, leaseMs: 200, clockDrift: 0.01, releaseApplyMs: 50, kernelLifetimeSlackMs: 300 });
  assert.deepEqual(timing({ profile: 'slow' }), { heartbeatIntervalMs: 250, nodeTimeoutMs: 3000, leaseMs: 3000, clockDrift: 0.01, releaseApplyMs: 200, kernelLifetimeSlackMs: 300 });
  assert.deepEqual(timing({ profile: 'slow', node_timeout: '5s', clock_drift: '2%' }),
    { heartbeatIntervalMs: 250, nodeTimeoutMs: 5000, leaseMs: 3000, clockDrift: 0.02, releaseApplyMs: 200, kernelLifetimeSlackMs: 300 });
});

test('health checks', () => {
  const withCheck = (check: Obj) => edit((c) => (c.resources[0].checks = [check]));
  expectError(withCheck({ type: 'htp', url: 'http://x' }), 'resources[0].checks[0].type', 'unknown check type "htp"', 'did you mean http?');
  expectError(withCheck({ url: 'http://x' }), 'resources[0].checks[0].type', 'required key is missing');
  expectError(withCheck({ type: 'http' }), 'resources[0].checks[0].url', 'required key is missing', 'url: https://');
  expectError(withCheck({ type: 'http', url: 'ftp://x' }), 'resources[0].checks[0].url', 'not an http(s) URL');
  const tcp = errorsOf(withCheck({ type: 'tcp' }));
  assert.deepEqual(tcp.map((e) => e.path), ['resources[0].checks[0].host', 'resources[0].checks[0].port']);
  recordErrors(withCheck({ type: 'tcp' }), tcp);
  expectError(withCheck({ type: 'tcp', host: '127.0.0.1' }), 'resources[0].checks[0].port', 'add port: 6443');
  expectError(withCheck({ type: 'tcp', host: '127.0.0.1', port: 0 }), 'resources[0].checks[0].port', '1-65535');
  expectError(withCheck({ type: 'exec' }), 'resources[0].checks[0].command', 'required key is missing', 'an exec check');
  expectError(withCheck({ type: 'exec', command: 'x', rise: 0 }), 'resources[0].checks[0].rise', 'at least 1');
  expectError(withCheck({ type: 'exec', command: 'x', interval: '1s' }), 'resources[0].checks[0].timeout',
    'timeout 2s (the default) is longer than interval 1s', 'set timeout: 1s or less');
  expectError(withCheck({ type: 'exec', command: 'x', timeout: '0s' }), 'resources[0].checks[0].timeout', 'must be more than 0');
});

test('colocation: with / not_with in three forms, read into scores', () => {
  const c = edit((c) => {
    c.resources.push({ name: 'ingress', ip: '192.168.0.151', with: 'api' });
    c.resources.push({ name: 'dns', ip: '192.168.0.152', not_with: ['api', 'ingress'] });
    c.resources.push({ name: 'mqtt', ip: '192.168.0.153', not_with: { dns: 500 }, with: { api: 'INFINITY' } });
  });
  const r = parseConfig(stringify(c));
  assert.deepEqual(r.errors, []);
  const by = (n: string) => r.config!.resources.find((x) => x.name === n)!.colocation;
  assert.deepEqual(by('ingress'), [{ with: 'api', score: 1_000_000 }]);
  assert.deepEqual(by('dns'), [{ with: 'api', score: -1_000_000 }, { with: 'ingress', score: -1_000_000 }]);
  assert.deepEqual(by('mqtt'), [{ with: 'api', score: 1_000_000 }, { with: 'dns', score: -500 }]);
  assert.equal(by('api'), undefined);
});

test('colocation errors: unknown name with a suggestion, itself, twice, bad forms and scores, cycles', () => {
  const two = (f: (a: Obj, b: Obj) => void) => edit((c) => { c.resources.push({ name: 'ingress', ip: '192.168.0.151' }); f(c.resources[0], c.resources[1]); });
  expectError(two((_a, b) => (b.with = 'apj')), 'resources[1].with', 'no resource named "apj"', 'did you mean api?');
  expectError(two((a) => (a.with = 'api')), 'resources[0].with', 'cannot be colocated with itself');
  expectError(two((_a, b) => { b.with = 'api'; b.not_with = 'api'; }), 'resources[1].not_with', 'named twice');
  expectError(two((_a, b) => (b.with = 3)), 'resources[1].with', 'must be a resource name, a list of names or a mapping');
  expectError(two((_a, b) => (b.with = ['api', 7])), 'resources[1].with[1]', 'must be a resource name');
  expectError(two((_a, b) => (b.not_with = { api: 0 })), 'resources[1].not_with.api', 'whole number from 1 to 1000000 or INFINITY');
  expectError(two((_a, b) => (b.not_with = { api: -5 })), 'resources[1].not_with.api', 'how much to avoid');
  expectError(two((a, b) => { a.with = 'ingress'; b.not_with = 'api'; }), 'resources[0].with', 'colocation cycle api -> ingress -> api', 'remove the constraint from one of them');
});
