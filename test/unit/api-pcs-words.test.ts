import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createResource, defaultsSettings, propertySettings, resourceSettings, WordsError } from '../../src/api/pcs-words.ts';
import { formatResource } from '../../src/api/config-cli.ts';
import { applyChange, docFromRaw, docToRaw } from '../../src/config/cluster-doc.ts';
import { config } from './core-helpers.ts';

test('the classic tutorial\'s pcs resource create line', () => {
  const r = createResource('kubernetes_api_port', 'ocf:heartbeat:IPaddr2 ip=192.168.0.150 cidr_netmask=32 op monitor interval=5s meta migration-threshold=2 failure-timeout=60s'.split(' '));
  assert.deepEqual(r, {
    name: 'kubernetes_api_port',
    type: 'vip',
    ip: '192.168.0.150',
    cidr_netmask: 32,
    monitor_interval: '5s',
    migration_threshold: 2,
    failure_timeout: '60s',
  });
  // It validates as the file would.
  const doc = docFromRaw({ resources: [r] }, []);
  assert.equal(doc.errors.length, 0);
  assert.equal(doc.doc!.resources[0].monitorIntervalMs, 5000);
});

test('--flags are the same as key=value words; file spellings work too', () => {
  assert.deepEqual(resourceSettings(['ip=192.0.2.9', 'resource_stickiness=60', 'target-role=Stopped']), { ip: '192.0.2.9', resource_stickiness: 60, target_role: 'stopped' });
  assert.deepEqual(createResource('x', ['vip', '--ip=192.0.2.9'.slice(2)]).ip, '192.0.2.9');
});

test('bad words get clear errors', () => {
  assert.throws(() => createResource('x', ['apache', 'ip=1.2.3.4']), /virtual IPs only/);
  assert.throws(() => createResource('x', ['cidr_netmask=24']), /needs ip=/);
  assert.throws(() => resourceSettings(['ipp=192.0.2.1']), /unknown resource setting "ipp" \(did you mean ip\?\)/);
  assert.throws(() => resourceSettings(['op', 'start', 'interval=5s']), /one operation, monitor/);
  assert.throws(() => resourceSettings(['ip']), WordsError);
  assert.throws(() => defaultsSettings(['migration-threshold=3']), /per resource/);
  assert.throws(() => propertySettings(['stonith-enabled=maybe']), /true or false/);
  assert.deepEqual(propertySettings(['stonith-enabled=FALSE']), { 'stonith-enabled': false });
});

test('coordinator-side change errors speak in the command\'s words; no-quorum-policy=ignore is refused with the reason', () => {
  const cfg = config();
  const doc = docFromRaw(docToRaw({ resources: cfg.resources, defaults: cfg.defaults, properties: { stonithEnabled: false } }), cfg.nodes).doc!;
  const bad = applyChange(doc, { op: 'create', resource: { name: 'web', ip: '192.0.2.160', cidr_netmask: 40 } }, cfg.nodes);
  assert.ok('error' in bad && /resource web cidr_netmask/.test(bad.error), JSON.stringify(bad));
  const nq = applyChange(doc, { op: 'property', set: { 'no-quorum-policy': 'ignore' } }, cfg.nodes);
  assert.ok('error' in nq && /two holders/.test(nq.error));
  const rename = applyChange(doc, { op: 'update', name: 'vip0', set: { name: 'other' } }, cfg.nodes);
  assert.ok('error' in rename && /renamed/.test(rename.error));
  const ok = applyChange(doc, { op: 'update', name: 'vip0', set: { resource_stickiness: 60 } }, cfg.nodes);
  assert.ok('doc' in ok && ok.doc.resources[0].stickiness === 60);
  assert.match(formatResource(docToRaw(ok.doc).resources[0] as Record<string, unknown>), /Meta Attrs: migration-threshold=3 failure-timeout=0s resource-stickiness=60/);
});
