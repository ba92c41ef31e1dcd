// A node started with a different configuration is reported by its peers (issue 9).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Core } from '../../src/core/node.ts';
import type { Effect, Message } from '../../src/core/types.ts';
import { simConfig } from '../sim/cluster-config.ts';
import { configDigest } from '../../src/config/digest.ts';

const hbTo = (effects: Effect[], to: number): Message | undefined =>
  effects.find((e): e is Extract<Effect, { kind: 'send' }> => e.kind === 'send' && e.to === to && e.msg.t === 'hb')?.msg;

test('configDigest ignores node-local settings and sees cluster-wide changes', () => {
  const a = simConfig({ nodes: 3, witness: false, resources: 1, profile: 'lan' });
  const b = structuredClone(a);
  b.cluster.stateDir = '/elsewhere';
  b.cluster.socket = '/elsewhere.sock';
  b.cluster.statusBind = '127.0.0.1:1';
  assert.equal(configDigest(a), configDigest(b));
  b.defaults.resourceStickiness += 1;
  assert.notEqual(configDigest(a), configDigest(b));
});

test('peers report a node whose configuration digest differs; equal digests report nothing', () => {
  const config = simConfig({ nodes: 3, witness: false, resources: 1, profile: 'lan' });
  const n1 = new Core({ config, self: 1, incarnation: 1, seed: 1, now: 0, configDigest: 'aaaa' });
  const n2 = new Core({ config, self: 2, incarnation: 1, seed: 2, now: 0, configDigest: 'aaaa' });
  const n3 = new Core({ config, self: 3, incarnation: 1, seed: 3, now: 0, configDigest: 'bbbb' });
  const from2 = hbTo(n2.step({ kind: 'tick' }, 100), 1)!;
  const from3 = hbTo(n3.step({ kind: 'tick' }, 100), 1)!;
  assert.equal((from3 as { cfg?: string }).cfg, 'bbbb');
  n1.step({ kind: 'message', msg: from2 }, 101);
  const out = n1.step({ kind: 'message', msg: from3 }, 102);
  assert.ok(out.some((e) => e.kind === 'log' && e.event === 'config_differs'), 'logged once');
  assert.deepEqual(n1.status(103).configMismatch, ['n3']);
  // An offline node is not reported.
  assert.deepEqual(n1.status(103 + 5000).configMismatch, []);
});
