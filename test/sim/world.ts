// The deterministic simulator: many nodes running the real core (src/core) over a simulated
// network, simulated monotonic clocks with drift, a simulated kernel (addresses with
// lifetimes that expire late) and a simulated driver (effects run in order, address
// commands take time). Everything random comes from one seed, so a failure replays exactly.
//
// Time: `t` is real time in ms. Node i reads local time base_i + rate_i·t, rate within the
// configured drift bound.

import { Core } from '../../src/core/node.ts';
import type { Effect, Message, PersistedState, Command } from '../../src/core/types.ts';
import type { PihaConfig } from '../../src/config/types.ts';
import { Rng } from '../../src/core/rng.ts';
import { EventHeap } from './heap.ts';

type Daemon = 'running' | 'dead' | 'frozen';

export interface SimNode {
  id: number;
  name: string;
  power: boolean;
  daemon: Daemon;
  core: Core | null;
  rate: number;
  base: number;
  incarnation: number;
  disk: PersistedState | undefined;
  queue: Effect[];
  busy: boolean; // an address command is in flight
  execPending: boolean;
  inbox: Message[];
  tickToken: number;
  tickAt: number;
  /** resource -> real time the kernel drops it (Infinity = no lifetime) */
  addrs: Map<string, number>;
  /** Kernel hung: nothing runs, lifetimes do not count down (resource -> ms left). */
  hung: Map<string, number> | null;
  /** Real time of the last watchdog pet, and the watchdog's clock rate. */
  lastPet: number;
  wdRate: number;
  wdCheckAt: number;
  /** Resources the node's core has configured (its last `resources` effect). */
  resources: string[];
  /** Shared-CPU model: real time this node's single thread is free again. */
  cpuFree: number;
}

export interface NetFaults {
  loss: number; // probability
  blocked: Set<string>; // `${from}>${to}`
}

export interface SimParams {
  seed: number;
  config: PihaConfig;
  persistence: boolean;
  kernelLatenessMaxMs: number; // < kernelLifetimeSlackMs
  applyMaxMs: number; // address command latency bound
  timerLateMaxMs: number;
  trace: boolean;
  /** Probability that a fence attempt fails (device unreachable). */
  fenceFailRate: number;
  /**
   * Shared-CPU model (off when absent): every node's daemon runs on one of `cores` CPUs that
   * all nodes share, as bench/scale.ts runs 32 daemons on the lab's 2 cores. A heartbeat or a
   * timer wake-up waits for the node's thread and a free core, then costs wakeMs, rxMs for a
   * received datagram and txMs per datagram sent; what the step sends leaves when it is done.
   * Without it every node runs on time, and the lab's late grants (majorities answering after
   * the kernel-lifetime window) cannot happen (docs/simulator-findings.md).
   */
  cpu?: { cores: number; wakeMs: number; rxMs: number; txMs: number };
}

type Ev =
  | { at: number; seq: number; k: 'deliver'; to: number; msg: Message }
  | { at: number; seq: number; k: 'tick'; node: number; token: number }
  | { at: number; seq: number; k: 'exec'; node: number }
  | { at: number; seq: number; k: 'ipdone'; node: number; eff: Effect; inc: number; apply: boolean }
  | { at: number; seq: number; k: 'monitor'; node: number; inc: number }
  | { at: number; seq: number; k: 'call'; fn: () => void }
  | { at: number; seq: number; k: 'fencedone'; node: number; inc: number; eff: Extract<Effect, { kind: 'fence' }> }
  | { at: number; seq: number; k: 'wd'; node: number };

export interface Violation {
  at: number;
  what: string;
}

export class World {
  readonly rng: Rng;
  readonly nodes: SimNode[];
  readonly net: NetFaults = { loss: 0, blocked: new Set() };
  t = 0;
  private seq = 0;
  private heap = new EventHeap<Ev>();
  readonly violations: Violation[] = [];
  readonly lines: string[] = [];
  readonly replies: { node: string; ok: boolean; message: string }[] = [];
  stats = { messages: 0, steps: 0, acquires: 0, releases: 0, failovers: 0, fences: 0, watchdogResets: 0 };
  /** Messages sent to each node id (for per-node rates in bench/scale-sim.ts). */
  readonly sentTo = new Map<number, number>();
  private cmdId = 0;
  /** Shared-CPU model: real time each core is free again, and the CPU time charged in all. */
  private readonly coreFree: number[];
  cpuBusyMs = 0;
  /** Shared-CPU model: what woke the step being run ('rx' a datagram), null when not charged. */
  private charge: 'rx' | 'tick' | null = null;
  /** Its CPU time: its effects are carried out that much later. */
  private stepCost = 0;
  /** real time each resource was last seen held by someone (for takeover gaps) */
  readonly holderLog = new Map<string, { node: string; from: number; to: number }[]>();

