import { test } from 'node:test';
import assert from 'node:assert/strict';
import { localAddresses, localMacs, parseConfig, resolveLocalNode, type PihaConfig } from '../../src/config/index.ts';

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
