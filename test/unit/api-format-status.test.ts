import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatJson, formatNodes, formatStatus } from '../../src/api/format-status.ts';
import type { DaemonStatus, NodeStatus, ResourceStatus } from '../../src/api/status-types.ts';

const node = (id: number, name: string, state: NodeStatus['state'] = 'online', over: Partial<NodeStatus> = {}): NodeStatus => ({
  id,
  name,
  role: 'member',
  state,
  lastSeenMs: state === 'offline' ? null : 400,
  ...over,
});

const vip = (over: Partial<ResourceStatus> = {}): ResourceStatus => ({
  name: 'kubernetes_api_port',
  ip: '192.168.0.150',
  cidrNetmask: 32,
  state: 'started',
  holder: 'worker1',
  assignedTo: 'worker1',
  failCount: 0,
  failCounts: {},
  leaseRemainingMs: null,
  renewalMs: null,
  ...over,
});

const base = (over: Partial<DaemonStatus> = {}): DaemonStatus => ({
  cluster: 'lbcluster',
  version: '0.1.0',
  node: { id: 1, name: 'worker0' },
  quorate: true,
  votes: 3,
  expectedVotes: 3,
  quorumVotes: 2,
  coordinator: { id: 1, name: 'worker0', term: 3 },
  term: 3,
  profile: 'lan',
  safety: { mode: 'lease', modes: ['lease'], kernelLifetime: true, covers: [], doesNotCover: [] },
  nodes: [node(1, 'worker0'), node(2, 'worker1'), node(3, 'worker2')],
  resources: [vip()],
  system: { hostname: 'worker0', uptimeSec: 1, load1: 0, load5: 0, load15: 0, memTotalBytes: 1, memAvailableBytes: 1, cpuTempC: null },
  ...over,
});

test('quorate cluster, pcs layout', () => {
  assert.equal(
    formatStatus(base()),
    [
      'Cluster name: lbcluster',
      'Cluster Summary:',
      '  * Stack: piha 0.1.0 (profile lan, safety lease)',
      '  * Current DC: worker0 (1) - partition with quorum',
      '  * 3 nodes configured, 3 votes (quorum 2 of 3 expected)',
      '  * 1 resource instance configured',
      '',
      'Node List:',
      '  * Online: [ worker0 worker1 worker2 ]',
      '',
      'Full List of Resources:',
      '  * kubernetes_api_port\t(vip 192.168.0.150/32):\t Started worker1',
      '',
    ].join('\n'),
  );
});

test('partition without quorum, offline nodes, no coordinator, stopped resource', () => {
  const out = formatStatus(
    base({
      quorate: false,
      votes: 1,
      coordinator: null,
      nodes: [node(1, 'worker0'), node(2, 'worker1', 'offline'), node(3, 'worker2', 'offline')],
      resources: [vip({ state: 'stopped', holder: null, assignedTo: null })],
    }),
  );
  assert.match(out, /^  \* Current DC: NONE - partition WITHOUT quorum$/m);
  assert.match(out, /^  \* 3 nodes configured, 1 vote \(quorum 2 of 3 expected\)$/m);
  assert.match(out, /^  \* Online: \[ worker0 \]\n  \* OFFLINE: \[ worker1 worker2 \]\n\n/m);
  assert.match(out, /^  \* kubernetes_api_port\t\(vip 192\.168\.0\.150\/32\):\t Stopped$/m);
  assert.doesNotMatch(out, /Standby|Migration Summary/);
});

test('standby nodes get their own line and leave the Online list', () => {
  const out = formatStatus(
    base({
      nodes: [node(1, 'worker0'), node(2, 'worker1', 'standby'), node(3, 'worker2')],
      resources: [vip({ state: 'starting', holder: null, assignedTo: 'worker2' }), vip({ name: 'ingress', ip: '10.0.0.5', cidrNetmask: 24, holder: 'worker0' })],
    }),
  );
  assert.match(out, /^  \* Online: \[ worker0 worker2 \]\n  \* Standby: \[ worker1 \]\n\n/m);
  assert.doesNotMatch(out, /OFFLINE/);
  assert.match(out, /^  \* 2 resource instances configured$/m);
  assert.match(out, /^  \* kubernetes_api_port\t\(vip 192\.168\.0\.150\/32\):\t Starting worker2$/m);
  assert.match(out, /^  \* ingress\t\(vip 10\.0\.0\.5\/24\):\t Started worker0$/m);
});