  constructor(readonly p: SimParams) {
    this.rng = new Rng(p.seed);
    const rho = p.config.cluster.timing.clockDrift;
    this.nodes = p.config.nodes.map((n) => ({
      id: n.id,
      name: n.name,
      power: true,
      daemon: 'dead' as Daemon,
      core: null,
      // Drift up to the configured bound (the bound the design promises to tolerate).
      rate: 1 + (this.rng.next() * 2 - 1) * rho,
      base: this.rng.int(0, 1e6),
      incarnation: 0,
      disk: undefined,
      queue: [],
      busy: false,
      execPending: false,
      inbox: [],
      tickToken: 0,
      tickAt: Infinity,
      addrs: new Map(),
      hung: null,
      lastPet: 0,
      wdRate: 1 + (this.rng.next() * 2 - 1) * rho,
      wdCheckAt: Infinity,
      resources: p.config.resources.map((r) => r.name),
      cpuFree: 0,
    }));
    this.coreFree = new Array<number>(p.cpu?.cores ?? 0).fill(0);
    for (const r of p.config.resources) this.holderLog.set(r.name, []);
  }

  local(n: SimNode, t = this.t): number {
    return n.base + n.rate * t;
  }
  private realOf(n: SimNode, local: number): number {
    return (local - n.base) / n.rate;
  }

  trace(line: string): void {
    if (this.p.trace) this.lines.push(`${this.t.toFixed(1).padStart(9)} ${line}`);
  }

  at(t: number, fn: () => void): void {
    this.push({ at: t, seq: 0, k: 'call', fn });
  }

  private push(e: Ev): void {
    e.seq = ++this.seq;
    this.heap.push(e);
  }

  node(name: string): SimNode {
    return this.nodes.find((n) => n.name === name)!;
  }

  // ------------------------------------------------------------ lifecycle

  startDaemon(n: SimNode): void {
    if (!n.power || n.daemon !== 'dead') return;
    n.incarnation += 1;
    n.daemon = 'running';
    n.core = new Core({
      config: this.p.config,
      self: n.id,
      incarnation: n.incarnation,
      seed: this.rng.int(1, 2 ** 31),
      now: this.local(n),
      persisted: this.p.persistence ? n.disk : undefined,
    });
    this.trace(`${n.name} daemon start inc=${n.incarnation}`);
    this.pet(n); // opening the watchdog arms and pets it
    this.enqueue(n, n.core.startEffects());
    this.stepNode(n, { kind: 'tick' });
    this.push({ at: this.t + this.rng.int(0, 1000), seq: 0, k: 'monitor', node: n.id, inc: n.incarnation });
  }

  /** Daemon killed (SIGKILL) or crashed: addresses stay until the kernel drops them. */
  killDaemon(n: SimNode): void {
    if (n.daemon === 'dead') return;
    this.trace(`${n.name} daemon KILLED`);
    n.daemon = 'dead';
    n.core = null;
    n.queue = [];
    n.inbox = [];
    n.tickAt = Infinity;
    n.tickToken++;
  }

  powerOff(n: SimNode): void {
    this.killDaemon(n);
    if (!n.power) return;
    n.power = false;
    n.hung = null;
    n.wdCheckAt = Infinity;
    for (const r of n.addrs.keys()) this.addrGone(n, r, 'power off');
    n.addrs.clear();
    this.trace(`${n.name} POWER OFF`);
  }

  powerOn(n: SimNode): void {
    if (n.power) return;
    n.power = true;
    this.trace(`${n.name} power on`);
    this.startDaemon(n);
  }

  /** The kernel hangs: the daemon stops and address lifetimes stop counting down. Only a
   *  fence or the watchdog makes such a node harmless (never injected in lease-only mode). */
  hang(n: SimNode): void {
    if (!n.power || n.hung) return;
    n.hung = new Map();
    for (const [r, exp] of n.addrs) {
      if (exp <= this.t) continue; // already dropped by the kernel: stays gone
      n.hung.set(r, exp - this.t);
      n.addrs.set(r, Infinity);
    }
    if (n.daemon === 'running') n.daemon = 'frozen';
    this.trace(`${n.name} KERNEL HUNG`);
  }

