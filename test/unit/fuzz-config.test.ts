// Property tests of parseConfig(text): whatever the text, it never throws and returns either
// a config or a non-empty list of well-formed errors; a config it accepts meets the basic
// invariants (unique ids and names, 2q > total votes). Runs: FUZZ_RUNS (default 300);
// `make fuzz` runs scripts/fuzz.mjs with many more.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { parseConfig, type ConfigResult, type PihaConfig } from '../../src/config/index.ts';
import { quorumOf } from '../../src/config/quorum.ts';
import { code, range, recordRobustness } from '../robustness/record.ts';

const RUNS = Math.max(1, Number.parseInt(process.env.FUZZ_RUNS ?? '', 10) || 300);
const SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : undefined;
const params = (numRuns = RUNS): fc.Parameters<unknown> => ({ numRuns, ...(SEED !== undefined ? { seed: SEED } : {}) });

// The README's example, plus the full example of config-parse.test.ts (every key).
const README = `cluster:
  name: lbcluster
  authkey: /etc/piha/authkey      # from \`piha keygen\`
  interface: eth0
  port: 5405
  profile: lan
  # heartbeat_interval: 100ms
nodes:
  - { name: worker0, id: 1, addr: 192.168.0.50 }
  - { name: worker1, id: 2, addr: 192.168.0.51 }
  - { name: worker2, id: 3, addr: 192.168.0.52 }
quorum:
  expected_votes: 3
  two_node: false
defaults:
  resource_stickiness: 100
resources:
  - name: kubernetes_api_port
    type: vip
    ip: 192.168.0.150
    cidr_netmask: 32
    monitor_interval: 5s
    migration_threshold: 2
    failure_timeout: 60s
    prefers: { worker0: 50 }
`;

const FULL = `cluster:
  name: lbcluster
  authkey: /etc/piha/authkey
  interface: eth0
  port: 5405
  profile: lan
  heartbeat_interval: 100ms
  node_timeout: 1s
  lease_time: 1350ms
  clock_drift: 1%
  status_bind: 0.0.0.0:9405
  state_dir: /var/lib/piha
  socket: /run/piha/piha.sock
nodes:
  - name: worker0
    id: 1
    addr: 192.168.0.50
  - { name: worker1, id: 2, addr: 192.168.0.51, votes: 1, mac: "DC:A6:32:01:02:03" }
  - { name: nas, id: 4, addr: 192.168.0.60, role: witness }
quorum:
  expected_votes: 3
  two_node: false
defaults:
  resource_stickiness: 100
resources:
  - name: kubernetes_api_port
    type: vip
    ip: 192.168.0.150
    cidr_netmask: 32
    monitor_interval: 5s
    migration_threshold: 2
    failure_timeout: 60s
    garp_refresh: 10s
    prefers: { worker0: 50, worker1: -10 }
    resource_stickiness: 60
    checks:
      - { type: http, url: "https://127.0.0.1:6443/readyz", interval: 2s, timeout: 1s, rise: 2, fall: 3 }
      - { type: tcp, host: 127.0.0.1, port: 6443 }
      - { type: exec, command: "/usr/local/bin/check.sh arg" }
`;

const TWO_NODE = `cluster: { name: pair }
nodes:
  - { name: a, id: 1, addr: 10.0.0.1 }
  - { name: b, id: 2, addr: 10.0.0.2 }
  - { name: w, id: 3, addr: 10.0.0.3, votes: 0 }
quorum: { two_node: true }
`;

const SEEDS = [README, FULL, TWO_NODE];

/** The contract of ConfigResult plus the invariants of an accepted config. */
function checkResult(r: ConfigResult): void {
  assert.ok(r && typeof r === 'object', 'a result object');
  assert.ok(Array.isArray(r.errors), 'errors is a list');
  if (r.config === null) {
    assert.ok(r.errors.length > 0, 'no config and no error');
    for (const e of r.errors) {
      assert.equal(typeof e.path, 'string', 'error path is a string');
      assert.equal(typeof e.message, 'string', 'error message is a string');
      assert.ok(e.message.trim().length > 0, 'error message is not empty');
      // The path is '' only for errors about the file as a whole; never undefined or 'undefined'.
      assert.ok(!/\bundefined\b/.test(e.path), `path mentions undefined: ${e.path}`);
      if (e.line !== undefined) assert.ok(Number.isInteger(e.line) && e.line >= 1, `bad line ${e.line}`);
    }
  } else {
    assert.deepEqual(r.errors, [], 'config and errors at once');
    checkConfig(r.config);
  }
}

