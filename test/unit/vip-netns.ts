// Test lab for the VIP adapter: two network namespaces joined by a veth pair.
//   node   (eth0 192.0.2.11/24)  <-- veth -->  client (eth0 192.0.2.2/24)
// Only 192.0.2.0/24 (TEST-NET-1) is used, and only inside namespaces created here, so no
// packet can leave the host. Every namespace and process is removed by destroy().

import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';

export const NODE_IP = '192.0.2.11';
export const CLIENT_IP = '192.0.2.2';
export const NODE_IP6 = '2001:db8::11';
export const CLIENT_IP6 = '2001:db8::2';

function ip(...args: string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Why the lab cannot run here (not root, no netns support), or null. */
export function labUnavailable(): string | null {
  if (process.getuid?.() !== 0) return 'needs root (network namespaces)';
  try {
    execFileSync('ip', ['-V'], { stdio: 'ignore' });
    execFileSync('arping', ['-V'], { stdio: 'ignore' });
  } catch {
    return 'needs iproute2 and iputils-arping';
  }
  return null;
}

export class Lab {
  readonly node: string;
  readonly client: string;
  private readonly procs = new Set<ChildProcess>();

  constructor() {
    const tag = randomBytes(4).toString('hex');
    this.node = `pihavip-${tag}-n`;
    this.client = `pihavip-${tag}-c`;
    try {
      ip('netns', 'add', this.node);
      ip('netns', 'add', this.client);
      ip('link', 'add', `pv${tag}a`, 'netns', this.node, 'type', 'veth', 'peer', 'name', `pv${tag}b`, 'netns', this.client);
      for (const [ns, dev, addr] of [[this.node, `pv${tag}a`, NODE_IP], [this.client, `pv${tag}b`, CLIENT_IP]]) {
        ip('-n', ns, 'link', 'set', dev, 'name', 'eth0');
        ip('-n', ns, 'addr', 'add', `${addr}/24`, 'dev', 'eth0');
        ip('-n', ns, 'link', 'set', 'eth0', 'up');
        ip('-n', ns, 'link', 'set', 'lo', 'up');
      }
    } catch (e) {
      this.destroy();
      throw e;
    }
  }

  /** `ip -n NS ...` in one of the lab namespaces. */
  ip(ns: string, ...args: string[]): string {
    return ip('-n', ns, ...args);
  }

  /** inet addresses on the node's eth0: local -> valid_life_time. */
  nodeAddrs(): Map<string, number> {
    const links = JSON.parse(this.ip(this.node, '-j', 'addr', 'show', 'dev', 'eth0')) as {
      addr_info?: { family: string; local: string; valid_life_time: number }[];
    }[];
    const m = new Map<string, number>();
    for (const l of links) for (const a of l.addr_info ?? []) if (a.family === 'inet') m.set(a.local, a.valid_life_time);
    return m;
  }

  nodeMac(): string {
    return (JSON.parse(this.ip(this.node, '-j', 'link', 'show', 'dev', 'eth0'))[0] as { address: string }).address;
  }

  /** Start a process inside a namespace; killed by pid in destroy(). */
  exec(ns: string, cmd: string, args: string[]): ChildProcess {
    const child = spawn('ip', ['netns', 'exec', ns, cmd, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.procs.add(child);
    child.on('exit', () => this.procs.delete(child));
    return child;
  }

  /**
   * tcpdump of ARP on the client's eth0. Resolves once tcpdump is listening; lines() returns
   * what it printed so far, stop() ends it.
   */
  captureArp(): Promise<{ lines(): string[]; stop(): Promise<void> }> {
    return this.tcpdump(['arp']);
  }

  /**
   * IPv6 on both ends: 2001:db8::11/64 (node), 2001:db8::2/64 (client), no DAD on them (so no
   * ~1 s wait); IPv6 is switched on explicitly in case the host's defaults turn it off.
   */
  enableIPv6(): void {
    for (const [ns, addr] of [[this.node, NODE_IP6], [this.client, CLIENT_IP6]] as const) {
      execFileSync('ip', ['netns', 'exec', ns, 'sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=0', 'net.ipv6.conf.eth0.disable_ipv6=0', 'net.ipv6.conf.eth0.accept_dad=0']);
      ip('-n', ns, 'addr', 'add', `${addr}/64`, 'dev', 'eth0', 'nodad');
    }
  }

  /** tcpdump -vv on the client's eth0 with a filter (as captureArp). */
  capture(filter: string): Promise<{ lines(): string[]; stop(): Promise<void> }> {
    return this.tcpdump(['-vv', filter]);
  }

  /** tcpdump on the client's eth0: resolves once it listens; lines() is what it printed so far. */
  private async tcpdump(args: string[]): Promise<{ lines(): string[]; stop(): Promise<void> }> {
    const child = this.exec(this.client, 'tcpdump', ['-l', '-n', '-e', '-i', 'eth0', ...args]);
    const out: string[] = [];
    let buf = '';
    child.stdout!.setEncoding('utf8').on('data', (c: string) => {
      buf += c;
      const parts = buf.split('\n');
      buf = parts.pop() ?? '';
      out.push(...parts);
    });
    await new Promise<void>((resolve, reject) => {
      let err = '';
      const t = setTimeout(() => reject(new Error(`tcpdump did not start: ${err}`)), 5000);
      child.stderr!.setEncoding('utf8').on('data', (c: string) => {
        err += c;
        if (err.includes('listening on')) {
          clearTimeout(t);
          resolve();
        }
      });
      child.on('exit', () => reject(new Error(`tcpdump exited: ${err}`)));
    });
    return { lines: () => [...out], stop: () => stopProc(child) };
  }

  destroy(): void {
    for (const p of this.procs) if (p.pid && p.exitCode === null) p.kill('SIGKILL');
    for (const ns of [this.node, this.client]) {
      try {
        ip('netns', 'del', ns); // also removes the veth pair
      } catch {
        /* never created */
      }
    }
  }
}

async function stopProc(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  await exited;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}
