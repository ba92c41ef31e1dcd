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
//
// IPv6 VIPs get unsolicited Neighbour Advertisements instead (RFC 4861 7.2.6), on the same
// schedule (takeover burst, second burst, periodic refresh; a burst of 3 is the RFC's
// MAX_NEIGHBOR_ADVERTISEMENT): one `na6` (Debian package ipv6toolkit) process per packet,
//   na6 -i IF -s VIP -d ff02::1 -t VIP -o -e
// = from the VIP to all nodes, target the VIP, Override flag set, Solicited flag clear, with
// the target link-layer address option (na6 fills in the interface's MAC). A neighbour with
// an entry for the VIP takes the new MAC at once (state STALE, then confirmed by unicast);
// one without an entry ignores it and resolves normally when it needs to. Measured in the
// lab (kernel 6.18): the kernel itself sends NO advertisement for an address added with
// `nodad`, even with net.ipv6.conf.IF.ndisc_notify=1; it sends one only after DAD (~1 s later,
// once) or with accept_dad=0, and never on a lifetime refresh. So the kernel cannot be the
// announcer, and Debian's arping is IPv4-only (ndisc6 only solicits): na6 is the Debian tool
// that sends an unsolicited NA, with no raw-socket code or native addon in piha.
//
// Conflict detection (conflict.ts), when `conflict` is set: at each periodic announcement the
// holder also probes whether another host answers for the VIP (arping -D / ndisc6, one
// process, killed after conflictTimeoutMs, never more than one in flight per address). An
// answer from a MAC that is not this host's is reported (onConflict) and answered at once with
// a takeover-sized burst (burstCount of each form; NAs carry the Override flag) to pull the
// LAN's neighbour caches back; at most one such burst per conflictBurstGapMs, so two hosts
// that both insist cannot start a GARP war. Nothing is released: quorum decides who holds it.

import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { localMacs, otherMacs, parseProbe, probeCommand, type ConflictToolPaths } from './conflict.ts';

/** ARP request / ARP reply (IPv4), unsolicited neighbour advertisement (IPv6). */
export type GarpForm = 'request' | 'reply' | 'na';

export interface GarpOptions {
  /** Default true. */
  enabled?: boolean;
  arpingPath?: string;
  /** ipv6toolkit's na6, for IPv6 VIPs (default 'na6'). */
  na6Path?: string;
  /** Packets of each form per burst (default 3). */
  burstCount?: number;
  /** Spacing of packets in a burst (default 200 ms). */
  burstIntervalMs?: number;
  /** Second burst this long after takeover (default 2000 ms, 0 = none). */
  secondBurstDelayMs?: number;
  /**
   * Periodic announcement while held (default 30000 ms, 0 = none); start() may give each
   * address its own (the resource's garp_refresh). Each one starts a process per form, and
   * the conflict probe rides on it: a fork of the ~50 MB daemon each, then copy-on-write faults
   * in the daemon (on the x86 test VM a few ms of its CPU per announcement: bench/idle.md).
   */
  refreshIntervalMs?: number;
  /** Packets of each form per periodic announcement (default 1). */
  refreshCount?: number;
  /** IPv4 forms, default both. IPv6 addresses always get 'na'. */
  forms?: GarpForm[];
  /** Kill an arping still running after this (default 3000 ms; arping -c 1 takes ~1 s). */
  processTimeoutMs?: number;
  /**
   * Probe for another host answering for the VIP at each periodic announcement (conflict.ts):
   * the tools to use per family (null = that family is not probed). Default: no probing.
   */
  conflict?: ConflictToolPaths;
  /** Kill a conflict probe still running after this (default 3000 ms; arping -D -w 1 takes 1 s). */
  conflictTimeoutMs?: number;
  /** At most one conflict burst per address in this time (default 2000 ms). */
  conflictBurstGapMs?: number;
}

export interface GarpResult {
  ip: string;
  form: GarpForm;
  ok: boolean;
  error?: string;
}

