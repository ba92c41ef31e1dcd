// Executes the core's VIP effects against the kernel (iproute2) and announces with GARP.
//
// The kernel lifetime is the backstop of the lease: acquire/refresh hand the kernel
// `valid_lft N`, so a frozen or killed daemon loses the address by itself. The `notAfter`
// rule (skip if the monotonic clock is past it) is checked by the ip runner as the very last
// thing before the command is written, after any queueing in front of it.
//
// IPv6 VIPs take the same path (same lock, lifetimes, guard, presence checks; iproute2 picks
// the family from the address) with two additions, both as keepalived does for its VIPs:
//   * `nodad`: usable at once. Without it the address is tentative for ~1 s of Duplicate
//     Address Detection (it cannot be used, the takeover is that much slower), and an NA
//     from the old holder still in flight during a switchover would mark it `dadfailed`
//     for good: the VIP would sit there dead. Quorum and leases are piha's DAD.
//   * `preferred_lft 0` (deprecated, RFC 4862): the VIP still receives and answers, but is
//     never picked as the source address of the holder's own outgoing connections (IPv6
//     source selection, RFC 6724, would otherwise prefer it when its prefix matches the
//     destination better), which would break when the VIP moves. keepalived does this for
//     /128 VIPs; piha for every IPv6 VIP. The backstop is valid_lft, as for IPv4.
// Announcements: gratuitous ARP for IPv4, unsolicited neighbour advertisements for IPv6
// (garp.ts); with `garp.conflict`, each periodic announcement also probes for another host
// answering for the VIP (conflict.ts), reported as a 'conflict' event.

import { isIPv4, isIPv6 } from 'node:net';
import { canonicalIPv6 } from '../config/formats.ts';
import { GarpAnnouncer, type ConflictResult, type GarpOptions, type GarpResult } from './garp.ts';
import { IpRunner, type IpResult, type IpRunnerOptions } from './ip.ts';
import { silentLogger, type VipLogger } from './log.ts';

export interface VipResource {
  name: string;
  ip: string;
  cidr: number;
  /** The resource's garp_refresh: ms between periodic announcements while held (0 = none); absent = the announcer's default. */
  garpRefreshMs?: number;
}

export type AcquireResult = 'added' | 'skipped' | 'failed';
export type RefreshResult = 'refreshed' | 'skipped' | 'missing' | 'failed';

export interface VipCounters {
  adds: number;
  refreshes: number;
  skippedStale: number;
  releases: number;
  failures: number;
  /** Refreshes that found the address gone (fed to the monitor as a failure). */
  missing: number;
  garpSent: number;
  garpFailed: number;
  /** Conflict probes run, probes that failed, probes another host answered, bursts sent for those. */
  conflictProbes: number;
  conflictProbeFailures: number;
  conflicts: number;
  conflictBursts: number;
}

export type VipEvent =
  | { type: 'acquire'; resource: string; ip: string; result: AcquireResult; validLftSec: number | null; error?: string }
  | { type: 'refresh'; resource: string; ip: string; result: RefreshResult; validLftSec: number; error?: string }
  | { type: 'release'; resource: string; ip: string; ok: boolean; error?: string }
  | { type: 'garp'; ip: string; form: GarpResult['form']; ok: boolean; error?: string }
  /**
   * A conflict probe's outcome (GarpOptions.conflict): `others` = MACs of other hosts that
   * answered for the VIP (empty: none did), `reannounced` = a burst went out for them.
   */
  | ({ type: 'conflict'; resource: string } & ConflictResult);

export interface VipManagerOptions {
  ifname: string;
  /** Monotonic clock in ms, the one `notAfter` is expressed in. */
  now: () => number;
  garp?: GarpOptions;
  logger?: VipLogger;
  onEvent?: (e: VipEvent) => void;
  /** ip runner tuning (mode, timeoutMs, ipPath). */
  ip?: Omit<IpRunnerOptions, 'netns' | 'logger'>;
  /** Tests only: operate in this named netns instead of the current one. */
  netns?: string;
  /** This host's MACs, for conflict probes (default: every interface, `ip -j link show`). */
  ownMacs?: () => Promise<string[]>;
}

