// Strict, hand-written validation of the JSON payload of a datagram against the core's
// Message shapes. It runs only after the MAC has been verified, so it guards against bugs
// and version skew between authenticated peers (and against a leaked key doing something
// odd) rather than against the open network: the core may then trust every field's type
// and size. No schema library on purpose: the shapes are few, and a table keeps them
// readable. The table is typed against src/core/types.ts, so adding a field to a Message
// without updating the table is a compile error here, not a silent 'malformed' at runtime.

import type { AttrEntry, CfgAck, CfgDoc, CfgPull, CfgRequest, CfgResult, FenceRequest, FenceResultMsg, GrantBody, Heartbeat, LeaseReply, LeaveMsg, Message, ReleaseMsg } from '../core/types.ts';

export const LIMITS = {
  /** Entries of any array or record (matches the core's MAX_ATTRS). */
  maxEntries: 256,
  /** Resource names (keys of `fails`/`assign`). */
  maxName: 64,
  /** Lease keys: `coord` or `r:<resource name>`, and entries of `holds`. */
  maxLeaseKey: 2 + 64,
  /** Attribute keys such as `standby:<node>` or `cleanup:<resource>`. */
  maxAttrKey: 128,
  /** String attribute values (a node name for `move:`). */
  maxAttrValue: 256,
  /** Fence outcome text (device and error), shown in status. */
  maxFenceDetail: 512,
  /** A cluster configuration document or change (JSON text; it must fit the datagram anyway). */
  maxConfigText: 7000,
  /** A configuration change's answer (validation errors, listed). */
  maxConfigMessage: 4000,
} as const;

/**
 * Returns a description of the first problem found, or null when the value is fine. The path
 * of the value is `p`, or `p` and then `k` (a field name or an array index) when `k` is given:
 * a container hands its children their names rather than their paths, so the path strings are
 * only made for a value that fails. Every datagram passes through here; made eagerly, they
 * were a string per field, and the loops' iterators an allocation per element (this runs in
 * V8's interpreter: src/cli-entry.ts), together about a third of what an idle daemon
 * allocated (sampling heap profile, 3-node lan cluster, 2026-11-28).
 */
type Check = (v: unknown, p: string, k?: string | number) => string | null;

/** The path of a value: its parent's path and its own name or index. */
function at(p: string, k?: string | number): string {
  return k === undefined ? p : typeof k === 'number' ? `${p}[${k}]` : `${p}.${k}`;
}

const uint: Check = (v, p, k) =>
  Number.isSafeInteger(v) && (v as number) >= 0 ? null : `${at(p, k)}: expected a non-negative integer`;

const intIn = (min: number, max: number): Check => (v, p, k) =>
  Number.isSafeInteger(v) && (v as number) >= min && (v as number) <= max
    ? null
    : `${at(p, k)}: expected an integer in [${min}, ${max}]`;

const nodeId = intIn(1, 65535);
const nodeOrZero = intIn(0, 65535); // 0 = "nobody" in assign/denied.holder

// Durations computed from a monotonic clock may carry fractions of a millisecond.
const nonNegNumber: Check = (v, p, k) =>
  typeof v === 'number' && Number.isFinite(v) && v >= 0 ? null : `${at(p, k)}: expected a finite number >= 0`;

const finite: Check = (v, p, k) =>
  typeof v === 'number' && Number.isFinite(v) ? null : `${at(p, k)}: expected a finite number`;

const str = (min: number, max: number): Check => (v, p, k) =>
  typeof v === 'string' && v.length >= min && v.length <= max
    ? null
    : `${at(p, k)}: expected a string of ${min}..${max} characters`;

const literal = (want: string): Check => (v, p, k) => (v === want ? null : `${at(p, k)}: expected "${want}"`);

const anyOf = (...checks: Check[]): Check => (v, p, k) => {
  for (let i = 0; i < checks.length; i++) if (checks[i]!(v, p, k) === null) return null;
  return checks[0]!(v, p, k);
};

