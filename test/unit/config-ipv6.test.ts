// IPv6 virtual IPs in the configuration (issue 10, item 4): strict parsing, the canonical
// form (what iproute2 prints), the refused kinds of address, prefix lengths per family, the
// unique-IP check on canonical forms, and the cluster document (pcs words) using the same rules.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from '../../src/config/index.ts';
import { canonicalIPv6, checkHostPort, checkIP, ipFamily, parseIPv6 } from '../../src/config/formats.ts';
import { applyChange, docFromRaw, docFromConfig, docToRaw } from '../../src/config/cluster-doc.ts';
import { createResource } from '../../src/api/pcs-words.ts';

const file = (resources: string, extraCluster = '') => `cluster:
  name: lbcluster
${extraCluster}nodes:
  - { name: worker0, id: 1, addr: 192.168.0.50 }
  - { name: worker1, id: 2, addr: 192.168.0.51 }
  - { name: worker2, id: 3, addr: 192.168.0.52 }
resources:
${resources}
`;

const errorsOf = (resources: string) => parseConfig(file(resources)).errors.map((e) => `${e.path}: ${e.message}`);

test('parseIPv6: every RFC 4291 text form, nothing else', () => {
  assert.deepEqual(parseIPv6('2001:db8::150'), [0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x150]);
  assert.deepEqual(parseIPv6('2001:DB8:0:0:0:0:0:0150'), [0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x150]);
  assert.deepEqual(parseIPv6('::'), [0, 0, 0, 0, 0, 0, 0, 0]);
  assert.deepEqual(parseIPv6('1::'), [1, 0, 0, 0, 0, 0, 0, 0]);
  assert.deepEqual(parseIPv6('1:2:3:4:5:6:7::'), [1, 2, 3, 4, 5, 6, 7, 0]);
  assert.deepEqual(parseIPv6('64:ff9b::192.0.2.33'), [0x64, 0xff9b, 0, 0, 0, 0, 0xc000, 0x221]);
  for (const bad of [
    '', ':', ':::', '1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7', '1::2::3', ':1:2:3:4:5:6:7', '1:2:3:4:5:6:7:',
    '12345::1', 'g::1', '2001:db8::150%eth0', '[2001:db8::150]', '2001:db8::150/64', '::1.2.3', '::1.2.3.04',
    '1.2.3.4::', '1:2:3:4:5:6:7:1.2.3.4', ' 2001:db8::1', '2001:db8::1 ',
  ]) {
    assert.equal(parseIPv6(bad), null, bad);
  }
});

test('canonicalIPv6 is RFC 5952 (and what ip prints): lower case, no leading zeros, first longest zero run', () => {
  const cases: [string, string][] = [
    ['2001:DB8:0:0:0:0:0:0150', '2001:db8::150'],
    ['2001:0db8:0000:0000:0001:0000:0000:0001', '2001:db8::1:0:0:1'], // tie: the first run
    ['2001:db8:0:1:0:0:0:1', '2001:db8:0:1::1'], // the longest run, not the first
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'], // a single zero group is not compressed
    ['2001:db8::', '2001:db8::'],
    ['64:ff9b::192.0.2.33', '64:ff9b::c000:221'],
    ['fd00:0:0:0:0:0:0:a', 'fd00::a'],
  ];
  for (const [input, want] of cases) assert.equal(canonicalIPv6(input), want, input);
  assert.equal(canonicalIPv6('192.0.2.1'), '192.0.2.1', 'not IPv6: unchanged');
  assert.equal(ipFamily('2001:db8::150'), 6);
  assert.equal(ipFamily('192.0.2.150'), 4);
  assert.equal(ipFamily('fe80::1%eth0'), null);
});

