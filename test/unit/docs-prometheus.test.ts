// docs/prometheus.md: every metric the daemon exposes is documented (and nothing else is),
// its YAML blocks parse, and — where Debian's promtool is installed — the scrape
// configuration and the alert rules load and the alerts fire on what they are meant for.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { parse } from 'yaml';
import { metricFamilies } from '../../src/api/metrics.ts';

const DOC = readFileSync(new URL('../../docs/prometheus.md', import.meta.url), 'utf8');

/** The ```yaml block after `<!-- file: NAME -->`. */
function block(name: string): string {
  const m = new RegExp(`<!-- file: ${name.replace('.', '\\.')} -->\\n\`\`\`yaml\\n([\\s\\S]*?)\`\`\``).exec(DOC);
  assert.ok(m, `docs/prometheus.md has a block for ${name}`);
  return m[1];
}

test('every metric the daemon exposes is in the table, and only those', () => {
  const families = metricFamilies({
    quorate: true, nodesOnline: 3, votes: 3, expectedVotes: 3, vips: [], resourceFailCounts: {}, failoversTotal: 0, vipLapsesTotal: 0,
    packetsReceivedTotal: 0, packetsSentTotal: 0, packetsRejectedTotal: {}, heartbeatRttSeconds: {}, coordinator: false,
    term: 1, loopLagSeconds: 0, gcPauseSeconds: 0, gcRunsTotal: 0, leaseRenewalSeconds: { r: 0 }, leaseRenewalBudgetSeconds: 0.05, residentMemoryBytes: 1,
    fencing: { pending: [], blocking: [], outcomes: {}, watchdogEnabled: false, watchdogPets: 0, watchdogWithheld: 0 },
    hookFailuresTotal: {}, configMismatchNodes: 0, vipConflictsTotal: [], stateSaveFailuresTotal: 0, stateUnsaved: false,
  });
  const documented = new Map([...DOC.matchAll(/^\| `([a-z_:]+)` \| (gauge|counter) \|/gm)].map((m) => [m[1], m[2]]));
  for (const f of families) assert.equal(documented.get(f.name), f.type, `${f.name} (${f.type}) documented`);
  assert.deepEqual([...documented.keys()].sort(), families.map((f) => f.name).sort());
  // conventions: _total exactly on counters
  for (const f of families) assert.equal(f.name.endsWith('_total'), f.type === 'counter', f.name);
});

test('the scrape configuration and the alert rules are YAML, every alert has a summary', () => {
  const cfg = parse(block('prometheus.yml'));
  assert.deepEqual(cfg.rule_files, ['piha-alerts.yml']);
  const rules = parse(block('piha-alerts.yml')).groups[0].rules as { alert: string; expr: string; annotations: { summary: string } }[];
  const names = rules.map((r) => r.alert);
  for (const want of ['PihaNoQuorum', 'PihaVipNotHeld', 'PihaFenceFailed', 'PihaFencePending', 'PihaFenceBlocking', 'PihaWatchdogPetsWithheld', 'PihaConfigMismatch', 'PihaHookFailing', 'PihaVipConflict', 'PihaStateNotSaved']) {
    assert.ok(names.includes(want), want);
  }
  for (const r of rules) assert.ok(r.annotations?.summary, `${r.alert} has a summary`);
});

