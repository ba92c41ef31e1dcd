// Gratuitous ARP for a VIP, with iputils arping, fire-and-forget.
//
// Both forms are sent because networks differ: some routers/switches only update a cached
// MAC from an ARP request (`arping -U`), others only from a reply (`arping -A`). Stale MACs
// are the usual field failure after a takeover, so there is a burst at takeover, a second
// burst a little later (a switch port or STP state may have eaten the first), and a periodic
// refresh while the VIP is held.
//
// iputils arping (20221126) only takes whole seconds for -i, `-i 0` never exits, and even
// `-c 1` lingers ~1 s waiting for replies. So each packet is its own `arping -c 1` process
// spawned on our timer (exact spacing, exact count), and each process has a kill watchdog.
// On stop() the in-flight processes are killed too: a GARP sent after we released the
// address would pull the traffic back from the new holder.

import { spawn, type ChildProcess } from 'node:child_process';

export type GarpForm = 'request' | 'reply';

export interface GarpOptions {
  /** Default true. */
  enabled?: boolean;
  arpingPath?: string;
  /** Packets of each form per burst (default 3). */
  burstCount?: number;
  /** Spacing of packets in a burst (default 200 ms). */
  burstIntervalMs?: number;
  /** Second burst this long after takeover (default 2000 ms, 0 = none). */
  secondBurstDelayMs?: number;
  /** Periodic announcement while held (default 10000 ms, 0 = none). */
  refreshIntervalMs?: number;
  /** Packets of each form per periodic announcement (default 1). */
  refreshCount?: number;
  /** Default both. */
  forms?: GarpForm[];
  /** Kill an arping still running after this (default 3000 ms; arping -c 1 takes ~1 s). */
  processTimeoutMs?: number;
}

export interface GarpResult {
  ip: string;
  form: GarpForm;
  ok: boolean;
  error?: string;
}

export interface GarpAnnouncerOptions {
  ifname: string;
  /** Tests only: run arping via `ip netns exec NS`. */
  netns?: string;
  options?: GarpOptions;
  /** Called once per packet attempt, success or failure. Must not throw. */
  onResult?: (r: GarpResult) => void;
}

interface Announce {
  timers: Set<NodeJS.Timeout>;
  procs: Set<ChildProcess>;
}

export class GarpAnnouncer {
  readonly stats = { sent: 0, failed: 0 };
  private readonly o: Required<GarpOptions>;
  private readonly active = new Map<string, Announce>();

  constructor(private readonly cfg: GarpAnnouncerOptions) {
    const g = cfg.options ?? {};
    this.o = {
      enabled: g.enabled ?? true,
      arpingPath: g.arpingPath ?? 'arping',
      burstCount: g.burstCount ?? 3,
      burstIntervalMs: g.burstIntervalMs ?? 200,
      secondBurstDelayMs: g.secondBurstDelayMs ?? 2000,
      refreshIntervalMs: g.refreshIntervalMs ?? 10_000,
      refreshCount: g.refreshCount ?? 1,
      forms: g.forms ?? ['request', 'reply'],
      processTimeoutMs: g.processTimeoutMs ?? 3000,
    };
  }

  /** Takeover schedule for `ip`: burst now, second burst, then periodic. Replaces any running one. */
  start(ip: string): void {
    this.stop(ip);
    if (!this.o.enabled) return;
    const a: Announce = { timers: new Set(), procs: new Set() };
    this.active.set(ip, a);
    this.burst(ip, a, this.o.burstCount);
    if (this.o.secondBurstDelayMs > 0) this.after(a, this.o.secondBurstDelayMs, () => this.burst(ip, a, this.o.burstCount));
    if (this.o.refreshIntervalMs > 0) {
      const t = setInterval(() => this.burst(ip, a, this.o.refreshCount), this.o.refreshIntervalMs);
      t.unref();
      a.timers.add(t);
    }
  }

  /** Cancel timers and kill in-flight arping processes for `ip`. */
  stop(ip: string): void {
    const a = this.active.get(ip);
    if (!a) return;
    this.active.delete(ip);
    for (const t of a.timers) clearTimeout(t); // clearTimeout also clears intervals
    for (const p of a.procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  }

  /** Is an announcement schedule running for `ip`? */
  isActive(ip: string): boolean {
    return this.active.has(ip);
  }

  /** Number of arping processes alive (for tests and shutdown checks). */
  get inFlight(): number {
    let n = 0;
    for (const a of this.active.values()) n += a.procs.size;
    return n;
  }

  close(): void {
    for (const ip of [...this.active.keys()]) this.stop(ip);
  }

  private after(a: Announce, ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      a.timers.delete(t);
      fn();
    }, ms);
    t.unref(); // announcements never keep the daemon alive on their own
    a.timers.add(t);
  }

  private burst(ip: string, a: Announce, count: number): void {
    for (let i = 0; i < count; i++) {
      const send = (): void => {
        for (const form of this.o.forms) this.sendOne(ip, a, form);
      };
      if (i === 0) send();
      else this.after(a, i * this.o.burstIntervalMs, send);
    }
  }

  private sendOne(ip: string, a: Announce, form: GarpForm): void {
    if (this.active.get(ip) !== a) return; // stopped meanwhile
    const args = ['-q', form === 'request' ? '-U' : '-A', '-c', '1', '-I', this.cfg.ifname, '-s', ip, ip];
    const [cmd, argv] = this.cfg.netns
      ? ['ip', ['netns', 'exec', this.cfg.netns, this.o.arpingPath, ...args]]
      : [this.o.arpingPath, args];
    let child: ChildProcess;
    try {
      child = spawn(cmd, argv, { stdio: ['ignore', 'ignore', 'pipe'] });
    } catch (e) {
      return this.report({ ip, form, ok: false, error: String(e) });
    }
    a.procs.add(child);
    let err = '';
    let done = false;
    const finish = (ok: boolean, why?: string): void => {
      if (done) return;
      done = true;
      clearTimeout(watchdog);
      a.procs.delete(child);
      // Killed by stop(): the packet most likely went out already; count it neither way.
      if (this.active.get(ip) !== a && child.signalCode === 'SIGKILL') return;
      this.report({ ip, form, ok, error: ok ? undefined : why || err.trim() || 'arping failed' });
    };
    const watchdog = setTimeout(() => {
      child.kill('SIGKILL');
      finish(false, `arping still running after ${this.o.processTimeoutMs} ms`);
    }, this.o.processTimeoutMs);
    child.stderr!.setEncoding('utf8').on('data', (c: string) => { if (err.length < 4096) err += c; });
    child.on('error', (e) => finish(false, String(e)));
    child.on('close', (code, sig) => finish(code === 0, sig ? `killed by ${sig}` : `exit ${code}: ${err.trim()}`));
  }

  private report(r: GarpResult): void {
    if (r.ok) this.stats.sent++;
    else this.stats.failed++;
    try {
      this.cfg.onResult?.(r);
    } catch {
      /* a reporting bug must not break announcing */
    }
  }
}