interface AddrInfo {
  family: string;
  local: string;
  prefixlen: number;
  valid_life_time?: number;
}

// "Address not found" (kernels with extack) / EADDRNOTAVAIL (older): nothing to delete.
// A missing device cannot carry the address either.
const NOT_PRESENT_RE = /Address not found|Cannot assign requested address|Cannot find device|does not exist/i;

/** An operation queued on an address's lock, and when (VipManager.lastQueued). */
interface QueuedOp {
  op: string;
  since: number;
}

/** Fields of a skip warning (VipManager.lateness). */
interface Lateness {
  waitedMs: number;
  pastMs: number;
  budgetLeftMs: number;
  after?: string;
  behind?: string;
}

export class VipManager {
  private readonly ifname: string;
  private readonly now: () => number;
  private readonly log: VipLogger;
  private readonly onEvent?: (e: VipEvent) => void;
  private readonly ip: IpRunner;
  private readonly garp: GarpAnnouncer;
  private readonly c = { adds: 0, refreshes: 0, skippedStale: 0, releases: 0, failures: 0, missing: 0 };
  // Bumped by release: an acquire that completes after a release began must not announce.
  private readonly gen = new Map<string, number>();
  /** Per VIP: monotonic time its kernel lifetime (last applied) runs out; -Infinity after a skipped add. */
  private readonly lifetimeEnd = new Map<string, number>();
  /** Resource name of each address announced (conflict events name it). */
  private readonly names = new Map<string, string>();
  /**
   * Per-address lock: acquire, refresh and release of one VIP run one after another, in call
   * order. A refresh re-creates a missing address (see refresh()); without the lock a release
   * could run just before it, and the old holder would get the VIP back after giving it away
   * (seen in the lab, when a refresh was two commands: 392 ms of two holders).
   */
  private readonly locks = new Map<string, Promise<unknown>>();
  /** Per address, the last operation queued on its lock and when, until it is done (for the skip warnings). */
  private readonly lastQueued = new Map<string, QueuedOp>();

  private serial<T>(ip: string, op: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.locks.get(ip) ?? Promise.resolve();
    const entry = { op, since: this.now() };
    this.lastQueued.set(ip, entry);
    const done = () => {
      if (this.lastQueued.get(ip) === entry) this.lastQueued.delete(ip);
    };
    const next = prev.then(fn, fn);
    next.then(done, done);
    const tail = next.catch(() => undefined);
    this.locks.set(ip, tail);
    void tail.then(() => {
      if (this.locks.get(ip) === tail) this.locks.delete(ip);
    });
    return next;
  }

  /** What an operation on `ip` ordered now waits behind: the last one queued there and not done yet. */
  private lockHolder(ip: string): QueuedOp | undefined {
    return this.lastQueued.get(ip);
  }

  constructor(opts: VipManagerOptions) {
    this.ifname = opts.ifname;
    this.now = opts.now;
    this.log = opts.logger ?? silentLogger;
    this.onEvent = opts.onEvent;
    this.ip = new IpRunner({ ...opts.ip, netns: opts.netns, json: true, logger: this.log });
    this.garp = new GarpAnnouncer({
      ifname: opts.ifname,
      netns: opts.netns,
      options: opts.garp,
      onResult: (r) => this.onGarp(r),
      ownMacs: opts.ownMacs,
      onConflict: (r) => this.emit({ type: 'conflict', resource: this.names.get(r.ip) ?? '', ...r }),
    });
  }

  get counters(): VipCounters {
    const g = this.garp.stats;
    const k = this.garp.conflictStats;
    return {
      ...this.c,
      garpSent: g.sent,
      garpFailed: g.failed,
      conflictProbes: k.probes,
      conflictProbeFailures: k.probeFailures,
      conflicts: k.conflicts,
      conflictBursts: k.bursts,
    };
  }

  /** Is a GARP schedule running for this address (between acquire and release)? */
  announcing(ip: string): boolean {
    return this.garp.isActive(ip);
  }

  /** The runner, for its stats and (in tests) the batch pid. */
  get runner(): IpRunner {
    return this.ip;
  }

