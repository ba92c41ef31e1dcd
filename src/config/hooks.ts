// The hooks: section: programs this node runs when something happens to it (notify a chat,
// reload a local proxy, page someone). Node-local, like hardware:, so they are left out of
// the configuration digest (digest.ts): nodes may run different hooks.
//
//   hooks:
//     on_acquire: [/usr/local/bin/piha-notify, acquired]   # a list of words ...
//     on_release: /usr/local/bin/piha-notify released       # ... or one line split on spaces
//     on_quorum_lost: /usr/local/bin/page-me
//     on_quorum_regained: /usr/local/bin/page-me
//     on_fence: /usr/local/bin/page-me
//     timeout: 10s
//
// No shell: the program runs as written (absolute path), with the event in PIHA_* variables
// (src/daemon/hooks.ts has the contract).

import { formatDuration } from './duration.ts';
import type { Issues } from './errors.ts';
import { describe, Section } from './read.ts';
import { HOOK_NAMES, HOOKS_KEYS } from './schema.ts';
import type { HookName, HooksConfig } from './types.ts';

export const HOOK_DEFAULT_TIMEOUT_MS = 10_000;
export const HOOK_MIN_TIMEOUT_MS = 100;
/** A hook that needs longer than this is a service, not a notification. */
export const HOOK_MAX_TIMEOUT_MS = 10 * 60_000;

export function defaultHooks(): HooksConfig {
  return { timeoutMs: HOOK_DEFAULT_TIMEOUT_MS, commands: {} };
}

const SHELL_SYNTAX = /[|&;<>$`"'\\*?(){}]/;

export function readHooks(issues: Issues, raw: unknown): HooksConfig {
  const out = defaultHooks();
  if (raw === undefined) return out;
  const s = Section.open(issues, raw, 'hooks', 'hooks:', HOOKS_KEYS);
  if (!s) return out;
  for (const name of HOOK_NAMES) {
    const argv = readHookCommand(s, name);
    if (argv) out.commands[name] = argv;
  }
  const timeout = s.duration('timeout', { example: 'timeout: 10s', min: HOOK_MIN_TIMEOUT_MS });
  if (timeout !== undefined) {
    if (timeout > HOOK_MAX_TIMEOUT_MS) {
      issues.add(s.pathOf('timeout'), `must be at most ${formatDuration(HOOK_MAX_TIMEOUT_MS)}, not ${formatDuration(timeout)} (a hook is a notification; start a long job in the background from it)`);
    } else out.timeoutMs = timeout;
  }
  return out;
}

/** A command: a list of words, or one line split on whitespace; the program as an absolute path. */
function readHookCommand(s: Section, key: HookName): string[] | undefined {
  const example = `${key}: [/usr/local/bin/piha-notify, ${key.replace(/^on_/, '')}]`;
  const v = s.raw(key, { example });
  if (v === undefined) return undefined;
  const path = s.pathOf(key);
  let argv: string[];
  if (typeof v === 'string') {
    if (SHELL_SYNTAX.test(v)) {
      s.issues.add(
        path,
        `${JSON.stringify(v)} uses shell syntax, but hooks run without a shell (the line is only split on spaces); write a list, like ${key}: [/bin/sh, -c, "your | pipeline"], or put it in a script`,
      );
      return undefined;
    }
    argv = v.trim().split(/\s+/).filter((w) => w !== '');
  } else if (Array.isArray(v) && v.every((w) => typeof w === 'string' || typeof w === 'number')) {
    argv = v.map(String);
  } else {
    s.issues.add(path, `must be a command, as a list of words or one line of text, like ${example}, not ${describe(v)}`);
    return undefined;
  }
  if (argv.length === 0 || argv[0] === '') {
    s.issues.add(path, `is empty (write the program and its arguments, like ${example}, or delete the line)`);
    return undefined;
  }
  if (!argv[0].startsWith('/')) {
    s.issues.add(path, `${JSON.stringify(argv[0])} is not an absolute path (the daemon runs hooks without a shell or your PATH; write it from /, like /usr/local/bin/piha-notify)`);
    return undefined;
  }
  return argv;
}
