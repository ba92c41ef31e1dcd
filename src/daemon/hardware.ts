// The node's own hardware, as the daemon uses it: the GPIO backend (shared by the status
// LED, the button and a gpio-relay fence device), the hardware watchdog, the LED and the button.
// Each part is optional and configured in piha.yaml (fencing.watchdog, hardware.*).
//
// The watchdog follows the SBD rule (core.mayPetWatchdog): it is petted only while the daemon
// loop runs and every VIP this node holds is inside its lease. Opening arms it; a clean stop
// disarms it with the magic close; a crash leaves it armed, so a daemon that does not come
// back within the timeout gets the node reset — which is what the peers count on.

import type { FencingConfig, HardwareConfig } from '../config/types.ts';
import { createGpio, type GpioBackend } from '../devices/gpio.ts';
import { DevWatchdog, petIntervalMs, type Watchdog } from '../devices/watchdog.ts';
import { SimWatchdog } from '../devices/watchdog-sim.ts';
import { StatusLed, type LedPattern } from '../devices/led.ts';
import { Button, type PressKind } from '../devices/button.ts';

export interface HardwareLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export function createGpioBackend(hw: HardwareConfig): GpioBackend {
  switch (hw.gpio.backend) {
    case 'sim':
      return createGpio('sim', { dir: hw.gpio.simDir });
    case 'sysfs':
      return createGpio('sysfs', {});
    case 'chardev':
      return createGpio('chardev', {});
  }
}

/** `sim:/path/state.json` selects the simulated watchdog (lab); anything else is a device node. */
export function createWatchdog(cfg: FencingConfig['watchdog']): Watchdog {
  if (cfg.device.startsWith('sim:')) return new SimWatchdog({ path: cfg.device.slice(4), timeoutSec: cfg.timeoutMs / 1000 });
  return new DevWatchdog({ device: cfg.device });
}

export interface WatchdogState {
  enabled: boolean;
  device: string;
  configuredSec: number;
  /** As read back from the driver (null: could not be read). */
  timeoutSec: number | null;
  pets: number;
  /** Pets skipped because a VIP was past its lease or the loop had stalled. */
  withheld: number;
}

export class NodeHardware {
  private gpio: GpioBackend | null = null;
  private wd: Watchdog | null = null;
  private petTimer: NodeJS.Timeout | null = null;
  private led: StatusLed | null = null;
  private button: Button | null = null;
  readonly watchdog: WatchdogState;

  constructor(
    private readonly hw: HardwareConfig,
    private readonly fencing: FencingConfig,
    private readonly log: HardwareLog,
  ) {
    const w = fencing.watchdog;
    this.watchdog = { enabled: w.enabled, device: w.device, configuredSec: w.timeoutMs / 1000, timeoutSec: null, pets: 0, withheld: 0 };
  }

  /** The one GPIO backend of this node, created on first use. */
  backend(): GpioBackend {
    return (this.gpio ??= createGpioBackend(this.hw));
  }

  /**
   * Open and arm the watchdog, then pet it every quarter timeout while `mayPet()` says so.
   * Throws when watchdog mode is configured but the device cannot be used as configured:
   * peers would count on a reset that would not come.
   */
  async startWatchdog(mayPet: () => boolean): Promise<void> {
    if (!this.fencing.watchdog.enabled) return;
    const wd = createWatchdog(this.fencing.watchdog);
    await wd.open();
    this.wd = wd;
    const configured = this.fencing.watchdog.timeoutMs / 1000;
    this.watchdog.timeoutSec = wd.timeoutSec;
    if (wd.timeoutSec !== null && wd.timeoutSec > configured) {
      await wd.close(true);
      this.wd = null;
      throw new Error(
        `the watchdog ${this.fencing.watchdog.device} resets after ${wd.timeoutSec} s but fencing.watchdog.timeout is ${configured} s: peers would take VIPs before this node resets. Set bcm2835_wdt.heartbeat=${configured} in cmdline.txt, or timeout: ${wd.timeoutSec}s in piha.yaml (on every node)`,
      );
    }
    if (wd.timeoutSec === null) this.log.warn({ event: 'watchdog_timeout_unknown', device: this.fencing.watchdog.device }, 'cannot read the watchdog timeout back: trusting fencing.watchdog.timeout');
    else if (wd.timeoutSec < configured) this.log.warn({ event: 'watchdog_timeout_shorter', readBack: wd.timeoutSec, configured }, 'the watchdog resets sooner than configured: safe, but a slow moment may reboot the node');
    const every = petIntervalMs(wd.timeoutSec ?? configured);
    this.petTimer = setInterval(() => {
      if (!mayPet()) {
        this.watchdog.withheld++;
        return;
      }
      try {
        wd.pet();
        this.watchdog.pets++;
      } catch (err) {
        this.log.error({ event: 'watchdog_pet_failed', error: (err as Error).message }, 'could not pet the watchdog');
      }
    }, every);
    this.log.info({ event: 'watchdog_armed', device: this.fencing.watchdog.device, timeoutSec: wd.timeoutSec ?? configured, petEveryMs: every }, 'hardware watchdog armed');
  }

  async startLed(): Promise<void> {
    const spec = this.hw.led;
    if (!spec) return;
    const line = await this.backend().output({ line: spec.line, activeLow: spec.activeLow, ...(spec.chip ? { chip: spec.chip } : {}) }, 0);
    this.led = new StatusLed(line, { onError: (err) => this.log.warn({ event: 'led_failed', error: (err as Error).message }, 'status LED write failed') });
  }

  setLed(p: LedPattern): void {
    this.led?.set(p);
  }

  get ledPattern(): LedPattern | null {
    return this.led?.pattern ?? null;
  }

  async startButton(onPress: (kind: PressKind) => void): Promise<void> {
    const spec = this.hw.button;
    if (!spec) return;
    this.button = await Button.open(this.backend(), { line: spec.line, activeLow: spec.activeLow, ...(spec.chip ? { chip: spec.chip } : {}) }, {
      onPress,
      longMs: spec.longPressMs,
      onError: (err) => this.log.error({ event: 'button_handler_failed', error: (err as Error).message }, 'button handler failed'),
    });
  }

  /** Clean stop: disarm the watchdog (magic close), LED off, lines released. */
  async close(): Promise<void> {
    if (this.petTimer) clearInterval(this.petTimer);
    this.petTimer = null;
    const wd = this.wd;
    this.wd = null;
    await Promise.allSettled([wd?.close(true), this.led?.close(), this.button?.close()]);
  }
}