  /** Add (or re-lifetime) the VIP, then announce it. */
  acquire(res: VipResource, validLftSec: number | null, notAfter: number): Promise<AcquireResult> {
    const calledAt = this.now();
    const after = this.lockHolder(res.ip);
    return this.serial(res.ip, 'add', () => this.acquireNow(res, validLftSec, notAfter, calledAt, after));
  }

  private async acquireNow(res: VipResource, validLftSec: number | null, notAfter: number, calledAt: number, after?: QueuedOp): Promise<AcquireResult> {
    const lft = validLftSec === null ? 'forever' : lifetime(validLftSec);
    const bad = lft === null ? `invalid lifetime ${validLftSec}` : badResource(res);
    if (bad) return this.acquired(res, 'failed', validLftSec, bad);
    const g = this.gen.get(res.ip) ?? 0;
    const t0 = this.now();
    // `replace` so a leftover (our own from before a restart, or a stale one) is taken over.
    const r = await this.ip.run(addrCommand('replace', res, this.ifname, lft!), { guard: () => this.now() <= notAfter });
    if (r.skipped) {
      this.lifetimeEnd.set(res.ip, -Infinity); // nothing applied: a missing address is our lateness
      return this.acquired(res, 'skipped', validLftSec, undefined, this.lateness(calledAt, notAfter, after, r.behind));
    }
    if (!r.ok) return this.acquired(res, 'failed', validLftSec, r.stderr);
    this.lifetimeEnd.set(res.ip, validLftSec === null ? Infinity : t0 + validLftSec * 1000);
    if ((this.gen.get(res.ip) ?? 0) === g) {
      this.names.set(res.ip, res.name);
      this.garp.start(res.ip, res.garpRefreshMs);
    }
    return this.acquired(res, 'added', validLftSec);
  }

  /** The resource's garp_refresh changed while `ip` may be held: re-time its periodic announcements. */
  setGarpRefresh(ip: string, ms: number): void {
    this.garp.setRefresh(ip, ms);
  }

  /**
   * Extend the kernel lifetime. The presence check and the change go to ip together, in one
   * round trip (IpRunner.runThen; the notAfter guard is checked once, just before both are
   * written): a refresh has to land within ~50 ms of a fresh grant, and a second round trip
   * through a busy event loop missed that window (32 daemons on the lab's two cores: half the
   * refreshes came too late). IPv4 `ip addr change` re-creates a missing address (the kernel
   * ignores the absent NLM_F_CREATE), so a VIP that someone deleted is back at once, with a
   * lifetime the lease covers (the guard), and is still reported 'missing' for the monitor:
   * the deletion counts as a failure as before, and the core decides what follows (a re-add,
   * or a release). Its remembered lifetime is left alone, so lapsed() still tells our own
   * lateness from a deletion. Only for an address this manager added and has not released:
   * after release() (or before any acquire) it checks first and never re-creates.
   */
  refresh(res: VipResource, validLftSec: number, notAfter: number): Promise<RefreshResult> {
    const calledAt = this.now();
    const after = this.lockHolder(res.ip);
    return this.serial(res.ip, 'refresh', () => this.refreshNow(res, validLftSec, notAfter, calledAt, after));
  }

  private async refreshNow(res: VipResource, validLftSec: number, notAfter: number, calledAt: number, after?: QueuedOp): Promise<RefreshResult> {
    const lft = lifetime(validLftSec);
    const bad = lft === null ? `invalid lifetime ${validLftSec}` : badResource(res);
    if (bad) return this.refreshed(res, 'failed', validLftSec, bad);
    const late = (behind?: string) => this.lateness(calledAt, notAfter, after, behind);
    if (this.now() > notAfter) return this.refreshed(res, 'skipped', validLftSec, undefined, late()); // save the round trip
    const t0 = this.now();
    // Not added by us, or released since: a refresh must never put such an address back (a
    // released VIP may already be on its next holder). Check first, change only if present.
    if (!this.lifetimeEnd.has(res.ip)) {
      const addrs = await this.addrs();
      if (addrs instanceof Error) return this.refreshed(res, 'failed', validLftSec, addrs.message);
      if (!addrs.some((a) => isAddr(a, res))) return this.refreshed(res, 'missing', validLftSec);
      const r = await this.ip.run(addrCommand('change', res, this.ifname, lft!), { guard: () => this.now() <= notAfter });
      if (r.skipped) return this.refreshed(res, 'skipped', validLftSec, undefined, late(r.behind));
      return this.refreshed(res, r.ok ? 'refreshed' : 'failed', validLftSec, r.ok ? undefined : r.stderr);
    }
    const [show, change] = await this.ip.runThen(['addr', 'show', 'dev', this.ifname], addrCommand('change', res, this.ifname, lft!), {
      guard: () => this.now() <= notAfter,
    });
    if (show.skipped) return this.refreshed(res, 'skipped', validLftSec, undefined, late(show.behind));
    const addrs = parseAddrs(show);
    if (addrs instanceof Error) return this.refreshed(res, 'failed', validLftSec, addrs.message);
    if (!addrs.some((a) => isAddr(a, res))) return this.refreshed(res, 'missing', validLftSec);
    if (change.skipped) return this.refreshed(res, 'skipped', validLftSec, undefined, late(change.behind));
    if (change.ok) this.lifetimeEnd.set(res.ip, t0 + validLftSec * 1000);
    return this.refreshed(res, change.ok ? 'refreshed' : 'failed', validLftSec, change.ok ? undefined : change.stderr);
  }

