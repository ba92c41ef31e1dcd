// The HTTP plumbing shared by the status server (status-server.ts) and the fault server
// (src/boot/fault-server.ts): node:http plus a routing table of GET paths. It replaced fastify,
// which cost ~6 MiB of RSS per daemon for six GET routes (bench/http-cost.ts); the replies
// are byte-for-byte what fastify sent (status lines, headers, JSON bodies, the 400/408/431
// answers to broken requests, the 503 while closing).
//
// Built for a small read-only LAN endpoint: request bodies are never read, every route is a
// GET (HEAD answers the same headers without the body), slow and idle clients are cut off
// after a few seconds, and close() ends everything at once, open event streams included.

import { lookup } from 'node:dns/promises';
import { createServer, STATUS_CODES, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { networkInterfaces } from 'node:os';
import { parse as parseQuery } from 'node:querystring';

export interface HttpRequest {
  method: string;
  /** Decoded path without query string or fragment (absolute-form targets reduced to it). */
  path: string;
  /** The request target as sent, e.g. /events?since=3 */
  url: string;
  /** Repeated keys give arrays (?a=1&a=2); values are percent- and +-decoded. */
  query: Record<string, string | string[]>;
  headers: IncomingHttpHeaders;
  raw: IncomingMessage;
  res: ServerResponse;
}

export interface HttpReply {
  status?: number; // 200
  headers?: Record<string, string>;
  /** A string is sent as is (text/plain unless `headers` has a content-type), anything else as JSON; undefined: an empty body. */
  body?: unknown;
}

/** A reply to send, or nothing when the handler answered on `req.res` itself (an event stream). */
export type HttpHandler = (req: HttpRequest) => HttpReply | void | Promise<HttpReply | void>;

export interface HttpServerOptions {
  /** Runs before the route (not for requests already refused); a reply ends the request there. */
  onRequest?: (req: HttpRequest) => HttpReply | void;
  /** A handler threw; the client gets a bare 500. */
  onError?: (err: unknown, req: HttpRequest) => void;
  /** Hard ceiling on open sockets (node drops connections past it). */
  maxConnections: number;
  maxRequestsPerSocket?: number;
  /** Sockets that have not sent a request yet, past which the oldest is closed (limitIdleSockets). */
  maxIdleSockets?: number;
}

export interface HttpServer {
  /** GET path (HEAD too). */
  get(path: string, handler: HttpHandler): void;
  /** Runs on close(), before the sockets are closed (ends event streams). */
  onClose(fn: () => void): void;
  /** Resolves with the URL (e.g. http://127.0.0.1:9405) once listening; rejects with listen's error. */
  listen(host: string, port: number): Promise<string>;
  /** The bound port (after listen). */
  readonly port: number;
  close(): Promise<void>;
}

const SOCKET_IDLE_MS = 5000; // no byte in either direction: destroyed
const HEADERS_TIMEOUT_MS = 3000;
const REQUEST_TIMEOUT_MS = 5000; // whole request, headers included
const KEEP_ALIVE_MS = 2000;
// Node only checks header/request deadlines every connectionsCheckingInterval (30 s by
// default), which would let a byte-a-second client hold a socket that long.
const CHECK_INTERVAL_MS = 1000;

const NOT_FOUND: HttpReply = { status: 404, body: { ok: false, error: 'not found' } };
const INTERNAL: HttpReply = { status: 500, body: { ok: false, error: 'internal error' } };

export function createHttpServer(opts: HttpServerOptions): HttpServer {
  const routes = new Map<string, HttpHandler>();
  const closeHooks: (() => void)[] = [];
  const servers: Server[] = [];
  let closing = false;
  let closed: Promise<void> | undefined;

  const handle = (raw: IncomingMessage, res: ServerResponse): void => {
    const url = raw.url ?? '/';
    const target = splitTarget(url);
    if (!target) return badUrl(res, url);
    if (closing) return serviceUnavailable(res);
    const req: HttpRequest = { method: raw.method ?? 'GET', path: target.path, url, query: target.query, headers: raw.headers, raw, res };
    let handler: HttpHandler | undefined;
    try {
      const early = opts.onRequest?.(req);
      if (early) return send(req, early);
      handler = req.method === 'GET' || req.method === 'HEAD' ? routes.get(req.path) : undefined;
      if (!handler) return send(req, NOT_FOUND);
      const out = handler(req);
      if (out instanceof Promise) out.then((r) => r && send(req, r)).catch((err) => fail(req, err));
      else if (out) send(req, out);
    } catch (err) {
      fail(req, err);
    }
  };

  const fail = (req: HttpRequest, err: unknown): void => {
    try {
      opts.onError?.(err, req);
    } catch {
      /* a failing logger must not take the reply down with it */
    }
    // Never the error's text: it stays in the log.
    if (!req.res.headersSent) send(req, INTERNAL);
    else req.res.destroy();
  };

  const makeServer = (): Server => {
    const s = createServer(
      { headersTimeout: HEADERS_TIMEOUT_MS, requestTimeout: REQUEST_TIMEOUT_MS, connectionsCheckingInterval: CHECK_INTERVAL_MS },
      handle,
    );
    s.keepAliveTimeout = KEEP_ALIVE_MS;
    s.setTimeout(SOCKET_IDLE_MS);
    if (opts.maxRequestsPerSocket) s.maxRequestsPerSocket = opts.maxRequestsPerSocket;
    s.maxConnections = opts.maxConnections;
    s.on('clientError', clientError);
    if (opts.maxIdleSockets) limitIdleSockets(s, opts.maxIdleSockets);
    return s;
  };

  let port = 0;
  return {
    get(path, handler) {
      routes.set(path, handler);
    },
    onClose(fn) {
      closeHooks.push(fn);
    },
    get port() {
      return port;
    },
    async listen(host, wanted) {
      const main = makeServer();
      servers.push(main);
      await listenOn(main, host, wanted);
      const addr = main.address() as AddressInfo;
      port = addr.port;
      // As fastify did: "localhost" is every loopback address it resolves to (127.0.0.1 and
      // ::1), each on the same port; one that cannot be bound is left out.
      if (host === 'localhost') {
        const all = await lookup(host, { all: true }).catch(() => []);
        for (const a of all) {
          if (a.address === addr.address) continue;
          const extra = makeServer();
          try {
            await listenOn(extra, a.address, port);
            servers.push(extra);
          } catch {
            extra.close();
          }
        }
      }
      return urlOf(addr);
    },
    close() {
      closed ??= (async () => {
        closing = true;
        for (const fn of closeHooks) fn();
        await Promise.all(
          servers.map(
            (s) =>
              new Promise<void>((resolve) => {
                if (!s.listening) return resolve();
                s.close(() => resolve());
                s.closeAllConnections();
              }),
          ),
        );
      })();
      return closed;
    },
  };
}

function listenOn(s: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => {
      s.off('listening', onListening);
      reject(err);
    };
    const onListening = (): void => {
      s.off('error', onError);
      resolve();
    };
    s.once('error', onError);
    s.once('listening', onListening);
    s.listen({ host, port });
  });
}

