// piha boot-setup (src/boot/setup.ts) against a scratch root directory: identity from the
// boot partition, hostname, networkd/NetworkManager files, the boot-partition key, and that a
// second run changes nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bootSetup, hostnameFor, type BootSetupOptions } from '../../src/boot/setup.ts';
import { parseNetwork, renderNetworkManager, sameSubnet } from '../../src/boot/network.ts';
import { loadConfigFile, readNodeFile } from '../../src/config/index.ts';

const CONFIG = `cluster: { name: lab }
nodes:
  - { name: pi1, id: 1, addr: 192.0.2.21, mac: "52:54:00:00:02:21" }
  - { name: pi2, id: 2, addr: 192.0.2.22 }
  - { name: pi_3, id: 3, addr: 192.0.2.23 }
`;

function scratch(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'piha-boot-'));
  for (const [p, text] of Object.entries(files)) {
    mkdirSync(join(root, p, '..'), { recursive: true });
    writeFileSync(join(root, p), text);
  }
  return root;
}

const opts = (root: string, more: Partial<BootSetupOptions> = {}): BootSetupOptions => ({
  root,
  configPath: '/etc/piha/piha.yaml',
  localMacs: [],
  localAddrs: [],
  backend: 'networkd',
  ...more,
});

const read = (root: string, p: string) => readFileSync(join(root, p), 'utf8');