  unhang(n: SimNode): void {
    if (!n.hung) return;
    for (const [r, left] of n.hung) if (n.addrs.has(r)) n.addrs.set(r, this.t + left);
    n.hung = null;
    this.trace(`${n.name} kernel resumes`);
    this.thaw(n);
  }

  freeze(n: SimNode): void {
    if (n.daemon !== 'running') return;
    n.daemon = 'frozen';
    this.trace(`${n.name} daemon FROZEN`);
  }

  thaw(n: SimNode): void {
    if (n.daemon !== 'frozen' || n.hung) return;
    n.daemon = 'running';
    this.trace(`${n.name} daemon thawed (${n.inbox.length} queued messages)`);
    const inbox = n.inbox;
    n.inbox = [];
    this.stepNode(n, { kind: 'tick' });
    for (const m of inbox) if (n.daemon === 'running') this.stepNode(n, { kind: 'message', msg: m });
    if (n.execPending) this.push({ at: this.t, seq: 0, k: 'exec', node: n.id });
  }

  command(n: SimNode, cmd: Command): void {
    if (n.daemon !== 'running') return;
    this.stepNode(n, { kind: 'command', id: ++this.cmdId, cmd });
  }

  monitorFailure(n: SimNode, resource: string): void {
    if (n.daemon !== 'running' || !n.core?.holding(resource)) return;
    this.stepNode(n, { kind: 'monitor', resource, ok: false, reason: 'injected' });
  }

  // ------------------------------------------------------------ stepping

  private stepNode(n: SimNode, input: Parameters<Core['step']>[0]): void {
    if (!n.core || n.daemon !== 'running') return;
    this.stats.steps++;
    const effects = n.core.step(input, this.local(n));
    if (this.charge) {
      // The step's datagrams leave when the daemon is done with them (see SimParams.cpu).
      const c = this.p.cpu!;
      let sends = 0;
      for (const e of effects) if (e.kind === 'send') sends++;
      this.stepCost = c.wakeMs + (this.charge === 'rx' ? c.rxMs : 0) + sends * c.txMs;
      n.cpuFree = this.t + this.stepCost;
      const i = this.coreFree.indexOf(Math.min(...this.coreFree));
      this.coreFree[i] = Math.max(this.coreFree[i]!, this.t) + this.stepCost;
      this.cpuBusyMs += this.stepCost;
    }
    // Checked at the step that decided it (effects are carried out later, after other steps).
    for (const e of effects) if (e.kind === 'log' && e.event === 'fence_start') this.noteFenceStart(n, e.fields);
    if (n.core.mayPetWatchdog(this.local(n))) this.pet(n);
    this.enqueue(n, effects);
    this.scheduleTick(n);
  }

  // ------------------------------------------------------------ watchdog and fence devices

  private get watchdogMs(): number | null {
    const w = this.p.config.fencing.watchdog;
    return w.enabled ? w.timeoutMs : null;
  }

  private pet(n: SimNode): void {
    const T = this.watchdogMs;
    if (T === null) return;
    n.lastPet = this.t;
    const due = this.t + T / n.wdRate;
    if (n.wdCheckAt === Infinity || n.wdCheckAt < this.t) {
      n.wdCheckAt = due;
      this.push({ at: due, seq: 0, k: 'wd', node: n.id });
    }
  }

  private watchdogCheck(n: SimNode): void {
    const T = this.watchdogMs;
    if (T === null || !n.power) return;
    const due = n.lastPet + T / n.wdRate;
    if (this.t + 1e-9 < due) {
      n.wdCheckAt = due;
      this.push({ at: due, seq: 0, k: 'wd', node: n.id });
      return;
    }
    n.wdCheckAt = Infinity;
    this.stats.watchdogResets++;
    this.trace(`${n.name} WATCHDOG RESET (last pet ${(this.t - n.lastPet).toFixed(0)} ms ago)`);
    this.powerOff(n);
    this.at(this.t + this.rng.int(300, 1500), () => this.powerOn(n));
  }

