// `piha fault-server`: what a node serves on the status port when the daemon cannot run.
//
// On the image, piha.service exits with status 2 on a configuration error (bad piha.yaml,
// unknown node, missing key) and systemd does not restart it (RestartPreventExitStatus=2);
// a crash loop ends at systemd's start limit. Either way the unit fails and its OnFailure=
// starts piha-fault.service, which runs this: GET /status answers 503 with every error and
// how to fix it, /healthz 503, /metrics piha_fault 1, the same report goes to the journal
// and to /run/piha/fault.json (for the status LED). It re-checks every few seconds; once
// the checks pass (the file was edited, DHCP gave the address that identifies the node) it
// starts piha.service, whose Conflicts= stops this server. No silent boot loop, no tight
// restart loop: a daemon failing for a reason the checks cannot see is retried with backoff.

import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import { formatErrors, loadConfigFile, readNodeFile, resolveLocalNode } from '../config/index.ts';
import { createHttpServer } from '../api/http-server.ts';
import { loadKeyFile } from '../transport/authkey.ts';
import { VERSION } from '../version.ts';

export interface DiagnoseOptions {
  configPath: string;
  nodeName?: string;
  nodeFilePath: string;
  localMacs: () => string[];
  localAddrs: () => string[];
}

export interface Diagnosis {
  /** One line for the journal and the LED's owner. */
  summary: string;
  /** Every error, each with its fix. Empty: nothing wrong that piha can see. */
  errors: string[];
  /** Status bind of a valid config (else the default). */
  statusBind?: string;
}

/** The checks the daemon makes before it starts, without starting it. */
export function diagnose(o: DiagnoseOptions): Diagnosis {
  const { config, errors } = loadConfigFile(o.configPath);
  if (!config) {
    return {
      summary: `${o.configPath}: ${errors.length} error${errors.length === 1 ? '' : 's'}; the daemon will not start until they are fixed`,
      errors: formatErrors(errors, o.configPath).split('\n'),
    };
  }
  const out: string[] = [];
  let nodeFile;
  try {
    nodeFile = readNodeFile(o.nodeFilePath);
  } catch (e) {
    out.push(`${o.nodeFilePath}: ${(e as Error).message}`);
  }
  const who = resolveLocalNode(config, { nodeName: o.nodeName, localMacs: o.localMacs(), localAddrs: o.localAddrs(), nodeFile });
  if ('error' in who) out.push(`which node is this? ${who.error}`);
  try {
    loadKeyFile(config.cluster.authkey);
  } catch (e) {
    out.push(`cluster key: ${(e as Error).message}`);
  }
  return {
    summary: out.length > 0 ? `the daemon cannot start: ${out[0]}` : 'no configuration error found',
    errors: out,
    statusBind: config.cluster.statusBind,
  };
}

export interface FaultReport {
  state: 'fault';
  version: string;
  node: { name: string };
  since: string;
  summary: string;
  errors: string[];
  /** The daemon's last journal lines, when the checks find nothing wrong. */
  lastLog?: string[];
  hint: string;
  /** When the next start attempt is due (ISO time), if one is scheduled. */
  retryAt?: string;
}

export interface FaultServer {
  port: number;
  setReport(r: FaultReport): void;
  close(): Promise<void>;
}

/** The HTTP side: small, read-only, with the same limits as the daemon's status server. */
export async function startFaultServer(opts: { host: string; port: number; report: FaultReport }): Promise<FaultServer> {
  let report = opts.report;
  // Other methods are 404 like an unknown path (no 405 here); bodies are never read.
  const app = createHttpServer({ maxConnections: 64 });
  // 503: monitoring and `curl -f` see a node that is not working; the body says why.
  app.get('/status', () => ({ status: 503, headers: { 'cache-control': 'no-store' }, body: report }));
  app.get('/healthz', () => ({ status: 503, headers: { 'cache-control': 'no-store' }, body: { ok: false, node: report.node.name, fault: report.summary } }));
  app.get('/metrics', () => ({
    headers: { 'content-type': 'text/plain; version=0.0.4' },
    body: '# HELP piha_fault 1 while the daemon cannot run (see /status).\n# TYPE piha_fault gauge\npiha_fault 1\n',
  }));
  await app.listen(opts.host, opts.port);
  return {
    port: app.port,
    setReport: (r) => {
      report = r;
    },
    close: () => app.close(),
  };
}

export interface RunFaultOptions extends DiagnoseOptions {
  /** host:port; default the config's status_bind, else 0.0.0.0:9405. */
  statusBind?: string;
  /** /run/piha/fault.json: the report while this runs (removed on exit). */
  stateFile: string;
  /** Remembers failed start attempts across fault-server runs (backoff). */
  attemptsFile: string;
  checkEveryMs?: number;
  /** Backoff for a daemon that fails although every check passes: base·2^attempt, capped. */
  retryBaseMs?: number;
  retryMaxMs?: number;
  /** The daemon's recent log lines (journalctl). */
  lastLog: () => string[];
  /** Starts the daemon (systemctl); this server is stopped by it or returns right after. */
  startDaemon: () => Promise<void>;
  log: (line: string) => void;
  now?: () => number;
  /** Resolves to stop early (tests, SIGTERM). */
  stop?: Promise<void>;
}

