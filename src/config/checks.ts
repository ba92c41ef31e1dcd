// Health checks of a resource (checks: list). Keys depend on the type, so the type is
// read first and decides which keys are known.

import type { Issues } from './errors.ts';
import { checkHttpUrl, isHost } from './formats.ts';
import { indexPath } from './path.ts';
import { describe, isMapping, Section } from './read.ts';
import { CHECK_COMMON_KEYS, CHECK_TYPE_KEYS, CHECK_TYPES, DEFAULTS, type CheckType } from './schema.ts';
import { formatDuration } from './duration.ts';
import type { HealthCheckConfig } from './types.ts';

const EXAMPLE = '- { type: tcp, host: 127.0.0.1, port: 6443 }';

export function readChecks(issues: Issues, raw: unknown, path: string): HealthCheckConfig[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) {
    issues.add(path, `must be a list of checks (lines starting with -, like ${EXAMPLE}), not ${describe(raw)}`);
    return [];
  }
  const out: HealthCheckConfig[] = [];
  raw.forEach((item, i) => {
    const c = readCheck(issues, item, indexPath(path, i));
    if (c) out.push(c);
  });
  return out;
}

const aCheck = (t: CheckType): string => `${t === 'exec' ? 'an' : 'a'} ${t} check`;

const typeOwning = (key: string): CheckType | undefined =>
  CHECK_TYPES.find((t) => CHECK_TYPE_KEYS[t].includes(key));

function readCheck(issues: Issues, raw: unknown, path: string): HealthCheckConfig | null {
  const rawType = isMapping(raw) ? raw.type : undefined;
  const type = typeof rawType === 'string' && (CHECK_TYPES as readonly string[]).includes(rawType) ? (rawType as CheckType) : undefined;
  // Without a valid type every type's keys are accepted, so only the type is reported.
  const known = [...CHECK_COMMON_KEYS, ...(type ? CHECK_TYPE_KEYS[type] : CHECK_TYPES.flatMap((t) => CHECK_TYPE_KEYS[t]))];
  const s = Section.open(issues, raw, path, type ? aCheck(type) : 'a check', known, {
    explainUnknown: (key) => {
      const owner = typeOwning(key);
      return owner && type ? `${key} is for ${owner} checks; ${aCheck(type)} uses ${CHECK_TYPE_KEYS[type].join(' and ')}` : undefined;
    },
  });
  if (!s) return null;
  s.oneOf('type', CHECK_TYPES, { required: true, example: 'type: tcp', what: 'check type' });

  let target: string | undefined;
  if (type === 'http') {
    target = s.string('url', { required: true, example: 'url: https://127.0.0.1:6443/readyz', check: checkHttpUrl });
  } else if (type === 'tcp') {
    const host = s.string('host', {
      required: true,
      example: 'host: 127.0.0.1',
      check: (h) => (isHost(h) ? null : `${JSON.stringify(h)} is not an IPv4 address or host name (like 127.0.0.1)`),
    });
    const port = s.int('port', { required: true, example: 'port: 6443', min: 1, max: 65535, what: 'a port number 1-65535' });
    if (host !== undefined && port !== undefined) target = `${host}:${port}`;
  } else if (type === 'exec') {
    target = s.string('command', { required: true, example: 'command: /usr/local/bin/check.sh' });
  }

  const d = DEFAULTS.check;
  const intervalMs = s.duration('interval', { example: 'interval: 5s' });
  const timeoutMs = s.duration('timeout', { example: 'timeout: 2s' });
  const rise = s.int('rise', { example: 'rise: 2', min: 1, what: 'a whole number of passes, at least 1' });
  const fall = s.int('fall', { example: 'fall: 3', min: 1, what: 'a whole number of failures, at least 1' });
  const check: HealthCheckConfig | null =
    type && target !== undefined
      ? {
          type,
          target,
          intervalMs: intervalMs ?? d.intervalMs,
          timeoutMs: timeoutMs ?? d.timeoutMs,
          rise: rise ?? d.rise,
          fall: fall ?? d.fall,
        }
      : null;

  // A check still running when the next one is due would pile up on a slow target.
  const interval = intervalMs ?? (s.has('interval') ? undefined : d.intervalMs);
  const timeout = timeoutMs ?? (s.has('timeout') ? undefined : d.timeoutMs);
  if (interval !== undefined && timeout !== undefined && timeout > interval) {
    const t = `${formatDuration(timeout)}${timeoutMs === undefined ? ' (the default)' : ''}`;
    const iv = `${formatDuration(interval)}${intervalMs === undefined ? ' (the default)' : ''}`;
    issues.add(s.pathOf('timeout'), `timeout ${t} is longer than interval ${iv}, so checks would overlap (set timeout: ${formatDuration(interval)} or less)`);
  }
  return check;
}
