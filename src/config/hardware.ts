// The hardware: section (GPIO backend, status LED, button) and the GPIO line fields shared
// with the gpio-relay fence devices of fencing:. Wiring and pin choices: hardware/README.md.

import { lineOffset } from '../devices/gpio-util.ts';
import type { Issues } from './errors.ts';
import { checkAbsolutePath } from './formats.ts';
import {
  BUTTON_DEFAULT_ACTIVE_LOW,
  BUTTON_DEFAULT_LONG_PRESS_MS,
  defaultHardware,
  LED_DEFAULT_ACTIVE_LOW,
} from './fencing-defaults.ts';
import { keyPath } from './path.ts';
import { describe, Section } from './read.ts';
import { BUTTON_KEYS, GPIO_BACKENDS, HARDWARE_KEYS, LED_KEYS } from './schema.ts';
import { closest } from './suggest.ts';
import type { GpioLineConfig, HardwareConfig } from './types.ts';

const PATH = 'hardware';

/** The 40-pin header carries BCM GPIO0..GPIO27 on every 40-pin Pi (Pi 5: the RP1 chip, same numbers). */
export const HEADER_MAX_BCM = 27;

/** The Button class debounces for 50 ms (src/devices/button.ts). */
const BUTTON_DEBOUNCE_MS = 50;

/** A line as read: undefined fields had errors (or, for activeLow, were required and missing). */
export type LineDraft = Partial<GpioLineConfig>;

/**
 * line:, chip: and active_low: of one mapping (the LED, the button, a gpio-relay).
 * `activeLowDefault` undefined makes active_low required.
 */
export function readLineFields(
  s: Section,
  opts: { example: number; activeLowDefault?: boolean; activeLowWhy?: string },
): LineDraft {
  const out: LineDraft = {};
  const chip = s.string('chip', {
    example: 'chip: pinctrl-bcm2711',
    check: (v) =>
      /^[^\s/\\]+$/.test(v)
        ? null
        : `${JSON.stringify(v)} is not a GPIO chip (write its label, like pinctrl-bcm2711, or its name, like gpiochip0; leave chip: out for the Pi's 40-pin header)`,
  });
  if (chip !== undefined) out.chip = chip;
  const line = readLine(s, opts.example, chip);
  if (line !== undefined) out.line = line;

  const required = opts.activeLowDefault === undefined;
  const example = `active_low: ${opts.activeLowDefault ?? true}`;
  // A misspelt active_low was already reported as an unknown key with "did you mean".
  const misspelt = Object.keys(s.map).some((k) => k !== 'active_low' && closest(k, ['active_low']) !== undefined);
  if (required && !s.has('active_low')) {
    if (!misspelt) s.issues.add(s.pathOf('active_low'), `required key is missing (add ${example} or active_low: false to ${s.label}${opts.activeLowWhy ? `; ${opts.activeLowWhy}` : ''})`);
  } else {
    const v = s.bool('active_low', { example });
    const activeLow = v ?? (s.has('active_low') ? undefined : opts.activeLowDefault);
    if (activeLow !== undefined) out.activeLow = activeLow;
  }
  return out;
}

/** line: a BCM offset (17), or a line name (GPIO17); on the header chip only GPIO0..27. */
function readLine(s: Section, example: number, chip: string | undefined): number | string | undefined {
  const key = 'line';
  const ex = `line: ${example}`;
  const v = s.raw(key, { required: true, example: ex });
  if (v === undefined) return undefined;
  const path = s.pathOf(key);
  let line: number | string;
  if (typeof v === 'number') {
    if (!Number.isInteger(v) || v < 0) {
      s.issues.add(path, `must be a GPIO (BCM) number like ${example} or a line name like GPIO${example}, not ${v}`);
      return undefined;
    }
    line = v;
  } else if (typeof v === 'string' && v.trim() !== '' && /^[^\s/\\]+$/.test(v.trim())) {
    const t = v.trim();
    // A quoted number means the same offset; keep it a number so configs compare equal.
    line = /^\d+$/.test(t) ? Number(t) : t;
  } else {
    s.issues.add(path, `must be a GPIO (BCM) number like ${example} or a line name like GPIO${example}, not ${describe(v)}`);
    return undefined;
  }
  const offset = lineOffset(line);
  if (chip === undefined && offset !== null && offset > HEADER_MAX_BCM) {
    s.issues.add(
      path,
      `GPIO${offset} is not on the 40-pin header (it carries GPIO0 to GPIO${HEADER_MAX_BCM}, BCM numbers, not physical pin numbers: physical pin 11 is GPIO17, see hardware/README.md); for a line of another chip add chip:`,
    );
    return undefined;
  }
  return line;
}