const RULE_TESTS = `rule_files: [piha-alerts.yml]
evaluation_interval: 15s
tests:
  - interval: 15s
    input_series:
      - series: 'up{job="piha",instance="n3"}'
        values: '1 1 0x20'
      - series: 'piha_quorate{job="piha",instance="n1"}'
        values: '1 1 0x20'
      - series: 'piha_quorate{job="piha",instance="n2"}'
        values: '1x22'
      - series: 'piha_vip_held{job="piha",instance="n1",resource="api",ip="192.0.2.150"}'
        values: '1 1 0x20'
      - series: 'piha_vip_held{job="piha",instance="n2",resource="api",ip="192.0.2.150"}'
        values: '0x22'
      - series: 'piha_fence_pending{job="piha",instance="n2",node="n1"}'
        values: '_ _ 1x20'
      - series: 'piha_fence_total{job="piha",instance="n2",node="n1",result="failed"}'
        values: '0 0 1x20'
      - series: 'piha_watchdog_withheld_total{job="piha",instance="n1"}'
        values: '0 0 0 3x19'
      - series: 'piha_config_mismatch_nodes{job="piha",instance="n2"}'
        values: '1x40'
      - series: 'piha_hook_failures_total{job="piha",instance="n2",hook="on_acquire"}'
        values: '0 0 0 0 1x18'
      - series: 'piha_vip_conflicts_total{job="piha",instance="n1",resource="api",ip="192.0.2.150"}'
        values: '0 0 0 0 0 1 2x16'
      - series: 'piha_state_unsaved{job="piha",instance="n2"}'
        values: '0 0 1x20'
    alert_rule_test:
      - eval_time: 15s
        alertname: PihaNoQuorum
        exp_alerts: []
      - eval_time: 105s
        alertname: PihaNoQuorum
        exp_alerts:
          - exp_labels: { severity: critical, job: piha, instance: n1 }
            exp_annotations: { summary: "n1 has no quorum: it will not hold or take a VIP" }
      - eval_time: 105s
        alertname: PihaDaemonDown
        exp_alerts:
          - exp_labels: { severity: warning, job: piha, instance: n3 }
            exp_annotations: { summary: "piha on n3 does not answer /metrics" }
      - eval_time: 15s
        alertname: PihaVipNotHeld
        exp_alerts: []
      - eval_time: 105s
        alertname: PihaVipNotHeld
        exp_alerts:
          - exp_labels: { severity: critical, resource: api, ip: 192.0.2.150 }
            exp_annotations: { summary: "VIP 192.0.2.150 (api) is not held by any node" }
      - eval_time: 105s
        alertname: PihaVipHeldTwice
        exp_alerts: []
      - eval_time: 60s
        alertname: PihaFencePending
        exp_alerts: []
      - eval_time: 105s
        alertname: PihaFencePending
        exp_alerts:
          - exp_labels: { severity: warning, job: piha, instance: n2, node: n1 }
            exp_annotations: { summary: "n2 has been trying to fence n1 for a minute" }
      - eval_time: 60s
        alertname: PihaFenceFailed
        exp_alerts:
          - exp_labels: { severity: warning, job: piha, instance: n2, node: n1, result: failed }
            exp_annotations: { summary: "a fence of n1 run by n2 failed (piha stonith history)" }
      - eval_time: 60s
        alertname: PihaWatchdogPetsWithheld
        exp_alerts:
          - exp_labels: { severity: warning, job: piha, instance: n1 }
            exp_annotations: { summary: "n1 withheld watchdog keep-alives: a stalled loop or a VIP past its lease (the watchdog resets the node)" }
      - eval_time: 4m
        alertname: PihaConfigMismatch
        exp_alerts: []
      - eval_time: 6m
        alertname: PihaConfigMismatch
        exp_alerts:
          - exp_labels: { severity: warning, job: piha, instance: n2 }
            exp_annotations: { summary: "n2 sees 1 node(s) with a different cluster configuration (piha status)" }
      - eval_time: 60s
        alertname: PihaVipConflict
        exp_alerts: []
      - eval_time: 90s
        alertname: PihaVipConflict
        exp_alerts:
          - exp_labels: { severity: warning, job: piha, instance: n1, resource: api, ip: 192.0.2.150 }
            exp_annotations: { summary: "another host on the LAN answers for VIP 192.0.2.150 (api), seen by n1 (piha events)" }
      - eval_time: 60s
        alertname: PihaStateNotSaved
        exp_alerts: []
      - eval_time: 105s
        alertname: PihaStateNotSaved
        exp_alerts:
          - exp_labels: { severity: critical, job: piha, instance: n2 }
            exp_annotations: { summary: "n2 cannot save its state (read-only or full SD card?) and is out of the cluster" }
      - eval_time: 90s
        alertname: PihaHookFailing
        exp_alerts:
          - exp_labels: { severity: warning, job: piha, instance: n2, hook: on_acquire }
            exp_annotations: { summary: "hook on_acquire failed on n2 (piha events)" }
`;

test('promtool: the configuration loads and the alerts fire when they should', (t) => {
  if (spawnSync('promtool', ['--version']).status !== 0) {
    t.skip('promtool is not installed (apt-get install prometheus): rules checked as YAML only');
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'piha-prom-'));
  try {
    writeFileSync(join(dir, 'prometheus.yml'), block('prometheus.yml'));
    writeFileSync(join(dir, 'piha-alerts.yml'), block('piha-alerts.yml'));
    writeFileSync(join(dir, 'tests.yml'), RULE_TESTS);
    const run = (args: string[]) => {
      const r = spawnSync('promtool', args, { cwd: dir, encoding: 'utf8', timeout: 30_000 });
      assert.equal(r.status, 0, `promtool ${args.join(' ')}:\n${r.stdout}\n${r.stderr}`);
      return r.stdout;
    };
    run(['check', 'config', 'prometheus.yml']);
    assert.match(run(['check', 'rules', 'piha-alerts.yml']), /SUCCESS: \d+ rules found/);
    run(['test', 'rules', 'tests.yml']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