  /**
   * Whether a missing `ip` is explained by our own lateness rather than by something removing
   * it: the last add was skipped past notAfter, or the kernel lifetime last applied has run
   * out (the kernel may drop an address up to 20 ms before its lifetime, devinet.c
   * ADDRCONF_TIMER_FUZZ_MINUS; 50 ms allows for that). The lifetime is counted from before the
   * command was sent, so the kernel's own start is never earlier than assumed.
   */
  lapsed(ip: string): boolean {
    const end = this.lifetimeEnd.get(ip);
    return end !== undefined && this.now() >= end - 50;
  }

  /** Stop announcing and delete the VIP; idempotent. Resolves after the kernel did it. */
  release(res: VipResource): Promise<void> {
    this.lifetimeEnd.delete(res.ip);
    // Bump the generation and stop GARP at once (not behind the lock): nothing may announce
    // an address we are giving away, even while an earlier add is still in flight.
    this.gen.set(res.ip, (this.gen.get(res.ip) ?? 0) + 1);
    this.garp.stop(res.ip);
    return this.serial(res.ip, 'release', () => this.releaseNow(res));
  }

  private async releaseNow(res: VipResource): Promise<void> {
    this.garp.stop(res.ip);
    const bad = badResource(res);
    let err = bad ?? undefined;
    if (!bad) {
      const r = await this.ip.run(['addr', 'del', `${res.ip}/${res.cidr}`, 'dev', this.ifname]);
      if (!r.ok) err = NOT_PRESENT_RE.test(r.stderr) ? await this.delOtherPrefixes(res) : r.stderr || 'ip addr del failed';
    }
    if (err) {
      this.c.failures++;
      this.log.error({ resource: res.name, ip: res.ip, error: err }, 'vip release failed');
    } else {
      this.c.releases++;
      this.log.info?.({ resource: res.name, ip: res.ip }, 'vip released');
    }
    this.emit({ type: 'release', resource: res.name, ip: res.ip, ok: !err, error: err });
  }

  /** Is the VIP (with its prefix length) on the interface? false if that cannot be read. */
  async present(res: VipResource): Promise<boolean> {
    const addrs = await this.addrs();
    if (addrs instanceof Error) {
      this.log.warn({ resource: res.name, error: addrs.message }, 'vip presence check failed');
      return false;
    }
    return addrs.some((a) => isAddr(a, res));
  }

  /** Which of `ips` are on the interface (any prefix length). Throws if ip fails. */
  async listPresent(ips: string[]): Promise<string[]> {
    const addrs = await this.addrs();
    if (addrs instanceof Error) throw addrs;
    const on = new Set(addrs.map((a) => sameSpelling(a.local)));
    return ips.filter((ip) => on.has(sameSpelling(ip)));
  }

