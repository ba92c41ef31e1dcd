// `piha events [--follow] [--json]` (src/api/events-cli.ts) against a fake control socket
// peer, the control protocol's `events` op, and the command through main() with a real
// control server.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { eventsCommand, formatEventLine } from '../../src/api/events-cli.ts';
import { ControlError, parseControlRequest, startControlServer } from '../../src/api/control.ts';
import type { ControlRequest, ControlResponse } from '../../src/api/status-types.ts';
import { EventLog } from '../../src/daemon/events.ts';

const wall = () => new Date('2025-03-04T05:06:07.000Z');

test('formatEventLine: time, level, term (and epoch), category, message', () => {
  const log = new EventLog({ wallNow: wall, context: () => ({ term: 4 }) });
  const e = log.record({ level: 'warn', event: 'vip_released', fields: { node: 'w0', resource: 'api', ip: '10.0.0.1', reason: 'standby' } })!;
  assert.equal(formatEventLine(e), '2025-03-04T05:06:07.000Z  WARN   term 4    vip          api (10.0.0.1) released by w0: standby\n');
  const withEpoch = new EventLog({ wallNow: wall, context: () => ({ term: 4, epoch: 7 }) }).record({ level: 'info', event: 'quorum_gained', fields: { votes: 2, quorum: 2 } })!;
  assert.match(formatEventLine(withEpoch), /  info   term 4 epoch 7  quorum       quorum gained: 2 votes \(quorum 2\)\n$/);
});

function fakeDaemon(log: () => EventLog) {
  const reqs: ControlRequest[] = [];
  const call = async (req: ControlRequest): Promise<ControlResponse> => {
    reqs.push(req);
    assert.equal(req.op, 'events');
    return { ok: true, data: log().page(req.op === 'events' ? req.since ?? 0 : 0) };
  };
  return { reqs, call };
}

test('piha events: the history, as text or JSON lines', async () => {
  const log = new EventLog({ wallNow: wall });
  log.record({ level: 'info', event: 'node_up', fields: { node: 'a' } });
  log.record({ level: 'warn', event: 'quorum_lost', fields: { votes: 1, quorum: 2 } });
  const d = fakeDaemon(() => log);
  let out = '';
  assert.equal(await eventsCommand([], new Map(), { call: d.call, write: (s) => (out += s) }), 0);
  assert.deepEqual(out.trim().split('\n').map((l) => l.split(/\s{2,}/).at(-1)), ['a is up', 'quorum lost: 1 votes, 2 needed']);
  out = '';
  await eventsCommand([], new Map([['json', true]]), { call: d.call, write: (s) => (out += s) });
  const parsed = out.trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(parsed.map((e) => e.type), ['node_up', 'quorum_lost']);
  out = '';
  await eventsCommand([], new Map(), { call: fakeDaemon(() => new EventLog()).call, write: (s) => (out += s) });
  assert.equal(out, 'no events recorded yet\n');
});

test('piha events --follow: new events as they come; a daemon restart starts the history again', async () => {
  let log = new EventLog({ wallNow: wall });
  log.record({ level: 'info', event: 'node_up', fields: { node: 'a' } });
  const d = fakeDaemon(() => log);
  let out = '';
  let polls = 0;
  const script = [
    () => log.record({ level: 'info', event: 'node_up', fields: { node: 'b' } }),
    () => undefined,
    () => {
      log = new EventLog({ wallNow: wall }); // the daemon restarted
      log.record({ level: 'info', event: 'node_started', fields: { node: 'w0', incarnation: 2 } });
    },
    () => log.record({ level: 'info', event: 'node_up', fields: { node: 'c' } }),
  ];
  const code = await eventsCommand([], new Map([['follow', true]]), {
    call: d.call,
    write: (s) => (out += s),
    sleep: async () => void script[polls++]?.(),
    stop: () => polls >= script.length,
  });
  assert.equal(code, 0);
  const msgs = out.trim().split('\n').map((l) => l.split(/\s{2,}/).at(-1));
  assert.deepEqual(msgs, ['a is up', 'b is up', '-- the daemon restarted: history begins again --', 'w0 started (incarnation 2)', 'c is up']);
  // each poll asks only for what it has not seen
  assert.deepEqual(d.reqs.slice(0, 3).map((r) => (r.op === 'events' ? r.since : -1)), [0, 1, 2]);
});

test('control protocol: the events op and its since', () => {
  assert.deepEqual(parseControlRequest('{"op":"events"}'), { op: 'events' });
  assert.deepEqual(parseControlRequest('{"op":"events","since":12,"junk":1}'), { op: 'events', since: 12 });
  for (const bad of ['-1', '1.5', '"3"', '1e300']) assert.throws(() => parseControlRequest(`{"op":"events","since":${bad}}`), ControlError);
});

test('piha events through main() and a real control socket', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'piha-events-cli-'));
  const sock = join(dir, 'piha.sock');
  const log = new EventLog();
  log.record({ level: 'info', event: 'coordinator_elected', fields: { node: 'w1', term: 3 } });
  const srv = await startControlServer({
    path: sock,
    handle: async (req) => (req.op === 'events' ? { ok: true, data: log.page(req.since ?? 0) } : { ok: false, message: 'no' }),
  });
  const { main } = await import('../../src/main.ts');
  const write = process.stdout.write.bind(process.stdout);
  let out = '';
  process.stdout.write = ((s: string) => ((out += s), true)) as typeof process.stdout.write;
  try {
    assert.equal(await main(['events', '--socket', sock]), 0);
    assert.equal(await main(['events', '--json', '--socket', sock]), 0);
  } finally {
    process.stdout.write = write;
    await srv.close();
    rmSync(dir, { recursive: true, force: true });
  }
  const [text, json] = out.trim().split('\n');
  assert.match(text, /coordinator +w1 elected coordinator \(term 3\)$/);
  assert.equal(JSON.parse(json).type, 'coordinator_elected');
  await assert.rejects(main(['events', 'extra']), /usage: piha events/);
});
