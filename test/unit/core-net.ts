// A tiny deterministic in-memory network of Core instances for the core unit tests: every
// `send` is delivered at once (same clock for all nodes), time advances in 10 ms ticks.
// A test plays the fence devices through `fenceDriver`.
import assert from 'node:assert/strict';
import { Core } from '../../src/core/node.ts';
import type { Command, Effect, Input, Message, PersistedState } from '../../src/core/types.ts';
import type { PihaConfig } from '../../src/config/types.ts';
import { config, type ConfigShape } from './core-helpers.ts';

export const TICK = 10;

interface Step {
  t: number;
  node: number;
  input: Input;
  out: Effect[];
}

export class Net {
  now = 0;
  readonly cores = new Map<number, Core>();
  readonly up = new Set<number>();
  readonly steps: Step[] = [];
  /** Drop a message from -> to when this returns true. */
  cut: (from: number, to: number) => boolean = () => false;
  /** Deliver a message this many ms late (0: at once, as usual); late ones arrive on a tick (run, until; not runByWakeup). */
  delay: (from: number, to: number, msg: Message) => number = () => 0;
  private later: { at: number; to: number; msg: Message }[] = [];
  /** Who has the address, as the drivers executed acquire/release. */
  readonly addr = new Map<string, Set<number>>();
  readonly violations: string[] = [];
  private queue: { to: number; msg: Message }[] = [];
  /** Plays the fence devices: the outcome of a `fence` effect, delivered on the next tick
   *  (null: the driver never answers). ok cuts the target's power first, as a relay would. */
  fenceDriver: (e: Extract<Effect, { kind: 'fence' }>, by: number) => { ok: boolean; detail: string } | null = () => ({ ok: true, detail: 'test device' });
  private fenceResults: { by: number; input: Input }[] = [];
  private draining = false;
  private cmdId = 0;

  constructor(readonly cfg: PihaConfig) {}

  /** What each node persisted last (its state directory). */
  readonly disk = new Map<number, PersistedState>();

  start(id: number, incarnation = 1, fromDisk = false): Core {
    const persisted = fromDisk ? this.disk.get(id) : undefined;
    const core = new Core({ config: this.cfg, self: id, incarnation, seed: id * 7919, now: this.now, ...(persisted ? { persisted } : {}) });
    this.cores.set(id, core);
    this.up.add(id);
    this.execute(id, core.startEffects());
    return core;
  }

  core(id: number): Core {
    return this.cores.get(id)!;
  }

  /** Step node `id` with `input`, deliver everything that follows; returns that step's effects. */
  input(id: number, input: Input): Effect[] {
    const out = this.stepOne(id, input);
    if (!this.draining) {
      this.draining = true;
      try {
        while (this.queue.length) {
          const { to, msg } = this.queue.shift()!;
          if (this.up.has(to)) this.stepOne(to, { kind: 'message', msg });
        }
      } finally {
        this.draining = false;
      }
    }
    return out;
  }

  command(id: number, cmd: Command): { ok: boolean; message: string; out: Effect[] } {
    const n = ++this.cmdId;
    const out = this.input(id, { kind: 'command', id: n, cmd });
    const reply = out.find((e) => e.kind === 'reply' && e.id === n);
    assert.ok(reply && reply.kind === 'reply', 'a command gets a reply in the same step');
    return { ok: reply.ok, message: reply.message, out };
  }

  /** A command whose reply may come in a later step (configuration changes): ticks until it does. */
  commandAsync(id: number, cmd: Command, maxMs = 8000): { ok: boolean; message: string } {
    const n = ++this.cmdId;
    this.input(id, { kind: 'command', id: n, cmd });
    const end = this.now + maxMs;
    for (;;) {
      const r = this.effects('reply', id).find((x) => x.e.id === n);
      if (r) return { ok: r.e.ok, message: r.e.message };
      if (this.now >= end) assert.fail(`no reply to ${JSON.stringify(cmd)} within ${maxMs} ms`);
      this.tick();
    }
  }

  tick(): void {
    this.now += TICK;
    const due = this.later.filter((x) => x.at <= this.now);
    this.later = this.later.filter((x) => x.at > this.now);
    for (const x of due) if (this.up.has(x.to)) this.input(x.to, { kind: 'message', msg: x.msg });
    const results = this.fenceResults;
    this.fenceResults = [];
    for (const r of results) if (this.up.has(r.by)) this.input(r.by, r.input);
    for (const id of [...this.up].sort((a, b) => a - b)) this.input(id, { kind: 'tick' });
  }

  /** The node is powered off: it stops, and its addresses are gone with it. */
  powerOff(id: number): void {
    this.up.delete(id);
    for (const s of this.addr.values()) s.delete(id);
  }