/**
 * One conflict probe's outcome: `others` = MACs not of this host that answered for the VIP
 * (empty: no conflict), `reannounced` = a burst went out for it (false: rate-limited); or the
 * probe could not be run or read.
 */
export type ConflictResult = { ip: string; ok: true; others: string[]; reannounced: boolean } | { ip: string; ok: false; error: string };

export interface GarpAnnouncerOptions {
  ifname: string;
  /** Tests only: run arping via `ip netns exec NS`. */
  netns?: string;
  options?: GarpOptions;
  /** Called once per packet attempt, success or failure. Must not throw. */
  onResult?: (r: GarpResult) => void;
  /** Called once per conflict probe (options.conflict), success or failure. Must not throw. */
  onConflict?: (r: ConflictResult) => void;
  /** This host's MACs, asked only when a probe got an answer (default: `ip -j link show`). */
  ownMacs?: () => Promise<string[]>;
}

interface Announce {
  timers: Set<NodeJS.Timeout>;
  procs: Set<ChildProcess>;
  /** A conflict probe is running. */
  probing: boolean;
  /** performance.now() of the last conflict burst. */
  conflictBurstAt: number;
  /** The periodic announcement's interval timer (also in timers), and its period. */
  periodic: NodeJS.Timeout | null;
  periodMs: number;
}

export class GarpAnnouncer {
  readonly stats = { sent: 0, failed: 0 };
  /** Conflict probes run, probes that failed, probes another host answered, bursts sent for those. */
  readonly conflictStats = { probes: 0, probeFailures: 0, conflicts: 0, bursts: 0 };
  private readonly o: Required<Omit<GarpOptions, 'conflict'>> & { conflict: ConflictToolPaths | null };
  private readonly active = new Map<string, Announce>();

  constructor(private readonly cfg: GarpAnnouncerOptions) {
    const g = cfg.options ?? {};
    this.o = {
      enabled: g.enabled ?? true,
      arpingPath: g.arpingPath ?? 'arping',
      na6Path: g.na6Path ?? 'na6',
      burstCount: g.burstCount ?? 3,
      burstIntervalMs: g.burstIntervalMs ?? 200,
      secondBurstDelayMs: g.secondBurstDelayMs ?? 2000,
      refreshIntervalMs: g.refreshIntervalMs ?? 30_000,
      refreshCount: g.refreshCount ?? 1,
      forms: g.forms ?? ['request', 'reply'],
      processTimeoutMs: g.processTimeoutMs ?? 3000,
      conflict: g.conflict ?? null,
      conflictTimeoutMs: g.conflictTimeoutMs ?? 3000,
      conflictBurstGapMs: g.conflictBurstGapMs ?? 2000,
    };
  }

  /**
   * Takeover schedule for `ip`: burst now, second burst, then periodic every
   * `refreshIntervalMs` (0 = none). Replaces any running one.
   */
  start(ip: string, refreshIntervalMs = this.o.refreshIntervalMs): void {
    this.stop(ip);
    if (!this.o.enabled) return;
    const a: Announce = { timers: new Set(), procs: new Set(), probing: false, conflictBurstAt: -Infinity, periodic: null, periodMs: 0 };
    this.active.set(ip, a);
    this.burst(ip, a, this.o.burstCount);
    if (this.o.secondBurstDelayMs > 0) this.after(a, this.o.secondBurstDelayMs, () => this.burst(ip, a, this.o.burstCount));
    this.schedulePeriodic(ip, a, refreshIntervalMs);
  }

  /**
   * A held address's period changed (garp_refresh edited while it is held): the periodic
   * announcements follow at once, without a takeover burst. No-op if `ip` is not announced.
   */
  setRefresh(ip: string, refreshIntervalMs: number): void {
    const a = this.active.get(ip);
    if (a && a.periodMs !== refreshIntervalMs) this.schedulePeriodic(ip, a, refreshIntervalMs);
  }

