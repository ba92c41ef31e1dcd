// Typed reading of one YAML mapping (a "section"): unknown keys, missing required keys,
// wrong types and ranges are reported to Issues, and the reader returns undefined for a
// bad or absent value so the caller can carry on and find the next error.

import { parseDuration, formatDuration } from './duration.ts';
import type { Issues } from './errors.ts';
import { keyPath } from './path.ts';
import { closest } from './suggest.ts';

export type Raw = Record<string, unknown>;

export function isMapping(v: unknown): v is Raw {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** How a value looks to the user, for "must be X, not Y" messages. */
export function describe(v: unknown): string {
  if (v === null || v === undefined) return 'nothing';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'string') return `the text ${JSON.stringify(v)}`;
  return String(v);
}

export interface FieldOpts {
  required?: boolean;
  /** A complete `key: value` line to show when the key is missing. */
  example?: string;
}

export interface OpenOpts {
  /** A better message for a known-but-misplaced key (e.g. `url` on a tcp check). */
  explainUnknown?: (key: string) => string | undefined;
}

export class Section {
  /** Keys that an unknown key was suggested as; not reported again as "missing". */
  private readonly suggested = new Set<string>();

  private constructor(
    readonly issues: Issues,
    readonly map: Raw,
    readonly path: string,
    /** How to name this mapping in "add ... to X" hints, e.g. `cluster:` or `this node`. */
    readonly label: string,
  ) {}

  /** Checks that value is a mapping and has only known keys; null if not a mapping. */
  static open(
    issues: Issues,
    value: unknown,
    path: string,
    label: string,
    known: readonly string[],
    opts: OpenOpts = {},
  ): Section | null {
    if (!isMapping(value)) {
      issues.add(path, `must be a mapping of key: value lines, not ${describe(value)}`);
      return null;
    }
    const s = new Section(issues, value, path, label);
    for (const key of Object.keys(value)) {
      if (known.includes(key)) continue;
      const explained = opts.explainUnknown?.(key);
      const guess = closest(key, known);
      if (guess !== undefined) s.suggested.add(guess);
      const hint =
        explained ??
        (guess !== undefined ? `did you mean ${guess}?` : `${label} accepts: ${known.join(', ')}`);
      issues.add(keyPath(path, key), `unknown key ${JSON.stringify(key)} (${hint})`);
    }
    return s;
  }

  pathOf(key: string): string {
    return keyPath(this.path, key);
  }

  has(key: string): boolean {
    return Object.hasOwn(this.map, key);
  }

  private error(key: string, message: string): undefined {
    this.issues.add(this.pathOf(key), message);
    return undefined;
  }

  /** The raw value; undefined when absent (an error if required) or written without a value. */
  raw(key: string, opts: FieldOpts = {}): unknown {
    const example = opts.example ?? `${key}: ...`;
    if (!this.has(key)) {
      if (opts.required && !this.suggested.has(key)) {
        this.error(key, `required key is missing (add ${example} to ${this.label})`);
      }
      return undefined;
    }
    const v = this.map[key];
    if (v === null) {
      return this.error(
        key,
        opts.required
          ? `has no value (write one, like ${example})`
          : `has no value (write one, like ${example}, or delete the line to use the default)`,
      );
    }
    return v;
  }

  /** A nested list or mapping; written with nothing under it (`checks:`) it means none. */
  nested(key: string): unknown {
    return this.map[key] ?? undefined;
  }

  string(key: string, opts: FieldOpts & { check?: (s: string) => string | null } = {}): string | undefined {
    const v = this.raw(key, opts);
    if (v === undefined) return undefined;
    if (typeof v !== 'string') {
      return this.error(key, `must be text, not ${describe(v)} (put it in quotes if it is meant as text)`);
    }
    if (v.trim() === '') return this.error(key, `is empty (write a value, like ${opts.example ?? `${key}: ...`})`);
    const problem = opts.check?.(v);
    if (problem) return this.error(key, problem);
    return v;
  }

  int(key: string, opts: FieldOpts & { min?: number; max?: number; what?: string } = {}): number | undefined {
    const v = this.raw(key, opts);
    if (v === undefined) return undefined;
    const what = opts.what ?? 'a whole number';
    if (typeof v === 'string' && /^-?\d+$/.test(v.trim())) {
      return this.error(key, `must be ${what}, not the text ${JSON.stringify(v)} (remove the quotes)`);
    }
    if (typeof v !== 'number' || !Number.isFinite(v)) return this.error(key, `must be ${what}, not ${describe(v)}`);
    if (!Number.isInteger(v)) return this.error(key, `must be ${what}, not ${v}`);
    const { min, max } = opts;
    if ((min !== undefined && v < min) || (max !== undefined && v > max)) {
      const range =
        min !== undefined && max !== undefined ? `between ${min} and ${max}` : min !== undefined ? `at least ${min}` : `at most ${max}`;
      return this.error(key, `must be ${opts.what ?? range}, not ${v}`);
    }
    return v;
  }

  bool(key: string, opts: FieldOpts = {}): boolean | undefined {
    const v = this.raw(key, opts);
    if (v === undefined) return undefined;
    if (typeof v !== 'boolean') {
      // YAML 1.2 only knows true/false; yes/no/on/off arrive here as text.
      return this.error(key, `must be true or false, not ${describe(v)}`);
    }
    return v;
  }

  /** A duration in ms. `min` is inclusive; zero is allowed only when min is 0. */
  duration(key: string, opts: FieldOpts & { min?: number; minReason?: string } = {}): number | undefined {
    const v = this.raw(key, opts);
    if (v === undefined) return undefined;
    const min = opts.min ?? 1;
    let ms: number;
    if (typeof v === 'number') {
      if (v !== 0) {
        return this.error(key, `${v} has no unit (add a unit: ${v}ms or ${v}s)`);
      }
      ms = 0;
    } else if (typeof v === 'string') {
      try {
        ms = parseDuration(v);
      } catch (e) {
        return this.error(key, (e as Error).message);
      }
    } else {
      return this.error(key, `must be a duration like 100ms or 5s, not ${describe(v)}`);
    }
    if (ms < min) {
      const need = min <= 1 ? 'must be more than 0' : `must be at least ${formatDuration(min)}`;
      return this.error(key, `${need}, not ${formatDuration(ms)}${opts.minReason ? ` (${opts.minReason})` : ''}`);
    }
    return ms;
  }

  /** A choice among fixed words, with did-you-mean. */
  oneOf<T extends string>(key: string, choices: readonly T[], opts: FieldOpts & { what: string }): T | undefined {
    const v = this.string(key, opts);
    if (v === undefined) return undefined;
    if ((choices as readonly string[]).includes(v)) return v as T;
    const guess = closest(v, choices);
    const hint = guess !== undefined ? `did you mean ${guess}? ` : '';
    return this.error(key, `unknown ${opts.what} ${JSON.stringify(v)} (${hint}choose one of: ${choices.join(', ')})`);
  }
}
