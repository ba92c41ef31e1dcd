// Runs the `fence` effects of the core on this node's fence devices (src/fence): cut the
// power, read it back as off, report; with stonith action `reboot`, switch the node on again
// after off_time. Confirmation means the DEVICE reads off — never "the command returned".
//
// One fence per target at a time (the core asks again only after an outcome or a timeout).
// Every device covering the target that runs here is tried in file order until one confirms.

import type { FenceDeviceConfig, FencingConfig } from '../config/types.ts';
import type { Effect } from '../core/types.ts';
import type { FenceDevice } from '../fence/types.ts';
import { monotonicNow } from './clock.ts';

type FenceEffect = Extract<Effect, { kind: 'fence' }>;

export interface FenceOutcome {
  ok: boolean;
  detail: string;
}

export interface FenceRunnerLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/** How often the power state is read back while waiting for "off". */
const READBACK_EVERY_MS = 100;

export class FenceRunner {
  private readonly running = new Set<number>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly configs: Map<string, FenceDeviceConfig>;
  /** Outcomes per target node name, for /metrics. */
  readonly counts = new Map<string, { ok: number; failed: number }>();
  private closed = false;

  constructor(
    private readonly devices: FenceDevice[],
    private readonly cfg: FencingConfig,
    private readonly log: FenceRunnerLog,
    private readonly report: (e: FenceEffect, outcome: FenceOutcome) => void,
  ) {
    this.configs = new Map(cfg.devices.map((d) => [d.name, d]));
  }

  get busy(): boolean {
    return this.running.size > 0;
  }

  run(e: FenceEffect): void {
    if (this.closed || this.running.has(e.target)) return;
    this.running.add(e.target);
    void this.fence(e)
      .catch((err: unknown) => ({ ok: false, detail: `internal error: ${(err as Error).message}` }))
      .then((outcome) => {
        this.running.delete(e.target);
        const c = this.counts.get(e.targetName) ?? { ok: 0, failed: 0 };
        if (outcome.ok) c.ok++;
        else c.failed++;
        this.counts.set(e.targetName, c);
        if (!this.closed) this.report(e, outcome);
      });
  }

  private async fence(e: FenceEffect): Promise<FenceOutcome> {
    const node = e.targetName;
    const candidates = this.devices.filter((d) => d.hosts.includes(node));
    if (candidates.length === 0) return { ok: false, detail: `no fence device for ${node} runs on this node` };
    const errors: string[] = [];
    for (const d of candidates) {
      const timeoutMs = this.configs.get(d.name)?.timeoutMs ?? 5000;
      const started = monotonicNow();
      this.log.warn({ event: 'fence_device_off', device: d.name, type: d.type, node }, `fencing ${node}: ${d.name} off`);
      try {
        const signal = AbortSignal.timeout(timeoutMs);
        await d.off(node, signal);
        const state = await this.readBack(d, node, signal);
        if (state !== 'off') {
          errors.push(`${d.name}: still reads "on" after the off command`);
          continue;
        }
        const ms = Math.round(monotonicNow() - started);
        if (this.cfg.action === 'reboot') this.powerOnLater(d, node);
        return { ok: true, detail: `${d.name} (${d.type}): power off, read back off in ${ms} ms${this.cfg.action === 'reboot' ? `; on again in ${this.cfg.offTimeMs / 1000} s` : ''}` };
      } catch (err) {
        errors.push(`${d.name}: ${(err as Error).message}`);
      }
    }
    return { ok: false, detail: errors.join('; ') };
  }

  private async readBack(d: FenceDevice, node: string, signal: AbortSignal): Promise<'on' | 'off'> {
    for (;;) {
      const s = await d.status(node, signal);
      if (s === 'off' || signal.aborted) return s;
      await new Promise((r) => setTimeout(r, READBACK_EVERY_MS));
      if (signal.aborted) return s;
    }
  }

  /** The second half of a reboot (pcmk stonith-action=reboot): power back on after off_time. */
  private powerOnLater(d: FenceDevice, node: string): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      if (this.closed) return;
      const timeoutMs = this.configs.get(d.name)?.timeoutMs ?? 5000;
      d.on(node, AbortSignal.timeout(timeoutMs)).then(
        () => this.log.info({ event: 'fence_power_on', device: d.name, node }, `${node} powered on again by ${d.name}`),
        (err: unknown) =>
          this.log.error({ event: 'fence_power_on_failed', device: d.name, node, error: (err as Error).message }, `could not power ${node} on again: switch it on by hand`),
      );
    }, this.cfg.offTimeMs);
    this.timers.add(t);
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    await Promise.allSettled(this.devices.map((d) => d.close()));
  }
}
