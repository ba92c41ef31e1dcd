// A fence device made of one relay on this node's GPIO header, switching the 5 V supply of
// the node(s) in hosts (the relay ring of hardware/README.md).
//
// Wiring assumption: the relay's NORMALLY-CLOSED contact carries the peer's +5 V. With the coil
// off the peer is powered, so a driving Pi that is dead, rebooting, unplugged or simply not
// driving its pin leaves its peer running; cutting power takes a live, deliberate decision.
// Hence logical 1 = coil energised = power CUT, logical 0 = powered; whether that is a high or a
// low pin is the line's active_low (the common opto-isolated boards switch on a LOW input).
//
// The line is requested on first use and then held until close(): releasing and re-requesting
// it for every command would let it glitch, and the chardev backend holds a line with a
// running gpioset. The first request sets the level that first command wants (off: 1, on and
// status: 0), so opening never re-powers a peer that a command is about to cut, and a status
// read on a line not yet driven by this process finds the peer powered: the fail-safe side (a
// daemon restart leaves nobody cut by accident; the cluster fences again if it must).
//
// status() reads the line back with get(): the level of our own output, not a measurement of
// the peer's power, which a relay cannot report. A device whose line cannot be driven throws.

import type { GpioBackend, GpioLine, Level, LineSpec } from '../devices/gpio.ts';
import { describeLine } from '../devices/gpio.ts';
import type { GpioRelayDeviceConfig } from '../config/types.ts';
import { FenceError, type FenceDevice, type PowerState } from './types.ts';
import { abortText, checkHost, raceAbort } from './util.ts';

export const RELAY_CUT: Level = 1;
export const RELAY_POWERED: Level = 0;

export class GpioRelayDevice implements FenceDevice {
  readonly type = 'gpio-relay' as const;
  readonly name: string;
  readonly hosts: readonly string[];
  private readonly spec: LineSpec;
  private line: Promise<GpioLine> | null = null;
  /** Commands run one at a time, in call order. */
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;

  constructor(
    readonly config: GpioRelayDeviceConfig,
    private readonly gpio: GpioBackend,
  ) {
    this.name = config.name;
    this.hosts = config.hosts;
    this.spec = { line: config.relay.line, activeLow: config.relay.activeLow };
    if (config.relay.chip !== undefined) this.spec.chip = config.relay.chip;
  }

  off(node: string, signal: AbortSignal): Promise<void> {
    return this.command(node, signal, 'off', async (line) => {
      await line.set(RELAY_CUT);
      await this.expect(line, 'off');
    });
  }

  on(node: string, signal: AbortSignal): Promise<void> {
    return this.command(node, signal, 'on', async (line) => {
      await line.set(RELAY_POWERED);
      await this.expect(line, 'on');
    });
  }

  status(node: string, signal: AbortSignal): Promise<PowerState> {
    return this.command(node, signal, 'status', async (line) => toState(await line.get()));
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.queue.catch(() => {});
    const line = this.line;
    this.line = null;
    if (!line) return;
    const opened = await line.catch(() => null);
    await opened?.close();
  }

  private command<T>(node: string, signal: AbortSignal, what: 'off' | 'on' | 'status', fn: (line: GpioLine) => Promise<T>): Promise<T> {
    const run = async (): Promise<T> => {
      checkHost(this, node);
      // Given up while queued behind another command: do not switch anything any more.
      if (signal.aborted) throw new FenceError(`${this.name}: relay ${what} of ${node} ${abortText(signal)}`, this.name);
      if (this.closed) throw new FenceError(`${this.name}: device is closed`, this.name);
      const line = await this.open(what === 'off' ? RELAY_CUT : RELAY_POWERED);
      try {
        return await fn(line);
      } catch (err) {
        if (err instanceof FenceError) throw err;
        throw new FenceError(`${this.name}: cannot ${what === 'status' ? 'read' : 'drive'} relay line ${describeLine(this.spec)}: ${(err as Error).message}`, this.name);
      }
    };
    const result = this.queue.then(run, run);
    this.queue = result.catch(() => {});
    return raceAbort(result, signal, this.name, `relay ${what} of ${node}`);
  }

  private open(initial: Level): Promise<GpioLine> {
    if (!this.line) {
      const opening = this.gpio.output(this.spec, initial);
      this.line = opening;
      // A failed request is retried by the next command rather than cached.
      opening.catch(() => {
        if (this.line === opening) this.line = null;
      });
    }
    return this.line.catch((err: Error) => {
      throw new FenceError(
        `${this.name}: cannot open relay line ${describeLine(this.spec)}: ${err.message} (is the line in use by something else, e.g. the LED or another device? check gpioinfo and hardware: / fencing: in piha.yaml)`,
        this.name,
      );
    });
  }

  /** Reads the line back after a set: a line that does not hold its level is a broken fence. */
  private async expect(line: GpioLine, want: PowerState): Promise<void> {
    const got = toState(await line.get());
    if (got !== want) {
      throw new FenceError(
        `${this.name}: relay line ${describeLine(this.spec)} reads back as ${got} after switching ${want} (something else drives the pin?)`,
        this.name,
      );
    }
  }
}

const toState = (v: Level): PowerState => (v === RELAY_CUT ? 'off' : 'on');