test('checkIP refuses addresses no VIP may have, each with the reason and an example', () => {
  assert.equal(checkIP('2001:db8::150', '192.168.0.150'), null);
  assert.equal(checkIP('fd12:3456::10', '192.168.0.150'), null, 'unique local is fine');
  assert.equal(checkIP('192.168.0.150', '192.168.0.150'), null);
  const refused: [string, RegExp][] = [
    ['::', /unspecified/],
    ['::1', /loopback/],
    ['0:0:0:0:0:0:0:1', /::1 is the loopback/],
    ['::ffff:192.0.2.1', /IPv4-mapped.*write the IPv4 address itself/],
    ['::192.0.2.1', /IPv4-compatible/],
    ['fe80::1', /link-local \(fe80::\/10\)/],
    ['FEBF::1', /link-local/],
    ['ff02::1', /a multicast address \(ff00::\/8\)/],
    ['2001:db8::150/64', /has a \/64 suffix \(write the address alone, 2001:db8::150, and the prefix length as cidr_netmask: 64\)/],
    ['[2001:db8::150]', /with brackets \(write the address alone, like 2001:db8::150\)/],
    ['2001:db8::150%eth0', /zone index %eth0/],
    ['2001:db8::15g', /is not an IPv4 or IPv6 address .*like 192\.168\.0\.150.*like 2001:db8::150/],
    ['192.168.0.256', /is not an IPv4 address \(write four numbers 0-255/],
  ];
  for (const [ip, re] of refused) assert.match(checkIP(ip, '192.168.0.150') ?? 'accepted', re, ip);
  assert.doesNotMatch(checkIP('fec0::1', '192.168.0.150') ?? '', /link-local/, 'fec0::/10 is not fe80::/10');
  assert.equal(checkIP('fec0::1', '192.168.0.150'), null);
});

test('a resource with an IPv6 ip: canonical form, default /128, cidr_netmask 0-128', () => {
  const { config, errors } = parseConfig(file('  - { name: api6, ip: "2001:DB8:0:0::0150" }\n  - { name: api6b, ip: 2001:db8::151, cidr_netmask: 64 }\n  - { name: api4, ip: 192.168.0.150 }'));
  assert.deepEqual(errors, []);
  assert.deepEqual(
    config!.resources.map((r) => [r.name, r.ip, r.cidrNetmask]),
    [['api6', '2001:db8::150', 128], ['api6b', '2001:db8::151', 64], ['api4', '192.168.0.150', 32]],
  );
});

test('unquoted IPv6 in YAML stays text (YAML 1.2 has no sexagesimal numbers)', () => {
  const { config, errors } = parseConfig(file('  - name: a\n    ip: 2001:0:0:0:0:0:0:150\n  - name: b\n    ip: 2001:db8::1:0'));
  assert.deepEqual(errors, []);
  assert.deepEqual(config!.resources.map((r) => r.ip), ['2001::150', '2001:db8::1:0']);
});

test('cidr_netmask per family: 33-128 only for IPv6, the message names the range', () => {
  assert.deepEqual(errorsOf('  - { name: a, ip: 2001:db8::150, cidr_netmask: 129 }'), [
    'resources[0].cidr_netmask: must be a prefix length 0-128 for an IPv6 address, not 129',
  ]);
  assert.deepEqual(errorsOf('  - { name: a, ip: 192.168.0.150, cidr_netmask: 64 }'), ['resources[0].cidr_netmask: must be a prefix length 0-32, not 64']);
  assert.deepEqual(errorsOf('  - { name: a, ip: 2001:db8::150, cidr_netmask: 64 }'), []);
});

test('bad IPv6 VIPs are reported at resources[i].ip with the fix', () => {
  const e = errorsOf('  - { name: a, ip: "fe80::150" }\n  - { name: b, ip: "ff05::2" }\n  - { name: c, ip: "::ffff:192.168.0.150" }\n  - { name: d, ip: "2001:db8::1::2" }');
  assert.equal(e.length, 4, e.join('\n'));
  assert.match(e[0]!, /^resources\[0\]\.ip: fe80::150 is link-local .*like 2001:db8::150$/);
  assert.match(e[1]!, /^resources\[1\]\.ip: ff05::2 is a multicast address/);
  assert.match(e[2]!, /^resources\[2\]\.ip: ::ffff:c0a8:96 is an IPv4-mapped address/);
  assert.match(e[3]!, /^resources\[3\]\.ip: "2001:db8::1::2" is not an IPv4 or IPv6 address/);
});

test('two spellings of one IPv6 address are one VIP: the unique-IP check compares canonical forms', () => {
  const e = errorsOf('  - { name: a, ip: 2001:db8::150 }\n  - { name: b, ip: "2001:0DB8:0000::0150" }');
  assert.deepEqual(e, ['resources[1].ip: "2001:db8::150" is already used by resources[0] (two resources cannot share one virtual IP)']);
});

test('an IPv4 VIP equal to a node address is still refused next to IPv6 VIPs', () => {
  const e = errorsOf('  - { name: a, ip: 2001:db8::150 }\n  - { name: b, ip: 192.168.0.51 }');
  assert.equal(e.length, 1, e.join('\n'));
  assert.match(e[0]!, /^resources\[1\]\.ip: 192\.168\.0\.51 is the address of node worker1/);
});

test('node addresses stay IPv4 (the heartbeat transport is IPv4)', () => {
  const r = parseConfig(file('  - { name: a, ip: 2001:db8::150 }').replace('addr: 192.168.0.50', 'addr: 2001:db8::50'));
  assert.match(r.errors.map((e) => `${e.path}: ${e.message}`).join('\n'), /nodes\[0\]\.addr: "2001:db8::50" is not an IPv4 address/);
});

test('status_bind takes [IPv6]:port', () => {
  assert.equal(checkHostPort('[::]:9405', '0.0.0.0:9405'), null);
  assert.equal(checkHostPort('[2001:db8::10]:9405', '0.0.0.0:9405'), null);
  assert.equal(checkHostPort('0.0.0.0:9405', '0.0.0.0:9405'), null);
  assert.match(checkHostPort('[2001:db8::1::2]:9405', '0.0.0.0:9405') ?? '', /or an IPv6 address in brackets, like \[::\]:9405/);
  assert.match(checkHostPort('2001:db8::10:9405', '0.0.0.0:9405') ?? 'accepted', /not host:port/);
  const { errors } = parseConfig(file('  - { name: a, ip: 2001:db8::150 }', '  status_bind: "[::]:9405"\n'));
  assert.deepEqual(errors, []);
});

test('cluster document: pcs words create an IPv6 VIP with the file rules (canonical, /128 default, errors)', () => {
  const nodes = parseConfig(file('  - { name: a, ip: 192.168.0.150 }')).config!.nodes;
  const raw = { resources: [createResource('api6', ['ocf:heartbeat:IPaddr2', 'ip=2001:DB8::0150'])] };
  const r = docFromRaw(raw, nodes);
  assert.deepEqual(r.errors, []);
  assert.equal(r.doc!.resources[0]!.ip, '2001:db8::150');
  assert.equal(r.doc!.resources[0]!.cidrNetmask, 128);
  // Round trip through the replicated JSON form keeps it.
  const again = docFromRaw(JSON.parse(JSON.stringify(docToRaw(r.doc!))), nodes);
  assert.deepEqual(again.doc, r.doc);
  const bad = docFromRaw({ resources: [createResource('x', ['ip=fe80::1'])] }, nodes);
  assert.match(bad.errors.map((e) => `${e.path}: ${e.message}`).join('\n'), /resources\[0\]\.ip: fe80::1 is link-local/);
  const full = parseConfig(file('  - { name: api6, ip: 2001:db8::150, cidr_netmask: 64 }')).config!;
  assert.deepEqual(docToRaw(docFromConfig(full)).resources[0], {
    name: 'api6', type: 'vip', ip: '2001:db8::150', cidr_netmask: 64, monitor_interval: '5s', migration_threshold: 3, failure_timeout: '0s',
  });
});

test('resource update to an address of the other family takes that family\'s default prefix unless one is given', () => {
  const cfg = parseConfig(file('  - { name: api, ip: 192.168.0.150 }')).config!;
  const doc = docFromConfig(cfg);
  const to6 = applyChange(doc, { op: 'update', name: 'api', set: { ip: '2001:db8::150' } }, cfg.nodes);
  assert.ok('doc' in to6, JSON.stringify(to6));
  assert.deepEqual([to6.doc.resources[0]!.ip, to6.doc.resources[0]!.cidrNetmask], ['2001:db8::150', 128]);
  const to6at64 = applyChange(doc, { op: 'update', name: 'api', set: { ip: '2001:db8::150', cidr_netmask: 64 } }, cfg.nodes);
  assert.ok('doc' in to6at64 && to6at64.doc.resources[0]!.cidrNetmask === 64);
  const back = applyChange(to6.doc, { op: 'update', name: 'api', set: { ip: '192.168.0.151' } }, cfg.nodes);
  assert.ok('doc' in back && back.doc.resources[0]!.cidrNetmask === 32, JSON.stringify(back));
  const same = applyChange(to6at64.doc, { op: 'update', name: 'api', set: { ip: '2001:db8::151' } }, cfg.nodes);
  assert.ok('doc' in same && same.doc.resources[0]!.cidrNetmask === 64, 'same family: the prefix stays');
  const bad = applyChange(doc, { op: 'update', name: 'api', set: { ip: '2001:db8::150', cidr_netmask: 129 } }, cfg.nodes);
  assert.ok('error' in bad && /cidr_netmask/.test(bad.error), JSON.stringify(bad));
});
