// The push button: a short press and a long press (held 3 s), e.g. "show status" and "stand
// by / move my VIPs away". Contacts bounce for a few ms on press and release, so a level
// counts only once it has been stable for debounceMs (50 ms): shorter blips are ignored.
//
// 'long' fires while the button is still held, at the 3 s mark: the user gets the reaction
// (LED change) as the signal to let go. Releasing after that adds nothing; releasing before it
// is a 'short'. Durations are measured from the first edge of each bounce burst, not from
// when the debounce settled, so the 50 ms do not shift the short/long boundary.
//
// Wiring (hardware/README.md): GPIO → button → GND with the internal pull-up, so the pin
// reads 0 when pressed: the line is opened activeLow and "1" means pressed throughout.

import { realClock, type DeviceClock, type TimerHandle } from './clock.ts';
import type { GpioBackend, GpioInputLine, Level, LineSpec } from './gpio.ts';

export type PressKind = 'short' | 'long';

export interface ButtonOptions {
  onPress: (kind: PressKind) => void;
  /** Default 50 ms. */
  debounceMs?: number;
  /** Default 3000 ms. */
  longMs?: number;
  clock?: DeviceClock;
  /** A throwing onPress must not take the watcher down; it is reported here. */
  onError?: (err: unknown) => void;
}

export class Button {
  private readonly debounceMs: number;
  private readonly longMs: number;
  private readonly clock: DeviceClock;
  private readonly unwatch: () => void;
  /** Last raw level seen, and the debounced one. */
  private raw: Level;
  private stable: Level;
  /** Time of the first edge since the level was last stable. */
  private burstStart: number | null = null;
  private pressedAt = 0;
  private longFired = false;
  private debounceTimer: TimerHandle | null = null;
  private longTimer: TimerHandle | null = null;
  private closed = false;

  /** Takes over an input line (closed with the button). `initial` is its level now. */
  constructor(
    private readonly line: GpioInputLine,
    initial: Level,
    private readonly opts: ButtonOptions,
  ) {
    this.debounceMs = opts.debounceMs ?? 50;
    this.longMs = opts.longMs ?? 3000;
    this.clock = opts.clock ?? realClock;
    this.raw = initial;
    this.stable = initial;
    this.unwatch = line.watch((v) => this.onEdge(v));
  }

  /** Opens the line as the README wires it: pull-up, active-low (1 = pressed). */
  static async open(backend: GpioBackend, spec: LineSpec, opts: ButtonOptions): Promise<Button> {
    const line = await backend.input({ ...spec, activeLow: spec.activeLow ?? true }, { bias: 'pull-up' });
    try {
      return new Button(line, await line.get(), opts);
    } catch (err) {
      await line.close();
      throw err;
    }
  }

  get pressed(): boolean {
    return this.stable === 1;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.unwatch();
    this.clear('debounceTimer');
    this.clear('longTimer');
    await this.line.close();
  }

  // The edge's own timestamp is not used: it may come from the kernel's clock, while the
  // timers below run on this.clock; mixing them would skew the short/long decision.
  private onEdge(v: Level): void {
    if (this.closed || v === this.raw) return;
    this.raw = v;
    this.burstStart ??= this.clock.now();
    this.clear('debounceTimer');
    this.debounceTimer = this.clock.setTimeout(() => this.settle(), this.debounceMs);
  }

  private settle(): void {
    this.debounceTimer = null;
    const edgeAt = this.burstStart ?? this.clock.now();
    this.burstStart = null;
    if (this.raw === this.stable) {
      // A blip that came back: noise, not a press. If it hid the 3 s mark, check it again now.
      if (this.stable === 1 && !this.longFired && this.longTimer === null) this.armLong();
      return;
    }
    this.stable = this.raw;
    if (this.stable === 1) {
      this.pressedAt = edgeAt;
      this.longFired = false;
      this.armLong();
      return;
    }
    this.clear('longTimer');
    if (this.longFired) return;
    // The release edge's time decides, also when the long timer never got to run.
    this.emit(edgeAt - this.pressedAt >= this.longMs ? 'long' : 'short');
  }

  private armLong(): void {
    const left = Math.max(0, this.longMs - (this.clock.now() - this.pressedAt));
    this.longTimer = this.clock.setTimeout(() => this.onLong(), left);
  }

  private onLong(): void {
    this.longTimer = null;
    // A release edge is waiting out its debounce: whether it came before the 3 s mark is
    // for settle() to decide (a 2.99 s press is short even though its release settles later).
    if (this.raw !== this.stable) return;
    this.longFired = true;
    this.emit('long');
  }

  private emit(kind: PressKind): void {
    try {
      this.opts.onPress(kind);
    } catch (err) {
      this.opts.onError?.(err);
    }
  }

  private clear(which: 'debounceTimer' | 'longTimer'): void {
    const t = this[which];
    if (t !== null) this.clock.clearTimeout(t);
    this[which] = null;
  }
}