/** http://127.0.0.1:9405, http://[::]:9405; for 0.0.0.0 a local IPv4 address, loopback first. */
function urlOf(a: AddressInfo): string {
  if (a.family === 'IPv6' || a.address.includes(':')) return `http://[${a.address}]:${a.port}`;
  let host = a.address;
  if (host === '0.0.0.0') {
    const v4 = Object.values(networkInterfaces())
      .flat()
      .filter((i) => i?.family === 'IPv4');
    host = (v4.find((i) => i!.internal) ?? v4[0])?.address ?? host;
  }
  return `http://${host}:${a.port}`;
}

/**
 * Path and query of a request target. Absolute-form targets (http://host/path) count as
 * their path; the path ends at ? or #; percent escapes in the path are decoded (/st%61tus is
 * /status). null: not a target this server can read (a bad escape, another scheme).
 */
export function splitTarget(url: string): { path: string; query: Record<string, string | string[]> } | null {
  let t = url;
  if (t === '*') return { path: t, query: {} }; // OPTIONS *: no route
  if (t.charCodeAt(0) !== 47) {
    const m = /^https?:\/\/[^/?#]+([/?][^#]*)?$/i.exec(t);
    if (!m || !hostOf(t)) return null;
    t = m[1] === undefined ? '/' : m[1].startsWith('?') ? `/${m[1]}` : m[1];
  }
  const q = t.search(/[?#]/);
  let path = q < 0 ? t : t.slice(0, q);
  const qs = q < 0 ? '' : t.slice(q + 1);
  if (path.includes('%')) {
    try {
      // %25 stays as it is (a literal % in a path is no route of ours either way).
      path = decodeURI(path.replace(/%25/g, '%2525'));
    } catch {
      return null;
    }
  }
  return { path, query: qs ? (parseQuery(qs) as Record<string, string | string[]>) : {} };
}

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return '';
  }
}

/** Status, headers in the order given, then content-type (if not given) and content-length. */
function send(req: HttpRequest, r: HttpReply): void {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(r.headers ?? {})) headers[k.toLowerCase()] = v;
  let payload: string | undefined;
  if (typeof r.body === 'string') {
    payload = r.body;
    headers['content-type'] ??= 'text/plain; charset=utf-8';
  } else if (r.body !== undefined) {
    payload = JSON.stringify(r.body);
    headers['content-type'] ??= 'application/json; charset=utf-8';
  }
  headers['content-length'] = String(payload === undefined ? 0 : Buffer.byteLength(payload));
  req.res.writeHead(r.status ?? 200, headers);
  req.res.end(req.method === 'HEAD' ? undefined : payload);
}

