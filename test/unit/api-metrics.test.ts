import assert from 'node:assert/strict';
import { test } from 'node:test';
import { escapeLabelValue, formatMetrics, formatValue, METRICS_CONTENT_TYPE, renderFamilies } from '../../src/api/metrics.ts';
import type { MetricsSnapshot } from '../../src/api/status-types.ts';

// One sample line of the 0.0.4 text format: name, optional labels with escaped values,
// a value, an optional integer timestamp.
const LABEL = '[a-zA-Z_][a-zA-Z0-9_]*="(?:\\\\[\\\\"n]|[^"\\\\\\n])*"';
const SAMPLE_RE = new RegExp(
  `^[a-zA-Z_:][a-zA-Z0-9_:]*(?:\\{${LABEL}(?:,${LABEL})*\\})? (?:NaN|[+-]Inf|[+-]?\\d+(?:\\.\\d+)?(?:[eE][+-]?\\d+)?)(?: -?\\d+)?$`,
);

const snapshot = (over: Partial<MetricsSnapshot> = {}): MetricsSnapshot => ({
  quorate: true,
  nodesOnline: 3,
  votes: 3,
  expectedVotes: 3,
  vips: [
    { resource: 'kubernetes_api_port', ip: '192.168.0.150', held: true },
    { resource: 'we"ird\\name\nx', ip: '10.0.0.1', held: false },
  ],
  resourceFailCounts: { kubernetes_api_port: 2 },
  failoversTotal: 5,
  gcPauseSeconds: 0.004,
  gcRunsTotal: 3,
  leaseRenewalSeconds: { kubernetes_api_port: 0.004 },
  leaseRenewalBudgetSeconds: 0.05,
  vipLapsesTotal: 2,
  packetsReceivedTotal: 1234,
  packetsSentTotal: 4321,
  packetsRejectedTotal: { auth: 3, replay: 1 },
  heartbeatRttSeconds: { worker1: 0.00042, worker2: 1.5e-7 },
  coordinator: true,
  term: 7,
  loopLagSeconds: 0.0021,
  ...over,
});

/** Parses exposition text into family -> type and a list of sample lines; asserts the grammar. */
function parseExposition(text: string): { types: Map<string, string>; samples: string[] } {
  assert.ok(text.endsWith('\n'), 'exposition ends with a newline');
  const types = new Map<string, string>();
  const helps = new Set<string>();
  const samples: string[] = [];
  for (const line of text.slice(0, -1).split('\n')) {
    const m = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/.exec(line);
    if (m) {
      if (m[1] === 'HELP') helps.add(m[2]);
      else {
        assert.match(m[3], /^(counter|gauge|histogram|summary|untyped)$/);
        assert.ok(!types.has(m[2]), `one TYPE line for ${m[2]}`);
        types.set(m[2], m[3]);
      }
      continue;
    }
    assert.match(line, SAMPLE_RE, `sample line: ${JSON.stringify(line)}`);
    const name = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line)![0];
    assert.ok(types.has(name), `TYPE precedes ${name}`);
    assert.ok(helps.has(name), `HELP precedes ${name}`);
    samples.push(line);
  }
  return { types, samples };
}

test('every line of the exposition matches the text format', () => {
  const { types, samples } = parseExposition(formatMetrics(snapshot()));
  const expected: Record<string, string> = {
    piha_quorate: 'gauge',
    piha_nodes_online: 'gauge',
    piha_votes: 'gauge',
    piha_expected_votes: 'gauge',
    piha_vip_held: 'gauge',
    piha_resource_fail_count: 'gauge',
    piha_failovers_total: 'counter',
    piha_vip_lapses_total: 'counter',
    piha_packets_received_total: 'counter',
    piha_packets_sent_total: 'counter',
    piha_packets_rejected_total: 'counter',
    piha_heartbeat_rtt_seconds: 'gauge',
    piha_coordinator: 'gauge',
    piha_term: 'gauge',
    piha_loop_lag_seconds: 'gauge',
    piha_gc_pause_seconds: 'gauge',
    piha_gc_runs_total: 'counter',
    piha_lease_renewal_seconds: 'gauge',
    piha_lease_renewal_budget_seconds: 'gauge',
    process_resident_memory_bytes: 'gauge',
  };
  assert.deepEqual(Object.fromEntries(types), expected);
  for (const [name, type] of types) {
    // Conventions: counters and only counters end in _total.
    assert.equal(name.endsWith('_total'), type === 'counter', name);
  }
  assert.ok(samples.includes('piha_quorate 1'));
  assert.ok(samples.includes('piha_vip_held{resource="kubernetes_api_port",ip="192.168.0.150"} 1'));
  assert.ok(samples.includes('piha_resource_fail_count{resource="kubernetes_api_port"} 2'));
  assert.ok(samples.includes('piha_packets_rejected_total{reason="auth"} 3'));
  assert.ok(samples.includes('piha_heartbeat_rtt_seconds{peer="worker2"} 1.5e-7'));
  assert.ok(samples.includes('piha_coordinator 1'));
  assert.ok(samples.includes('piha_vip_lapses_total 2'));
  assert.ok(samples.includes('piha_gc_pause_seconds 0.004'));
  assert.ok(samples.includes('piha_gc_runs_total 3'));
  assert.ok(samples.includes('piha_lease_renewal_seconds{resource="kubernetes_api_port"} 0.004'));
  assert.ok(samples.includes('piha_lease_renewal_budget_seconds 0.05'));
  assert.ok(samples.some((l) => /^process_resident_memory_bytes \d+$/.test(l)));
});

test('label values escape backslash, double quote and newline', () => {
  assert.equal(escapeLabelValue('a"b\\c\nd'), 'a\\"b\\\\c\\nd');
  const text = formatMetrics(snapshot());
  assert.ok(text.includes('piha_vip_held{resource="we\\"ird\\\\name\\nx",ip="10.0.0.1"} 0\n'));
  parseExposition(text);
});

test('booleans are 0/1, empty label maps still get HELP/TYPE', () => {
  const text = formatMetrics(
    snapshot({ quorate: false, coordinator: false, vips: [], packetsRejectedTotal: {}, heartbeatRttSeconds: {}, resourceFailCounts: {}, residentMemoryBytes: 1024 }),
  );
  const { types, samples } = parseExposition(text);
  assert.ok(samples.includes('piha_quorate 0'));
  assert.ok(samples.includes('piha_coordinator 0'));
  assert.ok(samples.includes('process_resident_memory_bytes 1024'));
  assert.ok(types.has('piha_vip_held'));
  assert.ok(!samples.some((l) => l.startsWith('piha_vip_held')));
});

test('special values and invalid names', () => {
  assert.equal(formatValue(NaN), 'NaN');
  assert.equal(formatValue(Infinity), '+Inf');
  assert.equal(formatValue(-Infinity), '-Inf');
  assert.throws(() => renderFamilies([{ name: 'bad-name', help: 'x', type: 'gauge', samples: [] }]));
  assert.throws(() => renderFamilies([{ name: 'ok', help: 'x', type: 'gauge', samples: [{ labels: { 'bad-label': 'v' }, value: 1 }] }]));
  assert.equal(renderFamilies([{ name: 'x', help: 'a\\b\nc "q"', type: 'gauge', samples: [] }]), '# HELP x a\\\\b\\nc "q"\n# TYPE x gauge\n');
  assert.match(METRICS_CONTENT_TYPE, /^text\/plain; version=0\.0\.4/);
});