  /** Interface administratively up and with carrier. */
  async linkUp(): Promise<boolean> {
    // `addr show` carries the link flags too. Never `link show` through the batch process:
    // iproute2 keeps its filter state between batch commands, and after one `link show`
    // every later `addr show` in the same batch printed link objects without addr_info
    // (every VIP then looked missing). Found by the lab's SIGKILL test; see vip-ip tests.
    const r = await this.ip.run(['addr', 'show', 'dev', this.ifname]);
    if (!r.ok) return false;
    try {
      const links = parseJson(r.stdout) as { flags?: string[] }[];
      const flags = links[0]?.flags ?? [];
      return flags.includes('UP') && flags.includes('LOWER_UP');
    } catch {
      return false;
    }
  }

  /**
   * linkUp() and present() from ONE `addr show` (the monitor asked for both, in two
   * commands): 'link-down', 'missing', 'ok', or 'unreadable' when ip failed.
   */
  async check(res: VipResource): Promise<'ok' | 'link-down' | 'missing' | 'unreadable'> {
    const r = await this.ip.run(['addr', 'show', 'dev', this.ifname]);
    if (!r.ok) return /does not exist|Cannot find device/.test(r.stderr) ? 'link-down' : 'unreadable';
    try {
      const links = parseJson(r.stdout) as { flags?: string[]; addr_info?: AddrInfo[] }[];
      const flags = links[0]?.flags ?? [];
      if (!(flags.includes('UP') && flags.includes('LOWER_UP'))) return 'link-down';
      const addrs = links.flatMap((l) => l.addr_info ?? []);
      return addrs.some((a) => isAddr(a, res)) ? 'ok' : 'missing';
    } catch {
      return 'unreadable';
    }
  }

  /** Stop timers and the ip process. Leaves the addresses alone: the daemon decides. */
  async close(): Promise<void> {
    this.garp.close();
    await this.ip.close();
  }

  /** inet and inet6 addresses on the interface; none if the device is missing; Error if unreadable. */
  private async addrs(): Promise<AddrInfo[] | Error> {
    return parseAddrs(await this.ip.run(['addr', 'show', 'dev', this.ifname]));
  }

  /** The exact prefix was not there; remove the address if it sits there with another one. */
  private async delOtherPrefixes(res: VipResource): Promise<string | undefined> {
    const addrs = await this.addrs();
    if (addrs instanceof Error) return addrs.message;
    for (const a of addrs.filter((x) => x.family === familyOf(res.ip) && sameSpelling(x.local) === sameSpelling(res.ip))) {
      const r = await this.ip.run(['addr', 'del', `${a.local}/${a.prefixlen}`, 'dev', this.ifname]);
      if (!r.ok && !NOT_PRESENT_RE.test(r.stderr)) return r.stderr || 'ip addr del failed';
    }
    return undefined;
  }

  /**
   * Why a command came too late, for the skip warnings: the budget it had left when the
   * daemon ordered it (the rest went to the majority's answers), how long it waited in this
   * daemon, behind the same address's previous operation (`after`) and then behind what the
   * ip runner was busy with (`behind`). Waiting with neither means the daemon waited for a
   * CPU (32 daemons on the lab's 2 cores: bench/scale.ts, session 15); budgetLeftMs <= 0
   * means it was ordered too late already.
   */
  private lateness(calledAt: number, notAfter: number, after?: QueuedOp, behind?: string): Lateness {
    const now = this.now();
    return {
      waitedMs: Math.round(now - calledAt),
      pastMs: Math.round(now - notAfter),
      budgetLeftMs: Math.round(notAfter - calledAt),
      ...(after ? { after: `${after.op} ordered ${Math.round(calledAt - after.since)} ms before` } : {}),
      ...(behind ? { behind } : {}),
    };
  }

  private acquired(res: VipResource, result: AcquireResult, validLftSec: number | null, error?: string, late?: Lateness): AcquireResult {
    if (result === 'added') this.c.adds++;
    else if (result === 'skipped') this.c.skippedStale++;
    else this.c.failures++;
    const f = { resource: res.name, ip: res.ip, validLftSec, error, ...late };
    if (result === 'added') this.log.info?.(f, 'vip added');
    else if (result === 'skipped') this.log.warn(f, 'vip add skipped: past notAfter (stalled?)');
    else this.log.error(f, 'vip add failed');
    this.emit({ type: 'acquire', resource: res.name, ip: res.ip, result, validLftSec, error });
    return result;
  }