  /** A fence device run by `n`: it either cuts the target's power or fails; then the result. */
  private fenceDone(n: SimNode, inc: number, e: Extract<Effect, { kind: 'fence' }>): void {
    const target = this.nodes[e.target - 1];
    const ok = this.rng.next() >= this.p.fenceFailRate;
    if (ok) {
      this.stats.fences++;
      this.trace(`${n.name} FENCES ${target.name}`);
      this.powerOff(target);
      if (this.p.config.fencing.action === 'reboot') this.at(this.t + this.p.config.fencing.offTimeMs, () => this.powerOn(target));
    } else {
      this.trace(`${n.name} fence of ${target.name} FAILED`);
    }
    if (n.incarnation !== inc || n.daemon === 'dead') return; // the result died with the runner
    const input = { kind: 'fence-result' as const, target: e.target, inc: e.inc, attempt: e.attempt, initiator: e.initiator, ok, detail: ok ? 'sim: off' : 'sim: device failed' };
    if (n.daemon === 'frozen') {
      this.at(this.t + 50, () => this.stepNode(n, input)); // delivered once it runs again (approximation)
      return;
    }
    this.stepNode(n, input);
  }

  private scheduleTick(n: SimNode): void {
    if (!n.core) return;
    const H = this.p.config.cluster.timing.heartbeatIntervalMs;
    const wakeLocal = Math.min(n.core.nextWakeup(), this.local(n) + H);
    let at = Math.max(this.realOf(n, wakeLocal), this.t + 0.05);
    at += this.rng.next() * this.p.timerLateMaxMs; // timers fire late, never early
    if (at < n.tickAt - 1e-9 || n.tickAt <= this.t) {
      n.tickAt = at;
      this.push({ at, seq: 0, k: 'tick', node: n.id, token: ++n.tickToken });
    }
  }

  private enqueue(n: SimNode, effects: Effect[]): void {
    if (!effects.length) return;
    n.queue.push(...effects);
    if (!n.busy) this.push({ at: this.t + this.stepCost, seq: 0, k: 'exec', node: n.id });
  }

  /** The driver: effects in order; address commands take time and block what follows. */
  private exec(n: SimNode): void {
    if (n.daemon === 'frozen') {
      n.execPending = true;
      return;
    }
    n.execPending = false;
    while (n.queue.length && !n.busy && n.daemon === 'running') {
      const e = n.queue.shift()!;
      switch (e.kind) {
        case 'send':
          this.send(n, e.to, e.msg);
          break;
        case 'log':
          if (this.p.trace && e.level !== 'debug') this.trace(`${n.name} ${e.event} ${JSON.stringify(e.fields).slice(0, 160)}`);
          if (e.event === 'config_committed' || e.event === 'config_applied') this.noteConfig(n, e.event, e.fields);
          break;
        case 'resources':
          n.resources = e.resources.map((r) => r.name);
          break;
        case 'reply':
          this.replies.push({ node: n.name, ok: e.ok, message: e.message });
          break;
        case 'persist':
          n.disk = structuredClone(e.state);
          break;
        case 'fence':
          // Devices run beside the effect queue (the daemon's fence runner is asynchronous).
          this.push({ at: this.t + this.rng.int(5, 300), seq: 0, k: 'fencedone', node: n.id, inc: n.incarnation, eff: e });
          break;
        case 'acquire':
        case 'refresh':
        case 'release': {
          // The driver checks notAfter right before handing the command to the kernel.
          const apply = e.kind === 'release' || this.local(n) <= e.notAfter;
          if (!apply) this.trace(`${n.name} ${e.kind} ${e.resource} SKIPPED (past notAfter)`);
          n.busy = true;
          const d = this.rng.next() < 0.9 ? this.rng.next() * 3 : this.rng.next() * this.p.applyMaxMs;
          this.push({ at: this.t + d, seq: 0, k: 'ipdone', node: n.id, eff: e, inc: n.incarnation, apply });
          break;
        }
      }
    }
  }

  private ipDone(n: SimNode, e: Effect, apply: boolean): void {
    n.busy = false;
    // As the daemon does (src/daemon/daemon.ts): a refresh not applied is reported to the core.
    if (!apply && e.kind === 'refresh' && n.power && n.daemon === 'running') this.stepNode(n, { kind: 'refresh-skipped', resource: e.resource });
    if (n.power && apply) {
      if (e.kind === 'acquire') this.addrAdd(n, e.resource, e.validLftSec);
      else if (e.kind === 'refresh') {
        if (this.present(n, e.resource)) n.addrs.set(e.resource, this.expiry(n, e.validLftSec));
      } else if (e.kind === 'release') {
        if (this.present(n, e.resource)) this.addrGone(n, e.resource, 'released');
        n.addrs.delete(e.resource);
      }
    }
    if (n.daemon !== 'dead' && n.queue.length) this.push({ at: this.t, seq: 0, k: 'exec', node: n.id });
  }

