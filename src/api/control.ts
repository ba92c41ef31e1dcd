// Local control socket between the `piha` CLI and the daemon: one newline-terminated JSON
// request per connection, one JSON line back, then the daemon closes. A unix socket with
// mode 0600 makes "may change the cluster" the same as "is root" without any auth code.

import { chmod, lstat, mkdir, unlink } from 'node:fs/promises';
import net from 'node:net';
import { dirname } from 'node:path';
import type { Command } from '../core/types.ts';
import type { ControlRequest, ControlResponse } from './status-types.ts';

export const MAX_REQUEST_BYTES = 64 * 1024;
/** Replies carry a full status; generous, but a runaway peer must not eat the CLI's memory. */
const MAX_REPLY_BYTES = 16 * 1024 * 1024;
const START_HINT = 'start it with: systemctl start piha';

/** An error whose message is meant for the operator as is. `code` is errno-like. */
export class ControlError extends Error {
  readonly code: string;
  constructor(message: string, code: string) {
    super(message);
    this.name = 'ControlError';
    this.code = code;
  }
}

export interface ControlServerOptions {
  path: string;
  handle: (req: ControlRequest) => Promise<ControlResponse>;
  /** Whole-connection deadline: reading the request and answering it. */
  timeoutMs?: number;
  /** Longer deadline for requests that wait on hardware (`stonith fence`); default timeoutMs. */
  slowTimeoutMs?: number;
  maxRequestBytes?: number;
}

export interface ControlServer {
  path: string;
  close(): Promise<void>;
}

// ---- request validation: the core trusts Commands, so only well-formed ones get through.

function str(v: unknown, what: string): string {
  if (typeof v !== 'string' || v.length === 0 || v.length > 256) throw new ControlError(`invalid ${what}`, 'EINVAL');
  return v;
}

function parseCommand(c: unknown): Command {
  if (typeof c !== 'object' || c === null) throw new ControlError('invalid command', 'EINVAL');
  const o = c as Record<string, unknown>;
  switch (o.op) {
    case 'standby':
      if (typeof o.on !== 'boolean') throw new ControlError('invalid standby flag', 'EINVAL');
      return { op: 'standby', node: str(o.node, 'node'), on: o.on };
    case 'move':
      return { op: 'move', resource: str(o.resource, 'resource'), node: str(o.node, 'node') };
    case 'clear':
    case 'cleanup':
      return { op: o.op, resource: str(o.resource, 'resource') };
    case 'fence':
    case 'fence-confirm':
      return { op: o.op, node: str(o.node, 'node') };
    case 'config':
      if (typeof o.change !== 'string' || o.change.length === 0 || o.change.length > 7000) throw new ControlError('invalid configuration change', 'EINVAL');
      return { op: 'config', change: o.change };
    default:
      throw new ControlError(`unknown command ${JSON.stringify(o.op)}`, 'EINVAL');
  }
}

/** Parses and validates one request line; returns a fresh object holding only known fields. */
export function parseControlRequest(line: string): ControlRequest {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    throw new ControlError('request is not valid JSON', 'EINVAL');
  }
  if (typeof v !== 'object' || v === null) throw new ControlError('request must be a JSON object', 'EINVAL');
  const op = (v as Record<string, unknown>).op;
  if (op === 'ping' || op === 'version' || op === 'status' || op === 'reload' || op === 'config-show') return { op };
  if (op === 'command') return { op, cmd: parseCommand((v as Record<string, unknown>).cmd) };
  if (op === 'events') {
    const since = (v as Record<string, unknown>).since;
    if (since !== undefined && !(Number.isSafeInteger(since) && (since as number) >= 0)) throw new ControlError('invalid since', 'EINVAL');
    return since === undefined ? { op } : { op, since: since as number };
  }
  throw new ControlError(`unknown op ${JSON.stringify(op)}`, 'EINVAL');
}

// ---- server

