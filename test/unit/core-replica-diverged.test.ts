// Rule 6 of the replicated configuration (core/replica.ts), on one ConfigReplica as the
// coordinator: a node that applied the coordinator's version with another digest makes it
// propose its document again as a newer version, and a node that keeps differing (it decodes
// the same document differently) cannot make it propose for ever.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigReplica, type ReplicaCtx } from '../../src/core/replica.ts';
import { docFromConfig } from '../../src/config/cluster-doc.ts';
import type { Heartbeat, Message } from '../../src/core/types.ts';
import { config } from './core-helpers.ts';

function coordinator() {
  const cfg = config();
  const sent: { to: number; msg: Message }[] = [];
  const logs: { event: string; fields: Record<string, unknown> }[] = [];
  const votes = { votes: new Map(cfg.nodes.map((n) => [n.id, 1])), expected: cfg.nodes.length, twoNode: false };
  const r = new ConfigReplica(1, cfg.nodes, votes, {
    send: (to, msg) => sent.push({ to, msg }),
    peers: () => [2, 3],
    reply: () => {},
    persist: () => {},
    apply: () => {},
    log: (_l, event, fields) => logs.push({ event, fields }),
  }, docFromConfig(cfg));
  let now = 0;
  const ctx = (): ReplicaCtx => ({ now, iAmCoord: true, coordTerm: 4, knownTerm: 4, coordinator: 1, quorate: true, heartbeatMs: 200 });
  const hb = (from: number, extra: Partial<Heartbeat> = {}): Heartbeat => {
    const p = r.applied.ver;
    return { t: 'hb', from, inc: 1, term: 4, holds: [], fails: {}, attrs: {}, cv: [p.epoch, p.term, p.epoch, p.term], ...extra };
  };
  const ack = (from: number) => {
    const p = sent.filter((s) => s.msg.t === 'cdoc' && !s.msg.commit).at(-1)!.msg as Extract<Message, { t: 'cdoc' }>;
    r.onAck({ t: 'cack', from, epoch: p.epoch, dterm: p.dterm }, ctx());
  };
  // Ready: hear a majority, seed epoch 1, commit it.
  r.tick(ctx());
  now += 10;
  for (const from of [2, 3]) r.onHeartbeat({ ...hb(from), cv: [0, 0, 0, 0] }, ctx());
  r.tick(ctx());
  ack(2);
  assert.equal(r.applied.ver.epoch, 1);
  return { r, sent, logs, ctx, hb, ack, tick: () => { now += 200; r.tick(ctx()); } };
}

test('a ready coordinator announces its digest; a node with another digest at its version gets the document again as a newer epoch', () => {
  const c = coordinator();
  const fields = c.r.hbFields(c.ctx());
  assert.deepEqual(fields.cc, [1, 4]);
  assert.equal(fields.cd, c.r.digest());
  c.r.onHeartbeat(c.hb(2, { cd: 'ffffffffffff' }), c.ctx());
  const diverged = c.logs.filter((l) => l.event === 'config_diverged');
  assert.equal(diverged.length, 1);
  assert.equal(diverged[0]!.fields.node, 'n2');
  const proposed = c.sent.filter((s) => s.msg.t === 'cdoc' && !s.msg.commit && s.msg.epoch === 2);
  assert.deepEqual(proposed.map((s) => s.to).sort(), [2, 3], 'proposed to everyone');
  c.ack(3);
  assert.deepEqual(c.r.applied.ver, { epoch: 2, term: 4 }, 'committed with a majority');
  // The same digest, or no digest: nothing happens.
  const before = c.sent.length;
  c.r.onHeartbeat(c.hb(3, { cd: c.r.digest() }), c.ctx());
  c.r.onHeartbeat(c.hb(3), c.ctx());
  c.tick();
  assert.equal(c.sent.filter((s, i) => i >= before && s.msg.t === 'cdoc').length, 0);
});

test('a node that keeps another digest after the re-assertion does not make the coordinator propose again', () => {
  const c = coordinator();
  c.r.onHeartbeat(c.hb(2, { cd: 'ffffffffffff' }), c.ctx());
  c.ack(3);
  assert.equal(c.r.applied.ver.epoch, 2);
  for (let i = 0; i < 10; i++) {
    c.r.onHeartbeat(c.hb(2, { cd: 'ffffffffffff' }), c.ctx());
    c.tick();
  }
  assert.equal(c.r.applied.ver.epoch, 2);
  assert.equal(c.sent.filter((s) => s.msg.t === 'cdoc' && !s.msg.commit && s.msg.epoch > 2).length, 0);
  assert.equal(c.logs.filter((l) => l.event === 'config_diverged').length, 1);
});

test('a follower adds its digest only while the coordinator announced its own version with another digest', () => {
  const cfg = config();
  const votes = { votes: new Map(cfg.nodes.map((n) => [n.id, 1])), expected: cfg.nodes.length, twoNode: false };
  const io = { send: () => {}, peers: () => [1, 3], reply: () => {}, persist: () => {}, apply: () => {}, log: () => {} };
  const f = new ConfigReplica(2, cfg.nodes, votes, io, docFromConfig(cfg));
  const ctx: ReplicaCtx = { now: 0, iAmCoord: false, coordTerm: 0, knownTerm: 4, coordinator: 1, quorate: true, heartbeatMs: 200 };
  // It accepts and applies epoch 1 as the coordinator sends it.
  const doc = f.applied.json;
  f.onDoc({ t: 'cdoc', from: 1, cterm: 4, epoch: 1, dterm: 4, doc, commit: true }, ctx);
  assert.equal(f.applied.ver.epoch, 1);
  const coordHb = (cd: string): Heartbeat => ({ t: 'hb', from: 1, inc: 1, term: 4, coord: 4, holds: [], fails: {}, attrs: {}, cc: [1, 4], cd });
  f.onHeartbeat(coordHb(f.digest()), ctx);
  assert.equal(f.hbFields(ctx).cd, undefined, 'same digest: nothing added');
  f.onHeartbeat(coordHb('ffffffffffff'), ctx);
  assert.equal(f.hbFields(ctx).cd, f.digest(), 'other digest: ours is added');
  f.onHeartbeat({ ...coordHb('ffffffffffff'), cc: [2, 4] }, ctx);
  assert.equal(f.hbFields(ctx).cd, undefined, 'another version: nothing to compare');
});
