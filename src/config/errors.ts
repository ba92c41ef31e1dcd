// Error values and their text. Validation never stops at the first problem: every check
// adds to an Issues list so the user can fix a whole file in one edit instead of one
// error per daemon restart.

import type { PihaConfig } from './types.ts';

export interface ConfigError {
  /** Where in the file, like `nodes[2].addr`; '' for the file as a whole. */
  path: string;
  /** What is wrong and how to fix it. */
  message: string;
  /** 1-based line in the YAML text, when it could be found. */
  line?: number;
}

export interface ConfigResult {
  /** null if and only if errors is non-empty. */
  config: PihaConfig | null;
  errors: ConfigError[];
}

/** Collects errors while validating. */
export class Issues {
  readonly list: ConfigError[] = [];

  add(path: string, message: string): void {
    this.list.push({ path, message });
  }

  get count(): number {
    return this.list.length;
  }

  /** True if an error was already reported at a path the predicate accepts (used to skip
   *  cross-checks whose inputs are known to be bad, so one typo gives one error). */
  some(pred: (path: string) => boolean): boolean {
    return this.list.some((e) => pred(e.path));
  }
}

/** One error per line, `source: path: message`; with a line number the source becomes
 *  `source:LINE` like a compiler's, so editors and terminals can jump to it. */
export function formatErrors(errors: readonly ConfigError[], source: string): string {
  return errors
    .map((e) => {
      const where = e.line !== undefined ? `${source}:${e.line}` : source;
      return e.path ? `${where}: ${e.path}: ${e.message}` : `${where}: ${e.message}`;
    })
    .join('\n');
}