  /** Current periodic interval of `ip` (0 = none; undefined = not announced). For tests. */
  refreshOf(ip: string): number | undefined {
    return this.active.get(ip)?.periodMs;
  }

  private schedulePeriodic(ip: string, a: Announce, refreshIntervalMs: number): void {
    if (a.periodic) {
      clearInterval(a.periodic);
      a.timers.delete(a.periodic);
      a.periodic = null;
    }
    a.periodMs = Math.max(0, refreshIntervalMs);
    if (a.periodMs > 0) {
      const t = setInterval(() => {
        this.burst(ip, a, this.o.refreshCount);
        this.probe(ip, a);
      }, a.periodMs);
      t.unref();
      a.timers.add(t);
      a.periodic = t;
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
        for (const form of ip.includes(':') ? (['na'] as const) : this.o.forms) this.sendOne(ip, a, form);
      };
      if (i === 0) send();
      else this.after(a, i * this.o.burstIntervalMs, send);
    }
  }

  private sendOne(ip: string, a: Announce, form: GarpForm): void {
    if (this.active.get(ip) !== a) return; // stopped meanwhile
    const [cmd, argv] = announceCommand(this.cfg.ifname, ip, form, this.o, this.cfg.netns);
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
      this.report({ ip, form, ok, error: ok ? undefined : why || err.trim() || `${form === 'na' ? 'na6' : 'arping'} failed` });
    };
    const watchdog = setTimeout(() => {
      child.kill('SIGKILL');
      finish(false, `${form === 'na' ? 'na6' : 'arping'} still running after ${this.o.processTimeoutMs} ms`);
    }, this.o.processTimeoutMs);
    child.stderr!.setEncoding('utf8').on('data', (c: string) => { if (err.length < 4096) err += c; });
    child.on('error', (e) => finish(false, String(e)));
    child.on('close', (code, sig) => finish(code === 0, sig ? `killed by ${sig}` : `exit ${code}: ${err.trim()}`));
  }

  /**
   * One conflict probe for `ip` (see the top of this file). Runs beside the announcement, in its
   * own process with a kill watchdog; the result is dropped if the address was released or
   * re-acquired meanwhile (stop() kills the probe with the announcements).
   */
  private probe(ip: string, a: Announce): void {
    if (!this.o.conflict || a.probing || this.active.get(ip) !== a) return;
    const cmd = probeCommand(this.cfg.ifname, ip, this.o.conflict, this.cfg.netns);
    if (!cmd) return; // no tool for this family: detection is off (warned at start)
    let child: ChildProcess;
    try {
      child = spawn(cmd[0], cmd[1], { stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (e) {
      return this.conflictReport(a, ip, { ip, ok: false, error: String(e) });
    }
    a.probing = true;
    a.procs.add(child);
    this.conflictStats.probes++;
    let out = '';
    let err = '';
    let done = false;
    const finish = (code: number | null, why?: string): void => {
      if (done) return;
      done = true;
      clearTimeout(watchdog);
      a.procs.delete(child);
      a.probing = false;
      if (this.active.get(ip) !== a) return; // released meanwhile: nothing to say about it
      if (why) return this.conflictReport(a, ip, { ip, ok: false, error: why });
      const r = parseProbe(ip, code, out, err);
      if (!r.ok) return this.conflictReport(a, ip, { ip, ok: false, error: r.error });
      if (!r.macs.length) return this.conflictReport(a, ip, { ip, ok: true, others: [], reannounced: false });
      // Someone answered: drop this host's own MACs (never seen in the lab, see conflict.ts).
      (this.cfg.ownMacs ?? (() => localMacs(this.cfg.netns)))().then(
        (own) => {
          if (this.active.get(ip) !== a) return;
          const others = otherMacs(r.macs, own);
          this.conflictReport(a, ip, { ip, ok: true, others, reannounced: others.length > 0 && this.conflictBurst(ip, a) });
        },
        (e: unknown) => {
          if (this.active.get(ip) === a) this.conflictReport(a, ip, { ip, ok: false, error: `answered by ${r.macs.join(', ')}, but this host's MACs are unknown: ${(e as Error).message}` });
        },
      );
    };
    const tool = ip.includes(':') ? 'ndisc6' : 'arping';
    const watchdog = setTimeout(() => {
      child.kill('SIGKILL');
      finish(null, `${tool} still running after ${this.o.conflictTimeoutMs} ms`);
    }, this.o.conflictTimeoutMs);
    watchdog.unref();
    child.stdout!.setEncoding('utf8').on('data', (c: string) => { if (out.length < 16384) out += c; });
    child.stderr!.setEncoding('utf8').on('data', (c: string) => { if (err.length < 4096) err += c; });
    child.on('error', (e) => finish(null, String(e)));
    child.on('close', (code, sig) => finish(code, sig ? `${tool} killed by ${sig}` : undefined));
  }

  /** The re-announcement after a conflict: a takeover-sized burst, at most one per conflictBurstGapMs. */
  private conflictBurst(ip: string, a: Announce): boolean {
    const t = performance.now();
    if (t - a.conflictBurstAt < this.o.conflictBurstGapMs) return false;
    a.conflictBurstAt = t;
    this.conflictStats.bursts++;
    this.burst(ip, a, this.o.burstCount);
    return true;
  }

  private conflictReport(a: Announce, ip: string, r: ConflictResult): void {
    if (this.active.get(ip) !== a) return;
    if (!r.ok) this.conflictStats.probeFailures++;
    else if (r.others.length) this.conflictStats.conflicts++;
    try {
      this.cfg.onConflict?.(r);
    } catch {
      /* a reporting bug must not break announcing */
    }
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

/**
 * The process that sends one announcement: [file, argv]. IPv4: `arping -q -U|-A -c 1 -I IF -s
 * VIP VIP`; IPv6 ('na'): `na6 -i IF -s VIP -d ff02::1 -t VIP -o -e` (see the top of this file).
 */
export function announceCommand(
  ifname: string,
  ip: string,
  form: GarpForm,
  paths: { arpingPath?: string; na6Path?: string } = {},
  netns?: string,
): [string, string[]] {
  const [bin, args] =
    form === 'na'
      ? [paths.na6Path ?? 'na6', ['-i', ifname, '-s', ip, '-d', 'ff02::1', '-t', ip, '-o', '-e']]
      : [paths.arpingPath ?? 'arping', ['-q', form === 'request' ? '-U' : '-A', '-c', '1', '-I', ifname, '-s', ip, ip]];
  return netns ? ['ip', ['netns', 'exec', netns, bin, ...args]] : [bin, args];
}

/**
 * The absolute path of an executable `name` on PATH or in `extraDirs` (na6 lives in /usr/sbin,
 * which a non-root PATH may lack), or null. A name with a slash is checked as it is.
 */
export function findExecutable(name: string, extraDirs: string[] = ['/usr/sbin', '/sbin'], path = process.env.PATH ?? ''): string | null {
  const ok = (f: string): boolean => {
    try {
      accessSync(f, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  };
  if (name.includes('/')) return ok(name) ? name : null;
  for (const dir of [...path.split(delimiter).filter(Boolean), ...extraDirs]) {
    const f = join(dir, name);
    if (ok(f)) return f;
  }
  return null;
}

/**
 * The start-up check: IPv6 VIPs need na6 (`na6Path` = where findExecutable found it, or null).
 * The error to refuse start-up with, or null. No IPv6 VIP, no requirement.
 */
export function na6Requirement(resources: { name: string; ip: string }[], na6Path: string | null): string | null {
  const v6 = resources.filter((r) => r.ip.includes(':'));
  if (!v6.length || na6Path) return null;
  return `IPv6 VIP ${v6.map((r) => `${r.name} (${r.ip})`).join(', ')} needs na6 to send unsolicited neighbour advertisements, and na6 is not installed: apt-get install ipv6toolkit`;
}
