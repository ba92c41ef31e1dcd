// The libgpiod command-line tools: argv construction and output parsing, pure functions only
// (the processes are run by gpio-chardev.ts). Two incompatible generations exist:
//
//   v1 (libgpiod 1.x: Debian bookworm and Raspberry Pi OS bookworm ship 1.6.3)
//     gpioset [opts] <chip> <offset>=<v>       chip is positional; offsets only (gpiofind maps names)
//     gpioset --mode=signal ...                holds the line until SIGTERM (default mode 'exit'
//                                              releases it at once: the level is then undefined)
//     gpiomon --format='%e %s %n'              %e: 1 rising / 0 falling; %s/%n: seconds/nanoseconds
//     gpiomon --line-buffered                  needed: v1 block-buffers events when piped
//     --bias=disable                           (1.5+)
//   v2 (libgpiod 2.x: Debian trixie and later)
//     gpioset [opts] -c <chip> <line>=<v>      chip is an option; line is an offset or a name
//     gpioset holds by default                 (until killed); --interactive (built with libedit)
//                                              reads `set <line>=<v>` commands: no re-request
//     gpioget --numeric                        prints 0/1 (the default prints "17"=active)
//     gpiomon --format='%E %S'                 %E: rising/falling (%e is 1/2 here, not 1/0!);
//                                              %S: seconds.nanoseconds
//     --bias=disabled                          (note the d)
//     --banner                                 a line on stdout once the request succeeded
// Long options are used throughout because the short ones moved (-b is --line-buffered in v1,
// --bias in v2; -B is --bias in v1, --by-name in v2).

import type { Bias, Level } from './gpio.ts';
import { parseLevel } from './gpio-util.ts';

export interface GpiodTools {
  major: 1 | 2;
  /** As printed, e.g. "1.6.3". */
  version: string;
  /** v2 gpioset built with --interactive (changes a value without releasing the line). */
  interactive: boolean;
}

/** A line as the tools are told it: chip null lets v2 find a named line on any chip. */
export interface ToolLine {
  chip: string | null;
  /** Offset (decimal string) or, with v2, a line name. */
  id: string;
  activeLow: boolean;
}

export interface GpioChipInfo {
  name: string;
  label: string;
  lines: number;
}

export interface MonEvent {
  value: Level;
  /** Kernel event timestamp in ms (CLOCK_MONOTONIC unless configured otherwise). */
  tMs: number;
}

/** The v2 interactive gpioset prints this before reading each command (even on a pipe). */
export const GPIOSET_PROMPT = 'gpioset> ';

/**
 * `gpioset --version`, first line:
 *   v1 and v2.0–2.2: "gpioset (libgpiod) v1.6.3"
 *   newer v2:        "gpioset v2.3 (libgpiod v2.3)"  (tool version first, then the C API's)
 */
export function parseToolVersion(text: string): { major: number; version: string } | null {
  const m = /\bv(\d+)\.(\d+)(?:\.(\d+))?/.exec(text);
  if (!m) return null;
  return { major: Number(m[1]), version: m[0].slice(1) };
}

/** `gpiodetect`, both generations: "gpiochip0 [pinctrl-bcm2711] (58 lines)". */
export function parseGpiodetect(text: string): GpioChipInfo[] {
  const chips: GpioChipInfo[] = [];
  for (const line of text.split('\n')) {
    const m = /^(\S+)\s+\[([^\]]*)\]\s+\((\d+) lines?\)/.exec(line.trim());
    if (m) chips.push({ name: m[1], label: m[2], lines: Number(m[3]) });
  }
  return chips;
}

/** v1 `gpiofind GPIO17`: "gpiochip0 17" (exit code 1 and no output when not found). */
export function parseGpiofind(text: string): { chip: string; offset: number } | null {
  const m = /^(\S+)\s+(\d+)\s*$/.exec(text.trim());
  return m ? { chip: m[1], offset: Number(m[2]) } : null;
}

function biasArgs(tools: GpiodTools, bias: Bias | undefined): string[] {
  if (!bias) return [];
  return [`--bias=${bias === 'disable' && tools.major >= 2 ? 'disabled' : bias}`];
}

/** v1 has no way to leave the chip out; v2 takes it as an option. */
function lineArgs(tools: GpiodTools, line: ToolLine, suffix = ''): string[] {
  if (tools.major === 1) {
    if (line.chip === null || !/^\d+$/.test(line.id)) {
      throw new Error(`libgpiod v1 tools need a chip and an offset (got ${line.chip ?? '?'}:${line.id})`);
    }
    return [line.chip, `${line.id}${suffix}`];
  }
  return [...(line.chip !== null ? ['--chip', line.chip] : []), `${line.id}${suffix}`];
}

const activeLowArgs = (line: ToolLine): string[] => (line.activeLow ? ['--active-low'] : []);

/** v2 lets us name ourselves as the consumer: `gpioinfo` then shows who holds the relay line. */
const CONSUMER = ['--consumer=piha'];

/** A gpioset that keeps the line requested (driven) until it is killed. */
export function gpiosetArgs(tools: GpiodTools, line: ToolLine, value: Level, mode: 'hold' | 'interactive'): string[] {
  if (tools.major === 1) return ['--mode=signal', ...activeLowArgs(line), ...lineArgs(tools, line, `=${value}`)];
  const hold = mode === 'interactive' ? '--interactive' : '--banner';
  return [...CONSUMER, hold, ...activeLowArgs(line), ...lineArgs(tools, line, `=${value}`)];
}

/** The command an interactive v2 gpioset takes to change the level without releasing the line. */
export const gpiosetInteractiveSet = (line: ToolLine, value: Level): string => `set ${line.id}=${value}\n`;

export function gpiogetArgs(tools: GpiodTools, line: ToolLine, bias?: Bias): string[] {
  const v2 = tools.major >= 2 ? ['--numeric', ...CONSUMER] : [];
  return [...v2, ...activeLowArgs(line), ...biasArgs(tools, bias), ...lineArgs(tools, line)];
}

export function parseGpioget(text: string): Level | null {
  return parseLevel(text.split('\n')[0] ?? '');
}

export function gpiomonArgs(tools: GpiodTools, line: ToolLine, bias?: Bias): string[] {
  const v = tools.major === 1 ? ['--line-buffered', '--format=%e %s %n'] : [...CONSUMER, '--banner', '--format=%E %S'];
  return [...v, ...activeLowArgs(line), ...biasArgs(tools, bias), ...lineArgs(tools, line)];
}

/**
 * One line of gpiomon output in the format gpiomonArgs asked for. With --active-low both
 * generations report edges of the logical value, so "rising" always means "now 1".
 */
export function parseGpiomonLine(tools: GpiodTools, text: string): MonEvent | null {
  const s = text.trim();
  if (tools.major === 1) {
    const m = /^([01]) (\d+) (\d+)$/.exec(s); // %n is not zero-padded in v1
    return m ? { value: m[1] === '1' ? 1 : 0, tMs: Number(m[2]) * 1000 + Number(m[3]) / 1e6 } : null;
  }
  const m = /^(rising|falling) (\d+)\.(\d{9})$/.exec(s);
  return m ? { value: m[1] === 'rising' ? 1 : 0, tMs: Number(m[2]) * 1000 + Number(m[3]) / 1e6 } : null;
}
