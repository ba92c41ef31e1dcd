import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { ControlError, controlCall, parseControlRequest, startControlServer } from '../../src/api/control.ts';
import type { ControlRequest, ControlResponse } from '../../src/api/status-types.ts';

const root = mkdtempSync(join(tmpdir(), 'piha-ctl-'));
chmodSync(root, 0o755); // the non-root client test must be able to reach the socket
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
/** A fresh socket path; its directory exists only when asked for. */
function sockPath(withDir = false): string {
  const dir = join(root, `d${++n}`);
  if (withDir) mkdirSync(dir);
  return join(dir, 'piha.sock');
}

const echo = async (req: ControlRequest): Promise<ControlResponse> => ({ ok: true, data: req });

/** Leaves a socket file nobody listens on, as a SIGKILLed daemon would. */
async function staleSocket(path: string): Promise<void> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(path + '.tmp', r));
  renameSync(path + '.tmp', path); // close() removes the bound name, not the renamed file
  await new Promise<void>((r) => s.close(() => r()));
}

async function rejectsWith(p: Promise<unknown>, code: string, msg: RegExp): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof ControlError, String(err));
    assert.equal(err.code, code);
    assert.match(err.message, msg);
    return true;
  });
}

test('round trip of every request kind', async () => {
  const path = sockPath();
  const srv = await startControlServer({ path, handle: echo });
  try {
    const reqs: ControlRequest[] = [
      { op: 'ping' },
      { op: 'version' },
      { op: 'status' },
      { op: 'command', cmd: { op: 'standby', node: 'worker1', on: true } },
      { op: 'command', cmd: { op: 'move', resource: 'vip', node: 'worker2' } },
      { op: 'command', cmd: { op: 'clear', resource: 'vip' } },
      { op: 'command', cmd: { op: 'cleanup', resource: 'vip' } },
    ];
    for (const req of reqs) assert.deepEqual(await controlCall(path, req), { ok: true, data: req });
    // Concurrent calls each get their own answer.
    const many = await Promise.all(Array.from({ length: 10 }, () => controlCall(path, { op: 'status' })));
    assert.equal(many.filter((r) => r.ok).length, 10);
  } finally {
    await srv.close();
  }
});

test('socket is 0600, a missing parent dir is created 0755, close removes the socket', async () => {
  const path = sockPath();
  const srv = await startControlServer({ path, handle: echo });
  const st = statSync(path);
  assert.ok(st.isSocket());
  assert.equal(st.mode & 0o777, 0o600);
  assert.equal(statSync(join(path, '..')).mode & 0o777, 0o755);
  await srv.close();
  assert.throws(() => statSync(path), { code: 'ENOENT' });
});

test('a stale socket is replaced, a live one is refused', async () => {
  const path = sockPath(true);
  await staleSocket(path);
  await rejectsWith(controlCall(path, { op: 'ping' }), 'ECONNREFUSED', /piha daemon is not running \(stale socket at .*\); start it with: systemctl start piha/);
  const srv = await startControlServer({ path, handle: echo });
  try {
    assert.equal((await controlCall(path, { op: 'ping' })).ok, true);
    await rejectsWith(startControlServer({ path, handle: echo }), 'EADDRINUSE', new RegExp(`^another piha daemon is running on ${path}$`));
    // The refused start must not have broken the live daemon.
    assert.equal((await controlCall(path, { op: 'ping' })).ok, true);
  } finally {
    await srv.close();
  }
});

test('a regular file at the socket path is not deleted', async () => {
  const path = sockPath(true);
  writeFileSync(path, 'precious');
  await rejectsWith(startControlServer({ path, handle: echo }), 'EEXIST', /is not a socket/);
  assert.ok(statSync(path).isFile());
});

