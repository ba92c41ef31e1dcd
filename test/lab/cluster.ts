// A lab cluster: the network-namespace LAN of lab.ts plus real piha daemons, one per node
// namespace, each with its own config file, state dir and control socket. The daemons run
// the built bundle (dist/piha) with this machine's node — the shipped artefact.

import { mkdtempSync, writeFileSync, rmSync, existsSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Lab, now, sleep, until, type LabProcess } from './lab.ts';

export const REPO = resolve(import.meta.dirname, '..', '..');
export const PIHA = join(REPO, 'dist', 'piha');
// PIHA_BIN=/path: a fixed copy of the binary (a bench that must not pick up a rebuild made while it runs).
export const PIHA_BIN = process.env.PIHA_BIN ? [process.env.PIHA_BIN] : ((sea) => (existsSync(sea) && existsSync(PIHA) && statSync(sea).mtimeMs >= statSync(PIHA).mtimeMs ? [sea] : [process.execPath, PIHA]))(join(REPO, 'dist', 'piha-linux-x64')); // the single executable (scripts/sea.mjs) unless missing or older than the bundle
export const VIP = '192.0.2.150';

export interface ClusterOptions {
  nodes?: number;
  profile?: 'lan' | 'fast' | 'slow';
  extraCluster?: string; // extra YAML lines under cluster:
  resources?: string; // YAML of the resources: list (default: one VIP)
  prefers?: string; // e.g. "{ node1: 50 }"
  ipv6?: boolean; // the lab's members also get 2001:db8::/64 addresses (Lab ipv6)
  quorum?: string; // YAML lines under quorum: (e.g. "  two_node: true")
}

export class LabCluster {
  readonly dir: string;
  readonly daemons = new Map<string, LabProcess>();

  private constructor(
    readonly lab: Lab,
    readonly opts: ClusterOptions,
  ) {
    this.dir = mkdtempSync(join(tmpdir(), 'piha-lab-'));
  }

  static async create(opts: ClusterOptions = {}): Promise<LabCluster> {
    if (!existsSync(PIHA)) throw new Error(`${PIHA} is missing: run make build first`);
    const lab = await Lab.create({ nodes: opts.nodes ?? 3, vip: VIP, ipv6: opts.ipv6 });
    const c = new LabCluster(lab, opts);
    c.writeConfig();
    return c;
  }

  configFile(): string {
    return join(this.dir, 'piha.yaml');
  }

  private writeConfig(): void {
    const nodes = this.lab.nodes.map((n, i) => `  - { name: ${n.name}, id: ${i + 1}, addr: ${n.addr} }`).join('\n');
    const resources =
      this.opts.resources ??
      `  - name: vip
    type: vip
    ip: ${VIP}
    cidr_netmask: 32
    monitor_interval: 1s
    migration_threshold: 3
    failure_timeout: 60s${this.opts.prefers ? `\n    prefers: ${this.opts.prefers}` : ''}`;
    const yaml = `cluster:
  name: labcluster
  authkey: ${join(this.dir, 'authkey')}
  interface: eth0
  profile: ${this.opts.profile ?? 'lan'}
${this.opts.extraCluster ?? ''}
nodes:
${nodes}
resources:
${resources}
${this.opts.quorum ? `quorum:\n${this.opts.quorum}\n` : ''}`;
    writeFileSync(this.configFile(), yaml);
    const key = Buffer.alloc(32, 7).toString('hex');
    writeFileSync(join(this.dir, 'authkey'), key + '\n', { mode: 0o600 });
  }

  socket(node: string): string {
    return join(this.dir, `${node}.sock`);
  }

  start(node: string, configFile = this.configFile()): LabProcess {
    const m = this.lab.node(node);
    const p = this.lab.spawn(
      m.ns,
      [...PIHA_BIN, 'daemon', '--config', configFile, '--node', node, '--state-dir', join(this.dir, `${node}-state`), '--socket', this.socket(node)],
      { logFile: join(this.dir, `${node}.log`), name: `piha@${node}` },
    );
    this.daemons.set(node, p);
    return p;
  }

  async startAll(): Promise<void> {
    for (const n of this.lab.nodes) this.start(n.name);
  }

  /** Runs the CLI inside a node's namespace against that node's daemon. */
  async cli(node: string, args: string[]) {
    const m = this.lab.node(node);
    return this.lab.exec(m.ns, [...PIHA_BIN, ...args, '--socket', this.socket(node)]);
  }

  /** Every sample of /metrics at `ip:port`, scraped with curl from the client namespace. */
  async metrics(ip: string, port = 9405): Promise<Map<string, number>> {
    const r = await this.lab.exec(this.lab.client.ns, ['curl', '-sS', '--max-time', '3', `http://${ip}:${port}/metrics`], { timeoutMs: 8000 });
    if (r.code !== 0) throw new Error(`curl /metrics of ${ip} failed: ${r.stderr}`);
    const out = new Map<string, number>();
    for (const line of r.stdout.split('\n')) {
      const m = /^([a-z_:]+(?:\{[^}]*\})?) (\S+)$/.exec(line);
      if (m) out.set(m[1]!, Number(m[2]));
    }
    return out;
  }

  async statusJson(node: string): Promise<any> {
    const r = await this.cli(node, ['status', '--json']);
    if (r.code !== 0) throw new Error(`status on ${node} failed: ${r.stderr}`);
    return JSON.parse(r.stdout);
  }

  /**
   * Polls `piha status --json` on `node` until `pred` holds; returns that status. Heartbeats,
   * and the daemon's own start, take time a fixed sleep cannot promise on a busy machine.
   */
  async waitForStatus(node: string, what: string, pred: (s: any) => boolean, timeoutMs = 10_000): Promise<any> {
    let last: any = null;
    let err = '';
    const poll = async () => {
      try {
        last = await this.statusJson(node);
        return pred(last) && last;
      } catch (e) {
        err = String(e); // daemon still starting
        return false;
      }
    };
    return until(`${node} ${what}`, poll, timeoutMs, 100).catch((e: Error) => {
      throw new Error(`${e.message}; last status: ${last ? JSON.stringify({ nodes: last.nodes, resources: last.resources, configMismatch: last.configMismatch }) : err}`);
    });
  }

  /** Waits until `node` is quorate and sees every node online. */
  async waitAllOnline(node: string, timeoutMs = 10_000): Promise<any> {
    return this.waitForStatus(node, 'seeing every node online', (s) => s.quorate && s.nodes.every((n: any) => n.state === 'online'), timeoutMs);
  }

  /** Waits until exactly one node has the VIP on its interface (per the watcher). */
  async waitForHolder(w: ReturnType<Lab['watchAddress']>, timeoutMs = 15000, not?: string): Promise<string> {
    const t0 = now();
    while (now() - t0 < timeoutMs) {
      const h = w.holders();
      if (h.length === 1 && h[0] !== not) return h[0];
      await sleep(20);
    }
    throw new Error(`no single VIP holder within ${timeoutMs} ms (holders: ${w.holders().join(',') || 'none'})\n${this.logs()}`);
  }

  logs(lines = 25): string {
    let out = '';
    for (const n of this.lab.nodes) {
      const p = this.daemons.get(n.name);
      if (!p) continue;
      out += `--- ${n.name} (last ${lines} lines)\n${[...p.stdoutLines, ...p.stderrLines].slice(-lines).join('\n')}\n`;
    }
    return out;
  }

  async destroy(): Promise<void> {
    await this.lab.destroy();
    if (!process.env.PIHA_LAB_KEEP) rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Is a process still there (signal 0 probes without touching it)? */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
