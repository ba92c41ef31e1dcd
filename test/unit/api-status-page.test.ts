// The status page (GET /, src/api/status-page.ts) in a real headless browser: Debian's
// chromium, driven over the DevTools protocol on a pipe (--remote-debugging-pipe: no port,
// no WebSocket library), against a status server started here with a fake status.
//
// Checked: the page's script ran and rendered the node cards with their LED patterns, the
// VIP holder, quorum, fencing and the event history; the event stream is live (an event
// recorded here shows up without a reload); the page loads nothing from outside (CSP, and no
// request other than to this server); and the screenshot is a PNG of the window size that is
// not blank: decoded here (node:zlib), it has many colours, and the role colours of the cards.
//
// Skipped with a message when chromium is not installed (make apt-deps installs it).

import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inflateSync } from 'node:zlib';
import { after, before, test } from 'node:test';
import { startStatusServer, toDaemonStatus, type StatusServer } from '../../src/api/status-server.ts';
import { STATUS_PAGE_CSP, STATUS_PAGE_HTML } from '../../src/api/status-page.ts';
import type { DaemonFencingStatus, MetricsSnapshot } from '../../src/api/status-types.ts';
import { createSystemInfoCache } from '../../src/api/system-info.ts';
import type { CoreStatus } from '../../src/core/types.ts';
import { EventLog } from '../../src/daemon/events.ts';

const WIDTH = 1100;
const HEIGHT = 900;

const core = {
  node: { id: 1, name: 'worker0' },
  quorate: true,
  votes: 2,
  expectedVotes: 3,
  quorumVotes: 2,
  coordinator: { id: 1, name: 'worker0', term: 4 },
  term: 4,
  nodes: [
    { id: 1, name: 'worker0', role: 'member', state: 'online', lastSeenMs: 0 },
    { id: 2, name: 'worker1', role: 'member', state: 'online', lastSeenMs: 120 },
    { id: 3, name: 'worker2', role: 'member', state: 'offline', lastSeenMs: 25_000 },
    { id: 4, name: 'nas', role: 'witness', state: 'online', lastSeenMs: 90 },
  ],
  resources: [
    { name: 'kubernetes_api_port', ip: '192.168.0.150', cidrNetmask: 32, state: 'started', holder: 'worker1', assignedTo: 'worker1', failCount: 0, failCounts: { worker2: 2 }, leaseRemainingMs: null, renewalMs: null },
  ],
  attrs: {},
  distrustingSelf: false,
  fencing: {
    modes: ['lease', 'watchdog', 'device'],
    stonithEnabled: true,
    watchdogWaitMs: 6000,
    covered: ['worker2'],
    pending: [{ node: 'worker2', inc: 3, attempts: 2, lastError: 'plug did not answer', sinceMs: 1500 }],
    blocking: [],
    history: [],
  },
} as unknown as CoreStatus;

const fencing: DaemonFencingStatus = {
  ...core.fencing,
  action: 'reboot',
  watchdog: { enabled: true, device: '/dev/watchdog', configuredSec: 5, timeoutSec: 5, pets: 10, withheld: 0 },
  devicesHere: [],
  devices: [{ name: 'plug2', type: 'http-plug', hosts: ['worker2'], runOn: ['worker0', 'worker1'] }],
};

const status = toDaemonStatus(core, {
  cluster: 'lbcluster',
  version: '0.1.0',
  profile: 'lan',
  safety: { mode: 'device', modes: ['lease', 'watchdog', 'device'], kernelLifetime: true, covers: ['power cut'], doesNotCover: [] },
  fencing,
  led: 'double', // this node is fencing worker2
  stateSave: { dir: '/var/lib/piha', error: 'ENOSPC: no space left on device, write', silentForSec: 3.2, droppedSends: 20 },
});

const events = new EventLog({ context: () => ({ term: 4 }) });
events.record({ level: 'warn', event: 'quorum_lost', fields: { node: 'worker0', votes: 1, quorum: 2 } });
events.record({ level: 'info', event: 'vip_acquired', fields: { node: 'worker1', resource: 'kubernetes_api_port', ip: '192.168.0.150', why: 'worker2 stopped answering', term: 4 } });
events.record({ level: 'error', event: 'fence_failed', fields: { node: 'worker2', error: 'plug did not answer' } });

