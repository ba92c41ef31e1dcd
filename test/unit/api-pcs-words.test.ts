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

test('garp-refresh / garp_refresh: kept as text, validated and shown as an attribute', () => {
  const r = createResource('x', ['ip=192.0.2.9', 'garp-refresh=15s']);
  assert.deepEqual(r, { name: 'x', type: 'vip', ip: '192.0.2.9', garp_refresh: '15s' });
  assert.deepEqual(resourceSettings(['garp_refresh=0']), { garp_refresh: '0' });
  assert.deepEqual(resourceSettings(['--garp-refresh=1m']), { garp_refresh: '1m' });
  const cfg = config();
  const doc = docFromRaw(docToRaw({ resources: cfg.resources, defaults: cfg.defaults, properties: { stonithEnabled: false } }), cfg.nodes).doc!;
  const created = applyChange(doc, { op: 'create', resource: createResource('web', ['ip=192.0.2.160', 'garp-refresh=15s']) }, cfg.nodes);
  assert.ok('doc' in created, JSON.stringify(created));
  assert.equal(created.doc.resources.find((x) => x.name === 'web')!.garpRefreshMs, 15000);
  const raw = docToRaw(created.doc).resources.find((x) => (x as Record<string, unknown>).name === 'web') as Record<string, unknown>;
  assert.match(formatResource(raw), /Attributes: ip=192\.0\.2\.160 cidr_netmask=32 garp_refresh=15s\n/);
  const updated = applyChange(created.doc, { op: 'update', name: 'web', set: resourceSettings(['garp-refresh=0']) }, cfg.nodes);
  assert.ok('doc' in updated && updated.doc.resources.find((x) => x.name === 'web')!.garpRefreshMs === 0, JSON.stringify(updated));
  const bad = applyChange(created.doc, { op: 'update', name: 'web', set: resourceSettings(['garp-refresh=500ms']) }, cfg.nodes);
  assert.ok('error' in bad && /resource web garp_refresh: must be 0 for none, or 1s or more/.test(bad.error), JSON.stringify(bad));
  assert.throws(() => resourceSettings(['garp-refersh=5s']), /did you mean garp[_-]refresh\?.*settings: .*garp_refresh/);
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

test('constraint colocation add/remove as cluster changes: scores, errors, round trip, and delete drops them', async () => {
  const { parseChange, encodeDoc, decodeDoc } = await import('../../src/config/cluster-doc.ts');
  const { parseScoreWord, colocationsOf } = await import('../../src/api/config-cli.ts');
  const cfg = config();
  let doc = docFromRaw(docToRaw({ resources: cfg.resources, defaults: cfg.defaults, properties: { stonithEnabled: false } }), cfg.nodes).doc!;
  const must = <T extends object>(r: T | { error: string }): T => {
    assert.ok(!('error' in r), JSON.stringify(r));
    return r as T;
  };
  doc = must(applyChange(doc, { op: 'create', resource: { name: 'web', ip: '192.0.2.160' } }, cfg.nodes)).doc;
  doc = must(applyChange(doc, { op: 'create', resource: { name: 'dns', ip: '192.0.2.161' } }, cfg.nodes)).doc;
  const add = must(applyChange(doc, { op: 'colocation', action: 'add', resource: 'web', with: 'vip0', score: 1_000_000 }, cfg.nodes));
  assert.equal(add.summary, 'added colocation constraint: web with vip0 (score:INFINITY)');
  doc = add.doc;
  doc = must(applyChange(doc, { op: 'colocation', action: 'add', resource: 'dns', with: 'vip0', score: -300 }, cfg.nodes)).doc;
  assert.deepEqual(doc.resources.find((r) => r.name === 'dns')!.colocation, [{ with: 'vip0', score: -300 }]);
  // As the file spells it, and back through the wire encoding unchanged.
  const raw = docToRaw(doc).resources as Record<string, unknown>[];
  assert.equal(raw.find((r) => r.name === 'web')!.with, 'vip0');
  assert.deepEqual(raw.find((r) => r.name === 'dns')!.not_with, { vip0: 300 });
  assert.deepEqual(colocationsOf(raw.find((r) => r.name === 'dns')!), [{ with: 'vip0', score: -300 }]);
  assert.deepEqual(decodeDoc(encodeDoc(doc), cfg.nodes), doc);
  assert.match(formatResource(raw.find((r) => r.name === 'dns')!), /Colocation: not with vip0 \(score:-300\)/);
  // A cycle, an unknown resource and removing what is not there are refused with the reason.
  const cyc = applyChange(doc, { op: 'colocation', action: 'add', resource: 'vip0', with: 'web', score: 1_000_000 }, cfg.nodes);
  assert.ok('error' in cyc && /colocation cycle/.test(cyc.error), JSON.stringify(cyc));
  const unknown = applyChange(doc, { op: 'colocation', action: 'add', resource: 'web', with: 'nope', score: 5 }, cfg.nodes);
  assert.ok('error' in unknown && /resource web with: no resource named "nope"/.test(unknown.error), JSON.stringify(unknown));
  const wrongWay = applyChange(doc, { op: 'colocation', action: 'remove', resource: 'vip0', with: 'web' }, cfg.nodes);
  assert.ok('error' in wrongWay && /piha constraint colocation remove web vip0/.test(wrongWay.error), JSON.stringify(wrongWay));
  // Deleting vip0 drops the constraints that name it, and says so.
  const del = must(applyChange(doc, { op: 'delete', name: 'vip0' }, cfg.nodes));
  assert.match(del.summary, /deleted resource vip0 and its colocation constraints \(web with vip0; dns not_with vip0\)/);
  assert.ok(del.doc.resources.every((r) => !r.colocation));
  const rm = must(applyChange(doc, { op: 'colocation', action: 'remove', resource: 'web', with: 'vip0' }, cfg.nodes));
  assert.equal(rm.doc.resources.find((r) => r.name === 'web')!.colocation, undefined);
  // Words and wire checks.
  assert.equal(parseScoreWord('-INFINITY'), -1_000_000);
  assert.equal(parseScoreWord('+inf'), 1_000_000);
  assert.equal(parseScoreWord('-250'), -250);
  assert.throws(() => parseScoreWord('0'), WordsError);
  assert.throws(() => parseScoreWord('lots'), /bad score "lots"/);
  assert.equal(typeof parseChange(JSON.stringify({ op: 'colocation', action: 'add', resource: 'a', with: 'b', score: 0 })), 'string');
  assert.equal(typeof parseChange(JSON.stringify({ op: 'colocation', action: 'flip', resource: 'a', with: 'b' })), 'string');
});
