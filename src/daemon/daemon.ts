// The daemon: wires the pure core to real I/O. It owns the only timers and sockets.
//
//   UDP packet ─► transport (authenticate, reject) ─► core.step(message) ─► effects
//   timer      ─► core.step(tick)                                         ─► effects
//   monitor    ─► core.step(monitor)                                      ─► effects
//   CLI socket ─► core.step(command)                                      ─► effects
//
// Effects run in order (executor.ts). Every timeout is read on the monotonic clock.

import { randomInt } from 'node:crypto';
import pino from 'pino';
import type { PihaConfig, NodeConfig, ResourceConfig } from '../config/types.ts';
import { Core } from '../core/node.ts';
import type { Effect, Input, Message, PersistedState } from '../core/types.ts';
import { UdpTransport } from '../transport/udp.ts';
import { loadKeyFile } from '../transport/authkey.ts';
import { VipManager, type VipEvent, type VipResource } from '../vip/manager.ts';
import { AddressGuard } from '../vip/guard.ts';
import { findExecutable, na6Requirement } from '../vip/garp.ts';
import { conflictToolWarnings, type ConflictToolPaths } from '../vip/conflict.ts';
import { startStatusServer, toDaemonStatus, type StatusServer, type StatusServerOptions } from '../api/status-server.ts';
import { startControlServer, type ControlServer } from '../api/control.ts';
import type { ControlRequest, ControlResponse, MetricsSnapshot } from '../api/status-types.ts';
import { createSystemInfoCache } from '../api/system-info.ts';
import { StateStore } from './state-store.ts';
import { monotonicNow } from './clock.ts';
import { HealthCheck } from './checks.ts';
import { VERSION } from '../version.ts';
import { tuneV8ForCluster } from './v8-tuning.ts';
import { configDigest, formatErrors, loadConfigFile } from '../config/index.ts';
import { createFenceDevices } from '../fence/index.ts';
import { FenceRunner } from './fence-runner.ts';
import { NodeHardware } from './hardware.ts';
import { ledPatternFor } from '../devices/led.ts';
import { docDigest, docFromConfig, docToRaw, docToYaml } from '../config/cluster-doc.ts';
import { EventLog } from './events.ts';
import { fullGc, gcIntervalMs } from './heap.ts';
import { attachHooks, type HookRunner } from './hooks.ts';
import { safetyInfo } from './safety.ts';

export interface DaemonOptions {
  config: PihaConfig;
  /** The file the configuration came from: `config reload` / SIGHUP re-read it. */
  configPath?: string;
  node: NodeConfig;
  logLevel?: string;
  /** The button's long press asks for a safe shutdown (the caller stops and powers off). */
  onExitRequest?: (why: string) => void;
}

const vipOf = (r: ResourceConfig): VipResource => ({ name: r.name, ip: r.ip, cidr: r.cidrNetmask, garpRefreshMs: r.garpRefreshMs });

export class Daemon {
  readonly log: pino.Logger;
  private core!: Core;
  private transport!: UdpTransport;
  private vip!: VipManager;
  private guard!: AddressGuard;
  private status: StatusServer | null = null;
  private control: ControlServer | null = null;
  private readonly store: StateStore;
  // A node that cannot save what it is about to promise (a granter's new VIP promise, a term,
  // an accepted configuration) must not send the promise: after a restart it would not know
  // it made it (Raft's rule; etcd exits on a failed WAL write). A read-only or full SD card is
  // a common Pi failure, so instead of exiting the daemon falls silent: it drops every message
  // until a save succeeds (retried every second), which the cluster sees as this node being
  // down. Its own VIPs lapse (no renewals go out) and are released as usual; the others carry on.
  /** The newest state the core asked to save while saving failed; null when all are saved. */
  private unsaved: PersistedState | null = null;
  private unsavedSince = 0;
  private saveError = '';
  private saveRetryAt = 0;
  private saveFailures = 0;
  private droppedSends = 0;
  private readonly checks = new Map<string, HealthCheck[]>();
  private timer: NodeJS.Timeout | null = null;
  private timerAt = Infinity;
  private readonly intervals: NodeJS.Timeout[] = [];
  private queue: Effect[] = [];
  private pumping = false;
  private drained: (() => void)[] = [];
  private replies = new Map<number, (r: ControlResponse) => void>();
  private cmdSeq = 0;
  private lastLoopAt = monotonicNow();
  private loopLagMs = 0;
  private failovers = 0;
  private rtt: Record<string, number> = {};
  // Send times of our latest request rounds, for the RTT of their answers: a slot per round
  // number modulo 64, in typed arrays (a map rewritten every round allocated a boxed time and
  // a table entry each time, which lived long enough to be promoted to V8's old generation).
  private readonly roundNo = new Float64Array(64).fill(-1);
  private readonly roundSentAt = new Float64Array(64);
  private stopping = false;
  private readonly byId: Map<number, NodeConfig>;
  private readonly digest: string;
  private configPending: string | undefined;
  /** The resources in force (the core's last `resources` effect), with their monitors. */
  private readonly resources = new Map<string, ResourceConfig>();
  private readonly monitors = new Map<string, NodeJS.Timeout>();
  /** Every VIP address this daemon has been configured with: cleaned up on stop and by reconcile. */
  private readonly knownVips = new Map<string, VipResource>();
  private readonly fileDocDigest: string;
  private hw!: NodeHardware;
  private fenceRunner!: FenceRunner;
  /** When the core last stepped; null before the first step. */
  private lastStepAt: number | null = null;
  /** Cluster event history (events.ts): GET /events, `piha events`, the status page; feeds the notify hooks. */
  readonly events: EventLog;
  private readonly hooks: HookRunner;
  /** Conflict detection tools found at start (conflict.ts); null = that family is not probed. */
  private conflictTools: ConflictToolPaths = {};
  /** Families whose missing conflict tool was already warned about (once per run). */
  private readonly conflictToolWarned = new Set<string>();
  /** Per VIP address: conflicts seen (piha_vip_conflicts_total) and what was last reported. */
  private readonly conflicts = new Map<string, { resource: string; total: number; active: boolean; others: string; eventAt: number; probeErrorAt: number }>();