const bool: Check = (v, p, k) => (typeof v === 'boolean' ? null : `${at(p, k)}: expected a boolean`);
const isNull: Check = (v, p, k) => (v === null ? null : `${at(p, k)}: expected null`);

/** A plain object as JSON.parse makes it (not an array, not null). */
function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

// JSON.parse turns "__proto__" into an own property; a core that copies records with
// `obj[k] = ...` would then set a prototype. No legitimate key looks like these.
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

const arrayOf = (item: Check): Check => (v, p, k) => {
  if (!Array.isArray(v)) return `${at(p, k)}: expected an array`;
  if (v.length > LIMITS.maxEntries) return `${at(p, k)}: more than ${LIMITS.maxEntries} entries`;
  for (let i = 0; i < v.length; i++) {
    if (item(v[i], '', i) !== null) return item(v[i], at(p, k), i);
  }
  return null;
};

/** An array of exactly n items. */
const tupleOf = (n: number, item: Check): Check => (v, p, k) => {
  if (!Array.isArray(v) || v.length !== n) return `${at(p, k)}: expected an array of ${n} items`;
  for (let i = 0; i < n; i++) {
    if (item(v[i], '', i) !== null) return item(v[i], at(p, k), i);
  }
  return null;
};

const recordOf = (key: Check, value: Check): Check => (v, p, k) => {
  if (!isPlainObject(v)) return `${at(p, k)}: expected an object`;
  const keys = Object.keys(v);
  if (keys.length > LIMITS.maxEntries) return `${at(p, k)}: more than ${LIMITS.maxEntries} entries`;
  for (let i = 0; i < keys.length; i++) {
    const name = keys[i]!;
    if (FORBIDDEN_KEYS.has(name)) return `${at(p, k)}: forbidden key ${JSON.stringify(name)}`;
    if (key(name, '') !== null) return key(name, `${at(p, k)} key`);
    if (value(v[name], '', name) !== null) return value(v[name], at(p, k), name);
  }
  return null;
};

type OptionalKeys<T> = { [K in keyof T]-?: {} extends Pick<T, K> ? K : never }[keyof T];
type RequiredKeys<T> = Exclude<keyof T, OptionalKeys<T>>;

/** An object with exactly these fields: every required one, optional ones, nothing else. */
function shape<T>(required: Record<RequiredKeys<T>, Check>, optional: Record<OptionalKeys<T>, Check>): Check {
  const reqNames = Object.keys(required);
  const reqChecks = Object.values(required) as Check[];
  const optNames = Object.keys(optional);
  const optChecks = Object.values(optional) as Check[];
  const known = new Set([...reqNames, ...optNames]);
  return (v, p, k) => {
    if (!isPlainObject(v)) return `${at(p, k)}: expected an object`;
    const keys = Object.keys(v);
    for (let i = 0; i < keys.length; i++) if (!known.has(keys[i]!)) return `${at(p, k)}: unexpected field ${JSON.stringify(keys[i])}`;
    for (let i = 0; i < reqNames.length; i++) {
      const name = reqNames[i]!;
      if (!Object.hasOwn(v, name)) return `${at(p, k)}: missing field "${name}"`;
      // A failing field is checked again with its path: the path is made only then.
      if (reqChecks[i]!(v[name], '', name) !== null) return reqChecks[i]!(v[name], at(p, k), name);
    }
    for (let i = 0; i < optNames.length; i++) {
      const name = optNames[i]!;
      if (!Object.hasOwn(v, name)) continue;
      if (optChecks[i]!(v[name], '', name) !== null) return optChecks[i]!(v[name], at(p, k), name);
    }
    return null;
  };
}

const name = str(1, LIMITS.maxName);
/** Record keys that are node ids ("1".."65535"), as JSON turns numeric keys into strings. */
const nodeIdKey: Check = (v, p) => (typeof v === 'string' && /^[1-9][0-9]{0,4}$/.test(v) && Number(v) <= 65535 ? null : `${p}: expected a node id`);
const leaseKey = str(1, LIMITS.maxLeaseKey);