function chromiumPath(): string | null {
  for (const c of ['chromium', 'chromium-browser']) {
    const r = spawnSync(c, ['--version'], { encoding: 'utf8', timeout: 10_000 });
    if (r.status === 0 && /Chromium/i.test(r.stdout)) return c;
  }
  return null;
}

// ---------------------------------------------------------------- DevTools protocol on a pipe

class Cdp {
  private seq = 0;
  private buf = Buffer.alloc(0);
  private readonly waiting = new Map<number, { resolve: (v: any) => void; reject: (e: Error) => void }>();
  readonly requests: string[] = [];
  readonly consoleErrors: string[] = [];

  constructor(readonly proc: ChildProcess) {
    const out = proc.stdio[4] as NodeJS.ReadableStream;
    out.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      let i: number;
      while ((i = this.buf.indexOf(0)) >= 0) {
        const msg = JSON.parse(this.buf.subarray(0, i).toString('utf8'));
        this.buf = this.buf.subarray(i + 1);
        this.onMessage(msg);
      }
    });
  }

  private onMessage(msg: any): void {
    if (msg.id !== undefined) {
      const w = this.waiting.get(msg.id);
      this.waiting.delete(msg.id);
      if (msg.error) w?.reject(new Error(`${msg.error.message} (${JSON.stringify(msg.error)})`));
      else w?.resolve(msg.result);
      return;
    }
    if (msg.method === 'Network.requestWillBeSent') this.requests.push(msg.params.request.url);
    if (msg.method === 'Runtime.exceptionThrown') this.consoleErrors.push(JSON.stringify(msg.params.exceptionDetails));
    if (msg.method === 'Log.entryAdded' && msg.params.entry.level === 'error') this.consoleErrors.push(msg.params.entry.text);
  }

  send(method: string, params: object = {}, sessionId?: string): Promise<any> {
    const id = ++this.seq;
    const p = new Promise((resolve, reject) => this.waiting.set(id, { resolve, reject }));
    (this.proc.stdio[3] as NodeJS.WritableStream).write(JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) }) + '\0');
    return p;
  }
}

// ---------------------------------------------------------------- a tiny PNG decoder

/** Decodes an 8-bit RGB/RGBA, non-interlaced PNG (what Chromium writes) to RGBA pixels. */
function decodePng(png: Buffer): { width: number; height: number; rgba: Buffer } {
  assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'PNG signature');
  let off = 8;
  let width = 0;
  let height = 0;
  let colorType = 0;
  const idat: Buffer[] = [];
  while (off < png.length) {
    const len = png.readUInt32BE(off);
    const type = png.toString('latin1', off + 4, off + 8);
    const data = png.subarray(off + 8, off + 8 + len);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      assert.equal(data[8], 8, 'bit depth 8');
      colorType = data[9];
      assert.ok(colorType === 2 || colorType === 6, `colour type ${colorType}`);
      assert.equal(data[12], 0, 'not interlaced');
    } else if (type === 'IDAT') idat.push(data);
    else if (type === 'IEND') break;
    off += 12 + len;
  }
  const bpp = colorType === 6 ? 4 : 3;
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * bpp;
  assert.equal(raw.length, height * (stride + 1), 'inflated size');
  const cur = Buffer.alloc(stride);
  const prev = Buffer.alloc(stride);
  const rgba = Buffer.alloc(width * height * 4);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    for (let x = 0; x < stride; x++) {
      const a = x >= bpp ? cur[x - bpp] : 0;
      const b = prev[x];
      const c = x >= bpp ? prev[x - bpp] : 0;
      let v = line[x];
      if (filter === 1) v += a;
      else if (filter === 2) v += b;
      else if (filter === 3) v += (a + b) >> 1;
      else if (filter === 4) {
        const p = a + b - c;
        const pa = Math.abs(p - a);
        const pb = Math.abs(p - b);
        const pc = Math.abs(p - c);
        v += pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      } else assert.equal(filter, 0, `filter ${filter}`);
      cur[x] = v & 0xff;
    }
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 4;
      rgba[o] = cur[x * bpp];
      rgba[o + 1] = cur[x * bpp + 1];
      rgba[o + 2] = cur[x * bpp + 2];
      rgba[o + 3] = bpp === 4 ? cur[x * bpp + 3] : 255;
    }
    cur.copy(prev);
  }
  return { width, height, rgba };
}

// ---------------------------------------------------------------- the test