  constructor(private readonly o: DaemonOptions) {
    this.log = pino({ level: o.logLevel ?? process.env.PIHA_LOG_LEVEL ?? 'info', base: { node: o.node.name } });
    this.store = new StateStore(o.config.cluster.stateDir);
    this.byId = new Map(o.config.nodes.map((n) => [n.id, n]));
    for (const r of o.config.resources) this.knownVips.set(r.ip, vipOf(r));
    this.fileDocDigest = docDigest(docFromConfig(o.config));
    this.digest = configDigest(o.config);
    this.events = new EventLog({ context: () => this.eventContext() });
    this.hooks = attachHooks(this.events, o.config.hooks, o.node.name, this.log.child({ part: 'hooks' }));
    this.gcEveryMs = Number(process.env.PIHA_GC_EVERY_MS ?? gcIntervalMs(o.config.cluster.timing.heartbeatIntervalMs));
    this.gc = this.gcEveryMs > 0 ? fullGc() : null;
    this.gcAt = this.gcEveryMs;
  }

  /**
   * Re-read the configuration file (SIGHUP, `piha config reload`). A bad file never replaces
   * the running configuration: every error is logged and returned. A valid, different file is
   * reported until a restart applies it (the core's configuration is fixed for its lifetime).
   */
  reload(): ControlResponse {
    const path = this.o.configPath;
    if (!path) return { ok: false, message: 'this daemon was not started from a configuration file' };
    const { config, errors } = loadConfigFile(path);
    if (!config) {
      for (const e of errors) this.log.error({ event: 'config_reload_error', path: e.path, error: e.message, line: e.line }, 'configuration reload: error');
      this.events.record({ level: 'error', event: 'config_reload_error', fields: { node: this.o.node.name, errors: errors.length, reason: `${errors.length} error(s) in ${path}: kept the running configuration` } });
      return { ok: false, message: `${formatErrors(errors, path)}\n${errors.length} error(s): kept the running configuration` };
    }
    const d = configDigest(config);
    if (d === this.digest) {
      this.configPending = undefined;
      this.log.info({ event: 'config_reload', changed: false }, 'configuration reload: unchanged');
      return { ok: true, message: `${path}: valid and unchanged` };
    }
    this.configPending = `${path} changed (digest ${d}, running ${this.digest}) and is valid: restart piha to apply it`;
    this.log.warn({ event: 'config_reload', changed: true, digest: d, running: this.digest }, this.configPending);
    this.events.record({ level: 'warn', event: 'config_reload', fields: { node: this.o.node.name, changed: true, digest: d, running: this.digest } });
    return { ok: true, message: this.configPending };
  }

