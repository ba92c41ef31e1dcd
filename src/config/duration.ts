// Durations are written with a unit ("100ms", "5s", "1.5s", "1m", "1m30s") and held as
// whole milliseconds. A bare number is refused: "timeout: 100" is ambiguous between
// seconds and milliseconds, and guessing wrong by 1000x breaks failover silently.

const UNIT_MS: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1_000, ms: 1 };
const UNIT_ORDER = ['h', 'm', 's', 'ms'];

/** Timers are set with setTimeout, which cannot wait longer than 2^31-1 ms (~24.8 days). */
export const MAX_DURATION_MS = 2_147_483_647;

const HOW = 'write a number and a unit: ms, s, m or h, like 100ms, 5s, 1.5s or 1m';

/** Parses a duration to whole milliseconds; throws an Error whose message says how to fix it. */
export function parseDuration(s: string): number {
  const text = String(s).trim();
  const q = JSON.stringify(String(s));
  if (text === '') throw new Error(`${q} is not a duration (${HOW})`);
  if (text === '0') return 0; // zero needs no unit: it means the same in every unit
  if (text.startsWith('-')) throw new Error(`${q} is negative (durations cannot be negative)`);
  if (/^\d+(\.\d+)?$/.test(text)) {
    throw new Error(`${q} has no unit (add a unit: ${text}ms or ${text}s)`);
  }
  const part = /(\d+(?:\.\d+)?)(ms|h|m|s)/y;
  let pos = 0;
  let total = 0;
  let lastUnit = -1;
  while (pos < text.length) {
    part.lastIndex = pos;
    const m = part.exec(text);
    if (!m) {
      const rest = text.slice(pos);
      if (pos > 0 && /^\d+(\.\d+)?$/.test(rest)) {
        throw new Error(`${q} is not a duration: ${rest} at the end has no unit (${HOW})`);
      }
      throw new Error(`${q} is not a duration (${HOW})`);
    }
    const unit = UNIT_ORDER.indexOf(m[2]);
    if (unit <= lastUnit) {
      throw new Error(`${q} is not a duration: write each unit once, largest first, like 1m30s`);
    }
    lastUnit = unit;
    total += Number(m[1]) * UNIT_MS[m[2]];
    pos = part.lastIndex;
  }
  const ms = Math.round(total);
  // Tolerate binary floating-point noise (1.1s), refuse real sub-millisecond values.
  if (Math.abs(total - ms) > 1e-6) {
    throw new Error(`${q} is finer than a millisecond (durations are whole milliseconds)`);
  }
  if (ms > MAX_DURATION_MS) {
    throw new Error(`${q} is too long (at most 24 days, the longest timer Node.js can set)`);
  }
  return ms;
}

/** Short human text that parseDuration reads back to the same value: 100ms, 1.35s, 1m30s. */
export function formatDuration(ms: number): string {
  if (ms < 0) return `-${formatDuration(-ms)}`;
  if (ms === 0) return '0s';
  if (ms < 1000) return `${ms}ms`;
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor((ms % 3_600_000) / 60_000);
  const rest = ms % 60_000;
  let out = '';
  if (h > 0) out += `${h}h`;
  if (m > 0) out += `${m}m`;
  if (rest > 0) out += `${rest / 1000}s`;
  return out;
}