  private refreshed(res: VipResource, result: RefreshResult, validLftSec: number, error?: string, late?: Lateness): RefreshResult {
    const f = { resource: res.name, ip: res.ip, validLftSec, error, ...late };
    if (result === 'refreshed') this.c.refreshes++; // hot path: no log
    else if (result === 'skipped') {
      this.c.skippedStale++;
      this.log.warn(f, 'vip refresh skipped: past notAfter (stalled?)');
    } else if (result === 'missing') {
      this.c.missing++;
      this.log.warn(f, 'vip vanished from the interface');
    } else {
      this.c.failures++;
      this.log.error(f, 'vip refresh failed');
    }
    this.emit({ type: 'refresh', resource: res.name, ip: res.ip, result, validLftSec, error });
    return result;
  }

  private onGarp(r: GarpResult): void {
    if (!r.ok) this.log.warn({ ip: r.ip, form: r.form, error: r.error }, r.form === 'na' ? 'unsolicited neighbour advertisement failed' : 'gratuitous ARP failed');
    this.emit({ type: 'garp', ...r });
  }

  private emit(e: VipEvent): void {
    try {
      this.onEvent?.(e);
    } catch (err) {
      this.log.error({ error: String(err) }, 'vip onEvent handler threw');
    }
  }
}

/** Whole seconds for valid_lft/preferred_lft; rounded down (never promise the kernel more). */
function lifetime(sec: number): string | null {
  if (!Number.isFinite(sec) || sec < 1) return null; // the kernel rejects 0
  return String(Math.min(Math.floor(sec), 0xfffffffe)); // 0xffffffff means forever
}

function badResource(res: VipResource): string | null {
  const v6 = isIPv6(res.ip);
  if (!isIPv4(res.ip) && !v6) return `not an IPv4 or IPv6 address: ${res.ip}`;
  if (/[%\[\]]/.test(res.ip)) return `not a plain address: ${res.ip}`;
  if (!Number.isInteger(res.cidr) || res.cidr < 0 || res.cidr > (v6 ? 128 : 32)) return `bad prefix length: ${res.cidr}`;
  return null;
}

const familyOf = (ip: string): 'inet' | 'inet6' => (ip.includes(':') ? 'inet6' : 'inet');
/** One spelling per address: `ip` prints IPv6 canonically (RFC 5952); the config stores that too. */
const sameSpelling = (ip: string): string => (ip.includes(':') ? canonicalIPv6(ip) : ip);
/** Is this kernel address the VIP (family, address and prefix length)? */
const isAddr = (a: AddrInfo, res: VipResource): boolean =>
  a.family === familyOf(res.ip) && a.prefixlen === res.cidr && sameSpelling(a.local) === sameSpelling(res.ip);

/**
 * The iproute2 words that add (`replace`) or re-lifetime (`change`) a VIP. IPv6: `nodad` and
 * `preferred_lft 0` (see the top of this file); both are repeated on `change`, which
 * replaces an IPv6 address's flags (a change without nodad would clear it).
 */
export function addrCommand(op: 'replace' | 'change', res: VipResource, ifname: string, lft: string): string[] {
  const cidr = `${res.ip}/${res.cidr}`;
  if (familyOf(res.ip) === 'inet6') return ['addr', op, cidr, 'dev', ifname, 'nodad', 'valid_lft', lft, 'preferred_lft', '0'];
  return ['addr', op, cidr, 'dev', ifname, 'valid_lft', lft, 'preferred_lft', lft];
}

/** inet and inet6 addresses from an `ip -j addr show dev X`; none if the device is missing; Error if unreadable. */
function parseAddrs(r: IpResult): AddrInfo[] | Error {
  if (!r.ok) return /does not exist|Cannot find device/.test(r.stderr) ? [] : new Error(r.stderr || 'ip addr show failed');
  try {
    const links = parseJson(r.stdout) as { addr_info?: AddrInfo[] }[];
    return links.flatMap((l) => l.addr_info ?? []).filter((a) => a.family === 'inet' || a.family === 'inet6');
  } catch (e) {
    return new Error(`cannot parse ip -j addr output: ${String(e)}`);
  }
}

function parseJson(s: string): unknown[] {
  const t = s.trim();
  return t ? (JSON.parse(t) as unknown[]) : [];
}