  private expiry(n: SimNode, validLftSec: number | null): number {
    if (validLftSec === null) return Infinity;
    const late = this.rng.next() * this.p.kernelLatenessMaxMs;
    return this.realOf(n, this.local(n) + validLftSec * 1000 + late);
  }

  present(n: SimNode, r: string, t = this.t): boolean {
    const exp = n.addrs.get(r);
    return exp !== undefined && t < exp;
  }

  private addrAdd(n: SimNode, r: string, validLftSec: number | null): void {
    const was = this.present(n, r);
    const old = n.addrs.get(r);
    if (!was && old !== undefined) this.closeInterval(n, r, old); // the kernel dropped it earlier
    // THE invariant: nobody else has the address at this instant.
    for (const o of this.nodes) {
      if (o !== n && this.present(o, r)) {
        this.violations.push({ at: this.t, what: `two holders of ${r}: ${o.name} still has it when ${n.name} adds it` });
      }
    }
    n.addrs.set(r, this.expiry(n, validLftSec));
    if (!was) {
      this.stats.acquires++;
      if (!this.holderLog.has(r)) this.holderLog.set(r, []);
      this.holderLog.get(r)!.push({ node: n.name, from: this.t, to: Infinity });
      this.trace(`${n.name} ADDR+ ${r}`);
    }
  }

  private closeInterval(n: SimNode, r: string, at: number): void {
    const log = this.holderLog.get(r) ?? [];
    const last = [...log].reverse().find((h) => h.node === n.name && h.to === Infinity);
    if (last) last.to = at;
  }

  private addrGone(n: SimNode, r: string, why: string): void {
    this.closeInterval(n, r, Math.min(this.t, n.addrs.get(r) ?? this.t));
    this.stats.releases++;
    this.trace(`${n.name} ADDR- ${r} (${why})`);
  }

  private send(from: SimNode, to: number, msg: Message): void {
    this.stats.messages++;
    this.sentTo.set(to, (this.sentTo.get(to) ?? 0) + 1);
    const key = `${from.id}>${to}`;
    if (this.net.blocked.has(key) || this.rng.next() < this.net.loss) return;
    const copies = this.rng.next() < 0.02 ? 2 : 1;
    for (let i = 0; i < copies; i++) {
      let d = 0.1 + this.rng.next() * 2;
      if (this.rng.next() < 0.05) d += this.rng.next() * 200; // reordering
      this.push({ at: this.t + d, seq: 0, k: 'deliver', to, msg });
    }
  }

  private deliver(to: SimNode, msg: Message): void {
    if (!to.power || to.daemon === 'dead') return;
    if (to.daemon === 'frozen') {
      if (to.inbox.length < 2000) to.inbox.push(msg);
      return;
    }
    this.stepNode(to, { kind: 'message', msg });
  }

  private monitor(n: SimNode): void {
    if (!n.core) return;
    if (n.daemon === 'running') {
      for (const r of n.resources) {
        if (n.core.holding(r) && !this.present(n, r)) {
          // In this world only the node's own lateness removes a held address (a lifetime that
          // ran out, an add skipped past notAfter), which the daemon reports as `lapsed`;
          // failures of the resource itself are the injected 'monitor' fault.
          this.stepNode(n, { kind: 'monitor', resource: r, ok: false, reason: 'address missing', lapsed: true });
        }
      }
    }
    const every = this.p.config.resources[0]?.monitorIntervalMs ?? 1000;
    this.push({ at: this.t + every, seq: 0, k: 'monitor', node: n.id, inc: n.incarnation });
  }

  // ------------------------------------------------------------ run