function checkConfig(c: PihaConfig): void {
  assert.ok(c.nodes.length > 0, 'at least one node');
  const ids = c.nodes.map((n) => n.id);
  const names = c.nodes.map((n) => n.name);
  const addrs = c.nodes.map((n) => n.addr);
  assert.equal(new Set(ids).size, ids.length, `duplicate node id in ${ids}`);
  assert.equal(new Set(names).size, names.length, `duplicate node name in ${names}`);
  assert.equal(new Set(addrs).size, addrs.length, `duplicate node addr in ${addrs}`);
  for (const n of c.nodes) {
    assert.ok(Number.isInteger(n.id) && n.id >= 1 && n.id <= 65535, `node id ${n.id}`);
    assert.ok(typeof n.name === 'string' && n.name.trim() !== '', 'node name');
    assert.ok(Number.isInteger(n.votes) && n.votes >= 0, `votes ${n.votes}`);
  }
  const total = c.nodes.reduce((s, n) => s + n.votes, 0);
  const q = quorumOf(c.quorum.expectedVotes);
  assert.ok(total > 0, 'some votes exist');
  assert.ok(2 * q > total, `split brain possible: quorum ${q} of ${total} votes`);
  assert.ok(q <= total, `never quorate: quorum ${q} of ${total} votes`);
  if (c.quorum.twoNode) {
    assert.equal(c.quorum.expectedVotes, 2);
    assert.deepEqual(c.nodes.filter((n) => n.votes > 0).map((n) => n.votes), [1, 1]);
  }
  const resNames = c.resources.map((r) => r.name);
  assert.equal(new Set(resNames).size, resNames.length, `duplicate resource name in ${resNames}`);
  for (const r of c.resources) {
    for (const node of Object.keys(r.prefers)) assert.ok(names.includes(node), `prefers unknown node ${node}`);
  }
  const t = c.cluster.timing;
  for (const v of [t.heartbeatIntervalMs, t.nodeTimeoutMs, t.leaseMs]) assert.ok(Number.isFinite(v) && v > 0, `timing ${v}`);
}

function parse(text: string): ConfigResult {
  let r: ConfigResult;
  try {
    r = parseConfig(text);
  } catch (e) {
    assert.fail(`parseConfig threw ${(e as Error)?.stack ?? e} on ${JSON.stringify(text).slice(0, 400)}`);
  }
  checkResult(r);
  return r;
}

/** parse() with a count of outcomes and timings, for docs/robustness.md. */
function counted() {
  let accepted = 0;
  let rejected = 0;
  const ms: number[] = [];
  const len: number[] = [];
  return {
    parse(text: string): ConfigResult {
      const t0 = performance.now();
      const r = parse(text);
      ms.push(performance.now() - t0);
      len.push(text.length);
      if (r.config) accepted++;
      else rejected++;
      return r;
    },
    summary: () =>
      `${accepted + rejected} inputs of ${range(len, 0, ' characters')}: never threw; ${accepted} accepted${accepted ? ' (each sound)' : ''}, ${rejected} rejected with well-formed errors; slowest parse ${Math.max(0, ...ms).toFixed(1)} ms.`,
  };
}