  /** Like a daemon: step each node only when its nextWakeup() is due (plus message arrivals). */
  runByWakeup(ms: number): void {
    const end = this.now + ms;
    for (;;) {
      const ids = [...this.up].sort((a, b) => a - b);
      const next = Math.min(...ids.map((id) => this.core(id).nextWakeup()));
      if (next > end) break;
      this.now = Math.max(this.now, next);
      for (const id of ids) {
        // nextWakeup() == now means "step again at once" (something urgent to send); it must
        // settle after a few immediate steps, never spin.
        for (let again = 0; this.core(id).nextWakeup() <= this.now; again++) {
          assert.ok(again < 5, `n${id}: nextWakeup stays at ${this.now} after ${again} immediate steps`);
          this.input(id, { kind: 'tick' });
        }
      }
    }
    this.now = end;
  }

  run(ms: number): void {
    const end = this.now + ms;
    while (this.now < end) this.tick();
  }

  /** Tick until `pred` holds; returns the time. Fails the test after `maxMs`. */
  until(pred: () => boolean, maxMs: number, what: string): number {
    const end = this.now + maxMs;
    while (!pred()) {
      if (this.now >= end) assert.fail(`not within ${maxMs} ms (t=${this.now}): ${what}`);
      this.tick();
    }
    return this.now;
  }

  holders(resource = 'vip0'): number[] {
    return [...this.up].filter((id) => this.core(id).holding(resource)).sort((a, b) => a - b);
  }

  coordinators(): number[] {
    return [...this.up].filter((id) => this.core(id).isCoordinator()).sort((a, b) => a - b);
  }

  /** Effects of a kind emitted by a node (or any node), with their step's time. */
  effects<K extends Effect['kind']>(kind: K, node?: number): { t: number; node: number; e: Extract<Effect, { kind: K }> }[] {
    const r: { t: number; node: number; e: Extract<Effect, { kind: K }> }[] = [];
    for (const s of this.steps) {
      if (node !== undefined && s.node !== node) continue;
      for (const e of s.out) if (e.kind === kind) r.push({ t: s.t, node: s.node, e: e as Extract<Effect, { kind: K }> });
    }
    return r;
  }

  logs(event: string, node?: number): { t: number; node: number }[] {
    return this.effects('log', node)
      .filter((x) => x.e.event === event)
      .map(({ t, node }) => ({ t, node }));
  }

  assertSafe(): void {
    assert.deepEqual(this.violations, [], 'never two nodes with the same address');
  }

  private stepOne(id: number, input: Input): Effect[] {
    const out = this.core(id).step(input, this.now);
    this.steps.push({ t: this.now, node: id, input, out });
    this.execute(id, out);
    return out;
  }

  private execute(id: number, out: Effect[]): void {
    for (const e of out) {
      if (e.kind === 'send') {
        if (this.cut(id, e.to)) continue;
        const d = this.delay(id, e.to, e.msg);
        if (d > 0) this.later.push({ at: this.now + d, to: e.to, msg: structuredClone(e.msg) });
        else this.queue.push({ to: e.to, msg: structuredClone(e.msg) });
      } else if (e.kind === 'acquire' && this.now <= e.notAfter) {
        const s = this.addr.get(e.resource) ?? new Set<number>();
        s.add(id);
        this.addr.set(e.resource, s);
        if (s.size > 1) this.violations.push(`t=${this.now} ${e.resource} on ${[...s].join(',')}`);
      } else if (e.kind === 'release') {
        this.addr.get(e.resource)?.delete(id);
      } else if (e.kind === 'persist') {
        this.disk.set(id, structuredClone(e.state));
      } else if (e.kind === 'fence') {
        const r = this.fenceDriver(e, id);
        if (r?.ok) this.powerOff(e.target);
        if (r) {
          const { target, inc, attempt, initiator } = e;
          this.fenceResults.push({ by: id, input: { kind: 'fence-result', target, inc, attempt, initiator, ...r } });
        }
      }
    }
  }
}

/** A network of the configured nodes; `start` (default: all) are started at t=0. */
export function net(shape: ConfigShape = {}, start?: number[]): Net {
  const n = new Net(config(shape));
  for (const id of start ?? n.cfg.nodes.map((x) => x.id)) n.start(id);
  return n;
}

/** Run until exactly one node holds vip0; returns that node. */
export function settle(n: Net, maxMs = 4000): number {
  n.until(() => n.holders().length === 1 && n.coordinators().length === 1, maxMs, 'a coordinator and one holder');
  return n.holders()[0];
}