const attrEntry = shape<AttrEntry>(
  {
    v: anyOf(str(0, LIMITS.maxAttrValue), finite, bool, isNull),
    c: uint,
    n: nodeOrZero,
  },
  { i: uint },
);

type HeartbeatReq = NonNullable<Heartbeat['req']>;
type Denial = LeaseReply['denied'][number];

const denials = arrayOf(shape<Denial>({ key: leaseKey, holder: nodeOrZero, remainingMs: nonNegNumber }, {}));
/** A lease answer: alone (`grant`) or inside the heartbeat to the node that asked. */
const grantFields = { to: nodeId, toInc: uint, round: uint, granted: arrayOf(leaseKey), denied: denials, term: uint };

const SHAPES: { [T in Message['t']]: Check } = {
  hb: shape<Heartbeat>(
    {
      t: literal('hb'),
      from: nodeId,
      inc: uint,
      term: uint,
      holds: arrayOf(leaseKey),
      fails: recordOf(name, uint),
      attrs: recordOf(str(1, LIMITS.maxAttrKey), attrEntry),
    },
    {
      coord: uint,
      assign: recordOf(name, nodeOrZero),
      req: shape<HeartbeatReq>({ round: uint, keys: arrayOf(leaseKey) }, { coordTerm: uint }),
      cfg: str(1, 64),
      seq: uint,
      fenced: recordOf(nodeIdKey, uint),
      unfenced: recordOf(nodeIdKey, uint),
      cv: tupleOf(4, uint),
      cc: tupleOf(2, uint),
      cd: str(1, 64),
      grant: shape<GrantBody>(grantFields, {}),
    },
  ),
  grant: shape<LeaseReply>(
    { t: literal('grant'), from: nodeId, ...grantFields },
    {},
  ),
  rel: shape<ReleaseMsg>(
    { t: literal('rel'), from: nodeId, inc: uint, round: uint, keys: arrayOf(leaseKey) },
    {},
  ),
  leave: shape<LeaveMsg>({ t: literal('leave'), from: nodeId, inc: uint }, {}),
  fence: shape<FenceRequest>(
    { t: literal('fence'), from: nodeId, to: nodeId, target: nodeId, inc: uint, attempt: uint },
    {},
  ),
  cdoc: shape<CfgDoc>(
    { t: literal('cdoc'), from: nodeId, cterm: uint, epoch: uint, dterm: uint, doc: str(2, LIMITS.maxConfigText), commit: bool },
    {},
  ),
  cack: shape<CfgAck>({ t: literal('cack'), from: nodeId, epoch: uint, dterm: uint }, {}),
  cpull: shape<CfgPull>({ t: literal('cpull'), from: nodeId, to: nodeId, cterm: uint }, {}),
  creq: shape<CfgRequest>({ t: literal('creq'), from: nodeId, to: nodeId, id: uint, change: str(2, LIMITS.maxConfigText) }, {}),
  cres: shape<CfgResult>({ t: literal('cres'), from: nodeId, to: nodeId, id: uint, ok: bool, message: str(0, LIMITS.maxConfigMessage) }, {}),
  fres: shape<FenceResultMsg>(
    {
      t: literal('fres'),
      from: nodeId,
      target: nodeId,
      inc: uint,
      attempt: uint,
      initiator: nodeId,
      ok: bool,
      detail: str(0, LIMITS.maxFenceDetail),
    },
    {},
  ),
};

/** Why `v` is not a valid Message, or null if it is one. */
export function checkMessage(v: unknown): string | null {
  if (!isPlainObject(v)) return 'msg: expected an object';
  const t = v.t;
  if (typeof t !== 'string' || !Object.hasOwn(SHAPES, t)) return 'msg.t: unknown message type';
  return SHAPES[t as Message['t']](v, 'msg');
}

export function isMessage(v: unknown): v is Message {
  return checkMessage(v) === null;
}
