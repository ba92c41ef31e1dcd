// The http-plug fence device against a fake plug on 127.0.0.1 that speaks the three APIs
// (Shelly Gen1 with basic auth, Shelly Gen2 RPC with SHA-256 digest auth, Tasmota with
// user/password query parameters), and can be made to lie, hang or babble.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { HttpPlugDeviceConfig } from '../../src/config/types.ts';
import { digestAuthorization, HttpPlugDevice, parseDigestChallenges } from '../../src/fence/http-plug.ts';
import { FenceError } from '../../src/fence/types.ts';

const never = new AbortController().signal;

interface PlugOptions {
  api: HttpPlugDeviceConfig['api'];
  relays?: number;
  password?: string;
  username?: string;
  /** Ignore switch commands: the relay stays as it is. */
  stuck?: boolean;
  /** Answer switch commands with the opposite of what was asked (gen1/tasmota answers). */
  lieInAnswer?: boolean;
  /** Never answer. */
  hang?: boolean;
  /** Answer this instead of JSON. */
  garbage?: string;
  /** Tasmota: a one-relay device answering POWER instead of POWER1. */
  bareTasmota?: boolean;
}

interface FakePlug {
  url: string;
  on: boolean[];
  requests: { url: string; authorization?: string }[];
  close(): Promise<void>;
}

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