  async start(): Promise<void> {
    const { config, node } = this.o;
    const key = loadKeyFile(config.cluster.authkey);
    // IPv6 VIPs are announced with na6 (garp.ts): refuse to start without it, but only then.
    const na6 = findExecutable('na6');
    const noNa6 = na6Requirement(config.resources, na6);
    if (noNa6) throw new Error(noNa6);
    // Address conflict detection (conflict.ts) is a diagnostic: a missing tool turns it off for
    // that family, with one warning (here, or when a VIP of that family is first configured).
    this.conflictTools = { arpingPath: findExecutable('arping'), ndisc6Path: findExecutable('ndisc6') };
    this.warnConflictTools(config.resources.map((r) => r.ip));
    const turbofan = tuneV8ForCluster(config.nodes.length);
    const incarnation = this.store.nextIncarnation();
    const persisted = this.store.load();
    if (this.store.loadProblem) this.log.warn({ event: 'state_unreadable', problem: this.store.loadProblem }, 'saved state not readable');
    this.core = new Core({
      config,
      self: node.id,
      incarnation,
      seed: randomInt(1, 2 ** 31),
      now: monotonicNow(),
      persisted,
      configDigest: this.digest,
    });
    this.vip = new VipManager({
      ifname: config.cluster.interface,
      now: monotonicNow,
      logger: this.log.child({ part: 'vip' }),
      garp: { na6Path: na6 ?? 'na6', conflict: this.conflictTools },
      onEvent: (e) => {
        if (e.type === 'garp' && !e.ok) this.log.warn({ event: 'garp_failed', ip: e.ip, form: e.form, error: e.error }, e.form === 'na' ? 'unsolicited neighbour advertisement failed' : 'gratuitous ARP failed');
        else if (e.type === 'conflict') this.onConflict(e);
      },
    });
    // Out-of-process backstop: removes our VIPs if this process is killed or frozen.
    this.guard = new AddressGuard({
      ifname: config.cluster.interface,
      onRemoved: (addr) => this.log.warn({ event: 'guard_removed', addr }, 'address guard removed a VIP: the daemon ran late'),
      onPriority: (p) => {
        if (p === 'normal') this.log.warn({ event: 'guard_priority', priority: p }, 'address guard could not get real-time priority (chrt -f needs root): on a starved machine it may act late');
      },
      onExit: (code) => {
        if (this.stopping) return;
        this.log.error({ event: 'guard_exited', code }, 'address guard exited; restarting it');
        setTimeout(() => {
          if (!this.stopping) this.guard.start();
        }, 200).unref();
      },
    });
    this.guard.start();
    this.transport = new UdpTransport({
      key,
      clusterName: config.cluster.name,
      selfId: node.id,
      peers: config.nodes.filter((n) => n.id !== node.id).map((n) => ({ id: n.id, addr: n.addr, port: config.cluster.port })),
      bindAddr: node.addr,
      port: config.cluster.port,
      confirmHoldMs: Math.max(2000, 2 * config.cluster.timing.heartbeatIntervalMs),
      now: monotonicNow,
      logger: this.log.child({ part: 'transport' }),
      onMessage: (msg) => this.onMessage(msg),
      onReject: (reason, from) => this.onReject(reason, from),
    });
    this.hw = new NodeHardware(config.hardware, config.fencing, this.log.child({ part: 'hardware' }));
    this.fenceRunner = new FenceRunner(
      createFenceDevices(config.fencing, node.name, { gpio: () => this.hw.backend() }),
      config.fencing,
      this.log.child({ part: 'fence' }),
      (e, r) => this.step({ kind: 'fence-result', target: e.target, inc: e.inc, attempt: e.attempt, initiator: e.initiator, ok: r.ok, detail: r.detail }),
    );
    // Before anything can be acquired: watchdog mode without a working watchdog is refused.
    await this.hw.startWatchdog(() => this.mayPetWatchdog());
    await this.hw.startLed().catch((err: unknown) => this.log.error({ event: 'led_failed', error: (err as Error).message }, 'cannot drive the status LED'));
    await this.hw.startButton((kind) => this.onButton(kind)).catch((err: unknown) => this.log.error({ event: 'button_failed', error: (err as Error).message }, 'cannot read the button'));
    // A VIP left on the interface by a previous run is not ours until a majority says so.
    this.enqueue(this.core.startEffects());
    await this.bindTransport();
    const system = createSystemInfoCache({ lazy: true });
    const [host, portStr] = splitHostPort(config.cluster.statusBind);
    this.status = await this.startStatus(host, Number(portStr), {
      getStatus: () => this.statusSnapshot(),
      getMetrics: () => this.metrics(),
      events: this.events,
      isAlive: () => !this.stopping && monotonicNow() - this.lastLoopAt < 3 * config.cluster.timing.heartbeatIntervalMs + 1000,
      nodeName: node.name,
      system,
    });
    this.control = await startControlServer({ path: config.cluster.socket, handle: (req) => this.onControl(req), slowTimeoutMs: 65_000 });
    // Monitors start with the core's first `resources` effect (the configuration in force).
    // Reconcile: an address of ours on the interface that the core does not hold is removed.
    // Every 2 s, and node_down watching every 500 ms: both run from step() (chores()), which
    // the heartbeat timer calls at least every heartbeat, so they cost no wake-ups of their own.
    if (config.hardware.led) this.intervals.push(setInterval(() => this.updateLed(), 200));
    this.step({ kind: 'tick' });
    this.log.info(
      { event: 'daemon_started', version: VERSION, incarnation, addr: node.addr, port: config.cluster.port, status: `${config.cluster.statusBind}`, socket: config.cluster.socket, profile: config.cluster.profile, turbofan },
      `piha ${VERSION} started as ${node.name}`,
    );
  }