let server: StatusServer;
const system = createSystemInfoCache({ sampler: async () => ({ hostname: 'pi-0', uptimeSec: 100, load1: 0.1, load5: 0.1, load15: 0.1, memTotalBytes: 8e9, memAvailableBytes: 4e9, cpuTempC: 45 }) });

before(async () => {
  server = await startStatusServer({
    host: '127.0.0.1',
    port: 0,
    getStatus: () => status,
    getMetrics: () => ({}) as MetricsSnapshot,
    isAlive: () => true,
    system,
    events,
  });
});
after(async () => {
  await server.close();
  system.stop();
});

test('GET / serves the self-contained page with a strict CSP', async () => {
  const res = await fetch(server.address + '/');
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/html; charset=utf-8/);
  assert.equal(res.headers.get('content-security-policy'), STATUS_PAGE_CSP);
  assert.match(STATUS_PAGE_CSP, /default-src 'none'/);
  assert.match(STATUS_PAGE_CSP, /connect-src 'self'/);
  const html = await res.text();
  assert.equal(html, STATUS_PAGE_HTML);
  // Nothing from elsewhere: no external URL in src=/href=, no @import, no fonts.
  assert.doesNotMatch(html, /(src|href)="(https?:)?\/\//i);
  assert.doesNotMatch(html, /@import|url\(/i);
  assert.ok(html.length < 20_000, `page is ${html.length} bytes`);
  const head = await fetch(server.address + '/', { method: 'HEAD' });
  assert.equal(head.status, 200);
});

test('the page renders in headless chromium, goes live over SSE, and its screenshot is not blank', { timeout: 30_000 }, async (t) => {
  const chromium = chromiumPath();
  if (!chromium) {
    t.skip('chromium is not installed (apt-get install chromium, or make apt-deps): status page not tested in a browser');
    return;
  }
  const profile = mkdtempSync(join(tmpdir(), 'piha-chromium-'));
  const proc = spawn(
    chromium,
    [
      '--headless',
      '--no-sandbox', // runs as root in CI
      '--disable-gpu',
      '--disable-dev-shm-usage',
      '--no-first-run',
      '--no-default-browser-check',
      '--disable-extensions',
      '--hide-scrollbars',
      '--force-device-scale-factor=1',
      `--window-size=${WIDTH},${HEIGHT}`,
      `--user-data-dir=${profile}`,
      '--remote-debugging-pipe',
      'about:blank',
    ],
    { stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'] },
  );
  let stderr = '';
  proc.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  const cdp = new Cdp(proc);
  try {
    const t0 = Date.now();
    const { targetId } = await cdp.send('Target.createTarget', { url: 'about:blank' });
    const { sessionId } = await cdp.send('Target.attachToTarget', { targetId, flatten: true });
    const s = (m: string, p: object = {}) => cdp.send(m, p, sessionId);
    await s('Network.enable');
    await s('Runtime.enable');
    await s('Log.enable');
    await s('Emulation.setDeviceMetricsOverride', { width: WIDTH, height: HEIGHT, deviceScaleFactor: 1, mobile: false });
    await s('Page.navigate', { url: server.address + '/' });

    const evaluate = async (expression: string) => (await s('Runtime.evaluate', { expression, returnByValue: true })).result.value;
    const waitFor = async (what: string, expression: string, ms = 8000) => {
      const start = Date.now();
      for (;;) {
        const v = await evaluate(expression).catch(() => undefined);
        if (v) return v;
        if (Date.now() - start > ms) throw new Error(`page never showed ${what}; console errors: ${cdp.consoleErrors.join(' | ')}; stderr: ${stderr.slice(-800)}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };

    // The script ran: node cards with the LED pattern of each role.
    await waitFor('node cards', `document.querySelectorAll('#nodes .node').length === 4`);
    const cards = await evaluate(`JSON.stringify([...document.querySelectorAll('#nodes .node')].map((n) => [n.dataset.node, n.dataset.pattern, n.textContent]))`);
    const byNode = Object.fromEntries((JSON.parse(cards) as [string, string, string][]).map(([n, p, text]) => [n, { p, text }]));
    assert.equal(byNode.worker0.p, 'double', 'this node: its LED says fault/fencing');
    assert.equal(byNode.worker1.p, 'solid', 'the VIP holder');
    assert.match(byNode.worker1.text, /192\.168\.0\.150/);
    assert.equal(byNode.worker2.p, 'off', 'offline');
    assert.equal(byNode.nas.p, 'slow', 'member with quorum, holds nothing');
    assert.match(byNode.worker0.text, /DC/);
    // The VIP and its holder, quorum, fencing, events.
    assert.equal(await evaluate(`document.querySelector('#vips tr[data-resource="kubernetes_api_port"] .holder').textContent`), 'worker1');
    assert.match(await evaluate(`document.getElementById('quorum').textContent`), /^quorum 2\/3 votes \(need 2\)$/);
    const safety = await evaluate(`document.getElementById('safety').textContent`);
    assert.match(safety, /lease \+ watchdog \+ device/);
    assert.match(safety, /fencing worker2, 2 attempt\(s\): plug did not answer/);
    assert.match(safety, /plug2 \(http-plug\) → worker2/);
    assert.match(safety, /state cannot save in \/var\/lib\/piha for 3\.2 s \(ENOSPC: no space left on device, write\): this node sends nothing until it can/);
    await waitFor('the event history', `document.querySelectorAll('#events tr[data-seq]').length === 3`);
    assert.match(await evaluate(`document.getElementById('events').textContent`), /kubernetes_api_port \(192\.168\.0\.150\) acquired by worker1: worker2 stopped answering/);

    // Live: the event stream is open, and an event recorded now appears without a reload.
    await waitFor('the live stream', `document.getElementById('conn').textContent === 'live'`);
    events.record({ level: 'info', event: 'coordinator_elected', fields: { node: 'worker1', term: 5 } });
    await waitFor('a live event', `document.getElementById('events').textContent.includes('worker1 elected coordinator (term 5)')`, 4000);

    // Everything came from this server.
    const foreign = cdp.requests.filter((u) => !u.startsWith(server.address) && !u.startsWith('about:') && !u.startsWith('data:'));
    assert.deepEqual(foreign, []);
    assert.deepEqual(cdp.consoleErrors, [], 'no script errors or CSP violations');

    // The screenshot: a PNG of the window's size, not blank, with the role colours.
    const shot = await s('Page.captureScreenshot', { format: 'png' });
    const pngBytes = Buffer.from(shot.data, 'base64');
    if (process.env.PIHA_SCREENSHOT) writeFileSync(process.env.PIHA_SCREENSHOT, pngBytes); // to look at it
    const png = decodePng(pngBytes);
    assert.equal(png.width, WIDTH);
    assert.equal(png.height, HEIGHT);
    const colours = new Set<number>();
    let nonWhite = 0;
    const seen = { green: 0, red: 0, blue: 0, grey: 0, dark: 0 };
    const near = (o: number, rgb: number[]) => Math.abs(png.rgba[o] - rgb[0]) + Math.abs(png.rgba[o + 1] - rgb[1]) + Math.abs(png.rgba[o + 2] - rgb[2]) < 24;
    for (let o = 0; o < png.rgba.length; o += 4) {
      const [r, g, b] = [png.rgba[o], png.rgba[o + 1], png.rgba[o + 2]];
      colours.add((r >> 3) * 1024 + (g >> 3) * 32 + (b >> 3));
      if (r + g + b < 690) nonWhite++; // darker than the page background (#f4f5f7) and white cards
      if (near(o, [0x1f, 0x9d, 0x55])) seen.green++; // solid: holds a VIP
      if (near(o, [0xdc, 0x26, 0x26])) seen.red++; // double: fault/fencing
      if (near(o, [0x25, 0x63, 0xeb])) seen.blue++; // slow: member with quorum
      if (near(o, [0x9c, 0xa3, 0xaf])) seen.grey++; // off
      if (near(o, [0x1d, 0x24, 0x30])) seen.dark++; // the header bar
    }
    const pixels = png.width * png.height;
    t.diagnostic(`screenshot ${png.width}x${png.height}: ${colours.size} colours (5-bit), ${((100 * nonWhite) / pixels).toFixed(1)} % darker than the background, role pixels ${JSON.stringify(seen)}; ${Date.now() - t0} ms in the browser`);
    assert.ok(colours.size >= 20, `only ${colours.size} distinct colours: blank page?`);
    assert.ok(nonWhite / pixels > 0.05, `only ${nonWhite} pixels darker than the background`);
    // Each card has an 8-pixel border in its role colour, so hundreds of pixels each.
    for (const [name, n] of Object.entries(seen)) assert.ok(n > 200, `${name}: ${n} pixels`);
  } finally {
    await cdp.send('Browser.close').catch(() => undefined);
    await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    rmSync(profile, { recursive: true, force: true });
  }
});
