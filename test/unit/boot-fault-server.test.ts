// piha fault-server (src/boot/fault-server.ts): what a node serves when the daemon cannot
// run. Real HTTP on 127.0.0.1 with an ephemeral port; no systemd: startDaemon is a stub.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { diagnose, runFaultServer, startFaultServer, type FaultReport, type RunFaultOptions } from '../../src/boot/fault-server.ts';
import { writeKeyFile } from '../../src/transport/authkey.ts';

function setup() {
  const dir = mkdtempSync(join(tmpdir(), 'piha-fault-'));
  const key = join(dir, 'authkey');
  writeKeyFile(key);
  const good = `cluster: { name: lab, authkey: ${key} }\nnodes:\n  - { name: pi1, id: 1, addr: 192.0.2.21 }\n`;
  return { dir, key, good, config: join(dir, 'piha.yaml') };
}

const base = (dir: string, config: string): Omit<RunFaultOptions, 'startDaemon' | 'stop'> => ({
  configPath: config,
  nodeFilePath: join(dir, 'piha-node'),
  localMacs: () => [],
  localAddrs: () => ['192.0.2.21'],
  statusBind: '127.0.0.1:0',
  stateFile: join(dir, 'run', 'fault.json'),
  attemptsFile: join(dir, 'run', 'fault-attempts'),
  checkEveryMs: 20,
  lastLog: () => ['Error: something the checks cannot see'],
  log: () => undefined,
});

