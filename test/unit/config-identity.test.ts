import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { localAddresses, localMacs, parseConfig, readNodeFile, resolveLocalNode, type PihaConfig } from '../../src/config/index.ts';

const config: PihaConfig = (() => {
  const r = parseConfig(`
cluster: { name: c }
nodes:
  - { name: worker0, id: 1, addr: 192.168.0.50, mac: "dc:a6:32:00:00:01" }
  - { name: worker1, id: 2, addr: 192.168.0.51, mac: "dc:a6:32:00:00:02" }
  - { name: nas, id: 3, addr: 192.168.0.60 }
`);
  assert.deepEqual(r.errors, []);
  return r.config!;
})();

const nameOf = (r: ReturnType<typeof resolveLocalNode>): string => ('node' in r ? r.node.name : `error: ${r.error}`);

test('--node wins over addresses and MACs', () => {
  assert.equal(nameOf(resolveLocalNode(config, { nodeName: 'nas', localAddrs: ['192.168.0.50'], localMacs: ['dc:a6:32:00:00:01'] })), 'nas');
});

test('an unknown --node is an error with did you mean', () => {
  const r = resolveLocalNode(config, { nodeName: 'workr1', localAddrs: [] });
  assert.ok('error' in r);
  assert.match(r.error, /--node workr1: no such node/);
  assert.match(r.error, /did you mean worker1\?/);
});

test('MAC address identifies the node (case-insensitive), before addresses', () => {
  assert.equal(nameOf(resolveLocalNode(config, { localAddrs: ['192.168.0.50'], localMacs: ['DC:A6:32:00:00:02'] })), 'worker1');
});

test('falls back to the address when no MAC matches', () => {
  assert.equal(nameOf(resolveLocalNode(config, { localAddrs: ['10.9.9.9', '192.168.0.60'], localMacs: ['00:11:22:33:44:55'] })), 'nas');
});

test('no match: clear error listing this machine’s addresses', () => {
  const r = resolveLocalNode(config, { localAddrs: ['10.0.0.5', '172.16.0.2'], localMacs: [] });
  assert.ok('error' in r);
  assert.equal(r.error, 'no node in nodes: has an address on this machine (this machine has 10.0.0.5, 172.16.0.2); pass --node NAME');
});

test('several matches: error naming them', () => {
  const r = resolveLocalNode(config, { localAddrs: ['192.168.0.50', '192.168.0.51'] });
  assert.ok('error' in r);
  assert.match(r.error, /several nodes have an address on this machine: worker0 \(192\.168\.0\.50\), worker1 \(192\.168\.0\.51\); pass --node NAME/);
  const m = resolveLocalNode(config, { localAddrs: [], localMacs: ['dc:a6:32:00:00:01', 'dc:a6:32:00:00:02'] });
  assert.ok('error' in m);
  assert.match(m.error, /several nodes have a MAC address of this machine/);
});

test('localAddresses and localMacs read this machine', () => {
  const addrs = localAddresses();
  assert.ok(addrs.every((a) => /^\d+\.\d+\.\d+\.\d+$/.test(a) && !a.startsWith('127.')));
  const macs = localMacs();
  assert.ok(macs.every((m) => /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/.test(m) && m !== '00:00:00:00:00:00'));
});

// The node file: one line on the boot partition naming the node (the image's way to tell
// identical SD cards apart when MACs are not listed and the address comes from the config).
const nodeFile = (name: string) => ({ path: '/boot/firmware/piha-node', name });

test('node file: used after MACs and before addresses', () => {
  // No MAC matches: the file decides, even though an address of another node is present.
  assert.equal(nameOf(resolveLocalNode(config, { localAddrs: ['192.168.0.50'], localMacs: ['00:11:22:33:44:55'], nodeFile: nodeFile('nas') })), 'nas');
  // A matching MAC wins over the file.
  assert.equal(nameOf(resolveLocalNode(config, { localAddrs: [], localMacs: ['dc:a6:32:00:00:02'], nodeFile: nodeFile('nas') })), 'worker1');
  // --node wins over everything.
  assert.equal(nameOf(resolveLocalNode(config, { nodeName: 'worker0', localAddrs: [], nodeFile: nodeFile('nas') })), 'worker0');
});

test('node file naming an unknown node is an error naming the file, with did you mean', () => {
  const r = resolveLocalNode(config, { localAddrs: ['192.168.0.60'], nodeFile: nodeFile('workr0') });
  assert.ok('error' in r);
  assert.match(r.error, /^\/boot\/firmware\/piha-node names node "workr0", which is not in nodes: \(did you mean worker0\?\)/);
});

test('readNodeFile: first meaningful line, BOM/CRLF/comments tolerated, missing file is undefined', () => {
  const dir = mkdtempSync(join(tmpdir(), 'piha-nodefile-'));
  try {
    const f = join(dir, 'piha-node');
    assert.equal(readNodeFile(f), undefined);
    writeFileSync(f, '\uFEFF# written by the installer\r\n\r\n  worker1  \r\nignored\r\n');
    assert.deepEqual(readNodeFile(f), { path: f, name: 'worker1' });
    writeFileSync(f, '# only a comment\n\n');
    assert.equal(readNodeFile(f), undefined);
    assert.throws(() => readNodeFile(dir), /EISDIR/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('localMacs also reads /sys/class/net (interfaces without an address yet), Ethernet type only', () => {
  const dir = mkdtempSync(join(tmpdir(), 'piha-sysnet-'));
  try {
    const iface = (name: string, type: string, mac: string) => {
      mkdirSync(join(dir, name));
      writeFileSync(join(dir, name, 'type'), `${type}\n`);
      writeFileSync(join(dir, name, 'address'), `${mac}\n`);
    };
    iface('eth0', '1', 'DC:A6:32:00:00:02');
    iface('lo', '772', '00:00:00:00:00:00');
    iface('wg0', '65534', '');
    const macs = localMacs(dir);
    assert.ok(macs.includes('dc:a6:32:00:00:02'));
    assert.ok(!macs.includes('00:00:00:00:00:00'));
    assert.equal(nameOf(resolveLocalNode(config, { localAddrs: [], localMacs: macs })), 'worker1');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