// Values a user (or a corrupted file) might put after a colon.
const WEIRD_VALUES = [
  '', '~', 'null', '0', '-1', '1', '2', '3', '65535', '65536', '99999999999999999999', '1e309', '-0', '.nan', '.inf',
  '0x10', '0o7', '1.5', 'true', 'false', 'yes', 'no', '[]', '{}', '[1, 2]', '{ a: 1 }', '""', "''", '"\\u0000"',
  '0ms', '1ms', '5ms', '100ms', '1s', '10m', '1h', '-5s', '1.5s', '999999999999s', '1 s', '1%', '50%', '101%', '0%',
  'lan', 'fast', 'slow', 'witness', 'member', 'vip', 'http', 'tcp', 'exec', 'worker0', 'worker1', 'nas', '__proto__',
  'constructor', '192.168.0.50', '192.168.0.150', '256.1.1.1', '0.0.0.0', '0.0.0.0:0', ':9405', 'x'.repeat(300),
  '*a', '&a 1', '!!str 1', '!!int "x"', '!!binary AAAA', '!!js/function "f"', '!!set { a }', '!!omap [ {a: 1} ]',
  '!!map {}', '!!seq []', '!!timestamp 2001-12-14', '<<: { a: 1 }', '|', '>', '"unterminated', '- a', '? a',
];
const KEYS = [
  'cluster', 'nodes', 'quorum', 'defaults', 'resources', 'name', 'id', 'addr', 'votes', 'mac', 'role', 'expected_votes',
  'two_node', 'type', 'ip', 'prefers', 'checks', 'port', 'profile', 'lease_time', 'node_timeout', 'heartbeat_interval',
  'clock_drift', 'status_bind', '__proto__', 'constructor', 'toString', '<<', 'hasOwnProperty', '', 'worker0',
];

type Mutation = (text: string) => string;

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  // Characters: delete, duplicate, replace, insert.
  fc.tuple(fc.nat(), fc.integer({ min: 1, max: 8 })).map(([at, n]): Mutation => (t) => {
    const i = at % (t.length + 1);
    return t.slice(0, i) + t.slice(i + n);
  }),
  fc.tuple(fc.nat(), fc.integer({ min: 1, max: 20 })).map(([at, n]): Mutation => (t) => {
    const i = at % (t.length + 1);
    return t.slice(0, i + n) + t.slice(i);
  }),
  fc.tuple(fc.nat(), fc.constantFrom(...':-{}[],&*!|>?#"\'\t\n \\%@`'.split(''), '\r\n', '\u00a0', '\u2028', '\ufeff', '\0')).map(
    ([at, ch]): Mutation => (t) => {
      const i = at % (t.length + 1);
      return t.slice(0, i) + ch + t.slice(i + 1);
    },
  ),
  fc.tuple(fc.nat(), fc.string({ maxLength: 6 })).map(([at, s]): Mutation => (t) => {
    const i = at % (t.length + 1);
    return t.slice(0, i) + s + t.slice(i);
  }),
  // Lines: delete, duplicate, swap, re-indent.
  fc.nat().map((at): Mutation => (t) => {
    const ls = t.split('\n');
    ls.splice(at % ls.length, 1);
    return ls.join('\n');
  }),
  fc.nat().map((at): Mutation => (t) => {
    const ls = t.split('\n');
    const i = at % ls.length;
    ls.splice(i, 0, ls[i]);
    return ls.join('\n');
  }),
  fc.tuple(fc.nat(), fc.nat()).map(([a, b]): Mutation => (t) => {
    const ls = t.split('\n');
    const i = a % ls.length;
    const j = b % ls.length;
    [ls[i], ls[j]] = [ls[j], ls[i]];
    return ls.join('\n');
  }),
  fc.tuple(fc.nat(), fc.integer({ min: -4, max: 4 })).map(([at, d]): Mutation => (t) => {
    const ls = t.split('\n');
    const i = at % ls.length;
    ls[i] = d >= 0 ? ' '.repeat(d) + ls[i] : ls[i].replace(new RegExp(`^ {0,${-d}}`), '');
    return ls.join('\n');
  }),
  // Values and keys: replace the value after a colon, or a key before it.
  fc.tuple(fc.nat(), fc.constantFrom(...WEIRD_VALUES)).map(([at, v]): Mutation => (t) => {
    const re = /(:\s*)([^\n,{}]*)/g;
    const spots = [...t.matchAll(re)];
    if (spots.length === 0) return t;
    const m = spots[at % spots.length];
    const start = m.index! + m[1].length;
    return t.slice(0, start) + v + t.slice(start + m[2].length);
  }),
  fc.tuple(fc.nat(), fc.constantFrom(...KEYS)).map(([at, k]): Mutation => (t) => {
    const re = /([A-Za-z_]+)(:)/g;
    const spots = [...t.matchAll(re)];
    if (spots.length === 0) return t;
    const m = spots[at % spots.length];
    return t.slice(0, m.index!) + k + t.slice(m.index! + m[1].length);
  }),
  // Flip a number into a nearby or far one.
  fc.tuple(fc.nat(), fc.integer({ min: -3, max: 70000 })).map(([at, n]): Mutation => (t) => {
    const spots = [...t.matchAll(/\b\d+\b/g)];
    if (spots.length === 0) return t;
    const m = spots[at % spots.length];
    return t.slice(0, m.index!) + String(n) + t.slice(m.index! + m[0].length);
  }),
);