async function fakePlug(o: PlugOptions): Promise<FakePlug> {
  const state = new Array<boolean>(o.relays ?? 1).fill(true);
  const requests: FakePlug['requests'] = [];
  const realm = 'shellyplus1pm-a8032ab12345';
  const nonces = new Set<string>();
  const user = o.username ?? 'admin';
  const server = http.createServer((req, res) => {
    requests.push({ url: req.url!, authorization: req.headers.authorization });
    if (o.hang) return; // never answer
    const u = new URL(req.url!, 'http://plug');
    const json = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(JSON.stringify(body));
    };
    const set = (ch: number, on: boolean) => {
      if (!o.stuck) state[ch] = on;
    };
    if (o.garbage !== undefined) {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(o.garbage);
      return;
    }
    if (o.api === 'shelly-gen1') {
      if (o.password !== undefined) {
        const want = `Basic ${Buffer.from(`${user}:${o.password}`).toString('base64')}`;
        if (req.headers.authorization !== want) {
          res.writeHead(401, { 'www-authenticate': 'Basic realm="shelly1-123"' });
          res.end('401 Unauthorized');
          return;
        }
      }
      const m = /^\/relay\/(\d+)$/.exec(u.pathname);
      const ch = m ? Number(m[1]) : -1;
      if (!m || ch >= state.length) {
        res.writeHead(404);
        res.end('Not Found');
        return;
      }
      const turn = u.searchParams.get('turn');
      if (turn) set(ch, turn === 'on');
      json(200, { ison: o.lieInAnswer && turn ? turn !== 'on' : state[ch], has_timer: false, source: 'http' });
      return;
    }
    if (o.api === 'shelly-gen2') {
      if (o.password !== undefined) {
        const params = parseDigestChallenges(req.headers.authorization ?? '')[0];
        const ok =
          params !== undefined &&
          params.username === 'admin' &&
          params.realm === realm &&
          nonces.has(params.nonce) &&
          params.algorithm === 'SHA-256' &&
          params.uri === req.url &&
          params.qop === 'auth' &&
          params.response ===
            sha256(`${sha256(`admin:${realm}:${o.password}`)}:${params.nonce}:${params.nc}:${params.cnonce}:auth:${sha256(`GET:${req.url}`)}`);
        if (!ok) {
          const nonce = randomBytes(8).toString('hex');
          nonces.add(nonce);
          json(401, { code: 401, message: 'unauthorized' }, {
            'www-authenticate': `Digest qop="auth", realm="${realm}", nonce="${nonce}", algorithm=SHA-256`,
          });
          return;
        }
      }
      const id = Number(u.searchParams.get('id'));
      if (!(id >= 0 && id < state.length)) {
        json(500, { code: -105, message: `Argument 'id', value ${u.searchParams.get('id')} not found!` });
        return;
      }
      if (u.pathname === '/rpc/Switch.Set') {
        const was = state[id];
        set(id, u.searchParams.get('on') === 'true');
        json(200, { was_on: was });
      } else if (u.pathname === '/rpc/Switch.GetStatus') {
        json(200, { id, source: 'http', output: state[id], apower: 0, voltage: 230.1 });
      } else {
        json(404, { code: 404, message: 'No handler for ' + u.pathname });
      }
      return;
    }
    // tasmota
    if (u.pathname !== '/cm') {
      res.writeHead(404);
      res.end();
      return;
    }
    if (o.password !== undefined && (u.searchParams.get('user') !== user || u.searchParams.get('password') !== o.password)) {
      json(401, { WARNING: 'Need user=<username>&password=<password>' });
      return;
    }
    const m = /^Power(\d+)(?: (On|Off))?$/i.exec(u.searchParams.get('cmnd') ?? '');
    const ch = m ? Number(m[1]) - 1 : -1;
    if (!m || ch < 0 || ch >= state.length) {
      json(200, { Command: 'Unknown' });
      return;
    }
    if (m[2]) set(ch, m[2].toLowerCase() === 'on');
    const shown = o.lieInAnswer && m[2] ? m[2].toLowerCase() !== 'on' : state[ch];
    json(200, { [o.bareTasmota ? 'POWER' : `POWER${ch + 1}`]: shown ? 'ON' : 'OFF' });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    on: state,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function device(plug: FakePlug, over: Partial<HttpPlugDeviceConfig> & Pick<HttpPlugDeviceConfig, 'api'>): HttpPlugDevice {
  return new HttpPlugDevice({
    type: 'http-plug',
    name: 'plug-pi3',
    hosts: ['pi3'],
    runOn: ['pi1', 'pi2'],
    timeoutMs: 2000,
    url: plug.url,
    channel: 0,
    ...over,
  });
}

async function withPlug(o: PlugOptions, fn: (plug: FakePlug) => Promise<void>): Promise<void> {
  const plug = await fakePlug(o);
  try {
    await fn(plug);
  } finally {
    await plug.close();
  }
}

function fenceError(re: RegExp) {
  return (e: unknown) => {
    assert.ok(e instanceof FenceError, `expected a FenceError, got ${String(e)}`);
    assert.equal(e.device, 'plug-pi3');
    assert.match(e.message, re);
    return true;
  };
}

/** off, status, on, status, with the fake's relay checked at each step. */
async function cycle(plug: FakePlug, dev: HttpPlugDevice, ch = 0): Promise<void> {
  await dev.off('pi3', never);
  assert.equal(plug.on[ch], false);
  assert.equal(await dev.status('pi3', never), 'off');
  await dev.on('pi3', never);
  assert.equal(plug.on[ch], true);
  assert.equal(await dev.status('pi3', never), 'on');
}

test('shelly-gen1: relay endpoints, without and with basic auth', async () => {
  await withPlug({ api: 'shelly-gen1' }, async (plug) => {
    await cycle(plug, device(plug, { api: 'shelly-gen1' }));
    assert.deepEqual(plug.requests.map((r) => r.url), ['/relay/0?turn=off', '/relay/0', '/relay/0', '/relay/0?turn=on', '/relay/0', '/relay/0']);
  });
  await withPlug({ api: 'shelly-gen1', relays: 2, password: 'pw', username: 'me' }, async (plug) => {
    await cycle(plug, device(plug, { api: 'shelly-gen1', channel: 1, username: 'me', password: 'pw' }), 1);
    assert.equal(plug.on[0], true, 'channel 0 untouched');
    assert.ok(plug.requests.every((r) => r.authorization?.startsWith('Basic ')));
  });
});

test('shelly-gen1: wrong password, missing password, no such channel', async () => {
  await withPlug({ api: 'shelly-gen1', password: 'pw' }, async (plug) => {
    await assert.rejects(device(plug, { api: 'shelly-gen1', username: 'admin', password: 'nope' }).off('pi3', never), fenceError(/refused the login for user admin: wrong password\?/));
    await assert.rejects(device(plug, { api: 'shelly-gen1' }).status('pi3', never), fenceError(/asks for a login: set password:/));
    assert.equal(plug.on[0], true);
  });
  await withPlug({ api: 'shelly-gen1' }, async (plug) => {
    await assert.rejects(device(plug, { api: 'shelly-gen1', channel: 3 }).off('pi3', never), fenceError(/HTTP 404.*no such channel/));
  });
});

test('shelly-gen2: RPC endpoints with SHA-256 digest auth', async () => {
  await withPlug({ api: 'shelly-gen2', password: 'secret' }, async (plug) => {
    await cycle(plug, device(plug, { api: 'shelly-gen2', username: 'admin', password: 'secret' }));
    const answered = plug.requests.filter((r) => r.authorization !== undefined);
    assert.deepEqual(answered.map((r) => r.url), [
      '/rpc/Switch.Set?id=0&on=false',
      '/rpc/Switch.GetStatus?id=0',
      '/rpc/Switch.GetStatus?id=0',
      '/rpc/Switch.Set?id=0&on=true',
      '/rpc/Switch.GetStatus?id=0',
      '/rpc/Switch.GetStatus?id=0',
    ]);
    assert.ok(answered.every((r) => /^Digest .*algorithm=SHA-256/.test(r.authorization!)));
  });
  await withPlug({ api: 'shelly-gen2' }, async (plug) => {
    await cycle(plug, device(plug, { api: 'shelly-gen2' }));
  });
});

test('shelly-gen2: a wrong password fails with a clear error, and nothing switches', async () => {
  await withPlug({ api: 'shelly-gen2', password: 'secret' }, async (plug) => {
    await assert.rejects(device(plug, { api: 'shelly-gen2', username: 'admin', password: 'guess' }).off('pi3', never), fenceError(/refused the login for user admin: wrong password\?/));
    await assert.rejects(device(plug, { api: 'shelly-gen2' }).off('pi3', never), fenceError(/asks for a login/));
    assert.equal(plug.on[0], true);
  });
  await withPlug({ api: 'shelly-gen2' }, async (plug) => {
    await assert.rejects(device(plug, { api: 'shelly-gen2', channel: 4 }).status('pi3', never), fenceError(/HTTP 500.*value 4 not found/));
  });
});

test('tasmota: Power<n> commands, POWER1 and bare POWER answers, login in the query', async () => {
  await withPlug({ api: 'tasmota', relays: 2 }, async (plug) => {
    await cycle(plug, device(plug, { api: 'tasmota', channel: 1 }), 1);
    assert.deepEqual(plug.requests.slice(0, 2).map((r) => r.url), ['/cm?cmnd=Power2%20Off', '/cm?cmnd=Power2']);
  });
  await withPlug({ api: 'tasmota', bareTasmota: true, password: 'joker' }, async (plug) => {
    await cycle(plug, device(plug, { api: 'tasmota', username: 'admin', password: 'joker' }));
    assert.equal(plug.requests[0].url, '/cm?cmnd=Power1%20Off&user=admin&password=joker');
    await assert.rejects(device(plug, { api: 'tasmota', username: 'admin', password: 'x' }).off('pi3', never), (e: unknown) => {
      fenceError(/wrong password\?/)(e);
      assert.ok(!(e as Error).message.includes('password=x'), 'the password is not in the message');
      return true;
    });
  });
  await withPlug({ api: 'tasmota' }, async (plug) => {
    await assert.rejects(device(plug, { api: 'tasmota', channel: 5 }).status('pi3', never), fenceError(/no relay 6 \(check channel:/));
  });
});

test('a plug that is still on after off is an error, whether its answer or its read-back says so', async () => {
  for (const api of ['shelly-gen1', 'shelly-gen2', 'tasmota'] as const) {
    await withPlug({ api, stuck: true }, async (plug) => {
      await assert.rejects(device(plug, { api }).off('pi3', never), fenceError(/on after switching off; it did not switch/));
    });
  }
  for (const api of ['shelly-gen1', 'tasmota'] as const) {
    await withPlug({ api, lieInAnswer: true }, async (plug) => {
      await assert.rejects(device(plug, { api }).off('pi3', never), fenceError(/answered on after switching off/));
    });
  }
});

test('timeout, caller abort, refused connection, non-JSON answers', async () => {
  await withPlug({ api: 'shelly-gen1', hang: true }, async (plug) => {
    const t0 = Date.now();
    await assert.rejects(device(plug, { api: 'shelly-gen1', timeoutMs: 200 }).off('pi3', never), fenceError(/no answer from .* within 200ms \(timed out/));
    assert.ok(Date.now() - t0 < 1500, 'gave up at the timeout');
    const ac = new AbortController();
    const p = device(plug, { api: 'shelly-gen1' }).status('pi3', ac.signal);
    setTimeout(() => ac.abort(new Error('cluster gave up')), 50);
    await assert.rejects(p, fenceError(/aborted \(cluster gave up\)/));
  });
  await withPlug({ api: 'shelly-gen1', garbage: '<html><body>Login</body></html>' }, async (plug) => {
    await assert.rejects(device(plug, { api: 'shelly-gen1' }).status('pi3', never), fenceError(/not JSON: "<html><body>Login/));
  });
  const plug = await fakePlug({ api: 'shelly-gen1' });
  await plug.close();
  await assert.rejects(device(plug, { api: 'shelly-gen1' }).status('pi3', never), fenceError(/cannot reach .*connection refused/));
  await assert.rejects(device(plug, { api: 'shelly-gen1' }).off('pi1', never), fenceError(/cannot fence pi1: this device only fences pi3/));
});

test('an answer without the expected field names the field and the api', async () => {
  await withPlug({ api: 'shelly-gen1', garbage: '{"relays":[]}' }, async (plug) => {
    await assert.rejects(device(plug, { api: 'shelly-gen1' }).status('pi3', never), fenceError(/without the "ison" field: .*relays.*is api: shelly-gen1 right/));
    await assert.rejects(device(plug, { api: 'tasmota' }).status('pi3', never), fenceError(/without the "POWER1" or "POWER" field/));
  });
  await withPlug({ api: 'shelly-gen1' }, async (plug) => {
    // A Gen1 plug asked with the Gen2 API: /rpc/... is 404 there.
    await assert.rejects(device(plug, { api: 'shelly-gen2' }).status('pi3', never), fenceError(/HTTP 404.*api: shelly-gen2 is not this plug's API/));
  });
  await withPlug({ api: 'shelly-gen2' }, async (plug) => {
    // Gen2 answers Switch.Set with was_on only; a Tasmota config on it gets 404 for /cm.
    await assert.rejects(device(plug, { api: 'tasmota' }).status('pi3', never), fenceError(/HTTP 404/));
  });
});

test('digest: RFC 7616 section 3.9.1 example (SHA-256 and MD5)', () => {
  const challenge =
    'Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=SHA-256, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS", ' +
    'Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=MD5, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"';
  const cnonce = 'f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ';
  const url = new URL('http://www.example.org/dir/index.html');
  const sha = digestAuthorization(challenge, 'GET', url, 'Mufasa', 'Circle of Life', cnonce)!;
  assert.match(sha, /algorithm=SHA-256/);
  assert.match(sha, /response="753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"/);
  assert.match(sha, /opaque="FQhe\/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"/);
  assert.match(sha, /qop=auth, nc=00000001, cnonce="f2\/wE4q74E6zIJEtWaHKaf5wv\/H5QzzpXusqGemxURZJ"/);
  const md5Only = challenge.slice(challenge.indexOf('Digest realm', 10));
  const md5 = digestAuthorization(md5Only, 'GET', url, 'Mufasa', 'Circle of Life', cnonce)!;
  assert.match(md5, /algorithm=MD5/);
  assert.match(md5, /response="8ca523f5e9506fed4657c9700eebdbec"/);
  assert.equal(digestAuthorization('Basic realm="x"', 'GET', url, 'a', 'b'), null);
  assert.equal(digestAuthorization('Digest realm="x", nonce="n", algorithm=SHA-512-256', 'GET', url, 'a', 'b'), null);
});
