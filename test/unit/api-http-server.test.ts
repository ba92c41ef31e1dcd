// The router on node:http shared by the status and fault servers (src/api/http-server.ts):
// 404/405/500 replies, query strings and request targets, HEAD, answers to broken requests,
// listening (port in use, localhost on both loopbacks), idle-socket eviction, and close()
// ending open streams at once.

import assert from 'node:assert/strict';
import { lookup } from 'node:dns/promises';
import net from 'node:net';
import { test } from 'node:test';
import { createHttpServer, splitTarget, type HttpServer, type HttpServerOptions } from '../../src/api/http-server.ts';

async function withServer(opts: Partial<HttpServerOptions>, setup: (app: HttpServer) => void, fn: (base: string, app: HttpServer) => Promise<void>): Promise<void> {
  const app = createHttpServer({ maxConnections: 64, ...opts });
  setup(app);
  const base = await app.listen('127.0.0.1', 0);
  try {
    await fn(base, app);
  } finally {
    await app.close();
  }
}

/** One raw exchange: what the server wrote until it closed the connection (or `ms` passed). */
function raw(port: number, req: string, ms = 2000): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    let out = '';
    const done = (): void => {
      clearTimeout(t);
      s.destroy();
      resolve(out);
    };
    const t = setTimeout(done, ms);
    s.on('data', (d) => (out += d.toString()));
    s.on('close', done);
    s.on('error', done);
    s.on('connect', () => s.write(req));
  });
}

test('unknown paths and other methods are 404 JSON; an onRequest reply (405) comes first', async () => {
  await withServer(
    {
      onRequest: (req) => (req.method !== 'GET' && req.method !== 'HEAD' && req.path === '/a' ? { status: 405, headers: { allow: 'GET, HEAD' }, body: { ok: false } } : undefined),
    },
    (app) => {
      app.get('/a', () => ({ body: { a: 1 } }));
      app.get('/b', () => ({ body: { b: 1 } }));
    },
    async (base) => {
      for (const p of ['/nope', '/a/', '/A', '//a', '/a/x']) {
        const r = await fetch(base + p);
        assert.equal(r.status, 404, p);
        assert.equal(r.headers.get('content-type'), 'application/json; charset=utf-8');
        assert.deepEqual(await r.json(), { ok: false, error: 'not found' });
      }
      const post = await fetch(base + '/a', { method: 'POST', body: 'x' });
      assert.equal(post.status, 405);
      assert.equal(post.headers.get('allow'), 'GET, HEAD');
      // no hook for /b: other methods are simply not routed
      for (const method of ['POST', 'PUT', 'DELETE', 'OPTIONS']) {
        const r = await fetch(base + '/b', { method });
        assert.equal(r.status, 404, method);
        assert.deepEqual(await r.json(), { ok: false, error: 'not found' });
      }
      assert.deepEqual(await (await fetch(base + '/a')).json(), { a: 1 });
    },
  );
});

test('a handler that throws (or rejects) is a bare 500: no message, no stack; onError gets the error', async () => {
  const seen: unknown[] = [];
  await withServer(
    { onError: (err) => seen.push(err) },
    (app) => {
      app.get('/sync', () => {
        throw new Error('secret detail');
      });
      app.get('/async', async () => {
        await new Promise((r) => setTimeout(r, 5));
        throw new Error('secret async detail');
      });
      app.get('/unserializable', () => ({ body: { n: 1n } }));
    },
    async (base) => {
      for (const p of ['/sync', '/async', '/unserializable']) {
        const r = await fetch(base + p);
        assert.equal(r.status, 500, p);
        const text = await r.text();
        assert.equal(text, '{"ok":false,"error":"internal error"}');
        assert.doesNotMatch(text, /secret|at |\.ts/);
      }
      assert.equal(seen.length, 3);
      assert.match((seen[0] as Error).message, /secret detail/);
    },
  );
  // A logger that throws does not take the 500 down with it.
  await withServer(
    {
      onError: () => {
        throw new Error('logger broke');
      },
    },
    (app) =>
      app.get('/x', () => {
        throw new Error('boom');
      }),
    async (base) => assert.equal((await fetch(base + '/x')).status, 500),
  );
});