function serve(sock: net.Socket, opts: Required<Omit<ControlServerOptions, 'path'>>): void {
  const chunks: Buffer[] = [];
  let size = 0;
  let state: 'reading' | 'handling' | 'done' = 'reading';

  const reply = (r: ControlResponse): void => {
    if (state === 'done') return;
    state = 'done';
    clearTimeout(deadline);
    if (sock.destroyed) return;
    sock.end(JSON.stringify(r) + '\n');
    // Keep draining (closing with unread input would reset the reply) but not for long.
    sock.setTimeout(2000, () => sock.destroy());
  };
  // Idle timeouts alone would let a client drip one byte a second forever.
  let deadline = setTimeout(() => {
    if (state === 'handling') reply({ ok: false, message: 'piha daemon timed out handling the request' });
    else sock.destroy();
    state = 'done';
  }, opts.timeoutMs);

  const dispatch = (line: string): void => {
    state = 'handling';
    let req: ControlRequest;
    try {
      req = parseControlRequest(line);
    } catch (err) {
      reply({ ok: false, message: (err as Error).message });
      return;
    }
    if (req.op === 'command' && req.cmd.op === 'fence' && opts.slowTimeoutMs > opts.timeoutMs) {
      // A fence waits for a device (off, read back): the request is complete, so only the
      // answer may take longer; the reading phase above kept the short deadline.
      clearTimeout(deadline);
      deadline = setTimeout(() => reply({ ok: false, message: 'piha daemon timed out handling the request' }), opts.slowTimeoutMs);
    }
    opts.handle(req).then(reply, (err: unknown) => reply({ ok: false, message: err instanceof Error ? err.message : String(err) }));
  };

  sock.on('data', (chunk: Buffer) => {
    if (state !== 'reading') return;
    const nl = chunk.indexOf(0x0a);
    const take = nl >= 0 ? chunk.subarray(0, nl) : chunk;
    size += take.length;
    if (size > opts.maxRequestBytes) {
      reply({ ok: false, message: `request larger than ${opts.maxRequestBytes} bytes` });
      return;
    }
    chunks.push(take);
    if (nl >= 0) dispatch(Buffer.concat(chunks).toString('utf8'));
  });
  // A client may half-close instead of sending the newline; a probe sends nothing at all.
  sock.on('end', () => {
    if (state !== 'reading') return;
    if (size > 0) dispatch(Buffer.concat(chunks).toString('utf8'));
    else reply({ ok: false, message: 'empty request' });
  });
  sock.on('error', () => {}); // the client went away; nothing to tell it
  sock.on('close', () => clearTimeout(deadline));
}

/** 'live' if a daemon answers on the path, 'stale' if a dead socket file is left, 'absent'. */
async function probe(path: string): Promise<'live' | 'stale' | 'absent'> {
  try {
    const st = await lstat(path);
    if (!st.isSocket()) throw new ControlError(`${path} exists and is not a socket; refusing to replace it`, 'EEXIST');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'absent';
    throw err;
  }
  return new Promise((resolve, reject) => {
    const s = net.createConnection({ path });
    s.setTimeout(1000, () => {
      s.destroy();
      resolve('live'); // accepting but slow is still somebody's socket
    });
    s.on('connect', () => {
      s.destroy();
      resolve('live');
    });
    s.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ECONNREFUSED') resolve('stale');
      else if (err.code === 'ENOENT') resolve('absent');
      else if (err.code === 'EAGAIN') resolve('live'); // backlog full: very much alive
      else reject(clientError(err, path));
    });
  });
}

