// The hardware watchdog, a node's self-fence: while the daemon pets it the node runs; when the
// daemon dies or freezes the pets stop and the SoC resets itself after `timeoutSec`. That reset
// needs no healthy kernel, so a peer may count it as a fence once the timeout has passed (a
// systemd reboot may not: it needs the very kernel that may be wedged).
//
// Linux API (Documentation/watchdog/watchdog-api.rst): opening /dev/watchdog ARMS it, any write
// pets it, writing 'V' just before close disarms it ("magic close"; ignored with nowayout, and
// closing without 'V' leaves it armed: a crashed daemon still gets the node reset).
//
// The timeout: Node cannot issue the WDIOC_SETTIMEOUT / WDIOC_GETTIMEOUT ioctls without a native
// addon, which this project does not take. So the timeout is set outside piha:
//   - the kernel command line `bcm2835_wdt.heartbeat=N` (cmdline.txt; the bcm2835 hardware
//     maximum is about 15 s), or
//   - systemd's RuntimeWatchdogSec= — but then systemd holds the device and our open() fails
//     with EBUSY: use one or the other, not both,
// and READ BACK from sysfs (`/sys/class/watchdog/watchdogN/timeout`), never assumed: a driver bug
// turned long requested timeouts into short ones (raspberrypi/linux #7432).

import fs from 'node:fs';
import path from 'node:path';

export interface Watchdog {
  /** Arms the watchdog (and reads its timeout back where the backend can). */
  open(): Promise<void>;
  /** One keep-alive. Synchronous and free of disk IO: it must not stall behind a slow SD card. */
  pet(): void;
  /** magic: disarm (clean stop). Without it the watchdog stays armed and the node resets. */
  close(magic: boolean): Promise<void>;
  /** Seconds without a pet before the reset, as read back; null when it cannot be read. */
  readonly timeoutSec: number | null;
}

export interface DevWatchdogOptions {
  /** Default /dev/watchdog. */
  device?: string;
  /**
   * The device's sysfs directory holding `timeout` (and `nowayout`, `identity`); default
   * /sys/class/watchdog/watchdogN matching the device (/dev/watchdog is watchdog0).
   */
  sysfsDir?: string;
}

/** The sysfs directory for a watchdog device node. */
export function watchdogSysfsDir(device: string): string {
  const m = /watchdog(\d+)$/.exec(device);
  return `/sys/class/watchdog/watchdog${m ? m[1] : '0'}`;
}

const PET = Buffer.from([0]); // allocated once: a pet allocates nothing
const MAGIC = Buffer.from('V');

export class DevWatchdog implements Watchdog {
  readonly device: string;
  readonly sysfsDir: string;
  timeoutSec: number | null = null;
  /** From sysfs `nowayout`: true means a magic close cannot disarm it (the node WILL reset). */
  nowayout: boolean | null = null;
  /** Driver name from sysfs `identity`, e.g. "Broadcom BCM2835 Watchdog timer". */
  identity: string | null = null;
  private fd: number | null = null;

  constructor(opts: DevWatchdogOptions = {}) {
    this.device = opts.device ?? '/dev/watchdog';
    this.sysfsDir = opts.sysfsDir ?? watchdogSysfsDir(this.device);
  }

  get isOpen(): boolean {
    return this.fd !== null;
  }

  async open(): Promise<void> {
    if (this.fd !== null) return;
    try {
      // O_WRONLY without O_CREAT (what 'w' would add): if the device node is missing because
      // `dtparam=watchdog=on` is not set, we must fail, not create a plain file in /dev that
      // then shadows the real node. Node opens with O_CLOEXEC, so the gpioset children we
      // spawn do not inherit (and keep open) the watchdog.
      this.fd = fs.openSync(this.device, fs.constants.O_WRONLY);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const hint =
        code === 'ENOENT'
          ? 'enable it with dtparam=watchdog=on in config.txt'
          : code === 'EBUSY'
            ? 'another process holds it (systemd RuntimeWatchdogSec=, or the watchdog daemon): use only one'
            : 'the daemon needs root';
      throw new Error(`cannot open ${this.device}: ${(err as Error).message} (${hint})`);
    }
    this.timeoutSec = readNumber(path.join(this.sysfsDir, 'timeout'));
    const nowayout = readNumber(path.join(this.sysfsDir, 'nowayout'));
    this.nowayout = nowayout === null ? null : nowayout !== 0;
    this.identity = readText(path.join(this.sysfsDir, 'identity'));
  }

  pet(): void {
    if (this.fd === null) throw new Error(`watchdog ${this.device} is not open`);
    fs.writeSync(this.fd, PET);
  }

  async close(magic: boolean): Promise<void> {
    const fd = this.fd;
    if (fd === null) return;
    this.fd = null;
    try {
      if (magic) fs.writeSync(fd, MAGIC);
    } finally {
      fs.closeSync(fd);
    }
  }
}

/**
 * How often to pet for a timeout: a quarter of it (kept between 100 ms and 5 s), so a late
 * timer, a GC pause and a slow tick together still stay well inside the timeout.
 */
export function petIntervalMs(timeoutSec: number | null, fallbackMs = 1000): number {
  if (timeoutSec === null || !(timeoutSec > 0)) return fallbackMs;
  return Math.max(100, Math.min((timeoutSec * 1000) / 4, 5000));
}

// Sysfs reads happen once, at open(), never on the petting path.
function readText(file: string): string | null {
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch {
    return null; // older kernels, or a driver without that attribute
  }
}

function readNumber(file: string): number | null {
  const text = readText(file);
  if (text === null || !/^\d+$/.test(text)) return null;
  return Number(text);
}