test('query strings: repeated keys are arrays, + and %XX decoded; the path ends at ? or #', async () => {
  let got: unknown;
  await withServer(
    {},
    (app) =>
      app.get('/q', (req) => {
        got = { path: req.path, query: { ...req.query } };
        return { body: 'ok' };
      }),
    async (base, app) => {
      await fetch(`${base}/q?a=1&a=2&b=x+y&c=%31&d`);
      assert.deepEqual(got, { path: '/q', query: { a: ['1', '2'], b: 'x y', c: '1', d: '' } });
      await fetch(`${base}/q`);
      assert.deepEqual(got, { path: '/q', query: {} });
      // percent escapes in the path are decoded for routing
      assert.equal((await fetch(`${base}/%71?z=1`)).status, 200);
      assert.deepEqual(got, { path: '/q', query: { z: '1' } });
      // a bad escape is a 400 that names the target
      const bad = await raw(app.port, 'GET /%zz?x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
      assert.match(bad, /^HTTP\/1\.1 400 Bad Request\r\n/);
      assert.ok(bad.endsWith(`{"error":"Bad Request","code":"FST_ERR_BAD_URL","message":"'/%zz?x' is not a valid url component","statusCode":400}`), bad);
      // absolute-form targets count as their path
      const abs = await raw(app.port, 'GET http://h:1/q?k=v HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
      assert.match(abs, /^HTTP\/1\.1 200 OK\r\n/);
      assert.deepEqual(got, { path: '/q', query: { k: 'v' } });
    },
  );
  const t = splitTarget('/a#b?c')!;
  assert.deepEqual([t.path, { ...t.query }], ['/a', { 'b?c': '' }]);
  assert.equal(splitTarget('/a#frag')?.path, '/a');
  assert.equal(splitTarget('/st%61tus')?.path, '/status');
  assert.equal(splitTarget('/%2fstatus')?.path, '/%2fstatus'); // reserved escapes stay
  assert.equal(splitTarget('/%25')?.path, '/%25');
  assert.equal(splitTarget('/%C3'), null);
  assert.equal(splitTarget('http://h')?.path, '/');
  assert.deepEqual({ ...splitTarget('https://h?x=1')!.query }, { x: '1' });
  assert.equal(splitTarget('https://h?x=1')!.path, '/');
  assert.equal(splitTarget('http://h/a#x'), null);
  assert.equal(splitTarget('ftp://h/a'), null);
  assert.equal(splitTarget('http://:80/a'), null);
  assert.equal(splitTarget('*')?.path, '*');
});

test('replies: JSON and text content types, headers kept in order, HEAD has the headers and no body', async () => {
  await withServer(
    {},
    (app) => {
      app.get('/json', () => ({ headers: { 'cache-control': 'no-store' }, body: { ok: true, s: 'ü' } }));
      app.get('/text', () => ({ body: 'hi\n' }));
      app.get('/typed', () => ({ status: 503, headers: { 'content-type': 'text/plain; version=0.0.4', 'X-Extra': '1' }, body: 'm 1\n' }));
      app.get('/empty', () => ({ headers: { 'content-type': 'text/event-stream' } }));
    },
    async (base, app) => {
      const j = await fetch(base + '/json');
      assert.equal(j.headers.get('content-type'), 'application/json; charset=utf-8');
      assert.equal(j.headers.get('cache-control'), 'no-store');
      assert.equal(j.headers.get('content-length'), String(Buffer.byteLength('{"ok":true,"s":"ü"}')));
      assert.deepEqual(await j.json(), { ok: true, s: 'ü' });
      const t = await fetch(base + '/text');
      assert.equal(t.headers.get('content-type'), 'text/plain; charset=utf-8');
      assert.equal(await t.text(), 'hi\n');
      const typed = await fetch(base + '/typed');
      assert.equal(typed.status, 503);
      assert.equal(typed.headers.get('content-type'), 'text/plain; version=0.0.4');
      assert.equal(typed.headers.get('x-extra'), '1');
      const e = await fetch(base + '/empty');
      assert.equal(e.headers.get('content-length'), '0');

      const get = await raw(app.port, 'GET /json HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
      const head = await raw(app.port, 'HEAD /json HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
      const headers = (s: string) => s.split('\r\n\r\n')[0]!.replace(/^date: .*$/im, '');
      assert.equal(headers(head), headers(get));
      assert.match(headers(get), /^HTTP\/1\.1 200 OK\r\ncache-control: no-store\r\ncontent-type: application\/json; charset=utf-8\r\ncontent-length: \d+\r\n/);
      assert.equal(head.split('\r\n\r\n')[1], '', 'HEAD has no body');
      assert.ok(get.endsWith('{"ok":true,"s":"ü"}'));
    },
  );
});

test('broken requests: 400 / 431 JSON and the connection closed; a request with no header end: 408', async () => {
  await withServer(
    {},
    (app) => app.get('/', () => ({ body: 'ok' })),
    async (_base, app) => {
      assert.equal(await raw(app.port, 'HELLO\r\n\r\n'), 'HTTP/1.1 400 Bad Request\r\nContent-Length: 65\r\nContent-Type: application/json\r\n\r\n{"error":"Bad Request","message":"Client Error","statusCode":400}');
      const big = await raw(app.port, `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
      assert.match(big, /^HTTP\/1\.1 431 Request Header Fields Too Large\r\n/);
      assert.ok(big.endsWith('"statusCode":431}'));
      const t0 = Date.now();
      const slow = await raw(app.port, 'GET / HTTP/1.1\r\nHost: x\r\nX-a: b', 8000);
      assert.equal(slow, 'HTTP/1.1 408 Request Timeout\r\nContent-Length: 71\r\nContent-Type: application/json\r\n\r\n{"error":"Request Timeout","message":"Client Timeout","statusCode":408}');
      assert.ok(Date.now() - t0 < 6000, `cut after ${Date.now() - t0} ms`);
    },
  );
});

test('close() ends open streams at once (onClose hooks, then every socket), and is idempotent', async () => {
  const app = createHttpServer({ maxConnections: 64 });
  let hooked = 0;
  app.onClose(() => hooked++);
  app.get('/stream', (req) => {
    req.res.writeHead(200, { 'content-type': 'text/event-stream' });
    req.res.write(': hello\n\n');
    req.raw.socket.setTimeout(60_000); // outlives the server's idle timeout, like the event stream
  });
  const base = await app.listen('127.0.0.1', 0);
  const ended: Promise<string>[] = [];
  for (let i = 0; i < 3; i++) {
    const res = await fetch(`${base}/stream`);
    assert.equal(res.status, 200);
    ended.push(
      (async () => {
        let text = '';
        try {
          for await (const c of res.body!) text += Buffer.from(c).toString();
        } catch {
          /* cut */
        }
        return text;
      })(),
    );
  }
  await new Promise((r) => setTimeout(r, 50));
  const t0 = Date.now();
  await Promise.all([app.close(), app.close()]);
  const texts = await Promise.all(ended);
  assert.ok(Date.now() - t0 < 1000, `close took ${Date.now() - t0} ms`);
  assert.deepEqual(texts, [': hello\n\n', ': hello\n\n', ': hello\n\n']);
  assert.equal(hooked, 1);
  await assert.rejects(fetch(`${base}/stream`));
  // never listening: close() resolves too
  await createHttpServer({ maxConnections: 1 }).close();
});

test('listen: a port in use is the EADDRINUSE error of listen; 0.0.0.0, :: and localhost', async () => {
  const a = createHttpServer({ maxConnections: 8 });
  a.get('/', () => ({ body: 'a' }));
  const url = await a.listen('127.0.0.1', 0);
  assert.equal(url, `http://127.0.0.1:${a.port}`);
  const b = createHttpServer({ maxConnections: 8 });
  try {
    await assert.rejects(b.listen('127.0.0.1', a.port), (e: NodeJS.ErrnoException) => {
      assert.equal(e.code, 'EADDRINUSE');
      assert.equal(e.message, `listen EADDRINUSE: address already in use 127.0.0.1:${a.port}`);
      return true;
    });
  } finally {
    await b.close();
    await a.close();
  }

  const any = createHttpServer({ maxConnections: 8 });
  assert.match(await any.listen('0.0.0.0', 0), /^http:\/\/\d+\.\d+\.\d+\.\d+:\d+$/);
  await any.close();

  // localhost: every loopback address it resolves to, on one port
  const local = createHttpServer({ maxConnections: 8 });
  local.get('/', () => ({ body: 'here' }));
  await local.listen('localhost', 0);
  try {
    const addrs = (await lookup('localhost', { all: true })).map((x) => x.address);
    for (const ip of addrs) {
      const host = ip.includes(':') ? `[${ip}]` : ip;
      const ok = await fetch(`http://${host}:${local.port}/`).then((r) => r.text(), () => null);
      // ::1 may be listed yet not configured (a container without IPv6): then it was left out
      if (ip === '127.0.0.1' || ok !== null) assert.equal(ok, 'here', ip);
    }
  } finally {
    await local.close();
  }
});

test('past maxIdleSockets, the oldest socket that sent nothing is closed; a real request is served', async () => {
  await withServer(
    { maxIdleSockets: 2 },
    (app) => app.get('/', () => ({ body: 'ok' })),
    async (base, app) => {
      const closedAt: number[] = [];
      const socks = await Promise.all(
        [0, 1, 2].map(
          (i) =>
            new Promise<net.Socket>((resolve) => {
              const s = net.connect({ host: '127.0.0.1', port: app.port }, () => resolve(s));
              s.on('close', () => closedAt.push(i));
              s.on('error', () => {});
            }),
        ),
      );
      await new Promise((r) => setTimeout(r, 100));
      try {
        assert.equal(await (await fetch(base + '/')).text(), 'ok');
        await new Promise((r) => setTimeout(r, 100));
        assert.ok(closedAt.length >= 1, 'an idle socket was evicted');
      } finally {
        for (const s of socks) s.destroy();
      }
    },
  );
});