function badUrl(res: ServerResponse, url: string): void {
  const body = JSON.stringify({ error: 'Bad Request', code: 'FST_ERR_BAD_URL', message: `'${url}' is not a valid url component`, statusCode: 400 });
  res.writeHead(400, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

/** A request on a kept-alive connection while the server closes. */
function serviceUnavailable(res: ServerResponse): void {
  res.setHeader('Connection', 'close');
  res.writeHead(503, { 'Content-Type': 'application/json', 'Content-Length': '80' });
  res.end('{"error":"Service Unavailable","message":"Service Unavailable","statusCode":503}');
}

/** A request node could not parse or that timed out: a JSON answer if the socket can take it, then close. */
function clientError(err: NodeJS.ErrnoException, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const [code, message] =
    err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? [408, 'Client Timeout'] : err.code === 'HPE_HEADER_OVERFLOW' ? [431, 'Exceeded maximum allowed HTTP header size'] : [400, 'Client Error'];
  const status = STATUS_CODES[code];
  const body = `{"error":"${status}","message":"${message}","statusCode":${code}}`;
  if (socket.writable) socket.write(`HTTP/1.1 ${code} ${status}\r\nContent-Length: ${body.length}\r\nContent-Type: application/json\r\n\r\n${body}`);
  socket.destroy(err);
}

/**
 * One host holding many connections open without sending a request must not lock everyone
 * else out (docs/robustness.md). Sockets that have not sent a request yet are kept in arrival
 * order; past `max`, the oldest such socket is closed to make room. A real client sends its
 * request right after connecting, so it is served; an idle hog only ever evicts itself.
 */
function limitIdleSockets(server: Server, max: number): void {
  const idle = new Set<Socket>();
  server.on('connection', (sock: Socket) => {
    idle.add(sock);
    sock.once('close', () => idle.delete(sock));
    if (idle.size > max) {
      const oldest = idle.values().next().value as Socket;
      idle.delete(oldest);
      oldest.destroy();
    }
  });
  server.on('request', (req: IncomingMessage) => idle.delete(req.socket));
}