/** Polls the state file (written with every report) until `pred` holds. */
async function waitFor<T>(get: () => T | undefined, pred: (v: T) => boolean, ms = 5000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = get();
    if (v !== undefined && pred(v)) return v;
    if (Date.now() > end) throw new Error(`timed out; last value ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
const state = (f: string): FaultReport | undefined => {
  try {
    return JSON.parse(readFileSync(f, 'utf8')) as FaultReport;
  } catch {
    return undefined;
  }
};

test('diagnose: config errors, unknown node, missing key; nothing when all is well', () => {
  const { dir, key, good, config } = setup();
  try {
    writeFileSync(config, 'cluster: { name: lab }\nnodes:\n  - { name: pi1, id: 1, addr: 192.0.2.5x }\n');
    const o = { configPath: config, nodeFilePath: join(dir, 'piha-node'), localMacs: () => [], localAddrs: () => ['192.0.2.21'] };
    let d = diagnose(o);
    assert.match(d.summary, /1 error; the daemon will not start/);
    assert.match(d.errors.join('\n'), /nodes\[0\]\.addr: "192\.0\.2\.5x" is not an IPv4 address/);
    writeFileSync(config, good);
    assert.deepEqual(diagnose(o).errors, []);
    d = diagnose({ ...o, localAddrs: () => ['10.0.0.9'] });
    assert.match(d.errors[0], /^which node is this\? no node in nodes: has an address on this machine/);
    writeFileSync(join(dir, 'piha-node'), 'pi2\n');
    assert.match(diagnose(o).errors[0], /piha-node names node "pi2", which is not in nodes:/);
    rmSync(join(dir, 'piha-node'));
    rmSync(key);
    assert.match(diagnose(o).errors[0], /^cluster key: authkey .* does not exist/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('bad config: /status 503 explains it; fixing the file starts the daemon at once', async () => {
  const { dir, good, config } = setup();
  try {
    writeFileSync(config, 'cluster: { name: lab }\nnodez: []\n');
    let started = 0;
    const done = runFaultServer({
      ...base(dir, config),
      startDaemon: async () => {
        started++;
      },
    });
    const stateFile = join(dir, 'run', 'fault.json');
    const s = await waitFor(() => state(stateFile), (r) => r.state === 'fault');
    assert.match(s.summary, /errors?; the daemon will not start until they are fixed/);
    assert.match(s.errors.join('\n'), /nodez/);
    assert.match(s.hint, /piha\.yaml on the boot partition/);
    assert.equal(s.lastLog, undefined);
    // The state file holds the same report the HTTP side serves (tested directly below).
    writeFileSync(config, good);
    assert.equal(await done, 'started-daemon');
    assert.equal(started, 1);
    assert.ok(!existsSync(stateFile), 'the state file goes when the fault does');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('daemon failing although the checks pass: last log shown, retried with backoff counted across runs', async () => {
  const { dir, good, config } = setup();
  try {
    writeFileSync(config, good);
    let started = 0;
    const o = { ...base(dir, config), retryBaseMs: 60, startDaemon: async () => void started++ };
    const t0 = Date.now();
    assert.equal(await runFaultServer(o), 'started-daemon');
    assert.ok(Date.now() - t0 >= 60);
    assert.equal(readFileSync(o.attemptsFile, 'utf8'), '1\n');
    // The next run (the daemon failed again) waits twice as long and reports the count.
    const t1 = Date.now();
    const second = runFaultServer(o);
    const s = await waitFor(() => state(o.stateFile), (r) => r.retryAt !== undefined);
    assert.match(s.summary, /keeps failing although its configuration checks pass \(2 times in a row\)/);
    assert.deepEqual(s.lastLog, ['Error: something the checks cannot see']);
    assert.equal(await second, 'started-daemon');
    assert.ok(Date.now() - t1 >= 120);
    assert.equal(readFileSync(o.attemptsFile, 'utf8'), '2\n');
    assert.equal(started, 2);
    // A configuration fault resets the count.
    writeFileSync(config, 'nope: 1\n');
    let stop!: () => void;
    const third = runFaultServer({ ...o, stop: new Promise<void>((r) => (stop = r)) });
    await waitFor(() => state(o.stateFile), (r) => r.errors.length > 0);
    assert.equal(readFileSync(o.attemptsFile, 'utf8'), '0\n');
    stop();
    assert.equal(await third, 'stopped');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('systemd refusing the start: the report stays up and the start is retried', async () => {
  const { dir, good, config } = setup();
  try {
    writeFileSync(config, 'nope: 1\n');
    let calls = 0;
    const logs: string[] = [];
    const done = runFaultServer({
      ...base(dir, config),
      retryBaseMs: 40,
      log: (l) => logs.push(l),
      startDaemon: async () => {
        if (++calls === 1) throw new Error('Failed to connect to bus');
      },
    });
    await waitFor(() => state(join(dir, 'run', 'fault.json')), (r) => r.errors.length > 0);
    writeFileSync(config, good);
    assert.equal(await done, 'started-daemon');
    assert.equal(calls, 2);
    assert.ok(logs.some((l) => l === 'fault: could not start piha: Failed to connect to bus'), logs.join('\n'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('HTTP: /status and /healthz 503 with the report, /metrics piha_fault 1, others 404', async () => {
  const report: FaultReport = {
    state: 'fault',
    version: 'x',
    node: { name: 'pi1' },
    since: new Date(0).toISOString(),
    summary: 'piha.yaml: 1 error',
    errors: ['piha.yaml:3: nodes[0].addr: bad'],
    hint: 'fix it',
  };
  const srv = await startFaultServer({ host: '127.0.0.1', port: 0, report });
  try {
    const url = `http://127.0.0.1:${srv.port}`;
    let r = await fetch(`${url}/status`);
    assert.equal(r.status, 503);
    assert.deepEqual(await r.json(), report);
    srv.setReport({ ...report, errors: [] });
    assert.deepEqual(((await (await fetch(`${url}/status`)).json()) as FaultReport).errors, []);
    r = await fetch(`${url}/healthz`);
    assert.equal(r.status, 503);
    assert.deepEqual(await r.json(), { ok: false, node: 'pi1', fault: 'piha.yaml: 1 error' });
    r = await fetch(`${url}/metrics`);
    assert.match(await r.text(), /^piha_fault 1$/m);
    assert.equal((await fetch(`${url}/nope`)).status, 404);
  } finally {
    await srv.close();
  }
});
