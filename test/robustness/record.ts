// Rows of docs/robustness.md, written by the tests themselves. A test calls
// recordRobustness() once it has asserted what a bad input did, with text built from what it
// measured (counts, pids, latencies, memory), so a row means "tried, and this held". The rows
// go to the JSON-lines file named by PIHA_ROBUSTNESS_OUT; without it this is a no-op.
// scripts/robustness.mjs runs the tests with it set and renders the document
// (test/robustness/render.ts).

import { appendFileSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The sections of docs/robustness.md, in order (titles and intros: render.ts). */
export const AREAS = ['cluster-port', 'status-port', 'config-runtime', 'decoder', 'config-fuzz', 'config-errors', 'cli', 'state'] as const;
export type Area = (typeof AREAS)[number];

export interface RobustnessRow {
  area: Area;
  /** The bad input, as a reader should picture it (markdown; `|` and newlines are escaped). */
  input: string;
  /** What the test observed, from measured values (markdown). */
  observed: string;
  /** The test's name (node:test `t.name`, or the describe/it title). */
  test: string;
  /** The test file relative to the repository; taken from the caller when omitted. */
  file?: string;
}

const REPO = resolve(fileURLToPath(new URL('.', import.meta.url)), '..', '..');
const HERE = fileURLToPath(import.meta.url);

/** The file of the first stack frame outside this module, relative to the repository. */
function callerFile(): string | undefined {
  for (const line of (new Error().stack ?? '').split('\n').slice(1)) {
    const m = /\(?((?:file:\/\/)?\/[^():]+):\d+:\d+\)?\s*$/.exec(line);
    if (!m) continue;
    const path = m[1]!.startsWith('file://') ? fileURLToPath(m[1]!) : m[1]!;
    if (path === HERE) continue;
    return relative(REPO, path);
  }
  return undefined;
}

export function recordRobustness(row: RobustnessRow): void {
  const out = process.env.PIHA_ROBUSTNESS_OUT;
  if (!out) return;
  for (const k of ['input', 'observed', 'test'] as const) {
    if (typeof row[k] !== 'string' || row[k].trim() === '') throw new Error(`recordRobustness: empty ${k} in ${JSON.stringify(row)}`);
  }
  if (!AREAS.includes(row.area)) throw new Error(`recordRobustness: unknown area ${JSON.stringify(row.area)}`);
  const line = { area: row.area, input: row.input, observed: row.observed, test: row.test, file: row.file ?? callerFile() ?? '?' };
  // One write per row (O_APPEND): rows of concurrent test processes do not interleave.
  appendFileSync(out, JSON.stringify(line) + '\n');
}

/**
 * An inline code span for arbitrary text: control characters written as in JSON (`\n`,
 * `\t`, `\u0000`), in a fence longer than any backtick run inside.
 */
export function code(text: string): string {
  const s = text.replace(/[\u0000-\u001f\u007f\u2028\u2029]/g, (ch) =>
    ch === '\n' ? '\\n' : ch === '\t' ? '\\t' : ch === '\r' ? '\\r' : `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
  const runs = s.match(/`+/g) ?? [];
  const fence = '`'.repeat(Math.max(0, ...runs.map((r) => r.length)) + 1);
  const pad = s.startsWith('`') || s.endsWith('`') || s === '' ? ' ' : '';
  return `${fence}${pad}${s}${pad}${fence}`;
}

/** "a ×3, b ×1" from counts, largest first (ties by name). */
export function tally(counts: Record<string, number> | Map<string, number>): string {
  const entries = counts instanceof Map ? [...counts] : Object.entries(counts);
  return entries
    .filter(([, n]) => n !== 0)
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .map(([k, n]) => `${k} ×${n}`)
    .join(', ');
}

/** Increments counts[key]. */
export function bump(counts: Record<string, number>, key: string, by = 1): void {
  counts[key] = (counts[key] ?? 0) + by;
}

/** min..max (or the one value) of numbers, formatted with `digits` decimals. */
export function range(xs: number[], digits = 0, unit = ''): string {
  if (xs.length === 0) return '–';
  const lo = Math.min(...xs).toFixed(digits);
  const hi = Math.max(...xs).toFixed(digits);
  return lo === hi ? `${lo}${unit}` : `${lo}–${hi}${unit}`;
}

/**
 * How `after` differs from `before` (plain JSON data), as `path: value` / `path deleted`
 * lines: the input of a test that breaks a valid object one field at a time.
 */
export function describeChange(before: unknown, after: unknown, path = ''): string[] {
  const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;
  if (isObj(before) && isObj(after) && Array.isArray(before) === Array.isArray(after)) {
    const out: string[] = [];
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])];
    for (const k of keys) {
      const p = Array.isArray(after) ? `${path}[${k}]` : path ? `${path}.${k}` : k;
      if (!(k in after)) out.push(`${p} deleted`);
      else if (!(k in before)) out.push(`${p}: ${JSON.stringify(after[k])}`);
      else out.push(...describeChange(before[k], after[k], p));
    }
    return out;
  }
  return JSON.stringify(before) === JSON.stringify(after) ? [] : [`${path || '(top level)'}: ${JSON.stringify(after)}`];
}