test('fail counts show Migration Summary and Failed Resource Actions', () => {
  const out = formatStatus(
    base({
      resources: [
        vip({ failCount: 1, failCounts: { worker0: 1, '2': 3, worker2: 0 } }),
        vip({ name: 'ingress', failCount: 0, failCounts: { worker2: 1 } }),
      ],
    }),
  );
  const tail = out.slice(out.indexOf('\nMigration Summary:'));
  assert.equal(
    tail,
    [
      '',
      'Migration Summary:',
      '  * Node: worker0:',
      '    * kubernetes_api_port: fail-count=1',
      '  * Node: worker1:',
      '    * kubernetes_api_port: fail-count=3',
      '  * Node: worker2:',
      '    * ingress: fail-count=1',
      '',
      'Failed Resource Actions:',
      '  * kubernetes_api_port_monitor on worker0: 1 failure',
      '  * kubernetes_api_port_monitor on worker1: 3 failures',
      '  * ingress_monitor on worker2: 1 failure',
      '',
    ].join('\n'),
  );
});

test('a two_node tie-breaker without a saved configuration says what its configuration changes wait for', () => {
  const config = { epoch: 0, term: 0, acceptedEpoch: 0, digest: 'd', source: 'file' as const, coordinatorReady: false, fileDiffers: false };
  const waiting = formatStatus(base({ config: { ...config, waitingFor: ['worker1'] } }));
  assert.match(waiting, /Configuration: epoch 0 \(from the file, not replicated yet\)\n  \* NOTE: no saved cluster configuration here; configuration changes wait until worker1 has been heard \(two_node tie-breaker\)/);
  assert.doesNotMatch(formatStatus(base({ config })), /wait until/);
});

test('a node that cannot save its state says so, with the error and for how long, in the summary', () => {
  const s = formatStatus(base({ stateSave: { dir: '/var/lib/piha', error: "EROFS: read-only file system, open '/var/lib/piha/state.a'", silentForSec: 12.5, droppedSends: 40 } }));
  assert.match(
    s,
    /\n  \* ERROR: cannot save the node state in \/var\/lib\/piha for 12\.5 s \(EROFS: read-only file system, open '\/var\/lib\/piha\/state\.a'\): this node sends nothing until it can \(read-only or full SD card\?\)\n/,
  );
  assert.doesNotMatch(formatStatus(base()), /cannot save/);
});

test('no resources and no fail counts', () => {
  const out = formatStatus(base({ resources: [] }));
  assert.match(out, /^  \* 0 resource instances configured$/m);
  assert.match(out, /^  \* No resources$/m);
  assert.doesNotMatch(out, /Failed Resource Actions/);
});

test('formatNodes lists states and a per-node table', () => {
  const out = formatNodes(
    base({
      nodes: [
        node(1, 'worker0', 'online', { lastSeenMs: 0 }),
        node(2, 'worker1', 'standby', { lastSeenMs: 1500 }),
        node(3, 'witness', 'offline', { role: 'witness', lastSeenMs: 125_000 }),
        node(4, 'worker3', 'offline'),
      ],
    }),
  );
  assert.equal(
    out,
    [
      'piha Nodes:',
      ' Online: worker0',
      ' Standby: worker1',
      ' Offline: witness worker3',
      '',
      'Node          Id  Role     State    Last seen',
      'worker0 (DC)  1   member   online   this node',
      'worker1       2   member   standby  1.5 s ago',
      'witness       3   witness  offline  2 min 5 s ago',
      'worker3       4   member   offline  never',
      '',
    ].join('\n'),
  );
});

test('formatJson is pretty JSON that round-trips', () => {
  const s = base();
  const out = formatJson(s);
  assert.ok(out.endsWith('}\n'));
  assert.match(out, /^\{\n {2}"cluster": "lbcluster",/);
  assert.deepEqual(JSON.parse(out), s);
});