test('static: node by MAC, hostname and a networkd file with its addr; a second run changes nothing', () => {
  const root = scratch({
    'etc/piha/piha.yaml': CONFIG,
    'boot/firmware/piha-network.yaml': 'mode: static\nprefix: 24\ngateway: 192.0.2.1\ndns: [192.0.2.1]\n',
    'etc/hosts': '127.0.0.1\tlocalhost\n127.0.1.1\tpiha\n::1\tlocalhost ip6-localhost\n',
  });
  try {
    const kernel: string[] = [];
    const r = bootSetup(opts(root, { localMacs: ['52:54:00:00:02:21'], setKernelHostname: (n) => kernel.push(n) }));
    assert.deepEqual(r.problems, []);
    assert.equal(r.node?.name, 'pi1');
    assert.equal(read(root, 'etc/hostname'), 'pi1\n');
    assert.equal(read(root, 'etc/hosts'), '127.0.0.1\tlocalhost\n127.0.1.1\tpi1\n::1\tlocalhost ip6-localhost\n');
    assert.deepEqual(kernel, ['pi1']);
    const net = read(root, 'etc/systemd/network/10-piha-eth0.network');
    assert.match(net, /\[Match\]\nName=eth0\n/);
    assert.match(net, /Address=192\.0\.2\.21\/24\nGateway=192\.0\.2\.1\nDNS=192\.0\.2\.1\n/);
    assert.match(net, /KeepConfiguration=yes/);
    assert.doesNotMatch(net, /DHCP/);
    assert.ok(r.log.some((l) => l === 'hostname pi1 (set)'));
    assert.ok(r.log.some((l) => l === 'eth0: static 192.0.2.21/24 via 192.0.2.1 (networkd configured)'));

    const again = bootSetup(opts(root, { localMacs: ['52:54:00:00:02:21'] }));
    assert.deepEqual(again.problems, []);
    assert.ok(again.log.includes('hostname pi1 (unchanged)'), again.log.join('\n'));
    assert.ok(again.log.includes('eth0: static 192.0.2.21/24 via 192.0.2.1 (networkd unchanged)'), again.log.join('\n'));
    assert.equal(read(root, 'etc/hosts'), '127.0.0.1\tlocalhost\n127.0.1.1\tpi1\n::1\tlocalhost ip6-localhost\n');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('node file on the boot partition; node names become valid host names', () => {
  const root = scratch({ 'etc/piha/piha.yaml': CONFIG, 'boot/firmware/piha-node': 'pi_3\r\n' });
  try {
    const r = bootSetup(opts(root));
    assert.deepEqual(r.problems, []);
    assert.equal(r.node?.name, 'pi_3');
    assert.equal(read(root, 'etc/hostname'), 'pi-3\n');
    assert.match(read(root, 'etc/hosts'), /^127\.0\.1\.1\tpi-3$/m); // added when missing
    // No network file: DHCP.
    assert.match(read(root, 'etc/systemd/network/10-piha-eth0.network'), /DHCP=ipv4/);
    assert.equal(hostnameFor('a.b_c'), 'a-b-c');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('unknown identity with static wanted: DHCP, hostname untouched, the problem says how to fix it', () => {
  const root = scratch({ 'etc/piha/piha.yaml': CONFIG, 'boot/firmware/piha-network.yaml': 'mode: static\n', 'etc/hostname': 'piha\n' });
  try {
    const r = bootSetup(opts(root, { localMacs: ['00:11:22:33:44:55'] }));
    assert.equal(r.node, undefined);
    assert.equal(read(root, 'etc/hostname'), 'piha\n');
    assert.match(read(root, 'etc/systemd/network/10-piha-eth0.network'), /DHCP=ipv4/);
    assert.equal(r.problems.length, 2, r.problems.join('\n'));
    assert.match(r.problems[0], /which node is this\?.*mac: in nodes:, or write its name into \/boot\/firmware\/piha-node/);
    assert.match(r.problems[1], /static address wanted but this node's entry is unknown — using DHCP/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('DHCP and no mac:/node file: not a problem at boot (the daemon finds the node by its address later)', () => {
  const root = scratch({ 'etc/piha/piha.yaml': CONFIG, 'etc/hostname': 'piha\n' });
  try {
    const r = bootSetup(opts(root, { localMacs: ['00:11:22:33:44:55'] }));
    assert.deepEqual(r.problems, []);
    assert.ok(r.log.some((l) => l.startsWith('node not known before DHCP')), r.log.join('\n'));
    assert.equal(read(root, 'etc/hostname'), 'piha\n');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('broken piha.yaml: every error is reported, the Pi still gets DHCP', () => {
  const root = scratch({ 'etc/piha/piha.yaml': 'cluster: { name: lab }\nnodes:\n  - { name: pi1, id: 1, addr: 192.0.2.5x }\n' });
  try {
    const r = bootSetup(opts(root));
    assert.equal(r.problems.length, 1);
    assert.match(r.problems[0], /1 error .*192\.0\.2\.5x/s);
    assert.match(read(root, 'etc/systemd/network/10-piha-eth0.network'), /DHCP=ipv4/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('bad network file: listed, DHCP until fixed; mode none removes our file', () => {
  const root = scratch({ 'etc/piha/piha.yaml': CONFIG, 'boot/firmware/piha-network.yaml': 'mode: statik\nprefix: 33\ngatway: 1.2.3.4\n' });
  try {
    const r = bootSetup(opts(root, { localMacs: ['52:54:00:00:02:21'] }));
    assert.equal(r.problems.length, 2);
    assert.match(r.problems[0], /unknown key "gatway".*mode: "statik" is not one of dhcp, static, none.*prefix: 33 is not a prefix length/);
    assert.match(r.problems[1], /eth0: using DHCP until piha-network\.yaml is fixed/);
    assert.match(read(root, 'etc/systemd/network/10-piha-eth0.network'), /DHCP=ipv4/);
    writeFileSync(join(root, 'boot/firmware/piha-network.yaml'), 'mode: none\n');
    const r2 = bootSetup(opts(root, { localMacs: ['52:54:00:00:02:21'] }));
    assert.deepEqual(r2.problems, []);
    assert.ok(!existsSync(join(root, 'etc/systemd/network/10-piha-eth0.network')));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('a broken piha.yaml or network file later keeps the last network configuration (the Pi stays at its address)', () => {
  const root = scratch({ 'etc/piha/piha.yaml': CONFIG, 'boot/firmware/piha-network.yaml': 'mode: static\ngateway: 192.0.2.1\n' });
  try {
    const good = bootSetup(opts(root, { localMacs: ['52:54:00:00:02:21'] }));
    assert.deepEqual(good.problems, []);
    const net = read(root, 'etc/systemd/network/10-piha-eth0.network');
    writeFileSync(join(root, 'etc/piha/piha.yaml'), 'cluster: { name: lab, interfase: eth0 }\nnodes: []\n');
    const r = bootSetup(opts(root, { localMacs: ['52:54:00:00:02:21'] }));
    assert.match(r.problems.join('\n'), /interfase/);
    assert.match(r.problems.join('\n'), /entry is unknown — keeping the last network configuration/);
    assert.equal(read(root, 'etc/systemd/network/10-piha-eth0.network'), net);
    writeFileSync(join(root, 'etc/piha/piha.yaml'), CONFIG);
    writeFileSync(join(root, 'boot/firmware/piha-network.yaml'), 'mode: [\n');
    const r2 = bootSetup(opts(root, { localMacs: ['52:54:00:00:02:21'] }));
    assert.match(r2.problems.join('\n'), /YAML syntax error/);
    assert.ok(r2.log.includes('eth0: unchanged (last configuration kept until piha-network.yaml is fixed)'), r2.log.join('\n'));
    assert.equal(read(root, 'etc/systemd/network/10-piha-eth0.network'), net);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('NetworkManager (Raspberry Pi OS): a 0600 keyfile', () => {
  const root = scratch({ 'etc/piha/piha.yaml': CONFIG, 'boot/firmware/piha-network.yaml': 'mode: static\ngateway: 192.0.2.1\n', 'usr/sbin/NetworkManager': '' });
  try {
    const r = bootSetup({ ...opts(root, { localMacs: ['52:54:00:00:02:21'] }), backend: undefined });
    assert.deepEqual(r.problems, []);
    const f = join(root, 'etc/NetworkManager/system-connections/piha-eth0.nmconnection');
    assert.equal(statSync(f).mode & 0o777, 0o600);
    assert.match(readFileSync(f, 'utf8'), /\[ipv4\]\nmethod=manual\naddress1=192\.0\.2\.21\/24,192\.0\.2\.1\n/);
    assert.match(renderNetworkManager('eth0', { mode: 'dhcp', prefix: 24, dns: ['192.0.2.1'] }, undefined, 'x'), /method=auto\ndns=192\.0\.2\.1;/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('a cluster key dropped on the boot partition moves to the root filesystem, mode 0600', () => {
  const key = 'ab'.repeat(32);
  const root = scratch({ 'etc/piha/piha.yaml': CONFIG, 'boot/firmware/piha-authkey': `${key.toUpperCase()}\r\n` });
  try {
    const r = bootSetup(opts(root, { localMacs: ['52:54:00:00:02:21'] }));
    assert.deepEqual(r.problems, []);
    assert.equal(read(root, 'etc/piha/authkey'), `${key}\n`);
    assert.equal(statSync(join(root, 'etc/piha/authkey')).mode & 0o777, 0o600);
    assert.ok(!existsSync(join(root, 'boot/firmware/piha-authkey')));
    writeFileSync(join(root, 'boot/firmware/piha-authkey'), 'not a key\n');
    const r2 = bootSetup(opts(root, { localMacs: ['52:54:00:00:02:21'] }));
    assert.match(r2.problems.join('\n'), /piha-authkey on the boot partition is not a cluster key/);
    assert.equal(read(root, 'etc/piha/authkey'), `${key}\n`); // the good key stays
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('parseNetwork and sameSubnet', () => {
  assert.deepEqual(parseNetwork('# nothing\n'), { settings: { mode: 'dhcp', prefix: 24, dns: [] }, errors: [] });
  assert.deepEqual(parseNetwork('mode: static\ndns: 192.0.2.1\n').settings, { mode: 'static', prefix: 24, dns: ['192.0.2.1'] });
  assert.match(parseNetwork('- a\n').errors[0], /must be a mapping/);
  assert.match(parseNetwork('mode: [\n').errors[0], /YAML syntax error/);
  assert.ok(sameSubnet('192.168.0.50', '192.168.0.1', 24));
  assert.ok(!sameSubnet('192.168.1.50', '192.168.0.1', 24));
  assert.ok(sameSubnet('192.168.1.50', '192.168.0.1', 16));
});

test('the image defaults on the boot partition (overlays/boot/firmware) are valid', () => {
  const dir = join(import.meta.dirname, '..', '..', 'overlays', 'boot', 'firmware');
  const { errors } = loadConfigFile(join(dir, 'piha.yaml'));
  assert.deepEqual(errors, []);
  assert.deepEqual(parseNetwork(readFileSync(join(dir, 'piha-network.yaml'), 'utf8')), { settings: { mode: 'dhcp', prefix: 24, dns: [] }, errors: [] });
  assert.equal(readNodeFile(join(dir, 'piha-node')), undefined); // comments only: names no node
});