/** Serves the fault until the daemon is worth starting again; resolves with why it stopped. */
export async function runFaultServer(o: RunFaultOptions): Promise<'started-daemon' | 'stopped'> {
  const now = o.now ?? Date.now;
  const checkEveryMs = o.checkEveryMs ?? 3000;
  const base = o.retryBaseMs ?? 30_000;
  const max = o.retryMaxMs ?? 600_000;
  const since = new Date(now()).toISOString();
  let d = diagnose(o);
  const bad = () => d.errors.length > 0;
  // A configuration fault is not the daemon failing by itself: it does not count for backoff.
  let attempts = bad() ? 0 : readAttempts(o.attemptsFile);
  if (bad()) writeAttempts(o.attemptsFile, 0);
  let retryAt = bad() ? undefined : now() + Math.min(base * 2 ** attempts, max);
  // The daemon is not running while this runs, so its last lines do not change: read once.
  const lastLog = bad() ? [] : o.lastLog();

  const build = (): FaultReport => ({
    state: 'fault',
    version: VERSION,
    node: { name: hostname() },
    since,
    summary: bad() ? d.summary : `the daemon keeps failing although its configuration checks pass (${attempts + 1} time${attempts ? 's' : ''} in a row)`,
    errors: d.errors,
    ...(bad() ? {} : { lastLog }),
    hint: bad()
      ? `fix ${o.configPath} (on the image: piha.yaml on the boot partition, editable from any PC); piha starts within ${Math.ceil(checkEveryMs / 1000)} s of a good change`
      : 'see lastLog and `journalctl -u piha`; piha is started again at retryAt',
    ...(retryAt !== undefined ? { retryAt: new Date(retryAt).toISOString() } : {}),
  });
  const [host, portText] = splitHostPort(o.statusBind ?? d.statusBind ?? '0.0.0.0:9405');
  let server: FaultServer;
  try {
    server = await startFaultServer({ host, port: Number(portText), report: build() });
  } catch (e) {
    // Still say what is wrong (journal), then fail: systemd shows the unit as failed.
    o.log(`fault: ${build().summary}`);
    for (const err of d.errors) o.log(`fault: ${err}`);
    throw new Error(`cannot serve the fault report on ${host}:${portText}: ${(e as Error).message}`, { cause: e });
  }
  let shown = '';
  const publish = () => {
    const report = build();
    server.setReport(report);
    writeJson(o.stateFile, report);
    const text = [report.summary, ...report.errors].join('\n');
    if (text === shown) return;
    shown = text;
    o.log(`fault: ${report.summary}`);
    for (const e of report.errors) o.log(`fault: ${e}`);
    o.log(`fault: serving this on http://${host}:${server.port}/status; ${report.hint}`);
  };
  publish();

  /** Asks for the daemon; false (and logged) when systemd could not be asked. */
  const start = async (): Promise<boolean> => {
    try {
      await o.startDaemon();
      return true;
    } catch (e) {
      o.log(`fault: could not start piha: ${(e as Error).message}`);
      return false;
    }
  };

  let stopped = false;
  void o.stop?.then(() => {
    stopped = true;
  });
  try {
    while (!stopped) {
      await Promise.race([sleep(checkEveryMs), o.stop ?? new Promise(() => undefined)]);
      if (stopped) break;
      const wasBad = bad();
      d = diagnose(o);
      if (!bad() && wasBad) {
        // Fixed (an edit, or DHCP gave the address that identifies this node): start at once.
        o.log('fault: the configuration checks pass now; starting piha');
        if (await start()) return 'started-daemon';
        retryAt = now() + base;
      }
      if (bad()) retryAt = undefined;
      else if (retryAt === undefined) retryAt = now() + Math.min(base * 2 ** attempts, max);
      else if (now() >= retryAt) {
        writeAttempts(o.attemptsFile, attempts + 1);
        o.log(`fault: starting piha again (attempt ${attempts + 2})`);
        if (await start()) return 'started-daemon';
        retryAt = now() + Math.min(base * 2 ** attempts, max);
      }
      publish();
    }
    return 'stopped';
  } finally {
    await server.close();
    rmSync(o.stateFile, { force: true });
  }
}

function splitHostPort(s: string): [string, string] {
  const i = s.lastIndexOf(':');
  return [s.slice(0, i).replace(/^\[|\]$/g, '') || '0.0.0.0', s.slice(i + 1)];
}

function readAttempts(file: string): number {
  try {
    const n = Number(readFileSync(file, 'utf8').trim());
    return Number.isInteger(n) && n >= 0 && n < 64 ? n : 0;
  } catch {
    return 0;
  }
}

function writeAttempts(file: string, n: number): void {
  try {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, `${n}\n`);
  } catch {
    /* best effort: without it the backoff restarts at its base */
  }
}

function writeJson(file: string, value: unknown): void {
  try {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(`${file}.tmp`, JSON.stringify(value, null, 2) + '\n');
    renameSync(`${file}.tmp`, file);
  } catch {
    /* the HTTP report and the journal still say it */
  }
}

/** unref: once the server is closed, a pending check must not keep the process alive. */
function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms).unref());
}