/** A line a (node's) output or input uses, for "two things on one pin" checks: chip + offset or name. */
export function lineKey(l: Pick<GpioLineConfig, 'chip' | 'line'>): string {
  const offset = lineOffset(l.line);
  return `${l.chip ?? ''}\0${offset !== null ? `#${offset}` : String(l.line)}`;
}

/** How to name a line in messages: GPIO17, or chip:line. */
export function showLine(l: Pick<GpioLineConfig, 'chip' | 'line'>): string {
  const offset = lineOffset(l.line);
  const name = offset !== null ? `GPIO${offset}` : String(l.line);
  return l.chip === undefined ? name : `${l.chip}:${l.line}`;
}

export function readHardware(issues: Issues, raw: unknown): HardwareConfig {
  const defaults = defaultHardware();
  if (raw === undefined) return defaults;
  const s = Section.open(issues, raw, PATH, 'hardware:', HARDWARE_KEYS);
  if (!s) return defaults;

  const backend = s.oneOf('gpio', GPIO_BACKENDS, { example: 'gpio: chardev', what: 'GPIO backend' }) ?? defaults.gpio.backend;
  const simDir =
    s.string('gpio_sim_dir', {
      example: `gpio_sim_dir: ${defaults.gpio.simDir}`,
      check: (v) => checkAbsolutePath(v, defaults.gpio.simDir),
    }) ?? defaults.gpio.simDir;
  const out: HardwareConfig = { gpio: { backend, simDir } };

  const ledRaw = s.nested('led');
  if (ledRaw !== undefined) {
    const led = Section.open(issues, ledRaw, s.pathOf('led'), 'led:', LED_KEYS);
    if (led) {
      const l = readLineFields(led, { example: 27, activeLowDefault: LED_DEFAULT_ACTIVE_LOW });
      if (l.line !== undefined && l.activeLow !== undefined) out.led = l as GpioLineConfig;
    }
  }

  const buttonRaw = s.nested('button');
  if (buttonRaw !== undefined) {
    const b = Section.open(issues, buttonRaw, s.pathOf('button'), 'button:', BUTTON_KEYS);
    if (b) {
      const l = readLineFields(b, { example: 22, activeLowDefault: BUTTON_DEFAULT_ACTIVE_LOW });
      const longPressMs = b.duration('long_press', {
        example: 'long_press: 3s',
        min: 2 * BUTTON_DEBOUNCE_MS,
        minReason: `the button is debounced for ${BUTTON_DEBOUNCE_MS}ms, so a shorter hold cannot be told from a short press`,
      });
      const lp = longPressMs ?? (b.has('long_press') ? undefined : BUTTON_DEFAULT_LONG_PRESS_MS);
      if (l.line !== undefined && l.activeLow !== undefined && lp !== undefined) {
        out.button = { ...(l as GpioLineConfig), longPressMs: lp };
      }
    }
  }

  if (out.led && out.button && lineKey(out.led) === lineKey(out.button)) {
    issues.add(
      keyPath(s.pathOf('button'), 'line'),
      `${showLine(out.button)} is also the LED's line (hardware.led.line); the LED is an output and the button an input, so each needs its own pin (the README uses GPIO27 for the LED, GPIO22 for the button)`,
    );
  }
  return out;
}