test('client errors are operator messages', async () => {
  const missing = join(root, 'nowhere', 'piha.sock');
  await rejectsWith(
    controlCall(missing, { op: 'status' }),
    'ENOENT',
    new RegExp(`^piha daemon is not running \\(no socket at ${missing}\\); start it with: systemctl start piha$`),
  );
  const path = sockPath();
  const srv = await startControlServer({ path, handle: () => new Promise(() => {}) });
  try {
    await rejectsWith(controlCall(path, { op: 'status' }, 200), 'ETIMEDOUT', /did not answer within 200 ms/);
  } finally {
    await srv.close();
  }
});

test('permission denied names the fix', { skip: process.getuid?.() !== 0 && 'needs root to run a client as nobody' }, async () => {
  const path = sockPath();
  const srv = await startControlServer({ path, handle: echo });
  try {
    chmodSync(join(path, '..'), 0o755);
    const code = `import { controlCall } from ${JSON.stringify(new URL('../../src/api/control.ts', import.meta.url).href)};
      controlCall(${JSON.stringify(path)}, { op: 'ping' }).then(() => console.log('OK'), (e) => console.log(e.code + ' ' + e.message));`;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
      uid: 65534,
      gid: 65534,
      encoding: 'utf8',
      cwd: process.cwd(),
      timeout: 20_000,
    });
    assert.equal(r.stdout.trim(), `EACCES permission denied on ${path}: run as root (sudo piha ...)`, r.stderr);
  } finally {
    await srv.close();
  }
});

test('bad requests get ok:false, handler errors become messages', async () => {
  const path = sockPath();
  const srv = await startControlServer({
    path,
    handle: async (req) => {
      if (req.op === 'version') throw new Error('handler exploded');
      return { ok: true };
    },
  });
  const raw = (payload: string | Buffer): Promise<string> =>
    new Promise((resolve, reject) => {
      const s = net.createConnection({ path, allowHalfOpen: true });
      let out = '';
      s.on('data', (d) => (out += d.toString()));
      s.on('end', () => resolve(out));
      s.on('error', reject);
      s.end(payload);
    });
  try {
    assert.deepEqual(await controlCall(path, { op: 'version' }), { ok: false, message: 'handler exploded' });
    assert.deepEqual(JSON.parse(await raw('not json\n')), { ok: false, message: 'request is not valid JSON' });
    assert.deepEqual(JSON.parse(await raw('{"op":"reboot"}\n')), { ok: false, message: 'unknown op "reboot"' });
    assert.deepEqual(JSON.parse(await raw('{"op":"command","cmd":{"op":"standby","node":"w1"}}')), {
      ok: false,
      message: 'invalid standby flag',
    });
    const big = await raw(Buffer.alloc(200 * 1024, 0x20));
    assert.deepEqual(JSON.parse(big), { ok: false, message: 'request larger than 65536 bytes' });
    // Nothing sent at all: the daemon answers and closes rather than waiting.
    assert.deepEqual(JSON.parse(await raw('')), { ok: false, message: 'empty request' });
  } finally {
    await srv.close();
  }
});

test('a client that never finishes its request is dropped', async () => {
  const path = sockPath();
  const srv = await startControlServer({ path, handle: echo, timeoutMs: 200 });
  try {
    const s = net.createConnection({ path });
    s.on('error', () => {});
    s.write('{"op":');
    const t0 = Date.now();
    await new Promise((r) => s.on('close', r));
    assert.ok(Date.now() - t0 < 2000);
  } finally {
    await srv.close();
  }
});

test('parseControlRequest keeps only known fields', () => {
  assert.deepEqual(parseControlRequest('{"op":"command","cmd":{"op":"move","resource":"r","node":"n","x":1},"y":2}'), {
    op: 'command',
    cmd: { op: 'move', resource: 'r', node: 'n' },
  });
  assert.throws(() => parseControlRequest('[]'), ControlError);
  assert.throws(() => parseControlRequest('{"op":"command","cmd":{"op":"clear","resource":""}}'), /invalid resource/);
});