  /**
   * The status server. `0.0.0.0` (the default status_bind) listens on `::` instead when the
   * kernel has IPv6: one dual-stack socket that takes IPv4 too (libuv clears IPV6_V6ONLY), so
   * /healthz also answers through an IPv6 VIP. Without IPv6 (ipv6.disable=1) it is 0.0.0.0.
   */
  private async startStatus(host: string, port: number, rest: Omit<StatusServerOptions, 'host' | 'port'>): Promise<StatusServer> {
    if (host === '0.0.0.0') {
      try {
        return await startStatusServer({ ...rest, host: '::', port });
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code !== 'EAFNOSUPPORT' && code !== 'EADDRNOTAVAIL') throw e;
      }
    }
    return startStatusServer({ ...rest, host, port });
  }

  private async bindTransport(): Promise<void> {
    // At boot the address may not be up yet (DHCP, slow link): keep trying, say why.
    for (let attempt = 1; ; attempt++) {
      try {
        await this.transport.start();
        return;
      } catch (e) {
        if (attempt === 1 || attempt % 30 === 0) this.log.error({ event: 'bind_failed', error: (e as Error).message }, 'cannot bind the cluster port yet; retrying every second');
        await new Promise((r) => setTimeout(r, 1000));
        if (this.stopping) throw e;
      }
    }
  }

  // ------------------------------------------------------------ core stepping

  private step(input: Input): void {
    if (!this.core) return;
    const now = monotonicNow();
    const effects = this.core.step(input, now);
    this.lastStepAt = now;
    this.enqueue(effects);
    this.petGuard(now);
    this.chores(now);
    this.schedule();
  }

  private observeAt = 0;
  private reconcileAt = 0;
  // PIHA_GC_EVERY_MS: 0 turns the periodic full GC off (for measuring it, bench/soak.ts).
  private readonly gcEveryMs: number;
  private readonly gc: (() => void) | null;
  private gcAt: number;
  /** Duration of the last periodic full GC (ms): piha_gc_pause_seconds. */
  private lastGcMs = 0;
  private gcRuns = 0;
  /** Periodic work that needs no timer of its own (an idle wake-up costs ~0.1 ms of CPU). */
  private chores(now: number): void {
    if (this.stopping) return;
    if (now >= this.observeAt) {
      this.observeAt = now + 500;
      // The core logs node_up but not a node falling silent: node_down comes from watching (events.ts).
      this.events.observeNodes(this.core.status(now).nodes.map((n) => ({ name: n.name, online: n.state !== 'offline' })));
    }
    if (this.unsaved && now >= this.saveRetryAt) this.saveState(this.unsaved);
    if (now >= this.reconcileAt) {
      // The first one 2 s after start, as the interval it replaces did.
      if (this.reconcileAt > 0) void this.reconcile();
      this.reconcileAt = now + 2000;
    }
    if (this.gc && now >= this.gcAt) {
      // In this loop iteration's check phase, after the step's datagrams were handed to the
      // kernel: a renewal being sent is not held up by the collection (src/daemon/heap.ts).
      this.gcAt = now + this.gcEveryMs;
      const gc = this.gc;
      setImmediate(() => {
        const t = performance.now();
        gc();
        this.lastGcMs = performance.now() - t;
        this.gcRuns++;
      });
    }
  }

  private petGuard(now: number): void {
    const held = this.core.releaseDeadlines();
    const addrs = held.map((h) => `${h.ip}/${h.cidr}`);
    const deadline = held.length ? Math.min(...held.map((h) => h.deadline)) : Infinity;
    this.guard.pet(addrs, deadline, now);
  }

  private schedule(): void {
    if (this.stopping) return;
    const wake = this.core.nextWakeup();
    if (!Number.isFinite(wake)) return;
    // Re-armed whenever the deadline moves, later as well as earlier: a timer left at an
    // earlier deadline wakes the loop for nothing (with lease answers in heartbeats, a
    // non-holder's heartbeat is sent when the request arrives, and its timer then fired once
    // a round, ~50 ms later, with nothing to do: +4 wake-ups a second).
    if (this.timer && wake === this.timerAt) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = wake;
    // Never wake before the core's deadline: node's timers count from the event loop's cached
    // time (whole ms, taken when this loop iteration began), so a timer for the exact delay
    // fired up to ~1 ms early; the core then had nothing to do yet and a second wake-up
    // followed 1-2 ms later. Rounding up and adding 1 ms makes one wake-up, at most ~2 ms after
    // the deadline (the second wake-up came ~1 ms after it). The core's deadlines keep their
    // margins (a heartbeat or a refresh a millisecond later; a release deadline is
    // releaseMarginMs >= 50 ms before the lease ends and the address guard backs it up).
    const due = wake - monotonicNow();
    const delay = due > 0 ? Math.ceil(due) + 1 : 0;
    const fireAt = monotonicNow() + delay;
    this.timer = setTimeout(() => {
      // Loop lag: how late the loop ran this timer (the extra millisecond above is not lag).
      const late = monotonicNow() - fireAt;
      this.loopLagMs = Math.max(0, late);
      this.lastLoopAt = monotonicNow();
      this.timer = null;
      this.timerAt = Infinity;
      this.step({ kind: 'tick' });
    }, delay);
  }

  private onMessage(msg: Message): void {
    // Lease answers come alone or inside the answering node's heartbeat (core/node.ts).
    if (msg.t === 'grant') this.noteRtt(msg.from, msg.round);
    else if (msg.t === 'hb' && msg.grant) this.noteRtt(msg.from, msg.grant.round);
    this.step({ kind: 'message', msg });
  }

  private noteRtt(from: number, round: number): void {
    const slot = round % 64;
    const peer = this.byId.get(from)?.name;
    if (this.roundNo[slot] === round && peer) this.rtt[peer] = (monotonicNow() - this.roundSentAt[slot]!) / 1000;
  }

  private rejectLogAt = 0;
  private onReject(reason: string, from: string): void {
    // Rate-limited: a flood of junk must not become a flood of log lines.
    // stale_session is the normal one-packet handshake after any restart: not worth a warning.
    if (reason === 'stale_session') return;
    const now = monotonicNow();
    if (now - this.rejectLogAt > 10_000) {
      this.rejectLogAt = now;
      this.log.warn({ event: 'packet_rejected', reason, from, totals: this.transport.stats().rejected }, 'rejected a cluster packet');
    }
  }

  // ------------------------------------------------------------ effects

  private enqueue(effects: Effect[]): void {
    if (!effects.length) return;
    this.queue.push(...effects);
    if (!this.pumping) void this.pump();
  }

  /**
   * Effects in order. A release is awaited before anything after it runs (the `rel`
   * messages that follow tell peers they may take the address). Adds and refreshes go to the
   * ip runner, which keeps its own order, without holding up heartbeats.
   */
  private pump(): void {
    this.pumping = true;
    while (this.queue.length) {
      const e = this.queue.shift()!;
      let wait: Promise<void> | undefined;
      try {
        wait = this.run(e);
      } catch (err) {
        this.effectFailed(e, err);
      }
      if (wait) {
        // Only a release is waited for; the effects after it run when it is done.
        void wait.catch((err: unknown) => this.effectFailed(e, err)).then(() => this.pump());
        return;
      }
    }
    this.pumping = false;
    for (const d of this.drained.splice(0)) d();
  }

  /** Saves `state`; on failure the node falls silent until a save succeeds (see `unsaved`). */
  private saveState(state: PersistedState): void {
    const now = monotonicNow();
    try {
      this.store.save(state);
    } catch (err) {
      this.saveFailures++;
      this.saveError = (err as Error).message;
      this.saveRetryAt = now + 1000;
      if (!this.unsaved) {
        this.unsavedSince = now;
        this.droppedSends = 0;
        this.log.error(
          { event: 'state_save_failed', dir: this.store.dir, error: this.saveError },
          'cannot save the node state: sending nothing until it can (retried every second)',
        );
      }
      this.unsaved = state;
      return;
    }
    if (this.unsaved) {
      this.log.warn(
        { event: 'state_saved', dir: this.store.dir, silentMs: Math.round(now - this.unsavedSince), droppedSends: this.droppedSends },
        'node state saved again: speaking again',
      );
      this.unsaved = null;
    }
  }

  private effectFailed(e: Effect, err: unknown): void {
    this.log.error({ event: 'effect_failed', effect: e.kind, error: (err as Error).message }, 'effect failed');
  }

  /**
   * Runs one effect; returns a promise only for a release, which the queue waits for. The
   * others run at once, in order: awaiting each (as this did) cost a promise and a microtask
   * per effect, a heartbeat round's worth at every step (N - 1 sends).
   */
  private run(e: Effect): Promise<void> | undefined {
    switch (e.kind) {
      case 'send':
        if (this.unsaved) {
          this.droppedSends++;
          return;
        }
        if (e.msg.t === 'hb' && e.msg.req) this.rememberRound(e.msg.req.round);
        this.transport.send(e.to, e.msg);
        return;
      case 'log': {
        const { event, fields, level } = e;
        this.log[level]({ event, ...fields }, event.replace(/_/g, ' '));
        this.events.record(e);
        return;
      }
      case 'reply': {
        const r = this.replies.get(e.id);
        this.replies.delete(e.id);
        r?.({ ok: e.ok, message: e.message });
        return;
      }
      case 'persist':
        this.saveState(e.state);
        return;
      case 'acquire': {
        const r = { name: e.resource };
        this.failovers++;
        // The announcement period is the resource's garp_refresh (the core's effect carries no timing).
        const v: VipResource = { name: e.resource, ip: e.ip, cidr: e.cidr, garpRefreshMs: this.resources.get(e.resource)?.garpRefreshMs };
        this.knownVips.set(e.ip, v);
        void this.vip.acquire(v, e.validLftSec, e.notAfter).then((res) => {
          if (res === 'failed') this.step({ kind: 'monitor', resource: r.name, ok: false, reason: 'could not add the address' });
          else if (res === 'skipped') {
            this.log.warn({ event: 'acquire_skipped', resource: r.name }, 'address add skipped: the daemon ran late');
            if (this.core.holding(r.name)) this.step({ kind: 'monitor', resource: r.name, ok: false, reason: 'address add skipped: past its deadline', lapsed: true });
          }
        });
        return;
      }
      case 'refresh': {
        const r = { name: e.resource };
        void this.vip.refresh({ name: e.resource, ip: e.ip, cidr: e.cidr }, e.validLftSec, e.notAfter).then((res) => {
          if (res === 'missing') this.addressMissing(r.name, e.ip, 'address vanished from the interface');
          else if (res === 'skipped') this.step({ kind: 'refresh-skipped', resource: r.name });
        });
        return;
      }
      case 'release':
        return this.vip.release({ name: e.resource, ip: e.ip, cidr: e.cidr }).then(() => undefined);
      case 'fence':
        this.fenceRunner.run(e);
        return;
      case 'resources':
        this.syncResources(e.resources);
        return;
    }
  }

  // ------------------------------------------------------------ address conflicts

  private warnConflictTools(ips: string[]): void {
    for (const w of conflictToolWarnings(ips, this.conflictTools)) {
      if (this.conflictToolWarned.has(w.family)) continue;
      this.conflictToolWarned.add(w.family);
      this.log.warn({ event: 'conflict_detection_off', family: w.family }, w.message);
      this.events.record({ level: 'warn', event: 'conflict_detection_off', fields: { node: this.o.node.name, family: w.family, reason: w.message } });
    }
  }

  /**
   * A conflict probe's outcome (the holder, at each periodic announcement): another host
   * answering for a VIP we hold is counted every time (piha_vip_conflicts_total) and recorded
   * as a `vip_conflict` warning when it starts, when the answering MACs change, and every 5
   * minutes while it lasts; `vip_conflict_cleared` when a later probe finds nobody else. The
   * re-announcement burst was already sent (garp.ts). Nothing is released: the other host is
   * not a cluster member, and quorum decides who holds the VIP.
   */
  private onConflict(e: Extract<VipEvent, { type: 'conflict' }>): void {
    const resource = e.resource || ([...this.resources.values()].find((r) => r.ip === e.ip)?.name ?? '');
    let c = this.conflicts.get(e.ip);
    if (!c) this.conflicts.set(e.ip, (c = { resource, total: 0, active: false, others: '', eventAt: -Infinity, probeErrorAt: -Infinity }));
    c.resource = resource || c.resource;
    const now = monotonicNow();
    const node = this.o.node.name;
    if (!e.ok) {
      // A probe that cannot run (link down, tool broken): the monitor deals with the link; say it rarely.
      if (now - c.probeErrorAt >= 600_000) {
        c.probeErrorAt = now;
        this.log.warn({ event: 'conflict_probe_failed', resource, ip: e.ip, error: e.error }, 'address conflict probe failed');
      }
      return;
    }
    if (!e.others.length) {
      if (c.active) {
        c.active = false;
        c.others = '';
        const fields = { node, resource, ip: e.ip, count: c.total };
        this.log.info({ event: 'vip_conflict_cleared', ...fields }, 'no other host answers for the VIP any more');
        this.events.record({ level: 'info', event: 'vip_conflict_cleared', fields });
      }
      return;
    }
    c.total++;
    const others = e.others.join(', ');
    if (c.active && c.others === others && now - c.eventAt < 300_000) return;
    c.active = true;
    c.others = others;
    c.eventAt = now;
    const fields = { node, resource, ip: e.ip, mac: e.others[0], macs: e.others, reannounced: e.reannounced, count: c.total };
    this.log.warn({ event: 'vip_conflict', ...fields }, `another host (${others}) answers for VIP ${e.ip}: re-announced it from this node`);
    this.events.record({ level: 'warn', event: 'vip_conflict', fields });
  }

  // ------------------------------------------------------------ hardware

  /** SBD rule: pet only while the loop runs and every held VIP is inside its lease. */
  private mayPetWatchdog(): boolean {
    const now = monotonicNow();
    // Until the first step the core holds nothing and runs no timer, while start() may wait
    // for the network (bindTransport retries until DHCP has given the address): withholding
    // pets then would reset a Pi whose network is slow at boot, protecting no VIP. The pet
    // timer running at all shows the event loop runs.
    const loopOk = this.lastStepAt === null || now - this.lastStepAt < Math.max(1000, 3 * this.o.config.cluster.timing.heartbeatIntervalMs);
    return !this.stopping && loopOk && this.core.mayPetWatchdog(now);
  }

  private updateLed(): void {
    const c = this.core.status(monotonicNow());
    const fault = c.fencing.pending.length > 0 || c.fencing.blocking.length > 0 || (c.configMismatch?.length ?? 0) > 0 || c.distrustingSelf || this.unsaved !== null;
    this.hw.setLed(ledPatternFor({ running: !this.stopping, fault, holdsVip: c.resources.some((r) => this.core.holding(r.name)), quorate: c.quorate }));
  }

  /** Short press: toggle standby of this node. Long press: release the VIPs and shut down. */
  private onButton(kind: 'short' | 'long'): void {
    const self = this.o.node.name;
    if (kind === 'long') {
      this.log.warn({ event: 'button', press: 'long' }, 'button held: releasing VIPs and shutting down');
      this.o.onExitRequest?.('button long press');
      return;
    }
    const standby = this.core.status(monotonicNow()).nodes.find((n) => n.name === self)?.state === 'standby';
    this.log.info({ event: 'button', press: 'short', standby: !standby }, `button: ${standby ? 'leaving' : 'entering'} standby`);
    this.step({ kind: 'command', id: ++this.cmdSeq, cmd: { op: 'standby', node: self, on: !standby } });
  }

  private rememberRound(round: number): void {
    const slot = round % 64;
    this.roundNo[slot] = round;
    this.roundSentAt[slot] = monotonicNow();
  }

  // ------------------------------------------------------------ monitoring

  /** The configuration in force changed (or the core started): monitors follow it. */
  private syncResources(list: ResourceConfig[]): void {
    const next = new Map(list.map((r) => [r.name, r]));
    for (const [name, old] of this.resources) {
      const now = next.get(name);
      if (now && JSON.stringify(now) === JSON.stringify(old)) continue;
      this.stopMonitor(name);
      this.resources.delete(name);
    }
    this.warnConflictTools(list.map((r) => r.ip));
    for (const r of list) {
      this.knownVips.set(r.ip, vipOf(r));
      // A changed garp_refresh takes effect on a VIP held now, not at its next takeover (the
      // core keeps a held address through an edit that does not move it: no new acquire).
      this.vip.setGarpRefresh(r.ip, r.garpRefreshMs);
      if (!this.resources.has(r.name)) {
        this.resources.set(r.name, r);
        if (!this.stopping) this.startMonitor(r);
      }
    }
  }

  private stopMonitor(name: string): void {
    const t = this.monitors.get(name);
    if (t) clearInterval(t);
    this.monitors.delete(name);
    for (const c of this.checks.get(name) ?? []) c.stop();
    this.checks.delete(name);
  }

  private startMonitor(r: ResourceConfig): void {
    const checks = r.checks.map(
      (c) =>
        new HealthCheck(c, (up, reason) => {
          this.log[up ? 'info' : 'warn']({ event: 'check', resource: r.name, type: c.type, target: c.target, up, reason }, `health check ${up ? 'up' : 'down'}`);
        }),
    );
    this.checks.set(r.name, checks);
    for (const c of checks) c.start();
    this.monitors.set(r.name, setInterval(() => void this.monitor(r), r.monitorIntervalMs));
  }

  private async monitor(r: ResourceConfig): Promise<void> {
    if (this.stopping || !this.core.holding(r.name)) return;
    const v = vipOf(r);
    let reason = '';
    // Link state and the address from one `ip addr show` (it was two commands).
    const found = await this.vip.check(v);
    if (found === 'link-down') reason = `link ${this.o.config.cluster.interface} is down`;
    else if (found === 'missing') return this.addressMissing(r.name, v.ip, 'address missing from the interface');
    else if (found === 'unreadable') reason = `cannot read the addresses of ${this.o.config.cluster.interface} (ip addr show failed)`;
    else {
      const down = (this.checks.get(r.name) ?? []).find((c) => !c.up);
      if (down) reason = `health check ${down.cfg.type} ${down.cfg.target} failing: ${down.lastReason}`;
    }
    if (reason && this.core.holding(r.name)) this.step({ kind: 'monitor', resource: r.name, ok: false, reason });
  }

  /** A held VIP is not on the interface: our lateness (its kernel lifetime ran out) or a failure. */
  private addressMissing(name: string, ip: string, reason: string): void {
    if (!this.core.holding(name)) return;
    const lapsed = this.vip.lapsed(ip);
    this.step({ kind: 'monitor', resource: name, ok: false, reason: lapsed ? `${reason}: its kernel lifetime ran out before this daemon renewed it` : reason, lapsed });
  }

  private async reconcile(): Promise<void> {
    if (this.stopping || this.pumping) return;
    try {
      // Every VIP this daemon has known, including resources deleted or re-addressed since.
      const present = await this.vip.listPresent([...this.knownVips.keys()]);
      for (const ip of present) {
        const v = this.knownVips.get(ip)!;
        const current = [...this.resources.values()].find((x) => x.ip === ip);
        if ((!current || !this.core.holding(current.name)) && !this.pumping) {
          this.log.warn({ event: 'reconcile_removed', resource: current?.name ?? v.name, ip }, 'removed an address this node does not hold');
          await this.vip.release(v);
        }
      }
    } catch (e) {
      this.log.debug({ event: 'reconcile_failed', error: (e as Error).message });
    }
  }

  // ------------------------------------------------------------ control and status

  private async onControl(req: ControlRequest): Promise<ControlResponse> {
    switch (req.op) {
      case 'ping':
        return { ok: true, message: 'pong' };
      case 'version':
        return { ok: true, message: VERSION };
      case 'status':
        return { ok: true, data: { ...this.statusSnapshot(), system: undefined } };
      case 'reload':
        return this.reload();
      case 'config-show': {
        const cc = this.core.clusterConfig();
        return {
          ok: true,
          data: {
            epoch: cc.epoch,
            term: cc.term,
            source: cc.source,
            raw: docToRaw(cc.doc),
            yaml: docToYaml(cc.doc, { epoch: cc.epoch, source: cc.source === 'cluster' ? 'replicated, in force on every node' : `from ${this.o.configPath ?? 'the file'}, not yet replicated` }),
            fileDiffers: this.fileDiffers(),
            configPath: this.o.configPath ?? null,
            clusterName: this.o.config.cluster.name,
          },
        };
      }
      case 'events':
        return { ok: true, data: this.events.page(req.since ?? 0) };
      case 'command': {
        const id = ++this.cmdSeq;
        const p = new Promise<ControlResponse>((resolve) => {
          this.replies.set(id, resolve);
          setTimeout(() => {
            if (this.replies.delete(id)) resolve({ ok: false, message: 'the daemon did not answer the command in time' });
          }, req.cmd.op === 'fence' ? 60_000 : 2000).unref();
        });
        this.step({ kind: 'command', id, cmd: req.cmd });
        return p;
      }
    }
  }

  /** Term and (when the cluster has one) configuration epoch stamped on each event. */
  private eventContext(): { term: number; epoch?: number } {
    const c = this.core.status(monotonicNow()) as ReturnType<Core['status']> & { config?: { epoch?: number } };
    return { term: c.term, epoch: c.config?.epoch };
  }

  private statusSnapshot() {
    const c = this.core.status(monotonicNow());
    return toDaemonStatus(c, {
      cluster: this.o.config.cluster.name,
      version: VERSION,
      profile: this.o.config.cluster.profile,
      safety: safetyInfo(this.o.config, this.core.timing.kernelLifetime),
      configPending: this.configPending,
      fencing: {
        ...c.fencing,
        watchdog: { ...this.hw.watchdog },
        devicesHere: this.o.config.fencing.devices.filter((d) => d.runOn.includes(this.o.node.name)).map((d) => ({ name: d.name, type: d.type, hosts: d.hosts })),
        devices: this.o.config.fencing.devices.map((d) => ({ name: d.name, type: d.type, hosts: d.hosts, runOn: d.runOn })),
        action: this.o.config.fencing.action,
      },
      led: this.hw.ledPattern,
      fileDiffers: this.fileDiffers(),
      stateSave: this.unsaved
        ? { dir: this.store.dir, error: this.saveError, silentForSec: Math.round(monotonicNow() - this.unsavedSince) / 1000, droppedSends: this.droppedSends }
        : null,
    });
  }

  /** This node's file has other resources/defaults/properties than the cluster configuration in force. */
  private fileDiffers(): boolean {
    const cc = this.core.clusterConfig();
    return cc.source === 'cluster' && docDigest(cc.doc) !== this.fileDocDigest;
  }

  private metrics(): MetricsSnapshot {
    const c = this.core.status(monotonicNow());
    const st = this.transport.stats();
    return {
      quorate: c.quorate,
      nodesOnline: c.nodes.filter((n) => n.state !== 'offline').length,
      votes: c.votes,
      expectedVotes: c.expectedVotes,
      vips: c.resources.map((r) => ({ resource: r.name, ip: r.ip, held: this.core.holding(r.name) })),
      resourceFailCounts: Object.fromEntries(c.resources.map((r) => [r.name, r.failCount])),
      failoversTotal: this.failovers,
      vipLapsesTotal: this.core.lapses,
      leaseRenewalSeconds: Object.fromEntries(c.resources.filter((r) => r.renewalMs !== null).map((r) => [r.name, r.renewalMs! / 1000])),
      ...(this.core.renewalBudgetMs() !== null ? { leaseRenewalBudgetSeconds: this.core.renewalBudgetMs()! / 1000 } : {}),
      packetsReceivedTotal: st.delivered, // accepted only; rejections are counted by reason
      packetsSentTotal: st.sent,
      packetsRejectedTotal: { ...st.rejected },
      heartbeatRttSeconds: { ...this.rtt },
      coordinator: this.core.isCoordinator(),
      term: c.term,
      loopLagSeconds: this.loopLagMs / 1000,
      gcPauseSeconds: this.lastGcMs / 1000,
      gcRunsTotal: this.gcRuns,
      fencing: {
        pending: c.fencing.pending.map((p) => p.node),
        blocking: c.fencing.blocking,
        outcomes: Object.fromEntries(this.fenceRunner.counts),
        watchdogPets: this.hw.watchdog.pets,
        watchdogWithheld: this.hw.watchdog.withheld,
        watchdogEnabled: this.hw.watchdog.enabled,
      },
      hookFailuresTotal: { ...this.hooks.failures },
      stateSaveFailuresTotal: this.saveFailures,
      stateUnsaved: this.unsaved !== null,
      vipConflictsTotal: this.conflictCounts(c.resources),
      configMismatchNodes: c.configMismatch?.length ?? 0,
    };
  }

  /** One sample per configured VIP (0 included), plus addresses counted before a reconfiguration. */
  private conflictCounts(resources: readonly { name: string; ip: string }[]): { resource: string; ip: string; count: number }[] {
    const out = resources.map((r) => ({ resource: r.name, ip: r.ip, count: this.conflicts.get(r.ip)?.total ?? 0 }));
    for (const [ip, c] of this.conflicts) if (c.total > 0 && !out.some((o) => o.ip === ip)) out.push({ resource: c.resource, ip, count: c.total });
    return out;
  }

  // ------------------------------------------------------------ stop

  /** Clean stop: release every VIP, tell the peers, then close everything. */
  async stop(reason: string): Promise<void> {
    if (this.stopping) return;
    if (!this.core || !this.vip) {
      // Stopped before start-up finished: nothing was acquired yet.
      this.stopping = true;
      return;
    }
    this.log.info({ event: 'stopping', reason }, 'stopping: releasing VIPs');
    this.step({ kind: 'shutdown' });
    this.stopping = true;
    if (this.timer) clearTimeout(this.timer);
    const drained = this.pumping ? new Promise<void>((r) => this.drained.push(r)) : Promise.resolve();
    await Promise.race([drained, new Promise((r) => setTimeout(r, 3000))]);
    for (const t of this.intervals) clearInterval(t);
    for (const name of [...this.monitors.keys()]) this.stopMonitor(name);
    // Whatever the core thought, no VIP of ours stays behind after a stop.
    await Promise.all([...this.knownVips.values()].map((v) => this.vip.release(v).catch(() => undefined)));
    this.guard.stop();
    // Disarm the watchdog only now: a stop that hangs above must still end in a reset.
    await Promise.allSettled([this.fenceRunner?.close(), this.hw?.close(), this.hooks.close()]);
    await Promise.allSettled([this.transport.close(), this.status?.close(), this.control?.close(), this.vip.close()]);
    this.log.info({ event: 'stopped' }, 'stopped');
  }
}

export function splitHostPort(s: string): [string, string] {
  const i = s.lastIndexOf(':');
  return [s.slice(0, i).replace(/^\[|\]$/g, ''), s.slice(i + 1)];
}