  run(until: number): void {
    // Everything has a limit: a message storm is a bug, not a slow test.
    const budget = this.stats.steps + 5000 * this.nodes.length * Math.max(1, (until - this.t) / 1000);
    for (;;) {
      if (this.stats.steps > budget) {
        this.violations.push({ at: this.t, what: `event storm: more than ${budget} core steps` });
        break;
      }
      const e = this.heap.pop();
      if (!e) break;
      if (e.at > until) {
        this.heap.push(e);
        break;
      }
      this.t = e.at;
      switch (e.k) {
        case 'call':
          e.fn();
          break;
        case 'deliver': {
          const n = this.nodes[e.to - 1];
          if (this.p.cpu && n.power && n.daemon === 'running' && this.cpuWait(n, e)) break;
          this.charge = this.p.cpu ? 'rx' : null;
          this.deliver(n, e.msg);
          this.charge = null;
          this.stepCost = 0;
          break;
        }
        case 'tick': {
          const n = this.nodes[e.node - 1];
          if (e.token !== n.tickToken) break;
          if (this.p.cpu && n.daemon === 'running' && this.cpuWait(n, e)) break;
          n.tickAt = Infinity;
          this.charge = this.p.cpu ? 'tick' : null;
          if (n.daemon === 'running') this.stepNode(n, { kind: 'tick' });
          this.charge = null;
          this.stepCost = 0;
          break;
        }
        case 'exec':
          this.exec(this.nodes[e.node - 1]);
          break;
        case 'fencedone':
          this.fenceDone(this.nodes[e.node - 1], e.inc, e.eff);
          break;
        case 'wd':
          this.watchdogCheck(this.nodes[e.node - 1]);
          break;
        case 'ipdone': {
          const n = this.nodes[e.node - 1];
          this.ipDone(n, e.eff, e.apply);
          break;
        }
        case 'monitor': {
          const n = this.nodes[e.node - 1];
          if (e.inc === n.incarnation && n.daemon !== 'dead') this.monitor(n);
          break;
        }
      }
    }
    this.t = until;
  }

  /**
   * Shared-CPU model: true when the node's thread or every core is busy, and the event was put
   * back for when both are free. Not strictly first come, first served: at that time another
   * event may take the core, and this one waits again (why a 32-node seed takes ~1 min).
   */
  private cpuWait(n: SimNode, e: Ev): boolean {
    const start = Math.max(n.cpuFree, Math.min(...this.coreFree));
    if (start <= this.t + 1e-9) return false;
    this.push({ ...e, at: start });
    return true;
  }

  // ------------------------------------------------------------ replicated configuration

  /** (epoch, term) -> digest of every committed configuration; epoch -> digest (persistent runs). */
  readonly committed = new Map<string, string>();
  readonly committedByEpoch = new Map<number, string>();
  private readonly appliedBy = new Map<string, { epoch: number; term: number }>(); // `${node}/${inc}`

  private noteConfig(n: SimNode, event: string, f: Record<string, unknown>): void {
    const epoch = f.epoch as number;
    const term = f.term as number;
    const digest = f.digest as string;
    if (event === 'config_committed') {
      this.committed.set(`${epoch}/${term}`, digest);
      const prev = this.committedByEpoch.get(epoch);
      // Durability needs the state directory: without it a node forgets what it acknowledged.
      if (this.p.persistence && prev !== undefined && prev !== digest) {
        this.violations.push({ at: this.t, what: `two different configurations committed as epoch ${epoch} (${prev}, ${digest})` });
      }
      this.committedByEpoch.set(epoch, digest);
      return;
    }
    if (this.committed.get(`${epoch}/${term}`) !== digest) {
      this.violations.push({ at: this.t, what: `${n.name} applied configuration ${epoch}/${term} (${digest}) that was never committed` });
    }
    const key = `${n.name}/${n.incarnation}`;
    const last = this.appliedBy.get(key);
    if (last && !(epoch > last.epoch || (epoch === last.epoch && term > last.term))) {
      this.violations.push({ at: this.t, what: `${n.name} applied configuration ${epoch}/${term} after ${last.epoch}/${last.term}: out of order` });
    }
    this.appliedBy.set(key, { epoch, term });
  }

  /**
   * A fence is started for an incarnation of a node that the initiator itself hears online as
   * a newer incarnation: it would cut the power of a healthy node (the simulator issues no
   * manual `stonith fence`, which may do so on purpose). Seed 101307 found a retry that did.
   */
  private noteFenceStart(n: SimNode, f: Record<string, unknown>): void {
    const target = this.nodes.find((x) => x.name === f.node);
    if (!target || !n.core || target.daemon === 'dead' || target.incarnation <= (f.incarnation as number)) return;
    if (n.core.isOnline(target.id, this.local(n))) {
      this.violations.push({ at: this.t, what: `${n.name} started fencing ${target.name} incarnation ${String(f.incarnation)} while it hears ${target.name} online as incarnation ${target.incarnation}` });
    }
  }

  /** Nodes that have `r` on their interface right now. */
  holders(r: string): SimNode[] {
    return this.nodes.filter((n) => this.present(n, r));
  }
}