export async function startControlServer(opts: ControlServerOptions): Promise<ControlServer> {
  const { path } = opts;
  const dir = dirname(path);
  const created = await mkdir(dir, { recursive: true, mode: 0o755 });
  if (created !== undefined) await chmod(dir, 0o755); // mkdir's mode is filtered by umask

  const state = await probe(path);
  if (state === 'live') throw new ControlError(`another piha daemon is running on ${path}`, 'EADDRINUSE');
  if (state === 'stale') await unlink(path);

  const sockets = new Set<net.Socket>();
  const handlerOpts = {
    handle: opts.handle,
    timeoutMs: opts.timeoutMs ?? 10_000,
    slowTimeoutMs: opts.slowTimeoutMs ?? opts.timeoutMs ?? 10_000,
    maxRequestBytes: opts.maxRequestBytes ?? MAX_REQUEST_BYTES,
  };
  // allowHalfOpen: a client that half-closes after its request must still get the answer.
  const server = net.createServer({ allowHalfOpen: true }, (sock) => {
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
    serve(sock, handlerOpts);
  });
  server.maxConnections = 16;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    // bind() happens synchronously inside listen(): a tight umask around it means the
    // socket is never, even briefly, connectable by other users before the chmod below.
    let old: number | undefined;
    try {
      old = process.umask(0o177);
    } catch {
      // worker threads cannot change the umask; the chmod below still applies
    }
    try {
      server.listen(path, () => {
        server.off('error', reject);
        resolve();
      });
    } finally {
      if (old !== undefined) process.umask(old);
    }
  });
  await chmod(path, 0o600);
  const ino = (await lstat(path)).ino;

  return {
    path,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      // Remove the file only if it is still ours (not a successor daemon's socket).
      try {
        if ((await lstat(path)).ino === ino) await unlink(path);
      } catch {
        // already gone
      }
    },
  };
}

// ---- client

function clientError(err: NodeJS.ErrnoException, path: string): ControlError {
  switch (err.code) {
    case 'ENOENT':
      return new ControlError(`piha daemon is not running (no socket at ${path}); ${START_HINT}`, 'ENOENT');
    case 'ECONNREFUSED':
      return new ControlError(`piha daemon is not running (stale socket at ${path}); ${START_HINT}`, 'ECONNREFUSED');
    case 'EACCES':
    case 'EPERM':
      return new ControlError(`permission denied on ${path}: run as root (sudo piha ...)`, 'EACCES');
    default:
      return new ControlError(`cannot reach piha daemon on ${path}: ${err.message}`, err.code ?? 'EIO');
  }
}

export function controlCall(path: string, req: ControlRequest, timeoutMs = 3000): Promise<ControlResponse> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const finish = (err: ControlError | null, res?: ControlResponse): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock.destroy();
      if (err) reject(err);
      else resolve(res as ControlResponse);
    };
    const timer = setTimeout(
      () => finish(new ControlError(`piha daemon did not answer within ${timeoutMs} ms on ${path}`, 'ETIMEDOUT')),
      timeoutMs,
    );

    const sock = net.createConnection({ path, allowHalfOpen: true });
    sock.on('connect', () => sock.end(JSON.stringify(req) + '\n'));
    sock.on('error', (err: NodeJS.ErrnoException) => finish(clientError(err, path)));
    const parse = (): void => {
      const text = Buffer.concat(chunks).toString('utf8');
      const nl = text.indexOf('\n');
      try {
        const v = JSON.parse(nl >= 0 ? text.slice(0, nl) : text) as ControlResponse;
        if (typeof v !== 'object' || v === null || typeof v.ok !== 'boolean') throw new Error('no ok field');
        finish(null, v);
      } catch {
        finish(new ControlError(`invalid reply from piha daemon on ${path}`, 'EPROTO'));
      }
    };
    sock.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      size += chunk.length;
      if (size > MAX_REPLY_BYTES) finish(new ControlError(`reply from piha daemon on ${path} is too large`, 'EPROTO'));
      else if (chunk.includes(0x0a)) parse();
    });
    sock.on('end', () => {
      if (size === 0) finish(new ControlError(`piha daemon on ${path} closed the connection without answering`, 'EPROTO'));
      else parse();
    });
  });
}