const mutatedConfig = fc
  .tuple(fc.constantFrom(...SEEDS), fc.array(mutation, { minLength: 1, maxLength: 6 }))
  .map(([seed, ms]) => ms.reduce((t, m) => m(t), seed));

describe('fuzz: parseConfig', () => {
  it('the seed configs are valid', () => {
    for (const s of SEEDS) {
      const r = parse(s);
      assert.deepEqual(r.errors, []);
      assert.ok(r.config);
    }
  });

  it('arbitrary strings: never throws, config xor errors', (t) => {
    const c = counted();
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 200 }), fc.fullUnicodeString({ maxLength: 200 }), fc.string({ unit: 'binary', maxLength: 200 })), (s) => {
        c.parse(s);
      }),
      params(),
    );
    recordRobustness({ area: 'config-fuzz', input: 'Arbitrary strings (ASCII, full Unicode, binary) as the configuration file', observed: c.summary(), test: t.name });
  });

  it('YAML-ish token soup: never throws, config xor errors', (t) => {
    const token = fc.constantFrom(
      'cluster:', 'nodes:', 'quorum:', 'resources:', 'defaults:', 'name: x', 'id: 1', 'addr: 10.0.0.1', '- ', '  ', '\n', '{', '}',
      '[', ']', ', ', '&a ', '*a', '!!str ', '? ', ': ', '---\n', '...\n', '|\n', '# c', '"', "'", '<<: *a', '%YAML 1.2\n', '!tag ',
      '__proto__: ', 'expected_votes: ', 'two_node: true', 'votes: 0',
    );
    const c = counted();
    fc.assert(
      fc.property(fc.array(token, { maxLength: 40 }).map((ts) => ts.join('')), (s) => {
        c.parse(s);
      }),
      params(),
    );
    recordRobustness({
      area: 'config-fuzz',
      input: 'YAML-ish token soup: up to 40 of section keys, `- `, brackets, anchors, aliases, tags, `<<`, `---`, `%YAML`, `__proto__:` …',
      observed: c.summary(),
      test: t.name,
    });
  });

  it('mutated valid configs: never throws, config xor errors, accepted configs are sound', (t) => {
    const c = counted();
    fc.assert(
      fc.property(mutatedConfig, (s) => {
        c.parse(s);
      }),
      params(),
    );
    recordRobustness({
      area: 'config-fuzz',
      input:
        "Valid configurations (the README's, one with every key, a two-node one) with 1–6 mutations: characters deleted, duplicated, replaced or inserted; lines deleted, duplicated, swapped, re-indented; values replaced by odd ones (`~`, `1e309`, `.nan`, `-5s`, `101%`, `__proto__`, `!!binary`, `*a`, …); keys replaced; numbers changed",
      observed: c.summary(),
      test: t.name,
    });
  });

  it('node lists with random ids, names, votes and expected_votes: accepted only if sound', (t) => {
    const c = counted();
    const node = fc.record({
      name: fc.constantFrom('a', 'b', 'c', 'd', 'A', 'a '),
      id: fc.integer({ min: 0, max: 6 }),
      votes: fc.option(fc.integer({ min: -1, max: 4 }), { nil: undefined }),
      addr: fc.integer({ min: 1, max: 6 }),
      witness: fc.boolean(),
    });
    const gen = fc.record({
      nodes: fc.array(node, { minLength: 0, maxLength: 5 }),
      expected: fc.option(fc.integer({ min: -1, max: 12 }), { nil: undefined }),
      twoNode: fc.option(fc.boolean(), { nil: undefined }),
    });
    fc.assert(
      fc.property(gen, ({ nodes, expected, twoNode }) => {
        const lines = ['cluster: { name: c }', 'nodes:'];
        for (const n of nodes) {
          const votes = n.votes === undefined ? '' : `, votes: ${n.votes}`;
          lines.push(`  - { name: "${n.name}", id: ${n.id}, addr: 10.0.0.${n.addr}${votes}${n.witness ? ', role: witness' : ''} }`);
        }
        if (expected !== undefined || twoNode !== undefined) {
          lines.push('quorum:');
          if (expected !== undefined) lines.push(`  expected_votes: ${expected}`);
          if (twoNode !== undefined) lines.push(`  two_node: ${twoNode}`);
        }
        c.parse(lines.join('\n') + '\n');
      }),
      params(),
    );
    recordRobustness({
      area: 'config-fuzz',
      input: '0–5 nodes with random (often duplicate) ids 0–6, names, addresses, votes −1–4 and witness roles; random `expected_votes` (−1–12) and `two_node`',
      observed: c.summary(),
      test: t.name,
    });
  });

  describe('YAML bombs return errors quickly', () => {
    const quick = (name: string, text: string, wantError = true) =>
      it(name, () => {
        const t0 = performance.now();
        const r = parse(text);
        const ms = performance.now() - t0;
        // A bomb that expands takes minutes or exhausts memory; 5 s is far from that and far
        // above a normal parse (< 1 s) even on a loaded 2-core CI machine.
        assert.ok(ms < 5000, `${name}: ${ms.toFixed(0)} ms`);
        if (wantError) assert.equal(r.config, null);
        const first = r.errors[0] ? `${r.errors[0].path ? `${r.errors[0].path}: ` : ''}${r.errors[0].message}` : '';
        recordRobustness({
          area: 'config-fuzz',
          input: `Large or deeply nested YAML: ${name} (${text.length.toLocaleString('en')} characters)`,
          observed: r.config
            ? `accepted in ${ms.toFixed(1)} ms (${r.config.nodes.length} nodes)`
            : `rejected in ${ms.toFixed(1)} ms with ${r.errors.length === 1 ? 'one error' : `${r.errors.length} errors, the first`}: ${code(first.length > 120 ? `${first.slice(0, 120)}…` : first)}`,
          test: name,
        });
      });

    // Billion laughs: 9 levels of 9 aliases = 9^9 nodes if expanded.
    const laughs = ['a0: &a0 [lol]'];
    for (let i = 1; i <= 9; i++) laughs.push(`a${i}: &a${i} [${Array(9).fill(`*a${i - 1}`).join(', ')}]`);
    quick('billion laughs', laughs.join('\n') + '\n');
    quick('billion laughs inside a valid config', README + 'x:\n' + laughs.map((l) => '  ' + l).join('\n') + '\n');
    quick('alias of a big list, used many times', `big: &b [${Array(5000).fill('1').join(',')}]\nuse: [${Array(200).fill('*b').join(',')}]\n`);
    quick('deep flow nesting', '['.repeat(5000) + ']'.repeat(5000));
    quick('deep unclosed flow nesting', '{a: '.repeat(5000));
    quick('deep block nesting', Array.from({ length: 2000 }, (_, i) => `${' '.repeat(i)}k:`).join('\n') + ' 1\n');
    quick('deep block sequence nesting', Array.from({ length: 2000 }, (_, i) => `${' '.repeat(2 * i)}- `).join('\n') + '1\n');
    quick('merge key chains', laughs.map((l, i) => (i === 0 ? 'a0: &a0 {x: 1}' : `a${i}: &a${i} { <<: [${Array(9).fill(`*a${i - 1}`).join(', ')}] }`)).join('\n') + '\n');
    quick('a very long line', `cluster: { name: ${'x'.repeat(1_000_000)} }\n`);
    quick('many nodes (valid, 5000)', `cluster: { name: c }\nnodes:\n${Array.from({ length: 5000 }, (_, i) => `  - { name: n${i}, id: ${i + 1}, addr: 10.0.${i >> 8}.${i & 255} }`).join('\n')}\n`, false);
    quick('many errors', `cluster: { name: c }\nnodes:\n${Array.from({ length: 2000 }, () => '  - { name: n, id: 0, addr: x, bogus: 1 }').join('\n')}\n`);
  });
});
