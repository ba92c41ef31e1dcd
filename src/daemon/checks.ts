// Optional health checks of a resource (`checks:` in the config): http GET expecting 2xx,
// tcp connect, exec exit 0. Each keeps rise/fall counters like keepalived's and HAProxy's:
// `fall` consecutive failures make it down, `rise` consecutive successes make it up again.
// They run on their own timers, never on the heartbeat path.

import { execFile } from 'node:child_process';
import net from 'node:net';
import type { HealthCheckConfig } from '../config/types.ts';

export type ProbeResult = { ok: true } | { ok: false; reason: string };

export async function probeOnce(c: HealthCheckConfig): Promise<ProbeResult> {
  try {
    if (c.type === 'http') {
      const res = await fetch(c.target, { signal: AbortSignal.timeout(c.timeoutMs), redirect: 'manual' });
      await res.body?.cancel();
      return res.status >= 200 && res.status < 300 ? { ok: true } : { ok: false, reason: `http ${res.status}` };
    }
    if (c.type === 'tcp') {
      const i = c.target.lastIndexOf(':');
      const host = c.target.slice(0, i).replace(/^\[|\]$/g, '');
      const port = Number(c.target.slice(i + 1));
      return await new Promise<ProbeResult>((resolve) => {
        const s = net.connect({ host, port, timeout: c.timeoutMs });
        const done = (r: ProbeResult) => {
          s.destroy();
          resolve(r);
        };
        s.once('connect', () => done({ ok: true }));
        s.once('timeout', () => done({ ok: false, reason: 'tcp timeout' }));
        s.once('error', (e) => done({ ok: false, reason: `tcp ${(e as NodeJS.ErrnoException).code ?? e.message}` }));
      });
    }
    const argv = c.target.split(/\s+/).filter(Boolean);
    return await new Promise<ProbeResult>((resolve) => {
      execFile(argv[0], argv.slice(1), { timeout: c.timeoutMs, killSignal: 'SIGKILL' }, (err) => {
        if (!err) resolve({ ok: true });
        else resolve({ ok: false, reason: err.killed ? 'exec timeout' : `exec exit ${(err as { code?: unknown }).code ?? '?'}` });
      });
    });
  } catch (e) {
    return { ok: false, reason: (e as Error).name === 'TimeoutError' ? `${c.type} timeout` : `${c.type} ${(e as Error).message}` };
  }
}

export class HealthCheck {
  up = true; // assume healthy until `fall` failures say otherwise
  lastReason = '';
  private okRun = 0;
  private failRun = 0;
  private timer: NodeJS.Timeout | null = null;
  private running = false;

  constructor(
    readonly cfg: HealthCheckConfig,
    private readonly onChange: (up: boolean, reason: string) => void,
  ) {}

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.tick(), this.cfg.intervalMs);
    this.timer.unref();
    void this.tick();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  async tick(): Promise<void> {
    if (this.running) return; // a slow check never piles up
    this.running = true;
    try {
      const r = await probeOnce(this.cfg);
      if (r.ok) {
        this.okRun++;
        this.failRun = 0;
        if (!this.up && this.okRun >= this.cfg.rise) {
          this.up = true;
          this.onChange(true, 'recovered');
        }
      } else {
        this.failRun++;
        this.okRun = 0;
        this.lastReason = r.reason;
        if (this.up && this.failRun >= this.cfg.fall) {
          this.up = false;
          this.onChange(false, r.reason);
        }
      }
    } finally {
      this.running = false;
    }
  }
}
